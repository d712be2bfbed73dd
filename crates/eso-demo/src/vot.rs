//! Text-level edits of the recorded VOTable documents.
//!
//! The archive serves recorded documents almost byte for byte; it only needs a few edits:
//! absolute ESO URLs rewritten to the loopback base URL, rows dropped (an anonymous user does
//! not see protected rows, `MAXREC`), sizes patched to the synthetic files, rows of several
//! documents merged, and a CSV rendering. Those edits work on the `TABLEDATA` text, keeping the
//! rest of each document untouched, so that what clients parse is what was recorded.

/// Absolute URL prefixes of the real archive that are rewritten to the demo base URL.
///
/// Vocabulary URIs such as `http://archive.eso.org/rdf/datalink/eso#night_log` are not service
/// URLs and are deliberately left alone (only `https`, or `http` followed by a service path).
const REWRITTEN_PREFIXES: [(&str, &str); 12] = [
    ("https://archive.eso.org", ""),
    ("https://dataportal.eso.org", ""),
    ("https://www.eso.org/sso", "/sso"),
    ("http://archive.eso.org/tap_obs", "/tap_obs"),
    ("http://archive.eso.org/tap_cat", "/tap_cat"),
    ("http://archive.eso.org/datalink", "/datalink"),
    ("http://archive.eso.org/calselector", "/calselector"),
    ("http://archive.eso.org/ssap", "/ssap"),
    ("http://dataportal.eso.org/dataPortal", "/dataPortal"),
    ("http://archive.eso.org/dataPortal", "/dataPortal"),
    ("https://archive.eso.org:443", ""),
    ("https://dataportal.eso.org:443", ""),
];

/// Rewrites every absolute archive, dataportal and SSO URL in `text` to `base` (no trailing slash).
pub(crate) fn rewrite_urls(text: &str, base: &str) -> String {
    let mut out = text.to_owned();
    // The ":443" forms first would be shadowed by the plain prefixes; replace them first.
    for (prefix, path) in REWRITTEN_PREFIXES.iter().rev() {
        if out.contains(prefix) {
            out = out.replace(prefix, &format!("{base}{path}"));
        }
    }
    out
}

