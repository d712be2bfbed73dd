//! Per-field decoding plans: how one cell of a field is decoded from TABLEDATA text
//! or from BINARY/BINARY2 bytes into a [`Value`], reusing the value's allocation.

use crate::Limits;
use crate::datatype::Datatype;
use crate::error::ErrorKind;
use crate::model::Field;
use crate::value::Value;

/// The array shape of a field's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No `arraysize` (numbers and booleans only).
    Scalar,
    /// A fixed number of elements.
    Fixed(usize),
    /// A variable number of elements, with an optional upper bound.
    Var(Option<usize>),
}

/// How to decode one field.
#[derive(Debug, Clone)]
pub(crate) struct FieldSpec {
    pub(crate) name: String,
    pub(crate) dt: Datatype,
    pub(crate) shape: Shape,
    /// `VALUES/@null` parsed as an integer (integer types).
    pub(crate) null_int: Option<i64>,
    /// `VALUES/@null` parsed as a float (real types).
    pub(crate) null_float: Option<f64>,
    /// `VALUES/@null` verbatim (strings).
    pub(crate) null_str: Option<String>,
}

impl FieldSpec {
    pub(crate) fn new(field: &Field, limits: &Limits) -> Result<Self, ErrorKind> {
        let dt = field.datatype;
        let bad = |reason: &str| ErrorKind::BadAttribute {
            name: "arraysize".into(),
            value: field
                .arraysize
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            reason: reason.into(),
        };
        let shape = match &field.arraysize {
            None if dt.is_character() || dt == Datatype::Bit => Shape::Fixed(1),
            None => Shape::Scalar,
            Some(a) => {
                let elem = dt.binary_size().max(1) as u64;
                if a.is_variable() {
                    let max = match a.max_len() {
                        Some(m) => {
                            if m.checked_mul(elem)
                                .is_none_or(|b| b > limits.max_cell_bytes as u64)
                            {
                                return Err(bad("array bound larger than the cell size limit"));
                            }
                            Some(m as usize)
                        }
                        None => {
                            // `*` or `AxBx*`: the slice length must still be sane.
                            if a.slice_len().is_none() {
                                return Err(bad("dimension product overflows"));
                            }
                            None
                        }
                    };
                    Shape::Var(max)
                } else {
                    let n = a
                        .fixed_len()
                        .ok_or_else(|| bad("dimension product overflows"))?;
                    if n.checked_mul(elem)
                        .is_none_or(|b| b > limits.max_cell_bytes as u64)
                    {
                        return Err(bad("fixed array larger than the cell size limit"));
                    }
                    Shape::Fixed(n as usize)
                }
            }
        };
        let null = field.null_value().map(str::trim);
        let null_int = null.and_then(|n| parse_int(n.as_bytes()));
        let null_float = null.and_then(|n| n.parse::<f64>().ok());
        Ok(FieldSpec {
            name: field.name.clone(),
            dt,
            shape,
            null_int,
            null_float,
            null_str: field.null_value().map(str::to_owned),
        })
    }

    /// `datatype[arraysize]` for messages.
    pub(crate) fn label(&self) -> String {
        match self.shape {
            Shape::Scalar => self.dt.as_str().to_owned(),
            Shape::Fixed(n) => format!("{}[{n}]", self.dt),
            Shape::Var(Some(n)) => format!("{}[{n}*]", self.dt),
            Shape::Var(None) => format!("{}[*]", self.dt),
        }
    }

    pub(crate) fn bad_value(&self, text: &[u8], reason: impl Into<String>) -> ErrorKind {
        let shown = &text[..text.len().min(80)];
        ErrorKind::BadValue {
            field: self.name.clone(),
            datatype: self.label(),
            text: String::from_utf8_lossy(shown).into_owned(),
            reason: reason.into(),
        }
    }

