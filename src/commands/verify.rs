//! `hfleaks verify`: checks tokens given as arguments or on standard
//! input. A candidate is sent only if a rule matches the whole of it; any
//! other is named (redacted) as an error, and never sent.

use anyhow::{Context, Result};

use super::{Run, resolve};
use crate::cli::VerifyArgs;
use crate::config::Depth;
use crate::detect::{not_a_token, whole_tokens};
use crate::finding::{Report, ScanKind, ScanStats};
use crate::sources::tokens;
use crate::ui;

pub fn run(mut args: VerifyArgs) -> Result<i32> {
    args.report.verify.get_or_insert(Depth::Live);
    let run = Run::start(resolve(&args.report)?)?;
    let filters = run.filters(&[])?;
    let candidates = tokens::read(&args.tokens).context("cannot read standard input")?;
    let (found, errors) = whole_tokens(&run.engine, &candidates);
    let mut report = Report {
        scan: ScanStats {
            kind: ScanKind::Verify,
            root: candidates.first().map(|c| c.path).unwrap_or("").to_string(),
            ..ScanStats::default()
        },
        errors,
        ..Report::default()
    };
    for (c, whole) in candidates.iter().zip(found) {
        report.scan.bytes += c.text.len() as u64;
        match whole {
            Some(f) => report.findings.push(f),
            None => {
                let error = not_a_token(c);
                ui::error(&error);
                report.errors.push(error);
            }
        }
    }
    run.finish(report, &filters)
}
