//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Reads a fixture by its path under `fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = fixtures().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The `NAXIS` and `NAXISn` values of the primary header of a FITS file.
pub fn fits_axes(bytes: &[u8]) -> Vec<u64> {
    let mut naxis = None;
    let mut axes = Vec::new();
    for card in bytes.chunks(80).take(36 * 10) {
        let card = std::str::from_utf8(card).expect("FITS header is ASCII");
        let key = card[..8.min(card.len())].trim();
        if key == "END" {
            break;
        }
        let value = || {
            card.get(10..)
                .and_then(|v| v.split('/').next())
                .map(str::trim)
                .and_then(|v| v.parse::<u64>().ok())
        };
        if key == "NAXIS" {
            naxis = value();
        } else if let Some(n) = key.strip_prefix("NAXIS") {
            if n.parse::<u32>().is_ok() {
                axes.push(value().expect("NAXISn has a number"));
            }
        }
    }
    assert_eq!(
        Some(axes.len() as u64),
        naxis,
        "NAXIS matches the NAXISn cards"
    );
    axes
}
