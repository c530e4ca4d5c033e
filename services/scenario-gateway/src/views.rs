//! Result views on the way out: the worker stores every figure of a job; the
//! gateway returns the part a request (or, failing that, the submission) asks
//! for. See the README, "Result views", for the default and why.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use prost::Message;
use tariff_jobs::ChunkStore;
use tariff_proto::v1::{self as pb, ChunkTask, Job, ResultView};
use tariff_scenario::{FlowSelection, dataset::Dataset, keep_top};
use tonic::Status;

use crate::status;

use tariff_scenario::default_view;

/// Whether a stored result holds what `asked` keeps. A job run with
/// RunScenario keeps only its view's figures; every other result keeps all of
/// them (its `view` is FULL without a filter).
fn covers(job_id: &str, stored: &pb::ScenarioResult, asked: &FlowSelection) -> Result<(), Status> {
    let Some(kept) = stored.view.as_ref() else { return Ok(()) };
    let everything = kept.view() == ResultView::Full && kept.flows.is_none();
    if everything || !asked.keeps_flows() || asked.options() == kept {
        return Ok(());
    }
    let named = |o: &pb::ResultOptions| {
        let filter = if o.flows.is_some() { " with a flow filter" } else { "" };
        format!("{}{filter}", o.view().as_str_name())
    };
    Err(Status::failed_precondition(format!(
        "job {job_id} was run with RunScenario and the {} view, and kept only what that view holds; \
         ask for that view or SUMMARY, or submit the scenario with SubmitScenario, which keeps every figure \
         for any view",
        named(kept)
    )))
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
/// with, or to the default for its size. A job split by sector has its flows
/// in its chunks: a view with flows reads them from `chunks`.
pub async fn apply<C: ChunkStore>(
    chunks: &C,
    job: &mut Job,
    requested: Option<&pb::ResultOptions>,
    dataset: &Dataset,
) -> Result<(), Status> {
    let Some(result) = job.result.as_mut() else { return Ok(()) };
    let options = requested.or(job.view.as_ref()).cloned().unwrap_or_default();
    let flows: u64 = result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flow_count).sum();
    let selection =
        FlowSelection::resolve(dataset, &options, default_view(flows)).map_err(|v| invalid_view(&v))?;
    let Some(split) = job.flow_chunks.as_ref() else {
        covers(&job.job_id, result, &selection)?;
        selection.apply(dataset, result);
        return Ok(());
    };
    result.view = Some(selection.options().clone());
    if !selection.keeps_flows() {
        return Ok(());
    }
    let sectors = dataset.sectors.len().max(1);
    let kept: u64 = split
        .counts
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            dataset.sectors.get(i % sectors).is_some_and(|s| selection.keeps_sector_code(dataset, &s.code))
        })
        .map(|(_, n)| n)
        .sum();
    let too_many = |flows: u64| {
        Status::failed_precondition(format!(
            "the view keeps {flows} flows, more than the {MAX_SPLIT_VIEW_FLOWS} a result stored in parts returns \
             whole: ask for the SUMMARY view, fewer flows (view.flows: economies, sectors, top), or page them \
             with GetResultFlows"
        ))
    };
    if !selection.looks_at_flows() && kept > MAX_SPLIT_VIEW_FLOWS {
        return Err(too_many(kept));
    }
    for chunk in &split.chunks {
        let range =
            chunk.first_sector as usize..(chunk.first_sector as usize).saturating_add(chunk.sectors as usize);
        let wanted = dataset
            .sectors
            .get(range)
            .is_some_and(|codes| codes.iter().any(|s| selection.keeps_sector_code(dataset, &s.code)));
        if !wanted {
            continue;
        }
        let data = read_chunk(chunks, &job.job_id, chunk).await?;
        tariff_scenario::add_chunk_flows(dataset, result, &selection, data, chunk.index as usize).map_err(
            |e| {
                Status::internal(format!("the stored flows of job {} do not fit its result: {e}", job.job_id))
            },
        )?;
        let now: usize = result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flows.len()).sum();
        if now as u64 > MAX_SPLIT_VIEW_FLOWS {
            // At least this many, and the rest unread.
            return Err(too_many(now as u64));
        }
    }
    Ok(())
}

/// The most flows a view returns whole from a result stored in parts (a job
/// split by sector), about 35 MB encoded; the flows of larger views are paged.
pub const MAX_SPLIT_VIEW_FLOWS: u64 = 250_000;

/// The most flows GetResultFlows gathers to page a result stored in parts
/// with a filter by economy or a `top` (it reads every part for those).
pub const MAX_FILTERED_PAGE_FLOWS: usize = 2_000_000;

