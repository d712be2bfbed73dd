//! Client tests: recorded fixtures replayed through wiremock.
#![cfg(feature = "client")]

use std::path::Path;
use std::time::Duration;

use url::Url;
use vo_auth::http::HttpClient;
use vo_auth::retry::RetryConfig;
use vo_tap::client::{JobOptions, TapClient};
use vo_tap::wait::WaitConfig;
use vo_tap::{Error, ExecutionPhase, ResponseFormat, TablesDetail, TapQuery, Upload};
use wiremock::matchers::{body_string_contains, header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(rel),
    )
    .unwrap()
}

fn votable(rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-votable+xml")
        .set_body_bytes(fixture(rel))
}

fn xml(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml")
        .set_body_bytes(body)
}

/// A job document fixture with its hrefs pointing at the mock server.
fn job_doc(rel: &str, server: &MockServer) -> Vec<u8> {
    let text = String::from_utf8(fixture(rel)).unwrap();
    let start = text.find("<uws:jobId>").unwrap() + "<uws:jobId>".len();
    let id = &text[start..start + text[start..].find('<').unwrap()];
    text.replace(
        &format!("http://127.0.0.1:18080/__system__/tap/run/async/{id}"),
        &format!("{}/tap/async/job1", server.uri()),
    )
    .into_bytes()
}

fn client(server: &MockServer) -> TapClient {
    let http = HttpClient::builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    TapClient::builder(format!("{}/tap", server.uri()).parse().unwrap())
        .http(http)
        .wait_config(WaitConfig {
            blocking_wait: Duration::from_secs(2),
            poll_initial: Duration::from_millis(10),
            poll_max: Duration::from_millis(40),
            ..WaitConfig::default()
        })
        .build()
        .unwrap()
}

