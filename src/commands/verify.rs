//! `hfleaks verify`: checks tokens given as arguments or on standard
//! input. A candidate is sent only if a rule matches the whole of it; any
//! other is named (redacted) as an error, and never sent.

use anyhow::{Context, Result};

use super::{Run, resolve};
use crate::cli::VerifyArgs;
use crate::config::Depth;
use crate::detect::{Collector, Scanner};
use crate::finding::{Report, ScanError, ScanKind, ScanStats, redact};
use crate::sources::tokens;
use crate::ui;

pub fn run(mut args: VerifyArgs) -> Result<i32> {
    args.report.verify.get_or_insert(Depth::Live);
    let run = Run::start(resolve(&args.report)?)?;
    let filters = run.filters(&[])?;
    let candidates = tokens::read(&args.tokens).context("cannot read standard input")?;
    // A candidate is sent only as written: nothing is decoded.
    let scanner = Scanner::plain(run.engine.clone());
    let collector = Collector::new(&scanner);
    tokens::feed(&candidates, &collector);
    let collected = collector.finish();

    let mut report = Report {
        scan: ScanStats {
            kind: ScanKind::Verify,
            root: candidates.first().map(|c| c.path).unwrap_or("").to_string(),
            ..ScanStats::default()
        },
        errors: collected.errors,
        ..Report::default()
    };
    let mut hits = collected.hits;
    for c in &candidates {
        report.scan.bytes += c.text.len() as u64;
        let origin = c.origin();
        let whole = hits
            .iter_mut()
            .filter(|h| h.origin == origin)
            .flat_map(|h| std::mem::take(&mut h.findings))
            .find(|f| f.column == 1 && f.end_line == 1 && f.end_column == c.text.len() + 1);
        match whole {
            Some(mut f) => {
                f.line = c.line;
                f.end_line = c.line;
                report.findings.push(f);
            }
            None => {
                let error = ScanError::at(
                    &origin,
                    format!("not a Hugging Face token ({}): not sent", redact(&c.text)),
                );
                ui::error(&error);
                report.errors.push(error);
            }
        }
    }
    run.finish(report, &filters)
}
