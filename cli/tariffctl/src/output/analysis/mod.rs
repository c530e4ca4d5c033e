//! Printing the answer of a scenario's analysis: contributions, a goal-seek,
//! an optimisation.

pub mod contributions;
pub mod search;

use std::io::Write;

use tariff_proto::v1::{ScenarioResult, SearchStatus, analysis_result::Kind};

/// The answer in the form the dedicated command prints by default, for a
/// result that has one (`run` on a scenario file with an `analysis`).
pub fn summary(result: &ScenarioResult, out: &mut dyn Write) -> std::io::Result<()> {
    let Some(analysis) = &result.analysis else { return Ok(()) };
    let asked = search::Asked::default();
    match &analysis.kind {
        Some(Kind::Contributions(c)) => {
            contributions::table(result, c, analysis.evaluations, &Default::default(), out)
        }
        Some(Kind::Seek(s)) => search::seek(s, analysis.evaluations, &asked, out),
        Some(Kind::Optimization(o)) => search::optimization(o, analysis.evaluations, &asked, false, out),
        None => Ok(()),
    }
}

/// Why a search did not succeed, when it did not: its status and message.
pub fn unsuccessful(result: &ScenarioResult) -> Option<String> {
    let (status, message) = match result.analysis.as_ref()?.kind.as_ref()? {
        Kind::Seek(s) => (s.status, &s.message),
        Kind::Optimization(o) => (o.status, &o.message),
        Kind::Contributions(_) => return None,
    };
    (status != SearchStatus::Converged as i32).then(|| {
        let name = search::status_name(status);
        if message.is_empty() { name.to_owned() } else { format!("{name}: {message}") }
    })
}
