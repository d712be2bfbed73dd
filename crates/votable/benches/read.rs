//! Read benchmarks on a generated ObsCore-like table (35 columns), in each
//! serialization, against two baselines: a memchr scan of the TABLEDATA bytes and a
//! plain base64 decode of the BINARY2 stream. `cargo xtask bench votable` runs the
//! same reader on 1M-row files made by `examples/gen_obscore.rs`.

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use votable::{Reader, Row, Serialization};

const ROWS: u64 = 20_000;

fn stream_text(doc: &[u8]) -> Vec<u8> {
    let start = memchr::memmem::find(doc, b"<STREAM encoding=\"base64\">").map_or(0, |p| p + 26);
    let end = memchr::memmem::find(doc, b"</STREAM>").unwrap_or(doc.len());
    doc[start..end]
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_obscore");
    for ser in [
        Serialization::TableData,
        Serialization::Binary,
        Serialization::Binary2,
    ] {
        let doc = votable::generate::write_obscore(Vec::new(), ROWS, ser).unwrap();
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.bench_function(format!("stream_rows/{}", ser.as_str()), |b| {
            b.iter(|| {
                let mut r = Reader::new(&doc[..]).unwrap();
                let mut row = Row::new();
                let mut n = 0u64;
                while r.read_row(&mut row).unwrap() {
                    n += 1;
                }
                black_box(n)
            });
        });
        g.bench_function(format!("in_memory/{}", ser.as_str()), |b| {
            b.iter(|| {
                black_box(
                    votable::parse(&doc)
                        .unwrap()
                        .first_table()
                        .map(|t| t.nrows()),
                )
            });
        });
        match ser {
            Serialization::TableData => {
                g.bench_function("baseline_memchr_scan/TABLEDATA", |b| {
                    b.iter(|| black_box(memchr::memchr_iter(b'<', &doc).count()));
                });
            }
            Serialization::Binary2 => {
                let text = stream_text(&doc);
                g.bench_function("baseline_base64_decode/BINARY2", |b| {
                    b.iter(|| {
                        black_box(
                            base64::engine::general_purpose::STANDARD
                                .decode(&text)
                                .map(|v| v.len()),
                        )
                    });
                });
            }
            _ => {}
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
