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

mod mutations {
    use proptest::prelude::*;

    fn seeds() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let mut out = Vec::new();
        for t in ["votable_tabledata", "votable_binary2", "votable_roundtrip"] {
            for e in std::fs::read_dir(root.join(t)).unwrap().flatten() {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Random byte flips, truncations and insertions in the corpus files.
        #[test]
        fn mutated_corpus_never_panics(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let seeds = seeds();
            let mut data = seeds[pick.index(seeds.len())].clone();
            for (at, byte, op) in edits {
                if data.is_empty() { break; }
                let i = at.index(data.len());
                match op {
                    0 => data[i] = byte,
                    1 => data.insert(i, byte),
                    _ => { data.remove(i); }
                }
            }
            if cut.index(4) == 0 && !data.is_empty() {
                data.truncate(cut.index(data.len()));
            }
            votable::fuzzing::tabledata(&data);
            votable::fuzzing::binary2(&data);
            votable::fuzzing::roundtrip(&data);
        }
    }
}
