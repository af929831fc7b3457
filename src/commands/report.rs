//! `hfleaks report REPORT.json`: an earlier JSON report shown again, as
//! the incident view (text), or as JSON, JSONL, SARIF or HTML. The
//! incidents are computed again from the findings, and everything is
//! redacted unless `--show-secrets`, whatever the file holds.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{EXIT_CLEAN, resolve_output};
use crate::cli::ReportViewArgs;
use crate::config::DetectConfig;
use crate::detect::{Scanner, redact_text};
use crate::finding::Report;
use crate::finding::incident::incidents;
use crate::report;
use crate::rules::load_all;
use crate::ui;

pub fn run(args: ReportViewArgs) -> Result<i32> {
    let path = &args.report;
    let text =
        std::fs::read(path).with_context(|| format!("{}: cannot read report", path.display()))?;
    let mut report: Report = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not an hfleaks JSON report", path.display()))?;
    let scanner = Arc::new(Scanner::build(
        load_all(&args.rules.rules)?,
        DetectConfig::default(),
    ));
    let engine = scanner.shared_engine();
    if !args.show_secrets {
        let redactor = scanner.clone();
        ui::set_redactor(move |line| redact_text(&redactor, line));
    }
    let remediation = |id: &str| {
        engine
            .rules()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.remediation.clone())
    };
    report.remediation = incidents(&report.findings, &remediation, args.show_secrets);
    if !args.show_secrets {
        report.redact(&|t| redact_text(&scanner, t));
    }
    let mut output = resolve_output(&args.out);
    output.show_secrets = args.show_secrets;
    report::emit(&report, engine.rules(), &output)?;
    Ok(EXIT_CLEAN)
}
