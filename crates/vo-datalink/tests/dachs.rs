//! Integration tests against a real GAVO DaCHS (see `cargo xtask dachs`).
//!
//! They run only when `VO_DACHS_URL` is set (e.g. `http://127.0.0.1:18080`); otherwise
//! each test returns at once.

mod common;

use common::fits_axes;
use url::Url;
use vo_auth::http::HttpClient;
use vo_datalink::client::DataLinkClient;
use vo_datalink::dal::{self, Sia1Query, Sia2Query, SsaQuery};
use vo_datalink::soda::{self, Shape, SodaQuery};
use vo_datalink::{CoreTerm, Error, Semantics};

fn dachs() -> Option<(Url, DataLinkClient)> {
    let base = std::env::var("VO_DACHS_URL").ok()?;
    let base = Url::parse(base.trim_end_matches('/')).expect("VO_DACHS_URL is a URL");
    let http = HttpClient::anonymous().expect("http client");
    Some((base, DataLinkClient::new(http)))
}

fn at(base: &Url, path: &str) -> Url {
    Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/'))).unwrap()
}

/// ObsCore rows ordered by publisher DID, with the obscore DataLink descriptor.
async fn obscore(base: &Url, client: &DataLinkClient) -> dal::DalResults {
    let tap = at(base, "/tap/sync");
    let request = vo_datalink::query::get_request(
        &tap,
        &[
            ("LANG".into(), "ADQL".into()),
            (
                "QUERY".into(),
                "SELECT obs_publisher_did, dataproduct_type, access_url FROM ivoa.obscore ORDER BY obs_publisher_did".into(),
            ),
        ],
    )
    .unwrap();
    client.query(request).await.expect("obscore query").0
}

#[tokio::test]
async fn obscore_rows_follow_datalink_through_the_redirect() {
    let Some((base, client)) = dachs() else {
        return;
    };
    let results = obscore(&base, &client).await;
    let table = results.table().unwrap();
    assert_eq!(table.nrows(), 11);
    let descriptor = results
        .datalink()
        .expect("obscore has a DataLink descriptor");
    // One row: the obscore DataLink service answers 302 to the collection's service.
    let request = descriptor.request_for_row(table, 0, &[]).unwrap();
    let (links, warnings) = client.execute_links(request).await.unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(links.by_id().len(), 1);
    let this = links.by_semantics(&Semantics::THIS).next().unwrap();
    assert!(this.http_url().unwrap().path().ends_with("cube_01.fits"));
    assert!(links.by_semantics(&CoreTerm::Proc.into()).next().is_some());
    // All rows, batched.
    let rows: Vec<usize> = (0..table.nrows()).collect();
    let all = client
        .links_for_rows(descriptor, table, &rows, &[])
        .await
        .unwrap();
    assert!(all.failures.is_empty(), "{:?}", all.failures);
    assert_eq!(all.response.by_id().len(), 11);
}

async fn soda_descriptor(
    client: &DataLinkClient,
    base: &Url,
    id: &str,
) -> vo_datalink::ServiceDescriptor {
    let endpoint = at(base, "/__system__/obscore/dl/dlmeta");
    let batch = client
        .links_for_ids(&endpoint, &[id.to_owned()])
        .await
        .unwrap();
    assert!(batch.failures.is_empty());
    let response = batch.response;
    let proc_link = response
        .by_semantics(&CoreTerm::Proc.into())
        .next()
        .unwrap();
    response.descriptor_for(proc_link).unwrap().clone()
}

async fn cutout_axes(client: &DataLinkClient, request: http::Request<Vec<u8>>) -> Vec<u64> {
    let response = client.cutout(request).await.expect("cutout");
    let body = response.bytes_limited(64 << 20).await.unwrap();
    fits_axes(&body)
}

