//! Alert delivery from the outbox: one worker per alert URL POSTs each
//! alert with its `Idempotency-Key` until the URL answers 2xx; a failure
//! is tried again after a capped backoff (1 s, 2 s, 4 s … 30 s), so an
//! endpoint that recovers has its alerts within half a minute. A URL that
//! hangs holds up only its own worker, and each attempt's total time is
//! bounded, so a healthy URL gets its alerts whatever the others do.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::store::{Delivery, Store};
use super::{Shared, safe_url};
use crate::finding::ScanError;
use crate::ui;

/// The longest wait between two attempts of one alert.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The most one delivery attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers the outbox's alerts to `url` until SIGTERM.
pub fn run(shared: &Shared, url: &str) {
    let Some(store) = shared.open_store() else {
        return;
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(ATTEMPT_TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("hfleaks/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut seen = 0u64;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let due = store.due(url, 64).unwrap_or_else(|e| {
            ui::error(&ScanError::new(
                shared.config.db.display().to_string(),
                format!("reading the outbox: {e}"),
            ));
            Vec::new()
        });
        for d in &due {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            deliver(&agent, &store, shared, url, d);
        }
        if due.is_empty() {
            shared.wait(&mut seen, Duration::from_millis(250));
        }
    }
}

fn deliver(agent: &ureq::Agent, store: &Store, shared: &Shared, url: &str, d: &Delivery) {
    let result = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &d.alert)
        .send(d.body.as_bytes());
    let failure = match result {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Some(e.to_string()),
    };
    match failure {
        None => {
            shared
                .metrics
                .alerts_delivered
                .fetch_add(1, Ordering::Relaxed);
            if let Err(e) = store.delivered(d.row) {
                ui::error(&ScanError::new("serve", format!("outbox: {e}")));
            }
        }
        Some(why) => {
            shared
                .metrics
                .alert_failures
                .fetch_add(1, Ordering::Relaxed);
            let wait = Duration::from_secs(1u64 << d.attempts.clamp(0, 5) as u32).min(MAX_BACKOFF);
            if d.attempts == 0 || d.attempts % 10 == 9 {
                ui::error(&ScanError::new(
                    format!("alert {}", d.alert),
                    format!(
                        "{}: {why} (attempt {}, again in {} s)",
                        safe_url(url),
                        d.attempts + 1,
                        wait.as_secs()
                    ),
                ));
            }
            if let Err(e) = store.retry(d.row, wait, &why) {
                ui::error(&ScanError::new("serve", format!("outbox: {e}")));
            }
        }
    }
}
