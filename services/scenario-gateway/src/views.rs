//! Result views on the way out: the worker stores every figure of a job; the
//! gateway returns the part a request (or, failing that, the submission) asks
//! for. See the README, "Result views", for the default and why.

use tariff_proto::v1::{self as pb, Job, ResultView};
use tariff_scenario::{FlowSelection, dataset::Dataset};
use tonic::Status;

use crate::status;

/// Up to this many flows, a request without a view gets them all (FULL);
/// beyond, the SUMMARY. Measured on the built-in dataset (universal 20%: 802
/// flows, 135,205 bytes FULL, 25,802 SUMMARY), an encoded flow takes 136 bytes,
/// so a FULL result of this many is about 2.7 MB: under the 4 MiB gRPC clients
/// accept by default.
pub const DEFAULT_FULL_FLOWS: u64 = 20_000;

/// The view an unspecified request gets for a result with `flows` flows.
pub fn default_view(flows: u64) -> ResultView {
    if flows <= DEFAULT_FULL_FLOWS { ResultView::Full } else { ResultView::Summary }
}

fn invalid_view(violations: &tariff_scenario::Violations) -> Status {
    let list: Vec<(String, String)> =
        violations.0.iter().map(|v| (v.field.clone(), v.reason.clone())).collect();
    status::invalid(&list)
}

/// Checks a view's codes against the dataset, before a job is queued.
pub fn check(dataset: &Dataset, view: Option<&pb::ResultOptions>) -> Result<(), Status> {
    match view {
        Some(options) => FlowSelection::resolve(dataset, options, ResultView::Full)
            .map(|_| ())
            .map_err(|v| invalid_view(&v)),
        None => Ok(()),
    }
}

/// Cuts the job's result down to `requested`, or to the view it was submitted
/// with, or to the default for its size.
pub fn apply(job: &mut Job, requested: Option<&pb::ResultOptions>, dataset: &Dataset) -> Result<(), Status> {
    let Some(result) = job.result.as_mut() else { return Ok(()) };
    let options = requested.or(job.view.as_ref()).cloned().unwrap_or_default();
    let flows: u64 = result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flow_count).sum();
    let selection =
        FlowSelection::resolve(dataset, &options, default_view(flows)).map_err(|v| invalid_view(&v))?;
    selection.apply(dataset, result);
    Ok(())
}
