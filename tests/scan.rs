//! `hfleaks scan` through the built binary: what a user sees.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn token_in_env_file_is_found_with_exit_1() {
    let t = fake_token(1);
    let dir = tree(&[
        (".env", &format!("HF_TOKEN={t}\n")),
        ("app.py", "print('hi')\n"),
    ]);
    let (code, stdout, stderr) = run(dir.path(), &["scan"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains(".env:1:10  high  hf-user-access-token"),
        "{stdout}"
    );
    assert!(
        stdout.contains("huggingface.co/settings/tokens"),
        "{stdout}"
    );
    assert!(stderr.contains("1 finding"), "{stderr}");
}

#[test]
fn clean_tree_exits_0() {
    let dir = tree(&[("a.py", "x = 1\n"), ("b.md", "hf_ is a prefix\n")]);
    let (code, stdout, _) = run(dir.path(), &["scan"]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
}

#[test]
fn paths_are_shown_as_reached_from_the_argument() {
    let t = fake_token(2);
    let dir = tree(&[("src/app.py", &format!("T = '{t}'\n"))]);
    let (_, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(paths(&r), ["src/app.py"]);
    let (_, r) = run_json(dir.path(), &["scan", "."]);
    assert_eq!(paths(&r), ["src/app.py"]);
    let (_, r) = run_json(dir.path(), &["scan", "src"]);
    assert_eq!(paths(&r), ["src/app.py"]);
    let (_, r) = run_json(dir.path(), &["scan", "src/app.py"]);
    assert_eq!(paths(&r), ["src/app.py"]);
}

#[test]
fn json_report_follows_the_contract() {
    let t = fake_token(3);
    let dir = tree(&[("cfg/settings.yaml", &format!("a: 1\ntoken: \"{t}\"\n"))]);
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert_eq!(r["tool"]["name"], "hfleaks");
    assert_eq!(r["scan"]["kind"], "scan");
    assert_eq!(r["scan"]["files"], 1);
    let f = &r["findings"][0];
    assert_eq!(f["rule_id"], "hf-user-access-token");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["path"], "cfg/settings.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(9))
    );
    assert_eq!(
        (f["end_line"].as_u64(), f["end_column"].as_u64()),
        (Some(2), Some(9 + 37))
    );
    assert_eq!(
        f["secret_sha256"],
        hfleaks::finding::sha256_hex(t.as_bytes())
    );
    assert!(f["entropy"].as_f64().unwrap() > 4.0);
    for key in [
        "commit",
        "at_head",
        "removed_in",
        "notebook",
        "encoding",
        "verification",
    ] {
        assert!(
            f.get(key).is_some_and(Value::is_null),
            "{key} must be present and null"
        );
    }
    assert_eq!(r["errors"], serde_json::json!([]));
}

#[test]
fn secrets_are_redacted_in_every_format_unless_show_secrets() {
    let t = fake_token(4);
    let o = fake_org_token(5);
    let dir = tree(&[("a.txt", &format!("{t}\n{o}\n"))]);
    for format in ["text", "json", "jsonl", "sarif"] {
        let (code, stdout, stderr) = run(dir.path(), &["scan", "--format", format]);
        assert_eq!(code, 1);
        for secret in [&t, &o] {
            assert!(
                !stdout.contains(secret.as_str()),
                "{format} leaks the secret"
            );
            assert!(!stderr.contains(secret.as_str()));
        }
        assert!(
            stdout.contains(&format!("hf_{}…{}", &t[3..7], &t[t.len() - 4..])),
            "{format}: {stdout}"
        );
        let (_, shown, _) = run(dir.path(), &["scan", "--format", format, "--show-secrets"]);
        assert!(shown.contains(t.as_str()), "{format} --show-secrets");
    }
}

#[test]
fn jsonl_writes_one_finding_per_line() {
    let dir = tree(&[
        ("a.txt", &format!("{}\n", fake_token(6))),
        ("b.txt", &format!("x {}\n", fake_token(7))),
    ]);
    let (code, stdout, _) = run(dir.path(), &["scan", "--format", "jsonl"]);
    assert_eq!(code, 1);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["path"], "a.txt");
    assert_eq!(lines[1]["path"], "b.txt");
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let t = fake_token(8);
    let dir = tree(&[
        ("dir with space/app.py", &format!("T='{t}'\n")),
        (
            "nb.ipynb",
            &format!(
                "{{\"cells\": [{{\"source\": [\"{}\"]}}]}}",
                fake_org_token(9)
            ),
        ),
    ]);
    let (code, stdout, _) = run(dir.path(), &["scan", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    let errors = sarif_schema_errors(&sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    // GitHub code scanning's rules.
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 4);
    for rule in rules {
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(rule["fullDescription"]["text"].as_str().unwrap().len() <= 1024);
        assert!(rule["help"]["text"].is_string());
        assert!(rule["properties"]["security-severity"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["dir%20with%20space/app.py", "nb.ipynb"]);
    for r in results {
        assert_eq!(
            r["partialFingerprints"]["secretSha256/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_i64()
                .unwrap()
                >= 1
        );
    }
    assert!(!stdout.contains(&t));
}

#[test]
fn output_file_is_written_and_stdout_stays_empty() {
    let dir = tree(&[("a.txt", &format!("{}\n", fake_token(10)))]);
    let (code, stdout, _) = run(
        dir.path(),
        &["scan", "--format", "json", "-o", "report.json"],
    );
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hfleaks-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind");
}

/// `-o /dev/null` must not replace the device: found when a run as root
/// turned the machine's /dev/null into a regular file. A FIFO stands in for
/// the device here; a symbolic link must stay a link.
#[cfg(unix)]
#[test]
fn output_to_a_fifo_or_through_a_symlink_keeps_the_path_as_it_is() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tree(&[("src/a.txt", &format!("{}\n", fake_token(12)))]);
    let p = dir.path();
    let fifo = p.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let (code, _, stderr) = run(p, &["scan", "src", "--format", "json", "-o", "pipe"]);
    assert_eq!(code, 1, "{stderr}");
    // Checked first: had the FIFO been replaced, the reader would wait forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let got: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(got["findings"].as_array().unwrap().len(), 1);

    std::fs::write(p.join("real.json"), "old").unwrap();
    std::os::unix::fs::symlink("real.json", p.join("link.json")).unwrap();
    let (code, _, stderr) = run(p, &["scan", "src", "-o", "link.json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        std::fs::symlink_metadata(p.join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("real.json")).unwrap()).unwrap();
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn output_into_missing_directory_is_an_error_and_leaves_nothing() {
    let dir = tree(&[("a.txt", "clean\n")]);
    let (code, _, stderr) = run(dir.path(), &["scan", "-o", "no/such/dir/report.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/dir/report.json"), "{stderr}");
    assert!(!dir.path().join("no").exists());
}

#[test]
fn stdin_is_scanned() {
    let t = fake_token(11);
    let dir = tree(&[]);
    let out = hfleaks(dir.path())
        .args(["scan", "-", "--format", "json"])
        .write_stdin(format!("build log\nHF_TOKEN={t} was set\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["scan"]["kind"], "stdin");
    assert_eq!(r["findings"][0]["path"], "<stdin>");
    assert_eq!(r["findings"][0]["line"], 2);
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let dir = tree(&[
        (".gitignore", "secrets/\n"),
        ("secrets/a.txt", &format!("{}\n", fake_token(12))),
    ]);
    let (code, _) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 0);
    let (code, r) = run_json(dir.path(), &["scan", "--no-ignore"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), ["secrets/a.txt"]);
}

#[test]
fn hidden_files_are_scanned_but_not_the_git_directory() {
    let t = fake_token(13);
    let dir = tree(&[
        (
            ".github/workflows/ci.yml",
            &format!("env:\n  HF_TOKEN: {t}\n"),
        ),
        (".git/config", &format!("token = {t}\n")),
    ]);
    let (_, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(paths(&r), [".github/workflows/ci.yml"]);
}

#[test]
fn hfleaksignore_lists_hashes_and_globs() {
    let (a, b, c) = (fake_token(14), fake_token(15), fake_token(16));
    let sha = hfleaks::finding::sha256_hex(a.as_bytes());
    let dir = tree(&[
        (".hfleaksignore", &format!("# accepted\n{sha}\nvendor/\n")),
        ("a.py", &format!("A='{a}'\nC='{c}'\n")),
        ("vendor/lib.py", &format!("B='{b}'\n")),
    ]);
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0]["secret_sha256"],
        hfleaks::finding::sha256_hex(c.as_bytes())
    );
}

#[test]
fn inline_allow_comment_suppresses_that_line_only() {
    let dir = tree(&[(
        "a.py",
        &format!(
            "A='{}'  # hfleaks:allow\nB='{}'\n",
            fake_token(17),
            fake_token(18)
        ),
    )]);
    let (_, r) = run_json(dir.path(), &["scan"]);
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["line"], 2);
}

#[test]
fn baseline_reports_only_new_leaks() {
    let dir = tree(&[("a.py", &format!("A='{}'\n", fake_token(19)))]);
    let (code, _, _) = run(
        dir.path(),
        &["scan", "--format", "json", "-o", "baseline.json"],
    );
    assert_eq!(code, 1);
    let (code, r) = run_json(dir.path(), &["scan", "--baseline", "baseline.json"]);
    assert_eq!(code, 0, "{r}");
    // The same token moved to another line is still the same finding.
    write(
        dir.path(),
        "a.py",
        format!("\n\nA='{}'\n", fake_token(19)).as_bytes(),
    );
    let (code, _) = run_json(dir.path(), &["scan", "--baseline", "baseline.json"]);
    assert_eq!(code, 0);
    write(
        dir.path(),
        "b.py",
        format!("B='{}'\n", fake_token(20)).as_bytes(),
    );
    let (code, r) = run_json(dir.path(), &["scan", "--baseline", "baseline.json"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), ["b.py"]);
}

#[test]
fn malformed_baseline_is_a_clear_error() {
    let dir = tree(&[("base.json", "{not json"), ("a.py", "x\n")]);
    let (code, _, stderr) = run(dir.path(), &["scan", "--baseline", "base.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("baseline base.json: not an hfleaks JSON report"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn notebook_findings_name_cell_and_part() {
    let (a, b) = (fake_token(21), fake_token(22));
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": [format!("login(\"{a}\")\n")]},
            {"cell_type": "code", "metadata": {}, "source": ["!whoami"],
             "outputs": [{"output_type": "stream", "name": "stdout", "text": [format!("Logged in\n{b}\n")]}]}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let dir = tree(&[(
        "nb/train.ipynb",
        &serde_json::to_string_pretty(&nb).unwrap(),
    )]);
    let (_, r) = run_json(dir.path(), &["scan"]);
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        f[0]["notebook"],
        serde_json::json!({"cell": 2, "part": "source"})
    );
    assert_eq!(
        f[1]["notebook"],
        serde_json::json!({"cell": 3, "part": "output"})
    );
    let (_, text, _) = run(dir.path(), &["scan"]);
    assert!(text.contains("cell     3 (output)"), "{text}");
}

#[test]
fn missing_path_is_an_error_with_exit_2() {
    let dir = tree(&[]);
    let (code, _, stderr) = run(dir.path(), &["scan", "nope"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("nope: cannot scan: No such file or directory"),
        "{stderr}"
    );
}

#[test]
fn findings_win_over_errors_and_exit_code_is_configurable() {
    let dir = tree(&[("a.txt", &format!("{}\n", fake_token(23)))]);
    let (code, _, _) = run(dir.path(), &["scan", "a.txt", "missing"]);
    assert_eq!(code, 1);
    let (code, _, _) = run(dir.path(), &["scan", "--exit-code", "42"]);
    assert_eq!(code, 42);
}

#[test]
fn large_files_are_skipped_with_a_note() {
    let t = fake_token(24);
    let dir = tree(&[
        ("big.txt", &format!("{}\n{t}\n", "x".repeat(2048))),
        ("small.txt", "ok\n"),
    ]);
    let (code, _, stderr) = run(dir.path(), &["scan", "--max-file-size", "1K"]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("skipped big.txt: larger than --max-file-size"),
        "{stderr}"
    );
    let (code, _, _) = run(dir.path(), &["scan"]);
    assert_eq!(code, 1);
}

#[test]
fn binary_files_and_invalid_utf8_are_scanned_as_bytes() {
    let t = fake_token(25);
    let mut bin = vec![0u8, 159, 146, 150, 0xff, 0];
    bin.extend_from_slice(t.as_bytes());
    bin.extend_from_slice(&[0, 1, 2]);
    let dir = tree(&[]);
    write(dir.path(), "model.pkl", &bin);
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), ["model.pkl"]);
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_unless_asked_and_loops_are_reported() {
    let t = fake_token(26);
    let dir = tree(&[("real/a.txt", &format!("{t}\n"))]);
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("real/loop")).unwrap();
    let (_, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(paths(&r), ["real/a.txt"]);
    let (code, r) = run_json(dir.path(), &["scan", "--follow"]);
    assert_eq!(code, 1);
    assert!(paths(&r).contains(&"link/a.txt".to_string()));
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link loop")),
        "{errors:?}"
    );
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_are_escaped_not_lost() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tree(&[]);
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
    std::fs::write(dir.path().join(name), format!("{}\n", fake_token(27))).unwrap();
    let (_, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(paths(&r), ["bad\\xFFname.txt"]);
}

#[test]
fn broken_pipe_ends_quietly() {
    let mut content = String::new();
    for i in 0..3000 {
        content.push_str(&format!("{}\n", fake_token(1000 + i)));
    }
    let dir = tree(&[("many.txt", &content)]);
    let bin = assert_cmd::cargo::cargo_bin("hfleaks");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' scan --color never | head -1", bin.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn one_thread_gives_the_same_report() {
    let mut files = Vec::new();
    for i in 0..40 {
        files.push((
            format!("d{}/f{i}.txt", i % 5),
            format!("x\n{}\n", fake_token(100 + i)),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = tree(&refs);
    let strip = |mut v: Value| {
        v["scan"]["duration_ms"] = Value::Null;
        v
    };
    let (_, one) = run_json(dir.path(), &["scan", "--threads", "1"]);
    let (_, many) = run_json(dir.path(), &["scan", "--threads", "4"]);
    assert_eq!(strip(one), strip(many));
}

#[test]
fn user_rules_extend_the_builtin_ones() {
    let rule = r#"
[[rules]]
id = "internal-hub-token"
name = "Internal hub token"
description = "Tokens of our internal model hub."
regex = 'ihub_[A-Za-z0-9]{24}'
keywords = ["ihub_"]
min_entropy = 3.0
severity = "medium"
remediation = "Rotate it in the internal hub."
[rules.examples]
positive = ["ihub_QmZtRkWvLpNcXyBdGhJsTfUa"]
negative = ["ihub_short"]
"#;
    let dir = tree(&[
        ("my-rules.toml", rule),
        ("a.txt", "key=ihub_QmZtRkWvLpNcXyBdGhJsTfUa\n"),
    ]);
    let (code, r) = run_json(dir.path(), &["scan", "a.txt", "--rules", "my-rules.toml"]);
    assert_eq!(code, 1);
    assert_eq!(r["findings"][0]["rule_id"], "internal-hub-token");
    let (code, stdout, _) = run(dir.path(), &["rules", "test", "--rules", "my-rules.toml"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok    internal-hub-token (2 examples)"));
    let (_, list, _) = run(dir.path(), &["rules", "list", "--rules", "my-rules.toml"]);
    assert!(list.contains("internal-hub-token") && list.contains("hf-user-access-token"));
}

#[test]
fn malformed_rule_file_names_file_rule_and_problem() {
    let rule = "[[rules]]\nid = \"broken-rule\"\nname = \"n\"\ndescription = \"d\"\nregex = \"ihub_[\"\nkeywords = [\"ihub_\"]\nseverity = \"low\"\nremediation = \"r\"\n";
    let dir = tree(&[("bad.toml", rule)]);
    let (code, _, stderr) = run(dir.path(), &["scan", "--rules", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("hfleaks: bad.toml: rule 'broken-rule': invalid regex"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn failing_rule_example_fails_rules_test() {
    let rule = "[[rules]]\nid = \"weak\"\nname = \"n\"\ndescription = \"d\"\nregex = \"ihub_[a-z]{4}\"\nkeywords = [\"ihub_\"]\nseverity = \"low\"\nremediation = \"r\"\n[rules.examples]\npositive = [\"nothing here\"]\n";
    let dir = tree(&[("weak.toml", rule)]);
    let (code, stdout, _) = run(dir.path(), &["rules", "test", "--rules", "weak.toml"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("FAIL  weak"), "{stdout}");
}

#[test]
fn bad_arguments_exit_2() {
    let dir = tree(&[]);
    let (code, _, _) = run(dir.path(), &["scan", "--format", "xml"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(dir.path(), &["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn several_outputs_in_one_run_take_their_format_from_the_extension() {
    let dir = tree(&[("a.txt", &format!("{}\n", fake_token(30)))]);
    let (code, stdout, _) = run(
        dir.path(),
        &[
            "scan", "a.txt", "-o", "r.sarif", "-o", "r.json", "-o", "r.jsonl",
        ],
    );
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1);
    let lines = std::fs::read_to_string(dir.path().join("r.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 1);
    // One -o with --format: the flag wins.
    let (_, _, _) = run(
        dir.path(),
        &["scan", "a.txt", "--format", "json", "-o", "x.sarif"],
    );
    let x: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("x.sarif")).unwrap())
            .unwrap();
    assert!(x.get("findings").is_some());
}
