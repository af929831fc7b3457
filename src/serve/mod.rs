//! `hfleaks serve`: a webhook receiver that audits each push and comment
//! of the Hub as it happens. The request path only checks and stores an
//! event (`receive`); workers take each repo's pending events, coalesced,
//! and audit them with the audit layer from the repo's record (`work`);
//! every new finding is alerted through an outbox in the same database,
//! delivered and retried apart (`deliver`). Everything durable is in
//! [`store::Store`], so a process killed at any moment loses nothing and
//! alerts nothing twice.

mod deliver;
mod receive;
pub mod store;
mod work;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::config::VerifyConfig;
use crate::detect::Scanner;
use crate::http::{Hub, is_loopback};
use crate::ui;

/// The most a webhook body may hold.
pub const MAX_BODY: usize = 1 << 20;

/// How `serve` runs.
pub struct Config {
    pub listen: String,
    pub db: PathBuf,
    /// `--alert` URLs, checked.
    pub alerts: Vec<String>,
    pub workers: usize,
    /// `HFLEAKS_WEBHOOK_SECRET`.
    pub secret: String,
    /// `HF_TOKEN`, for private repos.
    pub token: Option<String>,
    /// The one Hub everything is read from.
    pub client: Arc<Hub>,
    pub verify: VerifyConfig,
    /// `--max-lfs-size`, unless `--no-lfs`.
    pub lfs: Option<u64>,
    pub max_file_size: u64,
    pub show_secrets: bool,
}

/// Counters since the process started.
#[derive(Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub processed: AtomicU64,
    pub findings: AtomicU64,
    pub alerts_delivered: AtomicU64,
    pub alert_failures: AtomicU64,
}

/// What the threads share.
pub struct Shared {
    pub config: Config,
    pub scanner: Arc<Scanner>,
    pub metrics: Metrics,
    /// SIGTERM or SIGINT seen.
    pub stop: Arc<AtomicBool>,
    /// Bumped on each stored event and finished audit: wakes the workers
    /// and the delivery.
    wake: (Mutex<u64>, Condvar),
    /// Repos being audited now (one worker per repo at a time).
    busy: Mutex<Vec<String>>,
}

impl Shared {
    fn notify(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cv.notify_all();
    }

    /// Waits for a notification or `max`, whichever comes first.
    fn wait(&self, seen: &mut u64, max: Duration) {
        let (lock, cv) = &self.wake;
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        if *guard != *seen || self.stop.load(Ordering::Relaxed) {
            *seen = *guard;
            return;
        }
        let (guard, _) = cv
            .wait_timeout(guard, max)
            .unwrap_or_else(|p| p.into_inner());
        *seen = *guard;
    }
}

/// Checks an `--alert` URL: https, or http on a loopback host.
pub fn check_alert_url(url: &str) -> Result<String, String> {
    let uri: ureq::http::Uri = url
        .trim()
        .parse()
        .map_err(|e| format!("--alert '{}': not a URL: {e}", safe_url(url)))?;
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    let host = uri.host().unwrap_or("");
    match scheme.as_str() {
        "https" if !host.is_empty() => Ok(url.trim().to_string()),
        "http" if is_loopback(host) => Ok(url.trim().to_string()),
        "http" => Err(format!(
            "--alert '{}': plain http is allowed only for loopback hosts: use https://",
            safe_url(url)
        )),
        _ => Err(format!(
            "--alert '{}': expected an https:// URL",
            safe_url(url)
        )),
    }
}

/// A URL as logs show it: scheme and host only (a Slack webhook's path is
/// its secret).
pub fn safe_url(url: &str) -> String {
    match url.trim().parse::<ureq::http::Uri>() {
        Ok(u) => format!(
            "{}://{}/…",
            u.scheme_str().unwrap_or("?"),
            u.authority().map(|a| a.host()).unwrap_or("?")
        ),
        Err(_) => "(not a URL)".to_string(),
    }
}

/// Runs until SIGTERM or SIGINT: opens the database, binds, prints where
/// it listens, and serves. Exit code 0 after a clean stop.
pub fn run(config: Config, scanner: Arc<Scanner>) -> Result<i32, String> {
    let store = store::Store::open(&config.db)?;
    let pending = store.pending()?;
    let undelivered = store.undelivered()?;
    drop(store);
    let server = tiny_http::Server::http(config.listen.as_str())
        .map_err(|e| format!("--listen {}: {e}", config.listen))?;
    let addr = match server.server_addr() {
        tiny_http::ListenAddr::IP(a) => a.to_string(),
        #[allow(unreachable_patterns)]
        _ => config.listen.clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    let workers = config.workers.max(1);
    let shared = Arc::new(Shared {
        config,
        scanner,
        metrics: Metrics::default(),
        stop,
        wake: (Mutex::new(0), Condvar::new()),
        busy: Mutex::new(Vec::new()),
    });
    ui::say(&format!("hfleaks: listening on http://{addr}"));
    if pending > 0 || undelivered > 0 {
        ui::info(format!(
            "{} from before, {} to deliver",
            ui::plural(pending, "pending event"),
            ui::plural(undelivered, "alert")
        ));
    }
    let server = Arc::new(server);
    let receivers_of = server.clone();
    // The last handle on the listener: dropped once the receivers stop, so
    // that a stopping server refuses connections instead of holding them.
    let mut listener = Some(server);
    std::thread::scope(|s| {
        let receivers: Vec<_> = (0..receive::THREADS)
            .map(|_| {
                let (server, shared) = (receivers_of.clone(), shared.clone());
                s.spawn(move || receive::serve(&server, &shared))
            })
            .collect();
        drop(receivers_of);
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                let shared = shared.clone();
                s.spawn(move || work::run(&shared))
            })
            .collect();
        let delivery = {
            let shared = shared.clone();
            s.spawn(move || deliver::run(&shared))
        };
        for r in receivers {
            let _ = r.join();
        }
        drop(listener.take());
        // No more requests: the workers finish the audit in flight.
        shared.notify();
        for w in workers {
            let _ = w.join();
        }
        shared.notify();
        let _ = delivery.join();
    });
    ui::info("stopped: every accepted event is stored; pending ones are audited at the next start");
    Ok(0)
}
