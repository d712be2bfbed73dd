//! `eso query`, `eso jobs ...`, `eso tables`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use vo_tap::client::{JobOptions, TapClient, VoTableStream};
use vo_tap::{ExecutionPhase, JobFilter, QueryOutcome, TablesDetail, TapQuery, Upload, UwsJob};

use crate::args::{JobsCommand, QueryArgs, ServiceArg, TableFormat, TablesArgs};
use crate::cmd::render;
use crate::context::{Ctx, Login};
use crate::output;

/// Resolves `--service obs|cat|URL` and builds the client, with the login for ESO services.
async fn tap_client(ctx: &Ctx, service: &ServiceArg) -> anyhow::Result<TapClient> {
    let (url, eso) = match service.service.as_str() {
        "obs" => (ctx.endpoints.tap_obs(), true),
        "cat" => (ctx.endpoints.tap_cat(), true),
        other => (Ctx::parse_url("--service", other)?, false),
    };
    // Credentials are bound to ESO's origins by vo-auth: another service never sees them,
    // but an anonymous client avoids a login round trip for non-ESO services.
    let http = if eso {
        ctx.client(Login::IfAvailable).await?
    } else {
        ctx.anonymous()
    };
    Ok(TapClient::builder(url).http(http).build()?)
}

fn read_query(args: &QueryArgs) -> anyhow::Result<String> {
    if let Some(adql) = &args.adql {
        return Ok(adql.clone());
    }
    match &args.file {
        Some(path) if path == Path::new("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the query from {}", path.display())),
        None => Err(crate::exit::coded(
            crate::exit::USAGE,
            "no query: give ADQL as an argument or with -f FILE",
        )),
    }
}

fn parse_uploads(specs: &[String]) -> anyhow::Result<Vec<Upload>> {
    specs
        .iter()
        .map(|spec| {
            let (name, file) = spec.split_once('=').ok_or_else(|| {
                crate::exit::coded(
                    crate::exit::USAGE,
                    format!("--upload {spec:?}: expected NAME=FILE"),
                )
            })?;
            Upload::from_path(name, Path::new(file))
                .with_context(|| format!("cannot upload {file}"))
        })
        .collect()
}

/// Renders a result stream to the output and finishes it (blocking worker).
async fn render_stream(
    ctx: &Ctx,
    stream: VoTableStream,
    format: TableFormat,
    output_path: Option<PathBuf>,
) -> anyhow::Result<QueryOutcome> {
    let style = ctx.style;
    let target = output_path.clone();
    let ((_rows, truncated, out), outcome) = stream
        .read_blocking(move |s| {
            let mut out = render::open_output(target.as_deref())
                .map_err(|e| vo_tap::Error::InvalidRequest(format!("{e:#}")))?;
            let (rows, truncated) = render::render_rows(s.reader_mut(), format, &style, &mut out)
                .map_err(|e| vo_tap::Error::Io {
                context: "cannot write the result".to_owned(),
                source: std::io::Error::other(format!("{e:#}")),
            })?;
            Ok((rows, truncated, out))
        })
        .await?;
    // Only a complete result replaces the output file.
    out.commit()?;
    if truncated && !ctx.global.quiet {
        eprintln!(
            "note: only the first {} rows are shown; use --format csv or -o FILE for all",
            render::MAX_HUMAN_ROWS
        );
    }
    report_outcome(ctx, &outcome, output_path.as_deref());
    Ok(outcome)
}

fn report_outcome(ctx: &Ctx, outcome: &QueryOutcome, output_path: Option<&Path>) {
    if outcome.overflow {
        eprintln!(
            "{}",
            ctx.style.warn(&format!(
                "warning: the result was truncated (QUERY_STATUS=OVERFLOW) after {} rows; raise --maxrec to get more",
                outcome.rows
            ))
        );
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {}", output::escape(warning));
    }
    if let Some(path) = output_path
        && !ctx.global.quiet
    {
        eprintln!("{} rows written to {}", outcome.rows, path.display());
    }
}

