//! The datasets compiled into every binary, parsed once on first use.

use std::sync::OnceLock;

use super::{Dataset, DatasetError, FileSource};

/// The dataset a scenario without a `dataset` uses.
pub const DEFAULT_DATASET: &str = "jpus-2023";

macro_rules! embed {
    ($dir:literal, [$($file:literal),* $(,)?]) => {
        &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $dir, "/", $file)))),*]
    };
}

/// Japan's rice and beef markets, for the tariff-rate quotas of
/// scenarios/japan-rice-beef-trqs.json (data/jpfarm-2023/METHOD.md).
const JPFARM: &str = "jpfarm-2023";

/// The ids of the built-in datasets.
pub const BUILTIN_DATASETS: &[&str] = &[DEFAULT_DATASET, JPFARM];

const JPUS_2023: &[(&str, &str)] = embed!(
    "jpus-2023",
    [
        "dataset.toml",
        "economies.csv",
        "sectors.csv",
        "flows.csv",
        "tariffs.csv",
        "agreements.toml",
        "horizons.csv",
        "inputs.csv"
    ]
);

const JPFARM_2023: &[(&str, &str)] =
    embed!("jpfarm-2023", ["dataset.toml", "economies.csv", "sectors.csv", "flows.csv", "tariffs.csv"]);

struct Embedded {
    id: &'static str,
    files: &'static [(&'static str, &'static str)],
}

impl FileSource for Embedded {
    fn read(&self, name: &str) -> Result<Option<String>, DatasetError> {
        Ok(self.files.iter().find(|(f, _)| *f == name).map(|(_, text)| (*text).to_owned()))
    }

    fn name_of(&self, name: &str) -> String {
        format!("builtin:{}/{name}", self.id)
    }
}

/// A built-in dataset by id: `None` when there is no such id.
pub fn builtin(id: &str) -> Option<Result<&'static Dataset, DatasetError>> {
    static JPUS: OnceLock<Result<Dataset, DatasetError>> = OnceLock::new();
    static JPFARM_CELL: OnceLock<Result<Dataset, DatasetError>> = OnceLock::new();
    let (cell, id, files) = match id {
        DEFAULT_DATASET => (&JPUS, DEFAULT_DATASET, JPUS_2023),
        JPFARM => (&JPFARM_CELL, JPFARM, JPFARM_2023),
        _ => return None,
    };
    Some(cell.get_or_init(|| Dataset::load(&Embedded { id, files })).as_ref().map_err(Clone::clone))
}
