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

/// Every violation, `; ` between them: a caller fixes them all in one go, as
/// the gateway's `BadRequest` lists them all.
impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.reason)?;
        }
        Ok(())
    }
}

/// A request that changes nothing: no measure, agreement change or
/// exchange-rate move. The library computes it (the base year against
/// itself); the gateway and `tariffctl run` refuse it, as such a request is
/// most often a file that lost its measures, and zeros would read as "no effect".
pub fn changes_nothing(scenario: &tariff_proto::v1::Scenario) -> Option<FieldViolation> {
    let empty =
        scenario.measures.is_empty() && scenario.agreements.is_empty() && scenario.exchange_rates.is_empty();
    empty.then(|| FieldViolation {
        field: "measures".into(),
        reason: "the scenario changes nothing: give at least one measure, agreement change or \
                 exchange-rate move (with none, every figure is the base year's own)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_is_shown() {
        let v = Violations(vec![
            FieldViolation { field: "a".into(), reason: "bad".into() },
            FieldViolation { field: "b".into(), reason: "worse".into() },
        ]);
        assert_eq!(v.to_string(), "a: bad; b: worse");
    }

    #[test]
    fn an_empty_request_changes_nothing() {
        let mut scenario = tariff_proto::v1::Scenario::default();
        assert_eq!(changes_nothing(&scenario).map(|v| v.field), Some("measures".to_owned()));
        scenario.exchange_rates.push(Default::default());
        assert_eq!(changes_nothing(&scenario), None);
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
