//! The repos an audit of the Hub covers: the targets (owners, repos)
//! expanded into each owner's repos of the included kinds, every page,
//! each repo once, less the `--exclude` globs. Used by `hfleaks hub`.

use std::collections::BTreeMap;

use globset::GlobSet;

use crate::finding::{RepoKind, RepoRef, ScanError};
use crate::http::Hub;
use crate::sources::hub::{self, HubRepo, Target};
use crate::ui;

/// The repos the targets name, each once, in a stable order: an owner's
/// repos and buckets of the included kinds (every page), and the repos
/// named. A repo listing that fails stops the run: a partial list is never
/// audited. A bucket listing that fails is an error and the run goes on
/// (the repos are all there); a kernel listing the Hub does not answer
/// (404, 400: the endpoint is undocumented) is a note. Also the owners whose listings were all
/// empty (a mistyped name looks like that).
pub type Listed = (Vec<HubRepo>, Vec<String>, Vec<ScanError>);

pub fn list_targets(
    client: &Hub,
    token: Option<&str>,
    targets: &[Target],
    kinds: &[RepoKind],
    exclude: &GlobSet,
) -> Result<Listed, String> {
    let mut repos: BTreeMap<RepoRef, HubRepo> = BTreeMap::new();
    let mut empty = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        match target {
            Target::Owner(owner) => {
                let mut any = false;
                for &kind in kinds {
                    let listed = match kind {
                        RepoKind::Kernel => hub::list_kernels(client, token, owner),
                        _ => hub::list_owner(client, token, owner, kind).map(Some),
                    };
                    let listed = match listed {
                        Ok(Some(l)) => l,
                        Ok(None) => {
                            ui::note(format!(
                                "{owner}: the Hub does not list kernel repos here \
                                 (/api/kernels?author= answered 404 or 400): name them as kernels/NS/NAME"
                            ));
                            continue;
                        }
                        Err(e) if kind == RepoKind::Bucket => {
                            let e = ScanError::new(owner.clone(), e);
                            ui::error(&e);
                            errors.push(e);
                            continue;
                        }
                        Err(e) => return Err(format!("{owner}: {e}")),
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
