//! Scenarios split by sector, for datasets too large for one worker to solve
//! in good time or to hold every flow of: each chunk solves a range of sectors
//! at every date and keeps every flow; the merge puts the sector rows together
//! and totals them in dataset order, so the merged result is the unsplit one
//! to the last bit. A merge that keeps no flows (SUMMARY) holds one chunk at a
//! time; the flows stay in the chunks, and [`add_chunk_flows`] or
//! [`chunk_sector_flows`] read them back when they are asked for.

use std::ops::{ControlFlow, Range};

use tariff_proto::v1 as pb;

use crate::{
    EvaluateError, EvaluateOptions, MergeError, Progress, dataset::Dataset, prepared::PreparedScenario,
    views::FlowSelection,
};

impl PreparedScenario<'_> {
    /// Flow solves of the whole scenario: the dataset's flows at every date.
    pub fn flow_solves(&self) -> u64 {
        let flows: u64 =
            (0..self.dataset.sectors.len()).map(|s| self.dataset.sector_flows(s).values.len() as u64).sum();
        flows.saturating_mul(self.dates.len() as u64)
    }

    /// Consecutive sector ranges, each of about `flow_solves` flow solves (a
    /// sector's flows at every date; a sector larger than that is a range of
    /// its own), covering every sector in order.
    /// With supply chains (`input_costs`) the sectors are solved together: one range.
    pub fn sector_chunks(&self, flow_solves: u64) -> Vec<Range<usize>> {
        if self.coupled() {
            return std::iter::once(0..self.dataset.sectors.len()).collect();
        }
        let dates = self.dates.len() as u64;
        let mut chunks = Vec::new();
        let (mut start, mut size) = (0, 0u64);
        for s in 0..self.dataset.sectors.len() {
            let solves = (self.dataset.sector_flows(s).values.len() as u64).saturating_mul(dates);
            if size > 0 && size.saturating_add(solves) > flow_solves {
                chunks.push(start..s);
                (start, size) = (s, 0);
            }
            size = size.saturating_add(solves);
        }
        if start < self.dataset.sectors.len() {
            chunks.push(start..self.dataset.sectors.len());
        }
        chunks
    }

    /// The sectors `range` at every date, with every flow. Progress counts
    /// the range's sector solves (over every date).
    pub fn sector_chunk(
        &self,
        range: Range<usize>,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::SectorChunk, EvaluateError> {
        let solved = self.solve_range(range, &FlowSelection::all(), options.threads(), progress)?;
        let impacts = self
            .dates
            .iter()
            .zip(solved)
            .map(|(date, sectors)| pb::Impact { date: date.to_string(), sectors, ..Default::default() })
            .collect();
        Ok(pb::SectorChunk { impacts })
    }

    /// The result of a scenario split by sector, from its chunks in order,
    /// keeping the flows `selection` keeps; the same, bit for bit, as
    /// [`PreparedScenario::point_estimate_with`] with that selection. Chunks
    /// are read one at a time, so a merge that keeps no flows needs the
    /// memory of one chunk and the sector rows.
    ///
    /// # Errors
    /// A chunk that is not of this scenario (its dates or sectors), or sectors
    /// missing; or the first error `chunks` yields.
    pub fn merge_sector_chunks<E: From<MergeError>>(
        &self,
        chunks: impl IntoIterator<Item = Result<pb::SectorChunk, E>>,
        selection: &FlowSelection,
    ) -> Result<pb::ScenarioResult, E> {
        let dataset = self.dataset;
        let mut result = self.result_frame(selection);
        let mut sectors: Vec<Vec<pb::SectorImpact>> =
            result.impacts.iter().map(|_| Vec::with_capacity(dataset.sectors.len())).collect();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let chunk = chunk?;
            check_dates(&result, &chunk, index)?;
            for (date, impact) in sectors.iter_mut().zip(chunk.impacts) {
                for mut sector in impact.sectors {
                    let expected = dataset.sectors.get(date.len()).map(|s| s.code.as_str());
                    if expected != Some(sector.sector.as_str()) {
                        return Err(MergeError::SectorOrder { chunk: index, sector: sector.sector }.into());
                    }
                    selection.apply_to_sector(dataset, &mut sector);
                    date.push(sector);
                }
            }
        }
        for (impact, sectors) in result.impacts.iter_mut().zip(sectors) {
            if sectors.len() != dataset.sectors.len() {
                return Err(MergeError::SectorsMissing {
                    date: impact.date.clone(),
                    found: sectors.len(),
                    expected: dataset.sectors.len(),
                }
                .into());
            }
            self.complete_impact(impact, sectors, selection);
        }
        Ok(result)
    }
}

/// The chunk's dates are the result's.
fn check_dates(result: &pb::ScenarioResult, chunk: &pb::SectorChunk, index: usize) -> Result<(), MergeError> {
    let same = chunk.impacts.len() == result.impacts.len()
        && chunk.impacts.iter().zip(&result.impacts).all(|(c, r)| c.date == r.date);
    if same { Ok(()) } else { Err(MergeError::SectorDates { chunk: index }) }
}

/// Adds the flows `selection` keeps from one chunk to a result merged without
/// flows (its sector rows in dataset order), keeping each date's `top` so far.
/// Chunks may come in any order; for the `top` of a date to break ties as an
/// unsplit result does, give them in order.
///
/// # Errors
/// The chunk's dates are not the result's, or a sector it holds is not in the result.
pub fn add_chunk_flows(
    dataset: &Dataset,
    result: &mut pb::ScenarioResult,
    selection: &FlowSelection,
    chunk: pb::SectorChunk,
    index: usize,
) -> Result<(), MergeError> {
    check_dates(result, &chunk, index)?;
    for (impact, from) in result.impacts.iter_mut().zip(chunk.impacts) {
        for mut sector in from.sectors {
            let row = dataset
                .sector(&sector.sector)
                .and_then(|s| impact.sectors.get_mut(s))
                .filter(|row| row.sector == sector.sector);
            let Some(row) = row else {
                return Err(MergeError::SectorOrder { chunk: index, sector: sector.sector });
            };
            selection.apply_to_sector(dataset, &mut sector);
            row.flows = sector.flows;
        }
        crate::views::keep_top(&mut impact.sectors, selection.top());
    }
    result.view = Some(selection.options().clone());
    Ok(())
}

/// The flows of sector `code` at date `date` in a chunk, or `None` when the
/// chunk does not hold them.
pub fn chunk_sector_flows<'c>(
    chunk: &'c pb::SectorChunk,
    date: &str,
    code: &str,
) -> Option<&'c [pb::FlowImpact]> {
    let impact = chunk.impacts.iter().find(|i| i.date == date)?;
    let sector = impact.sectors.iter().find(|s| s.sector == code)?;
    Some(&sector.flows)
}
