//! BINARY and BINARY2: a streaming base64 decoder over the `STREAM` text and the
//! row decoder on top of it. Variable-length prefixes are checked against the
//! declared bound and the cell size limit before anything is allocated, and the
//! decoded buffer only ever holds bytes that were actually present in the input.

use std::io::Read;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::Limits;
use crate::error::ErrorKind;
use crate::source::Source;
use crate::spec::{FieldSpec, Shape};
use crate::value::Value;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A failure while decoding binary rows.
#[derive(Debug)]
pub(crate) enum Fail {
    Io(std::io::Error),
    /// At the current input position, in field `td` if known (boxed: keeps the
    /// hot `Result`s small).
    At(Option<usize>, Box<ErrorKind>),
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::Io(e)
    }
}

/// Streaming base64 decoder state.
#[derive(Debug, Default)]
pub(crate) struct B64 {
    out: Vec<u8>,
    opos: usize,
    pending: Vec<u8>,
    done: bool,
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Appends `src` to `dst` without XML whitespace. Words of 8 bytes with no byte
/// `<= 0x20` are skipped over in one test.
fn compact_ws(src: &[u8], dst: &mut Vec<u8>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    dst.reserve(src.len());
    let mut run = 0;
    let mut i = 0;
    while i + 8 <= src.len() {
        let mut a = [0u8; 8];
        a.copy_from_slice(&src[i..i + 8]);
        let x = u64::from_le_bytes(a);
        if x.wrapping_sub(ONES * 0x21) & !x & HIGHS != 0 {
            for j in i..i + 8 {
                if is_ws(src[j]) {
                    dst.extend_from_slice(&src[run..j]);
                    run = j + 1;
                }
            }
        }
        i += 8;
    }
    for j in i..src.len() {
        if is_ws(src[j]) {
            dst.extend_from_slice(&src[run..j]);
            run = j + 1;
        }
    }
    dst.extend_from_slice(&src[run..]);
}

impl B64 {
    pub(crate) fn reset(&mut self) {
        self.out.clear();
        self.opos = 0;
        self.pending.clear();
        self.done = false;
    }

    /// Whether the whole STREAM text has been consumed and decoded.
    #[cfg(test)]
    pub(crate) fn exhausted(&self) -> bool {
        self.done && self.opos == self.out.len()
    }

    /// Makes at least `need` decoded bytes available; `false` if the stream ends first.
    #[inline]
    fn fill<R: Read>(&mut self, src: &mut Source<R>, need: usize) -> Result<bool, Fail> {
        while self.out.len() - self.opos < need {
            if self.done {
                return Ok(false);
            }
            self.decode_more(src)?;
        }
        Ok(true)
    }

    fn decode_more<R: Read>(&mut self, src: &mut Source<R>) -> Result<(), Fail> {
        if src.window().is_empty() && !src.more(256 * 1024)? {
            return Err(Fail::At(
                None,
                Box::new(ErrorKind::UnexpectedEof("input ended inside STREAM".into())),
            ));
        }
        let w = src.window();
        let (region, hit) = match memchr::memchr(b'<', w) {
            Some(p) => (&w[..p], true),
            None => (w, false),
        };
        compact_ws(region, &mut self.pending);
        let n = region.len();
        src.advance(n);
        if hit {
            self.done = true;
        }
        let k = if self.done {
            self.pending.len()
        } else {
            self.pending.len() / 4 * 4
        };
        if k == 0 {
            return Ok(());
        }
        if self.opos > 0 {
            self.out.drain(..self.opos);
            self.opos = 0;
        }
        let start = self.out.len();
        self.out.resize(start + k / 4 * 3 + 3, 0);
        match ENGINE.decode_slice(&self.pending[..k], &mut self.out[start..]) {
            Ok(m) => self.out.truncate(start + m),
            Err(e) => return Err(Fail::At(None, Box::new(ErrorKind::Base64(e.to_string())))),
        }
        self.pending.drain(..k);
        Ok(())
    }

    #[inline]
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.out[self.opos..self.opos + n];
        self.opos += n;
        s
    }
}

/// Decodes the next row; `false` at the clean end of the stream.
pub(crate) fn next_row<R: Read>(
    b64: &mut B64,
    src: &mut Source<R>,
    specs: &[FieldSpec],
    values: &mut [Value],
    binary2: bool,
    flags: &mut Vec<u8>,
    limits: &Limits,
) -> Result<bool, Fail> {
    if !b64.fill(src, 1)? {
        return Ok(false);
    }
    let truncated = |td: Option<usize>| {
        Fail::At(
            td,
            Box::new(ErrorKind::UnexpectedEof(
                "STREAM ended in the middle of a row".into(),
            )),
        )
    };
    flags.clear();
    // Bytes this row takes from the stream: a row of zero bytes (no fields, or only empty
    // fixed arrays) would never reach the end of a non-empty stream.
    let mut consumed = 0usize;
    if binary2 {
        let n = specs.len().div_ceil(8);
        if !b64.fill(src, n)? {
            return Err(truncated(None));
        }
        flags.extend_from_slice(b64.take(n));
        consumed += n;
    }
    for (i, spec) in specs.iter().enumerate() {
        let count = match spec.shape {
            Shape::Scalar => 1,
            Shape::Fixed(n) => n,
            Shape::Var(max) => {
                if !b64.fill(src, 4)? {
                    return Err(truncated(Some(i)));
                }
                let p = b64.take(4);
                consumed += 4;
                let n = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
                if let Some(m) = max {
                    if n > m {
                        return Err(Fail::At(
                            Some(i),
                            Box::new(spec.bad_value(
                                &p[..0],
                                format!("length prefix {n} exceeds the declared bound {m}"),
                            )),
                        ));
                    }
                }
                n
            }
        };
        let nbytes = spec
            .byte_len(count)
            .filter(|&b| b <= limits.max_cell_bytes)
            .ok_or_else(|| {
                Fail::At(
                    Some(i),
                    Box::new(ErrorKind::TooLarge {
                        what: "cell",
                        limit: limits.max_cell_bytes,
                    }),
                )
            })?;
        if !b64.fill(src, nbytes)? {
            return Err(truncated(Some(i)));
        }
        let bytes = b64.take(nbytes);
        consumed += nbytes;
        if binary2 && flags[i / 8] & (0x80 >> (i % 8)) != 0 {
            values[i] = Value::Null;
        } else {
            spec.decode_binary(bytes, count, !binary2, &mut values[i])
                .map_err(|k| Fail::At(Some(i), Box::new(k)))?;
        }
    }
    if consumed == 0 {
        return Err(Fail::At(
            None,
            Box::new(ErrorKind::Structure(
                "the table's rows take no bytes (no fields, or only empty arrays), but its binary STREAM has data".into(),
            )),
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_whitespace() {
        let mut out = Vec::new();
        compact_ws(b"QUJD\nREVG R0hJ\r\n\tSktM", &mut out);
        assert_eq!(out, b"QUJDREVGR0hJSktM");
    }

    #[test]
    fn decodes_across_chunks() {
        let text = "QUJDREVGR0hJSktM\n".repeat(40000) + "</STREAM>";
        let mut src = Source::new(text.as_bytes());
        let mut b = B64::default();
        let mut total = 0;
        while b.fill(&mut src, 1).unwrap() {
            let n = b.out.len() - b.opos;
            total += n;
            b.take(n);
        }
        assert_eq!(total, 12 * 40000);
        assert!(b.exhausted());
        assert!(src.window().starts_with(b"</STREAM>"));
    }
}
