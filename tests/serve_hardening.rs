//! `hfleaks serve` on the internet and beside an unreliable Hub: hostile
//! clients without the webhook secret (absurd `Content-Length`s, slow
//! bodies, idle and pipelining connections, endless headers), a Hub
//! outage, an alert URL that never answers, file names written to fool a
//! Slack channel, and the settings an operator relies on (file modes,
//! alert URLs out of `ps`, ignore files, the operator listener). Real
//! HTTP against the built binary; the mock Hub and alert sinks on
//! 127.0.0.1; every token synthetic.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::alert_sink::AlertSink;
use common::estate::sha256;
use common::fake_token;
use common::hub_server::{HubServer, RepoBuilder, comment, discussion};
use common::serve::*;
use serde_json::{Value, json};

/// The answers a real client must still get while an attack goes on.
const PROMPT: Duration = Duration::from_secs(2);
/// The most memory serve may hold through an attack.
const MAX_RSS: u64 = 300 << 20;

/// A served repo `acme/app` with a first commit, the mock Hub, a sink and
/// serve alerting it.
struct Setup {
    root: tempfile::TempDir,
    app: RepoBuilder,
    head: Mutex<String>,
    hub: HubServer,
    sink: AlertSink,
}

impl Setup {
    fn new() -> Setup {
        let root = tempfile::tempdir().unwrap();
        let app = RepoBuilder::new(root.path(), "model", "acme/app");
        let head = app.commit(&[("README.md", "# app\n")], "init");
        app.publish();
        let hub = hub(root.path(), vec![model("acme/app")]);
        Setup {
            root,
            app,
            head: Mutex::new(head),
            hub,
            sink: AlertSink::start(),
        }
    }

    fn serve(&self) -> ServeCmd {
        ServeCmd::new(&db_in(self.root.path()), &self.hub.endpoint()).alert(&self.sink.url())
    }

    /// Pushes a new token to `acme/app` (file `name`); returns the push
    /// payload and the token.
    fn commit_token(&self, seed: u64, name: &str) -> (Value, String) {
        let token = fake_token(seed);
        let mut head = self.head.lock().unwrap();
        let next = self
            .app
            .commit(&[(name, &format!("HF_TOKEN = \"{token}\"\n"))], "add");
        self.app.publish();
        let payload = push("model", "acme/app", Some(&head), &next);
        *head = next;
        (payload, token)
    }
}

/// What must hold after (and during) each attack: the process lives,
/// `/healthz` answers 200 within 2 s, a valid push is answered 202 within
/// 2 s and its token alerted, and memory stayed under 300 MiB.
fn assert_still_serving(serve: &mut Serve, setup: &Setup, seed: u64, attack: &str) {
    assert!(
        serve.alive(),
        "{attack}: serve died\nstderr:\n{}",
        serve.stderr()
    );
    let started = Instant::now();
    let health = http_timeout(&serve.addr, "GET", "/healthz", &[], b"", PROMPT);
    assert_eq!(
        health.status,
        200,
        "{attack}: /healthz after {:?}: {}\nstderr:\n{}",
        started.elapsed(),
        health.body,
        serve.stderr()
    );
    assert!(
        started.elapsed() <= PROMPT,
        "{attack}: /healthz took {:?}",
        started.elapsed()
    );
    let (payload, token) = setup.commit_token(seed, &format!("after_{seed}.py"));
    let started = Instant::now();
    let r = http_timeout(
        &serve.addr,
        "POST",
        "/webhook",
        &[
            ("Content-Type", "application/json"),
            ("X-Webhook-Secret", SECRET),
        ],
        payload.to_string().as_bytes(),
        PROMPT,
    );
    assert_eq!(
        r.status,
        202,
        "{attack}: the push: {}\nstderr:\n{}",
        r.body,
        serve.stderr()
    );
    assert!(
        started.elapsed() <= PROMPT,
        "{attack}: 202 took {:?}",
        started.elapsed()
    );
    let alerted = eventually(LONG, || !alerts_for(&setup.sink, &token).is_empty());
    assert!(
        alerted,
        "{attack}: the token was not alerted\nstderr:\n{}",
        serve.stderr()
    );
    let rss = serve.peak_rss();
    assert!(rss < MAX_RSS, "{attack}: peak RSS {} MiB", rss >> 20);
}

/// Opens a connection and writes `bytes` (errors ignored: the server may
/// close first).
fn send_raw(addr: &str, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    s
}

