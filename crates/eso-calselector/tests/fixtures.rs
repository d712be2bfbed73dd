//! Snapshots over the recorded and rebuilt calSelector fixtures (`fixtures/eso/calselector`).

use std::path::{Path, PathBuf};

use eso_calselector::multipart::{self, parse_tree_reply};
use eso_calselector::tree::TextStyle;
use eso_calselector::{
    AssociationTree, CalSelectorLinks, CalibrationPlan, FrameReport, Mode, ParseWarning,
    QualityWarning, Role, TreeLimits,
};
use serde_json::json;

const SEED_FRAME: &str = "SPHER.2016-09-26T03:04:09.308";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eso/calselector")
}

fn read(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn meta_content_type(name: &str) -> String {
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&format!("{name}.meta.json"))).unwrap();
    meta["content_type"].as_str().unwrap().to_owned()
}

fn frame(name: &str, dp_id: &str, mode: Mode) -> FrameReport {
    FrameReport::from_votable(dp_id, mode, &read(name)).unwrap()
}

/// What the CLI prints per frame, as a snapshot value.
fn report_view(report: &FrameReport) -> serde_json::Value {
    json!({
        "dp_id": report.dp_id,
        "requested_mode": report.requested_mode,
        "summary": report.summary,
        "warnings": report.warnings,
        "warning_messages": report.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "parse_warnings": report.parse_warnings,
        "rows": {
            "this": report.links.this().map(|r| r.dp_id()),
            "siblings": report.links.siblings().count(),
            "calibrations": report.links.calibrations().map(|r| (r.eso_category.clone(), r.dp_id())).collect::<Vec<_>>(),
            "association_trees": report.links.association_trees().map(|r| (r.role, r.access_url.clone())).collect::<Vec<_>>(),
        },
    })
}

#[test]
fn every_meta_json_is_complete() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".meta.json") {
            continue;
        }
        let stem = name.rsplit_once('.').unwrap().0;
        let meta: serde_json::Value =
            serde_json::from_slice(&read(&format!("{stem}.meta.json"))).unwrap();
        for key in [
            "version",
            "url",
            "method",
            "status",
            "content_type",
            "date",
            "source",
            "docs",
        ] {
            assert!(!meta[key].is_null(), "{name}: meta lacks {key}");
        }
        count += 1;
    }
    assert_eq!(count, 9);
}

