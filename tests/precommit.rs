//! The pre-commit hook with the real pre-commit framework: a throw-away
//! repository whose `.pre-commit-config.yaml` points at this checkout.
//!
//! Needs `pre-commit` (PyPI). `.ci/run` installs it in a virtual
//! environment and sets HFLEAKS_REQUIRE_PRECOMMIT=1, so there a missing
//! framework fails the test instead of skipping it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::hook::{HookRepo, output_text, staged_token_blocks_until_fixed};
use common::*;

fn pre_commit() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRE_COMMIT") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then(|| PathBuf::from("pre-commit"))
}

struct Sandbox {
    _home: tempfile::TempDir,
    repo: PathBuf,
    cache: PathBuf,
    pre_commit: PathBuf,
}

impl Sandbox {
    fn cmd(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(&self.repo)
            .env("PRE_COMMIT_HOME", &self.cache)
            // Reuse this build's compiled dependencies when pre-commit runs `cargo install`.
            .env(
                "CARGO_TARGET_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/target/pre-commit"),
            )
            .env("GIT_AUTHOR_NAME", "Dev")
            .env("GIT_AUTHOR_EMAIL", "dev@example.com")
            .env("GIT_COMMITTER_NAME", "Dev")
            .env("GIT_COMMITTER_EMAIL", "dev@example.com")
            .env_remove("HF_ENDPOINT")
            .output()
            .unwrap()
    }

    /// A git command that must succeed.
    fn git(&self, args: &[&str]) {
        let out = self.cmd(Path::new("git"), args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl HookRepo for Sandbox {
    fn repo(&self) -> &Path {
        &self.repo
    }

    fn git(&self, args: &[&str]) {
        Sandbox::git(self, args)
    }

    /// `git commit`, which the hook may block.
    fn commit(&self, message: &str) -> (bool, String) {
        let out = self.cmd(Path::new("git"), &["commit", "-m", message]);
        (out.status.success(), output_text(&out))
    }
}

fn sandbox(hook_id: &str) -> Option<Sandbox> {
    let Some(pre_commit) = pre_commit() else {
        assert!(
            std::env::var_os("HFLEAKS_REQUIRE_PRECOMMIT").is_none(),
            "pre-commit is required (HFLEAKS_REQUIRE_PRECOMMIT is set) but not installed"
        );
        eprintln!(
            "SKIPPED: pre-commit is not installed (pip install pre-commit; .ci/run installs it)"
        );
        return None;
    };
    let this = env!("CARGO_MANIFEST_DIR");
    let rev = git(Path::new(this), &["rev-parse", "HEAD"]);
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("project");
    std::fs::create_dir(&repo).unwrap();
    let sb = Sandbox {
        cache: home.path().join("pre-commit-cache"),
        repo,
        _home: home,
        pre_commit,
    };
    sb.git(&["init", "-q", "-b", "main"]);
    write(
        &sb.repo,
        ".pre-commit-config.yaml",
        format!("repos:\n  - repo: {this}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n")
            .as_bytes(),
    );
    let out = sb.cmd(&sb.pre_commit, &["install"]);
    assert!(
        out.status.success(),
        "pre-commit install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    write(&sb.repo, "README.md", b"# demo\n");
    sb.git(&["add", "-A"]);
    let (ok, out) = sb.commit("clean start");
    assert!(ok, "a clean commit must pass:\n{out}");
    Some(sb)
}

/// The whole user story, once per hook flavour.
fn blocks_tokens_and_passes_clean_commits(hook_id: &str) {
    let Some(sb) = sandbox(hook_id) else { return };
    // A staged token blocks the commit, with where, what and how to fix;
    // fixed (read from the environment), it goes through.
    let out = staged_token_blocks_until_fixed(&sb, &fake_token(1));
    assert!(out.contains("huggingface.co/settings/tokens"), "{out}");
    assert!(
        out.contains("hfleaks:allow") && out.contains(".hfleaksignore"),
        "{out}"
    );

    // A token only in an unstaged edit does not block.
    write(
        &sb.repo,
        "train.py",
        format!("login(token=\"{}\")\n", fake_token(2)).as_bytes(),
    );
    write(&sb.repo, "notes.md", b"notes\n");
    sb.git(&["add", "notes.md"]);
    let (ok, out) = sb.commit("notes");
    assert!(ok, "{out}");
    sb.git(&["checkout", "--", "train.py"]);

    // hfleaks:allow accepts a known false positive.
    write(
        &sb.repo,
        "fixture.py",
        format!("T = \"{}\"  # hfleaks:allow\n", fake_token(3)).as_bytes(),
    );
    sb.git(&["add", "fixture.py"]);
    let (ok, out) = sb.commit("fixture");
    assert!(ok, "{out}");
}

#[test]
fn pre_commit_hook_built_with_cargo() {
    blocks_tokens_and_passes_clean_commits("hfleaks");
}
