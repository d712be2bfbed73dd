//! Command-line arguments, as clap parses them (the "low-level" arguments).
//!
//! Every command's `--help` ends with an example. Global options are `global = true`,
//! so they work before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Search and retrieve data from the ESO science archive and any IVOA service.
#[derive(Debug, Parser)]
#[command(
    name = "eso",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:\n  eso demo\n  eso login --user jdoe\n  eso query \"SELECT TOP 5 * FROM ivoa.ObsCore\"\n  eso retrieve SPHER.2016-09-26T03:04:09.308 --calib processed -d data/\n\nExit codes: 0 success, 1 failure, 2 usage error, 3 authentication failure (log in again, or no access), 4 some downloads failed (the others are complete), 130 interrupted (Ctrl-C)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command, before or after the subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Base URL standing in for the archive, data portal and login endpoints
    /// (e.g. the offline demo archive or a mirror).
    #[arg(long, global = true, env = "ESO_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// ESO user name whose cached login is used.
    #[arg(long, global = true, env = "ESO_USER", value_name = "NAME")]
    pub user: Option<String>,
    /// Send no credentials at all (faster for public data).
    #[arg(long, global = true)]
    pub anonymous: bool,
    /// Hide progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Show what happens (-v: requests and job phases, -vv: everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to ESO and cache the token (valid 8 hours).
    #[command(
        after_help = "Example:\n  eso login --user jdoe\n  echo \"$PW\" | eso login --user jdoe --password-stdin"
    )]
    Login(LoginArgs),
    /// Forget the cached login.
    #[command(after_help = "Example:\n  eso logout --user jdoe")]
    Logout,
    /// Show who is logged in and until when.
    #[command(after_help = "Example:\n  eso whoami --json")]
    Whoami(WhoamiArgs),
    /// Run an ADQL query on a TAP service.
    #[command(
        after_help = "Examples:\n  eso query \"SELECT TOP 5 dp_id, instrument FROM dbo.raw\"\n  eso query -f q.adql --async --format csv -o out.csv\n  eso query --service https://example.org/tap \"SELECT * FROM t\" --upload mine=mine.vot"
    )]
    Query(QueryArgs),
    /// Manage asynchronous TAP jobs.
    #[command(subcommand, after_help = "Example:\n  eso jobs list --phase EXECUTING")]
    Jobs(JobsCommand),
    /// List the tables of a TAP service, or describe one.
    #[command(after_help = "Example:\n  eso tables\n  eso tables dbo.raw")]
    Tables(TablesArgs),
    /// Follow DataLink from datasets or saved results.
    #[command(
        after_help = "Examples:\n  eso datalink SPHER.2016-09-26T03:04:09.308\n  eso datalink ADP.2026-08-19T13:19:07.647 --semantics '#preview' --download -d previews/\n  eso datalink --from results.vot --all --param source=aws:us-east1"
    )]
    Datalink(DatalinkArgs),
    /// Cut out part of a dataset with SODA.
    #[command(
        after_help = "Example:\n  eso cutout ADP.2026-08-19T13:19:07.647 --circle \"88.79 7.407 0.001\" -o cut.fits"
    )]
    Cutout(CutoutArgs),
    /// Query a Simple Spectral Access service.
    #[command(after_help = "Example:\n  eso ssa --pos 88.79,7.41 --size 0.1 --maxrec 10")]
    Ssa(SsaArgs),
    /// Query a Simple Image Access service.
    #[command(
        after_help = "Example:\n  eso sia https://example.org/sia --pos 150.2,2.1 --size 0.2"
    )]
    Sia(SiaArgs),
    /// Ask calSelector for the calibration files of raw frames.
    #[command(
        after_help = "Example:\n  eso calselector SPHER.2016-09-26T03:04:09.308 --mode raw2master --tree\n  eso calselector FORS2.2021-01-02T00:59:12.533 --download -d calib/"
    )]
    Calselector(CalselectorArgs),
    /// Download science frames with their calibrations and association trees.
    #[command(
        after_help = "Example:\n  eso retrieve SPHER.2016-09-26T03:04:09.308 SPHER.2016-09-26T03:04:09.496 --calib processed -d data/"
    )]
    Retrieve(RetrieveArgs),
    /// Download files by URL or dataset id, or from a saved result.
    #[command(
        after_help = "Examples:\n  eso download SPHER.2016-09-26T03:04:09.308 -d raw/ --decompress\n  eso download --from results.vot -j 8"
    )]
    Download(DownloadArgs),
    /// Inspect and convert VOTable files.
    #[command(
        subcommand,
        after_help = "Example:\n  eso votable info result.vot\n  eso votable convert result.vot --to csv -o result.csv"
    )]
    Votable(VotableCommand),
    /// Run the offline ESO-shaped archive and walk through the whole workflow.
    #[command(
        after_help = "Examples:\n  eso demo\n  eso demo --serve   # keep the archive running for other commands (--base-url)"
    )]
    Demo(DemoArgs),
    /// Print shell completions.
    #[command(after_help = "Example:\n  eso completions bash > /etc/bash_completion.d/eso")]
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the password from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,
    /// Also store the password (a 0600 file in the cache directory) so that expired logins
    /// renew without asking; `eso logout` removes it.
    #[arg(long)]
    pub store_password: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where a TAP query goes.
