//! Service descriptors: `RESOURCE type="meta" utype="adhoc:service"` (DataLink 1.1, section 4).
//!
//! A service descriptor tells a client how to call a service about a result row: the
//! `accessURL`, the `standardID`, and the `inputParams` group whose `PARAM`s either take
//! their value from a column of the row (`ref`), carry a value (`value`), or are left to
//! the user, possibly restricted by `VALUES` (`OPTION`, `MIN`, `MAX`).
//! They appear in any VOTable: TAP, SIA and SSA results, and `{links}` responses
//! (where `service_def` points at them by `ID`).
//!
//! This module is pure: it reads [`votable::Document`]s and builds
//! [`http::Request`]s; nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;
use votable::{ArraySize, Bound, Datatype, Document, Param, Resource, ResourceType, Value};

use crate::query::{get_request, post_form_request};
use crate::{Error, Result, Warning};

/// The `standardID` prefix of DataLink `{links}` services (1.0 and 1.1).
pub const DATALINK_LINKS_PREFIX: &str = "ivo://ivoa.net/std/DataLink#links";
/// The `standardID` prefix of SODA services (`#sync-1.0`, `#async-1.0`).
pub const SODA_PREFIX: &str = "ivo://ivoa.net/std/SODA#";

/// One allowed value of an input parameter (`VALUES/OPTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamOption {
    /// The `value` attribute: what is sent.
    pub value: String,
    /// The `name` attribute: a label for humans.
    pub name: Option<String>,
}

/// Where the value of an input parameter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    /// From a column of the result row (`PARAM/@ref`, the FIELD's `ID` or name).
    Row(String),
    /// A value declared by the service (a fixed value or a default the user may override).
    Fixed(String),
    /// Given by the user (optional unless the service says otherwise).
    User,
}

/// One `PARAM` of the `inputParams` group.
#[derive(Debug, Clone, PartialEq)]
pub struct InputParam {
    /// The parameter name, as sent.
    pub name: String,
    /// The declared datatype.
    pub datatype: Datatype,
    /// The declared arraysize.
    pub arraysize: Option<ArraySize>,
    /// The unit.
    pub unit: Option<String>,
    /// The UCD.
    pub ucd: Option<String>,
    /// The xtype (`interval`, `circle`, `polygon`, `timestamp` ...).
    pub xtype: Option<String>,
    /// `ref`: the `ID` (or name) of the results-table FIELD holding the value.
    pub ref_column: Option<String>,
    /// The declared non-empty value (`None` when empty, or when it is an all-zero
    /// numeric array, which is how astropy re-serialises an absent array value).
    pub value: Option<String>,
    /// Allowed values (`VALUES/OPTION`, nested options flattened).
    pub options: Vec<ParamOption>,
    /// `VALUES/MIN`.
    pub min: Option<Bound>,
    /// `VALUES/MAX`.
    pub max: Option<Bound>,
    /// `DESCRIPTION`.
    pub description: Option<String>,
}

/// A service descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDescriptor {
    /// The `RESOURCE/@ID` (what a links row's `service_def` refers to).
    pub id: Option<String>,
    /// The `RESOURCE/@name`.
    pub name: Option<String>,
    /// `DESCRIPTION`.
    pub description: Option<String>,
    /// `standardID`, e.g. `ivo://ivoa.net/std/SODA#sync-1.0`.
    pub standard_id: Option<String>,
    /// `accessURL`: where to send the request.
    pub access_url: Option<String>,
    /// `resourceIdentifier`: the registry identifier of the service.
    pub resource_identifier: Option<String>,
    /// `contentType` of the response.
    pub content_type: Option<String>,
    /// The `inputParams` group, in document order.
    pub input_params: Vec<InputParam>,
}

/// The values a request takes from one result row, by FIELD `ID` or name.
pub trait RowSource {
    /// The value of the column `reference` refers to.
    fn lookup(&self, reference: &str) -> RowLookup;
}

/// The outcome of [`RowSource::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowLookup {
    /// No such column in the results table.
    NoSuchColumn,
    /// The column exists and the cell is null.
    Null,
    /// The cell, as query text.
    Value(String),
}

/// No row at all (descriptors whose parameters are all fixed or given by the user).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRow;

impl RowSource for NoRow {
    fn lookup(&self, _reference: &str) -> RowLookup {
        RowLookup::NoSuchColumn
    }
}

impl RowSource for BTreeMap<String, String> {
    fn lookup(&self, reference: &str) -> RowLookup {
        match self.get(reference) {
            Some(v) => RowLookup::Value(v.clone()),
            None => RowLookup::NoSuchColumn,
        }
    }
}

