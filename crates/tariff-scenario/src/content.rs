//! Content rules on measures (README, "Content rules"): a measure may apply to
//! the dutiable share of a flow's value only, the rest being exempt content
//! (the US content of a USMCA vehicle), and an ADD measure may carry offsets,
//! credits worth a percent of the importer's output of assembled goods that
//! lower the duty it adds (the Section 232 parts offset for US-assembled
//! vehicles). A measure without them applies as before, to the last bit.

use tariff_proto::v1::{self as pb, measure::Mode};

use crate::{
    Date,
    dataset::Dataset,
    prepared::{Window, economies_named, window},
    violation::Collector,
};

/// A measure's content rules, checked and resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PreparedContent {
    /// The dutiable share in [0, 1] of each exporter's flows, indexed by
    /// exporter position; `None` when the measure applies to the whole value.
    shares: Option<Vec<f64>>,
    offsets: Vec<PreparedOffset>,
}

/// An offset as the cut, in percentage points, of the rate its measure adds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedOffset {
    pub(crate) window: Window,
    pub(crate) cut_pp: f64,
}

impl PreparedContent {
    /// The dutiable share of `exporter`'s flows; `None` for the whole value.
    pub(crate) fn share(&self, exporter: usize) -> Option<f64> {
        self.shares.as_ref().map(|s| s.get(exporter).copied().unwrap_or(1.0))
    }

    /// The cut of the offset in force at `date`, if one is.
    pub(crate) fn offset_cut_pp(&self, date: Date) -> Option<f64> {
        self.offsets.iter().find(|o| o.window.contains(date)).map(|o| o.cut_pp)
    }
}

/// The rate of a flow after a measure: `before` is its rate before it,
/// `rate_pct` the measure's rate. Without content rules this is the plain
/// ADD/SET/FLOOR rule; with a dutiable share s the flow pays
/// s x (rate with the measure) + (1 - s) x `before`, which for ADD is
/// `before` + s x the added rate (written so, the sum is exact where it was
/// exact before).
pub(crate) fn apply(
    mode: Mode,
    rate_pct: f64,
    content: &PreparedContent,
    before: f64,
    exporter: usize,
    date: Date,
) -> f64 {
    // Credits are capped at the duty they offset: the added rate never turns negative.
    let added = content.offset_cut_pp(date).map_or(rate_pct, |cut| (rate_pct - cut).max(0.0));
    let share = content.share(exporter);
    match (mode, share) {
        (Mode::Add, None) => before + added,
        (Mode::Add, Some(s)) => before + s * added,
        (Mode::Set, None) => rate_pct,
        (Mode::Floor, None) => before.max(rate_pct),
        (Mode::Set, Some(s)) => s * rate_pct + (1.0 - s) * before,
        (Mode::Floor, Some(s)) => s * before.max(rate_pct) + (1.0 - s) * before,
        // Its in-quota rate; the solve adds the premium it finds (content rules are refused on a TRQ).
        (Mode::Trq, _) => rate_pct,
        (Mode::Unspecified, _) => before,
    }
}

fn percent_ok(v: f64) -> bool {
    v.is_finite() && (0.0..=100.0).contains(&v)
}

/// The flows a measure covers, as prepare_measure resolved them.
pub(crate) struct Coverage<'a> {
    pub(crate) mode: Mode,
    pub(crate) importer: usize,
    /// By exporter position.
    pub(crate) exporters: &'a [bool],
    /// By sector position.
    pub(crate) sectors: &'a [bool],
}

/// The measure's `dutiable_share_pct`, `content` and `offsets`, checked
/// against the dataset and the measure's own exporters, sectors and mode.
pub(crate) fn prepare_content(
    c: &mut Collector,
    dataset: &Dataset,
    path: &str,
    m: &pb::Measure,
    coverage: &Coverage<'_>,
) -> PreparedContent {
    let Coverage { mode, exporters, .. } = *coverage;
    let has_shares = m.dutiable_share_pct.is_some() || !m.content.is_empty();
    if mode == Mode::Trq && has_shares {
        // A quota counts whole flows: a share of a flow under it has no meaning.
        let field = if m.dutiable_share_pct.is_some() { "dutiable_share_pct" } else { "content" };
        c.push(format!("{path}.{field}"), "a TRQ applies to whole flows: content rules are not for TRQ");
    }
    let mut shares = has_shares.then(|| vec![1.0; exporters.len()]);
    if let (Some(pct), Some(all)) = (m.dutiable_share_pct, shares.as_mut()) {
        if percent_ok(pct) {
            all.iter_mut().for_each(|s| *s = pct / 100.0);
        } else {
            c.push(
                format!("{path}.dutiable_share_pct"),
                format!("{pct} is not a percent between 0 and 100 (60 means 60% of the value is dutiable)"),
            );
        }
    }
    for (j, entry) in m.content.iter().enumerate() {
        let here = format!("{path}.content[{j}]");
        if !percent_ok(entry.dutiable_share_pct) {
            c.push(
                format!("{here}.dutiable_share_pct"),
                format!("{} is not a percent between 0 and 100", entry.dutiable_share_pct),
            );
        }
        let members = match entry.exporter.as_str() {
            "*" => {
                c.push(
                    format!("{here}.exporter"),
                    "`*` is every exporter: use the measure's dutiable_share_pct",
                );
                continue;
            }
            name => economies_named(dataset, name),
        };
        let Some(members) = members else {
            c.push(format!("{here}.exporter"), format!("unknown economy or group `{}`", entry.exporter));
            continue;
        };
        let covered: Vec<usize> =
            members.into_iter().filter(|&e| exporters.get(e).copied().unwrap_or(false)).collect();
        if covered.is_empty() {
            c.push(
                format!("{here}.exporter"),
                format!("`{}` is not among the exporters the measure covers", entry.exporter),
            );
        }
        if let Some(all) = shares.as_mut().filter(|_| percent_ok(entry.dutiable_share_pct)) {
            for e in covered {
                if let Some(s) = all.get_mut(e) {
                    *s = entry.dutiable_share_pct / 100.0;
                }
            }
        }
    }
    let content = PreparedContent { shares, offsets: Vec::new() };
    let offsets = prepare_offsets(c, dataset, path, m, coverage, &content);
    PreparedContent { offsets, ..content }
}

