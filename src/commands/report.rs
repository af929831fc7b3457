//! `hfleaks report REPORT.json`: an earlier JSON report shown again, as
//! the incident view (text), or as JSON, JSONL, SARIF or HTML. The
//! incidents are computed again from the findings, and everything is
//! redacted unless `--show-secrets`, whatever the file holds.

use anyhow::Result;

use super::{EXIT_CLEAN, redacting_scanner, remediate_and_redact, resolve_output};
use crate::cli::ReportViewArgs;
use crate::config::DetectConfig;
use crate::report;
use crate::report::read as read_report;

pub fn run(args: ReportViewArgs) -> Result<i32> {
    let mut report = read_report(&args.report)?;
    let scanner = redacting_scanner(
        &args.rules.rules,
        DetectConfig::default(),
        args.show_secrets,
    )?;
    remediate_and_redact(&mut report, &scanner, args.show_secrets);
    let mut output = resolve_output(&args.out);
    output.show_secrets = args.show_secrets;
    report::emit(&report, scanner.shared_engine().rules(), &output)?;
    Ok(EXIT_CLEAN)
}
