//! A three-node NATS cluster with the job stream, consumer and record bucket at three
//! replicas: killing the node the services are connected to, under load, loses no
//! accepted job (and the test prints how long calls were refused); stores made with
//! one replica take three when the services start again with three.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tariff_e2e::{Gateway, WorkerHandle, scenario, state};
use tariff_jobs::{
    WorkerConfig,
    nats::{NatsAuth, NatsBackend, NatsConfig, Store},
};
use tariff_proto::v1::{GetJobRequest, JobState, SubmitScenarioRequest};
use tariff_test_support::NatsCluster;

/// Jobs submitted in the test.
const JOBS: usize = 100;
/// Concurrent submitting tasks (each submits `JOBS / SUBMITTERS` one after the other).
const SUBMITTERS: usize = 10;
/// Accepted submissions before the node is killed.
const KILL_AFTER: usize = 30;
/// The pause of a submitter between two of its jobs: a steady stream, not one burst,
/// so that submissions are in flight before, during and after the kill.
const PACE: Duration = Duration::from_millis(40);
/// How long one submission may go unanswered before the gateway counts as hanging.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// The harness's `isolated_config`, for a cluster: its own names, three replicas.
///
/// `url` is one node's URL, not `cluster.urls()`: `NatsBackend::connect` hands
/// `NatsConfig::url` to `async_nats` as a single `&str`, which parses as one URL, so
/// a comma-separated list is refused (see `comma_separated_cluster_urls_connect`).
/// Knowing one node is enough for the clients to fail over: every node advertises
/// the others in its INFO, and that node is the one killed below.
fn cluster_config(url: String) -> NatsConfig {
    let tag = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    NatsConfig {
        url,
        replicas: 3,
        ack_wait: Duration::from_secs(10),
        backoff: Vec::new(),
        op_timeout: Duration::from_secs(2),
        ..NatsConfig::default()
    }
    .namespaced(&tag)
}

/// Whether a record's state is a final one.
fn is_final(state: i32) -> bool {
    matches!(JobState::try_from(state), Ok(JobState::Succeeded | JobState::Failed | JobState::Cancelled))
}

/// One submission: refused attempts (with what was said) until it was accepted.
#[derive(Debug)]
struct Submission {
    key: String,
    job_id: Option<String>,
    refusals: Vec<String>,
    /// When each refusal came.
    refused_at: Vec<Instant>,
    /// When it was accepted.
    accepted_at: Option<Instant>,
    /// Whether the first attempt started after the node was killed.
    after_kill: bool,
}

