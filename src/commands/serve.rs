//! `hfleaks serve`: the arguments and the environment (the webhook secret,
//! `HF_TOKEN`) turned into `serve::Config`, then the receiver run until
//! SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::hub::token_from_env;
use super::{Run, resolve, resolve_hub};
use crate::cli::ServeArgs;
use crate::http::Hub;
use crate::serve::{self, check_alert_url};

/// The environment variable the webhook secret is read from.
pub const SECRET_ENV: &str = "HFLEAKS_WEBHOOK_SECRET";
/// The environment variable the operator API's token is read from.
pub const ADMIN_ENV: &str = "HFLEAKS_ADMIN_TOKEN";
/// The environment variable alert URLs are read from (whitespace-separated).
pub const ALERTS_ENV: &str = "HFLEAKS_ALERT_URLS";
/// The longest rate-limit wait an audit sits out, as for `hub`.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(330);

pub fn run(args: ServeArgs) -> Result<i32> {
    if args.report.show_secrets {
        bail!("serve refuses --show-secrets: its database and its alerts never hold a raw token");
    }
    let secret = std::env::var(SECRET_ENV).unwrap_or_default();
    if secret.trim().is_empty() {
        bail!(
            "{SECRET_ENV} is not set: serve needs the webhook's secret to tell the Hub's deliveries \
             from anyone else's (set the same secret on the webhook)"
        );
    }
    let mut config = resolve(&args.report)?;
    config.detect.max_member_bytes = args.size.max_file_size;
    // A server shows no progress bars; its log is one line per event.
    config.progress = false;
    let (offline, endpoint, timeout) = resolve_hub(&args.report.hub)?;
    if offline {
        bail!("hfleaks serve reads the Hub, and --offline or HF_HUB_OFFLINE forbids it");
    }
    let alerts = alert_urls(&args)?;
    if args.revoke_policy == serve::RevokePolicy::Live && !config.verify.enabled {
        bail!("--revoke-policy live needs --verify: only a token the Hub says is valid is revoked");
    }
    let run = Run::start(config)?;
    let filters = run.filters(&[])?;
    let client = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));
    let serve_config = serve::Config {
        listen: args.listen.clone(),
        admin_listen: args.admin_listen.clone(),
        db: args.db.clone(),
        alerts,
        workers: args.workers as usize,
        secret,
        token: token_from_env(),
        client,
        verify: run.config.verify.clone(),
        lfs: (!args.lfs.no_lfs).then_some(args.lfs.max_lfs_size),
        max_file_size: args.size.max_file_size,
        filters,
        revoke_policy: args.revoke_policy,
        reverify_every: args.reverify_every,
        admin_token: std::env::var(ADMIN_ENV)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
    };
    serve::run(serve_config, run.scanner.clone()).map_err(|e| anyhow!(e))
}

/// The alert URLs of `--alert`, `--alert-file` and `HFLEAKS_ALERT_URLS`,
/// each checked, in that order, each once.
fn alert_urls(args: &ServeArgs) -> Result<Vec<String>> {
    let mut given: Vec<(String, String)> = args
        .alert
        .iter()
        .map(|u| ("--alert".to_string(), u.clone()))
        .collect();
    if let Some(file) = &args.alert_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow!("--alert-file {}: {e}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                given.push((format!("{}:{}", file.display(), n + 1), line.to_string()));
            }
        }
    }
    if let Ok(list) = std::env::var(ALERTS_ENV) {
        given.extend(
            list.split_whitespace()
                .map(|u| (ALERTS_ENV.to_string(), u.to_string())),
        );
    }
    let mut urls: Vec<String> = Vec::new();
    for (from, url) in given {
        let url = check_alert_url(&url).map_err(|e| anyhow!("{from}: {e}"))?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    Ok(urls)
}
