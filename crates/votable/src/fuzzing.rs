//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus replay
//! test. Not part of the stable API. None of them may panic, whatever the input.

use base64::Engine as _;

use crate::Serialization;

/// Field declarations covering every datatype and shape, used to wrap fuzz input.
const FIELDS: &str = r#"<FIELD name="b" datatype="boolean"/><FIELD name="bits" datatype="bit" arraysize="*"/>
<FIELD name="u" datatype="unsignedByte"/><FIELD name="s" datatype="short"><VALUES null="-1"/></FIELD>
<FIELD name="i" datatype="int"/><FIELD name="l" datatype="long" arraysize="2x*"/>
<FIELD name="c" datatype="char" arraysize="5"/><FIELD name="v" datatype="char" arraysize="*"/>
<FIELD name="uc" datatype="unicodeChar" arraysize="3*"/><FIELD name="f" datatype="float" arraysize="2"/>
<FIELD name="d" datatype="double"/><FIELD name="fc" datatype="floatComplex"/>
<FIELD name="dc" datatype="doubleComplex" arraysize="*"/>"#;

fn read_all(doc: &[u8]) -> crate::Result<u64> {
    let mut r = crate::Reader::new(doc)?;
    let mut row = crate::Row::new();
    let mut n = 0;
    loop {
        while r.read_row(&mut row)? {
            n += 1;
        }
        if !r.next_table()? {
            break;
        }
    }
    r.finish()?;
    Ok(n)
}

/// Fuzzes the TABLEDATA scanner: the first byte chooses between parsing the input
/// as a whole document and using it as the body of a TABLEDATA element.
pub fn tabledata(data: &[u8]) {
    match data.split_first() {
        Some((b, rest)) if b % 2 == 1 => {
            let mut doc =
                format!("<VOTABLE version=\"1.4\"><RESOURCE><TABLE>{FIELDS}<DATA><TABLEDATA>")
                    .into_bytes();
            doc.extend_from_slice(rest);
            doc.extend_from_slice(b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
            let _ = read_all(&doc);
        }
        _ => {
            let _ = read_all(data);
        }
    }
}

/// Fuzzes the BINARY/BINARY2 decoders: the input (after a selector byte) is the
/// decoded stream, base64-encoded into a document with every datatype.
pub fn binary2(data: &[u8]) {
    let Some((sel, rest)) = data.split_first() else {
        return;
    };
    let tag = if sel % 2 == 0 { "BINARY2" } else { "BINARY" };
    let mut text = base64::engine::general_purpose::STANDARD.encode(rest);
    if sel % 4 >= 2 {
        // Line breaks and spaces inside the stream.
        let mut spaced = String::with_capacity(text.len() * 2);
        for (i, c) in text.chars().enumerate() {
            if i % 7 == 3 {
                spaced.push_str("\n ");
            }
            spaced.push(c);
        }
        text = spaced;
    }
    let doc = format!(
        "<VOTABLE version=\"1.4\"><RESOURCE><TABLE>{FIELDS}<DATA><{tag}><STREAM encoding=\"base64\">{text}</STREAM></{tag}></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let _ = read_all(doc.as_bytes());
}

/// Fuzzes the writer against the reader: whatever parses is written in each
/// serialization, and writing what was read back gives the same bytes.
///
/// # Panics
/// When the round trip does not hold (that is the bug the fuzzer looks for).
pub fn roundtrip(data: &[u8]) {
    let Ok(vt) = crate::parse(data) else {
        return;
    };
    for ser in [
        Serialization::TableData,
        Serialization::Binary,
        Serialization::Binary2,
    ] {
        let Ok(first) = crate::write::write_votable(Vec::new(), &vt, ser) else {
            continue;
        };
        let again = match crate::parse(&first) {
            Ok(v) => v,
            Err(e) => panic!("written {ser:?} does not parse: {e}"),
        };
        let second = match crate::write::write_votable(Vec::new(), &again, ser) {
            Ok(b) => b,
            Err(e) => panic!("re-writing {ser:?} failed: {e}"),
        };
        assert!(first == second, "{ser:?} round trip changed the document");
    }
}
