//! Malformed and hostile input: errors with line, column and path; never a panic,
//! never a large allocation, never a fetch.

use votable::{ErrorKind, Limits, Reader, Row};

fn err(doc: &[u8]) -> votable::Error {
    match votable::parse(doc) {
        Ok(v) => panic!("parsed: {v:?}"),
        Err(e) => e,
    }
}

const HEAD: &str = r#"<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="a" datatype="int"/><FIELD name="b" datatype="char" arraysize="*"/>"#;

#[test]
fn bad_cell_reports_line_column_and_path() {
    let doc = format!(
        "{HEAD}\n<DATA><TABLEDATA>\n<TR><TD>1</TD><TD>x</TD></TR>\n<TR><TD>1</TD><TD>y</TD></TR>\n<TR><TD>zz</TD><TD/></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let e = err(doc.as_bytes());
    let loc = e.location().unwrap();
    assert_eq!(loc.line, 5);
    assert_eq!(loc.column, 9);
    assert_eq!(
        loc.path,
        "VOTABLE/RESOURCE[1]/TABLE/DATA/TABLEDATA/TR[3]/TD[1]"
    );
    assert!(matches!(e.kind(), Some(ErrorKind::BadValue { .. })));
    let msg = e.to_string();
    assert!(msg.contains("\"zz\"") && msg.contains("line 5"), "{msg}");
}

#[test]
fn html_error_page_is_not_a_votable() {
    let e = err(b"<html><body>502 Bad Gateway</body></html>");
    assert!(matches!(e.kind(), Some(ErrorKind::NotVoTable(n)) if n == "html"));
    assert!(votable::parse(b"").is_err());
    assert!(votable::parse(b"not xml at all").is_err());
}

#[test]
fn entities_are_never_expanded() {
    let doc = br#"<!DOCTYPE VOTABLE [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY ext SYSTEM "file:///etc/passwd">]>
<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="char" arraysize="*"/><DATA><TABLEDATA><TR><TD>&b;</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
    let e = err(doc);
    assert!(e.to_string().contains("unknown entity"), "{e}");
    let doc = br#"<!DOCTYPE VOTABLE [<!ENTITY ext SYSTEM "file:///etc/passwd">]><VOTABLE><DESCRIPTION>&ext;</DESCRIPTION></VOTABLE>"#;
    assert!(err(doc).to_string().contains("unknown entity"));
}

#[test]
fn external_stream_and_fits_are_refused() {
    let doc = format!(
        r#"{HEAD}<DATA><BINARY2><STREAM href="http://127.0.0.2:9/x"/></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#
    );
    let e = err(doc.as_bytes());
    assert!(
        matches!(e.kind(), Some(ErrorKind::ExternalStream { href }) if href.contains("127.0.0.2"))
    );
    let doc = format!(
        r#"{HEAD}<DATA><FITS><STREAM href="file:///etc/passwd"/></FITS></DATA></TABLE></RESOURCE></VOTABLE>"#
    );
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::UnsupportedFits)
    ));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut doc = String::from("<VOTABLE>");
    for _ in 0..100_000 {
        doc.push_str("<RESOURCE>");
    }
    let e = err(doc.as_bytes());
    assert!(
        matches!(e.kind(), Some(ErrorKind::TooDeep { limit: 256 })),
        "{e}"
    );
    let mut doc = String::from("<VOTABLE><RESOURCE><TABLE>");
    for _ in 0..1000 {
        doc.push_str("<GROUP>");
    }
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::TooDeep { .. })
    ));
}

#[test]
fn oversized_attribute_and_row_are_bounded() {
    let limits = Limits {
        max_element_bytes: 1 << 16,
        max_row_bytes: 1 << 16,
        ..Limits::default()
    };
    let big = "x".repeat(1 << 20);
    let doc = format!(r#"<VOTABLE><INFO name="a" value="{big}"/></VOTABLE>"#);
    let e = votable::read_with_limits(doc.as_bytes(), limits.clone()).unwrap_err();
    assert!(matches!(e.kind(), Some(ErrorKind::TooLarge { .. })), "{e}");
    let doc = format!(
        "{HEAD}<DATA><TABLEDATA><TR><TD>1</TD><TD>{big}</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let e = votable::read_with_limits(doc.as_bytes(), limits).unwrap_err();
    assert!(matches!(e.kind(), Some(ErrorKind::TooLarge { .. })), "{e}");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn binary_prefix_is_checked_before_allocating() {
    // 0xFFFFFFFF elements announced for a `*` string: refused, nothing allocated.
    let mut stream = vec![0u8]; // BINARY2 flags
    stream.extend_from_slice(&1i32.to_be_bytes());
    stream.extend_from_slice(&[0xFF; 4]);
    let doc = format!(
        r#"{HEAD}<DATA><BINARY2><STREAM encoding="base64">{}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#,
        b64(&stream)
    );
    let e = err(doc.as_bytes());
    assert!(
        e.to_string().contains("cell") || e.to_string().contains("end of input"),
        "{e}"
    );
    // A bounded `8*` string with a prefix of 9: refused by the bound.
    let head = r#"<VOTABLE><RESOURCE><TABLE><FIELD name="b" datatype="char" arraysize="8*"/>"#;
    let mut stream = vec![0u8];
    stream.extend_from_slice(&9u32.to_be_bytes());
    stream.extend_from_slice(b"123456789");
    let doc = format!(
        r#"{head}<DATA><BINARY2><STREAM encoding="base64">{}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#,
        b64(&stream)
    );
    assert!(err(doc.as_bytes()).to_string().contains("bound 8"));
    // A huge fixed arraysize is refused at the FIELD.
    let doc = r#"<VOTABLE><RESOURCE><TABLE><FIELD name="b" datatype="double" arraysize="4294967295x4294967295"/><DATA><BINARY><STREAM encoding="base64">AAAA</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>"#;
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::BadAttribute { .. })
    ));
}

