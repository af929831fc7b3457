//! `hfleaks hub`: every model, dataset and Space of a Hub user or
//! organization (or the repos named), each cloned bare with all its
//! branches, tags and pull-request refs and audited like `hfleaks history`
//! audits a local repository, and each one's discussions and pull-request
//! comments, earlier revisions included. `--jobs` repos at a time, on one
//! shared client, each clone deleted when its repo is done. The listing,
//! cloning and reading are in `sources::hub`; this file puts the steps in
//! order and gives each finding its repo and a link.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use git2::{Oid, Repository};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::history::{self, Limits};
use super::{Run, resolve, resolve_hub};
use crate::cli::{HubAuditArgs, RepoKindArg};
use crate::finding::{
    DiscussionRef, Finding, RepoKind, RepoRef, RepoStats, Report, ScanError, ScanKind, ScanStats,
};
use crate::http::Hub;
use crate::sources::hub::discussions::{self, Discussion};
use crate::sources::hub::{self, HubRepo, Target, clone::clone_bare};
use crate::ui::{self, Progress};

/// The environment variables a token is read from, in order (as
/// huggingface_hub reads them).
pub const TOKEN_ENV: [&str; 2] = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"];
/// The longest rate-limit wait the audit sits out (the Hub's windows are
/// five minutes long) before a request counts as failed.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(330);
/// Clone attempts for a repo whose transfer was cut off.
const CLONE_ATTEMPTS: usize = 3;

pub fn run(args: HubAuditArgs) -> Result<i32> {
    let mut config = resolve(&args.report)?;
    config.detect.max_member_bytes = args.size.max_file_size;
    let (offline, endpoint, timeout) = resolve_hub(&args.report.hub)?;
    if offline {
        bail!("hfleaks hub reads the Hub, and --offline or HF_HUB_OFFLINE forbids it");
    }
    let targets = args
        .targets
        .iter()
        .map(|t| hub::parse_target(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let exclude = exclusions(&args.exclude)?;
    let kinds: Vec<RepoKind> = RepoKind::ALL
        .into_iter()
        .filter(|k| args.include.contains(&kind_arg(*k)))
        .collect();
    let token = token_from_env();
    let run = Run::start(config)?;
    let client = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));

    let repos = list_targets(&client, token.as_deref(), &targets, &kinds, &exclude)?;
    if token.is_none() {
        ui::note(
            "no HF_TOKEN set: public repos only (private and gated repos need a token that can read them)",
        );
    }
    ui::info(format!(
        "auditing {}",
        ui::plural(repos.len() as u64, "repo")
    ));
    let options = Options {
        limits: Limits {
            max_file_size: args.size.max_file_size,
            messages: true,
        },
        discussions: !args.no_discussions,
        jobs: args.jobs as usize,
    };
    let audits = audit_all(&run, &client, token.as_deref(), &repos, &options);
    let mut report = merge(audits);
    report.scan.root = args.targets.join(" ");
    report.scan.authenticated = Some(token.is_some());
    let filters = run.filters(&[])?;
    run.finish(report, &filters)
}

/// The token to list and clone with: `HF_TOKEN`, else
/// `HUGGING_FACE_HUB_TOKEN`; blank means none.
fn token_from_env() -> Option<String> {
    TOKEN_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

fn kind_arg(kind: RepoKind) -> RepoKindArg {
    match kind {
        RepoKind::Model => RepoKindArg::Models,
        RepoKind::Dataset => RepoKindArg::Datasets,
        RepoKind::Space => RepoKindArg::Spaces,
    }
}

/// `--exclude` globs; a bad one stops the run, naming it.
fn exclusions(globs: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        match Glob::new(g) {
            Ok(glob) => set.add(glob),
            Err(e) => bail!("--exclude '{g}': {e}"),
        };
    }
    Ok(set.build()?)
}

/// The repos the targets name, each once, in a stable order: an owner's
/// repos of the included kinds (every page), and the repos named. A
/// listing that fails stops the run: a partial list is never audited.
fn list_targets(
    client: &Hub,
    token: Option<&str>,
    targets: &[Target],
    kinds: &[RepoKind],
    exclude: &GlobSet,
) -> Result<Vec<HubRepo>> {
    let mut repos: BTreeMap<RepoRef, HubRepo> = BTreeMap::new();
    for target in targets {
        match target {
            Target::Owner(owner) => {
                for &kind in kinds {
                    let listed = hub::list_owner(client, token, owner, kind)
                        .map_err(|e| anyhow::anyhow!("{owner}: {e}"))?;
                    for r in listed {
                        repos.entry(r.repo.clone()).or_insert(r);
                    }
                }
            }
            Target::Repo(repo) => {
                repos.entry(repo.clone()).or_insert(HubRepo {
                    repo: repo.clone(),
                    private: false,
                });
            }
        }
    }
    Ok(repos
        .into_values()
        .filter(|r| !exclude.is_match(&r.repo.id) && !exclude.is_match(r.repo.display()))
        .collect())
}

