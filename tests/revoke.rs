//! `hfleaks revoke` through the built binary, against a mock Hub on
//! 127.0.0.1 that records what it received. Tokens are generated from seeds.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use common::mock_hub::{MockHub, Reply, Request};
use common::*;
use serde_json::{Value, json};

const FAST_BACKOFF: (&str, &str) = ("HFLEAKS_BACKOFF_BASE_MS", "10");

/// A mock Hub: 202 for revocations, whoami-v2 live for `live` tokens and
/// 401 for any other.
fn hub(live: Vec<String>) -> MockHub {
    MockHub::start(move |req: &Request, _, _| {
        if req.path == "/api/whoami-v2" {
            return if req.token().is_some_and(|t| live.iter().any(|l| l == t)) {
                Reply::json(&json!({"type": "user", "name": "alice", "orgs": [],
                    "auth": {"type": "access_token", "accessToken": {"role": "write"}}}))
            } else {
                Reply::new(401, "{}").header(
                    "X-Error-Message",
                    "Invalid credentials in Authorization header",
                )
            };
        }
        Reply::new(202, "")
    })
}

/// Runs `hfleaks revoke` with `stdin` as standard input (not a terminal).
fn revoke(cwd: &Path, hub: &MockHub, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hfleaks"));
    cmd.current_dir(cwd)
        .arg("revoke")
        .args(args)
        .args(["--hf-endpoint", hub.url()])
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env_remove("HUGGING_FACE_HUB_TOKEN")
        .env(FAST_BACKOFF.0, FAST_BACKOFF.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    revoke_with(cmd, stdin)
}

fn revoke_with(mut cmd: std::process::Command, stdin: &str) -> (i32, String, String) {
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The credentials of each revocation request, in order.
fn batches(hub: &MockHub) -> Vec<Vec<String>> {
    hub.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/credentials/revoke")
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            v["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn tokens_are_sent_in_batches_of_100_each_once() {
    let hub = hub(vec![]);
    let tokens: Vec<String> = (0..250).map(|i| fake_token(1000 + i)).collect();
    let mut input = tokens.join("\n");
    input.push('\n');
    input.push_str(&tokens[0]); // a repeat is sent once
    let dir = tree(&[]);
    let (code, stdout, stderr) = revoke(dir.path(), &hub, &["--yes"], &input);
    assert_eq!(code, 0, "{stderr}");
    let sent = batches(&hub);
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    let all: Vec<&String> = sent.iter().flatten().collect();
    assert_eq!(all, tokens.iter().collect::<Vec<_>>());
    assert!(
        stderr.contains("revocation requested for 250 tokens"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("revoked 250"),
        "never says revoked: {stderr}"
    );
    assert!(stderr.contains("hfleaks verify"), "{stderr}");
    for t in &tokens {
        assert!(!stderr.contains(t.as_str()) && !stdout.contains(t.as_str()));
    }
}

#[test]
fn without_a_terminal_yes_is_required_and_nothing_is_sent() {
    let hub = hub(vec![]);
    let dir = tree(&[]);
    let (code, _, stderr) = revoke(dir.path(), &hub, &[], &fake_token(1));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(hub.requests().is_empty());
}

#[test]
fn dry_run_sends_nothing_and_shows_redacted_tokens() {
    let hub = hub(vec![]);
    let t = fake_token(2);
    let dir = tree(&[]);
    let (code, stdout, stderr) = revoke(dir.path(), &hub, &["--dry-run"], &t);
    assert_eq!(code, 0, "{stderr}");
    assert!(hub.requests().is_empty());
    assert!(stderr.contains(&hfleaks::finding::redact(&t)), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert!(!stderr.contains(&t) && !stdout.contains(&t));
}

#[test]
fn what_is_not_a_token_is_not_sent() {
    let hub = hub(vec![]);
    let t = fake_token(3);
    let dir = tree(&[]);
    let input = format!("{t}\nnot-a-token\nhf_short\n");
    let (code, _, stderr) = revoke(dir.path(), &hub, &["--yes"], &input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(batches(&hub), [vec![t]]);
    assert!(
        stderr.contains("<stdin>:2: not a Hugging Face token"),
        "{stderr}"
    );
}

/// A JSON report with findings of `tokens` (raw unless `redacted`) and the
/// given verification statuses.
fn report(dir: &Path, tokens: &[(&str, Option<&str>)], redacted: bool) -> String {
    let findings: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, (t, status))| {
            let secret = if redacted {
                hfleaks::finding::redact(t)
            } else {
                t.to_string()
            };
            json!({
                "rule_id": "hf-user-access-token", "severity": "high", "path": format!("f{i}.py"),
                "line": 1, "column": 1, "end_line": 1, "end_column": 38,
                "secret": secret, "secret_sha256": hfleaks::finding::sha256_hex(t.as_bytes()),
                "entropy": 4.7, "commit": null, "at_head": null, "removed_in": null,
                "notebook": null, "encoding": null,
                "verification": status.map(|s| json!({"status": s}))
            })
        })
        .collect();
    let doc = json!({"tool": {"name": "hfleaks", "version": "0.1.0"},
        "scan": {"kind": "history", "root": ".", "files": 0, "blobs": 1, "commits": 1, "bytes": 1, "duration_ms": 1},
        "findings": findings, "errors": []});
    let path = dir.join("audit.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_redacted_report_is_refused_with_how_to_write_a_usable_one() {
    let hub = hub(vec![]);
    let dir = tree(&[]);
    let t = fake_token(4);
    let path = report(dir.path(), &[(&t, None)], true);
    let (code, _, stderr) = revoke(dir.path(), &hub, &["--from-report", &path, "--yes"], "");
    assert_eq!(code, 2);
    assert!(stderr.contains("--show-secrets"), "{stderr}");
    assert!(hub.requests().is_empty());
}

#[test]
fn only_valid_uses_the_report_and_verifies_the_rest_first() {
    let live = fake_token(5);
    let dead = fake_token(6);
    let reported_live = fake_token(7);
    let reported_dead = fake_token(8);
    let hub = hub(vec![live.clone()]);
    let dir = tree(&[]);
    let path = report(
        dir.path(),
        &[
            (&live, None),
            (&dead, None),
            (&reported_live, Some("valid")),
            (&reported_dead, Some("invalid")),
        ],
        false,
    );
    let (code, _, stderr) = revoke(
        dir.path(),
        &hub,
        &["--from-report", &path, "--only-valid", "--yes"],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(batches(&hub), [vec![live.clone(), reported_live.clone()]]);
    // Only the tokens without a verification were checked.
    let checked: Vec<String> = hub
        .requests()
        .iter()
        .filter(|r| r.path == "/api/whoami-v2")
        .filter_map(|r| r.token().map(str::to_string))
        .collect();
    assert_eq!(checked.len(), 2);
    assert!(checked.contains(&live) && checked.contains(&dead));
    assert!(stderr.contains("not revoked (--only-valid)"), "{stderr}");
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let dir = tree(&[]);
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "revoke",
            "--yes",
            "--hf-endpoint",
            "http://hub.example.com",
            &fake_token(9),
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("plain http"), "{stderr}");
}

#[test]
fn the_organization_endpoint_gets_one_token_at_a_time_with_the_admin_token() {
    let hub = hub(vec![]);
    let admin = fake_token(10);
    let leaked = [fake_token(11), fake_token(12)];
    let dir = tree(&[]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hfleaks"));
    cmd.current_dir(dir.path())
        .args([
            "revoke",
            "--org",
            "acme",
            "--yes",
            "--hf-endpoint",
            hub.url(),
        ])
        .env("HF_TOKEN", &admin)
        .env_remove("HF_ENDPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, stdout, stderr) = revoke_with(cmd, &leaked.join("\n"));
    assert_eq!(code, 0, "{stderr}");
    let reqs = hub.requests();
    assert_eq!(reqs.len(), 2);
    for (r, t) in reqs.iter().zip(&leaked) {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/organizations/acme/settings/tokens/revoke")
        );
        assert_eq!(r.token(), Some(admin.as_str()));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body, json!({"token": t}));
    }
    assert!(stderr.contains("acme only"), "{stderr}");
    assert!(!stderr.contains(&admin) && !stdout.contains(&admin));
    // Without the admin's token, nothing is sent.
    let hub2 = hub_new();
    let (code, _, stderr) = revoke(dir.path(), &hub2, &["--org", "acme", "--yes"], &leaked[0]);
    assert_eq!(code, 2);
    assert!(stderr.contains("HF_TOKEN"), "{stderr}");
    assert!(hub2.requests().is_empty());
}

fn hub_new() -> MockHub {
    hub(vec![])
}

#[test]
fn a_rate_limited_batch_is_retried_after_the_wait() {
    let hub = MockHub::start(|_, earlier, _| {
        if earlier == 0 {
            Reply::new(429, "{}").header("Retry-After", "1")
        } else {
            Reply::new(202, "")
        }
    });
    let dir = tree(&[]);
    let started = std::time::Instant::now();
    let (code, _, stderr) = revoke(dir.path(), &hub, &["--yes"], &fake_token(13));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(batches(&hub).len(), 2, "the 429 and the retry");
    assert!(started.elapsed().as_millis() >= 900, "Retry-After honoured");
}

#[test]
fn a_report_s_other_secrets_are_never_sent_to_the_hub() {
    let hub = hub(vec![]);
    let dir = tree(&[]);
    let t = fake_token(14);
    let path = report(
        dir.path(),
        &[(&t, None), ("sk-live-QmZtRkWvLpNcXyBdGhJsTfUaEoIq", None)],
        false,
    );
    let (code, _, stderr) = revoke(dir.path(), &hub, &["--from-report", &path, "--yes"], "");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(batches(&hub), [vec![t]]);
    assert!(stderr.contains("not a Hugging Face token"), "{stderr}");
}
