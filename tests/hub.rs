//! `hfleaks hub` against a mock Hub on 127.0.0.1 (tests/mockhub.py): real
//! git smart HTTP (`git http-backend`) for the clones, listings paginated
//! with `Link`, and more than one page of discussions. Every token is
//! synthetic (seeded).

mod common;

use std::path::Path;

use common::hub_server::{HubServer, RepoBuilder, comment, discussion};
use common::{fake_token, hfleaks};
use serde_json::{Value, json};

/// The tokens planted in [`estate`], one per place.
struct Tokens {
    head: String,
    removed: String,
    pr: String,
    space: String,
    comment: String,
    edited: String,
    title: String,
    private: String,
    archived: String,
    convert: String,
}

fn tokens() -> Tokens {
    Tokens {
        head: fake_token(1101),
        removed: fake_token(1102),
        pr: fake_token(1103),
        space: fake_token(1104),
        comment: fake_token(1105),
        edited: fake_token(1106),
        title: fake_token(1107),
        private: fake_token(1108),
        archived: fake_token(1109),
        convert: fake_token(1110),
    }
}

/// The token that sees acme's private repos.
fn access_token() -> String {
    fake_token(1199)
}

/// An organization "acme" on a mock Hub:
/// - model acme/m1: a token at HEAD; one only on refs/pr/1; one only on
///   refs/convert/parquet (not user content); 60 discussions: a token in
///   #1's comment, one only in an earlier revision of #2's comment, one in
///   #58's title (past the first page of 50);
/// - dataset acme/corpus: a token added, then removed;
/// - Space acme/demo: a token in app.py;
/// - private model acme/secret-m: a token;
/// - model acme/archive-old: a token.
///
/// The listing pages hold 2 repos.
fn estate(root: &Path, faults: Value) -> (HubServer, Tokens) {
    estate_with(root, faults, vec![])
}

/// [`estate`] with `extra` repos in the mock's config.
fn estate_with(root: &Path, faults: Value, extra: Vec<Value>) -> (HubServer, Tokens) {
    let t = tokens();
    let m1 = RepoBuilder::new(root, "model", "acme/m1");
    m1.commit(&[("README.md", "# m1\n")], "init");
    m1.commit(
        &[("config.py", &format!("TOKEN = \"{}\"\n", t.head))],
        "add config",
    );
    m1.publish();
    common::git(m1.work(), &["checkout", "-q", "-b", "pr"]);
    let pr = m1.commit(
        &[("upload.py", &format!("login(\"{}\")\n", t.pr))],
        "PR: upload script",
    );
    m1.publish_pr(1, &pr);
    common::git(m1.work(), &["checkout", "-q", "main"]);
    common::git(m1.work(), &["checkout", "-q", "-b", "convert"]);
    let conv = m1.commit(&[("parquet.txt", &format!("{}\n", t.convert))], "convert");
    let bare = root.join("git/models/acme/m1.git");
    common::git(
        &bare,
        &[
            "fetch",
            "-q",
            m1.work().to_str().unwrap(),
            &format!("{conv}:refs/convert/parquet"),
        ],
    );
    common::git(m1.work(), &["checkout", "-q", "main"]);

    let corpus = RepoBuilder::new(root, "dataset", "acme/corpus");
    corpus.commit(
        &[("load.py", &format!("key = '{}'\n", t.removed))],
        "add loader",
    );
    corpus.remove(&["load.py"], "remove the loader");
    corpus.commit(&[("data.csv", "a,b\n")], "data");
    corpus.publish();

    let demo = RepoBuilder::new(root, "space", "acme/demo");
    demo.commit(
        &[("app.py", &format!("import gradio\nHF = \"{}\"\n", t.space))],
        "app",
    );
    demo.publish();

    let private = RepoBuilder::new(root, "model", "acme/secret-m");
    private.commit(
        &[("train.py", &format!("tok = '{}'\n", t.private))],
        "train",
    );
    private.publish();

    let archived = RepoBuilder::new(root, "model", "acme/archive-old");
    archived.commit(&[("old.py", &format!("T = '{}'\n", t.archived))], "old");
    archived.publish();

    let mut talk = vec![
        discussion(
            1,
            "Loading fails",
            false,
            vec![comment(
                "c1",
                &format!("I used {} and it fails", t.comment),
                &[],
            )],
        ),
        discussion(
            2,
            "Edited",
            false,
            vec![comment(
                "c2",
                "token removed, sorry",
                &[&format!("here is my token {}", t.edited)],
            )],
        ),
    ];
    for n in 3..=60 {
        let title = if n == 58 {
            format!("please use {}", t.title)
        } else {
            format!("question {n}")
        };
        talk.push(discussion(
            n,
            &title,
            n % 7 == 0,
            vec![comment(&format!("c{n}"), "thanks", &[])],
        ));
    }
    let mut config = json!({
        "token": access_token(),
        "page_size": 2,
        "faults": faults,
        "repos": [
            {"type": "model", "id": "acme/m1", "discussions": talk},
            {"type": "dataset", "id": "acme/corpus"},
            {"type": "space", "id": "acme/demo"},
            {"type": "model", "id": "acme/secret-m", "private": true},
            {"type": "model", "id": "acme/archive-old"},
        ]
    });
    config["repos"].as_array_mut().unwrap().extend(extra);
    (HubServer::start(root, config), t)
}

/// Runs `hfleaks hub ARGS --format json` against `server`: (exit code,
/// report, stderr). `env` adds variables (HF_TOKEN).
fn hub_json(server: &HubServer, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let (code, stdout, stderr) = hub_run(server, &[args, &["--format", "json"]].concat(), env);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v, stderr)
}

fn hub_run(server: &HubServer, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = hfleaks(cwd.path());
    cmd.arg("hub")
        .args(args)
        .args(["--hf-endpoint", &server.endpoint(), "--no-progress"])
        .env("HFLEAKS_BACKOFF_BASE_MS", "10")
        .env_remove("HUGGING_FACE_HUB_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The findings of the secret `token` (by its sha256).
fn of<'a>(report: &'a Value, token: &str) -> Vec<&'a Value> {
    let sha = sha256(token);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret_sha256"] == sha)
        .collect()
}

fn sha256(s: &str) -> String {
    hfleaks::finding::sha256_hex(s.as_bytes())
}

fn one<'a>(report: &'a Value, token: &str) -> &'a Value {
    let found = of(report, token);
    assert_eq!(
        found.len(),
        1,
        "{}",
        serde_json::to_string_pretty(report).unwrap()
    );
    found[0]
}

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
    let (_, v, _) = hub_json(&server, &["https://huggingface.co/spaces/acme/demo"], &[]);
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
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("gated"),
        "{v}"
    );
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
            && e["message"].as_str().unwrap().contains("disabled")),
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
