//! The TABLEDATA row scanner: a hand-written byte scanner over `<TR>`/`<TD>` that
//! decodes each cell straight into its typed value, instead of a generic XML
//! event loop. It handles `<TD/>`, attributes on `TR`/`TD`, namespace prefixes,
//! the five predefined entities and character references, CDATA sections and
//! comments.

use crate::error::ErrorKind;
use crate::spec::FieldSpec;
use crate::value::Value;

/// What the scanner found at the start of the window.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A complete row of this many bytes was decoded.
    Row(usize),
    /// `</TABLEDATA>` ended the rows; this many bytes belong to it.
    End(usize),
    /// Whitespace, a comment or a processing instruction to skip.
    Skip(usize),
    /// The window ends inside a row: read more and call again.
    NeedMore,
}

/// A scan failure at byte `rel` of the window, in cell `td` (0-based) if known.
#[derive(Debug)]
pub(crate) struct ScanError {
    pub(crate) rel: usize,
    pub(crate) td: Option<usize>,
    pub(crate) kind: ErrorKind,
}

fn err(rel: usize, td: Option<usize>, msg: impl Into<String>) -> ScanError {
    ScanError {
        rel,
        td,
        kind: ErrorKind::Structure(msg.into()),
    }
}

#[inline]
fn skip_ws(w: &[u8], mut i: usize) -> usize {
    while i < w.len() && matches!(w[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// The local name (prefix stripped) of the tag whose name starts at `i`, and the
/// index just past the name.
#[inline]
fn tag_name(w: &[u8], i: usize) -> (&[u8], usize) {
    let mut e = i;
    while e < w.len() && !matches!(w[e], b' ' | b'\n' | b'\r' | b'\t' | b'>' | b'/') {
        e += 1;
    }
    let name = &w[i..e];
    let local = match memchr::memrchr(b':', name) {
        Some(p) => &name[p + 1..],
        None => name,
    };
    (local, e)
}

/// Finds the `>` ending a start tag whose attributes begin at `i`, honouring
/// quoted attribute values. Returns (index of `>`, self-closing).
#[inline]
fn tag_end(w: &[u8], mut i: usize) -> Option<(usize, bool)> {
    loop {
        let p = i + memchr::memchr3(b'>', b'"', b'\'', &w[i..])?;
        match w[p] {
            b'>' => return Some((p, p > 0 && w[p - 1] == b'/')),
            q => {
                let close = p + 1 + memchr::memchr(q, &w[p + 1..])?;
                i = close + 1;
            }
        }
    }
}

fn find(w: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(&w[from..], needle).map(|p| p + from)
}

/// Resolves the predefined entities and character references in `s`, appending
/// to `out`. Unknown entities are errors (no DTD entities are ever expanded).
pub(crate) fn unescape_into(s: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'&', &s[i..]) {
        let amp = i + p;
        out.extend_from_slice(&s[i..amp]);
        let semi = memchr::memchr(b';', &s[amp..(amp + 12).min(s.len())])
            .map(|q| amp + q)
            .ok_or_else(|| "unterminated entity reference".to_owned())?;
        let name = &s[amp + 1..semi];
        match name {
            b"amp" => out.push(b'&'),
            b"lt" => out.push(b'<'),
            b"gt" => out.push(b'>'),
            b"quot" => out.push(b'"'),
            b"apos" => out.push(b'\''),
            [b'#', rest @ ..] => {
                let code = match rest {
                    [b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok()),
                    dec => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                };
                let c = code
                    .and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .ok_or_else(|| {
                        format!(
                            "invalid character reference &{};",
                            String::from_utf8_lossy(name)
                        )
                    })?;
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
            _ => {
                return Err(format!(
                    "unknown entity &{}; (only the predefined XML entities are allowed)",
                    String::from_utf8_lossy(name)
                ));
            }
        }
        i = semi + 1;
    }
    out.extend_from_slice(&s[i..]);
    Ok(())
}

/// Scans the window for the next row (or the end of TABLEDATA), decoding cells
/// into `values` (which has one slot per field).
pub(crate) fn scan(
    w: &[u8],
    specs: &[FieldSpec],
    values: &mut [Value],
    scratch: &mut Vec<u8>,
) -> Result<Step, ScanError> {
    let i = skip_ws(w, 0);
    if i > 0 {
        return Ok(Step::Skip(i));
    }
    if w.is_empty() {
        return Ok(Step::NeedMore);
    }
    if w[0] != b'<' {
        return Err(err(0, None, "text outside <TR> in TABLEDATA"));
    }
    if w.len() < 4 {
        return Ok(Step::NeedMore);
    }
    if w.starts_with(b"<!--") {
        return Ok(match find(w, 4, b"-->") {
            Some(e) => Step::Skip(e + 3),
            None => Step::NeedMore,
        });
    }
    if w[1] == b'?' {
        return Ok(match find(w, 2, b"?>") {
            Some(e) => Step::Skip(e + 2),
            None => Step::NeedMore,
        });
    }
    if w[1] == b'/' {
        let Some(gt) = memchr::memchr(b'>', w) else {
            return Ok(Step::NeedMore);
        };
        let (name, _) = tag_name(w, 2);
        if name == b"TABLEDATA" {
            return Ok(Step::End(gt + 1));
        }
        return Err(err(
            0,
            None,
            format!(
                "unexpected </{}> in TABLEDATA",
                String::from_utf8_lossy(name)
            ),
        ));
    }
    let (gt, empty) = if w.starts_with(b"<TR>") {
        (3, false)
    } else {
        let (name, after) = tag_name(w, 1);
        if after == w.len() {
            return Ok(Step::NeedMore);
        }
        if name != b"TR" {
            return Err(err(
                0,
                None,
                format!("expected <TR>, found <{}>", String::from_utf8_lossy(name)),
            ));
        }
        match tag_end(w, after) {
            Some(x) => x,
            None => return Ok(Step::NeedMore),
        }
    };
    if empty {
        values.iter_mut().for_each(|v| *v = Value::Null);
        return Ok(Step::Row(gt + 1));
    }
    let mut j = gt + 1;
    let mut td = 0usize;
    loop {
        j = skip_ws(w, j);
        if j + 2 > w.len() {
            return Ok(Step::NeedMore);
        }
        if w[j] != b'<' {
            return Err(err(j, Some(td), "text between cells"));
        }
        if w[j + 1] == b'!' {
            if w.len() < j + 4 {
                return Ok(Step::NeedMore);
            }
            if !w[j..].starts_with(b"<!--") {
                return Err(err(j, Some(td), "unexpected markup between cells"));
            }
            match find(w, j + 4, b"-->") {
                Some(e) => {
                    j = e + 3;
                    continue;
                }
                None => return Ok(Step::NeedMore),
            }
        }
        let fast_td = w[j..].starts_with(b"<TD>");
        if !fast_td && w[j + 1] == b'/' {
            let Some(p) = memchr::memchr(b'>', &w[j..]) else {
                return Ok(Step::NeedMore);
            };
            let (name, _) = tag_name(w, j + 2);
            if name != b"TR" {
                return Err(err(
                    j,
                    Some(td),
                    format!("expected </TR>, found </{}>", String::from_utf8_lossy(name)),
                ));
            }
            // Missing trailing cells are null.
            for v in values.iter_mut().skip(td) {
                *v = Value::Null;
            }
            return Ok(Step::Row(j + p + 1));
        }
        let (gt, empty) = if fast_td {
            (j + 3, false)
        } else {
            let (name, after) = tag_name(w, j + 1);
            if after == w.len() {
                return Ok(Step::NeedMore);
            }
            if name != b"TD" {
                return Err(err(
                    j,
                    Some(td),
                    format!("expected <TD>, found <{}>", String::from_utf8_lossy(name)),
                ));
            }
            match tag_end(w, after) {
                Some(x) => x,
                None => return Ok(Step::NeedMore),
            }
        };
        if td >= specs.len() {
            return Err(err(
                j,
                Some(td),
                format!("row has more cells than the {} fields", specs.len()),
            ));
        }
        if empty {
            values[td] = Value::Null;
            td += 1;
            j = gt + 1;
            continue;
        }
        // Cell content up to </TD>.
        let start = gt + 1;
        let mut k = start;
        let mut seg_start = start;
        let mut owned = false;
        let mut amp = false;
        scratch.clear();
        let end_tag;
        loop {
            let lt = loop {
                match memchr::memchr2(b'<', b'&', &w[k..]) {
                    None => return Ok(Step::NeedMore),
                    Some(p) if w[k + p] == b'&' => {
                        amp = true;
                        k += p + 1;
                    }
                    Some(p) => break k + p,
                }
            };
            if w[lt..].starts_with(b"</TD>") {
                if owned {
                    unescape_into(&w[seg_start..lt], scratch)
                        .map_err(|m| err(seg_start, Some(td), m))?;
                }
                end_tag = (lt, lt + 5);
                break;
            }
            if w.len() < lt + 9 {
                // Enough to classify `</TD>`, `<!--`, `<![CDATA[`.
                if !(w.len() >= lt + 5 && w[lt + 1] == b'/') {
                    return Ok(Step::NeedMore);
                }
            }
            if w[lt + 1] == b'/' {
                let Some(q) = memchr::memchr(b'>', &w[lt..]) else {
                    return Ok(Step::NeedMore);
                };
                let (name, _) = tag_name(w, lt + 2);
                if name != b"TD" {
                    return Err(err(
                        lt,
                        Some(td),
                        format!("expected </TD>, found </{}>", String::from_utf8_lossy(name)),
                    ));
                }
                if owned {
                    unescape_into(&w[seg_start..lt], scratch)
                        .map_err(|m| err(seg_start, Some(td), m))?;
                }
                end_tag = (lt, lt + q + 1);
                break;
            }
            if w[lt..].starts_with(b"<![CDATA[") {
                let Some(e) = find(w, lt + 9, b"]]>") else {
                    return Ok(Step::NeedMore);
                };
                unescape_into(&w[seg_start..lt], scratch)
                    .map_err(|m| err(seg_start, Some(td), m))?;
                scratch.extend_from_slice(&w[lt + 9..e]);
                owned = true;
                k = e + 3;
                seg_start = k;
                continue;
            }
            if w[lt..].starts_with(b"<!--") {
                let Some(e) = find(w, lt + 4, b"-->") else {
                    return Ok(Step::NeedMore);
                };
                unescape_into(&w[seg_start..lt], scratch)
                    .map_err(|m| err(seg_start, Some(td), m))?;
                owned = true;
                k = e + 3;
                seg_start = k;
                continue;
            }
            return Err(err(lt, Some(td), "unexpected element inside <TD>"));
        }
        let raw = &w[start..end_tag.0];
        let text: &[u8] = if owned {
            scratch
        } else if amp {
            unescape_into(raw, scratch).map_err(|m| err(start, Some(td), m))?;
            scratch
        } else {
            raw
        };
        specs[td]
            .decode_text(text, &mut values[td])
            .map_err(|kind| ScanError {
                rel: start,
                td: Some(td),
                kind,
            })?;
        td += 1;
        j = end_tag.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::datatype::Datatype;
    use crate::model::Field;

    fn specs() -> Vec<FieldSpec> {
        let l = Limits::default();
        vec![
            FieldSpec::new(&Field::new("a", Datatype::Int), &l).unwrap(),
            FieldSpec::new(
                &Field::new("b", Datatype::Char).with_arraysize("*".parse().unwrap()),
                &l,
            )
            .unwrap(),
        ]
    }

    #[test]
    fn scans_rows_entities_cdata_and_partial_input() {
        let s = specs();
        let mut v = vec![Value::Null; 2];
        let mut scratch = Vec::new();
        let row = b"<TR><TD> 7 </TD><TD>a&amp;b&#x41;<![CDATA[<x>]]><!-- c --></TD></TR>";
        assert_eq!(
            scan(row, &s, &mut v, &mut scratch).unwrap(),
            Step::Row(row.len())
        );
        assert_eq!(v, [Value::Int(7), Value::String("a&bA<x>".into())]);
        for cut in 0..row.len() {
            assert_eq!(
                scan(&row[..cut], &s, &mut v, &mut scratch).unwrap(),
                Step::NeedMore,
                "{cut}"
            );
        }
        let row = b"<vot:TR a='>'><vot:TD/></vot:TR>";
        assert_eq!(
            scan(row, &s, &mut v, &mut scratch).unwrap(),
            Step::Row(row.len())
        );
        assert_eq!(v, [Value::Null, Value::Null]);
        assert!(matches!(
            scan(b"</TABLEDATA>", &s, &mut v, &mut scratch).unwrap(),
            Step::End(12)
        ));
        assert!(scan(b"<TR><TD>&foo;</TD></TR>", &s, &mut v, &mut scratch).is_err());
        assert!(scan(b"<TR><TD>x</TD></TR>", &s, &mut v, &mut scratch).is_err());
    }
}
