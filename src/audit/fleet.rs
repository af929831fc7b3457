//! A fleet of repositories audited as one (`hub`, `repos`): the shard of
//! the list this run covers, `--jobs` repos at a time on shared clients,
//! each cloned (or fetched into the cache, or opened where it is) and given
//! its git audit (from its record, with a state), what lies outside git
//! (discussions, a bucket's files) read by workers of its own, and one
//! report of them all in the list's order whatever order they finish in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use git2::{Oid, Repository};

use super::git::{self, LfsContents, Limits};
use super::variables::is_variable;
use crate::detect::Scanner;
use crate::finding::{
    ContentStats, Finding, RepoKind, RepoRef, RepoStats, Report, ScanError, ScanKind, ScanStats,
};
use crate::http::Hub;
use crate::shard::{self, Shard};
use crate::sources::hub::clone::{CloneError, clone_bare};
use crate::state::{RepoState, State};
use crate::ui::{self, Progress};

/// Clone attempts for a repo whose transfer was cut off.
const CLONE_ATTEMPTS: usize = 3;

/// One repository to audit.
pub struct Unit {
    pub repo: RepoRef,
    /// Listed as private.
    pub private: bool,
    pub source: Source,
}

/// Where a unit's git history comes from.
pub enum Source {
    /// Cloned over HTTP with `client`, sending `login` (HTTP Basic) to its
    /// endpoint only.
    Remote {
        url: String,
        client: Arc<Hub>,
        login: Option<(String, String)>,
    },
    /// A repository on this machine, opened where it is.
    Local(PathBuf),
    /// No git at all (a Storage Bucket): only [`Extras::outside_git`].
    Files,
}

/// What a kind of fleet adds to each repo's git audit: its discussions,
/// the links of its findings.
pub trait Extras: Sync {
    /// Each finding's `url`, `pull_request` and the like.
    fn decorate(&self, _unit: &Unit, _findings: &mut [Finding], _git: &Repository) {}

    /// The findings outside git (Hub discussions, a Space's variables), how
    /// many discussions were read, and their record for the state; `previous` is the
    /// earlier record, if any (then findings are marked `new`).
    fn outside_git(
        &self,
        _scanner: &Scanner,
        _unit: &Unit,
        _previous: Option<&RepoState>,
    ) -> Outside {
        Outside::default()
    }

    /// Where the unit's LFS and Xet contents are read from, if they are.
    fn lfs<'a>(&'a self, _unit: &Unit) -> Option<Box<dyn LfsContents + 'a>> {
        None
    }
}

/// What [`Extras::outside_git`] gives.
#[derive(Default)]
pub struct Outside {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub discussions: u64,
    pub record: BTreeMap<u64, BTreeMap<String, String>>,
    /// A bucket's files: path → content hash scanned, for the state.
    pub files: BTreeMap<String, String>,
    /// A Space's variables: key → `updatedAt` scanned, for the state.
    pub variables: BTreeMap<String, String>,
    /// What was downloaded, and left out.
    pub content: ContentStats,
    /// Why that part failed as a whole.
    pub failure: Option<String>,
}

/// How the fleet runs.
pub struct Options {
    pub limits: Limits,
    pub jobs: usize,
    pub cache: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub shard: Option<Shard>,
    /// `--include converted`: the Hub's generated Parquet export
    /// (`refs/convert/parquet`) is fetched and audited too.
    pub converted: bool,
}

/// A fleet audited: the units of the shard, and what each gave.
pub struct Fleet {
    pub units: Vec<Unit>,
    audits: Vec<RepoAudit>,
}

impl Fleet {
    /// Audits `units` (the whole list, before sharding) with `state`'s
    /// records, if any: the fleet, and the report of it all (its listing
    /// and shard set; its root and rules are the caller's).
    pub fn audit(
        scanner: &Scanner,
        kind: ScanKind,
        units: Vec<Unit>,
        options: &Options,
        extras: &dyn Extras,
        state: Option<&State>,
    ) -> (Fleet, Report) {
        let ids: Vec<String> = units.iter().map(|u| u.repo.display()).collect();
        let listing = shard::listing(&ids);
        let units: Vec<Unit> = match options.shard {
            Some(s) => units
                .into_iter()
                .filter(|u| s.holds(&u.repo.display()))
                .collect(),
            None => units,
        };
        match options.shard {
            Some(s) => ui::info(format!(
                "auditing shard {}: {} of {}",
                s.label(),
                ui::plural(units.len() as u64, "repo"),
                listing.count
            )),
            None => ui::info(format!(
                "auditing {}",
                ui::plural(units.len() as u64, "repo")
            )),
        }
        let audits = audit_all(scanner, &units, options, extras, state);
        let mut report = merge(&audits, kind);
        report.scan.listing = Some(listing);
        report.scan.shard = options.shard.map(|s| s.label());
        (Fleet { units, audits }, report)
    }

