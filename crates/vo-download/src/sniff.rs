//! Content checks: is the downloaded file what it claims to be?
//!
//! An archive that wants a login answers `200 OK` with an HTML page; saving that as
//! `*.fits` is the classic failure of download scripts.
//! [`check_head`] looks at the first bytes, and [`check_fits_header`] reads a FITS primary
//! header (80-byte cards in 2880-byte blocks, FITS 4.0 §4) up to its `END` card and checks
//! the mandatory keywords.

use std::io::Read;

/// What the caller expects to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Expect {
    /// Anything, HTML included.
    Any,
    /// Any data except an HTML page (the default).
    #[default]
    Data,
    /// A FITS file (possibly `.Z`/gzip compressed): the primary header is checked.
    Fits,
    /// An XML document.
    Xml,
    /// A VOTable document.
    VoTable,
}

/// What the first bytes of a file look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentKind {
    /// Starts with the FITS `SIMPLE  =` card.
    Fits,
    /// An HTML page.
    Html,
    /// A VOTable document.
    VoTable,
    /// Another XML document.
    Xml,
    /// Unix `compress` data.
    Compress,
    /// gzip data.
    Gzip,
    /// Nothing recognised.
    Unknown,
}

/// Why the content was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// An HTML page where data was expected (typically a login or error page).
    #[error("received an html page instead of data (login or error page?)")]
    Html,
    /// Not the expected kind.
    #[error("expected {expected:?} content but found {found:?}")]
    Unexpected {
        /// What was expected.
        expected: Expect,
        /// What was found.
        found: ContentKind,
    },
    /// The FITS header is malformed.
    #[error("invalid fits header: {reason}")]
    Fits {
        /// What is wrong, with the card number where it applies.
        reason: String,
    },
    /// The file is shorter than its FITS headers say.
    #[error("fits file truncated: its hdus need {needed} bytes, file has {actual}")]
    FitsTruncated {
        /// Bytes needed up to the end of the HDU that is cut off.
        needed: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A header of a FITS file is malformed, or bytes follow the last HDU.
    #[error("invalid fits hdu {hdu} at byte {offset}: {reason}")]
    FitsHdu {
        /// HDU number (0 is the primary HDU).
        hdu: u32,
        /// Byte offset of the HDU's header.
        offset: u64,
        /// What is wrong, with the card number where it applies (boxed to keep the error
        /// small).
        reason: Box<str>,
    },
    /// The data of an HDU do not sum to its `DATASUM`.
    #[error(
        "fits hdu {hdu} at byte {offset}: DATASUM mismatch, header says {stored}, data sum to {computed}"
    )]
    DatasumMismatch {
        /// HDU number (0 is the primary HDU).
        hdu: u32,
        /// Byte offset of the HDU's header.
        offset: u64,
        /// The value of `DATASUM`.
        stored: u32,
        /// The ones' complement sum of the data blocks.
        computed: u32,
    },
    /// An HDU with a `CHECKSUM` does not sum to negative zero.
    #[error(
        "fits hdu {hdu} at byte {offset}: CHECKSUM mismatch, the hdu sums to {sum:#010x} instead of 0xffffffff"
    )]
    ChecksumMismatch {
        /// HDU number (0 is the primary HDU).
        hdu: u32,
        /// Byte offset of the HDU's header.
        offset: u64,
        /// The ones' complement sum of header and data.
        sum: u32,
    },
}

impl ContentError {
    /// Whether this is damage that a fresh download may cure: a broken FITS structure, a
    /// truncated file or a failed checksum (not an HTML page or the wrong kind of file).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            ContentError::Fits { .. }
                | ContentError::FitsTruncated { .. }
                | ContentError::FitsHdu { .. }
                | ContentError::DatasumMismatch { .. }
                | ContentError::ChecksumMismatch { .. }
        )
    }
}

