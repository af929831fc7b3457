//! What one run was asked to do, as plain values: the command line and
//! the environment resolved once (in `commands::resolve`) into a
//! [`RunConfig`]. Nothing here knows about the argument parser, and
//! nothing below `commands/` reads flags or the environment itself.

use std::path::PathBuf;
use std::time::Duration;

use crate::finding::{Finding, Status};
use crate::report::Format;
use crate::verify::Endpoint;

/// Everything a reporting command needs besides its source.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `--rules`: extra rule files or directories.
    pub rules: Vec<PathBuf>,
    pub detect: DetectConfig,
    pub filters: FilterConfig,
    pub verify: VerifyConfig,
    pub output: OutputConfig,
    pub exit: ExitPolicy,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Progress bars allowed (not `--no-progress`, not `--quiet`).
    pub progress: bool,
    /// `--quiet`: no notes or summary.
    pub quiet: bool,
}

/// How far content is unpacked before it is matched.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Decode base64, percent-encoding, `\u` escapes and hex (`--no-decode`).
    pub decode: bool,
    /// Nesting of encodings followed (`--max-decode-depth`).
    pub max_decode_depth: usize,
    /// Open archives and compressed files (`--no-archives`).
    pub archives: bool,
    /// Archives inside archives opened (`--max-archive-depth`).
    pub max_archive_depth: usize,
    /// Decompressed bytes of one archive (`--max-archive-size`).
    pub max_archive_bytes: u64,
    /// Largest expansion of a compressed member (`--max-archive-ratio`).
    pub max_archive_ratio: u64,
    /// Largest archive member read (the command's `--max-file-size`).
    pub max_member_bytes: u64,
}

impl DetectConfig {
    /// `--max-decode-depth`'s default.
    pub const DECODE_DEPTH: usize = 2;
    /// `--max-archive-depth`'s default.
    pub const ARCHIVE_DEPTH: usize = 2;
    /// `--max-archive-size`'s default.
    pub const ARCHIVE_BYTES: u64 = 256 << 20;
    /// `--max-archive-ratio`'s default.
    pub const ARCHIVE_RATIO: u64 = 100;
    /// `--max-file-size`'s default.
    pub const MEMBER_BYTES: u64 = 50 << 20;
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            decode: true,
            max_decode_depth: Self::DECODE_DEPTH,
            archives: true,
            max_archive_depth: Self::ARCHIVE_DEPTH,
            max_archive_bytes: Self::ARCHIVE_BYTES,
            max_archive_ratio: Self::ARCHIVE_RATIO,
            max_member_bytes: Self::MEMBER_BYTES,
        }
    }
}

/// What findings the user has accepted already.
#[derive(Debug, Clone, Default)]
pub struct FilterConfig {
    pub baseline: Option<PathBuf>,
    pub ignore_files: Vec<PathBuf>,
}

/// Where the report goes and how it looks.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// `--format`, if given.
    pub format: Option<Format>,
    /// `-o FILE`, repeatable; empty: standard output.
    pub files: Vec<PathBuf>,
    pub show_secrets: bool,
    /// Colour on standard output (resolved from `--color`, the terminal
    /// and `NO_COLOR`).
    pub color: bool,
    /// Text: one incident per token (not `--no-group`).
    pub group: bool,
}

/// How much to find out about each token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Depth {
    /// Whether it is live, who owns it and its role (one whoami-v2 request).
    Live,
    /// Also list the repositories it exposes (as --analyze).
    Deep,
}

/// Verification settings of one run.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Verify at all (`--verify`, `--analyze`, `--only-verified`, `--fail-on valid`).
    pub enabled: bool,
    /// `--offline` or `HF_HUB_OFFLINE`: nothing is sent.
    pub offline: bool,
    /// Where tokens go; checked, so only `https://` or loopback `http://`.
    pub endpoint: Endpoint,
    pub timeout: Duration,
    pub concurrency: usize,
    /// `--analyze`: list exposed repositories, at most this many per owner and kind.
    pub analyze_max_repos: Option<usize>,
    pub only_verified: bool,
}

/// Which findings make the exit code 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any reported finding.
    #[default]
    Any,
    /// Only findings whose token is verified live.
    Valid,
    /// None: report, but exit 0 (errors still exit 2).
    None,
}

impl FailOn {
    /// Whether `f` makes the run fail.
    pub fn fails(self, f: &Finding) -> bool {
        match self {
            FailOn::Any => true,
            FailOn::Valid => f
                .verification
                .as_ref()
                .is_some_and(|v| v.status == Status::Valid),
            FailOn::None => false,
        }
    }
}

/// The exit-code contract of a reporting command.
#[derive(Debug, Clone, Copy)]
pub struct ExitPolicy {
    /// `--exit-code`: the code when a finding fails the run.
    pub findings_code: i32,
    pub fail_on: FailOn,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Verification;

    #[test]
    fn fail_on_chooses_what_fails() {
        let mut f: Finding = serde_json::from_value(serde_json::json!({
            "rule_id": "r", "severity": "high", "path": "p", "line": 1, "column": 1,
            "end_line": 1, "end_column": 2, "secret": "s", "secret_sha256": "h",
            "entropy": 0.0, "commit": null, "at_head": null, "removed_in": null,
            "notebook": null, "encoding": null, "verification": null
        }))
        .unwrap();
        assert!(FailOn::Any.fails(&f));
        assert!(!FailOn::Valid.fails(&f));
        assert!(!FailOn::None.fails(&f));
        f.verification = Some(Verification::bare(Status::Valid, None));
        assert!(FailOn::Valid.fails(&f));
    }
}
