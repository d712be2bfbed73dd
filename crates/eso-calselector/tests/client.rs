//! The client against fixtures replayed by wiremock on loopback.

use std::path::Path;

use eso_calselector::client::{CalSelectorClient, ClientOptions};
use eso_calselector::{CalSelector, Error, Mode, QualityWarning};
use url::Url;
use vo_auth::http::HttpClient;
use wiremock::matchers::{any, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SEED_FRAME: &str = "SPHER.2016-09-26T03:04:09.308";
const SIBLING: &str = "SPHER.2016-09-26T03:05:51.768";
const ENDPOINT: &str = "/calselector/v1/associations";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/eso/calselector")
            .join(name),
    )
    .unwrap()
}

fn client(server: &MockServer) -> CalSelectorClient {
    let archive = Url::parse(&server.uri()).unwrap();
    CalSelectorClient::new(
        HttpClient::anonymous().unwrap(),
        CalSelector::from_archive(&archive).unwrap(),
    )
}

async fn mount_votable(server: &MockServer, dp_id: &str, fixture: &str) {
    Mock::given(method("GET"))
        .and(path(ENDPOINT))
        .and(query_param("dp_id", dp_id))
        .and(query_param("mode", "Raw2Master"))
        .and(query_param("responseformat", "votable"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(read(fixture))
                .insert_header("content-type", "application/x-votable+xml"),
        )
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .mount(server)
        .await;
}

#[tokio::test]
async fn one_frame_by_get() {
    let server = MockServer::start().await;
    mount_votable(&server, SEED_FRAME, "seed000_sphere_raw2master.vot").await;
    mount_catch_all(&server).await;
    let report = client(&server)
        .frame(SEED_FRAME, Mode::Raw2Master)
        .await
        .unwrap();
    assert!(report.warnings.is_empty());
    assert_eq!(report.links.calibrations().count(), 8);
    assert_eq!(report.science.unwrap().size, Some(58_631_135));
}

#[tokio::test]
async fn trees_of_two_frames_by_post() {
    let server = MockServer::start().await;
    let content_type =
        "multipart/form-data; boundary=uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H;charset=UTF-8";
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains(
            "dp_id=FORS2.2021-01-02T00%3A59%3A12.534&dp_id=FORS2.2021-01-02T00%3A59%3A12.533&mode=Raw2Raw",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(read("fors2_raw2raw_multipart.txt"))
                .insert_header("content-type", content_type),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let documents = client(&server)
        .trees(
            &[
                "FORS2.2021-01-02T00:59:12.534",
                "FORS2.2021-01-02T00:59:12.533",
            ],
            Mode::Raw2Raw,
        )
        .await
        .unwrap();
    assert_eq!(documents.len(), 2);
    assert!(documents.iter().all(|d| d.tree.is_ok()));
}

#[tokio::test]
async fn plan_for_two_frames_with_trees_in_batches_of_one() {
    let server = MockServer::start().await;
    mount_votable(&server, SEED_FRAME, "seed000_sphere_raw2master.vot").await;
    mount_votable(&server, SIBLING, "uncertified_raw2master.vot").await;
    // With a batch size of 1 each tree is a GET without responseformat.
    for dp_id in [SEED_FRAME, SIBLING] {
        Mock::given(method("GET"))
            .and(path(ENDPOINT))
            .and(query_param("dp_id", dp_id))
            .and(query_param("mode", "Raw2Master"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_bytes(read("seed000_sphere_raw2master_tree.xml"))
                    .insert_header("content-type", "application/xml; content=calselector"),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_catch_all(&server).await;
    let client = client(&server).with_options(ClientOptions {
        batch_size: 1,
        ..ClientOptions::default()
    });
    let plan = client
        .plan(&[SEED_FRAME, SIBLING, SEED_FRAME], Mode::Raw2Master, true)
        .await
        .unwrap();
    assert_eq!(plan.frames.len(), 2);
    assert_eq!(plan.calibrations.len(), 8);
    assert!(plan.calibrations.iter().all(|f| f.needed_by.len() == 2));
    assert!(plan.frames.iter().all(|f| f.tree.is_some()));
    assert_eq!(
        plan.quality_warnings().collect::<Vec<_>>(),
        vec![(SIBLING, &QualityWarning::NotCertified)]
    );
}

#[tokio::test]
async fn html_page_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ENDPOINT))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>maintenance</body></html>", "text/html"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server).frame(SEED_FRAME, Mode::Raw2Master).await;
    assert!(
        matches!(result, Err(Error::UnexpectedContentType { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn unauthorized_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ENDPOINT))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server).frame(SEED_FRAME, Mode::Raw2Master).await;
    let Err(Error::Http { source, .. }) = result else {
        panic!("expected an http error, got {result:?}");
    };
    assert!(matches!(
        source.downcast_ref::<vo_auth::Error>(),
        Some(vo_auth::Error::Unauthorized { .. })
    ));
}
