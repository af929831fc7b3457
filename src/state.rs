//! What an incremental audit (`--state FILE`) keeps between runs: per
//! repository, the ref tips it audited, the discussion events it read and
//! a Space's variables (Hub repos) and the findings so far. A later run audits only what is not
//! reachable from the recorded tips and only new or edited events. The
//! file is versioned and written atomically; a corrupt or foreign file is
//! an error, never a silent full or empty audit.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, ScanKind};

/// The `format` every state file starts with.
pub const STATE_FORMAT: &str = "hfleaks-state";
/// The version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The whole state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub format: String,
    pub version: u32,
    /// The command that wrote it (`history`, `hub`, `repos`).
    pub kind: ScanKind,
    /// The rules it was made with: other rules mean a full audit again.
    pub rules_sha256: String,
    /// By repo id (`.`-relative root for `history`).
    pub repos: BTreeMap<String, RepoState>,
}

/// One repository's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepoState {
    /// Ref name → commit id, as audited.
    pub tips: BTreeMap<String, String>,
    /// Every commit audited (reachable from `tips`): 40-hex ids, sorted and
    /// concatenated. A later run walks new commits down to these.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commits: String,
    /// Discussion number → event id → digest of that event's texts (`""`:
    /// the title).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub discussions: BTreeMap<u64, BTreeMap<String, String>>,
    /// A Storage Bucket: path → the `xetHash` of the content scanned there
    /// (the same hash later means the same bytes: not downloaded again).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// A Space: variable key → its `updatedAt` when last scanned (the same
    /// time later means the same variable: not scanned again).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// Every finding so far (as reports write them: redacted unless
    /// `--show-secrets`).
    pub findings: Vec<Finding>,
}

impl State {
    pub fn new(kind: ScanKind, rules_sha256: String) -> State {
        State {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            kind,
            rules_sha256,
            repos: BTreeMap::new(),
        }
    }

    /// The state at `path`: `None` when the file does not exist (a first
    /// run). A file that is not an hfleaks state, of another version, or
    /// of another command is an error naming it.
    pub fn load(path: &Path, kind: ScanKind) -> Result<Option<State>, String> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: cannot read the state: {e}", path.display())),
        };
        let shown = path.display();
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "{shown}: not an hfleaks state file (corrupt JSON: {e}); remove it to start over"
            )
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(STATE_FORMAT) {
            return Err(format!(
                "{shown}: not an hfleaks state file (no \"format\": \"{STATE_FORMAT}\")"
            ));
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(STATE_VERSION) {
            return Err(format!(
                "{shown}: state version {version}, this hfleaks reads version {STATE_VERSION}"
            ));
        }
        let state: State = serde_json::from_value(value)
            .map_err(|e| format!("{shown}: corrupt hfleaks state: {e}"))?;
        if state.kind != kind {
            return Err(format!(
                "{shown}: a state of `hfleaks {}`, not of `hfleaks {}`",
                kind_name(state.kind),
                kind_name(kind)
            ));
        }
        Ok(Some(state))
    }

    /// The state for a run whose detection digest is `digest`: the one at
    /// `path`, or a new one (the first run, or one recorded with other
    /// rules or settings, which means auditing everything again, noted).
    pub fn open(path: &Path, kind: ScanKind, digest: &str) -> Result<State, String> {
        match State::load(path, kind)? {
            Some(s) if s.rules_sha256 == digest => Ok(s),
            Some(_) => {
                crate::ui::note(format!(
                    "{}: recorded with other rules: auditing everything again",
                    path.display()
                ));
                Ok(State::new(kind, digest.to_string()))
            }
            None => Ok(State::new(kind, digest.to_string())),
        }
    }

    /// Writes the state atomically (a temporary file beside it, renamed).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("{shown}: cannot write the state: {e}"))?;
        serde_json::to_writer(&mut tmp, self)
            .map_err(|e| format!("{shown}: cannot write the state: {e}"))?;
        tmp.write_all(b"\n")
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| format!("{shown}: cannot write the state: {e}"))?;
        tmp.persist(path)
            .map_err(|e| format!("{shown}: cannot write the state: {}", e.error))?;
        Ok(())
    }
}

/// `commits` as a state keeps them: sorted 40-hex ids, concatenated.
pub fn format_commits(commits: &[git2::Oid]) -> String {
    let mut ids: Vec<String> = commits.iter().map(|c| c.to_string()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.concat()
}

/// The commits of [`format_commits`]' text (what does not parse is left out).
pub fn parse_commits(text: &str) -> std::collections::HashSet<git2::Oid> {
    text.as_bytes()
        .chunks(40)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .filter_map(|c| git2::Oid::from_str(c).ok())
        .collect()
}

fn kind_name(kind: ScanKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        assert!(State::load(&path, ScanKind::History).unwrap().is_none());
        let mut s = State::new(ScanKind::History, "abc".into());
        s.repos.insert(
            ".".into(),
            RepoState {
                tips: [("refs/heads/main".to_string(), "00".repeat(20))].into(),
                ..RepoState::default()
            },
        );
        s.save(&path).unwrap();
        let back = State::load(&path, ScanKind::History).unwrap().unwrap();
        assert_eq!(back.repos["."].tips.len(), 1);
        assert_eq!(back.rules_sha256, "abc");
    }

    #[test]
    fn corrupt_foreign_and_other_command_states_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        for (text, says) in [
            ("{not json", "corrupt JSON"),
            ("{\"findings\": []}", "not an hfleaks state"),
            (
                "{\"format\": \"hfleaks-state\", \"version\": 99}",
                "state version 99",
            ),
            (
                "{\"format\": \"hfleaks-state\", \"version\": 1, \"kind\": \"history\"}",
                "corrupt hfleaks state",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = State::load(&path, ScanKind::History).unwrap_err();
            assert!(e.contains(says) && e.contains("s.state"), "{text}: {e}");
        }
        State::new(ScanKind::Hub, "x".into()).save(&path).unwrap();
        let e = State::load(&path, ScanKind::History).unwrap_err();
        assert!(e.contains("hfleaks hub"), "{e}");
    }
}
