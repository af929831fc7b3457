//! The HTML report: one self-contained page (inline CSS, no script, nothing
//! fetched, a Content-Security-Policy that allows only its own style
//! block), readable on a laptop and a phone: a summary, then one block per
//! token (the incident view) with a small timeline of its exposure window
//! drawn as inline SVG. Every string from the scanned content is escaped.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use crate::finding::incident::Incident;
use crate::finding::{Finding, Report, Status};

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--high:#cf222e;--med:#9a6700;--low:#0969da;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;--line:#30363d;--card:#161b22}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:960px;margin:0 auto;padding:16px}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:0 0 .4em;word-break:break-all}
.meta{color:var(--muted)}.summary{display:flex;flex-wrap:wrap;gap:8px;margin:16px 0;padding:0;list-style:none}
.summary li{flex:1 1 120px;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
.summary b{display:block;font-size:1.6em}.summary b.unchecked{font-size:1.1em;line-height:1.9;color:var(--muted)}.card{border:1px solid var(--line);border-radius:8px;padding:14px;margin:14px 0}
.sev{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:.85em}.critical,.high{background:var(--high)}.medium{background:var(--med)}.low{background:var(--low)}
.live{color:var(--high);font-weight:bold}.dead{color:var(--ok)}table{border-collapse:collapse;width:100%;font-size:.9em}
td,th{border-top:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;word-break:break-all}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:var(--card);padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
ol{padding-left:1.4em}svg{width:100%;height:auto;max-width:640px}.axis{stroke:var(--muted)}.window{stroke:var(--high)}.gone{stroke:var(--ok)}
svg text{fill:var(--muted);font-size:11px}.empty{color:var(--ok);font-size:1.2em}";

/// Writes the page.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let style_hash = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    };
    let s = &report.scan;
    let live = report
        .remediation
        .iter()
        .filter(|i| i.status == Some(Status::Valid))
        .count();
    let write_capable = report
        .findings
        .iter()
        .filter(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == Status::Valid && v.write_access == Some(true))
        })
        .map(|f| &f.secret_sha256)
        .collect::<std::collections::HashSet<_>>()
        .len();
    // Without `--verify` nothing was asked of the Hub: "0 live" would read
    // as "nothing is live", so the two cards say "not checked" instead.
    let checked =
        report.findings.is_empty() || report.findings.iter().any(|f| f.verification.is_some());
    let (live, write_capable) = if checked {
        (format!("<b>{live}</b>"), format!("<b>{write_capable}</b>"))
    } else {
        let unchecked = "<b class=\"unchecked\">not checked</b>";
        (unchecked.to_string(), unchecked.to_string())
    };
    let files = report
        .findings
        .iter()
        .map(|f| (f.repo.as_ref(), f.path.split('!').next().unwrap_or(&f.path)))
        .collect::<std::collections::HashSet<_>>()
        .len();
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{style_hash}'\">\n\
         <title>hfleaks report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&s.root)
    )?;
    writeln!(
        out,
        "<header><h1>hfleaks report</h1><p class=\"meta\">{} of <code>{}</code> · {} · {} {}</p></header>",
        esc(&format!("{:?}", s.kind).to_lowercase()),
        esc(&s.root),
        esc(&describe_scan(report)),
        esc(&report.tool.name),
        esc(&report.tool.version)
    )?;
    writeln!(
        out,
        "<section id=\"summary\"><h2>Summary</h2><ul class=\"summary\">\
         <li><b>{}</b>distinct tokens</li><li id=\"live\">{live}live</li><li id=\"can-write\">{write_capable}can write</li>\
         <li><b>{}</b>places</li><li><b>{files}</b>files or repositories</li><li><b>{}</b>errors</li></ul></section>",
        report.remediation.len(),
        report.findings.len(),
        report.errors.len()
    )?;
    writeln!(out, "<section id=\"tokens\"><h2>Tokens</h2>")?;
    if report.remediation.is_empty() {
        writeln!(out, "<p class=\"empty\">No leaked token found.</p>")?;
    }
    let by_secret = report.by_secret();
    // The report's last commit: where a window still open ends.
    let latest = report
        .findings
        .iter()
        .flat_map(|f| [&f.commit, &f.removed_in])
        .flatten()
        .map(|c| c.seconds())
        .max();
    for (n, incident) in report.remediation.iter().enumerate() {
        let findings = by_secret
            .get(incident.secret_sha256.as_str())
            .map_or(&[][..], Vec::as_slice);
        write_incident(incident, findings, latest, n + 1, out)?;
    }
    writeln!(out, "</section>")?;
    if !report.errors.is_empty() {
        writeln!(
            out,
            "<section id=\"errors\"><h2>Errors</h2><table><tr><th>where</th><th>problem</th></tr>"
        )?;
        for e in &report.errors {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&e.path),
                esc(&e.message)
            )?;
        }
        writeln!(out, "</table></section>")?;
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

fn describe_scan(report: &Report) -> String {
    let s = &report.scan;
    let mut parts = Vec::new();
    if s.commits > 0 {
        parts.push(format!("{} commits", s.commits));
    }
    if s.blobs > 0 {
        parts.push(format!("{} blobs", s.blobs));
    }
    if s.files > 0 {
        parts.push(format!("{} files", s.files));
    }
    parts.push(format!("{} bytes", s.bytes));
    parts.join(", ")
}