/// Each offset as the cut of the added rate: 100 x credit / covered value,
/// both at base-year values. The credit is `percent_of_value` of the
/// importer's output of `on_sectors` (domestic shipments plus exports: every
/// good assembled there, as the 2025 proclamation counts every US-assembled
/// vehicle); the covered value is the importer's imports the measure names,
/// times their dutiable shares (what the measure's duty falls on).
fn prepare_offsets(
    c: &mut Collector,
    dataset: &Dataset,
    path: &str,
    m: &pb::Measure,
    coverage: &Coverage<'_>,
    content: &PreparedContent,
) -> Vec<PreparedOffset> {
    let Coverage { mode, importer, exporters, sectors } = *coverage;
    if m.offsets.is_empty() {
        return Vec::new();
    }
    if mode != Mode::Add {
        // Under SET or FLOOR the duty added differs flow by flow, so one cut has no single meaning.
        c.push(
            format!("{path}.offsets"),
            "an offset credits against the duty an ADD measure adds; this measure is not ADD",
        );
    }
    let n = dataset.economies.len();
    let covered: f64 = (0..dataset.sectors.len())
        .filter(|&s| sectors.get(s).copied().unwrap_or(false))
        .flat_map(|s| (0..n).map(move |v| (s, v)))
        .filter(|&(_, v)| v != importer && exporters.get(v).copied().unwrap_or(false))
        .map(|(s, v)| dataset.flow(s, v, importer) * content.share(v).unwrap_or(1.0))
        .sum();
    let mut prepared: Vec<PreparedOffset> = Vec::new();
    for (k, o) in m.offsets.iter().enumerate() {
        let here = format!("{path}.offsets[{k}]");
        if o.on_sectors.is_empty() {
            c.push(
                format!("{here}.on_sectors"),
                "list at least one sector of assembled goods (such as CARS)",
            );
        }
        let mut on = Vec::new();
        for (j, code) in o.on_sectors.iter().enumerate() {
            match dataset.sector(code) {
                Some(s) => on.push(s),
                None => c.push(format!("{here}.on_sectors[{j}]"), format!("unknown sector `{code}`")),
            }
        }
        on.sort_unstable();
        on.dedup();
        if !(o.percent_of_value > 0.0 && o.percent_of_value <= 100.0) {
            c.push(
                format!("{here}.percent_of_value"),
                format!("{} is not a percent above 0 and at most 100 (3.75 means 3.75%)", o.percent_of_value),
            );
        }
        let window = window(c, &here, &o.effective_from, &o.effective_to);
        if let Some(j) = prepared.iter().position(|p| overlap(&p.window, &window)) {
            c.push(
                here.clone(),
                format!("its dates overlap offsets[{j}]: at most one offset is in force at a date"),
            );
        }
        let output: f64 = on.iter().map(|&s| (0..n).map(|d| dataset.flow(s, importer, d)).sum::<f64>()).sum();
        let credit = o.percent_of_value / 100.0 * output;
        // No covered imports: no duty to credit against, and nothing to cut.
        let cut_pp = if covered > 0.0 { 100.0 * credit / covered } else { 0.0 };
        prepared.push(PreparedOffset { window, cut_pp });
    }
    prepared
}

/// Whether two `[from, to)` windows share a day.
fn overlap(a: &Window, b: &Window) -> bool {
    let starts_before_end = |w: &Window, other: &Window| match (w.from, other.to) {
        (Some(f), Some(t)) => f < t,
        _ => true,
    };
    starts_before_end(a, b) && starts_before_end(b, a)
}
