//! The HTTP front end: hyper's HTTP/1.1 server on tokio, with an accept
//! loop of our own so that every limit a public port needs is explicit
//! (each constant below names the attack it stops). The async side only
//! accepts, checks, hands the event to the database writer and answers;
//! audits and deliveries run on threads of their own.
//!
//! Two roles: the public listener (`--listen`: `/webhook`, `/healthz`,
//! and `/metrics` when there is no operator listener) and the operator
//! listener (`--admin-listen`: `/metrics`, `/healthz`).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::receive::reduce;
use super::writer::{NewEvent, Writer};
use super::{MAX_BODY, Shared};
use crate::detect::redact_text;
use crate::finding::ScanError;
use crate::ui;

/// The most a request's head (request line and headers) may hold: a
/// client sending an endless header line is answered 431 and dropped
/// once this much is buffered. (hyper's smallest allowed buffer is 8 KiB.)
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields a request may carry.
const MAX_HEADERS: usize = 64;
/// A request's head must arrive within this: stops clients that open a
/// connection and trickle (or never send) their headers.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// A declared body must arrive within this: stops clients that declare
/// 2,000 bytes and send 10 (answered 408).
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection on which no byte moves either way, with no request being
/// answered, is closed after this: idle keep-alive connections, and
/// clients that pipeline requests but never read the answers.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// No connection lives longer than this, whatever it does.
const MAX_CONNECTION_TIME: Duration = Duration::from_secs(300);
/// Connections served at once per listener. Past it, new ones wait in
/// the kernel's backlog (no task is spawned for them): thousands of idle
/// sockets are cheap here, and the timeouts above shed them.
const MAX_CONNECTIONS: usize = 8192;
/// How long a stopping server lets requests in progress finish before it
/// closes their connections.
pub const GRACE: Duration = Duration::from_secs(5);

/// Which listener a request came in on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Public,
    Admin,
}

/// What every connection's handler shares.
pub struct App {
    pub shared: Arc<Shared>,
    pub writer: Writer,
    /// An operator listener exists: `/metrics` is served there only.
    pub admin: bool,
    /// The operator listener is on loopback: its cookie may go without
    /// `Secure` (a browser on the same machine, over plain http).
    pub admin_loopback: bool,
    pub sessions: super::admin::Sessions,
}

type Answer = Response<Full<Bytes>>;

