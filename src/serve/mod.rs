//! `hfleaks serve`: a webhook receiver that audits each push and comment
//! of the Hub as it happens. The request path only checks and stores an
//! event (`receive`); workers take each repo's pending events, coalesced,
//! and audit them with the audit layer from the repo's record (`work`);
//! every new finding is alerted through an outbox in the same database,
//! delivered and retried apart (`deliver`). Everything durable is in
//! [`store::Store`], so a process killed at any moment loses nothing and
//! alerts nothing twice.

mod admin;
mod deliver;
mod front;
pub mod incident;
mod receive;
mod reverify;
pub mod store;
mod work;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::config::VerifyConfig;
use crate::detect::Scanner;
use crate::filter::Filters;
use crate::http::{Hub, is_loopback};
use crate::ui;

/// The most a webhook body may hold.
pub const MAX_BODY: usize = 1 << 20;

/// How `serve` runs.
pub struct Config {
    pub listen: String,
    /// `--admin-listen`: the operator listener (`/metrics`), if any.
    pub admin_listen: Option<String>,
    pub db: PathBuf,
    /// The alert URLs (`--alert`, `--alert-file`, `HFLEAKS_ALERT_URLS`),
    /// checked and deduplicated.
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
    /// `--ignore-file`, the baseline: findings they accept are never
    /// alerted.
    pub filters: Filters,
    /// `--revoke-policy`.
    pub revoke_policy: RevokePolicy,
    /// `--reverify-every`: how often open incidents are verified again.
    pub reverify_every: Duration,
    /// `HFLEAKS_ADMIN_TOKEN`: without it the operator API and the
    /// dashboard answer 404.
    pub admin_token: Option<String>,
}

/// What serve does to a live token it finds (`--revoke-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RevokePolicy {
    /// Alert only.
    Never,
    /// Revoke a new token the Hub says is valid, before its alert goes out.
    Live,
}

/// Seconds from a webhook's 202 to the revoke request of a token it
/// brought: a Prometheus histogram.
pub struct Histogram {
    counts: Mutex<(Vec<u64>, f64, u64)>,
}

impl Histogram {
    pub const BOUNDS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

    pub fn observe(&self, seconds: f64) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.0.is_empty() {
            c.0 = vec![0; Self::BOUNDS.len()];
        }
        for (i, b) in Self::BOUNDS.iter().enumerate() {
            if seconds <= *b {
                c.0[i] += 1;
            }
        }
        c.1 += seconds;
        c.2 += 1;
    }

    /// The histogram in Prometheus text, named `name`.
    pub fn render(&self, name: &str, help: &str) -> String {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (i, b) in Self::BOUNDS.iter().enumerate() {
            out.push_str(&format!(
                "{name}_bucket{{le=\"{b}\"}} {}\n",
                c.0.get(i).copied().unwrap_or(0)
            ));
        }
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {}\n", c.2));
        out.push_str(&format!("{name}_sum {}\n{name}_count {}\n", c.1, c.2));
        out
    }
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: Mutex::new((Vec::new(), 0.0, 0)),
        }
    }
}

/// Counters since the process started.
#[derive(Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub processed: AtomicU64,
    pub findings: AtomicU64,
    pub alerts_delivered: AtomicU64,
    pub alert_failures: AtomicU64,
    /// Parts of audits scheduled to be tried again.
    pub retries: AtomicU64,
    /// Revoke requests this server made that the Hub accepted.
    pub revocations: AtomicU64,
    /// Seconds from a webhook's 202 to the revoke request (policy).
    pub revoke_latency: Histogram,
}

/// Which of serve's threads are running: `/healthz` answers 503 when one
/// that should be is not (it panicked, or could not open the database).
#[derive(Default)]
pub struct Health {
    pub workers: AtomicUsize,
    pub deliveries: AtomicUsize,
    pub writer: AtomicUsize,
    /// How many of each there should be.
    want_workers: usize,
    want_deliveries: usize,
}

