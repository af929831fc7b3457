//! The fleet commands' common part (`hfleaks hub`, `hfleaks repos`): the
//! options of the flags (the shard from flags or the environment), then
//! the fleet audit of `audit::fleet`, and the report and state written.

use anyhow::{Result, anyhow};

use super::Run;
use crate::audit::fleet::{Extras, Fleet, Options, Unit};
use crate::audit::git::Limits;
use crate::cli::{FleetArgs, SizeArgs};
use crate::finding::{Report, ScanKind};
use crate::shard::Shard;
use crate::state::State;

/// The environment variable a shard index is read from after
/// `JOB_COMPLETION_INDEX` (0-based; e.g. a GitHub Actions matrix value).
pub const SHARD_INDEX_ENV: &str = "HFLEAKS_SHARD_INDEX";
/// The environment variable the shard count is read from.
pub const SHARD_COUNT_ENV: &str = "HFLEAKS_SHARD_COUNT";
/// Kubernetes' index of an Indexed Job's pod (0-based).
pub const K8S_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The options of the flags (commit messages are always read).
pub fn options(fleet: &FleetArgs, size: &SizeArgs) -> Result<Options> {
    Ok(Options {
        limits: Limits {
            max_file_size: size.max_file_size,
            messages: true,
        },
        jobs: fleet.jobs as usize,
        cache: fleet.cache.clone(),
        state: fleet.state.clone(),
        shard: resolve_shard(fleet)?,
        converted: false,
    })
}

/// The shard of `--shard`, `--shard-index`/`--shard-count`, or the
/// environment (`JOB_COMPLETION_INDEX` or `HFLEAKS_SHARD_INDEX`, with
/// `HFLEAKS_SHARD_COUNT`); `None` when no count is given.
pub fn resolve_shard(args: &FleetArgs) -> Result<Option<Shard>> {
    resolve_shard_with(args, |k| std::env::var(k).ok())
}

fn resolve_shard_with(
    args: &FleetArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Shard>> {
    if let Some(text) = &args.shard {
        return Shard::parse(text).map(Some).map_err(anyhow::Error::msg);
    }
    let number = |name: &str, v: String| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| anyhow!("{name}={v:?}: not a number"))
    };
    let count = match (args.shard_count, env(SHARD_COUNT_ENV)) {
        (Some(n), _) => n,
        (None, Some(v)) if !v.trim().is_empty() => number(SHARD_COUNT_ENV, v)?,
        _ => {
            if args.shard_index.is_some() {
                anyhow::bail!(
                    "--shard-index needs a shard count (--shard-count or {SHARD_COUNT_ENV})"
                );
            }
            return Ok(None);
        }
    };
    let index = match args.shard_index {
        Some(i) => i,
        None => {
            let (name, v) = [K8S_INDEX_ENV, SHARD_INDEX_ENV]
                .iter()
                .find_map(|k| env(k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v)))
                .ok_or_else(|| {
                    anyhow!(
                        "a shard count of {count} needs a shard index (--shard-index, \
                         {K8S_INDEX_ENV} or {SHARD_INDEX_ENV})"
                    )
                })?;
            number(name, v)?
        }
    };
    Shard::from_index(index, count)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// Audits `units` (the whole list, before sharding) and writes the report
/// and the state: the one entry point of `hub` and `repos`.
pub fn audit(
    run: Run,
    kind: ScanKind,
    root: String,
    units: Vec<Unit>,
    options: &Options,
    extras: &dyn Extras,
    finish: impl FnOnce(&mut Report),
) -> Result<i32> {
    let digest = run.rules_digest();
    let mut state = match &options.state {
        Some(path) => Some(State::open(path, kind, &digest).map_err(|e| anyhow!(e))?),
        None => None,
    };
    let (fleet, mut report) =
        Fleet::audit(&run.scanner, kind, units, options, extras, state.as_ref());
    report.scan.root = root;
    report.scan.rules_sha256 = Some(digest);
    finish(&mut report);
    let filters = run.filters(&[])?;
    let (Some(state), Some(path)) = (state.as_mut(), options.state.as_deref()) else {
        return run.finish(report, &filters);
    };
    let (full, from_state) = fleet.counts();
    let (code, kept) = run.finish_recorded(report, &filters, full, from_state)?;
    fleet.record(state, kept);
    state.save(path).map_err(|e| anyhow!(e))?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn fleet(argv: &[&str]) -> FleetArgs {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            f: FleetArgs,
        }
        let mut all = vec!["t"];
        all.extend(argv);
        T::parse_from(all).f
    }

    #[test]
    fn the_shard_comes_from_flags_then_the_environment() {
        let none = |_: &str| None;
        assert_eq!(resolve_shard_with(&fleet(&[]), none).unwrap(), None);
        assert_eq!(
            resolve_shard_with(&fleet(&["--shard", "2/4"]), none).unwrap(),
            Some(Shard { index: 1, count: 4 })
        );
        assert_eq!(
            resolve_shard_with(&fleet(&["--shard-index", "3", "--shard-count", "4"]), none)
                .unwrap(),
            Some(Shard { index: 3, count: 4 })
        );
        let k8s = |k: &str| (k == K8S_INDEX_ENV).then(|| "5".to_string());
        assert_eq!(
            resolve_shard_with(&fleet(&["--shard-count", "16"]), k8s).unwrap(),
            Some(Shard {
                index: 5,
                count: 16
            })
        );
        let gha = |k: &str| match k {
            SHARD_INDEX_ENV => Some("0".to_string()),
            SHARD_COUNT_ENV => Some("2".to_string()),
            _ => None,
        };
        assert_eq!(
            resolve_shard_with(&fleet(&[]), gha).unwrap(),
            Some(Shard { index: 0, count: 2 })
        );
        assert!(resolve_shard_with(&fleet(&["--shard-count", "4"]), none).is_err());
        assert!(resolve_shard_with(&fleet(&["--shard-index", "1"]), none).is_err());
        assert!(
            resolve_shard_with(&fleet(&["--shard-index", "4", "--shard-count", "4"]), none)
                .is_err()
        );
    }
}
