//! The VOTable document model: resources, tables, fields, params, groups and the
//! metadata elements around them (VOTable 1.5, sections 3 to 7).
//!
//! These types hold metadata only; table rows live in [`crate::Table`] (in memory)
//! or are produced one at a time by [`crate::Reader`] (streaming).

use crate::datatype::{ArraySize, Datatype};

/// The whole `VOTABLE` element without its rows.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Document {
    /// The `version` attribute (`1.1` .. `1.5`), if given.
    pub version: Option<String>,
    /// The `ID` attribute of `VOTABLE`.
    pub id: Option<String>,
    /// The document-level `DESCRIPTION`.
    pub description: Option<String>,
    /// Document-level elements in order: `INFO`, `PARAM`, `GROUP`, `COOSYS`, `TIMESYS`.
    pub infos: Vec<Info>,
    /// Document-level `PARAM`s (VOTable 1.1 allows them under `DEFINITIONS` too).
    pub params: Vec<Param>,
    /// Document-level `GROUP`s.
    pub groups: Vec<Group>,
    /// `COOSYS` elements anywhere outside resources.
    pub coosys: Vec<CooSys>,
    /// `TIMESYS` elements anywhere outside resources.
    pub timesys: Vec<TimeSys>,
    /// Top-level `RESOURCE`s.
    pub resources: Vec<Resource>,
    /// `INFO`s that follow the last resource (VOTable 1.2+ allows them there).
    pub trailing_infos: Vec<Info>,
}

/// The `type` attribute of a `RESOURCE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ResourceType {
    /// `type="results"`, also the default when the attribute is absent.
    #[default]
    Results,
    /// `type="meta"`: metadata only, e.g. DataLink service descriptors.
    Meta,
    /// Any other value, kept verbatim.
    Other(String),
}

impl ResourceType {
    /// The `type` attribute value (`results`, `meta`, or the other value verbatim).
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Results => "results",
            ResourceType::Meta => "meta",
            ResourceType::Other(other) => other,
        }
    }
}

/// A `RESOURCE` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Resource {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `name` attribute.
    pub name: Option<String>,
    /// `type` attribute.
    pub resource_type: ResourceType,
    /// `utype` attribute, e.g. `adhoc:service`.
    pub utype: Option<String>,
    /// `DESCRIPTION` child.
    pub description: Option<String>,
    /// `INFO` children before the tables.
    pub infos: Vec<Info>,
    /// `INFO` children after (or between) the tables, in document order.
    pub trailing_infos: Vec<Info>,
    /// `PARAM` children.
    pub params: Vec<Param>,
    /// `GROUP` children.
    pub groups: Vec<Group>,
    /// `LINK` children.
    pub links: Vec<Link>,
    /// `COOSYS` children.
    pub coosys: Vec<CooSys>,
    /// `TIMESYS` children.
    pub timesys: Vec<TimeSys>,
    /// `TABLE` children (metadata; rows are held elsewhere).
    pub tables: Vec<TableMeta>,
    /// Nested `RESOURCE` children.
    pub resources: Vec<Resource>,
}

/// How a table's rows are serialized inside `DATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Serialization {
    /// XML `TR`/`TD` elements.
    TableData,
    /// Base64 `STREAM` of fixed- and variable-length binary cells.
    Binary,
    /// Like `Binary`, with a null bitmap before each row (VOTable 1.3+).
    Binary2,
    /// A FITS file: recognised, but not supported by this crate.
    Fits,
}

impl Serialization {
    /// The element name used in a document (`TABLEDATA`, `BINARY`, `BINARY2`, `FITS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Serialization::TableData => "TABLEDATA",
            Serialization::Binary => "BINARY",
            Serialization::Binary2 => "BINARY2",
            Serialization::Fits => "FITS",
        }
    }
}

/// The metadata of a `TABLE` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TableMeta {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `name` attribute.
    pub name: Option<String>,
    /// `ucd` attribute.
    pub ucd: Option<String>,
    /// `utype` attribute.
    pub utype: Option<String>,
    /// `ref` attribute.
    pub ref_: Option<String>,
    /// `nrows` attribute as declared (a hint, not trusted).
    pub nrows: Option<u64>,
    /// `DESCRIPTION` child.
    pub description: Option<String>,
    /// `FIELD` children in column order.
    pub fields: Vec<Field>,
    /// `PARAM` children.
    pub params: Vec<Param>,
    /// `GROUP` children.
    pub groups: Vec<Group>,
    /// `LINK` children.
    pub links: Vec<Link>,
    /// `INFO` children (before and after `DATA`).
    pub infos: Vec<Info>,
    /// The serialization of `DATA`, if the table has data.
    pub serialization: Option<Serialization>,
}

