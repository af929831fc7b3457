//! The git commands: `history` (every blob of every ref once, or a range)
//! and `staged` (what the next commit would record). Sources come from
//! `sources::git`/`sources::staged`, matching from `detect`, attribution
//! from `provenance`; reporting is shared with `scan` through `app::finish`.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow};
use git2::{Oid, Repository};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::{self, human_bytes};
use crate::cli::{HistoryArgs, ReportArgs, StagedArgs};
use crate::detect::{detect, detect_as};
use crate::engine::Engine;
use crate::filter::{Filters, IGNORE_FILE};
use crate::finding::{Finding, Report, ScanError, ScanStats};
use crate::notebook::is_notebook;
use crate::provenance;
use crate::sources::display_path;
use crate::sources::git::{self, BlobRef, BlobSink, commit_info};
use crate::sources::objects::{self, Objects};
use crate::sources::staged::staged_files;

/// A progress bar on stderr, when it is a terminal and not turned off:
/// items done of `total`, and the bytes matched.
struct Progress {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
}

impl Progress {
    fn new(args: &ReportArgs, total: u64, unit: &str) -> Progress {
        let on = total > 0 && !args.no_progress && !args.quiet && std::io::stderr().is_terminal();
        let bar = on.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!(
                "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit}, {{msg}} matched, ETA {{eta}}"
            );
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(human_bytes(0));
            bar
        });
        Progress {
            bar,
            bytes: AtomicU64::new(0),
        }
    }

    /// One more item done, with `bytes` matched.
    fn tick(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
            bar.inc(1);
            if bar.position() % 256 == 0 {
                bar.set_message(human_bytes(total));
            }
        }
    }

    /// A line on stderr, above the bar if there is one.
    fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Collects findings per blob while blobs are read in parallel.
struct BlobCollector<'a> {
    engine: &'a Engine,
    found: Mutex<HashMap<Oid, Vec<Finding>>>,
    errors: Mutex<Vec<ScanError>>,
    quiet: bool,
    progress: Progress,
}

impl BlobSink for BlobCollector<'_> {
    fn blob(&self, blob: &BlobRef, content: &[u8]) {
        let found = detect(self.engine, content, &blob.path);
        if !found.is_empty() {
            self.found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(blob.id, found);
        }
    }

    fn error(&self, blob: &BlobRef, message: String) {
        self.progress.tick(0);
        let error = ScanError {
            path: blob.path.clone(),
            message,
        };
        self.progress.say(error.line());
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error);
    }

    fn skipped(&self, blob: &BlobRef, size: u64) {
        self.progress.tick(0);
        self.note_skipped(blob, size);
    }

    fn progress(&self, bytes: u64) {
        self.progress.tick(bytes);
    }
}

impl<'a> BlobCollector<'a> {
    fn new(engine: &'a Engine, quiet: bool, progress: Progress) -> Self {
        BlobCollector {
            engine,
            found: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
            quiet,
            progress,
        }
    }

    /// Says that a blob over --max-file-size was not scanned.
    fn note_skipped(&self, blob: &BlobRef, size: u64) {
        if !self.quiet {
            self.progress.say(format!(
                "hfleaks: note: skipped {} (blob {}): {} is larger than --max-file-size",
                blob.path,
                blob.id,
                human_bytes(size)
            ));
        }
    }

    /// The findings by blob and the errors, once reading is done.
    fn finish(self) -> (HashMap<Oid, Vec<Finding>>, Vec<ScanError>) {
        self.progress.finish();
        let found = self.found.into_inner().unwrap_or_else(|e| e.into_inner());
        let errors = self.errors.into_inner().unwrap_or_else(|e| e.into_inner());
        (found, errors)
    }
}

fn open_repo(path: &Path) -> Result<Repository> {
    git::open(path).map_err(|e| anyhow!(e))
}

