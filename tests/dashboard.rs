//! The operator dashboard of `hfleaks serve` in headless Chromium, as a
//! person uses it: sign in, see the incidents of a mock run, revoke one and
//! see its state change (a screenshot is kept under
//! `target/test-artifacts/`); and the DevTools client that drives the
//! browser (tests/common/cdp.rs), tested on a page served here. Every
//! token is synthetic (seeded); every process stops when its test ends.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::alert_sink::AlertSink;
use common::cdp::{Browser, artifact};
use common::estate::sha256;
use common::fake_token;
use common::hub_server::{HubServer, RepoBuilder};
use common::serve::*;
use serde_json::{Value, json};

/// The operator's token the tests' server is started with (not
/// token-shaped).
const ADMIN: &str = "dashboard-test-admin-token-5c2e";

// -- a page served here, for the client ------------------------------------------

/// The page of [`page_server`]: a button that changes the heading a moment
/// after a click, and a form whose POST redirects to `/done`.
const TEST_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cdp test page</title>
<style>body{font:16px system-ui,sans-serif;margin:24px}#status{color:#0969da}</style></head>
<body><h1 id="status">waiting</h1>
<button id="go" type="button">Go</button>
<form id="form" method="post" action="/submit"><input type="password" name="token"><button type="submit">Send</button></form>
<script>
document.getElementById("go").addEventListener("click", () => {
  setTimeout(() => { document.getElementById("status").textContent = "clicked"; }, 150);
});
console.log("page ready");
</script></body></html>"#;

/// One request a [`TestServer`] got.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    /// Path and query.
    path: String,
    /// Header names lowercased.
    headers: HashMap<String, String>,
    body: String,
}

/// What a [`TestServer`] answers: status, content type, body.
type Answer = (u16, &'static str, String);

type Handler = dyn Fn(&Req) -> Answer + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1: one request per connection,
/// answered by the test's handler, every request kept. It stops with the
/// test process.
struct TestServer {
    addr: String,
    requests: Arc<Mutex<Vec<Req>>>,
}

impl TestServer {
    fn start(handler: impl Fn(&Req) -> Answer + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (kept, handler) = (kept.clone(), handler.clone());
                thread::spawn(move || answer(stream, &kept, &*handler));
            }
        });
        TestServer { addr, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

fn answer(stream: TcpStream, kept: &Mutex<Vec<Req>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if r.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 16)];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let req = Req {
        method: parts.next().unwrap_or("").to_string(),
        path: parts.next().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    kept.lock().unwrap().push(req.clone());
    let (status, kind, content) = handler(&req);
    let extra = match status {
        303 => "Location: /done\r\n",
        _ => "",
    };
    let mut w = stream;
    let _ = write!(
        w,
        "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n{content}",
        content.len()
    );
    let _ = w.flush();
}

/// The client's test page: `/`, `/data.json`, `POST /submit` redirecting
/// to `/done`.
fn page_server() -> TestServer {
    TestServer::start(|req| {
        let html = "text/html; charset=utf-8";
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/") => (200, html, TEST_PAGE.into()),
            ("GET", "/data.json") => (200, "application/json", r#"{"n": 42}"#.into()),
            ("GET", "/done") => (
                200,
                html,
                "<!DOCTYPE html><title>done</title><p id=\"done\">signed in</p>".into(),
            ),
            ("POST", "/submit") => (303, "text/plain", String::new()),
            _ => (404, "text/plain", "not found".into()),
        }
    })
}

