//! The in-memory, columnar table: one typed vector per column, a null bitmap,
//! strings in one byte buffer with offsets, arrays flattened with offsets.

use std::io::BufRead;

use crate::datatype::Datatype;
use crate::error::{Error, Result};
use crate::model::{Document, QueryStatus, TableMeta};
use crate::reader::{Reader, Row, table_at};
use crate::value::Value;

/// Flat element storage of one column.
#[derive(Debug, Clone, PartialEq)]
enum Data {
    /// Booleans: 0 false, 1 true, 2 unknown (`?` inside arrays).
    Bool(Vec<u8>),
    /// Bits: 0 or 1.
    Bit(Vec<u8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Complex: real and imaginary parts interleaved.
    C32(Vec<f32>),
    C64(Vec<f64>),
    /// UTF-8 bytes.
    Str(Vec<u8>),
}

impl Data {
    fn new(dt: Datatype) -> Data {
        match dt {
            Datatype::Boolean => Data::Bool(Vec::new()),
            Datatype::Bit => Data::Bit(Vec::new()),
            Datatype::UnsignedByte => Data::U8(Vec::new()),
            Datatype::Short => Data::I16(Vec::new()),
            Datatype::Int => Data::I32(Vec::new()),
            Datatype::Long => Data::I64(Vec::new()),
            Datatype::Float => Data::F32(Vec::new()),
            Datatype::Double => Data::F64(Vec::new()),
            Datatype::FloatComplex => Data::C32(Vec::new()),
            Datatype::DoubleComplex => Data::C64(Vec::new()),
            Datatype::Char | Datatype::UnicodeChar => Data::Str(Vec::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Data::Bool(v) | Data::Bit(v) | Data::U8(v) | Data::Str(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::F32(v) | Data::C32(v) => v.len(),
            Data::F64(v) | Data::C64(v) => v.len(),
        }
    }

    fn shrink(&mut self) {
        match self {
            Data::Bool(v) | Data::Bit(v) | Data::U8(v) | Data::Str(v) => v.shrink_to_fit(),
            Data::I16(v) => v.shrink_to_fit(),
            Data::I32(v) => v.shrink_to_fit(),
            Data::I64(v) => v.shrink_to_fit(),
            Data::F32(v) | Data::C32(v) => v.shrink_to_fit(),
            Data::F64(v) | Data::C64(v) => v.shrink_to_fit(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Data::Bool(v) | Data::Bit(v) | Data::U8(v) | Data::Str(v) => v.capacity(),
            Data::I16(v) => v.capacity() * 2,
            Data::I32(v) => v.capacity() * 4,
            Data::I64(v) => v.capacity() * 8,
            Data::F32(v) | Data::C32(v) => v.capacity() * 4,
            Data::F64(v) | Data::C64(v) => v.capacity() * 8,
        }
    }

    /// Appends the default element (for a null scalar).
    fn push_default(&mut self) {
        match self {
            Data::Bool(v) | Data::Bit(v) | Data::U8(v) => v.push(0),
            Data::I16(v) => v.push(0),
            Data::I32(v) => v.push(0),
            Data::I64(v) => v.push(0),
            Data::F32(v) => v.push(f32::NAN),
            Data::F64(v) => v.push(f64::NAN),
            Data::C32(v) => v.extend([f32::NAN; 2]),
            Data::C64(v) => v.extend([f64::NAN; 2]),
            Data::Str(_) => {}
        }
    }

    /// Appends a non-null value; `false` if the value does not fit this column.
    fn push(&mut self, value: &Value) -> bool {
        match (self, value) {
            (Data::Bool(v), Value::Boolean(b)) => v.push(u8::from(*b)),
            (Data::Bool(v), Value::BooleanArray(a)) => {
                v.extend(a.iter().map(|b| b.map_or(2, u8::from)));
            }
            (Data::Bit(v), Value::BitArray(a)) => v.extend(a.iter().map(|&b| u8::from(b))),
            (Data::U8(v), Value::UnsignedByte(x)) => v.push(*x),
            (Data::U8(v), Value::UnsignedByteArray(a)) => v.extend_from_slice(a),
            (Data::I16(v), Value::Short(x)) => v.push(*x),
            (Data::I16(v), Value::ShortArray(a)) => v.extend_from_slice(a),
            (Data::I32(v), Value::Int(x)) => v.push(*x),
            (Data::I32(v), Value::IntArray(a)) => v.extend_from_slice(a),
            (Data::I64(v), Value::Long(x)) => v.push(*x),
            (Data::I64(v), Value::LongArray(a)) => v.extend_from_slice(a),
            (Data::F32(v), Value::Float(x)) => v.push(*x),
            (Data::F32(v), Value::FloatArray(a)) => v.extend_from_slice(a),
            (Data::F64(v), Value::Double(x)) => v.push(*x),
            (Data::F64(v), Value::DoubleArray(a)) => v.extend_from_slice(a),
            (Data::C32(v), Value::FloatComplex(re, im)) => v.extend([*re, *im]),
            (Data::C32(v), Value::FloatComplexArray(a)) => {
                v.extend(a.iter().flat_map(|&(re, im)| [re, im]));
            }
            (Data::C64(v), Value::DoubleComplex(re, im)) => v.extend([*re, *im]),
            (Data::C64(v), Value::DoubleComplexArray(a)) => {
                v.extend(a.iter().flat_map(|&(re, im)| [re, im]));
            }
            (Data::Str(v), Value::String(s)) => v.extend_from_slice(s.as_bytes()),
            _ => return false,
        }
        true
    }

    /// Elements per stored item (2 for complex numbers).
    fn width(&self) -> usize {
        match self {
            Data::C32(_) | Data::C64(_) => 2,
            _ => 1,
        }
    }

    /// The value of elements `a..b` (as stored, complex counted in parts).
    fn value(&self, a: usize, b: usize, scalar: bool) -> Value {
        fn pairs<T: Copy>(v: &[T]) -> Vec<(T, T)> {
            v.chunks_exact(2).map(|c| (c[0], c[1])).collect()
        }
        let bool_of = |x: u8| match x {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        };
        match self {
            Data::Bool(v) if scalar => v
                .get(a)
                .and_then(|&x| bool_of(x))
                .map_or(Value::Null, Value::Boolean),
            Data::Bool(v) => Value::BooleanArray(v[a..b].iter().map(|&x| bool_of(x)).collect()),
            Data::Bit(v) => Value::BitArray(v[a..b].iter().map(|&x| x != 0).collect()),
            Data::U8(v) if scalar => Value::UnsignedByte(v[a]),
            Data::U8(v) => Value::UnsignedByteArray(v[a..b].to_vec()),
            Data::I16(v) if scalar => Value::Short(v[a]),
            Data::I16(v) => Value::ShortArray(v[a..b].to_vec()),
            Data::I32(v) if scalar => Value::Int(v[a]),
            Data::I32(v) => Value::IntArray(v[a..b].to_vec()),
            Data::I64(v) if scalar => Value::Long(v[a]),
            Data::I64(v) => Value::LongArray(v[a..b].to_vec()),
            Data::F32(v) if scalar => Value::Float(v[a]),
            Data::F32(v) => Value::FloatArray(v[a..b].to_vec()),
            Data::F64(v) if scalar => Value::Double(v[a]),
            Data::F64(v) => Value::DoubleArray(v[a..b].to_vec()),
            Data::C32(v) if scalar => Value::FloatComplex(v[a], v[a + 1]),
            Data::C32(v) => Value::FloatComplexArray(pairs(&v[a..b])),
            Data::C64(v) if scalar => Value::DoubleComplex(v[a], v[a + 1]),
            Data::C64(v) => Value::DoubleComplexArray(pairs(&v[a..b])),
            Data::Str(v) => Value::String(String::from_utf8_lossy(&v[a..b]).into_owned()),
        }
    }
}

/// One column: flat data, offsets for strings and arrays, a null bitmap.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    data: Data,
    /// `offsets[i]..offsets[i+1]` are row `i`'s elements; empty for scalar columns.
    offsets: Vec<u64>,
    scalar: bool,
    /// Bit `i` set: row `i` is null. Only as long as needed.
    nulls: Vec<u64>,
}

impl Column {
    fn new(dt: Datatype, scalar: bool) -> Column {
        Column {
            data: Data::new(dt),
            offsets: if scalar { Vec::new() } else { vec![0] },
            scalar,
            nulls: Vec::new(),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        self.nulls
            .get(row / 64)
            .is_some_and(|w| w >> (row % 64) & 1 == 1)
    }

    fn set_null(&mut self, row: usize) {
        let w = row / 64;
        if self.nulls.len() <= w {
            self.nulls.resize(w + 1, 0);
        }
        self.nulls[w] |= 1 << (row % 64);
    }

    fn push(&mut self, row: usize, value: &Value) -> bool {
        if value.is_null() {
            self.set_null(row);
            if self.scalar {
                self.data.push_default();
            }
        } else if !self.data.push(value) {
            return false;
        }
        if !self.scalar {
            self.offsets.push(self.data.len() as u64);
        }
        true
    }

    fn range(&self, row: usize) -> (usize, usize) {
        if self.scalar {
            let w = self.data.width();
            (row * w, row * w + w)
        } else {
            (self.offsets[row] as usize, self.offsets[row + 1] as usize)
        }
    }
}

/// A table held in memory, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    meta: TableMeta,
    columns: Vec<Column>,
    nrows: usize,
}

impl Table {
    /// An empty table with these fields.
    pub fn new(meta: TableMeta) -> Table {
        let columns = meta
            .fields
            .iter()
            .map(|f| {
                let scalar = f.arraysize.is_none()
                    && !f.datatype.is_character()
                    && f.datatype != Datatype::Bit;
                Column::new(f.datatype, scalar)
            })
            .collect();
        Table {
            meta,
            columns,
            nrows: 0,
        }
    }

    /// Builds a table from rows of values.
    ///
    /// # Errors
    /// A row with the wrong number of cells or a value of the wrong type.
    pub fn from_rows<I>(meta: TableMeta, rows: I) -> Result<Table>
    where
        I: IntoIterator,
        I::Item: AsRef<[Value]>,
    {
        let mut t = Table::new(meta);
        for row in rows {
            t.push_row(row.as_ref())?;
        }
        t.shrink_to_fit();
        Ok(t)
    }

    /// Appends a row.
    ///
    /// # Errors
    /// The wrong number of cells, or a value whose type does not match its field
    /// (the table is left unchanged).
    pub fn push_row(&mut self, values: &[Value]) -> Result<()> {
        if values.len() != self.columns.len() {
            return Err(Error::write(
                format!("row {}", self.nrows + 1),
                format!("{} cells for {} fields", values.len(), self.columns.len()),
            ));
        }
        for (i, (f, v)) in self.meta.fields.iter().zip(values).enumerate() {
            if !value_fits(f.datatype, self.columns[i].scalar, v) {
                return Err(Error::write(
                    format!("row {}, field {:?}", self.nrows + 1, f.name),
                    format!("value {v:?} does not fit datatype {}", f.datatype),
                ));
            }
        }
        let row = self.nrows;
        for (c, v) in self.columns.iter_mut().zip(values) {
            c.push(row, v);
        }
        self.nrows += 1;
        Ok(())
    }

    fn shrink_to_fit(&mut self) {
        for c in &mut self.columns {
            c.data.shrink();
            c.offsets.shrink_to_fit();
            c.nulls.shrink_to_fit();
        }
    }

    /// The table's metadata.
    pub fn meta(&self) -> &TableMeta {
        &self.meta
    }

    /// The number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// The number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// The column index of a field by name (exact, then case-insensitive, then `ID`).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.meta.field_index(name)
    }

    /// Whether a cell is null (also `true` when out of range).
    pub fn is_null(&self, row: usize, col: usize) -> bool {
        match self.columns.get(col) {
            Some(c) if row < self.nrows => c.is_null(row),
            _ => true,
        }
    }

    /// An owned copy of a cell ([`Value::Null`] when null or out of range).
    pub fn value(&self, row: usize, col: usize) -> Value {
        let Some(c) = self.columns.get(col) else {
            return Value::Null;
        };
        if row >= self.nrows || c.is_null(row) {
            return Value::Null;
        }
        let (a, b) = c.range(row);
        c.data.value(a, b, c.scalar)
    }

    /// A row as owned values.
    pub fn row(&self, row: usize) -> Vec<Value> {
        (0..self.ncols()).map(|c| self.value(row, c)).collect()
    }

    /// A string cell (`None` if null, out of range or not a string column).
    pub fn get_str(&self, row: usize, col: usize) -> Option<&str> {
        let c = self.columns.get(col)?;
        if row >= self.nrows || c.is_null(row) {
            return None;
        }
        let Data::Str(bytes) = &c.data else {
            return None;
        };
        let (a, b) = c.range(row);
        std::str::from_utf8(bytes.get(a..b)?).ok()
    }

    /// An integer scalar cell widened to `i64`.
    pub fn get_i64(&self, row: usize, col: usize) -> Option<i64> {
        let c = self.columns.get(col)?;
        if row >= self.nrows || c.is_null(row) || !c.scalar {
            return None;
        }
        match &c.data {
            Data::U8(v) => Some(i64::from(v[row])),
            Data::I16(v) => Some(i64::from(v[row])),
            Data::I32(v) => Some(i64::from(v[row])),
            Data::I64(v) => Some(v[row]),
            _ => None,
        }
    }

    /// A real or integer scalar cell as `f64`.
    pub fn get_f64(&self, row: usize, col: usize) -> Option<f64> {
        let c = self.columns.get(col)?;
        if row >= self.nrows || c.is_null(row) || !c.scalar {
            return None;
        }
        match &c.data {
            Data::F32(v) => Some(f64::from(v[row])),
            Data::F64(v) => Some(v[row]),
            #[allow(clippy::cast_precision_loss)]
            Data::I64(v) => Some(v[row] as f64),
            _ => self.get_i64(row, col).map(|v| v as f64),
        }
    }

    /// A boolean scalar cell.
    pub fn get_bool(&self, row: usize, col: usize) -> Option<bool> {
        self.value(row, col).as_bool()
    }

    /// A cell by field name (see [`Table::field_index`]).
    pub fn value_by_name(&self, row: usize, name: &str) -> Value {
        self.field_index(name)
            .map_or(Value::Null, |c| self.value(row, c))
    }

    /// Approximate heap memory held by the rows, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|c| c.data.heap_bytes() + c.offsets.capacity() * 8 + c.nulls.capacity() * 8)
            .sum()
    }
}

pub(crate) fn value_fits(dt: Datatype, scalar: bool, v: &Value) -> bool {
    use Value as V;
    match v {
        V::Null => true,
        V::Boolean(_) => dt == Datatype::Boolean && scalar,
        V::BooleanArray(_) => dt == Datatype::Boolean && !scalar,
        V::BitArray(_) => dt == Datatype::Bit,
        V::String(_) => dt.is_character(),
        V::UnsignedByte(_) => dt == Datatype::UnsignedByte && scalar,
        V::Short(_) => dt == Datatype::Short && scalar,
        V::Int(_) => dt == Datatype::Int && scalar,
        V::Long(_) => dt == Datatype::Long && scalar,
        V::Float(_) => dt == Datatype::Float && scalar,
        V::Double(_) => dt == Datatype::Double && scalar,
        V::FloatComplex(..) => dt == Datatype::FloatComplex && scalar,
        V::DoubleComplex(..) => dt == Datatype::DoubleComplex && scalar,
        V::UnsignedByteArray(_) => dt == Datatype::UnsignedByte && !scalar,
        V::ShortArray(_) => dt == Datatype::Short && !scalar,
        V::IntArray(_) => dt == Datatype::Int && !scalar,
        V::LongArray(_) => dt == Datatype::Long && !scalar,
        V::FloatArray(_) => dt == Datatype::Float && !scalar,
        V::DoubleArray(_) => dt == Datatype::Double && !scalar,
        V::FloatComplexArray(_) => dt == Datatype::FloatComplex && !scalar,
        V::DoubleComplexArray(_) => dt == Datatype::DoubleComplex && !scalar,
    }
}

/// A whole document in memory: its metadata and every table's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct VoTable {
    /// The complete metadata (with INFOs that followed the data).
    pub document: Document,
    tables: Vec<Table>,
}

