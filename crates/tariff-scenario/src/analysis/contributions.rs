//! Contributions of each measure: the Shapley value of every player (each
//! measure and each agreement change of the scenario) to every headline figure
//! of every economy at every date.
//!
//! Exact: every coalition (subset of players) is run once, and a player's
//! contribution is `sum over coalitions S without it of
//! |S|! (K-|S|-1)! / K! * (v(S + it) - v(S))`. Sampled: permutations drawn from
//! the seed, each run prefix by prefix, and a player's contribution is the mean
//! of its marginal changes, with their standard error. Either way the work is a
//! list of units (a coalition, or a permutation), each computed from its index
//! alone, so any split of the units over threads or workers gives the same bytes.

use std::collections::HashMap;

use tariff_proto::v1 as pb;

use super::{AnalysisError, runs::Runs};
use crate::uncertainty::sampling::{GAMMA, mix};

/// Players at most for exact contributions (2^16 runs).
pub const MAX_EXACT_PLAYERS: u32 = 16;
/// Exact up to this many players unless the request says otherwise.
pub const DEFAULT_EXACT_UP_TO: u32 = 10;
/// Permutations sampled unless the request says otherwise.
pub const DEFAULT_PERMUTATIONS: u32 = 200;
/// Players at most when sampling (each permutation is K+1 runs).
pub const MAX_PLAYERS: usize = 64;

/// The contributions an analysis asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContributionsPlan {
    /// `measures[0]`, ..., `agreements[0]`, ...
    pub(crate) players: Vec<String>,
    pub(crate) labels: Vec<String>,
    pub(crate) exact: bool,
    pub(crate) permutations: u32,
    pub(crate) seed: u64,
}

impl ContributionsPlan {
    pub(crate) fn new(scenario: &pb::Scenario, spec: &pb::ContributionsSpec) -> ContributionsPlan {
        let mut players = Vec::new();
        let mut labels = Vec::new();
        for (i, m) in scenario.measures.iter().enumerate() {
            players.push(format!("measures[{i}]"));
            labels.push(if m.id.is_empty() { m.label.clone() } else { m.id.clone() });
        }
        for (i, a) in scenario.agreements.iter().enumerate() {
            players.push(format!("agreements[{i}]"));
            let action = pb::agreement_change::Action::try_from(a.action).unwrap_or_default();
            labels.push(format!("{} {}", action.as_str_name(), a.agreement));
        }
        let exact_up_to = if spec.exact_up_to == 0 { DEFAULT_EXACT_UP_TO } else { spec.exact_up_to };
        let permutations = if spec.permutations == 0 { DEFAULT_PERMUTATIONS } else { spec.permutations };
        ContributionsPlan {
            exact: players.len() <= exact_up_to.min(MAX_EXACT_PLAYERS) as usize,
            players,
            labels,
            permutations,
            seed: spec.seed,
        }
    }

    /// K.
    pub(crate) fn players(&self) -> usize {
        self.players.len()
    }

    /// The units of work: 2^K coalitions, or the permutations.
    pub(crate) fn units(&self) -> u32 {
        if self.exact { 1u32 << self.players() } else { self.permutations }
    }

    /// Runs per unit: one per coalition, K+1 per permutation (its prefixes).
    pub(crate) fn runs_per_unit(&self) -> u32 {
        if self.exact { 1 } else { self.players() as u32 + 1 }
    }

