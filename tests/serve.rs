//! `hfleaks serve`, the webhook receiver of continuous monitoring, run as
//! built against the mock Hub (tests/mockhub.py: real git smart HTTP over
//! bare repos, discussions with edit histories) and alert sinks
//! (tests/common/alert_sink.rs), everything on 127.0.0.1. Deliveries are
//! version-3 payloads as the Hub sends them; every token is synthetic
//! (seeded); every process stops when its test ends.

mod common;

use std::collections::{HashMap, HashSet};
use std::thread;
use std::time::Duration;

use common::alert_sink::AlertSink;
use common::estate::{access_token, sha256};
use common::fake_token;
use common::hub_server::{HubServer, RepoBuilder, comment, discussion};
use common::serve::*;
use common::yaml::{of_kind, strs, yaml_docs};
use serde_json::{Value, json};

/// Deadlines: generous, the machine may be slow and busy; every wait polls.
const VERY_LONG: Duration = Duration::from_secs(150);

const ONE_MIB: usize = 1 << 20;

/// How many times the git refs of Hub repo `id` were asked for (one per
/// fetch or clone).
fn ref_reads(hub: &HubServer, id: &str) -> usize {
    hub.requests()
        .iter()
        .filter(|r| {
            let p = r["path"].as_str().unwrap();
            r["method"] == "GET"
                && (p.starts_with(&format!("/{id}/info/refs"))
                    || p.starts_with(&format!("/{id}.git/info/refs")))
        })
        .count()
}

/// Waits until an audit of `id` has asked for its refs (it is in flight).
fn wait_ref_read(hub: &HubServer, id: &str, serve: &Serve) {
    let ok = eventually(LONG, || ref_reads(hub, id) > 0);
    assert!(ok, "{id} was never fetched\nstderr:\n{}", serve.stderr());
}

/// The one alert of `token` (by the sha256 of its finding).
fn one_alert(sink: &AlertSink, token: &str) -> Value {
    let found = alerts_for(sink, token);
    assert_eq!(
        found.len(),
        1,
        "alerts for one token: {}",
        serde_json::to_string_pretty(&found).unwrap()
    );
    found.into_iter().next().unwrap()
}

/// What every alert the sink accepted must be: a JSON POST to the URL as
/// given, `Idempotency-Key` equal to its `id`, a finding with the report's
/// fields and the secret redacted, the event, a one-line `text`, and none
/// of `secrets` anywhere in the body.
fn assert_well_formed(sink: &AlertSink, secrets: &[String]) {
    for d in sink.deliveries() {
        assert_no_secret("an alert body", &d.body, secrets);
    }
    for (d, a) in alerts(sink) {
        assert_eq!(d.method, "POST");
        assert_eq!(d.path, "/alerts", "POSTed to the URL as given");
        assert!(
            d.header("Content-Type")
                .is_some_and(|c| c.contains("application/json")),
            "{:?}",
            d.headers
        );
        let id = a["id"].as_str().unwrap_or_else(|| panic!("no id: {a}"));
        assert!(!id.is_empty());
        assert_eq!(d.header("Idempotency-Key"), Some(id), "{:?}", d.headers);
        let f = &a["finding"];
        assert!(
            f["repo"]["type"].is_string() && f["repo"]["id"].is_string(),
            "{a}"
        );
        assert!(f["path"].is_string(), "{a}");
        let rule = f.get("rule_id").or_else(|| f.get("rule"));
        assert!(rule.is_some_and(|r| r.is_string()), "a rule: {a}");
        let sha = f["secret_sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64);
        assert!(f["url"].is_string(), "{a}");
        assert!(a["event"].is_object(), "{a}");
        let text = a["text"].as_str().unwrap_or_else(|| panic!("no text: {a}"));
        assert!(
            !text.is_empty() && !text.contains('\n'),
            "one line: {text:?}"
        );
        assert!(
            text.contains(f["repo"]["id"].as_str().unwrap()),
            "the text names the repo: {text}"
        );
    }
}

// -- starting ---------------------------------------------------------------

#[test]
fn without_the_webhook_secret_serve_exits_2_naming_the_variable() {
    let root = tempfile::tempdir().unwrap();
    let db = db_in(root.path());
    let (code, _, stderr) = ServeCmd::new(&db, LINKS)
        .env_remove("HFLEAKS_WEBHOOK_SECRET")
        .run_to_end(LONG);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HFLEAKS_WEBHOOK_SECRET"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");

    // An empty secret would let an empty header in: it is no secret.
    let (code, _, stderr) = ServeCmd::new(&db, LINKS)
        .env("HFLEAKS_WEBHOOK_SECRET", "")
        .run_to_end(LONG);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HFLEAKS_WEBHOOK_SECRET"), "{stderr}");
}

#[test]
fn plain_http_alert_urls_are_refused_unless_on_loopback() {
    let root = tempfile::tempdir().unwrap();
    let db = db_in(root.path());
    let (code, _, stderr) = ServeCmd::new(&db, LINKS)
        .alert("http://192.0.2.10/hooks/alerts")
        .run_to_end(LONG);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("192.0.2.10"),
        "the error names the URL: {stderr}"
    );

    let serve = ServeCmd::new(&db, LINKS)
        .alert("https://alerts.example/hooks/alerts")
        .alert("http://127.0.0.1:9/alerts")
        .start();
    assert_eq!(serve.get("/healthz").status, 200);
}

// -- the receiver -------------------------------------------------------------

