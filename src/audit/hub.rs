//! What a Hub repo adds to its git audit, for `hub` and each webhook
//! event of `serve`: the links and pull requests of its findings, its
//! discussions and pull-request comments (every revision), a Space's
//! variables, a bucket's files, and the LFS and Xet contents of its
//! pointers.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use git2::{Oid, Repository};

use super::fleet::{Extras, Outside, PullRequestRefs, Source, Unit};
use super::git::LfsContents;
use super::storage::{BucketLimits, HubLfs, bucket_findings};
use super::variables::{self, SpaceVariables, Unread, space_variables};
use crate::detect::Scanner;
use crate::finding::{DiscussionRef, Finding, RepoKind, RepoRef, ScanError};
use crate::http::Hub;
use crate::sources::hub::content::Downloader;
use crate::sources::hub::discussions::{self, Discussion};
use crate::sources::hub::{self, HubRepo};
use crate::state::RepoState;
use crate::ui;

/// A listed Hub repo as a unit of a fleet: cloned from its web URL with
/// `client`, sending `login` to the endpoint only (a bucket has no git).
pub fn unit(client: &Arc<Hub>, login: Option<(String, String)>, listed: HubRepo) -> Unit {
    Unit {
        source: match listed.repo.kind {
            RepoKind::Bucket => Source::Files,
            _ => Source::Remote {
                url: hub::web_url(client, &listed.repo),
                client: client.clone(),
                login,
            },
        },
        repo: listed.repo,
        private: listed.private,
    }
}

/// What a Hub repo adds to its git audit: links, pull requests, its
/// discussions, and a Space's variables (see [`WithoutVariables`]).
pub struct HubExtras {
    pub client: Arc<Hub>,
    pub token: Option<String>,
    pub discussions: bool,
    /// Discussion requests in flight, run-wide.
    pub pool: discussions::Pool,
    /// LFS contents and bucket files, downloaded a bounded number at a
    /// time, run-wide.
    pub downloader: Downloader,
    /// `--max-lfs-size`, unless `--no-lfs`.
    pub lfs: Option<u64>,
    pub buckets: BucketLimits,
}

/// Discussion requests in flight per `--jobs` worker, shared across the
/// run: 16 with the default 4 jobs.
pub const DISCUSSION_REQUESTS_PER_JOB: usize = 4;

impl Extras for HubExtras {
    fn decorate(&self, unit: &Unit, findings: &mut [Finding], git: &Repository) {
        let refs = PullRequestRefs::read(git);
        let web = hub::web_url(&self.client, &unit.repo);
        for f in findings {
            let commit = f.commit.as_ref().map(|c| c.id.clone());
            f.url = commit
                .as_deref()
                .map(|id| file_url(&web, id, &file_of(git, id, &f.path)));
            f.pull_request = commit
                .and_then(|id| Oid::from_str(&id).ok())
                .and_then(|id| refs.only_on(git, id));
        }
    }

    fn outside_git(&self, scanner: &Scanner, unit: &Unit, previous: Option<&RepoState>) -> Outside {
        self.outside(scanner, unit, previous, true)
    }

    fn lfs<'a>(&'a self, unit: &Unit) -> Option<Box<dyn LfsContents + 'a>> {
        self.lfs_of(unit)
            .map(|l| Box::new(l) as Box<dyn LfsContents + 'a>)
    }
}

impl HubExtras {
    /// What lies outside a repo's git: a bucket's files; or its
    /// discussions and, for a Space, its variables (read when `variables`,
    /// else their earlier record and findings stand).
    fn outside(
        &self,
        scanner: &Scanner,
        unit: &Unit,
        previous: Option<&RepoState>,
        variables: bool,
    ) -> Outside {
        if unit.repo.kind == RepoKind::Bucket {
            return bucket_findings(
                scanner,
                &self.downloader,
                &unit.repo,
                &self.buckets,
                previous,
            );
        }
        let mut out = if self.discussions {
            let read = discussion_findings(
                scanner,
                &self.client,
                self.token.as_deref(),
                &unit.repo,
                previous,
                &self.pool,
            );
            read.unwrap_or_else(|e| Outside {
                failure: Some(format!("discussions: {e}")),
                ..unread(previous)
            })
        } else {
            unread(previous)
        };
        if unit.repo.kind == RepoKind::Space {
            let read = variables.then(|| {
                space_variables(
                    scanner,
                    &self.client,
                    self.token.as_deref(),
                    &unit.repo,
                    previous,
                )
            });
            add_variables(&mut out, &unit.repo, read, previous);
        }
        out
    }

