//! `eso votable info` and `eso votable convert`: local files, streaming.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use votable::{Document, QueryStatus, Reader, Row, Serialization};

use crate::args::ConvertTo;
use crate::cmd::render;
use crate::output::{self, Style};

fn open_input(path: &Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
    if path == Path::new("-") {
        Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())))
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
    }
}

/// One table as `eso votable info` reports it.
#[derive(Debug, Serialize)]
struct TableInfo {
    resource: String,
    name: Option<String>,
    serialization: Option<&'static str>,
    rows: u64,
    fields: Vec<FieldInfo>,
}

#[derive(Debug, Serialize)]
struct FieldInfo {
    name: String,
    datatype: &'static str,
    arraysize: Option<String>,
    unit: Option<String>,
    ucd: Option<String>,
}

#[derive(Debug, Serialize)]
struct Info {
    version: Option<String>,
    resources: Vec<ResourceInfo>,
    tables: Vec<TableInfo>,
    query_status: Option<String>,
    query_status_message: Option<String>,
}

#[derive(Debug, Serialize)]
struct ResourceInfo {
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    resource_type: String,
    utype: Option<String>,
    tables: usize,
    params: usize,
}

fn status_parts(status: Option<&QueryStatus>) -> (Option<String>, Option<String>) {
    match status {
        None => (None, None),
        Some(QueryStatus::Ok) => (Some("OK".into()), None),
        Some(QueryStatus::Overflow) => (Some("OVERFLOW".into()), None),
        Some(QueryStatus::Error(message)) => (Some("ERROR".into()), Some(message.clone())),
        Some(QueryStatus::Other(other)) => (Some(other.clone()), None),
    }
}

/// Reads the whole file once, counting rows per table without keeping them.
fn collect_info<R: BufRead>(mut reader: Reader<R>) -> anyhow::Result<Info> {
    let mut tables = Vec::new();
    let mut row = Row::new();
    let mut more = reader.table().is_some();
    while more {
        let mut n_rows = 0u64;
        while reader.read_row(&mut row)? {
            n_rows += 1;
        }
        if let Some(meta) = reader.table() {
            tables.push(TableInfo {
                resource: String::new(),
                name: meta.name.clone().or_else(|| meta.id.clone()),
                serialization: meta.serialization.map(Serialization::as_str),
                rows: n_rows,
                fields: meta
                    .fields
                    .iter()
                    .map(|f| FieldInfo {
                        name: f.name.clone(),
                        datatype: f.datatype.as_str(),
                        arraysize: f.arraysize.as_ref().map(ToString::to_string),
                        unit: f.unit.clone(),
                        ucd: f.ucd.clone(),
                    })
                    .collect(),
            });
        }
        more = reader.next_table()?;
    }
    let document: Document = reader.finish()?;
    let (query_status, query_status_message) = status_parts(document.query_status().as_ref());
    let resources = document
        .all_resources()
        .map(|r| ResourceInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            resource_type: r.resource_type.as_str().to_owned(),
            utype: r.utype.clone(),
            tables: r.tables.len(),
            params: r.params.len(),
        })
        .collect();
    Ok(Info {
        version: document.version.clone(),
        resources,
        tables,
        query_status,
        query_status_message,
    })
}

fn render_info(style: &Style, info: &Info) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "VOTable {}",
        info.version.as_deref().unwrap_or("(no version)")
    );
    if let Some(status) = &info.query_status {
        let message = info
            .query_status_message
            .as_deref()
            .map(|m| format!(": {}", output::escape(m)))
            .unwrap_or_default();
        let line = format!("query status: {status}{message}");
        let _ = writeln!(
            out,
            "{}",
            if status == "OK" {
                line
            } else {
                style.warn(&line)
            }
        );
    }
    let _ = writeln!(out, "resources: {}", info.resources.len());
    for r in &info.resources {
        let _ = writeln!(
            out,
            "  - type={} {}{}tables={} params={}",
            r.resource_type,
            r.id.as_deref()
                .map(|i| format!("ID={} ", output::escape_cell(i)))
                .unwrap_or_default(),
            r.utype
                .as_deref()
                .map(|u| format!("utype={} ", output::escape_cell(u)))
                .unwrap_or_default(),
            r.tables,
            r.params
        );
    }
    for (i, t) in info.tables.iter().enumerate() {
        let _ = writeln!(
            out,
            "\ntable {}{}: {} rows, {} fields, {}",
            i + 1,
            t.name
                .as_deref()
                .map(|name| format!(" {}", output::escape_cell(name)))
                .unwrap_or_default(),
            t.rows,
            t.fields.len(),
            t.serialization.unwrap_or("no data")
        );
        let header: Vec<String> = ["name", "datatype", "arraysize", "unit", "ucd"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let rows: Vec<Vec<String>> = t
            .fields
            .iter()
            .map(|f| {
                vec![
                    output::escape_cell(&f.name),
                    f.datatype.to_owned(),
                    f.arraysize.clone().unwrap_or_default(),
                    output::escape_cell(f.unit.as_deref().unwrap_or("")),
                    output::escape_cell(f.ucd.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        out.push_str(&output::render_table(style, &header, &rows));
    }
    out
}

/// `eso votable info FILE`.
pub fn info(style: &Style, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let input = open_input(file)?;
    let reader = Reader::new(input).with_context(|| format!("cannot read {}", file.display()))?;
    let info = collect_info(reader).with_context(|| format!("cannot read {}", file.display()))?;
    if json {
        output::print(&(serde_json::to_string_pretty(&info)? + "\n"))?;
    } else {
        output::print(&render_info(style, &info))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `eso votable convert IN --to FORMAT [-o OUT]`.
pub fn convert(
    style: &Style,
    input: &Path,
    to: ConvertTo,
    output_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let source = open_input(input)?;
    let reader = Reader::new(source).with_context(|| format!("cannot read {}", input.display()))?;
    let serialization = match to {
        ConvertTo::Csv => None,
        ConvertTo::Tsv => None,
        ConvertTo::Json => None,
        ConvertTo::Tabledata => Some(Serialization::TableData),
        ConvertTo::Binary => Some(Serialization::Binary),
        ConvertTo::Binary2 => Some(Serialization::Binary2),
    };
    let mut reader = reader;
    let mut out = render::open_output(output_path)?;
    let converted = match (to, serialization) {
        (_, Some(serialization)) => {
            votable::convert::to_votable(&mut reader, &mut out, serialization)
        }
        (ConvertTo::Tsv, None) => votable::convert::to_tsv(&mut reader, &mut out),
        (ConvertTo::Json, None) => votable::convert::to_json(&mut reader, &mut out),
        _ => votable::convert::to_csv(&mut reader, &mut out),
    };
    converted.with_context(|| format!("cannot convert {}", input.display()))?;
    let document = reader
        .finish()
        .with_context(|| format!("cannot read {}", input.display()))?;
    // Only a complete conversion replaces the output file.
    out.commit()?;
    if let Some(QueryStatus::Error(message)) = document.query_status() {
        eprintln!(
            "warning: the table records a failed query: {}",
            output::escape(&message)
        );
    }
    let _ = style;
    Ok(ExitCode::SUCCESS)
}
