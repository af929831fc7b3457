//! `hfleaks history` and `hfleaks staged` on real repositories built with
//! git2 in temporary directories, with fixed author dates.

mod common;

use std::path::Path;

use common::*;
use git2::{IndexEntry, IndexTime, Oid, Repository, Signature, Time};
use serde_json::Value;

/// A repository whose commits are built from in-memory file maps.
struct TestRepo {
    dir: tempfile::TempDir,
    repo: Repository,
    clock: std::cell::Cell<i64>,
}

type Files<'a> = &'a [(&'a str, &'a str)];

impl TestRepo {
    fn new() -> TestRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        TestRepo {
            dir,
            repo,
            clock: std::cell::Cell::new(1_700_000_000),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Commits exactly `files` as the tree on `branch`, with `parents`.
    fn commit_on(&self, branch: &str, files: Files, message: &str, parents: &[Oid]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, content) in files {
            let entry = IndexEntry {
                ctime: IndexTime::new(0, 0),
                mtime: IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100644,
                uid: 0,
                gid: 0,
                file_size: content.len() as u32,
                id: self.repo.blob(content.as_bytes()).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let tree_id = index.write_tree_to(&self.repo).unwrap();
        let tree = self.repo.find_tree(tree_id).unwrap();
        let t = self.clock.get() + 3600;
        self.clock.set(t);
        let sig = Signature::new("Ada Lovelace", "ada@example.com", &Time::new(t, 120)).unwrap();
        let parents: Vec<_> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).unwrap())
            .collect();
        let parent_refs: Vec<_> = parents.iter().collect();
        let id = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parent_refs)
            .unwrap();
        self.repo
            .reference(&format!("refs/heads/{branch}"), id, true, "test")
            .unwrap();
        id
    }

    /// Commits on `main`, on top of its current tip.
    fn commit(&self, files: Files, message: &str) -> Oid {
        let parent = self.repo.refname_to_id("refs/heads/main").ok();
        let id = self.commit_on(
            "main",
            files,
            message,
            &parent.into_iter().collect::<Vec<_>>(),
        );
        self.repo.set_head("refs/heads/main").unwrap();
        id
    }

    /// `history` on the repository as built (loose objects), and again on
    /// a packed copy: the pack pass must report exactly the same.
    fn history(&self, args: &[&str]) -> (i32, Value) {
        let (code, loose) = self.history_loose(args);
        let copy = tempfile::tempdir().unwrap();
        copy_dir(self.path(), copy.path());
        git(copy.path(), &["repack", "-a", "-d", "-q"]);
        assert_eq!(
            pack_files(copy.path(), "pack").len(),
            usize::from(self.repo.head().is_ok()),
            "the copy is packed"
        );
        let mut all = vec!["history", "--no-progress"];
        all.extend(args);
        let (packed_code, packed) = run_json(copy.path(), &all);
        assert_eq!(packed_code, code, "{packed}");
        assert_eq!(comparable(&packed), comparable(&loose));
        (code, loose)
    }

    /// Writes `rel` in the work tree and stages it.
    fn stage(&self, rel: &str, content: &[u8]) {
        write(self.path(), rel, content);
        let mut index = self.repo.index().unwrap();
        index.add_path(Path::new(rel)).unwrap();
        index.write().unwrap();
    }

    /// Deletes a loose object, as a partial clone or a damaged disk would.
    fn remove_loose(&self, id: Oid) {
        let hex = id.to_string();
        let path = self
            .path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        std::fs::remove_file(path).unwrap();
    }

    /// `history` on the repository as it is.
    fn history_loose(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["history", "--no-progress"];
        all.extend(args);
        run_json(self.path(), &all)
    }
}

/// A report without what differs between two copies of a repository.
fn comparable(report: &Value) -> Value {
    let mut v = report.clone();
    v["scan"]["duration_ms"] = Value::Null;
    v["scan"]["root"] = Value::Null;
    v
}

/// Copies a directory tree (files and directories only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn findings(r: &Value) -> &Vec<Value> {
    r["findings"].as_array().unwrap()
}

fn summary(f: &Value) -> &str {
    f["commit"]["summary"].as_str().unwrap()
}

