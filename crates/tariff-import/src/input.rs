//! Reading published files: plain or gzipped, comma- or tab-separated, in one
//! pass with a record buffer reused per row, while the raw bytes are hashed
//! (the SHA-256 that dataset.toml cites) and counted (for progress).

use std::{
    cell::RefCell,
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    rc::Rc,
};

use sha2::{Digest, Sha256};

use crate::error::ImportError;

/// What was read of one input file: its name, size and digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileFacts {
    /// The file name (no folder), as cited in dataset.toml.
    pub name: String,
    /// The path given.
    pub path: String,
    /// Bytes of the file as stored (compressed, if it is).
    pub bytes: u64,
    /// `sha256:` and the hex digest of the file as stored.
    pub sha256: String,
}

struct Tracked {
    file: File,
    hasher: Sha256,
    bytes: u64,
}

/// The raw file, hashed and counted as it is read.
struct TrackedReader(Rc<RefCell<Tracked>>);

impl Read for TrackedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut t = self.0.borrow_mut();
        let n = t.file.read(buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        t.hasher.update(chunk);
        t.bytes += n as u64;
        Ok(n)
    }
}

/// An input file opened for reading.
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    /// How errors name the file.
    pub(crate) shown: String,
    /// Bytes of the file as stored, for progress.
    pub(crate) size: u64,
    tracked: Rc<RefCell<Tracked>>,
}

impl Input {
    pub(crate) fn open(path: &Path) -> Result<Input, ImportError> {
        let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Input {
            path: path.to_path_buf(),
            shown: path.display().to_string(),
            size,
            tracked: Rc::new(RefCell::new(Tracked { file, hasher: Sha256::new(), bytes: 0 })),
        })
    }

    /// Bytes of the stored file read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.tracked.borrow().bytes
    }

    /// A CSV reader over the file's text: gunzipped when it starts with the
    /// gzip magic, the delimiter (tab or comma) taken from the first line.
    pub(crate) fn csv(&self) -> Result<csv::Reader<Box<dyn Read>>, ImportError> {
        let raw = BufReader::with_capacity(1 << 16, TrackedReader(Rc::clone(&self.tracked)));
        let mut raw = raw;
        let gzipped = {
            let head = raw.fill_buf().map_err(|e| ImportError::io(&self.path, e))?;
            head.starts_with(&[0x1f, 0x8b])
        };
        let mut text: BufReader<Box<dyn Read>> = if gzipped {
            BufReader::with_capacity(1 << 16, Box::new(flate2::bufread::MultiGzDecoder::new(raw)))
        } else {
            BufReader::with_capacity(1 << 16, Box::new(raw))
        };
        let delimiter = {
            let head = text.fill_buf().map_err(|e| ImportError::io(&self.path, e))?;
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let tabs = line.iter().filter(|&&b| b == b'\t').count();
            let commas = line.iter().filter(|&&b| b == b',').count();
            if tabs > commas { b'\t' } else { b',' }
        };
        // A UTF-8 byte order mark (spreadsheet exports) is not part of the first column's name.
        {
            let head = text.fill_buf().map_err(|e| ImportError::io(&self.path, e))?;
            if head.starts_with(&[0xef, 0xbb, 0xbf]) {
                text.consume(3);
            }
        }
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .buffer_capacity(1 << 16)
            .from_reader(Box::new(text) as Box<dyn Read>))
    }

    /// Reads what is left of the stored file (a reader may stop before its
    /// end) and returns its facts.
    pub(crate) fn finish(self) -> Result<FileFacts, ImportError> {
        let mut t = self.tracked.borrow_mut();
        let mut rest = [0u8; 1 << 14];
        loop {
            let n = t.file.read(&mut rest).map_err(|e| ImportError::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            let chunk = rest.get(..n).unwrap_or_default();
            t.hasher.update(chunk);
            t.bytes += n as u64;
        }
        let digest = t.hasher.clone().finalize();
        let mut sha256 = String::with_capacity(71);
        sha256.push_str("sha256:");
        for b in digest {
            use std::fmt::Write as _;
            let _ = write!(sha256, "{b:02x}");
        }
        Ok(FileFacts { name: file_name(&self.path), path: self.shown.clone(), bytes: t.bytes, sha256 })
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A header name as matched: lower case, without spaces, `_`, `.` or `-`
/// (`Reporter_ISO_N`, `reporter iso n` and `ReporterISON` are one name).
pub(crate) fn normalise(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, ' ' | '_' | '.' | '-')).flat_map(char::to_lowercase).collect()
}

