//! Real documents: DaCHS in three serializations, ESO samples, error documents.

use std::path::PathBuf;

use votable::{QueryStatus, Value};

fn fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn dachs_three_serializations_agree() {
    let td = votable::parse(&fixture("dachs/votable/vocat_60_td.vot")).unwrap();
    let b = votable::parse(&fixture("dachs/votable/vocat_60_b.vot")).unwrap();
    let b2 = votable::parse(&fixture("dachs/votable/vocat_60_b2.vot")).unwrap();
    for vt in [&td, &b, &b2] {
        let t = vt.first_table().unwrap();
        assert_eq!(t.nrows(), 60);
        assert_eq!(t.ncols(), 9);
        assert_eq!(vt.query_status(), Some(QueryStatus::Ok));
    }
    let (t0, t1, t2) = (
        td.first_table().unwrap(),
        b.first_table().unwrap(),
        b2.first_table().unwrap(),
    );
    let remark = t0.field_index("remark").unwrap();
    let mag = t0.field_index("mag_g").unwrap();
    for r in 0..60 {
        for c in 0..9 {
            let name = &t0.meta().fields[c].name;
            if name == "obs_time" {
                continue; // char(19) in binary: DaCHS truncates the 26-char timestamps
            }
            let (a, x, y) = (t0.value(r, c), t1.value(r, c), t2.value(r, c));
            assert_eq!(a, y, "row {r} col {name} td vs b2");
            match (&a, &x) {
                (Value::Float(p), Value::Float(q)) => assert_eq!(p.to_bits(), q.to_bits()),
                _ => assert_eq!(a, x, "row {r} col {name} td vs binary"),
            }
        }
    }
    let quote = (0..60)
        .find(|&r| t0.get_str(r, 0) == Some("SRC-00004"))
        .unwrap();
    assert_eq!(
        t0.get_str(quote, remark),
        Some("quote \" & <tag> ampersand")
    );
    let uni = (0..60)
        .find(|&r| t0.get_str(r, 0) == Some("SRC-00012"))
        .unwrap();
    // DaCHS declares the column `char` (ASCII) and writes `?` for each non-ASCII character.
    assert_eq!(t2.get_str(uni, remark), Some("unicode: ? Cen ?t? ? dash"));
    let null = (0..60)
        .find(|&r| t0.get_str(r, 0) == Some("SRC-00008"))
        .unwrap();
    assert!(t0.value(null, mag).is_null());
    assert!(t1.value(null, mag).is_null());
    assert!(t2.value(null, mag).is_null());
    assert!(t0.get_f64(0, mag).is_some());
}

#[test]
fn dachs_overflow_after_data_wins() {
    let vt = votable::parse(&fixture("dachs/votable/vocat_maxrec5_overflow_td.vot")).unwrap();
    assert_eq!(vt.first_table().unwrap().nrows(), 5);
    assert_eq!(vt.query_status(), Some(QueryStatus::Overflow));
}

#[test]
fn dachs_error_document() {
    let vt = votable::parse(&fixture("dachs/votable/query_error.vot")).unwrap();
    assert!(vt.tables().is_empty());
    match vt.query_status() {
        Some(QueryStatus::Error(m)) => {
            assert!(m.contains("nosuchcol") || m.contains("column"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dachs_obscore_binary2() {
    let vt = votable::parse(&fixture("dachs/votable/obscore_20_b2.vot")).unwrap();
    let t = vt.first_table().unwrap();
    assert_eq!(t.nrows(), 11);
    let c = t.field_index("obs_publisher_did").unwrap();
    assert!(t.get_str(0, c).unwrap().starts_with("ivo://"));
}
