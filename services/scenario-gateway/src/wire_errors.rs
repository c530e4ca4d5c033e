//! Statuses tonic gives for bad input on the wire, as the contract names them:
//! a request over the size limit is OUT_OF_RANGE in tonic and RESOURCE_EXHAUSTED
//! here; bytes that are not a valid message are INTERNAL in tonic (gRPC's own
//! advice) and INVALID_ARGUMENT here, since the caller sent them.

use http::{HeaderValue, Response};
use tonic::body::Body;

/// tonic's message for a request above `max_decoding_message_size`.
const TOO_LARGE: &str = "Error, decoded message length too large";
/// prost's message for bytes that do not decode.
const UNDECODABLE: &str = "failed to decode Protobuf message";

fn message_starts_with(message: &str, prefix: &str) -> bool {
    // grpc-message is percent-encoded; spaces may arrive as %20.
    message.starts_with(prefix) || message.starts_with(&prefix.replace(' ', "%20"))
}

/// Rewrites the two statuses above; every other response passes unchanged.
pub fn as_contract_status(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    let status = headers.get("grpc-status").and_then(|s| s.to_str().ok()).map(str::to_owned);
    let message = headers.get("grpc-message").and_then(|m| m.to_str().ok()).unwrap_or_default().to_owned();
    let rewritten = match status.as_deref() {
        Some("11") if message_starts_with(&message, TOO_LARGE) => Some("8"),
        Some("13") if message_starts_with(&message, UNDECODABLE) => Some("3"),
        _ => None,
    };
    if let Some(code) = rewritten {
        headers.insert("grpc-status", HeaderValue::from_static(code));
    }
    response
}
