//! `hfleaks repos FILE`: a list of git repositories (URLs or local paths),
//! read here and audited as a fleet by `audit::fleet`: each cloned bare (or
//! opened where it is) and audited like a Hub repo, `--jobs` at a time,
//! sharded and incremental like `hfleaks hub`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::fleet;
use super::{Run, resolve, resolve_hub};
use crate::audit::fleet::{Extras, Source, Unit};
use crate::audit::git::LfsContents;
use crate::audit::storage::HubLfs;
use crate::cli::ReposArgs;
use crate::finding::{RepoKind, RepoRef, ScanError, ScanKind};
use crate::http::{Endpoint, Hub};
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
use crate::sources::repo_list::parse_entry;
use crate::ui;

/// The longest rate-limit wait sat out, as for the Hub.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(330);

pub fn run(args: ReposArgs) -> Result<i32> {
    let mut config = resolve(&args.report)?;
    config.detect.max_member_bytes = args.size.max_file_size;
    let (_, endpoint, timeout) = resolve_hub(&args.report.hub)?;
    let shown = crate::sources::display_path(&args.file);
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("standard input: cannot read the repo list")?;
        s
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("{shown}: cannot read the repo list"))?
    };
    let options = fleet::options(&args.fleet, &args.size)?;
    let run = Run::start(config)?;
    // Lines on the Hub share one client, and their LFS contents are read.
    let hub_client = Arc::new(Hub::new(endpoint.clone(), timeout).patient(RATE_LIMIT_WAIT));
    let mut extras = ReposExtras {
        downloader: Downloader::new(
            hub_client.clone(),
            super::hub::token_from_env(),
            DOWNLOADS_PER_JOB * options.jobs,
        ),
        max_lfs_size: (!args.lfs.no_lfs).then_some(args.lfs.max_lfs_size),
        on_hub: HashMap::new(),
    };
    let mut clients: HashMap<String, Arc<Hub>> = HashMap::new();
    let mut units = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry = match parse_entry(line) {
            Ok(e) => e,
            Err(e) => {
                let err = ScanError::new(format!("{shown}:{}", n + 1), e);
                ui::error(&err);
                bad.push(err);
                continue;
            }
        };
        if !seen.insert(entry.id.clone()) {
            continue;
        }
        let source = match entry.remote {
            None => Source::Local(entry.path),
            Some(remote) if endpoint.same_origin(&remote.url).is_some() => {
                let web = remote.url.trim_end_matches('/').trim_end_matches(".git");
                extras.on_hub.insert(entry.id.clone(), web.to_string());
                Source::Remote {
                    url: remote.url,
                    client: hub_client.clone(),
                    login: remote.login,
                }
            }
            Some(remote) => {
                let client = match clients.get(&remote.origin) {
                    Some(c) => c.clone(),
                    None => match Endpoint::parse(&remote.origin) {
                        Ok(endpoint) => {
                            let c = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));
                            clients.insert(remote.origin.clone(), c.clone());
                            c
                        }
                        Err(e) => {
                            let err = ScanError::new(format!("{shown}:{}", n + 1), e);
                            ui::error(&err);
                            bad.push(err);
                            continue;
                        }
                    },
                };
                Source::Remote {
                    url: remote.url,
                    client,
                    login: remote.login,
                }
            }
        };
        units.push(Unit {
            repo: RepoRef {
                kind: RepoKind::Git,
                id: entry.id,
            },
            private: false,
            source,
        });
    }
    fleet::audit(
        run,
        ScanKind::Repos,
        shown,
        units,
        &options,
        &extras,
        |report| report.errors.extend(bad),
    )
}

/// What a list adds to its repos' git audits: the LFS contents of those on
/// the Hub (the run's endpoint).
struct ReposExtras {
    downloader: Downloader,
    /// `--max-lfs-size`, unless `--no-lfs`.
    max_lfs_size: Option<u64>,
    /// Repo id → web URL, of the lines on the Hub.
    on_hub: HashMap<String, String>,
}

impl Extras for ReposExtras {
    fn lfs<'a>(&'a self, unit: &Unit) -> Option<Box<dyn LfsContents + 'a>> {
        let web = self.on_hub.get(&unit.repo.id)?;
        Some(Box::new(HubLfs {
            downloader: &self.downloader,
            web: web.clone(),
            name: unit.repo.display(),
            max_size: self.max_lfs_size?,
        }))
    }
}