    /// The LFS reader of a Hub git repo, unless `--no-lfs`.
    fn lfs_of(&self, unit: &Unit) -> Option<HubLfs<'_>> {
        Some(HubLfs {
            downloader: &self.downloader,
            web: hub::web_url(&self.client, &unit.repo),
            name: unit.repo.display(),
            max_size: self.lfs?,
        })
    }
}

/// `hfleaks hub --exclude variables`: [`HubExtras`] without the Spaces'
/// variables (an earlier record of them and its findings stand).
pub struct WithoutVariables(pub HubExtras);

impl Extras for WithoutVariables {
    fn decorate(&self, unit: &Unit, findings: &mut [Finding], git: &Repository) {
        self.0.decorate(unit, findings, git);
    }

    fn outside_git(&self, scanner: &Scanner, unit: &Unit, previous: Option<&RepoState>) -> Outside {
        self.0.outside(scanner, unit, previous, false)
    }

    fn lfs<'a>(&'a self, unit: &Unit) -> Option<Box<dyn LfsContents + 'a>> {
        self.0.lfs(unit)
    }
}

/// A Space's variables, as read (`None`: not asked for), into `out`. When
/// they were not read, the earlier record and its findings stand; a
/// refusal (401, 403, 404) is a note, any other failure an error naming
/// the Space.
fn add_variables(
    out: &mut Outside,
    repo: &RepoRef,
    read: Option<Result<SpaceVariables, Unread>>,
    previous: Option<&RepoState>,
) {
    match read {
        Some(Ok(v)) => {
            out.findings.extend(v.findings);
            out.variables = v.record;
            return;
        }
        Some(Err(e)) if e.refused => ui::note(format!(
            "{}: variables not read: {}",
            repo.display(),
            e.message
        )),
        Some(Err(e)) => {
            let err = ScanError::new(format!("{}/variables", repo.display()), e.message);
            ui::error(&err);
            out.errors.push(err);
        }
        None => {}
    }
    out.findings.extend(variables::carried(previous));
    out.variables = previous.map(|p| p.variables.clone()).unwrap_or_default();
}

/// Discussions not read this time (`--no-discussions`, or the list could
/// not be had): an earlier record and its findings stand.
fn unread(previous: Option<&RepoState>) -> Outside {
    let Some(p) = previous else {
        return Outside::default();
    };
    Outside {
        record: p.discussions.clone(),
        findings: p
            .findings
            .iter()
            .filter(|f| f.discussion.is_some())
            .map(Finding::carried)
            .collect(),
        ..Outside::default()
    }
}

/// The file a finding's path names at `commit`: the path itself, or for an
/// archive member (`a.zip!inner/.env`) the archive.
fn file_of(git: &Repository, commit: &str, path: &str) -> String {
    let tree = Oid::from_str(commit)
        .ok()
        .and_then(|id| git.find_commit(id).ok())
        .and_then(|c| c.tree().ok());
    let exists = |p: &str| {
        tree.as_ref()
            .is_some_and(|t| t.get_path(std::path::Path::new(p)).is_ok())
    };
    if !path.contains('!') || exists(path) {
        return path.to_string();
    }
    path.match_indices('!')
        .map(|(i, _)| &path[..i])
        .find(|p| exists(p))
        .unwrap_or(path)
        .to_string()
}

/// `…/blob/COMMIT/PATH`, or the commit's page for a finding in its message.
fn file_url(web: &str, commit: &str, file: &str) -> String {
    if file.is_empty() {
        return format!("{web}/commit/{commit}");
    }
    format!("{web}/blob/{commit}/{}", hub::encode_path(file))
}

