//! Streaming decompression with an output cap: Unix `compress` (`.Z`, LZW) and gzip (`.gz`).
//!
//! The `.Z` format has no formal specification; the decoder follows the behaviour of the
//! original `compress(1)` (as kept alive by ncompress and `gzip -d`):
//!
//! * a three-byte header: magic `1f 9d`, then a flags byte whose low five bits give the
//!   maximum code width (9 to 16) and whose bit `0x80` selects "block mode";
//! * codes are packed least significant bit first, starting 9 bits wide and growing by one
//!   bit each time the dictionary fills the current width, up to the maximum;
//! * in block mode code 256 (CLEAR) empties the dictionary and returns to 9-bit codes,
//!   and the first free code is 257 (256 otherwise);
//! * the encoder writes codes in groups of eight, so when the width changes (growth or
//!   CLEAR) the reader skips the rest of the current group of `8 * width` bits;
//! * the "KwKwK" case: a code equal to the next free code stands for the previous string
//!   followed by its own first byte.
//!
//! Both decoders implement [`std::io::Read`] and stop with [`DecodeError::TooLarge`] as soon
//! as the output would exceed the configured limit, which guards against decompression bombs.
//! Errors surface as [`std::io::Error`] whose inner error is a [`DecodeError`]; use
//! [`DecodeError::from_io`] to get it back.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Magic bytes of a Unix `compress` (`.Z`) stream.
pub const COMPRESS_MAGIC: [u8; 2] = [0x1f, 0x9d];
/// Magic bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why a compressed stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The stream does not start with the `.Z` magic bytes `1f 9d`.
    #[error("not a compress (.Z) stream: bad magic bytes")]
    BadMagic,
    /// The stream ended inside the three-byte `.Z` header.
    #[error("truncated compress (.Z) header")]
    TruncatedHeader,
    /// The maximum code width in the header is outside 9..=16.
    #[error("unsupported maximum code width {0} in compress (.Z) header (expected 9 to 16)")]
    BadMaxBits(u8),
    /// A code that cannot occur in a valid stream (beyond the next free code, or a first code
    /// that is not a literal).
    #[error("corrupt compress (.Z) data: invalid code {code} at output byte {output_offset}")]
    Corrupt {
        /// The offending code.
        code: u32,
        /// How many bytes had been produced when it was read.
        output_offset: u64,
    },
    /// The decompressed output would exceed the limit.
    #[error("decompressed output exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The output grew more than `max_ratio` times larger than the input read so far (checked
    /// once the output passes [`RATIO_GRACE`] bytes): a decompression bomb.
    #[error(
        "decompression ratio above {max_ratio}:1 ({output} bytes out of {input} compressed bytes)"
    )]
    RatioExceeded {
        /// The configured largest ratio.
        max_ratio: u64,
        /// Compressed bytes read when the guard tripped.
        input: u64,
        /// Bytes produced when the guard tripped.
        output: u64,
    },
}

impl DecodeError {
    /// Extracts a [`DecodeError`] carried inside an [`io::Error`] produced by this module.
    pub fn from_io(err: &io::Error) -> Option<&DecodeError> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<DecodeError>())
    }

    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The compression formats this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Unix `compress` (`.Z`, LZW).
    Compress,
    /// gzip (`.gz`), possibly with several members.
    Gzip,
}

impl Compression {
    /// Recognises a format from the first bytes of a stream.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&COMPRESS_MAGIC) {
            Some(Compression::Compress)
        } else if head.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else {
            None
        }
    }

    /// Recognises a format from a file name suffix (`.Z`, `.gz`; case-sensitive for `.Z`
    /// like `uncompress`, case-insensitive for `.gz`).
    pub fn from_file_name(name: &str) -> Option<Compression> {
        if name.ends_with(".Z") {
            Some(Compression::Compress)
        } else if name.to_ascii_lowercase().ends_with(".gz") {
            Some(Compression::Gzip)
        } else {
            None
        }
    }

    /// The file name suffix of this format, including the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Compress => ".Z",
            Compression::Gzip => ".gz",
        }
    }

    /// The name of the decompressed file: `name` without this format's suffix, or `None` if
    /// `name` does not end with it or nothing would be left.
    pub fn strip_suffix(self, name: &str) -> Option<&str> {
        let suffix_len = self.suffix().len();
        if name.len() <= suffix_len || Compression::from_file_name(name) != Some(self) {
            return None;
        }
        name.get(..name.len() - suffix_len)
    }
}

