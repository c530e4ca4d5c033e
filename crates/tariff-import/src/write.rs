//! Writing a dataset folder: dataset.toml with its sources, the CSV files
//! through buffered writers, numbers in their shortest exact form.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;

use crate::error::ImportError;

/// One `[[sources]]` entry of dataset.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceEntry {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// dataset.toml, as the loader reads it.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetMeta {
    pub id: String,
    pub title: String,
    pub base_year: i32,
    pub currency: String,
    pub unit: String,
    pub description: String,
    pub sources: Vec<SourceEntry>,
}

impl DatasetMeta {
    /// Writes `dir/dataset.toml`.
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), ImportError> {
        let text = toml::to_string(self)
            .map_err(|e| ImportError::Options(format!("dataset.toml cannot be written: {e}")))?;
        let path = dir.join("dataset.toml");
        std::fs::write(&path, text).map_err(|e| ImportError::io(&path, e))
    }
}

/// A CSV file being written, its errors naming it.
pub(crate) struct Out {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl Out {
    pub(crate) fn create(dir: &Path, name: &str) -> Result<Out, ImportError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        Ok(Out { writer: BufWriter::with_capacity(1 << 20, file), path })
    }

    pub(crate) fn line(&mut self, text: std::fmt::Arguments<'_>) -> Result<(), ImportError> {
        self.writer.write_fmt(text).map_err(|e| ImportError::io(&self.path, e))
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), ImportError> {
        self.writer.write_all(bytes).map_err(|e| ImportError::io(&self.path, e))
    }

    pub(crate) fn finish(mut self) -> Result<(), ImportError> {
        self.writer.flush().map_err(|e| ImportError::io(&self.path, e))
    }
}

/// `value` rounded to `decimals` places, without trailing zeros (`12.5`,
/// `3`, `0.001`).
pub fn format_number(value: f64, decimals: usize) -> String {
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" { "0".to_owned() } else { text }
}

/// A source id made of a file name: lower case letters, digits and `-`, the
/// extensions (`.csv`, `.gz`, `.txt`) dropped (`BACI_HS17_Y2023_V202501.csv`
/// is `baci-hs17-y2023-v202501`).
pub fn source_id_of(file_name: &str) -> String {
    let mut stem = file_name;
    for ext in [".gz", ".csv", ".txt", ".tsv"] {
        if stem.len() > ext.len() && stem.to_ascii_lowercase().ends_with(ext) {
            stem = stem.get(..stem.len() - ext.len()).unwrap_or(stem);
        }
    }
    let mut id = String::with_capacity(stem.len());
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-').to_owned();
    if id.is_empty() { "source".to_owned() } else { id }
}

/// `id`, or `id-2`, `id-3`... so that it is not in `taken`; the id is added.
pub(crate) fn unique_id(id: String, taken: &mut Vec<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// Copies a file into the dataset folder.
pub(crate) fn copy(from: &Path, dir: &Path, name: &str) -> Result<(), ImportError> {
    let to = dir.join(name);
    std::fs::copy(from, &to).map(|_| ()).map_err(|e| ImportError::io(from, e))
}

/// Prepares the output folder: created when absent; an existing one must be
/// empty unless `overwrite`.
pub(crate) fn prepare_dir(dir: &Path, overwrite: bool) -> Result<(), ImportError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(ImportError::Options(format!("{} exists and is not a folder", dir.display())));
        }
        let mut entries = std::fs::read_dir(dir).map_err(|e| ImportError::io(dir, e))?;
        if !overwrite && entries.next().is_some() {
            return Err(ImportError::Options(format!(
                "{} is not empty (give --force to write over the dataset files in it)",
                dir.display()
            )));
        }
        Ok(())
    } else {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_ids_are_clean() {
        assert_eq!(format_number(12.5, 6), "12.5");
        assert_eq!(format_number(3.0, 6), "3");
        assert_eq!(format_number(0.0000001, 6), "0");
        assert_eq!(format_number(1234.0004999, 3), "1234");
        assert_eq!(source_id_of("BACI_HS17_Y2023_V202501.csv"), "baci-hs17-y2023-v202501");
        assert_eq!(source_id_of("comtrade final.txt.gz"), "comtrade-final");
        assert_eq!(source_id_of("___"), "source");
        let mut taken = vec!["a".to_owned()];
        assert_eq!(unique_id("a".into(), &mut taken), "a-2");
        assert_eq!(unique_id("b".into(), &mut taken), "b");
    }
}
