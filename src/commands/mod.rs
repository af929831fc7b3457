//! One short script per command, wiring the stages together:
//! source → engine (via `detect::Collector`) → filters → verify → report.
//! This module resolves the flags once ([`resolve`], in `resolve.rs`), sets up the run
//! ([`Run::start`]), and decides the exit code ([`exit_code`]); the stages
//! themselves decide nothing about the command line.

pub mod fleet;
pub mod history;
pub mod hub;
pub mod merge;
pub mod report;
pub mod repos;
mod resolve;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod staged;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

pub use resolve::{resolve, resolve_hub, resolve_output};

use crate::config::{DetectConfig, ExitPolicy, FilterConfig, RunConfig};
use crate::detect::{Scanner, redact_text};
use crate::engine::Engine;
use crate::filter::Filters;
use crate::finding::Report;
use crate::finding::incident::incidents;
use crate::report as render;
use crate::rules::load_all;
use crate::ui;
use crate::verify::verify_findings;

/// Exit code: nothing found.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: an error stopped the run or, with no finding, inputs could not be read.
pub const EXIT_ERROR: i32 = 2;

/// A reporting command under way: its configuration, its engine and
/// scanner, and when it started.
pub struct Run {
    pub config: RunConfig,
    pub engine: Arc<Engine>,
    /// The engine with the decoders and archive readers around it.
    pub scanner: Arc<Scanner>,
    started: Instant,
}

impl Run {
    /// Sets up the terminal and the thread pool, and loads the rules (a
    /// rule file that is wrong stops the run here, naming it). Unless
    /// `--show-secrets`, every line shown from now on is redacted by the
    /// run's rules.
    pub fn start(config: RunConfig) -> Result<Run> {
        let started = Instant::now();
        ui::set_quiet(config.quiet);
        ui::set_progress(config.progress);
        if config.threads > 0 {
            // Fails only if a pool exists already, which then keeps its size.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(config.threads)
                .build_global();
        }
        let scanner = redacting_scanner(
            &config.rules,
            config.detect.clone(),
            config.output.show_secrets,
        )?;
        let engine = scanner.shared_engine();
        Ok(Run {
            config,
            engine,
            scanner,
            started,
        })
    }

    /// The filters of `--ignore-file`, the given project ignore files and
    /// `--baseline`.
    pub fn filters(&self, project_files: &[PathBuf]) -> Result<Filters> {
        let FilterConfig {
            baseline,
            ignore_files,
        } = &self.config.filters;
        let mut filters = Filters::load(project_files, baseline.as_deref())?;
        for file in ignore_files {
            filters.add_ignore_file(file)?;
        }
        Ok(filters)
    }

    /// Filters, verifies (with `--verify`), sorts, redacts and writes the
    /// report, shows the summary, and returns the exit code.
    pub fn finish(self, report: Report, filters: &Filters) -> Result<i32> {
        self.finish_report(report, filters).map(|(code, _)| code)
    }

    /// [`Run::finish`] for a run with a state file (`--state`): the report
    /// counts its new and carried findings (`full` repos audited in full,
    /// `from_state` from their record), and the findings the record keeps
    /// come back: every one, before the filters and `--only-verified` (what
    /// one report leaves out is not forgotten), redacted like the report,
    /// with this run's verifications.
    pub fn finish_recorded(
        self,
        mut report: Report,
        filters: &Filters,
        full: u64,
        from_state: u64,
    ) -> Result<(i32, Vec<crate::finding::Finding>)> {
        let mut kept = self.for_state(&report.findings);
        report.findings.retain(|f| filters.keep(f));
        report.scan.incremental = Some(crate::finding::Incremental::of(
            &report.findings,
            full,
            from_state,
        ));
        let (code, written) = self.finish_report(report, filters)?;
        let verified: std::collections::HashMap<&str, &crate::finding::Finding> = written
            .findings
            .iter()
            .filter(|f| f.verification.is_some())
            .map(|f| (f.secret_sha256.as_str(), f))
            .collect();
        for f in &mut kept {
            if let Some(v) = verified.get(f.secret_sha256.as_str()) {
                f.verification = v.verification.clone();
                f.severity = v.severity;
            }
        }
        Ok((code, kept))
    }