/// Wraps `input` in the decoder for `format`, with an output cap of `limit` bytes.
pub fn decoder<'a, R: Read + Send + 'a>(
    format: Compression,
    input: R,
    limit: u64,
) -> Box<dyn Read + Send + 'a> {
    match format {
        Compression::Compress => Box::new(ZDecoder::new(input, limit)),
        Compression::Gzip => Box::new(Capped::new(flate2::read::MultiGzDecoder::new(input), limit)),
    }
}

/// Output produced before the ratio guard of [`decoder_with_limits`] starts checking (1 MiB):
/// small files legitimately compress very well.
pub const RATIO_GRACE: u64 = 1 << 20;

/// Limits on decompressed output, against decompression bombs (RELIABILITY.md Z2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest output in bytes.
    pub max_output: u64,
    /// Largest ratio of output to input bytes, checked after [`RATIO_GRACE`] bytes of output;
    /// `None` disables the check. LZW at 16 bits reaches well over 1000:1 on constant data,
    /// gzip about 1030:1.
    pub max_ratio: Option<u64>,
}

impl Default for DecodeLimits {
    /// 64 GiB and 1000:1.
    fn default() -> Self {
        DecodeLimits {
            max_output: 64 << 30,
            max_ratio: Some(1000),
        }
    }
}

/// Wraps `input` in the decoder for `format` with an output cap and a ratio guard.
///
/// ```
/// use std::io::{Read, Write};
/// use vo_download::decompress::{self, Compression, DecodeError, DecodeLimits};
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
/// gz.write_all(&vec![0u8; 4 << 20])?;
/// let gz = gz.finish()?;
/// let limits = DecodeLimits { max_output: u64::MAX, max_ratio: Some(100) };
/// let mut out = Vec::new();
/// let err = decompress::decoder_with_limits(Compression::Gzip, &gz[..], limits)
///     .read_to_end(&mut out)
///     .unwrap_err();
/// assert!(matches!(DecodeError::from_io(&err), Some(DecodeError::RatioExceeded { max_ratio: 100, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decoder_with_limits<'a, R: Read + Send + 'a>(
    format: Compression,
    input: R,
    limits: DecodeLimits,
) -> Box<dyn Read + Send + 'a> {
    let Some(max_ratio) = limits.max_ratio else {
        return decoder(format, input, limits.max_output);
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = Counting {
        inner: input,
        count: consumed.clone(),
    };
    Box::new(RatioGuard {
        inner: decoder(format, counted, limits.max_output),
        consumed,
        max_ratio,
        produced: 0,
    })
}

/// Counts the bytes read from `inner`.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fails once the output exceeds `max_ratio` times the input read (after the grace).
struct RatioGuard<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
    max_ratio: u64,
    produced: u64,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.produced > RATIO_GRACE {
            // Decoders read ahead, so the input is over-counted: the guard errs on the side
            // of letting data through.
            let input = self.consumed.load(Ordering::Relaxed).max(1);
            if self.produced > input.saturating_mul(self.max_ratio) {
                return Err(DecodeError::RatioExceeded {
                    max_ratio: self.max_ratio,
                    input,
                    output: self.produced,
                }
                .into_io());
            }
        }
        Ok(n)
    }
}

/// A reader that fails with [`DecodeError::TooLarge`] once more than `limit` bytes would be
/// read from the inner reader. Exactly `limit` bytes are allowed.
#[derive(Debug)]
pub struct Capped<R> {
    inner: R,
    limit: u64,
    produced: u64,
}

