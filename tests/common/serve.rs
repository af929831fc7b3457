//! `hfleaks serve` run for one test on 127.0.0.1: the process (killed when
//! the test drops it) and everything it printed, webhook deliveries as the
//! Hub sends them (version 3 payloads with `X-Webhook-Secret`, over a plain
//! HTTP/1.1 client that also sends what a well-behaved client would not),
//! `/metrics`, the alerts a sink received, and polling with a deadline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::alert_sink::{AlertSink, Delivery};

/// The webhook secret the tests' server is started with (not token-shaped).
pub const SECRET: &str = "serve-test-webhook-secret-7d41";

/// Where the payloads' `url` fields point unless a test says otherwise:
/// the discard port, so a server that followed them would get nothing.
pub const LINKS: &str = "http://127.0.0.1:9";

/// How `hfleaks serve` is started.
pub struct ServeCmd {
    args: Vec<String>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
}

impl ServeCmd {
    /// `serve --listen 127.0.0.1:0 --db DB --hf-endpoint ENDPOINT`, the
    /// secret set, no `HF_TOKEN`, and the Hub backoff shortened as in the
    /// Hub tests (`Retry-After` is still honoured).
    pub fn new(db: &Path, endpoint: &str) -> ServeCmd {
        ServeCmd::with_args(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--hf-endpoint",
            endpoint,
        ])
        .env("HFLEAKS_WEBHOOK_SECRET", SECRET)
        .env("HFLEAKS_BACKOFF_BASE_MS", "10")
    }

    /// Exactly `args`, with no secret: for recipes run as written.
    pub fn with_args(args: &[&str]) -> ServeCmd {
        ServeCmd {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![("NO_COLOR".into(), "1".into())],
            removed: vec![
                "HF_ENDPOINT".into(),
                "HF_HUB_OFFLINE".into(),
                "HF_TOKEN".into(),
                "HUGGING_FACE_HUB_TOKEN".into(),
                "HFLEAKS_WEBHOOK_SECRET".into(),
            ],
        }
    }

    pub fn alert(self, url: &str) -> ServeCmd {
        self.arg("--alert").arg(url)
    }

    pub fn arg(mut self, a: &str) -> ServeCmd {
        self.args.push(a.to_string());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> ServeCmd {
        self.env.retain(|(name, _)| name != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn env_remove(mut self, k: &str) -> ServeCmd {
        self.env.retain(|(name, _)| name != k);
        self.removed.push(k.into());
        self
    }

    /// The command, not started (for runs that must end by themselves).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hfleaks"));
        cmd.args(&self.args);
        for k in &self.removed {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs it to its end (it must end within `timeout`): (exit code,
    /// stdout, stderr).
    pub fn run_to_end(&self, timeout: Duration) -> (i32, String, String) {
        let mut serve = self.spawn();
        let status = serve
            .wait_exit(timeout)
            .unwrap_or_else(|| panic!("serve did not exit: {}", serve.stderr()));
        (status.code().unwrap_or(-1), serve.stdout(), serve.stderr())
    }

    /// Starts it and waits for `listening on http://ADDR:PORT`.
    pub fn start(&self) -> Serve {
        let mut serve = self.spawn();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match serve.listening.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    serve.addr = addr;
                    if self.args.iter().any(|a| a == "--admin-listen") {
                        serve.admin_addr();
                    }
                    return serve;
                }
                Err(e) => {
                    if e == mpsc::RecvTimeoutError::Disconnected {
                        thread::sleep(Duration::from_millis(50));
                    }
                    if let Ok(Some(status)) = serve.child.try_wait() {
                        serve.join_readers();
                        panic!(
                            "serve exited ({status}) before listening:\n{}",
                            serve.stderr()
                        );
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no `listening on http://` line within 60 s:\n{}",
                        serve.stderr()
                    );
                }
            }
        }
    }

    fn spawn(&self) -> Serve {
        let mut child = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hfleaks binary runs");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let admin = Arc::new(Mutex::new(None));
        let mut stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let readers = vec![
            {
                let out = out.clone();
                thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = stdout.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        out.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                })
            },
            {
                let err = err.clone();
                let admin = admin.clone();
                thread::spawn(move || {
                    let mut r = BufReader::new(stderr);
                    let mut sent = false;
                    loop {
                        let mut line = Vec::new();
                        match r.read_until(b'\n', &mut line) {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                        let text = String::from_utf8_lossy(&line);
                        let found = if text.contains("admin listening on http://") {
                            *admin.lock().unwrap() = listening_addr(&text);
                            None
                        } else if sent {
                            None
                        } else {
                            listening_addr(&text)
                        };
                        if let Some(addr) = found {
                            let _ = tx.send(addr);
                            sent = true;
                        }
                        err.lock().unwrap().extend_from_slice(&line);
                    }
                })
            },
        ];
        Serve {
            child,
            addr: String::new(),
            out,
            err,
            readers,
            listening: rx,
            admin,
            exited: None,
        }
    }
}

