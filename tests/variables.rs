//! `hfleaks hub` and the places the Hub keeps besides a repo's files: a
//! Space's variables (public on its settings page, copied into every
//! duplicate) and kernel repos (`kernels/NS/NAME`), against the mock Hub
//! of tests/mockhub.py. Every token is synthetic (seeded).

mod common;

use std::path::Path;

use common::estate::{hub_json, of, one};
use common::hub_server::{HubServer, RepoBuilder};
use common::{fake_org_token, fake_token};
use serde_json::{Value, json};

/// The token that sees the private Spaces of these tests.
fn access() -> String {
    fake_token(2699)
}

/// A Space `id` with nothing in its files, and the repos config entry
/// `extra` is merged into.
fn space(root: &Path, id: &str, extra: Value) -> Value {
    let s = RepoBuilder::new(root, "space", id);
    s.commit(&[("app.py", "import gradio\n")], "app");
    s.publish();
    let mut entry = json!({"type": "space", "id": id});
    for (k, v) in extra.as_object().unwrap() {
        entry[k] = v.clone();
    }
    entry
}

fn var(value: &str, updated: &str) -> Value {
    json!({"value": value, "description": "", "updatedAt": updated})
}

fn start(root: &Path, repos: Vec<Value>, more: Value) -> HubServer {
    let mut config = json!({"token": access(), "repos": repos});
    for (k, v) in more.as_object().unwrap() {
        config[k] = v.clone();
    }
    HubServer::start(root, config)
}

fn variable_requests(server: &HubServer, id: &str) -> Vec<Value> {
    let path = format!("/api/spaces/{id}/variables");
    server
        .requests()
        .into_iter()
        .filter(|r| r["path"] == path.as_str())
        .collect()
}

#[test]
fn tokens_in_space_variables_are_found_at_their_key_with_the_settings_link() {
    let root = tempfile::tempdir().unwrap();
    let (user, org) = (fake_token(2601), fake_org_token(2602));
    let demo = space(
        root.path(),
        "acme/demo",
        json!({"variables": {
            "HF_TOKEN": var(&user, "2026-04-01T00:00:00.000Z"),
            "MODEL_ID": var("acme/m1", "2026-04-01T00:00:00.000Z"),
            "PLACEHOLDER": var("hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "2026-04-01T00:00:00.000Z"),
        }}),
    );
    let chat = space(
        root.path(),
        "acme/chat",
        json!({"variables": {
            "ORG": {"value": "see the description", "description": format!("org key {org}"),
                    "updatedAt": "2026-04-02T00:00:00.000Z"},
            "THEME": var("dark", "2026-04-02T00:00:00.000Z"),
        }}),
    );
    let server = start(root.path(), vec![demo, chat], json!({}));
    let (code, v, _) = hub_json(&server, &["acme", "--no-discussions"], &[]);
    assert_eq!(code, 1);
    let f = one(&v, &user);
    assert_eq!(f["path"], "variables/HF_TOKEN");
    assert_eq!(f["repo"], json!({"type": "space", "id": "acme/demo"}));
    assert_eq!(
        f["url"],
        format!("{}/spaces/acme/demo/settings", server.endpoint())
    );
    assert!(f["commit"].is_null());
    let g = one(&v, &org);
    assert_eq!(g["rule_id"], "hf-org-api-token");
    assert_eq!(g["path"], "variables/ORG");
    assert_eq!(
        g["url"],
        format!("{}/spaces/acme/chat/settings", server.endpoint())
    );
    // Placeholders and plain configuration values are not tokens.
    assert_eq!(v["findings"].as_array().unwrap().len(), 2, "{v:#}");
    // The fix: a Space secret, revoked, and the duplicates checked.
    let steps = &v["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["secret_sha256"] == f["secret_sha256"])
        .unwrap()["steps"];
    let actions: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"revoke"), "{actions:?}");
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "move-to-secret")
        .unwrap();
    assert!(step["text"].as_str().unwrap().contains("duplicate"));
    assert!(step["text"].as_str().unwrap().contains("Space secret"));
}

