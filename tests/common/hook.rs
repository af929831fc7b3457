//! The story every pre-commit hook flavour must tell (the `language: rust`
//! hook of tests/precommit.rs, the wheel mirror of tests/precommit_mirror.rs):
//! a staged token blocks the commit, and the fixed file goes through.

use std::path::Path;
use std::process::Output;

/// A repository whose commits run the hook.
pub trait HookRepo {
    fn repo(&self) -> &Path;
    /// A git command that must succeed.
    fn git(&self, args: &[&str]);
    /// `git commit -m MESSAGE`: whether it went through, and what it printed.
    fn commit(&self, message: &str) -> (bool, String);
}

/// What a command printed, stdout then stderr.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Token `t` staged in `train.py` blocks the commit: where it is, the token
/// redacted and never whole, `HF_TOKEN` as the fix. The file reading the
/// token from the environment then commits. Returns what the blocked
/// commit printed, for a flavour's own checks.
pub fn staged_token_blocks_until_fixed(r: &impl HookRepo, t: &str) -> String {
    super::write(
        r.repo(),
        "train.py",
        format!("import os\n\nlogin(token=\"{t}\")\n").as_bytes(),
    );
    r.git(&["add", "train.py"]);
    let (ok, blocked) = r.commit("add training");
    assert!(!ok, "the commit must be blocked:\n{blocked}");
    assert!(blocked.contains("train.py:3:14"), "{blocked}");
    assert!(
        blocked.contains(&format!("{}…{}", &t[..7], &t[t.len() - 4..])),
        "redacted token: {blocked}"
    );
    assert!(
        !blocked.contains(t),
        "the token itself must not be printed: {blocked}"
    );
    assert!(blocked.contains("HF_TOKEN"), "{blocked}");

    super::write(
        r.repo(),
        "train.py",
        b"import os\n\nlogin(token=os.environ[\"HF_TOKEN\"])\n",
    );
    r.git(&["add", "train.py"]);
    let (ok, out) = r.commit("add training");
    assert!(ok, "{out}");
    blocked
}