/// `ADDR:PORT` of a line holding `listening on http://ADDR:PORT`.
fn listening_addr(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/')
        .collect();
    (!addr.is_empty()).then_some(addr)
}

/// A running `hfleaks serve`.
pub struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`, from its `listening on` line.
    pub addr: String,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    listening: mpsc::Receiver<String>,
    /// `ADDR:PORT` of its `admin listening on http://` line, once printed.
    admin: Arc<Mutex<Option<String>>>,
    exited: Option<ExitStatus>,
}

impl Serve {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The operator listener's `ADDR:PORT` (`--admin-listen`), waiting for
    /// its line.
    pub fn admin_addr(&self) -> String {
        let mut found = None;
        let ok = eventually(Duration::from_secs(30), || {
            found = self.admin.lock().unwrap().clone();
            found.is_some()
        });
        assert!(ok, "no `admin listening on` line:\n{}", self.stderr());
        found.unwrap()
    }

    /// The most memory it has held so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kib: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .expect("VmHWM in /proc/PID/status");
        kib * 1024
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// stdout and stderr, raw.
    pub fn output_bytes(&self) -> Vec<u8> {
        let mut all = self.out.lock().unwrap().clone();
        all.extend_from_slice(&self.err.lock().unwrap());
        all
    }

    /// A request to the server.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http(&self.addr, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// `POST /webhook` with `body`, and `X-Webhook-Secret: SECRET` when
    /// `secret` is given.
    pub fn post_webhook(&self, secret: Option<&str>, body: &[u8]) -> Response {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(s) = secret {
            headers.push(("X-Webhook-Secret", s));
        }
        self.request("POST", "/webhook", &headers, body)
    }

    /// Delivers `payload` as the Hub would; returns the status.
    pub fn deliver(&self, payload: &Value) -> u16 {
        self.post_webhook(Some(SECRET), payload.to_string().as_bytes())
            .status
    }

    /// Delivers `payload` and asserts it was accepted (202).
    pub fn accept(&self, payload: &Value) {
        let r = self.post_webhook(Some(SECRET), payload.to_string().as_bytes());
        assert_eq!(
            r.status,
            202,
            "{payload}\nanswer: {}\nstderr:\n{}",
            r.body,
            self.stderr()
        );
    }

    /// `GET /metrics`, parsed (the samples of one name summed over labels).
    pub fn metrics(&self) -> Metrics {
        // On the operator listener when there is one.
        let admin = self.admin.lock().unwrap().clone();
        let r = match admin {
            Some(a) => http(&a, "GET", "/metrics", &[], b""),
            None => self.get("/metrics"),
        };
        assert_eq!(r.status, 200, "{}", r.body);
        Metrics::parse(&r.body)
    }

    pub fn metric(&self, name: &str) -> f64 {
        self.metrics().get(name)
    }