/// The status line's code of what `s` answers within `timeout` (0: none).
fn read_status(s: &mut TcpStream, timeout: Duration) -> u16 {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn declared_length_request(length: &str, secret: Option<&str>) -> Vec<u8> {
    let secret = secret
        .map(|s| format!("X-Webhook-Secret: {s}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{secret}Content-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

// -- hostile clients -----------------------------------------------------------

#[test]
fn absurd_content_lengths_with_no_body_are_answered_and_kill_nothing() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let mut held = Vec::new();
    for length in ["1000000000000000", "18446744073709551615"] {
        for _ in 0..4 {
            let mut s = send_raw(&serve.addr, &declared_length_request(length, None));
            let status = read_status(&mut s, LONG);
            assert!(
                (400..500).contains(&status),
                "Content-Length {length} without the secret: {status}"
            );
            held.push(s);
        }
        // With the secret the size is refused before a byte is read.
        let mut s = send_raw(&serve.addr, &declared_length_request(length, Some(SECRET)));
        let status = read_status(&mut s, LONG);
        assert!(
            (400..500).contains(&status) && status != 408,
            "Content-Length {length} with the secret: {status}"
        );
        held.push(s);
    }
    drop(held);
    assert_still_serving(&mut serve, &setup, 7001, "absurd Content-Length");
}

#[test]
fn sixty_four_slow_bodies_hold_up_nobody_and_are_timed_out() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let mut slow: Vec<TcpStream> = (0..64)
        .map(|i| {
            // Half without the secret, half with it (those wait for a body).
            let secret = (i % 2 == 0).then_some(SECRET);
            let mut req = declared_length_request("2000", secret);
            req.extend_from_slice(b"{\"event\":");
            send_raw(&serve.addr, &req)
        })
        .collect();
    // While all 64 are held open.
    assert_still_serving(&mut serve, &setup, 7002, "64 slow bodies");
    // The ones with the secret are answered 408 once their time is up.
    let with_secret: Vec<u16> = slow
        .iter_mut()
        .step_by(2)
        .map(|s| read_status(s, LONG))
        .collect();
    assert!(
        with_secret.iter().all(|&c| c == 408 || c == 0),
        "slow bodies with the secret: {with_secret:?}"
    );
    assert!(with_secret.contains(&408), "{with_secret:?}");
    assert_eq!(serve.metric("hfleaks_events_received_total"), 1.0);
}

#[test]
fn a_thousand_idle_connections_starve_no_client() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(&serve.addr).unwrap())
        .collect();
    assert_still_serving(&mut serve, &setup, 7003, "1,000 idle connections");
    // Idle connections are closed by the server, not kept forever.
    let mut first = idle.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 16];
    let closed = matches!(first.read(&mut buf), Ok(0) | Err(_));
    assert!(closed, "an idle connection was kept open for 60 s");
}

#[test]
fn a_sixteen_mib_header_line_is_refused_without_being_buffered() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let addr = serve.addr.clone();
    let writer = thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Padding: ");
        let chunk = vec![b'a'; 1 << 16];
        let mut sent = 0usize;
        while sent < 16 << 20 {
            if s.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        let status = read_status(&mut s, Duration::from_secs(10));
        (sent, status)
    });
    let (sent, status) = writer.join().unwrap();
    assert!(
        sent < 16 << 20 || status == 431 || status == 0,
        "a 16 MiB header line was taken whole ({sent} bytes, status {status})"
    );
    assert_still_serving(&mut serve, &setup, 7004, "a 16 MiB header line");
}

#[test]
fn a_thousand_pipelined_requests_on_a_connection_that_never_reads() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let addr = serve.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let pipeliner = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            let one = b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
            for _ in 0..1000 {
                if s.write_all(one).is_err() {
                    break;
                }
            }
            // Never read; hold the connection until the test is done.
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    thread::sleep(Duration::from_millis(500));
    assert_still_serving(
        &mut serve,
        &setup,
        7005,
        "1,000 pipelined requests never read",
    );
    stop.store(true, Ordering::Relaxed);
    pipeliner.join().unwrap();
}