/// The stream's replica count and (leader, followers) from its cluster info.
async fn stream_replicas(backend: &NatsBackend, name: &str) -> (usize, Option<String>, Vec<(String, bool)>) {
    let mut stream = backend.jetstream().get_stream(name).await.unwrap();
    let info = stream.info().await.unwrap();
    let cluster = info.cluster.clone().expect("a clustered stream has cluster info");
    let followers = cluster.replicas.iter().map(|p| (p.name.clone(), p.current)).collect();
    (info.config.num_replicas, cluster.leader, followers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_connected_node_under_load_loses_no_accepted_job() {
    let started = Instant::now();
    let mut cluster = NatsCluster::start().unwrap();
    eprintln!("cluster formed after {:?}", started.elapsed());

    // The layout first (three replicas everywhere), through node 0.
    let base = cluster_config(cluster.node(0).url());
    let inspector = NatsBackend::connect(base.clone(), &NatsAuth::default()).await.unwrap();
    let kv_stream = format!("KV_{}", base.bucket);
    let mut leaders = Vec::new();
    for name in [&base.stream, &kv_stream] {
        let (replicas, leader, followers) = stream_replicas(&inspector, name).await;
        assert_eq!(replicas, 3, "{name}");
        assert_eq!(followers.len(), 2, "{name}: {followers:?}");
        leaders.push(leader.expect("a leader"));
    }
    let jobs_stream = inspector.jetstream().get_stream(&base.stream).await.unwrap();
    let consumer = jobs_stream.consumer_info(&base.consumer).await.unwrap();
    let consumer_cluster = consumer.cluster.clone().unwrap();
    assert_eq!(consumer_cluster.replicas.len(), 2, "{consumer:?}");

    // The node to kill is the record bucket's leader, and the gateway and the workers
    // are connected to it: every job then sees its store move to another leader, and
    // every client has to fail over.
    let victim = cluster.node_index(&leaders[1]).unwrap();
    let config = NatsConfig { url: cluster.node(victim).url(), ..base };
    let gateway = Gateway::start(config.clone()).await;
    let workers = [
        WorkerHandle::start(config.clone(), WorkerConfig::default()).await,
        WorkerHandle::start(config.clone(), WorkerConfig::default()).await,
    ];
    let client = gateway.client().await;
    let mut expected = [0; 3];
    expected[0] += 1; // the inspector
    expected[victim] += 3;
    let connections: Vec<usize> = (0..3).map(|i| cluster.client_connections(i).unwrap()).collect();
    assert_eq!(connections, expected, "the gateway and the workers are on {}", cluster.server_name(victim));
    eprintln!(
        "killing {} (meta leader: {:?}, job stream leader: {}, consumer leader: {:?}, record bucket leader: {})",
        cluster.server_name(victim),
        cluster.meta_leader().map(|i| cluster.server_name(i).to_owned()),
        leaders[0],
        consumer_cluster.leader,
        leaders[1],
    );

    let accepted = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|task| {
            let mut client = client.clone();
            let accepted = accepted.clone();
            let killed = killed.clone();
            tokio::spawn(async move {
                let mut submissions = Vec::new();
                for n in (task..JOBS).step_by(SUBMITTERS) {
                    let key = format!("cluster-job-{n}");
                    let after_kill = killed.load(Ordering::SeqCst);
                    let mut refusals = Vec::new();
                    let mut refused_at = Vec::new();
                    let give_up = Instant::now() + Duration::from_secs(60);
                    let job_id = loop {
                        let request = SubmitScenarioRequest {
                            scenario: Some(scenario("universal-10.json")),
                            idempotency_key: key.clone(),
                            ..Default::default()
                        };
                        match tokio::time::timeout(CALL_LIMIT, client.submit_scenario(request)).await {
                            Ok(Ok(response)) => break Some(response.into_inner().job_id),
                            Ok(Err(status)) => {
                                refusals.push(format!("{:?}: {}", status.code(), status.message()))
                            }
                            Err(_) => refusals.push(format!("no answer within {CALL_LIMIT:?}")),
                        }
                        refused_at.push(Instant::now());
                        if Instant::now() >= give_up {
                            break None;
                        }
                        // The same key again: a refused submission is retried as a client would.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    };
                    if job_id.is_some() {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    let accepted_at = job_id.as_ref().map(|_| Instant::now());
                    submissions.push(Submission {
                        key,
                        job_id,
                        refusals,
                        refused_at,
                        accepted_at,
                        after_kill,
                    });
                    tokio::time::sleep(PACE).await;
                }
                submissions
            })
        })
        .collect();

    while accepted.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let kill_at = load_started.elapsed();
    let killed_at = Instant::now();
    cluster.stop_node(victim);
    killed.store(true, Ordering::SeqCst);
    eprintln!("{} killed after {kill_at:?} and {KILL_AFTER}+ accepted jobs", cluster.server_name(victim));

    let mut submissions = Vec::new();
    for task in submitters {
        submissions.extend(task.await.unwrap());
    }
    let load_took = load_started.elapsed();

    // Every submission was eventually accepted, refusals (if any) were UNAVAILABLE,
    // and the load went on across the kill.
    let refused: Vec<&Submission> = submissions.iter().filter(|s| !s.refusals.is_empty()).collect();
    let refusal_count: usize = refused.iter().map(|s| s.refusals.len()).sum();
    eprintln!(
        "{} submissions in {load_took:?}; {} were refused at first ({refusal_count} refusals in all)",
        submissions.len(),
        refused.len(),
    );
    // Each distinct refusal with how often it came and when, after the kill.
    let mut reasons: BTreeMap<&str, (usize, Duration, Duration)> = BTreeMap::new();
    for s in &refused {
        for (reason, at) in s.refusals.iter().zip(&s.refused_at) {
            let at = at.saturating_duration_since(killed_at);
            let seen = reasons.entry(reason).or_insert((0, at, at));
            *seen = (seen.0 + 1, seen.1.min(at), seen.2.max(at));
        }
    }
    eprintln!("refusals said (count, first and last after the kill): {reasons:#?}");
    assert_eq!(submissions.len(), JOBS);
    let never: Vec<&Submission> = submissions.iter().filter(|s| s.job_id.is_none()).collect();
    assert!(never.is_empty(), "never accepted: {never:#?}");
    for s in &refused {
        assert!(
            s.refusals.iter().all(|r| r.starts_with("Unavailable")),
            "{} was refused with {:?}",
            s.key,
            s.refusals
        );
        // A stream without a leader is said to be one, not a deleted stream.
        for r in &s.refusals {
            let leaderless =
                ["no stream found", "no responders", "stream not found"].iter().any(|w| r.contains(w));
            assert!(!leaderless || r.contains("NATS is electing a leader"), "{}: {r}", s.key);
        }
    }
    // The figures the README gives: how long after the kill calls were refused,
    // and when every refused submission had been accepted on a retry.
    let since_kill = |at: &Instant| at.saturating_duration_since(killed_at);
    let refusal_times: Vec<Duration> = refused.iter().flat_map(|s| &s.refused_at).map(since_kill).collect();
    let recovered = refused.iter().filter_map(|s| s.accepted_at.as_ref()).map(since_kill).max();
    eprintln!(
        "cluster figures: {refusal_count} refusals, from {:?} to {:?} after the kill; every refused \
         submission accepted {recovered:?} after the kill",
        refusal_times.iter().min(),
        refusal_times.iter().max(),
    );
    let after_kill = submissions.iter().filter(|s| s.after_kill).count();
    assert!(after_kill >= JOBS / 3, "only {after_kill} submissions started after the kill");
    let ids: BTreeSet<&str> = submissions.iter().filter_map(|s| s.job_id.as_deref()).collect();
    assert_eq!(ids.len(), JOBS, "distinct keys give distinct jobs");

    // Every accepted job ends SUCCEEDED, with one node still down.
    let mut client = client.clone();
    let waited = Instant::now();
    let mut pending: Vec<&Submission> = submissions.iter().collect();
    let mut ended_otherwise = Vec::new();
    let mut last_seen = Vec::new();
    while !pending.is_empty() && waited.elapsed() < Duration::from_secs(120) {
        last_seen.clear();
        let mut still = Vec::new();
        for s in pending {
            let job_id = s.job_id.clone().unwrap();
            match client
                .get_job(GetJobRequest { job_id, ..Default::default() })
                .await
                .map(tonic::Response::into_inner)
            {
                Ok(job) if state(&job) == JobState::Succeeded => {
                    assert!(job.result.is_some(), "{} SUCCEEDED without a result", s.key);
                }
                Ok(job) if is_final(job.state) => {
                    ended_otherwise.push(format!(
                        "{} {:?}: {:?} (refusals: {:?})",
                        s.key,
                        state(&job),
                        job.error,
                        s.refusals
                    ));
                }
                Ok(job) => {
                    last_seen.push(format!("{} {:?} (refusals: {:?})", s.key, state(&job), s.refusals));
                    still.push(s);
                }
                Err(status) => {
                    last_seen.push(format!("{}: GetJob said {status}", s.key));
                    still.push(s);
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    if !pending.is_empty() || !ended_otherwise.is_empty() {
        let mut stream = inspector.jetstream().get_stream(&config.stream).await.unwrap();
        let stream_state = stream.info().await.unwrap().state.clone();
        let consumer = stream.consumer_info(&config.consumer).await.unwrap();
        let mut dlq = inspector.jetstream().get_stream(&config.dlq_stream).await.unwrap();
        let dead_letters = dlq.info().await.unwrap().state.messages;
        panic!(
            "of {JOBS} accepted jobs, {} ended other than SUCCEEDED and {} had not ended after {:?}\n\
             ended otherwise:\n{}\nnot ended:\n{}\n\
             job stream: {} messages (sequences {}..={}); consumer: {} pending, {} ack pending, \
             {} redelivered, delivered up to stream sequence {}, ack floor {}; dead letters: {dead_letters}",
            ended_otherwise.len(),
            pending.len(),
            waited.elapsed(),
            ended_otherwise.join("\n"),
            last_seen.join("\n"),
            stream_state.messages,
            stream_state.first_sequence,
            stream_state.last_sequence,
            consumer.num_pending,
            consumer.num_ack_pending,
            consumer.num_redelivered,
            consumer.delivered.stream_sequence,
            consumer.ack_floor.stream_sequence,
        );
    }
    let runs: usize = workers.iter().map(WorkerHandle::runs).sum();
    eprintln!(
        "all {JOBS} jobs SUCCEEDED {:?} after the load ({:?} since the kill); {runs} runs",
        waited.elapsed(),
        load_started.elapsed() - kill_at,
    );
    assert!(runs >= JOBS, "{runs} runs for {JOBS} jobs");

    // The killed node comes back and catches up: three current replicas again.
    let rejoin = Instant::now();
    tokio::task::block_in_place(|| cluster.restart_node(victim)).unwrap();
    eprintln!("{} rejoined after {:?}", cluster.server_name(victim), rejoin.elapsed());
    let caught_up = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let (replicas, leader, followers) = stream_replicas(&inspector, &config.stream).await;
            if replicas == 3 && leader.is_some() && followers.len() == 2 && followers.iter().all(|f| f.1) {
                return followers;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(caught_up.is_ok(), "the job stream's replicas did not all become current");
    eprintln!("whole test: {:?}", started.elapsed());

    gateway.stop().await;
    for worker in workers {
        worker.stop().await;
    }
}

/// Services started with one replica, then again with three, on the same
/// cluster (an operator who grew NATS from one server to three): every stream,
/// bucket and object store ends with three replicas, all current, its
/// messages kept. A count the cluster cannot hold stops the start with one
/// line naming the stream and both counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_raised_at_start_reach_every_store() {
    let cluster = NatsCluster::start().unwrap();
    let one = NatsConfig { replicas: 1, ..cluster_config(cluster.node(0).url()) };
    let stores = [Store::Jobs, Store::Records, Store::Results, Store::Datasets, Store::DeadLetters];
    let streams: Vec<String> = stores.iter().map(|store| store.stream_name(&one)).collect();

    let first = NatsBackend::connect(one.clone(), &NatsAuth::default()).await.unwrap();
    for name in &streams {
        assert_eq!(stream_replicas(&first, name).await.0, 1, "{name}");
    }
    // A message stored under one replica, which the new replicas must copy.
    first.dead_letter("made-under-r1", "the job".into(), "a test").await.unwrap();
    drop(first);

    let three = NatsConfig { replicas: 3, ..one.clone() };
    let started = Instant::now();
    let second = NatsBackend::connect(three.clone(), &NatsAuth::default()).await.unwrap();
    eprintln!("started again with three replicas in {:?}", started.elapsed());
    let current = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let mut all = Vec::new();
            for name in &streams {
                all.push((name.clone(), stream_replicas(&second, name).await));
            }
            let done = all.iter().all(|(_, (replicas, leader, followers))| {
                *replicas == 3 && leader.is_some() && followers.len() == 2 && followers.iter().all(|f| f.1)
            });
            if done {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let current = current.expect("every store reaches three current replicas");
    eprintln!("three current replicas after {:?}: {current:?}", started.elapsed());
    // The workers' consumer too: left on one server, it would stop them all with it.
    let jobs = second.jetstream().get_stream(&three.stream).await.unwrap();
    let consumer = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let info = jobs.consumer_info(&three.consumer).await.unwrap();
            let cluster = info.cluster.clone().unwrap();
            if cluster.leader.is_some()
                && cluster.replicas.len() == 2
                && cluster.replicas.iter().all(|p| p.current)
            {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the consumer reaches three current replicas");
    assert_eq!(consumer.config.num_replicas, 3);
    let mut dlq = second.jetstream().get_stream(&three.dlq_stream).await.unwrap();
    assert_eq!(dlq.info().await.unwrap().state.messages, 1, "the message stored under one replica is kept");

    // Started again as it is, nothing changes.
    let configs = |backend: NatsBackend| {
        let streams = streams.clone();
        let three = three.clone();
        async move {
            let mut configs = Vec::new();
            for name in &streams {
                let mut stream = backend.jetstream().get_stream(name).await.unwrap();
                let c = stream.info().await.unwrap().config.clone();
                configs.push(format!(
                    "{name}: {} {} {:?} {:?} {:?} {:?}",
                    c.num_replicas, c.max_bytes, c.discard, c.max_age, c.duplicate_window, c.republish
                ));
            }
            let jobs = backend.jetstream().get_stream(&three.stream).await.unwrap();
            let c = jobs.consumer_info(&three.consumer).await.unwrap().config.clone();
            configs.push(format!(
                "consumer: {} {:?} {} {:?} {}",
                c.num_replicas, c.ack_wait, c.max_deliver, c.backoff, c.max_ack_pending
            ));
            configs
        }
    };
    let before = configs(second.clone()).await;
    NatsBackend::connect(three.clone(), &NatsAuth::default()).await.unwrap();
    assert_eq!(configs(second.clone()).await, before, "a start as configured changes nothing");

    let five = NatsConfig { replicas: 5, ..one };
    let refusal = NatsBackend::connect(five, &NatsAuth::default()).await.unwrap_err().to_string();
    eprintln!("with five replicas: {refusal}");
    assert!(!refusal.contains('\n'), "one line: {refusal}");
    assert!(refusal.contains(&format!("stream {} has 3 replicas, configured 5", three.stream)), "{refusal}");
    assert!(refusal.contains("--nats-replicas"), "{refusal}");
    for name in &streams {
        assert_eq!(stream_replicas(&second, name).await.0, 3, "{name} is left as it was");
    }
}

/// `NatsConfig::url` is documented as "Server URL(s), comma-separated", and
/// `NatsCluster::urls` gives that form; `NatsBackend::connect` should accept it.
#[tokio::test]
async fn comma_separated_cluster_urls_connect() {
    let cluster = NatsCluster::start().unwrap();
    let config = cluster_config(cluster.urls());
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    assert!(backend.is_connected());
    let mut stream = backend.jetstream().get_stream(&config.stream).await.unwrap();
    assert_eq!(stream.info().await.unwrap().config.num_replicas, 3);
}