#[test]
fn token_added_then_deleted_is_found_with_its_exposure_window() {
    let t = fake_token(1);
    let r = TestRepo::new();
    r.commit(&[("app.py", "x = 1\n")], "init");
    let added = r.commit(
        &[("app.py", &format!("x = 1\nTOKEN = '{t}'\n"))],
        "add config",
    );
    let removed = r.commit(&[("app.py", "x = 1\n")], "remove token");
    let (code, rep) = r.history(&[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&rep).len(), 1);
    let f = &findings(&rep)[0];
    assert_eq!(f["path"], "app.py");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(f["commit"]["id"], added.to_string());
    assert_eq!(f["commit"]["author"], "Ada Lovelace");
    assert_eq!(f["commit"]["email"], "ada@example.com");
    assert_eq!(f["commit"]["date"], "2023-11-15T02:13:20+02:00");
    assert_eq!(summary(f), "add config");
    assert_eq!(f["at_head"], false);
    assert_eq!(f["removed_in"]["id"], removed.to_string());
    assert_eq!(rep["scan"]["kind"], "history");
    assert_eq!(rep["scan"]["commits"], 3);
    assert_eq!(rep["scan"]["blobs"], 2);
}

#[test]
fn token_still_in_head_is_at_head_and_later_versions_are_not_new_findings() {
    let t = fake_token(2);
    let r = TestRepo::new();
    r.commit(&[("cfg.yaml", &format!("token: {t}\n"))], "first");
    r.commit(&[("cfg.yaml", &format!("a: 1\ntoken: {t}\n"))], "edit");
    r.commit(
        &[("cfg.yaml", &format!("a: 2\ntoken: {t}\n"))],
        "edit again",
    );
    let (_, rep) = r.history(&[]);
    assert_eq!(findings(&rep).len(), 1);
    let f = &findings(&rep)[0];
    assert_eq!(summary(f), "first");
    assert_eq!(f["at_head"], true);
    assert!(f["removed_in"].is_null());
}

#[test]
fn token_on_an_unmerged_branch_is_found() {
    let t = fake_token(3);
    let r = TestRepo::new();
    let base = r.commit(&[("a.py", "x\n")], "init");
    r.commit_on(
        "feature",
        &[("a.py", "x\n"), ("secret.env", &format!("HF_TOKEN={t}\n"))],
        "wip",
        &[base],
    );
    let (code, rep) = r.history(&[]);
    assert_eq!(code, 1);
    let f = &findings(&rep)[0];
    assert_eq!(f["path"], "secret.env");
    assert_eq!(summary(f), "wip");
    assert_eq!(f["at_head"], false);
    assert!(f["removed_in"].is_null(), "never on HEAD's history: {f}");
}

#[test]
fn token_reachable_only_from_a_tag_is_found() {
    let t = fake_token(4);
    let r = TestRepo::new();
    let base = r.commit(&[("a.py", "x\n")], "init");
    let tagged = r.commit_on(
        "tmp",
        &[("a.py", &format!("T='{t}'\n"))],
        "release build",
        &[base],
    );
    let sig = Signature::new("Ada", "ada@example.com", &Time::new(1_700_100_000, 0)).unwrap();
    r.repo
        .tag(
            "v1.0",
            &r.repo.find_object(tagged, None).unwrap(),
            &sig,
            "release",
            false,
        )
        .unwrap();
    r.repo
        .find_reference("refs/heads/tmp")
        .unwrap()
        .delete()
        .unwrap();
    let (code, rep) = r.history(&[]);
    assert_eq!(code, 1);
    assert_eq!(summary(&findings(&rep)[0]), "release build");
}

#[test]
fn renamed_file_is_attributed_to_the_original_commit_and_path() {
    let t = fake_token(5);
    let r = TestRepo::new();
    let added = r.commit(&[("old/name.py", &format!("T='{t}'\n"))], "add");
    r.commit(&[("new/name.py", &format!("T='{t}'\n"))], "move");
    let (_, rep) = r.history(&[]);
    assert_eq!(findings(&rep).len(), 1, "{rep}");
    let f = &findings(&rep)[0];
    assert_eq!(f["path"], "old/name.py");
    assert_eq!(f["commit"]["id"], added.to_string());
    assert_eq!(f["at_head"], true, "the renamed file still holds it");
}

#[test]
fn same_token_in_two_files_is_two_findings() {
    let t = fake_token(6);
    let r = TestRepo::new();
    r.commit(
        &[
            ("a.py", &format!("A='{t}'\n")),
            ("b/c.py", &format!("# x\nC='{t}'\n")),
        ],
        "both",
    );
    let (_, rep) = r.history(&[]);
    let p = paths(&rep);
    assert_eq!(p, ["a.py", "b/c.py"]);
    assert_eq!(findings(&rep)[1]["line"], 2);
}