/// One row of an in-memory table as a [`RowSource`]: `ref` is matched against
/// FIELD `ID`s first, then names.
#[derive(Debug, Clone, Copy)]
pub struct TableRow<'a> {
    /// The results table.
    pub table: &'a votable::Table,
    /// The row index.
    pub row: usize,
}

impl RowSource for TableRow<'_> {
    fn lookup(&self, reference: &str) -> RowLookup {
        let meta = self.table.meta();
        let col = meta
            .fields
            .iter()
            .position(|f| f.id.as_deref() == Some(reference))
            .or_else(|| meta.field_index(reference));
        match col {
            None => RowLookup::NoSuchColumn,
            Some(col) => match value_to_text(&self.table.value(self.row, col)) {
                Some(text) => RowLookup::Value(text),
                None => RowLookup::Null,
            },
        }
    }
}

/// A cell as query text: strings verbatim, numbers in their shortest exact form,
/// arrays space-separated (DALI); `None` for null or empty cells.
pub fn value_to_text(value: &Value) -> Option<String> {
    fn join<T: fmt::Display>(items: &[T]) -> String {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
    let text = match value {
        Value::Null => return None,
        Value::Boolean(b) => b.to_string(),
        Value::UnsignedByte(v) => v.to_string(),
        Value::Short(v) => v.to_string(),
        Value::Int(v) => v.to_string(),
        Value::Long(v) => v.to_string(),
        Value::Float(v) if v.is_nan() => return None,
        Value::Double(v) if v.is_nan() => return None,
        Value::Float(v) => v.to_string(),
        Value::Double(v) => v.to_string(),
        Value::FloatComplex(a, b) => format!("{a} {b}"),
        Value::DoubleComplex(a, b) => format!("{a} {b}"),
        Value::String(s) => s.clone(),
        Value::BooleanArray(v) => v
            .iter()
            .map(|b| match b {
                Some(true) => "T",
                Some(false) => "F",
                None => "?",
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::BitArray(v) => v.iter().map(|b| if *b { "1" } else { "0" }).collect(),
        Value::UnsignedByteArray(v) => join(v),
        Value::ShortArray(v) => join(v),
        Value::IntArray(v) => join(v),
        Value::LongArray(v) => join(v),
        Value::FloatArray(v) => join(v),
        Value::DoubleArray(v) => join(v),
        Value::FloatComplexArray(v) => v
            .iter()
            .map(|(a, b)| format!("{a} {b}"))
            .collect::<Vec<_>>()
            .join(" "),
        Value::DoubleComplexArray(v) => v
            .iter()
            .map(|(a, b)| format!("{a} {b}"))
            .collect::<Vec<_>>()
            .join(" "),
    };
    if text.trim().is_empty() {
        None
    } else {
        Some(text)
    }
}

/// Every service descriptor of a document, nested resources included, in document
/// order, with warnings about descriptors that cannot be called.
pub fn descriptors(document: &Document) -> (Vec<ServiceDescriptor>, Vec<Warning>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for resource in document.all_resources() {
        if let Some(desc) = ServiceDescriptor::from_resource(resource) {
            if desc.access_url.is_none() {
                warnings.push(Warning::DescriptorWithoutAccessUrl {
                    descriptor: desc.label(),
                });
            }
            out.push(desc);
        }
    }
    (out, warnings)
}

/// The first DataLink `{links}` descriptor of a document (pyvo's `getdatalink`).
pub fn find_datalink(descriptors: &[ServiceDescriptor]) -> Option<&ServiceDescriptor> {
    descriptors.iter().find(|d| d.is_datalink())
}

fn flatten_options(options: &[votable::ValueOption], out: &mut Vec<ParamOption>, depth: usize) {
    for opt in options {
        out.push(ParamOption {
            value: opt.value.clone(),
            name: opt.name.clone(),
        });
        if depth < 8 {
            flatten_options(&opt.options, out, depth + 1);
        }
    }
}

fn is_numeric(datatype: Datatype) -> bool {
    matches!(
        datatype,
        Datatype::UnsignedByte
            | Datatype::Short
            | Datatype::Int
            | Datatype::Long
            | Datatype::Float
            | Datatype::Double
    )
}

impl InputParam {
    /// Reads one `PARAM` of an `inputParams` group.
    pub fn from_param(param: &Param) -> InputParam {
        let field = &param.field;
        let mut options = Vec::new();
        let (min, max) = match &field.values {
            Some(values) => {
                flatten_options(&values.options, &mut options, 0);
                (values.min.clone(), values.max.clone())
            }
            None => (None, None),
        };
        let raw = param.value.trim();
        // astropy writes zeros for an array PARAM without a value (the ESO sample's
        // `CIRCLE value="0 0 0"`); pyvo ignores such values, and so do we.
        let zero_array = is_numeric(field.datatype)
            && raw.split_whitespace().count() > 1
            && raw
                .split_whitespace()
                .all(|t| t.parse::<f64>().is_ok_and(|v| v == 0.0));
        InputParam {
            name: field.name.clone(),
            datatype: field.datatype,
            arraysize: field.arraysize.clone(),
            unit: field.unit.clone(),
            ucd: field.ucd.clone(),
            xtype: field.xtype.clone(),
            ref_column: field.ref_.clone().filter(|r| !r.trim().is_empty()),
            value: (!raw.is_empty() && !zero_array).then(|| raw.to_owned()),
            options,
            min,
            max,
            description: field.description.clone(),
        }
    }

    /// Where the value comes from when the user gives none.
    pub fn source(&self) -> ParamSource {
        if let Some(col) = &self.ref_column {
            ParamSource::Row(col.clone())
        } else if let Some(value) = &self.value {
            ParamSource::Fixed(value.clone())
        } else {
            ParamSource::User
        }
    }

    /// Checks a user value against the declared datatype, arraysize, options and bounds.
    ///
    /// Numeric intervals (`xtype="interval"`) must overlap `[MIN, MAX]`; circles and
    /// polygons must overlap the region given as `MAX` (how DaCHS and ESO declare
    /// the footprint of a dataset), tested on bounding circles.
    ///
    /// # Errors
    /// [`Error::InvalidOption`], [`Error::InvalidValue`] or [`Error::OutOfBounds`].
    pub fn check(&self, value: &str) -> Result<()> {
        if !self.options.is_empty() && !self.options.iter().any(|o| o.value == value) {
            return Err(Error::InvalidOption {
                param: self.name.clone(),
                value: value.to_owned(),
                allowed: self.options.iter().map(|o| o.value.clone()).collect(),
            });
        }
        if !is_numeric(self.datatype) {
            return Ok(());
        }
        let invalid = |reason: String| Error::InvalidValue {
            param: self.name.clone(),
            value: value.to_owned(),
            reason,
        };
        let numbers = parse_numbers(value).map_err(invalid)?;
        let xtype = self.xtype.as_deref().map(str::to_ascii_lowercase);
        match xtype.as_deref() {
            Some("interval") => {
                let [lo, hi] = numbers[..] else {
                    return Err(invalid("an interval needs two numbers".into()));
                };
                if lo > hi {
                    return Err(invalid("the lower limit exceeds the upper limit".into()));
                }
                let min = self
                    .bound_numbers(&self.min)
                    .and_then(|v| v.first().copied());
                let max = self
                    .bound_numbers(&self.max)
                    .and_then(|v| v.last().copied());
                if min.is_some_and(|m| hi < m) || max.is_some_and(|m| lo > m) {
                    return Err(self.out_of_bounds(value));
                }
                Ok(())
            }
            Some("circle") => {
                let region = geometry::Cap::circle(&numbers).map_err(invalid)?;
                self.check_region(value, &region)
            }
            Some("polygon") => {
                let region = geometry::Cap::polygon(&numbers).map_err(invalid)?;
                self.check_region(value, &region)
            }
            _ => {
                if let Some(n) = self.arraysize.as_ref().and_then(ArraySize::fixed_len) {
                    if usize::try_from(n).ok() != Some(numbers.len()) {
                        return Err(invalid(format!(
                            "expected {n} number(s), got {}",
                            numbers.len()
                        )));
                    }
                } else if self.arraysize.is_none() && numbers.len() != 1 {
                    return Err(invalid("expected one number".into()));
                }
                let min = self.bound_numbers(&self.min).filter(|v| v.len() == 1);
                let max = self.bound_numbers(&self.max).filter(|v| v.len() == 1);
                for n in &numbers {
                    if let (Some(m), Some(b)) = (min.as_ref(), self.min.as_ref()) {
                        if *n < m[0] || (!b.inclusive && *n == m[0]) {
                            return Err(self.out_of_bounds(value));
                        }
                    }
                    if let (Some(m), Some(b)) = (max.as_ref(), self.max.as_ref()) {
                        if *n > m[0] || (!b.inclusive && *n == m[0]) {
                            return Err(self.out_of_bounds(value));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn check_region(&self, value: &str, region: &geometry::Cap) -> Result<()> {
        let Some(numbers) = self.bound_numbers(&self.max) else {
            return Ok(());
        };
        let declared = match self
            .xtype
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("circle") => geometry::Cap::circle(&numbers),
            _ => geometry::Cap::polygon(&numbers),
        };
        match declared {
            Ok(declared) if !declared.overlaps(region) => Err(self.out_of_bounds(value)),
            // A malformed declared bound is the service's problem, not the user's.
            _ => Ok(()),
        }
    }

    fn bound_numbers(&self, bound: &Option<Bound>) -> Option<Vec<f64>> {
        bound.as_ref().and_then(|b| parse_numbers(&b.value).ok())
    }

    fn out_of_bounds(&self, value: &str) -> Error {
        Error::OutOfBounds {
            param: self.name.clone(),
            value: value.to_owned(),
            min: self.min.as_ref().map(|b| b.value.clone()),
            max: self.max.as_ref().map(|b| b.value.clone()),
        }
    }
}

fn parse_numbers(text: &str) -> std::result::Result<Vec<f64>, String> {
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("{t:?} is not a number"))
        })
        .collect::<std::result::Result<_, _>>()?;
    if numbers.is_empty() {
        return Err("no number given".into());
    }
    Ok(numbers)
}

/// How a request's parameters are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// GET with a query string (what every service supports; DaCHS's SODA only takes GET).
    #[default]
    Get,
    /// POST with a form body (DataLink and SODA allow it; useful for long ID lists).
    PostForm,
}

impl ServiceDescriptor {
    /// Reads a descriptor from a `RESOURCE type="meta" utype="adhoc:service"`;
    /// `None` for any other resource.
    pub fn from_resource(resource: &Resource) -> Option<ServiceDescriptor> {
        let is_service = resource.resource_type == ResourceType::Meta
            && resource
                .utype
                .as_deref()
                .is_some_and(|u| u.trim().eq_ignore_ascii_case("adhoc:service"));
        if !is_service {
            return None;
        }
        let param = |name: &str| {
            resource
                .params
                .iter()
                .find(|p| p.field.name == name)
                .map(|p| p.value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut input_params = Vec::new();
        for group in &resource.groups {
            if group.name.as_deref() == Some("inputParams") {
                input_params.extend(group.params.iter().map(InputParam::from_param));
                for nested in &group.groups {
                    input_params.extend(nested.params.iter().map(InputParam::from_param));
                }
            }
        }
        Some(ServiceDescriptor {
            id: resource.id.clone(),
            name: resource.name.clone(),
            description: resource.description.clone(),
            standard_id: param("standardID"),
            access_url: param("accessURL"),
            resource_identifier: param("resourceIdentifier"),
            content_type: param("contentType"),
            input_params,
        })
    }

    /// `ID`, else `name`, else the standardID: how messages refer to the descriptor.
    pub fn label(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.name.clone())
            .or_else(|| self.standard_id.clone())
            .unwrap_or_else(|| "(unnamed service)".to_owned())
    }

    /// Whether this is a DataLink `{links}` service (`#links-1.0` or `#links-1.1`).
    pub fn is_datalink(&self) -> bool {
        self.standard_id.as_deref().is_some_and(|s| {
            s.trim()
                .to_ascii_lowercase()
                .starts_with(&DATALINK_LINKS_PREFIX.to_ascii_lowercase())
        })
    }

    /// Whether this is a SODA service.
    pub fn is_soda(&self) -> bool {
        self.standard_id.as_deref().is_some_and(|s| {
            s.trim()
                .to_ascii_lowercase()
                .starts_with(&SODA_PREFIX.to_ascii_lowercase())
        })
    }

    /// The input parameter called `name` (ASCII case-insensitive, as DALI names are).
    pub fn param(&self, name: &str) -> Option<&InputParam> {
        self.input_params
            .iter()
            .find(|p| p.name == name)
            .or_else(|| {
                self.input_params
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
            })
    }

    /// The parameters with their sources, options and bounds, for display.
    pub fn describe(&self) -> Vec<ParamDescription> {
        self.input_params
            .iter()
            .map(|p| ParamDescription {
                name: p.name.clone(),
                datatype: match &p.arraysize {
                    Some(a) => format!("{}[{a}]", p.datatype.as_str()),
                    None => p.datatype.as_str().to_owned(),
                },
                unit: p.unit.clone(),
                xtype: p.xtype.clone(),
                source: p.source(),
                options: p.options.clone(),
                min: p.min.as_ref().map(|b| b.value.clone()),
                max: p.max.as_ref().map(|b| b.value.clone()),
                description: p
                    .description
                    .as_ref()
                    .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")),
            })
            .collect()
    }

    /// The access URL, checked to be `http`/`https`.
    ///
    /// # Errors
    /// [`Error::NoAccessUrl`], [`Error::InvalidUrl`] or [`Error::UnsafeUrl`].
    pub fn access_url(&self) -> Result<Url> {
        let text = self
            .access_url
            .as_deref()
            .ok_or_else(|| Error::NoAccessUrl {
                descriptor: self.label(),
            })?;
        crate::query::checked_http_url(text)
    }

    /// The parameters of a call for one row, in declaration order, user values last
    /// for names the descriptor does not fix.
    ///
    /// For each declared parameter: a user value wins (checked against options and
    /// bounds; repeated names are repeated), else the row's `ref` column, else the
    /// declared value; otherwise it is left out.
    ///
    /// # Errors
    /// [`Error::UnknownParam`] for a user parameter the descriptor does not declare,
    /// [`Error::MissingRefColumn`] / [`Error::NullRefValue`] when the row cannot
    /// supply a `ref` value, and the errors of [`InputParam::check`].
    pub fn params_for(
        &self,
        row: &dyn RowSource,
        user: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        for (name, _) in user {
            if self.param(name).is_none() {
                return Err(Error::UnknownParam {
                    param: name.clone(),
                    descriptor: self.label(),
                    declared: self.input_params.iter().map(|p| p.name.clone()).collect(),
                });
            }
        }
        let mut out = Vec::new();
        for param in &self.input_params {
            let given: Vec<&String> = user
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(&param.name))
                .map(|(_, v)| v)
                .collect();
            if !given.is_empty() {
                for value in given {
                    param.check(value)?;
                    out.push((param.name.clone(), value.clone()));
                }
                continue;
            }
            match param.source() {
                ParamSource::Row(column) => match row.lookup(&column) {
                    RowLookup::Value(v) => out.push((param.name.clone(), v)),
                    RowLookup::Null => {
                        return Err(Error::NullRefValue {
                            param: param.name.clone(),
                            column,
                        });
                    }
                    RowLookup::NoSuchColumn => {
                        return Err(Error::MissingRefColumn {
                            param: param.name.clone(),
                            column,
                        });
                    }
                },
                ParamSource::Fixed(v) => out.push((param.name.clone(), v)),
                ParamSource::User => {}
            }
        }
        Ok(out)
    }

    /// A GET request for one row (see [`ServiceDescriptor::params_for`]).
    ///
    /// # Errors
    /// Those of [`ServiceDescriptor::params_for`] and [`ServiceDescriptor::access_url`].
    pub fn request_for(
        &self,
        row: &dyn RowSource,
        user: &[(String, String)],
    ) -> Result<http::Request<Vec<u8>>> {
        let params = self.params_for(row, user)?;
        get_request(&self.access_url()?, &params)
    }

    /// A GET request for row `row` of `table`.
    ///
    /// # Errors
    /// [`Error::RowOutOfRange`], and those of [`ServiceDescriptor::request_for`].
    pub fn request_for_row(
        &self,
        table: &votable::Table,
        row: usize,
        user: &[(String, String)],
    ) -> Result<http::Request<Vec<u8>>> {
        if row >= table.nrows() {
            return Err(Error::RowOutOfRange {
                row,
                nrows: table.nrows(),
            });
        }
        self.request_for(&TableRow { table, row }, user)
    }

    /// Requests for many rows, batched: the one `ref` parameter (e.g. `ID`) is repeated
    /// for up to `config.batch_size` rows per request (DataLink 1.1 section 3.1), other
    /// parameters are sent once.
    /// A descriptor with several `ref` parameters cannot be batched: one request per row.
    /// Null `ref` cells are skipped and reported as warnings.
    ///
    /// # Errors
    /// As [`ServiceDescriptor::request_for`].
    pub fn batch_requests(
        &self,
        table: &votable::Table,
        rows: &[usize],
        user: &[(String, String)],
        config: &BatchConfig,
    ) -> Result<(Vec<BatchRequest>, Vec<Warning>)> {
        let rows: Vec<usize> = rows.to_vec();
        let ref_params: Vec<&InputParam> = self
            .input_params
            .iter()
            .filter(|p| {
                p.ref_column.is_some() && !user.iter().any(|(n, _)| n.eq_ignore_ascii_case(&p.name))
            })
            .collect();
        let mut warnings = Vec::new();
        let mut out = Vec::new();
        if ref_params.len() != 1 {
            for row in rows {
                let request = self.request_for_row(table, row, user)?;
                out.push(BatchRequest {
                    id_param: None,
                    ids: Vec::new(),
                    rows: vec![row],
                    request,
                });
            }
            return Ok((out, warnings));
        }
        let id_param = ref_params[0];
        // The constant part: everything but the ref parameter.
        let constant: Vec<(String, String)> = self
            .params_for(&RefPlaceholder(&id_param.name), user)?
            .into_iter()
            .filter(|(n, _)| n != &id_param.name)
            .collect();
        let mut ids: Vec<(usize, String)> = Vec::new();
        for row in rows {
            if row >= table.nrows() {
                return Err(Error::RowOutOfRange {
                    row,
                    nrows: table.nrows(),
                });
            }
            let column = id_param.ref_column.clone().unwrap_or_default();
            match (TableRow { table, row }).lookup(&column) {
                RowLookup::Value(v) => ids.push((row, v)),
                RowLookup::Null => warnings.push(Warning::NullRefValue {
                    row,
                    param: id_param.name.clone(),
                    column,
                }),
                RowLookup::NoSuchColumn => {
                    return Err(Error::MissingRefColumn {
                        param: id_param.name.clone(),
                        column,
                    });
                }
            }
        }
        let url = self.access_url()?;
        for chunk in ids.chunks(config.batch_size.max(1)) {
            let mut params = constant.clone();
            params.extend(
                chunk
                    .iter()
                    .map(|(_, id)| (id_param.name.clone(), id.clone())),
            );
            let request = build(&url, &params, config)?;
            out.push(BatchRequest {
                id_param: Some(id_param.name.clone()),
                ids: chunk.iter().map(|(_, id)| id.clone()).collect(),
                rows: chunk.iter().map(|(r, _)| *r).collect(),
                request,
            });
        }
        Ok((out, warnings))
    }
}

/// A row source answering every lookup with a placeholder: used to compute the
/// constant part of a batch, from which the one `ref` parameter is then removed.
struct RefPlaceholder<'a>(&'a str);

impl RowSource for RefPlaceholder<'_> {
    fn lookup(&self, _reference: &str) -> RowLookup {
        RowLookup::Value(self.0.to_owned())
    }
}

/// Batching of repeated-ID requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// IDs per request (default 50).
    pub batch_size: usize,
    /// Above this URL length a batch is sent as a POST form (default 2000 characters).
    pub max_get_url_len: usize,
    /// Force a method instead of choosing by length.
    pub method: Option<Method>,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            batch_size: 50,
            max_get_url_len: 2000,
            method: None,
        }
    }
}

