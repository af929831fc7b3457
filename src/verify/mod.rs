//! Live verification of tokens against the Hub's whoami-v2 endpoint, and
//! what a live token exposes (`--analyze`). The only module that opens
//! network connections. Each distinct token is sent at most once per run
//! (plus retries), from a bounded number of threads, only to the configured
//! endpoint; a token never appears unredacted in a message.

pub use crate::http as client;
pub mod exposure;
pub mod revoke;
pub mod targets;
pub mod whoami;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::VerifyConfig;
use crate::finding::{Finding, redact};
use crate::rules::Rule;
use crate::ui;

pub use crate::finding::verification::*;
pub use client::{Endpoint, Hub};

/// The Hub used when neither `--hf-endpoint` nor `HF_ENDPOINT` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The `verifier` value of rules whose secrets whoami-v2 can check.
pub const WHOAMI_VERIFIER: &str = "huggingface-whoami";

/// Verifies the findings of rules with the whoami verifier, sets each one's
/// `verification` and severity, and with `--only-verified` keeps only live
/// tokens. Does nothing unless verification is enabled; sends nothing when
/// offline.
pub fn verify_findings(findings: &mut Vec<Finding>, rules: &[Rule], opts: &VerifyConfig) {
    if !opts.enabled {
        return;
    }
    if opts.offline {
        ui::note(format!(
            "offline (HF_HUB_OFFLINE or --offline): tokens were not verified{}",
            if opts.only_verified {
                ", so --only-verified reports nothing"
            } else {
                ""
            }
        ));
    } else {
        // Only raw secrets are sent: a finding read back redacted (from a
        // state file or a report) keeps whatever verification it has.
        let verifiable: Vec<bool> = findings
            .iter()
            .map(|f| {
                crate::finding::sha256_hex(f.secret.as_bytes()) == f.secret_sha256
                    && rules
                        .iter()
                        .find(|r| r.id == f.rule_id)
                        .is_some_and(|r| r.verifier.as_deref() == Some(WHOAMI_VERIFIER))
            })
            .collect();
        let mut tokens: Vec<&str> = findings
            .iter()
            .zip(&verifiable)
            .filter(|(_, v)| **v)
            .map(|(f, _)| f.secret.as_str())
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        if !tokens.is_empty() {
            ui::info(format!(
                "verifying {} with {}/api/whoami-v2",
                ui::plural(tokens.len() as u64, "distinct token"),
                opts.endpoint.base()
            ));
            let tokens: Vec<String> = tokens.into_iter().map(str::to_string).collect();
            let results = check_all(&tokens, opts);
            for (f, _) in findings.iter_mut().zip(&verifiable).filter(|(_, v)| **v) {
                if let Some(v) = results.get(&f.secret) {
                    f.severity = v.severity(f.severity);
                    f.verification = Some(v.clone());
                }
            }
            ui::info(tally(results.values()));
        }
    }
    if opts.only_verified {
        findings.retain(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == Status::Valid)
        });
    }
}

/// Checks each token once, from at most `opts.concurrency` threads.
pub fn check_all(tokens: &[String], opts: &VerifyConfig) -> HashMap<String, Verification> {
    let hub = Hub::new(opts.endpoint.clone(), opts.timeout);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(HashMap::with_capacity(tokens.len()));
    let workers = opts.concurrency.min(tokens.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = tokens.get(i) else { break };
                    let v = check(&hub, token, opts.analyze_max_repos);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(token.clone(), v);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Asks whoami-v2 about one token and, with `analyze`, what a live one exposes.
pub fn check(hub: &Hub, token: &str, analyze: Option<usize>) -> Verification {
    let resp = match hub.get(&hub.endpoint().url("/api/whoami-v2"), Some(token)) {
        Ok(r) => r,
        Err(reason) => return Verification::unknown(clean(&reason, token)),
    };
    let message = resp
        .error_message
        .as_deref()
        .map(|m| format!(": {}", clean(m, token)))
        .unwrap_or_default();
    let status = client::status_text(resp.status);
    match resp.status {
        200 => {
            let who = match resp.text().and_then(whoami::parse) {
                Ok(w) => w,
                Err(reason) => return Verification::unknown(clean(&reason, token)),
            };
            let mut owners = vec![who.owner.name.clone()];
            for org in &who.orgs {
                if !owners.contains(&org.name) {
                    owners.push(org.name.clone());
                }
            }
            let write_access = whoami::write_access(who.token.as_ref());
            Verification {
                status: Status::Valid,
                reason: None,
                write_access,
                exposure: analyze.map(|max| exposure::analyze(hub, token, &owners, max)),
                owner: Some(who.owner),
                orgs: who.orgs,
                token: who.token,
            }
        }
        401 => Verification::invalid(match resp.error_message {
            Some(m) => clean(&m, token),
            None => status,
        }),
        _ => Verification::unknown(format!("unexpected {status}{message}")),
    }
}

/// A reason safe to print: the token redacted should the server echo it,
/// no control characters, and not too long.
fn clean(reason: &str, token: &str) -> String {
    clean_all(reason, &[token])
}

/// [`clean`] for a reason that may echo any of several secrets.
pub(crate) fn clean_all(reason: &str, secrets: &[&str]) -> String {
    let mut redacted = reason.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        redacted = redacted.replace(s, &redact(s));
    }
    let mut out: String = redacted
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if redacted.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// `verification: 1 valid, 2 invalid, 0 unknown`.
fn tally<'a>(results: impl Iterator<Item = &'a Verification>) -> String {
    let (mut valid, mut invalid, mut unknown) = (0, 0, 0);
    for v in results {
        match v.status {
            Status::Valid => valid += 1,
            Status::Invalid => invalid += 1,
            Status::Unknown => unknown += 1,
        }
    }
    format!("verification: {valid} valid, {invalid} invalid, {unknown} unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_never_carry_the_token() {
        let token = format!("hf_{}", "QmZtRkWvLpNcXyBdGhJsTfUaEoIqVrKwPz");
        let r = clean(&format!("bad token {token}\nagain"), &token);
        assert!(!r.contains(&token), "{r}");
        assert!(r.contains("hf_QmZt…KwPz"), "{r}");
        assert!(!r.contains('\n'));
    }

    #[test]
    fn tally_counts_each_status() {
        let results = [
            Verification::bare(Status::Valid, None),
            Verification::invalid("x"),
            Verification::invalid("y"),
        ];
        assert_eq!(
            tally(results.iter()),
            "verification: 1 valid, 2 invalid, 0 unknown"
        );
    }
}
