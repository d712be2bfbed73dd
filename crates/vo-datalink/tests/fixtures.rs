//! Parsers and request builders over the recorded and rebuilt fixtures.

mod common;

use common::{fits_axes, fixture};
use vo_datalink::dal::{self, parse_results};
use vo_datalink::soda::{self, Shape, SodaQuery};
use vo_datalink::{
    CoreTerm, Error, ExtraValue, LinkTarget, ParamSource, Semantics, ServiceDescriptor, Warning,
    parse_links,
};

/// A compact, stable rendering of a links response for snapshots.
fn render_links(path: &str) -> String {
    let bytes = fixture(path);
    match parse_links(&bytes) {
        Err(e) => format!("Err({e})"),
        Ok((response, warnings)) => {
            let mut out = String::new();
            for link in &response.links {
                let target = match &link.target {
                    LinkTarget::AccessUrl(u) => format!("access_url {u}"),
                    LinkTarget::ServiceDef(s) => format!("service_def {s}"),
                    LinkTarget::Error(e) => format!("error {e}"),
                };
                out.push_str(&format!(
                    "{} | {} | {} | {:?} | {:?}\n",
                    link.id, link.semantics, target, link.content_type, link.content_length
                ));
                for (name, value) in &link.extra {
                    out.push_str(&format!("    {name} = {:?}\n", value.to_text()));
                }
            }
            for d in &response.descriptors {
                out.push_str(&format!(
                    "descriptor {} {:?} {:?}\n",
                    d.label(),
                    d.standard_id,
                    d.access_url
                ));
                for p in d.describe() {
                    out.push_str(&format!(
                        "    {} {} {:?} options={:?} min={:?} max={:?}\n",
                        p.name,
                        p.datatype,
                        p.source,
                        p.options
                            .iter()
                            .map(|o| o.value.as_str())
                            .collect::<Vec<_>>(),
                        p.min,
                        p.max
                    ));
                }
            }
            for w in &warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
            out.push_str(&format!("status: {:?}\n", response.status));
            out
        }
    }
}

#[test]
fn every_links_fixture() {
    for path in [
        "eso/datalink/seed000_links.vot",
        "eso/datalink/adp_links_pyvo.vot",
        "heasarc/datalink/links_main_server.vot",
        "heasarc/datalink/links_aws_us_east1.vot",
        "dachs/datalink/links_cube_01.vot",
        "dachs/datalink/links_img_01.vot",
        "dachs/datalink/links_img_batch.vot",
        "dachs/datalink/links_spec_01.vot",
    ] {
        let name = path.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, render_links(path));
    }
}

#[test]
fn not_links_documents_are_errors() {
    let bytes = fixture("dachs/datalink/obscore_ordered.vot");
    assert!(matches!(parse_links(&bytes), Err(Error::NotLinks)));
    assert!(matches!(
        parse_links(&fixture("dachs/datalink/obscore_dl_redirect.html")),
        Err(Error::VoTable { .. })
    ));
}

#[test]
fn seed000_eso_semantics_are_literal() {
    let (links, warnings) = parse_links(&fixture("eso/datalink/seed000_links.vot")).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(links.links.len(), 4);
    let raw2master =
        Semantics::parse("http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master");
    let found: Vec<_> = links.by_semantics(&raw2master).collect();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].access_url(),
        Some(
            "https://archive.eso.org/calselector/v1/associations?dp_id=SPHER.2016-09-26T03:04:09.308&mode=Raw2Master&responseformat=votable"
        )
    );
    let this = links.by_semantics(&Semantics::THIS).next().unwrap();
    assert_eq!(this.content_length, Some(58_631_135));
    assert_eq!(
        this.extra_text("eso_origfile").as_deref(),
        Some("SPHER.2016-09-26T03:04:09.308.fits.Z")
    );
    let night_log = links
        .by_semantics(&Semantics::parse(
            "http://archive.eso.org/rdf/datalink/eso#night_log",
        ))
        .next()
        .unwrap();
    assert_eq!(
        night_log.extra_text("eso_category").as_deref(),
        Some("Night Log")
    );
    assert_eq!(links.by_id().len(), 1);
}