impl<R: Read> Capped<R> {
    /// Caps `inner` at `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Capped {
            inner,
            limit,
            produced: 0,
        }
    }

    /// Bytes read so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Allow one byte past the limit so that "exactly at the limit, then EOF" succeeds and
        // anything more is detected.
        let room = self.limit.saturating_sub(self.produced).saturating_add(1);
        let max = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(DecodeError::TooLarge { limit: self.limit }.into_io());
        }
        Ok(n)
    }
}

const CLEAR: u32 = 256;
const INIT_BITS: u32 = 9;
const INPUT_BUFFER: usize = 16 * 1024;

/// Streaming decoder for Unix `compress` (`.Z`) data, with an output cap.
///
/// ```
/// use std::io::Read;
/// // "ab" compressed by `compress -b 9` (header, then the codes 'a', 'b').
/// let data = [0x1f, 0x9d, 0x89, 0x61, 0xc4, 0x00];
/// let mut out = Vec::new();
/// vo_download::decompress::ZDecoder::new(&data[..], 1024).read_to_end(&mut out)?;
/// assert_eq!(out, b"ab");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ZDecoder<R> {
    input: R,
    in_buf: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    input_done: bool,
    /// Bit accumulator, least significant bits are the next to be consumed.
    bit_acc: u64,
    bit_count: u32,
    header: Option<Header>,
    n_bits: u32,
    max_code: u32,
    free_ent: u32,
    old_code: Option<u32>,
    fin_char: u8,
    /// Bits consumed since the current code width started, for the group padding.
    bits_in_segment: u64,
    prefix: Vec<u16>,
    suffix: Vec<u8>,
    stack: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    produced: u64,
    limit: u64,
    finished: bool,
    failed: Option<DecodeError>,
}

impl<R> std::fmt::Debug for ZDecoder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZDecoder")
            .field("n_bits", &self.n_bits)
            .field("free_ent", &self.free_ent)
            .field("produced", &self.produced)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct Header {
    max_bits: u32,
    block_mode: bool,
}

impl Header {
    fn max_max_code(self) -> u32 {
        1 << self.max_bits
    }

    /// The largest next-free code before the width grows past `n_bits`: the table size at the
    /// maximum width. Like the original compress 4.0 and `gzip -d`, the initial width is not
    /// compared with `max_bits`, so `-b 9` streams move to 10-bit codes once 512 codes exist.
    /// (ncompress 4.2's encoder keeps 9 bits there, which its own `uncompress` cannot read.)
    fn max_code(self, n_bits: u32) -> u32 {
        if n_bits == self.max_bits && n_bits != INIT_BITS {
            self.max_max_code()
        } else {
            (1 << n_bits) - 1
        }
    }
}

impl<R: Read> ZDecoder<R> {
    /// Decodes `input`, failing once the output would exceed `limit` bytes.
    pub fn new(input: R, limit: u64) -> Self {
        ZDecoder {
            input,
            in_buf: vec![0; INPUT_BUFFER].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            input_done: false,
            bit_acc: 0,
            bit_count: 0,
            header: None,
            n_bits: INIT_BITS,
            max_code: (1 << INIT_BITS) - 1,
            free_ent: 257,
            old_code: None,
            fin_char: 0,
            bits_in_segment: 0,
            prefix: Vec::new(),
            suffix: Vec::new(),
            stack: Vec::new(),
            out: Vec::with_capacity(8192),
            out_pos: 0,
            produced: 0,
            limit,
            finished: false,
            failed: None,
        }
    }

