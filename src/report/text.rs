//! The human-readable report: one block per finding, with where it is, the
//! redacted secret, its provenance and status, and how to fix it.

use std::io::{self, Write};

use crate::finding::incident::Incident;
use crate::finding::{Exposure, Finding, Report, Status, TokenInfo, Verification, printable};
use crate::rules::{Rule, Severity};

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

/// The text report: with `group` (the default) the incident view, one
/// block per distinct token with every place it appears and what to do;
/// else one block per finding.
pub fn write(
    report: &Report,
    color: bool,
    group: bool,
    rules: &[Rule],
    out: &mut dyn Write,
) -> io::Result<()> {
    let style = Style { color };
    if !group || report.remediation.is_empty() {
        // A Hub audit's findings come by repo (the report's order): each
        // repo gets a heading.
        let mut repo = None;
        for f in &report.findings {
            if f.repo.is_some() && f.repo != repo {
                repo = f.repo.clone();
                let name = f.repo.as_ref().map(|r| r.display()).unwrap_or_default();
                writeln!(
                    out,
                    "{}",
                    style.paint("1", &format!("== {}", printable(&name)))
                )?;
            }
            write_finding(f, &style, rules, out)?;
        }
        return Ok(());
    }
    let total = report.remediation.len();
    let by_secret = report.by_secret();
    for (i, incident) in report.remediation.iter().enumerate() {
        let findings = by_secret
            .get(incident.secret_sha256.as_str())
            .map_or(&[][..], Vec::as_slice);
        write_incident(incident, findings, i + 1, total, &style, rules, out)?;
    }
    Ok(())
}

/// One token: a header (what, status, exposure), the block of each place
/// it appears, and the numbered steps to fix it.
fn write_incident(
    incident: &Incident,
    findings: &[&Finding],
    n: usize,
    total: usize,
    style: &Style,
    rules: &[Rule],
    out: &mut dyn Write,
) -> io::Result<()> {
    let places = incident.places.len();
    writeln!(
        out,
        "{} {}  (sha256 {})  {}  {}, {}",
        style.paint("1", &format!("== token {n} of {total}:")),
        incident.secret,
        short(&incident.secret_sha256),
        incident.rule_id,
        style.severity(incident.severity),
        if places == 1 {
            "1 place".to_string()
        } else {
            format!("{places} places")
        }
    )?;
    let status = match incident.status {
        Some(Status::Valid) => {
            let mut s = style.paint("1;31", "LIVE");
            if let Some(o) = &incident.owner {
                s.push_str(&format!(", owner {}", printable(o)));
            }
            if let Some(r) = &incident.role {
                s.push_str(&format!(", role {}", printable(r)));
            }
            s
        }
        Some(Status::Invalid) => "invalid (revoked or never valid)".to_string(),
        Some(Status::Unknown) => "unknown (the Hub did not say)".to_string(),
        None => "not verified (add --verify to ask the Hub)".to_string(),
    };
    writeln!(out, "   status    {status}")?;
    let e = &incident.exposure;
    if let Some(c) = &e.introduced {
        let end = match (e.at_head, &e.removed_in) {
            (Some(true), _) => "still at HEAD".to_string(),
            (_, Some(r)) => format!("removed in {} ({})", short(&r.id), r.date),
            _ => "not on HEAD's history (other refs only)".to_string(),
        };
        writeln!(
            out,
            "   exposure  since {} (commit {} by {}, \"{}\"); {end}",
            c.date,
            short(&c.id),
            printable(&c.author),
            printable(&c.summary)
        )?;
    }
    writeln!(out)?;
    for f in findings {
        write_finding(f, style, rules, out)?;
    }
    writeln!(out, "   what to do")?;
    for (i, step) in incident.steps.iter().enumerate() {
        writeln!(out, "   {}. {}", i + 1, printable(&step.text))?;
        for c in &step.commands {
            writeln!(out, "        {}", printable(c))?;
        }
    }
    writeln!(out)
}