    /// [`Run::finish`], also giving back the report as written.
    fn finish_report(self, mut report: Report, filters: &Filters) -> Result<(i32, Report)> {
        let rules = self.engine.rules();
        report.findings.retain(|f| filters.keep(f));
        // Verification needs the raw secrets: before redaction.
        verify_findings(&mut report.findings, rules, &self.config.verify);
        report.sort();
        remediate_and_redact(&mut report, &self.scanner, self.config.output.show_secrets);
        report.scan.duration_ms = self.started.elapsed().as_millis() as u64;
        render::emit(&report, rules, &self.config.output)?;
        ui::info(render::summary::line(&report));
        Ok((exit_code(&report, &self.config.exit), report))
    }

    /// The digest of what the run detects: its rules (`crate::rules::digest`)
    /// and the detection settings (decoding, archives, size limits). Two
    /// runs with the same digest find the same things in the same bytes.
    pub fn rules_digest(&self) -> String {
        let d = &self.config.detect;
        let settings = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            crate::rules::digest(self.engine.rules()),
            d.decode,
            d.max_decode_depth,
            d.archives,
            d.max_archive_depth,
            d.max_archive_bytes,
            d.max_archive_ratio,
            d.max_member_bytes
        );
        crate::finding::sha256_hex(settings.as_bytes())
    }

    /// `findings` as a state file keeps them: redacted like the report
    /// (unless `--show-secrets`), without this run's `new` mark.
    fn for_state(&self, findings: &[crate::finding::Finding]) -> Vec<crate::finding::Finding> {
        let mut r = Report {
            findings: findings.to_vec(),
            ..Report::default()
        };
        if !self.config.output.show_secrets {
            r.redact(&|text| redact_text(&self.scanner, text));
        }
        for f in &mut r.findings {
            f.new = None;
        }
        r.findings
    }
}

/// The scanner for the built-in rules and those at `rules`. Unless
/// `show_secrets`, every line shown from now on is redacted by it.
pub fn redacting_scanner(
    rules: &[PathBuf],
    detect: DetectConfig,
    show_secrets: bool,
) -> Result<Arc<Scanner>> {
    let scanner = Arc::new(Scanner::build(load_all(rules)?, detect));
    if !show_secrets {
        let redactor = scanner.clone();
        ui::set_redactor(move |line| redact_text(&redactor, line));
    }
    Ok(scanner)
}

/// Builds the incident view of the report's findings (raw, or read back
/// redacted) with each rule's own fix text, then, unless `show_secrets`,
/// redacts everything the report quotes.
pub fn remediate_and_redact(report: &mut Report, scanner: &Scanner, show_secrets: bool) {
    let rules = scanner.shared_engine();
    let remediation = |id: &str| {
        rules
            .rules()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.remediation.clone())
    };
    report.remediation = incidents(&report.findings, &remediation, show_secrets);
    if !show_secrets {
        report.redact(&|text| redact_text(scanner, text));
    }
}

/// The exit-code contract, decided here and nowhere else: a finding that
/// fails the run (`--fail-on`) → `--exit-code` (1); no finding but an
/// error shown or recorded → 2; otherwise 0.
pub fn exit_code(report: &Report, policy: &ExitPolicy) -> i32 {
    if report.findings.iter().any(|f| policy.fail_on.fails(f)) {
        policy.findings_code
    } else if !report.findings.is_empty() {
        EXIT_CLEAN
    } else if !report.errors.is_empty() || ui::errored() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FailOn;

    #[test]
    fn exit_code_follows_the_contract() {
        let policy = ExitPolicy {
            findings_code: 1,
            fail_on: FailOn::Any,
        };
        let mut r = Report::default();
        r.errors
            .push(crate::finding::ScanError::new("a", "cannot read"));
        assert_eq!(exit_code(&r, &policy), EXIT_ERROR);
        r.findings.push(
            serde_json::from_value(serde_json::json!({
                "rule_id": "r", "severity": "high", "path": "p", "line": 1, "column": 1,
                "end_line": 1, "end_column": 2, "secret": "s", "secret_sha256": "h",
                "entropy": 0.0, "commit": null, "at_head": null, "removed_in": null,
                "notebook": null, "encoding": null, "verification": null
            }))
            .unwrap(),
        );
        assert_eq!(exit_code(&r, &policy), 1);
        let none = ExitPolicy {
            findings_code: 1,
            fail_on: FailOn::None,
        };
        assert_eq!(exit_code(&r, &none), EXIT_CLEAN);
    }
}
