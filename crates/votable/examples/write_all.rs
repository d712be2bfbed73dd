//! Writes sample VOTables with this crate's writer into a directory, for
//! `cargo xtask ci` to check with STILTS `votlint`.
//!
//! ```text
//! cargo run -p votable --example write_all -- OUTDIR
//! ```
//!
//! It writes a generated ObsCore-like table and re-serialisations of real fixtures
//! (with groups, params, nulls, arrays, unicodeChar and trailing INFOs) in TABLEDATA,
//! BINARY and BINARY2.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use votable::Serialization;

const SERIALIZATIONS: [Serialization; 3] = [
    Serialization::TableData,
    Serialization::Binary,
    Serialization::Binary2,
];

/// Real documents re-serialised by the writer (valid ones: ESO's DataLink sample has IDs
/// that are not XML names, which the writer keeps as they are, so votlint would flag the input).
const FIXTURES: [&str; 6] = [
    "dachs/votable/vocat_60_td.vot",
    "dachs/votable/vocat_maxrec5_overflow_td.vot",
    "dachs/votable/obscore_20_b2.vot",
    "votable/stilts_small_binary2.vot",
    "eso/tap/seed000_dbo_raw_2rows.vot",
    "eso/calselector/seed000_sphere_raw2master.vot",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: write_all OUTDIR")?;
    std::fs::create_dir_all(&out_dir)?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut written = 0;
    for ser in SERIALIZATIONS {
        let bytes = votable::generate::write_obscore(Vec::new(), 200, ser)?;
        std::fs::write(
            out_dir.join(format!("generated_obscore_{}.vot", ser.as_str())),
            bytes,
        )?;
        written += 1;
    }
    for fixture in FIXTURES {
        let path = fixtures.join(fixture);
        let Ok(source) = std::fs::read(&path) else {
            eprintln!("skipping missing fixture {}", path.display());
            continue;
        };
        for ser in SERIALIZATIONS {
            let mut out = Vec::new();
            votable::convert::to_votable(&mut votable::Reader::new(&source[..])?, &mut out, ser)?;
            let name = format!("{}_{}.vot", fixture.replace('/', "_"), ser.as_str());
            std::fs::write(out_dir.join(name), out)?;
            written += 1;
        }
    }
    println!("wrote {written} VOTables into {}", out_dir.display());
    Ok(())
}
