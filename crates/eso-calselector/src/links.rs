//! The rows of the calSelector VOTable (`responseformat=votable`), by role.
//!
//! The reply is a DataLink `{links}` table (seed 000 §4.2) with the ESO columns `eso_category`
//! and `eso_datalink`. Its rows play four roles:
//! - `#this`: the input frame, whose `description` is the cascade description;
//! - `http://archive.eso.org/rdf/datalink/eso#sibling_raw`: other raw science frames to be
//!   processed together with it;
//! - `#calibration`: a calibration file, with its `eso_category`;
//! - `http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master` (or `_raw2raw`) with
//!   `eso_category=ASSOCIATION_TREE`: the association tree XML.
//!   (In a DataLink reply the same semantics, without that category, points to the calSelector
//!   VOTable itself.)

use serde::Serialize;
use url::Url;

use crate::request::Mode;
use crate::warnings::ParseWarning;
use crate::{Error, Result};

/// The ESO DataLink vocabulary prefix.
pub const ESO_SEMANTICS_PREFIX: &str = "http://archive.eso.org/rdf/datalink/eso";

/// The `eso_category` of the association tree row.
pub const ASSOCIATION_TREE_CATEGORY: &str = "ASSOCIATION_TREE";

/// The role of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "role", content = "mode", rename_all = "snake_case")]
pub enum Role {
    /// `#this`: the input frame.
    This,
    /// `eso#sibling_raw`: another raw science frame to process together with the input.
    SiblingRaw,
    /// `#calibration`: a calibration file.
    Calibration,
    /// `eso#calSelector_<mode>` with `eso_category=ASSOCIATION_TREE`: the association tree.
    AssociationTree(Mode),
    /// `eso#calSelector_<mode>` without that category: a link to the calSelector VOTable.
    CalSelector(Mode),
    /// Anything else.
    Other,
}

impl Role {
    /// The role of a row from its `semantics` and `eso_category`.
    pub fn classify(semantics: &str, eso_category: Option<&str>) -> Role {
        let semantics = semantics.trim();
        let term = match semantics.strip_prefix(ESO_SEMANTICS_PREFIX) {
            Some(rest) => rest,
            None => match semantics.strip_prefix("https://archive.eso.org/rdf/datalink/eso") {
                Some(rest) => rest,
                None => semantics,
            },
        };
        let is_tree =
            eso_category.is_some_and(|c| c.trim().eq_ignore_ascii_case(ASSOCIATION_TREE_CATEGORY));
        let calselector = |mode| {
            if is_tree {
                Role::AssociationTree(mode)
            } else {
                Role::CalSelector(mode)
            }
        };
        match term {
            "#this" => Role::This,
            "#sibling_raw" => Role::SiblingRaw,
            "#calibration" => Role::Calibration,
            "#calSelector_raw2master" => calselector(Mode::Raw2Master),
            "#calSelector_raw2raw" => calselector(Mode::Raw2Raw),
            _ => Role::Other,
        }
    }
}

/// One row of the calSelector VOTable. Empty cells are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRow {
    /// `ID`: the input frame's identifier (`ivo://eso.org/ID?<dp_id>`), on every row.
    pub id: Option<String>,
    /// `access_url`.
    pub access_url: Option<String>,
    /// `service_def`.
    pub service_def: Option<String>,
    /// `error_message`.
    pub error_message: Option<String>,
    /// `semantics`.
    pub semantics: String,
    /// `description`: the cascade description on the `#this` row.
    pub description: Option<String>,
    /// `content_type`.
    pub content_type: Option<String>,
    /// `content_length`, in bytes (an order of magnitude for some rows).
    pub content_length: Option<u64>,
    /// `eso_category`.
    pub eso_category: Option<String>,
    /// `eso_datalink`: the row's own DataLink URL.
    pub eso_datalink: Option<String>,
    /// The role, from `semantics` and `eso_category`.
    pub role: Role,
}