#[test]
fn a_private_space_variables_are_read_with_hf_token() {
    let root = tempfile::tempdir().unwrap();
    let t = fake_token(2611);
    let vault = space(
        root.path(),
        "acme/vault",
        json!({"private": true, "variables": {"TOKEN": var(&t, "2026-04-01T00:00:00.000Z")}}),
    );
    let server = start(root.path(), vec![vault], json!({}));
    let (_, without, _) = hub_json(
        &server,
        &["spaces/acme/vault", "--no-discussions"],
        &[("HF_TOKEN", "")],
    );
    assert!(of(&without, &t).is_empty());
    let (code, with, stderr) = hub_json(
        &server,
        &["spaces/acme/vault", "--no-discussions"],
        &[("HF_TOKEN", &access())],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(one(&with, &t)["path"], "variables/TOKEN");
    let asked = variable_requests(&server, "acme/vault");
    assert!(
        asked
            .iter()
            .any(|r| r["authorization"] == format!("Bearer {}", access()).as_str()),
        "{asked:?}"
    );
    assert!(!stderr.contains(&access()));
}

#[test]
fn a_403_on_variables_is_one_note_and_not_an_error() {
    let root = tempfile::tempdir().unwrap();
    let t = fake_token(2621);
    let locked = space(
        root.path(),
        "acme/locked",
        json!({"variables": {"TOKEN": var(&t, "2026-04-01T00:00:00.000Z")}}),
    );
    let server = start(
        root.path(),
        vec![locked],
        json!({"faults": {"variables_403": ["acme/locked"]}}),
    );
    let (code, v, stderr) = hub_json(&server, &["spaces/acme/locked"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v:#}");
    assert!(of(&v, &t).is_empty());
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("variables")).collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].starts_with("hfleaks: note: spaces/acme/locked: variables not read"));
    assert!(notes[0].contains("403"), "{}", notes[0]);
}

#[test]
fn excluding_variables_reads_none() {
    let root = tempfile::tempdir().unwrap();
    let t = fake_token(2631);
    let demo = space(
        root.path(),
        "acme/demo",
        json!({"variables": {"TOKEN": var(&t, "2026-04-01T00:00:00.000Z")}}),
    );
    let server = start(root.path(), vec![demo], json!({}));
    let (code, v, _) = hub_json(&server, &["acme", "--exclude", "variables"], &[]);
    assert_eq!(code, 0);
    assert!(of(&v, &t).is_empty());
    assert!(variable_requests(&server, "acme/demo").is_empty());
    // `--include` without `variables` reads none either.
    let (_, v, _) = hub_json(&server, &["acme", "--include", "spaces"], &[]);
    assert!(of(&v, &t).is_empty());
    assert!(variable_requests(&server, "acme/demo").is_empty());
}

/// With `--state`, a variable whose `updatedAt` is the recorded one is
/// not scanned again. Measured by changing its value behind an unchanged
/// `updatedAt` (the Hub never does; a mock can): the second run still
/// reports the first token, carried, and not the second, while a changed
/// variable's new token is found.
#[test]
fn state_skips_variables_whose_updated_at_did_not_change() {
    let root = tempfile::tempdir().unwrap();
    let (first, behind, fresh) = (fake_token(2641), fake_token(2642), fake_token(2643));
    let state = root.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let before = "2026-04-01T00:00:00.000Z";
    let entry = |a: &str, b: Value| {
        json!({"type": "space", "id": "acme/demo",
               "variables": {"A": var(a, before), "B": b}})
    };
    space(root.path(), "acme/demo", json!({}));
    let server = start(
        root.path(),
        vec![entry(&first, var("plain", before))],
        json!({}),
    );
    let (_, v1, _) = hub_json(
        &server,
        &["spaces/acme/demo", "--no-discussions", "--state", state_arg],
        &[],
    );
    assert_eq!(one(&v1, &first)["new"], true);
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        recorded["repos"]["spaces/acme/demo"]["variables"],
        json!({"A": before, "B": before})
    );
    drop(server);

    let server = start(
        root.path(),
        vec![entry(&behind, var(&fresh, "2026-04-02T00:00:00.000Z"))],
        json!({}),
    );
    let (_, v2, stderr) = hub_json(
        &server,
        &["spaces/acme/demo", "--no-discussions", "--state", state_arg],
        &[],
    );
    // Read once a run (only the answer tells what changed; both servers
    // log to the same file), scanned only where `updatedAt` moved.
    assert_eq!(variable_requests(&server, "acme/demo").len(), 2);
    let carried = one(&v2, &first);
    assert_eq!(carried["new"], false, "{stderr}");
    assert_eq!(carried["path"], "variables/A");
    assert!(
        of(&v2, &behind).is_empty(),
        "an unchanged variable was scanned again"
    );
    let found = one(&v2, &fresh);
    assert_eq!(found["new"], true);
    assert_eq!(found["path"], "variables/B");
}

