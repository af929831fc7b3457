//! `hfleaks revoke`: asks the Hub to revoke tokens given as arguments, on
//! standard input, or from a report written with `--show-secrets`. Only
//! whole tokens of a rule with the Hub verifier are sent; with
//! `--only-valid`, only those verified live (verifying first where the
//! report says nothing). It lists what it will send and asks on a
//! terminal; without one it needs `--yes`. `--dry-run` sends nothing.

use anyhow::{Context, Result, bail};

use super::{EXIT_CLEAN, EXIT_ERROR, redacting_scanner, resolve_hub};
use crate::cli::RevokeArgs;
use crate::config::DetectConfig;
use crate::finding::{ScanError, redact};
use crate::ui;
use crate::verify::targets::{Target, from_input, from_report, only_valid};
use crate::verify::{self, Endpoint, Hub};

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