fn write_incident(
    i: &Incident,
    findings: &[&Finding],
    latest: Option<i64>,
    n: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let sev = i.severity.as_str();
    writeln!(
        out,
        "<article class=\"card\" id=\"token-{n}\"><h2>{n}. <code>{}</code> <span class=\"sev {sev}\">{sev}</span></h2>",
        esc(&i.secret)
    )?;
    let status = match i.status {
        Some(Status::Valid) => format!(
            "<span class=\"live\">LIVE</span>{}{}",
            i.owner
                .as_deref()
                .map(|o| format!(", owner {}", esc(o)))
                .unwrap_or_default(),
            i.role
                .as_deref()
                .map(|r| format!(", role {}", esc(r)))
                .unwrap_or_default()
        ),
        Some(Status::Invalid) => {
            "<span class=\"dead\">invalid</span> (revoked or never valid)".into()
        }
        Some(Status::Unknown) => "unknown (the Hub did not say)".into(),
        None => "not verified (run with --verify)".into(),
    };
    writeln!(
        out,
        "<p>{} · sha256 <code>{}</code> · {status}</p>",
        esc(&i.rule_id),
        esc(&i.secret_sha256)
    )?;
    write_timeline(i, findings, latest, out)?;
    writeln!(
        out,
        "<table><tr><th>place</th><th>commit</th><th>note</th></tr>"
    )?;
    for p in &i.places {
        let note = [
            p.encoding.as_deref().map(|e| format!("encoded: {e}")),
            p.local_only.map(|l| {
                if l {
                    "git ignores this file".to_string()
                } else {
                    "git does not ignore this file".to_string()
                }
            }),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        let place = match &p.repo {
            Some(repo) => format!("{repo}: {}", p.path),
            None => p.path.clone(),
        };
        // A cell of a table: its row and column, then the place in the cell.
        let place = match &p.record {
            Some(r) => format!("{place} {}, cell {}:{}", r.display(), p.line, p.column),
            None => format!("{place}:{}:{}", p.line, p.column),
        };
        // A link the report made itself (the Hub's page of the file or the
        // comment); only http(s), so that nothing else can be smuggled in.
        let link = p
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(|u| {
                format!(
                    " <a href=\"{}\" rel=\"noreferrer noopener\">open on the Hub</a>",
                    esc(u)
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}{link}</td></tr>",
            esc(&place),
            esc(p
                .commit
                .as_deref()
                .map(crate::finding::short_id)
                .unwrap_or("")),
            esc(&note)
        )?;
    }
    writeln!(out, "</table><h3>What to do</h3><ol>")?;
    for step in &i.steps {
        write!(out, "<li>{}", esc(&step.text))?;
        if !step.commands.is_empty() {
            write!(
                out,
                "<pre><code>{}</code></pre>",
                esc(&step.commands.join("\n"))
            )?;
        }
        writeln!(out, "</li>")?;
    }
    writeln!(out, "</ol></article>")
}

/// The exposure window as a line from the first commit that added the
/// token to the one that removed it (or to the report's last commit, if it
/// is still there), with a mark for each commit that added it somewhere.
fn write_timeline(
    i: &Incident,
    findings: &[&Finding],
    latest: Option<i64>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(start) = i.exposure.introduced.as_ref() else {
        return Ok(());
    };
    let t0 = start.seconds();
    let latest = latest.unwrap_or(t0);
    let (t1, end_label, class) = match (&i.exposure.removed_in, i.exposure.at_head) {
        (Some(r), _) => (r.seconds(), format!("removed {}", day(&r.date)), "gone"),
        _ => (latest.max(t0), "still at HEAD".to_string(), "window"),
    };
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| 20.0 + 600.0 * ((t - t0) as f64 / span).clamp(0.0, 1.0);
    writeln!(
        out,
        "<svg viewBox=\"0 0 640 56\" role=\"img\" aria-label=\"exposure from {} to {}\">\
         <line class=\"axis\" x1=\"20\" y1=\"28\" x2=\"620\" y2=\"28\" stroke-width=\"1\"/>\
         <line class=\"window {class}\" x1=\"20\" y1=\"28\" x2=\"{:.1}\" y2=\"28\" stroke-width=\"6\"/>",
        esc(&day(&start.date)),
        esc(&end_label),
        x(t1)
    )?;
    for f in findings {
        if let Some(c) = &f.commit {
            writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"28\" r=\"5\" fill=\"currentColor\"><title>{} {}</title></circle>",
                x(c.seconds()),
                esc(crate::finding::short_id(&c.id)),
                esc(&f.path)
            )?;
        }
    }
    writeln!(
        out,
        "<text x=\"20\" y=\"50\">{}</text><text x=\"620\" y=\"50\" text-anchor=\"end\">{}</text></svg>",
        esc(&format!("added {}", day(&start.date))),
        esc(&end_label)
    )
}

/// `2024-01-01` of an RFC 3339 date.
fn day(date: &str) -> String {
    date.get(..10).unwrap_or(date).to_string()
}

/// Text escaped for HTML content and double-quoted attributes.
fn esc(s: &str) -> String {
    html_escape::encode_safe(s).into_owned()
}
