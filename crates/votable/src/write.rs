//! Writing VOTable 1.4 documents in TABLEDATA, BINARY or BINARY2.
//!
//! [`Writer`] streams: it writes the metadata up to the first table's `DATA`, then
//! takes rows with [`Writer::write_row`]; [`Writer::next_table`] moves to the next
//! table and [`Writer::finish`] writes what follows the data (for instance an
//! `INFO name="QUERY_STATUS" value="OVERFLOW"` learnt only after the rows). Give it a
//! newer [`Document`] with [`Writer::update_document`] before either call when the
//! metadata grew meanwhile (as it does when copying from a [`crate::Reader`]).
//!
//! [`write_votable`] writes an in-memory [`VoTable`]; [`write_table`] one [`Table`].
//!
//! Nulls are written as the standard defines them: an empty `TD`; in BINARY2 the null
//! flag; in BINARY NaN for floats, `?` for booleans, an empty variable array, and for
//! integers the field's `VALUES/@null` (a sentinel, the type's minimum or 255 for
//! `unsignedByte`, is added to the written `FIELD` when it has none).
//!
//! ```
//! use votable::{Datatype, Field, Serialization, TableMeta, Value, write::Writer};
//! let meta = TableMeta {
//!     fields: vec![Field::new("id", Datatype::Int), Field::new("name", Datatype::Char)
//!         .with_arraysize("*".parse().unwrap())],
//!     ..TableMeta::default()
//! };
//! let mut w = Writer::for_table(Vec::new(), &meta, Serialization::Binary2)?;
//! w.write_row(&[Value::Int(1), Value::String("a".into())])?;
//! w.write_row(&[Value::Null, Value::Null])?;
//! let bytes = w.finish()?;
//! let back = votable::parse(&bytes)?;
//! assert_eq!(back.first_table().unwrap().nrows(), 2);
//! # Ok::<(), votable::Error>(())
//! ```

use std::fmt::Write as _;
use std::io::Write;

use base64::Engine as _;

use crate::datatype::Datatype;
use crate::error::{Error, Result};
use crate::model::{
    CooSys, Document, Field, Group, Info, Link, Param, Resource, ResourceType, Serialization,
    TableMeta, TimeSys, Values,
};
use crate::spec::{FieldSpec, Shape};
use crate::table::{Table, VoTable, value_fits};
use crate::value::Value;

const B64_LINE: usize = 57; // bytes per 76-character base64 line

/// A streaming VOTable writer.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    ser: Serialization,
    doc: Document,
    /// Index of the table whose DATA is open (rows go there).
    current: Option<usize>,
    /// Number of segments emitted (segment k ends at table k's DATA).
    emitted: usize,
    /// Whether the whole document has been written.
    complete: bool,
    opened: Vec<bool>,
    infos_before: Vec<usize>,
    specs: Vec<FieldSpec>,
    fields: Vec<Field>,
    rowbuf: Vec<u8>,
    pending: Vec<u8>,
    text: String,
    rows: u64,
}

impl<W: Write> Writer<W> {
    /// Starts a document with the structure of `doc`; writes everything up to the
    /// first table's rows.
    ///
    /// # Errors
    /// FITS serialization, an unusable field, or an I/O error.
    pub fn new(out: W, doc: &Document, serialization: Serialization) -> Result<Self> {
        if serialization == Serialization::Fits {
            return Err(Error::write(
                "document",
                "FITS serialization is not supported",
            ));
        }
        let mut w = Writer {
            out,
            ser: serialization,
            doc: doc.clone(),
            current: None,
            emitted: 0,
            complete: false,
            opened: Vec::new(),
            infos_before: Vec::new(),
            specs: Vec::new(),
            fields: Vec::new(),
            rowbuf: Vec::new(),
            pending: Vec::new(),
            text: String::new(),
            rows: 0,
        };
        w.emit_next()?;
        Ok(w)
    }

    /// A document with one `RESOURCE type="results"` holding one table.
    ///
    /// # Errors
    /// As [`Writer::new`].
    pub fn for_table(out: W, meta: &TableMeta, serialization: Serialization) -> Result<Self> {
        let doc = Document {
            version: Some("1.4".into()),
            resources: vec![Resource {
                resource_type: ResourceType::Results,
                tables: vec![meta.clone()],
                ..Resource::default()
            }],
            ..Document::default()
        };
        Self::new(out, &doc, serialization)
    }

