//! Field-level reasons a scenario is refused, for `INVALID_ARGUMENT` details.

use std::fmt;

/// One thing wrong with one field of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path to the field, such as `measures[2].rate_pct`.
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

/// Everything wrong with a scenario (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Violations(pub Vec<FieldViolation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut iter = self.0.iter();
        if let Some(first) = iter.next() {
            write!(f, "{}: {}", first.field, first.reason)?;
        }
        let more = self.0.len().saturating_sub(1);
        if more > 0 {
            write!(f, " (and {more} more)")?;
        }
        Ok(())
    }
}

/// Collects violations while a scenario is checked.
#[derive(Debug, Default)]
pub(crate) struct Collector(Vec<FieldViolation>);

impl Collector {
    pub(crate) fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldViolation { field: field.into(), reason: reason.into() });
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() { Ok(value) } else { Err(Violations(self.0)) }
    }
}