/// Escapes text for XML character data and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Undoes [`escape`] and numeric character references (enough for recorded cell text).
pub(crate) fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(ch) => {
                out.push(ch);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A VOTable document split around its first `TABLEDATA`: the text before, the rows, the text after.
#[derive(Debug, Clone)]
pub(crate) struct TableDoc {
    head: String,
    fields: Vec<String>,
    /// The inside of each `FIELD` start tag (attributes), in order.
    field_tags: Vec<String>,
    /// Cells as raw (still escaped) XML text.
    rows: Vec<Vec<String>>,
    tail: String,
}

impl TableDoc {
    /// Splits `text`; `None` when it has no `TABLEDATA` (then it is served untouched).
    pub(crate) fn parse(text: &str) -> Option<TableDoc> {
        let start_tag = text.find("<TABLEDATA")?;
        let body_start = start_tag + text[start_tag..].find('>')? + 1;
        let self_closing = text[..body_start].ends_with("/>");
        let (body_end, tail_start) = if self_closing {
            (body_start, body_start)
        } else {
            let end = body_start + text[body_start..].find("</TABLEDATA>")?;
            (end, end)
        };
        let field_tags = field_tags(&text[..start_tag]);
        let fields = field_tags
            .iter()
            .map(|tag| {
                attribute(tag, "name")
                    .map(|name| unescape(&name))
                    .unwrap_or_default()
            })
            .collect();
        let rows = parse_rows(&text[body_start..body_end])?;
        let head = if self_closing {
            format!("{}>", text[..body_start].trim_end_matches("/>"))
        } else {
            text[..body_start].to_owned()
        };
        let tail = if self_closing {
            format!("</TABLEDATA>{}", &text[tail_start..])
        } else {
            text[tail_start..].to_owned()
        };
        Some(TableDoc {
            head,
            fields,
            field_tags,
            rows,
            tail,
        })
    }

    /// A document that is only an empty `TABLEDATA` (a fallback that never fails).
    pub(crate) fn empty() -> TableDoc {
        TableDoc {
            head: "<TABLEDATA>".to_owned(),
            fields: Vec::new(),
            field_tags: Vec::new(),
            rows: Vec::new(),
            tail: "</TABLEDATA>".to_owned(),
        }
    }

    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|field| field.eq_ignore_ascii_case(name))
    }

    /// The attributes of each `FIELD` (the inside of its start tag).
    pub(crate) fn field_tags(&self) -> &[String] {
        &self.field_tags
    }

    #[cfg(test)]
    pub(crate) fn fields(&self) -> &[String] {
        &self.fields
    }

    pub(crate) fn nrows(&self) -> usize {
        self.rows.len()
    }

    /// The unescaped text of a cell.
    pub(crate) fn cell(&self, row: usize, col: usize) -> Option<String> {
        self.rows.get(row)?.get(col).map(|raw| unescape(raw))
    }

    /// Replaces a cell with `value` (escaped here).
    pub(crate) fn set_cell(&mut self, row: usize, col: usize, value: &str) {
        if let Some(cell) = self.rows.get_mut(row).and_then(|cells| cells.get_mut(col)) {
            *cell = escape(value);
        }
    }

    pub(crate) fn truncate(&mut self, n_rows: usize) {
        self.rows.truncate(n_rows);
    }

    /// Keeps the rows for which `keep(row index)` is true.
    pub(crate) fn retain_rows(&mut self, mut keep: impl FnMut(&[String]) -> bool) {
        self.rows.retain(|row| keep(row));
    }

    /// Appends the rows of `other` (same columns assumed; a shorter row is padded).
    pub(crate) fn append_rows(&mut self, other: &TableDoc) {
        for row in &other.rows {
            let mut row = row.clone();
            row.resize(self.fields.len().max(row.len()), String::new());
            self.rows.push(row);
        }
    }

    /// Appends the rows of `other` except those whose cells in `key_cols` equal those of a row
    /// already present (unless `always(row)` says to keep it).
    pub(crate) fn append_distinct_rows(
        &mut self,
        other: &TableDoc,
        key_cols: &[usize],
        always: impl Fn(&[String]) -> bool,
    ) {
        for row in &other.rows {
            let key = |cells: &[String]| -> Vec<String> {
                key_cols
                    .iter()
                    .map(|col| cells.get(*col).cloned().unwrap_or_default())
                    .collect()
            };
            let row_key = key(row);
            if always(row) || !self.rows.iter().any(|existing| key(existing) == row_key) {
                let mut row = row.clone();
                row.resize(self.fields.len().max(row.len()), String::new());
                self.rows.push(row);
            }
        }
    }

    /// Inserts `info` (an XML fragment) right after the closing `</TABLE>` of the table.
    pub(crate) fn add_trailing_info(&mut self, info: &str) {
        if let Some(pos) = self.tail.find("</TABLE>") {
            self.tail
                .insert_str(pos + "</TABLE>".len(), &format!("\n{info}"));
        }
    }

    /// Sets the `nrows` attribute of the `TABLE` start tag if it has one.
    fn fix_nrows(&mut self) {
        let Some(table_pos) = [
            self.head.rfind("<TABLE "),
            self.head.rfind("<TABLE\n"),
            self.head.rfind("<TABLE>"),
        ]
        .into_iter()
        .flatten()
        .max() else {
            return;
        };
        let Some(tag_end) = self.head[table_pos..].find('>') else {
            return;
        };
        let tag = &self.head[table_pos..table_pos + tag_end];
        let Some(attr) = tag.find("nrows=\"") else {
            return;
        };
        let value_start = table_pos + attr + "nrows=\"".len();
        let Some(value_len) = self.head[value_start..].find('"') else {
            return;
        };
        self.head.replace_range(
            value_start..value_start + value_len,
            &self.rows.len().to_string(),
        );
    }

    /// The whole document again.
    pub(crate) fn to_xml(&self) -> String {
        let mut copy = self.clone();
        copy.fix_nrows();
        let mut out =
            String::with_capacity(copy.head.len() + copy.tail.len() + 256 * copy.rows.len());
        out.push_str(&copy.head);
        for row in &copy.rows {
            out.push_str("\n<TR>");
            for cell in row {
                if cell.is_empty() {
                    out.push_str("<TD/>");
                } else {
                    out.push_str("<TD>");
                    out.push_str(cell);
                    out.push_str("</TD>");
                }
            }
            out.push_str("</TR>");
        }
        out.push('\n');
        out.push_str(&copy.tail);
        out
    }

    /// RFC 4180 CSV: a header line of field names, then one line per row, CRLF line ends.
    pub(crate) fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.fields.iter().map(|name| csv_cell(name)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|raw| csv_cell(&unescape(raw))).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The inside of the `FIELD` start tags in `head`, in order.
fn field_tags(head: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut rest = head;
    while let Some(pos) = rest.find("<FIELD") {
        rest = &rest[pos + "<FIELD".len()..];
        // `<FIELDref` is not a FIELD.
        if !rest.starts_with([' ', '\n', '\r', '\t']) {
            continue;
        }
        let tag_end = rest.find('>').unwrap_or(rest.len());
        tags.push(rest[..tag_end].trim_end_matches('/').to_owned());
    }
    tags
}

