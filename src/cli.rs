//! Command-line definitions (clap derive) and nothing else: every flag is
//! defined and documented here, once; flags that several commands take are
//! groups flattened into each. `commands::resolve` turns them into a
//! `config::RunConfig`; nothing else reads these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Depth, DetectConfig, FailOn};
use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "hfleaks",
    version,
    about = "Finds leaked Hugging Face tokens in files, notebooks and git history",
    long_about = "Finds leaked Hugging Face tokens (hf_…, api_org_…, hf_oauth_…) in files, notebooks, \
                  standard input and git history.\n\nExit codes: 0 nothing found, 1 findings (see --exit-code), \
                  2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories ("-" reads standard input).
    Scan(ScanArgs),
    /// Scan every blob of a git repository's history once (all refs), or only
    /// what the commits of a range added (--range).
    History(HistoryArgs),
    /// Scan what `git commit` would record (for pre-commit hooks).
    Staged(StagedArgs),
    /// Audit Hugging Face Hub repos: every model, dataset and Space of a
    /// user or organization (or the repos named), their whole git history
    /// with pull-request refs, and their discussions and comments.
    Hub(HubAuditArgs),
    /// Audit a list of git repositories (URLs or local paths) like Hub
    /// repos: each cloned (or opened) and its whole history audited.
    Repos(ReposArgs),
    /// Watch Hub repos continuously: receive the Hub's webhooks, audit each
    /// push and comment as it comes, and alert each new token once.
    Serve(ServeArgs),
    /// Merge shard reports into one report; with --verify, each distinct
    /// token is verified once across all shards.
    Merge(MergeArgs),
    /// Check whether tokens are live (arguments, or standard input one per line).
    Verify(VerifyArgs),
    /// Show an earlier JSON report: the incident view per token (text), or
    /// as JSON, SARIF or one HTML page.
    Report(ReportViewArgs),
    /// Ask the Hub to revoke leaked tokens (arguments, standard input, or a
    /// report written with --show-secrets). Asks for confirmation.
    Revoke(RevokeArgs),
    /// List or test the detection rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Print each rule's id, severity and description.
    List {
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// Check every rule (built-in and --rules) against its own positive and
    /// negative examples.
    Test {
        #[command(flatten)]
        rules: RulesArgs,
    },
}

/// `--rules`, for every command that loads rules.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Also load rules from this file or directory of *.toml files.
    #[arg(long = "rules", value_name = "FILE_OR_DIR")]
    pub rules: Vec<PathBuf>,
}

/// Where a report goes and how it looks.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format (default: text; for -o files, from the extension:
    /// .json, .jsonl, .sarif, .html).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the report to FILE (atomically) instead of standard output.
    /// Repeat to write several formats in one run: -o a.sarif -o a.json.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Text: one block per finding, instead of one incident per token.
    #[arg(long)]
    pub no_group: bool,
}

/// Where the Hub is and how long to wait for it: verification and revocation.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The Hub to talk to [default: $HF_ENDPOINT, else
    /// https://huggingface.co]. Only https://, or http:// on a loopback host.
    #[arg(long, value_name = "URL", help_heading = "Verification")]
    pub hf_endpoint: Option<String>,

    /// Send nothing to the Hub (as HF_HUB_OFFLINE=1).
    #[arg(long, help_heading = "Verification")]
    pub offline: bool,

    /// Seconds to wait for each Hub request.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        value_parser = parse_secs,
        help_heading = "Verification"
    )]
    pub verify_timeout: f64,
}

/// How far content is unpacked before matching.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Do not decode base64, percent-encoding, \u escapes or hex.
    #[arg(long, help_heading = "Detection")]
    pub no_decode: bool,

    /// Follow at most N nested encodings (e.g. base64 of a percent-encoded URL).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DetectConfig::DECODE_DEPTH,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=8),
        help_heading = "Detection"
    )]
    pub max_decode_depth: usize,

    /// Do not open archives, compressed files (zip, whl, jar, tar, gz, zst,
    /// bz2, xz, lz4) or datasets (Parquet, Arrow): scan their bytes as they are.
    #[arg(long, help_heading = "Detection")]
    pub no_archives: bool,

    /// Open archives nested at most N deep (a zip in a tar.gz is 2).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DetectConfig::ARCHIVE_DEPTH,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16),
        help_heading = "Detection"
    )]
    pub max_archive_depth: usize,

    /// Stop reading an archive once its members add up to SIZE decompressed
    /// (a Parquet or Arrow file: once its text cells do).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size, help_heading = "Detection")]
    pub max_archive_size: u64,

    /// Stop reading a member that expands more than N times (a bomb).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DetectConfig::ARCHIVE_RATIO,
        value_parser = clap::value_parser!(u64).range(2..),
        help_heading = "Detection"
    )]
    pub max_archive_ratio: u64,
}

