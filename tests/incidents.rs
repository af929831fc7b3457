//! `hfleaks serve`'s incidents: one per token, with its places, its
//! verifications and its state (open, revoked, inactive, accepted);
//! automatic revocation of live tokens (`--revoke-policy live`),
//! re-verification (`--reverify-every`), and the operator API on the
//! admin listener. Real HTTP against the built binary, the mock Hub (with
//! whoami-v2 and the revoke endpoint) and an alert sink on 127.0.0.1;
//! every token synthetic.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::alert_sink::AlertSink;
use common::estate::sha256;
use common::fake_token;
use common::hub_server::{HubServer, RepoBuilder};
use common::serve::*;
use serde_json::{Value, json};

/// The operator token the tests' servers are started with.
const ADMIN: &str = "incident-tests-admin-token-5c1e";

struct Setup {
    root: tempfile::TempDir,
    app: RepoBuilder,
    head: String,
    hub: HubServer,
    sink: AlertSink,
}

/// `acme/app` with one commit and the mock Hub, where `valid` are live.
fn setup(valid: &[&str], extra: Value) -> Setup {
    let root = tempfile::tempdir().unwrap();
    let app = RepoBuilder::new(root.path(), "model", "acme/app");
    let head = app.commit(&[("README.md", "# app\n")], "init");
    app.publish();
    let mut config = json!({"repos": [model("acme/app")], "valid_tokens": valid});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    let hub = HubServer::start(root.path(), config);
    Setup {
        root,
        app,
        head,
        hub,
        sink: AlertSink::start(),
    }
}

impl Setup {
    fn serve(&self) -> ServeCmd {
        ServeCmd::new(&db_in(self.root.path()), &self.hub.endpoint())
            .alert(&self.sink.url())
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .env("HFLEAKS_ADMIN_TOKEN", ADMIN)
    }

    /// Commits `files` and returns the push payload.
    fn push(&mut self, files: &[(&str, &str)]) -> Value {
        let next = self.app.commit(files, "change");
        self.app.publish();
        let p = push("model", "acme/app", Some(&self.head), &next);
        self.head = next;
        p
    }

