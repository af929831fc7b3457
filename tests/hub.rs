//! `hfleaks hub` against a mock Hub on 127.0.0.1 (tests/mockhub.py): real
//! git smart HTTP for the clones, paginated listings and discussions.

mod common;

use common::hub_server::{HubServer, RepoBuilder, comment, discussion};
use common::{fake_token, hfleaks};
use serde_json::{Value, json};

fn hub_json(
    server: &HubServer,
    cwd: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, Value, String) {
    let mut cmd = hfleaks(cwd);
    cmd.arg("hub").args(args).args([
        "--format",
        "json",
        "--hf-endpoint",
        &server.endpoint(),
        "--no-progress",
    ]);
    cmd.env("HFLEAKS_BACKOFF_BASE_MS", "10");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\nstderr: {stderr}"));
    (out.status.code().unwrap_or(-1), v, stderr)
}

#[test]
fn smoke() {
    let root = tempfile::tempdir().unwrap();
    let t1 = fake_token(1101);
    let m = RepoBuilder::new(root.path(), "model", "acme/m1");
    m.commit(
        &[("config.py", &format!("TOKEN = \"{t1}\"\n"))],
        "add config",
    );
    m.publish();
    let server = HubServer::start(
        root.path(),
        json!({"repos": [
            {"type": "model", "id": "acme/m1", "discussions": [
                discussion(1, "hello", false, vec![comment("e1", &format!("use {}", fake_token(1102)), &[])])
            ]}
        ]}),
    );
    let (code, v, stderr) = hub_json(&server, root.path(), &["acme"], &[]);
    eprintln!("{stderr}");
    println!("{}", serde_json::to_string_pretty(&v).unwrap());
    assert_eq!(code, 1);
}
