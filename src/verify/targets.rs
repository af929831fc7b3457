//! Which tokens `hfleaks revoke` is about: read from its arguments, from
//! standard input or from a report written with `--show-secrets`; each one
//! whole token of a rule with the Hub verifier (anything else is named and
//! not sent); with `--only-valid`, only those whoami calls live.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::{Endpoint, WHOAMI_VERIFIER};
use crate::config::VerifyConfig;
use crate::detect::{not_a_token, whole_tokens};
use crate::engine::Engine;
use crate::finding::{Status, Verification, redact, sha256_hex};
use crate::report::read as read_report;
use crate::sources::tokens;
use crate::ui;

/// A token to revoke, and what is known of it.
pub struct Target {
    pub token: String,
    pub verification: Option<Verification>,
}

/// Arguments or standard input: each candidate must be one whole token of
/// a rule with the Hub verifier; anything else is named and not sent.
pub fn from_input(args: &[String], engine: &Arc<Engine>) -> Result<Vec<Target>> {
    if !args.is_empty() && args != ["-"] {
        ui::note(
            "tokens given as arguments are kept in your shell history and visible to other users; prefer standard input",
        );
    }
    let candidates = tokens::read(args).context("cannot read standard input")?;
    let mut out: Vec<Target> = Vec::new();
    for (c, ok) in candidates.iter().zip(revocable(engine, &candidates)) {
        if !ok {
            ui::error(&not_a_token(c));
        } else if !out.iter().any(|t| t.token == c.text) {
            out.push(Target {
                token: c.text.clone(),
                verification: None,
            });
        }
    }
    Ok(out)
}

/// The tokens of a JSON report, each once, with the report's verification.
/// A report whose secrets are redacted cannot be used: that is an error
/// that says how to write one that can.
pub fn from_report(path: &Path, engine: &Arc<Engine>) -> Result<Vec<Target>> {
    let report = read_report(path)?;
    let mut out: Vec<Target> = Vec::new();
    let mut redacted = 0;
    for f in report.findings {
        if sha256_hex(f.secret.as_bytes()) != f.secret_sha256 {
            redacted += 1;
            continue;
        }
        match out.iter_mut().find(|t| t.token == f.secret) {
            Some(t) => {
                if t.verification.is_none() {
                    t.verification = f.verification;
                }
            }
            None => out.push(Target {
                token: f.secret,
                verification: f.verification,
            }),
        }
    }
    if redacted > 0 {
        bail!(
            "{}: {} of the report's secrets are redacted, so they cannot be revoked from it; \
             write the report with --show-secrets (e.g. hfleaks history --verify --format json --show-secrets -o audit.json), \
             keep it private, and run hfleaks revoke --from-report on it",
            path.display(),
            redacted
        );
    }
    // Only Hugging Face tokens go to the Hub: a report written with other
    // --rules may hold other services' secrets.
    let candidates: Vec<tokens::Candidate> = out
        .iter()
        .enumerate()
        .map(|(i, t)| tokens::Candidate {
            path: "<report>",
            line: i + 1,
            text: t.token.clone(),
        })
        .collect();
    let mut kept = Vec::new();
    for (target, ok) in out.into_iter().zip(revocable(engine, &candidates)) {
        if ok {
            kept.push(target);
        } else {
            ui::note(format!(
                "{} is not a Hugging Face token: not sent",
                redact(&target.token)
            ));
        }
    }
    Ok(kept)
}

/// For each candidate, whether it is one whole token of a rule the Hub can
/// check and revoke.
fn revocable(engine: &Arc<Engine>, candidates: &[tokens::Candidate]) -> Vec<bool> {
    let (found, _) = whole_tokens(engine, candidates);
    found
        .into_iter()
        .map(|f| {
            f.is_some_and(|f| {
                engine
                    .rules()
                    .iter()
                    .any(|r| r.id == f.rule_id && r.verifier.as_deref() == Some(WHOAMI_VERIFIER))
            })
        })
        .collect()
}

/// Only the tokens verified live: the report's word where it has one, the
/// Hub's (whoami-v2) for the rest.
pub fn only_valid(
    targets: Vec<Target>,
    endpoint: &Endpoint,
    timeout: std::time::Duration,
    dry_run: bool,
) -> Vec<Target> {
    let unknown: Vec<String> = targets
        .iter()
        .filter(|t| t.verification.is_none())
        .map(|t| t.token.clone())
        .collect();
    let mut checked: HashMap<String, Verification> = HashMap::new();
    if !unknown.is_empty() && !dry_run {
        ui::info(format!(
            "verifying {} first with {}/api/whoami-v2 (--only-valid)",
            ui::plural(unknown.len() as u64, "token"),
            endpoint.base()
        ));
        let config = VerifyConfig {
            enabled: true,
            offline: false,
            endpoint: endpoint.clone(),
            timeout,
            concurrency: 4,
            analyze_max_repos: None,
            only_verified: false,
        };
        checked = super::check_all(&unknown, &config);
    }
    targets
        .into_iter()
        .filter_map(|mut t| {
            if t.verification.is_none() {
                t.verification = checked.remove(&t.token);
            }
            let live = t
                .verification
                .as_ref()
                .is_some_and(|v| v.status == Status::Valid);
            if !live {
                let status = t
                    .verification
                    .as_ref()
                    .map_or("not verified", |v| match v.status {
                        Status::Invalid => "invalid",
                        Status::Unknown => "unknown",
                        Status::Valid => "valid",
                    });
                ui::note(format!(
                    "{} is {status}: not revoked (--only-valid)",
                    redact(&t.token)
                ));
            }
            live.then_some(t)
        })
        .collect()
}
