//! Runs a command end to end: load rules, run a source into the engine,
//! filter, verify, report, and decide the exit code. Data flows one way:
//! source → engine (via `detect`) → filters → verify (opt.) → report.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cli::{ColorChoice, ReportArgs, RulesAction, ScanArgs, VerifyArgs};
use crate::detect::detect;
use crate::engine::Engine;
use crate::filter::{Filters, IGNORE_FILE};
use crate::finding::{Finding, Report, ScanError, ScanStats};
use crate::report::{self, Format, RenderOptions};
use crate::rules::{self, Rule};
use crate::sources::dir::{WalkOptions, scan_paths};
use crate::sources::stdin::scan_stdin;
use crate::sources::{Sink, display_path, tokens};
use crate::verify;

/// Exit code: nothing found.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: an error stopped the run or, with no finding, files could not be read.
pub const EXIT_ERROR: i32 = 2;

/// Collects what the engine finds in each chunk, from any number of threads.
pub struct Collector<'a> {
    engine: &'a Engine,
    findings: Mutex<Vec<Finding>>,
    errors: Mutex<Vec<ScanError>>,
    quiet: bool,
}

impl<'a> Collector<'a> {
    pub fn new(engine: &'a Engine, quiet: bool) -> Self {
        Collector {
            engine,
            findings: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            quiet,
        }
    }

    pub fn into_parts(self) -> (Vec<Finding>, Vec<ScanError>) {
        (
            self.findings
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
            self.errors.into_inner().unwrap_or_else(|e| e.into_inner()),
        )
    }