    /// Replaces the metadata with a newer version of the same document (elements
    /// may only have been added after what was already written).
    pub fn update_document(&mut self, doc: &Document) {
        self.doc = doc.clone();
    }

    /// The number of rows written to the current table.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// The fields of the current table.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Writes one row of the current table.
    ///
    /// # Errors
    /// No open table, a wrong number of cells, a value that does not fit its field,
    /// or an I/O error.
    pub fn write_row(&mut self, values: &[Value]) -> Result<()> {
        let Some(k) = self.current else {
            return Err(Error::write("row", "no table is open for rows"));
        };
        if !self.opened.get(k).copied().unwrap_or(false) {
            return Err(Error::write("row", "the current table has no fields"));
        }
        if values.len() != self.fields.len() {
            return Err(Error::write(
                format!("row {}", self.rows + 1),
                format!("{} cells for {} fields", values.len(), self.fields.len()),
            ));
        }
        match self.ser {
            Serialization::TableData => {
                self.text.clear();
                self.text.push_str("<TR>");
                for (i, v) in values.iter().enumerate() {
                    self.td(i, v)?;
                }
                self.text.push_str("</TR>\n");
                self.out.write_all(self.text.as_bytes())?;
            }
            Serialization::Binary | Serialization::Binary2 => {
                self.rowbuf.clear();
                let binary2 = self.ser == Serialization::Binary2;
                if binary2 {
                    let n = self.fields.len().div_ceil(8);
                    self.rowbuf.resize(n, 0);
                    for (i, v) in values.iter().enumerate() {
                        if v.is_null() {
                            self.rowbuf[i / 8] |= 0x80 >> (i % 8);
                        }
                    }
                }
                for (i, v) in values.iter().enumerate() {
                    self.bin_cell(i, v, binary2)?;
                }
                self.pending.extend_from_slice(&self.rowbuf);
                self.flush_b64(false)?;
            }
            Serialization::Fits => {}
        }
        self.rows += 1;
        Ok(())
    }

    /// Closes the current table's data and writes the metadata up to the next
    /// table's rows; `false` when the document has no further table (then the rest
    /// of the document is written by [`Writer::finish`]).
    ///
    /// # Errors
    /// An I/O error.
    pub fn next_table(&mut self) -> Result<bool> {
        if self.complete || count_tables(&self.doc) <= self.emitted {
            return Ok(false);
        }
        self.emit_next()?;
        Ok(self.current.is_some() && !self.complete)
    }

