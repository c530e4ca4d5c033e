//! Finding the scenario and the dataset a command works on.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use tariff_proto::v1::Scenario;
use tariff_scenario::{
    ScenarioFormat,
    dataset::{BUILTIN_DATASETS, DEFAULT_DATASET, Dataset, DatasetLimits, builtin},
    parse_scenario,
};

/// A dataset, built in (shared, parsed once) or loaded from a folder.
pub enum DatasetRef {
    Builtin(&'static Dataset),
    Loaded(Box<Dataset>),
}

impl std::ops::Deref for DatasetRef {
    type Target = Dataset;

    fn deref(&self) -> &Dataset {
        match self {
            DatasetRef::Builtin(d) => d,
            DatasetRef::Loaded(d) => d,
        }
    }
}

/// Reads a scenario file (proto3 JSON, or TOML by extension).
pub fn read_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_scenario(&text, ScenarioFormat::from_path(path)).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The dataset named by `--dataset`, else by the scenario's `dataset` field (a
/// built-in id, or a folder relative to the scenario file), else the default.
pub fn resolve_dataset(
    flag: Option<&Path>,
    named: &str,
    relative_to: Option<&Path>,
) -> anyhow::Result<DatasetRef> {
    if let Some(dir) = flag {
        return load_dir(dir);
    }
    let id = if named.is_empty() { DEFAULT_DATASET } else { named };
    if let Some(found) = builtin(id) {
        return Ok(DatasetRef::Builtin(found.context("the built-in dataset is broken")?));
    }
    let dir = match relative_to {
        Some(base) if Path::new(id).is_relative() => base.join(id),
        _ => PathBuf::from(id),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "dataset `{id}` is neither built in ({}) nor a folder at {}",
            BUILTIN_DATASETS.join(", "),
            dir.display()
        );
    }
    load_dir(&dir)
}

fn load_dir(dir: &Path) -> anyhow::Result<DatasetRef> {
    Ok(DatasetRef::Loaded(Box::new(Dataset::from_dir_with_limits(dir, &dataset_limits()?)?)))
}

/// The dataset size limits, raised or lowered by `TARIFF_MAX_ECONOMIES` and `TARIFF_MAX_SECTORS`.
fn dataset_limits() -> anyhow::Result<DatasetLimits> {
    let mut limits = DatasetLimits::default();
    for (variable, slot) in
        [("TARIFF_MAX_ECONOMIES", &mut limits.max_economies), ("TARIFF_MAX_SECTORS", &mut limits.max_sectors)]
    {
        if let Ok(text) = std::env::var(variable) {
            *slot =
                text.trim().parse().with_context(|| format!("{variable}=`{text}` is not a whole number"))?;
        }
    }
    Ok(limits)
}