#[test]
fn range_reports_only_what_its_commits_added() {
    let (old, new) = (fake_token(7), fake_token(8));
    let r = TestRepo::new();
    let base = r.commit(&[("a.py", &format!("OLD='{old}'\n"))], "old leak");
    let intro = r.commit(
        &[
            ("a.py", &format!("OLD='{old}'\nx = 2\n")),
            ("b.py", &format!("NEW='{new}'\n")),
        ],
        "new leak",
    );
    let tip = r.commit(
        &[
            ("a.py", &format!("OLD='{old}'\nx = 3\n")),
            ("b.py", &format!("NEW='{new}'\n")),
        ],
        "later",
    );
    // Including the introducing commit: only the new token.
    let (code, rep) = r.history(&["--range", &format!("{base}..{tip}")]);
    assert_eq!(code, 1);
    assert_eq!(paths(&rep), ["b.py"]);
    assert_eq!(findings(&rep)[0]["commit"]["id"], intro.to_string());
    assert_eq!(findings(&rep)[0]["at_head"], true);
    assert_eq!(rep["scan"]["commits"], 2);
    // Excluding it: nothing.
    let (code, rep) = r.history(&["--range", &format!("{intro}..{tip}")]);
    assert_eq!(code, 0, "{rep}");
    // --since-commit is A..HEAD.
    let (_, rep) = r.history(&["--since-commit", &base.to_string()]);
    assert_eq!(paths(&rep), ["b.py"]);
}

