//! Times reading a VOTable file: `read_file FILE [stream|memory|memchr|base64]`.
//!
//! - `stream`: every row decoded by the streaming reader (default);
//! - `memory`: the whole table into the columnar in-memory form (reports its size);
//! - `csv`: streaming conversion to CSV (into a sink), reading the file as a stream;
//! - `memchr`: baseline, a memchr scan for `<` over the file;
//! - `base64`: baseline, a plain base64 decode of the STREAM text (whitespace removed first,
//!   not timed).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use base64::Engine as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: read_file FILE [stream|memory|memchr|base64]")?;
    let mode = args.next().unwrap_or_else(|| "stream".into());
    if mode == "csv" {
        // Streaming conversion from the file (not loaded in memory) to a sink.
        let t0 = Instant::now();
        let input = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&path)?);
        let n = votable::convert::to_csv(&mut votable::Reader::new(input)?, std::io::sink())?;
        println!("csv: {n} rows in {:.3} s", t0.elapsed().as_secs_f64());
        return Ok(());
    }
    let bytes = std::fs::read(&path)?;
    let t0 = Instant::now();
    let what = match mode.as_str() {
        "stream" => {
            let mut r = votable::Reader::new(&bytes[..])?;
            let mut row = votable::Row::new();
            let mut n = 0u64;
            while r.read_row(&mut row)? {
                n += 1;
            }
            format!("{n} rows")
        }
        "memory" => {
            let vt = votable::parse(&bytes)?;
            let t = vt.first_table().ok_or("no table")?;
            format!("{} rows, {} bytes in memory", t.nrows(), t.heap_bytes())
        }
        "memchr" => format!("{} '<'", memchr::memchr_iter(b'<', &bytes).count()),
        "base64" => {
            let start = memchr::memmem::find(&bytes, b"<STREAM").ok_or("no STREAM")?;
            let start = start + memchr::memchr(b'>', &bytes[start..]).ok_or("bad STREAM")? + 1;
            let end = memchr::memmem::find(&bytes, b"</STREAM>").ok_or("no </STREAM>")?;
            let text: Vec<u8> = bytes[start..end]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            println!(
                "base64 text: {} bytes, decoded payload: {} bytes",
                text.len(),
                text.len() / 4 * 3
            );
            let t0 = Instant::now();
            let n = base64::engine::general_purpose::STANDARD
                .decode(&text)?
                .len();
            println!(
                "{mode}: {n} bytes decoded in {:.3} s",
                t0.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    println!("{mode}: {what} in {:.3} s", t0.elapsed().as_secs_f64());
    Ok(())
}
