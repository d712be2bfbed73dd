//! End-to-end tests of the offline archive over real HTTP on loopback, with reqwest.

use std::time::Duration;

use eso_demo::{DemoArchive, DemoConfig};
use reqwest::StatusCode;
use reqwest::header;

const SEED_QUERY: &str =
    "select top 2 * from dbo.raw where dp_cat='SCIENCE' and prog_id = '098.C-0739(C)'";
const FIRST: &str = "SPHER.2016-09-26T03:04:09.308";
const SECOND: &str = "SPHER.2016-09-26T03:04:09.496";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> (DemoArchive, reqwest::Client, String) {
    let config = DemoConfig {
        job_duration: Duration::from_millis(200),
        ..DemoConfig::default()
    };
    let archive = DemoArchive::start(config).await.unwrap();
    let base = archive.base_url().as_str().trim_end_matches('/').to_owned();
    (archive, client(), base)
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .get(format!("{base}/sso/oidc/token"))
        .query(&[
            ("response_type", "id_token token"),
            ("grant_type", "password"),
            ("client_id", "clientid"),
            ("username", "demo"),
            ("password", "demo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(json["expires_in"], 28800);
    assert_eq!(json["token_type"], "bearer");
    json["id_token"].as_str().unwrap().to_owned()
}

fn rows(votable: &str) -> usize {
    votable.matches("<TR>").count()
}

#[tokio::test]
async fn login_gives_a_jwt_with_the_expected_claims() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let claims = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    assert_eq!(claims["preferred_username"], "demo");
    assert_eq!(claims["roles"], serde_json::json!(["user"]));
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 28800);

    // POST form variant.
    let response = client
        .post(format!("{base}/sso/oidc/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "clientid"),
            ("username", "demo"),
            ("password", "demo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Wrong password: 401 with an explanation.
    let response = client
        .get(format!("{base}/sso/oidc/token"))
        .query(&[
            ("grant_type", "password"),
            ("client_id", "clientid"),
            ("username", "demo"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(json["error"], "invalid_grant");
    assert!(
        json["error_description"]
            .as_str()
            .unwrap()
            .contains("Invalid user credentials")
    );

    // The recorded requests never hold the password.
    let requests = archive.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(
            !request
                .query
                .as_deref()
                .unwrap_or("")
                .contains("password=demo"),
            "{request:?}"
        );
        assert!(
            !request.query.as_deref().unwrap_or("").contains("wrong"),
            "{request:?}"
        );
    }
    assert!(
        requests[0]
            .query
            .as_deref()
            .unwrap()
            .contains("password=[redacted]")
    );
    archive.shutdown().await;
}

#[tokio::test]
async fn sync_query_is_authorised_only_with_a_valid_token() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let sync = format!("{base}/tap_obs/sync");
    let form = [
        ("REQUEST", "doQuery"),
        ("LANG", "ADQL"),
        ("QUERY", SEED_QUERY),
    ];

    let anonymous = client.post(&sync).form(&form).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::OK);
    let body = anonymous.text().await.unwrap();
    assert_eq!(rows(&body), 0);
    assert!(body.contains(r#"name="QUERY_STATUS" value="OK""#));

    let authorised = client
        .post(&sync)
        .bearer_auth(&token)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(authorised.status(), StatusCode::OK);
    assert_eq!(
        authorised.headers()[header::CONTENT_TYPE],
        "application/x-votable+xml"
    );
    let body = authorised.text().await.unwrap();
    assert_eq!(rows(&body), 2);
    assert!(body.contains(&format!("{base}/dataPortal/file/{FIRST}")));
    assert!(body.contains(&format!(
        "{base}/datalink/links?ID=ivo://eso.org/ID?{SECOND}"
    )));
    assert!(!body.contains("https://dataportal.eso.org"));

    // GET with odd layout, MAXREC and CSV.
    let csv = client
        .get(&sync)
        .bearer_auth(&token)
        .query(&[
            ("QUERY", "SELECT TOP 2 *\n  FROM dbo.raw WHERE dp_cat = 'SCIENCE' AND prog_id='098.C-0739(C)'"),
            ("MAXREC", "1"),
            ("RESPONSEFORMAT", "csv"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");

    // A forged or tampered token is refused outright.
    let forged = format!("{token}x");
    let refused = client
        .post(&sync)
        .bearer_auth(forged)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Unknown queries explain what the archive knows.
    let unknown = client
        .post(&sync)
        .form(&[("QUERY", "select * from ivoa.obscore")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let body = unknown.text().await.unwrap();
    assert!(body.contains(r#"value="ERROR""#));
    assert!(body.contains("only answers its recorded queries"));

    // The ObsCore sample query.
    let obscore = client
        .post(&sync)
        .form(&[(
            "QUERY",
            "SELECT TOP 1 * FROM ivoa.ObsCore WHERE dataproduct_type='image' AND s_ra BETWEEN 88.78 AND 88.81 AND s_dec BETWEEN 7.39 AND 7.42",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(obscore.status(), StatusCode::OK);
    assert_eq!(rows(&obscore.text().await.unwrap()), 1);
    archive.shutdown().await;
}

#[tokio::test]
async fn multipart_sync_query() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let form = reqwest::multipart::Form::new()
        .text("LANG", "ADQL")
        .text("QUERY", SEED_QUERY);
    let response = client
        .post(format!("{base}/tap_obs/sync"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(rows(&response.text().await.unwrap()), 2);
    archive.shutdown().await;
}

fn phase_of(job: &str) -> String {
    let start = job.find("<uws:phase>").unwrap() + "<uws:phase>".len();
    let end = job[start..].find('<').unwrap() + start;
    job[start..end].to_owned()
}

#[tokio::test]
async fn uws_cycle() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let created = client
        .post(format!("{base}/tap_obs/async"))
        .bearer_auth(&token)
        .form(&[
            ("REQUEST", "doQuery"),
            ("LANG", "ADQL"),
            ("QUERY", SEED_QUERY),
            ("RUNID", "demo-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let job_url = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(job_url.starts_with(&format!("{base}/tap_obs/async/")));

    let job = client
        .get(&job_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(phase_of(&job), "PENDING");
    assert!(job.contains("<uws:runId>demo-1</uws:runId>"));
    assert!(job.contains("<uws:ownerId>demo</uws:ownerId>"));

    // Another user (anonymous) may not see the job.
    let anonymous = client.get(&job_url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Execution duration: capped at 3600 s.
    let response = client
        .post(format!("{job_url}/executionduration"))
        .bearer_auth(&token)
        .form(&[("EXECUTIONDURATION", "99999")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let duration = client
        .get(format!("{job_url}/executionduration"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(duration.trim(), "3600");

    // WAIT on a PENDING job with PHASE=PENDING blocks for the wait (short here).
    let started = std::time::Instant::now();
    let job = client
        .get(format!("{job_url}?WAIT=1&PHASE=PENDING"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(phase_of(&job), "PENDING");
    assert!(started.elapsed() >= Duration::from_millis(900));

    let run = client
        .post(format!("{job_url}/phase"))
        .bearer_auth(&token)
        .form(&[("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), StatusCode::SEE_OTHER);
    let phase = client
        .get(format!("{job_url}/phase"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(["QUEUED", "EXECUTING"].contains(&phase.trim()), "{phase}");

    // Block until a final phase.
    let mut phase = String::new();
    for _ in 0..10 {
        let job = client
            .get(format!("{job_url}?WAIT=5"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        phase = phase_of(&job);
        if phase == "COMPLETED" {
            assert!(job.contains(&format!("{job_url}/results/result")));
            break;
        }
    }
    assert_eq!(phase, "COMPLETED");
    let result = client
        .get(format!("{job_url}/results/result"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(result.status(), StatusCode::OK);
    assert_eq!(rows(&result.text().await.unwrap()), 2);

    // The job list shows it to its owner only.
    let list = client
        .get(format!("{base}/tap_obs/async"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&job_url), "{list}");
    let anonymous_list = client
        .get(format!("{base}/tap_obs/async"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!anonymous_list.contains(&job_url));

    // DELETE -> 303 to the job list, then 404.
    let deleted = client
        .delete(&job_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.headers()[header::LOCATION],
        format!("{base}/tap_obs/async").as_str()
    );
    let gone = client
        .get(&job_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    archive.shutdown().await;
}

#[tokio::test]
async fn failing_job_and_action_delete() {
    let (archive, client, base) = start().await;
    let created = client
        .post(format!("{base}/tap_obs/async"))
        .form(&[("QUERY", "select count(*) from dbo.raw"), ("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let job_url = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let mut job = String::new();
    for _ in 0..10 {
        job = client
            .get(format!("{job_url}?WAIT=5"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if phase_of(&job) == "ERROR" {
            break;
        }
    }
    assert_eq!(phase_of(&job), "ERROR");
    assert!(job.contains("<uws:errorSummary"));
    let error = client.get(format!("{job_url}/error")).send().await.unwrap();
    assert_eq!(error.status(), StatusCode::OK);
    assert!(error.text().await.unwrap().contains(r#"value="ERROR""#));
    let result = client
        .get(format!("{job_url}/results/result"))
        .send()
        .await
        .unwrap();
    assert_eq!(result.status(), StatusCode::NOT_FOUND);

    let deleted = client
        .post(&job_url)
        .form(&[("ACTION", "DELETE")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(
        deleted.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .ends_with("/tap_obs/async")
    );
    assert_eq!(
        client.get(&job_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Abort a running job.
    let created = client
        .post(format!("{base}/tap_obs/async"))
        .form(&[("QUERY", SEED_QUERY)])
        .send()
        .await
        .unwrap();
    let job_url = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    client
        .post(&job_url)
        .form(&[("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    client
        .post(&job_url)
        .form(&[("PHASE", "ABORT")])
        .send()
        .await
        .unwrap();
    let job = client
        .get(&job_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(phase_of(&job), "ABORTED");
    archive.shutdown().await;
}

#[tokio::test]
async fn vosi_resources() {
    let (archive, client, base) = start().await;
    for (path, needle) in [
        (
            "tap_obs/capabilities",
            format!("<accessURL use=\"base\">{base}/tap_obs</accessURL>"),
        ),
        (
            "tap_obs/availability",
            "<vosi:available>true</vosi:available>".to_owned(),
        ),
        ("tap_obs/tables", "<name>dbo.raw</name>".to_owned()),
        ("tap_cat/capabilities", format!("{base}/tap_cat")),
    ] {
        let response = client.get(format!("{base}/{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(&needle), "{path}: {text}");
    }
    archive.shutdown().await;
}

#[tokio::test]
async fn datalink_is_rewritten_and_protected() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let url = format!("{base}/datalink/links?ID=ivo://eso.org/ID?{FIRST}");
    let links = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(links.status(), StatusCode::OK);
    let links = links.text().await.unwrap();
    assert_eq!(rows(&links), 4);
    assert!(links.contains(&format!(
        "{base}/calselector/v1/associations?dp_id={FIRST}&amp;mode=Raw2Master&amp;responseformat=votable"
    )));
    assert!(links.contains("http://archive.eso.org/rdf/datalink/eso#night_log"));
    assert!(!links.contains("https://archive.eso.org"));

    // The second frame: same shape, its own identifier.
    let second = client
        .get(format!("{base}/datalink/links"))
        .query(&[("ID", format!("ivo://eso.org/ID?{SECOND}"))])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&second), 4);
    assert!(second.contains(SECOND) && !second.contains(FIRST));

    // Without a token: a laconic table with an error message.
    let anonymous = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(rows(&anonymous), 1);
    assert!(anonymous.contains("NotAuthorizedFault"));
    // Recorded links of the product point back to the archive; filtered views are not recorded.
    let product = client
        .get(format!(
            "{base}/datalink/links?ID=ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(product.contains(&format!("{base}/dataPortal/soda/sync")));
    let progenitors = client
        .get(format!(
            "{base}/datalink/links?ID=ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647&EXCLUDE=ALL&INCLUDE=progenitor"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&progenitors), 1);
    assert!(progenitors.contains("NotFoundFault"));

    // A calibration has no recorded links: a #this row in the same shape.
    let calibration = client
        .get(format!(
            "{base}/datalink/links?ID=ivo://eso.org/ID?M.SPHERE.2016-09-27T08:14:14.686"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&calibration), 1);
    assert!(calibration.contains(&format!(
        "<TD>{base}/dataPortal/file/M.SPHERE.2016-09-27T08:14:14.686</TD>"
    )));
    assert!(calibration.contains("<TD>M.SPHERE.2016-09-27T08:14:14.686.fits</TD>"));
    let unknown = client
        .get(format!("{base}/datalink/links?ID=ivo://eso.org/ID?NOPE.1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(unknown.contains("NotFoundFault"));
    archive.shutdown().await;
}

#[tokio::test]
async fn calselector_both_formats_and_multipart() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let url = format!("{base}/calselector/v1/associations");
    let votable = client
        .get(&url)
        .bearer_auth(&token)
        .query(&[
            ("dp_id", FIRST),
            ("mode", "Raw2Master"),
            ("responseformat", "votable"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(votable.status(), StatusCode::OK);
    let votable = votable.text().await.unwrap();
    assert_eq!(rows(&votable), 13);
    assert_eq!(votable.matches("<TD>#calibration</TD>").count(), 8);
    assert!(
        votable.contains("certified=&quot;true&quot;") || votable.contains("certified=\"true\"")
    );
    assert!(votable.contains(&format!(
        "{base}/dataPortal/file/M.SPHERE.2016-09-27T08:14:14.686"
    )));

    let tree = client
        .get(&url)
        .bearer_auth(&token)
        .query(&[("dp_id", FIRST), ("mode", "Raw2Master")])
        .send()
        .await
        .unwrap();
    assert_eq!(tree.status(), StatusCode::OK);
    assert_eq!(
        tree.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{FIRST}_raw2master.xml\"").as_str()
    );
    assert!(
        tree.text()
            .await
            .unwrap()
            .contains("<association category=\"IFS_SCI_FLUX\"")
    );

    // Protected frame without a token.
    let anonymous = client
        .get(&url)
        .query(&[("dp_id", FIRST), ("mode", "Raw2Master")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // POST with two frames: multipart, one part per frame.
    let response = client
        .post(&url)
        .form(&[
            ("dp_id", "FORS2.2021-01-02T00:59:12.533"),
            ("dp_id", "FORS2.2021-01-02T00:59:12.534"),
            ("mode", "Raw2Raw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("multipart/form-data; boundary="));
    let body = response.text().await.unwrap();
    assert_eq!(
        body.matches("Content-Disposition: attachment; filename=")
            .count(),
        2
    );
    assert!(body.contains("filename=\"FORS2.2021-01-02T00:59:12.534_raw2raw.xml\""));
    assert!(body.contains("name=\"FORS2.2020-12-26T00:19:09.657\""));

    // An acquisition frame: calSelector answers, but with no cascade.
    let none = client
        .get(&url)
        .query(&[
            ("dp_id", "SPHER.2016-09-26T02:58:40.001"),
            ("mode", "Raw2Master"),
            ("responseformat", "votable"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::OK);
    let none = none.text().await.unwrap();
    assert_eq!(rows(&none), 1);
    assert!(none.contains("No association could be established"));

    // Bad mode, unknown cascade.
    let bad = client
        .get(&url)
        .query(&[("dp_id", FIRST), ("mode", "Raw2Nothing")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let unknown = client
        .get(&url)
        .query(&[("dp_id", "X.1"), ("mode", "Raw2Raw")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    archive.shutdown().await;
}

#[tokio::test]
async fn files_with_tokens_ranges_and_head() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let url = format!("{base}/dataPortal/file/{FIRST}");

    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key(header::WWW_AUTHENTICATE));

    let full = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(
        full.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{FIRST}.fits.Z\"").as_str()
    );
    let etag = full.headers()[header::ETAG].to_str().unwrap().to_owned();
    let length: usize = full.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = full.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    assert_eq!(&bytes[..2], &[0x1f, 0x9d], "LZW (compress) magic");
    assert!(length < 10_000);

    // Basic credentials work for files too.
    let basic = client
        .get(&url)
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let wrong = client
        .get(&url)
        .basic_auth("demo", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Range, with and without a matching If-Range.
    let part = client
        .get(&url)
        .bearer_auth(&token)
        .header(header::RANGE, "bytes=100-")
        .header(header::IF_RANGE, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 100-{}/{}", length - 1, length).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(100..));
    let stale = client
        .get(&url)
        .bearer_auth(&token)
        .header(header::RANGE, "bytes=100-")
        .header(header::IF_RANGE, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.bytes().await.unwrap().len(), length);
    let beyond = client
        .get(&url)
        .bearer_auth(&token)
        .header(header::RANGE, format!("bytes={length}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.headers()[header::CONTENT_RANGE],
        format!("bytes */{length}").as_str()
    );

    // HEAD: same headers, no body.
    let head = client.head(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        length.to_string().as_str()
    );
    assert!(head.bytes().await.unwrap().is_empty());

    // Calibrations are public and plain FITS.
    let calib = client
        .get(format!(
            "{base}/dataPortal/file/M.SPHERE.2016-09-27T08:14:14.686"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(calib.status(), StatusCode::OK);
    let calib = calib.bytes().await.unwrap();
    assert!(calib.starts_with(b"SIMPLE  =                    T"));
    assert_eq!(calib.len() % 2880, 0);

    // Percent-encoded colons are understood.
    let encoded = client
        .get(format!(
            "{base}/dataPortal/file/M.SPHERE.2016-09-27T08%3A14%3A14.686"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(encoded.status(), StatusCode::OK);

    // Night log.
    let night_log = client
        .get(format!("{url}.NL"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(night_log.status(), StatusCode::OK);
    assert!(
        night_log.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(night_log.text().await.unwrap().contains("Night Log"));

    let missing = client
        .get(format!("{base}/dataPortal/file/NOPE.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Requests were recorded with the presence of credentials only.
    let requests = archive.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with(FIRST) && r.has_authorization)
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with(FIRST) && !r.has_authorization)
    );
    archive.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let (archive, client, base) = start().await;
    for _ in 0..20 {
        let response = client
            .get(format!("{base}/tap_obs/availability"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
    }
    assert_eq!(archive.requests().len(), 20);
    archive.shutdown().await;
}

#[tokio::test]
async fn soda_cutouts() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let url = format!("{base}/dataPortal/soda");
    let cutout = client
        .get(&url)
        .query(&[
            ("ID", "ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647"),
            ("CIRCLE", "88.79 7.40 0.01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cutout.status(), StatusCode::OK);
    assert_eq!(cutout.headers()[header::CONTENT_TYPE], "application/fits");
    let bytes = cutout.bytes().await.unwrap();
    assert!(bytes.starts_with(b"SIMPLE  ="));
    assert_eq!(bytes.len() % 2880, 0);

    let pos = client
        .get(&url)
        .bearer_auth(&token)
        .query(&[("ID", FIRST), ("POS", "CIRCLE 353.75 1.6 0.001")])
        .send()
        .await
        .unwrap();
    assert_eq!(pos.status(), StatusCode::OK);
    let protected = client
        .get(&url)
        .query(&[("ID", FIRST), ("POS", "CIRCLE 353.75 1.6 0.001")])
        .send()
        .await
        .unwrap();
    assert_eq!(protected.status(), StatusCode::UNAUTHORIZED);

    for bad in ["1 2", "a b c", "400 0 0.1", "10 10 -1"] {
        let response = client
            .get(&url)
            .query(&[("ID", "ADP.2026-08-19T13:19:07.647"), ("CIRCLE", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // The path of the recorded SODA descriptor.
    let sync = client
        .get(format!("{base}/dataPortal/soda/sync"))
        .query(&[
            ("ID", "ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647"),
            ("CIRCLE", "88.79 7.40 0.01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), StatusCode::OK);
    let missing_id = client
        .get(&url)
        .query(&[("CIRCLE", "1 2 0.1")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing_id.status(), StatusCode::UNPROCESSABLE_ENTITY);
    archive.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let (archive, client, base) = start().await;
    archive.shutdown().await;
    let result = client
        .get(format!("{base}/tap_obs/availability"))
        .send()
        .await;
    assert!(result.is_err());
}

/// Parses `text` as XML to the end: tags balanced, attributes and entities well-formed.
fn assert_well_formed(what: &str, text: &str) {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Ok(quick_xml::events::Event::Empty(_)) if depth == 0 => roots += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::GeneralRef(reference)) => {
                let name = reference[..].to_owned();
                let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name.as_str())
                    || reference.resolve_char_ref().ok().flatten().is_some();
                assert!(known, "{what}: unknown entity &{name};");
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!(
                "{what}: not well-formed at {}: {error}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "{what}: unclosed elements");
    assert_eq!(roots, 1, "{what}: one root element");
}

#[tokio::test]
async fn every_xml_answer_is_well_formed() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let created = client
        .post(format!("{base}/tap_obs/async"))
        .bearer_auth(&token)
        .form(&[("QUERY", SEED_QUERY), ("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    let job_url = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let failing = client
        .post(format!("{base}/tap_obs/async"))
        .form(&[("QUERY", "select <&> from x"), ("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    let failing_url = failing.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let urls = [
        job_url.clone(),
        format!("{job_url}/results"),
        format!("{job_url}/results/result"),
        format!("{job_url}/parameters"),
        failing_url.clone(),
        format!("{failing_url}/error"),
        format!("{base}/tap_obs/async"),
        format!("{base}/tap_obs/capabilities"),
        format!("{base}/tap_obs/availability"),
        format!("{base}/tap_obs/tables"),
        format!("{base}/tap_obs/sync?QUERY=select%20%3C%26%3E"),
        format!("{base}/datalink/links?ID=ivo://eso.org/ID?{FIRST}"),
        format!("{base}/datalink/links?ID=ivo://eso.org/ID?{SECOND}&ID=ivo://eso.org/ID?NOPE"),
        format!("{base}/datalink/links?ID=ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647"),
        format!(
            "{base}/calselector/v1/associations?dp_id={FIRST}&mode=Raw2Master&responseformat=votable"
        ),
        format!("{base}/calselector/v1/associations?dp_id={SECOND}&mode=Raw2Master"),
        format!(
            "{base}/calselector/v1/associations?dp_id=FORS2.2021-01-02T00:59:12.533&mode=Raw2Raw"
        ),
    ];
    for url in urls {
        let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let text = response.text().await.unwrap();
        assert_well_formed(&url, &text);
    }
    let sync = client
        .post(format!("{base}/tap_obs/sync"))
        .bearer_auth(&token)
        .form(&[("QUERY", SEED_QUERY), ("MAXREC", "1")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_well_formed("MAXREC=1", &sync);
    assert!(sync.contains("OVERFLOW"));
    archive.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refused_with_a_hint() {
    let config = DemoConfig {
        token_lifetime: Duration::from_secs(1),
        ..DemoConfig::default()
    };
    let archive = DemoArchive::start(config).await.unwrap();
    let base = archive.base_url().as_str().trim_end_matches('/').to_owned();
    let client = client();
    let response = client
        .post(format!("{base}/sso/oidc/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "clientid"),
            ("username", "demo"),
            ("password", "demo"),
        ])
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(json["expires_in"], 1);
    let token = json["id_token"].as_str().unwrap().to_owned();
    let url = format!("{base}/dataPortal/file/{FIRST}");
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert!(expired.text().await.unwrap().contains("expired"));
    archive.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_are_refused_clearly() {
    let (archive, client, base) = start().await;
    let bad_multipart = client
        .post(format!("{base}/tap_obs/sync"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"QUERY\"\r\n\r\nno end")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_multipart.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_multipart
            .text()
            .await
            .unwrap()
            .contains("malformed multipart")
    );
    let no_boundary = client
        .post(format!("{base}/tap_obs/sync"))
        .header(header::CONTENT_TYPE, "multipart/form-data")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(no_boundary.status(), StatusCode::BAD_REQUEST);
    let bad_wait = client
        .get(format!("{base}/tap_obs/async/nope?WAIT=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_wait.status(), StatusCode::NOT_FOUND);
    let unknown = client
        .get(format!("{base}/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("/tap_obs"));
    let wrong_scheme = client
        .get(format!("{base}/tap_obs/sync"))
        .header(header::AUTHORIZATION, "Digest abc")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.status(), StatusCode::UNAUTHORIZED);
    archive.shutdown().await;
}

#[tokio::test]
async fn calselector_post_votable_merges_frames() {
    let (archive, client, base) = start().await;
    let token = login(&client, &base).await;
    let response = client
        .post(format!("{base}/calselector/v1/associations"))
        .bearer_auth(&token)
        .form(&[
            ("dp_id", FIRST),
            ("dp_id", SECOND),
            ("mode", "Raw2Master"),
            ("responseformat", "votable"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    // Each frame's #this; the siblings, the 8 masters and each frame's tree link once.
    assert_eq!(text.matches("<TD>#this</TD>").count(), 2);
    assert_eq!(text.matches("<TD>#calibration</TD>").count(), 8);
    assert_eq!(rows(&text), 15);
    assert_well_formed("merged calSelector", &text);
    archive.shutdown().await;
}
