//! The applied rate of one flow at one date, as design.md states it: the base
//! rate, then agreements in force, then the measures in force minus those another
//! applicable measure excludes, in list order.

use tariff_proto::v1::Authority;

use std::{ops::Range, sync::Arc};

use crate::{
    Date,
    dataset::FlowIndex,
    prepared::{PreparedAgreementChange, PreparedMeasure, PreparedScenario, PreparedStageRate},
};

/// The rates in force on the flows of the dataset at one date, in percent, in
/// the dataset's flow order (the pairs it has rows for): of every sector, or of
/// a range of sectors (a job split by sector resolves only its chunk's).
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    index: Arc<FlowIndex>,
    /// The position of the first rate's flow in the dataset's flow order.
    first: usize,
    rates: Vec<f64>,
}

impl RateTable {
    /// The rate of one flow, in percent (0 for domestic shipments, for pairs
    /// the dataset has no flow row for, and for sectors outside the table).
    pub fn rate_pct(&self, sector: usize, exporter: usize, importer: usize) -> f64 {
        let found = self.index.find(sector, exporter, importer);
        found.and_then(|i| self.rates.get(i.checked_sub(self.first)?)).copied().unwrap_or(0.0)
    }

    /// One sector's rates, in the order of [`Dataset::sector_flows`](crate::Dataset::sector_flows)
    /// (none for a sector outside the table).
    pub fn sector(&self, sector: usize) -> &[f64] {
        let range = self.index.range(sector);
        match (range.start.checked_sub(self.first), range.end.checked_sub(self.first)) {
            (Some(start), Some(end)) => self.rates.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl PreparedScenario<'_> {
    /// Base-year rates: the dataset's tariff rows as they stand (most specific wins).
    pub fn base_rates(&self) -> RateTable {
        self.base_rates_of(0..self.dataset.sectors.len())
    }

    /// [`PreparedScenario::base_rates`] of the sectors `sectors` only.
    pub(crate) fn base_rates_of(&self, sectors: Range<usize>) -> RateTable {
        let index = self.dataset.flow_index();
        let flows = flow_span(index, &sectors);
        RateTable {
            index: Arc::clone(index),
            first: flows.start,
            rates: self.dataset.base_rate_table().get(flows).unwrap_or(&[]).to_vec(),
        }
    }

    /// The rates the scenario puts in force at `date`.
    pub fn rates_at(&self, date: Date) -> RateTable {
        self.rates_of(date, 0..self.dataset.sectors.len())
    }

    /// [`PreparedScenario::rates_at`] of the sectors `sectors` only.
    pub(crate) fn rates_of(&self, date: Date, sectors: Range<usize>) -> RateTable {
        let active: Vec<bool> =
            (0..self.dataset.agreements.len()).map(|a| self.agreement_active(a, date)).collect();
        let is_active =
            |agreement: Option<usize>| agreement.is_none_or(|a| active.get(a).copied().unwrap_or(false));
        // The measures in force, per importer: a flow looks only at its importer's.
        let mut by_importer: Vec<Vec<&PreparedMeasure>> = vec![Vec::new(); self.dataset.economies.len()];
        for m in self.measures.iter().filter(|m| m.window.contains(date)) {
            if let Some(list) = by_importer.get_mut(m.importer) {
                list.push(m);
            }
        }
        // The stage rates of each agreement's change in force (none in most scenarios).
        let stage_rates: Vec<&[PreparedStageRate]> = (0..self.dataset.agreements.len())
            .map(|a| self.agreement_change_at(a, date).map_or(&[][..], |c| c.stage_rates.as_slice()))
            .collect();
        let replaces_any = stage_rates.iter().any(|rates| !rates.is_empty());
        let replaced = |a: usize, s: usize, r: usize| {
            stage_rates.get(a).is_some_and(|rates| rates.iter().any(|x| x.sector == s && x.importer == r))
        };
        let mut applicable: Vec<&PreparedMeasure> = Vec::new();
        self.table(sectors, |s, i, v, r| {
            let mut rate = if replaces_any {
                // A replaced schedule's base row (its 2023 rate) no longer caps
                // the flow: the partner-wide rate and the new stage rate do.
                self.base_row_rate(s, i, |agreement: Option<usize>| {
                    is_active(agreement) && agreement.is_none_or(|a| !replaced(a, s, r))
                })
            } else {
                self.base_row_rate(s, i, is_active)
            };
            for (a, row) in self.dataset.agreement_rows(s, r) {
                if !active.get(a).copied().unwrap_or(false) || !row.exporters.contains(&v) {
                    continue;
                }
                let applied_by_scenario = self
                    .dataset
                    .agreements
                    .get(a)
                    .and_then(|agreement| agreement.in_force)
                    .is_none_or(|f| f > date);
                let stage = row.stages.iter().rev().find(|(from, _)| *from <= date);
                // An agreement the scenario puts in force before its first stage starts at that stage.
                let stage = stage.or_else(|| row.stages.first().filter(|_| applied_by_scenario));
                if let Some(&(from, preferential)) = stage {
                    let new = stage_rates.get(a).and_then(|rates| {
                        rates
                            .iter()
                            .rev()
                            .find(|x| x.sector == s && x.importer == r && x.from.is_none_or(|f| f == from))
                    });
                    rate = rate.min(new.map_or(preferential, |x| x.rate_pct));
                }
            }
            applicable.clear();
            applicable.extend(by_importer.get(r).into_iter().flatten().filter(|m| {
                m.exporters.get(v).copied().unwrap_or(false) && m.sectors.get(s).copied().unwrap_or(false)
            }));
            let excluded = |authority: Authority| applicable.iter().any(|m| m.excludes.contains(&authority));
            for m in applicable.iter().filter(|m| !excluded(m.authority)) {
                // ADD, SET, FLOOR, or a TRQ's in-quota rate (the solve adds the
                // premium it finds), on the flow's dutiable share (content.rs).
                rate = crate::content::apply(m.mode, m.rate_pct, &m.content, rate, v, date);
            }
            rate
        })
    }

    /// The rate of every flow of `sectors`: `rate(sector, flow, exporter,
    /// importer)`, 0 for domestic shipments.
    fn table(
        &self,
        sectors: Range<usize>,
        mut rate: impl FnMut(usize, usize, usize, usize) -> f64,
    ) -> RateTable {
        let index = self.dataset.flow_index();
        let sectors =
            sectors.start.min(self.dataset.sectors.len())..sectors.end.min(self.dataset.sectors.len());
        let flows = flow_span(index, &sectors);
        let mut rates = Vec::with_capacity(flows.len());
        for s in sectors {
            for i in index.range(s) {
                let (v, r) = index.pair(i);
                rates.push(if v == r { 0.0 } else { rate(s, i, v, r) });
            }
        }
        RateTable { index: Arc::clone(index), first: flows.start, rates }
    }

    /// The most specific base row whose basis is in force; a row granted under
    /// an agreement that is not in force falls back to the partner-wide rate.
    fn base_row_rate(&self, s: usize, flow: usize, in_force: impl Fn(Option<usize>) -> bool) -> f64 {
        let (specific, general) = self.dataset.base_rows(s, flow);
        specific
            .filter(|(_, agreement)| in_force(*agreement))
            .or(general)
            .or(specific)
            .map_or(0.0, |(t, _)| t.rate_pct)
    }

    /// Whether an agreement's preferences apply at `date`: the last scenario change
    /// in force decides; otherwise the dataset's entry into force.
    fn agreement_active(&self, agreement: usize, date: Date) -> bool {
        match self.agreement_change_at(agreement, date) {
            Some(c) => c.apply,
            None => {
                self.dataset.agreements.get(agreement).and_then(|a| a.in_force).is_some_and(|f| f <= date)
            }
        }
    }
}

impl PreparedScenario<'_> {
    /// The scenario's last change of `agreement` in force at `date`.
    fn agreement_change_at(&self, agreement: usize, date: Date) -> Option<&PreparedAgreementChange> {
        self.agreement_changes.iter().rev().find(|c| c.agreement == agreement && c.window.contains(date))
    }
}

/// The positions in the dataset's flow order of the flows of `sectors`.
fn flow_span(index: &FlowIndex, sectors: &Range<usize>) -> Range<usize> {
    if sectors.is_empty() {
        return 0..0;
    }
    let start = index.range(sectors.start).start;
    let end = index.range(sectors.end - 1).end;
    start..end.max(start)
}
