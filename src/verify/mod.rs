//! Live verification of tokens against the Hub's whoami-v2 endpoint, and
//! what a live token exposes (`--analyze`). The only module that opens
//! network connections. Each distinct token is sent at most once per run
//! (plus retries), from a bounded number of threads, only to the configured
//! endpoint; a token never appears unredacted in a message.

pub mod client;
pub mod exposure;
pub mod whoami;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cli::ReportArgs;
use crate::finding::{Finding, redact};
use crate::rules::{Rule, Severity};

pub use client::{Endpoint, Hub};
pub use exposure::{Exposure, OwnerRepos, RepoList};

/// The Hub used when neither `--hf-endpoint` nor `HF_ENDPOINT` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The `verifier` value of rules whose secrets whoami-v2 can check.
pub const WHOAMI_VERIFIER: &str = "huggingface-whoami";

/// Whether a token still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
    Unknown,
}

/// The account a live token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub name: String,
    /// `user`, `org` or `app`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub fullname: Option<String>,
}

/// An organization the owner belongs to, and the owner's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRole {
    pub name: String,
    /// `admin`, `write`, `contributor`, `read`, … (`roleInOrg`).
    #[serde(default)]
    pub role: Option<String>,
}

/// What the Hub says about the token itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The name its owner gave it (`displayName`).
    #[serde(default)]
    pub name: Option<String>,
    /// `read`, `write` or `fineGrained` (older tokens: `admin`, `contributor`).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `auth.type`, e.g. `access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// Fine-grained tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// A fine-grained token's permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Permissions on everything the owner can reach (`user.billing.read`, …).
    #[serde(default)]
    pub global: Vec<String>,
    /// Permissions on named users, organizations or repositories.
    #[serde(default)]
    pub scoped: Vec<ScopedPermissions>,
}

/// Permissions on one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedPermissions {
    /// `user`, `org`, `model`, `dataset`, `space`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// The outcome of asking the Hub about one token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub status: Status,
    /// Why the status is `invalid` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Valid tokens: who they authenticate as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<OrgRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenInfo>,
    /// Valid tokens: whether they can write (push, delete, change settings);
    /// absent when the Hub's answer does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_access: Option<bool>,
    /// `--analyze`: what the token can reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
}

impl Verification {
    fn bare(status: Status, reason: Option<String>) -> Verification {
        Verification {
            status,
            reason,
            owner: None,
            orgs: Vec::new(),
            token: None,
            write_access: None,
            exposure: None,
        }
    }

    pub fn unknown(reason: impl Into<String>) -> Verification {
        Verification::bare(Status::Unknown, Some(reason.into()))
    }

    pub fn invalid(reason: impl Into<String>) -> Verification {
        Verification::bare(Status::Invalid, Some(reason.into()))
    }

    /// The severity of a finding with this outcome: live with write access
    /// is critical, live otherwise high, dead low; unknown keeps the rule's.
    pub fn severity(&self, rule_severity: Severity) -> Severity {
        match self.status {
            Status::Valid if self.write_access == Some(true) => Severity::Critical,
            Status::Valid => Severity::High,
            Status::Invalid => Severity::Low,
            Status::Unknown => rule_severity,
        }
    }
}

/// How much to find out about each token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Depth {
    /// Whether it is live, who owns it and its role (one whoami-v2 request).
    Live,
    /// Also list the repositories it exposes (as --analyze).
    Deep,
}

/// Which findings make the exit code 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any reported finding.
    #[default]
    Any,
    /// Only findings whose token is verified live.
    Valid,
    /// None: report, but exit 0 (errors still exit 2).
    None,
}

impl FailOn {
    /// Whether `f` makes the run fail.
    pub fn fails(self, f: &Finding) -> bool {
        match self {
            FailOn::Any => true,
            FailOn::Valid => f
                .verification
                .as_ref()
                .is_some_and(|v| v.status == Status::Valid),
            FailOn::None => false,
        }
    }
}