#[test]
fn the_devtools_client_navigates_evaluates_clicks_waits_and_takes_a_screenshot() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = page_server();
    let page = browser.page();
    page.goto(&server.url("/"));
    assert_eq!(page.eval("document.title"), json!("cdp test page"));
    assert_eq!(page.eval("1 + 2"), json!(3));
    assert_eq!(page.eval("undefined"), Value::Null);
    assert_eq!(page.eval("({a: [1, 'b']})"), json!({"a": [1, "b"]}));
    // Promises are awaited.
    assert_eq!(
        page.eval("fetch('/data.json').then(r => r.json()).then(j => j.n)"),
        json!(42)
    );
    // A throw is an error, not a value.
    let err = page.try_eval("null.x").unwrap_err();
    assert!(err.contains("TypeError"), "{err}");
    // Console output is kept for failure messages.
    assert!(
        page.console()
            .iter()
            .any(|l| l == "console.log: page ready"),
        "{:?}",
        page.console()
    );
    // A click whose effect comes later, waited for with a deadline.
    assert_eq!(page.text().lines().next(), Some("waiting"));
    page.eval("document.getElementById('go').click()");
    assert!(page.wait_for(
        "document.getElementById('status').textContent === 'clicked'",
        Duration::from_secs(10)
    ));
    assert!(!page.wait_for("false", Duration::from_millis(300)));
    let shot = artifact("cdp-client.png");
    let _ = std::fs::remove_file(&shot);
    page.screenshot(&shot);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    // A form submitted: a POST, a redirect, the next document waited for.
    page.eval("document.querySelector('#form [name=token]').value = 'typed here'");
    page.mark_document();
    page.eval("document.querySelector('#form [type=submit]').click()");
    page.wait_navigation(Duration::from_secs(20));
    assert_eq!(page.eval("location.pathname"), json!("/done"));
    assert_eq!(page.text(), "signed in");
    let posted: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body)
        .collect();
    assert_eq!(posted, ["token=typed+here"]);
    // A second tab of the same browser is independent of the first.
    let other = browser.page();
    other.goto("data:text/html,<title>second</title><p>two</p>");
    assert_eq!(other.eval("document.title"), json!("second"));
    assert_eq!(page.eval("document.title"), json!("done"));
}

// -- the dashboard of serve ------------------------------------------------------

/// Whether the row of incident `id` has a state badge reading `state`.
fn badge_is(id: &str, state: &str) -> String {
    format!(
        "(b => !!b && b.dataset.state === '{state}' && b.textContent.trim() === '{state}')\
         (document.querySelector('[data-incident-id=\"{id}\"] [data-state]'))"
    )
}