    pub fn push_error(&self, path: &str, message: String) {
        let error = ScanError {
            path: path.to_string(),
            message,
        };
        eprintln!("{}", error.line());
        lock(&self.errors).push(error);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sink for Collector<'_> {
    fn chunk(&self, path: &str, content: &[u8]) {
        let found = detect(self.engine, content, path);
        if !found.is_empty() {
            lock(&self.findings).extend(found);
        }
    }

    fn error(&self, path: &str, message: String) {
        self.push_error(path, message);
    }

    fn skipped(&self, path: &str, reason: String) {
        if !self.quiet {
            eprintln!("hfleaks: note: skipped {path}: {reason}");
        }
    }
}

/// Loads the built-in rules plus `--rules` paths, or says which file is wrong.
pub fn load_rules(extra: &[PathBuf]) -> Result<Vec<Rule>> {
    rules::load_all(extra).map_err(anyhow::Error::from)
}

/// Sets the size of the rayon pool used by sources and verification.
pub fn set_threads(threads: usize) {
    if threads > 0 {
        // Fails only if a pool exists already, which then keeps its size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

/// `hfleaks scan`.
pub fn scan(args: ScanArgs) -> Result<i32> {
    let started = Instant::now();
    // A Hub endpoint tokens must not go to is refused before the scan.
    verify::Options::from_args(&args.report)?;
    let rules = load_rules(&args.report.rules)?;
    set_threads(args.report.threads);
    let engine = Engine::new(rules);
    let mut filters = load_filters(&args.report, &project_ignore_files(&args.paths))?;
    filters.set_roots(
        args.paths
            .iter()
            .map(|p| display_path(p.strip_prefix("./").unwrap_or(p)))
            .collect(),
    );

    let (stdin, paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.paths.iter().partition(|p| p.as_os_str() == "-");
    let paths: Vec<PathBuf> = paths.into_iter().cloned().collect();
    let collector = Collector::new(&engine, args.report.quiet);
    let mut stats = ScanStats {
        kind: if paths.is_empty() { "stdin" } else { "scan" }.to_string(),
        root: args
            .paths
            .iter()
            .map(|p| display_path(p))
            .collect::<Vec<_>>()
            .join(" "),
        ..ScanStats::default()
    };
    if !stdin.is_empty() {
        stats.bytes += scan_stdin(&collector);
        stats.files += 1;
    }
    if !paths.is_empty() {
        let opts = WalkOptions {
            follow: args.follow,
            no_ignore: args.no_ignore,
            max_file_size: args.max_file_size,
            threads: args.report.threads,
        };
        let walked = scan_paths(&paths, &opts, &collector);
        stats.files += walked.files;
        stats.bytes += walked.bytes;
        stats.skipped += walked.skipped;
    }
    let (findings, errors) = collector.into_parts();
    finish(
        Report {
            scan: stats,
            findings,
            errors,
            ..Report::default()
        },
        &filters,
        engine.rules(),
        &args.report,
        started,
    )
}

/// `hfleaks verify`: checks tokens given as arguments or on standard input.
/// A candidate is sent only if a rule matches the whole of it; any other is
/// named (redacted) on stderr and in the report's errors.
pub fn verify(mut args: VerifyArgs) -> Result<i32> {
    let started = Instant::now();
    args.report.verify.get_or_insert(verify::Depth::Live);
    verify::Options::from_args(&args.report)?;
    let engine = Engine::new(load_rules(&args.report.rules)?);
    let filters = load_filters(&args.report, &[])?;
    let candidates = tokens::read(&args.tokens).context("cannot read standard input")?;
    let mut report = Report {
        scan: ScanStats {
            kind: "verify".to_string(),
            root: candidates.first().map(|c| c.path).unwrap_or("").to_string(),
            ..ScanStats::default()
        },
        ..Report::default()
    };
    for c in candidates {
        report.scan.bytes += c.text.len() as u64;
        let whole = detect(&engine, c.text.as_bytes(), c.path)
            .into_iter()
            .find(|f| f.column == 1 && f.end_line == 1 && f.end_column == c.text.len() + 1);
        match whole {
            Some(mut f) => {
                f.line = c.line;
                f.end_line = c.line;
                report.findings.push(f);
            }
            None => {
                let message = format!(
                    "not a Hugging Face token ({}): not sent",
                    crate::finding::redact(&c.text)
                );
                eprintln!("hfleaks: {}:{}: {message}", c.path, c.line);
                report.errors.push(ScanError {
                    path: format!("{}:{}", c.path, c.line),
                    message,
                });
            }
        }
    }
    finish(report, &filters, engine.rules(), &args.report, started)
}

/// `.hfleaksignore` files that apply to a scan: the one in the current
/// directory and the one at each directory root (or beside each file root).
pub fn project_ignore_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(IGNORE_FILE)];
    for root in roots.iter().filter(|p| p.as_os_str() != "-") {
        let dir = if root.is_dir() {
            root.as_path()
        } else {
            root.parent().unwrap_or(Path::new(""))
        };
        let file = if dir.as_os_str().is_empty() {
            PathBuf::from(IGNORE_FILE)
        } else {
            dir.join(IGNORE_FILE)
        };
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// The filters of `--ignore-file`, the project's ignore files and `--baseline`.
pub fn load_filters(args: &ReportArgs, project_files: &[PathBuf]) -> Result<Filters> {
    let mut filters = Filters::load(project_files, args.baseline.as_deref())?;
    for file in &args.ignore_file {
        filters.add_ignore_file(file)?;
    }
    Ok(filters)
}

/// Filters, verifies (with `--verify`), sorts, redacts and writes the
/// report; returns the exit code.
pub fn finish(
    mut report: Report,
    filters: &Filters,
    rules: &[Rule],
    args: &ReportArgs,
    started: Instant,
) -> Result<i32> {
    let verify_opts = verify::Options::from_args(args)?;
    report.findings.retain(|f| filters.keep(f));
    // Verification needs the raw secrets: before redaction.
    verify::verify_findings(&mut report.findings, rules, &verify_opts);
    report.sort();
    if !args.show_secrets {
        report.redact();
    }
    report.scan.duration_ms = started.elapsed().as_millis() as u64;
    emit(&report, rules, args)?;
    if !args.quiet {
        eprintln!("hfleaks: {}", summary(&report));
    }
    Ok(fail_on_exit_code(
        &report,
        args.exit_code,
        verify_opts.fail_on,
    ))
}

/// [`exit_code`] under `--fail-on`: findings that do not fail exit 0.
pub fn fail_on_exit_code(report: &Report, findings_code: i32, fail_on: verify::FailOn) -> i32 {
    if report.findings.iter().any(|f| fail_on.fails(f)) {
        findings_code
    } else if report.findings.is_empty() {
        exit_code(report, findings_code)
    } else {
        EXIT_CLEAN
    }
}

/// Renders the report to each `-o FILE` (format from `--format`, else from
/// the file's extension) or to standard output. A closed pipe on standard
/// output (`| head`) ends the output quietly.
pub fn emit(report: &Report, rules: &[Rule], args: &ReportArgs) -> Result<()> {
    let fallback = args.format.unwrap_or(Format::Text);
    if !args.output.is_empty() {
        for path in &args.output {
            let format = match (args.output.len(), args.format) {
                (1, Some(f)) => f,
                _ => Format::for_path(path).unwrap_or(fallback),
            };
            let opts = RenderOptions {
                format,
                color: false,
                rules,
            };
            report::write_file(path, report, &opts)?;
        }
        return Ok(());
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let opts = RenderOptions {
        format: fallback,
        color,
        rules,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = report::render(report, &opts, &mut out).and_then(|_| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// The exit-code contract: findings → `findings_code`; errors alone → 2.
pub fn exit_code(report: &Report, findings_code: i32) -> i32 {
    if !report.findings.is_empty() {
        findings_code
    } else if !report.errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

/// One line: what was scanned and what was found.
pub fn summary(r: &Report) -> String {
    let s = &r.scan;
    if s.kind == "verify" {
        return format!(
            "checked {} in {:.2} s: {}",
            plural((r.findings.len() + r.errors.len()) as u64, "input"),
            s.duration_ms as f64 / 1000.0,
            plural(r.findings.len() as u64, "token")
        );
    }
    let mut what = Vec::new();
    if s.commits > 0 || s.kind == "history" {
        what.push(plural(s.commits, "commit"));
    }
    if s.blobs > 0 || s.kind == "history" || s.kind == "staged" {
        what.push(plural(s.blobs, "blob"));
    }
    if s.files > 0 || what.is_empty() {
        what.push(plural(s.files, "file"));
    }
    let mut line = format!(
        "scanned {} ({}) in {:.2} s: {}",
        what.join(", "),
        human_bytes(s.bytes),
        s.duration_ms as f64 / 1000.0,
        plural(r.findings.len() as u64, "finding")
    );
    if s.skipped > 0 {
        line.push_str(&format!(", {} skipped", s.skipped));
    }
    if !r.errors.is_empty() {
        line.push_str(&format!(", {}", plural(r.errors.len() as u64, "error")));
    }
    line
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `hfleaks rules list|test`.
pub fn rules_command(action: RulesAction) -> Result<i32> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match action {
        RulesAction::List { rules } => {
            let rules = load_rules(&rules)?;
            list_rules(&rules, &mut out).map(|_| EXIT_CLEAN)
        }
        RulesAction::Test { rules } => {
            let rules = load_rules(&rules)?;
            test_rules(rules, &mut out)
        }
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_CLEAN),
        other => other.context("cannot write to standard output"),
    }
}

fn list_rules(rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in rules {
        writeln!(
            out,
            "{:width$}  {:8}  {}",
            r.id,
            r.severity.as_str(),
            r.description
        )?;
    }
    Ok(())
}

/// Runs each rule's examples through the whole engine: a positive example
/// must produce a finding of that rule, a negative one must not.
fn test_rules(rules: Vec<Rule>, out: &mut dyn Write) -> io::Result<i32> {
    let engine = Engine::new(rules);
    let mut failures = 0;
    for (i, rule) in engine.rules().iter().enumerate() {
        let mut problems = Vec::new();
        for ex in &rule.examples.positive {
            if !engine.scan(ex.as_bytes()).iter().any(|m| m.rule == i) {
                problems.push(format!("positive example not matched: {ex}"));
            }
        }
        for ex in &rule.examples.negative {
            if engine.scan(ex.as_bytes()).iter().any(|m| m.rule == i) {
                problems.push(format!("negative example matched: {ex}"));
            }
        }
        let total = rule.examples.positive.len() + rule.examples.negative.len();
        if problems.is_empty() {
            writeln!(out, "ok    {} ({total} examples)", rule.id)?;
        } else {
            failures += problems.len();
            writeln!(
                out,
                "FAIL  {} ({}): {} of {total} examples",
                rule.id,
                rule.source,
                problems.len()
            )?;
            for p in problems {
                writeln!(out, "      {p}")?;
            }
        }
    }
    writeln!(
        out,
        "{} rules, {}",
        engine.rules().len(),
        if failures == 0 {
            "all examples hold".to_string()
        } else {
            plural(failures as u64, "failure")
        }
    )?;
    Ok(if failures == 0 { EXIT_CLEAN } else { 1 })
}