impl LinkRow {
    /// The archive id of the file this row points to: from `eso_datalink`'s
    /// `ID=ivo://eso.org/ID?<dp_id>`, else the last path segment of a `.../file/<dp_id>`
    /// `access_url`, else (for `#this`) from `ID`.
    pub fn dp_id(&self) -> Option<String> {
        if let Some(id) = self.eso_datalink.as_deref().and_then(id_from_datalink_url) {
            return Some(id);
        }
        if let Some(id) = self.access_url.as_deref().and_then(id_from_file_url) {
            return Some(id);
        }
        if self.role == Role::This {
            return self.id.as_deref().and_then(id_from_ivoid);
        }
        None
    }

    /// The `access_url` parsed, if it is an absolute http or https URL.
    pub fn url(&self) -> Option<Url> {
        self.access_url.as_deref().and_then(web_url)
    }
}

/// Parses an http or https URL; anything else (file:, ftp:, javascript:) is refused.
pub(crate) fn web_url(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// `ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308` → `SPHER.2016-09-26T03:04:09.308`.
pub fn id_from_ivoid(ivoid: &str) -> Option<String> {
    let (_, id) = ivoid.trim().split_once('?')?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

fn id_from_datalink_url(url: &str) -> Option<String> {
    let url = Url::parse(url.trim()).ok()?;
    let id = url
        .query_pairs()
        .find(|(key, _)| key.eq_ignore_ascii_case("ID"))?
        .1;
    id_from_ivoid(&id)
}

fn id_from_file_url(url: &str) -> Option<String> {
    let url = Url::parse(url.trim()).ok()?;
    let mut segments: Vec<&str> = url.path_segments()?.collect();
    let last = segments.pop()?;
    if segments.last() != Some(&"file") || last.is_empty() {
        return None;
    }
    let decoded = percent_decode(last)?;
    (!decoded.is_empty()).then_some(decoded)
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The rows of one calSelector VOTable reply, by role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CalSelectorLinks {
    /// All rows in order.
    pub rows: Vec<LinkRow>,
}

/// Largest calSelector VOTable accepted (RELIABILITY H5: calSelector replies ≤ 64 MiB).
pub const MAX_VOTABLE_BYTES: usize = 64 << 20;

fn datalink_row(warning: &vo_datalink::Warning) -> usize {
    use vo_datalink::Warning as W;
    match warning {
        W::MissingId { row }
        | W::NoTarget { row, .. }
        | W::SeveralTargets { row, .. }
        | W::MissingSemantics { row, .. }
        | W::BadJson { row, .. } => *row,
        _ => 0,
    }
}

/// The columns this crate reads, in the order of seed 000.
pub const COLUMNS: [&str; 10] = [
    "ID",
    "access_url",
    "service_def",
    "error_message",
    "semantics",
    "description",
    "content_type",
    "content_length",
    "eso_category",
    "eso_datalink",
];

impl CalSelectorLinks {
    /// Builds the rows from column names and string cells (None or empty = null).
    /// Columns are found by name (case-insensitively); `semantics` is required, the others
    /// optional. Unknown columns are ignored.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] without a `semantics` column.
    pub fn from_cells(
        column_names: &[String],
        rows: &[Vec<Option<String>>],
    ) -> Result<(CalSelectorLinks, Vec<ParseWarning>)> {
        let find = |name: &str| {
            column_names
                .iter()
                .position(|c| c.trim().eq_ignore_ascii_case(name))
        };
        let semantics_idx = find("semantics").ok_or(Error::MissingColumn {
            column: "semantics",
        })?;
        let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| find(c)).collect();
        let mut warnings = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        for (row_idx, cells) in rows.iter().enumerate() {
            let cell = |col: Option<usize>| -> Option<String> {
                col.and_then(|c| cells.get(c))
                    .and_then(|v| v.as_deref())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let semantics = cell(Some(semantics_idx)).unwrap_or_default();
            if semantics.is_empty() {
                warnings.push(ParseWarning::Row {
                    row: row_idx,
                    detail: "empty semantics".to_owned(),
                });
            }
            let content_length = match cell(idx[7]) {
                Some(text) => match text.parse::<f64>() {
                    Ok(value) if value.is_finite() && value >= 0.0 => Some(value as u64),
                    _ => {
                        warnings.push(ParseWarning::Row {
                            row: row_idx,
                            detail: format!("content_length {text:?} is not a size"),
                        });
                        None
                    }
                },
                None => None,
            };
            let eso_category = cell(idx[8]);
            let role = Role::classify(&semantics, eso_category.as_deref());
            let row = LinkRow {
                id: cell(idx[0]),
                access_url: cell(idx[1]),
                service_def: cell(idx[2]),
                error_message: cell(idx[3]),
                semantics,
                description: cell(idx[5]),
                content_type: cell(idx[6]),
                content_length,
                eso_category,
                eso_datalink: cell(idx[9]),
                role,
            };
            if let Some(url) = &row.access_url {
                if web_url(url).is_none() {
                    warnings.push(ParseWarning::Row {
                        row: row_idx,
                        detail: format!(
                            "access_url {:?} is not an http(s) URL",
                            crate::tree::escape_terminal(url)
                        ),
                    });
                }
            }
            out.push(row);
        }
        let links = CalSelectorLinks { rows: out };
        match links.rows.iter().filter(|r| r.role == Role::This).count() {
            1 => {}
            0 => warnings.push(ParseWarning::Row {
                row: 0,
                detail: "no #this row".to_owned(),
            }),
            n => warnings.push(ParseWarning::Row {
                row: 0,
                detail: format!("{n} #this rows, the first one is used"),
            }),
        }
        Ok((links, warnings))
    }

    /// Parses a calSelector VOTable with `vo_datalink::parse_links` (any serialization the
    /// `votable` crate reads) and sorts its rows by role.
    ///
    /// # Errors
    /// [`Error::TooLarge`] above [`MAX_VOTABLE_BYTES`], [`Error::DataLink`] if the document is
    /// not a links VOTable or reports `QUERY_STATUS=ERROR` without rows.
    pub fn parse(bytes: &[u8]) -> Result<(CalSelectorLinks, Vec<ParseWarning>)> {
        if bytes.len() > MAX_VOTABLE_BYTES {
            return Err(Error::TooLarge {
                what: "calSelector VOTable",
                limit: MAX_VOTABLE_BYTES,
            });
        }
        let (response, datalink_warnings) =
            vo_datalink::parse_links(bytes).map_err(|source| Error::DataLink {
                source: Box::new(source),
            })?;
        let (links, mut warnings) = Self::from_links(&response.links);
        warnings.splice(
            0..0,
            datalink_warnings.iter().map(|warning| ParseWarning::Row {
                row: datalink_row(warning),
                detail: warning.to_string(),
            }),
        );
        Ok((links, warnings))
    }

    /// Sorts DataLink links (a calSelector VOTable read by `vo_datalink`) by role.
    /// The ESO columns `eso_category` and `eso_datalink` are read from the extra columns.
    pub fn from_links(links: &[vo_datalink::Link]) -> (CalSelectorLinks, Vec<ParseWarning>) {
        let column_names: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        let rows: Vec<Vec<Option<String>>> = links
            .iter()
            .map(|link| {
                vec![
                    Some(link.id.clone()),
                    link.access_url().map(str::to_owned),
                    link.service_def().map(str::to_owned),
                    link.error_message().map(str::to_owned),
                    Some(link.semantics.to_short_string()),
                    link.description.clone(),
                    link.content_type.clone(),
                    link.content_length.map(|n| n.to_string()),
                    link.extra_text("eso_category"),
                    link.extra_text("eso_datalink"),
                ]
            })
            .collect();
        // The columns are all present by construction, so this cannot fail.
        Self::from_cells(&column_names, &rows).unwrap_or_default()
    }

    /// The `#this` row (the first one if there are several).
    pub fn this(&self) -> Option<&LinkRow> {
        self.by_role(Role::This).next()
    }

    /// The `#sibling_raw` rows.
    pub fn siblings(&self) -> impl Iterator<Item = &LinkRow> {
        self.by_role(Role::SiblingRaw)
    }

    /// The `#calibration` rows.
    pub fn calibrations(&self) -> impl Iterator<Item = &LinkRow> {
        self.by_role(Role::Calibration)
    }

    /// The association tree rows (`eso_category=ASSOCIATION_TREE`).
    pub fn association_trees(&self) -> impl Iterator<Item = &LinkRow> {
        self.rows
            .iter()
            .filter(|r| matches!(r.role, Role::AssociationTree(_)))
    }

    /// The rows with a given role.
    pub fn by_role(&self, role: Role) -> impl Iterator<Item = &LinkRow> {
        self.rows.iter().filter(move |r| r.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(Role::classify("#this", None), Role::This);
        assert_eq!(
            Role::classify("http://archive.eso.org/rdf/datalink/eso#sibling_raw", None),
            Role::SiblingRaw
        );
        assert_eq!(
            Role::classify("#calibration", Some("BIAS")),
            Role::Calibration
        );
        assert_eq!(
            Role::classify(
                "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master",
                Some("ASSOCIATION_TREE")
            ),
            Role::AssociationTree(Mode::Raw2Master)
        );
        assert_eq!(
            Role::classify(
                "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw",
                None
            ),
            Role::CalSelector(Mode::Raw2Raw)
        );
        assert_eq!(Role::classify("#progenitor", None), Role::Other);
        assert_eq!(Role::classify("http://evil/eso#this", None), Role::Other);
    }

    #[test]
    fn dp_ids() {
        let row = LinkRow {
            id: Some("ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308".into()),
            access_url: Some(
                "https://dataportal.eso.org/dataPortal/file/M.SPHERE.2016-09-27T08:14:14.686"
                    .into(),
            ),
            service_def: None,
            error_message: None,
            semantics: "#calibration".into(),
            description: None,
            content_type: None,
            content_length: None,
            eso_category: None,
            eso_datalink: None,
            role: Role::Calibration,
        };
        assert_eq!(
            row.dp_id().as_deref(),
            Some("M.SPHERE.2016-09-27T08:14:14.686")
        );
        let mut tree = row.clone();
        tree.access_url = Some(
            "https://archive.eso.org/calselector/v1/associations?dp_id=X&mode=Raw2Master".into(),
        );
        assert_eq!(tree.dp_id(), None);
        let mut this = tree.clone();
        this.role = Role::This;
        assert_eq!(
            this.dp_id().as_deref(),
            Some("SPHER.2016-09-26T03:04:09.308")
        );
        let mut dl = tree;
        dl.eso_datalink =
            Some("https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?A.B%3AC".into());
        assert_eq!(dl.dp_id().as_deref(), Some("A.B:C"));
        let mut bad = row;
        bad.access_url = Some("file:///etc/passwd".into());
        assert_eq!(bad.url(), None);
    }

    #[test]
    fn documents_that_are_not_links_are_errors() {
        let html = b"<html><body>Service unavailable</body></html>";
        assert!(matches!(
            CalSelectorLinks::parse(html),
            Err(Error::DataLink { .. })
        ));
        let doctype = br#"<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaa">]><VOTABLE/>"#;
        assert!(CalSelectorLinks::parse(doctype).is_err());
        let failed = br#"<VOTABLE version="1.3"><RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">No such file</INFO></RESOURCE></VOTABLE>"#;
        assert!(CalSelectorLinks::parse(failed).is_err());
    }

    #[test]
    fn cells_without_semantics_column() {
        let columns = vec!["ID".to_owned(), "access_url".to_owned()];
        assert!(matches!(
            CalSelectorLinks::from_cells(&columns, &[]),
            Err(Error::MissingColumn {
                column: "semantics"
            })
        ));
        let columns = vec!["SEMANTICS".to_owned(), "content_length".to_owned()];
        let rows = vec![
            vec![Some("#this".to_owned()), Some("-1".to_owned())],
            vec![None, Some("12".to_owned())],
        ];
        let (links, warnings) = CalSelectorLinks::from_cells(&columns, &rows).unwrap();
        assert_eq!(links.rows[1].content_length, Some(12));
        assert_eq!(links.rows[0].content_length, None);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
