//! Parsers and checks are total: arbitrary input gives a value or an error, never a panic.

use proptest::prelude::*;
use vo_datalink::soda::Shape;
use vo_datalink::{Error, Semantics, parse_links};

fn circle_param() -> vo_datalink::InputParam {
    let mut field = votable::Field::new("CIRCLE", votable::Datatype::Double);
    field.arraysize = Some(votable::ArraySize::fixed(3));
    field.xtype = Some("circle".into());
    field.values = Some(votable::Values {
        max: Some(votable::Bound {
            value: "88.7929375 7.40706500029762 0.002048".into(),
            inclusive: true,
        }),
        ..Default::default()
    });
    vo_datalink::InputParam::from_param(&votable::Param {
        field,
        value: String::new(),
    })
}

proptest! {
    #[test]
    fn semantics_parse_round_trips(text in "\\PC{0,40}") {
        let parsed = Semantics::parse(&text);
        prop_assert_eq!(Semantics::parse(&parsed.to_string()), parsed);
    }

    #[test]
    fn param_checks_never_panic(text in "[-+0-9eE. a-zIN]{0,40}") {
        let _ = circle_param().check(&text);
        let _ = Shape::parse_pos(&format!("CIRCLE {text}"));
        let _ = Shape::parse_pos(&format!("POLYGON {text}"));
        let _ = Shape::parse_pos(&format!("RANGE {text}"));
    }

    #[test]
    fn links_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_links(&bytes);
    }
}

#[test]
fn error_document_without_links_is_a_failed_query() {
    let doc = br#"<VOTABLE version="1.3"><RESOURCE type="results">
      <INFO name="QUERY_STATUS" value="ERROR">NotFoundFault: no such dataset</INFO><TABLE>
      <FIELD name="ID" datatype="char" arraysize="*"/>
      <FIELD name="access_url" datatype="char" arraysize="*"/>
      <DATA><TABLEDATA></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
    assert!(matches!(
        parse_links(doc),
        Err(Error::QueryFailed { ref message }) if message.contains("NotFoundFault")
    ));
}