    /// Decodes one TABLEDATA cell (entities already resolved).
    pub(crate) fn decode_text(&self, text: &[u8], slot: &mut Value) -> Result<(), ErrorKind> {
        if self.dt.is_character() {
            if text.is_empty()
                || self
                    .null_str
                    .as_deref()
                    .is_some_and(|n| n.as_bytes() == text)
            {
                *slot = Value::Null;
            } else {
                set_string_bytes(slot, text);
            }
            return Ok(());
        }
        let t = trim(text);
        if t.is_empty() {
            *slot = Value::Null;
            return Ok(());
        }
        let r = match self.dt {
            Datatype::Boolean => self.text_bool(t, slot),
            Datatype::Bit => text_bits(t, slot),
            Datatype::UnsignedByte => self.text_num::<u8>(t, slot),
            Datatype::Short => self.text_num::<i16>(t, slot),
            Datatype::Int => self.text_num::<i32>(t, slot),
            Datatype::Long => self.text_num::<i64>(t, slot),
            Datatype::Float => self.text_num::<f32>(t, slot),
            Datatype::Double => self.text_num::<f64>(t, slot),
            Datatype::FloatComplex => self.text_complex::<f32>(t, slot),
            Datatype::DoubleComplex => self.text_complex::<f64>(t, slot),
            Datatype::Char | Datatype::UnicodeChar => Ok(()),
        };
        r.map_err(|reason| self.bad_value(text, reason))
    }

    fn check_count(&self, n: usize) -> Result<(), String> {
        match self.shape {
            Shape::Fixed(k) if n != k => Err(format!("expected {k} elements, found {n}")),
            Shape::Var(Some(k)) if n > k => Err(format!("more than {k} elements ({n})")),
            _ => Ok(()),
        }
    }

    fn text_bool(&self, t: &[u8], slot: &mut Value) -> Result<(), String> {
        if self.shape == Shape::Scalar {
            *slot = match parse_bool(t)? {
                Some(b) => Value::Boolean(b),
                None => Value::Null,
            };
            return Ok(());
        }
        let mut v = match std::mem::take(slot) {
            Value::BooleanArray(v) => v,
            _ => Vec::new(),
        };
        v.clear();
        let mut tokens = t
            .split(|b| b.is_ascii_whitespace())
            .filter(|s| !s.is_empty());
        let first = tokens.next();
        let second = tokens.next();
        match (first, second) {
            // Packed form "TTF?" with no separators.
            (Some(tok), None)
                if tok.len() > 1
                    && !tok.eq_ignore_ascii_case(b"true")
                    && !tok.eq_ignore_ascii_case(b"false") =>
            {
                for c in tok {
                    v.push(parse_bool(std::slice::from_ref(c))?);
                }
            }
            _ => {
                for tok in first.into_iter().chain(second).chain(tokens) {
                    v.push(parse_bool(tok)?);
                }
            }
        }
        self.check_count(v.len())?;
        *slot = Value::BooleanArray(v);
        Ok(())
    }

    fn text_num<T: Num>(&self, t: &[u8], slot: &mut Value) -> Result<(), String> {
        if self.shape == Shape::Scalar {
            if is_null_word(t) {
                *slot = Value::Null;
                return Ok(());
            }
            let x = T::parse_text(t).ok_or_else(|| format!("not a valid {}", T::NAME))?;
            *slot = if x.is_null(self) || x.is_nan() {
                Value::Null
            } else {
                x.scalar()
            };
            return Ok(());
        }
        let mut v = T::take_vec(slot);
        for tok in t
            .split(|b| b.is_ascii_whitespace())
            .filter(|s| !s.is_empty())
        {
            let x = T::parse_text(tok).ok_or_else(|| format!("not a valid {}", T::NAME))?;
            v.push(x);
        }
        self.check_count(v.len())?;
        *slot = T::array(v);
        Ok(())
    }

    fn text_complex<T: Num>(&self, t: &[u8], slot: &mut Value) -> Result<(), String> {
        let mut parts = Vec::new();
        for tok in t
            .split(|b| b.is_ascii_whitespace())
            .filter(|s| !s.is_empty())
        {
            parts.push(T::parse_text(tok).ok_or_else(|| format!("not a valid {}", T::NAME))?);
        }
        if parts.len() % 2 != 0 {
            return Err("complex values need an even number of parts".into());
        }
        let pairs: Vec<(T, T)> = parts.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        if self.shape == Shape::Scalar {
            match pairs.as_slice() {
                [(re, im)] => {
                    *slot = if re.is_nan() && im.is_nan() {
                        Value::Null
                    } else {
                        T::complex(*re, *im)
                    };
                    Ok(())
                }
                _ => Err("expected one complex value".into()),
            }
        } else {
            self.check_count(pairs.len())?;
            *slot = T::complex_array(pairs);
            Ok(())
        }
    }

