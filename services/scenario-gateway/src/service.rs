//! `tariff.v1.ScenarioService`: thin over [`JobService`] and the built-in datasets.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use opentelemetry::{global, propagation::Extractor};
use tariff_jobs::{
    ChunkStore, DatasetStore, JobQueue, JobService, RecordStore, Submission, record, telemetry,
};
use tariff_proto::v1::{self as pb, DatasetInfo, Job, JobState, scenario_service_server::ScenarioService};
use tariff_scenario::{PreparedScenario, ScenarioLimits, dataset::DatasetHandle};
use tokio::sync::watch;
use tonic::{
    Code, Request, Response, Status,
    metadata::{KeyRef, MetadataMap},
};
use tracing::{Instrument, Span, field::Empty};

use crate::{
    auth::Access,
    closing,
    datasets::{Datasets, UploadLimits},
    deadline::grpc_timeout,
    passthrough, status, views,
};

/// Limits a gateway enforces on requests.
#[derive(Debug, Clone)]
pub struct GatewayLimits {
    /// The longest `RunScenario` waits, whatever the caller's deadline.
    pub max_run_wait: Duration,
    /// `RunScenario`'s wait when the caller set no deadline.
    pub default_run_wait: Duration,
    /// The longest idempotency key accepted.
    pub max_idempotency_key: usize,
    /// How much one scenario may ask for.
    pub scenario: ScenarioLimits,
    /// How large an uploaded dataset may be.
    pub upload: UploadLimits,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        GatewayLimits {
            max_run_wait: Duration::from_secs(300),
            default_run_wait: Duration::from_secs(60),
            max_idempotency_key: 128,
            scenario: ScenarioLimits::default(),
            upload: UploadLimits::default(),
        }
    }
}

/// The gateway's gRPC service.
#[derive(Debug, Clone)]
pub struct Gateway<R, Q> {
    jobs: JobService<R, Q>,
    datasets: Datasets<R>,
    limits: GatewayLimits,
    closing: watch::Receiver<bool>,
    /// Chunks of results stored in parts, as GetResultFlows last read them.
    chunk_cache: std::sync::Arc<views::ChunkCache>,
}

impl<R: RecordStore + DatasetStore + ChunkStore, Q: JobQueue> Gateway<R, Q> {
    /// `closing` turns true when the server shuts down: open watches then end,
    /// so the drain does not wait on jobs and clients re-attach elsewhere.
    pub fn new(jobs: JobService<R, Q>, limits: GatewayLimits, closing: watch::Receiver<bool>) -> Self {
        let datasets = Datasets::new(jobs.records().clone(), limits.upload);
        Gateway { jobs, datasets, limits, closing, chunk_cache: std::sync::Arc::default() }
    }

    /// Checks a submission; the scenario is validated against its dataset, so a
    /// job is only queued when it can run.
    /// The scenario comes back with its dataset pinned: an uploaded dataset
    /// named by id becomes `id@digest`, so a later upload never changes the job.
    async fn check_submission(
        &self,
        scenario: Option<&pb::Scenario>,
        key: &str,
        view: Option<&pb::ResultOptions>,
    ) -> Result<pb::Scenario, Status> {
        let scenario = scenario.ok_or_else(|| status::invalid_field("scenario", "required"))?;
        let dataset = self.datasets.resolve(&scenario.dataset).await.map_err(|s| in_scenario(&s))?;
        let _validate = tracing::debug_span!("validate").entered();
        if key.len() > self.limits.max_idempotency_key {
            return Err(status::invalid_field(
                "idempotency_key",
                format!("longer than {} bytes", self.limits.max_idempotency_key),
            ));
        }
        if key.chars().any(char::is_control) {
            return Err(status::invalid_field("idempotency_key", "contains control characters"));
        }
        PreparedScenario::for_request(&dataset, scenario, &self.limits.scenario)
            .map_err(|v| status::invalid_scenario(&v))?;
        views::check(&dataset, view)?;
        let mut scenario = scenario.clone();
        if let DatasetHandle::Uploaded { .. } = dataset {
            scenario.dataset = dataset.pinned_name();
        }
        Ok(scenario)
    }

