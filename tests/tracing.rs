//! One job's trace across a real gateway, a real nats-server and a real worker
//! (both in this process), with the spans collected in memory: the caller's
//! W3C context continues through the gateway, the message headers and the
//! worker, in one trace with an unbroken parent chain.
//!
//! Alone in its test binary: it installs the process-wide tracer provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{collections::HashMap, time::Duration};

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tariff_e2e::{Stack, WorkerHandle, every_step, scenario};
use tariff_proto::v1::RunScenarioRequest;
use tariff_telemetry::Telemetry;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The gateway's span of the call (its `otel.name`).
const RUN: &str = "tariff.v1.ScenarioService/RunScenario";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_is_one_trace_from_the_caller_through_gateway_queue_and_worker() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let _telemetry = Telemetry::builder("tariff-e2e").tracer_provider(provider).init();

    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;

    let mut request = tonic::Request::new(RunScenarioRequest {
        scenario: Some(scenario("timeline-2025-2026.json")),
        idempotency_key: String::new(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01").parse().unwrap());
    let job_id = client.run_scenario(request).await.unwrap().into_inner().job_id;

    // The worker's job span ends after its ack, a moment after the caller's answer.
    let spans = collected(&exporter, &[RUN, "job"]).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    let caller_trace = TraceId::from_hex(CALLER_TRACE).unwrap();
    let caller_span = SpanId::from_hex(CALLER_SPAN).unwrap();

    // One trace: the caller's.
    for span in &spans {
        assert_eq!(
            span.span_context.trace_id(),
            caller_trace,
            "span {} is in another trace ({names:?})",
            span.name
        );
    }
    // An unbroken chain: every parent is a collected span, or the caller's span.
    let by_id: HashMap<SpanId, &SpanData> = spans.iter().map(|s| (s.span_context.span_id(), s)).collect();
    for span in &spans {
        assert!(
            span.parent_span_id == caller_span || by_id.contains_key(&span.parent_span_id),
            "span {} has a parent that was not collected ({names:?})",
            span.name
        );
    }
    // The gateway's side and the worker's side are both there. A run without
    // an idempotency key has no record until its worker writes one.
    assert!(!names.contains(&"create_record"), "{names:?}");
    for name in [
        RUN,
        "validate",
        "publish",
        "job",
        "queue_wait",
        "read_record",
        "compute",
        "prepare",
        "resolve",
        "solve",
        "store_result",
    ] {
        assert!(names.contains(&name), "no `{name}` span in {names:?}");
    }

    let one = |name: &str| {
        let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "one `{name}` span expected in {names:?}");
        found[0]
    };
    let ancestors = |span: &SpanData| -> Vec<String> {
        let mut chain = Vec::new();
        let mut parent = span.parent_span_id;
        while let Some(next) = by_id.get(&parent) {
            chain.push(next.name.to_string());
            parent = next.parent_span_id;
        }
        chain
    };
    let rpc = one(RUN);
    assert_eq!(rpc.parent_span_id, caller_span, "the gateway continues the caller's span");
    assert!(rpc.parent_span_is_remote);
    assert_eq!(rpc.span_kind, SpanKind::Server);
    let job = one("job");
    assert_eq!(job.span_kind, SpanKind::Consumer);
    assert!(job.parent_span_is_remote, "the worker's job span continues a context from the message");
    assert_eq!(ancestors(job), ["publish", RUN], "the worker's job span hangs under the gateway's publish");
    assert_eq!(one("publish").span_kind, SpanKind::Producer);
    assert_eq!(ancestors(one("validate")), [RUN]);
    assert_eq!(ancestors(one("queue_wait")), ["publish", RUN]);
    assert_eq!(ancestors(one("store_result")), ["job", "publish", RUN]);
    assert_eq!(ancestors(one("prepare")), ["compute", "job", "publish", RUN]);
    // The timeline scenario has several dates: a resolution and a solve for each.
    let resolves: Vec<&SpanData> = spans.iter().filter(|s| s.name == "resolve").collect();
    assert!(resolves.len() > 1, "{names:?}");
    for span in resolves.iter().chain(spans.iter().filter(|s| s.name == "solve").collect::<Vec<_>>().iter()) {
        assert_eq!(ancestors(span), ["compute", "job", "publish", RUN]);
    }

    // Log lines of the job carry the job and trace ids: they are fields of the job span.
    let attribute = |span: &SpanData, key: &str| {
        span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
    };
    assert_eq!(attribute(job, "job_id").as_deref(), Some(job_id.as_str()));
    assert_eq!(attribute(job, "trace_id").as_deref(), Some(CALLER_TRACE));
    assert_eq!(attribute(rpc, "trace_id").as_deref(), Some(CALLER_TRACE));
    assert_eq!(attribute(rpc, "job_id").as_deref(), Some(job_id.as_str()));
    assert!(attribute(job, "queue_wait_ms").is_some());

    // A caller that sends no trace context: the gateway starts a trace, and the
    // worker still continues it (the publish span's context is in the headers).
    exporter.reset();
    client
        .run_scenario(RunScenarioRequest {
            scenario: Some(scenario("universal-10.json")),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap();
    let spans = collected(&exporter, &[RUN, "job"]).await;
    let rpc = spans.iter().find(|s| s.name == RUN).unwrap();
    assert_eq!(rpc.parent_span_id, SpanId::INVALID, "a new trace starts at the gateway");
    assert_ne!(rpc.span_context.trace_id(), caller_trace);
    assert!(spans.iter().all(|s| s.span_context.trace_id() == rpc.span_context.trace_id()));
    let publish = spans.iter().find(|s| s.name == "publish").unwrap();
    let job = spans.iter().find(|s| s.name == "job").unwrap();
    assert_eq!(job.parent_span_id, publish.span_context.span_id());
    assert_eq!(publish.parent_span_id, rpc.span_context.span_id());
}

/// The finished spans once every name in `names` is among them.
async fn collected(exporter: &InMemorySpanExporter, names: &[&str]) -> Vec<SpanData> {
    for _ in 0..200 {
        let spans = exporter.get_finished_spans().unwrap();
        if names.iter().all(|name| spans.iter().any(|s| s.name == *name)) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = exporter.get_finished_spans().unwrap();
    panic!(
        "spans {names:?} never all finished: {:?}",
        spans.iter().map(|s| s.name.clone()).collect::<Vec<_>>()
    );
}