fn write_finding(
    f: &Finding,
    style: &Style,
    rules: &[Rule],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut place = if f.path.is_empty() {
        "commit message".to_string()
    } else {
        printable(&f.path)
    };
    if let Some(repo) = &f.repo {
        place = format!("{}: {place}", printable(&repo.display()));
    }
    match &f.record {
        // A cell of a table: its row and column say where; the line and
        // column are within the cell's text.
        Some(r) => writeln!(
            out,
            "{}  {}  {}  {}",
            style.paint("1", &place),
            r.display(),
            style.severity(f.severity),
            f.rule_id
        )?,
        None => writeln!(
            out,
            "{}:{}:{}  {}  {}",
            style.paint("1", &place),
            f.line,
            f.column,
            style.severity(f.severity),
            f.rule_id
        )?,
    }
    writeln!(
        out,
        "  secret   {}  (sha256 {})",
        f.secret,
        short(&f.secret_sha256)
    )?;
    match f.local_only {
        Some(true) => writeln!(
            out,
            "  local    git ignores this file: it never reached a commit (severity lowered)"
        )?,
        Some(false) => writeln!(
            out,
            "  local    git does not ignore this file: one `git add` from a commit"
        )?,
        None => {}
    }
    if let Some(encoding) = &f.encoding {
        writeln!(
            out,
            "  encoded  {}  (found by decoding it)",
            printable(encoding)
        )?;
    }
    if f.record.is_some() {
        writeln!(out, "  in cell  line {}, column {}", f.line, f.column)?;
    }
    if let Some(nb) = &f.notebook {
        writeln!(out, "  cell     {} ({})", nb.cell, nb.part)?;
    }
    if let Some(d) = &f.discussion {
        let part = match (d.event_id.as_str(), d.revision.as_str()) {
            ("", _) => "title".to_string(),
            (_, "latest") => "comment".to_string(),
            (_, r) => format!("earlier revision {r} of an edited comment"),
        };
        let date = if d.date.is_empty() {
            String::new()
        } else {
            format!(" ({})", printable(&d.date))
        };
        writeln!(
            out,
            "  {:<8} #{} {part} by {}{date}",
            if d.is_pull_request { "pr" } else { "thread" },
            d.num,
            printable(&d.author),
        )?;
    }
    if let Some(n) = f.pull_request {
        writeln!(
            out,
            "  only on  pull request #{n} (refs/pr/{n}): on no branch or tag"
        )?;
    }
    if let Some(url) = &f.url {
        writeln!(out, "  link     {}", printable(url))?;
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
        writeln!(out, "  status   {status}{reason}{}", live_details(v))?;
        if let Some(t) = &v.token {
            if let Some(line) = token_line(t) {
                writeln!(out, "  token    {line}")?;
            }
        }
        if let Some(e) = &v.exposure {
            write_exposure(e, out)?;
        }
    }
    if let Some(rule) = rules.iter().find(|r| r.id == f.rule_id) {
        writeln!(out, "  fix      {}", rule.remediation)?;
    }
    writeln!(out)
}

/// `  owner alice (user), role write, orgs acme (admin), …` for a live token.
fn live_details(v: &Verification) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &v.owner {
        parts.push(format!(
            "owner {} ({})",
            printable(&o.name),
            printable(&o.kind)
        ));
    }
    if let Some(role) = v.token.as_ref().and_then(|t| t.role.as_deref()) {
        let access = match v.write_access {
            Some(true) => ", can write",
            Some(false) => ", read-only",
            None => "",
        };
        parts.push(format!("role {}{access}", printable(role)));
    }
    if !v.orgs.is_empty() {
        let orgs: Vec<String> = v
            .orgs
            .iter()
            .map(|o| match &o.role {
                Some(r) => format!("{} ({})", printable(&o.name), printable(r)),
                None => printable(&o.name),
            })
            .collect();
        parts.push(format!("orgs {}", orgs.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

/// `"ci" created 2024-05-01…; global: repo.write; org acme: repo.content.read`.
fn token_line(t: &TokenInfo) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(name) = &t.name {
        parts.push(format!("\"{}\"", printable(name)));
    }
    if let Some(created) = &t.created_at {
        parts.push(format!("created {}", printable(created)));
    }
    if let Some(expires) = &t.expires_at {
        parts.push(format!("expires {}", printable(expires)));
    }
    let mut line = parts.join(" ");
    if let Some(p) = &t.permissions {
        let mut scopes = Vec::new();
        if !p.global.is_empty() {
            scopes.push(format!("global: {}", printable(&p.global.join(", "))));
        }
        for s in &p.scoped {
            let entity = [s.kind.as_deref(), s.name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            scopes.push(format!(
                "{}: {}",
                printable(&entity),
                printable(&s.permissions.join(", "))
            ));
        }
        if !scopes.is_empty() {
            if !line.is_empty() {
                line.push_str("; ");
            }
            line.push_str(&scopes.join("; "));
        }
    }
    (!line.is_empty()).then_some(line)
}

/// One `exposes` line per owner, then the private repositories, a few named.
fn write_exposure(e: &Exposure, out: &mut dyn Write) -> io::Result<()> {
    const NAMED: usize = 5;
    for o in &e.owners {
        let kinds = [
            ("model", &o.models),
            ("dataset", &o.datasets),
            ("Space", &o.spaces),
        ];
        let counts: Vec<String> = kinds
            .iter()
            .map(|(kind, l)| {
                let more = if l.truncated { "+" } else { "" };
                let mut s = format!(
                    "{}{more} {kind}{}",
                    l.count,
                    if l.count == 1 { "" } else { "s" }
                );
                if !l.private.is_empty() {
                    s.push_str(&format!(" ({} private)", l.private.len()));
                }
                if let Some(err) = &l.error {
                    s.push_str(&format!(" [{}]", printable(err)));
                }
                s
            })
            .collect();
        writeln!(
            out,
            "  exposes  {}: {}",
            printable(&o.name),
            counts.join(", ")
        )?;
        let private: Vec<&String> = kinds.iter().flat_map(|(_, l)| l.private.iter()).collect();
        if !private.is_empty() {
            let named: Vec<String> = private.iter().take(NAMED).map(|p| printable(p)).collect();
            let rest = private.len().saturating_sub(NAMED);
            let more = if rest > 0 {
                format!(" and {rest} more")
            } else {
                String::new()
            };
            writeln!(out, "  private  {}{more}", named.join(", "))?;
        }
    }
    Ok(())
}

fn short(id: &str) -> &str {
    crate::finding::short_id(id)
}
