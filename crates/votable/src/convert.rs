//! Streaming conversions from a [`Reader`] to CSV, TSV, JSON or another VOTable
//! serialization, and a summary for `eso votable info`. Rows go straight from the
//! reader to the output: memory does not grow with the number of rows.
//!
//! CSV, TSV and JSON hold one table: the reader's current table (the first one
//! with rows when the reader is fresh).
//!
//! - **CSV** (RFC 4180): a header line with the field names, CRLF line ends, fields
//!   quoted when they contain `,`, `"`, CR or LF (quotes doubled). Null cells are empty.
//!   Arrays are their TABLEDATA text (elements separated by spaces).
//! - **TSV**: the same with tabs and LF line ends; tab, LF, CR and backslash inside
//!   values are written `\t`, `\n`, `\r`, `\\`.
//! - **JSON**: one object, written as the rows stream:
//!   ```json
//!   {"fields":[{"name":"ra","datatype":"double","arraysize":null,"unit":"deg","ucd":"pos.eq.ra","xtype":null}],
//!    "rows":[[150.1],[null]],
//!    "query_status":{"status":"OVERFLOW","message":null}}
//!   ```
//!   Cells: numbers as JSON numbers (NaN and infinities as `null`), booleans, strings,
//!   arrays as JSON arrays (a complex number is `[re, im]`, an unknown boolean `null`),
//!   null as `null`. `query_status` is `null` when the document has none; it is
//!   read after the rows, so the rest of the document is read first.
//! - **VOTable**: [`to_votable`] copies every table and all metadata into
//!   TABLEDATA, BINARY or BINARY2 (see [`crate::write`]).

use std::fmt;
use std::io::{BufRead, Write};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::{Field, QueryStatus, Serialization};
use crate::reader::{Reader, Row};
use crate::value::Value;
use crate::write::{Writer, plain_value};

/// An output format of [`convert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// The JSON shape documented in this module.
    Json,
    /// A VOTable in this serialization.
    VoTable(Serialization),
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "json" => Format::Json,
            "tabledata" | "td" | "votable" => Format::VoTable(Serialization::TableData),
            "binary" | "b" => Format::VoTable(Serialization::Binary),
            "binary2" | "b2" => Format::VoTable(Serialization::Binary2),
            other => {
                return Err(Error::write(
                    "conversion",
                    format!(
                        "unknown format {other:?} (expected csv, tsv, json, tabledata, binary or binary2)"
                    ),
                ));
            }
        })
    }
}

/// Converts to `format`, returning the number of rows written.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn convert<R: BufRead, W: Write>(reader: Reader<R>, out: W, format: Format) -> Result<u64> {
    let mut reader = reader;
    match format {
        Format::Csv => to_csv(&mut reader, out),
        Format::Tsv => to_tsv(&mut reader, out),
        Format::Json => to_json(&mut reader, out),
        Format::VoTable(s) => to_votable(&mut reader, out, s),
    }
}

fn csv_field(out: &mut String, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push('"');
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn tsv_field(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\t' | b'\n' | b'\r' | b'\\'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

fn delimited<R: BufRead, W: Write>(
    reader: &mut Reader<R>,
    mut out: W,
    sep: char,
    eol: &str,
    field: fn(&mut String, &str),
) -> Result<u64> {
    let fields: Vec<Field> = reader.table().map(|t| t.fields.clone()).unwrap_or_default();
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(sep);
        }
        field(&mut line, &f.name);
    }
    line.push_str(eol);
    out.write_all(line.as_bytes())?;
    let mut row = Row::new();
    let mut cell = String::new();
    let mut n = 0;
    while reader.read_row(&mut row)? {
        line.clear();
        for (i, v) in row.values().iter().enumerate() {
            if i > 0 {
                line.push(sep);
            }
            cell.clear();
            plain_value(&mut cell, v);
            field(&mut line, &cell);
        }
        line.push_str(eol);
        out.write_all(line.as_bytes())?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// Writes the current table as RFC 4180 CSV with a header line.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn to_csv<R: BufRead, W: Write>(reader: &mut Reader<R>, out: W) -> Result<u64> {
    delimited(reader, out, ',', "\r\n", csv_field)
}

/// Writes the current table as tab-separated values with a header line.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn to_tsv<R: BufRead, W: Write>(reader: &mut Reader<R>, out: W) -> Result<u64> {
    delimited(reader, out, '\t', "\n", tsv_field)
}

