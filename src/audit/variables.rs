//! A Space's variables audited: each value and description scanned by the
//! run's scanner (decoding and the identifier checks apply as anywhere),
//! a finding at `variables/KEY` linking to the Space's settings page, and
//! each variable's `updatedAt` for the record, so that a later run (or a
//! `serve` event) scans only the variables that changed. No I/O beyond
//! the one read in `sources::hub::variables`; nothing printed here.

use std::collections::{BTreeMap, HashSet};

use crate::detect::Scanner;
use crate::finding::{Finding, RepoKind, RepoRef};
use crate::http::Hub;
use crate::sources::hub::{self, variables};
use crate::state::RepoState;

pub use crate::sources::hub::variables::Unread;

/// The path of a variable's findings: `variables/KEY`.
pub const PATH_PREFIX: &str = "variables/";

/// A Space's variables read and scanned.
#[derive(Debug, Default)]
pub struct SpaceVariables {
    /// Every finding, `repo` and `url` set; with an earlier record, `new`
    /// set too (the findings of an unchanged variable carried, `new:
    /// false`).
    pub findings: Vec<Finding>,
    /// Key → `updatedAt` of every variable read: the record to keep
    /// (`RepoState::variables`).
    pub record: BTreeMap<String, String>,
    /// How many variables the Space has, and how many were scanned (the
    /// others were unchanged since `previous`).
    pub read: u64,
    pub scanned: u64,
}

/// Reads the variables of Space `repo` (`GET /api/spaces/NS/NAME/variables`,
/// with `token` if given: a private Space needs one that can read it) and
/// scans each value and description with `scanner`.
///
/// - A finding has `path: "variables/KEY"`, `repo`, and `url` the Space's
///   settings page (`{endpoint}/spaces/NS/NAME/settings`), where anyone
///   can read a variable; each token once per variable.
/// - `previous` is the Space's earlier record (`None`: no record kept,
///   `new` left unset). With one, a variable whose `updatedAt` is the
///   recorded one is not scanned again: its earlier findings are carried
///   (`new: false`); a changed or new variable is scanned and its tokens
///   are `new` unless that variable held them before. The findings of a
///   variable that is gone are dropped.
/// - `Err` when the variables could not be read: [`Unread::refused`] for a
///   401, 403 or 404 (the token cannot read the Space's settings: a note,
///   not an error); otherwise a failure (the Hub's error after retries, a
///   bad answer), which names no repo: the caller adds it. Either way the
///   caller keeps the earlier record and findings (see [`carried`]).
/// - Not a Space: nothing to read, an empty result.
pub fn space_variables(
    scanner: &Scanner,
    client: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    previous: Option<&RepoState>,
) -> Result<SpaceVariables, Unread> {
    if repo.kind != RepoKind::Space {
        return Ok(SpaceVariables::default());
    }
    let list = variables::read(client, token, repo)?;
    let settings = settings_url(client, repo);
    let mut out = SpaceVariables {
        read: list.len() as u64,
        ..SpaceVariables::default()
    };
    for v in &list {
        out.record.insert(v.key.clone(), v.updated_at.clone());
        let path = format!("{PATH_PREFIX}{}", v.key);
        let earlier: Vec<&Finding> = previous
            .map(|p| p.findings.iter().filter(|f| is_at(f, &path)).collect())
            .unwrap_or_default();
        let recorded = previous.and_then(|p| p.variables.get(&v.key));
        if recorded.is_some_and(|at| !at.is_empty() && *at == v.updated_at) {
            out.findings.extend(earlier.iter().map(|f| f.carried()));
            continue;
        }
        out.scanned += 1;
        let mut seen = HashSet::new();
        for text in [&v.value, &v.description] {
            for mut f in scanner.scan(text.as_bytes(), &path, false).findings {
                if !seen.insert(f.secret_sha256.clone()) {
                    continue;
                }
                f.repo = Some(repo.clone());
                f.url = Some(settings.clone());
                f.new =
                    previous.map(|_| !earlier.iter().any(|e| e.secret_sha256 == f.secret_sha256));
                out.findings.push(f);
            }
        }
    }
    Ok(out)
}

/// The earlier findings of a Space's variables, carried (`new: false`):
/// what stands when its variables could not be read this time.
pub fn carried(previous: Option<&RepoState>) -> Vec<Finding> {
    previous
        .map(|p| {
            p.findings
                .iter()
                .filter(|f| is_variable(f))
                .map(Finding::carried)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `f` is a Space variable's finding (not a file's: those have a
/// commit; not a discussion's).
pub fn is_variable(f: &Finding) -> bool {
    f.path.starts_with(PATH_PREFIX)
        && f.commit.is_none()
        && f.discussion.is_none()
        && f.lfs.is_none()
        && f.repo.as_ref().is_some_and(|r| r.kind == RepoKind::Space)
}

fn is_at(f: &Finding, path: &str) -> bool {
    is_variable(f) && f.path == path
}

/// `{endpoint}/spaces/NS/NAME/settings`: where a Space's variables are
/// shown (to anyone, for a public Space).
pub fn settings_url(client: &Hub, repo: &RepoRef) -> String {
    format!("{}/settings", hub::web_url(client, repo))
}
