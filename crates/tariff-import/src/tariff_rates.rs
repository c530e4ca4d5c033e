//! Tariff rates from WITS files: read at HS 6-digit level per economy, then
//! made into tariffs.csv rows per importer and sector (MFN) and per pair
//! (preferences), trade-weighted where the import gathered weights. Shared by
//! the import and the tariffs-only update.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
};

use crate::{
    Progress,
    concordance::Concordance,
    error::ImportError,
    flows::YearFilter,
    input::{Input, hs_key},
    report::{FileReport, MissingTariff, TariffReport},
    resolve::Resolver,
    wits::{Duty, TariffRecord, read_wits},
    write::{Out, format_number, source_id_of, unique_id},
};

/// A preference of one product: (sum of rates, count, sector, duty label).
type PreferenceLine = (f64, u32, u32, u16);

/// Tariff rates read from the WITS files, at HS level per economy.
#[derive(Default)]
pub(crate) struct Rates {
    /// (importer, hs key) -> (sum of rates, count, sector).
    mfn: HashMap<(u32, u64), (f64, u32, u32)>,
    /// (importer, exporter, hs key) -> (sum, count, sector, duty label).
    preference: HashMap<(u32, u32, u64), PreferenceLine>,
    /// Pairs (importer, exporter) with some preference.
    pairs: HashSet<(u32, u32)>,
    labels: Vec<String>,
}

impl Rates {
    pub(crate) fn mfn_rate(&self, importer: u32, hs: u64) -> Option<f64> {
        self.mfn.get(&(importer, hs)).map(|&(sum, n, _)| sum / f64::from(n.max(1)))
    }

    pub(crate) fn preference_rate(&self, importer: u32, exporter: u32, hs: u64) -> Option<f64> {
        self.preference.get(&(importer, exporter, hs)).map(|&(sum, n, _, _)| sum / f64::from(n.max(1)))
    }

    /// Whether some product has a preference of `importer` for `exporter`.
    pub(crate) fn has_preferences(&self, importer: u32, exporter: u32) -> bool {
        self.pairs.contains(&(importer, exporter))
    }
}

/// The key of a (sector, exporter, importer) cell: of the import's flow cells
/// and of the pair weights [`tariff_rows`] takes.
pub(crate) fn cell_key(sector: usize, exporter: usize, importer: usize) -> u64 {
    (sector as u64) << 32 | (exporter as u64) << 16 | importer as u64
}

pub(crate) fn split_key(key: u64) -> (usize, usize, usize) {
    ((key >> 32) as usize, ((key >> 16) & 0xffff) as usize, (key & 0xffff) as usize)
}

/// Weighted sums: (sum of weight x rate, sum of weights).
pub(crate) type Weighted = (f64, f64);