#[test]
fn sigterm_returns_within_the_grace_period_whatever_clients_do() {
    let setup = Setup::new();
    let mut serve = setup.serve().start();
    let _slow: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut req = declared_length_request("2000", Some(SECRET));
            req.extend_from_slice(b"{");
            send_raw(&serve.addr, &req)
        })
        .collect();
    let _idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(&serve.addr).unwrap())
        .collect();
    let started = Instant::now();
    serve.sigterm();
    let status = serve
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no exit 30 s after SIGTERM:\n{}", serve.stderr()));
    assert_eq!(status.code(), Some(0), "{}", serve.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "SIGTERM took {:?}",
        started.elapsed()
    );
}

// -- an unreliable Hub ---------------------------------------------------------

#[test]
fn a_hub_outage_of_45_s_loses_neither_a_push_nor_a_comment() {
    let root = tempfile::tempdir().unwrap();
    let app = RepoBuilder::new(root.path(), "model", "acme/app");
    let c1 = app.commit(&[("README.md", "# app\n")], "init");
    let pushed = fake_token(7101);
    let c2 = app.commit(&[("train.py", &format!("token = \"{pushed}\"\n"))], "train");
    app.publish();
    let chat = RepoBuilder::new(root.path(), "model", "acme/chat");
    chat.commit(&[("README.md", "# chat\n")], "init");
    chat.publish();
    let commented = fake_token(7102);
    let flag = root.path().join("outage");
    std::fs::write(&flag, b"down").unwrap();
    let hub = HubServer::start(
        root.path(),
        json!({
            "repos": [
                model("acme/app"),
                {"type": "model", "id": "acme/chat", "discussions": [discussion(
                    1, "help", false,
                    vec![comment("c1", &format!("my token is {commented}"), &[])],
                )]},
            ],
            "faults": {"outage": {
                "acme/app": flag.to_str().unwrap(),
                "acme/chat": flag.to_str().unwrap(),
            }},
        }),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();
    serve.accept(&push("model", "acme/app", Some(&c1), &c2));
    serve.accept(&discussion_event(
        "create",
        "model",
        "acme/chat",
        1,
        Some(("c1", "my token is (redacted by the Hub's payload)")),
    ));
    let outage_started = Instant::now();
    // Both fail and wait as retries, never as done.
    let waiting = eventually(LONG, || serve.metric("hfleaks_retry_pending") >= 2.0);
    assert!(waiting, "no retries pending:\n{}", serve.stderr());
    while outage_started.elapsed() < Duration::from_secs(45) {
        assert!(sink.accepted().is_empty(), "alerted during the outage");
        assert!(
            serve.metric("hfleaks_queue_depth") >= 2.0,
            "{}",
            serve.stderr()
        );
        thread::sleep(Duration::from_secs(1));
    }
    std::fs::remove_file(&flag).unwrap();
    // No further event: the retries find both tokens.
    let both = eventually(LONG, || {
        !alerts_for(&sink, &pushed).is_empty() && !alerts_for(&sink, &commented).is_empty()
    });
    assert!(both, "after the outage:\n{}", serve.stderr());
    serve.wait_idle(LONG);
    assert_eq!(serve.metric("hfleaks_retry_pending"), 0.0);
    assert_eq!(alerts_for(&sink, &pushed).len(), 1, "alerted once");
    assert_eq!(alerts_for(&sink, &commented).len(), 1, "alerted once");
    assert!(
        serve.stderr().contains("tried again in"),
        "retries are logged:\n{}",
        serve.stderr()
    );
}

#[test]
fn a_repo_the_hub_says_is_gone_is_final_and_not_retried() {
    let root = tempfile::tempdir().unwrap();
    let hub = HubServer::start(root.path(), json!({"repos": []}));
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint()).start();
    serve.accept(&push("model", "acme/gone", None, &"a".repeat(40)));
    serve.wait_idle(LONG);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        serve.metric("hfleaks_retry_pending"),
        0.0,
        "{}",
        serve.stderr()
    );
    assert_eq!(serve.metric("hfleaks_queue_depth"), 0.0);
}

// -- alerts ---------------------------------------------------------------------

/// An alert URL that accepts connections and never answers.
struct DeadEndpoint {
    url: String,
    stop: Arc<AtomicBool>,
}

impl DeadEndpoint {
    fn start() -> DeadEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/alerts", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        DeadEndpoint { url, stop }
    }
}

