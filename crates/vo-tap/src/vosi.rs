//! VOSI 1.1 documents: capabilities, availability and tables
//! ([VOSI 1.1](https://www.ivoa.net/documents/VOSI/20170524/REC-VOSI-1.1.html),
//! [TAPRegExt 1.0](https://www.ivoa.net/documents/TAPRegExt/20120827/REC-TAPRegExt-1.0.html)).
//!
//! Elements and `xsi:type` values are matched by namespace URI and local name, never by
//! prefix: ESO answers with `ns2:`, `ns4:TableAccess` and `ns5:ParamHTTP`.

use crate::xml::{self, Element, XSI_NS};
use crate::{Error, Result};

/// VOSI capabilities namespace.
pub const CAPABILITIES_NS: &str = "http://www.ivoa.net/xml/VOSICapabilities/v1.0";
/// VOSI availability namespace.
pub const AVAILABILITY_NS: &str = "http://www.ivoa.net/xml/VOSIAvailability/v1.0";
/// VOSI tables namespace.
pub const TABLES_NS: &str = "http://www.ivoa.net/xml/VOSITables/v1.0";
/// TAPRegExt namespace (`TableAccess`).
pub const TAPREGEXT_NS: &str = "http://www.ivoa.net/xml/TAPRegExt/v1.0";
/// VODataService namespace (`ParamHTTP`, `VOTableType`).
pub const VODATASERVICE_NS: &str = "http://www.ivoa.net/xml/VODataService/v1.1";
/// Largest VOSI document accepted, in bytes.
pub const MAX_VOSI_BYTES: usize = 16 << 20;
/// The TAP standard identifier.
pub const TAP_STANDARD_ID: &str = "ivo://ivoa.net/std/TAP";

/// A name qualified by its namespace URI (from an `xsi:type` value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// Namespace URI the prefix resolved to; None when unbound.
    pub namespace: Option<String>,
    /// Local name, e.g. `TableAccess`.
    pub local: String,
}

impl TypeName {
    /// True when this is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.namespace.as_deref() == Some(ns) && self.local == local
    }
}

/// The capabilities of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Every `capability`, in document order.
    pub capabilities: Vec<Capability>,
}

/// One `capability`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capability {
    /// `standardID`, e.g. `ivo://ivoa.net/std/TAP`.
    pub standard_id: Option<String>,
    /// Resolved `xsi:type`, e.g. TAPRegExt `TableAccess`.
    pub xsi_type: Option<TypeName>,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
    /// `dataModel` values (e.g. `ObsCore-1.1`) with their `ivo-id`.
    pub data_models: Vec<(String, Option<String>)>,
    /// Query languages (TAPRegExt `language`).
    pub languages: Vec<Language>,
    /// Output formats (TAPRegExt `outputFormat`).
    pub output_formats: Vec<OutputFormat>,
    /// Upload methods' `ivo-id`s.
    pub upload_methods: Vec<String>,
    /// `outputLimit`.
    pub output_limit: Option<Limit>,
    /// `uploadLimit`.
    pub upload_limit: Option<Limit>,
    /// `executionDuration` (seconds).
    pub execution_duration: Option<Limit>,
    /// `retentionPeriod` (seconds).
    pub retention_period: Option<Limit>,
}

/// One `interface` of a capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// Resolved `xsi:type`, e.g. VODataService `ParamHTTP`.
    pub xsi_type: Option<TypeName>,
    /// `role` (`std` for the standard interface).
    pub role: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `accessURL`s with their `use` attribute.
    pub access_urls: Vec<AccessUrl>,
}

/// One `accessURL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUrl {
    /// The URL text.
    pub url: String,
    /// `use`: `base`, `full`, `post`, `dir`.
    pub use_: Option<String>,
}

/// One query language.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Language {
    /// `name`, e.g. `ADQL`.
    pub name: String,
    /// `version` texts.
    pub versions: Vec<String>,
    /// `description`.
    pub description: Option<String>,
}

