//! Small, valid, synthetic FITS files.
//!
//! The offline archive serves files with the shape of real ESO files (a primary header with the
//! usual ESO cards, `END`, padding to 2880-byte blocks, a small data block) but with made-up
//! pixels, so that downloads, decompression and FITS verification run end to end.
//! The same generator produced the committed `fixtures/eso/files/*.fits[.Z]` files and makes the
//! SODA cutouts at run time.

/// The FITS block size (FITS 4.0, section 3.1).
pub(crate) const BLOCK: usize = 2880;

/// The value of one header card.
#[derive(Debug, Clone)]
pub(crate) enum CardValue {
    /// A logical value, `T` or `F`.
    Logical(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A character string (quotes are doubled when written).
    Str(String),
}

/// One header card: a keyword (short or `HIERARCH`), a value and a comment.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    key: String,
    value: Option<CardValue>,
    comment: String,
}

impl Card {
    pub(crate) fn new(key: &str, value: CardValue, comment: &str) -> Card {
        Card {
            key: key.to_owned(),
            value: Some(value),
            comment: comment.to_owned(),
        }
    }

    pub(crate) fn commentary(text: &str) -> Card {
        Card {
            key: "COMMENT".to_owned(),
            value: None,
            comment: text.to_owned(),
        }
    }

    /// The 80-character image of this card (longer content is cut, shorter is padded).
    fn image(&self) -> [u8; 80] {
        let mut text = String::with_capacity(80);
        match &self.value {
            None => {
                text.push_str(&format!("{:<8}", self.key));
                text.push_str(&self.comment);
            }
            Some(value) => {
                let value_text = match value {
                    CardValue::Logical(flag) => format!("{:>20}", if *flag { "T" } else { "F" }),
                    CardValue::Int(number) => format!("{number:>20}"),
                    CardValue::Real(number) => format!("{:>20}", format_real(*number)),
                    CardValue::Str(string) => {
                        format!("'{:<8}'", string.replace('\'', "''"))
                    }
                };
                if self.key.len() > 8 {
                    text.push_str("HIERARCH ");
                    text.push_str(&self.key);
                    text.push_str(" = ");
                    text.push_str(value_text.trim_start());
                } else {
                    text.push_str(&format!("{:<8}= ", self.key));
                    text.push_str(&value_text);
                }
                if !self.comment.is_empty() {
                    text.push_str(" / ");
                    text.push_str(&self.comment);
                }
            }
        }
        let mut image = [b' '; 80];
        for (slot, byte) in image
            .iter_mut()
            .zip(text.bytes().filter(|byte| (0x20..0x7f).contains(byte)))
        {
            *slot = byte;
        }
        image
    }
}

/// Formats a real number the way FITS expects (always with a decimal point or exponent).
fn format_real(number: f64) -> String {
    let text = format!("{number}");
    if text.contains('.') || text.contains('e') || text.contains("inf") || text.contains("NaN") {
        text.to_uppercase()
    } else {
        format!("{text}.0")
    }
}

/// The pixels of the primary data array.
#[derive(Debug, Clone)]
pub(crate) enum Pixels {
    /// `BITPIX = 16`, big-endian signed 16-bit integers.
    I16(Vec<i16>),
    /// `BITPIX = -32`, big-endian IEEE single precision.
    F32(Vec<f32>),
}