#[test]
fn truncated_and_bad_base64_streams() {
    let mut stream = vec![0u8];
    stream.extend_from_slice(&1i32.to_be_bytes());
    stream.extend_from_slice(&5u32.to_be_bytes());
    stream.extend_from_slice(b"ab");
    let doc = format!(
        r#"{HEAD}<DATA><BINARY2><STREAM encoding="base64">{}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#,
        b64(&stream)
    );
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::UnexpectedEof(_))
    ));
    let doc = format!(
        r#"{HEAD}<DATA><BINARY2><STREAM encoding="base64">AAA*AAAA</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#
    );
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::Base64(_))
    ));
    let doc = format!(
        r#"{HEAD}<DATA><BINARY2><STREAM encoding="gzip">AAAA</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#
    );
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::UnsupportedEncoding(_))
    ));
    // Input ending inside TABLEDATA.
    let doc = format!("{HEAD}<DATA><TABLEDATA><TR><TD>1</TD>");
    assert!(matches!(
        err(doc.as_bytes()).kind(),
        Some(ErrorKind::UnexpectedEof(_))
    ));
}

#[test]
fn mismatched_tags_and_extra_cells() {
    let doc = format!(
        "{HEAD}<DATA><TABLEDATA><TR><TD>1</TD><TD>a</TD><TD>extra</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    assert!(err(doc.as_bytes()).to_string().contains("more cells"));
    let doc = b"<VOTABLE><RESOURCE></TABLE></VOTABLE>";
    assert!(err(doc).to_string().contains("expected </RESOURCE>"));
}

#[test]
fn streaming_reader_reports_all_tables_and_trailing_infos() {
    let doc = br#"<?xml version="1.0"?>
<v:VOTABLE xmlns:v="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
 <v:RESOURCE type="results"><v:INFO name="QUERY_STATUS" value="OK"/>
  <v:TABLE name="t1"><v:FIELD name="a" datatype="boolean"/>
   <v:DATA><v:TABLEDATA><v:TR><v:TD>t</v:TD></v:TR><v:TR><v:TD>?</v:TD></v:TR><v:TR><v:TD>False</v:TD></v:TR></v:TABLEDATA></v:DATA>
   <v:INFO name="after_data" value="x"/>
  </v:TABLE>
  <v:TABLE name="empty"><v:FIELD name="z" datatype="int"/></v:TABLE>
  <v:RESOURCE type="meta" utype="adhoc:service">
    <v:GROUP name="inputParams"><v:PARAM name="ID" datatype="char" arraysize="*" value="">
      <v:VALUES><v:MIN value="0"/><v:MAX value="9" inclusive="no"/><v:OPTION name="o" value="1"><v:OPTION value="2"/></v:OPTION></v:VALUES>
    </v:PARAM><v:FIELDref ref="a"/></v:GROUP>
  </v:RESOURCE>
  <v:INFO name="QUERY_STATUS" value="OVERFLOW"/>
 </v:RESOURCE>
</v:VOTABLE>"#;
    let mut r = Reader::new(&doc[..]).unwrap();
    assert_eq!(r.table().unwrap().name.as_deref(), Some("t1"));
    let mut row = Row::new();
    let mut vals = Vec::new();
    while r.read_row(&mut row).unwrap() {
        vals.push(row.get(0).unwrap().clone());
    }
    assert_eq!(
        vals,
        [
            votable::Value::Boolean(true),
            votable::Value::Null,
            votable::Value::Boolean(false)
        ]
    );
    assert!(r.next_table().unwrap());
    assert_eq!(r.table().unwrap().name.as_deref(), Some("empty"));
    assert!(!r.read_row(&mut row).unwrap());
    assert!(!r.next_table().unwrap());
    let d = r.finish().unwrap();
    assert_eq!(d.query_status(), Some(votable::QueryStatus::Overflow));
    let res = &d.resources[0];
    assert_eq!(res.tables[0].infos[0].name, "after_data");
    let meta = &res.resources[0];
    assert_eq!(meta.resource_type, votable::ResourceType::Meta);
    let g = &meta.groups[0];
    assert_eq!(g.field_refs, ["a"]);
    let v = g.params[0].field.values.as_ref().unwrap();
    assert_eq!(v.max.as_ref().map(|b| b.inclusive), Some(false));
    assert_eq!(v.options[0].options[0].value, "2");
}

/// Found by `cargo xtask ci`'s fuzz smoke (votable_roundtrip timed out): a table whose rows
/// take no bytes (no fields) with a non-empty BINARY/BINARY2 stream used to yield empty rows
/// forever. It is now an error.
#[test]
fn binary_rows_of_zero_bytes_are_an_error_not_a_hang() {
    // (In BINARY2 a row always takes its null-flag bytes as soon as there is a field.)
    let empty_array = r#"<FIELD name="e" datatype="int" arraysize="0"/>"#;
    for (tag, fields) in [("BINARY", ""), ("BINARY2", ""), ("BINARY", empty_array)] {
        let doc = format!(
            r#"<VOTABLE version="1.4"><RESOURCE><TABLE>{fields}<DATA><{tag}><STREAM encoding="base64">AAAAAQAAAAk=</STREAM></{tag}></DATA></TABLE></RESOURCE></VOTABLE>"#
        );
        let err = votable::parse(doc.as_bytes()).expect_err("rows of zero bytes must fail");
        assert!(
            err.to_string().contains("take no bytes"),
            "{tag} {fields:?}: {err}"
        );
    }
}