    /// Waits until metric `name` is `want`; panics with the metrics and
    /// stderr after `timeout`.
    pub fn wait_metric(&self, name: &str, want: f64, timeout: Duration) {
        let mut last = Metrics::default();
        let ok = eventually(timeout, || {
            last = self.metrics();
            last.values.get(name) == Some(&want)
        });
        assert!(
            ok,
            "{name} never reached {want} in {timeout:?}: {:?}\nstderr:\n{}",
            last.values,
            self.stderr()
        );
    }

    /// Waits until every accepted event is done: `queue_depth` 0, and
    /// `events_processed_total` at least `events_received_total` (both
    /// count from this process's start, and the events of an earlier
    /// process count as processed, not received).
    pub fn wait_idle(&self, timeout: Duration) {
        let mut last = Metrics::default();
        let ok = eventually(timeout, || {
            last = self.metrics();
            last.get("hfleaks_queue_depth") == 0.0
                && last.get("hfleaks_events_processed_total")
                    >= last.get("hfleaks_events_received_total")
        });
        assert!(
            ok,
            "not idle after {timeout:?}: {:?}\nstderr:\n{}",
            last.values,
            self.stderr()
        );
    }

    /// Sends SIGTERM (`kill -TERM PID`).
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// SIGKILL, then waits for it and for the last of its output.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
        self.join_readers();
    }

    /// Waits up to `timeout` for it to exit; then all its output is in.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exited.is_none() {
            let child = &mut self.child;
            let mut status = None;
            eventually(timeout, || {
                status = child.try_wait().ok().flatten();
                status.is_some()
            });
            self.exited = status;
        }
        if self.exited.is_some() {
            self.join_readers();
        }
        self.exited
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.join_readers();
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// 0 when no status line came back.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `addr` (`Connection: close`, `Content-Length`).
/// The body is written from another thread, so an answer the server sends
/// before reading all of it (413) is read all the same. Status 0: no
/// connection, or no answer.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    http_timeout(addr, method, path, headers, body, Duration::from_secs(120))
}

/// [`http`], giving up on an answer after `timeout`.
pub fn http_timeout(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Response {
    let none = Response {
        status: 0,
        headers: vec![],
        body: String::new(),
    };
    let Ok(stream) = TcpStream::connect(addr) else {
        return none;
    };
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream.set_write_timeout(Some(timeout)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: hfleaks-tests\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut w = stream.try_clone().unwrap();
    let body = body.to_vec();
    let writer = thread::spawn(move || {
        let _ = w.write_all(head.as_bytes());
        let _ = w.write_all(&body);
        let _ = w.flush();
    });
    let response = read_response(BufReader::new(stream));
    let _ = writer.join();
    response
}

fn read_response(mut r: BufReader<TcpStream>) -> Response {
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return Response {
            status: 0,
            headers: vec![],
            body: String::new(),
        };
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            if r.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let size = size.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0u8; size];
            if r.read_exact(&mut chunk).is_err() {
                break;
            }
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            let _ = r.read_line(&mut crlf);
        }
    } else if let Some(n) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match r.read(&mut body[got..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        body.truncate(got);
    } else {
        let _ = r.read_to_end(&mut body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Prometheus text samples, summed by metric name.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    pub values: BTreeMap<String, f64>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut values = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = match line.find('{') {
                Some(i) => {
                    let close = line.rfind('}').unwrap_or(i);
                    (&line[..i], line[close + 1..].split_whitespace().next())
                }
                None => {
                    let mut parts = line.split_whitespace();
                    (parts.next().unwrap_or(""), parts.next())
                }
            };
            if let Some(v) = value.and_then(|v| v.parse::<f64>().ok()) {
                *values.entry(name.to_string()).or_insert(0.0) += v;
            }
        }
        Metrics { values }
    }

    /// The value of `name`; panics when it is absent.
    pub fn get(&self, name: &str) -> f64 {
        *self
            .values
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name} in {:?}", self.values))
    }
}

/// Polls `f` every 50 ms until it holds or `timeout` passes; whether it held.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// -- payloads (version 3, as huggingface_hub's `_webhooks_payload.py`) --------