#[test]
fn eso_sample_cutout_descriptor_checks_circle_max() {
    let (links, _) = parse_links(&fixture("eso/datalink/adp_links_pyvo.vot")).unwrap();
    assert_eq!(links.links.len(), 7);
    assert_eq!(links.by_semantics(&CoreTerm::Preview.into()).count(), 2);
    assert_eq!(
        links.by_semantics(&CoreTerm::Proc.into()).count(),
        1,
        "#cutout is a #proc"
    );
    let cutout = links.by_semantics(&CoreTerm::Cutout.into()).next().unwrap();
    let descriptor = links.descriptor_for(cutout).expect("service_def resolves");
    assert!(descriptor.is_soda());
    assert_eq!(
        descriptor.param("ID").unwrap().source(),
        ParamSource::Fixed("ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647".into())
    );
    assert_eq!(
        descriptor.param("CIRCLE").unwrap().source(),
        ParamSource::User
    );
    let inside = SodaQuery {
        circle: Some((88.7929375, 7.407065, 0.001)),
        ..SodaQuery::default()
    };
    let request = soda::request_from_descriptor(descriptor, &inside).unwrap();
    assert_eq!(
        request.uri().to_string(),
        "https://dataportal.eso.org/dataPortal/soda/sync?ID=ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647&CIRCLE=88.7929375%207.407065%200.001"
    );
    let outside = SodaQuery {
        circle: Some((10.0, 10.0, 0.001)),
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &outside),
        Err(Error::OutOfBounds { ref param, .. }) if param == "CIRCLE"
    ));
    let band = SodaQuery {
        band: Some((5e-7, 6e-7)),
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &band),
        Err(Error::UnknownParam { ref param, .. }) if param == "BAND"
    ));
    let progenitor = links
        .by_semantics(&CoreTerm::Progenitor.into())
        .next()
        .unwrap();
    assert!(progenitor.http_url().is_ok());
}

fn heasarc_descriptor() -> (dal::DalResults, ServiceDescriptor) {
    let (results, warnings) =
        parse_results(&fixture("heasarc/sia/chanmaster_ngc4151.vot")).unwrap();
    assert!(warnings.is_empty());
    let descriptor = results.datalink().expect("a DataLink descriptor").clone();
    (results, descriptor)
}

#[test]
fn heasarc_source_options_build_the_cloud_request() {
    let (results, descriptor) = heasarc_descriptor();
    let table = results.table().unwrap();
    let described = descriptor.describe();
    let source = described.iter().find(|p| p.name == "source").unwrap();
    let options: Vec<(&str, Option<&str>)> = source
        .options
        .iter()
        .map(|o| (o.value.as_str(), o.name.as_deref()))
        .collect();
    assert_eq!(
        options,
        [
            ("main-server", Some("On prem servers")),
            ("aws:us-east1", Some("AWS region 1")),
            ("aws:us-east2", Some("AWS some other region")),
            ("gc", Some("GC some region")),
        ]
    );
    assert_eq!(described[0].source, ParamSource::Row("DataLinkID".into()));
    let user = [("source".to_owned(), "aws:us-east1".to_owned())];
    let request = descriptor.request_for_row(table, 0, &user).unwrap();
    assert_eq!(
        request.uri().to_string(),
        "http://localhost:8080/xamin/vo/datalink/chanmaster?id=18244:chandra.obs.img&source=aws:us-east1"
    );
    let bad = [("source".to_owned(), "azure".to_owned())];
    let err = descriptor.request_for_row(table, 0, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value \"azure\" for source: expected one of main-server, aws:us-east1, aws:us-east2, gc"
    );
    assert!(matches!(
        descriptor.request_for_row(table, 5, &[]),
        Err(Error::RowOutOfRange { row: 5, nrows: 2 })
    ));
    let config = vo_datalink::BatchConfig::default();
    let (batches, warnings) = descriptor
        .batch_requests(table, &[0, 1], &user, &config)
        .unwrap();
    assert!(warnings.is_empty());
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].request.uri().query(),
        Some("source=aws:us-east1&id=18244:chandra.obs.img&id=18244:chandra.obs.img")
    );
    let cloud = table.field_index("cloud_access").unwrap();
    assert!(table.get_str(0, cloud).unwrap().contains("dh-fornaxdev"));
}