#[test]
fn bad_range_is_an_error() {
    let r = TestRepo::new();
    r.commit(&[("a", "x")], "init");
    let (code, _, stderr) = run(r.path(), &["history", "--range", "nope..HEAD"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid range 'nope..HEAD'"), "{stderr}");
}

#[test]
fn merge_commit_does_not_duplicate_a_branch_token() {
    let t = fake_token(9);
    let r = TestRepo::new();
    let base = r.commit(&[("a.py", "x\n")], "init");
    let side = r.commit_on(
        "side",
        &[("a.py", "x\n"), ("s.py", &format!("S='{t}'\n"))],
        "side leak",
        &[base],
    );
    let main2 = r.commit(&[("a.py", "y\n")], "main work");
    let merge = r.commit_on(
        "main",
        &[("a.py", "y\n"), ("s.py", &format!("S='{t}'\n"))],
        "merge side",
        &[main2, side],
    );
    let (_, rep) = r.history(&[]);
    assert_eq!(findings(&rep).len(), 1);
    assert_eq!(findings(&rep)[0]["commit"]["id"], side.to_string());
    assert_eq!(findings(&rep)[0]["at_head"], true);
    // The merge's range (first parent..merge) includes the side commit.
    let (_, rep) = r.history(&["--range", &format!("{main2}..{merge}")]);
    assert_eq!(findings(&rep).len(), 1);
    assert_eq!(findings(&rep)[0]["commit"]["id"], side.to_string());
}

#[test]
fn empty_repository_reports_nothing() {
    let r = TestRepo::new();
    let (code, rep) = r.history(&[]);
    assert_eq!(code, 0);
    assert_eq!(rep["scan"]["commits"], 0);
    assert!(findings(&rep).is_empty());
}

#[test]
fn not_a_repository_exits_2() {
    let dir = tree(&[("a.txt", "x")]);
    let (code, _, stderr) = run(dir.path(), &["history", "."]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a git repository: ."), "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["staged"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a git repository"), "{stderr}");
}

#[test]
fn commit_messages_are_scanned_with_messages() {
    let t = fake_token(10);
    let r = TestRepo::new();
    r.commit(&[("a", "x")], &format!("debug: use {t} for now\n\nmore"));
    let (code, _) = r.history(&[]);
    assert_eq!(code, 0);
    let (code, rep) = r.history(&["--messages"]);
    assert_eq!(code, 1);
    let f = &findings(&rep)[0];
    assert_eq!(f["path"], "");
    assert_eq!(f["line"], 1);
    assert!(summary(f).starts_with("debug: use hf_"));
    assert!(
        !rep.to_string().contains(&t),
        "message summary must not leak the token"
    );
}

#[test]
fn bare_and_shallow_clones_work() {
    let t = fake_token(11);
    let r = TestRepo::new();
    r.commit(&[("a.py", &format!("T='{t}'\n"))], "leak");
    r.commit(&[("a.py", "clean\n")], "fix");
    r.commit(&[("a.py", "clean\n"), ("b.py", "more\n")], "more");
    let out = tempfile::tempdir().unwrap();
    let src = format!("file://{}", r.path().display());
    git(out.path(), &["clone", "-q", "--bare", &src, "bare.git"]);
    let (code, rep) = run_json(out.path(), &["history", "bare.git", "--no-progress"]);
    assert_eq!(code, 1);
    assert_eq!(summary(&findings(&rep)[0]), "leak");
    git(
        out.path(),
        &["clone", "-q", "--depth", "1", &src, "shallow"],
    );
    let (code, stdout, stderr) = run(
        &out.path().join("shallow"),
        &["history", "--no-progress", "--format", "json"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("shallow clone: history is truncated"),
        "{stderr}"
    );
    // The missing parents beyond the boundary are not errors.
    let rep: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rep["errors"], serde_json::json!([]), "{rep}");
    assert_eq!(rep["scan"]["commits"], 1);
}

#[test]
fn missing_blob_is_an_error_entry_and_the_scan_goes_on() {
    let t = fake_token(12);
    let r = TestRepo::new();
    r.commit(
        &[("a.py", "lost content\n"), ("b.py", &format!("T='{t}'\n"))],
        "c",
    );
    let lost = r.repo.revparse_single("HEAD:a.py").unwrap().id();
    r.remove_loose(lost);
    let (code, rep) = r.history_loose(&[]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(paths(&rep), ["b.py"]);
    let errors = rep["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "a.py");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains(&lost.to_string())
    );
}

#[test]
fn staged_scans_the_index_not_the_working_tree() {
    let (a, b, old) = (fake_token(13), fake_token(14), fake_token(15));
    let r = TestRepo::new();
    r.commit(&[("keep.py", &format!("OLD='{old}'\nx = 1\n"))], "old");
    let mut index = r.repo.index().unwrap();
    index
        .read_tree(&r.repo.head().unwrap().peel_to_tree().unwrap())
        .unwrap();
    index.write().unwrap();
    // checkout the files so the working tree matches HEAD
    r.repo
        .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();

    // An unstaged edit with a token: not reported.
    write(r.path(), "unstaged.py", format!("U='{a}'\n").as_bytes());
    // A staged token, then edited away in the working tree: reported.
    r.stage("staged.py", format!("S='{b}'\n").as_bytes());
    // An unrelated edit to a file holding an old token: not reported.
    r.stage("keep.py", format!("OLD='{old}'\nx = 2\n").as_bytes());
    write(r.path(), "staged.py", b"S = os.environ['HF_TOKEN']\n");

    let (code, rep) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(paths(&rep), ["staged.py"]);
    assert_eq!(rep["scan"]["kind"], "staged");
    let (_, text, stderr) = run(r.path(), &["staged"]);
    assert!(text.contains("staged.py:1:4"), "{text}");
    assert!(stderr.contains("commit blocked"), "{stderr}");
    assert!(
        stderr.contains("HF_TOKEN") && stderr.contains("hfleaks:allow"),
        "{stderr}"
    );
}

#[test]
fn staged_in_a_repository_without_commits() {
    let t = fake_token(16);
    let r = TestRepo::new();
    r.stage("dir with space/ünï.py", format!("T='{t}'\n").as_bytes());
    let (code, rep) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&rep), ["dir with space/ünï.py"]);
    // Nothing staged: clean.
    let r2 = TestRepo::new();
    let (code, _) = run_json(r2.path(), &["staged"]);
    assert_eq!(code, 0);
}

#[test]
fn staged_allow_comment_and_ignore_file_apply() {
    let t = fake_token(17);
    let r = TestRepo::new();
    r.stage("a.py", format!("T='{t}'  # hfleaks:allow\n").as_bytes());
    let (code, rep) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 0, "{rep}");
    assert_eq!(rep["scan"]["files"], 1, "the file was scanned");
    // A path pattern in the work tree's .hfleaksignore.
    r.stage("gen/b.py", format!("T='{}'\n", fake_token(18)).as_bytes());
    let (code, _) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 1);
    write(r.path(), ".hfleaksignore", b"gen/\n");
    let (code, rep) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 0, "{rep}");
    assert_eq!(rep["scan"]["files"], 2);
}