    /// Bytes produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        if self.in_pos == self.in_len {
            if self.input_done {
                return Ok(None);
            }
            loop {
                match self.input.read(&mut self.in_buf) {
                    Ok(0) => {
                        self.input_done = true;
                        return Ok(None);
                    }
                    Ok(n) => {
                        self.in_pos = 0;
                        self.in_len = n;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        let byte = self.in_buf[self.in_pos];
        self.in_pos += 1;
        Ok(Some(byte))
    }

    /// Reads `n` (at most 32) bits, or `None` if fewer than `n` remain.
    fn read_bits(&mut self, n: u32) -> io::Result<Option<u32>> {
        while self.bit_count < n {
            match self.next_byte()? {
                Some(byte) => {
                    self.bit_acc |= u64::from(byte) << self.bit_count;
                    self.bit_count += 8;
                }
                None => return Ok(None),
            }
        }
        let value = (self.bit_acc & ((1u64 << n) - 1)) as u32;
        self.bit_acc >>= n;
        self.bit_count -= n;
        self.bits_in_segment += u64::from(n);
        Ok(Some(value))
    }

    /// Skips to the end of the current group of eight codes, then starts a new segment.
    fn skip_group_padding(&mut self) -> io::Result<()> {
        let group = u64::from(self.n_bits) * 8;
        let mut pad = (group - self.bits_in_segment % group) % group;
        while pad > 0 {
            let step = pad.min(16) as u32;
            if self.read_bits(step)?.is_none() {
                break;
            }
            pad -= u64::from(step);
        }
        self.bits_in_segment = 0;
        Ok(())
    }

    fn read_header(&mut self) -> io::Result<Header> {
        let mut bytes = [0u8; 3];
        for slot in &mut bytes {
            *slot = match self.next_byte()? {
                Some(b) => b,
                None => return Err(DecodeError::TruncatedHeader.into_io()),
            };
        }
        if bytes[..2] != COMPRESS_MAGIC {
            return Err(DecodeError::BadMagic.into_io());
        }
        let max_bits = bytes[2] & 0x1f;
        if !(9..=16).contains(&max_bits) {
            return Err(DecodeError::BadMaxBits(max_bits).into_io());
        }
        let header = Header {
            max_bits: u32::from(max_bits),
            block_mode: bytes[2] & 0x80 != 0,
        };
        let size = header.max_max_code() as usize;
        self.prefix = vec![0; size];
        self.suffix = vec![0; size];
        self.free_ent = if header.block_mode { 257 } else { 256 };
        self.max_code = header.max_code(INIT_BITS);
        Ok(header)
    }

    /// Decodes codes into `self.out` until it holds some bytes or the stream ends.
    fn fill(&mut self) -> io::Result<()> {
        let header = match self.header {
            Some(h) => h,
            None => {
                let h = self.read_header()?;
                self.header = Some(h);
                h
            }
        };
        self.out.clear();
        self.out_pos = 0;
        while self.out.len() < 4096 {
            if self.free_ent > self.max_code {
                self.skip_group_padding()?;
                self.n_bits += 1;
                self.max_code = header.max_code(self.n_bits);
            }
            let Some(code) = self.read_bits(self.n_bits)? else {
                self.finished = true;
                return Ok(());
            };
            let Some(old_code) = self.old_code else {
                if code >= 256 {
                    return Err(self.corrupt(code));
                }
                self.fin_char = code as u8;
                self.old_code = Some(code);
                self.out.push(code as u8);
                continue;
            };
            if code == CLEAR && header.block_mode {
                self.skip_group_padding()?;
                self.n_bits = INIT_BITS;
                self.max_code = header.max_code(INIT_BITS);
                self.free_ent = 257;
                self.old_code = None;
                continue;
            }
            let in_code = code;
            let mut walk = code;
            self.stack.clear();
            if walk >= self.free_ent {
                if walk > self.free_ent {
                    return Err(self.corrupt(code));
                }
                self.stack.push(self.fin_char);
                walk = old_code;
            }
            while walk >= 256 {
                // Entries always point to strictly smaller codes, so this terminates.
                let idx = walk as usize;
                self.stack.push(self.suffix[idx]);
                walk = u32::from(self.prefix[idx]);
            }
            self.fin_char = walk as u8;
            self.stack.push(self.fin_char);
            self.out.extend(self.stack.iter().rev());
            if self.free_ent < header.max_max_code() {
                let idx = self.free_ent as usize;
                self.prefix[idx] = old_code as u16;
                self.suffix[idx] = self.fin_char;
                self.free_ent += 1;
            }
            self.old_code = Some(in_code);
        }
        Ok(())
    }

    fn corrupt(&self, code: u32) -> io::Error {
        DecodeError::Corrupt {
            code,
            output_offset: self.produced + self.out.len() as u64,
        }
        .into_io()
    }
}

impl<R: Read> Read for ZDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = &self.failed {
            return Err(err.clone().into_io());
        }
        if buf.is_empty() {
            return Ok(0);
        }
        while self.out_pos == self.out.len() {
            if self.finished {
                return Ok(0);
            }
            if let Err(e) = self.fill() {
                if let Some(decode) = DecodeError::from_io(&e) {
                    self.failed = Some(decode.clone());
                }
                return Err(e);
            }
        }
        let available = &self.out[self.out_pos..];
        let n = available.len().min(buf.len());
        if self.produced + n as u64 > self.limit {
            let err = DecodeError::TooLarge { limit: self.limit };
            self.failed = Some(err.clone());
            return Err(err.into_io());
        }
        buf[..n].copy_from_slice(&available[..n]);
        self.out_pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(data: &[u8], limit: u64) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        ZDecoder::new(data, limit)
            .read_to_end(&mut out)
            .map_err(|e| DecodeError::from_io(&e).cloned().expect("decode error"))?;
        Ok(out)
    }

