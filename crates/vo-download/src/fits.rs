//! A streaming walk over every HDU of a FITS file, with `DATASUM`/`CHECKSUM` verification.
//!
//! FITS files are sequences of header-data units (HDUs) in 2880-byte blocks (FITS 4.0 §3).
//! [`verify`] reads each header up to its `END` card, computes the data size from `BITPIX`,
//! `NAXISn`, `PCOUNT` and `GCOUNT` (FITS 4.0 §4.4.1, with `checked_mul`), reads the data
//! padded to whole blocks, and checks the FITS Checksum convention (Seaman, Pence & Rots,
//! arXiv:1201.1345) where an HDU carries it:
//!
//! * `DATASUM` is the decimal 32-bit ones' complement sum of the data blocks;
//! * `CHECKSUM` is chosen so that the ones' complement sum of the whole HDU (header with the
//!   `CHECKSUM` card, plus data) is negative zero, `0xffffffff`.
//!
//! `CHECKSUM` always covers header and data, as the convention says, also when `DATASUM` is
//! missing (astropy then sums the header alone; its own files always carry both).
//! Empty values (`''`) count as absent.
//! The sums detect accidental corruption, not tampering: anyone can recompute them.
//! Memory stays bounded: one block buffer and a few numbers per HDU, whatever the file size.
//! HDUs are numbered from 0 (the primary HDU), as astropy does.

use crate::sniff::ContentError;
use std::io::{self, Read};

/// FITS block size in bytes.
pub const BLOCK: usize = 2880;
const CARD: usize = 80;

/// A 32-bit ones' complement sum (end-around carry), as used by `DATASUM` and `CHECKSUM`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnesComplementSum(u32);

impl OnesComplementSum {
    /// The empty sum (0).
    pub fn new() -> Self {
        OnesComplementSum(0)
    }

    /// Adds `bytes` read as big-endian 32-bit words; a length that is not a multiple of 4 is
    /// padded with zero bytes (FITS blocks always are whole words).
    pub fn update(&mut self, bytes: &[u8]) {
        let mut acc = u64::from(self.0);
        let words = bytes.chunks_exact(4);
        let rest = words.remainder();
        // 2^20 words of at most 2^32 - 1 each cannot overflow 64 bits; fold between runs.
        for run in bytes[..bytes.len() - rest.len()].chunks(4 << 20) {
            let run_sum: u64 = run
                .chunks_exact(4)
                .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
                .sum();
            acc = fold(acc + fold(run_sum));
        }
        if !rest.is_empty() {
            let mut last = [0u8; 4];
            last[..rest.len()].copy_from_slice(rest);
            acc += u64::from(u32::from_be_bytes(last));
        }
        self.0 = fold(acc) as u32;
    }

    /// The ones' complement sum of `self` and `other`.
    pub fn combine(self, other: OnesComplementSum) -> OnesComplementSum {
        OnesComplementSum(fold(u64::from(self.0) + u64::from(other.0)) as u32)
    }

    /// The sum as an unsigned 32-bit number (the `DATASUM` value).
    pub fn value(self) -> u32 {
        self.0
    }
}

fn fold(mut acc: u64) -> u64 {
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc
}

