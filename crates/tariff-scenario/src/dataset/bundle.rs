//! A dataset's files as one value: what is uploaded, stored under its content
//! digest, and fetched by workers.
//!
//! The digest is the SHA-256 of a canonical encoding (files sorted by name,
//! each as its name and bytes, lengths first), so the same files give the same
//! digest however they were sent: as files of a folder or in an archive.

use std::{collections::BTreeMap, fmt::Write as _, io::Read, path::Path};

use sha2::{Digest, Sha256};

use super::{DatasetError, FileSource};

/// The files a dataset may have; anything else is refused, so a typo in a
/// name is an error rather than a file silently ignored.
pub const DATASET_FILES: &[&str] = &[
    "dataset.toml",
    "economies.csv",
    "sectors.csv",
    "flows.csv",
    "tariffs.csv",
    "elasticities.csv",
    "horizons.csv",
    "agreements.toml",
    "inputs.csv",
    "METHOD.md",
    "README.md",
];

const MAGIC: &[u8] = b"tariff-dataset-bundle/1\n";

/// Why files do not make a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("`{0}` is not a dataset file (expected one of {files})", files = DATASET_FILES.join(", "))]
    UnknownFile(String),
    #[error("`{0}` is given twice")]
    Duplicate(String),
    #[error("the dataset is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("unreadable archive: {0}")]
    Archive(String),
    #[error("not a dataset bundle: {0}")]
    Corrupt(&'static str),
    #[error("{path}: {error}")]
    Io { path: String, error: String },
}

/// A dataset's files by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetBundle {
    files: BTreeMap<String, Vec<u8>>,
}

impl DatasetBundle {
    /// Adds a file.
    ///
    /// # Errors
    /// A name that is not a dataset file, or given twice.
    pub fn insert(&mut self, name: &str, data: Vec<u8>) -> Result<(), BundleError> {
        if !DATASET_FILES.contains(&name) {
            return Err(BundleError::UnknownFile(name.to_owned()));
        }
        if self.files.insert(name.to_owned(), data).is_some() {
            return Err(BundleError::Duplicate(name.to_owned()));
        }
        Ok(())
    }

    /// The dataset files of a folder (other files are left out).
    ///
    /// # Errors
    /// A file that cannot be read.
    pub fn from_dir(dir: &Path) -> Result<DatasetBundle, BundleError> {
        let mut bundle = DatasetBundle::default();
        for name in DATASET_FILES {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(data) => bundle.insert(name, data)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(BundleError::Io { path: path.display().to_string(), error: e.to_string() });
                }
            }
        }
        Ok(bundle)
    }

    /// The files of a tar archive, gzipped or not; folders in it are ignored
    /// and a file's folder does not count (`jpus/flows.csv` is `flows.csv`).
    ///
    /// # Errors
    /// An unreadable archive, a file that is not a dataset file, or more than
    /// `limit` bytes of files.
    pub fn from_archive(bytes: &[u8], limit: u64) -> Result<DatasetBundle, BundleError> {
        let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read + '_> =
            if gzipped { Box::new(flate2::read::GzDecoder::new(bytes)) } else { Box::new(bytes) };
        let mut archive = tar::Archive::new(reader);
        let mut bundle = DatasetBundle::default();
        let mut total = 0u64;
        let entries = archive.entries().map_err(|e| BundleError::Archive(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| BundleError::Archive(e.to_string()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(|e| BundleError::Archive(e.to_string()))?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            total = total.saturating_add(entry.size());
            if total > limit {
                return Err(BundleError::TooLarge { limit });
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(|e| BundleError::Archive(e.to_string()))?;
            bundle.insert(&name, data)?;
        }
        Ok(bundle)
    }

    /// The file names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The bytes of all files.
    pub fn size(&self) -> u64 {
        self.files.values().map(|d| d.len() as u64).sum()
    }

    /// The canonical encoding: the magic line, then per file in name order its
    /// name's length (u32, little endian), the name, its length (u64), its bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            MAGIC.len() + self.files.iter().map(|(n, d)| 12 + n.len() + d.len()).sum::<usize>(),
        );
        out.extend_from_slice(MAGIC);
        for (name, data) in &self.files {
            out.extend_from_slice(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// Reads a canonical encoding back.
    ///
    /// # Errors
    /// Bytes that are not one (truncated, wrong magic, unknown names).
    pub fn decode(bytes: &[u8]) -> Result<DatasetBundle, BundleError> {
        let mut rest = bytes.strip_prefix(MAGIC).ok_or(BundleError::Corrupt("wrong header"))?;
        let mut take = |len: usize| -> Result<&[u8], BundleError> {
            if rest.len() < len {
                return Err(BundleError::Corrupt("truncated"));
            }
            let (head, tail) = rest.split_at(len);
            rest = tail;
            Ok(head)
        };
        let mut bundle = DatasetBundle::default();
        while let Ok(len) = take(4) {
            let name_len = u32::from_le_bytes(len.try_into().map_err(|_| BundleError::Corrupt("truncated"))?);
            let name = std::str::from_utf8(take(name_len as usize)?)
                .map_err(|_| BundleError::Corrupt("a file name is not UTF-8"))?
                .to_owned();
            let data_len =
                u64::from_le_bytes(take(8)?.try_into().map_err(|_| BundleError::Corrupt("truncated"))?);
            let data =
                take(usize::try_from(data_len).map_err(|_| BundleError::Corrupt("a file too large"))?)?;
            bundle.insert(&name, data.to_vec())?;
        }
        Ok(bundle)
    }

    /// `sha256:` and the hex SHA-256 of the canonical encoding.
    pub fn digest(&self) -> String {
        digest_of(&self.encode())
    }
}

/// `sha256:` and the hex SHA-256 of `bytes` (a canonical encoding).
pub fn digest_of(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Whether `digest` has the form [`digest_of`] gives.
pub fn valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl FileSource for DatasetBundle {
    fn read(&self, name: &str) -> Result<Option<String>, DatasetError> {
        match self.files.get(name) {
            None => Ok(None),
            Some(data) => String::from_utf8(data.clone()).map(Some).map_err(|e| {
                DatasetError::at(name, 0, format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
            }),
        }
    }

    fn name_of(&self, name: &str) -> String {
        name.to_owned()
    }

    fn open(&self, name: &str) -> Result<Option<Box<dyn Read + Send + '_>>, DatasetError> {
        Ok(self.files.get(name).map(|data| Box::new(data.as_slice()) as Box<dyn Read + Send + '_>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_the_digest_ignores_insertion_order() {
        let mut a = DatasetBundle::default();
        a.insert("flows.csv", b"x,y\n".to_vec()).unwrap();
        a.insert("dataset.toml", b"id = \"a\"\n".to_vec()).unwrap();
        let mut b = DatasetBundle::default();
        b.insert("dataset.toml", b"id = \"a\"\n".to_vec()).unwrap();
        b.insert("flows.csv", b"x,y\n".to_vec()).unwrap();
        assert_eq!(a.digest(), b.digest());
        assert!(valid_digest(&a.digest()));
        assert_eq!(DatasetBundle::decode(&a.encode()).unwrap(), a);
        let encoded = a.encode();
        assert_eq!(
            DatasetBundle::decode(&encoded[..encoded.len() - 1]),
            Err(BundleError::Corrupt("truncated"))
        );
        b.insert("flows.csv", Vec::new()).unwrap_err();
        assert_eq!(a.insert("flow.csv", Vec::new()), Err(BundleError::UnknownFile("flow.csv".into())));
    }
}
