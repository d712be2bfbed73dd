//! Rendering a streamed VOTable in the format the user asked for.
//!
//! Runs in blocking context (inside `spawn_blocking` when the rows come from the network):
//! rows are pulled from the `votable::Reader` one at a time. Machine formats stream
//! straight through `votable::convert`; `table` and `records` buffer at most
//! [`MAX_HUMAN_ROWS`] rows to align columns, and say when they stopped.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use votable::{Reader, Row, Value};

use crate::args::TableFormat;
use crate::output::{self, Style};

/// The most rows `table` and `records` print; machine formats have no limit.
pub const MAX_HUMAN_ROWS: usize = 10_000;

/// Where rendered output goes: standard output, or a file written through a temporary
/// file in the same directory and renamed over the target only by [`Output::commit`], so
/// that a failed or interrupted run never leaves a partial file (nor clobbers a good one).
#[derive(Debug)]
pub enum Output {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// A temporary file, renamed to `path` on commit.
    File {
        /// The temporary file, buffered.
        writer: BufWriter<tempfile::NamedTempFile>,
        /// The target path.
        path: PathBuf,
    },
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File { writer, .. } => writer.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File { writer, .. } => writer.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File { writer, .. } => writer.flush(),
        }
    }
}

impl Output {
    /// Flushes, and for a file renames the complete temporary file over the target.
    /// Dropping an `Output` without committing deletes the temporary file.
    pub fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => Ok(w.flush()?),
            Output::File { writer, path } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                file.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                file.persist(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(())
            }
        }
    }
}

/// Opens the destination: standard output for `None` or `-`, else a temporary file next to
/// `path` (see [`Output`]).
pub fn open_output(path: Option<&Path>) -> anyhow::Result<Output> {
    let Some(path) = path.filter(|p| *p != Path::new("-")) else {
        return Ok(Output::Stdout(BufWriter::new(io::stdout())));
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".eso-output-").suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // An ordinary output file (the umask still applies), not the 0600 of temporary files.
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let file = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(Output::File {
        writer: BufWriter::new(file),
        path: path.to_owned(),
    })
}

/// Formats one cell for people: nulls as `--` (as ESO's notebooks print masked values),
/// arrays space-separated, server text escaped.
pub fn display_value(value: &Value) -> String {
    fn join<T: ToString>(items: &[T]) -> String {
        items.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
    }
    match value {
        Value::Null => "--".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::UnsignedByte(v) => v.to_string(),
        Value::Short(v) => v.to_string(),
        Value::Int(v) => v.to_string(),
        Value::Long(v) => v.to_string(),
        Value::Float(v) => v.to_string(),
        Value::Double(v) => v.to_string(),
        Value::FloatComplex(re, im) => format!("{re}{im:+}i"),
        Value::DoubleComplex(re, im) => format!("{re}{im:+}i"),
        Value::String(s) => output::escape_cell(s),
        Value::BooleanArray(items) => items
            .iter()
            .map(|b| b.map_or("?".to_owned(), |b| b.to_string()))
            .collect::<Vec<_>>()
            .join(" "),
        Value::BitArray(bits) => bits.iter().map(|b| if *b { '1' } else { '0' }).collect(),
        Value::UnsignedByteArray(v) => join(v),
        Value::ShortArray(v) => join(v),
        Value::IntArray(v) => join(v),
        Value::LongArray(v) => join(v),
        Value::FloatArray(v) => join(v),
        Value::DoubleArray(v) => join(v),
        Value::FloatComplexArray(v) => v
            .iter()
            .map(|(re, im)| format!("{re}{im:+}i"))
            .collect::<Vec<_>>()
            .join(" "),
        Value::DoubleComplexArray(v) => v
            .iter()
            .map(|(re, im)| format!("{re}{im:+}i"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Renders every row of the reader's current table in `format` to `out`.
/// Returns the number of rows and whether the human formats stopped early.
/// The caller then finishes the reader, so that a trailing `QUERY_STATUS`
/// (DaCHS's `OVERFLOW` after the data) is seen.
pub fn render_rows<R: BufRead>(
    reader: &mut Reader<R>,
    format: TableFormat,
    style: &Style,
    out: &mut dyn Write,
) -> anyhow::Result<(u64, bool)> {
    let mut truncated = false;
    let rows = match format {
        TableFormat::Csv => votable::convert::to_csv(reader, &mut *out)?,
        TableFormat::Tsv => votable::convert::to_tsv(reader, &mut *out)?,
        TableFormat::Json => votable::convert::to_json(reader, &mut *out)?,
        TableFormat::Votable => {
            votable::convert::to_votable(reader, &mut *out, votable::Serialization::TableData)?
        }
        TableFormat::Binary2 => {
            votable::convert::to_votable(reader, &mut *out, votable::Serialization::Binary2)?
        }
        TableFormat::Table | TableFormat::Records => {
            let header: Vec<String> = reader
                .table()
                .map(|t| {
                    t.fields
                        .iter()
                        .map(|f| output::escape_cell(&f.name))
                        .collect()
                })
                .unwrap_or_default();
            let mut rows = Vec::new();
            let mut row = Row::new();
            let mut n_rows = 0u64;
            while reader.read_row(&mut row)? {
                n_rows += 1;
                if rows.len() < MAX_HUMAN_ROWS {
                    rows.push(row.values().iter().map(display_value).collect::<Vec<_>>());
                } else {
                    truncated = true;
                }
            }
            let text = if format == TableFormat::Table {
                output::render_table(style, &header, &rows)
            } else {
                output::render_records(&header, &rows)
            };
            out.write_all(text.as_bytes())?;
            n_rows
        }
    };
    out.flush()?;
    Ok((rows, truncated))
}