#[test]
fn history_is_deterministic_across_thread_counts() {
    let r = TestRepo::new();
    for i in 0..12u64 {
        let files: Vec<(String, String)> = (0..4)
            .map(|j| {
                (
                    format!("d{j}/f{}.py", i % 3),
                    format!("v{i}\nT='{}'\n", fake_token(100 + i * 4 + j)),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        r.commit(&refs, &format!("c{i}"));
    }
    let (_, one) = r.history(&["--threads", "1"]);
    let (_, two) = r.history(&["--threads", "2"]);
    assert!(!findings(&one).is_empty());
    assert_eq!(comparable(&one), comparable(&two));
}

#[test]
fn staged_works_in_a_linked_worktree() {
    let t = fake_token(40);
    let r = TestRepo::new();
    r.commit(&[("a.py", "x\n")], "init");
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    git(
        r.path(),
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "wt",
            wt_path.to_str().unwrap(),
        ],
    );
    write(&wt_path, "b.py", format!("T='{t}'\n").as_bytes());
    git(&wt_path, &["add", "b.py"]);
    let (code, rep) = run_json(&wt_path, &["staged"]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(paths(&rep), ["b.py"]);
    // The main work tree has nothing staged.
    let (code, _) = run_json(r.path(), &["staged"]);
    assert_eq!(code, 0);
}

#[test]
fn staged_works_during_a_merge() {
    let t = fake_token(41);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "a.py", b"base\n");
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "base"]);
    git(p, &["checkout", "-qb", "side"]);
    write(p, "a.py", b"side\n");
    git(p, &["commit", "-qam", "side"]);
    git(p, &["checkout", "-q", "main"]);
    write(p, "a.py", b"main\n");
    git(p, &["commit", "-qam", "main"]);
    let merge = git_out(p, &["merge", "-q", "side"]);
    assert!(!merge.status.success(), "expected a conflict");
    // Unresolved: reported as a problem, not a crash.
    let (code, _, stderr) = run(p, &["staged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("a.py: has merge conflicts"), "{stderr}");
    // Resolved with a token in the resolution: blocked.
    write(p, "a.py", format!("resolved\nT='{t}'\n").as_bytes());
    git(p, &["add", "a.py"]);
    let (code, rep) = run_json(p, &["staged"]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(findings(&rep)[0]["line"], 2);
}

#[test]
fn packed_and_loose_objects_together_are_all_scanned() {
    let (old, new) = (fake_token(60), fake_token(61));
    let r = TestRepo::new();
    r.commit(&[("old.py", &format!("T='{old}'\n"))], "packed leak");
    git(r.path(), &["repack", "-a", "-d", "-q"]);
    // A loose tree that points at a packed blob, and a loose blob.
    r.commit(
        &[
            ("old.py", &format!("T='{old}'\n")),
            ("new.py", &format!("T='{new}'\n")),
        ],
        "loose leak",
    );
    let (code, rep) = r.history_loose(&[]);
    assert_eq!(code, 1, "{rep}");
    let mut got: Vec<(String, String)> = findings(&rep)
        .iter()
        .map(|f| (f["path"].as_str().unwrap().into(), summary(f).into()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("new.py".to_string(), "loose leak".to_string()),
            ("old.py".to_string(), "packed leak".to_string())
        ]
    );
    assert_eq!(rep["scan"]["blobs"], 2);
    assert!(rep["errors"].as_array().unwrap().is_empty(), "{rep}");
}

#[test]
fn notebook_in_history_names_the_cell() {
    let t = fake_token(62);
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": [format!("login(\"{t}\")\n")]}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let r = TestRepo::new();
    r.commit(
        &[("train.ipynb", &serde_json::to_string_pretty(&nb).unwrap())],
        "nb",
    );
    // Compares the loose and the packed repository, too.
    let (_, rep) = r.history(&[]);
    assert_eq!(
        findings(&rep)[0]["notebook"],
        serde_json::json!({"cell": 2, "part": "source"})
    );
}

#[test]
fn blob_over_max_file_size_is_skipped_in_a_pack_too() {
    let t = fake_token(63);
    let big = format!("T='{}'\n{}", fake_token(64), "x".repeat(3 << 20));
    let r = TestRepo::new();
    r.commit(
        &[("big.txt", &big), ("small.py", &format!("T='{t}'\n"))],
        "c",
    );
    // history() also runs on a packed copy and asserts the same report.
    let (code, rep) = r.history(&["--max-file-size", "1M"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&rep), ["small.py"]);
    assert_eq!(rep["scan"]["skipped"], 1);
    assert_eq!(rep["scan"]["blobs"], 1);
    let (_, _, stderr) = run(
        r.path(),
        &["history", "--no-progress", "--max-file-size", "1M"],
    );
    assert!(
        stderr.contains("skipped big.txt") && stderr.contains("larger than --max-file-size"),
        "{stderr}"
    );
}

#[test]
fn corrupt_pack_is_reported_and_the_scan_goes_on() {
    let (good, lost) = (fake_token(65), fake_token(66));
    let r = TestRepo::new();
    r.commit(&[("good.py", &format!("T='{good}'\n"))], "first");
    git(r.path(), &["repack", "-a", "-d", "-q"]);
    let filler: String = (0..400)
        .map(|i| format!("line {i} {}\n", fake_body(i)))
        .collect();
    r.commit(
        &[
            ("good.py", &format!("T='{good}'\n")),
            ("lost.py", &format!("{filler}T='{lost}'\n")),
        ],
        "second",
    );
    // A second pack with only the new objects; its last object (the new
    // blob, git writes blobs last) gets garbage in its compressed data.
    git(r.path(), &["repack", "-d", "-q"]);
    let mut packs = pack_files(r.path(), "pack");
    assert_eq!(packs.len(), 2);
    packs.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let victim = &packs[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let end = bytes.len() - 20;
    for b in &mut bytes[end - 200..end - 20] {
        *b ^= 0x5a;
    }
    clobber(victim, &bytes);

    let (code, rep) = r.history_loose(&[]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(paths(&rep), ["good.py"], "{rep}");
    let errors = rep["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap().ends_with(".pack")
                && e["message"].as_str().unwrap().contains("one by one")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "lost.py" && e["message"].as_str().unwrap().contains("blob")),
        "{errors:?}"
    );
}

#[test]
fn missing_commit_is_reported_and_its_descendants_are_scanned() {
    let (early, late) = (fake_token(67), fake_token(68));
    let r = TestRepo::new();
    r.commit(&[("a.py", &format!("T='{early}'\n"))], "root");
    let lost = r.commit(&[("a.py", "clean\n")], "middle");
    r.commit(&[("b.py", &format!("T='{late}'\n"))], "tip");
    r.remove_loose(lost);
    let hex = lost.to_string();
    let (code, rep) = r.history_loose(&[]);
    assert_eq!(code, 1, "{rep}");
    // The tip is scanned; what lies behind the missing commit cannot be reached.
    assert_eq!(paths(&rep), ["b.py"]);
    let errors = rep["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == format!("commit {hex}")
            && e["message"].as_str().unwrap().starts_with("missing")),
        "{errors:?}"
    );
}

#[test]
fn clone_sharing_objects_through_alternates_is_scanned() {
    let t = fake_token(69);
    let r = TestRepo::new();
    r.commit(&[("a.py", &format!("T='{t}'\n"))], "leak");
    r.commit(&[("a.py", "clean\n")], "fix");
    git(r.path(), &["repack", "-a", "-d", "-q"]);
    let out = tempfile::tempdir().unwrap();
    let src = r.path().display().to_string();
    git(out.path(), &["clone", "-q", "--shared", &src, "shared"]);
    let shared = out.path().join("shared");
    assert!(shared.join(".git/objects/info/alternates").is_file());
    assert!(
        pack_files(&shared, "pack").is_empty(),
        "objects come from the alternate"
    );
    let (code, rep) = run_json(&shared, &["history", "--no-progress"]);
    assert_eq!(code, 1, "{rep}");
    assert_eq!(paths(&rep), ["a.py"]);
    assert_eq!(summary(&findings(&rep)[0]), "leak");
    assert_eq!(rep["errors"], serde_json::json!([]));
}

/// A user rule (`--rules`) for keys shaped `acme_` + 32 letters and digits.
const ACME_RULE: &str = r#"
[[rules]]
id = "acme-key"
name = "Acme API key"
description = "An Acme API key"
regex = '''acme_[A-Za-z0-9]{32}'''
keywords = ["acme_"]
min_entropy = 3.0
severity = "high"
remediation = "Rotate the key in the Acme console."
"#;

/// A synthetic Acme key from a seed (never a real one).
fn fake_acme_key(seed: u64) -> String {
    format!("acme_{}", &fake_body(seed)[..32])
}

#[test]
fn user_rule_secret_in_a_commit_summary_is_redacted_in_every_format() {
    let key = fake_acme_key(40);
    let t = fake_token(41);
    let r = TestRepo::new();
    r.commit(&[("a.cfg", &format!("key = {key}\n"))], "add config");
    r.commit(
        &[("b.py", &format!("token = '{t}'\n"))],
        &format!("rotate {key} and use it"),
    );
    let rule = r.path().join("acme.toml");
    std::fs::write(&rule, ACME_RULE).unwrap();
    let rule = rule.to_str().unwrap();
    let body = &key["acme_".len()..];
    for format in ["text", "json", "jsonl", "sarif"] {
        let (code, stdout, stderr) = run(
            r.path(),
            &[
                "history",
                "--no-progress",
                "--messages",
                "--rules",
                rule,
                "--format",
                format,
            ],
        );
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(
            stdout.contains("acme-key"),
            "{format}: the user rule found the key: {stdout}"
        );
        assert!(
            stdout.contains("rotate acme_"),
            "{format}: the summary is shown: {stdout}"
        );
        for (what, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !text.contains(body),
                "{format} {what} leaks the key: {text}"
            );
            assert!(
                !text.contains(&t),
                "{format} {what} leaks the token: {text}"
            );
        }
    }
    // With --show-secrets the summary is shown as written.
    let (_, rep) = r.history_loose(&["--messages", "--rules", rule, "--show-secrets"]);
    assert!(rep.to_string().contains(&key));
}