    /// Writes the rest of the document and returns the output.
    ///
    /// # Errors
    /// An I/O error.
    pub fn finish(mut self) -> Result<W> {
        while !self.complete {
            self.emit_next()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn flush_b64(&mut self, all: bool) -> Result<()> {
        let whole = self.pending.len() / B64_LINE * B64_LINE;
        let take = if all { self.pending.len() } else { whole };
        if take == 0 {
            return Ok(());
        }
        self.text.clear();
        for chunk in self.pending[..take].chunks(B64_LINE) {
            base64::engine::general_purpose::STANDARD.encode_string(chunk, &mut self.text);
            self.text.push('\n');
        }
        self.out.write_all(self.text.as_bytes())?;
        self.pending.drain(..take);
        Ok(())
    }

    /// Emits the next segment of the document: from where the last one stopped to
    /// the next table's DATA (or the end).
    fn emit_next(&mut self) -> Result<()> {
        // Close the open table's data first.
        if let Some(k) = self.current {
            if self.opened.get(k).copied().unwrap_or(false) {
                match self.ser {
                    Serialization::TableData => self.out.write_all(b"</TABLEDATA></DATA>\n")?,
                    _ => {
                        self.flush_b64(true)?;
                        let tag = self.ser.as_str();
                        writeln!(self.out, "</STREAM></{tag}></DATA>")?;
                    }
                }
            }
        }
        let target = self.emitted;
        let doc = std::mem::take(&mut self.doc);
        let mut e = Emitter {
            s: String::new(),
            seg: 0,
            target,
            ser: self.ser,
            opened: &mut self.opened,
            infos_before: &mut self.infos_before,
            reached: None,
        };
        e.document(&doc);
        let reached = e.reached.take();
        let text = std::mem::take(&mut e.s);
        self.doc = doc;
        self.out.write_all(text.as_bytes())?;
        self.emitted += 1;
        self.rows = 0;
        match reached {
            Some((k, fields)) => {
                self.current = Some(k);
                let fields = if self.ser == Serialization::Binary {
                    fields.into_iter().map(with_binary_null).collect()
                } else {
                    fields
                };
                let limits = crate::Limits::default();
                self.specs = fields
                    .iter()
                    .map(|f| {
                        FieldSpec::new(f, &limits)
                            .map_err(|k| Error::write(format!("field {:?}", f.name), k.to_string()))
                    })
                    .collect::<Result<_>>()?;
                self.fields = fields;
            }
            None => {
                self.current = None;
                self.complete = true;
            }
        }
        Ok(())
    }

    fn td(&mut self, i: usize, v: &Value) -> Result<()> {
        let f = &self.fields[i];
        let spec = &self.specs[i];
        check_value(f, spec, v, self.rows)?;
        if v.is_null() {
            self.text.push_str("<TD/>");
            return Ok(());
        }
        self.text.push_str("<TD>");
        text_value(&mut self.text, v);
        self.text.push_str("</TD>");
        Ok(())
    }

    fn bin_cell(&mut self, i: usize, v: &Value, binary2: bool) -> Result<()> {
        let f = &self.fields[i];
        let spec = &self.specs[i];
        check_value(f, spec, v, self.rows)?;
        let out = &mut self.rowbuf;
        let null_int = spec.null_int;
        match spec.shape {
            Shape::Scalar => scalar_bytes(out, f.datatype, v, binary2, null_int),
            Shape::Fixed(n) => {
                if f.datatype.is_character() {
                    let s = v.as_str().unwrap_or("");
                    char_bytes(out, f.datatype, s, Some(n));
                } else {
                    let count = elem_count(v);
                    if !v.is_null() && count != n {
                        return Err(Error::write(
                            format!("row {}, field {:?}", self.rows + 1, f.name),
                            format!("{count} elements for a fixed array of {n}"),
                        ));
                    }
                    if v.is_null() {
                        null_array(out, f.datatype, n, binary2, null_int);
                    } else {
                        array_bytes(out, v);
                    }
                }
            }
            Shape::Var(_) => {
                let len_at = out.len();
                out.extend_from_slice(&[0; 4]);
                let count = if f.datatype.is_character() {
                    let s = v.as_str().unwrap_or("");
                    char_bytes(out, f.datatype, s, None)
                } else if v.is_null() {
                    0
                } else {
                    array_bytes(out, v);
                    elem_count(v)
                };
                let c = u32::try_from(count).map_err(|_| {
                    Error::write(
                        format!("field {:?}", f.name),
                        "array longer than 2^32 elements",
                    )
                })?;
                out[len_at..len_at + 4].copy_from_slice(&c.to_be_bytes());
            }
        }
        Ok(())
    }
}

fn count_tables(doc: &Document) -> usize {
    doc.all_resources().map(|r| r.tables.len()).sum()
}

/// Adds a `VALUES/@null` sentinel to integer fields that have none (BINARY only).
fn with_binary_null(mut f: Field) -> Field {
    let sentinel = match f.datatype {
        Datatype::UnsignedByte => "255",
        Datatype::Short => "-32768",
        Datatype::Int => "-2147483648",
        Datatype::Long => "-9223372036854775808",
        _ => return f,
    };
    if f.null_value().is_none() {
        let v = f.values.get_or_insert_with(Values::default);
        v.null = Some(sentinel.to_owned());
    }
    f
}

fn check_value(f: &Field, spec: &FieldSpec, v: &Value, row: u64) -> Result<()> {
    if !value_fits(f.datatype, spec.shape == Shape::Scalar, v) {
        return Err(Error::write(
            format!("row {}, field {:?}", row + 1, f.name),
            format!("value {v:?} does not fit datatype {}", spec.label()),
        ));
    }
    if let Shape::Var(Some(max)) = spec.shape {
        let n = match v {
            Value::String(s) if f.datatype == Datatype::UnicodeChar => s.encode_utf16().count(),
            Value::String(s) => s.len(),
            other => elem_count(other),
        };
        if n > max {
            return Err(Error::write(
                format!("row {}, field {:?}", row + 1, f.name),
                format!("{n} elements exceed the bound {max}"),
            ));
        }
    }
    Ok(())
}

fn elem_count(v: &Value) -> usize {
    match v {
        Value::BooleanArray(a) => a.len(),
        Value::BitArray(a) => a.len(),
        Value::UnsignedByteArray(a) => a.len(),
        Value::ShortArray(a) => a.len(),
        Value::IntArray(a) => a.len(),
        Value::LongArray(a) => a.len(),
        Value::FloatArray(a) => a.len(),
        Value::DoubleArray(a) => a.len(),
        Value::FloatComplexArray(a) => a.len(),
        Value::DoubleComplexArray(a) => a.len(),
        Value::Null => 0,
        _ => 1,
    }
}

fn scalar_bytes(out: &mut Vec<u8>, dt: Datatype, v: &Value, binary2: bool, null_int: Option<i64>) {
    match v {
        Value::Null => null_array(out, dt, 1, binary2, null_int),
        Value::Boolean(b) => out.push(if *b { b'T' } else { b'F' }),
        Value::UnsignedByte(x) => out.push(*x),
        Value::Short(x) => out.extend_from_slice(&x.to_be_bytes()),
        Value::Int(x) => out.extend_from_slice(&x.to_be_bytes()),
        Value::Long(x) => out.extend_from_slice(&x.to_be_bytes()),
        Value::Float(x) => out.extend_from_slice(&x.to_be_bytes()),
        Value::Double(x) => out.extend_from_slice(&x.to_be_bytes()),
        Value::FloatComplex(a, b) => {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
        Value::DoubleComplex(a, b) => {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
        other => array_bytes(out, other),
    }
}

/// `n` null elements: zeros in BINARY2 (the flag says null), else NaN, `?` or the sentinel.
fn null_array(out: &mut Vec<u8>, dt: Datatype, n: usize, binary2: bool, null_int: Option<i64>) {
    for _ in 0..n {
        match dt {
            Datatype::Boolean => out.push(if binary2 { 0 } else { b'?' }),
            Datatype::Bit => {}
            Datatype::UnsignedByte | Datatype::Char => {
                out.push(null_int.filter(|_| !binary2).map_or(0, |v| v as u8));
            }
            Datatype::Short => out.extend_from_slice(
                &(null_int.filter(|_| !binary2).unwrap_or(0) as i16).to_be_bytes(),
            ),
            Datatype::Int => out.extend_from_slice(
                &(null_int.filter(|_| !binary2).unwrap_or(0) as i32).to_be_bytes(),
            ),
            Datatype::Long => {
                out.extend_from_slice(&null_int.filter(|_| !binary2).unwrap_or(0).to_be_bytes());
            }
            Datatype::UnicodeChar => out.extend_from_slice(&[0, 0]),
            Datatype::Float => out.extend_from_slice(&f32::NAN.to_be_bytes()),
            Datatype::Double => out.extend_from_slice(&f64::NAN.to_be_bytes()),
            Datatype::FloatComplex => {
                out.extend_from_slice(&f32::NAN.to_be_bytes());
                out.extend_from_slice(&f32::NAN.to_be_bytes());
            }
            Datatype::DoubleComplex => {
                out.extend_from_slice(&f64::NAN.to_be_bytes());
                out.extend_from_slice(&f64::NAN.to_be_bytes());
            }
        }
    }
    if dt == Datatype::Bit {
        out.extend(std::iter::repeat_n(0, n.div_ceil(8)));
    }
}

fn array_bytes(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::BooleanArray(a) => out.extend(a.iter().map(|b| match b {
            Some(true) => b'T',
            Some(false) => b'F',
            None => b'?',
        })),
        Value::BitArray(a) => {
            for chunk in a.chunks(8) {
                let mut byte = 0u8;
                for (j, &b) in chunk.iter().enumerate() {
                    if b {
                        byte |= 0x80 >> j;
                    }
                }
                out.push(byte);
            }
        }
        Value::UnsignedByteArray(a) => out.extend_from_slice(a),
        Value::ShortArray(a) => a
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        Value::IntArray(a) => a
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        Value::LongArray(a) => a
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        Value::FloatArray(a) => a
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        Value::DoubleArray(a) => a
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        Value::FloatComplexArray(a) => a.iter().for_each(|(x, y)| {
            out.extend_from_slice(&x.to_be_bytes());
            out.extend_from_slice(&y.to_be_bytes());
        }),
        Value::DoubleComplexArray(a) => a.iter().for_each(|(x, y)| {
            out.extend_from_slice(&x.to_be_bytes());
            out.extend_from_slice(&y.to_be_bytes());
        }),
        _ => {}
    }
}

/// Writes a string cell; `fixed`: pad (NUL) or cut (at a character boundary) to
/// that many elements. Returns the element count written.
fn char_bytes(out: &mut Vec<u8>, dt: Datatype, s: &str, fixed: Option<usize>) -> usize {
    // Readers cut fixed strings at the first NUL and drop trailing spaces: write
    // them that way so that what is read back is what was written.
    let s = if fixed.is_some() {
        s.split('\0').next().unwrap_or("").trim_end_matches(' ')
    } else if dt == Datatype::UnicodeChar {
        s.split('\0').next().unwrap_or("")
    } else {
        s.trim_end_matches('\0')
    };
    if dt == Datatype::UnicodeChar {
        let mut n = 0;
        for u in s.encode_utf16() {
            if fixed.is_some_and(|f| n >= f) {
                break;
            }
            out.extend_from_slice(&u.to_be_bytes());
            n += 1;
        }
        if let Some(f) = fixed {
            while n < f {
                out.extend_from_slice(&[0, 0]);
                n += 1;
            }
        }
        n
    } else {
        let mut bytes = s.as_bytes();
        if let Some(f) = fixed {
            if bytes.len() > f {
                let mut cut = f;
                while cut > 0 && !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                bytes = &bytes[..cut];
            }
            out.extend_from_slice(bytes);
            out.extend(std::iter::repeat_n(0, f - bytes.len()));
            f
        } else {
            out.extend_from_slice(bytes);
            bytes.len()
        }
    }
}

/// Formats a float so that it reads back to the same bits, in a form votlint accepts.
fn push_f64(s: &mut String, x: f64) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "+Inf" } else { "-Inf" });
    } else if x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-5) {
        let _ = write!(s, "{x:e}");
    } else {
        let _ = write!(s, "{x}");
    }
}

