//! cargo-fuzz target: the `.Z` (LZW) decoder, and the boxed decoders for `.Z` and gzip,
//! with an output cap of 2 MiB, read to the end. Errors are fine; panics, hangs and output
//! past the cap are not. Replayed by `crates/vo-download/tests/fuzz_corpus.rs`.
#![no_main]

use std::io::Read;

use vo_download::decompress::{self, Compression, DecodeLimits, ZDecoder};

const CAP: u64 = 2 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = ZDecoder::new(data, CAP).read_to_end(&mut out);
    assert!(
        out.len() as u64 <= CAP,
        "ZDecoder produced {} bytes",
        out.len()
    );
    for format in [Compression::Compress, Compression::Gzip] {
        out.clear();
        let _ = decompress::decoder(format, data, CAP).read_to_end(&mut out);
        assert!(
            out.len() as u64 <= CAP,
            "{format:?} produced {} bytes",
            out.len()
        );
        out.clear();
        let limits = DecodeLimits {
            max_output: CAP,
            max_ratio: Some(1000),
        };
        let _ = decompress::decoder_with_limits(format, data, limits).read_to_end(&mut out);
        assert!(
            out.len() as u64 <= CAP,
            "{format:?} produced {} bytes",
            out.len()
        );
    }
    let _ = Compression::sniff(data);
});