impl Health {
    /// What is wrong, one phrase each (empty: healthy).
    pub fn problems(&self, shared: &Shared) -> Vec<String> {
        let mut p = Vec::new();
        let stopping = shared.stop.load(Ordering::Relaxed);
        let workers = self.workers.load(Ordering::Relaxed);
        if workers < self.want_workers && !stopping {
            p.push(format!(
                "{} of {} audit workers running",
                workers, self.want_workers
            ));
        }
        let deliveries = self.deliveries.load(Ordering::Relaxed);
        if deliveries < self.want_deliveries && !stopping {
            p.push(format!(
                "{} of {} alert delivery workers running",
                deliveries, self.want_deliveries
            ));
        }
        if self.writer.load(Ordering::Relaxed) == 0 && !stopping {
            p.push("the database writer is not running".to_string());
        }
        if stopping {
            p.push("stopping".to_string());
        }
        p
    }
}

/// Counts a thread as running from before it is spawned until it ends
/// (a panic unwinding through it counts it out too).
pub struct Running(Arc<Shared>, fn(&Health) -> &AtomicUsize);

impl Running {
    /// Counts one more thread in; the guard is moved into that thread.
    pub fn new(shared: &Arc<Shared>, which: fn(&Health) -> &AtomicUsize) -> Running {
        which(&shared.health).fetch_add(1, Ordering::Relaxed);
        Running(shared.clone(), which)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        (self.1)(&self.0.health).fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the threads share.
pub struct Shared {
    pub config: Config,
    pub scanner: Arc<Scanner>,
    pub metrics: Metrics,
    pub health: Health,
    /// SIGTERM or SIGINT seen.
    pub stop: Arc<AtomicBool>,
    /// Bumped on each stored event and finished audit: wakes the workers
    /// and the delivery.
    wake: (Mutex<u64>, Condvar),
    /// Repos being audited now (one worker per repo at a time).
    busy: Mutex<Vec<String>>,
}

impl Shared {
    /// A database connection of a thread's own; `None` (the error shown)
    /// when it cannot be opened, and the thread then ends (`/healthz`
    /// names it).
    fn open_store(&self) -> Option<store::Store> {
        store::Store::open(&self.config.db)
            .map_err(|e| ui::error(&crate::finding::ScanError::new("serve", e)))
            .ok()
    }

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

/// Checks an alert URL: https, or http on a loopback host.
pub fn check_alert_url(url: &str) -> Result<String, String> {
    let uri: ureq::http::Uri = url
        .trim()
        .parse()
        .map_err(|e| format!("alert URL '{}': not a URL: {e}", safe_url(url)))?;
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    let host = uri.host().unwrap_or("");
    match scheme.as_str() {
        "https" if !host.is_empty() => Ok(url.trim().to_string()),
        "http" if is_loopback(host) => Ok(url.trim().to_string()),
        "http" => Err(format!(
            "alert URL '{}': plain http is allowed only for loopback hosts: use https://",
            safe_url(url)
        )),
        _ => Err(format!(
            "alert URL '{}': expected an https:// URL",
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
///
/// Threads: the HTTP front end (tokio, 2 threads) accepts, checks and
/// answers; one writer thread stores accepted events; `--workers` audit
/// threads; one delivery thread per alert URL.
pub fn run(config: Config, scanner: Arc<Scanner>) -> Result<i32, String> {
    raise_fd_limit();
    let mut store = store::Store::open(&config.db)?;
    let (routed, dropped) = store.route_outbox(&config.alerts)?;
    if dropped > 0 {
        ui::info(format!(
            "dropped {} to alert URLs no longer configured",
            ui::plural(dropped, "pending delivery")
        ));
    }
    if routed > 0 {
        ui::info(format!(
            "{} recorded while no alert URL was configured now go to {}",
            ui::plural(routed, "alert"),
            ui::plural(config.alerts.len() as u64, "alert URL")
        ));
    }
    let pending = store.pending()?;
    let undelivered = store.undelivered()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hfleaks-http")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let bind = |addr: &str, flag: &str| {
        runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| format!("{flag} {addr}: {e}"))
    };
    let public = bind(&config.listen, "--listen")?;
    let admin = match &config.admin_listen {
        Some(a) => Some(bind(a, "--admin-listen")?),
        None => None,
    };
    let addr_of = |l: &tokio::net::TcpListener, given: &str| {
        l.local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| given.to_string())
    };
    let public_addr = addr_of(&public, &config.listen);
    let admin_addr = admin
        .as_ref()
        .map(|l| addr_of(l, config.admin_listen.as_deref().unwrap_or("")));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    let workers = config.workers.max(1);
    let urls = config.alerts.clone();
    let shared = Arc::new(Shared {
        health: Health {
            want_workers: workers,
            want_deliveries: urls.len(),
            ..Health::default()
        },
        config,
        scanner,
        metrics: Metrics::default(),
        stop: stop.clone(),
        wake: (Mutex::new(0), Condvar::new()),
        busy: Mutex::new(Vec::new()),
    });
    ui::say(&format!("hfleaks: listening on http://{public_addr}"));
    if let Some(a) = &admin_addr {
        ui::say(&format!("hfleaks: admin listening on http://{a}"));
    }
    if pending > 0 || undelivered > 0 {
        ui::info(format!(
            "{} from before, {} to deliver",
            ui::plural(pending, "pending event"),
            ui::plural(undelivered, "alert")
        ));
    }
    if urls.is_empty() {
        ui::info("no alert URL configured: new findings wait in the outbox until one is");
    }
    let (writer, commands) = writer::Writer::new();
    std::thread::scope(|s| {
        {
            let shared = shared.clone();
            let running = Running::new(&shared, |h| &h.writer);
            s.spawn(move || {
                let _running = running;
                writer::run(&shared, store, commands)
            });
        }
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                let shared = shared.clone();
                let running = Running::new(&shared, |h| &h.workers);
                s.spawn(move || {
                    let _running = running;
                    work::run(&shared)
                })
            })
            .collect();
        let reverify = shared.config.verify.enabled.then(|| {
            let shared = shared.clone();
            s.spawn(move || reverify::run(&shared))
        });
        // Delivery threads are not joined: one may be waiting on an
        // endpoint that never answers, and what it was sending stays in
        // the outbox for the next start.
        let deliveries_done = Arc::new(AtomicUsize::new(0));
        for url in urls {
            let (shared, done) = (shared.clone(), deliveries_done.clone());
            let running = Running::new(&shared, |h| &h.deliveries);
            std::thread::Builder::new()
                .name("hfleaks-deliver".into())
                .spawn(move || {
                    {
                        let _running = running;
                        deliver::run(&shared, &url);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                })
                .ok();
        }
        let app = Arc::new(front::App {
            shared: shared.clone(),
            writer,
            admin: admin.is_some(),
            admin_loopback: admin
                .as_ref()
                .and_then(|l| l.local_addr().ok())
                .is_some_and(|a| a.ip().is_loopback()),
            sessions: admin::Sessions::default(),
        });
        runtime.block_on(async {
            let public = tokio::spawn(front::serve(
                public,
                app.clone(),
                front::Role::Public,
                stop.clone(),
            ));
            let admin = admin.map(|l| {
                tokio::spawn(front::serve(
                    l,
                    app.clone(),
                    front::Role::Admin,
                    stop.clone(),
                ))
            });
            let _ = public.await;
            if let Some(a) = admin {
                let _ = a.await;
            }
        });
        drop(app);
        // Connections still open after the grace period are closed here,
        // and with them the last handles on the writer.
        runtime.shutdown_timeout(Duration::from_millis(500));
        // No more requests: the workers finish the audit in flight.
        shared.notify();
        for w in workers {
            let _ = w.join();
        }
        if let Some(r) = reverify {
            let _ = r.join();
        }
        shared.notify();
        let until = Instant::now() + Duration::from_secs(2);
        while deliveries_done.load(Ordering::Relaxed) < shared.health.want_deliveries
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    ui::info("stopped: every accepted event is stored; pending ones are audited at the next start");
    Ok(0)
}

/// Each connection is a file descriptor: take the most the system allows
/// this process, so that a thousand idle sockets never starve accept.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
