//! Integration tests against a real GAVO DaCHS (see `../shared/dachs` and `cargo xtask dachs`).
//!
//! They run only when `VO_DACHS_URL` is set, e.g.
//! `VO_DACHS_URL=http://127.0.0.1:18080 cargo test -p vo-tap --test dachs`;
//! otherwise every test returns at once.
#![cfg(feature = "client")]

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use vo_auth::http::{HttpClient, RequestOptions};
use vo_tap::client::{JobOptions, TapClient, VoTableStream};
use vo_tap::wait::WaitConfig;
use vo_tap::{
    Error, ExecutionPhase, JobFilter, ResponseFormat, TablesDetail, TapQuery, Upload,
    VoTableEncoding,
};
use votable::{Row, Value};

fn tap() -> Option<TapClient> {
    let base = std::env::var("VO_DACHS_URL").ok()?;
    let url = format!("{}/tap", base.trim_end_matches('/')).parse().ok()?;
    let http = HttpClient::builder()
        .read_timeout(Duration::from_secs(60))
        .build()
        .ok()?;
    Some(
        TapClient::builder(url)
            .http(http)
            .wait_config(WaitConfig {
                blocking_wait: Duration::from_secs(10),
                deadline: Some(Duration::from_secs(120)),
                ..WaitConfig::default()
            })
            .build()
            .expect("client"),
    )
}

