//! Datatypes and array sizes (VOTable 1.5, sections 2.1 and 5.2).

use std::fmt;
use std::str::FromStr;

/// A primitive VOTable datatype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Datatype {
    /// `boolean`: one byte in binary (`T`, `F`, `?` ...).
    Boolean,
    /// `bit`: packed bits.
    Bit,
    /// `unsignedByte`.
    UnsignedByte,
    /// `short` (16-bit).
    Short,
    /// `int` (32-bit).
    Int,
    /// `long` (64-bit).
    Long,
    /// `char`: one byte (ASCII, read leniently as Latin-1/UTF-8).
    Char,
    /// `unicodeChar`: UCS-2 in binary.
    UnicodeChar,
    /// `float` (32-bit IEEE).
    Float,
    /// `double` (64-bit IEEE).
    Double,
    /// `floatComplex`: two floats.
    FloatComplex,
    /// `doubleComplex`: two doubles.
    DoubleComplex,
}

impl Datatype {
    /// The attribute value as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::Boolean => "boolean",
            Datatype::Bit => "bit",
            Datatype::UnsignedByte => "unsignedByte",
            Datatype::Short => "short",
            Datatype::Int => "int",
            Datatype::Long => "long",
            Datatype::Char => "char",
            Datatype::UnicodeChar => "unicodeChar",
            Datatype::Float => "float",
            Datatype::Double => "double",
            Datatype::FloatComplex => "floatComplex",
            Datatype::DoubleComplex => "doubleComplex",
        }
    }

    /// The size of one element in the binary serializations, in bytes
    /// (`bit` is reported as 0: it is packed, see [`ArraySize`]).
    pub fn binary_size(self) -> usize {
        match self {
            Datatype::Bit => 0,
            Datatype::Boolean | Datatype::UnsignedByte | Datatype::Char => 1,
            Datatype::Short | Datatype::UnicodeChar => 2,
            Datatype::Int | Datatype::Float => 4,
            Datatype::Long | Datatype::Double | Datatype::FloatComplex => 8,
            Datatype::DoubleComplex => 16,
        }
    }

    /// Whether values of this type are character strings.
    pub fn is_character(self) -> bool {
        matches!(self, Datatype::Char | Datatype::UnicodeChar)
    }
}

impl fmt::Display for Datatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown `datatype` attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDatatype(pub String);

impl fmt::Display for UnknownDatatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown datatype {:?}", self.0)
    }
}

impl std::error::Error for UnknownDatatype {}

impl FromStr for Datatype {
    type Err = UnknownDatatype;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "boolean" => Datatype::Boolean,
            "bit" => Datatype::Bit,
            "unsignedByte" => Datatype::UnsignedByte,
            "short" => Datatype::Short,
            "int" => Datatype::Int,
            "long" => Datatype::Long,
            "char" => Datatype::Char,
            "unicodeChar" => Datatype::UnicodeChar,
            "float" => Datatype::Float,
            "double" => Datatype::Double,
            "floatComplex" => Datatype::FloatComplex,
            "doubleComplex" => Datatype::DoubleComplex,
            other => return Err(UnknownDatatype(other.to_owned())),
        })
    }
}

/// One dimension of an `arraysize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Dim {
    /// A fixed length, e.g. `10`.
    Fixed(u32),
    /// A variable length with no bound, `*`.
    Variable,
    /// A variable length with an upper bound, e.g. `10*`.
    Bounded(u32),
}

/// A parsed `arraysize` such as `10`, `*`, `8*`, `3x4` or `2x3x*`.
///
/// Dimensions are stored in document order: the first varies fastest (FITS order).
/// Only the last dimension may be variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ArraySize {
    dims: Vec<Dim>,
}

/// Error for a malformed `arraysize` attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadArraySize(pub String);

impl fmt::Display for BadArraySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed arraysize {:?}", self.0)
    }
}

impl std::error::Error for BadArraySize {}

impl ArraySize {
    /// A one-dimensional fixed size.
    pub fn fixed(n: u32) -> Self {
        ArraySize {
            dims: vec![Dim::Fixed(n)],
        }
    }

