//! Snapshot tests of the pure parsers over the recorded fixtures
//! (`fixtures/dachs/tap`, `fixtures/eso/tap`).

use std::path::Path;

use vo_tap::result::{StatusSniffer, check_query_status, votable_error};
use vo_tap::{UwsJob, uws, vosi};

fn redact_time(value: &mut Option<String>) {
    if value.is_some() {
        *value = Some("[time]".to_owned());
    }
}

/// Job ids and timestamps change at every recording: redact them.
fn redacted(mut job: UwsJob) -> UwsJob {
    let id = std::mem::replace(&mut job.job_id, "[id]".to_owned());
    for time in [
        &mut job.quote,
        &mut job.creation_time,
        &mut job.start_time,
        &mut job.end_time,
        &mut job.destruction,
    ] {
        redact_time(time);
    }
    for result in &mut job.results {
        if let Some(href) = &mut result.href {
            *href = href.replace(&id, "[id]");
        }
    }
    job
}

#[test]
fn uws_job_fixtures() {
    insta::glob!("../../../fixtures", "*/tap/job_*.xml", |path| {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("job_list") {
            let jobs = uws::parse_job_list(&bytes).map(|jobs| {
                jobs.into_iter()
                    .map(|j| (j.phase, j.href.is_some(), j.run_id))
                    .collect::<Vec<_>>()
            });
            assert!(jobs.is_ok(), "{name}: {jobs:?}");
            return;
        }
        insta::assert_debug_snapshot!(uws::parse_job(&bytes).map(redacted));
    });
}

#[test]
fn dachs_job_list() {
    let bytes = std::fs::read(fixture("dachs/tap/job_list.xml")).unwrap();
    let jobs = uws::parse_job_list(&bytes).unwrap();
    assert!(!jobs.is_empty());
    for job in &jobs {
        assert!(job.phase.is_some(), "{job:?}");
        let href = job.href.as_deref().unwrap();
        assert!(href.ends_with(&format!("/async/{}", job.id)), "{href}");
    }
}

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

#[test]
fn vosi_fixtures() {
    let caps =
        vosi::parse_capabilities(&std::fs::read(fixture("dachs/tap/capabilities.xml")).unwrap())
            .unwrap();
    let tap = caps.tap().expect("TAP capability");
    let formats: Vec<_> = tap
        .output_formats
        .iter()
        .filter_map(|f| f.mime.clone())
        .collect();
    let limit = tap.output_limit.clone();
    let upload_methods = tap.upload_methods.clone();
    let languages: Vec<_> = tap
        .languages
        .iter()
        .map(|l| (l.name.clone(), l.versions.clone()))
        .collect();
    let standard_ids: Vec<_> = caps
        .capabilities
        .iter()
        .map(|c| c.standard_id.clone())
        .collect();
    insta::assert_debug_snapshot!(
        "dachs_capabilities",
        (
            standard_ids,
            languages,
            formats,
            limit,
            upload_methods,
            &tap.interfaces
        )
    );

    let eso = vosi::parse_capabilities(
        &std::fs::read(fixture("eso/tap/capabilities_free_prefix.xml")).unwrap(),
    );
    insta::assert_debug_snapshot!("eso_capabilities_free_prefix", eso);

    let availability =
        vosi::parse_availability(&std::fs::read(fixture("dachs/tap/availability.xml")).unwrap())
            .unwrap();
    assert!(availability.available);
    assert!(availability.up_since.is_some());

    let min =
        vosi::parse_tableset(&std::fs::read(fixture("dachs/tap/tables_min.xml")).unwrap()).unwrap();
    let names: Vec<_> = min
        .tables()
        .map(|t| (t.name.clone(), t.columns.len()))
        .collect();
    insta::assert_debug_snapshot!("dachs_tables_min", names);

    let full =
        vosi::parse_tableset(&std::fs::read(fixture("dachs/tap/tables.xml")).unwrap()).unwrap();
    let main = full.table("VOCAT.MAIN").expect("vocat.main");
    assert_eq!(main.columns.len(), 9);

    let one = vosi::parse_table(&std::fs::read(fixture("dachs/tap/table_vocat_main.xml")).unwrap());
    insta::assert_debug_snapshot!("dachs_table_vocat_main", one);
}

/// Reads a VOTable fixture through the streaming reader and applies the status rules.
fn status_of(rel: &str) -> vo_tap::Result<(u64, vo_tap::QueryOutcome)> {
    let url: url::Url = "https://example.org/tap/sync".parse().unwrap();
    let bytes = std::fs::read(fixture(rel)).unwrap();
    let mut reader = votable::Reader::new(std::io::Cursor::new(bytes.clone())).unwrap();
    // Status before the rows (ESO) is seen at once.
    check_query_status(reader.document(), &url)?;
    let mut row = votable::Row::new();
    let mut rows = 0;
    while reader.read_row(&mut row).unwrap() {
        rows += 1;
    }
    let document = reader.finish().unwrap();
    let mut sniffer = StatusSniffer::default();
    sniffer.feed(&bytes);
    let outcome = check_query_status(&document, &url)?;
    assert_eq!(
        sniffer
            .status()
            .map(|s| matches!(s, votable::QueryStatus::Overflow)),
        Some(outcome.overflow),
        "the sniffer agrees with the parser on {rel}"
    );
    Ok((rows, outcome))
}

#[test]
fn votable_status_rules() {
    let (rows, outcome) = status_of("eso/tap/obscore_1row.vot").unwrap();
    assert_eq!((rows, outcome.overflow), (1, false));
    let (rows, outcome) = status_of("eso/tap/obscore_overflow.vot").unwrap();
    assert_eq!((rows, outcome.overflow), (1, true));
    let (rows, outcome) = status_of("dachs/tap/sync_overflow_td.vot").unwrap();
    assert_eq!(
        (rows, outcome.overflow),
        (3, true),
        "OVERFLOW after the data wins over OK before it"
    );
    let (rows, outcome) = status_of("dachs/tap/job_result.vot").unwrap();
    assert_eq!((rows, outcome.overflow), (3, false));

    for rel in [
        "eso/tap/sync_error.vot",
        "dachs/tap/sync_error_csv.vot",
        "dachs/tap/sync_syntax_error.vot",
        "dachs/tap/job_error_detail.vot",
        "dachs/tap/job_not_found.vot",
    ] {
        let err = status_of(rel).unwrap_err();
        let vo_tap::Error::Query { message, .. } = &err else {
            panic!("{rel}: {err:?}");
        };
        let bytes = std::fs::read(fixture(rel)).unwrap();
        assert_eq!(
            votable_error(&bytes).as_deref(),
            Some(message.as_str()),
            "{rel}"
        );
        insta::assert_snapshot!(format!("error_{}", rel.replace(['/', '.'], "_")), message);
    }
}

#[test]
fn every_fixture_has_metadata() {
    for dir in ["dachs/tap", "eso/tap"] {
        for entry in std::fs::read_dir(fixture(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".meta.json") {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                assert_eq!(meta["version"], 1, "{name}");
                for key in [
                    "url",
                    "method",
                    "status",
                    "content_type",
                    "date",
                    "source",
                    "docs",
                ] {
                    assert!(!meta[key].is_null(), "{name} lacks {key}");
                }
                continue;
            }
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            assert!(
                path.with_file_name(format!("{stem}.meta.json")).exists(),
                "{name} has no {stem}.meta.json"
            );
        }
    }
}