    /// Cuts a job's result to the view asked for, on the dataset it ran on.
    async fn view(&self, job: &mut Job, requested: Option<&pb::ResultOptions>) -> Result<(), Status> {
        let Some(result) = &job.result else { return Ok(()) };
        let named = if job.dataset.is_empty() { result.dataset.clone() } else { job.dataset.clone() };
        let dataset = self.datasets.resolve(&named).await?;
        views::apply(self.jobs.records(), job, requested, &dataset).await
    }
}

fn check_job_id(id: &str) -> Result<(), Status> {
    if record::valid_job_id(id) {
        Ok(())
    } else {
        Err(status::invalid_field("job_id", "not a job id (letters, digits, `-` and `_`, at most 64)"))
    }
}

/// Reads W3C trace context from gRPC metadata.
struct MetadataExtractor<'a>(&'a MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|key| match key {
                KeyRef::Ascii(key) => key.as_str(),
                KeyRef::Binary(key) => key.as_str(),
            })
            .collect()
    }
}

/// The span of one call (`name`: service/method, as a constant, not formatted
/// on every call), continuing the caller's trace when the metadata carries
/// one (`traceparent`, `tracestate`).
fn rpc_span(name: &'static str, metadata: &MetadataMap) -> Span {
    let method = name.rsplit_once('/').map_or(name, |(_, method)| method);
    let span = tracing::info_span!(
        "grpc",
        otel.name = name,
        otel.kind = "server",
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        otel.status_code = Empty,
        trace_id = Empty,
        job_id = Empty,
    );
    let parent =
        global::get_text_map_propagator(|propagator| propagator.extract(&MetadataExtractor(metadata)));
    telemetry::continue_trace(&span, parent);
    span
}

