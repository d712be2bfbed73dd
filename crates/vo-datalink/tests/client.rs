//! The async client against wiremock, replaying fixtures.

mod common;

use common::{fits_axes, fixture};
use url::Url;
use vo_auth::http::HttpClient;
use vo_datalink::client::{ClientConfig, DataLinkClient};
use vo_datalink::links::links_requests;
use vo_datalink::soda::{self, SodaQuery};
use vo_datalink::{BatchConfig, CoreTerm, Error, Semantics};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const VOTABLE: &str = "application/x-votable+xml;content=datalink";

fn client(config: ClientConfig) -> DataLinkClient {
    let http = HttpClient::builder()
        .retry(vo_auth::retry::RetryConfig {
            max_retries: 0,
            ..Default::default()
        })
        .build()
        .unwrap();
    DataLinkClient::with_config(http, config)
}

async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// Answers a `{links}` request with one `#this` row per ID of the request (GET or POST).
struct EchoLinks;

impl Respond for EchoLinks {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pairs: Vec<(String, String)> = if request.method == wiremock::http::Method::POST {
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect()
        } else {
            request.url.query_pairs().into_owned().collect()
        };
        let mut rows = String::new();
        for (name, id) in pairs.iter().filter(|(n, _)| n == "ID") {
            let _ = name;
            rows.push_str(&format!(
                "<TR><TD>{id}</TD><TD>https://files.test/{id}</TD><TD>#this</TD></TR>"
            ));
        }
        let body = format!(
            r#"<VOTABLE version="1.3"><RESOURCE type="results"><TABLE>
            <FIELD name="ID" datatype="char" arraysize="*"/>
            <FIELD name="access_url" datatype="char" arraysize="*"/>
            <FIELD name="semantics" datatype="char" arraysize="*"/>
            <DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#
        );
        ResponseTemplate::new(200).set_body_raw(body, VOTABLE)
    }
}

#[tokio::test]
async fn many_ids_are_batched_and_grouped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/links"))
        .respond_with(EchoLinks)
        .expect(3)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let ids: Vec<String> = (0..120).map(|i| format!("id{i:03}")).collect();
    let endpoint = Url::parse(&format!("{}/links", server.uri())).unwrap();
    let result = client(ClientConfig::default())
        .links_for_ids(&endpoint, &ids)
        .await
        .unwrap();
    assert!(result.failures.is_empty());
    let groups = result.response.by_id();
    assert_eq!(groups.len(), 120);
    assert_eq!(groups[0].0, "id000");
    assert_eq!(groups[119].0, "id119");
}

#[tokio::test]
async fn long_id_lists_are_posted_as_forms() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/links"))
        .and(body_string_contains("ID=ivo%3A%2F%2Feso.org%2FID%3FX.1"))
        .respond_with(EchoLinks)
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let ids = vec![
        "ivo://eso.org/ID?X.1".to_owned(),
        "ivo://eso.org/ID?X.2".to_owned(),
    ];
    let endpoint = Url::parse(&format!("{}/links", server.uri())).unwrap();
    let config = ClientConfig {
        batch: BatchConfig {
            max_get_url_len: 40,
            ..BatchConfig::default()
        },
        ..ClientConfig::default()
    };
    let result = client(config).links_for_ids(&endpoint, &ids).await.unwrap();
    assert_eq!(result.response.links.len(), 2);
    assert_eq!(
        result.response.links[1].access_url(),
        Some("https://files.test/ivo://eso.org/ID?X.2")
    );
}