/// The opaque id the Hub gives a repo (here derived from its name).
fn hub_id(name: &str) -> String {
    hfleaks::finding::sha256_hex(name.as_bytes())[..24].to_string()
}

fn web_path(kind: &str, name: &str) -> String {
    match kind {
        "dataset" => format!("datasets/{name}"),
        "space" => format!("spaces/{name}"),
        _ => name.to_string(),
    }
}

/// The `repo` object of a payload; its links point at `LINKS`.
pub fn repo_object(kind: &str, name: &str, private: bool, head: Option<&str>) -> Value {
    let mut repo = json!({
        "type": kind,
        "name": name,
        "id": hub_id(name),
        "private": private,
        "url": {
            "web": format!("{LINKS}/{}", web_path(kind, name)),
            "api": format!("{LINKS}/api/{kind}s/{name}"),
        },
        "owner": {"id": hub_id(name.split('/').next().unwrap())},
    });
    if let Some(h) = head {
        repo["headSha"] = json!(h);
    }
    repo
}

fn webhook_object() -> Value {
    json!({"id": "6650e1aa0c5a51ec0c6b8c01", "version": 3})
}

/// A push (`repo.content` / `update`) that moved main from `old` (None:
/// created) to `new`.
pub fn push(kind: &str, name: &str, old: Option<&str>, new: &str) -> Value {
    json!({
        "event": {"action": "update", "scope": "repo.content"},
        "repo": repo_object(kind, name, false, Some(new)),
        "updatedRefs": [{"ref": "refs/heads/main", "oldSha": old, "newSha": new}],
        "webhook": webhook_object(),
    })
}

/// [`push`] of a private repo.
pub fn private_push(kind: &str, name: &str, old: Option<&str>, new: &str) -> Value {
    let mut v = push(kind, name, old, new);
    v["repo"]["private"] = json!(true);
    v
}

/// A `repo`-scope event: `create`, `delete`, `update` or `move`.
pub fn repo_event(action: &str, kind: &str, name: &str, head: Option<&str>) -> Value {
    json!({
        "event": {"action": action, "scope": "repo"},
        "repo": repo_object(kind, name, false, head),
        "webhook": webhook_object(),
    })
}

/// Any other scope (`repo.config`, or one the Hub adds later).
pub fn other_event(scope: &str, action: &str, kind: &str, name: &str) -> Value {
    json!({
        "event": {"action": action, "scope": scope},
        "repo": repo_object(kind, name, false, None),
        "updatedConfig": {"private": false},
        "webhook": webhook_object(),
    })
}

/// A `discussion` event (no `comment`) or, with `comment` = (event id,
/// content), a `discussion.comment` event.
pub fn discussion_event(
    action: &str,
    kind: &str,
    name: &str,
    num: u64,
    comment: Option<(&str, &str)>,
) -> Value {
    let scope = if comment.is_some() {
        "discussion.comment"
    } else {
        "discussion"
    };
    let web = format!("{LINKS}/{}/discussions/{num}", web_path(kind, name));
    let mut v = json!({
        "event": {"action": action, "scope": scope},
        "repo": repo_object(kind, name, false, None),
        "discussion": {
            "id": hub_id(&format!("{name}#{num}")),
            "num": num,
            "title": "a question",
            "url": {"web": web, "api": format!("{LINKS}/api/{kind}s/{name}/discussions/{num}")},
            "status": "open",
            "author": {"id": "64b0c0ffee0000000000aaaa"},
            "isPullRequest": false,
            "changes": {"base": "refs/heads/main"},
            "pinned": false,
        },
        "webhook": webhook_object(),
    });
    if let Some((id, content)) = comment {
        v["comment"] = json!({
            "id": id,
            "author": {"id": "64b0c0ffee0000000000bbbb"},
            "content": content,
            "hidden": false,
            "url": {"web": format!("{web}#{id}")},
        });
    }
    v
}