/// Runs a call in its span and records the gRPC status on it; server-side
/// failures (not a caller's mistakes) mark the span as an error.
async fn traced<T>(
    span: Span,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, Status> {
    let result = call.instrument(span.clone()).await;
    let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
    span.record("rpc.grpc.status_code", code as i32);
    if let Err(refused) = &result {
        // The code and the gateway's own message, never the request.
        span.in_scope(|| {
            tracing::info!(
                code = status::code_name(refused.code()),
                message = refused.message(),
                "call refused"
            );
        });
    }
    if matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
    result
}

/// The caller's W3C trace context, passed on in the message headers; the job
/// service replaces it with its own `publish` span's context when tracing is on.
fn trace_headers<T>(request: &Request<T>) -> Vec<(String, String)> {
    ["traceparent", "tracestate"]
        .iter()
        .filter_map(|name| {
            let value = request.metadata().get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

/// A `dataset` field error of a scenario, under `scenario.` in the request.
fn in_scenario(status: &Status) -> Status {
    if status.code() == tonic::Code::InvalidArgument {
        status::invalid_field("scenario.dataset", status.message().trim_start_matches("dataset: "))
    } else {
        status.clone()
    }
}

fn job_state_name(state: i32) -> &'static str {
    JobState::try_from(state).map_or("unknown state", |s| s.as_str_name())
}

/// Uploading and deleting need the write role when tokens are on.
fn require_write<T>(request: &Request<T>) -> Result<(), Status> {
    match request.extensions().get::<Access>() {
        Some(Access::Read) => Err(Status::permission_denied(
            "this token may not change datasets: a token with the write role is needed (see the README, \"Tokens\")",
        )),
        Some(Access::Write | Access::Open) | None => Ok(()),
    }
}

type JobStream = closing::Items<Job>;

#[tonic::async_trait]
impl<R: RecordStore + DatasetStore + ChunkStore, Q: JobQueue> ScenarioService for Gateway<R, Q> {
    async fn submit_scenario(
        &self,
        request: Request<pb::SubmitScenarioRequest>,
    ) -> Result<Response<pb::SubmitScenarioResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/SubmitScenario", request.metadata());
        traced(span, async move {
            let headers = trace_headers(&request);
            let req = request.into_inner();
            let scenario = self.check_submission(req.scenario.as_ref(), &req.idempotency_key, req.view.as_ref()).await?;
            let submission = Submission {
                request_digest: record::request_digest(req.scenario.as_ref(), req.view.as_ref()),
                scenario,
                idempotency_key: req.idempotency_key,
                view: req.view,
                keep_view_only: false,
            };
            let submitted =
                self.jobs.submit_request(submission, &headers).await.map_err(status::from_jobs)?;
            Span::current().record("job_id", submitted.job.job_id.as_str());
            tracing::info!(job_id = %submitted.job.job_id, deduplicated = submitted.deduplicated, "job submitted");
            Ok(Response::new(pb::SubmitScenarioResponse {
                job_id: submitted.job.job_id,
                state: submitted.job.state,
                deduplicated: submitted.deduplicated,
            }))
        })
        .await
    }

    async fn get_job(&self, request: Request<pb::GetJobRequest>) -> Result<Response<Job>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/GetJob", request.metadata());
        traced(span, async move {
            let req = request.into_inner();
            check_job_id(&req.job_id)?;
            Span::current().record("job_id", req.job_id.as_str());
            let mut job = self.jobs.get(&req.job_id).await.map_err(status::from_jobs)?;
            self.view(&mut job, req.view.as_ref()).await?;
            Ok(Response::new(job))
        })
        .await
    }

    type WatchJobStream = JobStream;

    async fn watch_job(&self, request: Request<pb::WatchJobRequest>) -> Result<Response<JobStream>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/WatchJob", request.metadata());
        traced(span, async move {
            let req = request.into_inner();
            let (id, view) = (req.job_id, req.view);
            check_job_id(&id)?;
            Span::current().record("job_id", id.as_str());
            let updates = self.jobs.watch(&id).await.map_err(status::from_jobs)?;
            let gateway = self.clone();
            let viewed: JobStream = Box::pin(updates.then(move |item| {
                let (gateway, view) = (gateway.clone(), view.clone());
                async move {
                    let mut job = item.map_err(status::from_jobs)?;
                    gateway.view(&mut job, view.as_ref()).await?;
                    Ok(job)
                }
            }));
            Ok(Response::new(closing::until_closing(viewed, self.closing.clone())))
        })
        .await
    }

    async fn run_scenario(
        &self,
        request: Request<pb::RunScenarioRequest>,
    ) -> Result<Response<pb::RunScenarioResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/RunScenario", request.metadata());
        traced(span, async move {
            let headers = trace_headers(&request);
            let wait = grpc_timeout(request.metadata())
                .unwrap_or(self.limits.default_run_wait)
                .min(self.limits.max_run_wait);
            let req = request.into_inner();
            let scenario =
                self.check_submission(req.scenario.as_ref(), &req.idempotency_key, req.view.as_ref()).await?;
            let submission = Submission {
                request_digest: record::request_digest(req.scenario.as_ref(), req.view.as_ref()),
                scenario,
                idempotency_key: req.idempotency_key.clone(),
                // The answer is in the call: the worker computes and keeps only
                // what the view asks for (a SUMMARY record is a few KB, not 130).
                view: req.view.clone(),
                keep_view_only: true,
            };
            let record =
                self.jobs.run_request(submission, &headers, wait).await.map_err(status::from_jobs)?;
            Span::current().record("job_id", record.job.job_id.as_str());
            tracing::info!(
                job_id = %record.job.job_id,
                state = JobState::name_of(record.job.state),
                "run answered"
            );
            if let Some(encoded) = passthrough::answer(&record, req.view.as_ref()) {
                let job_id = record.job.job_id;
                return Ok(Response::new(pb::RunScenarioResponse {
                    job_id,
                    result: None,
                    encoded_result: Some(encoded),
                }));
            }
            let mut job = record.decoded().map_err(status::from_jobs)?;
            self.view(&mut job, req.view.as_ref()).await?;
            match JobState::try_from(job.state) {
                Ok(JobState::Succeeded) => Ok(Response::new(pb::RunScenarioResponse {
                    job_id: job.job_id,
                    result: job.result,
                    encoded_result: None,
                })),
                Ok(JobState::Failed) => {
                    Err(status::from_job_error(&job.job_id, &job.error.unwrap_or_default()))
                }
                Ok(JobState::Cancelled) => {
                    Err(Status::cancelled(format!("job {} was cancelled", job.job_id)))
                }
                _ => Err(Status::deadline_exceeded(format!(
                    "job {} has not finished; follow it with GetJob or WatchJob",
                    job.job_id
                ))),
            }
        })
        .await
    }

    async fn cancel_job(&self, request: Request<pb::CancelJobRequest>) -> Result<Response<Job>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/CancelJob", request.metadata());
        traced(span, async move {
            let id = request.into_inner().job_id;
            check_job_id(&id)?;
            Span::current().record("job_id", id.as_str());
            let job = self.jobs.cancel(&id).await.map_err(status::from_jobs)?;
            // The line's own trace is the CancelJob call's; the job's is another.
            tracing::info!(
                job_id = %id,
                job_trace_id = %job.trace_id,
                state = JobState::name_of(job.state),
                "cancel requested"
            );
            Ok(Response::new(job))
        })
        .await
    }

    async fn list_economies(
        &self,
        request: Request<pb::ListEconomiesRequest>,
    ) -> Result<Response<pb::ListEconomiesResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/ListEconomies", request.metadata());
        traced(span, async move {
            let d = self.datasets.resolve(&request.into_inner().dataset).await?;
            Ok(Response::new(pb::ListEconomiesResponse { economies: d.economies_proto() }))
        })
        .await
    }

    async fn list_sectors(
        &self,
        request: Request<pb::ListSectorsRequest>,
    ) -> Result<Response<pb::ListSectorsResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/ListSectors", request.metadata());
        traced(span, async move {
            let d = self.datasets.resolve(&request.into_inner().dataset).await?;
            Ok(Response::new(pb::ListSectorsResponse { sectors: d.sectors_proto() }))
        })
        .await
    }

    async fn list_agreements(
        &self,
        request: Request<pb::ListAgreementsRequest>,
    ) -> Result<Response<pb::ListAgreementsResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/ListAgreements", request.metadata());
        traced(span, async move {
            let d = self.datasets.resolve(&request.into_inner().dataset).await?;
            Ok(Response::new(pb::ListAgreementsResponse { agreements: d.agreements_proto() }))
        })
        .await
    }

    async fn get_dataset(
        &self,
        request: Request<pb::GetDatasetRequest>,
    ) -> Result<Response<DatasetInfo>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/GetDataset", request.metadata());
        traced(
            span,
            async move { Ok(Response::new(self.datasets.info(&request.into_inner().dataset).await?)) },
        )
        .await
    }

    async fn upload_dataset(
        &self,
        request: Request<tonic::Streaming<pb::UploadDatasetRequest>>,
    ) -> Result<Response<DatasetInfo>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/UploadDataset", request.metadata());
        traced(span, async move {
            require_write(&request)?;
            Ok(Response::new(self.datasets.upload(request.into_inner()).await?))
        })
        .await
    }

    async fn list_datasets(
        &self,
        request: Request<pb::ListDatasetsRequest>,
    ) -> Result<Response<pb::ListDatasetsResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/ListDatasets", request.metadata());
        traced(span, async move { Ok(Response::new(self.datasets.list().await?)) }).await
    }

    async fn delete_dataset(
        &self,
        request: Request<pb::DeleteDatasetRequest>,
    ) -> Result<Response<pb::DeleteDatasetResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/DeleteDataset", request.metadata());
        traced(span, async move {
            require_write(&request)?;
            Ok(Response::new(self.datasets.delete(&request.into_inner().dataset).await?))
        })
        .await
    }

    async fn get_result_flows(
        &self,
        request: Request<pb::GetResultFlowsRequest>,
    ) -> Result<Response<pb::GetResultFlowsResponse>, Status> {
        let span = rpc_span("tariff.v1.ScenarioService/GetResultFlows", request.metadata());
        traced(span, async move {
            let req = request.into_inner();
            check_job_id(&req.job_id)?;
            // A result stored in parts is paged from its parts: the record says where they are.
            let mut job = self.jobs.get_without_result(&req.job_id).await.map_err(status::from_jobs)?;
            if job.flow_chunks.is_none() && job.result.is_none() && !job.result_object.is_empty() {
                job = self.jobs.get(&req.job_id).await.map_err(status::from_jobs)?;
            }
            if job.state != JobState::Succeeded as i32 {
                return Err(Status::failed_precondition(format!(
                    "job {} has no result ({}): flows come with a succeeded job",
                    job.job_id,
                    job_state_name(job.state)
                )));
            }
            let named = if job.dataset.is_empty() {
                job.result.as_ref().map(|r| r.dataset.clone()).unwrap_or_default()
            } else {
                job.dataset.clone()
            };
            let dataset = self.datasets.resolve(&named).await?;
            Ok(Response::new(views::page(self.jobs.records(), &self.chunk_cache, job, &req, &dataset).await?))
        })
        .await
    }
}