#[tokio::test]
async fn a_failed_batch_does_not_lose_the_others() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/links"))
        .and(query_param("ID", "bad"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/links"))
        .respond_with(EchoLinks)
        .mount(&server)
        .await;
    let ids: Vec<String> = vec!["a".into(), "bad".into(), "c".into()];
    let endpoint = Url::parse(&format!("{}/links", server.uri())).unwrap();
    let config = ClientConfig {
        batch: BatchConfig {
            batch_size: 1,
            ..BatchConfig::default()
        },
        ..ClientConfig::default()
    };
    let result = client(config).links_for_ids(&endpoint, &ids).await.unwrap();
    assert_eq!(result.response.links.len(), 2);
    assert_eq!(result.failures.len(), 1);
    assert_eq!(result.failures[0].ids, ["bad"]);
    assert!(matches!(result.failures[0].error, Error::Http { .. }));
}

#[tokio::test]
async fn dachs_redirect_is_followed() {
    let server = MockServer::start().await;
    let target = format!(
        "{}/voimg/q/dlc/dlmeta?ID=ivo%3A//votest.local/~%3Fvoimg/cubes/cube_01.fits",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/__system__/obscore/dl/dlmeta"))
        .and(query_param(
            "ID",
            "ivo://votest.local/~?voimg/cubes/cube_01.fits",
        ))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", target.as_str())
                .set_body_raw(
                    fixture("dachs/datalink/obscore_dl_redirect.html"),
                    "text/html",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/voimg/q/dlc/dlmeta"))
        .and(query_param(
            "ID",
            "ivo://votest.local/~?voimg/cubes/cube_01.fits",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("dachs/datalink/links_cube_01.vot"), VOTABLE),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let endpoint = Url::parse(&format!("{}/__system__/obscore/dl/dlmeta", server.uri())).unwrap();
    let requests = links_requests(
        &endpoint,
        &["ivo://votest.local/~?voimg/cubes/cube_01.fits".to_owned()],
        &BatchConfig::default(),
    )
    .unwrap();
    let request = requests.into_iter().next().unwrap().request;
    let (links, warnings) = client(ClientConfig::default())
        .execute_links(request)
        .await
        .unwrap();
    assert!(warnings.is_empty());
    assert_eq!(links.links.len(), 3);
    assert!(links.by_semantics(&CoreTerm::Proc.into()).next().is_some());
}

fn progenitor_doc(own: &str, target: &str) -> String {
    format!(
        r#"<VOTABLE version="1.3"><RESOURCE type="results"><TABLE>
        <FIELD name="ID" datatype="char" arraysize="*"/>
        <FIELD name="access_url" datatype="char" arraysize="*"/>
        <FIELD name="semantics" datatype="char" arraysize="*"/>
        <FIELD name="content_type" datatype="char" arraysize="*"/>
        <DATA><TABLEDATA>
        <TR><TD>{own}</TD><TD>https://files.test/{own}</TD><TD>#this</TD><TD>image/fits</TD></TR>
        <TR><TD>{own}</TD><TD>{target}</TD><TD>#progenitor</TD><TD>application/x-votable+xml</TD></TR>
        </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#
    )
}

#[tokio::test]
async fn nested_links_are_followed_with_a_depth_limit() {
    let server = MockServer::start().await;
    let base = server.uri();
    for (own, next) in [("a", "b"), ("b", "c"), ("c", "a")] {
        Mock::given(method("GET"))
            .and(path(format!("/links/{own}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                progenitor_doc(own, &format!("{base}/links/{next}")),
                VOTABLE,
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let start = Url::parse(&format!("{base}/links/a")).unwrap();
    let err = client(ClientConfig::default())
        .follow(&start, &CoreTerm::Progenitor.into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DepthExceeded { ref url, .. } if url.ends_with("/links/a")),
        "{err}"
    );
}

#[tokio::test]
async fn nested_links_stop_at_the_depth_limit_and_refuse_unsafe_urls() {
    let server = MockServer::start().await;
    let base = server.uri();
    for (own, next) in [
        ("a", format!("{base}/links/b")),
        ("b", "file:///etc/passwd".to_owned()),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/links/{own}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(progenitor_doc(own, &next), VOTABLE),
            )
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let start = Url::parse(&format!("{base}/links/a")).unwrap();
    let shallow = client(ClientConfig {
        max_depth: 0,
        ..ClientConfig::default()
    });
    let err = shallow
        .follow(&start, &CoreTerm::Progenitor.into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DepthExceeded { limit: 0, .. }),
        "{err}"
    );
    let err = client(ClientConfig::default())
        .follow(&start, &CoreTerm::Progenitor.into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnsafeUrl { ref scheme, .. } if scheme == "file"),
        "{err}"
    );
    // Following only #this never leaves the first document.
    let only = client(ClientConfig::default())
        .follow(&start, &Semantics::THIS)
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
}

#[tokio::test]
async fn soda_statuses_are_typed() {
    let server = MockServer::start().await;
    let cases: [(&str, ResponseTemplate); 4] = [
        (
            "ok",
            ResponseTemplate::new(200)
                .set_body_raw(fixture("dachs/soda/cube_01_circle.fits"), "image/fits"),
        ),
        ("outside", ResponseTemplate::new(204)),
        (
            "bad",
            ResponseTemplate::new(422)
                .set_body_raw(fixture("dachs/soda/img_01_bad_circle.txt"), "text/plain"),
        ),
        (
            "unknown",
            ResponseTemplate::new(404)
                .set_body_raw(fixture("dachs/soda/unknown_id.html"), "text/html"),
        ),
    ];
    for (id, response) in cases {
        Mock::given(method("GET"))
            .and(path("/soda"))
            .and(query_param("ID", id))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let endpoint = Url::parse(&format!("{}/soda", server.uri())).unwrap();
    let dl = client(ClientConfig::default());
    let request = |id: &str| {
        soda::sync_request(
            &endpoint,
            &SodaQuery {
                ids: vec![id.to_owned()],
                circle: Some((154.0025, 0.4975, 0.05)),
                ..SodaQuery::default()
            },
        )
        .unwrap()
    };
    let response = dl.cutout(request("ok")).await.unwrap();
    let body = response.bytes_limited(1 << 20).await.unwrap();
    assert_eq!(fits_axes(&body), [21, 21, 30]);
    assert!(matches!(
        dl.cutout(request("outside")).await,
        Err(Error::SodaNoData { .. })
    ));
    match dl.cutout(request("bad")).await {
        Err(Error::SodaUsage { message, .. }) => {
            assert_eq!(
                message,
                "UsageError: Field CIRCLE: 'abc' is not a valid literal for CIRCLE"
            );
        }
        other => panic!("expected SodaUsage, got {other:?}"),
    }
    assert!(matches!(
        dl.cutout(request("unknown")).await,
        Err(Error::SodaNotFound { .. })
    ));
}

#[tokio::test]
async fn sia_query_returns_descriptors_and_query_errors_are_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sia"))
        .and(query_param("POS", "155,-1"))
        .and(query_param("SIZE", "0.5"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("dachs/sia/sia1_pos_size.vot"),
            "application/x-votable+xml",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ssa"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"<VOTABLE version="1.3"><RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">bad POS</INFO></RESOURCE></VOTABLE>"#,
            "application/x-votable+xml",
        ))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let dl = client(ClientConfig::default());
    let base = Url::parse(&format!("{}/sia", server.uri())).unwrap();
    let request = vo_datalink::dal::sia1_request(
        &base,
        &vo_datalink::dal::Sia1Query {
            pos: (155.0, -1.0),
            size: Some((0.5, None)),
            ..Default::default()
        },
    )
    .unwrap();
    let (results, _) = dl.query(request).await.unwrap();
    assert!(results.datalink().is_some());
    let base = Url::parse(&format!("{}/ssa", server.uri())).unwrap();
    let request = vo_datalink::dal::ssa_request(&base, &Default::default()).unwrap();
    assert!(matches!(
        dl.query(request).await,
        Err(Error::QueryFailed { ref message }) if message == "bad POS"
    ));
}

/// Answers only for the first `ID` of a request, like DaCHS's ObsCore DataLink service,
/// which redirects a batch to the collection service of its first ID.
struct FirstIdOnly;

impl Respond for FirstIdOnly {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let first = request
            .url
            .query_pairs()
            .find(|(n, _)| n == "ID")
            .map(|(_, v)| v.into_owned());
        let rows = match first.as_deref() {
            Some("gone") | None => String::new(),
            Some(id) => {
                format!("<TR><TD>{id}</TD><TD>https://files.test/{id}</TD><TD>#this</TD></TR>")
            }
        };
        ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"<VOTABLE version="1.3"><RESOURCE type="results"><TABLE>
                <FIELD name="ID" datatype="char" arraysize="*"/>
                <FIELD name="access_url" datatype="char" arraysize="*"/>
                <FIELD name="semantics" datatype="char" arraysize="*"/>
                <DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#
            ),
            VOTABLE,
        )
    }
}

#[tokio::test]
async fn ids_left_out_of_a_batched_answer_are_asked_for_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/links"))
        .respond_with(FirstIdOnly)
        // One batch of four, then three single requests.
        .expect(4)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let ids: Vec<String> = ["a", "b", "gone", "d"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let endpoint = Url::parse(&format!("{}/links?collection=x", server.uri())).unwrap();
    let result = client(ClientConfig::default())
        .links_for_ids(&endpoint, &ids)
        .await
        .unwrap();
    let grouped: Vec<&str> = result.response.by_id().iter().map(|(id, _)| *id).collect();
    assert_eq!(grouped, ["a", "b", "d"]);
    assert_eq!(
        result.warnings,
        [vo_datalink::Warning::NoLinksForId { id: "gone".into() }]
    );
    assert!(result.failures.is_empty());
}
