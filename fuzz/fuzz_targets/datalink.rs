//! cargo-fuzz target: DataLink `{links}` documents and service descriptors.
//! The links table is read with `vo_datalink::parse_links`; the descriptors of the parsed
//! VOTable are turned into requests for row 0 of its first table (or with no row at all).
//! Nothing may panic. Replayed by `crates/vo-datalink/tests/fuzz_corpus.rs`.
#![no_main]

use vo_datalink::BatchConfig;
use vo_datalink::descriptor::{self, NoRow};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((links, _warnings)) = vo_datalink::parse_links(data) {
        for link in links.links.iter().take(64) {
            let _ = link.http_url();
            let _ = link.to_json();
            let _ = links.descriptor_for(link);
        }
        let _ = links.by_id();
    }
    let Ok(votable) = votable::parse(data) else {
        return;
    };
    let (descriptors, _warnings) = descriptor::descriptors(&votable.document);
    let table = votable.tables().first();
    for desc in descriptors.iter().take(16) {
        let _ = desc.label();
        let _ = desc.describe();
        let _ = desc.access_url();
        match table {
            Some(table) => {
                let _ = desc.request_for_row(table, 0, &[]);
                let rows: Vec<usize> = (0..table.nrows().min(4)).collect();
                let _ = desc.batch_requests(table, &rows, &[], &BatchConfig::default());
            }
            None => {
                let _ = desc.request_for(&NoRow, &[]);
            }
        }
    }
});
