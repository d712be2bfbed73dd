//! Snapshot of the parse result of every VOTable fixture owned by this crate:
//! metadata, the first rows and the query status (or the error).

use std::fmt::Write as _;
use std::path::Path;

use votable::Value;

fn short(v: &Value) -> String {
    let s = format!("{v:?}");
    if s.chars().count() > 70 {
        let cut: String = s.chars().take(70).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn summary(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut out = String::new();
    match votable::parse(&bytes) {
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
        }
        Ok(vt) => {
            let d = &vt.document;
            let _ = writeln!(
                out,
                "version: {:?}, resources: {}, query_status: {:?}",
                d.version,
                d.all_resources().count(),
                vt.query_status()
            );
            for r in d.all_resources() {
                let _ = writeln!(
                    out,
                    "resource {:?} type={:?} utype={:?} params={} groups={} infos={}+{}",
                    r.name,
                    r.resource_type,
                    r.utype,
                    r.params.len(),
                    r.groups.len(),
                    r.infos.len(),
                    r.trailing_infos.len()
                );
            }
            for t in vt.tables() {
                let m = t.meta();
                let _ = writeln!(
                    out,
                    "table {:?}: {} rows x {} cols, {:?}, infos={}",
                    m.name,
                    t.nrows(),
                    t.ncols(),
                    m.serialization,
                    m.infos.len()
                );
                for f in &m.fields {
                    let size = f
                        .arraysize
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  {} {}[{}] unit={:?} null={:?}",
                        f.name,
                        f.datatype,
                        size,
                        f.unit,
                        f.null_value()
                    );
                }
                for r in 0..t.nrows().min(3) {
                    let cells: Vec<String> = t.row(r).iter().map(short).collect();
                    let _ = writeln!(out, "  row {r}: {}", cells.join(", "));
                }
            }
        }
    }
    out
}

#[test]
fn fixture_snapshots() {
    insta::glob!(
        "../../../fixtures",
        "{votable/*.vot,dachs/votable/*.vot,eso/tap/seed000_dbo_raw_2rows.vot}",
        |path| {
            insta::assert_snapshot!(summary(path));
        }
    );
}

/// Every VOTable-ish fixture in the repository (other crates' too) parses or
/// fails with an error, never a panic.
#[test]
fn every_fixture_parses_without_panic() {
    fn walk(dir: &Path, n: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("vot" | "xml")) {
                let bytes = std::fs::read(&p).unwrap();
                let _ = votable::parse(&bytes);
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
        &mut n,
    );
    assert!(n >= 10, "only {n} fixtures found");
}
