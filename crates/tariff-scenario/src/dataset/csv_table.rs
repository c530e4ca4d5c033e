//! A strict reader for the dataset's CSV files: exact headers, and every error
//! with the file and line it comes from.

use rustc_hash::FxHashMap as HashMap;

use super::{DatasetError, Quality};

/// One CSV file read whole, its columns checked against what the format allows.
pub(crate) struct CsvTable<'a> {
    file: &'a str,
    columns: HashMap<String, usize>,
    rows: Vec<(usize, csv::StringRecord)>,
}

/// One row of a [`CsvTable`], with typed accessors that report file and line.
pub(crate) struct Row<'t> {
    file: &'t str,
    line: usize,
    columns: &'t HashMap<String, usize>,
    record: Record<'t>,
}

/// A row's cells: parsed as text (small files), or as bytes checked to be UTF-8
/// and trimmed per cell when read (the large files, where this is most of the
/// parsing time).
#[derive(Clone, Copy)]
enum Record<'t> {
    Text(&'t csv::StringRecord),
    Bytes(&'t csv::ByteRecord),
}

fn reader_of<R: std::io::Read>(input: R) -> csv::Reader<R> {
    // A large buffer: flows.csv of product-level data runs to hundreds of megabytes.
    csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// Reads the header and checks it against the columns the format requires and allows.
fn read_columns<R: std::io::Read>(
    file: &str,
    reader: &mut csv::Reader<R>,
    required: &[&str],
    optional: &[&str],
) -> Result<HashMap<String, usize>, DatasetError> {
    let headers =
        reader.headers().map_err(|e| DatasetError::at(file, 1, format!("unreadable header: {e}")))?.clone();
    let mut columns = HashMap::default();
    for (i, name) in headers.iter().enumerate() {
        // The streamed files are read untrimmed: trim the header here.
        let name = name.trim();
        if !required.contains(&name) && !optional.contains(&name) {
            return Err(DatasetError::at(
                file,
                1,
                format!("unknown column `{name}` (expected {})", required.join(",")),
            ));
        }
        if columns.insert(name.to_owned(), i).is_some() {
            return Err(DatasetError::at(file, 1, format!("column `{name}` appears twice")));
        }
    }
    if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
        return Err(DatasetError::at(
            file,
            1,
            format!("missing column `{missing}` (expected {})", required.join(",")),
        ));
    }
    Ok(columns)
}

/// Reads a CSV file row by row without keeping it: `each` sees every data row in
/// file order (blank rows skipped), with the same checks and errors as
/// [`CsvTable::parse`]. Memory stays that of one row, whatever the file's size.
pub(crate) fn stream_rows<R: std::io::Read>(
    file: &str,
    input: R,
    required: &[&str],
    optional: &[&str],
    mut each: impl FnMut(&Row<'_>) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).buffer_capacity(1 << 16).from_reader(input);
    let columns = read_columns(file, &mut reader, required, optional)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                return Err(DatasetError::at(file, line, format!("malformed row: {e}")));
            }
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        if let Err(e) = std::str::from_utf8(record.as_slice()) {
            return Err(DatasetError::at(
                file,
                line,
                format!("not UTF-8 text (byte {} of the row)", e.valid_up_to()),
            ));
        }
        if record.iter().all(|cell| cell.trim_ascii().is_empty()) {
            continue;
        }
        each(&Row { file, line, columns: &columns, record: Record::Bytes(&record) })?;
    }
}

impl<'a> CsvTable<'a> {
    /// Parses `text`, requiring every column of `required` and refusing any
    /// column that is neither required nor in `optional`.
    pub(crate) fn parse(
        file: &'a str,
        text: &str,
        required: &[&str],
        optional: &[&str],
    ) -> Result<CsvTable<'a>, DatasetError> {
        let mut reader = reader_of(text.as_bytes());
        let columns = read_columns(file, &mut reader, required, optional)?;
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                DatasetError::at(file, line, format!("malformed row: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.iter().all(str::is_empty) {
                continue;
            }
            rows.push((line, record));
        }
        Ok(CsvTable { file, columns, rows })
    }

    /// The data rows, in file order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|(line, record)| Row {
            file: self.file,
            line: *line,
            columns: &self.columns,
            record: Record::Text(record),
        })
    }
}

impl Row<'_> {
    /// An error at this row.
    pub(crate) fn error(&self, reason: impl Into<String>) -> DatasetError {
        DatasetError::at(self.file, self.line, reason)
    }

    /// The row's 1-based line in its file.
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// The text of a column (empty when the column is optional and absent).
    pub(crate) fn text(&self, column: &str) -> &str {
        let Some(&i) = self.columns.get(column) else { return "" };
        match self.record {
            Record::Text(r) => r.get(i).unwrap_or(""),
            // The whole row was checked to be UTF-8, and trimming ASCII keeps it so.
            Record::Bytes(r) => {
                r.get(i).and_then(|cell| std::str::from_utf8(cell.trim_ascii()).ok()).unwrap_or("")
            }
        }
    }

    /// A non-empty text cell.
    pub(crate) fn required(&self, column: &str) -> Result<&str, DatasetError> {
        match self.text(column) {
            "" => Err(self.error(format!("`{column}` is empty"))),
            text => Ok(text),
        }
    }

    /// A finite number; `None` when the cell is empty.
    pub(crate) fn optional_number(&self, column: &str) -> Result<Option<f64>, DatasetError> {
        let text = self.text(column);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.error(format!("`{column}` = `{text}` is not a finite number"))),
        }
    }

    /// A finite number that must be present.
    pub(crate) fn number(&self, column: &str) -> Result<f64, DatasetError> {
        self.optional_number(column)?.ok_or_else(|| self.error(format!("`{column}` is empty")))
    }

    /// A quality cell: `reported`, `derived` or `estimated`.
    pub(crate) fn quality(&self, column: &str) -> Result<Quality, DatasetError> {
        match self.required(column)? {
            "reported" => Ok(Quality::Reported),
            "derived" => Ok(Quality::Derived),
            "estimated" => Ok(Quality::Estimated),
            other => Err(self.error(format!("quality `{other}` is not reported, derived or estimated"))),
        }
    }
}