/// One output format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputFormat {
    /// `mime`.
    pub mime: Option<String>,
    /// `alias`es.
    pub aliases: Vec<String>,
}

/// A default and a hard limit (TAPRegExt `outputLimit`, `executionDuration`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limit {
    /// `default`.
    pub default: Option<u64>,
    /// `hard`.
    pub hard: Option<u64>,
    /// `unit` attribute of `default` or `hard` (`row`, `byte`).
    pub unit: Option<String>,
}

impl Capabilities {
    /// The TAP capability: `standardID` `ivo://ivoa.net/std/TAP` (any version suffix)
    /// or an `xsi:type` of TAPRegExt `TableAccess`.
    pub fn tap(&self) -> Option<&Capability> {
        self.capabilities.iter().find(|c| {
            c.standard_id.as_deref().is_some_and(|id| {
                id == TAP_STANDARD_ID || id.starts_with("ivo://ivoa.net/std/TAP#")
            }) || c
                .xsi_type
                .as_ref()
                .is_some_and(|t| t.is(TAPREGEXT_NS, "TableAccess"))
        })
    }

    /// True when a capability has this standard id (exact).
    pub fn supports(&self, standard_id: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.standard_id.as_deref() == Some(standard_id))
    }
}

fn malformed(document: &'static str, message: impl Into<String>) -> Error {
    Error::Document {
        document,
        url: None,
        message: message.into(),
    }
}

fn type_name(element: &Element) -> Option<TypeName> {
    element.attr_ns(XSI_NS, "type")?;
    Some(TypeName {
        namespace: element.type_ns.clone(),
        local: element.type_local.clone().unwrap_or_default(),
    })
}

fn number(element: Option<&Element>) -> Option<u64> {
    element?.text_value()?.parse().ok()
}

fn limit(element: Option<&Element>) -> Option<Limit> {
    let element = element?;
    let default = element.child("default");
    let hard = element.child("hard");
    Some(Limit {
        default: number(default),
        hard: number(hard),
        unit: default
            .and_then(|d| d.attr("unit"))
            .or_else(|| hard.and_then(|h| h.attr("unit")))
            .map(str::to_owned),
    })
}

