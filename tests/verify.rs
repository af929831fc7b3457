//! Live verification (`--verify`, `--analyze`, `hfleaks verify`) through the
//! built binary, against a mock Hub on 127.0.0.1 that records every request.
//! Nothing here reaches the internet; every token is generated from a seed.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::mock_hub::{MockHub, Reply, Request};
use common::*;
use serde_json::{Value, json};

/// Scales the exponential backoff down so retries take milliseconds;
/// `Retry-After` is still honoured as sent.
const FAST_BACKOFF: (&str, &str) = ("HFLEAKS_BACKOFF_BASE_MS", "10");

fn read_token() -> String {
    fake_token(101)
}
fn write_token() -> String {
    fake_token(102)
}
fn fine_token() -> String {
    fake_token(103)
}
fn org_token() -> String {
    fake_org_token(104)
}
fn revoked_token() -> String {
    fake_token(105)
}
fn limited_token() -> String {
    fake_token(106)
}
fn broken_token() -> String {
    fake_token(107)
}
fn slow_token() -> String {
    fake_token(108)
}
fn malformed_token() -> String {
    fake_token(109)
}

/// whoami-v2 as the Hub answers for a read token of a user in one org.
fn whoami_read() -> Value {
    json!({
        "type": "user", "id": "64a0c0ffee0000000000a11c", "name": "alice",
        "fullname": "Alice Example", "email": "alice@example.com", "emailVerified": true,
        "canPay": false, "isPro": false, "periodEnd": null, "avatarUrl": "/avatars/a.svg",
        "orgs": [{"type": "org", "id": "64a0c0ffee0000000000ac3e", "name": "acme",
                  "fullname": "Acme AI", "email": null, "canPay": false,
                  "avatarUrl": "/avatars/acme.svg", "roleInOrg": "read", "isEnterprise": false}],
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": "laptop", "role": "read",
                                 "createdAt": "2024-03-01T10:00:00.000Z"}}
    })
}

fn whoami_write() -> Value {
    json!({
        "type": "user", "id": "64a0c0ffee0000000000b0b0", "name": "bob", "fullname": "Bob Builder",
        "email": "bob@example.com", "isPro": true,
        "orgs": [{"type": "org", "name": "acme", "fullname": "Acme AI", "roleInOrg": "write",
                  "isEnterprise": true}],
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": "ci-push", "role": "write",
                                 "createdAt": "2023-11-20T08:30:00.000Z"}}
    })
}

fn whoami_fine_grained() -> Value {
    json!({
        "type": "user", "name": "carol", "fullname": "Carol C", "orgs": [],
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": "deploy-bot", "role": "fineGrained",
                                 "createdAt": "2024-06-15T12:00:00.000Z",
                                 "fineGrained": {
                                     "canReadGatedRepos": false,
                                     "global": ["inference.serverless.read", "discussion.write"],
                                     "scoped": [
                                         {"entity": {"_id": "65f", "type": "org", "name": "acme"},
                                          "permissions": ["repo.content.read", "repo.write"]},
                                         {"entity": {"_id": "66a", "type": "model", "name": "carol/tiny"},
                                          "permissions": ["repo.content.read"]}]}}},
        "someFutureField": {"nested": [1, 2, 3]}
    })
}

fn whoami_org() -> Value {
    json!({
        "type": "org", "id": "64a0c0ffee0000000000ac3e", "name": "acme", "fullname": "Acme AI",
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": "legacy org token", "role": "admin",
                                 "createdAt": "2022-01-05T00:00:00.000Z"}}
    })
}