/// `--max-file-size`, for every command that reads files or blobs.
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Skip files and blobs larger than this (bytes, or with K/M/G suffix:
    /// 50M, 1GiB).
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = parse_size)]
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Options shared by every command that produces a report.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub out: OutputArgs,

    /// Print secrets in full instead of redacted (hf_AbCd…WxYz).
    #[arg(long)]
    pub show_secrets: bool,

    /// Report only findings not present in this earlier JSON report.
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,

    /// Extra ignore file (secret_sha256 values and path globs, one per line).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Vec<PathBuf>,

    #[command(flatten)]
    pub rules: RulesArgs,

    #[command(flatten)]
    pub detect: DetectArgs,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Exit code when findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: i32,

    /// No summary line or notes on standard error (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Ask the Hub (whoami-v2) whether each token is live, who owns it and
    /// its role. `--verify=deep` also lists what it exposes (as --analyze).
    #[arg(
        long,
        value_enum,
        value_name = "DEPTH",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "live",
        help_heading = "Verification"
    )]
    pub verify: Option<Depth>,

    /// For each live token, list the models, datasets and Spaces of its
    /// owner and orgs, naming the private ones (implies --verify).
    #[arg(long, help_heading = "Verification")]
    pub analyze: bool,

    /// With --analyze: list at most N repositories per owner and kind.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        help_heading = "Verification"
    )]
    pub analyze_max_repos: usize,

    #[command(flatten)]
    pub hub: HubArgs,

    /// Tokens verified at the same time.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64),
        help_heading = "Verification"
    )]
    pub verify_concurrency: usize,

    /// Report only tokens verified live (implies --verify).
    #[arg(long, help_heading = "Verification")]
    pub only_verified: bool,

    /// Which findings make the exit code 1 (`valid` implies --verify).
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value_t = FailOn::Any,
        help_heading = "Verification"
    )]
    pub fail_on: FailOn,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Tokens to check. None, or "-", reads them from standard input, one
    /// per line (blank lines and # comments skipped); prefer that, since
    /// arguments are visible to other users of the machine.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ReportViewArgs {
    /// A report written with --format json.
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,

    /// Show the secrets of a report written with --show-secrets in full
    /// (by default they are redacted again).
    #[arg(long)]
    pub show_secrets: bool,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rules: RulesArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Tokens to revoke. None (and no --from-report), or "-", reads them from
    /// standard input, one per line; arguments land in your shell history.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,

    /// Revoke the tokens of an earlier JSON report (written with --show-secrets).
    #[arg(long, value_name = "REPORT.json", conflicts_with = "tokens")]
    pub from_report: Option<PathBuf>,

    /// Revoke only tokens verified live (verifying first those the report
    /// has no verification for).
    #[arg(long)]
    pub only_valid: bool,

    /// Do not ask for confirmation (required without a terminal).
    #[arg(short, long)]
    pub yes: bool,

    /// Send nothing: show what would be sent (redacted).
    #[arg(long)]
    pub dry_run: bool,

    /// Cut the tokens off from this organization only, with its admin's
    /// token from HF_TOKEN (Enterprise organizations).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,

    #[command(flatten)]
    pub rules: RulesArgs,

    #[command(flatten)]
    pub hub: HubArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan; "-" reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Also scan files ignored by .gitignore, .ignore and .hfleaksignore.
    #[arg(long)]
    pub no_ignore: bool,

    /// Follow symbolic links (loops are reported, not followed).
    #[arg(short = 'L', long)]
    pub follow: bool,

    #[command(flatten)]
    pub size: SizeArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,

    /// Only what the commits in A..B added (e.g. origin/main..HEAD in CI).
    #[arg(long, value_name = "A..B", conflicts_with = "since_commit")]
    pub range: Option<String>,

    /// Same as --range COMMIT..HEAD.
    #[arg(long, value_name = "COMMIT")]
    pub since_commit: Option<String>,

    /// Also scan commit messages.
    #[arg(long)]
    pub messages: bool,

    /// Incremental audit: the first run audits everything and records it in
    /// FILE; later runs audit only commits not reachable from the recorded
    /// tips and report earlier findings too (each marked "new").
    #[arg(long, value_name = "FILE", conflicts_with_all = ["range", "since_commit"])]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub size: SizeArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct HubAuditArgs {
    /// An owner (user or organization), a repo id (NS/NAME for a model,
    /// datasets/NS/NAME, spaces/NS/NAME, kernels/NS/NAME,
    /// buckets/NS/NAME) or a Hub URL of either.
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,

    /// What is read: the kinds of repo an owner's listing includes,
    /// `variables` (each audited Space's variables), and `converted` (the
    /// Hub's generated Parquet export, `refs/convert/parquet`, of each repo;
    /// named with no kind, it keeps the default kinds).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "KINDS",
        default_value = "models,datasets,spaces,buckets,kernels,variables",
        help_heading = "Hub"
    )]
    pub include: Vec<RepoKindArg>,

    /// Leave out repos whose id (NS/NAME, or with its kind:
    /// datasets/NS/NAME) matches GLOB; a word of --include (`variables`,
    /// `kernels`, …) leaves that out instead. Repeatable.
    #[arg(long, value_name = "GLOB", help_heading = "Hub")]
    pub exclude: Vec<String>,

    /// Do not read discussions and pull-request comments.
    #[arg(long, help_heading = "Hub")]
    pub no_discussions: bool,

    /// Stop reading a Storage Bucket once this many bytes of it were
    /// downloaded (the rest is counted and named in the report).
    #[arg(long, value_name = "SIZE", default_value = "10GiB", value_parser = parse_size, help_heading = "Hub")]
    pub max_bucket_bytes: u64,

    #[command(flatten)]
    pub lfs: LfsArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub size: SizeArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ReposArgs {
    /// A file listing the repositories: one git URL (https://, or http://
    /// on a loopback host) or local path (or file:// URL) a line; blank
    /// lines and lines starting with # are skipped. "-" reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub lfs: LfsArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub size: SizeArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen for the Hub's webhooks (port 0: any free port, which
    /// is printed).
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Serve")]
    pub listen: String,

    /// The SQLite database of events, audit records, findings and alerts
    /// (created if missing; keep it on a persistent disk).
    #[arg(long, value_name = "FILE", help_heading = "Serve")]
    pub db: PathBuf,

    /// The operator listener: `/metrics` (and `/healthz`) are served there
    /// instead of on --listen. Keep it off the internet. None by default.
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Serve")]
    pub admin_listen: Option<String>,

    /// POST each new finding as JSON to this URL (https://, or http:// on
    /// a loopback host; a Slack incoming-webhook URL works). Repeatable.
    /// An alert URL is a secret: prefer --alert-file or HFLEAKS_ALERT_URLS
    /// (whitespace-separated), which `ps` does not show.
    #[arg(long, value_name = "URL", help_heading = "Serve")]
    pub alert: Vec<String>,

    /// Alert URLs, one per line (blank lines and `#` comments skipped).
    #[arg(long, value_name = "FILE", help_heading = "Serve")]
    pub alert_file: Option<PathBuf>,

    /// `live`: a new token the Hub says is valid is revoked at once
    /// (POST /api/credentials/revoke), before its alert goes out. Needs
    /// --verify.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        default_value = "never",
        help_heading = "Serve"
    )]
    pub revoke_policy: crate::serve::RevokePolicy,

    /// With --verify: how often each open incident's token is read again
    /// from one of its places and verified (e.g. 30s, 15m, 6h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration, help_heading = "Serve")]
    pub reverify_every: std::time::Duration,

    /// Audits at a time (each one repo's events).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Serve")]
    pub workers: u32,

    #[command(flatten)]
    pub lfs: LfsArgs,

    #[command(flatten)]
    pub size: SizeArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// LFS and Xet contents of Hub repos (git holds only their pointers).