/// Parses a VOSI capabilities document.
///
/// # Errors
/// [`Error::Document`] when the document is not well-formed XML, larger than
/// [`MAX_VOSI_BYTES`], has a DOCTYPE, or its root is not `capabilities`.
pub fn parse_capabilities(bytes: &[u8]) -> Result<Capabilities> {
    const DOC: &str = "VOSI capabilities";
    let root = xml::parse(bytes, MAX_VOSI_BYTES).map_err(|e| malformed(DOC, e.to_string()))?;
    if root.local != "capabilities" || root.ns.as_deref().is_some_and(|ns| ns != CAPABILITIES_NS) {
        return Err(malformed(
            DOC,
            format!(
                "root element is <{}>, expected <capabilities>",
                short(&root.local)
            ),
        ));
    }
    let capabilities = root
        .children_named("capability")
        .map(|cap| Capability {
            standard_id: cap.attr("standardID").map(|s| s.trim().to_owned()),
            xsi_type: type_name(cap),
            interfaces: cap
                .children_named("interface")
                .map(|iface| Interface {
                    xsi_type: type_name(iface),
                    role: iface.attr("role").map(str::to_owned),
                    version: iface.attr("version").map(str::to_owned),
                    access_urls: iface
                        .children_named("accessURL")
                        .filter_map(|a| {
                            Some(AccessUrl {
                                url: a.text_value()?,
                                use_: a.attr("use").map(str::to_owned),
                            })
                        })
                        .collect(),
                })
                .collect(),
            data_models: cap
                .children_named("dataModel")
                .filter_map(|d| Some((d.text_value()?, d.attr("ivo-id").map(str::to_owned))))
                .collect(),
            languages: cap
                .children_named("language")
                .map(|l| Language {
                    name: l.child_text("name").unwrap_or_default(),
                    versions: l
                        .children_named("version")
                        .filter_map(Element::text_value)
                        .collect(),
                    description: l.child_text("description"),
                })
                .collect(),
            output_formats: cap
                .children_named("outputFormat")
                .filter(|f| f.child("mime").is_some() || f.child("alias").is_some())
                .map(|f| OutputFormat {
                    mime: f.child_text("mime"),
                    aliases: f
                        .children_named("alias")
                        .filter_map(Element::text_value)
                        .collect(),
                })
                .collect(),
            upload_methods: cap
                .children_named("uploadMethod")
                .filter_map(|u| u.attr("ivo-id").map(str::to_owned))
                .collect(),
            output_limit: limit(cap.child("outputLimit")),
            upload_limit: limit(cap.child("uploadLimit")),
            execution_duration: limit(cap.child("executionDuration")),
            retention_period: limit(cap.child("retentionPeriod")),
        })
        .collect();
    Ok(Capabilities { capabilities })
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The availability of a service (VOSI 1.1 section 3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Availability {
    /// `available`.
    pub available: bool,
    /// `upSince` (ISO 8601 as sent).
    pub up_since: Option<String>,
    /// `downAt` (ISO 8601 as sent).
    pub down_at: Option<String>,
    /// `backAt` (ISO 8601 as sent).
    pub back_at: Option<String>,
    /// `note`s.
    pub notes: Vec<String>,
}

/// Parses a VOSI availability document.
///
/// # Errors
/// [`Error::Document`] when the document is not XML, its root is not `availability`, or
/// `available` is missing or not a boolean.
pub fn parse_availability(bytes: &[u8]) -> Result<Availability> {
    const DOC: &str = "VOSI availability";
    let root = xml::parse(bytes, MAX_VOSI_BYTES).map_err(|e| malformed(DOC, e.to_string()))?;
    if root.local != "availability" {
        return Err(malformed(
            DOC,
            format!(
                "root element is <{}>, expected <availability>",
                short(&root.local)
            ),
        ));
    }
    let available = match root.child_text("available").as_deref() {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        other => {
            return Err(malformed(
                DOC,
                format!(
                    "available is {:?}, expected true or false",
                    other.map(short)
                ),
            ));
        }
    };
    Ok(Availability {
        available,
        up_since: root.child_text("upSince"),
        down_at: root.child_text("downAt"),
        back_at: root.child_text("backAt"),
        notes: root
            .children_named("note")
            .filter_map(Element::text_value)
            .collect(),
    })
}

/// A VOSI table set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSet {
    /// Schemas in document order.
    pub schemas: Vec<Schema>,
}

/// One schema of a table set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// `name`.
    pub name: String,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// Tables.
    pub tables: Vec<TableDesc>,
}

/// One table description (VODataService `Table`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDesc {
    /// Fully qualified `name`, e.g. `ivoa.ObsCore`.
    pub name: String,
    /// `type` attribute (`table`, `view`, `output`).
    pub table_type: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `nrows` (VODataService 1.2), when given.
    pub nrows: Option<u64>,
    /// Columns; empty with `detail=min`.
    pub columns: Vec<ColumnDesc>,
}

/// One column description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnDesc {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `unit`.
    pub unit: Option<String>,
    /// `ucd`.
    pub ucd: Option<String>,
    /// `utype`.
    pub utype: Option<String>,
    /// `dataType` text, e.g. `char`, `double`.
    pub datatype: Option<String>,
    /// `arraysize` of `dataType`.
    pub arraysize: Option<String>,
    /// `extendedType` (VODataService 1.1) or `xtype` of `dataType`.
    pub xtype: Option<String>,
    /// `flag`s: `indexed`, `primary`, `nullable`.
    pub flags: Vec<String>,
}

impl TableSet {
    /// Every table of every schema.
    pub fn tables(&self) -> impl Iterator<Item = &TableDesc> {
        self.schemas.iter().flat_map(|s| s.tables.iter())
    }

