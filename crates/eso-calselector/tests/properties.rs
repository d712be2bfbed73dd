//! Parsers of server text are total: any input gives a value or an error, never a panic.

use eso_calselector::multipart;
use eso_calselector::{AssociationTree, parse_description};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn description_is_total(input in "[a-z=\"'\\\\ ,;é]{0,40}") {
        let (summary, _) = parse_description(&input);
        // Known keys never leak into `extra` when they parsed.
        prop_assert!(summary.extra.iter().all(|(k, _)| k != "category" && k != "type" && k != "messages"));
    }

    #[test]
    fn description_round_trips_quoted_values(value in "[^\"\\\\]{0,30}") {
        let text = format!("category=\"{value}\" messages=\"{}\"", value.replace('"', "\\\""));
        let (summary, warnings) = parse_description(&text);
        prop_assert!(warnings.is_empty(), "{warnings:?}");
        prop_assert_eq!(summary.category.as_deref(), Some(value.as_str()));
        prop_assert_eq!(summary.messages.as_deref(), Some(value.as_str()));
    }

    #[test]
    fn multipart_split_is_total(body in proptest::collection::vec(prop_oneof![
        Just(b'-'), Just(b'b'), Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), any::<u8>()
    ], 0..200)) {
        let _ = multipart::split("multipart/mixed; boundary=b", &body);
    }

    #[test]
    fn tree_parser_is_total(body in "[<>/=\"a-z &;!\\[\\]]{0,120}") {
        let _ = AssociationTree::parse(body.as_bytes());
    }
}
