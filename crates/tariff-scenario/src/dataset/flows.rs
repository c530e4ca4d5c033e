//! The base-year flows of a dataset, stored sparsely: only the rows a dataset
//! has, per sector, sorted by (exporter, importer).
//!
//! Product-level data has thousands of sectors with most pairs trading
//! nothing: a dense `sectors x n x n` table of 200 economies and 5,000 sectors
//! would be 200 million cells, while such data has about 11 million rows.

use std::sync::Arc;

use super::{DatasetError, Provenance, Quality};

/// Where each sector's flows sit, and which pair each flow is: shared by the
/// dataset and every rate table computed over its flows.
#[derive(Debug, PartialEq, Default)]
pub(crate) struct FlowIndex {
    /// Sector `s`'s flows are `offsets[s]..offsets[s + 1]`.
    offsets: Vec<usize>,
    exporters: Vec<u32>,
    importers: Vec<u32>,
}

impl FlowIndex {
    /// The range of sector `s`'s flows (empty for a sector out of range).
    pub(crate) fn range(&self, s: usize) -> std::ops::Range<usize> {
        match (self.offsets.get(s), self.offsets.get(s + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// The position of a flow, by binary search within its sector.
    pub(crate) fn find(&self, s: usize, exporter: usize, importer: usize) -> Option<usize> {
        let range = self.range(s);
        let key = (u32::try_from(exporter).ok()?, u32::try_from(importer).ok()?);
        let (exporters, importers) = (&self.exporters[range.clone()], &self.importers[range.clone()]);
        let mut lo = 0;
        let mut hi = exporters.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match (exporters[mid], importers[mid]).cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(range.start + mid),
            }
        }
        None
    }

    /// Exporter and importer of flow `i`.
    pub(crate) fn pair(&self, i: usize) -> (usize, usize) {
        (self.exporters[i] as usize, self.importers[i] as usize)
    }

    pub(crate) fn len(&self) -> usize {
        self.exporters.len()
    }

    pub(crate) fn sectors(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// The flows of a dataset.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct FlowTable {
    pub(crate) index: Arc<FlowIndex>,
    pub(crate) values: Vec<f64>,
    /// Per flow, the position of its (source, quality) in `provenances`.
    provenance: Vec<u32>,
    provenances: Vec<Provenance>,
    estimated: usize,
}

/// One sector's flows, as parallel slices sorted by (exporter, importer).
#[derive(Debug, Clone, Copy)]
pub struct SectorFlows<'a> {
    pub exporters: &'a [u32],
    pub importers: &'a [u32],
    /// Base-year shipments, in the dataset's unit.
    pub values: &'a [f64],
}

impl FlowTable {
    pub(crate) fn sector(&self, s: usize) -> SectorFlows<'_> {
        let range = self.index.range(s);
        SectorFlows {
            exporters: &self.index.exporters[range.clone()],
            importers: &self.index.importers[range.clone()],
            values: &self.values[range],
        }
    }

    pub(crate) fn value(&self, s: usize, exporter: usize, importer: usize) -> f64 {
        self.index.find(s, exporter, importer).map_or(0.0, |i| self.values[i])
    }

    pub(crate) fn provenance(&self, s: usize, exporter: usize, importer: usize) -> Option<&Provenance> {
        let i = self.index.find(s, exporter, importer)?;
        self.provenances.get(self.provenance[i] as usize)
    }

    /// Rows, and how many of them are estimated.
    pub(crate) fn row_counts(&self) -> (usize, usize) {
        (self.values.len(), self.estimated)
    }
}

/// Quality's position in a source's three provenance entries.
fn quality_index(q: Quality) -> u32 {
    match q {
        Quality::Reported => 0,
        Quality::Derived => 1,
        Quality::Estimated => 2,
    }
}

/// One flows.csv row as read, before sorting.
#[derive(Clone, Copy)]
struct RawFlow {
    sector: u32,
    exporter: u32,
    importer: u32,
    provenance: u32,
    line: u64,
    value: f64,
}

