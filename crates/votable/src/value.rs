//! Typed cell values.

/// One decoded table cell.
///
/// Scalars map to their own variants; arrays of numbers to the `*Array` variants
/// (flattened, first dimension fastest); `char`/`unicodeChar` arrays to [`Value::String`].
/// A null cell is [`Value::Null`]; a NaN float or complex scalar also reads as null,
/// as the standard says NaN is how floating-point nulls are expressed (NaN elements
/// inside arrays are kept).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// A null cell (empty `TD`, the `VALUES/@null` sentinel, a BINARY2 null flag,
    /// a `?` boolean, a zero-length variable array in BINARY).
    #[default]
    Null,
    /// `boolean` scalar.
    Boolean(bool),
    /// `unsignedByte` scalar.
    UnsignedByte(u8),
    /// `short` scalar.
    Short(i16),
    /// `int` scalar.
    Int(i32),
    /// `long` scalar.
    Long(i64),
    /// `float` scalar.
    Float(f32),
    /// `double` scalar.
    Double(f64),
    /// `floatComplex` scalar (real, imaginary).
    FloatComplex(f32, f32),
    /// `doubleComplex` scalar (real, imaginary).
    DoubleComplex(f64, f64),
    /// `char` or `unicodeChar` (any arraysize), trailing NULs removed.
    String(String),
    /// `boolean` array; `None` elements are `?`.
    BooleanArray(Vec<Option<bool>>),
    /// `bit` scalar or array.
    BitArray(Vec<bool>),
    /// `unsignedByte` array.
    UnsignedByteArray(Vec<u8>),
    /// `short` array.
    ShortArray(Vec<i16>),
    /// `int` array.
    IntArray(Vec<i32>),
    /// `long` array.
    LongArray(Vec<i64>),
    /// `float` array.
    FloatArray(Vec<f32>),
    /// `double` array.
    DoubleArray(Vec<f64>),
    /// `floatComplex` array of (real, imaginary) pairs.
    FloatComplexArray(Vec<(f32, f32)>),
    /// `doubleComplex` array of (real, imaginary) pairs.
    DoubleComplexArray(Vec<(f64, f64)>),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, for `char`/`unicodeChar` cells.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Any integer scalar widened to `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::UnsignedByte(v) => Some(i64::from(v)),
            Value::Short(v) => Some(i64::from(v)),
            Value::Int(v) => Some(i64::from(v)),
            Value::Long(v) => Some(v),
            _ => None,
        }
    }

    /// Any real scalar (integers included) as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(f64::from(v)),
            Value::Double(v) => Some(v),
            #[allow(clippy::cast_precision_loss)]
            Value::Long(v) => Some(v as f64),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// A boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Boolean(b) => Some(b),
            _ => None,
        }
    }
}