#[test]
fn webhook_requests_are_checked_secret_then_size_then_json_and_only_accepted_ones_count() {
    let root = tempfile::tempdir().unwrap();
    // A repo with a token: a refused push for it must never be audited.
    let leaky = RepoBuilder::new(root.path(), "model", "acme/leaky");
    let l0 = leaky.commit(&[("README.md", "# leaky\n")], "init");
    let t_refused = fake_token(2001);
    let l1 = leaky.commit(
        &[("key.py", &format!("KEY = \"{t_refused}\"\n"))],
        "add key",
    );
    leaky.publish();
    let barrier = RepoBuilder::new(root.path(), "model", "acme/barrier");
    let b0 = barrier.commit(&[("README.md", "# barrier\n")], "init");
    let t_barrier = fake_token(2002);
    let b1 = barrier.commit(&[("b.py", &format!("B = \"{t_barrier}\"\n"))], "b");
    barrier.publish();
    let hub = hub(
        root.path(),
        vec![model("acme/leaky"), model("acme/barrier")],
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .arg("--workers")
        .arg("1")
        .start();

    assert_eq!(serve.get("/healthz").status, 200);

    let refused = push("model", "acme/leaky", Some(&l0), &l1).to_string();
    let too_big = vec![b'x'; ONE_MIB + 1];
    let mut padded_refused = refused.clone();
    padded_refused.push_str(&" ".repeat(ONE_MIB + 1 - padded_refused.len()));
    let wrong = [
        format!("{SECRET}x"),
        SECRET[..SECRET.len() - 1].to_string(),
        format!("{}X", &SECRET[..SECRET.len() - 1]),
        SECRET.to_uppercase(),
    ];
    // The secret first: missing is 401, wrong is 403, whatever the body.
    for body in [
        refused.as_bytes(),
        too_big.as_slice(),
        b"not json".as_slice(),
    ] {
        let r = serve.post_webhook(None, body);
        assert_eq!(r.status, 401, "{}", r.body);
        for w in &wrong {
            let r = serve.post_webhook(Some(w.as_str()), body);
            assert_eq!(r.status, 403, "{}", r.body);
        }
    }
    // Then the size: over 1 MiB is 413, JSON or not.
    for body in [too_big.as_slice(), padded_refused.as_bytes()] {
        let r = serve.post_webhook(Some(SECRET), body);
        assert_eq!(r.status, 413, "{}", r.body);
    }
    // Then the JSON: not JSON, or no `event` or no `repo`, is 400.
    let repo = repo_object("model", "acme/leaky", false, None);
    for body in [
        "not json".to_string(),
        String::new(),
        "[]".to_string(),
        json!({"repo": repo}).to_string(),
        json!({"event": {"action": "update", "scope": "repo.content"}}).to_string(),
        refused[..refused.len() - 1].to_string(),
    ] {
        let r = serve.post_webhook(Some(SECRET), body.as_bytes());
        assert_eq!(r.status, 400, "{body:?}: {}", r.body);
    }

    // Accepted: scopes that are ignored, and one of exactly 1 MiB.
    let ignored = [
        other_event("repo", "move", "model", "acme/ignored-1"),
        other_event("repo", "move", "dataset", "acme/ignored-2"),
        other_event("repo", "move", "space", "acme/ignored-3"),
        other_event(
            "repo.some-future-scope",
            "create",
            "model",
            "acme/ignored-4",
        ),
    ];
    for p in &ignored {
        serve.accept(p);
    }
    let mut exactly = other_event("repo", "move", "model", "acme/ignored-5").to_string();
    exactly.push_str(&" ".repeat(ONE_MIB - exactly.len()));
    assert_eq!(exactly.len(), ONE_MIB);
    let r = serve.post_webhook(Some(SECRET), exactly.as_bytes());
    assert_eq!(
        r.status, 202,
        "a body of exactly 1 MiB is not over it: {}",
        r.body
    );

    serve.wait_metric("hfleaks_events_processed_total", 5.0, LONG);
    let m = serve.metrics();
    assert_eq!(m.get("hfleaks_events_received_total"), 5.0, "{m:?}");
    assert_eq!(m.get("hfleaks_queue_depth"), 0.0, "{m:?}");
    assert_eq!(m.get("hfleaks_findings_total"), 0.0, "{m:?}");
    let r = serve.get("/metrics");
    assert!(
        r.header("Content-Type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        r.headers
    );

    // One queue, one worker: once the barrier's push is alerted, anything
    // stored before it would have been audited too.
    serve.accept(&push("model", "acme/barrier", Some(&b0), &b1));
    wait_alerts(&serve, &sink, 1, LONG);
    serve.wait_idle(LONG);
    assert!(
        alerts_for(&sink, &t_refused).is_empty(),
        "a refused push was audited"
    );
    one_alert(&sink, &t_barrier);
    let m = serve.metrics();
    assert_eq!(m.get("hfleaks_events_received_total"), 6.0, "{m:?}");
    assert_eq!(m.get("hfleaks_events_processed_total"), 6.0, "{m:?}");
    assert_eq!(m.get("hfleaks_findings_total"), 1.0, "{m:?}");
    assert!(
        !hub.requests()
            .iter()
            .any(|r| r["path"].as_str().unwrap().contains("acme/leaky")),
        "the Hub was asked about a refused delivery's repo"
    );

    // One log line per event, naming its repo.
    let stderr = serve.stderr();
    for n in 1..=5 {
        assert!(stderr.contains(&format!("acme/ignored-{n}")), "{stderr}");
    }
    assert!(stderr.contains("acme/barrier"), "{stderr}");
}

// -- pushes ---------------------------------------------------------------------

#[test]
fn a_push_that_adds_a_token_alerts_once_and_an_edit_that_keeps_it_does_not_alert_again() {
    let root = tempfile::tempdir().unwrap();
    let app = RepoBuilder::new(root.path(), "model", "acme/app");
    let c1 = app.commit(&[("README.md", "# app\n")], "init");
    app.publish();
    let hub = hub(root.path(), vec![model("acme/app")]);
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();

    let t1 = fake_token(2011);
    let c2 = app.commit(
        &[("config.py", &format!("TOKEN = \"{t1}\"\n"))],
        "add config",
    );
    app.publish();
    serve.accept(&push("model", "acme/app", Some(&c1), &c2));
    wait_alerts(&serve, &sink, 1, LONG);
    let a = one_alert(&sink, &t1);
    let f = &a["finding"];
    assert_eq!(f["repo"], json!({"type": "model", "id": "acme/app"}));
    assert_eq!(f["path"], "config.py");
    assert_eq!(f["secret_sha256"], sha256(&t1));
    assert_eq!(
        f["url"],
        format!("{}/acme/app/blob/{c2}/config.py", hub.endpoint())
    );
    assert_ne!(f["secret"], t1.as_str());

    // The file is edited; the token stays: nothing new.
    let c3 = app.commit(
        &[(
            "config.py",
            &format!("# settings\nTOKEN = \"{t1}\"\nDEBUG = False\n"),
        )],
        "edit config",
    );
    app.publish();
    serve.accept(&push("model", "acme/app", Some(&c2), &c3));
    serve.wait_metric("hfleaks_events_processed_total", 2.0, LONG);
    assert_eq!(serve.metric("hfleaks_findings_total"), 1.0);

    // A new token in another file is new; then exactly two alerts exist.
    let t2 = fake_token(2012);
    let c4 = app.commit(&[("other.py", &format!("T2 = '{t2}'\n"))], "other");
    app.publish();
    serve.accept(&push("model", "acme/app", Some(&c3), &c4));
    wait_alerts(&serve, &sink, 2, LONG);
    serve.wait_idle(LONG);
    assert_eq!(one_alert(&sink, &t2)["finding"]["path"], "other.py");
    one_alert(&sink, &t1);
    assert_eq!(sink.accepted().len(), 2, "each alert delivered once");
    assert_eq!(serve.metric("hfleaks_findings_total"), 2.0);
    assert_well_formed(&sink, &[t1, t2]);
}

#[test]
fn the_first_event_for_a_repo_alerts_every_token_in_its_history() {
    let root = tempfile::tempdir().unwrap();
    let old = RepoBuilder::new(root.path(), "model", "acme/old");
    let t_removed = fake_token(2021);
    let t_head = fake_token(2022);
    old.commit(&[("load.py", &format!("key = '{t_removed}'\n"))], "loader");
    old.remove(&["load.py"], "remove the loader");
    let c2 = old.commit(&[("train.py", &format!("T = '{t_head}'\n"))], "train");
    old.publish();
    let hub = hub(root.path(), vec![model("acme/old")]);
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();

    // A clean commit is pushed: the first event for the repo.
    let c3 = old.commit(&[("README.md", "# old\n")], "readme");
    old.publish();
    serve.accept(&push("model", "acme/old", Some(&c2), &c3));
    wait_alerts(&serve, &sink, 2, LONG);
    serve.wait_idle(LONG);
    assert_eq!(one_alert(&sink, &t_removed)["finding"]["path"], "load.py");
    assert_eq!(one_alert(&sink, &t_head)["finding"]["path"], "train.py");
    assert_eq!(distinct_ids(&sink).len(), 2);
    assert_well_formed(&sink, &[t_removed, t_head]);
}

#[test]
fn events_for_a_repo_already_queued_are_coalesced_into_one_audit() {
    let root = tempfile::tempdir().unwrap();
    let slow = RepoBuilder::new(root.path(), "model", "acme/slow");
    let s0 = slow.commit(&[("README.md", "# slow\n")], "init");
    let s1 = slow.commit(&[("a.txt", "a\n")], "a");
    slow.publish();
    let busy = RepoBuilder::new(root.path(), "model", "acme/busy");
    let mut commits = vec![busy.commit(&[("README.md", "# busy\n")], "init")];
    let t = fake_token(2031);
    for i in 1..=10 {
        let content = if i == 5 {
            format!("N = {i}\nTOKEN = '{t}'\n")
        } else {
            format!("N = {i}\n")
        };
        commits.push(busy.commit(&[(&format!("notes{i}.py"), &content)], &format!("c{i}")));
    }
    busy.publish();
    // The worker is held on acme/slow (429s with Retry-After while the
    // flag file exists) until acme/busy's ten pushes are all queued.
    let flag = root.path().join("hold-slow");
    std::fs::write(&flag, "").unwrap();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [model("acme/slow"), model("acme/busy")],
               "faults": {"git_hold": {"acme/slow": flag}}}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .arg("--workers")
        .arg("1")
        .start();
    serve.accept(&push("model", "acme/slow", Some(&s0), &s1));
    wait_ref_read(&hub, "acme/slow", &serve);
    for w in commits.windows(2) {
        serve.accept(&push("model", "acme/busy", Some(&w[0]), &w[1]));
    }
    assert_eq!(ref_reads(&hub, "acme/busy"), 0, "the worker was held");
    std::fs::remove_file(&flag).unwrap();
    serve.wait_metric("hfleaks_events_processed_total", 11.0, VERY_LONG);
    wait_alerts(&serve, &sink, 1, LONG);
    assert_eq!(one_alert(&sink, &t)["finding"]["path"], "notes5.py");
    assert!(
        ref_reads(&hub, "acme/slow") >= 2,
        "the 429s, then the fetch"
    );
    assert_eq!(
        ref_reads(&hub, "acme/busy"),
        1,
        "ten queued pushes, one audit"
    );
}

// -- new repos and discussions --------------------------------------------------

#[test]
fn a_created_repo_alerts_every_token_in_its_history_and_its_discussions() {
    let root = tempfile::tempdir().unwrap();
    let demo = RepoBuilder::new(root.path(), "space", "acme/demo");
    let t_old = fake_token(2041);
    let t_app = fake_token(2042);
    let t_comment = fake_token(2043);
    let t_edited = fake_token(2044);
    demo.commit(&[("old.py", &format!("K = '{t_old}'\n"))], "old");
    demo.remove(&["old.py"], "drop old");
    let head = demo.commit(
        &[("app.py", &format!("import gradio\nHF = \"{t_app}\"\n"))],
        "app",
    );
    demo.publish();
    let talk = vec![
        discussion(
            1,
            "It fails",
            false,
            vec![comment("c1", &format!("I used {t_comment}"), &[])],
        ),
        discussion(
            2,
            "Edited",
            false,
            vec![comment(
                "c2",
                "token removed, sorry",
                &[&format!("my token {t_edited}")],
            )],
        ),
    ];
    let hub = hub(
        root.path(),
        vec![json!({"type": "space", "id": "acme/demo", "discussions": talk})],
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();

    serve.accept(&repo_event("create", "space", "acme/demo", Some(&head)));
    wait_alerts(&serve, &sink, 4, LONG);
    serve.wait_idle(LONG);
    assert_eq!(distinct_ids(&sink).len(), 4);
    let app = one_alert(&sink, &t_app);
    assert_eq!(
        app["finding"]["repo"],
        json!({"type": "space", "id": "acme/demo"})
    );
    assert_eq!(app["finding"]["path"], "app.py");
    assert_eq!(
        app["finding"]["url"],
        format!("{}/spaces/acme/demo/blob/{head}/app.py", hub.endpoint())
    );
    assert_eq!(one_alert(&sink, &t_old)["finding"]["path"], "old.py");
    let c = one_alert(&sink, &t_comment);
    assert_eq!(c["finding"]["path"], "discussions/1");
    assert_eq!(
        c["finding"]["url"],
        format!("{}/spaces/acme/demo/discussions/1#c1", hub.endpoint())
    );
    let e = one_alert(&sink, &t_edited);
    assert_eq!(e["finding"]["discussion"]["num"], 2);
    assert_eq!(e["finding"]["discussion"]["revision"], "0");
    assert_well_formed(&sink, &[t_old, t_app, t_comment, t_edited]);
}

#[test]
fn a_comment_event_scans_that_discussion_from_the_hub_in_every_revision() {
    let root = tempfile::tempdir().unwrap();
    let data = RepoBuilder::new(root.path(), "dataset", "acme/talk");
    data.commit(&[("data.csv", "a,b\n1,2\n")], "data");
    data.publish();
    let t_latest = fake_token(2051);
    let t_earlier = fake_token(2052);
    let t_next = fake_token(2053);
    // Only in the payload: serve reads the discussion from the Hub.
    let t_payload_only = fake_token(2054);
    let talk = vec![
        discussion(
            3,
            "Loading fails",
            false,
            vec![
                comment("c6", "how do I load it?", &[]),
                comment(
                    "c7",
                    &format!("try with {t_latest}"),
                    &[&format!("first try {t_earlier}")],
                ),
            ],
        ),
        discussion(4, "Thanks", false, vec![comment("c8", "thanks!", &[])]),
        discussion(
            5,
            "Another",
            false,
            vec![comment("c9", &format!("mine is {t_next}"), &[])],
        ),
    ];
    let hub = hub(
        root.path(),
        vec![json!({"type": "dataset", "id": "acme/talk", "discussions": talk})],
    );
    let sink = AlertSink::start();
    // The payloads' links point here: nothing may follow them.
    let trap = AlertSink::start();
    let db = db_in(root.path());
    let serve = ServeCmd::new(&db, &hub.endpoint())
        .alert(&sink.url())
        .start();

    let content = format!("try with {t_latest} and {t_payload_only}");
    let created = discussion_event("create", "dataset", "acme/talk", 3, Some(("c7", &content)));
    serve.accept(&with_links(&created, &trap.base()));
    wait_alerts(&serve, &sink, 2, LONG);
    let latest = one_alert(&sink, &t_latest);
    let f = &latest["finding"];
    assert_eq!(f["repo"], json!({"type": "dataset", "id": "acme/talk"}));
    assert_eq!(f["path"], "discussions/3");
    assert_eq!(f["discussion"]["num"], 3);
    assert_eq!(f["discussion"]["event_id"], "c7");
    assert_eq!(f["discussion"]["revision"], "latest");
    assert_eq!(
        f["url"],
        format!("{}/datasets/acme/talk/discussions/3#c7", hub.endpoint())
    );
    assert_eq!(
        one_alert(&sink, &t_earlier)["finding"]["discussion"]["revision"],
        "0"
    );

    // The same comment again (an edit, say): already alerted.
    let updated = discussion_event("update", "dataset", "acme/talk", 3, Some(("c7", &content)));
    serve.accept(&with_links(&updated, &trap.base()));
    // A new discussion: new.
    let opened = discussion_event("create", "dataset", "acme/talk", 5, None);
    serve.accept(&with_links(&opened, &trap.base()));
    wait_alerts(&serve, &sink, 3, LONG);
    serve.wait_idle(LONG);
    assert_eq!(
        one_alert(&sink, &t_next)["finding"]["path"],
        "discussions/5"
    );
    assert_eq!(distinct_ids(&sink).len(), 3);
    assert!(alerts_for(&sink, &t_payload_only).is_empty());
    assert_eq!(serve.metric("hfleaks_findings_total"), 3.0);
    assert!(
        trap.deliveries().is_empty(),
        "a payload URL was fetched: {:?}",
        trap.deliveries()
    );
    let secrets = [t_latest, t_earlier, t_next, t_payload_only];
    assert_well_formed(&sink, &secrets);
    for (path, bytes) in db_files(&db) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
}

#[test]
fn a_deleted_repo_is_forgotten_and_audited_afresh_when_created_again() {
    let root = tempfile::tempdir().unwrap();
    let first = RepoBuilder::new(root.path(), "model", "acme/phoenix");
    let c0 = first.commit(&[("README.md", "# phoenix\n")], "init");
    let t1 = fake_token(2061);
    let c1 = first.commit(&[("a.py", &format!("A = '{t1}'\n"))], "a");
    first.publish();
    let hub = hub(root.path(), vec![model("acme/phoenix")]);
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();
    serve.accept(&push("model", "acme/phoenix", Some(&c0), &c1));
    wait_alerts(&serve, &sink, 1, LONG);
    one_alert(&sink, &t1);

    // Deleted on the Hub (it is gone when the event comes), then the event.
    std::fs::remove_dir_all(root.path().join("git/models/acme/phoenix.git")).unwrap();
    serve.accept(&repo_event("delete", "model", "acme/phoenix", None));
    serve.wait_metric("hfleaks_events_processed_total", 2.0, LONG);
    assert_eq!(serve.metric("hfleaks_queue_depth"), 0.0);

    // Created again under the same name, with another history.
    let second = RepoBuilder::new(root.path(), "model", "acme/phoenix");
    let t2 = fake_token(2062);
    second.commit(&[("README.md", "# phoenix, again\n")], "init");
    let head = second.commit(&[("b.py", &format!("B = '{t2}'\n"))], "b");
    second.publish();
    serve.accept(&repo_event("create", "model", "acme/phoenix", Some(&head)));
    wait_alerts(&serve, &sink, 2, LONG);
    serve.wait_idle(LONG);
    let b = one_alert(&sink, &t2);
    assert_eq!(b["finding"]["path"], "b.py");
    assert_eq!(
        b["finding"]["url"],
        format!("{}/acme/phoenix/blob/{head}/b.py", hub.endpoint())
    );
    assert_well_formed(&sink, &[t1, t2]);
}

// -- alerts -----------------------------------------------------------------------

#[test]
fn an_alert_url_that_fails_its_first_3_requests_gets_the_alert_once_and_others_do_not_wait() {
    let root = tempfile::tempdir().unwrap();
    let r = RepoBuilder::new(root.path(), "model", "acme/flaky");
    let c0 = r.commit(&[("README.md", "# flaky\n")], "init");
    let t = fake_token(2071);
    let c1 = r.commit(&[("k.py", &format!("K = '{t}'\n"))], "k");
    r.publish();
    let hub = hub(root.path(), vec![model("acme/flaky")]);
    let down = AlertSink::failing_first(3);
    let up = AlertSink::start();
    // The real retry schedule, not the tests' shortened Hub backoff.
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .env_remove("HFLEAKS_BACKOFF_BASE_MS")
        .alert(&down.url())
        .alert(&up.url())
        .start();
    serve.accept(&push("model", "acme/flaky", Some(&c0), &c1));

    wait_alerts(&serve, &up, 1, LONG);
    let ok = eventually(VERY_LONG, || !down.accepted().is_empty());
    assert!(
        ok,
        "never delivered: {:?}\n{}",
        down.deliveries(),
        serve.stderr()
    );
    serve.wait_idle(LONG);

    let tries = down.deliveries();
    assert_eq!(
        tries.iter().map(|d| d.status).collect::<Vec<_>>(),
        [500, 500, 500, 200],
        "three failures, then one delivery"
    );
    let keys: HashSet<_> = tries.iter().map(|d| d.header("Idempotency-Key")).collect();
    assert_eq!(keys.len(), 1, "every try carries the same key: {keys:?}");
    let recovered = tries[3].at.duration_since(tries[2].at);
    assert!(
        recovered <= Duration::from_secs(65),
        "delivered {recovered:?} after the endpoint recovered"
    );
    // The other URL has a record of its own: one delivery, not held up.
    assert_eq!(up.deliveries().len(), 1);
    assert!(up.deliveries()[0].at <= tries[3].at);
    one_alert(&up, &t);
    one_alert(&down, &t);
    assert_well_formed(&up, std::slice::from_ref(&t));
    assert_well_formed(&down, &[t]);
}

#[test]
fn with_verify_each_alert_says_whether_its_token_is_live() {
    let root = tempfile::tempdir().unwrap();
    let r = RepoBuilder::new(root.path(), "model", "acme/keys");
    let c0 = r.commit(&[("README.md", "# keys\n")], "init");
    let live = fake_token(2081);
    let dead = fake_token(2082);
    let c1 = r.commit(
        &[
            ("live.py", &format!("L = '{live}'\n")),
            ("dead.py", &format!("D = '{dead}'\n")),
        ],
        "keys",
    );
    r.publish();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [model("acme/keys")], "valid_tokens": [live]}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .arg("--verify")
        .start();
    serve.accept(&push("model", "acme/keys", Some(&c0), &c1));
    wait_alerts(&serve, &sink, 2, LONG);
    assert_eq!(
        one_alert(&sink, &live)["finding"]["verification"]["status"],
        "valid"
    );
    assert_eq!(
        one_alert(&sink, &dead)["finding"]["verification"]["status"],
        "invalid"
    );
    assert_well_formed(&sink, &[live, dead]);
}

// -- what is never written --------------------------------------------------------

#[test]
fn no_raw_token_nor_hf_token_reaches_stdout_stderr_the_db_or_an_alert() {
    let root = tempfile::tempdir().unwrap();
    let access = access_token();
    let vault = RepoBuilder::new(root.path(), "model", "acme/vault");
    let v0 = vault.commit(&[("README.md", "# vault\n")], "init");
    let t_private = fake_token(2091);
    let v1 = vault.commit(&[("train.py", &format!("tok = '{t_private}'\n"))], "train");
    vault.publish();
    let data = RepoBuilder::new(root.path(), "dataset", "acme/forum");
    data.commit(&[("data.csv", "a\n")], "data");
    data.publish();
    let t_comment = fake_token(2092);
    let t_earlier = fake_token(2093);
    let t_payload = fake_token(2094);
    let talk = vec![discussion(
        1,
        "Help",
        false,
        vec![comment(
            "c1",
            &format!("here: {t_comment}"),
            &[&format!("oops {t_earlier}")],
        )],
    )];
    let hub = hub(
        root.path(),
        vec![
            json!({"type": "model", "id": "acme/vault", "private": true}),
            json!({"type": "dataset", "id": "acme/forum", "discussions": talk}),
        ],
    );
    let sink = AlertSink::start();
    let db = db_in(root.path());
    let mut serve = ServeCmd::new(&db, &hub.endpoint())
        .alert(&sink.url())
        .env("HF_TOKEN", &access)
        .start();
    serve.accept(&private_push("model", "acme/vault", Some(&v0), &v1));
    let content = format!("here: {t_comment} (and {t_payload})");
    serve.accept(&discussion_event(
        "create",
        "dataset",
        "acme/forum",
        1,
        Some(("c1", &content)),
    ));
    wait_alerts(&serve, &sink, 3, LONG);
    serve.wait_idle(LONG);
    assert_eq!(
        one_alert(&sink, &t_private)["finding"]["repo"]["id"],
        "acme/vault"
    );
    one_alert(&sink, &t_comment);
    one_alert(&sink, &t_earlier);

    // The private repo was read with HF_TOKEN, as the password of Basic.
    let git: Vec<Value> = hub
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/acme/vault"))
        .collect();
    assert!(!git.is_empty());
    use base64::Engine as _;
    assert!(git.iter().any(|r| {
        r["authorization"]
            .as_str()
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|pair| String::from_utf8_lossy(&pair).ends_with(&format!(":{access}")))
    }));

    let secrets = [t_private, t_comment, t_earlier, t_payload, access];
    assert_well_formed(&sink, &secrets);
    for (path, bytes) in db_files(&db) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
    serve.sigterm();
    let status = serve.wait_exit(LONG).expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", serve.stderr());
    assert_no_secret("stdout and stderr", &serve.output_bytes(), &secrets);
    for (path, bytes) in db_files(&db) {
        assert_no_secret(&path.display().to_string(), &bytes, &secrets);
    }
}