async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_votable_streams_rows() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("REQUEST=doQuery"))
        .and(body_string_contains("MAXREC=1"))
        .and(body_string_contains("QUERY=SELECT+TOP+1"))
        .respond_with(votable("eso/tap/obscore_1row.vot"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let stream = client(&server)
        .query_sync(&TapQuery::new("SELECT TOP 1 * FROM ivoa.ObsCore").maxrec(1))
        .await
        .unwrap();
    assert_eq!(stream.table().unwrap().fields.len(), 55);
    let (ids, outcome) = stream
        .read_blocking(|s| {
            let idx = s.table().unwrap().field_index("obs_publisher_did").unwrap();
            let mut row = votable::Row::new();
            let mut ids = Vec::new();
            while s.read_row(&mut row)? {
                ids.push(row.get(idx).and_then(|v| v.as_str().map(str::to_owned)));
            }
            Ok(ids)
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].as_deref().unwrap().starts_with("ivo://eso.org/ID?"));
    assert_eq!((outcome.rows, outcome.overflow), (1, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_errors_are_typed() {
    let server = MockServer::start().await;
    // ESO shape: HTTP 400 with the status before any table.
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("obscorex"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-votable+xml")
                .set_body_bytes(fixture("eso/tap/sync_error.vot")),
        )
        .expect(1)
        .mount(&server)
        .await;
    // DaCHS shape: HTTP 200 text/xml VOTable error although CSV was asked.
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("RESPONSEFORMAT=csv"))
        .respond_with(xml(fixture("dachs/tap/sync_error_csv.vot")))
        .expect(1)
        .mount(&server)
        .await;
    // DaCHS shape, VOTable asked: HTTP 200 with the error.
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("SELEKT"))
        .respond_with(xml(fixture("dachs/tap/sync_syntax_error.vot")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);

    let err = tap
        .query_sync(&TapQuery::new("SELECT * FROM ivoa.obscorex"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Query { message, .. } if message == "Table ivoa.obscorex does not exist"),
        "{err:?}"
    );

    let out: Vec<u8> = Vec::new();
    let err = tap
        .query_sync_to(
            &TapQuery::new("SELECT id FROM vocat.main").format(ResponseFormat::Csv),
            out,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Query { message, .. } if message.contains("column 'id' could not be located")),
        "{err:?}"
    );

    let err = tap.query_sync(&TapQuery::new("SELEKT")).await.unwrap_err();
    assert!(
        err.to_string().contains("Could not parse your query"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passthrough_and_overflow() {
    let server = MockServer::start().await;
    let csv = fixture("dachs/tap/sync_3rows.csv");
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("RESPONSEFORMAT=csv"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/csv;header=present")
                .set_body_bytes(csv.clone()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(body_string_contains("MAXREC=3"))
        .respond_with(votable("dachs/tap/sync_overflow_td.vot"))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);

    let (out, outcome) = tap
        .query_sync_to(
            &TapQuery::new("SELECT 1").format(ResponseFormat::Csv),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(out, csv, "CSV passed through untouched");
    assert_eq!((outcome.bytes, outcome.overflow), (csv.len() as u64, false));

    let query = TapQuery::new("SELECT 1")
        .maxrec(3)
        .format(ResponseFormat::VoTable(vo_tap::VoTableEncoding::TableData));
    let stream = tap.query_sync(&query).await.unwrap();
    let (rows, outcome) = stream
        .read_blocking(|s| {
            let mut row = votable::Row::new();
            let mut n = 0;
            while s.read_row(&mut row)? {
                n += 1;
            }
            Ok(n)
        })
        .await
        .unwrap();
    assert_eq!((rows, outcome.rows, outcome.overflow), (3, 3, true));

    let (out, outcome) = tap.query_sync_to(&query, Vec::new()).await.unwrap();
    assert_eq!(out, fixture("dachs/tap/sync_overflow_td.vot"));
    assert!(
        outcome.overflow,
        "overflow after the data seen in passthrough"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn async_full_cycle() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap/async"))
        .and(body_string_contains("RUNID="))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tap/async/job1/executionduration"))
        .and(body_string_contains("EXECUTIONDURATION=300"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/tap/async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tap/async/job1/phase"))
        .and(body_string_contains("PHASE=RUN"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/tap/async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/job1"))
        .and(query_param("WAIT", "2"))
        .and(query_param("PHASE", "PENDING"))
        .respond_with(xml(job_doc("dachs/tap/job_completed.xml", &server)))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/job1"))
        .respond_with(xml(job_doc("dachs/tap/job_pending.xml", &server)))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/job1/results/result"))
        .respond_with(votable("dachs/tap/job_result.vot"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/tap/async/job1"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/tap/async"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .expect(0)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);

    let options = JobOptions {
        execution_duration: Some(300),
        ..JobOptions::default()
    };
    let (job_url, stream) = tap
        .query_async(
            &TapQuery::new("SELECT TOP 3 obj_id, ra FROM vocat.main"),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(job_url.as_str(), format!("{}/tap/async/job1", server.uri()));
    let (rows, outcome) = stream
        .read_blocking(|s| {
            let mut row = votable::Row::new();
            let mut rows = Vec::new();
            while s.read_row(&mut row)? {
                rows.push(row.get(0).and_then(|v| v.as_str().map(str::to_owned)));
            }
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            Some("SRC-00001".into()),
            Some("SRC-00002".into()),
            Some("SRC-00003".into())
        ]
    );
    assert!(!outcome.overflow);
    let started = std::time::Instant::now();
    tap.delete(&job_url).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 303 to the job list was not followed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_lost_archived_and_transient() {
    let server = MockServer::start().await;
    let base = format!("{}/tap/async", server.uri());
    Mock::given(method("GET"))
        .and(path("/tap/async/err"))
        .respond_with(xml(fixture("dachs/tap/job_error.xml")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("content-type", "text/xml")
                .set_body_bytes(fixture("dachs/tap/job_not_found.vot")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let archived = String::from_utf8(fixture("dachs/tap/job_completed.xml"))
        .unwrap()
        .replace("<uws:phase>COMPLETED", "<uws:phase>ARCHIVED");
    Mock::given(method("GET"))
        .and(path("/tap/async/arch"))
        .respond_with(xml(archived.into_bytes()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .expect(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async/flaky"))
        .respond_with(xml(fixture("dachs/tap/job_aborted.xml")))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);

    let url: Url = tap.job_url("err").unwrap();
    assert_eq!(url.as_str(), format!("{base}/err"));
    let job = tap.wait(&url).await.unwrap();
    assert_eq!(job.phase, ExecutionPhase::Error);
    let err = tap.result_url(&url, &job).await.unwrap_err();
    assert!(
        matches!(&err, Error::JobFailed { phase: ExecutionPhase::Error, message: Some(m), .. } if m.contains("nosuchcol")),
        "{err:?}"
    );

    let err = tap.wait(&tap.job_url("gone").unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::JobLost { .. }), "{err:?}");

    let url = tap.job_url(&format!("{base}/arch")).unwrap();
    let job = tap.wait(&url).await.unwrap();
    assert!(matches!(
        tap.result_url(&url, &job).await,
        Err(Error::JobExpired { .. })
    ));

    let url = tap.job_url("flaky").unwrap();
    let job = tap.wait(&url).await.unwrap();
    assert_eq!(job.phase, ExecutionPhase::Aborted);
    assert!(matches!(
        tap.result_url(&url, &job).await,
        Err(Error::JobFailed {
            phase: ExecutionPhase::Aborted,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn deadline_leaves_the_job() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/tap/async/slow"))
        .respond_with(xml(fixture("dachs/tap/job_executing.xml")))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);
    let url = tap.job_url("slow").unwrap();
    let config = WaitConfig {
        deadline: Some(Duration::from_millis(300)),
        ..tap.wait_config().clone()
    };
    let err = tap.wait_with(&url, config).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::WaitTimeout {
                phase: Some(ExecutionPhase::Executing),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("/tap/async/slow"), "{err}");
    let polls = server.received_requests().await.unwrap().len();
    assert!(
        polls <= 20,
        "{polls} polls in 300 ms: the client does not pace itself"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_abort_list_and_vosi() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .and(header_regex(
            "content-type",
            "^multipart/form-data; boundary=",
        ))
        .and(body_string_contains("t1,param:t1"))
        .and(body_string_contains("filename=\"t1.vot\""))
        .respond_with(votable("dachs/tap/job_result.vot"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tap/async/job1/phase"))
        .and(body_string_contains("PHASE=ABORT"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/tap/async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/async"))
        .and(query_param("PHASE", "COMPLETED"))
        .and(query_param("LAST", "1"))
        .respond_with(xml(fixture("dachs/tap/job_list_filtered.xml")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/capabilities"))
        .respond_with(xml(fixture("dachs/tap/capabilities.xml")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/availability"))
        .respond_with(xml(fixture("dachs/tap/availability.xml")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/tables"))
        .and(query_param("detail", "min"))
        .respond_with(xml(fixture("dachs/tap/tables_min.xml")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tap/tables/vocat.main"))
        .respond_with(xml(fixture("dachs/tap/table_vocat_main.xml")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);

    let query = TapQuery::new("SELECT * FROM TAP_UPLOAD.t1")
        .upload(Upload::votable("t1", fixture("dachs/tap/job_result.vot")));
    let stream = tap.query_sync(&query).await.unwrap();
    let (_, outcome) = stream
        .read_blocking(|s| {
            let mut row = votable::Row::new();
            while s.read_row(&mut row)? {}
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(outcome.rows, 3);

    tap.abort(&tap.job_url("job1").unwrap()).await.unwrap();
    let jobs = tap
        .list_jobs(&vo_tap::JobFilter {
            phases: vec![ExecutionPhase::Completed],
            last: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(tap.capabilities().await.unwrap().tap().is_some());
    assert!(tap.availability().await.unwrap().available);
    assert_eq!(
        tap.tables(TablesDetail::Min)
            .await
            .unwrap()
            .tables()
            .count(),
        11
    );
    assert_eq!(tap.table("vocat.main").await.unwrap().columns.len(), 9);
}

/// RELIABILITY R4/U7: the creation POST reached the server but its answer was lost:
/// the job is found again by its RUNID in the job list, and creation is not re-sent.
#[tokio::test(flavor = "multi_thread")]
async fn lost_creation_answer_is_recovered_by_runid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap/async"))
        .and(body_string_contains("RUNID=my-run"))
        .respond_with(ResponseTemplate::new(303).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let list = format!(
        r#"<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">
        <uws:jobref id="other" xlink:href="{0}/tap/async/other"><uws:phase>PENDING</uws:phase><uws:runId>x</uws:runId></uws:jobref>
        <uws:jobref id="mine" xlink:href="{0}/tap/async/mine"><uws:phase>PENDING</uws:phase><uws:runId>my-run</uws:runId></uws:jobref>
        </uws:jobs>"#,
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/tap/async"))
        .respond_with(xml(list.into_bytes()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let http = HttpClient::builder()
        .retry(RetryConfig::disabled())
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let tap = TapClient::builder(format!("{}/tap", server.uri()).parse().unwrap())
        .http(http)
        .build()
        .unwrap();
    let options = JobOptions {
        run_id: Some("my-run".into()),
        ..JobOptions::default()
    };
    let job_url = tap
        .submit(&TapQuery::new("SELECT 1"), &options)
        .await
        .unwrap();
    assert_eq!(job_url.as_str(), format!("{}/tap/async/mine", server.uri()));
}

/// RELIABILITY H10: an HTML page with HTTP 200 is not a result.
#[tokio::test(flavor = "multi_thread")]
async fn html_with_200_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap/sync"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<html><body>Maintenance</body></html>",
            "text/html; charset=utf-8",
        ))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tap = client(&server);
    let err = tap
        .query_sync(&TapQuery::new("SELECT 1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol { message, .. } if message.contains("Maintenance")),
        "{err:?}"
    );
    let err = tap
        .query_sync_to(
            &TapQuery::new("SELECT 1").format(ResponseFormat::Csv),
            Vec::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol { message, .. } if message.contains("Maintenance")),
        "{err:?}"
    );
}
