//! A synthetic dataset of any size, shaped like product-level trade data and
//! reproducible from a seed: for benchmarks, load tests and trying the
//! importer's outputs without real data. It is marked synthetic in
//! dataset.toml's title and description and on every flows.csv row (source
//! `synthetic`, quality `estimated`).
//!
//! - Economies have lognormal sizes and random positions on the unit square.
//! - In each sector, each off-diagonal pair trades with probability `density`
//!   (drawn as geometric gaps between trading pairs: time linear in the rows,
//!   not in the pairs); a flow is `scale_s x size_v x size_r / (0.05 +
//!   distance)` times lognormal noise (gravity), in USD thousand, at least 1.
//! - Every economy ships domestically in every sector (the 0.05 alone as the
//!   distance, so domestic shipments are the largest flows of most economies).
//! - Tariffs: an MFN rate per importer and sector (an importer level times a
//!   sector factor), and for each importer two preferential partners paying
//!   30% of it (basis `PREF`), in every sector where they trade.
//! - Elasticities per sector: import demand in [-2, -0.5], substitution in
//!   [1.5, 8], supply in [1, 10] (every seventh sector 99, infinite).
//!
//! Rows are written sector by sector through buffered writers as they are
//! drawn: memory is that of the economies, whatever the number of rows.

use std::{path::PathBuf, time::Instant};

use serde::Serialize;

use crate::{
    Progress,
    error::ImportError,
    write::{DatasetMeta, Out, SourceEntry, prepare_dir},
};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub economies: usize,
    pub sectors: usize,
    /// Share of off-diagonal pairs that trade in a sector, in [0, 1].
    pub density: f64,
    pub seed: u64,
    pub out: PathBuf,
    /// Dataset id (default `synthetic-<N>x<S>-<seed>`).
    pub id: Option<String>,
    pub overwrite: bool,
    /// Input sectors per (economy, sector) in an `inputs.csv` (docs/model.md,
    /// "Supply chains"); 0 writes none.
    pub input_sectors: usize,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SynthReport {
    pub out: String,
    pub id: String,
    pub economies: usize,
    pub sectors: usize,
    pub density: f64,
    pub seed: u64,
    pub flow_rows: u64,
    pub domestic_rows: u64,
    pub import_rows: u64,
    pub tariff_rows: u64,
    pub preference_rows: u64,
    /// Rows of inputs.csv (0 without one).
    pub input_rows: u64,
    /// Bytes of flows.csv and tariffs.csv.
    pub flows_bytes: u64,
    pub tariffs_bytes: u64,
    pub seconds: f64,
}

/// SplitMix64: small, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ mix(stream.wrapping_add(0x9E37_79B9_7F4A_7C15))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A standard normal draw (Box-Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Appends the decimal digits of `v`.
fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// Appends tenths as a decimal (`123` is `12.3`, `120` is `12`).
fn push_tenths(buf: &mut Vec<u8>, tenths: u64) {
    push_u64(buf, tenths / 10);
    if !tenths.is_multiple_of(10) {
        buf.push(b'.');
        buf.push(b'0' + (tenths % 10) as u8);
    }
}

fn code(prefix: char, i: usize, width: usize) -> String {
    format!("{prefix}{:0width$}", i + 1)
}

