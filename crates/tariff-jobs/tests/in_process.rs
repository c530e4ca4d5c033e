//! The job protocol on the in-process backend: the same JobService and Worker
//! the services use over NATS, with runners that script what a job does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use tariff_jobs::{
    JobRunner, JobService, JobsError, RecordStore, RunFailure, Submission, Worker, WorkerConfig, give_up,
    memory::MemoryBackend, record,
};
use tariff_proto::v1::{
    Job, JobEnvelope, JobError, JobErrorCode, JobState, Progress, Scenario, ScenarioResult,
};
use tokio::sync::oneshot;

/// Reports `steps` progress steps, then returns a result naming the scenario;
/// fails when the scenario's name says so; stops when cancelled.
#[derive(Clone, Default)]
struct Scripted {
    runs: Arc<AtomicUsize>,
    /// The step at which a cancelled run returned.
    stopped_at: Arc<AtomicUsize>,
    step_delay: Duration,
    steps: u32,
    /// Says its jobs are quick (run on the worker's task, the record taken from the envelope).
    quick: bool,
    /// Runs under way now, and the most at once.
    busy: Arc<AtomicUsize>,
    most_busy: Arc<AtomicUsize>,
}

impl JobRunner for Scripted {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let busy = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_busy.fetch_max(busy, Ordering::SeqCst);
        let outcome = self.scripted(scenario, progress);
        self.busy.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    fn quick(&self, _scenario: &Scenario) -> bool {
        self.quick
    }
}

impl Scripted {
    fn scripted(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let earlier = self.runs.fetch_add(1, Ordering::SeqCst);
        if scenario.name == "unavailable-once" && earlier == 0 {
            return Err(RunFailure::Unavailable("the dataset store is down".into()));
        }
        if scenario.name == "fail" {
            return Err(RunFailure::Failed(JobError::new(JobErrorCode::ModelError, "no", "")));
        }
        for done in 1..=self.steps {
            std::thread::sleep(self.step_delay);
            if progress(Progress { done, total: self.steps, stage: format!("step {done}") }).is_break() {
                self.stopped_at.store(done as usize, Ordering::SeqCst);
                return Err(RunFailure::Cancelled);
            }
        }
        Ok(ScenarioResult { scenario_id: scenario.id.clone(), ..Default::default() })
    }
}

struct Setup {
    jobs: JobService<MemoryBackend, MemoryBackend>,
    backend: MemoryBackend,
    runs: Arc<AtomicUsize>,
    stopped_at: Arc<AtomicUsize>,
    stop: Vec<oneshot::Sender<()>>,
}

impl Setup {
    fn new() -> Setup {
        let backend = MemoryBackend::default();
        Setup {
            jobs: JobService::new(backend.clone(), backend.clone()),
            backend,
            runs: Arc::default(),
            stopped_at: Arc::default(),
            stop: Vec::new(),
        }
    }

    fn start_worker(&mut self, runner: Scripted) {
        let config =
            WorkerConfig { concurrency: 2, progress_interval: Duration::ZERO, ..WorkerConfig::default() };
        self.start_worker_with(runner, config);
    }

    fn start_worker_with(&mut self, runner: Scripted, config: WorkerConfig) {
        let runner = Scripted { runs: self.runs.clone(), stopped_at: self.stopped_at.clone(), ..runner };
        let worker = Worker::new(self.backend.clone(), runner, config);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(worker.run(self.backend.consumer(), async {
            let _ = stopped.await;
        }));
        self.stop.push(stop);
    }

    async fn finished(&self, job_id: &str) -> Job {
        let mut updates = self.jobs.watch(job_id).await.unwrap();
        let mut last = None;
        while let Some(job) = tokio::time::timeout(Duration::from_secs(10), updates.next()).await.unwrap() {
            last = Some(job.unwrap());
        }
        last.unwrap()
    }
}

fn scenario(id: &str, name: &str) -> Scenario {
    Scenario { id: id.into(), name: name.into(), ..Default::default() }
}

fn state(job: &Job) -> JobState {
    JobState::try_from(job.state).unwrap()
}

