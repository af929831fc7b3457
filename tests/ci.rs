//! The CI gate script (`ci/hfleaks-ci.sh`, used by action.yml and
//! ci/gitlab-ci.yml), run with the environment GitHub and GitLab set.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A repository: an old leak (commit 1, removed in 2), a clean commit 3,
/// and a new leak in commit 4. Returns (dir, [c1, c2, c3, c4]).
fn repo() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    let mut ids = Vec::new();
    for (file, content, msg) in [
        ("old.py", format!("T='{}'\n", fake_token(1)), "old leak"),
        ("old.py", "T = None\n".to_string(), "remove old leak"),
        ("a.py", "x = 1\n".to_string(), "clean"),
        ("new.py", format!("T='{}'\n", fake_token(2)), "new leak"),
    ] {
        write(p, file, content.as_bytes());
        git(p, &["add", "-A"]);
        git(p, &["commit", "-qm", msg]);
        ids.push(git(p, &["rev-parse", "HEAD"]));
    }
    (dir, ids)
}

/// Runs the script in `cwd` with only the given CI variables; returns
/// (exit code, stdout, stderr, $GITHUB_OUTPUT content).
fn run_ci(cwd: &Path, vars: &[(&str, &str)]) -> (i32, String, String, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/hfleaks-ci.sh");
    let output_file = cwd.join("github-output.txt");
    let _ = std::fs::remove_file(&output_file);
    let mut cmd = Command::new("bash");
    cmd.arg(script).current_dir(cwd);
    for key in [
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_SHA",
        "GITHUB_OUTPUT",
        "GITLAB_CI",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        "CI_COMMIT_BEFORE_SHA",
        "CI_COMMIT_SHA",
        "HF_ENDPOINT",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("HFLEAKS", assert_cmd::cargo::cargo_bin("hfleaks"));
    for (k, v) in vars {
        let v = v.replace("$OUT", &output_file.display().to_string());
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&output_file).unwrap_or_default(),
    )
}

fn event(dir: &Path, json: serde_json::Value) -> String {
    let p = dir.join("event.json");
    std::fs::write(&p, json.to_string()).unwrap();
    p.display().to_string()
}

#[test]
fn github_pull_request_scans_base_to_head() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"pull_request": {"base": {"sha": ids[2]}, "head": {"sha": ids[3]}}}),
    );
    let (code, stdout, stderr, outputs) = run_ci(
        dir.path(),
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &ev),
            ("GITHUB_OUTPUT", "$OUT"),
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        outputs.contains(&format!("range={}..{}\n", ids[2], ids[3])),
        "{outputs}"
    );
    assert!(outputs.contains("findings=1\n"), "{outputs}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("hfleaks.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    assert!(dir.path().join("hfleaks.json").is_file());
}

#[test]
fn github_pull_request_without_new_leaks_passes() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"pull_request": {"base": {"sha": ids[1]}, "head": {"sha": ids[2]}}}),
    );
    let (code, _, stderr, outputs) = run_ci(
        dir.path(),
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &ev),
            ("GITHUB_OUTPUT", "$OUT"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(outputs.contains("findings=0\n"), "{outputs}");
}

#[test]
fn github_push_scans_before_to_after() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"before": ids[1], "after": ids[2]}),
    );
    let (code, stdout, _, _) = run_ci(
        dir.path(),
        &[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &ev)],
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("range={}..{}", ids[1], ids[2])),
        "{stdout}"
    );
}

#[test]
fn github_first_push_scans_the_whole_history() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"before": ZERO, "after": ids[3]}),
    );
    let (code, stdout, stderr, _) = run_ci(
        dir.path(),
        &[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &ev)],
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("range=\n"), "{stdout}");
    assert!(
        stdout.contains("findings=2"),
        "both leaks, old and new: {stdout}"
    );
    assert!(stderr.contains("first push"), "{stderr}");
}

#[test]
fn full_history_input_and_other_events_scan_everything() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"before": ids[2], "after": ids[3]}),
    );
    let (_, stdout, _, _) = run_ci(
        dir.path(),
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &ev),
            ("HFLEAKS_FULL_HISTORY", "true"),
        ],
    );
    assert!(
        stdout.contains("range=\n") && stdout.contains("findings=2"),
        "{stdout}"
    );
    let (_, stdout, _, _) = run_ci(dir.path(), &[("GITHUB_EVENT_NAME", "workflow_dispatch")]);
    assert!(
        stdout.contains("range=\n") && stdout.contains("findings=2"),
        "{stdout}"
    );
}

#[test]
fn missing_base_commit_falls_back_to_the_whole_history() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"before": "1234567890123456789012345678901234567890", "after": ids[3]}),
    );
    let (code, stdout, stderr, _) = run_ci(
        dir.path(),
        &[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &ev)],
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("range=\n"), "{stdout}");
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
}

#[test]
fn gitlab_merge_request_and_push() {
    let (dir, ids) = repo();
    let (code, stdout, _, _) = run_ci(
        dir.path(),
        &[
            ("GITLAB_CI", "true"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &ids[2]),
            ("CI_COMMIT_SHA", &ids[3]),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!("range={}..{}", ids[2], ids[3])),
        "{stdout}"
    );
    let (code, stdout, _, _) = run_ci(
        dir.path(),
        &[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_BEFORE_SHA", &ids[0]),
            ("CI_COMMIT_SHA", &ids[2]),
        ],
    );
    assert_eq!(
        code, 0,
        "the old leak was removed inside the range, nothing new: {stdout}"
    );
    assert!(
        stdout.contains(&format!("range={}..{}", ids[0], ids[2])),
        "{stdout}"
    );
}

#[test]
fn extra_args_reach_hfleaks() {
    let (dir, ids) = repo();
    let ev = event(
        dir.path(),
        serde_json::json!({"before": ids[2], "after": ids[3]}),
    );
    let (code, _, _, _) = run_ci(
        dir.path(),
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &ev),
            ("HFLEAKS_ARGS", "--exit-code 7"),
        ],
    );
    assert_eq!(code, 7);
}
