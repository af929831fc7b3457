//! The incident view (the default text output, `remediation` in JSON, and
//! `hfleaks report`), `.env` hygiene, and the HTML report, through the
//! built binary. Snapshots live in `tests/snapshots/`, with the commit ids,
//! tokens and hashes of each run replaced by placeholders; set
//! `UPDATE_SNAPSHOTS=1` to rewrite them after an intended change.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Compares `text` with the snapshot `name` after replacing each value of
/// `subst` by its placeholder.
fn snapshot(name: &str, text: &str, subst: &[(&str, String)]) {
    let mut shown = text.to_string();
    for (placeholder, value) in subst {
        shown = shown.replace(value.as_str(), placeholder);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &shown).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        shown, expected,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it)"
    );
}

fn sha(t: &str) -> String {
    hfleaks::finding::sha256_hex(t.as_bytes())
}

/// A repository where one token stays at HEAD (and is copied to a second
/// file) and another is removed.
fn history_repo() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let keep = fake_token(60);
    let gone = fake_token(61);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "app.py", format!("TOKEN = '{keep}'\n").as_bytes());
    write(p, "old.env", format!("X={gone}\n").as_bytes());
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "add tokens"]);
    let c1 = git(p, &["rev-parse", "HEAD"]);
    git(p, &["rm", "-q", "old.env"]);
    write(p, "copy.py", format!("T = '{keep}'\n").as_bytes());
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "drop env, copy token"]);
    let c2 = git(p, &["rev-parse", "HEAD"]);
    let subst = vec![
        ("{C1}", c1[..12].to_string()),
        ("{C2}", c2[..12].to_string()),
        ("{KEEP}", hfleaks::finding::redact(&keep)),
        ("{GONE}", hfleaks::finding::redact(&gone)),
        ("{KEEP_SHA}", sha(&keep)[..12].to_string()),
        ("{GONE_SHA}", sha(&gone)[..12].to_string()),
    ];
    (dir, subst)
}

#[test]
fn incident_view_of_a_history_with_a_token_at_head_and_one_removed() {
    let (dir, subst) = history_repo();
    let (code, stdout, _) = run(dir.path(), &["history", "--no-progress"]);
    assert_eq!(code, 1);
    // Placeholders for the regex-quoted forms the purge lines show.
    snapshot("incident_history.txt", &stdout, &subst);
    // The per-finding layout is still there.
    let (_, flat, _) = run(dir.path(), &["history", "--no-progress", "--no-group"]);
    assert!(
        !flat.contains("== token") && flat.contains("old.env:1:3"),
        "{flat}"
    );
}

#[test]
fn json_carries_the_remediation_and_report_shows_it_again() {
    let (dir, _) = history_repo();
    let (_, r) = run_json(dir.path(), &["history", "--no-progress"]);
    let remediation = r["remediation"].as_array().unwrap();
    assert_eq!(remediation.len(), 2);
    let first = &remediation[0];
    assert_eq!(first["places"].as_array().unwrap().len(), 2);
    assert_eq!(first["exposure"]["at_head"], true);
    let actions: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["revoke", "replace", "purge-history", "watch"]);
    assert_eq!(remediation[1]["exposure"]["at_head"], false);
    assert!(remediation[1]["exposure"]["removed_in"]["id"].is_string());
    // `hfleaks report` renders the same incident view from the file.
    let path = dir.path().join("audit.json");
    std::fs::write(&path, r.to_string()).unwrap();
    let (code, text, stderr) = run(dir.path(), &["report", "audit.json"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, direct, _) = run(dir.path(), &["history", "--no-progress"]);
    assert_eq!(text, direct);
    // A report without `remediation` (older, or edited) gets it computed.
    let mut bare = r.clone();
    bare.as_object_mut().unwrap().remove("remediation");
    std::fs::write(&path, bare.to_string()).unwrap();
    let (_, again, _) = run(dir.path(), &["report", "audit.json"]);
    assert_eq!(again, direct);
    let (code, _, stderr) = run(dir.path(), &["report", "missing.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.json"), "{stderr}");
}

#[test]
fn one_token_in_several_places_is_one_incident() {
    let t = fake_token(62);
    let dir = tree(&[
        ("a/config.py", &format!("T = '{t}'\n")),
        ("b/notes.md", &format!("token {t}\n")),
        ("c/deploy.sh", &format!("export HF_TOKEN={t}\n")),
    ]);
    let (code, stdout, _) = run(dir.path(), &["scan", "--no-progress"]);
    assert_eq!(code, 1);
    snapshot(
        "incident_places.txt",
        &stdout,
        &[
            ("{T}", hfleaks::finding::redact(&t)),
            ("{SHA}", sha(&t)[..12].to_string()),
        ],
    );
}

#[test]
fn a_dotenv_file_git_ignores_is_local_only_and_one_it_does_not_gets_the_ignore_line() {
    let t = fake_token(63);
    let u = fake_token(64);
    let dir = tree(&[
        (".gitignore", ".env\n"),
        (".env", &format!("HF_TOKEN={t}\n")),
        ("deploy/prod.env", &format!("HF_TOKEN={u}\n")),
    ]);
    git(dir.path(), &["init", "-q"]);
    let (_, r) = run_json(dir.path(), &["scan", "--no-progress", "--no-ignore"]);
    let by_path = |p: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p}: {r}"))
            .clone()
    };
    let ignored = by_path(".env");
    assert_eq!(ignored["local_only"], true);
    assert_eq!(ignored["severity"], "medium", "one step lower");
    let exposed = by_path("deploy/prod.env");
    assert_eq!(exposed["local_only"], false);
    assert_eq!(exposed["severity"], "high");
    let (_, text, _) = run(dir.path(), &["scan", "--no-progress", "--no-ignore"]);
    assert!(text.contains("echo 'prod.env' >> .gitignore"), "{text}");
    assert!(text.contains("git ignores this file"), "{text}");
    // Outside a work tree, nothing is said.
    let plain = tree(&[(".env", &format!("HF_TOKEN={t}\n"))]);
    let (_, r) = run_json(plain.path(), &["scan", "--no-progress"]);
    assert!(r["findings"][0].get("local_only").is_none(), "{r}");
}

#[test]
fn the_incident_view_names_no_raw_token() {
    let (dir, _) = history_repo();
    let keep = fake_token(60);
    for format in ["text", "json"] {
        let (_, out, err) = run(
            dir.path(),
            &["history", "--no-progress", "--format", format],
        );
        assert!(!out.contains(&keep) && !err.contains(&keep), "{format}");
    }
    // With --show-secrets the purge line names the token itself.
    let (_, out, _) = run(dir.path(), &["history", "--no-progress", "--show-secrets"]);
    assert!(
        out.contains(&format!("{keep}==>HF_TOKEN_REMOVED_")),
        "{out}"
    );
    let _: Value = Value::Null;
}
