//! gRPC statuses for what goes wrong: refusals with the field at fault in rich
//! error details, and store failures.

use tariff_jobs::JobsError;
use tariff_proto::v1::{JobError, JobErrorCode};
use tariff_scenario::Violations;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `INVALID_ARGUMENT` with one `BadRequest` field violation per problem; field
/// paths are relative to the request message.
pub fn invalid(violations: &[(String, String)]) -> Status {
    let mut details = ErrorDetails::new();
    for (field, reason) in violations {
        details.add_bad_request_violation(field.clone(), reason.clone());
    }
    // Every problem in the message too, for clients that do not read details.
    let message = if violations.is_empty() {
        "invalid request".to_owned()
    } else {
        let all: Vec<String> =
            violations.iter().map(|(field, reason)| format!("{field}: {reason}")).collect();
        all.join("; ")
    };
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// One invalid field.
pub fn invalid_field(field: &str, reason: impl Into<String>) -> Status {
    invalid(&[(field.to_owned(), reason.into())])
}

/// A scenario's violations, under `scenario.` in the request.
pub fn invalid_scenario(violations: &Violations) -> Status {
    let list: Vec<(String, String)> =
        violations.0.iter().map(|v| (format!("scenario.{}", v.field), v.reason.clone())).collect();
    invalid(&list)
}

/// A store failure as the caller should see it.
pub fn from_jobs(error: JobsError) -> Status {
    match error {
        JobsError::Unavailable(reason) => {
            Status::unavailable(format!("job store unavailable, retry later: {reason}"))
        }
        JobsError::NotFound(id) => Status::not_found(format!("no job `{id}`")),
        reused @ JobsError::KeyReused { .. } => Status::already_exists(reused.to_string()),
        JobsError::Full(reason) => Status::resource_exhausted(reason),
        other => {
            tracing::error!(error = %other, "job store failure");
            Status::internal(other.to_string())
        }
    }
}

/// A failed job's error as the status `RunScenario` returns: one status per
/// code (README, "Calling it"), the field in a `BadRequest` when there is one.
pub fn from_job_error(job_id: &str, error: &JobError) -> Status {
    let message = format!("job {job_id} failed: {}", error.message);
    let code = match error.code_kind() {
        JobErrorCode::InvalidArgument if !error.field.is_empty() => {
            return invalid(&[(error.field.clone(), error.message.clone())]);
        }
        JobErrorCode::InvalidArgument => Code::InvalidArgument,
        JobErrorCode::ModelError => Code::FailedPrecondition,
        JobErrorCode::ResourceExhausted => Code::ResourceExhausted,
        JobErrorCode::Unavailable => Code::Unavailable,
        JobErrorCode::GaveUp => Code::Aborted,
        JobErrorCode::Internal | JobErrorCode::Unspecified => Code::Internal,
    };
    Status::new(code, message)
}

/// A gRPC status code as the gRPC specification spells it (`NOT_FOUND`), for
/// logs: tonic's own `Display` is a sentence and its `Debug` is CamelCase.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_error_code_has_its_documented_status() {
        let cases = [
            (JobErrorCode::InvalidArgument, Code::InvalidArgument),
            (JobErrorCode::ModelError, Code::FailedPrecondition),
            (JobErrorCode::ResourceExhausted, Code::ResourceExhausted),
            (JobErrorCode::Unavailable, Code::Unavailable),
            (JobErrorCode::GaveUp, Code::Aborted),
            (JobErrorCode::Internal, Code::Internal),
            (JobErrorCode::Unspecified, Code::Internal),
        ];
        for (kind, code) in cases {
            let status = from_job_error("j1", &JobError::new(kind, "why", ""));
            assert_eq!(status.code(), code, "{kind:?}");
            assert!(status.message().contains("job j1 failed: why"), "{}", status.message());
            // A record written before `kind` existed maps by its code's name.
            let old = JobError { code: kind.name().to_owned(), message: "why".into(), ..JobError::default() };
            assert_eq!(from_job_error("j1", &old).code(), code, "{kind:?} by name");
        }
    }
}
