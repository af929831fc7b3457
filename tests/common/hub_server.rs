//! The mock Hub of `tests/mockhub.py` (listings, discussions, and real git
//! smart HTTP through `git http-backend`) started on 127.0.0.1 for one
//! test, and the bare repos it serves, built here with the git CLI. The
//! server exits when the test drops it (its standard input closes).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::git;

/// A mock Hub under way.
pub struct HubServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl HubServer {
    /// Starts the server with `config` (see tests/mockhub.py); `git_root`
    /// holds the bare repos; requests are logged beside it.
    pub fn start(root: &Path, mut config: Value) -> HubServer {
        let log = root.join("requests.jsonl");
        config["git_root"] = json!(root.join("git"));
        config["log"] = json!(log);
        let config_path = root.join("hub.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let python = std::env::var("HFLEAKS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mockhub.py"))
            .arg(&config_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/mockhub.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("mock Hub did not start: {line:?}"));
        HubServer { child, port, log }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far: `{method, path, authorization}`.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repo being built: a work tree whose commits are pushed to the bare
/// repo the mock serves at `git/{kind}s/{id}.git`.
pub struct RepoBuilder {
    work: tempfile::TempDir,
    bare: PathBuf,
}

impl RepoBuilder {
    /// `kind`: `model`, `dataset` or `space`.
    pub fn new(root: &Path, kind: &str, id: &str) -> RepoBuilder {
        let work = tempfile::tempdir().unwrap();
        git(work.path(), &["init", "-q", "-b", "main"]);
        let bare = root
            .join("git")
            .join(format!("{kind}s"))
            .join(format!("{id}.git"));
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        git(
            root,
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
        RepoBuilder { work, bare }
    }

    /// Writes `files` and commits them with `message`.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            super::write(self.work.path(), path, content.as_bytes());
        }
        git(self.work.path(), &["add", "-A"]);
        git(self.work.path(), &["commit", "-q", "-m", message]);
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    /// Removes `paths` and commits.
    pub fn remove(&self, paths: &[&str], message: &str) -> String {
        for p in paths {
            git(self.work.path(), &["rm", "-q", p]);
        }
        git(self.work.path(), &["commit", "-q", "-m", message]);
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// Pushes main (and tags) to the served repo.
    pub fn publish(&self) {
        git(
            self.work.path(),
            &[
                "push",
                "-q",
                "--force",
                self.bare.to_str().unwrap(),
                "main",
                "--tags",
            ],
        );
    }

    /// Pushes `rev` as `refs/pr/N` only.
    pub fn publish_pr(&self, n: u64, rev: &str) {
        let spec = format!("{rev}:refs/pr/{n}");
        git(
            self.work.path(),
            &["push", "-q", "--force", self.bare.to_str().unwrap(), &spec],
        );
    }
}

/// A discussion for the mock's config: `events` as the Hub sends them.
pub fn discussion(num: u64, title: &str, is_pr: bool, events: Vec<Value>) -> Value {
    json!({"num": num, "title": title, "isPullRequest": is_pr, "author": "alice",
           "events": events})
}

/// A comment event whose latest text is `latest` and earlier revisions `history`.
pub fn comment(id: &str, latest: &str, history: &[&str]) -> Value {
    let history: Vec<Value> = history
        .iter()
        .map(|raw| json!({"raw": raw, "updatedAt": "2026-01-01T00:00:00.000Z"}))
        .collect();
    json!({"id": id, "type": "comment", "createdAt": "2026-01-02T00:00:00.000Z",
           "author": {"name": "bob"},
           "data": {"edited": !history.is_empty(), "hidden": false,
                    "latest": {"raw": latest, "updatedAt": "2026-01-03T00:00:00.000Z"},
                    "history": history}})
}