    /// How many repos were audited in full, and how many from their record.
    pub fn counts(&self) -> (u64, u64) {
        let from_state = self.audits.iter().filter(|a| a.incremental).count() as u64;
        (self.audits.len() as u64 - from_state, from_state)
    }

    /// Each repo's record in `state`, with `kept`: the findings the
    /// records keep, as the run's finish gave them back.
    pub fn record(&self, state: &mut State, kept: Vec<Finding>) {
        let mut by_repo: HashMap<RepoRef, Vec<Finding>> = HashMap::new();
        for f in kept {
            if let Some(repo) = f.repo.clone() {
                by_repo.entry(repo).or_default().push(f);
            }
        }
        for (unit, audit) in self.units.iter().zip(&self.audits) {
            let earlier = state.repos.get(&unit.repo.display());
            let Some(mut record) = record_of(unit, audit, earlier) else {
                continue;
            };
            record.findings = by_repo.remove(&unit.repo).unwrap_or_default();
            state.repos.insert(unit.repo.display(), record);
        }
    }
}

/// A repo's new record, without its findings (the caller's, redacted);
/// `None` when its git part failed and there was no record before. A repo
/// whose git part failed keeps its recorded tips and commits (its earlier
/// git findings were carried into the report).
fn record_of(unit: &Unit, audit: &RepoAudit, earlier: Option<&RepoState>) -> Option<RepoState> {
    let (tips, commits) = match (&audit.tips, earlier) {
        _ if matches!(unit.source, Source::Files) => (BTreeMap::new(), String::new()),
        (Some(t), _) => (t.clone(), crate::state::format_commits(&audit.commits)),
        (None, Some(e)) => (e.tips.clone(), e.commits.clone()),
        (None, None) => return None,
    };
    Some(RepoState {
        tips,
        commits,
        discussions: audit.discussions.clone(),
        files: audit.files.clone(),
        variables: audit.variables.clone(),
        findings: Vec::new(),
    })
}

/// One unit audited on its own, from its record (`serve`, one repo's
/// events at a time).
pub struct Single {
    /// Every finding, `repo` and `new` set (the earlier ones carried).
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    /// The new record, its findings left to the caller; `None` when the
    /// git part failed with no record before.
    pub record: Option<RepoState>,
    /// The git part failed (the errors say why): what is reported is the
    /// earlier record's.
    pub git_failed: bool,
    /// Why the git part failed, if it did.
    pub git_error: Option<String>,
    /// Why what lies outside git (discussions, a bucket) failed as a
    /// whole, if it did.
    pub outside_error: Option<String>,
}

/// Audits `unit` from `previous` (in full without one: every finding new),
/// its git part and what lies outside git, as a fleet audits each unit.
pub fn audit_one(
    scanner: &Scanner,
    unit: &Unit,
    options: &Options,
    extras: &dyn Extras,
    previous: Option<&RepoState>,
) -> Single {
    let first_time = RepoState::default();
    let git = git_part(scanner, unit, options, extras, true, previous);
    let git_error = git.result.as_ref().and_then(|r| r.as_ref().err().cloned());
    let outside = extras.outside_git(scanner, unit, Some(previous.unwrap_or(&first_time)));
    let outside_error = outside.failure.clone();
    let audit = combine(unit, git, outside);
    let record = record_of(unit, &audit, previous);
    Single {
        findings: audit.findings,
        errors: audit.errors,
        record,
        git_failed: git_error.is_some(),
        git_error,
        outside_error,
    }
}

/// What auditing one repo gave.
struct RepoAudit {
    stats: RepoStats,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    bytes: u64,
    skipped: u64,
    /// The tips audited (`None`: the git part failed), and every commit.
    tips: Option<BTreeMap<String, String>>,
    commits: Vec<Oid>,
    discussions: BTreeMap<u64, BTreeMap<String, String>>,
    files: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    incremental: bool,
}

/// Workers reading what lies outside git (discussions, buckets) per
/// `--jobs` worker: they mostly wait on the API, so more of them than git
/// workers keep the run's request pool busy.
const OUTSIDE_WORKERS_PER_JOB: usize = 2;