#[test]
// enabled when serve's operator API lands
fn dashboard_sign_in_list_and_revoke_in_chromium() {
    let root = tempfile::tempdir().unwrap();
    let r = RepoBuilder::new(root.path(), "model", "acme/app");
    let c0 = r.commit(&[("README.md", "# app\n")], "init");
    let live = fake_token(2801);
    let c1 = r.commit(&[("app.py", &format!("HF = '{live}'\n"))], "app");
    r.publish();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [model("acme/app")], "valid_tokens": [live]}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .arg("--admin-listen")
        .arg("127.0.0.1:0")
        .arg("--verify")
        .env("HFLEAKS_ADMIN_TOKEN", ADMIN)
        .start();
    serve.accept(&push("model", "acme/app", Some(&c0), &c1));
    wait_alerts(&serve, &sink, 1, LONG);
    let Some(browser) = Browser::start() else {
        return;
    };
    let page = browser.page();
    let admin = serve.admin_addr();
    page.goto(&format!("http://{admin}/"));
    let html = || page.eval("document.documentElement.outerHTML").to_string();

    // Without a session: the sign-in form and nothing of the incidents.
    assert_eq!(
        page.eval(
            "!!document.querySelector('form#signin input[name=token][type=password]') \
             && !!document.querySelector('form#signin [type=submit]')"
        ),
        json!(true),
        "{}",
        html()
    );
    let signed_out = html();
    for data in ["acme/app", "app.py", &sha256(&live), &live[..6], "inc_"] {
        assert!(
            !signed_out.contains(data),
            "{data} shown before sign-in: {signed_out}"
        );
    }
    assert_eq!(
        page.eval("document.querySelectorAll('[data-incident-id]').length"),
        json!(0)
    );

    // Sign in as the operator.
    page.eval(&format!(
        "document.querySelector('#signin [name=token]').value = '{ADMIN}'"
    ));
    page.mark_document();
    page.eval("document.querySelector('#signin [type=submit]').click()");
    page.wait_navigation(LONG);
    let open_row = "[...document.querySelectorAll('[data-incident-id]')]\
                    .find(r => r.querySelector('[data-state]')?.dataset.state === 'open')";
    assert!(
        page.wait_for(open_row, LONG),
        "no open incident listed\nconsole: {:?}\n{}\nstderr:\n{}",
        page.console(),
        html(),
        serve.stderr()
    );
    let id = page.eval(&format!("{open_row}.dataset.incidentId"));
    let id = id.as_str().unwrap().to_string();
    assert!(id.starts_with("inc_"), "{id}");
    assert!(page.text().contains("acme/app"), "{}", page.text());

    // Its timeline, then revoke.
    page.eval(&format!(
        "document.querySelector('[data-incident-id=\"{id}\"]').click()"
    ));
    let revoke_ready = "(b => !!b && !b.disabled && b.offsetParent !== null)\
                        (document.getElementById('revoke'))";
    assert!(page.wait_for(revoke_ready, LONG), "{}", html());
    page.eval("document.getElementById('revoke').click()");
    assert!(
        page.wait_for(&badge_is(&id, "revoked"), LONG),
        "not revoked\nerror line: {}\nconsole: {:?}\n{}\nstderr:\n{}",
        page.eval("(document.getElementById('error') || {}).textContent"),
        page.console(),
        html(),
        serve.stderr()
    );
    assert_eq!(
        page.eval("(document.getElementById('error').textContent || '').trim()"),
        json!("")
    );
    // Once revoked, nothing more to revoke or accept.
    assert!(page.wait_for(
        "(b => !b || b.disabled || b.offsetParent === null)(document.getElementById('revoke'))",
        Duration::from_secs(10)
    ));
    page.screenshot(&artifact("dashboard.png"));

    // The revoke reached the Hub; the page never held the raw token.
    assert!(
        hub.requests()
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/api/credentials/revoke"),
        "{:?}",
        hub.requests()
    );
    let text = page.text();
    let page_html = html();
    assert!(!text.contains(&live), "raw token in the page text");
    assert!(!page_html.contains(&live), "raw token in the page");
    assert!(page.console().iter().all(|l| !l.contains(&live)));
}

// -- the page against the API contract, served here ----------------------------

/// The CSRF token the fake admin server embeds in the page.
const FAKE_CSRF: &str = "csrf-7f3a91";

/// A path as an attacker would name a file: markup, if the page took it
/// for markup.
const HOSTILE_PATH: &str = "<img src=x onerror=\"window.__pwned=1\">.py";