/// The repository's `.hfleaksignore`: from the work tree, or from HEAD's
/// tree in a bare repository. Its path patterns are relative to the root.
fn repo_filters(repo: &Repository, args: &ReportArgs) -> Result<Filters> {
    let mut filters = app::load_filters(args, &[])?;
    if let Some(workdir) = repo.workdir() {
        let file = workdir.join(IGNORE_FILE);
        if file.is_file() {
            let text = std::fs::read(&file)?;
            filters.add_ignore_text(
                &String::from_utf8_lossy(&text),
                Path::new("."),
                &display_path(&file),
            )?;
        }
    } else if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
        if let Ok(entry) = tree.get_path(Path::new(IGNORE_FILE)) {
            if let Ok(blob) = repo.find_blob(entry.id()) {
                filters.add_ignore_text(
                    &String::from_utf8_lossy(blob.content()),
                    Path::new("."),
                    "HEAD:.hfleaksignore",
                )?;
            }
        }
    }
    Ok(filters)
}

fn repo_root(repo: &Repository) -> String {
    let path: PathBuf = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    display_path(&path).trim_end_matches('/').to_string()
}

fn to_errors(list: Vec<(String, String)>) -> Vec<ScanError> {
    list.into_iter()
        .map(|(path, message)| {
            let error = ScanError { path, message };
            eprintln!("{}", error.line());
            error
        })
        .collect()
}

/// `hfleaks history`: every reachable blob once, attributed to the commit
/// that introduced each token; or, with a range, what its commits added.
pub fn history(args: HistoryArgs) -> Result<i32> {
    let started = Instant::now();
    let rules = app::load_rules(&args.report.rules)?;
    app::set_threads(args.report.threads);
    // A bad --hf-endpoint fails now, not after a long walk.
    crate::verify::Options::from_args(&args.report)?;
    let repo = open_repo(&args.repo)?;
    let filters = repo_filters(&repo, &args.report)?;
    let engine = Engine::new(rules);
    if repo.is_shallow() && !args.report.quiet {
        eprintln!(
            "hfleaks: note: shallow clone: history is truncated, commits before the shallow boundary are not scanned"
        );
    }
    let range = match (&args.range, &args.since_commit) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(c)) => Some(format!("{c}..HEAD")),
        _ => None,
    };
    let mut report = match range {
        Some(range) => history_range(&repo, &engine, &range, &args)?,
        None => history_full(&repo, &engine, &args)?,
    };
    report.scan.root = repo_root(&repo);
    app::finish(report, &filters, engine.rules(), &args.report, started)
}

/// With HFLEAKS_TIMING set, prints how long each phase took (for benchmarks).
fn phase(name: &str, since: &mut Instant) {
    if std::env::var_os("HFLEAKS_TIMING").is_some() {
        // Resident and peak memory so far, where the kernel tells (Linux).
        let memory = std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        eprintln!(
            "hfleaks: timing: {name}: {:.3} s ({memory})",
            since.elapsed().as_secs_f64()
        );
    }
    *since = Instant::now();
}

