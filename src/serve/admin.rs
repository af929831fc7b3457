//! The operator side of `serve`, on the `--admin-listen` listener only:
//! the incident API and the dashboard. Every request needs
//! `HFLEAKS_ADMIN_TOKEN`, as `Authorization: Bearer …` (compared in
//! constant time) or as the session cookie that signing in with it sets;
//! without that variable all of this answers 404. A state-changing request
//! made with the cookie must also carry the page's `X-CSRF-Token`.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::front::App;
use super::incident::{Incident, State};
use super::reverify::{Action, Refusal, act};
use super::store::{Store, now_ms};

/// How long a dashboard session lasts.
const SESSION_TIME: Duration = Duration::from_secs(12 * 3600);
/// The most a sign-in form or an API body may hold.
const MAX_FORM: usize = 64 * 1024;
/// A page of incidents.
const PAGE: usize = 50;
/// The session cookie's name.
const COOKIE: &str = "hfleaks_session";
/// The pause before a wrong sign-in (or a wrong bearer token) is answered.
const FAILED_SIGN_IN_PAUSE: Duration = Duration::from_millis(250);

const DASHBOARD: &str = include_str!("dashboard.html");
const SIGNIN: &str = include_str!("signin.html");

type Answer = Response<Full<Bytes>>;

/// Signed-in dashboard sessions: id → its CSRF token and expiry.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (String, Instant)>>,
}