/// Reads the WITS files into HS-level rates per economy.
pub(crate) fn read_tariff_files(
    paths: &[PathBuf],
    tariff_year: Option<i32>,
    resolver: &mut Resolver<'_>,
    source_ids: &mut Vec<String>,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<(Rates, Vec<FileReport>, u64), ImportError> {
    let mut rates = Rates::default();
    let mut tariff_years = YearFilter { wanted: tariff_year, seen: None, option: "--tariff-year" };
    let mut tariff_files = Vec::new();
    let mut within_total = 0u64;
    for path in paths {
        let input = Input::open(path)?;
        let mut report = FileReport::of(&input);
        let stage = format!("reading {}", report.facts.name);
        let total = input.size;
        let mut on_bytes = |done: u64| progress(&Progress { stage: &stage, done, total });
        let file = input.shown.clone();
        let mut used = 0u64;
        let mut within = 0u64;
        read_wits(
            &input,
            &mut tariff_years,
            &mut report,
            &mut |row: &TariffRecord<'_>| {
                let importer = resolver.country(&row.reporter, &file, row.line, 0.0);
                let exporter = match &row.partner {
                    Some(p) => resolver.country(p, &file, row.line, 0.0).map(Some),
                    None => Some(None),
                };
                let sector = resolver.product(row.product, &file, row.line, 0.0);
                let (Some(importer), Some(exporter), Some(sector), Some(hs)) =
                    (importer, exporter, sector, hs_key(row.product))
                else {
                    return Ok(());
                };
                let (importer, sector) = (importer as u32, sector as u32);
                match (exporter, row.duty) {
                    (None, _) | (_, Duty::Mfn) => {
                        let slot = rates.mfn.entry((importer, hs)).or_insert((0.0, 0, sector));
                        slot.0 += row.rate_pct;
                        slot.1 += 1;
                    }
                    (Some(exporter), Duty::Bilateral(label)) => {
                        let exporter = exporter as u32;
                        if exporter == importer {
                            within += 1;
                            return Ok(());
                        }
                        let label = match rates.labels.iter().position(|l| l == label) {
                            Some(i) => i,
                            None => {
                                rates.labels.push(label.to_owned());
                                rates.labels.len() - 1
                            }
                        };
                        let slot = rates.preference.entry((importer, exporter, hs)).or_insert((
                            0.0,
                            0,
                            sector,
                            u16::try_from(label).unwrap_or(0),
                        ));
                        slot.0 += row.rate_pct;
                        slot.1 += 1;
                        rates.pairs.insert((importer, exporter));
                    }
                }
                used += 1;
                Ok(())
            },
            &mut on_bytes,
        )?;
        report.rows_used = used;
        within_total += within;
        report.facts = input.finish()?;
        report.source_id = unique_id(wits_id(&report.facts.name), source_ids);
        tariff_files.push(report);
    }

    Ok((rates, tariff_files, within_total))
}

/// A tariffs.csv row: importer, exporter (`None` for `*`), sector, rate, basis.
pub(crate) type TariffOut = (usize, Option<usize>, usize, f64, String);