#[test]
fn seed_000_rows_by_role() {
    let (links, warnings) =
        CalSelectorLinks::parse(&read("seed000_sphere_raw2master.vot")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(links.rows.len(), 13);
    assert_eq!(links.by_role(Role::This).count(), 1);
    assert_eq!(links.siblings().count(), 3);
    assert_eq!(links.calibrations().count(), 8);
    let trees: Vec<_> = links.association_trees().collect();
    assert_eq!(trees.len(), 1);
    assert_eq!(trees[0].role, Role::AssociationTree(Mode::Raw2Master));
    assert_eq!(
        trees[0].access_url.as_deref(),
        Some(
            "https://archive.eso.org/calselector/v1/associations?dp_id=SPHER.2016-09-26T03:04:09.308&mode=Raw2Master"
        )
    );
    let this = links.this().unwrap();
    assert_eq!(this.content_length, Some(58_631_135));
    assert_eq!(this.dp_id().as_deref(), Some(SEED_FRAME));
}

#[test]
fn seed_000_summary() {
    let report = frame(
        "seed000_sphere_raw2master.vot",
        SEED_FRAME,
        Mode::Raw2Master,
    );
    assert!(report.warnings.is_empty());
    insta::assert_json_snapshot!(report_view(&report));
}

#[test]
fn uncertified_summary() {
    let report = frame("uncertified_raw2master.vot", SEED_FRAME, Mode::Raw2Master);
    assert_eq!(report.warnings, vec![QualityWarning::NotCertified]);
    insta::assert_json_snapshot!(report_view(&report));
}

#[test]
fn incomplete_summary_keeps_escaped_quotes() {
    let report = frame("incomplete_messages.vot", SEED_FRAME, Mode::Raw2Master);
    assert!(matches!(
        &report.warnings[..],
        [QualityWarning::Incomplete { messages }] if messages.contains("\"closest\"")
    ));
    insta::assert_json_snapshot!(report_view(&report));
}

#[test]
fn raw2master_answered_in_raw2raw() {
    let report = frame(
        "raw2master_fallback_raw2raw.vot",
        SEED_FRAME,
        Mode::Raw2Master,
    );
    assert_eq!(
        report.warnings,
        vec![QualityWarning::ModeMismatch {
            requested: Mode::Raw2Master,
            executed: Mode::Raw2Raw
        }]
    );
    // Asking for Raw2Raw and getting Raw2Raw is fine.
    let asked_raw = frame("raw2master_fallback_raw2raw.vot", SEED_FRAME, Mode::Raw2Raw);
    assert!(asked_raw.warnings.is_empty());
    insta::assert_json_snapshot!(report_view(&report));
}

#[test]
fn no_association() {
    let report = frame(
        "no_association.vot",
        "SPHER.2016-09-26T02:58:40.001",
        Mode::Raw2Master,
    );
    assert_eq!(
        report.warnings,
        vec![QualityWarning::NoAssociation {
            message: "No association could be established: this file type is not supported"
                .to_owned()
        }]
    );
    assert_eq!(
        report.warnings[0].to_string(),
        "No association could be established: this file type is not supported"
    );
    insta::assert_json_snapshot!(report_view(&report));
}

fn tree(name: &str) -> AssociationTree {
    let (tree, warnings) = AssociationTree::parse(&read(name)).unwrap();
    assert!(warnings.is_empty(), "{name}: {warnings:?}");
    tree
}

#[test]
fn fors2_tree_renderings() {
    let tree = tree("fors2_raw2raw_tree.xml");
    assert_eq!(tree.root.mode, Some(Mode::Raw2Raw));
    assert_eq!(
        tree.science_files()[0].name,
        "FORS2.2021-01-02T00:59:12.533"
    );
    let files = tree.files();
    // 1 science + 5 sky flats + 20 + 20 biases + 3 standards + flux std + phot table.
    assert_eq!(files.len(), 51);
    let bias = files
        .iter()
        .find(|f| f.name == "FORS2.2020-12-26T08:54:31.688")
        .unwrap();
    assert_eq!(
        bias.branches,
        vec![
            vec!["SCI_IMG_2x2_low", "FLAT_SKY", "BIAS"],
            vec!["SCI_IMG_2x2_low", "STD_IMA", "FLAT_SKY", "BIAS"],
        ]
    );
    insta::assert_snapshot!(
        "fors2_tree_text_compact",
        tree.to_text_with(TextStyle::Compact)
    );
    insta::assert_snapshot!("fors2_tree_text_full", tree.to_text());
    insta::assert_snapshot!("fors2_tree_json", tree.to_json());
    insta::assert_snapshot!("fors2_tree_dot", tree.to_dot());
    insta::assert_json_snapshot!("fors2_tree_files", files);
}

#[test]
fn sphere_tree_renderings() {
    let tree = tree("seed000_sphere_raw2master_tree.xml");
    let calibrations = tree.calibration_files();
    // Consistent with the 8 #calibration rows of the VOTable.
    let (links, _) = CalSelectorLinks::parse(&read("seed000_sphere_raw2master.vot")).unwrap();
    let mut from_tree: Vec<(String, String)> = calibrations
        .iter()
        .map(|f| (f.name.clone(), f.category.clone().unwrap()))
        .collect();
    let mut from_votable: Vec<(String, String)> = links
        .calibrations()
        .map(|r| (r.dp_id().unwrap(), r.eso_category.clone().unwrap()))
        .collect();
    from_tree.sort();
    from_votable.sort();
    assert_eq!(from_tree, from_votable);
    assert_eq!(tree.science_files().len(), 4);
    insta::assert_snapshot!("sphere_tree_text", tree.to_text());
    insta::assert_snapshot!("sphere_tree_dot", tree.to_dot());
    insta::assert_json_snapshot!("sphere_tree_files", tree.files());
}

#[test]
fn fors2_multipart_reply() {
    let content_type = meta_content_type("fors2_raw2raw_multipart");
    let body = read("fors2_raw2raw_multipart.txt");
    let (parts, warnings) = multipart::split(&content_type, &body).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(parts.len(), 2);
    for part in &parts {
        assert_eq!(part.declared_length, Some(part.body.len() as u64));
        assert_eq!(
            part.content_type.as_deref(),
            Some("application/xml;content=calselector")
        );
    }
    // The second part is byte for byte the single-file sample.
    assert_eq!(parts[1].body, read("fors2_raw2raw_tree.xml"));
    let documents = parse_tree_reply(Some(&content_type), &body, &TreeLimits::default()).unwrap();
    let view: Vec<_> = documents
        .iter()
        .map(|d| {
            json!({
                "part": d.part,
                "filename": d.filename,
                "safe_filename": d.safe_filename,
                "dp_id": d.dp_id,
                "files": d.tree.as_ref().map(|t| t.files().len()).ok(),
                "warnings": d.warnings,
            })
        })
        .collect();
    assert!(documents[0].is_for("FORS2.2021-01-02T00:59:12.534"));
    assert!(documents[1].is_for("FORS2.2021-01-02T00:59:12.533"));
    if !cfg!(windows) {
        insta::assert_json_snapshot!(view);
    }
}

#[test]
fn hostile_multipart_names_never_escape() {
    let content_type = meta_content_type("hostile_multipart");
    let body = read("hostile_multipart.txt");
    let documents = parse_tree_reply(Some(&content_type), &body, &TreeLimits::default()).unwrap();
    assert_eq!(documents.len(), 2);
    let raw_names: Vec<_> = documents.iter().map(|d| d.filename.clone()).collect();
    assert_eq!(
        raw_names,
        vec![
            Some("/tmp/evil.xml".to_owned()),
            Some("../x.xml".to_owned())
        ]
    );
    let safe_names: Vec<_> = documents.iter().map(|d| d.safe_filename.clone()).collect();
    assert_eq!(
        safe_names,
        vec![Some("evil.xml".to_owned()), Some("x.xml".to_owned())]
    );
    for document in &documents {
        // Whatever the server sent, the sanitised name stays in the destination.
        let dest = Path::new("/dest");
        let safe = document.safe_filename.as_deref().unwrap();
        assert_eq!(dest.join(safe).parent(), Some(dest));
        assert!(matches!(
            &document.warnings[..],
            [ParseWarning::UnsafeFilename { .. }]
        ));
        // The tree is still usable, and its local name comes from the trusted dp_id.
        let tree = document.tree.as_ref().unwrap();
        let dp_id = &tree.science_files()[0].name;
        let local = multipart::tree_file_name(dp_id, Mode::Raw2Raw);
        if !cfg!(windows) {
            let local = local.unwrap();
            let dest = Path::new("/dest");
            assert_eq!(dest.join(&local).parent(), Some(dest));
        }
    }
    insta::assert_json_snapshot!(documents.iter().map(|d| &d.warnings).collect::<Vec<_>>());
}

/// Three frames: the seed frame, a sibling asked too (reply: the incomplete variant), and an
/// acquisition frame that calSelector cannot associate.
fn three_frame_plan() -> CalibrationPlan {
    let frames = vec![
        frame(
            "seed000_sphere_raw2master.vot",
            SEED_FRAME,
            Mode::Raw2Master,
        ),
        frame(
            "incomplete_messages.vot",
            "SPHER.2016-09-26T03:05:51.768",
            Mode::Raw2Master,
        ),
        frame(
            "no_association.vot",
            "SPHER.2016-09-26T02:58:40.001",
            Mode::Raw2Master,
        ),
    ];
    CalibrationPlan::new(Mode::Raw2Master, frames)
}

#[test]
fn plan_deduplicates_calibrations() {
    let mut plan = three_frame_plan();
    assert_eq!(plan.calibrations.len(), 8);
    let shared = plan
        .calibrations
        .iter()
        .filter(|f| f.needed_by.len() == 2)
        .count();
    assert_eq!(shared, 7);
    // The sibling that was itself requested is not listed again.
    assert_eq!(plan.siblings.len(), 2);
    assert_eq!(plan.trees.len(), 2);
    assert_eq!(plan.calibration_bytes(), 506_753_280);
    assert_eq!(plan.quality_warnings().count(), 2);

    let documents = parse_tree_reply(
        Some("application/xml; content=calselector"),
        &read("seed000_sphere_raw2master_tree.xml"),
        &TreeLimits::default(),
    )
    .unwrap();
    let left = plan.attach_trees(documents);
    assert!(left.is_empty());
    assert!(plan.frame(SEED_FRAME).unwrap().tree.is_some());
    if !cfg!(windows) {
        insta::assert_snapshot!("three_frame_plan", plan.to_json());
    }
}