impl VoTable {
    /// Assembles a document and its tables (in document order).
    pub fn new(document: Document, tables: Vec<Table>) -> VoTable {
        VoTable { document, tables }
    }

    /// Every `TABLE` of the document in order, with its rows.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The first table.
    pub fn first_table(&self) -> Option<&Table> {
        self.tables.first()
    }

    /// The query status of the results resource (the last `QUERY_STATUS` wins).
    pub fn query_status(&self) -> Option<QueryStatus> {
        self.document.query_status()
    }
}

/// Parses a whole document held in memory.
///
/// # Errors
/// See [`Reader::read_row`].
pub fn parse(bytes: &[u8]) -> Result<VoTable> {
    read(bytes)
}

/// Reads a whole document into memory (columnar).
///
/// # Errors
/// See [`Reader::read_row`].
pub fn read<R: BufRead>(input: R) -> Result<VoTable> {
    read_with_limits(input, crate::Limits::default())
}

/// [`read`] with explicit limits.
///
/// # Errors
/// See [`Reader::read_row`].
pub fn read_with_limits<R: BufRead>(input: R, limits: crate::Limits) -> Result<VoTable> {
    let mut reader = Reader::with_limits(input, limits)?;
    let mut tables = Vec::new();
    let mut paths = Vec::new();
    let mut row = Row::new();
    loop {
        if let (Some(meta), Some(path)) = (reader.table(), reader.table_path()) {
            let mut t = Table::new(meta.clone());
            paths.push(path.to_vec());
            while reader.read_row(&mut row)? {
                // The reader produces values of the fields' types.
                let n = t.nrows;
                for (c, v) in t.columns.iter_mut().zip(row.values()) {
                    if !c.push(n, v) {
                        c.push(n, &Value::Null);
                    }
                }
                t.nrows += 1;
            }
            t.shrink_to_fit();
            tables.push(t);
        }
        if !reader.next_table()? {
            break;
        }
    }
    let document = reader.finish()?;
    for (t, p) in tables.iter_mut().zip(&paths) {
        if let Some(m) = table_at(&document, p) {
            t.meta = m.clone();
        }
    }
    Ok(VoTable { document, tables })
}
