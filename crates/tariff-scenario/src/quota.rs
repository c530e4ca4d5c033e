//! Tariff-rate quotas (docs/model.md, "Tariff-rate quotas"): a measure of
//! mode TRQ puts its in-quota rate on the flows it covers (resolve.rs), and
//! the sector's solve finds the regime. The covered imports' volume falls as
//! the rate on them rises, so the regime is one of three: within the quota at
//! the in-quota rate, beyond it at the out-of-quota rate, or exactly at it
//! with a premium between the two, found by a bracketed root search on the
//! premium (each step one solve of the sector's market). A sector without a
//! TRQ in force is solved as before, to the last bit.

use tariff_model::{InputCosts, ModelError, SparseMarket, SparseOutcome};
use tariff_proto::v1::{self as pb, QuotaRegime, measure::Mode, measure::RentTo};

use crate::{
    Date,
    prepared::{MAX_RATE_PCT, PreparedMeasure, PreparedQuota, PreparedScenario, Window},
    violation::Collector,
};

/// The premium is found to this many percentage points, and the covered
/// volume to this fraction of the quota, whichever comes first.
const PREMIUM_TOLERANCE_PP: f64 = 1e-10;
const VOLUME_TOLERANCE: f64 = 1e-12;
/// Enough for the bracket to shrink below the tolerance by halving alone.
const MAX_STEPS: usize = 200;

/// A TRQ measure's quota fields, checked; `None` for another mode (whose
/// TRQ fields must then be unset).
pub(crate) fn prepare_quota(
    c: &mut Collector,
    path: &str,
    m: &pb::Measure,
    mode: Mode,
    sectors: &[bool],
) -> Option<PreparedQuota> {
    if mode != Mode::Trq {
        let set = [
            ("in_quota_rate_pct", m.in_quota_rate_pct != 0.0),
            ("out_quota_rate_pct", m.out_quota_rate_pct != 0.0),
            ("quota", m.quota != 0.0),
            ("rent_to", m.rent_to != 0),
        ];
        for (field, _) in set.iter().filter(|(_, is_set)| *is_set) {
            c.push(format!("{path}.{field}"), "only a measure of mode TRQ has it");
        }
        return None;
    }
    let covered: Vec<usize> = sectors.iter().enumerate().filter(|(_, on)| **on).map(|(s, _)| s).collect();
    if covered.len() != 1 {
        c.push(
            format!("{path}.sectors"),
            format!("a TRQ covers one sector (its quota is of one good), not {}", covered.len()),
        );
    }
    let rate_ok = |rate: f64| rate.is_finite() && (0.0..=MAX_RATE_PCT).contains(&rate);
    for (field, rate) in
        [("in_quota_rate_pct", m.in_quota_rate_pct), ("out_quota_rate_pct", m.out_quota_rate_pct)]
    {
        if !rate_ok(rate) {
            c.push(
                format!("{path}.{field}"),
                format!("{rate} is not a rate in percent between 0 and {MAX_RATE_PCT}"),
            );
        }
    }
    if m.out_quota_rate_pct < m.in_quota_rate_pct {
        c.push(
            format!("{path}.out_quota_rate_pct"),
            format!("{} is below the in-quota rate {}", m.out_quota_rate_pct, m.in_quota_rate_pct),
        );
    }
    if !m.quota.is_finite() || m.quota < 0.0 {
        c.push(format!("{path}.quota"), format!("{} is not a volume (0 or more)", m.quota));
    }
    if m.rate_pct != 0.0 {
        c.push(format!("{path}.rate_pct"), "a TRQ's rates are in_quota_rate_pct and out_quota_rate_pct");
    }
    let rent_to = match RentTo::try_from(m.rent_to) {
        Ok(RentTo::Unspecified) => RentTo::Importer,
        Ok(rent_to) => rent_to,
        Err(_) => {
            c.push(format!("{path}.rent_to"), "must be IMPORTER or EXPORTER");
            RentTo::Importer
        }
    };
    Some(PreparedQuota {
        id: if m.id.is_empty() { path.to_owned() } else { m.id.clone() },
        sector: covered.first().copied().unwrap_or(0),
        in_pct: m.in_quota_rate_pct,
        out_pct: m.out_quota_rate_pct.max(m.in_quota_rate_pct),
        quota: m.quota.max(0.0),
        rent_to,
    })
}