fn history_full(repo: &Repository, engine: &Engine, args: &HistoryArgs) -> Result<Report> {
    let mut t = Instant::now();
    let mut walk_errors = Vec::new();
    let tips = git::tips(repo, &mut walk_errors).map_err(|e| anyhow!(e))?;
    let handles = git::Handles::open(repo.path()).map_err(|e| anyhow!(e))?;
    // No ref, nothing reachable (an empty repository): nothing to decode.
    let mut objects = match tips.is_empty() {
        true => Objects::default(),
        false => Objects::open(repo.path(), &mut walk_errors).map_err(|e| anyhow!(e))?,
    };
    let progress = Progress::new(&args.report, objects.packed() as u64, "objects");
    let mut decoded = objects::decode_packs(
        &mut objects,
        args.max_file_size,
        // Paths are not known yet: cells are located in every blob with a
        // finding, and dropped later where the path is not a notebook's.
        &|data| Some(detect_as(engine, data, "", true)).filter(|f| !f.is_empty()),
        &|size| progress.tick(size),
    );
    progress.finish();
    phase("decode packs", &mut t);
    walk_errors.append(&mut decoded.errors);
    let (commits, shapes) = objects::walk_commits(
        repo,
        &objects,
        &handles,
        std::mem::take(&mut decoded.commits),
        &tips,
        &mut walk_errors,
    );
    phase("walk commits", &mut t);
    let graph = std::mem::take(&mut decoded.graph);
    let mut en = objects::enumerate(&objects, &handles, graph, commits, shapes);
    phase("enumerate blobs", &mut t);
    walk_errors.append(&mut en.errors);

    // What the packs gave is matched already; the rest (objects outside
    // packs) is read one by one.
    let mut stats = git::ReadStats::default();
    let mut found = HashMap::new();
    let mut skipped = Vec::new();
    let mut rest = Vec::new();
    for (blob, &n) in en.blobs.iter().zip(&en.numbers) {
        let Some(&size) = decoded.blob_sizes.get(&n) else {
            rest.push(blob.clone());
            continue;
        };
        if size > args.max_file_size {
            skipped.push((blob, size));
            continue;
        }
        if let Some(mut list) = decoded.found.remove(&n) {
            if !is_notebook(&blob.path) {
                for f in &mut list {
                    f.notebook = None;
                }
            }
            found.insert(blob.id, list);
        }
        stats.blobs += 1;
        stats.bytes += size;
    }
    let progress = Progress::new(&args.report, rest.len() as u64, "blobs");
    let collector = BlobCollector::new(engine, args.report.quiet, progress);
    for (blob, size) in skipped {
        stats.skipped += 1;
        collector.note_skipped(blob, size);
    }
    stats += git::read_blobs(&handles, &rest, args.max_file_size, &collector);
    let (more, mut errors) = collector.finish();
    found.extend(more);
    phase("read and match the other blobs", &mut t);
    let (mut findings, attribution_errors) = provenance::attribute(repo, &en, &found);
    phase("provenance", &mut t);
    walk_errors.extend(attribution_errors);
    errors.extend(to_errors(walk_errors));
    if args.messages {
        findings.extend(message_findings(repo, engine, &en.commits));
    }
    Ok(history_report(en.commits.len(), &stats, findings, errors))
}

fn history_report(
    commits: usize,
    stats: &git::ReadStats,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
) -> Report {
    Report {
        scan: ScanStats {
            kind: "history".into(),
            commits: commits as u64,
            blobs: stats.blobs,
            bytes: stats.bytes,
            skipped: stats.skipped,
            ..ScanStats::default()
        },
        findings,
        errors,
        ..Report::default()
    }
}

/// Findings in commit messages: path "" and the commit.
fn message_findings(repo: &Repository, engine: &Engine, commits: &[Oid]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for &id in commits {
        let Ok(commit) = repo.find_commit(id) else {
            continue;
        };
        for mut f in detect(engine, commit.message_bytes(), "") {
            if seen.insert(f.secret_sha256.clone()) {
                f.commit = Some(commit_info(&commit));
                out.push(f);
            }
        }
    }
    out
}