// -- crashes, shutdown, load ------------------------------------------------------

#[test]
fn sigkill_after_20_accepted_pushes_then_restarts_alert_each_token_exactly_once() {
    let root = tempfile::tempdir().unwrap();
    let mut repos = Vec::new();
    let mut pushes = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..21u64 {
        let name = format!("acme/k{i:02}");
        let r = RepoBuilder::new(root.path(), "model", &name);
        let c0 = r.commit(&[("README.md", "# k\n")], "init");
        let t = fake_token(2100 + i);
        let c1 = r.commit(
            &[(&format!("keys/k{i}.py"), &format!("TOKEN = \"{t}\"\n"))],
            "add key",
        );
        r.publish();
        repos.push(model(&name));
        pushes.push(push("model", &name, Some(&c0), &c1));
        tokens.push(t);
    }
    // The 21st is the barrier, sent once the 20 are done.
    let barrier = pushes.pop().unwrap();
    let hub = hub(root.path(), repos);
    let sink = AlertSink::start();
    let db = db_in(root.path());
    let cmd = ServeCmd::new(&db, &hub.endpoint())
        .alert(&sink.url())
        .arg("--workers")
        .arg("2");

    let mut first = cmd.start();
    for p in &pushes {
        first.accept(p);
    }
    first.sigkill();

    // Killed again while it catches up: as soon as one more alert is in.
    let before = distinct_ids(&sink).len();
    let mut second = cmd.start();
    eventually(Duration::from_secs(5), || {
        distinct_ids(&sink).len() > before
    });
    second.sigkill();

    let third = cmd.start();
    let ok = eventually(VERY_LONG, || ids_by_secret(&sink).len() >= 20);
    assert!(
        ok,
        "{} of 20 tokens alerted\nstderr:\n{}",
        ids_by_secret(&sink).len(),
        third.stderr()
    );
    third.wait_idle(VERY_LONG);
    third.accept(&barrier);
    let ok = eventually(LONG, || !alerts_for(&sink, &tokens[20]).is_empty());
    assert!(ok, "the barrier was not alerted\n{}", third.stderr());
    third.wait_idle(LONG);

    let by_secret = ids_by_secret(&sink);
    assert_eq!(by_secret.len(), 21, "every token alerted");
    for t in &tokens {
        let ids = &by_secret[&sha256(t)];
        assert_eq!(ids.len(), 1, "one token alerted under two ids: {ids:?}");
    }
    let mut secret_of: HashMap<String, String> = HashMap::new();
    for (_, a) in alerts(&sink) {
        let id = a["id"].as_str().unwrap().to_string();
        let sha = a["finding"]["secret_sha256"].as_str().unwrap().to_string();
        let was = secret_of.insert(id.clone(), sha.clone());
        assert!(was.is_none_or(|w| w == sha), "id {id} names two findings");
    }
    assert_eq!(distinct_ids(&sink).len(), 21);
    assert_well_formed(&sink, &tokens);
}