#[test]
fn heasarc_aws_reply_has_s3_urls_that_are_not_followed() {
    let (links, warnings) =
        parse_links(&fixture("heasarc/datalink/links_aws_us_east1.vot")).unwrap();
    assert!(warnings.is_empty());
    let first = &links.links[0];
    assert_eq!(
        first.access_url(),
        Some(
            "s3://dh-fornaxdev/FTP/chandra/data/byobsid/8//15158/primary/acisf15158N003_cntr_img2.fits.gz"
        )
    );
    assert!(matches!(first.http_url(), Err(Error::UnsafeUrl { ref scheme, .. }) if scheme == "s3"));
    match first.extra.get("cloud_access") {
        Some(ExtraValue::Json(json)) => {
            assert_eq!(json["aws"]["bucket_name"], "dh-fornaxdev");
            assert_eq!(json["aws"]["region"], "us-east-1");
        }
        other => panic!("cloud_access not parsed as JSON: {other:?}"),
    }
    // The semantics are full URLs of HEASARC's own: kept whole.
    assert_eq!(
        first.semantics.to_string(),
        "https://localhost:8080/xamin/jsp/products.jsp#chandra.obs.img.cntr.fits"
    );
    let (main, _) = parse_links(&fixture("heasarc/datalink/links_main_server.vot")).unwrap();
    assert!(main.links.iter().all(|l| l.http_url().is_ok()));
}

#[test]
fn dachs_batch_groups_by_id_and_keeps_error_rows() {
    let (links, warnings) = parse_links(&fixture("dachs/datalink/links_img_batch.vot")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let groups = links.by_id();
    let ids: Vec<&str> = groups.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [
            "ivo://votest.local/~?voimg/data/img_01.fits",
            "ivo://votest.local/~?voimg/data/img_02.fits",
            "ivo://votest.local/~?voimg/data/img_99.fits"
        ]
    );
    let errors: Vec<_> = links.errors().collect();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .error_message()
            .unwrap()
            .starts_with("NotFoundFault")
    );
    assert_eq!(links.descriptors.len(), 2);
    for link in links.by_semantics(&CoreTerm::Proc.into()) {
        assert!(links.descriptor_for(link).unwrap().is_soda());
    }
    // content_length -1 is DaCHS's null sentinel.
    let preview = links
        .by_semantics(&CoreTerm::Preview.into())
        .next()
        .unwrap();
    assert_eq!(preview.content_length, None);
}

#[test]
fn dachs_cube_descriptor_checks_band_and_circle() {
    let (links, _) = parse_links(&fixture("dachs/datalink/links_cube_01.vot")).unwrap();
    let proc_link = links.by_semantics(&CoreTerm::Proc.into()).next().unwrap();
    let descriptor = links.descriptor_for(proc_link).unwrap();
    let band = SodaQuery {
        band: Some((5.0e-7, 5.1e-7)),
        ..SodaQuery::default()
    };
    assert_eq!(
        soda::request_from_descriptor(descriptor, &band)
            .unwrap()
            .uri()
            .to_string(),
        "http://127.0.0.1:18080/voimg/q/dlc/dlget?ID=ivo://votest.local/~?voimg/cubes/cube_01.fits&BAND=5e-7%205.1e-7"
    );
    let red = SodaQuery {
        band: Some((6e-7, 7e-7)),
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &red),
        Err(Error::OutOfBounds { ref param, .. }) if param == "BAND"
    ));
    let far = SodaQuery {
        pos: vec![Shape::Circle {
            ra: 10.0,
            dec: 10.0,
            radius: 0.1,
        }],
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &far),
        Err(Error::OutOfBounds { ref param, .. }) if param == "POS"
    ));
    let kind = SodaQuery {
        extra: vec![("KIND".into(), "EVERYTHING".into())],
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &kind),
        Err(Error::InvalidOption { .. })
    ));
    let scale = SodaQuery {
        extra: vec![("SCALE".into(), "64".into())],
        ..SodaQuery::default()
    };
    assert!(matches!(
        soda::request_from_descriptor(descriptor, &scale),
        Err(Error::OutOfBounds { .. })
    ));
}

