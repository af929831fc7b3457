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
/// The longest rate-limit wait an audit sits out, as for `hub`.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(330);

pub fn run(args: ServeArgs) -> Result<i32> {
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
    let alerts = args
        .alert
        .iter()
        .map(|u| check_alert_url(u))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!(e))?;
    let run = Run::start(config)?;
    let client = Arc::new(Hub::new(endpoint, timeout).patient(RATE_LIMIT_WAIT));
    let serve_config = serve::Config {
        listen: args.listen.clone(),
        db: args.db.clone(),
        alerts,
        workers: args.workers as usize,
        secret,
        token: token_from_env(),
        client,
        verify: run.config.verify.clone(),
        lfs: (!args.lfs.no_lfs).then_some(args.lfs.max_lfs_size),
        max_file_size: args.size.max_file_size,
        show_secrets: run.config.output.show_secrets,
    };
    serve::run(serve_config, run.scanner.clone()).map_err(|e| anyhow!(e))
}