    /// A one-dimensional variable size `*`.
    pub fn variable() -> Self {
        ArraySize {
            dims: vec![Dim::Variable],
        }
    }

    /// A one-dimensional bounded size `n*`.
    pub fn bounded(n: u32) -> Self {
        ArraySize {
            dims: vec![Dim::Bounded(n)],
        }
    }

    /// Builds an arraysize from dimensions.
    ///
    /// # Errors
    /// When `dims` is empty or a dimension other than the last is variable.
    pub fn from_dims(dims: Vec<Dim>) -> Result<Self, BadArraySize> {
        let render = || {
            let a = ArraySize { dims: dims.clone() };
            a.to_string()
        };
        if dims.is_empty() {
            return Err(BadArraySize(String::new()));
        }
        if dims[..dims.len() - 1]
            .iter()
            .any(|d| !matches!(d, Dim::Fixed(_)))
        {
            return Err(BadArraySize(render()));
        }
        Ok(ArraySize { dims })
    }

    /// The dimensions, first (fastest varying) first.
    pub fn dims(&self) -> &[Dim] {
        &self.dims
    }

    /// Whether the last dimension is variable (`*` or `n*`).
    pub fn is_variable(&self) -> bool {
        matches!(self.dims.last(), Some(Dim::Variable | Dim::Bounded(_)))
    }

    /// The number of elements in all but the last dimension, multiplied with overflow
    /// checking: the size of one "slice" of a variable array.
    pub fn slice_len(&self) -> Option<u64> {
        let mut n: u64 = 1;
        for d in &self.dims[..self.dims.len() - 1] {
            if let Dim::Fixed(k) = d {
                n = n.checked_mul(u64::from(*k))?;
            }
        }
        Some(n)
    }

    /// The total element count for a fixed-size array, `None` when variable or on overflow.
    pub fn fixed_len(&self) -> Option<u64> {
        let mut n: u64 = 1;
        for d in &self.dims {
            match d {
                Dim::Fixed(k) => n = n.checked_mul(u64::from(*k))?,
                _ => return None,
            }
        }
        Some(n)
    }

    /// The upper bound on the element count, if any (`n*` bound times the slice length).
    pub fn max_len(&self) -> Option<u64> {
        match self.dims.last()? {
            Dim::Fixed(_) => self.fixed_len(),
            Dim::Bounded(b) => self.slice_len()?.checked_mul(u64::from(*b)),
            Dim::Variable => None,
        }
    }
}

impl FromStr for ArraySize {
    type Err = BadArraySize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadArraySize(s.to_owned());
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(bad());
        }
        let mut dims = Vec::new();
        for part in trimmed.split('x') {
            let part = part.trim();
            let dim = if part == "*" {
                Dim::Variable
            } else if let Some(n) = part.strip_suffix('*') {
                Dim::Bounded(n.parse().map_err(|_| bad())?)
            } else {
                Dim::Fixed(part.parse().map_err(|_| bad())?)
            };
            dims.push(dim);
        }
        ArraySize::from_dims(dims).map_err(|_| bad())
    }
}

impl fmt::Display for ArraySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.dims.iter().enumerate() {
            if i > 0 {
                f.write_str("x")?;
            }
            match d {
                Dim::Fixed(n) => write!(f, "{n}")?,
                Dim::Variable => f.write_str("*")?,
                Dim::Bounded(n) => write!(f, "{n}*")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arraysize_round_trips() {
        for s in ["1", "*", "10*", "3x4", "2x3x*", "2x3x5*"] {
            let a: ArraySize = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn arraysize_rejects_inner_variable_and_overflow_is_checked() {
        assert!("*x3".parse::<ArraySize>().is_err());
        assert!("".parse::<ArraySize>().is_err());
        assert!("ax3".parse::<ArraySize>().is_err());
        let huge: ArraySize = "4294967295x4294967295x4294967295".parse().unwrap();
        assert_eq!(huge.fixed_len(), None);
    }
}