async fn count_rows(stream: VoTableStream) -> (Vec<String>, vo_tap::QueryOutcome) {
    stream
        .read_blocking(|s| {
            let idx = s.table().and_then(|t| t.field_index("obj_id")).unwrap_or(0);
            let mut row = Row::new();
            let mut ids = Vec::new();
            while s.read_row(&mut row)? {
                ids.push(
                    row.get(idx)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            Ok(ids)
        })
        .await
        .unwrap()
}

const TOP10: &str = "SELECT TOP 10 obj_id, ra, dec, mag_g, remark FROM vocat.main ORDER BY obj_id";

#[tokio::test(flavor = "multi_thread")]
async fn sync_in_every_format() {
    let Some(tap) = tap() else { return };
    for encoding in [
        VoTableEncoding::ServerDefault,
        VoTableEncoding::TableData,
        VoTableEncoding::Binary2,
    ] {
        let query = TapQuery::new(TOP10).format(ResponseFormat::VoTable(encoding));
        let (ids, outcome) = count_rows(tap.query_sync(&query).await.unwrap()).await;
        assert_eq!(ids.len(), 10, "{encoding:?}");
        assert_eq!(ids[0], "SRC-00001", "{encoding:?}");
        assert!(!outcome.overflow);
    }
    // DaCHS 2.7 does not accept the DALI spelling of BINARY (its default is BINARY anyway).
    let binary = TapQuery::new(TOP10).format(ResponseFormat::VoTable(VoTableEncoding::Binary));
    assert!(matches!(
        tap.query_sync(&binary).await,
        Err(Error::Query { .. })
    ));

    for (format, prefix) in [
        (
            ResponseFormat::Csv,
            &b"obj_id,ra,dec,mag_g,remark\r\nSRC-00001,"[..],
        ),
        (ResponseFormat::Tsv, &b"SRC-00001\t"[..]),
        (ResponseFormat::Json, &b"{"[..]),
        (ResponseFormat::Fits, &b"SIMPLE  =                    T"[..]),
        (
            ResponseFormat::VoTable(VoTableEncoding::Binary2),
            &b"<?xml"[..],
        ),
    ] {
        let query = TapQuery::new(TOP10).format(format.clone());
        let (bytes, outcome) = tap.query_sync_to(&query, Vec::new()).await.unwrap();
        assert!(
            bytes.starts_with(prefix),
            "{format}: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
        assert_eq!(outcome.bytes, bytes.len() as u64);
        assert!(!outcome.overflow);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_errors_and_overflow() {
    let Some(tap) = tap() else { return };
    let err = tap
        .query_sync_to(
            &TapQuery::new("SELECT nosuchcol FROM vocat.main").format(ResponseFormat::Csv),
            Vec::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Query { message, .. } if message.contains("nosuchcol")),
        "{err:?}"
    );
    let err = tap
        .query_sync(&TapQuery::new("SELEKT 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err:?}");

    let query = TapQuery::new("SELECT obj_id FROM vocat.main ORDER BY obj_id").maxrec(5);
    let (ids, outcome) = count_rows(tap.query_sync(&query).await.unwrap()).await;
    assert_eq!((ids.len(), outcome.overflow), (5, true));
    let query = query.format(ResponseFormat::VoTable(VoTableEncoding::TableData));
    let (_, outcome) = tap.query_sync_to(&query, Vec::new()).await.unwrap();
    assert!(
        outcome.overflow,
        "overflow seen in a passed-through VOTable"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn async_full_cycle_with_wait() {
    let Some(tap) = tap() else { return };
    let options = JobOptions {
        execution_duration: Some(600),
        ..JobOptions::default()
    };
    let started = std::time::Instant::now();
    let (job_url, stream) = tap
        .query_async(&TapQuery::new(TOP10), &options)
        .await
        .unwrap();
    let (ids, _) = count_rows(stream).await;
    assert_eq!(ids.len(), 10);
    assert!(started.elapsed() < Duration::from_secs(60));
    let job = tap.job(&job_url, None).await.unwrap();
    assert_eq!(job.phase, ExecutionPhase::Completed);
    assert_eq!(job.execution_duration, Some(600));
    assert!(job.parameter("query").unwrap().contains("vocat.main"));
    let listed = tap
        .list_jobs(&JobFilter {
            phases: vec![ExecutionPhase::Completed],
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert!(listed.iter().any(|j| j.id == job.job_id));
    tap.delete(&job_url).await.unwrap();
    assert!(matches!(
        tap.job(&job_url, None).await,
        Err(Error::JobLost { .. })
    ));
    // Deleting again is not an error.
    tap.delete(&job_url).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn error_job_and_abort() {
    let Some(tap) = tap() else { return };
    let job_url = tap
        .submit(
            &TapQuery::new("SELECT nosuchcol FROM vocat.main"),
            &JobOptions::default(),
        )
        .await
        .unwrap();
    let job = tap.wait(&job_url).await.unwrap();
    assert_eq!(job.phase, ExecutionPhase::Error);
    let err = tap.result_url(&job_url, &job).await.unwrap_err();
    assert!(
        matches!(&err, Error::JobFailed { message: Some(m), .. } if m.contains("nosuchcol")),
        "{err:?}"
    );
    assert!(
        tap.error_document(&job_url)
            .await
            .unwrap()
            .contains("nosuchcol")
    );
    tap.delete(&job_url).await.unwrap();

    let job_url = tap
        .submit(&TapQuery::new(TOP10), &JobOptions::default())
        .await
        .unwrap();
    assert_eq!(
        tap.job(&job_url, None).await.unwrap().phase,
        ExecutionPhase::Pending
    );
    tap.abort(&job_url).await.unwrap();
    let job = tap.job(&job_url, None).await.unwrap();
    assert_eq!(job.phase, ExecutionPhase::Aborted);
    assert!(matches!(
        tap.result_url(&job_url, &job).await,
        Err(Error::JobFailed {
            phase: ExecutionPhase::Aborted,
            ..
        })
    ));
    tap.delete(&job_url).await.unwrap();
    assert!(matches!(
        tap.job(&job_url, None).await,
        Err(Error::JobLost { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_a_table() {
    let Some(tap) = tap() else { return };
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dachs/tap/job_result.vot");
    let query = TapQuery::new(
        "SELECT m.obj_id, m.mag_g FROM vocat.main AS m JOIN TAP_UPLOAD.mine AS u ON m.obj_id = u.obj_id ORDER BY m.obj_id",
    )
    .upload(Upload::from_path("mine", &path).unwrap());
    let (ids, _) = count_rows(tap.query_sync(&query).await.unwrap()).await;
    assert_eq!(ids, vec!["SRC-00001", "SRC-00002", "SRC-00003"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn vosi() {
    let Some(tap) = tap() else { return };
    let caps = tap.capabilities().await.unwrap();
    let table_access = caps.tap().unwrap();
    assert!(table_access.languages.iter().any(|l| l.name == "ADQL"));
    assert!(
        table_access
            .output_limit
            .as_ref()
            .and_then(|l| l.hard)
            .is_some()
    );
    assert!(tap.availability().await.unwrap().available);
    let min = tap.tables(TablesDetail::Min).await.unwrap();
    assert!(min.table("vocat.main").is_some());
    let full = tap.tables(TablesDetail::Default).await.unwrap();
    assert_eq!(full.table("vocat.main").unwrap().columns.len(), 9);
    let one = tap.table("vocat.main").await.unwrap();
    let names: Vec<_> = one.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "obj_id", "ra", "dec", "mag_g", "nobs", "flags", "obs_mjd", "obs_time", "remark"
        ]
    );
}

/// One CSV record (RFC 4180: quotes, doubled quotes, line breaks inside quotes).
fn read_csv_record(input: &mut dyn BufRead) -> std::io::Result<Option<Vec<String>>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    loop {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => fields.push(std::mem::take(&mut field)),
                (false, '\r' | '\n') => {}
                (false, c) => field.push(c),
            }
        }
        if !quoted {
            break;
        }
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
    }
    fields.push(field);
    Ok(Some(fields))
}

fn same(value: &Value, text: &str) -> bool {
    match value {
        Value::Null => text.is_empty(),
        // DaCHS writes `char` columns as ASCII in VOTables, replacing any other character
        // by `?`; its CSV keeps the UTF-8 text.
        Value::String(s) => {
            s == text
                || *s
                    == text
                        .chars()
                        .map(|c| if c.is_ascii() { c } else { '?' })
                        .collect::<String>()
        }
        Value::Float(f) if f.is_nan() => text.is_empty(),
        Value::Double(d) if d.is_nan() => text.is_empty(),
        Value::Float(f) => text.parse::<f32>().is_ok_and(|t| t == *f),
        Value::Double(d) => text.parse::<f64>().is_ok_and(|t| t == *d),
        other => other.as_i64().is_some_and(|i| text.parse::<i64>() == Ok(i)),
    }
}

/// The whole 5000-row catalogue, streamed as BINARY2 VOTable and as CSV side by side.
#[tokio::test(flavor = "multi_thread")]
async fn vocat_main_exact_contents() {
    let Some(tap) = tap() else { return };
    let adql = "SELECT * FROM vocat.main ORDER BY obj_id";
    let votable_query = TapQuery::new(adql)
        .maxrec(100_000)
        .format(ResponseFormat::VoTable(VoTableEncoding::Binary2));
    let stream = tap.query_sync(&votable_query).await.unwrap();
    let csv_request = tap
        .service()
        .sync_query(
            &TapQuery::new(adql)
                .maxrec(100_000)
                .format(ResponseFormat::Csv),
        )
        .unwrap();
    let csv = tap
        .http()
        .send(csv_request, RequestOptions::default())
        .await
        .unwrap()
        .into_blocking_reader();
    let (rows, outcome) = stream
        .read_blocking(move |s| {
            let mut csv = csv;
            let names: Vec<String> = s
                .table()
                .unwrap()
                .fields
                .iter()
                .map(|f| f.name.clone())
                .collect();
            let header = read_csv_record(&mut csv).unwrap().unwrap();
            assert_eq!(header, names);
            let mut row = Row::new();
            let mut n = 0u64;
            while s.read_row(&mut row)? {
                let record = read_csv_record(&mut csv).unwrap().expect("CSV ends early");
                assert_eq!(record.len(), names.len(), "row {n}");
                for (i, (value, text)) in row.values().iter().zip(&record).enumerate() {
                    assert!(
                        same(value, text),
                        "row {n} column {}: VOTable {value:?} vs CSV {text:?}",
                        names[i]
                    );
                }
                n += 1;
            }
            assert!(
                read_csv_record(&mut csv).unwrap().is_none(),
                "CSV has more rows"
            );
            Ok(n)
        })
        .await
        .unwrap();
    assert_eq!(rows, 5000);
    assert!(!outcome.overflow);
}