/// Collects flows.csv rows in any order, then sorts them into a [`FlowTable`],
/// refusing a pair given twice: in time linear in the rows (plus the sort within
/// each sector) and memory proportional to them.
pub(crate) struct FlowBuilder {
    sectors: usize,
    /// The dataset's source ids, in dataset.toml's order.
    sources: Vec<String>,
    rows: Vec<RawFlow>,
}

impl FlowBuilder {
    pub(crate) fn new(sectors: usize, sources: Vec<String>) -> FlowBuilder {
        FlowBuilder { sectors, sources, rows: Vec::new() }
    }

    /// Adds the row at `line`: `(sector, exporter, importer)` ships `value`;
    /// `source` is the position of its source in the dataset's list.
    pub(crate) fn push(
        &mut self,
        line: usize,
        (sector, exporter, importer): (usize, usize, usize),
        value: f64,
        source: usize,
        quality: Quality,
    ) {
        // Codes were resolved against the dataset's lists, whose sizes the limits keep far below u32.
        let narrow = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        self.rows.push(RawFlow {
            sector: narrow(sector),
            exporter: narrow(exporter),
            importer: narrow(importer),
            provenance: narrow(source).saturating_mul(3).saturating_add(quality_index(quality)),
            line: line as u64,
            value,
        });
    }

    /// Sorts the rows by sector (counting sort), then by pair within each sector.
    ///
    /// # Errors
    /// The earliest line that repeats a pair given before it.
    pub(crate) fn finish(self, file: &str) -> Result<FlowTable, DatasetError> {
        let FlowBuilder { sectors, sources, rows } = self;
        let mut offsets = vec![0usize; sectors + 1];
        for r in &rows {
            if let Some(o) = offsets.get_mut(r.sector as usize + 1) {
                *o += 1;
            }
        }
        for s in 0..sectors {
            offsets[s + 1] += offsets[s];
        }
        let mut next = offsets.clone();
        let mut sorted =
            vec![
                RawFlow { sector: 0, exporter: 0, importer: 0, provenance: 0, line: 0, value: 0.0 };
                rows.len()
            ];
        for r in rows {
            if let Some(slot) = next.get_mut(r.sector as usize) {
                sorted[*slot] = r;
                *slot += 1;
            }
        }
        // Each sector sorted on its own; the sectors in two halves on two threads.
        let sort = |rows: &mut [RawFlow], bounds: &[usize]| -> Option<u64> {
            let base = bounds.first().copied().unwrap_or(0);
            let mut duplicate: Option<u64> = None;
            for w in bounds.windows(2) {
                let part = &mut rows[w[0] - base..w[1] - base];
                part.sort_unstable_by_key(|r| (r.exporter, r.importer, r.line));
                for pair in part.windows(2) {
                    if (pair[0].exporter, pair[0].importer) == (pair[1].exporter, pair[1].importer) {
                        duplicate = Some(duplicate.map_or(pair[1].line, |d| d.min(pair[1].line)));
                    }
                }
            }
            duplicate
        };
        let middle = offsets.partition_point(|&o| o < sorted.len() / 2).min(sectors);
        let (first, second) = sorted.split_at_mut(offsets[middle]);
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| sort(first, &offsets[..=middle]));
            let b = sort(second, &offsets[middle..]);
            (a.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), b)
        });
        let duplicate = match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if let Some(line) = duplicate {
            return Err(DatasetError::at(
                file,
                usize::try_from(line).unwrap_or(0),
                "this exporter, importer and sector already has a row",
            ));
        }
        let provenances = sources
            .iter()
            .flat_map(|source| {
                [Quality::Reported, Quality::Derived, Quality::Estimated]
                    .map(|quality| Provenance { source: source.clone(), quality })
            })
            .collect();
        let estimated =
            sorted.iter().filter(|r| r.provenance % 3 == quality_index(Quality::Estimated)).count();
        Ok(FlowTable {
            index: Arc::new(FlowIndex {
                offsets,
                exporters: sorted.iter().map(|r| r.exporter).collect(),
                importers: sorted.iter().map(|r| r.importer).collect(),
            }),
            values: sorted.iter().map(|r| r.value).collect(),
            provenance: sorted.iter().map(|r| r.provenance).collect(),
            provenances,
            estimated,
        })
    }
}