/// Audits `units`, `options.jobs` git audits at a time; what lies outside
/// git (discussions, a bucket's files) is read by workers of its own,
/// apart from the git workers, so a repo's discussions never wait for its
/// clone, nor the next clone for them. The results in `units`' order.
fn audit_all(
    scanner: &Scanner,
    units: &[Unit],
    options: &Options,
    extras: &dyn Extras,
    state: Option<&State>,
) -> Vec<RepoAudit> {
    let progress = Progress::over_inputs(units.len() as u64, "repos");
    let found = AtomicU64::new(0);
    let gits: Mutex<Vec<Option<GitPart>>> = Mutex::new(units.iter().map(|_| None).collect());
    let outsides: Mutex<Vec<Option<Outside>>> = Mutex::new(units.iter().map(|_| None).collect());
    let previous = |unit: &Unit| state.and_then(|s| s.repos.get(&unit.repo.display()));
    // With a state, a repo seen for the first time has an empty record.
    let first_time = RepoState::default();
    let stateful = state.is_some();
    let (git_next, outside_next) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..options.jobs.min(units.len()).max(1) {
            s.spawn(|| {
                loop {
                    let i = git_next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    progress.say(&format!(
                        "{}, {} so far",
                        unit.repo.display(),
                        ui::plural(found.load(Ordering::Relaxed), "finding")
                    ));
                    let part = git_part(scanner, unit, options, extras, stateful, previous(unit));
                    if let Some(Ok(done)) = &part.result {
                        found.fetch_add(done.report.findings.len() as u64, Ordering::Relaxed);
                    }
                    progress.step();
                    gits.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(part);
                }
            });
        }
        let outside_workers = (OUTSIDE_WORKERS_PER_JOB * options.jobs).min(units.len());
        for _ in 0..outside_workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = outside_next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    let record = stateful.then(|| previous(unit).unwrap_or(&first_time));
                    let outside = extras.outside_git(scanner, unit, record);
                    outsides.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outside);
                }
            });
        }
    });
    progress.finish_inputs();
    let gits = gits.into_inner().unwrap_or_else(|p| p.into_inner());
    let outsides = outsides.into_inner().unwrap_or_else(|p| p.into_inner());
    units
        .iter()
        .zip(gits.into_iter().zip(outsides))
        .map(|(unit, (git, outside))| {
            combine(
                unit,
                git.expect("every unit's git part is audited once"),
                outside.expect("every unit's outside part is read once"),
            )
        })
        .collect()
}

/// A repo's git part: the audit (`None`: no git, a bucket), and the
/// earlier git findings, which stand if it fails.
struct GitPart {
    result: Option<Result<git::Audited, String>>,
    earlier: Vec<Finding>,
}

/// One repo's history, from its record if there is one.
fn git_part(
    scanner: &Scanner,
    unit: &Unit,
    options: &Options,
    extras: &dyn Extras,
    stateful: bool,
    previous: Option<&RepoState>,
) -> GitPart {
    // The git part sees only the earlier git findings.
    let git_previous = previous.map(|p| RepoState {
        findings: p
            .findings
            .iter()
            .filter(|f| f.discussion.is_none() && !is_variable(f))
            .cloned()
            .collect(),
        ..p.clone()
    });
    let result = match unit.source {
        Source::Files => None,
        _ => Some(git_audit(
            scanner,
            unit,
            options,
            extras,
            stateful,
            git_previous.as_ref(),
        )),
    };
    GitPart {
        result,
        earlier: git_previous.map(|p| p.findings).unwrap_or_default(),
    }
}