impl Sessions {
    fn open(&self) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, until)| *until > Instant::now());
        map.insert(id.clone(), (csrf.clone(), Instant::now() + SESSION_TIME));
        (id, csrf)
    }

    /// The CSRF token of a live session.
    fn csrf(&self, id: &str) -> Option<String> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(csrf, _)| csrf.clone())
    }

    fn close(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// 32 random bytes as hex, from the kernel.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No /dev/urandom: a digest of what differs between calls.
        let seed = format!(
            "{:?}{}{:?}",
            Instant::now(),
            std::process::id(),
            std::thread::current().id()
        );
        bytes.copy_from_slice(&Sha256::digest(seed.as_bytes()));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

fn answer(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_answer(status: u16, v: &Value) -> Answer {
    answer(status, "application/json", v.to_string())
}

fn error(status: u16, message: &str) -> Answer {
    json_answer(status, &json!({"error": message}))
}

/// The `'sha256-…'` CSP source of the text inside `<tag>…</tag>` in
/// `page`, if it has one.
fn inline_hash(page: &str, tag: &str) -> Option<String> {
    use base64::Engine as _;
    let open = format!("<{tag}>");
    let start = page.find(&open)? + open.len();
    let end = start + page[start..].find(&format!("</{tag}>"))?;
    let digest = Sha256::digest(&page.as_bytes()[start..end]);
    Some(format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    ))
}

/// The pages' Content-Security-Policy: nothing from elsewhere, and only
/// their own inline script and style (by hash), so that nothing an
/// attacker plants in a path or a reason can run.
fn policy(dashboard_page: bool) -> &'static str {
    static POLICIES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (dashboard, signin) = POLICIES.get_or_init(|| {
        let make = |p: &str| {
            let script = inline_hash(p, "script").unwrap_or_else(|| "'none'".into());
            let style = inline_hash(p, "style").unwrap_or_else(|| "'none'".into());
            format!(
                "default-src 'none'; script-src {script}; style-src {style}; connect-src 'self'; \
                 img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            )
        };
        (make(DASHBOARD), make(SIGNIN))
    });
    if dashboard_page { dashboard } else { signin }
}

fn html(status: u16, dashboard_page: bool, page: String) -> Answer {
    let mut r = answer(status, "text/html; charset=utf-8", page);
    if let Ok(csp) = HeaderValue::from_str(policy(dashboard_page)) {
        r.headers_mut().insert("content-security-policy", csp);
    }
    r.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

fn signin_page(status: u16, error: &str) -> Answer {
    html(
        status,
        false,
        SIGNIN.replace("{{ERROR}}", &html_escape::encode_text(error)),
    )
}

fn redirect_home(cookie: Option<String>) -> Answer {
    let mut r = answer(303, "text/plain; charset=utf-8", "");
    r.headers_mut()
        .insert(LOCATION, HeaderValue::from_static("/"));
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(SET_COOKIE, c);
    }
    r
}

/// How a request proved it comes from an operator.
enum Credential {
    Bearer,
    /// A dashboard session, with its CSRF token.
    Session(String),
}

fn session_id(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The request's credential, or the answer refusing it: 401 without one,
/// 403 with a wrong one.
#[allow(clippy::result_large_err)] // the refusal is the answer, sent at once
fn credential(req: &Request<Incoming>, app: &App, admin: &str) -> Result<Credential, Answer> {
    if let Some(h) = req.headers().get(hyper::header::AUTHORIZATION) {
        let given = h.to_str().unwrap_or("");
        let token = given
            .strip_prefix("Bearer ")
            .or_else(|| given.strip_prefix("bearer "))
            .unwrap_or("");
        return if !token.is_empty() && same(token.trim(), admin) {
            Ok(Credential::Bearer)
        } else {
            Err(error(403, "wrong admin token"))
        };
    }
    if let Some(csrf) = session_id(req).and_then(|id| app.sessions.csrf(&id)) {
        return Ok(Credential::Session(csrf));
    }
    let mut r = error(
        401,
        "sign in, or send Authorization: Bearer $HFLEAKS_ADMIN_TOKEN",
    );
    r.headers_mut()
        .insert("www-authenticate", HeaderValue::from_static("Bearer"));
    Err(r)
}

#[allow(clippy::result_large_err)]
async fn read_body(req: Request<Incoming>) -> Result<Bytes, Answer> {
    let body = Limited::new(req.into_body(), MAX_FORM);
    match tokio::time::timeout(Duration::from_secs(10), body.collect()).await {
        Err(_) => Err(error(408, "the body did not arrive in time")),
        Ok(Err(_)) => Err(error(413, "the body is too large")),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// Answers an operator request (`/`, `/login`, `/logout`, `/api/…`), or
/// `None` for a path that is not one.
pub async fn handle(req: Request<Incoming>, app: &App) -> Option<Answer> {
    let path = req.uri().path().to_string();
    let operator_path =
        matches!(path.as_str(), "/" | "/login" | "/logout") || path.starts_with("/api/");
    if !operator_path {
        return None;
    }
    let Some(admin) = app.shared.config.admin_token.clone() else {
        return Some(error(404, "not found (HFLEAKS_ADMIN_TOKEN is not set)"));
    };
    Some(route(req, app, &admin, &path).await)
}

async fn route(req: Request<Incoming>, app: &App, admin: &str, path: &str) -> Answer {
    let method = req.method().clone();
    match (method.clone(), path) {
        (Method::GET, "/") => match session_id(&req).and_then(|id| app.sessions.csrf(&id)) {
            Some(csrf) => html(200, true, DASHBOARD.replace("{{CSRF}}", &csrf)),
            None => signin_page(200, ""),
        },
        (Method::POST, "/login") => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(a) => return a,
            };
            let token = form_field(&body, "token").unwrap_or_default();
            if token.is_empty() || !same(token.trim(), admin) {
                // Slows guessing; the token is long and random anyway.
                tokio::time::sleep(FAILED_SIGN_IN_PAUSE).await;
                return signin_page(401, "That is not the admin token.");
            }
            let (id, _) = app.sessions.open();
            let secure = if app.admin_loopback { "" } else { "; Secure" };
            redirect_home(Some(format!(
                "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                SESSION_TIME.as_secs()
            )))
        }
        (Method::POST, "/logout") => {
            if let Some(id) = session_id(&req) {
                app.sessions.close(&id);
            }
            redirect_home(Some(format!(
                "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
            )))
        }
        (_, "/" | "/login" | "/logout") => error(405, "method not allowed"),
        _ => api(req, app, admin, path, method).await,
    }
}

async fn api(req: Request<Incoming>, app: &App, admin: &str, path: &str, method: Method) -> Answer {
    let credential = match credential(&req, app, admin) {
        Ok(c) => c,
        Err(a) => {
            if a.status() == StatusCode::FORBIDDEN {
                tokio::time::sleep(FAILED_SIGN_IN_PAUSE).await;
            }
            return a;
        }
    };
    if method != Method::GET {
        if let Credential::Session(csrf) = &credential {
            let given = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if given.is_empty() || !same(given, csrf) {
                return error(403, "missing or wrong X-CSRF-Token");
            }
        }
    }
    let parts: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    let query = req.uri().query().unwrap_or("").to_string();
    match (method, parts.as_slice()) {
        (Method::GET, ["incidents"]) => {
            let q = |k: &str| query_param(&query, k);
            let state = match q("state").filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => match State::parse(&s) {
                    Some(s) => Some(s),
                    None => return error(400, "state is one of open, revoked, inactive, accepted"),
                },
            };
            let repo = q("repo").filter(|r| !r.is_empty());
            let cursor = q("cursor")
                .filter(|c| !c.is_empty())
                .and_then(|c| parse_cursor(&c));
            blocking(app, move |store| {
                let mut list = store.incidents(state, repo.as_deref(), cursor, PAGE + 1)?;
                let more = list.len() > PAGE;
                list.truncate(PAGE);
                let next = more
                    .then(|| list.last().map(|i| format!("{}.{}", i.first_seen, i.id)))
                    .flatten();
                let now = now_ms();
                Ok(json_answer(
                    200,
                    &json!({
                        "incidents": list.iter().map(|i| i.view(now)).collect::<Vec<_>>(),
                        "next": next,
                    }),
                ))
            })
            .await
        }
        (Method::GET, ["stats"]) => {
            blocking(app, |store| Ok(json_answer(200, &stats(store)?))).await
        }
        (Method::GET, ["incidents", id]) => {
            let id = id.to_string();
            blocking(app, move |store| {
                Ok(match store.incident(&id)? {
                    Some(i) => json_answer(200, &i.view(now_ms())),
                    None => error(404, "no such incident"),
                })
            })
            .await
        }
        (Method::POST, ["incidents", id, verb]) => {
            let id = id.to_string();
            let action = match *verb {
                "revoke" => Action::Revoke,
                "verify" => Action::Verify,
                "accept" => {
                    let body = match read_body(req).await {
                        Ok(b) => b,
                        Err(a) => return a,
                    };
                    let reason = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["reason"].as_str().map(|r| r.trim().to_string()))
                        .unwrap_or_default();
                    if reason.is_empty() {
                        return error(400, "accept needs a reason: {\"reason\": \"…\"}");
                    }
                    Action::Accept(reason.chars().take(2000).collect())
                }
                _ => return error(404, "not found"),
            };
            let shared = app.shared.clone();
            let done = tokio::task::spawn_blocking(move || {
                let mut store = Store::open(&shared.config.db).map_err(Refusal::Failed)?;
                act(&shared, &mut store, &id, action)
            })
            .await;
            match done {
                Ok(Ok(i)) => {
                    app.shared.notify();
                    json_answer(200, &i.view(now_ms()))
                }
                Ok(Err(Refusal::NotFound)) => error(404, "no such incident"),
                Ok(Err(Refusal::Conflict(why))) => error(409, &why),
                Ok(Err(Refusal::Failed(why))) => error(502, &why),
                Err(_) => error(500, "the action failed"),
            }
        }
        (Method::GET | Method::POST, _) => error(404, "not found"),
        _ => error(405, "method not allowed"),
    }
}