/// The decoded chunks last read for pages: consecutive pages of a result
/// stored in parts mostly fall in the same chunk (of up to 250,000 flows).
#[derive(Debug, Default)]
pub struct ChunkCache {
    /// Most recently used last.
    entries: Mutex<VecDeque<(ChunkKey, Arc<pb::SectorChunk>)>>,
}

/// A job id and a chunk index.
type ChunkKey = (String, u32);

/// Chunks a gateway keeps decoded: a page reader, and one more beside it.
const CACHED_CHUNKS: usize = 2;

impl ChunkCache {
    async fn read<C: ChunkStore>(
        &self,
        chunks: &C,
        job_id: &str,
        chunk: &ChunkTask,
    ) -> Result<Arc<pb::SectorChunk>, Status> {
        let key = (job_id.to_owned(), chunk.index);
        {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = entries.iter().position(|(k, _)| *k == key)
                && let Some(entry) = entries.remove(i)
            {
                let found = Arc::clone(&entry.1);
                entries.push_back(entry);
                return Ok(found);
            }
        }
        let data = Arc::new(read_chunk(chunks, job_id, chunk).await?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.push_back((key, Arc::clone(&data)));
        while entries.len() > CACHED_CHUNKS {
            entries.pop_front();
        }
        Ok(data)
    }
}

/// One chunk of a job split by sector.
async fn read_chunk<C: ChunkStore>(
    chunks: &C,
    job_id: &str,
    chunk: &ChunkTask,
) -> Result<pb::SectorChunk, Status> {
    let bytes = chunks.get_chunk(job_id, chunk.index).await.map_err(status::from_jobs)?.ok_or_else(|| {
        Status::data_loss(format!("the flows of job {job_id} (part {}) are no longer stored", chunk.index))
    })?;
    pb::SectorChunk::decode(bytes.as_slice()).map_err(|e| {
        Status::internal(format!(
            "the stored flows of job {job_id} (part {}) do not decode: {e}",
            chunk.index
        ))
    })
}

/// Flows per page when the request names no size, and the most.
pub const DEFAULT_PAGE_FLOWS: usize = 1_000;
pub const MAX_PAGE_FLOWS: usize = 20_000;

/// A page request's size, first position and flow selection.
fn page_request(
    request: &pb::GetResultFlowsRequest,
    dataset: &Dataset,
) -> Result<(usize, usize, FlowSelection), Status> {
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
    Ok((size, start, selection))
}

/// The response for the flows `start..` of `total`, `flows` being that page.
fn page_response(flows: Vec<pb::ResultFlow>, start: usize, total: usize) -> pb::GetResultFlowsResponse {
    let end = start.saturating_add(flows.len());
    pb::GetResultFlowsResponse {
        flows,
        next_page_token: if end < total { end.to_string() } else { String::new() },
        total_flows: total as u64,
    }
}

/// Every flow of a date's sectors, in order, as result flows.
fn result_flows(date: String, sectors: Vec<pb::SectorImpact>) -> impl Iterator<Item = pb::ResultFlow> {
    sectors.into_iter().flat_map(move |sector| {
        let (date, code) = (date.clone(), sector.sector);
        sector.flows.into_iter().map(move |flow| pb::ResultFlow {
            date: date.clone(),
            sector: code.clone(),
            flow: Some(flow),
        })
    })
}

/// One page of a succeeded job's flows. The token is the position of the
/// page's first flow among the filtered flows. A job split by sector is read
/// from its chunks: only the page's, unless the filter names economies or a
/// `top` (then every chunk).
pub async fn page<C: ChunkStore>(
    chunks: &C,
    cache: &ChunkCache,
    job: Job,
    request: &pb::GetResultFlowsRequest,
    dataset: &Dataset,
) -> Result<pb::GetResultFlowsResponse, Status> {
    let (size, start, selection) = page_request(request, dataset)?;
    if let Some(split) = &job.flow_chunks {
        let parts = Parts { store: chunks, cache, job_id: &job.job_id, split, dataset };
        return if selection.looks_at_flows() {
            parts.page_gathered(&selection, (start, size)).await
        } else {
            parts.page_in_place(&selection, (start, size)).await
        };
    }
    let Some(mut result) = job.result else {
        return Ok(pb::GetResultFlowsResponse::default());
    };
    covers(&job.job_id, &result, &selection)?;
    selection.apply(dataset, &mut result);
    let total: usize = result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flows.len()).sum();
    let all = result.impacts.into_iter().flat_map(|impact| result_flows(impact.date, impact.sectors));
    let flows = all.skip(start).take(size).collect();
    Ok(page_response(flows, start, total))
}

/// The flows of a job split by sector: where its chunks are.
struct Parts<'a, C> {
    store: &'a C,
    cache: &'a ChunkCache,
    job_id: &'a str,
    split: &'a pb::FlowChunks,
    dataset: &'a Dataset,
}

