//! DataLink `{links}` responses (DataLink 1.1, section 3.2).
//!
//! Each row links one `ID` to exactly one of: a file or page (`access_url`), a service
//! described in the same document (`service_def`), or an error (`error_message`).
//! [`LinkTarget`] encodes that rule; rows that break it are reported as [`Warning`]s.
//! Error rows are kept: a protected file without permission comes back as one.
//! Columns beyond the standard ones (ESO's `eso_origfile`, `eso_category`,
//! `eso_datalink`; HEASARC's `cloud_access`) are kept by name in [`Link::extra`].
//!
//! This module is pure: it reads [`votable::VoTable`]s.

use std::collections::BTreeMap;

use url::Url;
use votable::{QueryStatus, TableMeta, Value, VoTable};

use crate::descriptor::{self, BatchConfig, BatchRequest, ServiceDescriptor};
use crate::semantics::Semantics;
use crate::{Error, Result, Warning};

/// The standard columns of a `{links}` table.
pub const STANDARD_COLUMNS: &[&str] = &[
    "ID",
    "access_url",
    "service_def",
    "error_message",
    "semantics",
    "description",
    "content_type",
    "content_length",
    "content_qualifier",
    "local_semantics",
    "link_auth",
    "link_authorized",
];

/// Extra columns whose text is JSON and is parsed (HEASARC's cloud access hints).
pub const JSON_COLUMNS: &[&str] = &["cloud_access"];

/// What a link points to: exactly one of the three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// `access_url`: a URL, kept verbatim (it may be `s3://...`; check it with
    /// [`Link::http_url`] before requesting it).
    AccessUrl(String),
    /// `service_def`: the `ID` of a service descriptor in the same document.
    ServiceDef(String),
    /// `error_message`: why there is no link.
    Error(String),
}

/// The `link_auth` column (DataLink 1.1): whether the link needs authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAuth {
    /// `false`: anonymous access.
    False,
    /// `optional`: anonymous access, more with authentication.
    Optional,
    /// `true`: authentication required.
    True,
    /// Anything else, verbatim.
    Other(String),
}

/// An extra (non-standard) column value.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtraValue {
    /// The cell as decoded by the VOTable reader.
    Value(Value),
    /// A JSON column (see [`JSON_COLUMNS`]), parsed.
    Json(serde_json::Value),
}

impl ExtraValue {
    /// The value as text: strings verbatim, numbers formatted, JSON serialised.
    pub fn to_text(&self) -> Option<String> {
        match self {
            ExtraValue::Value(v) => descriptor::value_to_text(v),
            ExtraValue::Json(j) => Some(j.to_string()),
        }
    }
}

/// One row of a `{links}` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The `ID` the link belongs to.
    pub id: String,
    /// Where it points.
    pub target: LinkTarget,
    /// `semantics`.
    pub semantics: Semantics,
    /// `description`.
    pub description: Option<String>,
    /// `content_type`.
    pub content_type: Option<String>,
    /// `content_length` in bytes (negative sentinels are treated as unknown).
    pub content_length: Option<u64>,
    /// `content_qualifier` (DataLink 1.1).
    pub content_qualifier: Option<String>,
    /// `local_semantics`.
    pub local_semantics: Option<String>,
    /// `link_auth` (DataLink 1.1).
    pub link_auth: Option<LinkAuth>,
    /// `link_authorized` (DataLink 1.1).
    pub link_authorized: Option<bool>,
    /// Every other column, by name (null cells left out).
    pub extra: BTreeMap<String, ExtraValue>,
}

impl Link {
    /// The access URL, if this link has one.
    pub fn access_url(&self) -> Option<&str> {
        match &self.target {
            LinkTarget::AccessUrl(u) => Some(u),
            _ => None,
        }
    }

    /// The `service_def` reference, if any.
    pub fn service_def(&self) -> Option<&str> {
        match &self.target {
            LinkTarget::ServiceDef(s) => Some(s),
            _ => None,
        }
    }