/// `inputs.csv`: for each economy and sector, `spec.input_sectors` other
/// sectors (distinct, at random) whose shares of the base cost add up to
/// between 0.1 and 0.6, split at random.
fn write_inputs(spec: &SynthSpec, economies: &[String], sectors: &[String]) -> Result<u64, ImportError> {
    let mut out = Out::create(&spec.out, "inputs.csv")?;
    out.bytes(b"economy,sector,input_sector,cost_share,source,quality\n")?;
    let k = spec.input_sectors.min(sectors.len().saturating_sub(1));
    let mut rows = 0;
    for (v, economy) in economies.iter().enumerate() {
        let mut rng = Rng::new(spec.seed ^ 0x1a2b_3c4d, v as u64);
        for (s, sector) in sectors.iter().enumerate() {
            let mut picked: Vec<usize> = Vec::with_capacity(k);
            while picked.len() < k {
                let j = (rng.next_u64() % sectors.len() as u64) as usize;
                if j != s && !picked.contains(&j) {
                    picked.push(j);
                }
            }
            let weights: Vec<f64> = picked.iter().map(|_| rng.range(0.1, 1.0)).collect();
            let (total, sum) = (rng.range(0.1, 0.6), weights.iter().sum::<f64>());
            for (&j, w) in picked.iter().zip(&weights) {
                // Rounded down to 1e-6: the rounded shares still sum below 0.6.
                let share = (total * w / sum * 1e6).floor() / 1e6;
                let input = sectors.get(j).map_or("", String::as_str);
                out.line(format_args!("{economy},{sector},{input},{share},synthetic,estimated\n"))?;
                rows += 1;
            }
        }
    }
    out.finish()?;
    Ok(rows)
}

