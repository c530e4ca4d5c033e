//! Results of a solve.

use crate::Solver;

/// Solution of one sector market.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketOutcome {
    /// World (exporter) price ratio `p[v]`, new over base; GSIM: `1 + x[v]`.
    pub world_price: Vec<f64>,
    /// Composite consumer price ratio `P[r]`; GSIM: `1 + Phat[r]`; 1 without demand.
    pub consumer_price: Vec<f64>,
    /// New shipments `M1` at new world prices, row-major `[v * n + r]`, in the
    /// dataset currency (at the new exchange rates when currencies move).
    pub new_values: Vec<f64>,
    /// `M1` in the exporter's currency, converted at the base exchange rate
    /// (`M1[v,r] / f[v]`); empty when no currency moves (it would be
    /// `new_values`): read it through [`MarketOutcome::values_in_exporter_currency`].
    pub(crate) new_values_exporter_currency: Vec<f64>,
    /// Quantity ratio `q[v,r]` of each flow (volume, new over base), row-major; 1
    /// where there is no flow. GSIM: `1 + Mhat`.
    pub volume: Vec<f64>,
    /// Exporter (fob) price ratio of each flow in the dataset currency, row-major:
    /// `p[v]` for every destination when integrated, `p[v,r]` when segmented.
    pub fob_price: Vec<f64>,
    /// Delivered, duty-inclusive price ratio `Pvr = p T1 / T0` of each flow in the
    /// dataset currency, row-major.
    pub delivered_price: Vec<f64>,
    /// The exchange-rate factors `f` solved with, one per economy (1 when none move).
    pub exchange_rates: Vec<f64>,
    /// Per-economy figures, one per economy index.
    pub economies: Vec<EconomyOutcome>,
    /// How the solve went.
    pub diagnostics: Diagnostics,
}

/// Figures of one economy in one sector market (money in the data's unit).
#[derive(Debug, Clone, PartialEq)]
pub struct EconomyOutcome {
    /// Exports before: `sum_{r != v} M0[v,r]`.
    pub exports_before: f64,
    /// Exports after: `sum_{r != v} M1[v,r]`.
    pub exports_after: f64,
    /// Imports before: `sum_{v != r} M0[v,r]`.
    pub imports_before: f64,
    /// Imports after: `sum_{v != r} M1[v,r]`.
    pub imports_after: f64,
    /// Export volume change `sum_{r != v} M0 q / exports_before - 1` (a fraction;
    /// 0 without exports).
    pub export_volume_change: f64,
    /// Export price (unit value) change `exports_after / sum_{r != v} M0 q - 1`,
    /// in the dataset currency (a fraction; 0 without exports).
    pub export_price_change: f64,
    /// Domestic shipments before (diagonal of `M0`).
    pub domestic_before: f64,
    /// Domestic shipments after (diagonal of `M1`).
    pub domestic_after: f64,
    /// World price change `p - 1` (a fraction, not percent).
    pub world_price_change: f64,
    /// Composite consumer price change `P - 1` (a fraction).
    pub consumer_price_change: f64,
    /// Change in consumer surplus `dCS` as importer.
    pub consumer_surplus_change: f64,
    /// Change in producer surplus `dPS` as exporter.
    pub producer_surplus_change: f64,
    /// Tariff revenue before: `sum_v (T0 - 1) M0`.
    pub tariff_revenue_before: f64,
    /// Tariff revenue after: `sum_v (T1 - 1) M1`.
    pub tariff_revenue_after: f64,
    /// Change in tariff revenue `dTR`.
    pub tariff_revenue_change: f64,
    /// Welfare change `dCS + dPS + dTR`.
    pub welfare_change: f64,
    /// Trade-weighted tariff on imports before, in percent; 0 without imports.
    pub effective_tariff_before_pct: f64,
    /// Trade-weighted tariff on imports after (with `T1`, `M1`), in percent.
    pub effective_tariff_after_pct: f64,
}

/// Solver diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// Solver that produced the outcome.
    pub solver: Solver,
    /// Exact: Newton iterations, chord steps and continuation stages included
    /// (0 when the base already clears). GSIM: 1.
    pub iterations: u32,
    /// Largest market-clearing residual relative to `X0[v]` after the solve.
    ///
    /// Exact: `|sum_r M0 q - X0 p^Ex| / X0`, below the tolerance, except when
    /// supply grew so much (`p^Ex >> 1`) that rounding in terms far above `X0`
    /// keeps it there: the solve then stops when the residual relative to those
    /// terms is below the tolerance. GSIM: the residual `|A x - b|` of its linear
    /// clearing equations, which are already in shares of `X0`.
    pub residual: f64,
}

impl MarketOutcome {
    /// `M1` in each exporter's currency at the base exchange rate, row-major.
    pub fn values_in_exporter_currency(&self) -> &[f64] {
        if self.new_values_exporter_currency.is_empty() {
            &self.new_values
        } else {
            &self.new_values_exporter_currency
        }
    }

    /// Whether every number in the outcome is finite.
    pub(crate) fn is_finite(&self) -> bool {
        let vectors = [
            &self.world_price,
            &self.consumer_price,
            &self.new_values,
            &self.new_values_exporter_currency,
            &self.volume,
            &self.fob_price,
            &self.delivered_price,
        ];
        vectors.iter().all(|v| v.iter().all(|x| x.is_finite()))
            && self.diagnostics.residual.is_finite()
            && self.economies.iter().all(EconomyOutcome::is_finite)
    }
}

impl EconomyOutcome {
    pub(crate) fn is_finite(&self) -> bool {
        [
            self.exports_before,
            self.exports_after,
            self.imports_before,
            self.imports_after,
            self.export_volume_change,
            self.export_price_change,
            self.domestic_before,
            self.domestic_after,
            self.world_price_change,
            self.consumer_price_change,
            self.consumer_surplus_change,
            self.producer_surplus_change,
            self.tariff_revenue_before,
            self.tariff_revenue_after,
            self.tariff_revenue_change,
            self.welfare_change,
            self.effective_tariff_before_pct,
            self.effective_tariff_after_pct,
        ]
        .iter()
        .all(|x| x.is_finite())
    }
}