#[tokio::test]
async fn soda_cutouts_have_the_expected_dimensions() {
    let Some((base, client)) = dachs() else {
        return;
    };
    let cube = soda_descriptor(
        &client,
        &base,
        "ivo://votest.local/~?voimg/cubes/cube_01.fits",
    )
    .await;
    let circle = SodaQuery {
        circle: Some((154.0025, 0.4975, 0.05)),
        ..SodaQuery::default()
    };
    let axes = cutout_axes(
        &client,
        soda::request_from_descriptor(&cube, &circle).unwrap(),
    )
    .await;
    assert_eq!(axes, [21, 21, 30]);
    let band = SodaQuery {
        band: Some((5.0e-7, 5.1e-7)),
        ..SodaQuery::default()
    };
    let axes = cutout_axes(
        &client,
        soda::request_from_descriptor(&cube, &band).unwrap(),
    )
    .await;
    assert_eq!(axes[..2], [40, 40]);
    assert!(axes[2] < 30, "BAND keeps fewer spectral planes: {axes:?}");
    let image = soda_descriptor(
        &client,
        &base,
        "ivo://votest.local/~?voimg/data/img_01.fits",
    )
    .await;
    let polygon = SodaQuery {
        polygon: Some(vec![(150.99, -0.02), (151.02, -0.02), (151.02, 0.01)]),
        ..SodaQuery::default()
    };
    let axes = cutout_axes(
        &client,
        soda::request_from_descriptor(&image, &polygon).unwrap(),
    )
    .await;
    assert_eq!(axes.len(), 2);
    assert!(axes.iter().all(|n| *n > 0 && *n < 100), "{axes:?}");
    let pos = SodaQuery {
        pos: vec![Shape::Circle {
            ra: 151.005,
            dec: -0.005,
            radius: 0.01,
        }],
        ..SodaQuery::default()
    };
    let axes = cutout_axes(
        &client,
        soda::request_from_descriptor(&image, &pos).unwrap(),
    )
    .await;
    assert_eq!(axes.len(), 2);
}

#[tokio::test]
async fn soda_errors_are_typed() {
    let Some((base, client)) = dachs() else {
        return;
    };
    let endpoint = at(&base, "/voimg/q/dl/dlget");
    let query = |id: &str, circle| SodaQuery {
        ids: vec![id.to_owned()],
        circle: Some(circle),
        ..SodaQuery::default()
    };
    let img = "ivo://votest.local/~?voimg/data/img_01.fits";
    let outside = soda::sync_request(&endpoint, &query(img, (10.0, 10.0, 0.01))).unwrap();
    assert!(matches!(
        client.cutout(outside).await,
        Err(Error::SodaNoData { .. })
    ));
    let unknown = soda::sync_request(
        &endpoint,
        &query(
            "ivo://votest.local/~?voimg/data/img_99.fits",
            (151.0, 0.0, 0.01),
        ),
    )
    .unwrap();
    assert!(matches!(
        client.cutout(unknown).await,
        Err(Error::SodaNotFound { .. })
    ));
    let bad = soda::sync_request(
        &endpoint,
        &SodaQuery {
            ids: vec![img.to_owned()],
            extra: vec![("CIRCLE".into(), "abc".into())],
            ..SodaQuery::default()
        },
    )
    .unwrap();
    assert!(matches!(
        client.cutout(bad).await,
        Err(Error::SodaUsage { .. })
    ));
}

#[tokio::test]
async fn sia_and_ssa_queries() {
    let Some((base, client)) = dachs() else {
        return;
    };
    let sia1 = dal::sia1_request(
        &at(&base, "/voimg/q/i/siap.xml"),
        &Sia1Query {
            pos: (155.0, -1.0),
            size: Some((0.5, None)),
            ..Sia1Query::default()
        },
    )
    .unwrap();
    let (results, _) = client.query(sia1).await.unwrap();
    assert!(results.table().unwrap().nrows() >= 1);
    assert!(results.datalink().is_some());
    let sia2 = dal::sia2_request(
        &at(&base, "/__system__/siap2/sitewide/siap2.xml"),
        &Sia2Query {
            pos: vec![Shape::Circle {
                ra: 155.0,
                dec: -1.0,
                radius: 1.0,
            }],
            maxrec: Some(10),
            ..Sia2Query::default()
        },
    )
    .unwrap();
    let (results, _) = client.query(sia2).await.unwrap();
    assert!(results.table().unwrap().nrows() >= 1);
    let ssa = dal::ssa_request(
        &at(&base, "/vospec/q/ssa/ssap.xml"),
        &SsaQuery {
            pos: Some((155.0, 0.0)),
            size: Some(3.0),
            maxrec: Some(10),
            ..SsaQuery::default()
        },
    )
    .unwrap();
    let (results, _) = client.query(ssa).await.unwrap();
    assert_eq!(results.table().unwrap().nrows(), 1);
}