/// One request of a batch and the IDs (and rows) it covers.
#[derive(Debug)]
pub struct BatchRequest {
    /// The name of the repeated parameter (`ID`), if the request is batched by ID.
    pub id_param: Option<String>,
    /// The IDs sent in this request (empty when the request was not batched by ID).
    pub ids: Vec<String>,
    /// The rows of the results table they came from (empty for plain ID lists).
    pub rows: Vec<usize>,
    /// The request.
    pub request: http::Request<Vec<u8>>,
}

impl BatchRequest {
    /// The same request for one of its IDs only (other parameters unchanged), e.g. to
    /// ask again for an ID the batched answer left out: DaCHS's ObsCore DataLink
    /// service redirects a batch to the collection of its first ID only.
    ///
    /// # Errors
    /// [`Error::Request`] if the request cannot be rebuilt.
    pub fn single(&self, id: &str) -> Result<http::Request<Vec<u8>>> {
        let bad = |reason: &str| Error::Request {
            url: self.request.uri().to_string(),
            reason: reason.to_owned(),
        };
        let id_param = self
            .id_param
            .as_deref()
            .ok_or_else(|| bad("not batched by ID"))?;
        let mut url =
            Url::parse(&self.request.uri().to_string()).map_err(|e| bad(&e.to_string()))?;
        let keep = |pairs: Vec<(String, String)>| -> Vec<(String, String)> {
            pairs
                .into_iter()
                .filter(|(n, v)| n != id_param || v == id)
                .collect()
        };
        if self.request.method() == http::Method::POST {
            let pairs = url::form_urlencoded::parse(self.request.body())
                .into_owned()
                .collect();
            post_form_request(&url, &keep(pairs))
        } else {
            let pairs = url.query_pairs().into_owned().collect();
            url.set_query(None);
            get_request(&url, &keep(pairs))
        }
    }
}