fn text(status: u16, body: impl Into<String>) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_answer(status: u16, body: &Value) -> Answer {
    let mut r = text(status, body.to_string());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Serves `listener` until `stop` is set, then lets the requests in
/// progress finish for up to [`GRACE`].
pub async fn serve(listener: TcpListener, app: Arc<App>, role: Role, stop: Arc<AtomicBool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stopped(&stop) => break,
        };
        let stream = tokio::select! {
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors, or a connection reset
                    // before it was accepted: pause, never spin.
                    ui::note(format!("accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let handler_app = app.clone();
        let handler_activity = activity.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let app = handler_app.clone();
            let activity = handler_activity.clone();
            async move {
                let _busy = activity.request();
                Ok::<_, Infallible>(handle(req, &app, role).await)
            }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEAD_TIMEOUT)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_headers(MAX_HEADERS)
            .keep_alive(true)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            tokio::pin!(conn);
            let lifetime = tokio::time::sleep(MAX_CONNECTION_TIME);
            tokio::pin!(lifetime);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = &mut conn => break,
                    _ = &mut lifetime => break,
                    _ = tick.tick() => {
                        if activity.idle_for() > IDLE_TIMEOUT {
                            break;
                        }
                    }
                }
            }
            // Dropping the connection closes its socket.
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

/// Resolves once `stop` is set.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// When a connection last moved a byte, and whether a request on it is
/// being answered.
struct Activity {
    started: Instant,
    last_ms: AtomicU64,
    requests: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            requests: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        if self.requests.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let now = self.started.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }

    fn request(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.requests.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records when it last moved a byte.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn handle(req: Request<Incoming>, app: &App, role: Role) -> Answer {
    let path = req.uri().path().to_string();
    if role == Role::Admin
        && (path == "/" || path == "/login" || path == "/logout" || path.starts_with("/api/"))
    {
        return super::admin::handle(req, app)
            .await
            .unwrap_or_else(|| text(404, "not found\n"));
    }
    let get = req.method() == Method::GET;
    let post = req.method() == Method::POST;
    let metrics_here = role == Role::Admin || !app.admin;
    match path.as_str() {
        "/healthz" if get => health(app).await,
        "/metrics" if get && metrics_here => metrics(app).await,
        "/webhook" if post && role == Role::Public => webhook(req, app).await,
        "/healthz" => text(405, "method not allowed\n"),
        "/metrics" if metrics_here => text(405, "method not allowed\n"),
        "/webhook" if role == Role::Public => text(405, "method not allowed\n"),
        _ => text(404, "not found\n"),
    }
}

async fn health(app: &App) -> Answer {
    let mut problems = app.shared.health.problems(&app.shared);
    if let Err(e) = app.writer.probe().await {
        problems.push(format!("the database cannot be written: {e}"));
    }
    if problems.is_empty() {
        text(200, "ok\n")
    } else {
        text(503, format!("unhealthy: {}\n", problems.join("; ")))
    }
}

async fn metrics(app: &App) -> Answer {
    let m = &app.shared.metrics;
    let g = app.writer.gauges().await.unwrap_or_default();
    let h = &app.shared.health;
    let body = format!(
        "# HELP hfleaks_events_received_total Webhook deliveries accepted (answered 202).\n\
         # TYPE hfleaks_events_received_total counter\n\
         hfleaks_events_received_total {}\n\
         # HELP hfleaks_events_processed_total Deliveries done, ignored scopes included (retries of failed parts are not counted).\n\
         # TYPE hfleaks_events_processed_total counter\n\
         hfleaks_events_processed_total {}\n\
         # HELP hfleaks_queue_depth Events pending, the ones being audited and the retries included.\n\
         # TYPE hfleaks_queue_depth gauge\n\
         hfleaks_queue_depth {}\n\
         # HELP hfleaks_retry_pending Parts of audits that failed for a passing reason, waiting to be tried again.\n\
         # TYPE hfleaks_retry_pending gauge\n\
         hfleaks_retry_pending {}\n\
         # HELP hfleaks_retries_total Parts of audits scheduled to be tried again.\n\
         # TYPE hfleaks_retries_total counter\n\
         hfleaks_retries_total {}\n\
         # HELP hfleaks_findings_total New findings alerted.\n\
         # TYPE hfleaks_findings_total counter\n\
         hfleaks_findings_total {}\n\
         # HELP hfleaks_alerts_pending Alert deliveries not yet acknowledged.\n\
         # TYPE hfleaks_alerts_pending gauge\n\
         hfleaks_alerts_pending {}\n\
         # HELP hfleaks_alerts_delivered_total Alert deliveries acknowledged.\n\
         # TYPE hfleaks_alerts_delivered_total counter\n\
         hfleaks_alerts_delivered_total {}\n\
         # HELP hfleaks_alert_failures_total Alert delivery attempts that failed.\n\
         # TYPE hfleaks_alert_failures_total counter\n\
         hfleaks_alert_failures_total {}\n\
         # HELP hfleaks_workers_running Audit workers running.\n\
         # TYPE hfleaks_workers_running gauge\n\
         hfleaks_workers_running {}\n\
         # HELP hfleaks_delivery_workers_running Alert delivery workers running (one per alert URL).\n\
         # TYPE hfleaks_delivery_workers_running gauge\n\
         hfleaks_delivery_workers_running {}\n\
         # HELP hfleaks_revocations_total Revoke requests the Hub accepted, by policy or by an operator.\n\
         # TYPE hfleaks_revocations_total counter\n\
         hfleaks_revocations_total {}\n\
         # HELP hfleaks_incidents Incidents in each state.\n\
         # TYPE hfleaks_incidents gauge\n\
         {}{}",
        m.received.load(Ordering::Relaxed),
        m.processed.load(Ordering::Relaxed),
        g.pending,
        g.retry_pending,
        m.retries.load(Ordering::Relaxed),
        m.findings.load(Ordering::Relaxed),
        g.undelivered,
        m.alerts_delivered.load(Ordering::Relaxed),
        m.alert_failures.load(Ordering::Relaxed),
        h.workers.load(Ordering::Relaxed),
        h.deliveries.load(Ordering::Relaxed),
        m.revocations.load(Ordering::Relaxed),
        g.incidents
            .iter()
            .map(|(s, n)| format!("hfleaks_incidents{{state=\"{}\"}} {n}\n", s.as_str()))
            .collect::<String>(),
        m.revoke_latency.render(
            "hfleaks_revoke_seconds",
            "Seconds from a webhook's 202 to the revoke request of a live token it brought (--revoke-policy live).",
        ),
    );
    let mut r = text(200, body);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// `POST /webhook`: the secret (401/403), the size (413), the JSON (400),
/// then 202 once the event is durable. Nothing is stored for a refused
/// request, and nothing is allocated from what a request declares: the
/// body is read through a limit, within a deadline.
async fn webhook(req: Request<Incoming>, app: &App) -> Answer {
    let shared = &app.shared;
    let Some(given) = req.headers().get("x-webhook-secret") else {
        return text(401, "missing X-Webhook-Secret\n");
    };
    // Digests of both: equal lengths, compared in constant time.
    let want = Sha256::digest(shared.config.secret.as_bytes());
    let got = Sha256::digest(given.as_bytes());
    if !bool::from(want.as_slice().ct_eq(got.as_slice())) {
        return text(403, "wrong X-Webhook-Secret\n");
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<u64>().unwrap_or(u64::MAX));
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return text(413, "body over 1 MiB\n");
    }
    let body = Limited::new(req.into_body(), MAX_BODY);
    let body = match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Err(_) => return text(408, "the body did not arrive in time\n"),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return text(413, "body over 1 MiB\n");
        }
        Ok(Err(_)) => return text(400, "the body could not be read\n"),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return text(400, "the body is not JSON\n"),
    };
    drop(body);
    let event = match reduce(&payload) {
        Ok(e) => e,
        Err(why) => return text(400, format!("{why}\n")),
    };
    // Belt and braces: nothing token-shaped reaches the database.
    let stored = redact_text(&shared.scanner, &event.body.to_string());
    let new = NewEvent {
        repo: event.repo,
        scope: event.scope,
        action: event.action,
        body: stored,
    };
    match app.writer.store(new).await {
        Ok(id) => {
            shared.metrics.received.fetch_add(1, Ordering::Relaxed);
            json_answer(202, &json!({"accepted": id}))
        }
        Err(e) => {
            ui::error(&ScanError::new(
                shared.config.db.display().to_string(),
                format!("an event could not be stored (answered 503): {e}"),
            ));
            text(503, "the event could not be stored; deliver it again\n")
        }
    }
}