/// The tariff rows of the rates: MFN per importer and sector, preferences per
/// pair, weighted where weights were gathered; imports (sector, exporter,
/// importer, value) without a rate filled with the default or refused.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tariff_rows(
    rates: &Rates,
    concordance: &Concordance,
    mfn_weights: &[Weighted],
    pair_weights: &HashMap<u64, Weighted>,
    imports: impl Iterator<Item = (usize, usize, usize, f64)>,
    default_rate: Option<f64>,
    preference_basis: Option<&str>,
    report: &mut TariffReport,
) -> Result<Vec<TariffOut>, ImportError> {
    let (n, sectors) = (concordance.economies.len(), concordance.sectors.len());
    let mut mfn_simple: Vec<(f64, u32)> = vec![(0.0, 0); n * sectors];
    for (&(r, _), &(sum, count, s)) in &rates.mfn {
        if let Some(slot) = mfn_simple.get_mut(r as usize * sectors + s as usize) {
            slot.0 += sum / f64::from(count.max(1));
            slot.1 += 1;
        }
    }
    // (importer, exporter, sector) -> (sum of (pref - mfn) or pref alone, extra count, label)
    let mut pair_simple: HashMap<(u32, u32, u32), (f64, u32, u16)> = HashMap::new();
    for (&(r, v, hs), &(sum, count, s, label)) in &rates.preference {
        let pref = sum / f64::from(count.max(1));
        let slot = pair_simple.entry((r, v, s)).or_insert((0.0, 0, label));
        match rates.mfn_rate(r, hs) {
            Some(mfn) => slot.0 += pref - mfn,
            None => {
                slot.0 += pref;
                slot.1 += 1;
            }
        }
    }
    let mut tariff_rows: Vec<(usize, Option<usize>, usize, f64, String)> = Vec::new();
    let mut has_general = vec![false; n * sectors];
    for r in 0..n {
        for s in 0..sectors {
            let i = r * sectors + s;
            let (weighted, simple) = (mfn_weights.get(i).copied(), mfn_simple.get(i).copied());
            let rate = match (weighted, simple) {
                (Some((num, den)), _) if den > 0.0 => {
                    report.mfn_weighted += 1;
                    num / den
                }
                (_, Some((sum, count))) if count > 0 => sum / f64::from(count),
                _ => continue,
            };
            report.mfn_rows += 1;
            has_general[i] = true;
            tariff_rows.push((r, None, s, rate, "MFN".into()));
        }
    }
    let mut pair_rows: Vec<(u32, u32, u32, f64, u16)> = Vec::new();
    for (&(r, v, s), &(delta, extra, label)) in &pair_simple {
        let weighted = pair_weights.get(&cell_key(s as usize, v as usize, r as usize)).copied();
        let rate = match weighted {
            Some((num, den)) if den > 0.0 => {
                report.preference_weighted += 1;
                num / den
            }
            _ => {
                let (sum, count) =
                    mfn_simple.get(r as usize * sectors + s as usize).copied().unwrap_or((0.0, 0));
                let count = count + extra;
                if count == 0 {
                    continue;
                }
                ((sum + delta) / f64::from(count)).max(0.0)
            }
        };
        pair_rows.push((r, v, s, rate, label));
    }
    pair_rows.sort_by_key(|&(r, v, s, _, _)| (r, s, v));
    let mut has_specific: HashSet<(usize, usize, usize)> = HashSet::new();
    for (r, v, s, rate, label) in pair_rows {
        let basis = match preference_basis {
            Some(b) => b.to_owned(),
            None => rates.labels.get(usize::from(label)).cloned().unwrap_or_else(|| "PRF".into()),
        };
        report.preference_rows += 1;
        has_specific.insert((r as usize, v as usize, s as usize));
        tariff_rows.push((r as usize, Some(v as usize), s as usize, rate, basis));
    }
    // Imports without a rate.
    let mut missing: HashMap<(usize, usize), f64> = HashMap::new();
    for (s, e, r, value) in imports {
        if e != r && value > 0.0 && !has_general[r * sectors + s] && !has_specific.contains(&(r, e, s)) {
            *missing.entry((r, s)).or_insert(0.0) += value;
        }
    }
    if !missing.is_empty() {
        match default_rate {
            Some(rate) => {
                let mut filled: Vec<(usize, usize)> = missing.keys().copied().collect();
                filled.sort_unstable();
                for (r, s) in filled {
                    report.default_rows += 1;
                    tariff_rows.push((r, None, s, rate, "DEFAULT".into()));
                }
            }
            None => {
                let mut list: Vec<MissingTariff> = missing
                    .iter()
                    .map(|(&(r, s), &imports)| MissingTariff {
                        importer: concordance.economies.get(r).cloned().unwrap_or_default(),
                        sector: concordance.sectors.get(s).cloned().unwrap_or_default(),
                        imports,
                    })
                    .collect();
                list.sort_by(|a, b| b.imports.total_cmp(&a.imports));
                return Err(ImportError::MissingTariffs(list));
            }
        }
    }
    tariff_rows
        .sort_by(|a, b| (a.0, a.2, a.1.map_or(0, |v| v + 1)).cmp(&(b.0, b.2, b.1.map_or(0, |v| v + 1))));

    Ok(tariff_rows)
}

/// Writes tariffs.csv; returns the rows written.
pub(crate) fn write_tariffs(
    dir: &Path,
    rows: &[TariffOut],
    concordance: &Concordance,
) -> Result<u64, ImportError> {
    let mut out = Out::create(dir, "tariffs.csv")?;
    out.bytes(b"importer,exporter,sector,rate_pct,basis\n")?;
    let mut written = 0;
    for (r, v, s, rate, basis) in rows {
        let (Some(importer), Some(sector)) = (concordance.economies.get(*r), concordance.sectors.get(*s))
        else {
            continue;
        };
        let exporter = v.and_then(|v| concordance.economies.get(v)).map_or("*", String::as_str);
        out.line(format_args!("{importer},{exporter},{sector},{},{basis}\n", format_number(*rate, 4)))?;
        written += 1;
    }
    out.finish()?;
    Ok(written)
}

/// The source id of a tariff file: its name, `wits-` in front unless it starts so.
pub(crate) fn wits_id(file_name: &str) -> String {
    let id = source_id_of(file_name);
    if id.starts_with("wits") { id } else { format!("wits-{id}") }
}
