//! `hfleaks hub` against a mock Hub on 127.0.0.1 (tests/mockhub.py): real
//! git smart HTTP (`git http-backend`) for the clones, listings paginated
//! with `Link`, and more than one page of discussions. Every token is
//! synthetic (seeded).

mod common;

use common::estate::{access_token, estate, estate_with, hub_json, hub_run, of, one, sha256};
use common::fake_token;
use common::hub_server::RepoBuilder;
use serde_json::{Value, json};

#[test]
fn model_token_at_head_is_found_with_a_link_to_the_file_at_its_commit() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (code, v, _) = hub_json(&server, &["acme"], &[]);
    assert_eq!(code, 1);
    let f = one(&v, &t.head);
    assert_eq!(f["repo"], json!({"type": "model", "id": "acme/m1"}));
    assert_eq!(f["path"], "config.py");
    assert_eq!(f["at_head"], true);
    let commit = f["commit"]["id"].as_str().unwrap();
    assert_eq!(
        f["url"],
        format!("{}/acme/m1/blob/{commit}/config.py", server.endpoint())
    );
    assert_eq!(f["commit"]["summary"], "add config");
}

#[test]
fn dataset_token_removed_in_history_is_found_with_the_removing_commit() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["datasets/acme/corpus"], &[]);
    let f = one(&v, &t.removed);
    assert_eq!(f["repo"], json!({"type": "dataset", "id": "acme/corpus"}));
    assert_eq!(f["at_head"], false);
    assert_eq!(f["removed_in"]["summary"], "remove the loader");
    assert!(
        f["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/datasets/acme/corpus/blob/", server.endpoint()))
    );
}

#[test]
fn token_only_on_a_pull_request_ref_names_the_pull_request() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1", "--no-discussions"], &[]);
    let f = one(&v, &t.pr);
    assert_eq!(f["pull_request"], 1);
    assert_eq!(f["at_head"], false);
    assert_eq!(f["path"], "upload.py");
    // The token at HEAD is on main: no pull request.
    assert!(one(&v, &t.head).get("pull_request").is_none());
}

#[test]
fn generated_convert_refs_are_not_fetched() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1", "--no-discussions"], &[]);
    assert!(of(&v, &t.convert).is_empty());
    assert!(!of(&v, &t.head).is_empty());
}

#[test]
fn space_app_py_token_is_found() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let url = format!("{}/spaces/acme/demo/blob/main/app.py", server.endpoint());
    let (_, v, _) = hub_json(&server, &[&url], &[]);
    let f = one(&v, &t.space);
    assert_eq!(f["repo"], json!({"type": "space", "id": "acme/demo"}));
    assert_eq!(f["path"], "app.py");
    assert_eq!(f["line"], 2);
    assert_eq!(v["scan"]["repos"].as_array().unwrap().len(), 1);
}

#[test]
fn comment_token_is_found_with_a_link_to_the_comment() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1"], &[]);
    let f = one(&v, &t.comment);
    assert_eq!(f["path"], "discussions/1");
    assert_eq!(
        f["url"],
        format!("{}/acme/m1/discussions/1#c1", server.endpoint())
    );
    let d = &f["discussion"];
    assert_eq!(d["num"], 1);
    assert_eq!(d["event_id"], "c1");
    assert_eq!(d["author"], "bob");
    assert_eq!(d["revision"], "latest");
    assert_eq!(d["is_pull_request"], false);
}

#[test]
fn token_only_in_an_earlier_revision_of_an_edited_comment_is_found() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1"], &[]);
    let f = one(&v, &t.edited);
    assert_eq!(f["discussion"]["num"], 2);
    assert_eq!(f["discussion"]["revision"], "0");
}

#[test]
fn title_token_past_the_first_page_of_discussions_is_found() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1"], &[]);
    let f = one(&v, &t.title);
    assert_eq!(f["discussion"]["num"], 58);
    assert_eq!(f["discussion"]["event_id"], "");
    assert_eq!(
        f["url"],
        format!("{}/acme/m1/discussions/58", server.endpoint())
    );
    assert_eq!(v["scan"]["discussions"], 60);
    let pages: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/discussions?p="))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
}