    /// The error message, if this is an error row.
    pub fn error_message(&self) -> Option<&str> {
        match &self.target {
            LinkTarget::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The access URL checked to be `http`/`https`.
    ///
    /// # Errors
    /// [`Error::NotAnAccessUrl`] when the row has none; [`Error::UnsafeUrl`] for other
    /// schemes (`file:`, `ftp:`, `javascript:`, `s3:` ...); [`Error::InvalidUrl`].
    pub fn http_url(&self) -> Result<Url> {
        match &self.target {
            LinkTarget::AccessUrl(u) => crate::query::checked_http_url(u),
            _ => Err(Error::NotAnAccessUrl {
                id: self.id.clone(),
            }),
        }
    }

    /// An extra column as text.
    pub fn extra_text(&self, column: &str) -> Option<String> {
        self.extra.get(column).and_then(ExtraValue::to_text)
    }

    /// The link as JSON (standard columns by their DataLink names, extra columns under
    /// `extra`), for `--format json` style output.
    pub fn to_json(&self) -> serde_json::Value {
        let (access_url, service_def, error_message) = match &self.target {
            LinkTarget::AccessUrl(u) => (Some(u.as_str()), None, None),
            LinkTarget::ServiceDef(s) => (None, Some(s.as_str()), None),
            LinkTarget::Error(e) => (None, None, Some(e.as_str())),
        };
        let extra: serde_json::Map<String, serde_json::Value> = self
            .extra
            .iter()
            .map(|(name, value)| {
                let json = match value {
                    ExtraValue::Json(j) => j.clone(),
                    ExtraValue::Value(v) => match (v.as_i64(), v.as_f64(), v.as_bool()) {
                        (Some(i), _, _) => serde_json::Value::from(i),
                        (None, Some(f), _) => serde_json::Value::from(f),
                        (None, None, Some(b)) => serde_json::Value::from(b),
                        _ => value
                            .to_text()
                            .map_or(serde_json::Value::Null, serde_json::Value::from),
                    },
                };
                (name.clone(), json)
            })
            .collect();
        serde_json::json!({
            "ID": self.id,
            "access_url": access_url,
            "service_def": service_def,
            "error_message": error_message,
            "semantics": self.semantics.to_string(),
            "description": self.description,
            "content_type": self.content_type,
            "content_length": self.content_length,
            "content_qualifier": self.content_qualifier,
            "local_semantics": self.local_semantics,
            "link_auth": self.link_auth.as_ref().map(|a| match a {
                LinkAuth::False => "false".to_owned(),
                LinkAuth::Optional => "optional".to_owned(),
                LinkAuth::True => "true".to_owned(),
                LinkAuth::Other(s) => s.clone(),
            }),
            "link_authorized": self.link_authorized,
            "extra": extra,
        })
    }

    /// Whether this link's semantics answer a query for `query` (narrower terms match).
    pub fn is(&self, query: &Semantics) -> bool {
        self.semantics.matches(query)
    }
}

/// A parsed `{links}` document.
#[derive(Debug, Clone, PartialEq)]
pub struct LinksResponse {
    /// Every valid row, in document order (error rows included).
    pub links: Vec<Link>,
    /// Every service descriptor of the document.
    pub descriptors: Vec<ServiceDescriptor>,
    /// The `QUERY_STATUS`, if given.
    pub status: Option<QueryStatus>,
}

impl LinksResponse {
    /// Links grouped by `ID`, IDs in first-seen order.
    pub fn by_id(&self) -> Vec<(&str, Vec<&Link>)> {
        let mut groups: Vec<(&str, Vec<&Link>)> = Vec::new();
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for link in &self.links {
            match index.get(link.id.as_str()) {
                Some(&i) => groups[i].1.push(link),
                None => {
                    index.insert(&link.id, groups.len());
                    groups.push((&link.id, vec![link]));
                }
            }
        }
        groups
    }

    /// The links whose semantics match `query` (narrower terms included).
    pub fn by_semantics(&self, query: &Semantics) -> impl Iterator<Item = &Link> + use<'_> {
        let query = query.clone();
        self.links.iter().filter(move |l| l.is(&query))
    }

    /// The error rows.
    pub fn errors(&self) -> impl Iterator<Item = &Link> {
        self.links
            .iter()
            .filter(|l| matches!(l.target, LinkTarget::Error(_)))
    }

    /// The descriptor a `service_def` link refers to.
    pub fn descriptor_for(&self, link: &Link) -> Option<&ServiceDescriptor> {
        let id = link.service_def()?;
        self.descriptors
            .iter()
            .find(|d| d.id.as_deref() == Some(id))
    }

    /// Appends another response (another batch): links, and descriptors not yet known.
    pub fn merge(&mut self, other: LinksResponse) {
        self.links.extend(other.links);
        for d in other.descriptors {
            if !self.descriptors.contains(&d) {
                self.descriptors.push(d);
            }
        }
        if self.status.is_none() || matches!(other.status, Some(QueryStatus::Error(_))) {
            self.status = other.status;
        }
    }
}

/// Parses a `{links}` document from bytes.
///
/// # Errors
/// [`Error::VoTable`] if it is not a VOTable, and those of [`from_votable`].
pub fn parse_links(bytes: &[u8]) -> Result<(LinksResponse, Vec<Warning>)> {
    let votable = votable::parse(bytes).map_err(|source| Error::VoTable {
        context: "links response".to_owned(),
        source: Box::new(source),
    })?;
    from_votable(&votable)
}

/// Reads the links table of a parsed document: the first table that has an `ID`
/// column and at least one of `access_url`, `service_def`, `error_message`.
///
/// # Errors
/// [`Error::NotLinks`] when there is no such table; [`Error::QueryFailed`] when the
/// document's `QUERY_STATUS` is `ERROR` and it has no links.
pub fn from_votable(votable: &VoTable) -> Result<(LinksResponse, Vec<Warning>)> {
    let status = votable.query_status();
    let (descriptors, mut warnings) = descriptor::descriptors(&votable.document);
    let table = votable.tables().iter().find(|t| is_links_table(t.meta()));
    let Some(table) = table else {
        if let Some(QueryStatus::Error(message)) = status {
            return Err(Error::QueryFailed { message });
        }
        return Err(Error::NotLinks);
    };
    let rows = (0..table.nrows()).map(|r| {
        (0..table.ncols())
            .map(|c| table.value(r, c))
            .collect::<Vec<Value>>()
    });
    let links = links_from_rows(table.meta(), rows, &mut warnings);
    // An error document with an empty links table is a failed call, not "no links".
    if let (Some(QueryStatus::Error(message)), true) = (&status, links.is_empty()) {
        return Err(Error::QueryFailed {
            message: message.clone(),
        });
    }
    Ok((
        LinksResponse {
            links,
            descriptors,
            status,
        },
        warnings,
    ))
}

fn is_links_table(meta: &TableMeta) -> bool {
    let has = |n: &str| meta.fields.iter().any(|f| f.name.eq_ignore_ascii_case(n));
    has("ID") && (has("access_url") || has("service_def") || has("error_message"))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        other => descriptor::value_to_text(other),
    }
}