fn skip_bom_and_space(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[start..]
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Classifies the first bytes of a body.
pub fn sniff(head: &[u8]) -> ContentKind {
    if head.starts_with(b"SIMPLE  =") {
        return ContentKind::Fits;
    }
    match crate::decompress::Compression::sniff(head) {
        Some(crate::decompress::Compression::Compress) => return ContentKind::Compress,
        Some(crate::decompress::Compression::Gzip) => return ContentKind::Gzip,
        _ => {}
    }
    let text = skip_bom_and_space(head);
    if starts_with_ignore_case(text, b"<!doctype html") || starts_with_ignore_case(text, b"<html") {
        return ContentKind::Html;
    }
    if text.starts_with(b"<") {
        // After an XML declaration or comments, an <html> root still means HTML.
        let window = &text[..text.len().min(4096)];
        if contains_ignore_case(window, b"<!doctype html") || contains_ignore_case(window, b"<html")
        {
            return ContentKind::Html;
        }
        if contains(text, b"<VOTABLE") || contains(text, b":VOTABLE") {
            return ContentKind::VoTable;
        }
        return ContentKind::Xml;
    }
    ContentKind::Unknown
}

/// Checks decoded first bytes against what the caller expects.
///
/// For [`Expect::Fits`] pass the decompressed head of a compressed file.
///
/// # Errors
/// [`ContentError::Html`] for HTML where data was expected, [`ContentError::Unexpected`] for
/// another mismatch.
pub fn check_head(expect: Expect, head: &[u8]) -> Result<ContentKind, ContentError> {
    let found = sniff(head);
    let ok = match expect {
        Expect::Any => true,
        Expect::Data => found != ContentKind::Html,
        Expect::Fits => found == ContentKind::Fits,
        Expect::Xml => matches!(found, ContentKind::Xml | ContentKind::VoTable),
        Expect::VoTable => found == ContentKind::VoTable,
    };
    match (ok, found) {
        (true, _) => Ok(found),
        (false, ContentKind::Html) => Err(ContentError::Html),
        (false, _) => Err(ContentError::Unexpected {
            expected: expect,
            found,
        }),
    }
}

/// FITS block size in bytes.
pub const FITS_BLOCK: u64 = 2880;
const CARD: usize = 80;

/// The facts a FITS primary header gives about the file layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitsHeader {
    /// `BITPIX`.
    pub bitpix: i64,
    /// `NAXIS1..NAXISn`.
    pub axes: Vec<u64>,
    /// Header length in bytes, a multiple of 2880.
    pub header_bytes: u64,
    /// Primary data length in bytes, padded to a multiple of 2880.
    pub data_bytes: u64,
}

impl FitsHeader {
    /// Bytes taken by the primary HDU (header plus padded data).
    pub fn hdu_bytes(&self) -> u64 {
        self.header_bytes.saturating_add(self.data_bytes)
    }
}

fn fits_err(reason: impl Into<String>) -> ContentError {
    ContentError::Fits {
        reason: reason.into(),
    }
}

fn card_int(card: &[u8], index: usize, keyword: &str) -> Result<i64, ContentError> {
    let text =
        std::str::from_utf8(card).map_err(|_| fits_err(format!("card {index} is not ascii")))?;
    let value = text.get(10..).unwrap_or("");
    let value = value.split('/').next().unwrap_or("").trim();
    value.parse::<i64>().map_err(|_| {
        fits_err(format!(
            "{keyword} in card {index} is not an integer: {value:?}"
        ))
    })
}

