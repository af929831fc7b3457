//! Beyond one machine and one run: `hfleaks repos`, `--shard`, `hfleaks
//! merge` (each token verified once), the Kubernetes and GitHub Actions
//! recipes run as they would run, and incremental audits (`--state`,
//! `--cache`). Against the mock Hub of tests/mockhub.py; every token is
//! synthetic.

mod common;

use std::path::{Path, PathBuf};

use common::estate::{access_token, estate, estate_with, of, one, run_in};
use common::hub_server::{HubServer, RepoBuilder, comment};
use common::yaml::{strs, yaml_docs};
use common::{fake_token, git, hfleaks};
use serde_json::{Value, json};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A report in a canonical order, without what differs between runs of the
/// same audit (its duration) or between a merged and an unsharded report
/// (the shard label).
fn canonical(mut v: Value) -> Value {
    v["scan"]["duration_ms"] = json!(0);
    v["scan"].as_object_mut().unwrap().remove("shard");
    for key in ["repos"] {
        if let Some(list) = v["scan"][key].as_array_mut() {
            list.sort_by_key(|x| x.to_string());
        }
    }
    for key in ["findings", "errors", "remediation"] {
        if let Some(list) = v[key].as_array_mut() {
            list.sort_by_key(|x| x.to_string());
        }
    }
    v
}