/// One repo's audit: its history, then what lies outside git. A part that
/// failed is an error naming the repo; the other part still counts.
fn combine(unit: &Unit, git: GitPart, outside: Outside) -> RepoAudit {
    let name = unit.repo.display();
    let mut audit = RepoAudit {
        stats: RepoStats {
            kind: Some(unit.repo.kind),
            id: unit.repo.id.clone(),
            private: unit.private,
            ..RepoStats::default()
        },
        findings: Vec::new(),
        errors: Vec::new(),
        bytes: 0,
        skipped: 0,
        tips: None,
        commits: Vec::new(),
        discussions: BTreeMap::new(),
        files: BTreeMap::new(),
        variables: BTreeMap::new(),
        incremental: false,
    };
    let mut problems = Vec::new();
    match git.result {
        None => {}
        Some(Ok(done)) => {
            let report = done.report;
            audit.stats.commits = report.scan.commits;
            audit.stats.blobs = report.scan.blobs;
            audit.bytes = report.scan.bytes;
            audit.skipped = report.scan.skipped;
            audit.stats.content = report.scan.content;
            audit.findings = report.findings;
            audit
                .errors
                .extend(report.errors.into_iter().map(|e| ScanError {
                    path: format!("{name}: {}", e.path),
                    message: e.message,
                }));
            audit.tips = Some(done.tips);
            audit.commits = done.commits;
            audit.incremental = done.incremental;
        }
        Some(Err(e)) => {
            problems.push(e);
            // The earlier findings still stand: report them, not new.
            audit
                .findings
                .extend(git.earlier.iter().map(Finding::carried));
        }
    }
    audit.stats.discussions = outside.discussions;
    audit.findings.extend(outside.findings);
    audit.errors.extend(outside.errors);
    audit.discussions = outside.record;
    audit.files = outside.files;
    audit.variables = outside.variables;
    audit.stats.content += outside.content;
    problems.extend(outside.failure);
    for p in &problems {
        let e = ScanError::new(name.clone(), p.clone());
        ui::error(&e);
        audit.errors.push(e);
    }
    if !problems.is_empty() {
        audit.stats.error = Some(problems.join("; "));
    }
    audit.stats.findings = audit.findings.len() as u64;
    audit
}

/// The repo cloned (into a temporary directory deleted on return, or into
/// the cache), or opened where it is, and audited like `hfleaks history`.
fn git_audit(
    scanner: &Scanner,
    unit: &Unit,
    options: &Options,
    extras: &dyn Extras,
    stateful: bool,
    previous: Option<&RepoState>,
) -> Result<git::Audited, String> {
    let (_temp, path) = match &unit.source {
        Source::Local(path) => (None, path.clone()),
        Source::Files => return Err("no git repository".to_string()),
        Source::Remote { url, client, login } => {
            let login = login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            match &options.cache {
                Some(cache) => {
                    let dir = cache_dir(cache, &unit.repo);
                    fetch_cached(client, login, url, &dir, options.converted)?;
                    (None, dir)
                }
                None => {
                    let dir = clone_with_retries(client, login, url, options.converted)?;
                    let path = dir.path().to_path_buf();
                    (Some(dir), path)
                }
            }
        }
    };
    // The repo's own `.hfleaksignore` is not honoured: the people an audit
    // checks must not be able to hide from it (the run's --ignore-file and
    // --baseline apply to every repo).
    let git = crate::sources::git::open(&path)?;
    let name = unit.repo.display();
    let lfs = extras.lfs(unit);
    let lfs = lfs.as_deref();
    let mut done = if stateful {
        git::audit_with_state(&git, scanner, &options.limits, previous, &name, lfs)
            .map_err(|e| e.to_string())?
    } else {
        let report =
            git::full_audit(&git, scanner, &options.limits, lfs).map_err(|e| e.to_string())?;
        git::Audited {
            report,
            tips: git::ref_tips(&git),
            commits: Vec::new(),
            incremental: false,
        }
    };
    for f in &mut done.report.findings {
        f.repo = Some(unit.repo.clone());
    }
    extras.decorate(unit, &mut done.report.findings, &git);
    Ok(done)
}