#[derive(Debug, Args)]
pub struct LfsArgs {
    /// Do not download the contents of LFS and Xet files.
    #[arg(long, help_heading = "Hub")]
    pub no_lfs: bool,

    /// Download an LFS or Xet file's content only up to this size (model
    /// weights and media are never downloaded, whatever their size).
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = parse_size, help_heading = "Hub")]
    pub max_lfs_size: u64,
}

/// How an audit of many repositories is run: concurrency, its slice of the
/// list, and what it keeps between runs.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Repos audited at a time.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=64),
        help_heading = "Scale"
    )]
    pub jobs: u16,

    /// Audit only shard K of N (1 <= K <= N): the repos whose id hashes to
    /// it (see README, "Scaling out").
    #[arg(long, value_name = "K/N", conflicts_with_all = ["shard_index", "shard_count"], help_heading = "Scale")]
    pub shard: Option<String>,

    /// The shard, 0-based [default: $JOB_COMPLETION_INDEX (Kubernetes
    /// Indexed Jobs), else $HFLEAKS_SHARD_INDEX]. Needs a shard count.
    #[arg(long, value_name = "I", help_heading = "Scale")]
    pub shard_index: Option<u32>,

    /// How many shards [default: $HFLEAKS_SHARD_COUNT].
    #[arg(long, value_name = "N", help_heading = "Scale")]
    pub shard_count: Option<u32>,

    /// Incremental audit: FILE records what was audited; later runs fetch
    /// and scan only what is new, and report earlier findings too.
    #[arg(long, value_name = "FILE", help_heading = "Scale")]
    pub state: Option<PathBuf>,

    /// Keep clones in DIR and only fetch them on the next run.
    #[arg(long, value_name = "DIR", help_heading = "Scale")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports (JSON, from `hub` or `repos` with --shard).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--include`'s words: the kinds of repo listed, and a Space's variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepoKindArg {
    Models,
    Datasets,
    Spaces,
    Buckets,
    Kernels,
    /// Each audited Space's variables (`/api/spaces/NS/NAME/variables`).
    Variables,
    /// Not a kind: `refs/convert/parquet` is audited too.
    Converted,
}