/// The columns of a file's header by normalised name.
pub(crate) struct Header {
    file: String,
    names: Vec<String>,
    normalised: Vec<String>,
}

impl Header {
    pub(crate) fn read(file: &str, reader: &mut csv::Reader<Box<dyn Read>>) -> Result<Header, ImportError> {
        let record = reader
            .byte_headers()
            .map_err(|e| ImportError::row(file, 1, format!("unreadable header: {e}")))?
            .clone();
        let names: Vec<String> =
            record.iter().map(|n| String::from_utf8_lossy(n).trim().to_owned()).collect();
        let normalised = names.iter().map(|n| normalise(n)).collect();
        Ok(Header { file: file.to_owned(), names, normalised })
    }

    /// The position of the first of `names` (alternative spellings) present.
    pub(crate) fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            let n = normalise(n);
            self.normalised.iter().position(|h| *h == n)
        })
    }

    /// Like [`Header::find`], an error naming the column when it is absent.
    pub(crate) fn require(&self, names: &[&str]) -> Result<usize, ImportError> {
        self.find(names).ok_or_else(|| {
            ImportError::row(
                &self.file,
                1,
                format!(
                    "missing column `{}` (the header has: {})",
                    names.first().copied().unwrap_or_default(),
                    self.names.join(",")
                ),
            )
        })
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The file, as errors name it.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }
}

/// A text cell of a row, as UTF-8, trimmed; empty when the row is too short.
pub(crate) fn cell(record: &csv::ByteRecord, column: usize) -> &str {
    record.get(column).and_then(|b| std::str::from_utf8(b).ok()).map_or("", str::trim)
}

/// The 1-based line a record started on.
pub(crate) fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

/// Reads the next record into `record`; `false` at the end.
pub(crate) fn next_record(
    file: &str,
    reader: &mut csv::Reader<Box<dyn Read>>,
    record: &mut csv::ByteRecord,
) -> Result<bool, ImportError> {
    reader.read_byte_record(record).map_err(|e| {
        let line = e.position().map_or(0, csv::Position::line);
        ImportError::row(file, line, format!("malformed row: {e}"))
    })
}

/// A finite number of a cell, or an error naming the file, line and column.
pub(crate) fn number(
    file: &str,
    record: &csv::ByteRecord,
    column: usize,
    name: &str,
) -> Result<f64, ImportError> {
    let text = cell(record, column);
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => {
            Err(ImportError::row(file, line_of(record), format!("column `{name}`: `{text}` is not a number")))
        }
    }
}

/// A product code as the concordance matches it: digits only, an odd count
/// taken as a lost leading zero (`10121` is HS `010121`); `None` when it is
/// not a code of digits.
pub(crate) fn hs_code(text: &str) -> Option<String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() % 2 == 1 { Some(format!("0{text}")) } else { Some(text.to_owned()) }
}

/// An HS code as a number key without allocating: its digit count (a lost
/// leading zero restored, as [`hs_code`]) and value; `None` unless digits.
pub(crate) fn hs_key(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len = (text.len() + text.len() % 2) as u64;
    let value: u64 = text.parse().ok()?;
    Some(len << 40 | value)
}

/// A country code as matched: numeric codes without leading zeros (`004` is
/// `4`), letters upper case.
pub(crate) fn country_code(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = text.trim_start_matches('0');
        if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() }
    } else {
        text.to_ascii_uppercase()
    }
}
