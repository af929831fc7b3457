//! `hfleaks staged`: the lines the staged change adds, read from the
//! index (for pre-commit hooks). On a block, it says how to fix it.

use anyhow::{Result, anyhow};

use super::history::{repo_filters, repo_root};
use super::{Run, resolve};
use crate::cli::StagedArgs;
use crate::detect::Collector;
use crate::finding::{Report, ScanKind, ScanStats};
use crate::sources::{git, staged};
use crate::ui;

pub fn run(args: StagedArgs) -> Result<i32> {
    let run = Run::start(resolve(&args.report)?)?;
    let repo = git::open(&args.repo).map_err(|e| anyhow!(e))?;
    let filters = repo_filters(&run, &repo)?;
    let collector = Collector::new(&run.scanner);
    let stats = staged::read(&repo, &collector).map_err(|e| anyhow!(e))?;
    let (findings, errors) = collector.finish().into_findings();
    let report = Report {
        scan: ScanStats {
            kind: ScanKind::Staged,
            root: repo_root(&repo),
            files: stats.files,
            blobs: stats.files,
            bytes: stats.bytes,
            ..ScanStats::default()
        },
        findings,
        errors,
        ..Report::default()
    };
    let findings_code = run.config.exit.findings_code;
    let code = run.finish(report, &filters)?;
    if code != 0 && code == findings_code {
        ui::say(BLOCKED_HINT);
    }
    Ok(code)
}

/// What a pre-commit user reads when `staged` blocks a commit.
pub const BLOCKED_HINT: &str = "\
hfleaks: commit blocked: the staged changes add a Hugging Face token (see above).
  fix:   remove the token from the file, read it from the environment instead
         (os.environ[\"HF_TOKEN\"]; huggingface_hub reads HF_TOKEN by itself),
         and `git add` the file again. If the token was ever pushed, shared or
         run in a public notebook, revoke it: https://huggingface.co/settings/tokens
  false positive? add `hfleaks:allow` in a comment on that line, or put the
         finding's secret_sha256 (or a path pattern) in .hfleaksignore.
";