impl Drop for DeadEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn an_alert_url_that_never_answers_delays_no_other_url() {
    let setup = Setup::new();
    let dead = DeadEndpoint::start();
    let serve = ServeCmd::new(&db_in(setup.root.path()), &setup.hub.endpoint())
        .alert(&dead.url)
        .alert(&setup.sink.url())
        .start();
    for seed in 0..3 {
        let (payload, token) = setup.commit_token(7200 + seed, &format!("t{seed}.py"));
        serve.accept(&payload);
        let accepted = Instant::now();
        let ok = eventually(LONG, || !alerts_for(&setup.sink, &token).is_empty());
        assert!(ok, "{}", serve.stderr());
        let took = accepted.elapsed();
        assert!(
            took <= PROMPT,
            "alert {seed} reached the healthy URL {took:?} after the 202"
        );
    }
}

#[test]
fn alert_text_is_one_line_and_cannot_ping_a_channel_or_plant_a_link() {
    let setup = Setup::new();
    let serve = setup.serve().start();
    let hostile = "<!channel> <mailto:x@evil.example|Rotate your token here>.env";
    let (payload, t1) = setup.commit_token(7301, hostile);
    serve.accept(&payload);
    let (payload, t2) = setup.commit_token(7302, "two\nlines & more.py");
    serve.accept(&payload);
    let ok = eventually(LONG, || {
        !alerts_for(&setup.sink, &t1).is_empty() && !alerts_for(&setup.sink, &t2).is_empty()
    });
    assert!(ok, "{}", serve.stderr());
    for (token, path) in [(&t1, hostile), (&t2, "two\nlines & more.py")] {
        let a = &alerts_for(&setup.sink, token)[0];
        assert_eq!(a["finding"]["path"], path, "the JSON field stays exact");
        let text = a["text"].as_str().unwrap();
        assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
        assert!(!text.contains('<') && !text.contains('>'), "{text:?}");
        assert!(!text.contains("<!channel>"), "{text:?}");
        let bare_amp = text.match_indices('&').any(|(i, _)| {
            !["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| text[i..].starts_with(e))
        });
        assert!(!bare_amp, "an unescaped & in {text:?}");
    }
    let a = &alerts_for(&setup.sink, &t1)[0];
    assert!(
        a["text"].as_str().unwrap().contains("&lt;!channel&gt;"),
        "{}",
        a["text"]
    );
    let b = &alerts_for(&setup.sink, &t2)[0];
    assert!(
        b["text"]
            .as_str()
            .unwrap()
            .contains("two\\nlines &amp; more.py")
    );
}

// -- settings -------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn the_database_and_its_wal_and_shm_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let setup = Setup::new();
    let db = db_in(setup.root.path());
    // A database left world-readable by an earlier build is tightened.
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let serve = setup.serve().start();
    let (payload, token) = setup.commit_token(7401, "a.py");
    serve.accept(&payload);
    assert!(eventually(LONG, || !alerts_for(&setup.sink, &token).is_empty()));
    let files: Vec<_> = db_files(&db).into_iter().map(|(p, _)| p).collect();
    assert!(files.len() >= 2, "the database and its WAL: {files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    assert!(
        serve.stderr().contains("tightened to 600"),
        "{}",
        serve.stderr()
    );
}

#[test]
fn show_secrets_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (code, _, stderr) = ServeCmd::new(&db_in(root.path()), LINKS)
        .arg("--show-secrets")
        .run_to_end(LONG);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--show-secrets"), "{stderr}");
    assert!(!db_in(root.path()).exists());
}

#[test]
fn alert_urls_from_the_environment_and_a_file_deliver_and_stay_out_of_ps() {
    let setup = Setup::new();
    let by_env = AlertSink::start();
    let by_file = AlertSink::start();
    let file = setup.root.path().join("alerts.txt");
    std::fs::write(
        &file,
        format!("# the team's channel\n{}\n\n", by_file.url()),
    )
    .unwrap();
    let serve = ServeCmd::new(&db_in(setup.root.path()), &setup.hub.endpoint())
        .env("HFLEAKS_ALERT_URLS", &format!("  {}\n", by_env.url()))
        .arg("--alert-file")
        .arg(file.to_str().unwrap())
        .start();
    let (payload, token) = setup.commit_token(7501, "a.py");
    serve.accept(&payload);
    for sink in [&by_env, &by_file] {
        assert!(
            eventually(LONG, || alerts_for(sink, &token).len() == 1),
            "{}",
            serve.stderr()
        );
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", serve.pid())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        !cmdline.contains(&by_env.url()) && !cmdline.contains(&by_file.url()),
        "{cmdline}"
    );
    // Nor in the database: only a digest routes the outbox.
    let db = db_files(&db_in(setup.root.path()));
    for (path, bytes) in db {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&by_env.url()), "{}", path.display());
    }
}