fn push_f32(s: &mut String, x: f32) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "+Inf" } else { "-Inf" });
    } else if x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-5) {
        let _ = write!(s, "{x:e}");
    } else {
        let _ = write!(s, "{x}");
    }
}

fn join<T>(s: &mut String, items: &[T], mut f: impl FnMut(&mut String, &T)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        f(s, x);
    }
}

/// The TABLEDATA text of a non-null value (XML-escaped).
pub(crate) fn text_value(s: &mut String, v: &Value) {
    let b = |s: &mut String, x: &Option<bool>| {
        s.push(match x {
            Some(true) => 'T',
            Some(false) => 'F',
            None => '?',
        });
    };
    match v {
        Value::Null => {}
        Value::Boolean(x) => s.push(if *x { 'T' } else { 'F' }),
        Value::UnsignedByte(x) => {
            let _ = write!(s, "{x}");
        }
        Value::Short(x) => {
            let _ = write!(s, "{x}");
        }
        Value::Int(x) => {
            let _ = write!(s, "{x}");
        }
        Value::Long(x) => {
            let _ = write!(s, "{x}");
        }
        Value::Float(x) => push_f32(s, *x),
        Value::Double(x) => push_f64(s, *x),
        Value::FloatComplex(a, c) => {
            push_f32(s, *a);
            s.push(' ');
            push_f32(s, *c);
        }
        Value::DoubleComplex(a, c) => {
            push_f64(s, *a);
            s.push(' ');
            push_f64(s, *c);
        }
        Value::String(t) => escape_text(s, t),
        Value::BooleanArray(a) => join(s, a, b),
        Value::BitArray(a) => join(s, a, |s, x| s.push(if *x { '1' } else { '0' })),
        Value::UnsignedByteArray(a) => join(s, a, |s, x| {
            let _ = write!(s, "{x}");
        }),
        Value::ShortArray(a) => join(s, a, |s, x| {
            let _ = write!(s, "{x}");
        }),
        Value::IntArray(a) => join(s, a, |s, x| {
            let _ = write!(s, "{x}");
        }),
        Value::LongArray(a) => join(s, a, |s, x| {
            let _ = write!(s, "{x}");
        }),
        Value::FloatArray(a) => join(s, a, |s, x| push_f32(s, *x)),
        Value::DoubleArray(a) => join(s, a, |s, x| push_f64(s, *x)),
        Value::FloatComplexArray(a) => join(s, a, |s, (x, y)| {
            push_f32(s, *x);
            s.push(' ');
            push_f32(s, *y);
        }),
        Value::DoubleComplexArray(a) => join(s, a, |s, (x, y)| {
            push_f64(s, *x);
            s.push(' ');
            push_f64(s, *y);
        }),
    }
}