struct Options {
    limits: Limits,
    discussions: bool,
    jobs: usize,
}

/// What auditing one repo gave.
struct RepoAudit {
    stats: RepoStats,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    bytes: u64,
    skipped: u64,
}

/// Audits `repos`, `options.jobs` at a time; the results in `repos`' order
/// whatever order they finish in, so any `--jobs` gives the same report.
fn audit_all(
    run: &Run,
    client: &Arc<Hub>,
    token: Option<&str>,
    repos: &[HubRepo],
    options: &Options,
) -> Vec<RepoAudit> {
    let progress = Progress::over_inputs(repos.len() as u64, "repos");
    let next = AtomicUsize::new(0);
    let found = AtomicU64::new(0);
    let results: Mutex<Vec<Option<RepoAudit>>> =
        Mutex::new((0..repos.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..options.jobs.min(repos.len()).max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(repo) = repos.get(i) else { break };
                    progress.say(&format!(
                        "{}, {} so far",
                        repo.repo.display(),
                        ui::plural(found.load(Ordering::Relaxed), "finding")
                    ));
                    let audit = audit_repo(run, client, token, repo, options);
                    found.fetch_add(audit.findings.len() as u64, Ordering::Relaxed);
                    progress.step();
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(audit);
                }
            });
        }
    });
    progress.finish_inputs();
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// One repo: its history, then its discussions. A part that fails is an
/// error naming the repo; the other part is still audited.
fn audit_repo(
    run: &Run,
    client: &Arc<Hub>,
    token: Option<&str>,
    repo: &HubRepo,
    options: &Options,
) -> RepoAudit {
    let name = repo.repo.display();
    let mut audit = RepoAudit {
        stats: RepoStats {
            kind: Some(repo.repo.kind),
            id: repo.repo.id.clone(),
            private: repo.private,
            ..RepoStats::default()
        },
        findings: Vec::new(),
        errors: Vec::new(),
        bytes: 0,
        skipped: 0,
    };
    let mut problems = Vec::new();
    match git_audit(run, client, token, &repo.repo, &options.limits) {
        Ok(report) => {
            audit.stats.commits = report.scan.commits;
            audit.stats.blobs = report.scan.blobs;
            audit.bytes = report.scan.bytes;
            audit.skipped = report.scan.skipped;
            audit.findings = report.findings;
            audit
                .errors
                .extend(report.errors.into_iter().map(|e| ScanError {
                    path: format!("{name}: {}", e.path),
                    message: e.message,
                }));
        }
        Err(e) => problems.push(e),
    }
    if options.discussions {
        match discussion_findings(run, client, token, &repo.repo) {
            Ok((n, findings, errors)) => {
                audit.stats.discussions = n;
                audit.findings.extend(findings);
                audit.errors.extend(errors);
            }
            Err(e) => problems.push(format!("discussions: {e}")),
        }
    }
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

/// The repo cloned into a temporary directory (deleted on return) and
/// audited like `hfleaks history`; each finding gets the repo, a link to
/// the file at its commit, and the pull request if only a PR ref reaches it.
fn git_audit(
    run: &Run,
    client: &Arc<Hub>,
    token: Option<&str>,
    repo: &RepoRef,
    limits: &Limits,
) -> Result<Report, String> {
    let dir = clone_with_retries(client, token, repo)?;
    let git = Repository::open_bare(dir.path())
        .map_err(|e| format!("cannot open the clone: {}", e.message()))?;
    let filters = history::repo_filters(run, &git).map_err(|e| e.to_string())?;
    let mut report = history::full_audit(&git, run, limits).map_err(|e| e.to_string())?;
    report.findings.retain(|f| filters.keep(f));
    let refs = PullRequestRefs::read(&git);
    let web = hub::web_url(client, repo);
    for f in &mut report.findings {
        f.repo = Some(repo.clone());
        let commit = f.commit.as_ref().map(|c| c.id.clone());
        f.url = commit.as_deref().map(|id| file_url(&web, id, &f.path));
        f.pull_request = commit
            .and_then(|id| Oid::from_str(&id).ok())
            .and_then(|id| refs.only_on(&git, id));
    }
    Ok(report)
}

/// A fresh clone, tried again when the transfer was cut off.
fn clone_with_retries(
    client: &Arc<Hub>,
    token: Option<&str>,
    repo: &RepoRef,
) -> Result<tempfile::TempDir, String> {
    let mut last = String::new();
    for _ in 0..CLONE_ATTEMPTS {
        let dir = tempfile::Builder::new()
            .prefix("hfleaks-hub-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        match clone_bare(client, token, repo, dir.path()) {
            Ok(()) => return Ok(dir),
            Err(e) if e.contains("cut off") => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(format!("{last} ({CLONE_ATTEMPTS} attempts)"))
}

/// `…/blob/COMMIT/PATH` (an archive member: the archive), or the commit's
/// page for a finding in its message.
fn file_url(web: &str, commit: &str, path: &str) -> String {
    let file = path.split('!').next().unwrap_or(path);
    if file.is_empty() {
        return format!("{web}/commit/{commit}");
    }
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!(
        "{web}/blob/{commit}/{}",
        percent_encoding::utf8_percent_encode(file, SEGMENT)
    )
}

/// The repo's pull-request refs, and its branches and tags.
struct PullRequestRefs {
    /// `(N, tip)` of every `refs/pr/N`, by N.
    prs: Vec<(u64, Oid)>,
    /// Tips of branches and tags.
    others: Vec<Oid>,
}

impl PullRequestRefs {
    fn read(git: &Repository) -> PullRequestRefs {
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
    fn only_on(&self, git: &Repository, commit: Oid) -> Option<u64> {
        let reaches =
            |tip: Oid| tip == commit || git.graph_descendant_of(tip, commit).unwrap_or(false);
        if self.prs.is_empty() || self.others.iter().any(|&t| reaches(t)) {
            return None;
        }
        self.prs.iter().find(|(_, t)| reaches(*t)).map(|(n, _)| *n)
    }
}

/// Every discussion and pull request of the repo, read and scanned:
/// how many there were, the findings, and the discussions that could not
/// be read.
fn discussion_findings(
    run: &Run,
    client: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
) -> Result<(u64, Vec<Finding>, Vec<ScanError>), String> {
    let list = discussions::list(client, token, repo)?;
    let web = hub::web_url(client, repo);
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for d in &list {
        match discussions::detail(client, token, repo, d.num) {
            Ok(detail) => findings.extend(text_findings(run, repo, &web, &detail)),
            Err(e) => {
                let err = ScanError::new(format!("{}/discussions/{}", repo.display(), d.num), e);
                ui::error(&err);
                errors.push(err);
            }
        }
    }
    Ok((list.len() as u64, findings, errors))
}

/// The findings in a discussion's texts, each token once per event (the
/// latest revision first, so an earlier one is reported only when the
/// token was edited away).
fn text_findings(run: &Run, repo: &RepoRef, web: &str, d: &Discussion) -> Vec<Finding> {
    let path = format!("discussions/{}", d.num);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in &d.texts {
        for mut f in run.scanner.scan(t.text.as_bytes(), &path, false).findings {
            if !seen.insert((t.event_id.clone(), f.secret_sha256.clone())) {
                continue;
            }
            f.repo = Some(repo.clone());
            f.url = Some(match t.event_id.as_str() {
                "" => format!("{web}/discussions/{}", d.num),
                id => format!("{web}/discussions/{}#{id}", d.num),
            });
            f.discussion = Some(DiscussionRef {
                num: d.num,
                event_id: t.event_id.clone(),
                is_pull_request: d.is_pull_request,
                author: t.author.clone(),
                date: t.date.clone(),
                revision: t.revision.clone(),
            });
            out.push(f);
        }
    }
    out
}

/// One report of every repo's audit.
fn merge(audits: Vec<RepoAudit>) -> Report {
    let mut scan = ScanStats {
        kind: ScanKind::Hub,
        ..ScanStats::default()
    };
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for a in audits {
        scan.commits += a.stats.commits;
        scan.blobs += a.stats.blobs;
        scan.discussions += a.stats.discussions;
        scan.bytes += a.bytes;
        scan.skipped += a.skipped;
        scan.repos.push(a.stats);
        findings.extend(a.findings);
        errors.extend(a.errors);
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
    fn file_links_point_at_the_commit_and_escape_the_path() {
        let web = "https://huggingface.co/spaces/acme/demo";
        assert_eq!(
            file_url(web, "abc", "src/my app.py"),
            "https://huggingface.co/spaces/acme/demo/blob/abc/src/my%20app.py"
        );
        assert_eq!(
            file_url(web, "abc", "data.zip!inner/.env"),
            "https://huggingface.co/spaces/acme/demo/blob/abc/data.zip"
        );
        assert_eq!(file_url(web, "abc", ""), format!("{web}/commit/abc"));
    }

    #[test]
    fn excludes_match_ids_with_or_without_their_kind() {
        let set = exclusions(&["acme/archive-*".into(), "spaces/*/*".into()]).unwrap();
        let r = |kind, id: &str| RepoRef {
            kind,
            id: id.into(),
        };
        let hit = |x: RepoRef| set.is_match(&x.id) || set.is_match(x.display());
        assert!(hit(r(RepoKind::Model, "acme/archive-2020")));
        assert!(hit(r(RepoKind::Dataset, "acme/archive-x")));
        assert!(hit(r(RepoKind::Space, "acme/demo")));
        assert!(!hit(r(RepoKind::Model, "acme/demo")));
        assert!(exclusions(&["a[".into()]).is_err());
    }
}