#[test]
fn without_an_alert_url_findings_wait_and_are_sent_once_one_is_configured() {
    let setup = Setup::new();
    let db = db_in(setup.root.path());
    let mut first = ServeCmd::new(&db, &setup.hub.endpoint()).start();
    let (payload, token) = setup.commit_token(7601, "a.py");
    first.accept(&payload);
    first.wait_idle(LONG);
    assert_eq!(
        first.metric("hfleaks_alerts_pending"),
        1.0,
        "{}",
        first.stderr()
    );
    first.sigterm();
    first.wait_exit(LONG).unwrap();

    let second = setup.serve().start();
    assert!(
        eventually(LONG, || alerts_for(&setup.sink, &token).len() == 1),
        "{}",
        second.stderr()
    );
    second.wait_metric("hfleaks_alerts_pending", 0.0, LONG);
    drop(second);

    // A URL no longer configured: what was pending for it is dropped.
    let dead = DeadEndpoint::start();
    let mut third = ServeCmd::new(&db, &setup.hub.endpoint())
        .alert(&dead.url)
        .start();
    let (payload, _) = setup.commit_token(7602, "b.py");
    third.accept(&payload);
    third.wait_idle(LONG);
    third.sigkill();
    let fourth = setup.serve().start();
    assert!(
        eventually(LONG, || fourth.stderr().contains("no longer configured")),
        "{}",
        fourth.stderr()
    );
    assert_eq!(fourth.metric("hfleaks_alerts_pending"), 0.0);
}

#[test]
fn ignore_files_baselines_and_allow_comments_keep_findings_from_alerts() {
    let setup = Setup::new();
    let ignored = fake_token(7701);
    let baselined = fake_token(7702);
    let allowed = fake_token(7703);
    let reported = fake_token(7704);
    let ignore = setup.root.path().join("ignore.txt");
    std::fs::write(&ignore, format!("{}\nvendor/\n", sha256(&ignored))).unwrap();
    let baseline = setup.root.path().join("baseline.json");
    std::fs::write(
        &baseline,
        json!({"findings": [{"rule_id": "hf-user-access-token",
                              "secret_sha256": sha256(&baselined), "path": "old.py"}]})
        .to_string(),
    )
    .unwrap();
    let serve = setup
        .serve()
        .arg("--ignore-file")
        .arg(ignore.to_str().unwrap())
        .arg("--baseline")
        .arg(baseline.to_str().unwrap())
        .start();
    let head = setup.head.lock().unwrap().clone();
    let next = setup.app.commit(
        &[
            ("ignored.py", &format!("t = \"{ignored}\"\n")),
            ("vendor/lib.py", &format!("t = \"{reported}\"\n")),
            ("old.py", &format!("t = \"{baselined}\"\n")),
            (
                "allowed.py",
                &format!("t = \"{allowed}\"  # hfleaks:allow\n"),
            ),
            ("new.py", &format!("t = \"{reported}\"\n")),
        ],
        "several",
    );
    setup.app.publish();
    serve.accept(&push("model", "acme/app", Some(&head), &next));
    serve.wait_idle(LONG);
    assert!(eventually(LONG, || alerts_for(&setup.sink, &reported)
        .len()
        == 1));
    thread::sleep(Duration::from_millis(500));
    let paths: Vec<Value> = alerts(&setup.sink)
        .iter()
        .map(|(_, a)| a["finding"]["path"].clone())
        .collect();
    assert_eq!(paths, vec![json!("new.py")], "{}", serve.stderr());
}

#[test]
fn metrics_move_to_the_operator_listener_when_there_is_one() {
    let setup = Setup::new();
    let serve = setup
        .serve()
        .arg("--admin-listen")
        .arg("127.0.0.1:0")
        .start();
    let admin = serve.admin_addr();
    assert_ne!(admin, serve.addr);
    let m = http(&admin, "GET", "/metrics", &[], b"");
    assert_eq!(m.status, 200);
    assert!(m.body.contains("hfleaks_retry_pending 0"), "{}", m.body);
    assert_eq!(serve.get("/metrics").status, 404, "not on the public port");
    assert_eq!(http(&admin, "POST", "/webhook", &[], b"{}").status, 404);
    assert_eq!(serve.get("/healthz").status, 200);
    assert_eq!(http(&admin, "GET", "/healthz", &[], b"").status, 200);
}