fn json_str(out: &mut String, s: &str) {
    // serde_json's escaping of a str cannot fail.
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

fn json_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.push_str("null"),
    }
}

fn json_f64(out: &mut String, x: f64) {
    if x.is_finite() {
        let mut s = String::new();
        plain_value(&mut s, &Value::Double(x));
        out.push_str(&s);
    } else {
        out.push_str("null");
    }
}

fn json_f32(out: &mut String, x: f32) {
    if x.is_finite() {
        let mut s = String::new();
        plain_value(&mut s, &Value::Float(x));
        out.push_str(&s);
    } else {
        out.push_str("null");
    }
}

fn json_list<T>(out: &mut String, items: &[T], mut f: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, x);
    }
    out.push(']');
}

/// Appends the JSON form of a value.
pub fn json_value(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::UnsignedByte(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Short(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Int(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Long(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Float(x) => json_f32(out, *x),
        Value::Double(x) => json_f64(out, *x),
        Value::FloatComplex(a, b) => json_list(out, &[*a, *b], |o, x| json_f32(o, *x)),
        Value::DoubleComplex(a, b) => json_list(out, &[*a, *b], |o, x| json_f64(o, *x)),
        Value::String(s) => json_str(out, s),
        Value::BooleanArray(a) => json_list(out, a, |o, x| {
            o.push_str(match x {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            });
        }),
        Value::BitArray(a) => json_list(out, a, |o, x| o.push(if *x { '1' } else { '0' })),
        Value::UnsignedByteArray(a) => json_list(out, a, |o, x| {
            let _ = write!(o, "{x}");
        }),
        Value::ShortArray(a) => json_list(out, a, |o, x| {
            let _ = write!(o, "{x}");
        }),
        Value::IntArray(a) => json_list(out, a, |o, x| {
            let _ = write!(o, "{x}");
        }),
        Value::LongArray(a) => json_list(out, a, |o, x| {
            let _ = write!(o, "{x}");
        }),
        Value::FloatArray(a) => json_list(out, a, |o, x| json_f32(o, *x)),
        Value::DoubleArray(a) => json_list(out, a, |o, x| json_f64(o, *x)),
        Value::FloatComplexArray(a) => json_list(out, a, |o, (x, y)| {
            json_list(o, &[*x, *y], |o, v| json_f32(o, *v));
        }),
        Value::DoubleComplexArray(a) => json_list(out, a, |o, (x, y)| {
            json_list(o, &[*x, *y], |o, v| json_f64(o, *v));
        }),
    }
}

/// Writes the current table as JSON (shape in the module docs), then reads the rest
/// of the document for the query status.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn to_json<R: BufRead, W: Write>(reader: &mut Reader<R>, mut out: W) -> Result<u64> {
    let fields: Vec<Field> = reader.table().map(|t| t.fields.clone()).unwrap_or_default();
    let mut s = String::from("{\"fields\":[");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"name\":");
        json_str(&mut s, &f.name);
        s.push_str(",\"datatype\":");
        json_str(&mut s, f.datatype.as_str());
        s.push_str(",\"arraysize\":");
        json_opt(
            &mut s,
            f.arraysize.as_ref().map(ToString::to_string).as_deref(),
        );
        s.push_str(",\"unit\":");
        json_opt(&mut s, f.unit.as_deref());
        s.push_str(",\"ucd\":");
        json_opt(&mut s, f.ucd.as_deref());
        s.push_str(",\"xtype\":");
        json_opt(&mut s, f.xtype.as_deref());
        s.push('}');
    }
    s.push_str("],\n\"rows\":[");
    out.write_all(s.as_bytes())?;
    let mut row = Row::new();
    let mut n = 0u64;
    while reader.read_row(&mut row)? {
        s.clear();
        if n > 0 {
            s.push_str(",\n");
        }
        json_list(&mut s, row.values(), json_value);
        out.write_all(s.as_bytes())?;
        n += 1;
    }
    while reader.next_table()? {}
    s.clear();
    s.push_str("],\n\"query_status\":");
    match reader.document().query_status() {
        None => s.push_str("null"),
        Some(q) => {
            let (status, message) = match &q {
                QueryStatus::Ok => ("OK", None),
                QueryStatus::Overflow => ("OVERFLOW", None),
                QueryStatus::Error(m) => ("ERROR", Some(m.as_str())),
                QueryStatus::Other(v) => (v.as_str(), None),
            };
            s.push_str("{\"status\":");
            json_str(&mut s, status);
            s.push_str(",\"message\":");
            json_opt(&mut s, message);
            s.push('}');
        }
    }
    s.push_str("}\n");
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(n)
}