    /// A table by name, compared case-insensitively (ADQL names are).
    pub fn table(&self, name: &str) -> Option<&TableDesc> {
        self.tables().find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

fn table_desc(table: &Element) -> TableDesc {
    TableDesc {
        name: table.child_text("name").unwrap_or_default(),
        table_type: table.attr("type").map(str::to_owned),
        title: table.child_text("title"),
        description: table.child_text("description"),
        nrows: table.child_text("nrows").and_then(|n| n.parse().ok()),
        columns: table
            .children_named("column")
            .map(|column| {
                let datatype = column.child("dataType");
                ColumnDesc {
                    name: column.child_text("name").unwrap_or_default(),
                    description: column.child_text("description"),
                    unit: column.child_text("unit"),
                    ucd: column.child_text("ucd"),
                    utype: column.child_text("utype"),
                    datatype: datatype.and_then(Element::text_value),
                    arraysize: datatype
                        .and_then(|d| d.attr("arraysize"))
                        .map(str::to_owned),
                    xtype: datatype
                        .and_then(|d| d.attr("extendedType").or_else(|| d.attr("xtype")))
                        .map(str::to_owned)
                        .or_else(|| column.child_text("xtype")),
                    flags: column
                        .children_named("flag")
                        .filter_map(Element::text_value)
                        .collect(),
                }
            })
            .collect(),
    }
}

/// Parses a VOSI `tableset` (from `/tables`, with or without `detail=min`).
///
/// # Errors
/// [`Error::Document`] when the document is not XML or its root is not `tableset`.
pub fn parse_tableset(bytes: &[u8]) -> Result<TableSet> {
    const DOC: &str = "VOSI tables";
    let root = xml::parse(bytes, MAX_VOSI_BYTES).map_err(|e| malformed(DOC, e.to_string()))?;
    if root.local != "tableset" {
        return Err(malformed(
            DOC,
            format!(
                "root element is <{}>, expected <tableset>",
                short(&root.local)
            ),
        ));
    }
    Ok(TableSet {
        schemas: root
            .children_named("schema")
            .map(|schema| Schema {
                name: schema.child_text("name").unwrap_or_default(),
                title: schema.child_text("title"),
                description: schema.child_text("description"),
                tables: schema.children_named("table").map(table_desc).collect(),
            })
            .collect(),
    })
}

/// Parses one VOSI `table` (from `/tables/<name>`).
///
/// # Errors
/// [`Error::Document`] when the document is not XML or its root is not `table`.
pub fn parse_table(bytes: &[u8]) -> Result<TableDesc> {
    const DOC: &str = "VOSI table";
    let root = xml::parse(bytes, MAX_VOSI_BYTES).map_err(|e| malformed(DOC, e.to_string()))?;
    if root.local != "table" {
        return Err(malformed(
            DOC,
            format!("root element is <{}>, expected <table>", short(&root.local)),
        ));
    }
    Ok(table_desc(&root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_prefix_capabilities() {
        let bytes = include_bytes!("../../../fixtures/eso/tap/capabilities_free_prefix.xml");
        let caps = parse_capabilities(bytes).unwrap();
        let tap = caps.tap().unwrap();
        assert!(
            tap.xsi_type
                .as_ref()
                .unwrap()
                .is(TAPREGEXT_NS, "TableAccess")
        );
        let iface = &tap.interfaces[0];
        assert!(
            iface
                .xsi_type
                .as_ref()
                .unwrap()
                .is(VODATASERVICE_NS, "ParamHTTP")
        );
        assert_eq!(iface.access_urls[0].url, "https://archive.eso.org/tap_obs");
        assert_eq!(tap.languages[0].versions, vec!["2.0".to_owned()]);
        assert!(tap.output_formats.is_empty());
    }

    #[test]
    fn wrong_documents() {
        assert!(parse_capabilities(b"<html/>").is_err());
        assert!(
            parse_availability(b"<availability><available>maybe</available></availability>")
                .is_err()
        );
        assert!(parse_tableset(b"<table/>").is_err());
        assert!(parse_table(b"<tableset/>").is_err());
    }
}