/// Encodes `value` as the 16-character ASCII `CHECKSUM` string of the convention: each byte
/// is split over four characters from `0-9A-Za-z` (avoiding the punctuation between them),
/// and the string is rotated right by one character.
///
/// To make an HDU sum to negative zero, set `CHECKSUM = '0000000000000000'`, sum the HDU,
/// and encode the complement of that sum (`!sum`).
pub fn encode_checksum(value: u32) -> String {
    const EXCLUDED: [u8; 13] = [
        0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
    ];
    let mut ascii = [0u8; 16];
    for (i, byte) in value.to_be_bytes().into_iter().enumerate() {
        let quotient = byte / 4 + b'0';
        let remainder = byte % 4;
        let mut chars = [quotient; 4];
        chars[0] += remainder;
        loop {
            let mut changed = false;
            for pair in (0..4).step_by(2) {
                for excluded in EXCLUDED {
                    if chars[pair] == excluded || chars[pair + 1] == excluded {
                        chars[pair] += 1;
                        chars[pair + 1] -= 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for (j, c) in chars.into_iter().enumerate() {
            ascii[4 * j + i] = c;
        }
    }
    (0..16).map(|i| char::from(ascii[(i + 15) % 16])).collect()
}

/// What [`verify`] found in a valid file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FitsSummary {
    /// HDUs in the file.
    pub hdus: usize,
    /// Bytes of all HDUs (the file length, minus any zero-filled blocks at the end).
    pub bytes: u64,
    /// HDUs whose `DATASUM` was present and matched.
    pub datasums_verified: usize,
    /// HDUs whose `CHECKSUM` was present and matched.
    pub checksums_verified: usize,
}

/// The keyword values of one header that [`verify`] needs.
#[derive(Debug, Default)]
struct HduHeader {
    bitpix: Option<i64>,
    naxis: Option<usize>,
    axes: Vec<Option<u64>>,
    pcount: Option<u64>,
    gcount: Option<u64>,
    groups: bool,
    datasum: Option<String>,
    checksum: Option<String>,
}

/// Walks every HDU of the FITS file in `input` and verifies `DATASUM` and `CHECKSUM` where
/// present; a header may span at most `max_header_blocks` blocks.
///
/// Blocks of zeros after the last HDU are accepted (old tape padding); anything else after it
/// is an error, since a damaged `XTENSION` card would otherwise hide an extension.
///
/// # Errors
/// [`ContentError::FitsHdu`] for a malformed header or trailing bytes,
/// [`ContentError::FitsTruncated`] when the file ends inside an HDU,
/// [`ContentError::DatasumMismatch`] and [`ContentError::ChecksumMismatch`] for failed sums.
/// Each names the HDU (0 is the primary) and its byte offset.
pub fn verify<R: Read>(input: R, max_header_blocks: u64) -> Result<FitsSummary, ContentError> {
    let mut input = io::BufReader::with_capacity(256 * 1024, input);
    let mut block = vec![0u8; BLOCK];
    let mut summary = FitsSummary::default();
    let mut offset = 0u64;
    loop {
        let hdu = u32::try_from(summary.hdus).unwrap_or(u32::MAX);
        let filled = read_full(&mut input, &mut block).map_err(|e| hdu_err(hdu, offset, e))?;
        if filled == 0 {
            if hdu == 0 {
                return Err(hdu_err(0, 0, "the file is empty"));
            }
            return Ok(summary);
        }
        if hdu > 0 && !block.starts_with(b"XTENSION") {
            return trailing(&mut input, &block[..filled], hdu, offset).map(|()| summary);
        }
        if filled < BLOCK {
            return Err(ContentError::FitsTruncated {
                needed: offset + BLOCK as u64,
                actual: offset + filled as u64,
            });
        }
        let (header, header_sum, header_blocks) =
            read_header(&mut input, &mut block, hdu, offset, max_header_blocks)?;
        let header_bytes = header_blocks * BLOCK as u64;
        let data_bytes = data_size(&header).map_err(|reason| hdu_err(hdu, offset, reason))?;
        let data_offset = offset + header_bytes;
        let mut data_sum = OnesComplementSum::new();
        let mut read = 0u64;
        while read < data_bytes {
            let filled = read_full(&mut input, &mut block)
                .map_err(|e| hdu_err(hdu, data_offset + read, e))?;
            if filled < BLOCK {
                return Err(ContentError::FitsTruncated {
                    needed: data_offset + data_bytes,
                    actual: data_offset + read + filled as u64,
                });
            }
            data_sum.update(&block);
            read += BLOCK as u64;
        }
        if let Some(stored) = header.datasum.as_deref() {
            let stored: u32 = stored.parse().map_err(|_| {
                hdu_err(
                    hdu,
                    offset,
                    format!("DATASUM {stored:?} is not an unsigned 32-bit decimal number"),
                )
            })?;
            if stored != data_sum.value() {
                return Err(ContentError::DatasumMismatch {
                    hdu,
                    offset,
                    stored,
                    computed: data_sum.value(),
                });
            }
            summary.datasums_verified += 1;
        }
        if header.checksum.is_some() {
            let total = header_sum.combine(data_sum).value();
            if total != u32::MAX {
                return Err(ContentError::ChecksumMismatch {
                    hdu,
                    offset,
                    sum: total,
                });
            }
            summary.checksums_verified += 1;
        }
        offset = data_offset + data_bytes;
        summary.hdus += 1;
        summary.bytes = offset;
    }
}

/// Bytes after the last HDU: accepted only if they are whole blocks of zeros.
fn trailing<R: Read>(
    input: &mut R,
    first: &[u8],
    hdu: u32,
    offset: u64,
) -> Result<(), ContentError> {
    let problem = || {
        hdu_err(
            hdu,
            offset,
            "bytes after the last hdu are neither an XTENSION header nor zero padding",
        )
    };
    if first.len() < BLOCK || first.iter().any(|&b| b != 0) {
        return Err(problem());
    }
    let mut block = vec![0u8; BLOCK];
    loop {
        let filled = read_full(input, &mut block).map_err(|e| hdu_err(hdu, offset, e))?;
        if filled == 0 {
            return Ok(());
        }
        if filled < BLOCK || block.iter().any(|&b| b != 0) {
            return Err(problem());
        }
    }
}

/// Reads the header whose first block is in `block`; returns its values, its ones'
/// complement sum and its length in blocks.
fn read_header<R: Read>(
    input: &mut R,
    block: &mut [u8],
    hdu: u32,
    offset: u64,
    max_blocks: u64,
) -> Result<(HduHeader, OnesComplementSum, u64), ContentError> {
    let mut header = HduHeader::default();
    let mut sum = OnesComplementSum::new();
    let mut card_index = 0usize;
    let mut blocks = 0u64;
    loop {
        blocks += 1;
        sum.update(block);
        for card in block.chunks_exact(CARD) {
            if parse_card(&mut header, card, card_index, hdu)
                .map_err(|reason| hdu_err(hdu, offset, reason))?
            {
                return Ok((header, sum, blocks));
            }
            card_index += 1;
        }
        if blocks >= max_blocks {
            return Err(hdu_err(
                hdu,
                offset,
                format!("no END card within {max_blocks} header blocks"),
            ));
        }
        let filled = read_full(input, block).map_err(|e| hdu_err(hdu, offset, e))?;
        if filled < BLOCK {
            return Err(ContentError::FitsTruncated {
                needed: offset + (blocks + 1) * BLOCK as u64,
                actual: offset + blocks * BLOCK as u64 + filled as u64,
            });
        }
    }
}

/// Takes one card into `header`; returns `true` at the `END` card.
fn parse_card(header: &mut HduHeader, card: &[u8], index: usize, hdu: u32) -> Result<bool, String> {
    if let Some(bad) = card.iter().position(|b| !(0x20..=0x7e).contains(b)) {
        return Err(format!(
            "card {index} holds a non-ascii or control byte at column {}",
            bad + 1
        ));
    }
    // The card is printable ASCII now, so these conversions cannot fail.
    let keyword = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
    let value = if card[8..10] == *b"= " {
        Some(std::str::from_utf8(&card[10..]).unwrap_or(""))
    } else {
        None
    };
    if index == 0 {
        match (hdu, keyword) {
            (0, "SIMPLE") => {
                if !value.is_some_and(|v| v.trim_start().starts_with('T')) {
                    return Err("first card is not SIMPLE = T".into());
                }
            }
            (0, _) => return Err("first card is not SIMPLE".into()),
            (_, "XTENSION") => {}
            (_, _) => return Err("first card is not XTENSION".into()),
        }
        return Ok(false);
    }
    let int = |what: &str| -> Result<i64, String> {
        let text = value.map(strip_comment).unwrap_or("");
        text.parse::<i64>()
            .map_err(|_| format!("{what} in card {index} is not an integer: {text:?}"))
    };
    let count = |what: &str| -> Result<u64, String> {
        let n = int(what)?;
        u64::try_from(n).map_err(|_| format!("{what} in card {index} is negative: {n}"))
    };
    match keyword {
        "END" => {
            finish(header)?;
            return Ok(true);
        }
        "BITPIX" if header.bitpix.is_none() => {
            let bitpix = int("BITPIX")?;
            if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
                return Err(format!(
                    "BITPIX {bitpix} is not one of 8, 16, 32, 64, -32, -64"
                ));
            }
            header.bitpix = Some(bitpix);
        }
        "NAXIS" if header.naxis.is_none() => {
            let naxis = count("NAXIS")?;
            if naxis > 999 {
                return Err(format!("NAXIS {naxis} is larger than 999"));
            }
            header.naxis = Some(naxis as usize);
            header.axes = vec![None; naxis as usize];
        }
        "PCOUNT" if header.pcount.is_none() => header.pcount = Some(count("PCOUNT")?),
        "GCOUNT" if header.gcount.is_none() => header.gcount = Some(count("GCOUNT")?),
        "GROUPS" => {
            header.groups = value.is_some_and(|v| strip_comment(v).starts_with('T'));
        }
        "DATASUM" if header.datasum.is_none() => {
            header.datasum = value.map(string_value).filter(|v| !v.is_empty());
        }
        "CHECKSUM" if header.checksum.is_none() => {
            header.checksum = value.map(string_value).filter(|v| !v.is_empty());
        }
        kw if kw.starts_with("NAXIS") => {
            if let Ok(n) = kw[5..].parse::<usize>() {
                let axes_len = header.axes.len();
                if let Some(slot) = header.axes.get_mut(n.wrapping_sub(1)) {
                    if n >= 1 && n <= axes_len && slot.is_none() {
                        *slot = Some(count(kw)?);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(false)
}

fn finish(header: &mut HduHeader) -> Result<(), String> {
    if header.bitpix.is_none() {
        return Err("missing BITPIX".into());
    }
    if header.naxis.is_none() {
        return Err("missing NAXIS".into());
    }
    if let Some(missing) = header.axes.iter().position(Option::is_none) {
        return Err(format!("missing NAXIS{}", missing + 1));
    }
    Ok(())
}

/// The value part of a card without its comment (`/ ...`), trimmed.
fn strip_comment(value: &str) -> &str {
    value.split('/').next().unwrap_or("").trim()
}

/// The content of a quoted string value (with `''` as an escaped quote), trimmed; a bare
/// value (some writers omit the quotes of `DATASUM`) is taken up to its comment.
fn string_value(value: &str) -> String {
    let value = value.trim_start();
    let Some(rest) = value.strip_prefix('\'') else {
        return strip_comment(value).to_owned();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                break;
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// Data size in bytes, padded to whole blocks: `|BITPIX|/8 · GCOUNT · (PCOUNT + ΠNAXISn)`,
/// skipping `NAXIS1 = 0` of random groups.
fn data_size(header: &HduHeader) -> Result<u64, String> {
    let overflow = || "data size overflows 64 bits".to_owned();
    let bitpix = header.bitpix.unwrap_or(8);
    let axes: Vec<u64> = header.axes.iter().map(|a| a.unwrap_or(0)).collect();
    let random_groups = header.groups && axes.first() == Some(&0);
    let counted = if random_groups { &axes[1..] } else { &axes[..] };
    let product = if axes.is_empty() {
        0
    } else {
        counted
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .ok_or_else(overflow)?
    };
    let pcount = header.pcount.unwrap_or(0);
    let gcount = header.gcount.unwrap_or(1);
    let bytes = product
        .checked_add(pcount)
        .and_then(|n| n.checked_mul(gcount))
        .and_then(|n| n.checked_mul(bitpix.unsigned_abs() / 8))
        .ok_or_else(overflow)?;
    bytes
        .div_ceil(BLOCK as u64)
        .checked_mul(BLOCK as u64)
        .ok_or_else(overflow)
}

/// Fills `buf` as far as the input goes; returns the bytes read (less than `buf.len()` only
/// at the end of the input).
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn hdu_err(hdu: u32, offset: u64, reason: impl ToString) -> ContentError {
    ContentError::FitsHdu {
        hdu,
        offset,
        reason: reason.to_string().into_boxed_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> String {
        format!("{text:<80}")
    }

    /// One HDU: `first` card, the given extra cards, `END`, then `data` padded with zeros.
    /// With `sums`, DATASUM and CHECKSUM are filled in correctly.
    fn hdu(first: &str, cards: &[String], data: &[u8], sums: bool) -> Vec<u8> {
        let mut header = card(first);
        for c in cards {
            header.push_str(&card(c));
        }
        if sums {
            header.push_str(&card("CHECKSUM= '0000000000000000'"));
        }
        let mut padded = data.to_vec();
        padded.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
        let mut data_sum = OnesComplementSum::new();
        data_sum.update(&padded);
        if sums {
            header.push_str(&card(&format!("DATASUM = '{}'", data_sum.value())));
        }
        header.push_str(&card("END"));
        let mut bytes = header.into_bytes();
        bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, b' ');
        if sums {
            let mut sum = OnesComplementSum::new();
            sum.update(&bytes);
            let encoded = encode_checksum(!sum.combine(data_sum).value());
            let text = String::from_utf8(bytes).unwrap().replacen(
                "'0000000000000000'",
                &format!("'{encoded}'"),
                1,
            );
            bytes = text.into_bytes();
        }
        bytes.extend_from_slice(&padded);
        bytes
    }

    fn image(bitpix: i64, axes: &[u64], data: &[u8], sums: bool) -> Vec<u8> {
        let mut cards = vec![
            format!("BITPIX  = {bitpix:>20}"),
            format!("NAXIS   = {:>20}", axes.len()),
        ];
        for (i, n) in axes.iter().enumerate() {
            cards.push(format!("NAXIS{:<3}= {n:>20}", i + 1));
        }
        hdu("SIMPLE  =                    T", &cards, data, sums)
    }

    fn bintable(rows: u64, width: u64, heap: u64, sums: bool) -> Vec<u8> {
        let cards = vec![
            "BITPIX  =                    8".to_owned(),
            "NAXIS   =                    2".to_owned(),
            format!("NAXIS1  = {width:>20}"),
            format!("NAXIS2  = {rows:>20}"),
            format!("PCOUNT  = {heap:>20}"),
            "GCOUNT  =                    1".to_owned(),
            "TFIELDS =                    1".to_owned(),
        ];
        let data: Vec<u8> = (0..rows * width + heap).map(|i| (i * 7) as u8).collect();
        hdu("XTENSION= 'BINTABLE'", &cards, &data, sums)
    }

    /// Positions of the `CHECKSUM= ` keyword and value indicator: a damaged keyword makes the
    /// card an ordinary one, so the header is simply not summed (a limit of the convention).
    fn checksum_keywords(file: &[u8]) -> Vec<usize> {
        (0..file.len())
            .step_by(CARD)
            .filter(|&at| file[at..].starts_with(b"CHECKSUM= "))
            .flat_map(|at| at..at + 10)
            .collect()
    }

    #[test]
    fn ones_complement_sum_folds_the_carry() {
        let mut sum = OnesComplementSum::new();
        sum.update(&[0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02]);
        assert_eq!(sum.value(), 2);
        let mut sum = OnesComplementSum::new();
        sum.update(&[0x80, 0, 0, 0, 0x80, 0, 0, 1]);
        assert_eq!(sum.value(), 2);
        let a = OnesComplementSum(0xffff_fff0);
        // 0xffff_fff0 + 0x20 = 0x1_0000_0010: the carry comes back in at the bottom.
        assert_eq!(a.combine(OnesComplementSum(0x20)).value(), 0x11);
        let mut odd = OnesComplementSum::new();
        odd.update(&[0, 0, 0, 1, 0x01]);
        assert_eq!(odd.value(), 0x0100_0001);
    }

    #[test]
    fn encoded_checksum_uses_the_allowed_characters() {
        assert_eq!(encode_checksum(0), "0000000000000000");
        for value in [1u32, 0xdead_beef, u32::MAX, 0x3a3a_3a3a, 0x5b5b_5b5b] {
            let text = encode_checksum(value);
            assert_eq!(text.len(), 16);
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text}");
        }
    }

    #[test]
    fn encoded_checksum_sums_to_the_value() {
        // Summing the 16 characters as four words gives back the encoded value (before the
        // rotation), which is the property the convention relies on.
        for value in [0u32, 1, 0x1234_5678, 0xffff_fffe, 0x8000_0000, 0xdead_beef] {
            let text = encode_checksum(value);
            let bytes = text.as_bytes();
            let unrotated: Vec<u8> = (0..16).map(|i| bytes[(i + 1) % 16]).collect();
            let mut sum = OnesComplementSum::new();
            let zeros = [b'0'; 16];
            let mut offset = OnesComplementSum::new();
            offset.update(&zeros);
            sum.update(&unrotated);
            // Each character carries an offset of '0'; remove it by adding its complement.
            let value_back = sum.combine(OnesComplementSum(!offset.value())).value();
            // Ones' complement has two zeros: 0 and 0xffffffff.
            let normalise = |v: u32| if v == u32::MAX { 0 } else { v };
            assert_eq!(normalise(value_back), normalise(value), "{text}");
        }
    }

    #[test]
    fn valid_files_with_and_without_sums() {
        let plain = image(16, &[10, 3], &[7u8; 60], false);
        let summary = verify(&plain[..], 10).unwrap();
        assert_eq!(summary.hdus, 1);
        assert_eq!(summary.bytes, plain.len() as u64);
        assert_eq!(summary.checksums_verified, 0);

        let mut multi = image(8, &[], &[], true);
        multi.extend(bintable(100, 12, 50, true));
        multi.extend(bintable(0, 12, 0, true));
        let summary = verify(&multi[..], 10).unwrap();
        assert_eq!(summary.hdus, 3);
        assert_eq!(summary.checksums_verified, 3);
        assert_eq!(summary.datasums_verified, 3);

        let mut padded = multi.clone();
        padded.extend([0u8; 2 * BLOCK]);
        assert_eq!(verify(&padded[..], 10).unwrap().bytes, multi.len() as u64);
    }

    #[test]
    fn every_flipped_bit_in_a_summed_file_is_found() {
        let mut file = image(32, &[40, 30], &[0x5au8; 4800], true);
        file.extend(bintable(20, 9, 3, true));
        assert!(verify(&file[..], 10).is_ok());
        let blind = checksum_keywords(&file);
        for position in (0..file.len()).step_by(97) {
            if blind.contains(&position) {
                continue;
            }
            let mut bad = file.clone();
            bad[position] ^= 0x04;
            assert!(
                verify(&bad[..], 10).is_err(),
                "flip at {position} not found"
            );
        }
    }

    #[test]
    fn mismatches_name_the_hdu() {
        let mut file = image(8, &[100], &[1u8; 100], true);
        let second_at = file.len() as u64;
        file.extend(bintable(10, 8, 0, true));
        let mut bad_data = file.clone();
        let last = bad_data.len() - BLOCK + 3;
        bad_data[last] ^= 1;
        assert_eq!(
            verify(&bad_data[..], 10),
            Err(ContentError::DatasumMismatch {
                hdu: 1,
                offset: second_at,
                stored: {
                    let mut s = OnesComplementSum::new();
                    s.update(&file[file.len() - BLOCK..]);
                    s.value()
                },
                computed: {
                    let mut s = OnesComplementSum::new();
                    s.update(&bad_data[bad_data.len() - BLOCK..]);
                    s.value()
                },
            })
        );
        let message = verify(&bad_data[..], 10).unwrap_err().to_string();
        assert!(message.contains("hdu 1"), "{message}");

        // A header change that keeps the card ASCII: only CHECKSUM can see it.
        let mut bad_header = file.clone();
        let after_end = 1000; // in the blank padding after the END card
        bad_header[after_end] = b'x';
        assert!(matches!(
            verify(&bad_header[..], 10),
            Err(ContentError::ChecksumMismatch {
                hdu: 0,
                offset: 0,
                ..
            })
        ));
    }

    #[test]
    fn datasum_alone_is_checked() {
        let file = image(16, &[50, 50], &[3u8; 5000], true);
        let at = (0..file.len())
            .step_by(CARD)
            .find(|&at| file[at..].starts_with(b"CHECKSUM= "))
            .unwrap();
        let mut only_datasum = file.clone();
        only_datasum[at..at + CARD].fill(b' ');
        let summary = verify(&only_datasum[..], 10).unwrap();
        assert_eq!(
            (summary.datasums_verified, summary.checksums_verified),
            (1, 0)
        );
        let last = only_datasum.len() - 1;
        only_datasum[last] = 1;
        assert!(matches!(
            verify(&only_datasum[..], 10),
            Err(ContentError::DatasumMismatch { hdu: 0, .. })
        ));
        let mut bad_value = file.clone();
        let datasum = (0..file.len())
            .step_by(CARD)
            .find(|&at| file[at..].starts_with(b"DATASUM = "))
            .unwrap();
        bad_value[datasum + 11] = b'x';
        let err = verify(&bad_value[..], 10).unwrap_err();
        assert!(err.to_string().contains("DATASUM"), "{err}");
    }

    #[test]
    fn structure_errors() {
        let good = image(16, &[10], &[0u8; 20], false);
        let mutate = |from: &str, to: &str| {
            let text = String::from_utf8(good.clone())
                .unwrap()
                .replacen(from, to, 1);
            verify(text.as_bytes(), 10)
        };
        assert!(matches!(
            mutate(
                "NAXIS1  =                   10",
                "NAXIS1  = 4611686018427387904"
            ),
            Err(ContentError::FitsTruncated { .. }) | Err(ContentError::FitsHdu { .. })
        ));
        assert!(matches!(
            mutate(
                "NAXIS1  =                   10",
                "NAXIS1  = 9223372036854775807"
            ),
            Err(ContentError::FitsHdu { hdu: 0, .. })
        ));
        assert!(matches!(
            mutate("END", "XXX"),
            Err(ContentError::FitsHdu { .. })
        ));
        assert!(matches!(
            mutate(
                "BITPIX  =                   16",
                "BITPIX  =                   12"
            ),
            Err(ContentError::FitsHdu { .. })
        ));
        assert!(matches!(
            verify(&good[..good.len() - 1], 10),
            Err(ContentError::FitsTruncated { .. })
        ));
        let mut trailing = good.clone();
        trailing.extend(b"garbage");
        assert!(matches!(
            verify(&trailing[..], 10),
            Err(ContentError::FitsHdu { hdu: 1, .. })
        ));
        let mut no_pcount = good.clone();
        no_pcount.extend(hdu(
            "XTENSION= 'IMAGE   '",
            &[
                "BITPIX  =                    8".into(),
                "NAXIS   =                    0".into(),
            ],
            &[],
            false,
        ));
        // PCOUNT/GCOUNT default to 0/1 when missing.
        assert_eq!(verify(&no_pcount[..], 10).unwrap().hdus, 2);
        assert!(verify(&b""[..], 10).is_err());
    }

    #[test]
    fn random_groups_skip_naxis1() {
        let cards = vec![
            "BITPIX  =                  -32".to_owned(),
            "NAXIS   =                    3".to_owned(),
            "NAXIS1  =                    0".to_owned(),
            "NAXIS2  =                    3".to_owned(),
            "NAXIS3  =                    4".to_owned(),
            "GROUPS  =                    T".to_owned(),
            "PCOUNT  =                    2".to_owned(),
            "GCOUNT  =                  100".to_owned(),
        ];
        // 4 bytes * 100 * (2 + 12) = 5600 bytes.
        let file = hdu("SIMPLE  =                    T", &cards, &[9u8; 5600], true);
        assert_eq!(file.len(), BLOCK + 2 * BLOCK);
        assert_eq!(verify(&file[..], 10).unwrap().checksums_verified, 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..9000)) {
            let _ = verify(&bytes[..], 3);
        }

        #[test]
        fn generated_files_verify_and_any_flip_fails(
            rows in 0u64..200, width in 1u64..40, heap in 0u64..100,
            position in 0usize..100_000, bit in 0u8..8,
        ) {
            let mut file = image(8, &[], &[], true);
            file.extend(bintable(rows, width, heap, true));
            proptest::prop_assert!(verify(&file[..], 10).is_ok());
            let position = position % file.len();
            proptest::prop_assume!(!checksum_keywords(&file).contains(&position));
            file[position] ^= 1 << bit;
            proptest::prop_assert!(verify(&file[..], 10).is_err());
        }
    }
}