pub(crate) fn build(
    url: &Url,
    params: &[(String, String)],
    config: &BatchConfig,
) -> Result<http::Request<Vec<u8>>> {
    let method = config.method.unwrap_or_else(|| {
        let len = crate::query::url_with_params(url, params).as_str().len();
        if len > config.max_get_url_len {
            Method::PostForm
        } else {
            Method::Get
        }
    });
    match method {
        Method::Get => get_request(url, params),
        Method::PostForm => post_form_request(url, params),
    }
}

/// One parameter of [`ServiceDescriptor::describe`], ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDescription {
    /// Name.
    pub name: String,
    /// Datatype with arraysize, e.g. `double[3]`.
    pub datatype: String,
    /// Unit.
    pub unit: Option<String>,
    /// xtype.
    pub xtype: Option<String>,
    /// Where the value comes from.
    pub source: ParamSource,
    /// Allowed values.
    pub options: Vec<ParamOption>,
    /// `MIN` as declared.
    pub min: Option<String>,
    /// `MAX` as declared.
    pub max: Option<String>,
    /// Description, white space collapsed.
    pub description: Option<String>,
}

/// Bounding circles on the sphere, for overlap tests between regions.
mod geometry {
    /// A spherical cap: a unit vector and an angular radius in radians.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Cap {
        center: [f64; 3],
        radius: f64,
    }

    fn unit(ra_deg: f64, dec_deg: f64) -> [f64; 3] {
        let (ra, dec) = (ra_deg.to_radians(), dec_deg.to_radians());
        [dec.cos() * ra.cos(), dec.cos() * ra.sin(), dec.sin()]
    }

    fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
        let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        dot.clamp(-1.0, 1.0).acos()
    }

    fn check_position(ra: f64, dec: f64) -> Result<(), String> {
        if !ra.is_finite() || !dec.is_finite() {
            return Err("coordinates must be finite".into());
        }
        if !(-90.0..=90.0).contains(&dec) {
            return Err(format!("declination {dec} is outside [-90, 90]"));
        }
        Ok(())
    }

    impl Cap {
        /// From `ra dec radius` in degrees.
        pub(crate) fn circle(numbers: &[f64]) -> Result<Cap, String> {
            let [ra, dec, radius] = numbers[..] else {
                return Err("a circle needs three numbers: ra dec radius".into());
            };
            check_position(ra, dec)?;
            if !(radius.is_finite() && radius > 0.0 && radius <= 180.0) {
                return Err(format!("radius {radius} must be in (0, 180]"));
            }
            Ok(Cap {
                center: unit(ra, dec),
                radius: radius.to_radians(),
            })
        }

        /// From `ra1 dec1 ra2 dec2 ...` in degrees: the cap around the vertices.
        pub(crate) fn polygon(numbers: &[f64]) -> Result<Cap, String> {
            if numbers.len() < 6 || numbers.len() % 2 != 0 {
                return Err("a polygon needs at least three ra dec pairs".into());
            }
            let mut vertices = Vec::with_capacity(numbers.len() / 2);
            for pair in numbers.chunks_exact(2) {
                check_position(pair[0], pair[1])?;
                vertices.push(unit(pair[0], pair[1]));
            }
            let mut sum = [0.0; 3];
            for v in &vertices {
                for i in 0..3 {
                    sum[i] += v[i];
                }
            }
            let norm = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
            if norm < 1e-9 {
                // Vertices spread around the sphere: treat as the whole sky.
                return Ok(Cap {
                    center: [0.0, 0.0, 1.0],
                    radius: std::f64::consts::PI,
                });
            }
            let center = [sum[0] / norm, sum[1] / norm, sum[2] / norm];
            let radius = vertices
                .iter()
                .map(|v| angle(center, *v))
                .fold(0.0_f64, f64::max);
            Ok(Cap { center, radius })
        }

        /// From an RA interval and a Dec interval in degrees.
        pub(crate) fn range(ra: (f64, f64), dec: (f64, f64)) -> Result<Cap, String> {
            Cap::polygon(&[ra.0, dec.0, ra.1, dec.0, ra.1, dec.1, ra.0, dec.1])
        }

        /// Whether the two caps intersect (with a little slack for rounding).
        pub(crate) fn overlaps(&self, other: &Cap) -> bool {
            angle(self.center, other.center) <= self.radius + other.radius + 1e-9
        }
    }
}