/// The whoami-v2 requests the mock saw, by bearer token.
fn whoami_counts(server: &HubServer) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in server.requests() {
        if r["path"] == "/api/whoami-v2" {
            let token = r["authorization"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("Bearer ")
                .to_string();
            *counts.entry(token).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn repos_audits_urls_and_local_paths_and_never_shows_credentials() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let local = tempfile::tempdir().unwrap();
    git(local.path(), &["init", "-q", "-b", "main"]);
    let local_token = fake_token(1301);
    common::write(
        local.path(),
        "ci.sh",
        format!("export HF_TOKEN={local_token}\n").as_bytes(),
    );
    git(local.path(), &["add", "-A"]);
    git(local.path(), &["commit", "-q", "-m", "ci"]);
    let access = access_token();
    let port = server.port;
    let list = format!(
        "# our repos\n{ep}/acme/m1\n\nhttp://bot:{access}@127.0.0.1:{port}/acme/secret-m\n{}\nssh://git@example.invalid/x\n",
        local.path().display(),
        ep = server.endpoint()
    );
    common::write(root.path(), "repos.txt", list.as_bytes());
    let (code, stdout, stderr) = run_in(
        &server,
        root.path(),
        &["repos", "repos.txt", "--format", "json", "--no-progress"],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let f = one(&v, &t.head);
    assert_eq!(
        f["repo"],
        json!({"type": "git", "id": format!("{}/acme/m1", server.endpoint())})
    );
    let p = one(&v, &t.private);
    assert_eq!(
        p["repo"]["id"],
        format!("http://127.0.0.1:{port}/acme/secret-m")
    );
    let l = one(&v, &local_token);
    assert_eq!(l["repo"]["id"], local.path().display().to_string());
    assert_eq!(v["scan"]["kind"], "repos");
    assert_eq!(v["scan"]["repos"].as_array().unwrap().len(), 3);
    assert!(
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "repos.txt:6" && e["message"].as_str().unwrap().contains("ssh")),
        "{v}"
    );
    assert!(!stdout.contains(&access) && !stderr.contains(&access));
}

/// Runs `hfleaks hub acme` as shard `k` of `n` into `dir/shard-k.json`.
fn shard(server: &HubServer, dir: &Path, k: u32, n: u32, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("shard-{k}.json"));
    let label = format!("{k}/{n}");
    let mut args = vec![
        "hub",
        "acme",
        "--shard",
        &label,
        "--no-progress",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let (code, _, stderr) = run_in(server, dir, &args, &[]);
    assert!(code == 0 || code == 1, "shard {label}: {stderr}");
    out
}

/// Runs `hfleaks hub acme` unsharded into `dir/whole.json`.
fn unsharded(server: &HubServer, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let out = dir.join("whole.json");
    let mut args = vec!["hub", "acme", "--no-progress", "-o", out.to_str().unwrap()];
    args.extend(extra);
    let (code, _, stderr) = run_in(server, dir, &args, env);
    assert_eq!(code, 1, "{stderr}");
    out
}

#[test]
fn shards_are_disjoint_and_their_merge_equals_the_unsharded_audit() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let dir = root.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let whole = unsharded(&server, &dir, &[], &[]);
    let shards: Vec<PathBuf> = (1..=3).map(|k| shard(&server, &dir, k, 3, &[])).collect();
    // Disjoint and covering: each repo in exactly one shard.
    let mut ids: Vec<String> = Vec::new();
    for s in &shards {
        let v = read_json(s);
        assert_eq!(v["scan"]["listing"], read_json(&whole)["scan"]["listing"]);
        ids.extend(
            v["scan"]["repos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
    }
    ids.sort();
    assert_eq!(
        ids,
        ["acme/archive-old", "acme/corpus", "acme/demo", "acme/m1"]
    );

    let merged = dir.join("merged.json");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--no-progress", "-o", merged.to_str().unwrap()]);
    let (code, _, stderr) = run_in(&server, &dir, &args, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(canonical(read_json(&merged)), canonical(read_json(&whole)));
}

#[test]
fn merge_refuses_missing_duplicated_foreign_and_mixed_shards() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let dir = root.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let s1 = shard(&server, &dir, 1, 3, &[]);
    let s2 = shard(&server, &dir, 2, 3, &[]);
    let s3 = shard(&server, &dir, 3, 3, &[]);
    let other_n = dir.join("two");
    std::fs::create_dir(&other_n).unwrap();
    let t1 = shard(&server, &other_n, 1, 2, &[]);
    let listing = dir.join("listing");
    std::fs::create_dir(&listing).unwrap();
    let l3 = shard(&server, &listing, 3, 3, &["--exclude", "acme/archive-*"]);
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    common::write(
        &rules,
        "extra.toml",
        br#"[[rules]]
id = "x-test-key"
name = "Test key"
description = "A test key."
regex = 'xtestkey_[a-z]{12}'
keywords = ["xtestkey_"]
secret_group = 0
min_entropy = 0.0
max_length = 64
severity = "low"
remediation = "Remove it."
[rules.examples]
positive = []
negative = []
"#,
    );
    let r3 = shard(
        &server,
        &rules,
        3,
        3,
        &["--rules", rules.join("extra.toml").to_str().unwrap()],
    );
    let whole = unsharded(&server, &dir, &[], &[]);
    let copy = dir.join("copy-of-1.json");
    std::fs::copy(&s1, &copy).unwrap();
    let p = |x: &PathBuf| x.to_str().unwrap().to_string();
    for (inputs, says) in [
        (vec![p(&s1), p(&s2)], "missing shard: 3/3"),
        (vec![p(&s1), p(&s2), p(&s3), p(&copy)], "given twice"),
        (vec![p(&s1), p(&s2), p(&t1)], "one of 2"),
        (vec![p(&s1), p(&s2), p(&l3)], "another listing"),
        (vec![p(&s1), p(&s2), p(&r3)], "other rules"),
        (vec![p(&s1), p(&whole)], "not a shard report"),
    ] {
        let mut args = vec!["merge".to_string()];
        args.extend(inputs);
        args.push("--no-progress".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run_in(&server, &dir, &args, &[]);
        assert_eq!(code, 2, "{says}: {stdout}");
        assert!(stderr.contains(says), "expected {says:?}: {stderr}");
        assert!(stdout.is_empty());
    }
}

#[test]
fn merge_verifies_each_distinct_token_once_across_shards() {
    let root = tempfile::tempdir().unwrap();
    // The same live token in two repos of different shards (of 2).
    let live = fake_token(1401);
    let names: Vec<String> = (0..20).map(|i| format!("acme/shared-{i}")).collect();
    let a = names
        .iter()
        .find(|n| hfleaks::shard::shard_of(n, 2) == 0)
        .unwrap()
        .clone();
    let b = names
        .iter()
        .find(|n| hfleaks::shard::shard_of(n, 2) == 1)
        .unwrap()
        .clone();
    let mut extra = Vec::new();
    for name in [&a, &b] {
        let r = RepoBuilder::new(root.path(), "model", name);
        r.commit(&[("push.py", &format!("TOKEN = '{live}'\n"))], "push");
        r.publish();
        extra.push(json!({"type": "model", "id": name}));
    }
    let (server, t) = {
        let (s, t) = estate_with(root.path(), json!({}), extra);
        drop(s);
        let mut config = read_json(&root.path().join("hub.json"));
        config["valid_tokens"] = json!([live]);
        (HubServer::start(root.path(), config), t)
    };
    let dir = root.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    // Shard 1 verified itself; shard 2 kept the raw tokens for the merge.
    let s1 = shard(&server, &dir, 1, 2, &["--show-secrets", "--verify"]);
    let after_shard_1 = whoami_counts(&server);
    let s2 = shard(&server, &dir, 2, 2, &["--show-secrets"]);
    let merged = dir.join("merged.json");
    let (code, _, stderr) = run_in(
        &server,
        &dir,
        &[
            "merge",
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
            "--verify",
            "--no-progress",
            "-o",
            merged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let counts = whoami_counts(&server);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(counts.get(&live), Some(&1));
    // Every distinct token of the merged report was verified, by a shard or
    // by the merge.
    let v = read_json(&merged);
    let distinct: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["secret_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), counts.len());
    let places = of(&v, &live);
    assert_eq!(places.len(), 2);
    assert!(
        places
            .iter()
            .all(|f| f["verification"]["status"] == "valid")
    );
    // Shard 1 verified it; the merge reused that and did not send it again.
    assert_eq!(after_shard_1.get(&live), Some(&1));
    assert_eq!(counts[&live], 1);
    // Raw secrets stay out of the merged report.
    assert!(!std::fs::read_to_string(&merged).unwrap().contains(&live));
    assert!(!std::fs::read_to_string(&merged).unwrap().contains(&t.head));
}

/// `$(NAME)` expanded from `vars`, as Kubernetes expands container args.
fn k8s_expand(text: &str, vars: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("$({k})"), v);
    }
    out
}

/// The directory of the hfleaks binary under test, first on PATH, so the
/// recipes' `hfleaks` is this build.
fn path_with_hfleaks() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_hfleaks")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn the_kubernetes_and_github_actions_recipes_run_as_written_and_merge_to_the_unsharded_audit() {
    let root = tempfile::tempdir().unwrap();
    let (server, _) = estate(root.path(), json!({}));
    let access = access_token();

    // --- Kubernetes: an Indexed Job of N pods, then a merge Job.
    let docs = yaml_docs("deploy/kubernetes/hub-audit.yaml");
    let jobs: Vec<&yaml_rust2::Yaml> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Job"))
        .collect();
    assert_eq!(jobs.len(), 2);
    let audit = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"].as_str() == Some("Indexed"))
        .expect("an Indexed Job");
    let n = audit["spec"]["completions"].as_i64().unwrap();
    assert_eq!(audit["spec"]["parallelism"].as_i64(), Some(n));
    let pod = &audit["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let c = &pod["containers"][0];
    assert_eq!(strs(&c["command"]), ["hfleaks"]);
    let args = strs(&c["args"]);
    assert_eq!(args[0], "hub");
    let count_at = args.iter().position(|a| a == "--shard-count").unwrap();
    assert_eq!(
        args[count_at + 1],
        n.to_string(),
        "--shard-count = completions"
    );
    assert!(args.iter().any(|a| a.contains("$(JOB_COMPLETION_INDEX)")));
    assert_eq!(c["volumeMounts"][0]["mountPath"].as_str(), Some("/reports"));
    assert!(
        c["env"]
            .as_vec()
            .unwrap()
            .iter()
            .any(|e| e["name"].as_str() == Some("HF_TOKEN")
                && e["valueFrom"]["secretKeyRef"]["key"].as_str() == Some("HF_TOKEN"))
    );
    let merge = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"].is_badvalue())
        .unwrap();
    let m = &merge["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        m["volumeMounts"][0]["mountPath"].as_str(),
        Some("/reports"),
        "the merge reads the shards' volume"
    );
    let merge_script = strs(&m["args"]).join(" ");
    assert!(merge_script.contains("hfleaks merge") && merge_script.contains("--verify"));

    let volume = root.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let reports = volume.to_str().unwrap();
    let env_of = |c: &yaml_rust2::Yaml| -> Vec<(String, String)> {
        c["env"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .filter_map(|e| {
                        Some((
                            e["name"].as_str()?.to_string(),
                            e["value"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = server.requests().len();
    for i in 0..n {
        let mut vars = env_of(c);
        vars.push(("JOB_COMPLETION_INDEX".into(), i.to_string()));
        let args: Vec<String> = args
            .iter()
            .map(|a| k8s_expand(a, &vars).replace("/reports", reports))
            .collect();
        let mut cmd = std::process::Command::new("hfleaks");
        cmd.args(&args)
            .env("PATH", path_with_hfleaks())
            .env("HF_TOKEN", &access)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("HF_ENDPOINT", server.endpoint())
            .env("NO_COLOR", "1");
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "pod {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let verified_before = whoami_counts(&server);
    assert!(verified_before.is_empty(), "the shards verify nothing");
    let script = k8s_expand(&merge_script, &env_of(m)).replace("/reports", reports);
    let out = std::process::Command::new(strs(&m["command"])[0].clone())
        .args(&strs(&m["command"])[1..])
        .arg(&script)
        .env("PATH", path_with_hfleaks())
        .env("HF_ENDPOINT", server.endpoint())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = whoami_counts(&server);
    assert!(
        !counts.is_empty() && counts.values().all(|&c| c == 1),
        "{counts:?}"
    );
    assert!(!server.requests()[before..].is_empty());
    let k8s_merged = read_json(&volume.join("acme.json"));
    assert!(volume.join("acme.sarif").is_file());

    // The unsharded audit, verified, for comparison.
    let whole = unsharded(
        &server,
        root.path(),
        &["--verify"],
        &[("HF_TOKEN", &access)],
    );
    assert_eq!(canonical(k8s_merged.clone()), canonical(read_json(&whole)));

    // --- GitHub Actions: a matrix of shard jobs, artifacts, a merge job.
    let wf = &yaml_docs("deploy/github-actions/hub-audit.yml")[0];
    let wf_env: Vec<(String, String)> = wf["env"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                yaml_rust2::Yaml::Integer(i) => i.to_string(),
                other => other.as_str().unwrap().to_string(),
            };
            (k.as_str().unwrap().to_string(), v)
        })
        .collect();
    let shard_job = &wf["jobs"]["shard"];
    let matrix = strs(&shard_job["strategy"]["matrix"]["shard"]);
    let count: usize = wf_env
        .iter()
        .find(|(k, _)| k == "HFLEAKS_SHARD_COUNT")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(matrix.len(), count, "one matrix entry per shard");
    let expr = |text: &str, shard: &str| {
        text.replace("${{ matrix.shard }}", shard)
            .replace("${{ secrets.HF_TOKEN }}", &access)
    };
    let step_run = |job: &yaml_rust2::Yaml, needle: &str| -> String {
        job["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .find(|r| r.contains(needle))
            .unwrap()
            .to_string()
    };
    let artifacts = root.path().join("artifacts");
    std::fs::create_dir(&artifacts).unwrap();
    let audit_script = step_run(shard_job, "hfleaks hub");
    for s in &matrix {
        let work = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-ec")
            .arg(expr(&audit_script, s))
            .current_dir(work.path())
            .env("PATH", path_with_hfleaks())
            .env("HF_ENDPOINT", server.endpoint())
            .env("NO_COLOR", "1");
        for (k, v) in &wf_env {
            cmd.env(k, v);
        }
        for (k, v) in shard_job["env"].as_hash().unwrap() {
            cmd.env(k.as_str().unwrap(), expr(v.as_str().unwrap(), s));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "shard {s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // upload-artifact: the step's `path`, with the matrix value.
        let upload = shard_job["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|st| {
                st["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/upload-artifact"))
            })
            .unwrap();
        let file = expr(upload["with"]["path"].as_str().unwrap(), s);
        std::fs::copy(work.path().join(&file), artifacts.join(&file)).unwrap();
    }
    let merge_job = &wf["jobs"]["merge"];
    assert_eq!(merge_job["needs"].as_str(), Some("shard"));
    let out = std::process::Command::new("bash")
        .arg("-ec")
        .arg(step_run(merge_job, "hfleaks merge"))
        .current_dir(&artifacts)
        .env("PATH", path_with_hfleaks())
        .env("HF_ENDPOINT", server.endpoint())
        .envs(wf_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    // Findings fail the merge job (the gate), and the SARIF is still written.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(artifacts.join("acme.sarif").is_file());
    assert_eq!(
        canonical(read_json(&artifacts.join("acme.json"))),
        canonical(read_json(&whole))
    );
}

// ---- incremental audits -------------------------------------------------

fn history_json(repo: &Path, state: &Path) -> (i32, Value, String) {
    let out = hfleaks(repo)
        .args([
            "history",
            ".",
            "--state",
            state.to_str().unwrap(),
            "--format",
            "json",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn repo_with_history() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for i in 0..5 {
        common::write(
            dir.path(),
            &format!("src/f{i}.py"),
            format!("x = {i}\n").as_bytes(),
        );
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", &format!("c{i}")]);
    }
    common::write(
        dir.path(),
        "config.py",
        format!("T = '{}'\n", fake_token(1501)).as_bytes(),
    );
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "config"]);
    dir
}

#[test]
fn history_state_reads_only_the_new_commit_and_carries_earlier_findings() {
    let repo = repo_with_history();
    let state = repo.path().join(".git/hfleaks.state");
    let (code, first, _) = history_json(repo.path(), &state);
    assert_eq!(code, 1);
    assert_eq!(first["scan"]["blobs"], 6);
    assert!(
        first["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["new"] == true)
    );
    assert!(state.is_file());

    let new_token = fake_token(1502);
    common::write(
        repo.path(),
        "upload.py",
        format!("login('{new_token}')\n").as_bytes(),
    );
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "upload"]);
    let (_, second, _) = history_json(repo.path(), &state);
    assert_eq!(
        second["scan"]["blobs"], 1,
        "only the new commit's blob is read"
    );
    assert_eq!(second["scan"]["commits"], 1);
    assert_eq!(one(&second, &new_token)["new"], true);
    let old = one(&second, &fake_token(1501));
    assert_eq!(old["new"], false);
    assert_eq!(old["at_head"], true);
    assert_eq!(second["scan"]["incremental"]["from_state"], 1);

    // Removing the old token: its exposure is brought up to date.
    git(repo.path(), &["rm", "-q", "config.py"]);
    git(repo.path(), &["commit", "-q", "-m", "drop config"]);
    let (_, third, _) = history_json(repo.path(), &state);
    assert_eq!(third["scan"]["blobs"], 0);
    let old = one(&third, &fake_token(1501));
    assert_eq!(old["at_head"], false);
    assert_eq!(old["removed_in"]["summary"], "drop config");
    assert_eq!(one(&third, &new_token)["new"], false);

    // Nothing new: nothing read, the same findings.
    let (_, fourth, _) = history_json(repo.path(), &state);
    assert_eq!(fourth["scan"]["blobs"], 0);
    assert_eq!(fourth["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn history_state_after_a_force_push_audits_everything_again_with_a_note() {
    let repo = repo_with_history();
    let keep = tempfile::tempdir().unwrap();
    let state = keep.path().join("audit.state");
    history_json(repo.path(), &state);
    git(repo.path(), &["reset", "-q", "--hard", "HEAD~2"]);
    common::write(repo.path(), "other.py", b"y = 1\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "rewritten"]);
    git(repo.path(), &["reflog", "expire", "--expire=now", "--all"]);
    git(repo.path(), &["gc", "-q", "--prune=now"]);
    let (_, v, stderr) = history_json(repo.path(), &state);
    assert!(stderr.contains("no longer reachable"), "{stderr}");
    assert_eq!(v["scan"]["blobs"], 5, "every reachable blob again");
    assert_eq!(v["scan"]["incremental"]["full"], 1);
    assert!(
        of(&v, &fake_token(1501)).is_empty(),
        "the rewritten-away token is gone"
    );
}

#[test]
fn a_corrupt_or_foreign_state_file_is_an_error() {
    let repo = repo_with_history();
    let state = repo.path().join("audit.state");
    std::fs::write(&state, "{\"half\": ").unwrap();
    let out = hfleaks(repo.path())
        .args(["history", ".", "--state", "audit.state", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit.state") && stderr.contains("not an hfleaks state"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"half\": ",
        "left as it was"
    );
    std::fs::write(&state, "{\"format\": \"hfleaks-state\", \"version\": 1, \"kind\": \"hub\", \"rules_sha256\": \"x\", \"repos\": {}}").unwrap();
    let out = hfleaks(repo.path())
        .args(["history", ".", "--state", "audit.state", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hfleaks hub"));
}

#[test]
fn hub_state_with_cache_fetches_and_scans_only_a_new_commit_and_a_new_comment() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let state = root.path().join("acme.state");
    let cache = root.path().join("cache");
    let args = |s: &Path, c: &Path| {
        vec![
            "hub".to_string(),
            "acme/m1".into(),
            "--state".into(),
            s.display().to_string(),
            "--cache".into(),
            c.display().to_string(),
            "--format".into(),
            "json".into(),
            "--no-progress".into(),
        ]
    };
    let run = |server: &HubServer| {
        let a = args(&state, &cache);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run_in(server, root.path(), &a, &[]);
        assert_eq!(code, 1, "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let first = run(&server);
    assert!(
        first["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["new"] == true),
        "{first}"
    );
    assert!(cache.join("hub/models/acme/m1.git/HEAD").is_file());

    // A new commit on the Hub, and a new comment.
    let work = tempfile::tempdir().unwrap();
    let bare = root.path().join("git/models/acme/m1.git");
    git(work.path(), &["clone", "-q", bare.to_str().unwrap(), "w"]);
    let w = work.path().join("w");
    let pushed = fake_token(1601);
    common::write(&w, "deploy.py", format!("KEY = '{pushed}'\n").as_bytes());
    git(&w, &["add", "-A"]);
    git(&w, &["commit", "-q", "-m", "deploy"]);
    git(&w, &["push", "-q", "origin", "main"]);
    let commented = fake_token(1602);
    drop(server);
    let mut config = read_json(&root.path().join("hub.json"));
    let m1 = config["repos"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["id"] == "acme/m1")
        .unwrap();
    m1["discussions"][2]["events"]
        .as_array_mut()
        .unwrap()
        .push(comment("c3-new", &format!("try {commented}"), &[]));
    let server = HubServer::start(root.path(), config);
    let before = server.requests().len();
    let second = run(&server);
    assert_eq!(second["scan"]["blobs"], 1, "only the pushed blob is read");
    assert_eq!(one(&second, &pushed)["new"], true);
    assert_eq!(one(&second, &commented)["new"], true);
    for old in [&t.head, &t.comment, &t.edited, &t.title, &t.pr] {
        assert_eq!(one(&second, old)["new"], false);
    }
    // Fetched into the cache (git requests were made; the blob count above
    // shows only the new commit was read).
    let posts: Vec<Value> = server.requests()[before..]
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().starts_with("/acme/m1"))
        .cloned()
        .collect();
    assert!(!posts.is_empty());
    assert_eq!(second["scan"]["incremental"]["new"], 2);
}

#[test]
fn history_state_reads_a_merged_side_branch_once_and_nothing_older() {
    let repo = repo_with_history();
    let keep = tempfile::tempdir().unwrap();
    let state = keep.path().join("audit.state");
    history_json(repo.path(), &state);
    // A branch from an old commit, merged back: its commit and the merge
    // are new; the old commits below it are not.
    git(repo.path(), &["checkout", "-q", "-b", "side", "HEAD~4"]);
    let side_token = fake_token(1701);
    common::write(
        repo.path(),
        "side.py",
        format!("S = '{side_token}'\n").as_bytes(),
    );
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "side work"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    git(
        repo.path(),
        &["merge", "-q", "--no-ff", "-m", "merge side", "side"],
    );
    let (_, v, _) = history_json(repo.path(), &state);
    assert_eq!(v["scan"]["commits"], 2, "the side commit and the merge");
    assert_eq!(v["scan"]["blobs"], 1);
    let f = one(&v, &side_token);
    assert_eq!(f["new"], true);
    assert_eq!(f["commit"]["summary"], "side work");
    assert_eq!(f["at_head"], true);
    assert_eq!(one(&v, &fake_token(1501))["new"], false);
}

#[test]
fn history_state_keeps_verifications_and_never_sends_a_redacted_token() {
    let root = tempfile::tempdir().unwrap();
    let live = fake_token(1801);
    let server = HubServer::start(root.path(), json!({"repos": [], "valid_tokens": [live]}));
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    common::write(repo.path(), "a.py", format!("T = '{live}'\n").as_bytes());
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "a"]);
    let state = root.path().join("s.state");
    let args = [
        "history",
        ".",
        "--state",
        state.to_str().unwrap(),
        "--verify",
        "--only-verified",
        "--format",
        "json",
        "--no-progress",
    ];
    for run in 0..2 {
        let (code, stdout, stderr) = run_in(&server, repo.path(), &args, &[]);
        assert_eq!(code, 1, "run {run}: {stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        let f = one(&v, &live);
        assert_eq!(f["verification"]["status"], "valid", "run {run}");
        assert_eq!(f["new"], run == 0);
    }
    // Verified once, by the first run; the second had only the redacted
    // form from the state and kept the recorded result.
    assert_eq!(whoami_counts(&server).get(&live), Some(&1));
    assert_eq!(
        whoami_counts(&server).len(),
        1,
        "{:?}",
        whoami_counts(&server)
    );
    assert!(!std::fs::read_to_string(&state).unwrap().contains(&live));
}

#[test]
fn history_state_does_not_report_an_audited_branch_again_when_it_is_merged() {
    let repo = repo_with_history();
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    let token = fake_token(1901);
    common::write(
        repo.path(),
        "feat.py",
        format!("K = '{token}'\n").as_bytes(),
    );
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "feature work"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    let keep = tempfile::tempdir().unwrap();
    let state = keep.path().join("s.state");
    let (_, first, _) = history_json(repo.path(), &state);
    assert_eq!(one(&first, &token)["at_head"], false);
    git(
        repo.path(),
        &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
    );
    let (_, v, _) = history_json(repo.path(), &state);
    assert_eq!(v["scan"]["commits"], 1, "only the merge commit");
    assert_eq!(
        v["scan"]["blobs"], 0,
        "what it brings was audited on the branch"
    );
    let f = one(&v, &token);
    assert_eq!(f["new"], false);
    assert_eq!(f["at_head"], true, "now on HEAD through the merge");
}

#[test]
fn merge_refuses_shards_of_different_commands_and_repos_state_carries_findings() {
    let root = tempfile::tempdir().unwrap();
    let (server, t) = estate(root.path(), json!({}));
    let dir = root.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    common::write(
        &dir,
        "list.txt",
        format!("{}/acme/m1\n", server.endpoint()).as_bytes(),
    );
    let repos_shard = dir.join("repos-1.json");
    run_in(
        &server,
        &dir,
        &[
            "repos",
            "list.txt",
            "--shard",
            "1/1",
            "--no-progress",
            "-o",
            repos_shard.to_str().unwrap(),
        ],
        &[],
    );
    let hub_shard = shard(&server, &dir, 1, 1, &[]);
    let (code, _, stderr) = run_in(
        &server,
        &dir,
        &[
            "merge",
            hub_shard.to_str().unwrap(),
            repos_shard.to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("another command"), "{stderr}");

    let state = dir.join("repos.state");
    for round in 0..2 {
        let (_, stdout, stderr) = run_in(
            &server,
            &dir,
            &[
                "repos",
                "list.txt",
                "--state",
                state.to_str().unwrap(),
                "--format",
                "json",
                "--no-progress",
            ],
            &[],
        );
        let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
        assert_eq!(one(&v, &t.head)["new"], round == 0);
        if round == 1 {
            assert_eq!(v["scan"]["blobs"], 0);
        }
    }
}