    /// The sha256 of every token the mock was asked to revoke.
    fn revoked(&self) -> Vec<String> {
        self.hub
            .requests()
            .iter()
            .filter(|r| r["event"] == "revoked")
            .flat_map(|r| r["revoked"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    }
}

/// An operator API request with the bearer token.
fn api(serve: &Serve, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {ADMIN}");
    let body = if method == "GET" {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let r = http(
        &serve.admin_addr(),
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// The incident of `token`, from the API.
fn incident_of(serve: &Serve, token: &str) -> Value {
    let (status, list) = api(serve, "GET", "/api/incidents", &Value::Null);
    assert_eq!(status, 200, "{list}");
    list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["secret_sha256"] == sha256(token).as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no incident for the token: {list}"))
}

/// Neither the database, nor serve's output, nor any alert holds `token`.
fn assert_nothing_raw(s: &Setup, serve: &Serve, token: &str) {
    let secrets = [token.to_string()];
    for (path, bytes) in db_files(&db_in(s.root.path())) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
    assert_no_secret("serve's output", &serve.output_bytes(), &secrets);
    for d in s.sink.deliveries() {
        assert_no_secret("an alert", &d.body, &secrets);
    }
}

/// Delivers `payload`, waits for `token`'s one alert, and returns the id
/// of its incident.
fn alerted_incident(s: &Setup, serve: &Serve, payload: &Value, token: &str) -> String {
    serve.accept(payload);
    assert!(eventually(LONG, || alerts_for(&s.sink, token).len() == 1));
    incident_of(serve, token)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn alert_of(sink: &AlertSink, token: &str) -> Value {
    let found = alerts_for(sink, token);
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn revoke_policy_live_without_verify_exits_2() {
    let root = tempfile::tempdir().unwrap();
    let (code, _, stderr) = ServeCmd::new(&db_in(root.path()), LINKS)
        .arg("--revoke-policy")
        .arg("live")
        .run_to_end(LONG);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--verify"), "{stderr}");
}

#[test]
fn a_live_token_is_revoked_within_2_s_and_a_dead_one_becomes_inactive_unrevoked() {
    let live = fake_token(9101);
    let dead = fake_token(9102);
    let mut s = setup(&[&live], json!({"api_latency_ms": 30}));
    let serve = s
        .serve()
        .arg("--verify")
        .arg("--revoke-policy")
        .arg("live")
        .start();
    let payload = s.push(&[
        ("live.py", &format!("T = \"{live}\"\n")),
        ("dead.py", &format!("T = \"{dead}\"\n")),
    ]);
    serve.accept(&payload);
    let accepted = Instant::now();
    let revoked = eventually(LONG, || s.revoked().contains(&sha256(&live)));
    let took = accepted.elapsed();
    assert!(revoked, "{}", serve.stderr());
    assert!(
        took <= Duration::from_secs(2),
        "revoked {took:?} after the 202"
    );
    assert!(eventually(LONG, || alerts_for(&s.sink, &dead).len() == 1));
    assert!(eventually(LONG, || alerts_for(&s.sink, &live).len() == 1));
    let a = alert_of(&s.sink, &live);
    assert_eq!(a["type"], "finding.new");
    assert_eq!(a["incident"]["state"], "revoked", "{a}");
    assert!(a["text"].as_str().unwrap().ends_with(": revoked]"), "{a}");
    let d = alert_of(&s.sink, &dead);
    assert_eq!(d["incident"]["state"], "inactive", "{d}");
    assert!(
        !s.revoked().contains(&sha256(&dead)),
        "an invalid token is never sent to revoke"
    );
    // The incidents say who did it.
    let i = incident_of(&serve, &live);
    assert_eq!(i["state"], "revoked");
    let last = i["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "policy");
    assert_eq!(i["places"][0]["path"], "live.py");
    assert_eq!(i["verifications"][0]["status"], "valid");
    // Told by the finding's alert: no separate incident.updated.
    assert!(
        serve.stderr().contains(&format!(
            "incident {}: revoked by policy",
            i["id"].as_str().unwrap()
        )),
        "the change is logged in one line:\n{}",
        serve.stderr()
    );
    let admin = serve.admin_addr();
    let m = Metrics::parse(&http(&admin, "GET", "/metrics", &[], b"").body);
    assert_eq!(m.get("hfleaks_revocations_total"), 1.0);
    assert_eq!(m.get("hfleaks_revoke_seconds_count"), 1.0);
    let text = http(&admin, "GET", "/metrics", &[], b"").body;
    assert!(
        text.contains("hfleaks_incidents{state=\"revoked\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hfleaks_incidents{state=\"inactive\"} 1"),
        "{text}"
    );
}

#[test]
fn reverification_moves_a_token_revoked_elsewhere_to_inactive() {
    let live = fake_token(9201);
    let mut s = setup(&[&live], json!({}));
    let serve = s
        .serve()
        .arg("--verify")
        .arg("--reverify-every")
        .arg("2s")
        .start();
    let payload = s.push(&[("k.py", &format!("K = \"{live}\"\n"))]);
    serve.accept(&payload);
    assert!(eventually(LONG, || alerts_for(&s.sink, &live).len() == 1));
    assert_eq!(alert_of(&s.sink, &live)["incident"]["state"], "open");
    // The owner revokes it on the Hub.
    let r = http(
        s.hub.endpoint().trim_start_matches("http://"),
        "POST",
        "/api/credentials/revoke",
        &[("Content-Type", "application/json")],
        json!({"credentials": [live]}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 202);
    let inactive = eventually(Duration::from_secs(30), || {
        incident_of(&serve, &live)["state"] == "inactive"
    });
    assert!(inactive, "{}", serve.stderr());
    let i = incident_of(&serve, &live);
    let last = i["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "reverify", "{i}");
    let updated = eventually(LONG, || {
        alerts(&s.sink).iter().any(|(_, a)| {
            a["type"] == "incident.updated"
                && a["incident"]["id"] == i["id"]
                && a["incident"]["state"] == "inactive"
                && !a["text"].as_str().unwrap_or("\n").contains('\n')
        })
    });
    assert!(updated, "the change is sent as incident.updated");
    let statuses: Vec<&str> = i["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"valid"));
    assert_eq!(statuses.last(), Some(&"invalid"));
    // Nothing raw at rest, in the logs or the alerts, after all of it.
    assert_nothing_raw(&s, &serve, &live);
}

#[test]
fn accept_needs_a_reason_and_then_a_new_place_is_recorded_not_alerted() {
    let token = fake_token(9301);
    let mut s = setup(&[], json!({}));
    let serve = s.serve().start();
    let payload = s.push(&[("a.py", &format!("T = \"{token}\"\n"))]);
    let id = alerted_incident(&s, &serve, &payload, &token);
    let path = format!("/api/incidents/{id}/accept");
    assert_eq!(api(&serve, "POST", &path, &json!({})).0, 400);
    assert_eq!(api(&serve, "POST", &path, &json!({"reason": "  "})).0, 400);
    let (status, i) = api(
        &serve,
        "POST",
        &path,
        &json!({"reason": "a test token of the CI"}),
    );
    assert_eq!(status, 200, "{i}");
    assert_eq!(i["state"], "accepted");
    let last = i["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["reason"].as_str()),
        (Some("admin"), Some("a test token of the CI"))
    );

    let payload = s.push(&[("b.py", &format!("T2 = \"{token}\"\n"))]);
    serve.accept(&payload);
    serve.wait_idle(LONG);
    let places = eventually(LONG, || {
        incident_of(&serve, &token)["places"]
            .as_array()
            .unwrap()
            .len()
            == 2
    });
    assert!(places, "{}", incident_of(&serve, &token));
    thread::sleep(Duration::from_millis(300));
    let paths: Vec<Value> = alerts_for(&s.sink, &token)
        .iter()
        .map(|a| a["finding"]["path"].clone())
        .collect();
    assert_eq!(paths, vec![json!("a.py")], "the new place is not alerted");
    // A second accept: the incident is no longer open.
    assert_eq!(
        api(&serve, "POST", &path, &json!({"reason": "again"})).0,
        409
    );
    assert_eq!(
        api(&serve, "GET", "/api/incidents/inc_nothing", &Value::Null).0,
        404
    );
}

#[test]
fn an_operator_revoke_reads_the_token_again_and_reaches_the_revoke_endpoint() {
    let live = fake_token(9401);
    let mut s = setup(&[&live], json!({}));
    let serve = s.serve().arg("--verify").start();
    let payload = s.push(&[("deep/k.py", &format!("K = \"{live}\"\n"))]);
    let id = alerted_incident(&s, &serve, &payload, &live);
    assert!(s.revoked().is_empty());
    let (status, i) = api(
        &serve,
        "POST",
        &format!("/api/incidents/{id}/revoke"),
        &json!({}),
    );
    assert_eq!(status, 200, "{i}\n{}", serve.stderr());
    assert_eq!(i["state"], "revoked");
    assert_eq!(s.revoked(), vec![sha256(&live)]);
    assert!(eventually(LONG, || alerts(&s.sink).iter().any(|(_, a)| {
        a["type"] == "incident.updated" && a["incident"]["state"] == "revoked"
    })));
    // Verify now: the Hub says it is dead; the state stays revoked.
    let (status, i) = api(
        &serve,
        "POST",
        &format!("/api/incidents/{id}/verify"),
        &json!({}),
    );
    assert_eq!(status, 200, "{i}");
    assert_eq!(i["state"], "revoked");
    assert_eq!(
        i["verifications"].as_array().unwrap().last().unwrap()["status"],
        "invalid"
    );
    // Filters and paging.
    let (_, list) = api(&serve, "GET", "/api/incidents?state=open", &Value::Null);
    assert_eq!(list["incidents"].as_array().unwrap().len(), 0);
    let (_, list) = api(
        &serve,
        "GET",
        "/api/incidents?state=revoked&repo=acme/app",
        &Value::Null,
    );
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(list["next"], Value::Null);
    for (query, n) in [("repo=models/acme/app", 1), ("repo=acme/other", 0)] {
        let (_, list) = api(
            &serve,
            "GET",
            &format!("/api/incidents?{query}"),
            &Value::Null,
        );
        assert_eq!(list["incidents"].as_array().unwrap().len(), n, "{query}");
    }
    assert_eq!(
        api(&serve, "GET", "/api/incidents?state=gone", &Value::Null).0,
        400
    );
    // After the revoke: nothing raw in the database, the log or the alerts.
    assert_nothing_raw(&s, &serve, &live);
}

#[test]
fn the_api_and_the_dashboard_need_the_admin_token() {
    let s = setup(&[], json!({}));
    let serve = s.serve().start();
    let admin = serve.admin_addr();
    let get = |headers: &[(&str, &str)]| http(&admin, "GET", "/api/incidents", headers, b"").status;
    assert_eq!(get(&[]), 401);
    assert_eq!(get(&[("Authorization", "Bearer not-the-token")]), 403);
    assert_eq!(get(&[("Authorization", &format!("Bearer {ADMIN}"))]), 200);
    // Not on the public listener.
    assert_eq!(serve.get("/api/incidents").status, 404);

    // The dashboard: a sign-in form only, until signed in.
    let page = http(&admin, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"token\""), "{}", page.body);
    assert!(!page.body.contains("csrf-token"));
    let wrong = http(
        &admin,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"token=nope",
    );
    assert_eq!(wrong.status, 401);
    let form = format!("token={ADMIN}");
    let ok = http(
        &admin,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("Location"), Some("/"));
    let cookie = ok.header("Set-Cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "loopback: no Secure: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let page = http(&admin, "GET", "/", &[("Cookie", &pair)], b"");
    assert_eq!(page.status, 200);
    let csrf = page
        .body
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no csrf meta: {}", page.body))
        .to_string();
    assert_eq!(
        http(&admin, "GET", "/api/incidents", &[("Cookie", &pair)], b"").status,
        200
    );
    // A state-changing request with the cookie needs the CSRF header.
    let post = |headers: &[(&str, &str)]| {
        http(
            &admin,
            "POST",
            "/api/incidents/inc_none/verify",
            headers,
            b"{}",
        )
        .status
    };
    assert_eq!(post(&[("Cookie", &pair)]), 403);
    assert_eq!(post(&[("Cookie", &pair), ("X-CSRF-Token", "forged")]), 403);
    assert_eq!(
        post(&[("Cookie", &pair), ("X-CSRF-Token", &csrf)]),
        404,
        "past the checks"
    );
    // Bearer requests need none.
    assert_eq!(post(&[("Authorization", &format!("Bearer {ADMIN}"))]), 404);
    drop(serve);

    // Without HFLEAKS_ADMIN_TOKEN: 404, whatever is sent.
    let serve = s.serve().env_remove("HFLEAKS_ADMIN_TOKEN").start();
    let admin = serve.admin_addr();
    assert_eq!(http(&admin, "GET", "/", &[], b"").status, 404);
    let auth = format!("Bearer {ADMIN}");
    assert_eq!(
        http(
            &admin,
            "GET",
            "/api/incidents",
            &[("Authorization", &auth)],
            b""
        )
        .status,
        404
    );
    assert_eq!(http(&admin, "GET", "/metrics", &[], b"").status, 200);
}

#[test]
fn a_sigkill_between_the_revoke_request_and_its_record_still_ends_revoked() {
    let live = fake_token(9501);
    let mut s = setup(&[&live], json!({"revoke_delay_ms": 3000}));
    let cmd = s.serve().arg("--verify").arg("--revoke-policy").arg("live");
    let mut serve = cmd.start();
    let payload = s.push(&[("k.py", &format!("K = \"{live}\"\n"))]);
    serve.accept(&payload);
    // The revoke request is in flight (the mock holds it 3 s): kill.
    let in_flight = eventually(LONG, || {
        s.hub
            .requests()
            .iter()
            .any(|r| r["path"] == "/api/credentials/revoke")
    });
    assert!(in_flight, "{}", serve.stderr());
    serve.sigkill();
    assert!(alerts_for(&s.sink, &live).is_empty());
    // The Hub finishes revoking; the server comes back.
    thread::sleep(Duration::from_millis(3500));
    let serve = cmd.start();
    assert!(
        eventually(LONG, || alerts_for(&s.sink, &live).len() == 1),
        "{}",
        serve.stderr()
    );
    assert_eq!(alert_of(&s.sink, &live)["incident"]["state"], "revoked");
    assert_eq!(incident_of(&serve, &live)["state"], "revoked");
}

#[test]
fn a_token_whose_places_are_gone_stays_open_with_a_note() {
    let live = fake_token(9601);
    let mut s = setup(&[&live], json!({}));
    let serve = s.serve().arg("--verify").start();
    let payload = s.push(&[("k.py", &format!("K = \"{live}\"\n"))]);
    let id = alerted_incident(&s, &serve, &payload, &live);
    // The repo is deleted on the Hub: no place can be read again.
    std::fs::remove_dir_all(s.root.path().join("git/models/acme/app.git")).unwrap();
    let (status, answer) = api(
        &serve,
        "POST",
        &format!("/api/incidents/{id}/verify"),
        &json!({}),
    );
    assert_eq!(status, 409, "{answer}");
    let i = incident_of(&serve, &live);
    assert_eq!(i["state"], "open");
    let note = i["note"].as_str().unwrap_or("");
    assert!(
        note.contains("no place could be read") && note.contains("k.py"),
        "{i}"
    );
    assert_eq!(
        api(
            &serve,
            "POST",
            &format!("/api/incidents/{id}/revoke"),
            &json!({})
        )
        .0,
        409
    );
    assert!(s.revoked().is_empty());
}