/// Where `--cache` keeps a repo's clone: `DIR/hub/{kind}s/NS/NAME.git`, or
/// `DIR/git/HOST/PATH.git` for a URL (credentials never in the name).
fn cache_dir(cache: &Path, repo: &RepoRef) -> PathBuf {
    let safe = |s: &str| -> String {
        s.split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .map(|p| {
                p.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    match repo.kind {
        RepoKind::Git => {
            // The name is readable; the hash of the id keeps ids that read
            // alike (http and https, `a b` and `a_b`) apart.
            let rest = repo
                .id
                .split_once("://")
                .map_or(repo.id.as_str(), |(_, r)| r);
            let hash = crate::finding::sha256_hex(repo.id.as_bytes());
            cache.join("git").join(format!(
                "{}-{}.git",
                safe(rest.trim_end_matches(".git")),
                &hash[..12]
            ))
        }
        kind => cache
            .join("hub")
            .join(kind.plural())
            .join(format!("{}.git", safe(&repo.id))),
    }
}

/// A cached clone brought up to date (cloned the first time). A cache
/// directory that is not a clone is an error naming it.
fn fetch_cached(
    client: &Arc<Hub>,
    login: Option<(&str, &str)>,
    url: &str,
    dir: &Path,
    converted: bool,
) -> Result<(), String> {
    let fresh = !dir.exists();
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the cache: {e}", dir.display()))?;
    if !fresh
        && !dir.join("HEAD").is_file()
        && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(format!("{}: in the cache, but not a clone", dir.display()));
    }
    let result = with_retries(|| clone_bare(client, login, url, dir, converted));
    if result.is_err() && fresh {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// A fresh clone, tried again when the transfer was cut off.
fn clone_with_retries(
    client: &Arc<Hub>,
    login: Option<(&str, &str)>,
    url: &str,
    converted: bool,
) -> Result<tempfile::TempDir, String> {
    with_retries(|| {
        let dir = tempfile::Builder::new()
            .prefix("hfleaks-clone-")
            .tempdir()
            .map_err(|e| CloneError::new(format!("cannot create a temporary directory: {e}")))?;
        clone_bare(client, login, url, dir.path(), converted)?;
        Ok(dir)
    })
}

/// `attempt` up to [`CLONE_ATTEMPTS`] times while its transfer is cut off.
fn with_retries<T>(mut attempt: impl FnMut() -> Result<T, CloneError>) -> Result<T, String> {
    let mut last = String::new();
    for _ in 0..CLONE_ATTEMPTS {
        match attempt() {
            Ok(done) => return Ok(done),
            Err(e) if e.cut_off => last = e.message,
            Err(e) => return Err(e.message),
        }
    }
    Err(format!("{last} ({CLONE_ATTEMPTS} attempts)"))
}

/// The repo's pull-request refs, and its branches and tags.
pub struct PullRequestRefs {
    /// `(N, tip)` of every `refs/pr/N`, by N.
    prs: Vec<(u64, Oid)>,
    /// Tips of branches and tags.
    others: Vec<Oid>,
}

impl PullRequestRefs {
    pub fn read(git: &Repository) -> PullRequestRefs {
        let mut prs = Vec::new();
        let mut others = Vec::new();
        if let Ok(refs) = git.references() {
            for r in refs.flatten() {
                let Some(tip) = r.peel_to_commit().ok().map(|c| c.id()) else {
                    continue;
                };
                match r.name().ok().and_then(|n| n.strip_prefix("refs/pr/")) {
                    Some(n) => prs.extend(n.parse::<u64>().ok().map(|n| (n, tip))),
                    None => others.push(tip),
                }
            }
        }
        prs.sort();
        PullRequestRefs { prs, others }
    }

    /// The pull request whose ref reaches `commit` when no branch or tag
    /// does (the lowest number if several do).
    pub fn only_on(&self, git: &Repository, commit: Oid) -> Option<u64> {
        let reaches =
            |tip: Oid| tip == commit || git.graph_descendant_of(tip, commit).unwrap_or(false);
        if self.prs.is_empty() || self.others.iter().any(|&t| reaches(t)) {
            return None;
        }
        self.prs.iter().find(|(_, t)| reaches(*t)).map(|(n, _)| *n)
    }
}

/// One report of every repo's audit.
fn merge(audits: &[RepoAudit], kind: ScanKind) -> Report {
    let mut scan = ScanStats {
        kind,
        ..ScanStats::default()
    };
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for a in audits {
        scan.commits += a.stats.commits;
        scan.blobs += a.stats.blobs;
        scan.discussions += a.stats.discussions;
        scan.bytes += a.bytes;
        scan.skipped += a.skipped;
        scan.content += a.stats.content;
        if seen.insert((a.stats.kind, a.stats.id.clone())) {
            scan.repos.push(a.stats.clone());
        }
        findings.extend(a.findings.iter().cloned());
        errors.extend(a.errors.iter().cloned());
    }
    Report {
        scan,
        findings,
        errors,
        ..Report::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_directories_hold_no_credentials_or_escapes() {
        let c = Path::new("/c");
        let r = |kind, id: &str| RepoRef {
            kind,
            id: id.into(),
        };
        assert_eq!(
            cache_dir(c, &r(RepoKind::Dataset, "acme/corpus")),
            Path::new("/c/hub/datasets/acme/corpus.git")
        );
        let d = cache_dir(c, &r(RepoKind::Git, "https://git.example/a/../b.git"));
        assert!(d.starts_with("/c/git/git.example/a/"), "{d:?}");
        assert!(!d.to_string_lossy().contains(".."));
        assert_ne!(
            cache_dir(c, &r(RepoKind::Git, "http://h/x")),
            cache_dir(c, &r(RepoKind::Git, "https://h/x"))
        );
    }
}
