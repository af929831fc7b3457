//! `hfleaks hub`: every model, dataset, Space, kernel repo and Storage
//! Bucket of a Hub user or organization (or the repos named), listed here
//! and audited as a fleet by `audit::fleet` with `audit::hub`'s extras:
//! each repo cloned bare with all its branches, tags and pull-request refs
//! and audited like `hfleaks history` audits a local repository, its LFS
//! and Xet contents, its discussions and pull-request comments (earlier
//! revisions included), a Space's variables and a bucket's files. The
//! listing, cloning and reading are in `sources::hub`; this file turns the
//! arguments into that audit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::ValueEnum;
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::fleet;
use super::{Run, resolve, resolve_hub};
use crate::audit;
use crate::audit::fleet::{Extras, Unit};
use crate::audit::hub::{DISCUSSION_REQUESTS_PER_JOB, HubExtras, WithoutVariables};
use crate::audit::storage::BucketLimits;
use crate::cli::{HubAuditArgs, RepoKindArg};
use crate::finding::{RepoKind, ScanError, ScanKind};
use crate::http::Hub;
use crate::sources::hub;
use crate::sources::hub::clone::HUB_GIT_USER;
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
use crate::sources::hub::discussions;
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
    // `converted` is no kind: named with no kind, the default kinds stay.
    let named_kinds = args
        .include
        .iter()
        .any(|k| !matches!(k, RepoKindArg::Converted | RepoKindArg::Variables));
    let mut include = args.include.clone();
    if !named_kinds {
        include.extend([
            RepoKindArg::Models,
            RepoKindArg::Datasets,
            RepoKindArg::Spaces,
            RepoKindArg::Buckets,
            RepoKindArg::Kernels,
        ]);
    }
    let (included, exclude) = inclusions(&include, &args.exclude)?;
    let kinds: Vec<RepoKind> = RepoKind::HUB
        .into_iter()
        .chain([RepoKind::Bucket, RepoKind::Kernel])
        .filter(|k| included.contains(&kind_arg(*k)))
        .collect();
    let variables = included.contains(&RepoKindArg::Variables);
    let mut options = fleet::options(&args.fleet, &args.size)?;
    options.converted = included.contains(&RepoKindArg::Converted);
    let token = token_from_env();
    let run = Run::start(config)?;
    let client = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));

    let (repos, empty_owners, listing_errors) =
        audit::targets::list_targets(&client, token.as_deref(), &targets, &kinds, &exclude)
            .map_err(anyhow::Error::msg)?;
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
        .map(|r| audit::hub::unit(&client, login.clone(), r))
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
    let extras: Box<dyn Extras> = if variables {
        Box::new(extras)
    } else {
        Box::new(WithoutVariables(extras))
    };
    let authenticated = token.is_some();
    fleet::audit(
        run,
        ScanKind::Hub,
        args.targets.join(" "),
        units,
        &options,
        &*extras,
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
        RepoKind::Kernel => RepoKindArg::Kernels,
    }
}

/// What `--include` names, less the words of `--include` given to
/// `--exclude` (`--exclude variables`), and the other `--exclude` values
/// as globs (a repo id always holds a `/`, so no word was ever a useful
/// glob); a bad glob stops the run, naming it.
fn inclusions(include: &[RepoKindArg], exclude: &[String]) -> Result<(Vec<RepoKindArg>, GlobSet)> {
    let mut words = Vec::new();
    let mut globs = Vec::new();
    for e in exclude {
        match RepoKindArg::from_str(e.trim(), true) {
            Ok(word) => words.push(word),
            Err(_) => globs.push(e.clone()),
        }
    }
    let kept = include
        .iter()
        .copied()
        .filter(|k| !words.contains(k))
        .collect();
    Ok((kept, exclusions(&globs)?))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::RepoRef;

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

    #[test]
    fn words_of_include_given_to_exclude_leave_that_out() {
        let all = [
            RepoKindArg::Models,
            RepoKindArg::Spaces,
            RepoKindArg::Kernels,
            RepoKindArg::Variables,
        ];
        let (kept, globs) = inclusions(
            &all,
            &["variables".into(), "Kernels".into(), "acme/x-*".into()],
        )
        .unwrap();
        assert_eq!(kept, [RepoKindArg::Models, RepoKindArg::Spaces]);
        assert!(globs.is_match("acme/x-1"));
        assert!(!globs.is_match("variables"));
    }
}
