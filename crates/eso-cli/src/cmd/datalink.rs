//! `eso datalink`, `eso cutout`, `eso ssa`, `eso sia`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use vo_auth::Url;
use vo_datalink::client::DataLinkClient;
use vo_datalink::dal::{DalResults, Sia1Query, Sia2Query, SsaQuery};
use vo_datalink::eso::{self as eso_dl, LinksInput};
use vo_datalink::soda::{self, SodaQuery};
use vo_datalink::{Link, LinksResponse, ParamSource, Semantics, ServiceDescriptor};
use vo_download::{DownloadRequest, Expect};

use crate::args::{CutoutArgs, DatalinkArgs, LinksFormat, SiaArgs, SsaArgs, TableFormat};
use crate::cmd::{fetch, render};
use crate::context::{Ctx, Login};
use crate::exit;
use crate::output::{self, Style};

fn parse_params(specs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| {
            spec.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| {
                    exit::coded(
                        exit::USAGE,
                        format!("--param {spec:?}: expected NAME=VALUE"),
                    )
                })
        })
        .collect()
}

fn links_table(style: &Style, links: &[&Link]) -> String {
    let header: Vec<String> = [
        "ID",
        "semantics",
        "content_type",
        "size",
        "target",
        "description",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let rows: Vec<Vec<String>> = links
        .iter()
        .map(|l| {
            let target = match (l.access_url(), l.service_def(), l.error_message()) {
                (Some(url), _, _) => url.to_owned(),
                (_, Some(service), _) => format!("service: {service}"),
                (_, _, Some(error)) => format!("ERROR: {error}"),
                _ => String::new(),
            };
            vec![
                output::escape_cell(&l.id),
                output::escape_cell(&l.semantics.to_string()),
                output::escape_cell(l.content_type.as_deref().unwrap_or("")),
                l.content_length.map(fetch::human_bytes).unwrap_or_default(),
                output::escape_cell(&target),
                output::escape_cell(l.description.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    output::render_table(style, &header, &rows)
}

fn describe_text(descriptor: &ServiceDescriptor) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "service {} ({})\n  {}",
        output::escape(descriptor.id.as_deref().unwrap_or("(no ID)")),
        output::escape(descriptor.standard_id.as_deref().unwrap_or("no standardID")),
        output::escape(descriptor.access_url.as_deref().unwrap_or("(no accessURL)")),
    );
    for p in descriptor.describe() {
        let source = match &p.source {
            ParamSource::Row(column) => format!("from column {column}"),
            ParamSource::Fixed(value) => format!("fixed = {value}"),
            ParamSource::User => "yours to set".to_owned(),
        };
        let _ = write!(
            text,
            "  {} ({}{}) {source}",
            output::escape(&p.name),
            p.datatype,
            p.unit
                .as_deref()
                .map(|u| format!(", {u}"))
                .unwrap_or_default()
        );
        if !p.options.is_empty() {
            let options: Vec<String> = p.options.iter().map(|o| output::escape(&o.value)).collect();
            let _ = write!(text, "; one of: {}", options.join(", "));
        }
        if let Some(min) = &p.min {
            let _ = write!(text, "; min {}", output::escape(min));
        }
        if let Some(max) = &p.max {
            let _ = write!(text, "; max {}", output::escape(max));
        }
        if let Some(d) = &p.description {
            let _ = write!(
                text,
                "\n      {}",
                output::escape(d.split_whitespace().collect::<Vec<_>>().join(" ").as_str())
            );
        }
        text.push('\n');
    }
    text
}

/// Prints (or downloads) the links, filtered by semantics.
async fn show_links(
    ctx: &Ctx,
    args: &DatalinkArgs,
    response: &LinksResponse,
    http: &vo_auth::http::HttpClient,
) -> anyhow::Result<ExitCode> {
    let wanted: Vec<Semantics> = args.semantics.iter().map(|s| Semantics::parse(s)).collect();
    let links: Vec<&Link> = response
        .links
        .iter()
        .filter(|l| wanted.is_empty() || wanted.iter().any(|w| l.semantics.matches(w)))
        .collect();
    for error in response.errors() {
        eprintln!(
            "{}",
            ctx.style.warn(&format!(
                "warning: {}: {}",
                output::escape(&error.id),
                output::escape(error.error_message().unwrap_or(""))
            ))
        );
    }
    match args.format {
        LinksFormat::Json => {
            let json: Vec<serde_json::Value> = links.iter().map(|l| l.to_json()).collect();
            output::print(&(serde_json::to_string_pretty(&json)? + "\n"))?;
        }
        LinksFormat::Table => output::print(&links_table(&ctx.style, &links))?,
        LinksFormat::Votable => {
            // The links as a VOTable: one TABLEDATA table with the standard columns.
            output::print(&links_votable(&links)?)?;
        }
    }
    if !args.download {
        return Ok(ExitCode::SUCCESS);
    }
    let mut requests = Vec::new();
    let mut labels = Vec::new();
    for link in links {
        let Ok(url) = link.http_url() else {
            continue;
        };
        let mut request = DownloadRequest::new(url.clone(), &args.dir);
        if let Some(name) = link
            .extra_text("eso_origfile")
            .filter(|_| link.semantics == Semantics::THIS)
            .and_then(|_| eso_dl::dp_id(&link.id).map(str::to_owned))
        {
            request = request.with_name(name);
        }
        if link.content_type.as_deref() == Some("application/fits") {
            request = request.with_expect(Expect::Fits);
        }
        labels.push(format!("{} {}", link.semantics, url));
        requests.push(request);
    }
    let report = fetch::run_batch(ctx, http, requests, labels, 4).await?;
    Ok(fetch::summarize(ctx, &report))
}

fn links_votable(links: &[&Link]) -> anyhow::Result<String> {
    use votable::{Datatype, Field, Table, TableMeta, Value};
    let names = [
        "ID",
        "access_url",
        "service_def",
        "error_message",
        "semantics",
        "description",
        "content_type",
    ];
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(*n, Datatype::Char).with_arraysize(votable::ArraySize::variable()))
        .collect();
    fields.push(Field::new("content_length", Datatype::Long));
    let meta = TableMeta {
        fields,
        ..TableMeta::default()
    };
    let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_owned()));
    let rows: Vec<Vec<Value>> = links
        .iter()
        .map(|l| {
            vec![
                Value::String(l.id.clone()),
                text(l.access_url()),
                text(l.service_def()),
                text(l.error_message()),
                Value::String(l.semantics.to_string()),
                text(l.description.as_deref()),
                text(l.content_type.as_deref()),
                l.content_length
                    .and_then(|n| i64::try_from(n).ok())
                    .map_or(Value::Null, Value::Long),
            ]
        })
        .collect();
    let table = Table::from_rows(meta, rows.iter().map(|r| r.as_slice()))?;
    let bytes = votable::write::write_table(Vec::new(), &table, votable::Serialization::TableData)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `eso datalink`.
pub async fn datalink(ctx: &Ctx, args: &DatalinkArgs) -> anyhow::Result<ExitCode> {
    let http = ctx.client(Login::IfAvailable).await?;
    let client = DataLinkClient::new(http.clone());
    if let Some(from) = &args.from {
        return from_results(ctx, args, &client, from).await;
    }
    if args.ids.is_empty() {
        return Err(exit::coded(
            exit::USAGE,
            "give dataset ids, ivo:// identifiers or DataLink URLs, or --from RESULTS",
        ));
    }
    let mut response: Option<LinksResponse> = None;
    let mut add = |links: LinksResponse| match response.as_mut() {
        Some(all) => all.merge(links),
        None => response = Some(links),
    };
    let mut ids = Vec::new();
    for input in &args.ids {
        match eso_dl::classify_input(input)? {
            LinksInput::Url(url) => {
                let (links, warnings) = client.links_at(&url).await?;
                for w in warnings {
                    eprintln!("warning: {}", output::escape(&w.to_string()));
                }
                add(links);
            }
            LinksInput::Id(id) => ids.push(id),
        }
    }
    if !ids.is_empty() {
        let endpoint = eso_dl::links_endpoint(&ctx.endpoints.archive);
        let batched = client.links_for_ids(&endpoint, &ids).await?;
        for w in &batched.warnings {
            eprintln!("warning: {}", output::escape(&w.to_string()));
        }
        for failure in &batched.failures {
            eprintln!("warning: {}", output::escape(&format!("{failure:?}")));
        }
        add(batched.response);
    }
    let response = response.context("no links were returned")?;
    show_links(ctx, args, &response, &http).await
}

async fn from_results(
    ctx: &Ctx,
    args: &DatalinkArgs,
    client: &DataLinkClient,
    from: &Path,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let (results, warnings) = vo_datalink::dal::parse_results(&bytes)
        .with_context(|| format!("cannot read {}", from.display()))?;
    for w in warnings {
        eprintln!("warning: {}", output::escape(&w.to_string()));
    }
    if args.describe {
        let mut text = String::new();
        for descriptor in &results.descriptors {
            text.push_str(&describe_text(descriptor));
        }
        if text.is_empty() {
            text = format!("{} declares no service descriptors\n", from.display());
        }
        output::print(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let table = results
        .table()
        .with_context(|| format!("{} has no results table", from.display()))?;
    let rows: Vec<usize> = if args.all {
        (0..table.nrows()).collect()
    } else {
        let row = args.row.unwrap_or(0);
        if row >= table.nrows() {
            return Err(exit::coded(
                exit::USAGE,
                format!("--row {row}: {} has {} rows", from.display(), table.nrows()),
            ));
        }
        vec![row]
    };
    let user = parse_params(&args.params)?;
    let Some(descriptor) = results.datalink() else {
        // No descriptor: ESO's dbo.raw has a `datalink_url` column, and ObsCore rows whose
        // access_format is a DataLink document point to their links in `access_url`.
        let urls = datalink_urls(table, &rows).with_context(|| {
            format!(
                "{} has no DataLink service descriptor (RESOURCE type=\"meta\" utype=\"adhoc:service\") and no datalink_url column",
                from.display()
            )
        })?;
        if !user.is_empty() {
            eprintln!(
                "warning: --param is ignored: the rows carry DataLink URLs, not a descriptor"
            );
        }
        let mut all: Option<LinksResponse> = None;
        for url in urls {
            let (links, warnings) = client.links_at(&url).await?;
            for w in warnings {
                eprintln!("warning: {}", output::escape(&w.to_string()));
            }
            match all.as_mut() {
                Some(all) => all.merge(links),
                None => all = Some(links),
            }
        }
        let all = all.context("the selected rows have no DataLink URL")?;
        return show_links(ctx, args, &all, client.http()).await;
    };
    let batched = client
        .links_for_rows(descriptor, table, &rows, &user)
        .await?;
    for w in &batched.warnings {
        eprintln!("warning: {}", output::escape(&w.to_string()));
    }
    show_links(ctx, args, &batched.response, client.http()).await
}

/// The DataLink URLs of `rows`: the `datalink_url` column, or `access_url` where
/// `access_format` says the link is a DataLink document. `None` if there is no such column.
fn datalink_urls(table: &votable::Table, rows: &[usize]) -> Option<Vec<Url>> {
    let direct = table.field_index("datalink_url");
    let access = table.field_index("access_url");
    let format = table.field_index("access_format");
    if direct.is_none() && (access.is_none() || format.is_none()) {
        return None;
    }
    let mut urls = Vec::new();
    for &row in rows {
        let text = match (direct, access, format) {
            (Some(col), _, _) => table.get_str(row, col),
            (None, Some(acc), Some(fmt)) => table
                .get_str(row, fmt)
                .filter(|f| f.contains("content=datalink"))
                .and_then(|_| table.get_str(row, acc)),
            _ => None,
        };
        if let Some(url) = text.and_then(|t| Url::parse(t.trim()).ok()) {
            urls.push(url);
        }
    }
    Some(urls)
}

fn numbers(what: &str, text: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let values: Vec<f64> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| exit::coded(exit::USAGE, format!("{what} {text:?}: expected numbers")))?;
    if (n > 0 && values.len() != n) || values.is_empty() {
        return Err(exit::coded(
            exit::USAGE,
            format!("{what} {text:?}: expected {n} numbers"),
        ));
    }
    Ok(values)
}

fn pair(what: &str, text: &str) -> anyhow::Result<(f64, f64)> {
    let v = numbers(what, text, 2)?;
    Ok((v[0], v[1]))
}

/// `eso cutout`.
pub async fn cutout(ctx: &Ctx, args: &CutoutArgs) -> anyhow::Result<ExitCode> {
    let mut query = SodaQuery::default();
    let id = match eso_dl::classify_input(&args.id)? {
        LinksInput::Id(id) => id,
        LinksInput::Url(url) => url.to_string(),
    };
    query.ids.push(id.clone());
    if let Some(c) = &args.circle {
        let v = numbers("--circle", c, 3)?;
        query.circle = Some((v[0], v[1], v[2]));
    }
    if let Some(p) = &args.polygon {
        let v = numbers("--polygon", p, 0)?;
        if v.len() < 6 || v.len() % 2 != 0 {
            return Err(exit::coded(
                exit::USAGE,
                "--polygon needs at least three RA DEC pairs",
            ));
        }
        query.polygon = Some(v.chunks(2).map(|c| (c[0], c[1])).collect());
    }
    if let Some(b) = &args.band {
        query.band = Some(pair("--band", b)?);
    }
    if let Some(t) = &args.time {
        query.time = Some(pair("--time", t)?);
    }
    query.pol = args.pol.clone();
    let http = ctx.client(Login::IfAvailable).await?;
    let client = DataLinkClient::new(http.clone());
    let request = match &args.service {
        Some(service) => soda::sync_request(&Ctx::parse_url("--service", service)?, &query)?,
        None => {
            // Find the cutout service through the dataset's DataLink.
            let endpoint = eso_dl::links_endpoint(&ctx.endpoints.archive);
            let batched = client
                .links_for_ids(&endpoint, std::slice::from_ref(&id))
                .await?;
            let response = batched.response;
            let cutout = Semantics::parse("#cutout");
            let proc_ = Semantics::parse("#proc");
            let descriptor = response
                .links
                .iter()
                .filter(|l| l.semantics.matches(&cutout) || l.semantics.matches(&proc_))
                .find_map(|l| response.descriptor_for(l))
                .or_else(|| response.descriptors.iter().find(|d| d.is_soda()));
            match descriptor {
                Some(descriptor) => {
                    query.ids.clear();
                    soda::request_from_descriptor(descriptor, &query)?
                }
                None => {
                    tracing::debug!(
                        "no cutout descriptor in the DataLink answer; using ESO's SODA endpoint"
                    );
                    soda::sync_request(&eso_dl::soda_endpoint(&ctx.endpoints.dataportal), &query)?
                }
            }
        }
    };
    let url = Url::parse(&request.uri().to_string())?;
    let output_path = args.output.clone().unwrap_or_else(|| {
        let base = eso_dl::dp_id(&id)
            .unwrap_or(&id)
            .replace(['/', '\\', ':', '?'], "_");
        PathBuf::from(format!("{base}_cutout.fits"))
    });
    let dir = output_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = output_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("the output path has no file name")?;
    let stem = name.strip_suffix(".fits").unwrap_or(&name).to_owned();
    let download = DownloadRequest::new(url, dir)
        .with_name(stem)
        .with_expect(Expect::Fits)
        .with_overwrite(true);
    let report = fetch::run_batch(
        ctx,
        &http,
        vec![download],
        vec![format!("cutout of {id}")],
        1,
    )
    .await?;
    Ok(fetch::summarize(ctx, &report))
}

async fn run_dal(
    ctx: &Ctx,
    request: http::Request<Vec<u8>>,
    format: TableFormat,
    output_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let http = ctx.client(Login::IfAvailable).await?;
    let client = DataLinkClient::new(http);
    let (results, warnings) = client.query(request).await?;
    for w in warnings {
        eprintln!("warning: {}", output::escape(&w.to_string()));
    }
    render_dal(ctx, &results, format, output_path)
}

fn render_dal(
    ctx: &Ctx,
    results: &DalResults,
    format: TableFormat,
    output_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    // Re-serialise the in-memory result, then render it with the same code as TAP results.
    let bytes = votable::write::write_votable(
        Vec::new(),
        &results.votable,
        votable::Serialization::Binary2,
    )?;
    let mut reader = votable::Reader::new(std::io::Cursor::new(bytes))?;
    let mut out = render::open_output(output_path)?;
    let (rows, _) = render::render_rows(&mut reader, format, &ctx.style, &mut out)?;
    out.commit()?;
    if results.overflow {
        eprintln!(
            "{}",
            ctx.style.warn(&format!(
                "warning: the result was truncated after {rows} rows"
            ))
        );
    }
    if let Some(d) = results.datalink()
        && !ctx.global.quiet
    {
        eprintln!(
            "rows carry a DataLink service ({}); save with -o and follow with `eso datalink --from FILE`",
            output::escape(d.access_url.as_deref().unwrap_or(""))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn radec(text: &str) -> anyhow::Result<(f64, f64)> {
    pair("--pos", text)
}

/// `eso ssa`.
pub async fn ssa(ctx: &Ctx, args: &SsaArgs) -> anyhow::Result<ExitCode> {
    let base = match &args.service {
        Some(s) => Ctx::parse_url("--service", s)?,
        None => eso_dl::ssap_endpoint(&ctx.endpoints.archive),
    };
    let band = match &args.band {
        Some(b) => {
            let (lo, hi) = pair("--band", &b.replace('/', " "))?;
            Some((Some(lo), Some(hi)))
        }
        None => None,
    };
    let time = args.time.as_ref().map(|t| {
        let (start, end) = t.split_once('/').unwrap_or((t.as_str(), ""));
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        (opt(start), opt(end))
    });
    let query = SsaQuery {
        pos: Some(radec(&args.pos)?),
        size: args.size,
        band,
        time,
        format: None,
        maxrec: args.maxrec,
        extra: Vec::new(),
    };
    let request = vo_datalink::dal::ssa_request(&base, &query)?;
    run_dal(ctx, request, args.format, args.output.as_deref()).await
}

/// `eso sia`.
pub async fn sia(ctx: &Ctx, args: &SiaArgs) -> anyhow::Result<ExitCode> {
    let base = Ctx::parse_url("SIA URL", &args.url)?;
    let (ra, dec) = radec(&args.pos)?;
    let request = if args.v1 {
        let query = Sia1Query {
            pos: (ra, dec),
            size: Some((args.size.unwrap_or(0.1), None)),
            format: None,
            intersect: None,
            extra: Vec::new(),
        };
        vo_datalink::dal::sia1_request(&base, &query)?
    } else {
        let radius = args.size.unwrap_or(0.1) / 2.0;
        let query = Sia2Query {
            pos: vec![soda::Shape::Circle { ra, dec, radius }],
            maxrec: args.maxrec,
            ..Sia2Query::default()
        };
        vo_datalink::dal::sia2_request(&base, &query)?
    };
    run_dal(ctx, request, args.format, args.output.as_deref()).await
}