/// The plain (unescaped) text of a value, as CSV/TSV/JSON show it.
pub(crate) fn plain_value(s: &mut String, v: &Value) {
    match v {
        Value::String(t) => s.push_str(t),
        other => text_value(s, other),
    }
}

/// Escapes element content; characters XML 1.0 cannot carry become U+FFFD.
fn escape_text(s: &mut String, t: &str) {
    for c in t.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '\r' => s.push_str("&#13;"),
            '\t' | '\n' => s.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
}

fn escape_attr(s: &mut String, t: &str) {
    for c in t.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\r' => s.push_str("&#13;"),
            '\n' => s.push_str("&#10;"),
            '\t' => s.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
}

/// Walks a document, writing only the parts in segment `target`.
struct Emitter<'a> {
    s: String,
    seg: usize,
    target: usize,
    ser: Serialization,
    opened: &'a mut Vec<bool>,
    infos_before: &'a mut Vec<usize>,
    /// The table (index, fields) whose DATA was opened at the end of the segment.
    reached: Option<(usize, Vec<Field>)>,
}

impl Emitter<'_> {
    fn on(&self) -> bool {
        self.seg == self.target
    }

    fn attr(&mut self, name: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.s.push(' ');
            self.s.push_str(name);
            self.s.push_str("=\"");
            escape_attr(&mut self.s, v);
            self.s.push('"');
        }
    }

    fn description(&mut self, d: Option<&str>) {
        if let Some(d) = d {
            self.s.push_str("<DESCRIPTION>");
            escape_text(&mut self.s, d);
            self.s.push_str("</DESCRIPTION>\n");
        }
    }

    fn document(&mut self, d: &Document) {
        if self.on() {
            self.s
                .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOTABLE version=\"1.4\"");
            self.attr("ID", d.id.as_deref());
            self.s.push_str(
                " xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" \
                 xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xsi:schemaLocation=\"http://www.ivoa.net/xml/VOTable/v1.3 \
                 http://www.ivoa.net/xml/VOTable/v1.4\">\n",
            );
            self.description(d.description.as_deref());
            for c in &d.coosys {
                self.coosys(c);
            }
            for t in &d.timesys {
                self.timesys(t);
            }
            for p in &d.params {
                self.param(p);
            }
            for g in &d.groups {
                self.group(g);
            }
            for i in &d.infos {
                self.info(i);
            }
        }
        for r in &d.resources {
            self.resource(r);
        }
        if self.on() {
            for i in &d.trailing_infos {
                self.info(i);
            }
            self.s.push_str("</VOTABLE>\n");
        }
    }

    fn resource(&mut self, r: &Resource) {
        if self.on() {
            self.s.push_str("<RESOURCE");
            self.attr("ID", r.id.as_deref());
            self.attr("name", r.name.as_deref());
            self.attr("type", Some(r.resource_type.as_str()));
            self.attr("utype", r.utype.as_deref());
            self.s.push_str(">\n");
            self.description(r.description.as_deref());
            for i in &r.infos {
                self.info(i);
            }
            for c in &r.coosys {
                self.coosys(c);
            }
            for t in &r.timesys {
                self.timesys(t);
            }
            for g in &r.groups {
                self.group(g);
            }
            for p in &r.params {
                self.param(p);
            }
            for l in &r.links {
                self.link(l);
            }
        }
        for t in &r.tables {
            self.table(t);
        }
        for sub in &r.resources {
            self.resource(sub);
        }
        if self.on() {
            for i in &r.trailing_infos {
                self.info(i);
            }
            self.s.push_str("</RESOURCE>\n");
        }
    }

    fn table(&mut self, t: &TableMeta) {
        let k = self.seg;
        if self.on() {
            self.s.push_str("<TABLE");
            self.attr("ID", t.id.as_deref());
            self.attr("name", t.name.as_deref());
            self.attr("ucd", t.ucd.as_deref());
            self.attr("utype", t.utype.as_deref());
            self.attr("ref", t.ref_.as_deref());
            self.s.push_str(">\n");
            self.description(t.description.as_deref());
            for i in &t.infos {
                self.info(i);
            }
            for p in &t.params {
                self.param(p);
            }
            let fields: Vec<Field> = if self.ser == Serialization::Binary {
                t.fields.iter().cloned().map(with_binary_null).collect()
            } else {
                t.fields.clone()
            };
            for f in &fields {
                self.field("FIELD", f, None);
            }
            for g in &t.groups {
                self.group(g);
            }
            for l in &t.links {
                self.link(l);
            }
            let open = !t.fields.is_empty();
            if self.opened.len() <= k {
                self.opened.resize(k + 1, false);
                self.infos_before.resize(k + 1, 0);
            }
            self.opened[k] = open;
            self.infos_before[k] = t.infos.len();
            if open {
                match self.ser {
                    Serialization::TableData => self.s.push_str("<DATA><TABLEDATA>\n"),
                    other => {
                        let _ = writeln!(
                            self.s,
                            "<DATA><{}><STREAM encoding=\"base64\">",
                            other.as_str()
                        );
                    }
                }
            }
            self.reached = Some((k, fields));
        }
        self.seg += 1;
        if self.on() {
            let before = self.infos_before.get(k).copied().unwrap_or(0);
            for i in t.infos.iter().skip(before) {
                self.info(i);
            }
            self.s.push_str("</TABLE>\n");
        }
    }

    fn info(&mut self, i: &Info) {
        self.s.push_str("<INFO");
        self.attr("ID", i.id.as_deref());
        self.attr("name", Some(&i.name));
        self.attr("value", Some(&i.value));
        self.attr("unit", i.unit.as_deref());
        self.attr("ucd", i.ucd.as_deref());
        self.attr("utype", i.utype.as_deref());
        self.attr("xtype", i.xtype.as_deref());
        self.attr("ref", i.ref_.as_deref());
        match &i.content {
            Some(c) => {
                self.s.push('>');
                escape_text(&mut self.s, c);
                self.s.push_str("</INFO>\n");
            }
            None => self.s.push_str("/>\n"),
        }
    }

    fn coosys(&mut self, c: &CooSys) {
        self.s.push_str("<COOSYS");
        self.attr("ID", c.id.as_deref());
        self.attr("system", c.system.as_deref());
        self.attr("equinox", c.equinox.as_deref());
        self.attr("epoch", c.epoch.as_deref());
        self.attr("refposition", c.refposition.as_deref());
        self.s.push_str("/>\n");
    }

    fn timesys(&mut self, t: &TimeSys) {
        self.s.push_str("<TIMESYS");
        self.attr("ID", t.id.as_deref());
        self.attr("timeorigin", t.timeorigin.as_deref());
        self.attr("timescale", t.timescale.as_deref());
        self.attr("refposition", t.refposition.as_deref());
        self.s.push_str("/>\n");
    }

    fn link(&mut self, l: &Link) {
        self.s.push_str("<LINK");
        self.attr("ID", l.id.as_deref());
        self.attr("content-role", l.content_role.as_deref());
        self.attr("content-type", l.content_type.as_deref());
        self.attr("title", l.title.as_deref());
        self.attr("value", l.value.as_deref());
        self.attr("href", l.href.as_deref());
        self.attr("action", l.action.as_deref());
        self.s.push_str("/>\n");
    }

    fn param(&mut self, p: &Param) {
        self.field("PARAM", &p.field, Some(&p.value));
    }

    fn field(&mut self, tag: &str, f: &Field, value: Option<&str>) {
        self.s.push('<');
        self.s.push_str(tag);
        self.attr("ID", f.id.as_deref());
        self.attr("name", Some(&f.name));
        self.attr("datatype", Some(f.datatype.as_str()));
        let arraysize = f.arraysize.as_ref().map(ToString::to_string);
        self.attr("arraysize", arraysize.as_deref());
        let width = f.width.map(|w| w.to_string());
        self.attr("width", width.as_deref());
        self.attr("precision", f.precision.as_deref());
        self.attr("unit", f.unit.as_deref());
        self.attr("ucd", f.ucd.as_deref());
        self.attr("utype", f.utype.as_deref());
        self.attr("xtype", f.xtype.as_deref());
        self.attr("ref", f.ref_.as_deref());
        self.attr("value", value);
        if f.description.is_none() && f.values.is_none() && f.links.is_empty() {
            self.s.push_str("/>\n");
            return;
        }
        self.s.push_str(">\n");
        self.description(f.description.as_deref());
        if let Some(v) = &f.values {
            self.s.push_str("<VALUES");
            self.attr("ID", v.id.as_deref());
            self.attr("type", v.values_type.as_deref());
            self.attr("null", v.null.as_deref());
            self.attr("ref", v.ref_.as_deref());
            self.s.push('>');
            for (tag, b) in [("MIN", &v.min), ("MAX", &v.max)] {
                if let Some(b) = b {
                    let _ = write!(self.s, "<{tag}");
                    self.attr("value", Some(&b.value));
                    self.attr("inclusive", Some(if b.inclusive { "yes" } else { "no" }));
                    self.s.push_str("/>");
                }
            }
            self.options(&v.options);
            self.s.push_str("</VALUES>\n");
        }
        for l in &f.links {
            self.link(l);
        }
        let _ = writeln!(self.s, "</{tag}>");
    }

    fn options(&mut self, opts: &[crate::model::ValueOption]) {
        for o in opts {
            self.s.push_str("<OPTION");
            self.attr("name", o.name.as_deref());
            self.attr("value", Some(&o.value));
            if o.options.is_empty() {
                self.s.push_str("/>");
            } else {
                self.s.push('>');
                self.options(&o.options);
                self.s.push_str("</OPTION>");
            }
        }
    }

    fn group(&mut self, g: &Group) {
        self.s.push_str("<GROUP");
        self.attr("ID", g.id.as_deref());
        self.attr("name", g.name.as_deref());
        self.attr("ref", g.ref_.as_deref());
        self.attr("ucd", g.ucd.as_deref());
        self.attr("utype", g.utype.as_deref());
        self.s.push_str(">\n");
        self.description(g.description.as_deref());
        for r in &g.field_refs {
            self.s.push_str("<FIELDref");
            self.attr("ref", Some(r));
            self.s.push_str("/>\n");
        }
        for r in &g.param_refs {
            self.s.push_str("<PARAMref");
            self.attr("ref", Some(r));
            self.s.push_str("/>\n");
        }
        for p in &g.params {
            self.param(p);
        }
        for sub in &g.groups {
            self.group(sub);
        }
        self.s.push_str("</GROUP>\n");
    }
}

/// Writes an in-memory document (every table with its rows).
///
/// # Errors
/// A value that does not fit its field, or an I/O error.
pub fn write_votable<W: Write>(
    out: W,
    votable: &VoTable,
    serialization: Serialization,
) -> Result<W> {
    let mut w = Writer::new(out, &votable.document, serialization)?;
    let mut tables = votable.tables().iter();
    let mut cur = if w.current.is_some() {
        tables.next()
    } else {
        None
    };
    loop {
        if let Some(t) = cur {
            if w.opened
                .get(w.current.unwrap_or(usize::MAX))
                .copied()
                .unwrap_or(false)
            {
                for r in 0..t.nrows() {
                    w.write_row(&t.row(r))?;
                }
            }
        }
        if !w.next_table()? {
            break;
        }
        cur = tables.next();
    }
    w.finish()
}

/// Writes one table as a complete document.
///
/// # Errors
/// As [`write_votable`].
pub fn write_table<W: Write>(out: W, table: &Table, serialization: Serialization) -> Result<W> {
    let mut w = Writer::for_table(out, table.meta(), serialization)?;
    if !table.meta().fields.is_empty() {
        for r in 0..table.nrows() {
            w.write_row(&table.row(r))?;
        }
    }
    w.finish()
}