/// The Hub for every test: one behaviour per token, and repository
/// listings (with pagination) for bob and acme.
fn hub() -> MockHub {
    let (read, write, fine, org) = (read_token(), write_token(), fine_token(), org_token());
    let (revoked, limited, broken) = (revoked_token(), limited_token(), broken_token());
    let (slow, malformed) = (slow_token(), malformed_token());
    MockHub::start(move |req: &Request, earlier: usize, base: &str| {
        let Some(token) = req.token() else {
            return Reply::new(401, "{\"error\":\"no token\"}");
        };
        if req.path != "/api/whoami-v2" {
            return listing(&req.path, base);
        }
        let t = token.to_string();
        if t == read {
            Reply::json(&whoami_read())
        } else if t == write {
            Reply::json(&whoami_write())
        } else if t == fine {
            Reply::json(&whoami_fine_grained())
        } else if t == org {
            Reply::json(&whoami_org())
        } else if t == revoked {
            Reply::new(
                401,
                "{\"error\":\"Invalid credentials in Authorization header\"}",
            )
            .header(
                "X-Error-Message",
                "Invalid credentials in Authorization header",
            )
        } else if t == limited && earlier < 2 {
            Reply::new(429, "{\"error\":\"rate limited\"}")
                .header("Retry-After", "1")
                .header("RateLimit", "\"api\";r=0;t=1")
        } else if t == limited {
            Reply::json(&whoami_read())
        } else if t == broken {
            Reply::new(500, "{\"error\":\"Internal Error\"}")
        } else if t == slow {
            Reply::json(&whoami_read()).delay(Duration::from_secs(3))
        } else if t == malformed {
            Reply::new(200, "{\"type\": \"user\", \"name\": ")
        } else {
            Reply::new(401, "{}").header("X-Error-Message", "Invalid username or password.")
        }
    })
}

/// `/api/{models,datasets,spaces}?author=…`: bob's models come in two pages.
fn listing(path: &str, base: &str) -> Reply {
    let items = |v: Value| Reply::json(&v);
    match path {
        "/api/models?author=bob" => items(json!([
            {"_id": "1", "id": "bob/public-model", "private": false, "downloads": 10},
            {"_id": "2", "id": "bob/secret-model", "private": true, "downloads": 0}
        ]))
        .header(
            "Link",
            &format!("<{base}/api/models?author=bob&cursor=p2>; rel=\"next\""),
        ),
        "/api/models?author=bob&cursor=p2" => {
            items(json!([{"id": "bob/third-model", "private": true}]))
        }
        "/api/datasets?author=bob" => items(json!([{"id": "bob/private-data", "private": true}])),
        "/api/spaces?author=bob" => items(json!([])),
        "/api/models?author=acme" => items(json!([{"id": "acme/llm", "private": false}])),
        "/api/datasets?author=acme" => items(json!([])),
        "/api/spaces?author=acme" => items(json!([{"id": "acme/demo", "private": false}])),
        _ => Reply::new(404, "{\"error\":\"not found\"}"),
    }
}

