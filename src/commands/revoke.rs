//! `hfleaks revoke`: asks the Hub to revoke tokens given as arguments, on
//! standard input, or from a report written with `--show-secrets`. Only
//! whole tokens of a rule with the Hub verifier are sent; with
//! `--only-valid`, only those verified live (verifying first where the
//! report says nothing). It lists what it will send and asks on a
//! terminal; without one it needs `--yes`. `--dry-run` sends nothing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::{EXIT_CLEAN, EXIT_ERROR, redacting_scanner, resolve_hub};
use crate::cli::RevokeArgs;
use crate::config::DetectConfig;
use crate::config::VerifyConfig;
use crate::detect::{not_a_token, whole_tokens};
use crate::engine::Engine;
use crate::finding::{ScanError, Status, Verification, redact, sha256_hex};
use crate::report::read as read_report;
use crate::sources::tokens;
use crate::ui;
use crate::verify::{self, Endpoint, Hub, WHOAMI_VERIFIER};

/// A token to revoke, and what is known of it.
struct Target {
    token: String,
    verification: Option<Verification>,
}

pub fn run(args: RevokeArgs) -> Result<i32> {
    let (offline, endpoint, timeout) = resolve_hub(&args.hub)?;
    if offline && !args.dry_run {
        bail!(
            "offline (HF_HUB_OFFLINE or --offline): nothing can be revoked; --dry-run shows what would be sent"
        );
    }
    // Nothing of what is revoked is ever shown in full.
    let engine =
        redacting_scanner(&args.rules.rules, DetectConfig::default(), false)?.shared_engine();
    let mut targets = match &args.from_report {
        Some(path) => from_report(path, &engine)?,
        None => from_input(&args.tokens, &engine)?,
    };
    if args.only_valid {
        targets = only_valid(targets, &endpoint, timeout, args.dry_run);
    }
    if targets.is_empty() {
        ui::info("no token to revoke");
        return Ok(if ui::errored() {
            EXIT_ERROR
        } else {
            EXIT_CLEAN
        });
    }
    let admin = match &args.org {
        Some(_) => Some(admin_token()?),
        None => None,
    };
    show_plan(&targets, &endpoint, args.org.as_deref());
    if args.dry_run {
        ui::say("hfleaks: dry run: nothing was sent");
        return Ok(EXIT_CLEAN);
    }
    if !args.yes {
        if !ui::stdin_is_terminal() {
            bail!(
                "refusing to revoke without confirmation: standard input is not a terminal; pass --yes"
            );
        }
        if !ui::confirm(&format!(
            "Revoke {}?",
            ui::plural(targets.len() as u64, "token")
        )) {
            ui::say("hfleaks: nothing was sent");
            return Ok(EXIT_CLEAN);
        }
    }
    let hub = Hub::new(endpoint, timeout);
    let tokens: Vec<String> = targets.iter().map(|t| t.token.clone()).collect();
    let failed = match (&args.org, &admin) {
        (Some(org), Some(admin)) => revoke_in_org(&hub, org, admin, &tokens),
        _ => revoke_public(&hub, &tokens),
    };
    let requested = tokens.len() - failed;
    if requested > 0 {
        ui::say(&format!(
            "hfleaks: revocation requested for {} (the Hub accepts a request whether or not a token exists; its owner is e-mailed).\n  \
             confirm in a minute that they are dead: pass the same tokens to `hfleaks verify` (standard input, one per line)",
            ui::plural(requested as u64, "token")
        ));
    }
    Ok(if failed > 0 { EXIT_ERROR } else { EXIT_CLEAN })
}

/// Arguments or standard input: each candidate must be one whole token of
/// a rule with the Hub verifier; anything else is named and not sent.
fn from_input(args: &[String], engine: &Arc<Engine>) -> Result<Vec<Target>> {
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
fn from_report(path: &Path, engine: &Arc<Engine>) -> Result<Vec<Target>> {
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
fn only_valid(
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
        checked = verify::check_all(&unknown, &config);
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

/// What will be sent where, redacted, with the owner and role when known.
fn show_plan(targets: &[Target], endpoint: &Endpoint, org: Option<&str>) {
    let place = match org {
        Some(org) => format!(
            "{}/api/organizations/{org}/settings/tokens/revoke (cuts each token off from {org} only; it keeps working elsewhere)",
            endpoint.base()
        ),
        None => format!("{}/api/credentials/revoke", endpoint.base()),
    };
    let mut lines = vec![format!(
        "hfleaks: {} to revoke at {place}:",
        ui::plural(targets.len() as u64, "token")
    )];
    for t in targets {
        let mut line = format!("  {}", redact(&t.token));
        if let Some(v) = &t.verification {
            if let Some(o) = &v.owner {
                line.push_str(&format!("  owner {} ({})", o.name, o.kind));
            }
            if let Some(role) = v.token.as_ref().and_then(|t| t.role.as_deref()) {
                line.push_str(&format!(", role {role}"));
            }
        }
        lines.push(line);
    }
    ui::say(&lines.join("\n"));
}

/// The organization admin's token: `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN`.
fn admin_token() -> Result<String> {
    super::hub::token_from_env().context(
        "--org needs the organization admin's token in HF_TOKEN (or HUGGING_FACE_HUB_TOKEN)",
    )
}

/// Sends the batches; returns how many tokens failed.
fn revoke_public(hub: &Hub, tokens: &[String]) -> usize {
    let mut failed = 0;
    for (n, outcome) in verify::revoke::revoke_public(hub, tokens) {
        if let Err(reason) = outcome {
            failed += n;
            ui::error(&ScanError::new(
                hub.endpoint().url("/api/credentials/revoke"),
                format!(
                    "revocation of {} not requested: {reason}",
                    ui::plural(n as u64, "token")
                ),
            ));
        }
    }
    failed
}

/// One request per token to the organization endpoint; how many failed.
fn revoke_in_org(hub: &Hub, org: &str, admin: &str, tokens: &[String]) -> usize {
    let mut failed = 0;
    for t in tokens {
        if let Err(reason) = verify::revoke::revoke_in_org(hub, org, admin, t) {
            failed += 1;
            ui::error(&ScanError::new(
                format!("organization {org}"),
                format!("{} not cut off: {reason}", redact(t)),
            ));
        }
    }
    failed
}