#[test]
fn dachs_obscore_descriptor_batches_every_row() {
    let (results, warnings) =
        parse_results(&fixture("dachs/datalink/obscore_ordered.vot")).unwrap();
    assert!(warnings.is_empty());
    let table = results.table().unwrap();
    assert_eq!(table.nrows(), 11);
    let descriptor = results.datalink().unwrap();
    let rows: Vec<usize> = (0..table.nrows()).collect();
    let config = vo_datalink::BatchConfig {
        batch_size: 4,
        ..Default::default()
    };
    let (batches, _) = descriptor
        .batch_requests(table, &rows, &[], &config)
        .unwrap();
    assert_eq!(
        batches.iter().map(|b| b.ids.len()).collect::<Vec<_>>(),
        [4, 4, 3]
    );
    assert_eq!(batches[0].rows, [0, 1, 2, 3]);
    assert_eq!(
        batches[0].request.uri().to_string(),
        "http://127.0.0.1:18080/__system__/obscore/dl/dlmeta?ID=ivo://votest.local/~?voimg/cubes/cube_01.fits&ID=ivo://votest.local/~?voimg/cubes/cube_02.fits&ID=ivo://votest.local/~?voimg/data/img_01.fits&ID=ivo://votest.local/~?voimg/data/img_02.fits"
    );
    let long = vo_datalink::BatchConfig {
        max_get_url_len: 100,
        ..Default::default()
    };
    let (batches, _) = descriptor.batch_requests(table, &rows, &[], &long).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].request.method(), http::Method::POST);
    let body = String::from_utf8(batches[0].request.body().clone()).unwrap();
    assert!(
        body.starts_with("ID=ivo%3A%2F%2Fvotest.local%2F%7E%3Fvoimg%2Fcubes%2Fcube_01.fits&ID=")
    );
}

#[test]
fn dachs_sia_and_ssa_results_carry_descriptors() {
    for path in [
        "dachs/sia/sia1_pos_size.vot",
        "dachs/sia/sia2_pos_circle.vot",
    ] {
        let (results, _) = parse_results(&fixture(path)).unwrap();
        assert!(results.table().unwrap().nrows() > 0, "{path}");
        assert!(results.datalink().is_some(), "{path}");
    }
    let (ssa, _) = parse_results(&fixture("dachs/ssa/ssa_query.vot")).unwrap();
    assert_eq!(ssa.table().unwrap().nrows(), 1);
}

#[test]
fn recorded_cutouts_have_the_expected_dimensions() {
    assert_eq!(
        fits_axes(&fixture("dachs/soda/cube_01_circle.fits")),
        [21, 21, 30]
    );
    assert_eq!(
        fits_axes(&fixture("dachs/soda/cube_01_band.fits")),
        [40, 40, 11]
    );
    assert_eq!(
        fits_axes(&fixture("dachs/soda/img_01_polygon.fits")),
        [5, 5]
    );
}

#[test]
fn warnings_for_broken_rows() {
    let doc = br#"<VOTABLE version="1.3"><RESOURCE type="results"><TABLE>
      <FIELD name="ID" datatype="char" arraysize="*"/>
      <FIELD name="access_url" datatype="char" arraysize="*"/>
      <FIELD name="service_def" datatype="char" arraysize="*"/>
      <FIELD name="error_message" datatype="char" arraysize="*"/>
      <FIELD name="semantics" datatype="char" arraysize="*"/>
      <FIELD name="cloud_access" datatype="char" arraysize="*"/>
      <DATA><TABLEDATA>
      <TR><TD>a</TD><TD/><TD/><TD/><TD>#this</TD><TD/></TR>
      <TR><TD>a</TD><TD>https://x.test/f</TD><TD>svc</TD><TD/><TD>#this</TD><TD>{not json</TD></TR>
      <TR><TD>a</TD><TD>https://x.test/f</TD><TD/><TD>denied</TD><TD>#this</TD><TD/></TR>
      <TR><TD/><TD>https://x.test/f</TD><TD/><TD/><TD>#this</TD><TD/></TR>
      <TR><TD>b</TD><TD>file:///etc/passwd</TD><TD/><TD/><TD/><TD/></TR>
      </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
    let (links, warnings) = parse_links(doc).unwrap();
    assert_eq!(links.links.len(), 3);
    assert!(matches!(links.links[1].target, LinkTarget::Error(ref e) if e == "denied"));
    assert!(matches!(
        links.links[2].http_url(),
        Err(Error::UnsafeUrl { .. })
    ));
    assert_eq!(
        warnings,
        [
            Warning::NoTarget {
                row: 0,
                id: "a".into()
            },
            Warning::SeveralTargets {
                row: 1,
                id: "a".into()
            },
            Warning::BadJson {
                row: 1,
                column: "cloud_access".into(),
                message: "key must be a string at line 1 column 2".into()
            },
            Warning::SeveralTargets {
                row: 2,
                id: "a".into()
            },
            Warning::MissingId { row: 3 },
            Warning::MissingSemantics {
                row: 4,
                id: "b".into()
            },
        ]
    );
}