#[derive(Debug, Args)]
pub struct StagedArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses a positive number of seconds (`10`, `0.5`).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "invalid duration '{s}': expected a number of seconds such as 10"
        )),
    }
}

/// Parses `123`, `10K`, `50M`, `50MiB`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size '{s}': expected a number such as 50M"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size '{s}': unknown unit '{unit}' (use K, M or G)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid size '{s}': too large"))
}

/// A duration: a number and a unit, `s`, `m`, `h` or `d` (`30s`, `6h`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{text}': expected a number and a unit, like 30s or 6h"))?;
    let secs = match unit.trim() {
        "s" | "" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        other => return Err(format!("'{text}': unknown unit '{other}' (s, m, h or d)")),
    };
    if secs == 0 {
        return Err(format!("'{text}': must be at least 1s"));
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("50MiB"), Ok(50 << 20));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5T").is_err());
    }

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_secs("10"), Ok(10.0));
        assert_eq!(parse_secs("0.5"), Ok(0.5));
        assert!(parse_secs("0").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
    }

    #[test]
    fn bare_verify_does_not_take_the_next_path() {
        let cli = Cli::parse_from(["hfleaks", "scan", "--verify", "src"]);
        let Command::Scan(args) = cli.command else {
            panic!("not scan")
        };
        assert_eq!(args.paths, [PathBuf::from("src")]);
        assert_eq!(args.report.verify, Some(Depth::Live));
        let cli = Cli::parse_from(["hfleaks", "scan", "--verify=deep"]);
        let Command::Scan(args) = cli.command else {
            panic!("not scan")
        };
        assert_eq!(args.report.verify, Some(Depth::Deep));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_a_unit() {
        use std::time::Duration;
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("6 weeks").is_err());
        assert!(parse_duration("h").is_err());
    }
}
