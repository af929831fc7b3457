//! `hfleaks repos FILE`: a list of git repositories (URLs or local paths),
//! read here and audited as a fleet by `audit::fleet`: each cloned bare (or
//! opened where it is) and audited like a Hub repo, `--jobs` at a time,
//! sharded and incremental like `hfleaks hub`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use percent_encoding::percent_decode_str;

use super::fleet;
use super::{Run, resolve, resolve_hub};
use crate::audit::fleet::{Extras, Source, Unit};
use crate::audit::git::LfsContents;
use crate::audit::storage::HubLfs;
use crate::cli::ReposArgs;
use crate::finding::{RepoKind, RepoRef, ScanError, ScanKind};
use crate::http::{Endpoint, Hub};
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
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

/// One line of the list.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// As reported: the line, without credentials.
    id: String,
    /// A local repository.
    path: PathBuf,
    remote: Option<Remote>,
}

#[derive(Debug, PartialEq, Eq)]
struct Remote {
    /// `scheme://host[:port]`: the only place `login` is sent.
    origin: String,
    /// The clone URL, without credentials.
    url: String,
    login: Option<(String, String)>,
}

/// A list line: `https://[user[:password]@]host/path` (or `http://` on a
/// loopback host), `file:///path`, or a local path.
fn parse_entry(line: &str) -> Result<Entry, String> {
    if let Some(path) = line.strip_prefix("file://") {
        return Ok(Entry {
            id: line.to_string(),
            path: PathBuf::from(percent_decode_str(path).decode_utf8_lossy().into_owned()),
            remote: None,
        });
    }
    let Some((scheme, rest)) = line.split_once("://") else {
        if line.contains('@') && !line.starts_with('/') && !line.starts_with('.') {
            // Not echoed: what is before the @ may be a password.
            return Err(
                "an SSH-style or scheme-less URL with credentials is not supported; use an https:// URL"
                    .to_string(),
            );
        }
        return Ok(Entry {
            id: line.to_string(),
            path: PathBuf::from(line),
            remote: None,
        });
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "{scheme}:// URLs are not supported: use https:// (or http:// on a loopback host), file:// or a path"
        ));
    }
    if rest.contains(['?', '#']) {
        // A query may carry a token (`?private_token=…`): never in an id.
        return Err("a URL with a query or fragment is not supported".to_string());
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err("a URL without a host".to_string());
    }
    let login = userinfo.map(|u| {
        let (user, password) = u.split_once(':').unwrap_or((u, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        (decode(user), decode(password))
    });
    let origin = format!("{scheme}://{host}");
    let url = format!("{origin}/{path}");
    Ok(Entry {
        id: url.clone(),
        path: PathBuf::new(),
        remote: Some(Remote { origin, url, login }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_kept_for_cloning_but_never_in_the_id() {
        let e = parse_entry("https://bot:s%40cret@git.example/team/repo.git").unwrap();
        assert_eq!(e.id, "https://git.example/team/repo.git");
        let r = e.remote.unwrap();
        assert_eq!(r.origin, "https://git.example");
        assert_eq!(r.url, "https://git.example/team/repo.git");
        assert_eq!(r.login, Some(("bot".into(), "s@cret".into())));
    }

    #[test]
    fn paths_file_urls_and_unsupported_schemes() {
        let e = parse_entry("../other/repo").unwrap();
        assert_eq!((e.id.as_str(), e.remote), ("../other/repo", None));
        assert_eq!(e.path, PathBuf::from("../other/repo"));
        let e = parse_entry("file:///srv/git/a%20b.git").unwrap();
        assert_eq!(e.path, PathBuf::from("/srv/git/a b.git"));
        assert!(
            parse_entry("ssh://git@host/x")
                .unwrap_err()
                .contains("ssh://")
        );
        assert!(
            parse_entry("git@github.com:org/repo.git")
                .unwrap_err()
                .contains("SSH")
        );
        let e = parse_entry("bot:s3cret@git.example/team/x.git").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse_entry("https://h.example/r.git?private_token=abc").unwrap_err();
        assert!(!e.contains("abc") && e.contains("query"), "{e}");
    }
}