/// Reads a FITS primary header from `input`, up to `max_blocks` 2880-byte blocks, and checks
/// `SIMPLE = T`, `BITPIX`, `NAXIS`, `NAXISn` and the `END` card.
///
/// # Errors
/// [`ContentError::Fits`] naming the first problem.
pub fn check_fits_header<R: Read>(
    mut input: R,
    max_blocks: u64,
) -> Result<FitsHeader, ContentError> {
    let mut block = vec![0u8; FITS_BLOCK as usize];
    let mut bitpix = None;
    let mut naxis: Option<usize> = None;
    let mut axes: Vec<Option<u64>> = Vec::new();
    let mut card_index = 0usize;
    for block_number in 0..max_blocks {
        read_block(&mut input, &mut block)?;
        for card in block.chunks_exact(CARD) {
            if !card.iter().all(|b| (0x20..=0x7e).contains(b)) {
                return Err(fits_err(format!(
                    "card {card_index} holds non-ascii or control bytes"
                )));
            }
            let keyword = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
            match (card_index, keyword) {
                (0, "SIMPLE") => {
                    let value = std::str::from_utf8(&card[10..]).unwrap_or("").trim_start();
                    if card[8..10] != *b"= " || !value.starts_with('T') {
                        return Err(fits_err("first card is not SIMPLE = T"));
                    }
                }
                (0, _) => return Err(fits_err("first card is not SIMPLE")),
                (1, "BITPIX") => {
                    let value = card_int(card, card_index, "BITPIX")?;
                    if ![8, 16, 32, 64, -32, -64].contains(&value) {
                        return Err(fits_err(format!(
                            "BITPIX {value} is not one of 8, 16, 32, 64, -32, -64"
                        )));
                    }
                    bitpix = Some(value);
                }
                (1, _) => return Err(fits_err("second card is not BITPIX")),
                (2, "NAXIS") => {
                    let value = card_int(card, card_index, "NAXIS")?;
                    if !(0..=999).contains(&value) {
                        return Err(fits_err(format!("NAXIS {value} is outside 0..=999")));
                    }
                    naxis = Some(value as usize);
                    axes = vec![None; value as usize];
                }
                (2, _) => return Err(fits_err("third card is not NAXIS")),
                (_, "END") => {
                    return finish_header(bitpix, naxis, &axes, block_number + 1);
                }
                (_, kw) if kw.starts_with("NAXIS") => {
                    if let Ok(n) = kw[5..].parse::<usize>() {
                        if (1..=axes.len()).contains(&n) {
                            let value = card_int(card, card_index, kw)?;
                            let value = u64::try_from(value)
                                .map_err(|_| fits_err(format!("{kw} is negative")))?;
                            axes[n - 1] = Some(value);
                        }
                    }
                }
                _ => {}
            }
            card_index += 1;
        }
    }
    Err(fits_err(format!(
        "no END card within {max_blocks} header blocks"
    )))
}

fn read_block<R: Read>(input: &mut R, block: &mut [u8]) -> Result<(), ContentError> {
    let mut filled = 0;
    while filled < block.len() {
        match input.read(&mut block[filled..]) {
            Ok(0) => return Err(fits_err("file ends inside the header")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fits_err(format!("cannot read header: {e}"))),
        }
    }
    Ok(())
}