    #[test]
    fn header_errors() {
        assert_eq!(decode(&[], 10), Err(DecodeError::TruncatedHeader));
        assert_eq!(decode(&[0x1f], 10), Err(DecodeError::TruncatedHeader));
        assert_eq!(decode(&[0x1f, 0x9d], 10), Err(DecodeError::TruncatedHeader));
        assert_eq!(decode(&[0x1f, 0x8b, 0x08], 10), Err(DecodeError::BadMagic));
        assert_eq!(
            decode(&[0x1f, 0x9d, 0x88], 10),
            Err(DecodeError::BadMaxBits(8))
        );
        assert_eq!(
            decode(&[0x1f, 0x9d, 0x91], 10),
            Err(DecodeError::BadMaxBits(17))
        );
    }

    #[test]
    fn empty_body_is_empty_output() {
        assert_eq!(decode(&[0x1f, 0x9d, 0x90], 10), Ok(Vec::new()));
    }

    #[test]
    fn first_code_must_be_literal() {
        // 9-bit code 0x101 (257) first.
        let data = pack9(&[257]);
        assert!(matches!(
            decode(&data, 10),
            Err(DecodeError::Corrupt { code: 257, .. })
        ));
    }

    #[test]
    fn code_beyond_next_free_is_corrupt() {
        // 'a' (0x61) then 300 while the next free code is 257.
        let codes = [0x61u32, 300];
        let data = pack9(&codes);
        assert!(matches!(
            decode(&data, 100),
            Err(DecodeError::Corrupt { code: 300, .. })
        ));
    }

    #[test]
    fn kwkwk_case() {
        // "aaa": codes 'a', 257 (= "a" + 'a').
        let data = pack9(&[0x61, 257]);
        assert_eq!(decode(&data, 100).unwrap(), b"aaa");
    }

    #[test]
    fn non_block_mode_uses_code_256() {
        // Flags 0x10: maxbits 16 without block mode, so 256 is an ordinary code ("ab").
        let mut data = pack9(&[0x61, 0x62, 256]);
        data[2] = 0x10;
        assert_eq!(decode(&data, 100).unwrap(), b"abab");
    }

    #[test]
    fn clear_resets_the_table() {
        // 'a', 'b', CLEAR, then after the 8-code group padding 'c', 257 ("cc").
        let mut codes = vec![0x61, 0x62, 256];
        codes.extend([0; 5]); // padding to the end of the group of eight 9-bit codes
        codes.extend([0x63, 257]);
        let data = pack9(&codes);
        assert_eq!(decode(&data, 100).unwrap(), b"abccc");
    }

    #[test]
    fn output_cap_is_exact() {
        let data = pack9(&[0x61, 257]);
        assert_eq!(decode(&data, 3).unwrap(), b"aaa");
        assert_eq!(decode(&data, 2), Err(DecodeError::TooLarge { limit: 2 }));
    }