    /// Bytes taken by `count` elements in the binary serializations.
    pub(crate) fn byte_len(&self, count: usize) -> Option<usize> {
        if self.dt == Datatype::Bit {
            Some(count.div_ceil(8))
        } else {
            count.checked_mul(self.dt.binary_size())
        }
    }

    /// Decodes one binary cell of `count` elements from exactly `bytes`.
    /// `binary1`: BINARY (not BINARY2), where sentinels and NaN are the only nulls.
    pub(crate) fn decode_binary(
        &self,
        bytes: &[u8],
        count: usize,
        binary1: bool,
        slot: &mut Value,
    ) -> Result<(), ErrorKind> {
        let fixed = matches!(self.shape, Shape::Fixed(_));
        let r: Result<(), String> = match self.dt {
            Datatype::Char => {
                let s = if fixed {
                    let cut = memchr::memchr(0, bytes).unwrap_or(bytes.len());
                    trim_end_spaces(&bytes[..cut])
                } else {
                    let mut e = bytes.len();
                    while e > 0 && bytes[e - 1] == 0 {
                        e -= 1;
                    }
                    &bytes[..e]
                };
                if s.is_empty() || self.null_str.as_deref().is_some_and(|n| n.as_bytes() == s) {
                    *slot = Value::Null;
                } else {
                    set_string_bytes(slot, s);
                }
                Ok(())
            }
            Datatype::UnicodeChar => {
                let mut s = match std::mem::take(slot) {
                    Value::String(s) => s,
                    _ => String::new(),
                };
                s.clear();
                let units = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .take_while(|&u| u != 0);
                let mut ok = true;
                for c in char::decode_utf16(units) {
                    match c {
                        Ok(c) => s.push(c),
                        Err(_) => {
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok {
                    return Err(self.bad_value(bytes, "invalid UCS-2/UTF-16 text"));
                }
                if fixed {
                    let l = s.trim_end_matches(' ').len();
                    s.truncate(l);
                }
                *slot = if s.is_empty() || self.null_str.as_deref() == Some(s.as_str()) {
                    Value::Null
                } else {
                    Value::String(s)
                };
                Ok(())
            }
            Datatype::Boolean => {
                if self.shape == Shape::Scalar {
                    *slot = match bytes.first().map(|&b| bool_byte(b)) {
                        Some(Ok(Some(b))) => Value::Boolean(b),
                        Some(Ok(None)) | None => Value::Null,
                        Some(Err(e)) => return Err(self.bad_value(bytes, e)),
                    };
                    Ok(())
                } else {
                    let mut v = match std::mem::take(slot) {
                        Value::BooleanArray(v) => v,
                        _ => Vec::new(),
                    };
                    v.clear();
                    for &b in bytes {
                        match bool_byte(b) {
                            Ok(x) => v.push(x),
                            Err(e) => return Err(self.bad_value(bytes, e)),
                        }
                    }
                    *slot = if v.is_empty() || (binary1 && v.iter().all(Option::is_none)) {
                        Value::Null
                    } else {
                        Value::BooleanArray(v)
                    };
                    Ok(())
                }
            }
            Datatype::Bit => {
                let mut v = match std::mem::take(slot) {
                    Value::BitArray(v) => v,
                    _ => Vec::new(),
                };
                v.clear();
                v.extend((0..count).map(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0));
                *slot = if v.is_empty() {
                    Value::Null
                } else {
                    Value::BitArray(v)
                };
                Ok(())
            }
            Datatype::UnsignedByte => self.bin_num::<u8>(bytes, binary1, slot),
            Datatype::Short => self.bin_num::<i16>(bytes, binary1, slot),
            Datatype::Int => self.bin_num::<i32>(bytes, binary1, slot),
            Datatype::Long => self.bin_num::<i64>(bytes, binary1, slot),
            Datatype::Float => self.bin_num::<f32>(bytes, binary1, slot),
            Datatype::Double => self.bin_num::<f64>(bytes, binary1, slot),
            Datatype::FloatComplex => self.bin_complex::<f32>(bytes, binary1, slot),
            Datatype::DoubleComplex => self.bin_complex::<f64>(bytes, binary1, slot),
        };
        r.map_err(|reason| self.bad_value(bytes, reason))
    }

    fn bin_num<T: Num>(&self, bytes: &[u8], binary1: bool, slot: &mut Value) -> Result<(), String> {
        if self.shape == Shape::Scalar {
            let x = T::from_be(bytes);
            let sentinel = binary1 && x.is_null(self);
            *slot = if sentinel || x.is_nan() {
                Value::Null
            } else {
                x.scalar()
            };
            return Ok(());
        }
        let mut v = T::take_vec(slot);
        v.extend(bytes.chunks_exact(T::SIZE).map(T::from_be));
        let all_null = binary1 && v.iter().all(|x| x.is_null(self) || x.is_nan());
        *slot = if v.is_empty() || all_null {
            Value::Null
        } else {
            T::array(v)
        };
        Ok(())
    }

    fn bin_complex<T: Num>(
        &self,
        bytes: &[u8],
        binary1: bool,
        slot: &mut Value,
    ) -> Result<(), String> {
        let pairs: Vec<(T, T)> = bytes
            .chunks_exact(2 * T::SIZE)
            .map(|c| (T::from_be(&c[..T::SIZE]), T::from_be(&c[T::SIZE..])))
            .collect();
        let scalar = self.shape == Shape::Scalar;
        let all_nan = (binary1 || scalar) && pairs.iter().all(|(a, b)| a.is_nan() && b.is_nan());
        *slot = if pairs.is_empty() || all_nan {
            Value::Null
        } else if self.shape == Shape::Scalar {
            T::complex(pairs[0].0, pairs[0].1)
        } else {
            T::complex_array(pairs)
        };
        Ok(())
    }
}

/// Words some services write for a null number.
fn is_null_word(t: &[u8]) -> bool {
    t.eq_ignore_ascii_case(b"null") || t == b"--"
}

fn parse_bool(t: &[u8]) -> Result<Option<bool>, String> {
    let t = trim(t);
    Ok(match t {
        b"" | b"?" => None,
        [c] => bool_byte(*c)?,
        _ if t.eq_ignore_ascii_case(b"true") => Some(true),
        _ if t.eq_ignore_ascii_case(b"false") => Some(false),
        _ => return Err("not a valid boolean".into()),
    })
}

fn bool_byte(c: u8) -> Result<Option<bool>, String> {
    match c {
        b'T' | b't' | b'1' => Ok(Some(true)),
        b'F' | b'f' | b'0' => Ok(Some(false)),
        b'?' | b' ' | 0 => Ok(None),
        _ => Err(format!("byte 0x{c:02x} is not a valid boolean")),
    }
}

fn text_bits(t: &[u8], slot: &mut Value) -> Result<(), String> {
    let mut v = match std::mem::take(slot) {
        Value::BitArray(v) => v,
        _ => Vec::new(),
    };
    v.clear();
    for &c in t {
        match c {
            b'0' => v.push(false),
            b'1' => v.push(true),
            c if c.is_ascii_whitespace() => {}
            _ => return Err("bits must be 0 or 1".into()),
        }
    }
    *slot = Value::BitArray(v);
    Ok(())
}

pub(crate) fn trim(t: &[u8]) -> &[u8] {
    let mut s = 0;
    let mut e = t.len();
    while s < e && t[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && t[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    &t[s..e]
}

fn trim_end_spaces(t: &[u8]) -> &[u8] {
    let mut e = t.len();
    while e > 0 && t[e - 1] == b' ' {
        e -= 1;
    }
    &t[..e]
}

/// Stores `bytes` as a string in `slot`, reusing its allocation; invalid UTF-8 is
/// read as Latin-1.
#[inline]
pub(crate) fn set_string_bytes(slot: &mut Value, bytes: &[u8]) {
    fn fill(s: &mut String, bytes: &[u8]) {
        s.clear();
        match std::str::from_utf8(bytes) {
            Ok(t) => s.push_str(t),
            Err(_) => s.extend(bytes.iter().map(|&b| char::from(b))),
        }
    }
    if let Value::String(s) = slot {
        fill(s, bytes);
    } else {
        let mut s = String::with_capacity(bytes.len());
        fill(&mut s, bytes);
        *slot = Value::String(s);
    }
}

/// Parses a decimal or `0x` hexadecimal integer.
pub(crate) fn parse_int(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    if let Some(hex) = digits
        .strip_prefix(b"0x")
        .or_else(|| digits.strip_prefix(b"0X"))
    {
        let u = u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        // Hex literals give the bit pattern (0xFFFFFFFF for int -1 is not allowed by
        // the standard, but 0x7FFF... is); negative hex applies the sign.
        let v = i64::try_from(u).ok()?;
        return Some(if neg { -v } else { v });
    }
    let mut acc: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc.checked_mul(10)?;
        acc = if neg {
            acc.checked_sub(i64::from(d))?
        } else {
            acc.checked_add(i64::from(d))?
        };
    }
    Some(acc)
}

/// A numeric element type.
pub(crate) trait Num: Copy + PartialEq + Sized {
    const SIZE: usize;
    const NAME: &'static str;
    fn from_be(b: &[u8]) -> Self;
    fn parse_text(t: &[u8]) -> Option<Self>;
    fn scalar(self) -> Value;
    fn take_vec(slot: &mut Value) -> Vec<Self>;
    fn array(v: Vec<Self>) -> Value;
    fn is_null(self, spec: &FieldSpec) -> bool;
    fn is_nan(self) -> bool {
        false
    }
    fn complex(_re: Self, _im: Self) -> Value {
        Value::Null
    }
    fn complex_array(_v: Vec<(Self, Self)>) -> Value {
        Value::Null
    }
}

macro_rules! int_num {
    ($t:ty, $name:literal, $scalar:ident, $array:ident) => {
        impl Num for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const NAME: &'static str = $name;
            #[inline]
            fn from_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..std::mem::size_of::<$t>()]);
                <$t>::from_be_bytes(a)
            }
            #[inline]
            fn parse_text(t: &[u8]) -> Option<Self> {
                let v = parse_int(trim(t))?;
                <$t>::try_from(v).ok()
            }
            fn scalar(self) -> Value {
                Value::$scalar(self)
            }
            fn take_vec(slot: &mut Value) -> Vec<Self> {
                match std::mem::take(slot) {
                    Value::$array(mut v) => {
                        v.clear();
                        v
                    }
                    _ => Vec::new(),
                }
            }
            fn array(v: Vec<Self>) -> Value {
                Value::$array(v)
            }
            #[inline]
            fn is_null(self, spec: &FieldSpec) -> bool {
                spec.null_int == Some(i64::from(self))
            }
        }
    };
}