#[derive(Debug, Args, Clone)]
pub struct ServiceArg {
    /// TAP service: `obs` (ESO tap_obs, the default), `cat` (ESO tap_cat) or a URL.
    #[arg(long, default_value = "obs", value_name = "obs|cat|URL")]
    pub service: String,
}

/// Output formats for tabular results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned columns fitted to the terminal.
    Table,
    /// One block per record, field by field.
    Records,
    /// Comma-separated values (RFC 4180).
    Csv,
    /// Tab-separated values.
    Tsv,
    /// JSON (see `votable::convert` for the shape).
    Json,
    /// VOTable, TABLEDATA serialization.
    Votable,
    /// VOTable, BINARY2 serialization.
    Binary2,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The ADQL query (or use --file).
    pub adql: Option<String>,
    /// Read the query from a file (`-` for standard input).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "adql"
    )]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub service: ServiceArg,
    /// Run synchronously.
    #[arg(long, conflicts_with = "async_")]
    pub sync: bool,
    /// Run as an asynchronous UWS job (the default for authorised queries).
    #[arg(long = "async")]
    pub async_: bool,
    /// Maximum number of records.
    #[arg(long)]
    pub maxrec: Option<u64>,
    /// Execution duration requested for an async job, in seconds.
    #[arg(long, value_name = "SECS")]
    pub execution_duration: Option<u64>,
    /// Stop waiting after this many seconds (the job is kept and its URL printed).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Keep the async job on the server (also on Ctrl-C).
    #[arg(long)]
    pub keep_job: bool,
    /// Upload a local VOTable as TAP_UPLOAD.NAME.
    #[arg(long, value_name = "NAME=FILE")]
    pub upload: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableFormat,
    /// Write the result to a file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs.
    #[command(after_help = "Example:\n  eso jobs list --phase COMPLETED --last 10 --json")]
    List {
        #[command(flatten)]
        service: ServiceArg,
        /// Only jobs in this phase.
        #[arg(long)]
        phase: Vec<String>,
        /// Only jobs created after this ISO 8601 time.
        #[arg(long)]
        after: Option<String>,
        /// Only the last N jobs.
        #[arg(long)]
        last: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a job (by id or URL).
    #[command(
        after_help = "Example:\n  eso jobs show https://archive.eso.org/tap_obs/async/JOB_ID --json"
    )]
    Show {
        job: String,
        #[command(flatten)]
        service: ServiceArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Wait for a job and fetch its results.
    #[command(after_help = "Example:\n  eso jobs results JOB_ID --format csv -o result.csv")]
    Results {
        job: String,
        #[command(flatten)]
        service: ServiceArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
        /// Write to a file.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Abort a job.
    #[command(after_help = "Example:\n  eso jobs abort JOB_ID")]
    Abort {
        job: String,
        #[command(flatten)]
        service: ServiceArg,
    },
    /// Delete a job.
    #[command(after_help = "Example:\n  eso jobs delete JOB_ID")]
    Delete {
        job: String,
        #[command(flatten)]
        service: ServiceArg,
    },
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Describe only this table.
    pub table: Option<String>,
    #[command(flatten)]
    pub service: ServiceArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output format for links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinksFormat {
    /// Aligned table.
    Table,
    /// JSON.
    Json,
    /// The VOTable as received.
    Votable,
}

#[derive(Debug, Args)]
pub struct DatalinkArgs {
    /// dp_id, ivo:// identifier or DataLink URL.
    pub ids: Vec<String>,
    /// Keep only links with these semantics (narrower terms included).
    #[arg(long)]
    pub semantics: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LinksFormat,
    /// Download the linked files.
    #[arg(long)]
    pub download: bool,
    /// Target directory for downloads.
    #[arg(short = 'd', long, default_value = ".")]
    pub dir: PathBuf,
    /// Follow the DataLink descriptor of a saved result file.
    #[arg(long, value_name = "RESULTS")]
    pub from: Option<PathBuf>,
    /// Row of --from to follow (0-based).
    #[arg(long, conflicts_with = "all")]
    pub row: Option<usize>,
    /// Follow every row of --from.
    #[arg(long)]
    pub all: bool,
    /// Extra descriptor parameter NAME=VALUE (e.g. source=aws:us-east1).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// List the descriptors' parameters with their options and bounds.
    #[arg(long)]
    pub describe: bool,
}

#[derive(Debug, Args)]
pub struct CutoutArgs {
    /// Dataset id (dp_id or ivo:// identifier).
    pub id: String,
    /// SODA endpoint (default ESO's); without it, the dataset's DataLink is asked for a cutout service.
    #[arg(long)]
    pub service: Option<String>,
    /// Circle "RA DEC RADIUS" in degrees.
    #[arg(long)]
    pub circle: Option<String>,
    /// Polygon "RA1 DEC1 RA2 DEC2 ..." in degrees.
    #[arg(long)]
    pub polygon: Option<String>,
    /// Spectral band "LO HI" in metres.
    #[arg(long)]
    pub band: Option<String>,
    /// Time "START END" in MJD.
    #[arg(long)]
    pub time: Option<String>,
    /// Polarization state (I, Q, U, V ...).
    #[arg(long)]
    pub pol: Vec<String>,
    /// Output file (default: a name derived from the id in the current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SsaArgs {
    /// SSA service URL (default ESO's ssap).
    #[arg(long)]
    pub service: Option<String>,
    /// Position "RA,DEC" in degrees.
    #[arg(long)]
    pub pos: String,
    /// Search diameter in degrees.
    #[arg(long)]
    pub size: Option<f64>,
    /// Spectral band "LO/HI" in metres.
    #[arg(long)]
    pub band: Option<String>,
    /// Time range "START/END" (ISO 8601).
    #[arg(long)]
    pub time: Option<String>,
    /// Maximum number of records.
    #[arg(long)]
    pub maxrec: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableFormat,
    /// Write to a file.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SiaArgs {
    /// SIA service URL.
    pub url: String,
    /// Position "RA,DEC" in degrees.
    #[arg(long)]
    pub pos: String,
    /// Size in degrees.
    #[arg(long)]
    pub size: Option<f64>,
    /// Maximum number of records.
    #[arg(long)]
    pub maxrec: Option<u64>,
    /// Use SIA version 1 instead of 2.
    #[arg(long)]
    pub v1: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableFormat,
    /// Write to a file.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// calSelector modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Raw calibrations.
    Raw2raw,
    /// Processed (master) calibrations.
    Raw2master,
}

/// Output format for calSelector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Human-readable.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct CalselectorArgs {
    /// Raw science frames (dp_id).
    #[arg(required = true)]
    pub dp_ids: Vec<String>,
    /// Calibration mode.
    #[arg(long, value_enum, default_value = "raw2raw")]
    pub mode: ModeArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: PlanFormat,
    /// Draw the association tree.
    #[arg(long)]
    pub tree: bool,
    /// Download the calibration files (once each) and the association trees.
    #[arg(long)]
    pub download: bool,
    /// Target directory.
    #[arg(short = 'd', long, default_value = ".")]
    pub dir: PathBuf,
    /// Parallel downloads.
    #[arg(short = 'j', long, default_value_t = 4)]
    pub jobs: usize,
}

/// Which calibrations `retrieve` fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalibArg {
    /// No calibrations.
    None,
    /// Raw calibrations (Raw2Raw).
    Raw,
    /// Processed calibrations (Raw2Master).
    Processed,
}