#[test]
fn private_repo_is_audited_only_with_hf_token_and_the_token_is_never_shown() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, public, stderr) = hub_json(&server, &["acme", "--no-discussions"], &[]);
    assert!(of(&public, &t.private).is_empty());
    assert!(stderr.contains("public repos only"), "{stderr}");
    assert_eq!(public["scan"]["authenticated"], false);

    let access = access_token();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report_file = out.join("acme.json");
    let sarif_file = out.join("acme.sarif");
    let (code, stdout, stderr) = hub_run(
        &server,
        &[
            "acme",
            "--no-discussions",
            "-o",
            report_file.to_str().unwrap(),
            "-o",
            sarif_file.to_str().unwrap(),
        ],
        &[("HF_TOKEN", &access)],
    );
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    let f = one(&v, &t.private);
    assert_eq!(f["repo"]["id"], "acme/secret-m");
    assert_eq!(v["scan"]["authenticated"], true);
    let listed = v["scan"]["repos"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r["id"] == "acme/secret-m" && r["private"] == true)
    );
    for (what, text) in [
        ("stdout", stdout),
        ("stderr", stderr),
        ("json", std::fs::read_to_string(&report_file).unwrap()),
        ("sarif", std::fs::read_to_string(&sarif_file).unwrap()),
    ] {
        assert!(!text.contains(&access), "the access token is in {what}");
        assert!(
            !text.contains(&access[3..]),
            "the access token's body is in {what}"
        );
    }
    // The token went to the mock only, as Bearer for the API and as the
    // Basic password for git.
    let reqs = server.requests();
    let git_private: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/acme/secret-m"))
        .collect();
    assert!(!git_private.is_empty());
    for r in git_private {
        let auth = r["authorization"].as_str().unwrap_or("");
        let basic = auth.strip_prefix("Basic ").expect("git requests use Basic");
        use base64::Engine as _;
        let pair = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap();
        assert!(
            String::from_utf8(pair)
                .unwrap()
                .ends_with(&format!(":{access}"))
        );
    }
    assert!(
        reqs.iter()
            .any(|r| r["path"].as_str().unwrap().starts_with("/api/models?")
                && r["authorization"] == format!("Bearer {access}"))
    );
}

#[test]
fn missing_repo_is_an_error_naming_it_and_the_audit_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (code, v, stderr) = hub_json(&server, &["acme/gone", "spaces/acme/demo"], &[]);
    assert_eq!(code, 1);
    assert_eq!(of(&v, &t.space).len(), 1);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "acme/gone" && e["message"].as_str().unwrap().contains("404")),
        "{errors:?}"
    );
    assert!(stderr.contains("acme/gone"), "{stderr}");
    let gone = v["scan"]["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "acme/gone")
        .unwrap();
    assert!(gone["error"].as_str().unwrap().contains("not found"));

    // Only errors, no findings: exit 2.
    let (code, _, _) = hub_json(&server, &["acme/gone"], &[]);
    assert_eq!(code, 2);
}

#[test]
fn listing_429_with_retry_after_is_waited_out() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({"listing_429": 1}));
    let started = std::time::Instant::now();
    let (code, v, _) = hub_json(&server, &["acme", "--include", "spaces"], &[]);
    assert_eq!(code, 1);
    assert_eq!(of(&v, &t.space).len(), 1);
    // Retry-After: 1 was honoured (not the 10 ms test backoff).
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let listings = server
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/api/spaces?"))
        .count();
    assert_eq!(listings, 2);
}

#[test]
fn a_listing_that_keeps_failing_stops_the_run_naming_the_owner() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({"listing_429": 100}));
    let (code, stdout, stderr) = hub_run(&server, &["acme"], &[]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains("acme") && stderr.contains("429"),
        "{stderr}"
    );
}