/// A kernel repo `acme/flash` with a token added to `build.py` and then
/// removed; the commit that added it.
fn kernel(root: &Path, t: &str) -> String {
    let k = RepoBuilder::new(root, "kernel", "acme/flash");
    k.commit(&[("README.md", "# flash\n")], "init");
    let added = k.commit(
        &[("build.py", &format!("login(token=\"{t}\")\n"))],
        "build script",
    );
    k.remove(&["build.py"], "drop the build script");
    k.publish();
    added
}

#[test]
fn kernel_repo_target_token_in_its_history_is_found_with_its_link() {
    let root = tempfile::tempdir().unwrap();
    let t = fake_token(2651);
    let added = kernel(root.path(), &t);
    let server = start(
        root.path(),
        vec![json!({"type": "kernel", "id": "acme/flash"})],
        json!({}),
    );
    for target in [
        "kernels/acme/flash".to_string(),
        format!("{}/kernels/acme/flash", server.endpoint()),
    ] {
        let (code, v, stderr) = hub_json(&server, &[&target], &[]);
        assert_eq!(code, 1, "{stderr}");
        let f = one(&v, &t);
        assert_eq!(f["repo"], json!({"type": "kernel", "id": "acme/flash"}));
        assert_eq!(f["path"], "build.py");
        assert_eq!(f["commit"]["id"], added.as_str());
        assert_eq!(f["at_head"], false);
        assert_eq!(
            f["url"],
            format!(
                "{}/kernels/acme/flash/blob/{added}/build.py",
                server.endpoint()
            )
        );
        assert_eq!(v["scan"]["repos"][0]["type"], "kernel");
    }
    // Cloned from /kernels/acme/flash.
    assert!(server.requests().iter().any(|r| {
        r["path"]
            .as_str()
            .unwrap()
            .starts_with("/kernels/acme/flash")
    }));
}

#[test]
fn an_owner_audit_lists_kernels_and_a_missing_listing_is_one_note() {
    let root = tempfile::tempdir().unwrap();
    let (t, s) = (fake_token(2661), fake_token(2662));
    kernel(root.path(), &t);
    let demo = space(
        root.path(),
        "acme/demo",
        json!({"variables": {"TOKEN": var(&s, "2026-04-01T00:00:00.000Z")}}),
    );
    let repos = vec![json!({"type": "kernel", "id": "acme/flash"}), demo];

    let server = start(root.path(), repos.clone(), json!({}));
    let (code, v, _) = hub_json(&server, &["acme"], &[]);
    assert_eq!(code, 1);
    assert_eq!(one(&v, &t)["repo"]["type"], "kernel");
    one(&v, &s);
    // `--exclude kernels`: not even listed.
    let (_, v, _) = hub_json(&server, &["acme", "--exclude", "kernels"], &[]);
    assert!(of(&v, &t).is_empty());
    let listings = server
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/api/kernels?"))
        .count();
    assert_eq!(listings, 1);
    drop(server);

    let server = start(root.path(), repos, json!({"list_kernels": false}));
    let (code, v, stderr) = hub_json(&server, &["acme"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(of(&v, &t).is_empty());
    one(&v, &s);
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v:#}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("kernel")).collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].starts_with("hfleaks: note: acme:"), "{}", notes[0]);
}

#[test]
fn a_kernel_repo_lfs_contents_are_read_through_its_resolve_url() {
    let root = tempfile::tempdir().unwrap();
    let t = fake_token(2671);
    let store = root.path().join("lfs");
    let content = format!("export HF_TOKEN={t}\n");
    let oid = hfleaks::finding::sha256_hex(content.as_bytes());
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join(&oid), &content).unwrap();
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
        content.len()
    );
    let k = RepoBuilder::new(root.path(), "kernel", "acme/flash");
    let commit = k.commit(&[("scripts/env.sh", &pointer)], "build env");
    k.publish();
    let server = start(
        root.path(),
        vec![json!({"type": "kernel", "id": "acme/flash"})],
        json!({"lfs_store": store}),
    );
    let (code, v, stderr) = hub_json(&server, &["kernels/acme/flash"], &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = one(&v, &t);
    assert_eq!(f["lfs"]["oid"], oid.as_str());
    assert_eq!(
        f["url"],
        format!(
            "{}/kernels/acme/flash/blob/{commit}/scripts/env.sh",
            server.endpoint()
        )
    );
    assert!(server.requests().iter().any(|r| {
        r["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/kernels/acme/flash/resolve/{commit}/"))
    }));
}