impl TableMeta {
    /// The index of the first field whose `name` equals `name` (exact match first,
    /// then ASCII case-insensitive), or whose `ID` equals `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|f| f.name.eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|f| f.id.as_deref() == Some(name))
            })
    }
}

/// A `FIELD` element (and the field part of a `PARAM`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Field {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `name` attribute (required by the standard; empty if missing).
    pub name: String,
    /// `datatype` attribute.
    pub datatype: Datatype,
    /// `arraysize` attribute, parsed.
    pub arraysize: Option<ArraySize>,
    /// `width` attribute.
    pub width: Option<u32>,
    /// `precision` attribute, verbatim (`E3`, `F2`, `5`).
    pub precision: Option<String>,
    /// `unit` attribute.
    pub unit: Option<String>,
    /// `ucd` attribute.
    pub ucd: Option<String>,
    /// `utype` attribute.
    pub utype: Option<String>,
    /// `xtype` attribute (`timestamp`, `circle`, `adql:REGION` ...).
    pub xtype: Option<String>,
    /// `ref` attribute.
    pub ref_: Option<String>,
    /// `DESCRIPTION` child.
    pub description: Option<String>,
    /// `VALUES` child.
    pub values: Option<Values>,
    /// `LINK` children.
    pub links: Vec<Link>,
}

impl Field {
    /// A field with the given name and datatype and no other attributes.
    pub fn new(name: impl Into<String>, datatype: Datatype) -> Self {
        Field {
            id: None,
            name: name.into(),
            datatype,
            arraysize: None,
            width: None,
            precision: None,
            unit: None,
            ucd: None,
            utype: None,
            xtype: None,
            ref_: None,
            description: None,
            values: None,
            links: Vec::new(),
        }
    }

    /// Sets the `arraysize`.
    pub fn with_arraysize(mut self, arraysize: ArraySize) -> Self {
        self.arraysize = Some(arraysize);
        self
    }

    /// The `VALUES/@null` sentinel, if declared.
    pub fn null_value(&self) -> Option<&str> {
        self.values.as_ref().and_then(|v| v.null.as_deref())
    }
}

/// A `PARAM` element: a field with a constant value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Param {
    /// The field-like attributes and children.
    pub field: Field,
    /// The `value` attribute, verbatim.
    pub value: String,
}

/// A `GROUP` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Group {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `name` attribute.
    pub name: Option<String>,
    /// `ref` attribute.
    pub ref_: Option<String>,
    /// `ucd` attribute.
    pub ucd: Option<String>,
    /// `utype` attribute.
    pub utype: Option<String>,
    /// `DESCRIPTION` child.
    pub description: Option<String>,
    /// `PARAM` children.
    pub params: Vec<Param>,
    /// `FIELDref/@ref` values in order.
    pub field_refs: Vec<String>,
    /// `PARAMref/@ref` values in order.
    pub param_refs: Vec<String>,
    /// Nested `GROUP`s.
    pub groups: Vec<Group>,
}

/// A `VALUES` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Values {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `type` attribute (`legal` or `actual`).
    pub values_type: Option<String>,
    /// `null` attribute: the sentinel standing for a null value.
    pub null: Option<String>,
    /// `ref` attribute.
    pub ref_: Option<String>,
    /// `MIN` child.
    pub min: Option<Bound>,
    /// `MAX` child.
    pub max: Option<Bound>,
    /// `OPTION` children (possibly nested).
    pub options: Vec<ValueOption>,
}

/// A `MIN` or `MAX` element.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Bound {
    /// `value` attribute, verbatim.
    pub value: String,
    /// `inclusive` attribute (default `yes`).
    pub inclusive: bool,
}

/// An `OPTION` element.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ValueOption {
    /// `name` attribute.
    pub name: Option<String>,
    /// `value` attribute.
    pub value: String,
    /// Nested `OPTION`s.
    pub options: Vec<ValueOption>,
}