#[test]
fn a_clone_cut_off_halfway_is_an_error_naming_the_repo() {
    let root = tempfile::tempdir().unwrap();
    let big = RepoBuilder::new(root.path(), "model", "acme/big");
    let mut rng = fastrand::Rng::with_seed(7);
    let noise: String = (0..64 * 1024)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
        .collect();
    big.commit(&[("weights.hex", &noise)], "weights");
    big.publish();
    let (server, t) = estate_with(
        root.path(),
        json!({"drop_clone": ["acme/big"]}),
        vec![json!({"type": "model", "id": "acme/big"})],
    );
    let (code, v, stderr) = hub_json(&server, &["acme", "--no-discussions"], &[]);
    assert_eq!(code, 1);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "acme/big" && e["message"].as_str().unwrap().contains("cut off")),
        "{errors:?}\n{stderr}"
    );
    // Tried three times, then given up on.
    let attempts = server
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("/acme/big/info/refs")
        })
        .count();
    assert_eq!(attempts, 3);
    // The other repos were audited.
    assert_eq!(of(&v, &t.head).len(), 1);
    assert_eq!(of(&v, &t.space).len(), 1);
}

#[test]
fn include_and_exclude_select_repos() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(
        &server,
        &[
            "acme",
            "--include",
            "models,spaces",
            "--exclude",
            "acme/archive-*",
            "--no-discussions",
        ],
        &[],
    );
    let ids: Vec<&str> = v["scan"]["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme/m1", "acme/demo"]);
    assert!(of(&v, &t.archived).is_empty());
    assert!(of(&v, &t.removed).is_empty());
    assert_eq!(of(&v, &t.space).len(), 1);

    let (_, v, _) = hub_json(
        &server,
        &["acme", "--exclude", "spaces/*", "--no-discussions"],
        &[],
    );
    assert!(of(&v, &t.space).is_empty());
    assert_eq!(of(&v, &t.archived).len(), 1);
}

#[test]
fn every_listing_page_is_followed() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme", "--no-discussions"], &[]);
    // 3 public models on pages of 2, one dataset, one Space.
    assert_eq!(v["scan"]["repos"].as_array().unwrap().len(), 4);
    let model_pages = server
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/api/models?"))
        .count();
    assert_eq!(model_pages, 1, "two public models fit one page of 2");
    let (_, v, _) = hub_json(
        &server,
        &["acme", "--no-discussions", "--include", "models"],
        &[("HF_TOKEN", &access_token())],
    );
    assert_eq!(v["scan"]["repos"].as_array().unwrap().len(), 3);
}

#[test]
fn jobs_1_and_jobs_8_give_identical_json() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let strip = |mut v: Value| {
        v["scan"]["duration_ms"] = json!(0);
        v
    };
    let (_, one_job, _) = hub_json(&server, &["acme", "--jobs", "1"], &[]);
    let (_, eight, _) = hub_json(&server, &["acme", "--jobs", "8"], &[]);
    assert!(one_job["findings"].as_array().unwrap().len() >= 7);
    assert_eq!(strip(one_job), strip(eight));
}

#[test]
fn sarif_results_carry_the_link_and_text_groups_by_repo() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, stdout, _) = hub_run(&server, &["acme", "--format", "sarif"], &[]);
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert!(common::sarif_schema_errors(&sarif).is_empty());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let space = results
        .iter()
        .find(|r| r["properties"]["secret_sha256"] == sha256(&t.space))
        .unwrap();
    assert_eq!(
        space["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "spaces/acme/demo/app.py"
    );
    assert!(
        space["properties"]["url"]
            .as_str()
            .unwrap()
            .contains("/spaces/acme/demo/blob/")
    );

    let (_, text, _) = hub_run(&server, &["acme", "--no-group"], &[]);
    assert!(text.contains("== spaces/acme/demo\n"), "{text}");
    assert!(text.contains("acme/m1: discussions/2"), "{text}");
    assert!(
        text.contains("earlier revision 0 of an edited comment"),
        "{text}"
    );
    assert!(text.contains("only on  pull request #1"), "{text}");
    let (_, incident, stderr) = hub_run(&server, &["acme"], &[]);
    assert!(incident.contains("Delete the comment"), "{incident}");
    assert!(incident.contains("git clone --mirror"), "{incident}");
    assert!(
        stderr.contains("repos") && stderr.contains("discussions"),
        "{stderr}"
    );
    let (_, html, _) = hub_run(&server, &["acme", "--format", "html"], &[]);
    assert!(html.contains("demo: app.py:2:7"), "{html}");
    assert!(html.contains("open on the Hub"), "{html}");
}