/// Every discussion and pull request of the repo, read and scanned: the
/// findings, how many there were, the discussions that could not be read,
/// and each event's digest. With an earlier record, an event whose texts
/// did not change keeps its earlier findings (not `new`) and only new or
/// edited events are scanned.
fn discussion_findings(
    scanner: &Scanner,
    client: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    previous: Option<&RepoState>,
    pool: &discussions::Pool,
) -> Result<Outside, String> {
    let list = discussions::list(client, token, repo, pool)?;
    let web = hub::web_url(client, repo);
    let mut out = Outside {
        discussions: list.len() as u64,
        ..Outside::default()
    };
    let nums: Vec<u64> = list.iter().map(|d| d.num).collect();
    let details = discussions::details(client, token, repo, &nums, pool);
    for (d, read) in list.iter().zip(details) {
        match read {
            Ok(detail) => {
                let (findings, record) = text_findings(scanner, repo, &web, &detail, previous);
                out.findings.extend(findings);
                out.record.insert(d.num, record);
            }
            Err(e) => {
                let err = ScanError::new(format!("{}/discussions/{}", repo.display(), d.num), e);
                ui::error(&err);
                out.errors.push(err);
                // Unread this time: the earlier record and findings stand.
                if let Some(p) = previous {
                    if let Some(r) = p.discussions.get(&d.num) {
                        out.record.insert(d.num, r.clone());
                    }
                    out.findings.extend(carried(p, d.num, None));
                }
            }
        }
    }
    Ok(out)
}

/// One discussion or pull request read and scanned (`serve`, on a
/// discussion event): its findings (`new` against `previous`) and the
/// digest of each event's texts, for the record.
pub fn one_discussion(
    scanner: &Scanner,
    client: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    num: u64,
    previous: Option<&RepoState>,
) -> Result<(Vec<Finding>, BTreeMap<String, String>), String> {
    let detail = discussions::detail(client, token, repo, num)?;
    let web = hub::web_url(client, repo);
    Ok(text_findings(scanner, repo, &web, &detail, previous))
}

/// The earlier findings of discussion `num` (of its event `event`, if
/// given), marked not new.
fn carried(previous: &RepoState, num: u64, event: Option<&str>) -> Vec<Finding> {
    previous
        .findings
        .iter()
        .filter(|f| {
            f.discussion
                .as_ref()
                .is_some_and(|d| d.num == num && event.is_none_or(|e| d.event_id == e))
        })
        .map(Finding::carried)
        .collect()
}

/// The findings in a discussion's texts, each token once per event (the
/// latest revision first, so an earlier one is reported only when the
/// token was edited away), and the digest of each event's texts.
fn text_findings(
    scanner: &Scanner,
    repo: &RepoRef,
    web: &str,
    d: &Discussion,
    previous: Option<&RepoState>,
) -> (Vec<Finding>, BTreeMap<String, String>) {
    let path = format!("discussions/{}", d.num);
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    for t in &d.texts {
        let entry = digests.entry(t.event_id.clone()).or_default();
        entry.push_str(&format!("{}\u{0}{}\u{0}", t.revision, t.text));
    }
    for v in digests.values_mut() {
        *v = crate::finding::sha256_hex(v.as_bytes());
    }
    let before = previous.and_then(|p| p.discussions.get(&d.num));
    let unchanged = |event: &str| before.and_then(|b| b.get(event)) == digests.get(event);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for event in digests
        .keys()
        .filter(|e| previous.is_some() && unchanged(e))
    {
        out.extend(carried(previous.expect("checked"), d.num, Some(event)));
    }
    for t in d
        .texts
        .iter()
        .filter(|t| !(previous.is_some() && unchanged(&t.event_id)))
    {
        for mut f in scanner.scan(t.text.as_bytes(), &path, false).findings {
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
            // An edited event rescanned: a token it held before is not new.
            f.new = previous.map(|p| {
                !carried(p, d.num, Some(&t.event_id))
                    .iter()
                    .any(|c| c.secret_sha256 == f.secret_sha256)
            });
            out.push(f);
        }
    }
    (out, digests)
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
            file_url(web, "abc", "notes!.md"),
            "https://huggingface.co/spaces/acme/demo/blob/abc/notes%21.md"
        );
        assert_eq!(file_url(web, "abc", ""), format!("{web}/commit/abc"));
    }
}
