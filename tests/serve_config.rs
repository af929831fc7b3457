//! `hfleaks serve` and the Hub places beyond git: a `repo.config` event
//! reads a Space's variables again (they are public), a repo made public
//! is alerted once with the tokens it exposes, and kernel repos are
//! audited like models. Real HTTP against the built binary, the mock Hub
//! and an alert sink on 127.0.0.1; every token synthetic.

mod common;

use std::time::Duration;

use common::alert_sink::AlertSink;
use common::fake_token;
use common::hub_server::{HubServer, RepoBuilder};
use common::serve::*;
use serde_json::{Value, json};

fn config_event(kind: &str, name: &str, private: Option<bool>) -> Value {
    let mut e = other_event("repo.config", "update", kind, name);
    e["updatedConfig"] = match private {
        Some(p) => json!({"private": p}),
        None => json!({}),
    };
    e
}

/// The alerts of one `type`.
fn of_type(sink: &AlertSink, kind: &str) -> Vec<Value> {
    alerts(sink)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| a["type"] == kind)
        .collect()
}

#[test]
fn a_repo_config_event_reads_a_space_variables_again_and_alerts_a_new_token() {
    let root = tempfile::tempdir().unwrap();
    let space = RepoBuilder::new(root.path(), "space", "acme/demo");
    let c1 = space.commit(&[("app.py", "import gradio\n")], "init");
    space.publish();
    let vars = root.path().join("vars.json");
    let plain = json!({"THEME": {"value": "dark", "updatedAt": "2026-01-01T00:00:00.000Z"}});
    std::fs::write(&vars, plain.to_string()).unwrap();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [{"type": "space", "id": "acme/demo",
                          "variables_file": vars.to_str().unwrap()}]}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();
    serve.accept(&push("space", "acme/demo", None, &c1));
    serve.wait_idle(LONG);
    assert!(sink.deliveries().is_empty(), "nothing to alert yet");

    // Someone pastes a token into a variable: the Hub sends repo.config.
    let token = fake_token(8101);
    let mut leaked = plain.clone();
    leaked["HF_TOKEN"] = json!({"value": token, "updatedAt": "2026-02-01T00:00:00.000Z"});
    std::fs::write(&vars, leaked.to_string()).unwrap();
    serve.accept(&config_event("space", "acme/demo", None));
    wait_alerts(&serve, &sink, 1, LONG);
    let found = alerts_for(&sink, &token);
    assert_eq!(found.len(), 1, "{}", serve.stderr());
    let f = &found[0]["finding"];
    assert_eq!(found[0]["type"], "finding.new");
    assert_eq!(f["path"], "variables/HF_TOKEN");
    assert_eq!(
        f["url"],
        format!("{}/spaces/acme/demo/settings", hub.endpoint())
    );
    // The same settings again: nothing new.
    serve.accept(&config_event("space", "acme/demo", None));
    serve.wait_idle(LONG);
    assert_eq!(alerts_for(&sink, &token).len(), 1);
}

#[test]
fn a_repo_made_public_alerts_its_live_tokens_once_even_when_replayed() {
    let root = tempfile::tempdir().unwrap();
    let app = RepoBuilder::new(root.path(), "model", "acme/app");
    let live = fake_token(8201);
    let other = fake_token(8202);
    let dead = fake_token(8203);
    let c1 = app.commit(
        &[
            ("a.py", &format!("t = \"{live}\"\n")),
            ("b.py", &format!("t = \"{other}\"\n")),
            ("c.py", &format!("t = \"{dead}\"\n")),
        ],
        "init",
    );
    app.publish();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [model("acme/app")], "valid_tokens": [live, other]}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .arg("--verify")
        .start();
    serve.accept(&private_push("model", "acme/app", None, &c1));
    wait_alerts(&serve, &sink, 3, LONG);
    serve.wait_idle(LONG);

    let public = config_event("model", "acme/app", Some(false));
    serve.accept(&public);
    assert!(
        eventually(LONG, || of_type(&sink, "repo.public").len() == 1),
        "{}",
        serve.stderr()
    );
    // Replayed from the webhook's activity tab: no second alert.
    serve.accept(&public);
    serve.wait_idle(LONG);
    std::thread::sleep(Duration::from_millis(500));
    let made_public = of_type(&sink, "repo.public");
    assert_eq!(made_public.len(), 1, "{made_public:?}");
    let a = &made_public[0];
    assert_eq!(a["repo"]["id"], "acme/app");
    assert_eq!(a["count"], 2, "the dead token is not counted: {a}");
    let listed: Vec<&str> = a["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["a.py", "b.py"]);
    let text = a["text"].as_str().unwrap();
    assert!(
        text.contains("acme/app") && text.contains("made public"),
        "{text}"
    );
    assert!(!text.contains('\n'));
    assert_no_secret(
        "the repo.public alert",
        a.to_string().as_bytes(),
        &[live, other, dead],
    );
}

#[test]
fn a_kernel_repo_push_is_audited_with_kernel_links() {
    let root = tempfile::tempdir().unwrap();
    let k = RepoBuilder::new(root.path(), "kernel", "acme/flash");
    let c1 = k.commit(&[("build.toml", "[general]\n")], "init");
    let token = fake_token(8301);
    let c2 = k.commit(
        &[("build.sh", &format!("export HF_TOKEN={token}\n"))],
        "build",
    );
    k.publish();
    let hub = HubServer::start(
        root.path(),
        json!({"repos": [{"type": "kernel", "id": "acme/flash"}]}),
    );
    let sink = AlertSink::start();
    let serve = ServeCmd::new(&db_in(root.path()), &hub.endpoint())
        .alert(&sink.url())
        .start();
    serve.accept(&push("kernel", "acme/flash", Some(&c1), &c2));
    wait_alerts(&serve, &sink, 1, LONG);
    let a = &alerts_for(&sink, &token)[0];
    assert_eq!(
        a["finding"]["repo"],
        json!({"type": "kernel", "id": "acme/flash"})
    );
    assert_eq!(
        a["finding"]["url"],
        format!("{}/kernels/acme/flash/blob/{c2}/build.sh", hub.endpoint())
    );
}
