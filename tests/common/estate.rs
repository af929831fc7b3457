//! The mock organization "acme" the Hub audit tests share (see
//! [`estate`]), and running `hfleaks hub` against it.

use std::path::Path;

use serde_json::{Value, json};

use super::fake_token;
use super::hfleaks;
use super::hub_server::{HubServer, RepoBuilder, comment, discussion};

/// The tokens planted in [`estate`], one per place.
pub struct Tokens {
    pub head: String,
    pub removed: String,
    pub pr: String,
    pub space: String,
    pub comment: String,
    pub edited: String,
    pub title: String,
    pub private: String,
    pub archived: String,
    pub convert: String,
}

pub fn tokens() -> Tokens {
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
pub fn access_token() -> String {
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
pub fn estate(root: &Path, faults: Value) -> (HubServer, Tokens) {
    estate_with(root, faults, vec![])
}

/// [`estate`] with `extra` repos in the mock's config.
pub fn estate_with(root: &Path, faults: Value, extra: Vec<Value>) -> (HubServer, Tokens) {
    let t = tokens();
    let m1 = RepoBuilder::new(root, "model", "acme/m1");
    m1.commit(&[("README.md", "# m1\n")], "init");
    m1.commit(
        &[("config.py", &format!("TOKEN = \"{}\"\n", t.head))],
        "add config",
    );
    m1.publish();
    super::git(m1.work(), &["checkout", "-q", "-b", "pr"]);
    let pr = m1.commit(
        &[("upload.py", &format!("login(\"{}\")\n", t.pr))],
        "PR: upload script",
    );
    m1.publish_pr(1, &pr);
    super::git(m1.work(), &["checkout", "-q", "main"]);
    super::git(m1.work(), &["checkout", "-q", "-b", "convert"]);
    let conv = m1.commit(&[("parquet.txt", &format!("{}\n", t.convert))], "convert");
    let bare = root.join("git/models/acme/m1.git");
    super::git(
        &bare,
        &[
            "fetch",
            "-q",
            m1.work().to_str().unwrap(),
            &format!("{conv}:refs/convert/parquet"),
        ],
    );
    super::git(m1.work(), &["checkout", "-q", "main"]);

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
pub fn hub_json(server: &HubServer, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let (code, stdout, stderr) = hub_run(server, &[args, &["--format", "json"]].concat(), env);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v, stderr)
}

/// Runs `hfleaks hub ARGS` against `server` in a fresh directory.
pub fn hub_run(server: &HubServer, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    let endpoint = server.endpoint();
    let all = [
        &["hub"],
        args,
        &["--hf-endpoint", &endpoint, "--no-progress"],
    ]
    .concat();
    run_in(server, cwd.path(), &all, env)
}

/// Runs `hfleaks ARGS` in `cwd` against `server`: (exit code, stdout, stderr).
pub fn run_in(
    server: &HubServer,
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut cmd = hfleaks(cwd);
    cmd.args(args)
        .env("HF_ENDPOINT", server.endpoint())
        .env("HFLEAKS_BACKOFF_BASE_MS", "10")
        .env_remove("HUGGING_FACE_HUB_TOKEN")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("HFLEAKS_SHARD_INDEX")
        .env_remove("HFLEAKS_SHARD_COUNT");
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
pub fn of<'a>(report: &'a Value, token: &str) -> Vec<&'a Value> {
    let sha = sha256(token);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret_sha256"] == sha)
        .collect()
}

pub fn sha256(s: &str) -> String {
    hfleaks::finding::sha256_hex(s.as_bytes())
}

pub fn one<'a>(report: &'a Value, token: &str) -> &'a Value {
    let found = of(report, token);
    assert_eq!(
        found.len(),
        1,
        "{}",
        serde_json::to_string_pretty(report).unwrap()
    );
    found[0]
}