/// Points every `url` of `payload` at `base` instead of `LINKS`.
pub fn with_links(payload: &Value, base: &str) -> Value {
    serde_json::from_str(&payload.to_string().replace(LINKS, base)).unwrap()
}

// -- alerts ---------------------------------------------------------------------

/// The sink's accepted deliveries, each with its parsed body.
pub fn alerts(sink: &AlertSink) -> Vec<(Delivery, Value)> {
    sink.accepted()
        .into_iter()
        .map(|d| {
            let v: Value = serde_json::from_slice(&d.body)
                .unwrap_or_else(|e| panic!("alert body is not JSON ({e}): {}", d.text()));
            (d, v)
        })
        .collect()
}

/// Distinct alert ids by the `secret_sha256` of their finding.
pub fn ids_by_secret(sink: &AlertSink) -> HashMap<String, HashSet<String>> {
    let mut by: HashMap<String, HashSet<String>> = HashMap::new();
    for (_, a) in alerts(sink) {
        let sha = a["finding"]["secret_sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("alert without finding.secret_sha256: {a}"))
            .to_string();
        let id = a["id"]
            .as_str()
            .unwrap_or_else(|| panic!("alert without id: {a}"))
            .to_string();
        by.entry(sha).or_default().insert(id);
    }
    by
}

/// The distinct alert ids the sink accepted.
pub fn distinct_ids(sink: &AlertSink) -> HashSet<String> {
    alerts(sink)
        .iter()
        .map(|(_, a)| a["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The alerts (distinct ids) for `token`, by the sha256 of their finding.
pub fn alerts_for(sink: &AlertSink, token: &str) -> Vec<Value> {
    let sha = hfleaks::finding::sha256_hex(token.as_bytes());
    let mut seen = HashSet::new();
    alerts(sink)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| a["finding"]["secret_sha256"] == sha.as_str())
        .filter(|a| seen.insert(a["id"].to_string()))
        .collect()
}

// -- what must never hold a token ---------------------------------------------

/// The bytes of the db and its WAL, shared-memory and journal files.
pub fn db_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}

/// Asserts that neither any of `secrets` nor its body after a known prefix
/// (`hf_`, `api_org_`) occurs in `haystack` (`what` names it).
pub fn assert_no_secret(what: &str, haystack: &[u8], secrets: &[String]) {
    for s in secrets {
        let body = s
            .strip_prefix("hf_")
            .or_else(|| s.strip_prefix("api_org_"))
            .unwrap_or(s);
        for needle in [s.as_str(), body] {
            assert!(
                !contains(haystack, needle.as_bytes()),
                "{what} holds a raw secret ({}…)",
                &needle[..needle.len().min(6)]
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

// -- shared by the serve test files ------------------------------------------

/// Deadlines: generous, the machine may be slow and busy; every wait polls.
pub const LONG: Duration = Duration::from_secs(60);

pub fn db_in(root: &Path) -> PathBuf {
    root.join("hfleaks.db")
}

pub fn model(id: &str) -> Value {
    json!({"type": "model", "id": id})
}

/// A mock Hub serving `repos` (bare repos already built under `root`),
/// where `access_token()` sees private repos.
pub fn hub(root: &Path, repos: Vec<Value>) -> super::hub_server::HubServer {
    super::hub_server::HubServer::start(
        root,
        json!({"token": super::estate::access_token(), "repos": repos}),
    )
}

/// Waits until `sink` has accepted alerts with `n` distinct ids.
pub fn wait_alerts(serve: &Serve, sink: &AlertSink, n: usize, timeout: Duration) {
    let ok = eventually(timeout, || distinct_ids(sink).len() >= n);
    assert!(
        ok,
        "{} distinct alerts after {timeout:?}, want {n}: {:?}\nstderr:\n{}",
        distinct_ids(sink).len(),
        alerts(sink)
            .iter()
            .map(|(_, a)| &a["text"])
            .collect::<Vec<_>>(),
        serve.stderr()
    );
}