#[tokio::test]
async fn a_job_runs_once_and_its_watch_ends_with_the_result() {
    let mut s = Setup::new();
    let submitted = s.jobs.submit(scenario("a", ""), "", &[]).await.unwrap();
    assert_eq!(state(&submitted.job), JobState::Queued);
    let mut updates = s.jobs.watch(&submitted.job.job_id).await.unwrap();
    s.start_worker(Scripted { steps: 3, ..Default::default() });
    let mut seen = Vec::new();
    while let Some(job) = tokio::time::timeout(Duration::from_secs(10), updates.next()).await.unwrap() {
        seen.push(job.unwrap());
    }
    let states: Vec<JobState> = seen.iter().map(state).collect();
    assert_eq!(states.first(), Some(&JobState::Queued));
    assert_eq!(states.last(), Some(&JobState::Succeeded));
    assert!(states.contains(&JobState::Running));
    assert_eq!(seen.last().unwrap().result.as_ref().unwrap().scenario_id, "a");
    let last = seen.last().unwrap().progress.clone().unwrap();
    assert_eq!((last.done, last.total), (3, 3), "the final record knows the job's size");
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn one_key_one_job() {
    let mut s = Setup::new();
    let first = s.jobs.submit(scenario("a", ""), "key", &[]).await.unwrap();
    let again = s.jobs.submit(scenario("a", ""), "key", &[]).await.unwrap();
    assert_eq!(first.job.job_id, again.job.job_id);
    assert!(again.deduplicated);
    s.start_worker(Scripted::default());
    assert_eq!(state(&s.finished(&first.job.job_id).await), JobState::Succeeded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);
}

/// Nobody can name an unkeyed run's job before its answer, so its record is
/// stored once, by its worker; a keyed run's is stored from the start (the
/// key names the job).
#[tokio::test]
async fn a_run_without_a_key_is_stored_by_its_worker_a_keyed_one_at_once() {
    for quick in [true, false] {
        let mut s = Setup::new();
        s.start_worker(Scripted { quick, ..Default::default() });
        let job = s.jobs.run(scenario("u", ""), "", &[], Duration::from_secs(10)).await.unwrap();
        assert_eq!(state(&job), JobState::Succeeded);
        assert_eq!(s.backend.writes(), 1, "quick: {quick}");
        let stored = s.jobs.get(&job.job_id).await.unwrap();
        assert_eq!(stored.result.unwrap().scenario_id, "u");
        // The record the gateway made travelled in the message.
        assert!(!stored.request_digest.is_empty());
        assert_eq!(stored.created_at, job.created_at);

        let keyed = s.jobs.run(scenario("k", ""), "a-key", &[], Duration::from_secs(10)).await.unwrap();
        assert_eq!(state(&keyed), JobState::Succeeded);
        assert_eq!(s.backend.writes(), 3, "QUEUED, then the outcome; quick: {quick}");
    }
}

/// A run whose deadline passes first stores its record then, so that the job
/// the answer names can be followed; the worker's first write finds it.
#[tokio::test]
async fn a_run_past_its_deadline_stores_the_record_it_names() {
    for quick in [true, false] {
        let mut s = Setup::new();
        let job = s.jobs.run(scenario("d", ""), "", &[], Duration::from_millis(50)).await.unwrap();
        assert_eq!(state(&job), JobState::Queued);
        assert_eq!(state(&s.jobs.get(&job.job_id).await.unwrap()), JobState::Queued);
        s.start_worker(Scripted { quick, ..Default::default() });
        let end = s.finished(&job.job_id).await;
        assert_eq!(state(&end), JobState::Succeeded, "quick: {quick}");
        assert_eq!(end.result.unwrap().scenario_id, "d");
        assert_eq!(s.runs.load(Ordering::SeqCst), 1);
    }
}

/// A job given up before anything stored its record (every worker holding it
/// died before its first write) gets one that says why, from its message.
#[tokio::test]
async fn a_job_given_up_before_its_record_was_stored_is_recorded_failed() {
    let backend = MemoryBackend::default();
    let mut queued = record::queued("g1", "");
    queued.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
    let envelope = JobEnvelope { job_id: "g1".into(), record: Some(queued.clone()), ..Default::default() };
    give_up(&backend, &envelope, "every worker holding it died").await.unwrap();
    let failed = RecordStore::get(&backend, "g1").await.unwrap().unwrap().job;
    assert_eq!(state(&failed), JobState::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.kind, JobErrorCode::GaveUp as i32);
    assert!(error.message.contains("every worker holding it died"), "{}", error.message);
    assert_eq!(failed.trace_id, queued.trace_id);
    // An ended record stays as it is.
    give_up(&backend, &envelope, "again").await.unwrap();
    assert_eq!(backend.writes(), 1);
}

#[tokio::test]
async fn a_run_that_cannot_reach_what_it_needs_is_retried_not_failed() {
    let mut s = Setup::new();
    let submitted = s.jobs.submit(scenario("a", "unavailable-once"), "", &[]).await.unwrap();
    s.start_worker(Scripted::default());
    let job = s.finished(&submitted.job.job_id).await;
    assert_eq!(state(&job), JobState::Succeeded, "{:?}", job.error);
    assert_eq!((s.runs.load(Ordering::SeqCst), job.attempts), (2, 2));
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_refused_naming_the_key() {
    let s = Setup::new();
    let first = s.jobs.submit(scenario("a", ""), "k1", &[]).await.unwrap();
    assert!(s.jobs.submit(scenario("a", ""), "k1", &[]).await.unwrap().deduplicated);
    let refused = s.jobs.submit(scenario("b", ""), "k1", &[]).await.unwrap_err();
    let JobsError::KeyReused { key, job_id } = &refused else { panic!("{refused:?}") };
    assert_eq!((key.as_str(), job_id.as_str()), ("k1", first.job.job_id.as_str()));
    // What the caller says identifies the request wins over the scenario's own digest.
    let by_digest = |digest: &str, id: &str| Submission {
        scenario: scenario(id, ""),
        idempotency_key: "k2".into(),
        request_digest: digest.into(),
        ..Submission::default()
    };
    s.jobs.submit_request(by_digest("same", "c"), &[]).await.unwrap();
    assert!(s.jobs.submit_request(by_digest("same", "d"), &[]).await.unwrap().deduplicated);
    assert!(s.jobs.submit_request(by_digest("other", "c"), &[]).await.is_err());
}

#[tokio::test]
async fn a_failing_job_is_failed_with_its_reason() {
    let mut s = Setup::new();
    s.start_worker(Scripted::default());
    let job = s.jobs.run(scenario("b", "fail"), "", &[], Duration::from_secs(10)).await.unwrap();
    assert_eq!(state(&job), JobState::Failed);
    assert_eq!(job.error.unwrap().code, "MODEL_ERROR");
}

#[tokio::test]
async fn cancelling_a_queued_job_means_it_never_runs() {
    let mut s = Setup::new();
    let job = s.jobs.submit(scenario("c", ""), "", &[]).await.unwrap().job;
    assert_eq!(state(&s.jobs.cancel(&job.job_id).await.unwrap()), JobState::Cancelled);
    s.start_worker(Scripted::default());
    let later = s.jobs.run(scenario("d", ""), "", &[], Duration::from_secs(10)).await.unwrap();
    assert_eq!(state(&later), JobState::Succeeded);
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);
    assert_eq!(state(&s.jobs.get(&job.job_id).await.unwrap()), JobState::Cancelled);
}

#[tokio::test]
async fn a_quick_job_cancelled_while_queued_stays_cancelled() {
    let mut s = Setup::new();
    let job = s.jobs.submit(scenario("q", ""), "", &[]).await.unwrap().job;
    assert_eq!(state(&s.jobs.cancel(&job.job_id).await.unwrap()), JobState::Cancelled);
    s.start_worker(Scripted { quick: true, ..Default::default() });
    let later = s.jobs.run(scenario("r", ""), "", &[], Duration::from_secs(10)).await.unwrap();
    assert_eq!(state(&later), JobState::Succeeded);
    // Computed without its record read first (cheaper than the read), and
    // then not written: the cancellation stands.
    let cancelled = s.jobs.get(&job.job_id).await.unwrap();
    assert_eq!(state(&cancelled), JobState::Cancelled);
    assert!(cancelled.result.is_none());
    assert_eq!(cancelled.attempts, 0);
}

#[tokio::test]
async fn a_quick_job_whose_record_vanished_while_queued_still_records_its_outcome() {
    let mut s = Setup::new();
    let job = s.jobs.submit(scenario("v", ""), "", &[]).await.unwrap().job;
    let stored = RecordStore::get(&s.backend, &job.job_id).await.unwrap().unwrap();
    RecordStore::delete(&s.backend, &job.job_id, stored.revision).await.unwrap();
    s.start_worker(Scripted { quick: true, ..Default::default() });
    // No record to watch: read until the worker has made one.
    let mut end = None;
    for _ in 0..500 {
        end = RecordStore::get(&s.backend, &job.job_id).await.unwrap().map(|stored| stored.job);
        if end.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let end = end.expect("the outcome's record");
    assert_eq!(state(&end), JobState::Succeeded);
    assert_eq!(end.result.unwrap().scenario_id, "v");
}

#[tokio::test]
async fn jobs_taken_ahead_wait_for_a_compute_slot() {
    let mut s = Setup::new();
    let most_busy = Arc::new(AtomicUsize::new(0));
    let runner = Scripted {
        steps: 3,
        step_delay: Duration::from_millis(10),
        most_busy: most_busy.clone(),
        ..Default::default()
    };
    let config = WorkerConfig {
        concurrency: 1,
        prefetch: 3,
        progress_interval: Duration::ZERO,
        in_progress_interval: Duration::from_millis(5),
        ..WorkerConfig::default()
    };
    s.start_worker_with(runner, config);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(s.jobs.submit(scenario(&format!("p{i}"), ""), "", &[]).await.unwrap().job.job_id);
    }
    for id in &ids {
        assert_eq!(state(&s.finished(id).await), JobState::Succeeded);
    }
    assert_eq!(s.runs.load(Ordering::SeqCst), 6);
    assert_eq!(most_busy.load(Ordering::SeqCst), 1, "one compute slot: never two runs at once");
}

#[tokio::test]
async fn cancelling_a_running_job_stops_it() {
    let mut s = Setup::new();
    s.start_worker(Scripted { steps: 1000, step_delay: Duration::from_millis(5), ..Default::default() });
    let job = s.jobs.submit(scenario("e", ""), "", &[]).await.unwrap().job;
    let mut updates = s.jobs.watch(&job.job_id).await.unwrap();
    while let Some(update) = updates.next().await {
        if update.unwrap().progress.is_some_and(|p| p.done >= 3) {
            break;
        }
    }
    s.jobs.cancel(&job.job_id).await.unwrap();
    let end = s.finished(&job.job_id).await;
    assert_eq!(state(&end), JobState::Cancelled);
    assert!(end.result.is_none());
    // The runner itself stops at its next step, long before its 1000th.
    for _ in 0..200 {
        if s.stopped_at.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped_at = s.stopped_at.load(Ordering::SeqCst);
    assert!(stopped_at > 0 && stopped_at < 1000, "stopped at step {stopped_at}");
}

#[tokio::test]
async fn a_result_over_the_size_limit_fails_the_job_with_the_reason() {
    let backend = MemoryBackend::default();
    let jobs = JobService::new(backend.clone(), backend.clone());
    let config = WorkerConfig { max_result_bytes: 4, ..WorkerConfig::default() };
    let worker = Worker::new(backend.clone(), Scripted::default(), config);
    tokio::spawn(worker.run(backend.consumer(), std::future::pending()));
    let job = jobs.run(scenario("a-long-scenario-id", ""), "", &[], Duration::from_secs(10)).await.unwrap();
    assert_eq!(state(&job), JobState::Failed);
    let error = job.error.unwrap();
    assert_eq!(error.code, "RESOURCE_EXHAUSTED");
    assert!(error.message.contains("at most 4"), "{}", error.message);
}

#[tokio::test]
async fn unknown_jobs_are_not_found() {
    let s = Setup::new();
    assert!(matches!(s.jobs.get("nope").await, Err(tariff_jobs::JobsError::NotFound(_))));
    assert!(matches!(s.jobs.cancel("nope").await, Err(tariff_jobs::JobsError::NotFound(_))));
    assert!(matches!(s.jobs.watch("nope").await, Err(tariff_jobs::JobsError::NotFound(_))));
}

#[tokio::test]
async fn run_returns_the_unfinished_record_at_the_deadline() {
    let mut s = Setup::new();
    s.start_worker(Scripted { steps: 30, step_delay: Duration::from_millis(20), ..Default::default() });
    let job = s.jobs.run(scenario("f", ""), "", &[], Duration::from_millis(200)).await.unwrap();
    assert!(matches!(state(&job), JobState::Queued | JobState::Running));
    assert_eq!(state(&s.finished(&job.job_id).await), JobState::Succeeded);
}
