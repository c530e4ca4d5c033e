//! Datasets uploaded to the gateway (in-process backend): validated whole and
//! stored under their digest, listed, pinned by the jobs that use them,
//! refused when corrupt, deleted only when no job in flight uses them, and
//! changed only with a token that has the write role.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{path::PathBuf, sync::Arc, time::Duration};

use common::plain_channel;
use scenario_gateway::{ServerOptions, TokenSet, serve};
use tariff_jobs::{JobService, Worker, WorkerConfig, memory::MemoryBackend};
use tariff_proto::v1::{
    self as pb, JobState, scenario_service_client::ScenarioServiceClient, upload_dataset_request::Part,
};
use tariff_scenario::dataset::{Dataset, DatasetBundle};
use tariff_worker::{ScenarioRunner, StoreFetch};
use tokio::{net::TcpListener, sync::watch};
use tonic::{Code, Request, transport::Channel};

fn mini_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/tariff-scenario/tests/data/mini")
}

fn mini() -> DatasetBundle {
    DatasetBundle::from_dir(&mini_dir()).unwrap()
}

/// The mini dataset with Japan's car exports to the US a tenth larger.
fn mini_v2() -> DatasetBundle {
    let mut files = DatasetBundle::default();
    for name in mini().names() {
        let text = std::fs::read_to_string(mini_dir().join(name)).unwrap();
        let text = if name == "flows.csv" {
            text.replace("JPN,USA,CARS,40000,", "JPN,USA,CARS,44000,")
        } else {
            text
        };
        files.insert(name, text.into_bytes()).unwrap();
    }
    files
}