#[test]
fn bad_targets_and_offline_are_refused_before_anything_is_sent() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let (code, _, stderr) = hub_run(&server, &["spaces/acme"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("spaces/acme"), "{stderr}");
    let (code, _, stderr) = hub_run(&server, &["acme", "--offline"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("offline"), "{stderr}");
    assert!(server.requests().is_empty());
}

#[test]
fn server_errors_on_discussions_are_retried_and_a_disabled_repo_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let off = RepoBuilder::new(root.path(), "model", "acme/off");
    off.commit(&[("a.txt", "a\n")], "a");
    off.publish();
    let (server, t) = estate_with(
        root.path(),
        json!({"error_500": {"acme/m1": 2}}),
        vec![
            json!({"type": "model", "id": "acme/off", "disabled": true}),
            json!({"type": "model", "id": "acme/gated", "gated": "manual"}),
        ],
    );
    let gated = RepoBuilder::new(root.path(), "model", "acme/gated");
    let gated_token = fake_token(1120);
    gated.commit(&[("g.py", &format!("t = '{gated_token}'\n"))], "g");
    gated.publish();
    let (_, v, _) = hub_json(&server, &["acme/gated"], &[]);
    let said = v["errors"][0]["message"].as_str().unwrap();
    assert!(said.contains("gated") && !said.contains("disabled"), "{v}");
    let (_, v, _) = hub_json(&server, &["acme/gated"], &[("HF_TOKEN", &access_token())]);
    assert_eq!(of(&v, &gated_token).len(), 1);
    let (code, v, _) = hub_json(&server, &["acme/m1", "acme/off"], &[]);
    assert_eq!(code, 1);
    // Two 500s, then the list: every discussion was read.
    assert_eq!(of(&v, &t.comment).len(), 1);
    assert_eq!(v["scan"]["discussions"], 60);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "acme/off"
            && e["message"].as_str().unwrap().contains("disabled")
            && !e["message"].as_str().unwrap().contains("gated")),
        "{errors:?}"
    );
}

#[test]
fn no_discussions_reads_none() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let (_, v, _) = hub_json(&server, &["acme/m1", "--no-discussions"], &[]);
    assert!(of(&v, &t.comment).is_empty());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().contains("/discussions"))
    );
}

#[test]
fn a_429_on_a_clone_is_waited_out_and_the_clone_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({"git_429": {"acme/m1": 1}}));
    let (code, v, stderr) = hub_json(&server, &["acme/m1", "--no-discussions"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(of(&v, &t.head).len(), 1);
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    let refs = server
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("/acme/m1/info/refs")
        })
        .count();
    assert_eq!(refs, 2, "the 429, then the retry");
}

#[test]
fn discussions_are_read_many_at_a_time_within_the_runs_bound() {
    // 60 discussions, each answer 20 ms late: read one by one they would
    // take over a second; the run reads them through one pool of 4 per
    // job, here 8.
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({"api_latency_ms": 20}));
    let (code, v, _) = hub_json(&server, &["acme/m1", "--jobs", "2"], &[]);
    assert_eq!(code, 1);
    for token in [&t.title, &t.comment, &t.edited] {
        one(&v, token);
    }
    assert_eq!(v["scan"]["discussions"], 60);
    let inflight: Vec<u64> = server
        .requests()
        .iter()
        .filter(|r| {
            let p = r["path"].as_str().unwrap();
            p.contains("/discussions/") && !p.contains("?p=")
        })
        .map(|r| r["inflight"].as_u64().unwrap())
        .collect();
    assert_eq!(inflight.len(), 60);
    let most = inflight.iter().max().copied().unwrap();
    assert!(
        most >= 2,
        "detail requests were never concurrent: {inflight:?}"
    );
    // The pool's 8, and at most the other worker's one request beside them.
    assert!(
        most <= 9,
        "more detail requests at once than the pool allows: {most}"
    );
}