int_num!(u8, "unsignedByte", UnsignedByte, UnsignedByteArray);
int_num!(i16, "short", Short, ShortArray);
int_num!(i32, "int", Int, IntArray);
int_num!(i64, "long", Long, LongArray);

macro_rules! float_num {
    ($t:ty, $name:literal, $scalar:ident, $array:ident, $cs:ident, $ca:ident) => {
        impl Num for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const NAME: &'static str = $name;
            #[inline]
            fn from_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..std::mem::size_of::<$t>()]);
                <$t>::from_be_bytes(a)
            }
            #[inline]
            fn parse_text(t: &[u8]) -> Option<Self> {
                let s = std::str::from_utf8(trim(t)).ok()?;
                let s = s.strip_prefix('+').unwrap_or(s);
                match s.parse::<$t>() {
                    Ok(v) => Some(v),
                    Err(_)
                        if s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("infinity") =>
                    {
                        Some(<$t>::INFINITY)
                    }
                    Err(_) => None,
                }
            }
            fn scalar(self) -> Value {
                Value::$scalar(self)
            }
            fn take_vec(slot: &mut Value) -> Vec<Self> {
                match std::mem::take(slot) {
                    Value::$array(mut v) => {
                        v.clear();
                        v
                    }
                    _ => Vec::new(),
                }
            }
            fn array(v: Vec<Self>) -> Value {
                Value::$array(v)
            }
            #[inline]
            fn is_null(self, spec: &FieldSpec) -> bool {
                spec.null_float == Some(f64::from(self))
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn complex(re: Self, im: Self) -> Value {
                Value::$cs(re, im)
            }
            fn complex_array(v: Vec<(Self, Self)>) -> Value {
                Value::$ca(v)
            }
        }
    };
}

float_num!(
    f32,
    "float",
    Float,
    FloatArray,
    FloatComplex,
    FloatComplexArray
);
float_num!(
    f64,
    "double",
    Double,
    DoubleArray,
    DoubleComplex,
    DoubleComplexArray
);
