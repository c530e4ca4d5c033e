//! The errors of an import: every one names the file, and the line and column
//! when a row is to blame.

use std::fmt;

use tariff_scenario::dataset::DatasetError;

use crate::report::{CodeKind, MissingTariff, UnmappedCode};

/// Why an import, a synthetic dataset or a check did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file that cannot be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A row of an input file is malformed: `file:line: column `c`: reason`.
    #[error("{file}:{line}: {reason}")]
    Row { file: String, line: u64, reason: String },
    /// A whole input file is wrong (its header, or its contents taken together).
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    /// Codes of the inputs that the concordance does not map, and no
    /// `--unmapped-to` catch-all took.
    #[error("{}", Unmapped(.0))]
    Unmapped(Vec<UnmappedCode>),
    /// Importer and sector pairs that have imports but no tariff, and no
    /// default rate was given.
    #[error("{}", Missing(.0))]
    MissingTariffs(Vec<MissingTariff>),
    /// The options do not fit together.
    #[error("{0}")]
    Options(String),
    /// The dataset written does not load (a bug of the importer, or inputs
    /// the loader refuses, such as an elasticity of sectors.csv).
    #[error("the dataset written does not load: {0}")]
    Dataset(#[from] DatasetError),
}

impl ImportError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> ImportError {
        ImportError::Io { path: path.display().to_string(), source }
    }

    pub(crate) fn row(file: &str, line: u64, reason: impl Into<String>) -> ImportError {
        ImportError::Row { file: file.to_owned(), line, reason: reason.into() }
    }

    pub(crate) fn file(file: &str, reason: impl Into<String>) -> ImportError {
        ImportError::File { file: file.to_owned(), reason: reason.into() }
    }
}

/// How many codes an error lists before it only counts the rest.
const SHOWN: usize = 20;

struct Unmapped<'a>(&'a [UnmappedCode]);

impl fmt::Display for Unmapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: u64 = self.0.iter().map(|u| u.rows).sum();
        write!(
            f,
            "{} code(s) are not in the concordance ({rows} rows); add them to the concordance \
             or send them to a catch-all with --unmapped-to CODE:",
            self.0.len()
        )?;
        for u in self.0.iter().take(SHOWN) {
            let kind = match u.kind {
                CodeKind::Country => "country",
                CodeKind::Product => "product",
            };
            write!(
                f,
                " {kind} `{}` ({} rows, value {}, first at {})",
                u.code, u.rows, u.value, u.first_seen
            )?;
            if !u.description.is_empty() {
                write!(f, " [{}]", u.description)?;
            }
            f.write_str(";")?;
        }
        if self.0.len() > SHOWN {
            write!(f, " and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

struct Missing<'a>(&'a [MissingTariff]);

impl fmt::Display for Missing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} importer and sector pair(s) have imports but no tariff in the tariff files; \
             give --default-rate PCT to fill them (reported as basis DEFAULT) or add tariff files:",
            self.0.len()
        )?;
        for m in self.0.iter().take(SHOWN) {
            write!(f, " {} {} (imports {});", m.importer, m.sector, m.imports)?;
        }
        if self.0.len() > SHOWN {
            write!(f, " and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}