fn overlap(a: &Window, b: &Window) -> bool {
    a.from.is_none_or(|from| b.to.is_none_or(|to| from < to))
        && b.from.is_none_or(|from| a.to.is_none_or(|to| from < to))
}

/// One TRQ per sector market at a time: two would each move the other's
/// imports, and a market's regimes would no longer be a one-dimensional search.
pub(crate) fn check_one_per_sector(c: &mut Collector, measures: &[PreparedMeasure]) {
    let quotas: Vec<(usize, &PreparedMeasure, &PreparedQuota)> =
        measures.iter().enumerate().filter_map(|(i, m)| Some((i, m, m.quota.as_ref()?))).collect();
    for (k, &(i, m, q)) in quotas.iter().enumerate() {
        if let Some((j, _, _)) = quotas[..k]
            .iter()
            .find(|(_, other, oq)| oq.sector == q.sector && overlap(&other.window, &m.window))
        {
            c.push(
                format!("measures[{i}].sectors"),
                format!(
                    "measures[{j}] is a TRQ on the same sector in force at the same time: one TRQ per sector"
                ),
            );
        }
    }
}

impl PreparedScenario<'_> {
    /// The TRQ in force on sector `s` at `date`, if any.
    pub(crate) fn quota_at(&self, date: Date, s: usize) -> Option<(&PreparedMeasure, &PreparedQuota)> {
        self.measures
            .iter()
            .filter(|m| m.window.contains(date))
            .find_map(|m| m.quota.as_ref().filter(|q| q.sector == s).map(|q| (m, q)))
    }

    /// Whether any TRQ of the scenario is on sector `s` (its solves are then
    /// not reused from one date to the next).
    pub(crate) fn has_quota(&self, s: usize) -> bool {
        self.measures.iter().any(|m| m.quota.as_ref().is_some_and(|q| q.sector == s))
    }

    /// Solves sector `s`'s `market` (at the TRQ's in-quota rate on the flows it
    /// covers) in the regime the quota puts it in: the market as solved, its
    /// outcome and the quota's.
    pub(crate) fn solve_with_quota(
        &self,
        s: usize,
        market: SparseMarket,
        measure: &PreparedMeasure,
        quota: &PreparedQuota,
        costs: Option<&InputCosts>,
    ) -> Result<(SparseMarket, SparseOutcome, pb::QuotaOutcome), ModelError> {
        let covered: Vec<usize> = market
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                let (v, r) = (f.exporter as usize, f.importer as usize);
                r == measure.importer && v != r && measure.exporters.get(v).copied().unwrap_or(false)
            })
            .map(|(i, _)| i)
            .collect();
        let at = |premium_pp: f64| -> Result<Solved, ModelError> {
            let mut priced = market.clone();
            if premium_pp != 0.0 {
                for &i in &covered {
                    priced.flows[i].new_tariff += premium_pp / 100.0;
                }
            }
            let outcome = self.solve_market_with(s, &priced, costs)?;
            let volume = covered_volume(&priced, &outcome, &covered);
            Ok(Solved { market: priced, outcome, volume, premium_pp })
        };
        let gap = quota.out_pct - quota.in_pct;
        let within = at(0.0)?;
        let (solved, regime) = if within.volume <= quota.quota {
            (within, QuotaRegime::InQuota)
        } else {
            let beyond = at(gap)?;
            if beyond.volume >= quota.quota {
                (beyond, QuotaRegime::OutOfQuota)
            } else {
                (premium_at_quota(&at, within, beyond, quota.quota)?, QuotaRegime::AtQuota)
            }
        };
        let outcome = self.quota_outcome(measure, quota, &solved, &covered, regime);
        Ok((solved.market, solved.outcome, outcome))
    }

    fn quota_outcome(
        &self,
        measure: &PreparedMeasure,
        quota: &PreparedQuota,
        solved: &Solved,
        covered: &[usize],
        regime: QuotaRegime,
    ) -> pb::QuotaOutcome {
        let value: f64 = covered.iter().map(|&i| solved.outcome.flows[i].new_value).sum();
        // The units within the quota earn the rate difference: all of them at
        // the quota, the quota's share beyond it (at the flows' average price).
        let within_share = if solved.volume > 0.0 { (quota.quota / solved.volume).min(1.0) } else { 0.0 };
        let rent = solved.premium_pp / 100.0 * value * within_share;
        pb::QuotaOutcome {
            measure: quota.id.clone(),
            importer: self
                .dataset
                .economies
                .get(measure.importer)
                .map(|e| e.code.clone())
                .unwrap_or_default(),
            regime: regime.into(),
            quota: quota.quota,
            imports: solved.volume,
            rate_pct: quota.in_pct + solved.premium_pp,
            premium_pct: if regime == QuotaRegime::AtQuota { solved.premium_pp } else { 0.0 },
            rent,
            rent_to: quota.rent_to.into(),
        }
    }
}