fn finish_header(
    bitpix: Option<i64>,
    naxis: Option<usize>,
    axes: &[Option<u64>],
    blocks: u64,
) -> Result<FitsHeader, ContentError> {
    let (Some(bitpix), Some(naxis)) = (bitpix, naxis) else {
        return Err(fits_err("missing BITPIX or NAXIS"));
    };
    let mut values = Vec::with_capacity(naxis);
    for (i, axis) in axes.iter().enumerate() {
        values.push(axis.ok_or_else(|| fits_err(format!("missing NAXIS{}", i + 1)))?);
    }
    let overflow = || fits_err("data size overflows");
    let data = if values.is_empty() {
        0
    } else {
        values
            .iter()
            .try_fold(bitpix.unsigned_abs() / 8, |acc, &n| acc.checked_mul(n))
            .ok_or_else(overflow)?
    };
    let padded = data
        .div_ceil(FITS_BLOCK)
        .checked_mul(FITS_BLOCK)
        .ok_or_else(overflow)?;
    Ok(FitsHeader {
        bitpix,
        axes: values,
        header_bytes: blocks * FITS_BLOCK,
        data_bytes: padded,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid FITS file with the given cards after NAXIS and `data_len` data bytes.
    pub(crate) fn fits_file(bitpix: i64, axes: &[u64], data: &[u8]) -> Vec<u8> {
        let mut cards = vec![
            format!("{:<8}= {:>20}", "SIMPLE", "T"),
            format!("{:<8}= {:>20}", "BITPIX", bitpix),
            format!("{:<8}= {:>20}", "NAXIS", axes.len()),
        ];
        for (i, n) in axes.iter().enumerate() {
            cards.push(format!("{:<8}= {:>20}", format!("NAXIS{}", i + 1), n));
        }
        cards.push("END".to_owned());
        let mut out = Vec::new();
        for card in cards {
            out.extend(format!("{card:<80}").bytes());
        }
        out.resize(out.len().div_ceil(2880) * 2880, b' ');
        out.extend_from_slice(data);
        if !data.is_empty() {
            out.resize(out.len().div_ceil(2880) * 2880, 0);
        }
        out
    }

    #[test]
    fn sniff_table() {
        let cases: &[(&[u8], ContentKind)] = &[
            (b"SIMPLE  =                    T", ContentKind::Fits),
            (b"<!DOCTYPE html><html>", ContentKind::Html),
            (b"\xef\xbb\xbf  \n<HTML><body>login", ContentKind::Html),
            (
                b"<?xml version='1.0'?>\n<!DOCTYPE html PUBLIC>",
                ContentKind::Html,
            ),
            (
                b"<?xml version='1.0'?><VOTABLE version='1.4'>",
                ContentKind::VoTable,
            ),
            (b"<?xml version='1.0'?><v:VOTABLE>", ContentKind::VoTable),
            (b"<?xml version='1.0'?><uws:job>", ContentKind::Xml),
            (b"\x1f\x9d\x90", ContentKind::Compress),
            (b"\x1f\x8b\x08", ContentKind::Gzip),
            (b"plain text", ContentKind::Unknown),
            (b"", ContentKind::Unknown),
        ];
        for (head, kind) in cases {
            assert_eq!(sniff(head), *kind, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn expectations() {
        let html = b"<!doctype html><title>Login</title>";
        assert_eq!(check_head(Expect::Data, html), Err(ContentError::Html));
        assert_eq!(check_head(Expect::Fits, html), Err(ContentError::Html));
        assert_eq!(check_head(Expect::Any, html), Ok(ContentKind::Html));
        assert_eq!(check_head(Expect::Data, b"abc"), Ok(ContentKind::Unknown));
        assert!(matches!(
            check_head(Expect::Fits, b"abc"),
            Err(ContentError::Unexpected { .. })
        ));
        assert!(check_head(Expect::Xml, b"<?xml version='1.0'?><VOTABLE>").is_ok());
        assert!(check_head(Expect::VoTable, b"<?xml version='1.0'?><a/>").is_err());
    }

    #[test]
    fn fits_header_good() {
        let file = fits_file(16, &[10, 3], &[0u8; 60]);
        let header = check_fits_header(&file[..], 10).unwrap();
        assert_eq!(header.bitpix, 16);
        assert_eq!(header.axes, vec![10, 3]);
        assert_eq!(header.header_bytes, 2880);
        assert_eq!(header.data_bytes, 2880);
        assert_eq!(header.hdu_bytes() as usize, file.len());
        let empty = fits_file(8, &[], &[]);
        assert_eq!(check_fits_header(&empty[..], 10).unwrap().data_bytes, 0);
    }

    #[test]
    fn fits_header_errors() {
        let file = fits_file(16, &[10], &[]);
        let mutate = |from: &str, to: &str| {
            let text = String::from_utf8(file.clone())
                .unwrap()
                .replacen(from, to, 1);
            check_fits_header(text.as_bytes(), 10)
        };
        assert!(
            mutate(
                "BITPIX  =                   16",
                "BITPIX  =                   17"
            )
            .is_err()
        );
        assert!(
            mutate(
                "SIMPLE  =                    T",
                "SIMPLE  =                    F"
            )
            .is_err()
        );
        assert!(
            mutate(
                "NAXIS1  =                   10",
                "NAXIS2  =                   10"
            )
            .is_err()
        );
        assert!(
            mutate(
                "NAXIS1  =                   10",
                "NAXIS1  =                  -10"
            )
            .is_err()
        );
        assert!(
            mutate(
                "NAXIS1  =                   10",
                "NAXIS1  = 4611686018427387904"
            )
            .is_err()
        );
        assert!(mutate("END", "XXX").is_err());
        assert!(
            mutate(
                "NAXIS   =                    1",
                "NAXIS   =                 1000"
            )
            .is_err()
        );
        let mut non_ascii = file.clone();
        non_ascii[100] = 0xff;
        assert!(check_fits_header(&non_ascii[..], 10).is_err());
        assert!(check_fits_header(&file[..100], 10).is_err());
        assert!(check_fits_header(&b"<html>"[..], 10).is_err());
    }

    proptest::proptest! {
        #[test]
        fn fits_header_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6000)) {
            let _ = check_fits_header(&bytes[..], 3);
            let _ = sniff(&bytes);
        }
    }
}
