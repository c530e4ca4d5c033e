//! The headline figures of an economy's totals, in the order of
//! `tariff.v1.Figure`: what draws sample, bands summarise and the tornado shows.

use tariff_proto::v1::{self as pb, Figure};

/// Every headline figure, in the order samples and bands use.
pub const FIGURES: [Figure; 12] = [
    Figure::ExportsChange,
    Figure::ExportsChangePct,
    Figure::ImportsChange,
    Figure::ImportsChangePct,
    Figure::WorldPriceChangePct,
    Figure::ConsumerPriceChangePct,
    Figure::ConsumerSurplusChange,
    Figure::ProducerSurplusChange,
    Figure::TariffRevenueChange,
    Figure::WelfareChange,
    Figure::WelfareChangePctGdp,
    Figure::EffectiveTariffAfterPct,
];

/// The headline figures of one economy, in [`FIGURES`] order.
pub(crate) type Headline = [f64; FIGURES.len()];

/// An economy's headline figures from its totals.
pub(crate) fn headline(e: &pb::EconomyImpact) -> Headline {
    let c = |c: &Option<pb::Change>| c.unwrap_or_default();
    let (x, m, t, eff) = (c(&e.exports), c(&e.imports), c(&e.tariff_revenue), c(&e.effective_tariff_pct));
    [
        x.change,
        x.change_pct,
        m.change,
        m.change_pct,
        e.world_price_change_pct,
        e.consumer_price_change_pct,
        e.consumer_surplus_change,
        e.producer_surplus_change,
        t.change,
        e.welfare_change,
        e.welfare_change_pct_gdp,
        eff.after,
    ]
}

/// The position of a figure in [`FIGURES`].
pub fn figure_position(figure: Figure) -> Option<usize> {
    FIGURES.iter().position(|f| *f == figure)
}

/// A figure of an economy's totals (the point estimate).
pub fn figure_of_impact(e: &pb::EconomyImpact, figure: Figure) -> Option<f64> {
    figure_position(figure).map(|i| headline(e)[i])
}

/// A figure of a tornado row's economy.
pub fn figure_of(f: &pb::EconomyFigures, figure: Figure) -> Option<f64> {
    figure_position(figure).map(|i| as_array(f)[i])
}

/// A figure's band.
pub fn band_of(b: &pb::EconomyBands, figure: Figure) -> Option<pb::Band> {
    let bands = [
        b.exports_change,
        b.exports_change_pct,
        b.imports_change,
        b.imports_change_pct,
        b.world_price_change_pct,
        b.consumer_price_change_pct,
        b.consumer_surplus_change,
        b.producer_surplus_change,
        b.tariff_revenue_change,
        b.welfare_change,
        b.welfare_change_pct_gdp,
        b.effective_tariff_after_pct,
    ];
    figure_position(figure).and_then(|i| bands[i])
}

fn as_array(f: &pb::EconomyFigures) -> Headline {
    [
        f.exports_change,
        f.exports_change_pct,
        f.imports_change,
        f.imports_change_pct,
        f.world_price_change_pct,
        f.consumer_price_change_pct,
        f.consumer_surplus_change,
        f.producer_surplus_change,
        f.tariff_revenue_change,
        f.welfare_change,
        f.welfare_change_pct_gdp,
        f.effective_tariff_after_pct,
    ]
}

/// `EconomyFigures` from figures in [`FIGURES`] order.
pub(crate) fn figures_proto(economy: &str, v: &Headline) -> pb::EconomyFigures {
    pb::EconomyFigures {
        economy: economy.to_owned(),
        exports_change: v[0],
        exports_change_pct: v[1],
        imports_change: v[2],
        imports_change_pct: v[3],
        world_price_change_pct: v[4],
        consumer_price_change_pct: v[5],
        consumer_surplus_change: v[6],
        producer_surplus_change: v[7],
        tariff_revenue_change: v[8],
        welfare_change: v[9],
        welfare_change_pct_gdp: v[10],
        effective_tariff_after_pct: v[11],
    }
}

/// `EconomyBands` from bands in [`FIGURES`] order.
pub(crate) fn bands_proto(economy: &str, b: &[pb::Band; FIGURES.len()]) -> pb::EconomyBands {
    pb::EconomyBands {
        economy: economy.to_owned(),
        exports_change: Some(b[0]),
        exports_change_pct: Some(b[1]),
        imports_change: Some(b[2]),
        imports_change_pct: Some(b[3]),
        world_price_change_pct: Some(b[4]),
        consumer_price_change_pct: Some(b[5]),
        consumer_surplus_change: Some(b[6]),
        producer_surplus_change: Some(b[7]),
        tariff_revenue_change: Some(b[8]),
        welfare_change: Some(b[9]),
        welfare_change_pct_gdp: Some(b[10]),
        effective_tariff_after_pct: Some(b[11]),
    }
}
