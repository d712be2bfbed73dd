//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same
//! entry points the fuzz targets use: nothing may panic.

use std::path::Path;

type Target = (&'static str, fn(&[u8]));

#[test]
fn replay_fuzz_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let targets: [Target; 3] = [
        ("votable_tabledata", votable::fuzzing::tabledata),
        ("votable_binary2", votable::fuzzing::binary2),
        ("votable_roundtrip", votable::fuzzing::roundtrip),
    ];
    let mut n = 0;
    for (name, f) in targets {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            f(&data);
            // Every target must also survive every other target's inputs.
            for (_, g) in targets {
                g(&data);
            }
            n += 1;
        }
    }
    assert!(n >= 10, "corpus too small: {n}");
}