/// Copies the whole document (every table, all metadata, from the reader's current
/// table on) into `serialization`, returning the total number of rows written. The
/// reader is left at the end of the document.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn to_votable<R: BufRead, W: Write>(
    reader: &mut Reader<R>,
    out: W,
    serialization: Serialization,
) -> Result<u64> {
    let mut w = Writer::new(out, reader.document(), serialization)?;
    let mut row = Row::new();
    let mut n = 0;
    loop {
        let has_rows = reader.table().is_some_and(|t| !t.fields.is_empty());
        while reader.read_row(&mut row)? {
            if has_rows {
                w.write_row(row.values())?;
                n += 1;
            }
        }
        if !reader.next_table()? {
            break;
        }
        w.update_document(reader.document());
        w.next_table()?;
    }
    // `next_table` returned false: the reader has seen the end of the document, so its
    // metadata now includes the INFOs that follow the last table.
    w.update_document(reader.document());
    w.finish()?;
    Ok(n)
}

/// One table in a [`Summary`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    /// The `name` attribute.
    pub name: Option<String>,
    /// The fields.
    pub fields: Vec<Field>,
    /// Rows counted.
    pub rows: u64,
    /// The serialization of its data.
    pub serialization: Option<Serialization>,
}

/// What `eso votable info` shows: version, resources, tables, rows, query status.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The document (complete metadata).
    pub document: crate::model::Document,
    /// Each table with its row count.
    pub tables: Vec<TableSummary>,
    /// The query status.
    pub query_status: Option<QueryStatus>,
}

/// Reads a whole document, counting rows, without keeping them.
///
/// # Errors
/// Malformed input or an I/O error.
pub fn summarize<R: BufRead>(mut reader: Reader<R>) -> Result<Summary> {
    let mut tables = Vec::new();
    let mut row = Row::new();
    loop {
        if let Some(t) = reader.table() {
            let mut s = TableSummary {
                name: t.name.clone(),
                fields: t.fields.clone(),
                rows: 0,
                serialization: t.serialization,
            };
            while reader.read_row(&mut row)? {
                s.rows += 1;
            }
            tables.push(s);
        }
        if !reader.next_table()? {
            break;
        }
    }
    let document = reader.finish()?;
    let query_status = document.query_status();
    Ok(Summary {
        document,
        tables,
        query_status,
    })
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "VOTable {}",
            self.document.version.as_deref().unwrap_or("(no version)")
        )?;
        for r in self.document.all_resources() {
            write!(f, "RESOURCE type={}", r.resource_type.as_str())?;
            if let Some(n) = &r.name {
                write!(f, " name={n}")?;
            }
            if let Some(u) = &r.utype {
                write!(f, " utype={u}")?;
            }
            writeln!(f, " ({} tables, {} params)", r.tables.len(), r.params.len())?;
        }
        for (i, t) in self.tables.iter().enumerate() {
            writeln!(
                f,
                "TABLE {} {}: {} rows, {} fields, {}",
                i + 1,
                t.name.as_deref().unwrap_or("(unnamed)"),
                t.rows,
                t.fields.len(),
                t.serialization.map_or("no data", Serialization::as_str)
            )?;
            for fl in &t.fields {
                write!(f, "  {} {}", fl.name, fl.datatype)?;
                if let Some(a) = &fl.arraysize {
                    write!(f, "[{a}]")?;
                }
                if let Some(u) = &fl.unit {
                    write!(f, " unit={u}")?;
                }
                if let Some(u) = &fl.ucd {
                    write!(f, " ucd={u}")?;
                }
                writeln!(f)?;
            }
        }
        match &self.query_status {
            None => writeln!(f, "QUERY_STATUS (none)"),
            Some(QueryStatus::Ok) => writeln!(f, "QUERY_STATUS OK"),
            Some(QueryStatus::Overflow) => writeln!(f, "QUERY_STATUS OVERFLOW"),
            Some(QueryStatus::Error(m)) => writeln!(f, "QUERY_STATUS ERROR: {m}"),
            Some(QueryStatus::Other(v)) => writeln!(f, "QUERY_STATUS {v}"),
        }
    }
}