    /// The order of the players in permutation `p`: Fisher-Yates from SplitMix64
    /// outputs of (seed, p) alone.
    fn permutation(&self, p: u32) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.players()).collect();
        let state =
            mix(mix(self.seed.wrapping_add(GAMMA))
                .wrapping_add(u64::from(p).wrapping_add(1).wrapping_mul(GAMMA)));
        for i in (1..order.len()).rev() {
            let k = mix(state.wrapping_add((i as u64).wrapping_mul(GAMMA)));
            // Multiply-shift: unbiased enough for 64 players (bias below 2^-57).
            let j = ((u128::from(k) * (i as u128 + 1)) >> 64) as usize;
            order.swap(i, j);
        }
        order
    }

    /// The coalitions unit `u` runs, in order: the coalition `u` itself, or the
    /// prefixes of permutation `u` from the empty one to all players.
    fn coalitions(&self, u: u32) -> Vec<u64> {
        if self.exact {
            return vec![u64::from(u)];
        }
        let mut mask = 0u64;
        let mut masks = vec![0];
        for player in self.permutation(u) {
            mask |= 1 << player;
            masks.push(mask);
        }
        masks
    }

    /// The scenario with only the players in `mask`.
    fn coalition(&self, base: &pb::Scenario, mask: u64) -> pb::Scenario {
        let measures = base.measures.len();
        let keep = |i: usize| mask & (1 << i) != 0;
        pb::Scenario {
            measures: base
                .measures
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, m)| m.clone())
                .collect(),
            agreements: base
                .agreements
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(measures + i))
                .map(|(_, a)| a.clone())
                .collect(),
            ..base.clone()
        }
    }

    /// The headline figures of every run of `unit`, one after the other
    /// (`cache` holds coalitions already run, as permutations share prefixes).
    pub(crate) fn unit_values(
        &self,
        runs: &Runs<'_>,
        unit: u32,
        cache: &mut HashMap<u64, Vec<f64>>,
    ) -> Result<Vec<f64>, AnalysisError> {
        let mut values = Vec::with_capacity(runs.width() * self.runs_per_unit() as usize);
        for mask in self.coalitions(unit) {
            if let Some(v) = cache.get(&mask) {
                values.extend_from_slice(v);
                continue;
            }
            let v = runs.headlines(&self.coalition(&runs.base, mask))?;
            values.extend_from_slice(&v);
            if !self.exact && cache.len() < 4096 {
                cache.insert(mask, v);
            }
        }
        Ok(values)
    }

    /// The contributions from every unit's values, in unit order.
    pub(crate) fn finish(&self, runs: &Runs<'_>, values: &[f64]) -> pb::Contributions {
        let width = runs.width();
        let k = self.players();
        let (sums, errors) = if self.exact { exact(k, width, values) } else { self.sampled(width, values) };
        // Every coalition, or every permutation's prefixes, run from no player to all of them.
        let (first, last) = if self.exact { (0, (1usize << k) - 1) } else { (0, k) };
        let at = |run: usize| values.get(run * width..(run + 1) * width).unwrap_or(&[]);
        let (baseline, total) = (at(first), at(last));
        let dates = runs
            .base
            .evaluate_at
            .iter()
            .enumerate()
            .map(|(d, date)| pb::DateContributions {
                date: date.clone(),
                total: runs.economy_figures(total, d),
                baseline: runs.economy_figures(baseline, d),
                players: self
                    .players
                    .iter()
                    .enumerate()
                    .map(|(i, player)| pb::PlayerContribution {
                        player: player.clone(),
                        contribution: runs.economy_figures(&sums[i], d),
                        standard_error: errors
                            .as_ref()
                            .map_or_else(Vec::new, |e| runs.economy_figures(&e[i], d)),
                    })
                    .collect(),
            })
            .collect();
        pb::Contributions {
            players: self.players.clone(),
            labels: self.labels.clone(),
            exact: self.exact,
            permutations: if self.exact { 0 } else { self.permutations },
            seed: if self.exact { 0 } else { self.seed },
            dates,
        }
    }
}

/// Per player, per figure; standard errors when sampled.
type Shares = (Vec<Vec<f64>>, Option<Vec<Vec<f64>>>);

/// Shapley values from `values[mask * width + f]`, every coalition once.
fn exact(k: usize, width: usize, values: &[f64]) -> Shares {
    // |S|! (K-|S|-1)! / K! = 1 / (K * C(K-1, |S|)).
    let mut weights = vec![0.0; k.max(1)];
    let mut binomial = 1.0f64;
    for (s, w) in weights.iter_mut().enumerate() {
        *w = 1.0 / (k as f64 * binomial);
        binomial = binomial * (k as f64 - 1.0 - s as f64) / (s as f64 + 1.0);
    }
    let at = |mask: usize| values.get(mask * width..(mask + 1) * width).unwrap_or(&[]);
    let mut sums = vec![vec![0.0; width]; k];
    for (i, sum) in sums.iter_mut().enumerate() {
        for mask in (0..1usize << k).filter(|m| m & (1 << i) == 0) {
            let w = weights[mask.count_ones() as usize];
            let (with, without) = (at(mask | (1 << i)), at(mask));
            for ((s, a), b) in sum.iter_mut().zip(with).zip(without) {
                *s += w * (a - b);
            }
        }
    }
    (sums, None)
}

impl ContributionsPlan {
    /// Means and standard errors of the marginal changes over the sampled
    /// permutations; `values` holds each permutation's K+1 prefix runs, and
    /// the order of the permutation is recomputed from its index.
    fn sampled(&self, width: usize, values: &[f64]) -> Shares {
        let k = self.players();
        let per_unit = (k + 1) * width;
        let units = values.len().checked_div(per_unit).unwrap_or(0);
        let mut sum = vec![vec![0.0; width]; k];
        let mut sum_sq = vec![vec![0.0; width]; k];
        for (u, unit) in values.chunks_exact(per_unit.max(1)).take(units).enumerate() {
            let order = self.permutation(u32::try_from(u).unwrap_or(u32::MAX));
            for (step, &player) in order.iter().enumerate() {
                let before = &unit[step * width..(step + 1) * width];
                let after = &unit[(step + 1) * width..(step + 2) * width];
                for f in 0..width {
                    let d = after[f] - before[f];
                    sum[player][f] += d;
                    sum_sq[player][f] += d * d;
                }
            }
        }
        let n = units as f64;
        let mean: Vec<Vec<f64>> = sum.iter().map(|s| s.iter().map(|x| x / n).collect()).collect();
        let errors = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| {
                sq.iter()
                    .zip(m)
                    .map(|(q, m)| {
                        if units < 2 {
                            return f64::NAN;
                        }
                        // Sample variance of the marginals, then of their mean.
                        let var = ((q - n * m * m) / (n - 1.0)).max(0.0);
                        (var / n).sqrt()
                    })
                    .collect()
            })
            .collect();
        (mean, Some(errors))
    }
}
