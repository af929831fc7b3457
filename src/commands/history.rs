//! `hfleaks history`: the arguments, the repository's filters, then the
//! audit of `audit::git` (in full, of a range, or from a `--state` record),
//! and the report and the record written.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use git2::Repository;

use super::{Run, resolve};
use crate::audit::git::{Limits, audit_with_state, full_audit, range_audit};
use crate::cli::HistoryArgs;
use crate::filter::{Filters, IGNORE_FILE};
use crate::finding::ScanKind;
use crate::sources::display_path;
use crate::sources::git;
use crate::state::{RepoState, State};
use crate::ui;

pub fn run(args: HistoryArgs) -> Result<i32> {
    let mut config = resolve(&args.report)?;
    config.detect.max_member_bytes = args.size.max_file_size;
    let run = Run::start(config)?;
    let repo = git::open(&args.repo).map_err(|e| anyhow!(e))?;
    let filters = repo_filters(&run, &repo)?;
    if repo.is_shallow() {
        ui::note(
            "shallow clone: history is truncated, commits before the shallow boundary are not scanned",
        );
    }
    let range = match (&args.range, &args.since_commit) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(c)) => Some(format!("{c}..HEAD")),
        _ => None,
    };
    let limits = Limits {
        max_file_size: args.size.max_file_size,
        messages: args.messages,
    };
    if let Some(path) = &args.state {
        return stateful(repo, run, &filters, &limits, path);
    }
    let mut report = match range {
        Some(range) => range_audit(&repo, &run.scanner, &range, &limits)?,
        None => full_audit(&repo, &run.scanner, &limits, None)?,
    };
    report.scan.root = repo_root(&repo);
    run.finish(report, &filters)
}

/// `--state FILE`: the audit from the recorded tips (or in full, the first
/// time or when the rules changed), then the record written again.
fn stateful(
    repo: Repository,
    run: Run,
    filters: &Filters,
    limits: &Limits,
    path: &Path,
) -> Result<i32> {
    let mut state =
        State::open(path, ScanKind::History, &run.rules_digest()).map_err(|e| anyhow!(e))?;
    let key = state_key(&repo);
    let root = repo_root(&repo);
    let audited = audit_with_state(
        &repo,
        &run.scanner,
        limits,
        state.repos.get(&key),
        &root,
        None,
    )?;
    let mut report = audited.report;
    report.scan.root = root;
    let (code, kept) = run.finish_recorded(
        report,
        filters,
        u64::from(!audited.incremental),
        u64::from(audited.incremental),
    )?;
    state.repos.insert(
        key,
        RepoState {
            tips: audited.tips,
            commits: crate::state::format_commits(&audited.commits),
            findings: kept,
            ..RepoState::default()
        },
    );
    state.save(path).map_err(|e| anyhow!(e))?;
    Ok(code)
}

/// How a repository is named in a state file: its git directory, absolute.
fn state_key(repo: &Repository) -> String {
    let dir = repo.path();
    display_path(&dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
        .trim_end_matches('/')
        .to_string()
}

/// The repository's `.hfleaksignore` (from the work tree, or from HEAD's
/// tree in a bare repository) with the run's own filters. Its path
/// patterns are relative to the root.
pub fn repo_filters(run: &Run, repo: &Repository) -> Result<Filters> {
    let mut filters = run.filters(&[])?;
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

/// The work tree (or git directory) as shown in `scan.root`.
pub fn repo_root(repo: &Repository) -> String {
    let path: PathBuf = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    display_path(&path).trim_end_matches('/').to_string()
}
