//! Writes a generated ObsCore-like table to standard output.
//!
//! Usage: `cargo run --release -p votable --example gen_obscore -- ROWS tabledata|binary|binary2`

use std::io::{BufWriter, Write};

use votable::Serialization;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().as_deref().unwrap_or("1000").parse()?;
    let ser = match args.next().as_deref().unwrap_or("tabledata") {
        "tabledata" | "td" => Serialization::TableData,
        "binary" | "b" => Serialization::Binary,
        "binary2" | "b2" => Serialization::Binary2,
        other => return Err(format!("unknown serialization {other:?}").into()),
    };
    let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut out = votable::generate::write_obscore(out, rows, ser)?;
    out.flush()?;
    Ok(())
}