/// Builds a FITS file with one primary HDU holding a 2-D image of `naxis1 x naxis2` pixels.
///
/// The mandatory cards (`SIMPLE`, `BITPIX`, `NAXIS`, `NAXIS1`, `NAXIS2`) come first, then
/// `cards`, then `END`; header and data are each padded to a multiple of 2880 bytes
/// (with blanks and zeros respectively).
pub(crate) fn image_file(naxis1: usize, naxis2: usize, pixels: &Pixels, cards: &[Card]) -> Vec<u8> {
    let bitpix = match pixels {
        Pixels::I16(_) => 16,
        Pixels::F32(_) => -32,
    };
    let mut header = vec![
        Card::new(
            "SIMPLE",
            CardValue::Logical(true),
            "conforms to FITS standard",
        ),
        Card::new("BITPIX", CardValue::Int(bitpix), "array data type"),
        Card::new("NAXIS", CardValue::Int(2), "number of array dimensions"),
        Card::new("NAXIS1", CardValue::Int(naxis1 as i64), ""),
        Card::new("NAXIS2", CardValue::Int(naxis2 as i64), ""),
    ];
    header.extend(cards.iter().cloned());
    let mut out = Vec::with_capacity(4 * BLOCK);
    for card in &header {
        out.extend_from_slice(&card.image());
    }
    let mut end = [b' '; 80];
    end[..3].copy_from_slice(b"END");
    out.extend_from_slice(&end);
    pad(&mut out, b' ');
    let n_pixels = naxis1 * naxis2;
    match pixels {
        Pixels::I16(values) => {
            for index in 0..n_pixels {
                let value = values.get(index).copied().unwrap_or(0);
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
        Pixels::F32(values) => {
            for index in 0..n_pixels {
                let value = values.get(index).copied().unwrap_or(0.0);
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
    }
    pad(&mut out, 0);
    out
}

fn pad(out: &mut Vec<u8>, fill: u8) {
    let remainder = out.len() % BLOCK;
    if remainder != 0 {
        out.resize(out.len() + BLOCK - remainder, fill);
    }
}

/// A small deterministic pseudo-random generator (64-bit LCG), seeded from a string,
/// so that the same identifier always gives the same pixels.
#[derive(Debug, Clone)]
pub(crate) struct Noise(u64);

impl Noise {
    pub(crate) fn seeded(seed: &str) -> Noise {
        // FNV-1a over the seed string.
        let mut state: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in seed.bytes() {
            state ^= u64::from(byte);
            state = state.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Noise(state)
    }

    /// A value uniform in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A star on a flat background with noise: `size x size` values.
pub(crate) fn star_field(size: usize, background: f64, peak: f64, seed: &str) -> Vec<f64> {
    let mut noise = Noise::seeded(seed);
    let centre = (size as f64 - 1.0) / 2.0 + noise.next_unit() - 0.5;
    let sigma = size as f64 / 10.0;
    let mut values = Vec::with_capacity(size * size);
    for row in 0..size {
        for col in 0..size {
            let dx = col as f64 - centre;
            let dy = row as f64 - centre;
            let star = peak * (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
            let jitter = (noise.next_unit() - 0.5) * background.sqrt() * 2.0;
            values.push(background + star + jitter);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_data_are_padded_to_blocks() {
        let pixels = Pixels::I16(vec![1, 2, 3, 4]);
        let file = image_file(
            2,
            2,
            &pixels,
            &[Card::new("ORIGIN", CardValue::Str("ESO".into()), "")],
        );
        assert_eq!(file.len(), 2 * BLOCK);
        assert!(file.starts_with(b"SIMPLE  =                    T"));
        let header = std::str::from_utf8(&file[..BLOCK]).unwrap();
        assert!(header.contains("ORIGIN  = 'ESO     '"));
        assert!(header.contains("END     "));
        assert_eq!(&file[BLOCK..BLOCK + 4], &[0, 1, 0, 2]);
    }

    #[test]
    fn hierarch_and_quotes() {
        let card = Card::new("ESO DPR CATG", CardValue::Str("IT'S".into()), "category");
        let image = card.image();
        let text = std::str::from_utf8(&image).unwrap();
        assert!(text.starts_with("HIERARCH ESO DPR CATG = 'IT''S   ' / category"));
        assert_eq!(text.len(), 80);
    }

    #[test]
    fn noise_is_deterministic() {
        let first = star_field(8, 100.0, 1000.0, "x");
        let second = star_field(8, 100.0, 1000.0, "x");
        assert_eq!(first, second);
        assert_ne!(first, star_field(8, 100.0, 1000.0, "y"));
    }
}