#[test]
fn archives_and_encoded_tokens_in_history_are_attributed() {
    let t = fake_token(42);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "README.md", b"demo\n");
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "init"]);
    let env = format!("# x\nHF_TOKEN={t}\n");
    write(
        p,
        "dist/bundle.zip",
        &zip_of(&[("conf/.env", env.as_bytes())]),
    );
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&t);
    write(
        p,
        "k8s.yaml",
        format!("data:\n  token: {encoded}\n").as_bytes(),
    );
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "add bundle"]);
    let added = git(p, &["rev-parse", "HEAD"]);
    git(p, &["rm", "-q", "k8s.yaml"]);
    git(p, &["commit", "-q", "-m", "drop secret"]);
    let removed = git(p, &["rev-parse", "HEAD"]);
    for packed in [false, true] {
        if packed {
            git(p, &["repack", "-a", "-d", "-q"]);
        }
        let (code, r) = run_json(p, &["history", "--no-progress"]);
        assert_eq!(code, 1, "{r}");
        let f = findings(&r);
        let shown: Vec<(&str, &str, bool)> = f
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap(),
                    f["commit"]["id"].as_str().unwrap(),
                    f["at_head"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("dist/bundle.zip!conf/.env", added.as_str(), true),
                ("k8s.yaml", added.as_str(), false),
            ],
            "packed: {packed}"
        );
        assert_eq!(f[0]["line"], 2);
        assert_eq!(f[1]["encoding"], "base64");
        assert_eq!(f[1]["removed_in"]["id"], removed.as_str());
    }
    // A range sees the same: the member still at the tip, the encoded
    // token removed by the range's last commit.
    let (_, r) = run_json(p, &["history", "--no-progress", "--range", "HEAD~2..HEAD"]);
    let f = findings(&r);
    assert_eq!(f.len(), 2, "{r}");
    assert_eq!(f[0]["path"], "dist/bundle.zip!conf/.env");
    assert_eq!(
        (f[0]["at_head"].as_bool(), f[1]["at_head"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(f[1]["removed_in"]["id"], removed.as_str());
    let (_, r) = run_json(p, &["history", "--no-progress", "--range", "HEAD~1..HEAD"]);
    assert!(findings(&r).is_empty(), "{r}");
}

#[test]
fn an_encoded_token_in_a_commit_summary_is_redacted() {
    use base64::Engine as _;
    let t = fake_token(43);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&t);
    let r = TestRepo::new();
    r.commit(&[("a", "x")], &format!("config: {encoded}"));
    let (code, stdout, stderr) = run(
        r.path(),
        &["history", "--no-progress", "--messages", "--format", "json"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        !stdout.contains(&encoded) && !stdout.contains(&t),
        "{stdout}"
    );
    assert!(stdout.contains("config: [encoded: hf_"), "{stdout}");
}