/// Verification settings of one run, resolved from the command line and
/// the environment (`HF_ENDPOINT`, `HF_HUB_OFFLINE`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Verify at all (`--verify`, `--analyze`, `--only-verified`, `--fail-on valid`).
    pub enabled: bool,
    /// `--offline` or `HF_HUB_OFFLINE`: nothing is sent.
    pub offline: bool,
    /// Where tokens go; checked, so only `https://` or loopback `http://`.
    pub endpoint: Endpoint,
    pub timeout: Duration,
    pub concurrency: usize,
    /// `--analyze`: list exposed repositories, at most this many per owner and kind.
    pub analyze_max_repos: Option<usize>,
    pub only_verified: bool,
    pub fail_on: FailOn,
    pub quiet: bool,
}

impl Options {
    /// Resolves the options; an endpoint tokens must not go to is an error
    /// (before anything is sent) whenever verification would run.
    pub fn from_args(args: &ReportArgs) -> anyhow::Result<Options> {
        Options::resolve(args, |k| std::env::var(k).ok())
    }

    fn resolve(args: &ReportArgs, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Options> {
        let deep = args.analyze || args.verify == Some(Depth::Deep);
        let enabled =
            args.verify.is_some() || deep || args.only_verified || args.fail_on == FailOn::Valid;
        let offline = args.offline || env("HF_HUB_OFFLINE").is_some_and(|v| is_true(&v));
        let url = args
            .hf_endpoint
            .clone()
            .or_else(|| env("HF_ENDPOINT").filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = match Endpoint::parse(&url) {
            Ok(e) => e,
            Err(msg) if enabled && !offline => anyhow::bail!(msg),
            Err(_) => Endpoint::parse(DEFAULT_ENDPOINT).expect("the default endpoint is valid"),
        };
        Ok(Options {
            enabled,
            offline,
            endpoint,
            timeout: Duration::from_secs_f64(args.verify_timeout.max(0.001)),
            concurrency: args.verify_concurrency.max(1),
            analyze_max_repos: deep.then_some(args.analyze_max_repos),
            only_verified: args.only_verified,
            fail_on: args.fail_on,
            quiet: args.quiet,
        })
    }
}

/// huggingface_hub's reading of a boolean environment variable.
fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

/// Verifies the findings of rules with the whoami verifier, sets each one's
/// `verification` and severity, and with `--only-verified` keeps only live
/// tokens. Does nothing unless verification is enabled; sends nothing when
/// offline.
pub fn verify_findings(findings: &mut Vec<Finding>, rules: &[Rule], opts: &Options) {
    if !opts.enabled {
        return;
    }
    if opts.offline {
        eprintln!(
            "hfleaks: note: offline (HF_HUB_OFFLINE or --offline): tokens were not verified{}",
            if opts.only_verified {
                ", so --only-verified reports nothing"
            } else {
                ""
            }
        );
    } else {
        let verifiable: Vec<bool> = findings
            .iter()
            .map(|f| {
                rules
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
            if !opts.quiet {
                eprintln!(
                    "hfleaks: verifying {} with {}/api/whoami-v2",
                    plural(tokens.len(), "distinct token"),
                    opts.endpoint.base()
                );
            }
            let tokens: Vec<String> = tokens.into_iter().map(str::to_string).collect();
            let results = check_all(&tokens, opts);
            for (f, _) in findings.iter_mut().zip(&verifiable).filter(|(_, v)| **v) {
                if let Some(v) = results.get(&f.secret) {
                    f.severity = v.severity(f.severity);
                    f.verification = Some(v.clone());
                }
            }
            if !opts.quiet {
                eprintln!("hfleaks: {}", tally(results.values()));
            }
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
pub fn check_all(tokens: &[String], opts: &Options) -> HashMap<String, Verification> {
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
    let resp = match hub.get(&hub.endpoint().url("/api/whoami-v2"), token) {
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
    let redacted = if token.is_empty() {
        reason.to_string()
    } else {
        reason.replace(token, &redact(token))
    };
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

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> ReportArgs {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            r: ReportArgs,
        }
        let mut argv = vec!["t"];
        argv.extend(extra);
        T::parse_from(argv).r
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn severity_follows_the_outcome() {
        let mut v = Verification::bare(Status::Valid, None);
        v.write_access = Some(true);
        assert_eq!(v.severity(Severity::Low), Severity::Critical);
        v.write_access = Some(false);
        assert_eq!(v.severity(Severity::Medium), Severity::High);
        v.write_access = None;
        assert_eq!(v.severity(Severity::Medium), Severity::High);
        assert_eq!(
            Verification::invalid("x").severity(Severity::High),
            Severity::Low
        );
        assert_eq!(
            Verification::unknown("x").severity(Severity::Medium),
            Severity::Medium
        );
    }

    #[test]
    fn verification_is_off_unless_asked() {
        let o = Options::resolve(&args(&[]), no_env).unwrap();
        assert!(!o.enabled);
        for flags in [
            &["--verify"][..],
            &["--verify=deep"],
            &["--analyze"],
            &["--only-verified"],
            &["--fail-on", "valid"],
        ] {
            assert!(
                Options::resolve(&args(flags), no_env).unwrap().enabled,
                "{flags:?}"
            );
        }
        let deep = Options::resolve(&args(&["--verify=deep"]), no_env).unwrap();
        assert_eq!(deep.analyze_max_repos, Some(1000));
    }

    #[test]
    fn endpoint_comes_from_flag_then_env_then_default() {
        let env = |k: &str| (k == "HF_ENDPOINT").then(|| "https://hub.example/".to_string());
        let o = Options::resolve(&args(&["--verify"]), env).unwrap();
        assert_eq!(o.endpoint.base(), "https://hub.example");
        let o = Options::resolve(
            &args(&["--verify", "--hf-endpoint", "https://b.example"]),
            env,
        )
        .unwrap();
        assert_eq!(o.endpoint.base(), "https://b.example");
        let o = Options::resolve(&args(&["--verify"]), no_env).unwrap();
        assert_eq!(o.endpoint.base(), DEFAULT_ENDPOINT);
    }

    #[test]
    fn plain_http_endpoint_is_an_error_only_when_verifying() {
        let bad = ["--hf-endpoint", "http://example.invalid"];
        assert!(Options::resolve(&args(&bad), no_env).is_ok());
        let mut verifying = bad.to_vec();
        verifying.push("--verify");
        let e = Options::resolve(&args(&verifying), no_env).unwrap_err();
        assert!(e.to_string().contains("plain http"), "{e}");
    }

    #[test]
    fn hf_hub_offline_is_read_like_huggingface_hub() {
        for (v, offline) in [
            ("1", true),
            ("true", true),
            ("ON", true),
            ("0", false),
            ("", false),
        ] {
            let env = |k: &str| (k == "HF_HUB_OFFLINE").then(|| v.to_string());
            let o = Options::resolve(&args(&["--verify"]), env).unwrap();
            assert_eq!(o.offline, offline, "{v:?}");
        }
    }

    #[test]
    fn reasons_never_carry_the_token() {
        let token = format!("hf_{}", "QmZtRkWvLpNcXyBdGhJsTfUaEoIqVrKwPz");
        let r = clean(&format!("bad token {token}\nagain"), &token);
        assert!(!r.contains(&token), "{r}");
        assert!(r.contains("hf_QmZt…KwPz"), "{r}");
        assert!(!r.contains('\n'));
    }

    #[test]
    fn fail_on_chooses_what_fails() {
        let mut f: Finding = serde_json::from_value(serde_json::json!({
            "rule_id": "r", "severity": "high", "path": "p", "line": 1, "column": 1,
            "end_line": 1, "end_column": 2, "secret": "s", "secret_sha256": "h",
            "entropy": 0.0, "commit": null, "at_head": null, "removed_in": null,
            "notebook": null, "encoding": null, "verification": null
        }))
        .unwrap();
        assert!(FailOn::Any.fails(&f));
        assert!(!FailOn::Valid.fails(&f));
        assert!(!FailOn::None.fails(&f));
        f.verification = Some(Verification::bare(Status::Valid, None));
        assert!(FailOn::Valid.fails(&f));
    }
}
