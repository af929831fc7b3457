//! `hfleaks hub`: every model, dataset and Space of a Hub user or
//! organization (or the repos named), each cloned bare with all its
//! branches, tags and pull-request refs and audited like `hfleaks history`
//! audits a local repository, and each one's discussions and pull-request
//! comments, earlier revisions included. `--jobs` repos at a time, on one
//! shared client, each clone deleted when its repo is done. The listing,
//! cloning and reading are in `sources::hub`; this file puts the steps in
//! order and gives each finding its repo and a link.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use git2::{Oid, Repository};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::fleet::{self, Extras, Options, Outside, PullRequestRefs, Source, Unit};
use super::history::LfsContents;
use super::storage::{BucketLimits, HubLfs, bucket_findings};
use super::{Run, resolve, resolve_hub};
use crate::cli::{HubAuditArgs, RepoKindArg};
use crate::finding::{DiscussionRef, Finding, RepoKind, RepoRef, ScanError, ScanKind};

use crate::http::Hub;
use crate::sources::hub::clone::HUB_GIT_USER;
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
use crate::sources::hub::discussions::{self, Discussion};
use crate::sources::hub::{self, HubRepo, Target};
use crate::state::RepoState;
use crate::ui;

/// The environment variables a token is read from, in order (as
/// huggingface_hub reads them).
pub const TOKEN_ENV: [&str; 2] = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"];
/// The longest rate-limit wait the audit sits out (the Hub's windows are
/// five minutes long) before a request counts as failed.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(330);

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
        .map(|t| hub::parse_target(t, &endpoint))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let exclude = exclusions(&args.exclude)?;
    let kinds: Vec<RepoKind> = RepoKind::HUB
        .into_iter()
        .chain([RepoKind::Bucket])
        .filter(|k| args.include.contains(&kind_arg(*k)))
        .collect();
    let options = Options::from_args(&args.fleet, &args.size)?;
    let token = token_from_env();
    let run = Run::start(config)?;
    let client = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));

    let (repos, empty_owners, listing_errors) =
        list_targets(&client, token.as_deref(), &targets, &kinds, &exclude)?;
    if token.is_none() {
        ui::note(
            "no HF_TOKEN set: public repos only (private and gated repos need a token that can read them)",
        );
    }
    let login = token
        .as_deref()
        .map(|t| (HUB_GIT_USER.to_string(), t.to_string()));
    let units: Vec<Unit> = repos
        .into_iter()
        .map(|r| Unit {
            source: match r.repo.kind {
                RepoKind::Bucket => Source::Files,
                _ => Source::Remote {
                    url: hub::web_url(&client, &r.repo),
                    client: client.clone(),
                    login: login.clone(),
                },
            },
            repo: r.repo,
            private: r.private,
        })
        .collect();
    let extras = HubExtras {
        client: client.clone(),
        token: token.clone(),
        discussions: !args.no_discussions,
        pool: discussions::Pool::new(DISCUSSION_REQUESTS_PER_JOB * options.jobs),
        downloader: Downloader::new(
            client.clone(),
            token.clone(),
            DOWNLOADS_PER_JOB * options.jobs,
        ),
        lfs: (!args.lfs.no_lfs).then_some(args.lfs.max_lfs_size),
        buckets: BucketLimits {
            max_file_size: args.size.max_file_size,
            max_bucket_bytes: args.max_bucket_bytes,
        },
    };
    let authenticated = token.is_some();
    fleet::audit(
        run,
        ScanKind::Hub,
        args.targets.join(" "),
        units,
        &options,
        &extras,
        |report| {
            report.scan.authenticated = Some(authenticated);
            report.errors.extend(listing_errors);
            for owner in &empty_owners {
                let e = ScanError::new(
                    owner.clone(),
                    "no repos listed: check the owner's name (private repos need HF_TOKEN)",
                );
                ui::error(&e);
                report.errors.push(e);
            }
        },
    )
}

/// The token to list and clone with: `HF_TOKEN`, else
/// `HUGGING_FACE_HUB_TOKEN`; blank means none.
pub(super) fn token_from_env() -> Option<String> {
    TOKEN_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

fn kind_arg(kind: RepoKind) -> RepoKindArg {
    match kind {
        RepoKind::Model | RepoKind::Git => RepoKindArg::Models,
        RepoKind::Dataset => RepoKindArg::Datasets,
        RepoKind::Space => RepoKindArg::Spaces,
        RepoKind::Bucket => RepoKindArg::Buckets,
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
/// repos and buckets of the included kinds (every page), and the repos
/// named. A repo listing that fails stops the run: a partial list is never
/// audited. A bucket listing that fails is an error and the run goes on
/// (the repos are all there). Also the owners whose listings were all
/// empty (a mistyped name looks like that).
type Listed = (Vec<HubRepo>, Vec<String>, Vec<ScanError>);

fn list_targets(
    client: &Hub,
    token: Option<&str>,
    targets: &[Target],
    kinds: &[RepoKind],
    exclude: &GlobSet,
) -> Result<Listed> {
    let mut repos: BTreeMap<RepoRef, HubRepo> = BTreeMap::new();
    let mut empty = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        match target {
            Target::Owner(owner) => {
                let mut any = false;
                for &kind in kinds {
                    let listed = match hub::list_owner(client, token, owner, kind) {
                        Ok(l) => l,
                        Err(e) if kind == RepoKind::Bucket => {
                            let e = ScanError::new(owner.clone(), e);
                            ui::error(&e);
                            errors.push(e);
                            continue;
                        }
                        Err(e) => anyhow::bail!("{owner}: {e}"),
                    };
                    any |= !listed.is_empty();
                    for r in listed {
                        repos.entry(r.repo.clone()).or_insert(r);
                    }
                }
                if !any {
                    empty.push(owner.clone());
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
    let kept = repos
        .into_values()
        .filter(|r| !exclude.is_match(&r.repo.id) && !exclude.is_match(r.repo.display()))
        .collect();
    Ok((kept, empty, errors))
}

/// What a Hub repo adds to its git audit: links, pull requests, and its
/// discussions.
struct HubExtras {
    client: Arc<Hub>,
    token: Option<String>,
    discussions: bool,
    /// Discussion requests in flight, run-wide.
    pool: discussions::Pool,
    /// LFS contents and bucket files, downloaded a bounded number at a
    /// time, run-wide.
    downloader: Downloader,
    /// `--max-lfs-size`, unless `--no-lfs`.
    lfs: Option<u64>,
    buckets: BucketLimits,
}

/// Discussion requests in flight per `--jobs` worker, shared across the
/// run: 16 with the default 4 jobs.
const DISCUSSION_REQUESTS_PER_JOB: usize = 4;

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

    fn outside_git(&self, run: &Run, unit: &Unit, previous: Option<&RepoState>) -> Outside {
        if unit.repo.kind == RepoKind::Bucket {
            return bucket_findings(run, &self.downloader, &unit.repo, &self.buckets, previous);
        }
        if !self.discussions {
            return unread(previous);
        }
        let read = discussion_findings(
            run,
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
    }

    fn lfs<'a>(&'a self, unit: &Unit) -> Option<Box<dyn LfsContents + 'a>> {
        self.lfs_of(unit)
            .map(|l| Box::new(l) as Box<dyn LfsContents + 'a>)
    }
}

impl HubExtras {
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
    run: &Run,
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
                let (findings, record) = text_findings(run, repo, &web, &detail, previous);
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
    run: &Run,
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