/// Runs `work` on a database connection of its own, off the HTTP threads.
async fn blocking(
    app: &App,
    work: impl FnOnce(&Store) -> Result<Answer, String> + Send + 'static,
) -> Answer {
    let db = app.shared.config.db.clone();
    let done = tokio::task::spawn_blocking(move || {
        let store = Store::open(&db)?;
        work(&store)
    })
    .await;
    match done {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => error(500, &format!("the database: {e}")),
        Err(_) => error(500, "the request failed"),
    }
}

/// `first_seen.id` of the last incident of a page.
fn parse_cursor(text: &str) -> Option<(i64, String)> {
    let (seen, id) = text.split_once('.')?;
    Some((seen.parse().ok()?, id.to_string()))
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| decode(k) == key)
        .map(|(_, v)| decode(v))
}

fn form_field(body: &[u8], key: &str) -> Option<String> {
    query_param(&String::from_utf8_lossy(body), key)
}

/// What the dashboard charts: open incidents at the end of each of the
/// last 30 days (UTC), the median time from first seen to revoked, and
/// the count in each state.
fn stats(store: &Store) -> Result<Value, String> {
    let all: Vec<Incident> = store.incidents(None, None, None, usize::MAX >> 1)?;
    const DAY: i64 = 86_400_000;
    let now = now_ms();
    let today = now - now.rem_euclid(DAY);
    let open_by_day: Vec<Value> = (0..30)
        .map(|d| {
            let start = today - (29 - d) * DAY;
            let end = (start + DAY).min(now);
            let open = all
                .iter()
                .filter(|i| i.first_seen < end && i.closed_at.is_none_or(|c| c >= end))
                .count();
            let day = crate::sources::git::rfc3339(start / 1000, 0);
            json!({"day": &day[..10], "open": open})
        })
        .collect();
    let mut to_revoke: Vec<i64> = all
        .iter()
        .filter(|i| i.state == State::Revoked)
        .filter_map(|i| i.closed_at.map(|c| (c - i.first_seen).max(0)))
        .collect();
    to_revoke.sort_unstable();
    let median = match to_revoke.len() {
        0 => None,
        n if n % 2 == 1 => Some(to_revoke[n / 2] as f64 / 1000.0),
        n => Some((to_revoke[n / 2 - 1] + to_revoke[n / 2]) as f64 / 2000.0),
    };
    let counts: serde_json::Map<String, Value> = store
        .incident_counts()?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    Ok(json!({
        "open_by_day": open_by_day,
        "median_seconds_to_revoke": median,
        "counts": counts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_queries_are_decoded() {
        assert_eq!(
            form_field(b"token=a%2Bb+c&x=1", "token").as_deref(),
            Some("a+b c")
        );
        assert_eq!(
            query_param("state=open&repo=acme%2Fapp", "repo").as_deref(),
            Some("acme/app")
        );
        assert_eq!(query_param("state", "state").as_deref(), Some(""));
        assert_eq!(
            parse_cursor("1700.inc_ab"),
            Some((1700, "inc_ab".to_string()))
        );
        assert!(parse_cursor("x").is_none());
    }

    #[test]
    fn the_pages_allow_only_their_own_inline_script_and_style() {
        let p = policy(true);
        assert!(
            p.contains("script-src 'sha256-") && p.contains("style-src 'sha256-"),
            "{p}"
        );
        assert!(!p.contains("unsafe-inline"));
        assert!(policy(false).contains("script-src 'none'"));
        assert_eq!(inline_hash("<b>x</b>", "script"), None);
    }

    #[test]
    fn sessions_expire_and_close() {
        let s = Sessions::default();
        let (id, csrf) = s.open();
        assert_eq!(s.csrf(&id), Some(csrf));
        assert_ne!(id.len(), 0);
        s.close(&id);
        assert_eq!(s.csrf(&id), None);
        assert!(same("abc", "abc") && !same("abc", "abd"));
    }
}
