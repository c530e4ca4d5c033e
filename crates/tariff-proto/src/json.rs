//! Proto3 JSON in and out, with errors that say where the input went wrong.

use serde::{Serialize, de::DeserializeOwned};

/// Why a proto3 JSON document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct JsonError {
    /// 1-based line of the error (0 when unknown).
    pub line: usize,
    /// 1-based column of the error (0 when unknown).
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// Parses a message from its proto3 JSON form (field names in `snake_case` or
/// `lowerCamelCase`, enums by name).
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    serde_json::from_str(text).map_err(|e| JsonError {
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
    })
}

/// Proto3 JSON, pretty-printed, with the `.proto` field names.
pub fn to_json_pretty<T: Serialize>(message: &T) -> String {
    // Serialising generated messages to a String cannot fail: no maps with
    // non-string keys and no I/O are involved.
    serde_json::to_string_pretty(message).unwrap_or_default()
}