impl<C: ChunkStore> Parts<'_, C> {
    /// A page of a split result by sectors alone: the counts say where the page
    /// starts, and only the chunks it spans are read.
    async fn page_in_place(
        &self,
        selection: &FlowSelection,
        (start, size): (usize, usize),
    ) -> Result<pb::GetResultFlowsResponse, Status> {
        let Parts { store: chunks, cache, job_id, split, dataset } = *self;
        let sectors = dataset.sectors.len();
        if split.counts.len() != split.dates.len() * sectors {
            return Err(Status::internal(format!("the flow counts of job {job_id} do not fit its dataset")));
        }
        let kept: Vec<bool> =
            dataset.sectors.iter().map(|s| selection.keeps_sector_code(dataset, &s.code)).collect();
        // (date, sector, flows) of every kept sector, in page order.
        let entries: Vec<(usize, usize, usize)> = (0..split.dates.len())
            .flat_map(|d| (0..sectors).map(move |s| (d, s)))
            .filter(|&(_, s)| kept[s])
            .map(|(d, s)| (d, s, usize::try_from(split.counts[d * sectors + s]).unwrap_or(usize::MAX)))
            .filter(|&(.., n)| n > 0)
            .collect();
        let total = entries.iter().map(|e| e.2).fold(0usize, usize::saturating_add);
        let mut flows = Vec::with_capacity(size.min(total.saturating_sub(start)));
        let mut skip = start;
        let mut held: Option<(u32, Arc<pb::SectorChunk>)> = None;
        let end = |c: &ChunkTask| c.first_sector.saturating_add(c.sectors) as usize;
        for &(d, s, n) in &entries {
            if flows.len() >= size {
                break;
            }
            if skip >= n {
                skip -= n;
                continue;
            }
            // The chunks are in sector order.
            let chunk = split
                .chunks
                .get(split.chunks.partition_point(|c| end(c) <= s))
                .filter(|c| c.first_sector as usize <= s)
                .ok_or_else(|| {
                    Status::internal(format!("no stored part of job {job_id} holds sector {s}"))
                })?;
            if held.as_ref().is_none_or(|(index, _)| *index != chunk.index) {
                held = Some((chunk.index, cache.read(chunks, job_id, chunk).await?));
            }
            let (date, code) = (&split.dates[d], &dataset.sectors[s].code);
            let sector_flows = held
                .as_ref()
                .and_then(|(_, data)| tariff_scenario::chunk_sector_flows(data, date, code))
                .ok_or_else(|| {
                    Status::internal(format!("the stored part of job {job_id} lacks {date} {code}"))
                })?;
            let wanted = size - flows.len();
            flows.extend(sector_flows.iter().skip(skip).take(wanted).map(|flow| pb::ResultFlow {
                date: date.clone(),
                sector: code.clone(),
                flow: Some(flow.clone()),
            }));
            skip = 0;
        }
        Ok(page_response(flows, start, total))
    }

    /// A page of a split result filtered by economy or `top`: every chunk is
    /// read, in order, and the kept flows gathered (at most
    /// [`MAX_FILTERED_PAGE_FLOWS`]).
    async fn page_gathered(
        &self,
        selection: &FlowSelection,
        (start, size): (usize, usize),
    ) -> Result<pb::GetResultFlowsResponse, Status> {
        let Parts { store: chunks, job_id, split, dataset, .. } = *self;
        let mut dates: Vec<Vec<pb::SectorImpact>> = split.dates.iter().map(|_| Vec::new()).collect();
        let mut gathered = 0usize;
        for chunk in &split.chunks {
            let data = read_chunk(chunks, job_id, chunk).await?;
            for (kept, impact) in dates.iter_mut().zip(data.impacts) {
                for mut sector in impact.sectors {
                    selection.apply_to_sector(dataset, &mut sector);
                    if !sector.flows.is_empty() {
                        kept.push(pb::SectorImpact {
                            sector: sector.sector,
                            flows: sector.flows,
                            ..Default::default()
                        });
                    }
                }
                keep_top(kept, selection.top());
            }
            gathered = dates.iter().flatten().map(|s| s.flows.len()).sum();
            if gathered > MAX_FILTERED_PAGE_FLOWS {
                return Err(Status::failed_precondition(format!(
                    "the filter keeps more than {MAX_FILTERED_PAGE_FLOWS} flows of a result stored in parts: \
                 page without an economy filter or top, or filter more narrowly"
                )));
            }
        }
        let all =
            split.dates.iter().cloned().zip(dates).flat_map(|(date, sectors)| result_flows(date, sectors));
        let flows = all.skip(start).take(size).collect();
        Ok(page_response(flows, start, gathered))
    }
}