fn history_range(
    repo: &Repository,
    engine: &Engine,
    range: &str,
    args: &HistoryArgs,
) -> Result<Report> {
    objects::verify_pack_indices(repo.path()).map_err(|e| anyhow!(e))?;
    let commits = git::range_commits(repo, range).map_err(|e| anyhow!(e))?;
    let changes = git::changes(repo, &commits).map_err(|e| anyhow!(e))?;
    let mut seen = HashSet::new();
    let blobs: Vec<BlobRef> = changes
        .iter()
        .filter_map(|c| {
            c.new.filter(|id| seen.insert(*id)).map(|id| BlobRef {
                id,
                path: c.path.clone(),
            })
        })
        .collect();
    let handles = git::Handles::open(repo.path()).map_err(|e| anyhow!(e))?;
    let progress = Progress::new(&args.report, blobs.len() as u64, "blobs");
    let collector = BlobCollector::new(engine, args.report.quiet, progress);
    let stats = git::read_blobs(&handles, &blobs, args.max_file_size, &collector);
    let (found, errors) = collector.finish();

    let tip = repo
        .revparse(range)
        .ok()
        .and_then(|r| r.to().and_then(|o| o.peel_to_tree().ok()));
    let contains = |blob: Option<Oid>, secret: &[u8]| {
        blob.and_then(|id| repo.find_blob(id).ok())
            .is_some_and(|b| memchr::memmem::find(b.content(), secret).is_some())
    };
    let mut findings = Vec::new();
    let mut reported = HashSet::new();
    for (i, change) in changes.iter().enumerate() {
        let Some(list) = change.new.and_then(|id| found.get(&id)) else {
            continue;
        };
        for f in list {
            let secret = f.secret.as_bytes();
            // Already there before this commit (an old token in an edited or moved file).
            if contains(change.old, secret)
                || !reported.insert((f.secret_sha256.clone(), change.path.clone()))
            {
                continue;
            }
            let mut f = f.clone();
            f.path = change.path.clone();
            f.commit = repo
                .find_commit(change.commit)
                .ok()
                .map(|c| commit_info(&c));
            let at_tip = tip
                .as_ref()
                .and_then(|t| t.get_path(Path::new(&change.path)).ok())
                .is_some_and(|e| contains(Some(e.id()), secret));
            f.at_head = Some(at_tip);
            if !at_tip {
                f.removed_in = changes[i + 1..]
                    .iter()
                    .find(|c| c.path == change.path && !contains(c.new, secret))
                    .and_then(|c| repo.find_commit(c.commit).ok())
                    .map(|c| commit_info(&c));
            }
            findings.push(f);
        }
    }
    if args.messages {
        findings.extend(message_findings(repo, engine, &commits));
    }
    Ok(history_report(commits.len(), &stats, findings, errors))
}

/// `hfleaks staged`: the lines the staged change adds, read from the index.
pub fn staged(args: StagedArgs) -> Result<i32> {
    let started = Instant::now();
    let rules = app::load_rules(&args.report.rules)?;
    let repo = open_repo(&args.repo)?;
    let filters = repo_filters(&repo, &args.report)?;
    let engine = Engine::new(rules);
    let (files, problems) = staged_files(&repo).map_err(|e| anyhow!(e))?;
    let mut findings = Vec::new();
    let mut bytes = 0;
    for file in &files {
        bytes += file.content.len() as u64;
        findings.extend(
            detect(&engine, &file.content, &file.path)
                .into_iter()
                .filter(|f| {
                    file.added_lines
                        .as_ref()
                        .is_none_or(|lines| lines.contains(&f.line))
                }),
        );
    }
    let report = Report {
        scan: ScanStats {
            kind: "staged".into(),
            root: repo_root(&repo),
            files: files.len() as u64,
            blobs: files.len() as u64,
            bytes,
            ..ScanStats::default()
        },
        findings,
        errors: to_errors(problems),
        ..Report::default()
    };
    let code = app::finish(report, &filters, engine.rules(), &args.report, started)?;
    if code != 0 && code == args.report.exit_code {
        eprint!("{BLOCKED_HINT}");
    }
    Ok(code)
}

/// What a pre-commit user reads when `staged` blocks a commit.
pub const BLOCKED_HINT: &str = "\
hfleaks: commit blocked: the staged changes add a Hugging Face token (see above).
  fix:   remove the token from the file, read it from the environment instead
         (os.environ[\"HF_TOKEN\"]; huggingface_hub reads HF_TOKEN by itself),
         and `git add` the file again. If the token was ever pushed, shared or
         run in a public notebook, revoke it: https://huggingface.co/settings/tokens
  false positive? add `hfleaks:allow` in a comment on that line, or put the
         finding's secret_sha256 (or a path pattern) in .hfleaksignore.
";