fn scenario(dataset: &str) -> pb::Scenario {
    pb::Scenario {
        id: "cars-25".into(),
        dataset: dataset.into(),
        measures: vec![pb::Measure {
            id: "m".into(),
            authority: pb::Authority::Section232.into(),
            importer: "USA".into(),
            exporters: vec!["*".into()],
            sectors: vec!["CARS".into()],
            mode: pb::measure::Mode::Add.into(),
            rate_pct: 25.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A gateway over `backend`, and (with `workers`) a worker on it.
struct Stack {
    backend: MemoryBackend,
    client: ScenarioServiceClient<Channel>,
    _stop: watch::Sender<bool>,
}

async fn stack(options: ServerOptions) -> Stack {
    let backend = MemoryBackend::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let jobs = JobService::new(backend.clone(), backend.clone());
    let mut until = stopped.clone();
    tokio::spawn(async move {
        serve(listener, jobs, options, async move {
            let _ = until.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    let client = ScenarioServiceClient::new(plain_channel(address).await.unwrap());
    Stack { backend, client, _stop: stop }
}

impl Stack {
    /// Starts a worker on the stack's backend.
    fn start_worker(&self) {
        let runner = ScenarioRunner {
            datasets: Some(Arc::new(StoreFetch {
                store: self.backend.clone(),
                runtime: tokio::runtime::Handle::current(),
            })),
            ..ScenarioRunner::default()
        };
        let worker = Worker::new(self.backend.clone(), runner, WorkerConfig::default());
        let mut stopped = self._stop.subscribe();
        tokio::spawn(worker.run(self.backend.consumer(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
    }

    async fn wait_done(&mut self, job_id: &str) -> pb::Job {
        for _ in 0..200 {
            let job = self.client.get_job(pb::GetJobRequest { job_id: job_id.into(), ..Default::default() });
            let job = job.await.unwrap().into_inner();
            if job.state != JobState::Queued as i32 && job.state != JobState::Running as i32 {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {job_id} did not end");
    }
}

/// The upload of a bundle as files, in parts of at most 1 KiB.
fn upload_parts(id: &str, bundle: &DatasetBundle, start: pb::UploadStart) -> Vec<pb::UploadDatasetRequest> {
    let mut parts = vec![pb::UploadDatasetRequest {
        part: Some(Part::Start(pb::UploadStart { id: id.into(), ..start })),
    }];
    for name in bundle.names() {
        for chunk in file_of(bundle, name).chunks(1024) {
            parts.push(pb::UploadDatasetRequest {
                part: Some(Part::File(pb::FilePart { name: name.into(), data: chunk.to_vec() })),
            });
        }
    }
    parts
}

fn file_of(bundle: &DatasetBundle, name: &str) -> Vec<u8> {
    use tariff_scenario::dataset::FileSource;
    bundle.read(name).unwrap().unwrap().into_bytes()
}

async fn upload(
    client: &mut ScenarioServiceClient<Channel>,
    parts: Vec<pb::UploadDatasetRequest>,
    token: Option<&str>,
) -> Result<pb::DatasetInfo, tonic::Status> {
    let mut request = Request::new(tokio_stream::iter(parts));
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    client.upload_dataset(request).await.map(tonic::Response::into_inner)
}

async fn list(client: &mut ScenarioServiceClient<Channel>) -> Vec<pb::DatasetVersion> {
    client.list_datasets(pb::ListDatasetsRequest {}).await.unwrap().into_inner().datasets
}

#[tokio::test]
async fn an_uploaded_dataset_runs_as_locally_and_a_job_keeps_its_version() {
    let mut s = stack(ServerOptions::default()).await;
    let v1 = upload(&mut s.client, upload_parts("mini", &mini(), Default::default()), None).await.unwrap();
    assert_eq!((v1.id.as_str(), v1.digest.clone()), ("mini", mini().digest()));
    assert_eq!(v1.economies.len(), 3);

    // Queued before any worker runs, so v2 is uploaded while the job waits.
    let submitted = s
        .client
        .submit_scenario(pb::SubmitScenarioRequest { scenario: Some(scenario("mini")), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let queued =
        s.client.get_job(pb::GetJobRequest { job_id: submitted.job_id.clone(), ..Default::default() });
    assert_eq!(queued.await.unwrap().into_inner().dataset, format!("mini@{}", v1.digest));
    let v2 = upload(&mut s.client, upload_parts("mini", &mini_v2(), Default::default()), None).await.unwrap();
    assert_ne!(v2.digest, v1.digest);
    let versions = list(&mut s.client).await;
    let latest: Vec<(&str, bool)> =
        versions.iter().filter(|v| !v.builtin).map(|v| (v.digest.as_str(), v.latest)).collect();
    assert_eq!(latest, [(v1.digest.as_str(), false), (v2.digest.as_str(), true)]);

    // A job in flight pins v1: deleting it is refused.
    let refused =
        s.client.delete_dataset(pb::DeleteDatasetRequest { dataset: format!("mini@{}", v1.digest) });
    let refused = refused.await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains(&submitted.job_id), "{}", refused.message());

    s.start_worker();
    let done = s.wait_done(&submitted.job_id).await;
    let local_v1 = tariff_scenario::run(&Dataset::from_dir(&mini_dir()).unwrap(), &scenario("mini")).unwrap();
    assert_eq!(done.result.unwrap(), local_v1, "the job computed on the version it was submitted with");

    // A new run by id takes the latest version, v2.
    let run = s
        .client
        .run_scenario(pb::RunScenarioRequest { scenario: Some(scenario("mini")), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let v2_dataset = Dataset::load(&mini_v2()).unwrap();
    assert_eq!(run.result.unwrap(), tariff_scenario::run(&v2_dataset, &scenario("mini")).unwrap());

    // Nothing in flight now: v1 goes; v2 stays and is still the latest.
    let deleted =
        s.client.delete_dataset(pb::DeleteDatasetRequest { dataset: format!("mini@{}", v1.digest) });
    assert_eq!(deleted.await.unwrap().into_inner().deleted.len(), 1);
    let left: Vec<String> =
        list(&mut s.client).await.into_iter().filter(|v| !v.builtin).map(|v| v.digest).collect();
    assert_eq!(left, std::slice::from_ref(&v2.digest));
    let info =
        s.client.get_dataset(pb::GetDatasetRequest { dataset: "mini".into() }).await.unwrap().into_inner();
    assert_eq!(info.digest, v2.digest);
    // Which datasets have input cost shares (for Scenario.input_costs): mini none, the built-in 42.
    assert_eq!(info.input_rows, 0);
    let builtin = s
        .client
        .get_dataset(pb::GetDatasetRequest { dataset: "jpus-2023".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(builtin.input_rows, 42);
}

#[tokio::test]
async fn corrupt_uploads_are_refused_and_store_nothing() {
    let mut s = stack(ServerOptions::default()).await;
    let parts = |start: pb::UploadStart| upload_parts("mini", &mini(), start);

    // Truncated: fewer bytes than announced.
    let truncated =
        upload(&mut s.client, parts(pb::UploadStart { total_bytes: 1 << 20, ..Default::default() }), None);
    let truncated = truncated.await.unwrap_err();
    assert_eq!(truncated.code(), Code::InvalidArgument);
    assert!(truncated.message().contains("incomplete"), "{}", truncated.message());

    // A digest other than the content's.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let digest =
        upload(&mut s.client, parts(pb::UploadStart { expected_digest: wrong, ..Default::default() }), None);
    let digest = digest.await.unwrap_err();
    assert!(digest.message().contains(&mini().digest()), "{}", digest.message());

    // Bad CSV: the loader's file:line error.
    let mut bad = DatasetBundle::default();
    for name in mini().names() {
        let mut data = file_of(&mini(), name);
        if name == "flows.csv" {
            data = String::from_utf8(data)
                .unwrap()
                .replace("JPN,USA,CARS,40000,", "JPN,USA,CARS,lots,")
                .into_bytes();
        }
        bad.insert(name, data).unwrap();
    }
    let csv = upload(&mut s.client, upload_parts("mini", &bad, Default::default()), None).await.unwrap_err();
    assert_eq!(csv.code(), Code::InvalidArgument);
    assert!(csv.message().contains("flows.csv:3") && csv.message().contains("lots"), "{}", csv.message());

    // An id other than dataset.toml's, and a file that is not a dataset file.
    let other =
        upload(&mut s.client, upload_parts("other", &mini(), Default::default()), None).await.unwrap_err();
    assert!(other.message().contains("dataset.toml says id = \"mini\""), "{}", other.message());
    let mut stray = upload_parts("mini", &mini(), Default::default());
    stray.push(pb::UploadDatasetRequest {
        part: Some(Part::File(pb::FilePart { name: "notes.txt".into(), data: b"x".to_vec() })),
    });
    let stray = upload(&mut s.client, stray, None).await.unwrap_err();
    assert!(stray.message().contains("`notes.txt` is not a dataset file"), "{}", stray.message());

    assert!(list(&mut s.client).await.iter().all(|v| v.builtin), "nothing stored");
}

#[tokio::test]
async fn changing_datasets_needs_the_write_role() {
    let tokens = TokenSet::parse_lines("reader:read-secret\nops+write:write-secret\n", "test").unwrap();
    let options = ServerOptions { auth: Some(Arc::new(tokens)), ..ServerOptions::default() };
    let mut s = stack(options).await;
    let denied =
        upload(&mut s.client, upload_parts("mini", &mini(), Default::default()), Some("read-secret"));
    assert_eq!(denied.await.unwrap_err().code(), Code::PermissionDenied);
    let info = upload(&mut s.client, upload_parts("mini", &mini(), Default::default()), Some("write-secret"));
    assert_eq!(info.await.unwrap().digest, mini().digest());
    let mut delete = Request::new(pb::DeleteDatasetRequest { dataset: "mini".into() });
    delete.metadata_mut().insert("authorization", "Bearer read-secret".parse().unwrap());
    assert_eq!(s.client.delete_dataset(delete).await.unwrap_err().code(), Code::PermissionDenied);
}
