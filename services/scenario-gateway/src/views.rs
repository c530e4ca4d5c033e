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

/// Flows per page when the request names no size, and the most.
pub const DEFAULT_PAGE_FLOWS: usize = 1_000;
pub const MAX_PAGE_FLOWS: usize = 20_000;

/// One page of a succeeded job's flows. The token is the position of the
/// page's first flow among the filtered flows.
pub fn page(
    job: Job,
    request: &pb::GetResultFlowsRequest,
    dataset: &Dataset,
) -> Result<pb::GetResultFlowsResponse, Status> {
    let size = match request.page_size as usize {
        0 => DEFAULT_PAGE_FLOWS,
        n => n.min(MAX_PAGE_FLOWS),
    };
    let start: usize = match request.page_token.as_str() {
        "" => 0,
        token => token
            .parse()
            .map_err(|_| status::invalid_field("page_token", "not a token this call returned"))?,
    };
    let options = pb::ResultOptions { view: ResultView::Full.into(), flows: request.filter.clone() };
    let selection = FlowSelection::resolve(dataset, &options, ResultView::Full).map_err(|v| {
        let list: Vec<(String, String)> =
            v.0.iter().map(|v| (v.field.replacen("view.flows", "filter", 1), v.reason.clone())).collect();
        status::invalid(&list)
    })?;
    let Some(mut result) = job.result else {
        return Ok(pb::GetResultFlowsResponse::default());
    };
    selection.apply(dataset, &mut result);
    let total: usize = result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flows.len()).sum();
    let mut flows = Vec::with_capacity(size.min(total.saturating_sub(start)));
    let all = result.impacts.into_iter().flat_map(|impact| {
        let date = impact.date;
        impact.sectors.into_iter().flat_map(move |sector| {
            let (date, code) = (date.clone(), sector.sector);
            sector.flows.into_iter().map(move |flow| pb::ResultFlow {
                date: date.clone(),
                sector: code.clone(),
                flow: Some(flow),
            })
        })
    });
    flows.extend(all.skip(start).take(size));
    let end = start.saturating_add(flows.len());
    Ok(pb::GetResultFlowsResponse {
        flows,
        next_page_token: if end < total { end.to_string() } else { String::new() },
        total_flows: total as u64,
    })
}