/// The value of attribute `name` in the inside of a start tag.
pub(crate) fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = 0;
    while let Some(pos) = tag[search..].find(name) {
        let at = search + pos;
        let before_ok = at == 0 || tag[..at].ends_with([' ', '\n', '\r', '\t']);
        let after = tag[at + name.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            let value = after[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let end = value[1..].find(quote)?;
                return Some(value[1..1 + end].to_owned());
            }
        }
        search = at + name.len();
    }
    None
}

/// Splits the inside of `TABLEDATA` into rows of raw cell texts.
fn parse_rows(body: &str) -> Option<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut rest = body;
    while let Some(tr) = rest.find("<TR") {
        let after_tag = tr + rest[tr..].find('>')? + 1;
        let end = after_tag + rest[after_tag..].find("</TR>")?;
        rows.push(parse_cells(&rest[after_tag..end])?);
        rest = &rest[end + "</TR>".len()..];
    }
    Some(rows)
}

fn parse_cells(row: &str) -> Option<Vec<String>> {
    let mut cells = Vec::new();
    let mut rest = row;
    while let Some(td) = rest.find("<TD") {
        let tag_end = td + rest[td..].find('>')?;
        if rest[..tag_end].ends_with('/') {
            cells.push(String::new());
            rest = &rest[tag_end + 1..];
            continue;
        }
        let content_start = tag_end + 1;
        let end = content_start + rest[content_start..].find("</TD>")?;
        cells.push(rest[content_start..end].to_owned());
        rest = &rest[end + "</TD>".len()..];
    }
    Some(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<VOTABLE><RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE nrows="2"><FIELD name="a" datatype="char"/><FIELDref ref="x"/><FIELD ID="b" name="b"/>
<DATA><TABLEDATA><TR><TD>1 &amp; 2</TD><TD/></TR>
<TR><TD>x,y</TD><TD>https://dataportal.eso.org/dataPortal/file/X</TD></TR></TABLEDATA></DATA></TABLE>
</RESOURCE></VOTABLE>"#;

    #[test]
    fn splits_and_rebuilds() {
        let mut doc = TableDoc::parse(DOC).unwrap();
        assert_eq!(doc.fields(), ["a", "b"]);
        assert_eq!(doc.nrows(), 2);
        assert_eq!(doc.cell(0, 0).as_deref(), Some("1 & 2"));
        assert_eq!(doc.cell(0, 1).as_deref(), Some(""));
        doc.set_cell(0, 1, "<z>");
        doc.truncate(1);
        doc.add_trailing_info(r#"<INFO name="QUERY_STATUS" value="OVERFLOW"/>"#);
        let xml = doc.to_xml();
        assert!(xml.contains("<TD>&lt;z&gt;</TD>"));
        assert!(xml.contains(r#"nrows="1""#));
        assert!(xml.contains("</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
        assert!(!xml.contains("x,y"));
        let again = TableDoc::parse(&xml).unwrap();
        assert_eq!(again.nrows(), 1);
    }

    #[test]
    fn csv_quotes() {
        let doc = TableDoc::parse(DOC).unwrap();
        assert_eq!(
            doc.to_csv(),
            "a,b\r\n1 & 2,\r\n\"x,y\",https://dataportal.eso.org/dataPortal/file/X\r\n"
        );
    }

    #[test]
    fn rewrites_service_urls_only() {
        let text = "https://dataportal.eso.org/dataPortal/file/X http://archive.eso.org/rdf/datalink/eso#night_log \
                    https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?X https://www.eso.org/sso/oidc/token";
        let out = rewrite_urls(text, "http://127.0.0.1:9");
        assert_eq!(
            out,
            "http://127.0.0.1:9/dataPortal/file/X http://archive.eso.org/rdf/datalink/eso#night_log \
             http://127.0.0.1:9/datalink/links?ID=ivo://eso.org/ID?X http://127.0.0.1:9/sso/oidc/token"
        );
    }

    #[test]
    fn empty_tabledata() {
        let doc =
            TableDoc::parse("<TABLE><FIELD name=\"a\"/><DATA><TABLEDATA/></DATA></TABLE>").unwrap();
        assert_eq!(doc.nrows(), 0);
        assert!(doc.to_xml().contains("<TABLEDATA>\n</TABLEDATA>"));
    }

    #[test]
    fn unescapes_numeric_references() {
        assert_eq!(unescape("a&#65;&#x42;&bogus;"), "aAB&bogus;");
    }
}