#[test]
fn sigterm_stops_taking_requests_exits_0_and_loses_no_accepted_event() {
    let root = tempfile::tempdir().unwrap();
    let r = RepoBuilder::new(root.path(), "model", "acme/term");
    let c0 = r.commit(&[("README.md", "# term\n")], "init");
    let t = fake_token(2131);
    let c1 = r.commit(&[("t.py", &format!("T = '{t}'\n"))], "t");
    r.publish();
    // The audit is held in flight (429s while the flag file exists) when
    // SIGTERM comes.
    let flag = root.path().join("hold-term");
    std::fs::write(&flag, "").unwrap();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [model("acme/term")], "faults": {"git_hold": {"acme/term": flag}}}),
    );
    let sink = AlertSink::start();
    let db = db_in(root.path());
    let cmd = ServeCmd::new(&db, &hub.endpoint()).alert(&sink.url());

    let mut serve = cmd.start();
    serve.accept(&push("model", "acme/term", Some(&c0), &c1));
    wait_ref_read(&hub, "acme/term", &serve);
    serve.sigterm();
    // No longer answered (refused, or left unanswered).
    let short = Duration::from_secs(2);
    let stopped = eventually(LONG, || {
        http_timeout(&serve.addr, "GET", "/healthz", &[], b"", short).status != 200
    });
    assert!(stopped, "still answering after SIGTERM\n{}", serve.stderr());
    let late = other_event("repo.config", "update", "model", "acme/term");
    let answer = http_timeout(
        &serve.addr,
        "POST",
        "/webhook",
        &[("X-Webhook-Secret", SECRET)],
        late.to_string().as_bytes(),
        short,
    );
    assert_ne!(answer.status, 202, "a delivery was accepted after SIGTERM");
    std::fs::remove_file(&flag).unwrap();
    let status = serve.wait_exit(LONG).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", serve.stderr());

    // The push accepted before is audited (finished then, or now) and
    // alerted once.
    let mut again = cmd.start();
    let ok = eventually(LONG, || !alerts_for(&sink, &t).is_empty());
    assert!(ok, "the accepted push was lost\n{}", again.stderr());
    again.wait_idle(LONG);
    // Idle, it exits 0 too.
    again.sigterm();
    let status = again.wait_exit(LONG).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", again.stderr());
    one_alert(&sink, &t);
    assert_eq!(distinct_ids(&sink).len(), 1);
}

