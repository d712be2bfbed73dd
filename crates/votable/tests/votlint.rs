//! What the writer produces passes STILTS `votlint` (skipped when `stilts` is not
//! on PATH).

use std::process::Command;

use votable::Serialization;

fn stilts_available() -> bool {
    Command::new("stilts")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn writer_output_passes_votlint() {
    if !stilts_available() {
        #[allow(clippy::print_stdout)]
        {
            println!("note: stilts not on PATH, votlint check skipped");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for ser in [
        Serialization::TableData,
        Serialization::Binary,
        Serialization::Binary2,
    ] {
        docs.push((
            format!("gen_{}", ser.as_str()),
            votable::generate::write_obscore(Vec::new(), 50, ser).unwrap(),
        ));
    }
    // Conversions of real documents, with groups, params, trailing INFOs.
    for f in [
        "dachs/votable/vocat_maxrec5_overflow_td.vot",
        "dachs/votable/obscore_20_b2.vot",
        "votable/stilts_small_binary2.vot",
    ] {
        let src =
            std::fs::read(format!("{}/../../fixtures/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for ser in [
            Serialization::TableData,
            Serialization::Binary,
            Serialization::Binary2,
        ] {
            let mut out = Vec::new();
            votable::convert::to_votable(
                &mut votable::Reader::new(&src[..]).unwrap(),
                &mut out,
                ser,
            )
            .unwrap();
            docs.push((format!("{}_{}", f.replace('/', "_"), ser.as_str()), out));
        }
    }
    for (name, bytes) in docs {
        let path = dir.path().join(format!("{name}.vot"));
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("stilts")
            .arg("votlint")
            .arg(format!("votable={}", path.display()))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // DaCHS's own metadata carries `xtype="mjd"`, which votlint warns about.
        let problems: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ERROR") || l.starts_with("WARNING"))
            .filter(|l| !l.contains("Non-DALI xtype"))
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}
