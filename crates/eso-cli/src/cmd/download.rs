//! `eso download [URL|DP_ID ...] [--from FILE] [--column NAME]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use vo_auth::Url;
use vo_download::DownloadRequest;

use crate::args::DownloadArgs;
use crate::cmd::fetch;
use crate::context::{Ctx, Login};
use crate::exit;

/// One thing to download: a URL, and the trusted name when it came from a dp_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where to get it.
    pub url: Url,
    /// The dp_id, when the user gave one (it names the file).
    pub dp_id: Option<String>,
}

/// A command-line item: a URL as is, anything else is an ESO dp_id.
pub fn resolve_item(ctx: &Ctx, text: &str) -> anyhow::Result<Item> {
    let text = text.trim();
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(Item {
            url: Ctx::parse_url("URL", text)?,
            dp_id: None,
        });
    }
    if text.is_empty() || text.contains('/') || text.contains(char::is_whitespace) {
        return Err(exit::coded(
            exit::USAGE,
            format!("{text:?} is neither an http(s) URL nor an ESO dp_id"),
        ));
    }
    Ok(Item {
        url: ctx
            .endpoints
            .try_file(text)
            .map_err(|err| exit::coded(exit::USAGE, err.to_string()))?,
        dp_id: Some(text.to_owned()),
    })
}

/// Reads the URL column of a saved result: a VOTable, CSV (header line) or JSON
/// (`votable::convert`'s shape, or an array of objects).
pub fn column_from_file(path: &Path, column: &str) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_string();
    let trimmed = head.trim_start();
    if trimmed.starts_with('<') {
        let votable =
            votable::parse(&bytes).with_context(|| format!("cannot read {}", path.display()))?;
        let table = votable
            .first_table()
            .with_context(|| format!("{} has no table", path.display()))?;
        let col = table
            .field_index(column)
            .with_context(|| format!("{} has no column {column:?}", path.display()))?;
        return Ok((0..table.nrows())
            .filter_map(|row| table.get_str(row, col).map(str::to_owned))
            .filter(|s| !s.is_empty())
            .collect());
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("cannot parse {} as JSON", path.display()))?;
        return json_column(&json, column)
            .with_context(|| format!("{} has no column {column:?}", path.display()));
    }
    csv_column(&String::from_utf8_lossy(&bytes), column)
        .with_context(|| format!("{} has no column {column:?}", path.display()))
}

fn json_column(json: &serde_json::Value, column: &str) -> Option<Vec<String>> {
    let as_text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    if let (Some(fields), Some(rows)) = (json.get("fields"), json.get("rows")) {
        let idx = fields
            .as_array()?
            .iter()
            .position(|f| f.get("name").and_then(|n| n.as_str()) == Some(column))?;
        return Some(
            rows.as_array()?
                .iter()
                .filter_map(|row| row.get(idx).and_then(as_text))
                .collect(),
        );
    }
    let items = json.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|obj| obj.get(column).and_then(as_text))
            .collect(),
    )
}

/// RFC 4180 fields of one record (quotes doubled inside quoted fields).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => in_quotes = false,
            (true, c) => field.push(c),
            (false, '"') => in_quotes = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

fn csv_column(text: &str, column: &str) -> Option<Vec<String>> {
    let records = csv_records(text);
    let (header, rows) = records.split_first()?;
    let idx = header.iter().position(|h| h.trim() == column)?;
    Some(
        rows.iter()
            .filter_map(|r| r.get(idx).cloned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// `eso download`.
pub async fn download(ctx: &Ctx, args: &DownloadArgs) -> anyhow::Result<ExitCode> {
    let mut texts = args.items.clone();
    if let Some(from) = &args.from {
        texts.extend(column_from_file(from, &args.column)?);
    }
    if texts.is_empty() {
        return Err(exit::coded(
            exit::USAGE,
            "nothing to download: give URLs or dp_ids, or --from FILE",
        ));
    }
    let items = texts
        .iter()
        .map(|t| resolve_item(ctx, t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = ctx.client(Login::IfAvailable).await?;
    let mut requests = Vec::new();
    let mut labels = Vec::new();
    for item in items {
        let mut request = DownloadRequest::new(item.url.clone(), &args.dir)
            .with_decompress(args.decompress)
            .with_overwrite(args.overwrite);
        labels.push(item.dp_id.clone().unwrap_or_else(|| item.url.to_string()));
        if let Some(dp_id) = item.dp_id {
            request = request.with_name(dp_id);
        }
        requests.push(request);
    }
    let report = fetch::run_batch(ctx, &client, requests, labels, args.jobs).await?;
    Ok(fetch::summarize(ctx, &report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_column_handles_quotes() {
        let text = "dp_id,access_url\r\n\"a,1\",https://x/1\r\nb,\"https://x/\"\"2\"\"\"\r\n";
        assert_eq!(
            csv_column(text, "access_url").unwrap(),
            vec!["https://x/1".to_owned(), "https://x/\"2\"".to_owned()]
        );
        assert!(csv_column(text, "missing").is_none());
    }

    #[test]
    fn json_column_both_shapes() {
        let shape: serde_json::Value = serde_json::json!({
            "fields": [{"name": "access_url"}, {"name": "n"}],
            "rows": [["https://a", 1], [null, 2], ["https://b", 3]]
        });
        assert_eq!(
            json_column(&shape, "access_url").unwrap(),
            vec!["https://a".to_owned(), "https://b".to_owned()]
        );
        let objects = serde_json::json!([{"access_url": "https://c"}, {"other": 1}]);
        assert_eq!(
            json_column(&objects, "access_url").unwrap(),
            vec!["https://c".to_owned()]
        );
    }
}
