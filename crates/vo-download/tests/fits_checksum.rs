//! `vo_download::fits::verify` against FITS files written by astropy
//! (fixtures/download/fits, made by its generate.py; RELIABILITY.md Z5): the verdicts must
//! agree with astropy's, and `encode_checksum` must reproduce astropy's `CHECKSUM` values.

use std::path::{Path, PathBuf};
use vo_download::fits::{self, BLOCK, OnesComplementSum};
use vo_download::sniff::ContentError;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/download/fits")
}

fn fixture(name: &str) -> (Vec<u8>, serde_json::Value) {
    let dir = fixture_dir();
    let bytes = std::fs::read(dir.join(format!("{name}.fits"))).unwrap();
    let meta = std::fs::read_to_string(dir.join(format!("{name}.meta.json"))).unwrap();
    (bytes, serde_json::from_str(&meta).unwrap())
}

#[test]
fn astropy_files_with_valid_sums_verify() {
    let (bytes, meta) = fixture("mef_checksum");
    assert_eq!(meta["astropy_checksum"], "valid");
    let summary = fits::verify(&bytes[..], 100).unwrap();
    assert_eq!(summary.hdus as u64, meta["hdus"].as_u64().unwrap());
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert_eq!(summary.checksums_verified, summary.hdus);
    assert_eq!(summary.datasums_verified, summary.hdus);
}

#[test]
fn astropy_file_without_sums_passes() {
    let (bytes, meta) = fixture("plain");
    let summary = fits::verify(&bytes[..], 100).unwrap();
    assert_eq!(summary.hdus as u64, meta["hdus"].as_u64().unwrap());
    assert_eq!(summary.checksums_verified, 0);
    assert_eq!(summary.datasums_verified, 0);
}

#[test]
fn flipped_byte_fails_in_the_hdu_astropy_names() {
    let (bytes, meta) = fixture("mef_checksum_flipped");
    let verdict = meta["astropy_checksum"].as_str().unwrap();
    assert!(
        verdict.contains("Datasum verification failed for HDU ('TABLE', 1)"),
        "{verdict}"
    );
    let bad_hdu = meta["bad_hdu"].as_u64().unwrap() as u32;
    let err = fits::verify(&bytes[..], 100).unwrap_err();
    let ContentError::DatasumMismatch {
        hdu,
        offset,
        stored,
        computed,
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(hdu, bad_hdu);
    let flipped = meta["flipped_offset"].as_u64().unwrap();
    assert!(offset < flipped, "the hdu starts before the flipped byte");
    assert_ne!(stored, computed);
    assert!(err.to_string().contains("hdu 1"), "{err}");
}

/// Offsets of the HDUs of `bytes` (from the headers' first cards).
fn hdu_starts(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len())
        .step_by(BLOCK)
        .filter(|&at| {
            bytes[at..].starts_with(b"SIMPLE  =") || bytes[at..].starts_with(b"XTENSION=")
        })
        .collect()
}

#[test]
fn encoder_reproduces_astropys_checksum_strings() {
    let (bytes, meta) = fixture("mef_checksum");
    let starts = hdu_starts(&bytes);
    assert_eq!(starts.len() as u64, meta["hdus"].as_u64().unwrap());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
        let mut hdu = bytes[start..end].to_vec();
        let card = (0..hdu.len())
            .step_by(80)
            .find(|&at| hdu[at..].starts_with(b"CHECKSUM= '"))
            .unwrap();
        let value = &mut hdu[card + 11..card + 27];
        let astropy = String::from_utf8(value.to_vec()).unwrap();
        value.copy_from_slice(b"0000000000000000");
        let mut sum = OnesComplementSum::new();
        sum.update(&hdu);
        assert_eq!(fits::encode_checksum(!sum.value()), astropy, "hdu {i}");
    }
}