/// Writes the synthetic dataset of `spec`; `progress` hears of each sector.
///
/// # Errors
/// Sizes out of range, an output folder that is not empty (without
/// `overwrite`), a file that cannot be written.
pub fn synthesize(
    spec: &SynthSpec,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<SynthReport, ImportError> {
    let started = Instant::now();
    let (n, sectors) = (spec.economies, spec.sectors);
    if !(1..=u16::MAX as usize).contains(&n) {
        return Err(ImportError::Options(format!("--economies {n} must be 1 to {}", u16::MAX)));
    }
    if !(1..=10_000_000).contains(&sectors) {
        return Err(ImportError::Options(format!("--sectors {sectors} must be 1 to 10000000")));
    }
    if !(0.0..=1.0).contains(&spec.density) {
        return Err(ImportError::Options(format!("--density {} must be in [0, 1]", spec.density)));
    }
    let id = spec.id.clone().unwrap_or_else(|| format!("synthetic-{n}x{sectors}-{}", spec.seed));
    prepare_dir(&spec.out, spec.overwrite)?;

    // The world: the same for every sector of a seed.
    let mut world = Rng::new(spec.seed, u64::MAX);
    let (mut size, mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut level = Vec::with_capacity(n);
    for _ in 0..n {
        size.push((1.5 * world.normal()).exp());
        x.push(world.uniform());
        y.push(world.uniform());
        level.push(world.range(0.0, 8.0));
    }
    // Two preferential partners per importer (none when there is no other economy).
    let partners: Vec<[usize; 2]> = (0..n)
        .map(|r| {
            if n < 2 {
                return [usize::MAX; 2];
            }
            let pick = |rng: &mut Rng| {
                let k = (rng.next_u64() % (n as u64 - 1)) as usize;
                if k >= r { k + 1 } else { k }
            };
            let a = pick(&mut world);
            let b = pick(&mut world);
            [a, if b == a { usize::MAX } else { b }]
        })
        .collect();
    let width_e = n.to_string().len().max(3);
    let width_s = sectors.to_string().len().max(3);
    let economy_codes: Vec<String> = (0..n).map(|i| code('E', i, width_e)).collect();
    let sector_codes: Vec<String> = (0..sectors).map(|s| code('S', s, width_s)).collect();

    let mut economies = Out::create(&spec.out, "economies.csv")?;
    economies.bytes(b"code,name,groups,gdp\n")?;
    for (i, c) in economy_codes.iter().enumerate() {
        let gdp = (size.get(i).copied().unwrap_or(1.0) * 100_000.0).round();
        economies.line(format_args!("{c},Synthetic economy {},,{gdp}\n", i + 1))?;
    }
    economies.finish()?;

    let mut sectors_out = Out::create(&spec.out, "sectors.csv")?;
    sectors_out
        .bytes(b"code,name,hs,import_demand_elasticity,substitution_elasticity,supply_elasticity\n")?;
    let mut factor = Vec::with_capacity(sectors);
    for (s, c) in sector_codes.iter().enumerate() {
        let mut rng = Rng::new(spec.seed, s as u64 * 2 + 1);
        let em = (rng.range(-2.0, -0.5) * 1000.0).round() / 1000.0;
        let es = (rng.range(1.5, 8.0) * 1000.0).round() / 1000.0;
        let ex = if s % 7 == 6 { 99.0 } else { (rng.range(1.0, 10.0) * 1000.0).round() / 1000.0 };
        factor.push(rng.range(0.2, 3.0));
        sectors_out.line(format_args!("{c},Synthetic sector {},synthetic,{em},{es},{ex}\n", s + 1))?;
    }
    sectors_out.finish()?;

    let mut report = SynthReport {
        out: spec.out.display().to_string(),
        id: id.clone(),
        economies: n,
        sectors,
        density: spec.density,
        seed: spec.seed,
        ..SynthReport::default()
    };
    let mut flows = Out::create(&spec.out, "flows.csv")?;
    let mut tariffs = Out::create(&spec.out, "tariffs.csv")?;
    const FLOWS_HEADER: &[u8] = b"exporter,importer,sector,value,source,quality\n";
    const TARIFFS_HEADER: &[u8] = b"importer,exporter,sector,rate_pct,basis\n";
    flows.bytes(FLOWS_HEADER)?;
    tariffs.bytes(TARIFFS_HEADER)?;
    report.flows_bytes = FLOWS_HEADER.len() as u64;
    report.tariffs_bytes = TARIFFS_HEADER.len() as u64;
    let density = spec.density;
    let log_miss = (-density).ln_1p();
    let gap = |rng: &mut Rng| -> usize {
        if density >= 1.0 {
            return 0;
        }
        if density <= 0.0 {
            return usize::MAX;
        }
        let k = ((1.0 - rng.uniform()).ln() / log_miss).floor();
        if k.is_finite() && k < 1e15 { k as usize } else { usize::MAX }
    };
    let mut line: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut tariff_line: Vec<u8> = Vec::with_capacity(1 << 16);
    let stage = format!("writing {n} economies x {sectors} sectors");
    for s in 0..sectors {
        let mut rng = Rng::new(spec.seed, s as u64 * 2 + 2);
        let scale = 100.0 * rng.normal().exp();
        let sector_code = sector_codes.get(s).map_or("", String::as_str).as_bytes();
        let sector_factor = factor.get(s).copied().unwrap_or(1.0);
        let mfn_tenths: Vec<u64> = (0..n)
            .map(|r| ((level.get(r).copied().unwrap_or(0.0) * sector_factor).min(60.0) * 10.0).round() as u64)
            .collect();
        for (r, tenths) in mfn_tenths.iter().enumerate() {
            tariff_line.extend_from_slice(economy_codes.get(r).map_or("", String::as_str).as_bytes());
            tariff_line.extend_from_slice(b",*,");
            tariff_line.extend_from_slice(sector_code);
            tariff_line.push(b',');
            push_tenths(&mut tariff_line, *tenths);
            tariff_line.extend_from_slice(b",MFN\n");
            report.tariff_rows += 1;
        }
        for v in 0..n {
            let mut emit = |r: usize, rng: &mut Rng, line: &mut Vec<u8>, tariff_line: &mut Vec<u8>| {
                let d = (x[v] - x[r]).hypot(y[v] - y[r]);
                let noise = (0.8 * rng.normal()).exp();
                let value = (scale * size[v] * size[r] / (0.05 + d) * noise).round().max(1.0) as u64;
                line.extend_from_slice(economy_codes[v].as_bytes());
                line.push(b',');
                line.extend_from_slice(economy_codes[r].as_bytes());
                line.push(b',');
                line.extend_from_slice(sector_code);
                line.push(b',');
                push_u64(line, value);
                line.extend_from_slice(b",synthetic,estimated\n");
                report.flow_rows += 1;
                if v == r {
                    report.domestic_rows += 1;
                } else {
                    report.import_rows += 1;
                    if partners.get(r).is_some_and(|p| p.contains(&v)) {
                        tariff_line.extend_from_slice(economy_codes[r].as_bytes());
                        tariff_line.push(b',');
                        tariff_line.extend_from_slice(economy_codes[v].as_bytes());
                        tariff_line.push(b',');
                        tariff_line.extend_from_slice(sector_code);
                        tariff_line.push(b',');
                        push_tenths(tariff_line, mfn_tenths.get(r).copied().unwrap_or(0) * 3 / 10);
                        tariff_line.extend_from_slice(b",PREF\n");
                        report.tariff_rows += 1;
                        report.preference_rows += 1;
                    }
                }
            };
            // Off-diagonal candidates of exporter v are 0..n-1 with v skipped;
            // importers ascending, the domestic flow in its place.
            let mut next = gap(&mut rng);
            let mut domestic_done = false;
            while next < n - 1 {
                let r = if next >= v { next + 1 } else { next };
                if !domestic_done && r > v {
                    emit(v, &mut rng, &mut line, &mut tariff_line);
                    domestic_done = true;
                }
                emit(r, &mut rng, &mut line, &mut tariff_line);
                next = next.saturating_add(1).saturating_add(gap(&mut rng));
            }
            if !domestic_done {
                emit(v, &mut rng, &mut line, &mut tariff_line);
            }
            if line.len() > (1 << 16) - 256 {
                flows.bytes(&line)?;
                report.flows_bytes += line.len() as u64;
                line.clear();
            }
            if tariff_line.len() > (1 << 16) - 256 {
                tariffs.bytes(&tariff_line)?;
                report.tariffs_bytes += tariff_line.len() as u64;
                tariff_line.clear();
            }
        }
        if s % 16 == 15 || s + 1 == sectors {
            progress(&Progress { stage: &stage, done: s as u64 + 1, total: sectors as u64 });
        }
    }
    flows.bytes(&line)?;
    report.flows_bytes += line.len() as u64;
    tariffs.bytes(&tariff_line)?;
    report.tariffs_bytes += tariff_line.len() as u64;
    flows.finish()?;
    tariffs.finish()?;
    if spec.input_sectors > 0 {
        report.input_rows = write_inputs(spec, &economy_codes, &sector_codes)?;
    }

    let params = format!("{n} economies, {sectors} sectors, density {}, seed {}", spec.density, spec.seed);
    let meta = DatasetMeta {
        id,
        title: format!("SYNTHETIC dataset ({params})"),
        base_year: 2023,
        currency: "USD".into(),
        unit: "thousand".into(),
        description: format!(
            "SYNTHETIC DATA, NOT REAL TRADE: generated by tariff-import synth ({params}). Gravity-shaped flows \
             (lognormal economy sizes, random positions, size x size / (0.05 + distance) x lognormal noise), \
             each off-diagonal pair trading with probability {} per sector, domestic shipments for every \
             economy in every sector; MFN tariffs per importer and sector and two preferential partners per \
             importer at 30% of MFN (basis PREF). Every flow row is source synthetic, quality estimated.",
            spec.density
        ),
        sources: vec![SourceEntry {
            id: "synthetic".into(),
            title: "Synthetic gravity-shaped data generated by tariff-import (not real trade)".into(),
            url: String::new(),
            note: format!("Deterministic from the seed: {params}."),
        }],
    };
    meta.write(&spec.out)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_without_fmt() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        b.push(b' ');
        push_u64(&mut b, 1_234_567);
        b.push(b' ');
        push_tenths(&mut b, 123);
        b.push(b' ');
        push_tenths(&mut b, 120);
        b.push(b' ');
        push_tenths(&mut b, 5);
        assert_eq!(String::from_utf8(b).unwrap(), "0 1234567 12.3 12 0.5");
    }

    #[test]
    fn draws_are_uniform_enough() {
        let mut rng = Rng::new(7, 0);
        let mean = (0..10_000).map(|_| rng.uniform()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
