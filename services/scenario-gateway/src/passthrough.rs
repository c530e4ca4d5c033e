//! When RunScenario may answer with the result's bytes as the worker stored
//! them, not decoded and encoded again (see `tariff_proto::passthrough`).

use prost::{Message, bytes::Bytes};
use tariff_jobs::Encoded;
use tariff_proto::{
    passthrough::find_field,
    v1::{self as pb, JobState, ResultView},
};

/// `ScenarioResult.view`'s field number.
const RESULT_VIEW_FIELD: u32 = 12;

/// The result's bytes, when they are exactly what the call asked for: the
/// job succeeded with its result in the record (not split into chunks), the
/// call named a view, and the worker computed the result in that very view
/// (RunScenario's own job; a job first submitted with the same key and view
/// by SubmitScenario holds every figure, and is cut down as before).
pub fn answer(record: &Encoded, requested: Option<&pb::ResultOptions>) -> Option<Bytes> {
    let requested = requested.filter(|view| view.view() != ResultView::Unspecified)?;
    let job = &record.job;
    if JobState::try_from(job.state) != Ok(JobState::Succeeded) || job.flow_chunks.is_some() {
        return None;
    }
    let result = record.result.as_ref()?;
    let view = find_field(result, RESULT_VIEW_FIELD).ok()??;
    let computed = pb::ResultOptions::decode(view).ok()?;
    (computed == *requested).then(|| result.clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::ops::ControlFlow;

    use tariff_jobs::JobRunner;
    use tariff_proto::v1::{Job, ScenarioResult};
    use tariff_worker::ScenarioRunner;

    use super::*;

    fn scenario() -> pb::Scenario {
        let text = include_str!("../../../scenarios/universal-10.json");
        tariff_scenario::parse_scenario(text, tariff_scenario::ScenarioFormat::Json).unwrap()
    }

    fn view(view: ResultView) -> pb::ResultOptions {
        pb::ResultOptions { view: view.into(), ..pb::ResultOptions::default() }
    }

    /// A record as a worker stores it, computed in `computed` (None: every figure).
    fn record(computed: Option<&pb::ResultOptions>, state: JobState) -> Encoded {
        let result: ScenarioResult = ScenarioRunner::default()
            .run_in_view(&scenario(), computed, &mut |_| ControlFlow::Continue(()))
            .unwrap();
        Encoded::of(Job { job_id: "j".into(), state: state.into(), result: Some(result), ..Job::default() })
    }

    #[test]
    fn a_result_computed_in_the_asked_view_passes_as_stored() {
        for asked in [view(ResultView::Summary), view(ResultView::Full)] {
            let stored = record(Some(&asked), JobState::Succeeded);
            assert_eq!(answer(&stored, Some(&asked)), stored.result, "{asked:?}");
        }
    }

    #[test]
    fn anything_else_is_decoded_and_cut_as_before() {
        let summary = view(ResultView::Summary);
        // Another view than the one computed, or none named.
        let stored = record(Some(&summary), JobState::Succeeded);
        assert_eq!(answer(&stored, Some(&view(ResultView::Full))), None);
        assert_eq!(answer(&stored, None), None);
        assert_eq!(answer(&stored, Some(&view(ResultView::Unspecified))), None);
        // Every figure (a job first submitted by SubmitScenario with the same key).
        assert_eq!(answer(&record(None, JobState::Succeeded), Some(&summary)), None);
        // Not succeeded.
        assert_eq!(answer(&record(Some(&summary), JobState::Running), Some(&summary)), None);
        // Split by sector: the flows are in the chunks.
        let mut split = record(Some(&summary), JobState::Succeeded);
        split.job.flow_chunks = Some(pb::FlowChunks::default());
        assert_eq!(answer(&split, Some(&summary)), None);
    }
}