/// The incidents of the fake admin API, newest first: an open live one in
/// a hostile path, one never verified found in a discussion, one revoked.
fn fake_incidents() -> Vec<Value> {
    let place = |path: Option<&str>, num: Option<u64>, at: &str| {
        json!({"repo": {"type": "model", "id": "acme/app"}, "path": path,
               "commit": path.map(|_| "0123456789abcdef0123456789abcdef01234567"),
               "discussion": num.map(|n| json!({"num": n, "event_id": "e1"})),
               "url": "https://huggingface.co/acme/app/blob/main/x.py", "first_seen": at})
    };
    vec![
        json!({"id": "inc_3", "state": "open", "rule_id": "hf-user-token",
               "secret": "hf_Ab…yz", "secret_sha256": "a".repeat(64),
               "first_seen": "2026-11-07T10:00:00Z", "updated_at": "2026-11-07T10:00:05Z",
               "closed_at": null, "exposed_seconds": 11520, "live": "valid", "owner": "alice",
               "repo": "models/acme/app",
               "places": [place(Some(HOSTILE_PATH), None, "2026-11-07T10:00:00Z"),
                          place(Some("later.py"), None, "2026-11-07T12:00:00Z")],
               "verifications": [{"at": "2026-11-07T10:00:02Z", "status": "valid",
                                  "owner": "alice", "orgs": ["acme"], "role": "write",
                                  "scopes": []}],
               "history": [], "note": null}),
        json!({"id": "inc_2", "state": "open", "rule_id": "hf-user-token",
               "secret": "hf_Cd…wx", "secret_sha256": "b".repeat(64),
               "first_seen": "2026-11-06T09:00:00Z", "updated_at": "2026-11-06T09:00:00Z",
               "closed_at": null, "exposed_seconds": 90061, "live": null, "owner": null,
               "repo": "models/acme/app",
               "places": [place(None, Some(7), "2026-11-06T09:00:00Z")],
               "verifications": [], "history": [], "note": null}),
        json!({"id": "inc_1", "state": "revoked", "rule_id": "hf-user-token",
               "secret": "hf_Ef…uv", "secret_sha256": "c".repeat(64),
               "first_seen": "2026-11-05T08:00:00Z", "updated_at": "2026-11-05T08:00:03Z",
               "closed_at": "2026-11-05T08:00:03Z", "exposed_seconds": 3, "live": "invalid",
               "owner": "bob", "repo": "spaces/acme/demo",
               "places": [place(Some("app.py"), None, "2026-11-05T08:00:00Z")],
               "verifications": [],
               "history": [{"at": "2026-11-05T08:00:03Z", "actor": "policy",
                            "change": "open -> revoked", "reason": null}],
               "note": null}),
    ]
}

