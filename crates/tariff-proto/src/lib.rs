//! The `tariff.v1` protobuf contract: messages, the `ScenarioService` client and
//! server, proto3 JSON, and the encoded descriptor set that server reflection serves.

pub mod json;
pub mod passthrough;

/// Generated code of the `tariff.v1` package, with proto3 JSON (serde) impls.
pub mod v1 {
    #![allow(clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    #![allow(missing_debug_implementations)]
    include!(concat!(env!("OUT_DIR"), "/tariff.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/tariff.v1.serde.rs"));

    pub use crate::passthrough::RunScenarioResponse;
}

/// The names `Progress.stage` takes besides a sector solve's (`<date> <sector>`):
/// one definition for the model that reports them, the worker that writes and
/// rescales them, and the clients that draw them.
pub mod stage {
    /// Uncertainty draws (`done` of `total` draws).
    pub const DRAWS: &str = "draws";
    /// The tornado's one-at-a-time runs.
    pub const SENSITIVITY: &str = "sensitivity";
    /// The runs of an analysis (contributions, goal-seek, optimisation):
    /// `done` runs of at most `total`.
    pub const EVALUATIONS: &str = "evaluations";
    /// A job that ended with its result: `done` equals `total`.
    pub const DONE: &str = "done";
}

/// The encoded `FileDescriptorSet` of every `tariff.v1` file.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tariff_descriptor.bin"));

impl v1::JobErrorCode {
    /// The code's name as `JobError.code` carries it: `MODEL_ERROR`.
    pub fn name(self) -> &'static str {
        let full = self.as_str_name();
        full.strip_prefix("JOB_ERROR_CODE_").unwrap_or(full)
    }
}

impl v1::JobState {
    /// A state's one spelling in logs, the proto enum name (`SUCCEEDED`),
    /// from the number a `Job` carries; `JOB_STATE_UNSPECIFIED` for a number
    /// this build does not know.
    pub fn name_of(state: i32) -> &'static str {
        v1::JobState::try_from(state).unwrap_or(v1::JobState::Unspecified).as_str_name()
    }
}

impl v1::JobError {
    /// An error with its code set both ways (`kind`, and `code` by name).
    pub fn new(kind: v1::JobErrorCode, message: impl Into<String>, field: impl Into<String>) -> v1::JobError {
        v1::JobError {
            code: kind.name().to_owned(),
            message: message.into(),
            field: field.into(),
            kind: kind.into(),
        }
    }

    /// The error's code: `kind`, or for a record written before it, the code named by `code`.
    pub fn code_kind(&self) -> v1::JobErrorCode {
        match v1::JobErrorCode::try_from(self.kind) {
            Ok(v1::JobErrorCode::Unspecified) | Err(_) => {
                v1::JobErrorCode::from_str_name(&format!("JOB_ERROR_CODE_{}", self.code))
                    .unwrap_or(v1::JobErrorCode::Unspecified)
            }
            Ok(kind) => kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v1::{JobError, JobErrorCode};

    #[test]
    fn error_codes_read_from_the_enum_or_from_older_records_by_name() {
        let e = JobError::new(JobErrorCode::ModelError, "no", "");
        assert_eq!((e.code.as_str(), e.code_kind()), ("MODEL_ERROR", JobErrorCode::ModelError));
        let old = JobError { code: "GAVE_UP".into(), ..JobError::default() };
        assert_eq!(old.code_kind(), JobErrorCode::GaveUp);
        let unknown = JobError { code: "SOMETHING".into(), ..JobError::default() };
        assert_eq!(unknown.code_kind(), JobErrorCode::Unspecified);
    }
}