#[test]
fn a_burst_of_300_deliveries_from_8_clients_is_all_accepted_and_processed() {
    let root = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    let mut shas = Vec::new();
    for i in 0..3 {
        let name = format!("acme/burst-{i}");
        let r = RepoBuilder::new(root.path(), "model", &name);
        let c0 = r.commit(&[("README.md", "# burst\n")], "init");
        let c1 = r.commit(&[("n.txt", &format!("{i}\n"))], "n");
        r.publish();
        names.push(name);
        shas.push((c0, c1));
    }
    let hub = hub(root.path(), names.iter().map(|n| model(n)).collect());
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();
    let payloads: Vec<String> = (0..300)
        .map(|i| {
            let (c0, c1) = &shas[i % 3];
            push("model", &names[i % 3], Some(c0), c1).to_string()
        })
        .collect();

    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|k| {
                let (payloads, addr) = (&payloads, &serve.addr);
                s.spawn(move || {
                    payloads
                        .iter()
                        .skip(k)
                        .step_by(8)
                        .map(|p| {
                            http(
                                addr,
                                "POST",
                                "/webhook",
                                &[
                                    ("Content-Type", "application/json"),
                                    ("X-Webhook-Secret", SECRET),
                                ],
                                p.as_bytes(),
                            )
                            .status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.len(), 300);
    let refused: Vec<&u16> = statuses.iter().filter(|s| **s != 202).collect();
    assert!(
        refused.is_empty(),
        "not 202: {refused:?}\n{}",
        serve.stderr()
    );

    serve.wait_metric("hfleaks_events_processed_total", 300.0, VERY_LONG);
    serve.wait_metric("hfleaks_queue_depth", 0.0, LONG);
    let m = serve.metrics();
    assert_eq!(m.get("hfleaks_events_received_total"), 300.0, "{m:?}");
    assert_eq!(m.get("hfleaks_findings_total"), 0.0, "{m:?}");
    assert!(sink.deliveries().is_empty());
}

// -- the Kubernetes recipe ----------------------------------------------------------

#[test]
fn the_kubernetes_recipe_is_one_recreated_pod_on_a_volume_and_runs_as_written() {
    let docs = yaml_docs("deploy/kubernetes/serve.yaml");
    let deployment = of_kind(&docs, "Deployment");
    assert_eq!(deployment.len(), 1);
    let spec = &deployment[0]["spec"];
    assert_eq!(
        spec["replicas"].as_i64(),
        Some(1),
        "one process owns the db"
    );
    assert_eq!(spec["strategy"]["type"].as_str(), Some("Recreate"));
    let pod = &spec["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
    assert!(grace >= 120, "time to finish an audit: {grace}");
    let c = &pod["containers"][0];
    assert_eq!(strs(&c["command"]), ["hfleaks"]);
    let args = strs(&c["args"]);
    assert_eq!(args[0], "serve");
    let value_of = |flag: &str| {
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1].clone()
    };
    let listen = value_of("--listen");
    let port: i64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let ports = c["ports"].as_vec().unwrap();
    assert_eq!(ports[0]["containerPort"].as_i64(), Some(port));
    let port_name = ports[0]["name"].as_str().unwrap();
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some("/healthz"), "{probe}");
        assert!(
            get["port"].as_str() == Some(port_name) || get["port"].as_i64() == Some(port),
            "{probe}"
        );
    }
    // The db lives on the claimed volume.
    let db = value_of("--db");
    let mount = c["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| db.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())))
        .expect("the db is on a mounted volume");
    let volume = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let claim = volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap();
    let pvc = of_kind(&docs, "PersistentVolumeClaim");
    assert!(
        pvc.iter()
            .any(|p| p["metadata"]["name"].as_str() == Some(claim))
    );
    // The Service reaches the container's port.
    let service = of_kind(&docs, "Service");
    let target = &service[0]["spec"]["ports"][0]["targetPort"];
    assert!(target.as_str() == Some(port_name) || target.as_i64() == Some(port));
    // The Secret holds placeholders, nothing shaped like a token.
    let secret = of_kind(&docs, "Secret");
    let secret_name = secret[0]["metadata"]["name"].as_str().unwrap();
    let data = secret[0]["stringData"].as_hash().unwrap();
    for key in ["HFLEAKS_WEBHOOK_SECRET", "HF_TOKEN"] {
        let v = data
            .get(&yaml_rust2::Yaml::String(key.into()))
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("the Secret has no {key}"));
        assert!(
            v.contains("change-me") && !v.starts_with("hf_"),
            "{key}: {v}"
        );
    }
    let env = c["env"].as_vec().unwrap();
    let from_secret: Vec<&str> = env
        .iter()
        .filter(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str() == Some(secret_name))
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for key in ["HFLEAKS_WEBHOOK_SECRET", "HF_TOKEN", "HFLEAKS_ALERT_URLS"] {
        assert!(from_secret.contains(&key), "{key} comes from the Secret");
    }
    // Alert URLs are secrets: never in the arguments, which `ps` shows.
    assert!(!args.iter().any(|a| a == "--alert"), "{args:?}");
    // /metrics is on the operator listener, which the Service does not expose.
    let admin = value_of("--admin-listen");
    let admin_port: i64 = admin.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(admin_port, port);

    // Run as written: the container's args with the Secret's variables set,
    // the volume a temporary directory, the listen address on loopback and
    // the mock Hub as the endpoint.
    let root = tempfile::tempdir().unwrap();
    let r = RepoBuilder::new(root.path(), "model", "acme/k8s");
    let c0 = r.commit(&[("README.md", "# k8s\n")], "init");
    let t = fake_token(2141);
    let c1 = r.commit(&[("k.py", &format!("K = '{t}'\n"))], "k");
    r.publish();
    let hub = hub(root.path(), vec![model("acme/k8s")]);
    let sink = AlertSink::start();
    let volume_dir = root.path().join("volume");
    std::fs::create_dir(&volume_dir).unwrap();
    let mount_path = mount["mountPath"].as_str().unwrap();
    let vars: Vec<(String, String)> = env
        .iter()
        .filter_map(|e| {
            let name = e["name"].as_str()?.to_string();
            let value = match name.as_str() {
                "HFLEAKS_WEBHOOK_SECRET" => SECRET.to_string(),
                "HF_TOKEN" => access_token(),
                "HFLEAKS_ALERT_URLS" => sink.url(),
                "TMPDIR" => root.path().join("tmp").display().to_string(),
                _ => e["value"].as_str()?.to_string(),
            };
            Some((name, value))
        })
        .collect();
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    let mut run_args: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let mut a = args[i].clone();
        for (k, v) in &vars {
            a = a.replace(&format!("$({k})"), v);
        }
        if a == "--listen" || a == "--admin-listen" {
            run_args.extend([a, "127.0.0.1:0".into()]);
            i += 2;
            continue;
        }
        run_args.push(a.replace(mount_path, volume_dir.to_str().unwrap()));
        i += 1;
    }
    run_args.extend(["--hf-endpoint".into(), hub.endpoint()]);
    let arg_refs: Vec<&str> = run_args.iter().map(String::as_str).collect();
    let mut cmd = ServeCmd::with_args(&arg_refs).env("HFLEAKS_BACKOFF_BASE_MS", "10");
    for (k, v) in &vars {
        cmd = cmd.env(k, v);
    }
    let mut serve = cmd.start();
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        assert_eq!(serve.get(path).status, 200, "{probe}");
    }
    let metrics = http(&serve.admin_addr(), "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    serve.accept(&push("model", "acme/k8s", Some(&c0), &c1));
    wait_alerts(&serve, &sink, 1, LONG);
    one_alert(&sink, &t);
    assert!(
        std::fs::read_dir(&volume_dir).unwrap().next().is_some(),
        "the db is on the volume"
    );
    serve.sigterm();
    let status = serve
        .wait_exit(Duration::from_secs(grace as u64))
        .expect("exits within the grace period");
    assert_eq!(status.code(), Some(0), "{}", serve.stderr());
}