/// `eso query`.
pub async fn query(ctx: &Ctx, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let adql = read_query(args)?;
    let client = tap_client(ctx, &args.service).await?;
    let mut query = TapQuery::new(adql);
    if let Some(maxrec) = args.maxrec {
        query = query.maxrec(maxrec);
    }
    for upload in parse_uploads(&args.upload)? {
        query = query.upload(upload);
    }
    // Authorised queries are slower on ESO's side: asynchronous is the safer default then
    // (ESO's own advice); anonymous ones run synchronously unless asked otherwise.
    let logged_in = client.http().has_credentials_for(client.service().base());
    let run_async = args.async_ || (!args.sync && logged_in);
    let output_path = args.output.clone();
    if !run_async {
        let stream = client.query_sync(&query).await?;
        render_stream(ctx, stream, args.format, output_path).await?;
        return Ok(ExitCode::SUCCESS);
    }

    let options = JobOptions {
        execution_duration: args.execution_duration,
        ..JobOptions::default()
    };
    let job_url = client.submit(&query, &options).await?;
    tracing::info!(job = %job_url, "job created");
    if !ctx.global.quiet {
        eprintln!("job {job_url}");
    }
    let mut wait = client.wait_config().clone();
    wait.deadline = args.timeout.map(Duration::from_secs);
    let waited = tokio::select! {
        res = client.wait_with(&job_url, wait) => res,
        _ = tokio::signal::ctrl_c() => {
            if args.keep_job {
                eprintln!("interrupted: job kept at {job_url}");
            } else {
                eprintln!("interrupted: aborting and deleting job {job_url}");
                let _ = client.abort(&job_url).await;
                let _ = client.delete(&job_url).await;
            }
            return Err(crate::exit::coded(130, "interrupted"));
        }
    };
    let job = match waited {
        Ok(job) => job,
        Err(err @ vo_tap::Error::WaitTimeout { .. }) => {
            // The job is left alive on purpose so that it can be resumed.
            return Err(anyhow::Error::new(err).context(format!(
                "resume with `eso jobs results {job_url}`, or delete it with `eso jobs delete {job_url}`"
            )));
        }
        Err(err) => {
            if !args.keep_job {
                let _ = client.delete(&job_url).await;
            }
            return Err(err.into());
        }
    };
    let result = async {
        let result_url = client.result_url(&job_url, &job).await?;
        let stream = client.results(&result_url).await?;
        render_stream(ctx, stream, args.format, output_path).await
    }
    .await;
    if !args.keep_job {
        if let Err(err) = client.delete(&job_url).await {
            eprintln!("warning: could not delete job {job_url}: {err}");
        }
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

fn job_lines(job: &UwsJob) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(text, "job:        {}", output::escape(&job.job_id));
    let _ = writeln!(text, "phase:      {}", job.phase);
    for (label, value) in [
        ("run id:", &job.run_id),
        ("owner:", &job.owner_id),
        ("created:", &job.creation_time),
        ("started:", &job.start_time),
        ("ended:", &job.end_time),
        ("destroyed:", &job.destruction),
    ] {
        if let Some(value) = value {
            let _ = writeln!(text, "{label:<11} {}", output::escape(value));
        }
    }
    if let Some(secs) = job.execution_duration {
        let _ = writeln!(text, "duration:   {secs} s");
    }
    for p in &job.parameters {
        let _ = writeln!(
            text,
            "param:      {} = {}",
            output::escape(&p.id),
            output::escape(p.value.as_deref().unwrap_or(""))
        );
    }
    for r in &job.results {
        let _ = writeln!(
            text,
            "result:     {} {}",
            output::escape(&r.id),
            output::escape(r.href.as_deref().unwrap_or(""))
        );
    }
    if let Some(summary) = &job.error_summary {
        let _ = writeln!(
            text,
            "error:      {}",
            output::escape(summary.message.as_deref().unwrap_or("(no message)"))
        );
    }
    text
}

fn job_json(job: &UwsJob) -> serde_json::Value {
    serde_json::json!({
        "job_id": job.job_id,
        "phase": job.phase.as_str(),
        "run_id": job.run_id,
        "owner_id": job.owner_id,
        "creation_time": job.creation_time,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "execution_duration": job.execution_duration,
        "destruction": job.destruction,
        "parameters": job.parameters.iter().map(|p| serde_json::json!({"id": p.id, "value": p.value})).collect::<Vec<_>>(),
        "results": job.results.iter().map(|r| serde_json::json!({"id": r.id, "href": r.href})).collect::<Vec<_>>(),
        "error": job.error_summary.as_ref().and_then(|s| s.message.clone()),
    })
}

/// `eso jobs ...`.
pub async fn jobs(ctx: &Ctx, command: &JobsCommand) -> anyhow::Result<ExitCode> {
    match command {
        JobsCommand::List {
            service,
            phase,
            after,
            last,
            json,
        } => {
            let client = tap_client(ctx, service).await?;
            let phases = phase
                .iter()
                .map(|p| {
                    ExecutionPhase::parse(p).map_err(|_| {
                        crate::exit::coded(crate::exit::USAGE, format!("unknown phase {p:?}"))
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let filter = JobFilter {
                phases,
                after: after.clone(),
                last: *last,
            };
            let jobs = client.list_jobs(&filter).await?;
            if *json {
                let list: Vec<_> = jobs
                    .iter()
                    .map(|j| {
                        serde_json::json!({
                            "id": j.id,
                            "href": j.href,
                            "phase": j.phase.map(|p| p.as_str()),
                            "run_id": j.run_id,
                            "owner_id": j.owner_id,
                            "creation_time": j.creation_time,
                        })
                    })
                    .collect();
                output::print(&(serde_json::to_string_pretty(&list)? + "\n"))?;
            } else {
                let header: Vec<String> = ["id", "phase", "created", "run id", "owner"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
                let rows: Vec<Vec<String>> = jobs
                    .iter()
                    .map(|j| {
                        vec![
                            output::escape_cell(&j.id),
                            j.phase.map(|p| p.as_str().to_owned()).unwrap_or_default(),
                            output::escape_cell(j.creation_time.as_deref().unwrap_or("")),
                            output::escape_cell(j.run_id.as_deref().unwrap_or("")),
                            output::escape_cell(j.owner_id.as_deref().unwrap_or("")),
                        ]
                    })
                    .collect();
                output::print(&output::render_table(&ctx.style, &header, &rows))?;
            }
        }
        JobsCommand::Show { job, service, json } => {
            let client = tap_client(ctx, service).await?;
            let url = client.job_url(job)?;
            let doc = client.job(&url, None).await?;
            if *json {
                output::print(&(serde_json::to_string_pretty(&job_json(&doc))? + "\n"))?;
            } else {
                output::print(&format!("url:        {url}\n{}", job_lines(&doc)))?;
            }
        }
        JobsCommand::Results {
            job,
            service,
            format,
            output: output_path,
        } => {
            let client = tap_client(ctx, service).await?;
            let url = client.job_url(job)?;
            let doc = client.wait(&url).await?;
            let result_url = client.result_url(&url, &doc).await?;
            let stream = client.results(&result_url).await?;
            render_stream(ctx, stream, *format, output_path.clone()).await?;
        }
        JobsCommand::Abort { job, service } => {
            let client = tap_client(ctx, service).await?;
            let url = client.job_url(job)?;
            client.abort(&url).await?;
            if !ctx.global.quiet {
                output::print(&format!("aborted {url}\n"))?;
            }
        }
        JobsCommand::Delete { job, service } => {
            let client = tap_client(ctx, service).await?;
            let url = client.job_url(job)?;
            client.delete(&url).await?;
            if !ctx.global.quiet {
                output::print(&format!("deleted {url}\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `eso tables [TABLE]`.
pub async fn tables(ctx: &Ctx, args: &TablesArgs) -> anyhow::Result<ExitCode> {
    let client = tap_client(ctx, &args.service).await?;
    let mut out = Vec::new();
    if let Some(name) = &args.table {
        let table = client.table(name).await?;
        if args.json {
            serde_json::to_writer_pretty(&mut out, &table_json(&table))?;
            out.push(b'\n');
        } else {
            writeln!(out, "{}", ctx.style.bold(&output::escape(&table.name)))?;
            if let Some(d) = &table.description {
                writeln!(out, "{}", output::escape(d.trim()))?;
            }
            writeln!(out)?;
            let header: Vec<String> = ["column", "datatype", "unit", "ucd", "description"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let rows: Vec<Vec<String>> = table
                .columns
                .iter()
                .map(|c| {
                    vec![
                        output::escape_cell(&c.name),
                        c.datatype.clone().unwrap_or_default()
                            + &c.arraysize
                                .as_deref()
                                .map(|a| format!("[{a}]"))
                                .unwrap_or_default(),
                        output::escape_cell(c.unit.as_deref().unwrap_or("")),
                        output::escape_cell(c.ucd.as_deref().unwrap_or("")),
                        output::escape_cell(c.description.as_deref().unwrap_or("").trim()),
                    ]
                })
                .collect();
            out.extend_from_slice(output::render_table(&ctx.style, &header, &rows).as_bytes());
        }
    } else {
        let set = client.tables(TablesDetail::Min).await?;
        if args.json {
            let list: Vec<_> = set.tables().map(table_json).collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            out.push(b'\n');
        } else {
            let header: Vec<String> = ["table", "type", "description"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let rows: Vec<Vec<String>> = set
                .tables()
                .map(|t| {
                    vec![
                        output::escape_cell(&t.name),
                        output::escape_cell(t.table_type.as_deref().unwrap_or("")),
                        output::escape_cell(
                            t.description
                                .as_deref()
                                .or(t.title.as_deref())
                                .unwrap_or("")
                                .trim(),
                        ),
                    ]
                })
                .collect();
            out.extend_from_slice(output::render_table(&ctx.style, &header, &rows).as_bytes());
        }
    }
    output::print(&String::from_utf8_lossy(&out))?;
    Ok(ExitCode::SUCCESS)
}

fn table_json(t: &vo_tap::vosi::TableDesc) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "type": t.table_type,
        "description": t.description,
        "columns": t.columns.iter().map(|c| serde_json::json!({
            "name": c.name,
            "datatype": c.datatype,
            "arraysize": c.arraysize,
            "unit": c.unit,
            "ucd": c.ucd,
            "description": c.description,
        })).collect::<Vec<_>>(),
    })
}