/// Converts rows of a links table (cells in FIELD order) into links.
pub(crate) fn links_from_rows(
    meta: &TableMeta,
    rows: impl Iterator<Item = Vec<Value>>,
    warnings: &mut Vec<Warning>,
) -> Vec<Link> {
    let col = |name: &str| {
        meta.fields.iter().position(|f| f.name == name).or_else(|| {
            meta.fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        })
    };
    let [
        id_c,
        access_c,
        service_c,
        error_c,
        sem_c,
        desc_c,
        ct_c,
        cl_c,
        cq_c,
        ls_c,
        la_c,
        lz_c,
    ] = [
        col("ID"),
        col("access_url"),
        col("service_def"),
        col("error_message"),
        col("semantics"),
        col("description"),
        col("content_type"),
        col("content_length"),
        col("content_qualifier"),
        col("local_semantics"),
        col("link_auth"),
        col("link_authorized"),
    ];
    let standard: Vec<Option<usize>> = vec![
        id_c, access_c, service_c, error_c, sem_c, desc_c, ct_c, cl_c, cq_c, ls_c, la_c, lz_c,
    ];
    let mut links = Vec::new();
    for (row_idx, cells) in rows.enumerate() {
        let cell = |c: Option<usize>| c.and_then(|c| cells.get(c)).and_then(text);
        let Some(id) = cell(id_c) else {
            warnings.push(Warning::MissingId { row: row_idx });
            continue;
        };
        let access = cell(access_c);
        let service = cell(service_c);
        let error = cell(error_c);
        let present = [access.is_some(), service.is_some(), error.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        // An error message is never hidden; a URL is preferred over a service reference.
        let target = match (error, access, service) {
            (Some(e), _, _) => LinkTarget::Error(e),
            (None, Some(a), _) => LinkTarget::AccessUrl(a),
            (None, None, Some(s)) => LinkTarget::ServiceDef(s),
            (None, None, None) => {
                warnings.push(Warning::NoTarget { row: row_idx, id });
                continue;
            }
        };
        if present > 1 {
            warnings.push(Warning::SeveralTargets {
                row: row_idx,
                id: id.clone(),
            });
        }
        let semantics = match cell(sem_c) {
            Some(s) => Semantics::parse(&s),
            None => {
                warnings.push(Warning::MissingSemantics {
                    row: row_idx,
                    id: id.clone(),
                });
                Semantics::Custom(String::new())
            }
        };
        let content_length = cl_c.and_then(|c| cells.get(c)).and_then(|v| match v {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            other => other.as_i64(),
        });
        let link_auth = cell(la_c).map(|s| match s.to_ascii_lowercase().as_str() {
            "false" => LinkAuth::False,
            "optional" => LinkAuth::Optional,
            "true" => LinkAuth::True,
            _ => LinkAuth::Other(s),
        });
        let link_authorized = lz_c.and_then(|c| cells.get(c)).and_then(|v| match v {
            Value::Boolean(b) => Some(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" => Some(true),
                "false" | "f" | "0" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        });
        let mut extra = BTreeMap::new();
        for (c, field) in meta.fields.iter().enumerate() {
            if standard.contains(&Some(c)) {
                continue;
            }
            let Some(value) = cells.get(c).filter(|v| !v.is_null()) else {
                continue;
            };
            let is_json = JSON_COLUMNS
                .iter()
                .any(|j| field.name.eq_ignore_ascii_case(j));
            let extra_value = match (is_json, value.as_str()) {
                (true, Some(s)) if !s.trim().is_empty() => match serde_json::from_str(s) {
                    Ok(json) => ExtraValue::Json(json),
                    Err(e) => {
                        warnings.push(Warning::BadJson {
                            row: row_idx,
                            column: field.name.clone(),
                            message: e.to_string(),
                        });
                        ExtraValue::Value(value.clone())
                    }
                },
                (_, Some(s)) if s.trim().is_empty() => continue,
                _ => ExtraValue::Value(value.clone()),
            };
            extra.insert(field.name.clone(), extra_value);
        }
        links.push(Link {
            id,
            target,
            semantics,
            description: cell(desc_c),
            content_type: cell(ct_c),
            content_length: content_length.and_then(|n| u64::try_from(n).ok()),
            content_qualifier: cell(cq_c),
            local_semantics: cell(ls_c),
            link_auth,
            link_authorized,
            extra,
        });
    }
    links
}

/// Requests for the `{links}` of many IDs at a plain DataLink endpoint: `ID` repeated,
/// `config.batch_size` IDs per request, POST form when a GET URL would be too long.
///
/// # Errors
/// [`Error::Request`] if the endpoint is not a valid URI.
pub fn links_requests(
    endpoint: &Url,
    ids: &[String],
    config: &BatchConfig,
) -> Result<Vec<BatchRequest>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(config.batch_size.max(1)) {
        let params: Vec<(String, String)> = chunk
            .iter()
            .map(|id| ("ID".to_owned(), id.clone()))
            .collect();
        out.push(BatchRequest {
            id_param: Some("ID".to_owned()),
            ids: chunk.to_vec(),
            rows: Vec::new(),
            request: descriptor::build(endpoint, &params, config)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_and_rebuild_single_requests() {
        let endpoint = Url::parse("https://archive.eso.org/datalink/links").unwrap();
        let ids: Vec<String> = (0..5).map(|i| format!("ivo://eso.org/ID?X.{i}")).collect();
        let config = BatchConfig {
            batch_size: 2,
            ..BatchConfig::default()
        };
        let batches = links_requests(&endpoint, &ids, &config).unwrap();
        assert_eq!(batches.len(), 3);
        assert_eq!(
            batches[0].request.uri().to_string(),
            "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?X.0&ID=ivo://eso.org/ID?X.1"
        );
        assert_eq!(
            batches[0]
                .single("ivo://eso.org/ID?X.1")
                .unwrap()
                .uri()
                .to_string(),
            "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?X.1"
        );
        let post = BatchConfig {
            max_get_url_len: 10,
            ..BatchConfig::default()
        };
        let batches = links_requests(&endpoint, &ids, &post).unwrap();
        let single = batches[0].single("ivo://eso.org/ID?X.3").unwrap();
        assert_eq!(single.method(), http::Method::POST);
        assert_eq!(
            single.body().as_slice(),
            b"ID=ivo%3A%2F%2Feso.org%2FID%3FX.3"
        );
    }

    #[test]
    fn links_render_as_json() {
        let link = Link {
            id: "ivo://x/1".into(),
            target: LinkTarget::AccessUrl("s3://b/k".into()),
            semantics: Semantics::parse("#this"),
            description: None,
            content_type: Some("image/fits".into()),
            content_length: Some(10),
            content_qualifier: None,
            local_semantics: None,
            link_auth: Some(LinkAuth::Optional),
            link_authorized: None,
            extra: BTreeMap::from([
                (
                    "cloud_access".to_owned(),
                    ExtraValue::Json(serde_json::json!({"aws": {"region": "us-east-1"}})),
                ),
                (
                    "eso_category".to_owned(),
                    ExtraValue::Value(Value::String("SCIENCE".into())),
                ),
            ]),
        };
        let json = link.to_json();
        assert_eq!(json["access_url"], "s3://b/k");
        assert_eq!(json["service_def"], serde_json::Value::Null);
        assert_eq!(json["semantics"], "#this");
        assert_eq!(json["link_auth"], "optional");
        assert_eq!(json["extra"]["cloud_access"]["aws"]["region"], "us-east-1");
        assert_eq!(json["extra"]["eso_category"], "SCIENCE");
    }
}
