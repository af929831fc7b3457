//! The human-readable report: one block per finding, with where it is, the
//! redacted secret, its provenance and status, and how to fix it.

use std::io::{self, Write};

use crate::finding::{Finding, Report};
use crate::rules::{Rule, Severity};
use crate::verify::Status;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.paint(code, s.as_str())
    }
}

/// Control characters in paths (a newline in a file name) would break the
/// layout and could forge lines; show them escaped.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

pub fn write(report: &Report, color: bool, rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    let style = Style { color };
    for f in &report.findings {
        write_finding(f, &style, rules, out)?;
    }
    Ok(())
}

fn write_finding(
    f: &Finding,
    style: &Style,
    rules: &[Rule],
    out: &mut dyn Write,
) -> io::Result<()> {
    let place = if f.path.is_empty() {
        "commit message".to_string()
    } else {
        printable(&f.path)
    };
    writeln!(
        out,
        "{}:{}:{}  {}  {}",
        style.paint("1", &place),
        f.line,
        f.column,
        style.severity(f.severity),
        f.rule_id
    )?;
    writeln!(
        out,
        "  secret   {}  (sha256 {})",
        f.secret,
        &f.secret_sha256[..f.secret_sha256.len().min(12)]
    )?;
    if let Some(nb) = &f.notebook {
        writeln!(out, "  cell     {} ({})", nb.cell, nb.part)?;
    }
    if let Some(c) = &f.commit {
        writeln!(
            out,
            "  commit   {}  {}  {} <{}>  {}",
            short(&c.id),
            c.date,
            printable(&c.author),
            printable(&c.email),
            printable(&c.summary)
        )?;
    }
    match (f.at_head, &f.removed_in) {
        (Some(true), _) => writeln!(out, "  exposure still present at HEAD")?,
        (Some(false), Some(r)) => writeln!(
            out,
            "  exposure removed in {}  {}  {}",
            short(&r.id),
            r.date,
            printable(&r.summary)
        )?,
        (Some(false), None) => writeln!(out, "  exposure not at HEAD (only on other refs)")?,
        _ => {}
    }
    if let Some(v) = &f.verification {
        let status = match v.status {
            Status::Valid => style.paint("1;31", "VALID (live token)"),
            Status::Invalid => style.paint("32", "invalid (revoked or never valid)"),
            Status::Unknown => style.paint("33", "unknown"),
        };
        let reason = v
            .reason
            .as_deref()
            .map(|r| format!(": {}", printable(r)))
            .unwrap_or_default();
        writeln!(out, "  status   {status}{reason}")?;
    }
    if let Some(rule) = rules.iter().find(|r| r.id == f.rule_id) {
        writeln!(out, "  fix      {}", rule.remediation)?;
    }
    writeln!(out)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