/// Runs `hfleaks ARGS` in `cwd` with `stdin`, fast backoff; (code, stdout, stderr).
fn run_with(cwd: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = hfleaks(cwd);
    cmd.args(args).env(FAST_BACKOFF.0, FAST_BACKOFF.1);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.write_stdin(stdin).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hfleaks verify --format json` with `tokens` on stdin against `hub`.
fn verify_json(hub: &MockHub, tokens: &[String], extra: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["verify", "--hf-endpoint", hub.url(), "--format", "json"];
    args.extend(extra);
    let (code, stdout, stderr) = run_with(dir.path(), &args, &tokens.join("\n"), &[]);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v, stderr)
}

/// The one finding of a single-token run.
fn only_finding(report: &Value) -> &Value {
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    &findings[0]
}

fn assert_only_whoami(hub: &MockHub) {
    for r in hub.requests() {
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/whoami-v2", "unexpected request {r:?}");
        assert!(
            r.user_agent
                .as_deref()
                .unwrap_or("")
                .starts_with("hfleaks/"),
            "{r:?}"
        );
    }
}

#[test]
fn valid_read_token_is_high_with_owner_orgs_and_role() {
    let hub = hub();
    let (code, r, stderr) = verify_json(&hub, &[read_token()], &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = only_finding(&r);
    assert_eq!(f["severity"], "high");
    let v = &f["verification"];
    assert_eq!(v["status"], "valid");
    assert_eq!(v["owner"]["name"], "alice");
    assert_eq!(v["owner"]["type"], "user");
    assert_eq!(v["owner"]["fullname"], "Alice Example");
    assert_eq!(v["orgs"], json!([{"name": "acme", "role": "read"}]));
    assert_eq!(v["token"]["name"], "laptop");
    assert_eq!(v["token"]["role"], "read");
    assert_eq!(v["token"]["created_at"], "2024-03-01T10:00:00.000Z");
    assert_eq!(v["write_access"], false);
    assert!(v.get("reason").is_none(), "{v}");
    assert!(v.get("exposure").is_none(), "{v}");
    assert_eq!(hub.count(&read_token()), 1);
    assert_eq!(
        hub.requests()[0].authorization.as_deref(),
        Some(format!("Bearer {}", read_token()).as_str())
    );
    assert_only_whoami(&hub);
}

#[test]
fn valid_write_token_is_critical() {
    let hub = hub();
    let (_, r, _) = verify_json(&hub, &[write_token()], &[]);
    let f = only_finding(&r);
    assert_eq!(f["severity"], "critical");
    let v = &f["verification"];
    assert_eq!(v["status"], "valid");
    assert_eq!(v["owner"]["name"], "bob");
    assert_eq!(v["token"]["role"], "write");
    assert_eq!(v["token"]["name"], "ci-push");
    assert_eq!(v["orgs"][0]["role"], "write");
    assert_eq!(v["write_access"], true);
    assert_eq!(hub.count(&write_token()), 1);
}

#[test]
fn fine_grained_token_lists_global_and_scoped_permissions() {
    let hub = hub();
    let (_, r, _) = verify_json(&hub, &[fine_token()], &[]);
    let f = only_finding(&r);
    let v = &f["verification"];
    assert_eq!(v["status"], "valid");
    assert_eq!(v["token"]["role"], "fineGrained");
    assert_eq!(v["token"]["name"], "deploy-bot");
    let p = &v["token"]["permissions"];
    assert_eq!(
        p["global"],
        json!(["inference.serverless.read", "discussion.write"])
    );
    assert_eq!(
        p["scoped"],
        json!([
            {"type": "org", "name": "acme", "permissions": ["repo.content.read", "repo.write"]},
            {"type": "model", "name": "carol/tiny", "permissions": ["repo.content.read"]}
        ])
    );
    assert!(v.get("orgs").is_none(), "empty orgs are left out: {v}");
    assert_eq!(v["write_access"], true);
    assert_eq!(f["severity"], "critical");
}

#[test]
fn org_token_reports_the_org_as_owner() {
    let hub = hub();
    let (_, r, _) = verify_json(&hub, &[org_token()], &[]);
    let f = only_finding(&r);
    assert_eq!(f["rule_id"], "hf-org-api-token");
    let v = &f["verification"];
    assert_eq!(v["status"], "valid");
    assert_eq!(
        v["owner"],
        json!({"name": "acme", "type": "org", "fullname": "Acme AI"})
    );
    assert_eq!(v["token"]["role"], "admin");
    assert_eq!(v["write_access"], true);
    assert_eq!(f["severity"], "critical");
}

#[test]
fn revoked_token_is_invalid_and_low_with_the_hub_message() {
    let hub = hub();
    let (code, r, _) = verify_json(&hub, &[revoked_token()], &[]);
    assert_eq!(code, 1, "an invalid token still needs cleaning up");
    let f = only_finding(&r);
    assert_eq!(f["severity"], "low");
    assert_eq!(f["verification"]["status"], "invalid");
    assert_eq!(
        f["verification"]["reason"],
        "Invalid credentials in Authorization header"
    );
    assert!(f["verification"].get("owner").is_none());
    assert_eq!(hub.count(&revoked_token()), 1, "401 is never retried");
}

#[test]
fn rate_limited_token_is_retried_after_retry_after_then_valid() {
    let hub = hub();
    let started = Instant::now();
    let (_, r, stderr) = verify_json(&hub, &[limited_token()], &[]);
    let f = only_finding(&r);
    assert_eq!(f["verification"]["status"], "valid", "{stderr}");
    assert_eq!(f["verification"]["owner"]["name"], "alice");
    assert_eq!(hub.count(&limited_token()), 3, "two 429s, then 200");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1 is honoured each time ({:?})",
        started.elapsed()
    );
    assert_only_whoami(&hub);
}

#[test]
fn server_error_token_is_unknown_after_three_retries() {
    let hub = hub();
    let (code, r, _) = verify_json(&hub, &[broken_token()], &[]);
    assert_eq!(code, 1);
    let f = only_finding(&r);
    assert_eq!(f["verification"]["status"], "unknown");
    assert_eq!(
        f["verification"]["reason"],
        "HTTP 500 Internal Server Error after 3 retries"
    );
    assert_eq!(f["severity"], "high", "unknown keeps the rule's severity");
    assert_eq!(hub.count(&broken_token()), 4, "the request plus 3 retries");
}

#[test]
fn slow_hub_times_out_as_unknown() {
    let hub = hub();
    let started = Instant::now();
    let (_, r, _) = verify_json(&hub, &[slow_token()], &["--verify-timeout", "1"]);
    let f = only_finding(&r);
    assert_eq!(f["verification"]["status"], "unknown");
    assert_eq!(f["verification"]["reason"], "timed out after 1 s");
    assert_eq!(f["severity"], "high");
    assert_eq!(hub.count(&slow_token()), 1, "a timeout is not retried");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn malformed_200_body_is_unknown_not_a_crash() {
    let hub = hub();
    let (code, r, stderr) = verify_json(&hub, &[malformed_token()], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let f = only_finding(&r);
    assert_eq!(f["verification"]["status"], "unknown");
    let reason = f["verification"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("malformed whoami-v2 response"),
        "{reason}"
    );
}

#[test]
fn unreachable_hub_is_unknown_with_the_reason() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (code, stdout, _) = run_with(
        dir.path(),
        &["verify", "--hf-endpoint", &endpoint, "--format", "json"],
        &read_token(),
        &[],
    );
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    let v = &only_finding(&r)["verification"];
    assert_eq!(v["status"], "unknown");
    assert!(
        v["reason"].as_str().unwrap().starts_with("cannot connect"),
        "{v}"
    );
}

#[test]
fn all_outcomes_in_one_run_each_token_sent_once_plus_retries() {
    let hub = hub();
    let tokens = [
        read_token(),
        write_token(),
        fine_token(),
        org_token(),
        revoked_token(),
        limited_token(),
        broken_token(),
        slow_token(),
        malformed_token(),
    ];
    let (_, r, stderr) = verify_json(&hub, &tokens, &["--verify-timeout", "1"]);
    let statuses: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let t = tokens
                .iter()
                .position(|t| f["secret_sha256"] == hfleaks::finding::sha256_hex(t.as_bytes()))
                .unwrap();
            (
                format!("{t}:{}", f["verification"]["status"].as_str().unwrap()),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut statuses = statuses;
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("0:valid", "high"),
            ("1:valid", "critical"),
            ("2:valid", "critical"),
            ("3:valid", "critical"),
            ("4:invalid", "low"),
            ("5:valid", "high"),
            ("6:unknown", "high"),
            ("7:unknown", "high"),
            ("8:unknown", "high"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let expected = [1, 1, 1, 1, 1, 3, 4, 1, 1];
    for (t, n) in tokens.iter().zip(expected) {
        assert_eq!(
            hub.count(t),
            n,
            "requests for {}",
            hfleaks::finding::redact(t)
        );
    }
    assert_eq!(hub.requests().len(), expected.iter().sum::<usize>());
    assert_only_whoami(&hub);
    assert!(
        stderr.contains("verification: 5 valid, 1 invalid, 3 unknown"),
        "{stderr}"
    );
}

#[test]
fn each_distinct_token_is_sent_once_however_many_findings() {
    let hub = hub();
    let (a, b) = (read_token(), revoked_token());
    let dir = tree(&[
        ("one.py", &format!("A = '{a}'\nB = '{b}'\n")),
        ("two/.env", &format!("HF_TOKEN={a}\n")),
        (
            "three.ipynb",
            &format!("{{\"cells\": [{{\"source\": [\"{a} {b}\"]}}]}}"),
        ),
    ]);
    let (code, stdout, stderr) = run_with(
        dir.path(),
        &[
            "scan",
            "--verify",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5);
    for f in findings {
        let expected = if f["secret_sha256"] == hfleaks::finding::sha256_hex(a.as_bytes()) {
            "valid"
        } else {
            "invalid"
        };
        assert_eq!(f["verification"]["status"], expected, "{f}");
    }
    assert_eq!(hub.count(&a), 1);
    assert_eq!(hub.count(&b), 1);
    assert_eq!(hub.requests().len(), 2);
    assert!(stderr.contains("verifying 2 distinct tokens"), "{stderr}");
}

#[test]
fn without_verify_nothing_is_sent() {
    let hub = hub();
    let dir = tree(&[("a.py", &format!("T = '{}'\n", read_token()))]);
    let (code, stdout, _) = run_with(
        dir.path(),
        &["scan", "--hf-endpoint", hub.url(), "--format", "json"],
        "",
        &[("HF_ENDPOINT", hub.url())],
    );
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert!(only_finding(&r)["verification"].is_null());
    assert_eq!(hub.requests().len(), 0);
}

#[test]
fn hf_endpoint_env_is_used_when_no_flag() {
    let hub = hub();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("{}/", hub.url());
    let (_, stdout, stderr) = run_with(
        dir.path(),
        &["verify", "--format", "json"],
        &write_token(),
        &[("HF_ENDPOINT", &endpoint)],
    );
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        only_finding(&r)["verification"]["status"],
        "valid",
        "{stderr}"
    );
    assert_eq!(hub.count(&write_token()), 1);
    assert_only_whoami(&hub);
}

#[test]
fn analyze_follows_pagination_and_names_private_repos() {
    let hub = hub();
    let (_, r, stderr) = verify_json(&hub, &[write_token()], &["--analyze"]);
    let e = &only_finding(&r)["verification"]["exposure"];
    let owners = e["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 2, "{e:#}\n{stderr}");
    let bob = &owners[0];
    assert_eq!(bob["name"], "bob");
    assert_eq!(bob["models"]["count"], 3);
    assert_eq!(
        bob["models"]["private"],
        json!(["bob/secret-model", "bob/third-model"])
    );
    assert_eq!(bob["models"]["truncated"], false);
    assert_eq!(bob["datasets"]["count"], 1);
    assert_eq!(bob["datasets"]["private"], json!(["bob/private-data"]));
    assert_eq!(bob["spaces"]["count"], 0);
    let acme = &owners[1];
    assert_eq!(acme["name"], "acme");
    assert_eq!(acme["models"]["count"], 1);
    assert_eq!(acme["models"]["private"], json!([]));
    assert_eq!(acme["spaces"]["count"], 1);
    // whoami once, then each owner and kind, bob's models in two pages.
    let mut paths: Vec<String> = hub.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/datasets?author=acme",
            "/api/datasets?author=bob",
            "/api/models?author=acme",
            "/api/models?author=bob",
            "/api/models?author=bob&cursor=p2",
            "/api/spaces?author=acme",
            "/api/spaces?author=bob",
            "/api/whoami-v2",
        ]
    );
    assert_eq!(hub.count(&write_token()), 8, "every request uses the token");
}

#[test]
fn verify_deep_is_the_same_as_analyze() {
    let hub = hub();
    let (_, r, _) = verify_json(&hub, &[write_token()], &["--verify=deep"]);
    let e = &only_finding(&r)["verification"]["exposure"];
    assert_eq!(e["owners"][0]["models"]["count"], 3);
}

#[test]
fn analyze_max_repos_bounds_each_listing() {
    let hub = hub();
    let (_, r, _) = verify_json(
        &hub,
        &[write_token()],
        &["--analyze", "--analyze-max-repos", "1"],
    );
    let bob = &only_finding(&r)["verification"]["exposure"]["owners"][0];
    assert_eq!(bob["models"]["count"], 1);
    assert_eq!(bob["models"]["truncated"], true);
    assert_eq!(bob["datasets"]["truncated"], false);
    assert!(
        !hub.requests().iter().any(|r| r.path.contains("cursor=p2")),
        "no page is fetched past the bound"
    );
}

#[test]
fn analyze_only_lists_for_live_tokens() {
    let hub = hub();
    let (_, r, _) = verify_json(&hub, &[revoked_token(), read_token()], &["--analyze"]);
    let mut statuses: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let v = &f["verification"];
            assert_eq!(v.get("exposure").is_some(), v["status"] == "valid", "{v}");
            v["status"].as_str().unwrap()
        })
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["invalid", "valid"]);
    assert_eq!(hub.count(&revoked_token()), 1);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let dir = tree(&[("a.py", &format!("T = '{}'\n", read_token()))]);
    for args in [
        &[
            "scan",
            "--verify",
            "--hf-endpoint",
            "http://example.invalid",
        ][..],
        &[
            "verify",
            "--hf-endpoint",
            "http://example.invalid",
            &read_token(),
        ],
    ] {
        let (code, stdout, stderr) = run_with(dir.path(), args, "", &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("plain http"), "{stderr}");
        assert!(stderr.contains("https://"), "{stderr}");
    }
    let (code, _, stderr) = run_with(
        dir.path(),
        &["scan", "--verify"],
        "",
        &[("HF_ENDPOINT", "http://10.1.2.3:8080")],
    );
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn hf_hub_offline_makes_no_request() {
    let hub = hub();
    let dir = tree(&[("a.py", &format!("T = '{}'\n", write_token()))]);
    let (code, stdout, stderr) = run_with(
        dir.path(),
        &[
            "scan",
            "--verify",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "json",
        ],
        "",
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("offline"), "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    let f = only_finding(&r);
    assert!(f["verification"].is_null());
    assert_eq!(f["severity"], "high");
    let (_, _, stderr) = run_with(
        dir.path(),
        &[
            "verify",
            "--offline",
            "--hf-endpoint",
            hub.url(),
            &write_token(),
        ],
        "",
        &[],
    );
    assert!(stderr.contains("offline"), "{stderr}");
    assert_eq!(hub.requests().len(), 0);
}

#[test]
fn only_verified_reports_only_live_tokens() {
    let hub = hub();
    let (code, r, _) = verify_json(
        &hub,
        &[read_token(), revoked_token(), broken_token()],
        &["--only-verified"],
    );
    assert_eq!(code, 1);
    let f = only_finding(&r);
    assert_eq!(f["verification"]["status"], "valid");
    let (code, r, _) = verify_json(&hub, &[revoked_token()], &["--only-verified"]);
    assert_eq!(code, 0);
    assert_eq!(r["findings"], json!([]));
}

#[test]
fn fail_on_chooses_what_makes_exit_1() {
    let hub = hub();
    let (code, r, _) = verify_json(&hub, &[revoked_token()], &["--fail-on", "valid"]);
    assert_eq!(code, 0, "nothing live");
    assert_eq!(r["findings"].as_array().unwrap().len(), 1, "still reported");
    let (code, _, _) = verify_json(&hub, &[read_token()], &["--fail-on", "valid"]);
    assert_eq!(code, 1);
    let (code, _, _) = verify_json(&hub, &[read_token()], &["--fail-on", "none"]);
    assert_eq!(code, 0);
    let (code, _, _) = verify_json(&hub, &[revoked_token()], &["--fail-on", "any"]);
    assert_eq!(code, 1);
}

#[test]
fn fail_on_valid_implies_verify_in_scan() {
    let hub = hub();
    let dir = tree(&[("a.py", &format!("T = '{}'\n", revoked_token()))]);
    let (code, _, stderr) = run_with(
        dir.path(),
        &["scan", "--fail-on", "valid", "--hf-endpoint", hub.url()],
        "",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(hub.count(&revoked_token()), 1);
}

#[test]
fn verify_reads_arguments_and_stdin_and_skips_what_is_not_a_token() {
    let hub = hub();
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "# tokens from the audit\n\n{}\nnot a token at all\n  {}  \nhf_short\n",
        read_token(),
        revoked_token()
    );
    let (code, stdout, stderr) = run_with(
        dir.path(),
        &["verify", "--hf-endpoint", hub.url(), "--format", "json"],
        &input,
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["scan"]["kind"], "verify");
    let at: Vec<(String, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(at, [("<stdin>".to_string(), 3), ("<stdin>".to_string(), 5)]);
    assert!(
        stderr.contains("<stdin>:4: not a Hugging Face token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("<stdin>:6: not a Hugging Face token"),
        "{stderr}"
    );
    assert!(!stderr.contains("not a token at all"), "{stderr}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 2);
    assert_eq!(hub.requests().len(), 2, "only the two tokens are sent");

    let (code, stdout, _) = run_with(
        dir.path(),
        &[
            "verify",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "json",
            &write_token(),
            &format!("x{}", read_token()),
        ],
        "",
        &[],
    );
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    let f = only_finding(&r);
    assert_eq!(
        (f["path"].as_str(), f["line"].as_u64()),
        (Some("<argument>"), Some(1))
    );
    assert_eq!(f["verification"]["owner"]["name"], "bob");
}

#[test]
fn verify_with_nothing_but_junk_exits_2() {
    let hub = hub();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_with(
        dir.path(),
        &["verify", "--hf-endpoint", hub.url()],
        "hello\nworld\n",
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(hub.requests().len(), 0);
}

#[test]
fn text_output_shows_status_owner_role_orgs_and_exposure() {
    let hub = hub();
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout, stderr) = run_with(
        dir.path(),
        &["verify", "--analyze", "--hf-endpoint", hub.url()],
        &format!("{}\n{}\n{}\n", write_token(), fine_token(), revoked_token()),
        &[],
    );
    assert!(
        stdout.contains(
            "status   VALID (live token): owner bob (user); role write, can write; orgs acme (write)"
        ),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("<stdin>:1:1  critical  hf-user-access-token"),
        "{stdout}"
    );
    assert!(
        stdout.contains("token    \"ci-push\" created 2023-11-20T08:30:00.000Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains("exposes  bob: 3 models (2 private), 1 dataset (1 private), 0 Spaces"),
        "{stdout}"
    );
    assert!(
        stdout.contains("private  bob/secret-model, bob/third-model, bob/private-data"),
        "{stdout}"
    );
    assert!(
        stdout.contains("global: inference.serverless.read, discussion.write; org acme: repo.content.read, repo.write"),
        "{stdout}"
    );
    assert!(
        stdout.contains("status   invalid (revoked or never valid): Invalid credentials"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<stdin>:3:1  low  hf-user-access-token"),
        "{stdout}"
    );
}

#[test]
fn sarif_carries_verification_and_its_severity() {
    let hub = hub();
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout, _) = run_with(
        dir.path(),
        &[
            "verify",
            "--analyze",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "sarif",
        ],
        &format!("{}\n{}\n", write_token(), revoked_token()),
        &[],
    );
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif_schema_errors(&sarif), Vec::<String>::new());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let live = &results[0]["properties"];
    assert_eq!(live["security-severity"], "9.5");
    assert_eq!(live["severity"], "critical");
    assert_eq!(live["verification"]["status"], "valid");
    assert_eq!(live["verification"]["owner"]["name"], "bob");
    assert_eq!(
        live["verification"]["exposure"]["owners"][0]["models"]["count"],
        3
    );
    assert_eq!(results[0]["level"], "error");
    let message = results[0]["message"]["text"].as_str().unwrap();
    assert!(
        message.ends_with("verification: valid (owner bob, role write)"),
        "{message}"
    );
    let dead = &results[1]["properties"];
    assert_eq!(dead["security-severity"], "3.0");
    assert_eq!(dead["verification"]["status"], "invalid");
    assert_eq!(results[1]["level"], "note");
}

#[test]
fn redaction_holds_in_every_format_and_on_stderr() {
    let hub = hub();
    let tokens = [write_token(), fine_token(), revoked_token(), broken_token()];
    let dir = tree(&[(
        "a.py",
        &tokens
            .iter()
            .map(|t| format!("T = '{t}'\n"))
            .collect::<String>(),
    )]);
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = dir.path().join(format!("report.{format}"));
        for output in [None, Some(out.to_str().unwrap())] {
            let mut args = vec![
                "scan",
                "a.py",
                "--analyze",
                "--hf-endpoint",
                hub.url(),
                "--format",
                format,
            ];
            if let Some(o) = output {
                args.extend(["-o", o]);
            }
            let (code, stdout, stderr) = run_with(dir.path(), &args, "", &[]);
            assert_eq!(code, 1, "{stderr}");
            let written = output
                .map(|o| std::fs::read_to_string(o).unwrap())
                .unwrap_or_default();
            for t in &tokens {
                for (what, text) in [("stdout", &stdout), ("stderr", &stderr), ("file", &written)] {
                    assert!(!text.contains(t.as_str()), "{format} {what} leaks a token");
                }
            }
            assert!(
                stdout.contains(&hfleaks::finding::redact(&tokens[0]))
                    || written.contains(&hfleaks::finding::redact(&tokens[0])),
                "{format}"
            );
        }
    }
    // And the verify command, tokens on stdin, including one that is not a token.
    let (_, stdout, stderr) = run_with(
        dir.path(),
        &["verify", "--hf-endpoint", hub.url()],
        &format!("{}\n{}x\n", tokens[0], tokens[1]),
        &[],
    );
    for t in &tokens[..2] {
        assert!(!stdout.contains(t.as_str()) && !stderr.contains(t.as_str()));
    }
    // --show-secrets is the one way to see them.
    let (_, stdout, _) = run_with(
        dir.path(),
        &[
            "scan",
            "a.py",
            "--verify",
            "--hf-endpoint",
            hub.url(),
            "--show-secrets",
        ],
        "",
        &[],
    );
    assert!(stdout.contains(tokens[0].as_str()));
}