    fn gzip_of_zeros(len: usize) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; len]).unwrap();
        encoder.finish().unwrap()
    }

    fn decode_with(data: &[u8], format: Compression, limits: DecodeLimits) -> io::Result<u64> {
        io::copy(
            &mut decoder_with_limits(format, data, limits),
            &mut io::sink(),
        )
    }

    #[test]
    fn ratio_guard_waits_for_the_grace_then_trips() {
        let limits = DecodeLimits::default();
        assert_eq!(limits.max_ratio, Some(1000));
        // The first MiB is never judged: at 10:1, 1 MiB of zeros passes and a little more
        // does not.
        let strict = DecodeLimits {
            max_ratio: Some(10),
            ..limits
        };
        let small = gzip_of_zeros(RATIO_GRACE as usize);
        assert!(RATIO_GRACE > 10 * small.len() as u64);
        assert_eq!(
            decode_with(&small, Compression::Gzip, strict).unwrap(),
            RATIO_GRACE
        );
        let over = gzip_of_zeros(RATIO_GRACE as usize + 100_000);
        assert!(decode_with(&over, Compression::Gzip, strict).is_err());
        let big = gzip_of_zeros(4 * RATIO_GRACE as usize);
        let err = decode_with(&big, Compression::Gzip, limits).unwrap_err();
        assert!(
            matches!(
                DecodeError::from_io(&err),
                Some(DecodeError::RatioExceeded { max_ratio: 1000, output, .. }) if *output > RATIO_GRACE
            ),
            "{err}"
        );
        let relaxed = DecodeLimits {
            max_ratio: Some(5000),
            ..limits
        };
        assert_eq!(
            decode_with(&big, Compression::Gzip, relaxed).unwrap(),
            4 * RATIO_GRACE
        );
        let unlimited = DecodeLimits {
            max_ratio: None,
            ..limits
        };
        assert_eq!(
            decode_with(&big, Compression::Gzip, unlimited).unwrap(),
            4 * RATIO_GRACE
        );
        // The size cap still applies under the ratio.
        let capped = DecodeLimits {
            max_output: 1000,
            max_ratio: Some(5000),
        };
        let err = decode_with(&big, Compression::Gzip, capped).unwrap_err();
        assert_eq!(
            DecodeError::from_io(&err),
            Some(&DecodeError::TooLarge { limit: 1000 })
        );
    }

    #[test]
    fn capped_reader_allows_exact_limit() {
        let mut out = Vec::new();
        Capped::new(&b"hello"[..], 5).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
        let err = Capped::new(&b"hello!"[..], 5)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(
            DecodeError::from_io(&err),
            Some(&DecodeError::TooLarge { limit: 5 })
        );
    }

    #[test]
    fn names_and_magic() {
        assert_eq!(
            Compression::from_file_name("a.fits.Z"),
            Some(Compression::Compress)
        );
        assert_eq!(
            Compression::from_file_name("a.fits.GZ"),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_file_name("a.fits.z"), None);
        assert_eq!(
            Compression::Compress.strip_suffix("a.fits.Z"),
            Some("a.fits")
        );
        assert_eq!(Compression::Compress.strip_suffix(".Z"), None);
        assert_eq!(Compression::Gzip.strip_suffix("x.tar.gz"), Some("x.tar"));
        assert_eq!(
            Compression::sniff(&[0x1f, 0x9d, 0x90]),
            Some(Compression::Compress)
        );
        assert_eq!(Compression::sniff(&[0x1f, 0x8b]), Some(Compression::Gzip));
        assert_eq!(Compression::sniff(b"SIMPLE"), None);
    }

    /// Packs 9-bit codes after a `-b 16` block-mode header (no width change happens).
    fn pack9(codes: &[u32]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x9d, 0x90];
        let mut acc: u64 = 0;
        let mut nbits = 0;
        for &c in codes {
            acc |= u64::from(c) << nbits;
            nbits += 9;
            while nbits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        }
        if nbits > 0 {
            out.push(acc as u8);
        }
        out
    }
}
