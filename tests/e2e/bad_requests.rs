//! Bad requests over real gRPC: arbitrary bytes where a scenario belongs,
//! arbitrary scenario messages, oversized payloads. Every one is answered with
//! INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for size) and a reason; nothing panics
//! and the gateway keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use scenario_gateway::ServerOptions;
use tariff_e2e::{Gateway, scenario};
use tariff_jobs::{JobService, memory::MemoryBackend};
use tariff_proto::v1::{ListEconomiesRequest, SubmitScenarioRequest, SubmitScenarioResponse};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

/// A SubmitScenarioRequest whose `scenario` field carries any bytes at all.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSubmit {
    #[prost(bytes = "vec", tag = "1")]
    scenario: Vec<u8>,
    #[prost(string, tag = "2")]
    idempotency_key: String,
}

async fn submit_raw(channel: Channel, bytes: Vec<u8>) -> Result<SubmitScenarioResponse, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/tariff.v1.ScenarioService/SubmitScenario");
    let codec = tonic_prost::ProstCodec::<RawSubmit, SubmitScenarioResponse>::default();
    let request = tonic::Request::new(RawSubmit { scenario: bytes, idempotency_key: String::new() });
    grpc.unary(request, path, codec).await.map(tonic::Response::into_inner)
}

/// A small deterministic generator (no randomness in test outcomes).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn assert_refused_with_reason(status: &Status) {
    match status.code() {
        Code::InvalidArgument => {
            let has_fields = status.get_details_bad_request().is_some_and(|b| !b.field_violations.is_empty());
            assert!(has_fields || !status.message().is_empty(), "no reason: {status:?}");
        }
        Code::ResourceExhausted => assert!(!status.message().is_empty()),
        other => panic!("unexpected {other:?}: {}", status.message()),
    }
}

#[tokio::test]
async fn arbitrary_bytes_and_messages_are_refused_with_reasons() {
    let backend = MemoryBackend::default();
    let gateway = Gateway::serve(JobService::new(backend.clone(), backend)).await;
    let channel =
        Channel::from_shared(format!("http://{}", gateway.address)).unwrap().connect().await.unwrap();

    let mut rng = Lcg(7);
    let mut codes: HashMap<Code, usize> = HashMap::new();
    let valid = prost::Message::encode_to_vec(&scenario("universal-10.json"));
    for round in 0..300 {
        let bytes = match round % 3 {
            // Pure noise.
            0 => {
                let len = (rng.next() % 200) as usize;
                rng.bytes(len)
            }
            // A valid scenario with some bytes flipped: mostly decodable, mostly wrong.
            1 => {
                let mut b = valid.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let i = (rng.next() as usize) % b.len();
                    b[i] ^= (rng.next() as u8) | 1;
                }
                b
            }
            // A valid scenario cut short.
            _ => valid[..(rng.next() as usize) % valid.len()].to_vec(),
        };
        match submit_raw(channel.clone(), bytes).await {
            Ok(_) => *codes.entry(Code::Ok).or_default() += 1,
            Err(status) => {
                assert_refused_with_reason(&status);
                *codes.entry(status.code()).or_default() += 1;
            }
        }
    }
    assert!(codes.get(&Code::InvalidArgument).copied().unwrap_or(0) > 100, "{codes:?}");
    // Still serving after all that.
    let mut client = gateway.client().await;
    assert!(client.list_economies(ListEconomiesRequest::default()).await.is_ok());
}

#[tokio::test]
async fn an_oversized_request_is_resource_exhausted() {
    let backend = MemoryBackend::default();
    let options = ServerOptions { max_request_bytes: 16 * 1024, ..ServerOptions::default() };
    let gateway = Gateway::serve_with(JobService::new(backend.clone(), backend), options).await;
    let mut client = gateway.client().await;
    let mut big = scenario("universal-10.json");
    big.description = "x".repeat(64 * 1024);
    let status = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(big),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("--max-request-bytes"), "the flag is named: {}", status.message());
    // Under the limit but over the scenario's own description limit: the field is named.
    let mut long = scenario("universal-10.json");
    long.description = "x".repeat(17 * 1024);
    let options = ServerOptions { max_request_bytes: 1024 * 1024, ..ServerOptions::default() };
    let backend = MemoryBackend::default();
    let roomy = Gateway::serve_with(JobService::new(backend.clone(), backend), options).await;
    let status = roomy
        .client()
        .await
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(long),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.get_details_bad_request().unwrap().field_violations[0].field, "scenario.description");
}

/// A scenario that changes nothing is refused, and every problem of a
/// scenario is listed, in the details and in the message (issue 14, finding 8).
#[tokio::test]
async fn an_empty_scenario_is_refused_and_every_problem_listed() {
    let backend = MemoryBackend::default();
    let gateway = Gateway::serve(JobService::new(backend.clone(), backend)).await;
    let mut client = gateway.client().await;
    let submit = |scenario| SubmitScenarioRequest { scenario: Some(scenario), ..Default::default() };

    let status = client.submit_scenario(submit(Default::default())).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = status.get_details_bad_request().unwrap().field_violations;
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].field, "scenario.measures");
    assert!(fields[0].description.contains("changes nothing"), "{}", fields[0].description);

    let mut broken = scenario("universal-10.json");
    broken.measures[0].importer = "NOWHERE".into();
    broken.evaluate_at = vec!["not-a-date".into()];
    let status = client.submit_scenario(submit(broken)).await.unwrap_err();
    let fields: Vec<String> =
        status.get_details_bad_request().unwrap().field_violations.into_iter().map(|v| v.field).collect();
    assert!(fields.len() >= 2, "{fields:?}");
    for field in &fields {
        assert!(status.message().contains(field.as_str()), "{field} in: {}", status.message());
    }
}
