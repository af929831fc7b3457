//! `hfleaks merge REPORT...`: shard reports of one `hub` or `repos` audit
//! (`--shard K/N`) made into one report, in any format. It refuses shards
//! that are missing, given twice, of another count, cut from another
//! listing or made with other rules. With `--verify`, each distinct token
//! is verified once across all shards; a shard's own verification of a
//! token is reused.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{Run, resolve};
use crate::cli::MergeArgs;
use crate::finding::{Incremental, Report, ScanKind, ScanStats, Verification, sha256_hex};
use crate::report::read as read_report;
use crate::rules::Rule;
use crate::shard::Shard;
use crate::ui;
use crate::verify::verify_findings;

pub fn run(args: MergeArgs) -> Result<i32> {
    let mut config = resolve(&args.report)?;
    // Verified here, once; the run's own finish must not verify again.
    let verify = config.verify.clone();
    config.verify.enabled = false;
    let run = Run::start(config)?;
    let mut shards = Vec::new();
    for path in &args.reports {
        shards.push((path.clone(), read_report(path)?));
    }
    check(&shards)?;
    let mut merged = combine(shards);
    if verify.enabled {
        verify_once(&mut merged, run.engine.rules(), &verify);
    }
    let filters = run.filters(&[])?;
    run.finish(merged, &filters)
}

/// Every shard of one listing, each once, with the same rules.
fn check(shards: &[(PathBuf, Report)]) -> Result<()> {
    let shown = |p: &PathBuf| p.display().to_string();
    let mut count = None;
    let mut seen: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    let (first_path, first) = &shards[0];
    for (path, r) in shards {
        let s = &r.scan;
        if !matches!(s.kind, ScanKind::Hub | ScanKind::Repos) {
            bail!(
                "{}: not a report of `hfleaks hub` or `hfleaks repos`",
                shown(path)
            );
        }
        let Some(label) = &s.shard else {
            bail!(
                "{}: not a shard report (no scan.shard): write each shard with --shard K/N",
                shown(path)
            );
        };
        let shard = Shard::parse(label)
            .map_err(|_| anyhow::anyhow!("{}: bad scan.shard '{label}'", shown(path)))?;
        match count {
            None => count = Some(shard.count),
            Some(n) if n != shard.count => bail!(
                "{}: shard {label} is one of {}, but {} is one of {n}",
                shown(path),
                shard.count,
                shown(first_path)
            ),
            _ => {}
        }
        if s.kind != first.scan.kind {
            bail!(
                "{}: a report of another command than {}",
                shown(path),
                shown(first_path)
            );
        }
        if s.listing.is_none() || s.listing != first.scan.listing {
            bail!(
                "{}: cut from another listing than {} (the repo lists differ: \
                 the shards must run with the same targets, --include and --exclude, and the same repos)",
                shown(path),
                shown(first_path)
            );
        }
        if s.rules_sha256 != first.scan.rules_sha256 {
            bail!(
                "{}: made with other rules than {} (the same --rules on every shard)",
                shown(path),
                shown(first_path)
            );
        }
        if let Some(other) = seen.insert(shard.index, path) {
            bail!(
                "shard {label} is given twice: {} and {}",
                shown(other),
                shown(path)
            );
        }
    }
    let n = count.unwrap_or(0);
    let absent = u64::from(n) - seen.len() as u64;
    if absent > 0 {
        // The first few by name (a count of millions is not listed).
        let names: Vec<String> = (0..n)
            .filter(|i| !seen.contains_key(i))
            .take(20)
            .map(|i| format!("{}/{n}", i + 1))
            .collect();
        let more = match absent {
            0..=20 => String::new(),
            _ => format!(" and {} more", absent - 20),
        };
        let what = if absent == 1 { "shard" } else { "shards" };
        bail!("missing {what}: {}{more}", names.join(", "));
    }
    Ok(())
}

/// One report: every shard's repos, findings and errors, counts summed.
fn combine(shards: Vec<(PathBuf, Report)>) -> Report {
    let first = &shards[0].1.scan;
    let mut scan = ScanStats {
        kind: first.kind,
        root: first.root.clone(),
        listing: first.listing.clone(),
        rules_sha256: first.rules_sha256.clone(),
        ..ScanStats::default()
    };
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let mut incremental: Option<Incremental> = None;
    for (_, r) in shards {
        let s = r.scan;
        scan.files += s.files;
        scan.blobs += s.blobs;
        scan.commits += s.commits;
        scan.bytes += s.bytes;
        scan.skipped += s.skipped;
        scan.discussions += s.discussions;
        scan.content += s.content;
        scan.repos.extend(s.repos);
        if let Some(a) = s.authenticated {
            scan.authenticated = Some(scan.authenticated.unwrap_or(true) && a);
        }
        if let Some(i) = s.incremental {
            let t = incremental.get_or_insert_with(Incremental::default);
            t.full += i.full;
            t.from_state += i.from_state;
            t.carried += i.carried;
            t.new += i.new;
        }
        findings.extend(r.findings);
        errors.extend(r.errors);
    }
    scan.repos
        .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    // Errors about the list itself (an owner with no repos, a bad line of
    // a repos file) are in every shard: once in the merge, as unsharded.
    let mut once = std::collections::HashSet::new();
    errors.retain(|e: &crate::finding::ScanError| once.insert((e.path.clone(), e.message.clone())));
    scan.incremental = incremental;
    Report {
        scan,
        findings,
        errors,
        ..Report::default()
    }
}

/// Verifies each distinct token once: a shard's own result is reused for
/// every place of that token; the others are checked with the raw secret
/// (a shard written with `--show-secrets`). A redacted, unverified token
/// cannot be checked, and a note says how many.
fn verify_once(report: &mut Report, rules: &[Rule], config: &crate::config::VerifyConfig) {
    let mut known: HashMap<String, Verification> = HashMap::new();
    for f in &report.findings {
        if let Some(v) = &f.verification {
            known
                .entry(f.secret_sha256.clone())
                .or_insert_with(|| v.clone());
        }
    }
    let mut representatives = Vec::new();
    let mut redacted = std::collections::HashSet::new();
    let mut picked = std::collections::HashSet::new();
    for f in &report.findings {
        if known.contains_key(&f.secret_sha256) {
            continue;
        }
        if sha256_hex(f.secret.as_bytes()) != f.secret_sha256 {
            redacted.insert(f.secret_sha256.clone());
        } else if picked.insert(f.secret_sha256.clone()) {
            let mut one = f.clone();
            one.verification = None;
            representatives.push(one);
        }
    }
    for sha in &picked {
        redacted.remove(sha);
    }
    if !redacted.is_empty() {
        ui::note(format!(
            "{} could not be verified: the shard reports hold them redacted (write the shards \
             with --show-secrets, on storage only the audit can read, to verify at merge)",
            ui::plural(redacted.len() as u64, "token")
        ));
    }
    let only_verified = config.only_verified;
    let each = crate::config::VerifyConfig {
        only_verified: false,
        ..config.clone()
    };
    verify_findings(&mut representatives, rules, &each);
    for r in representatives {
        if let Some(v) = r.verification {
            known.insert(r.secret_sha256, v);
        }
    }
    for f in &mut report.findings {
        if f.verification.is_none() {
            if let Some(v) = known.get(&f.secret_sha256) {
                f.severity = v.severity(f.severity);
                f.verification = Some(v.clone());
            }
        }
    }
    if only_verified {
        report.findings.retain(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == crate::finding::Status::Valid)
        });
    }
}