#[derive(Debug, Args)]
pub struct RetrieveArgs {
    /// Science frames (dp_id).
    #[arg(required = true)]
    pub dp_ids: Vec<String>,
    /// Which calibrations to fetch.
    #[arg(long, value_enum, default_value = "processed")]
    pub calib: CalibArg,
    /// Target directory.
    #[arg(short = 'd', long, default_value = ".")]
    pub dir: PathBuf,
    /// Parallel downloads.
    #[arg(short = 'j', long, default_value_t = 4)]
    pub jobs: usize,
    /// Decompress `.Z` raw frames after download.
    #[arg(long)]
    pub decompress: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// URLs or dp_ids.
    pub items: Vec<String>,
    /// Take URLs from a saved result (VOTable, CSV or JSON).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Column holding the URLs in --from (default access_url).
    #[arg(long, default_value = "access_url")]
    pub column: String,
    /// Target directory.
    #[arg(short = 'd', long, default_value = ".")]
    pub dir: PathBuf,
    /// Parallel downloads.
    #[arg(short = 'j', long, default_value_t = 4)]
    pub jobs: usize,
    /// Decompress `.Z` and `.gz` files.
    #[arg(long)]
    pub decompress: bool,
    /// Download again even if the file is already complete.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Subcommand)]
pub enum VotableCommand {
    /// Summarise a VOTable: resources, fields, row count, query status.
    #[command(
        after_help = "Example:\n  eso votable info result.vot\n  curl -s \"$URL\" | eso votable info - --json"
    )]
    Info {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Convert a VOTable, streaming.
    #[command(
        after_help = "Example:\n  eso votable convert result.vot --to csv -o result.csv\n  eso votable convert - --to binary2 < result.vot > result_b2.vot"
    )]
    Convert {
        /// The file (`-` for standard input).
        input: PathBuf,
        /// Target format.
        #[arg(long, value_enum)]
        to: ConvertTo,
        /// Output file (default standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Conversion targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTo {
    /// CSV (RFC 4180).
    Csv,
    /// TSV.
    Tsv,
    /// JSON.
    Json,
    /// VOTable TABLEDATA.
    Tabledata,
    /// VOTable BINARY.
    Binary,
    /// VOTable BINARY2.
    Binary2,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Only serve the offline archive (until Ctrl-C) and print its URL.
    #[arg(long)]
    pub serve: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Directory for the walk-through's downloads (default: a temporary directory).
    #[arg(short = 'd', long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