/// An `INFO` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Info {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `name` attribute.
    pub name: String,
    /// `value` attribute.
    pub value: String,
    /// Text content, trimmed; `None` when empty.
    pub content: Option<String>,
    /// `unit` attribute.
    pub unit: Option<String>,
    /// `ucd` attribute.
    pub ucd: Option<String>,
    /// `utype` attribute.
    pub utype: Option<String>,
    /// `xtype` attribute.
    pub xtype: Option<String>,
    /// `ref` attribute.
    pub ref_: Option<String>,
}

/// A `LINK` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Link {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `content-role` attribute.
    pub content_role: Option<String>,
    /// `content-type` attribute.
    pub content_type: Option<String>,
    /// `title` attribute.
    pub title: Option<String>,
    /// `value` attribute.
    pub value: Option<String>,
    /// `href` attribute.
    pub href: Option<String>,
    /// `action` attribute (deprecated but still seen).
    pub action: Option<String>,
}

/// A `COOSYS` element.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CooSys {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `system` attribute (`ICRS`, `eq_FK5` ...).
    pub system: Option<String>,
    /// `equinox` attribute.
    pub equinox: Option<String>,
    /// `epoch` attribute.
    pub epoch: Option<String>,
    /// `refposition` attribute (VOTable 1.4+).
    pub refposition: Option<String>,
}

/// A `TIMESYS` element (VOTable 1.4+).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TimeSys {
    /// `ID` attribute.
    pub id: Option<String>,
    /// `timeorigin` attribute.
    pub timeorigin: Option<String>,
    /// `timescale` attribute.
    pub timescale: Option<String>,
    /// `refposition` attribute.
    pub refposition: Option<String>,
}

/// The outcome a service reports in `INFO name="QUERY_STATUS"` (DALI 1.1, section 4.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum QueryStatus {
    /// `OK`.
    Ok,
    /// `ERROR`, with the server's message (the INFO content, else its value).
    Error(String),
    /// `OVERFLOW`: the result was truncated, e.g. at MAXREC.
    Overflow,
    /// Any other value, kept verbatim.
    Other(String),
}

impl QueryStatus {
    /// Interprets one `INFO name="QUERY_STATUS"` element.
    pub fn from_info(info: &Info) -> QueryStatus {
        match info.value.trim().to_ascii_uppercase().as_str() {
            "OK" => QueryStatus::Ok,
            "OVERFLOW" => QueryStatus::Overflow,
            "ERROR" => QueryStatus::Error(
                info.content
                    .clone()
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| info.value.clone()),
            ),
            _ => QueryStatus::Other(info.value.clone()),
        }
    }
}

impl Resource {
    /// The status of this resource: the last `INFO name="QUERY_STATUS"` wins, wherever
    /// it stands (ESO puts it before the table, DaCHS adds `OVERFLOW` after the data).
    pub fn query_status(&self) -> Option<QueryStatus> {
        let table_infos = self.tables.iter().flat_map(|t| t.infos.iter());
        self.infos
            .iter()
            .chain(table_infos)
            .chain(self.trailing_infos.iter())
            .rfind(|i| i.name.eq_ignore_ascii_case("QUERY_STATUS"))
            .map(QueryStatus::from_info)
    }

    /// Iterates over this resource and every nested resource, depth first.
    pub fn walk(&self) -> impl Iterator<Item = &Resource> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(next.resources.iter().rev());
            Some(next)
        })
    }
}

impl Document {
    /// Iterates over every resource of the document, nested ones included, depth first.
    pub fn all_resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.iter().flat_map(Resource::walk)
    }

    /// The first `type="results"` resource, if any.
    pub fn results_resource(&self) -> Option<&Resource> {
        self.all_resources()
            .find(|r| r.resource_type == ResourceType::Results)
    }

    /// The query status of the results resource: the last `QUERY_STATUS` INFO wins,
    /// falling back to document-level INFOs when the resource has none.
    pub fn query_status(&self) -> Option<QueryStatus> {
        self.results_resource()
            .and_then(Resource::query_status)
            .or_else(|| {
                self.infos
                    .iter()
                    .chain(self.trailing_infos.iter())
                    .rfind(|i| i.name.eq_ignore_ascii_case("QUERY_STATUS"))
                    .map(QueryStatus::from_info)
            })
    }
}