pub(crate) use geometry::Cap;

#[cfg(test)]
mod tests {
    use super::*;
    use votable::{Field, Group, ValueOption, Values};

    fn param(name: &str, datatype: Datatype, value: &str) -> Param {
        Param {
            field: Field::new(name, datatype),
            value: value.to_owned(),
        }
    }

    fn heasarc_descriptor() -> ServiceDescriptor {
        let mut id = param("id", Datatype::Char, "");
        id.field.ref_ = Some("DataLinkID".into());
        let mut source = param("source", Datatype::Char, "main-server");
        source.field.values = Some(Values {
            options: ["main-server", "aws:us-east1", "aws:us-east2", "gc"]
                .iter()
                .map(|v| ValueOption {
                    name: None,
                    value: (*v).to_owned(),
                    options: vec![],
                })
                .collect(),
            ..Values::default()
        });
        let resource = Resource {
            resource_type: ResourceType::Meta,
            utype: Some("adhoc:service".into()),
            params: vec![
                param(
                    "standardID",
                    Datatype::Char,
                    "ivo://ivoa.net/std/DataLink#links-1.0",
                ),
                param(
                    "accessURL",
                    Datatype::Char,
                    "http://localhost:8080/xamin/vo/datalink/chanmaster",
                ),
            ],
            groups: vec![Group {
                name: Some("inputParams".into()),
                params: vec![id, source],
                ..Group::default()
            }],
            ..Resource::default()
        };
        ServiceDescriptor::from_resource(&resource).unwrap()
    }