/// One solve at a premium.
struct Solved {
    market: SparseMarket,
    outcome: SparseOutcome,
    /// The covered flows' volume, at base world prices.
    volume: f64,
    premium_pp: f64,
}

fn covered_volume(market: &SparseMarket, outcome: &SparseOutcome, covered: &[usize]) -> f64 {
    covered.iter().map(|&i| market.flows[i].base_value * outcome.flows[i].volume).sum()
}

/// The premium at which the covered volume equals the quota, between `low`
/// (volume above it) and `high` (below): regula falsi with the Illinois
/// modification (superlinear on a smooth volume curve), which keeps the
/// bracket, so it cannot leave the two rates.
fn premium_at_quota(
    at: &dyn Fn(f64) -> Result<Solved, ModelError>,
    mut low: Solved,
    mut high: Solved,
    quota: f64,
) -> Result<Solved, ModelError> {
    let mut side = 0i8;
    let (mut f_low, mut f_high) = (low.volume - quota, high.volume - quota);
    for _ in 0..MAX_STEPS {
        let width = high.premium_pp - low.premium_pp;
        let secant = low.premium_pp + width * f_low / (f_low - f_high);
        // A secant step that lands on (or outside) an end halves instead.
        let next = if secant > low.premium_pp && secant < high.premium_pp {
            secant
        } else {
            low.premium_pp + 0.5 * width
        };
        let trial = at(next)?;
        let f = trial.volume - quota;
        if f.abs() <= VOLUME_TOLERANCE * quota.max(f64::MIN_POSITIVE) || width <= PREMIUM_TOLERANCE_PP {
            return Ok(trial);
        }
        if f > 0.0 {
            low = trial;
            f_low = f;
            if side == -1 {
                f_high *= 0.5;
            }
            side = -1;
        } else {
            high = trial;
            f_high = f;
            if side == 1 {
                f_low *= 0.5;
            }
            side = 1;
        }
    }
    // The bracket is as narrow as floating point allows: its nearer end.
    Ok(if (low.volume - quota).abs() <= (high.volume - quota).abs() { low } else { high })
}

/// Moves a rent the exporters receive from the importer's tariff revenue to
/// the exporters' producer surplus, each its share of the covered value; the
/// welfare of each follows. A rent to the importer is already in its revenue.
pub(crate) fn credit_rent(
    impact: &mut pb::SectorImpact,
    quota: &pb::QuotaOutcome,
    market: &SparseMarket,
    outcome: &SparseOutcome,
    covered_by: impl Fn(usize, usize) -> bool,
    codes: &[String],
) {
    if quota.rent_to != i32::from(RentTo::Exporter) || quota.rent == 0.0 {
        return;
    }
    let mut by_exporter = vec![0.0; codes.len()];
    let mut total = 0.0;
    for (flow, o) in market.flows.iter().zip(&outcome.flows) {
        let (v, r) = (flow.exporter as usize, flow.importer as usize);
        if covered_by(v, r) {
            if let Some(x) = by_exporter.get_mut(v) {
                *x += o.new_value;
            }
            total += o.new_value;
        }
    }
    if total <= 0.0 {
        return;
    }
    for economy in &mut impact.economies {
        let Some(e) = codes.iter().position(|c| *c == economy.economy) else { continue };
        let mut moved = 0.0;
        if economy.economy == quota.importer {
            moved -= quota.rent;
            if let Some(revenue) = economy.tariff_revenue.as_mut() {
                *revenue = crate::change(revenue.before, revenue.after - quota.rent);
            }
        }
        let share = quota.rent * by_exporter.get(e).copied().unwrap_or(0.0) / total;
        if share != 0.0 {
            economy.producer_surplus_change += share;
            moved += share;
        }
        economy.welfare_change += moved;
    }
}
