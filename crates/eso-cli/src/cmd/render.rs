//! Rendering a streamed VOTable in the format the user asked for.
//!
//! Runs in blocking context (inside `spawn_blocking` when the rows come from the network):
//! rows are pulled from the `votable::Reader` one at a time. Machine formats stream
//! straight through `votable::convert`; `table` and `records` buffer at most
//! [`MAX_HUMAN_ROWS`] rows to align columns, and say when they stopped.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use votable::{Reader, Row, Value};

use crate::args::TableFormat;
use crate::output::{self, Style};

/// The most rows `table` and `records` print; machine formats have no limit.
pub const MAX_HUMAN_ROWS: usize = 10_000;

/// Opens the destination: a file (written through a temporary file and renamed at the
/// end by the caller's `finish`) or standard output.
pub fn open_output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(path) if path != Path::new("-") => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        _ => Box::new(BufWriter::new(io::stdout())),
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
