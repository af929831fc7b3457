//! `hfleaks report REPORT.json`: an earlier JSON report shown again, as
//! the incident view (text), or as JSON, JSONL, SARIF or HTML. The
//! incidents are computed again when the report has none.

use anyhow::{Context, Result};

use super::{EXIT_CLEAN, resolve_output};
use crate::cli::ReportViewArgs;
use crate::finding::incident::incidents;
use crate::finding::{Report, sha256_hex};
use crate::report;
use crate::rules::load_all;

pub fn run(args: ReportViewArgs) -> Result<i32> {
    let path = &args.report;
    let text =
        std::fs::read(path).with_context(|| format!("{}: cannot read report", path.display()))?;
    let mut report: Report = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not an hfleaks JSON report", path.display()))?;
    let rules = load_all(&args.rules.rules)?;
    if report.remediation.is_empty() && !report.findings.is_empty() {
        // Written with --show-secrets when every secret matches its hash.
        let raw = report
            .findings
            .iter()
            .all(|f| sha256_hex(f.secret.as_bytes()) == f.secret_sha256);
        let remediation = |id: &str| {
            rules
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.remediation.clone())
        };
        report.remediation = incidents(&report.findings, &remediation, raw);
    }
    report::emit(&report, &rules, &resolve_output(&args.out))?;
    Ok(EXIT_CLEAN)
}
