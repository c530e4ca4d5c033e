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
    if rewritten == Some("8") {
        // tonic names the sizes, not what sets the limit: the caller's next step.
        let named = format!("{message}{LIMIT_HINT}");
        if let Ok(value) = HeaderValue::from_str(&named) {
            headers.insert("grpc-message", value);
        }
    }
    response
}

/// Appended to tonic's size refusal (printable ASCII without `%`, so it needs
/// no percent-encoding in `grpc-message`).
const LIMIT_HINT: &str = "; the gateway's limit is set by --max-request-bytes (TARIFF_MAX_REQUEST_BYTES); \
                          send a large dataset with UploadDataset (tariffctl dataset upload), which streams it";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_request_over_the_limit_names_the_flag() {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert("grpc-status", HeaderValue::from_static("11"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("Error,%20decoded%20message%20length%20too%20large: found 5 bytes"),
        );
        let response = as_contract_status(response);
        assert_eq!(response.headers()["grpc-status"], "8");
        let message = response.headers()["grpc-message"].to_str().unwrap();
        assert!(message.contains("found 5 bytes") && message.contains("--max-request-bytes"), "{message}");
    }
}