/// The fake admin listener: the page at `/` and the operator API over
/// [`fake_incidents`], two a page; POSTs need the CSRF header and JSON;
/// `verify` fails with 500.
fn fake_admin() -> TestServer {
    let store = Mutex::new(fake_incidents());
    TestServer::start(move |req| {
        let json_type = "application/json";
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        let mut all = store.lock().unwrap();
        match (req.method.as_str(), path) {
            ("GET", "/") => (
                200,
                "text/html; charset=utf-8",
                include_str!("../src/serve/dashboard.html").replace("{{CSRF}}", FAKE_CSRF),
            ),
            ("GET", "/signin") => (
                200,
                "text/html; charset=utf-8",
                include_str!("../src/serve/signin.html")
                    .replace("{{ERROR}}", "Wrong token &lt;b&gt;, try again"),
            ),
            ("GET", "/api/incidents") => {
                let state = param("state");
                let picked: Vec<&Value> = all
                    .iter()
                    .filter(|i| state.as_deref().is_none_or(|s| i["state"] == s))
                    .collect();
                let from: usize = param("cursor").map_or(0, |c| c.parse().unwrap());
                let page: Vec<&Value> = picked.iter().skip(from).take(2).copied().collect();
                let next = (from + 2 < picked.len()).then(|| (from + 2).to_string());
                (
                    200,
                    json_type,
                    json!({"incidents": page, "next": next}).to_string(),
                )
            }
            ("GET", "/api/stats") => {
                let days: Vec<Value> = (0..30)
                    .map(|d| json!({"day": format!("2026-10-{:02}", d + 1), "open": d % 4}))
                    .collect();
                let count = |s: &str| all.iter().filter(|i| i["state"] == s).count();
                let body = json!({"open_by_day": days, "median_seconds_to_revoke": null,
                    "counts": {"open": count("open"), "revoked": count("revoked"),
                               "inactive": count("inactive"), "accepted": count("accepted")}});
                (200, json_type, body.to_string())
            }
            ("POST", _) => {
                if req.headers.get("x-csrf-token").map(String::as_str) != Some(FAKE_CSRF)
                    || req.headers.get("content-type").map(String::as_str) != Some(json_type)
                {
                    return (403, json_type, r#"{"error": "bad CSRF token"}"#.into());
                }
                let rest = path.strip_prefix("/api/incidents/").unwrap_or("");
                let Some((id, action)) = rest.split_once('/') else {
                    return (404, json_type, "{}".into());
                };
                let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
                let Some(inc) = all.iter_mut().find(|i| i["id"] == id) else {
                    return (404, json_type, "{}".into());
                };
                let to = match action {
                    "revoke" => "revoked",
                    "accept" if body["reason"].as_str().is_some_and(|r| !r.is_empty()) => {
                        "accepted"
                    }
                    "accept" => return (400, json_type, r#"{"error": "a reason"}"#.into()),
                    _ => {
                        return (
                            500,
                            json_type,
                            r#"{"error": "the Hub did not answer"}"#.into(),
                        );
                    }
                };
                let at = "2026-11-07T13:12:00Z";
                inc["history"].as_array_mut().unwrap().push(json!({
                    "at": at, "actor": "admin", "change": format!("open -> {to}"),
                    "reason": body["reason"]}));
                inc["state"] = json!(to);
                inc["closed_at"] = json!(at);
                (200, json_type, inc.to_string())
            }
            _ => (404, json_type, "{}".into()),
        }
    })
}

/// The state badge's text in the row of `id`.
fn row_state(id: &str) -> String {
    format!("document.querySelector('[data-incident-id=\"{id}\"] [data-state]').dataset.state")
}

#[test]
fn the_dashboard_page_follows_the_api_contract_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = fake_admin();
    let page = browser.page();
    // The sign-in page: its message as text, one password field, no data.
    page.goto(&server.url("/signin"));
    assert_eq!(
        page.eval("document.getElementById('error').textContent"),
        json!("Wrong token <b>, try again")
    );
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#signin input')].map(i => [i.name, i.type]) \
             .concat([[document.getElementById('signin').method, \
                       new URL(document.getElementById('signin').action).pathname]])"
        ),
        json!([["token", "password"], ["post", "/login"]])
    );
    assert_eq!(page.eval("document.scripts.length"), json!(0));
    page.goto(&server.url("/"));
    let rows = "document.querySelectorAll('tbody [data-incident-id]').length";
    assert!(
        page.wait_for(&format!("{rows} === 2"), LONG),
        "{:?}",
        page.console()
    );
    // Newest first, two a page, then the rest on demand.
    assert!(page.wait_for("!document.getElementById('more').hidden", LONG));
    page.eval("document.getElementById('more').click()");
    assert!(page.wait_for(&format!("{rows} === 3"), LONG));
    assert!(page.wait_for("document.getElementById('more').hidden", LONG));
    let order = page.eval(
        "[...document.querySelectorAll('tbody [data-incident-id]')].map(r => r.dataset.incidentId)",
    );
    assert_eq!(order, json!(["inc_3", "inc_2", "inc_1"]));
    // Cells: the hostile path as text, nothing of it run; not verified is
    // "not checked"; exposure in words.
    let cells = |id: &str| {
        page.eval(&format!(
            "[...document.querySelector('[data-incident-id=\"{id}\"]').cells].map(c => c.textContent)"
        ))
    };
    assert_eq!(
        cells("inc_3"),
        json!([
            "open",
            "live",
            "models/acme/app",
            HOSTILE_PATH,
            "2026-11-07 10:00 UTC",
            "3 h 12 min",
            "Timeline"
        ])
    );
    assert_eq!(
        cells("inc_2"),
        json!([
            "open",
            "not checked",
            "models/acme/app",
            "discussion #7",
            "2026-11-06 09:00 UTC",
            "1 d 1 h",
            "Timeline"
        ])
    );
    assert_eq!(cells("inc_1")[1], json!("invalid"));
    assert_eq!(
        page.eval("document.querySelectorAll('img').length"),
        json!(0)
    );
    assert_eq!(page.eval("window.__pwned === undefined"), json!(true));
    let text = page.text();
    assert!(
        !text.contains("not live") && !text.contains("0 live"),
        "{text}"
    );
    // Cards and the chart.
    assert!(page.wait_for(
        "document.getElementById('count-open').textContent === '2'",
        LONG
    ));
    assert_eq!(
        page.eval("document.getElementById('count-revoked').textContent"),
        json!("1")
    );
    assert_eq!(
        page.eval("document.getElementById('median-revoke').textContent"),
        json!("—")
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#chart svg rect.bar').length"),
        json!(30)
    );

    // The timeline of the open one: places, verification, ordered by time.
    page.eval("document.querySelector('[data-incident-id=\"inc_3\"]').click()");
    assert!(page.wait_for("!document.getElementById('panel').hidden", LONG));
    let timeline =
        page.eval("[...document.querySelectorAll('#timeline li .what')].map(e => e.textContent)");
    assert_eq!(
        timeline,
        json!([
            format!("found in models/acme/app: {HOSTILE_PATH} @ 0123456789ab"),
            "verified: live, owner alice, orgs acme, role write",
            "found in models/acme/app: later.py @ 0123456789ab",
        ])
    );
    // Accept needs a reason: none, and nothing is sent.
    let posts = || {
        server
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    page.eval("document.getElementById('accept').click()");
    assert!(page.wait_for("document.getElementById('error').textContent !== ''", LONG));
    assert_eq!(posts(), 0);
    page.eval("document.getElementById('accept-reason').value = 'test fixture, never valid'");
    page.eval("document.getElementById('accept').click()");
    assert!(
        page.wait_for(&format!("{} === 'accepted'", row_state("inc_3")), LONG),
        "{}",
        page.eval("document.getElementById('error').textContent")
    );
    let accept = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(accept.path, "/api/incidents/inc_3/accept");
    assert_eq!(
        serde_json::from_str::<Value>(&accept.body).unwrap(),
        json!({"reason": "test fixture, never valid"})
    );
    assert_eq!(
        page.eval("document.getElementById('error').textContent"),
        json!("")
    );
    // Closed: no more revoke or accept; the change is in the timeline.
    assert!(page.wait_for(
        "document.getElementById('revoke').disabled && document.getElementById('accept').disabled",
        LONG
    ));
    assert!(
        page.text()
            .contains("admin: open -> accepted (test fixture, never valid)")
    );
    assert!(page.wait_for(
        "document.getElementById('count-accepted').textContent === '1'",
        LONG
    ));

    // A failing action shows the error line and changes nothing.
    page.eval("document.querySelector('[data-incident-id=\"inc_2\"]').click()");
    assert!(page.wait_for("!document.getElementById('revoke').disabled", LONG));
    page.eval("document.getElementById('verify').click()");
    assert!(page.wait_for(
        "document.getElementById('error').textContent.includes('500 the Hub did not answer')",
        LONG
    ));
    // Revoke, in place.
    page.eval("document.getElementById('revoke').click()");
    assert!(page.wait_for(&format!("{} === 'revoked'", row_state("inc_2")), LONG));
    assert!(page.wait_for("document.getElementById('error').textContent === ''", LONG));
    page.screenshot(&artifact("dashboard-contract.png"));
    for r in server.requests().iter().filter(|r| r.method == "POST") {
        assert_eq!(r.headers["x-csrf-token"], FAKE_CSRF);
        assert_eq!(r.headers["content-type"], "application/json");
    }

    // The filter asks the server again with state=.
    page.eval("(f => { f.value = 'revoked'; f.dispatchEvent(new Event('change')); })(document.getElementById('filter'))");
    assert!(page.wait_for(&format!("{rows} === 2"), LONG));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/incidents?state=revoked")
    );
    assert_eq!(
        page.eval("[...document.querySelectorAll('tbody [data-state]')].every(b => b.dataset.state === 'revoked')"),
        json!(true)
    );
    assert!(
        page.console().iter().all(|l| !l.starts_with("uncaught")),
        "{:?}",
        page.console()
    );
}