    fn row() -> BTreeMap<String, String> {
        BTreeMap::from([("DataLinkID".to_owned(), "18244:chandra.obs.img".to_owned())])
    }

    #[test]
    fn source_option_is_checked_and_sent() {
        let desc = heasarc_descriptor();
        assert!(desc.is_datalink());
        let req = desc
            .request_for(&row(), &[("source".into(), "aws:us-east1".into())])
            .unwrap();
        assert_eq!(
            req.uri().to_string(),
            "http://localhost:8080/xamin/vo/datalink/chanmaster?id=18244:chandra.obs.img&source=aws:us-east1"
        );
        let default = desc.request_for(&row(), &[]).unwrap();
        assert!(default.uri().to_string().ends_with("&source=main-server"));
        let err = desc
            .request_for(&row(), &[("source".into(), "azure".into())])
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { ref allowed, .. } if allowed.len() == 4),
            "{err}"
        );
        let err = desc
            .request_for(&row(), &[("sauce".into(), "gc".into())])
            .unwrap_err();
        assert!(matches!(err, Error::UnknownParam { .. }), "{err}");
        let err = desc.request_for(&NoRow, &[]).unwrap_err();
        assert!(matches!(err, Error::MissingRefColumn { .. }), "{err}");
    }

    #[test]
    fn bounds_are_checked() {
        let mut scale = param("SCALE", Datatype::Int, "");
        scale.field.values = Some(Values {
            min: Some(Bound {
                value: "2".into(),
                inclusive: true,
            }),
            max: Some(Bound {
                value: "32".into(),
                inclusive: true,
            }),
            ..Values::default()
        });
        let scale = InputParam::from_param(&scale);
        assert!(scale.check("2").is_ok());
        assert!(matches!(scale.check("33"), Err(Error::OutOfBounds { .. })));
        assert!(matches!(scale.check("x"), Err(Error::InvalidValue { .. })));

        let mut band = param("BAND", Datatype::Double, "");
        band.field.arraysize = Some("2".parse().unwrap());
        band.field.xtype = Some("interval".into());
        band.field.values = Some(Values {
            min: Some(Bound {
                value: "5e-07".into(),
                inclusive: true,
            }),
            max: Some(Bound {
                value: "5.29e-07".into(),
                inclusive: true,
            }),
            ..Values::default()
        });
        let band = InputParam::from_param(&band);
        assert!(band.check("5.1e-7 6e-7").is_ok());
        assert!(matches!(
            band.check("6e-7 7e-7"),
            Err(Error::OutOfBounds { .. })
        ));
        assert!(matches!(
            band.check("6e-7 5e-7"),
            Err(Error::InvalidValue { .. })
        ));

        let mut circle = param("CIRCLE", Datatype::Double, "0 0 0");
        circle.field.xtype = Some("circle".into());
        circle.field.values = Some(Values {
            max: Some(Bound {
                value: "88.7929375 7.40706500029762 0.002048".into(),
                inclusive: true,
            }),
            ..Values::default()
        });
        let circle = InputParam::from_param(&circle);
        assert_eq!(
            circle.value, None,
            "astropy's zero-filled value is not a value"
        );
        assert!(circle.check("88.793 7.407 0.001").is_ok());
        assert!(matches!(
            circle.check("10 10 0.001"),
            Err(Error::OutOfBounds { .. })
        ));
        assert!(matches!(
            circle.check("10 95 0.001"),
            Err(Error::InvalidValue { .. })
        ));
    }

    #[test]
    fn numbers_render_shortest() {
        assert_eq!(value_to_text(&Value::Double(0.1)).unwrap(), "0.1");
        assert_eq!(
            value_to_text(&Value::DoubleArray(vec![1.0, 2.5])).unwrap(),
            "1 2.5"
        );
        assert_eq!(value_to_text(&Value::String("  ".into())), None);
        assert_eq!(value_to_text(&Value::Double(f64::NAN)), None);
    }
}
