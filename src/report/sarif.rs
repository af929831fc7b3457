//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers, built
//! with `serde-sarif`. One `tool.driver.rules` entry per rule, relative
//! uris, `partialFingerprints` from the secret's hash (plus the commit for
//! history), `security-severity`, and never the raw secret.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, SCHEMA_URL, Sarif, Tool, ToolComponent,
};

use crate::finding::{Finding, Report};
use crate::rules::{Rule, Severity};

const INFO_URI: &str = "https://github.com/hfleaks/hfleaks";

pub fn write(report: &Report, rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    let sarif = build(report, rules);
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    out.write_all(b"\n")
}

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn level_name(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        _ => "note",
    }
}

fn bag(props: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag::builder().additional_properties(props).build()
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut full = rule.description.clone();
    full.truncate(1024);
    let help = format!("{}\n\nHow to fix: {}", rule.description, rule.remediation);
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".into(),
        json!(rule.severity.security_severity()),
    );
    props.insert("tags".into(), json!(["security", "secret", "huggingface"]));
    props.insert("precision".into(), json!("high"));
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.name.clone())
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.name.clone())
                .build(),
        )
        .full_description(MultiformatMessageString::builder().text(full).build())
        .help(
            MultiformatMessageString::builder()
                .text(help.clone())
                .markdown(format!(
                    "**{}**\n\n{}\n\n**How to fix:** {}",
                    rule.name, rule.description, rule.remediation
                ))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(rule.severity)))
                .build(),
        )
        .properties(bag(props))
        .build()
}

fn result(f: &Finding, rule_index: Option<usize>, rules: &[Rule]) -> SarifResult {
    let name = rule_index
        .map(|i| rules[i].name.as_str())
        .unwrap_or(f.rule_id.as_str());
    let mut text = format!("{name} {} found", f.secret);
    if let Some(c) = &f.commit {
        text.push_str(&format!(
            " (introduced in commit {})",
            crate::finding::short_id(&c.id)
        ));
    }
    if let Some(n) = f.pull_request {
        text.push_str(&format!(" (only on pull request #{n}, refs/pr/{n})"));
    }
    if let Some(r) = &f.record {
        text.push_str(&format!(" at {}", r.display()));
    }
    if let Some(url) = &f.url {
        text.push_str(&format!(": {url}"));
    }
    if let Some(v) = &f.verification {
        text.push_str(&format!(
            "; verification: {}",
            serde_json::to_value(v.status)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        ));
        if let Some(o) = &v.owner {
            let role = v.token.as_ref().and_then(|t| t.role.as_deref());
            text.push_str(&format!(" (owner {}", o.name));
            if let Some(role) = role {
                text.push_str(&format!(", role {role}"));
            }
            text.push(')');
        }
    }
    // A member of an archive (`dist/a.whl!pkg/.env`) is located at the
    // archive, the file code scanning can show; the member is a property.
    let (file, member) = match f.path.split_once('!') {
        Some((file, member)) => (file, Some(member)),
        None => (f.path.as_str(), None),
    };
    let uri = match (&f.repo, file.is_empty()) {
        // A Hub audit spans repos: each result is located in its repo.
        (Some(repo), _) if f.discussion.is_some() => uri_of(&format!("{}/{file}", repo.display())),
        (Some(repo), true) => uri_of(&format!("{}/.git/COMMIT_EDITMSG", repo.display())),
        (Some(repo), false) => uri_of(&format!("{}/{file}", repo.display())),
        (None, true) => ".git/COMMIT_EDITMSG".to_string(),
        (None, false) => uri_of(file),
    };
    let region = match (member, &f.record) {
        // Lines of a member or a cell mean nothing in the (binary) archive
        // or table file; they are in the properties.
        (Some(_), _) | (_, Some(_)) => Region::builder().start_line(1).build(),
        (None, None) => Region::builder()
            .start_line(f.line as i64)
            .start_column(f.column as i64)
            .end_line(f.end_line as i64)
            .end_column(f.end_column as i64)
            .build(),
    };
    // A cell of a table is a logical place inside the file.
    let logical: Vec<LogicalLocation> = f
        .record
        .iter()
        .map(|r| {
            LogicalLocation::builder()
                .name(r.display())
                .fully_qualified_name(format!("{} {}", f.path, r.display()))
                .kind("row")
                .build()
        })
        .collect();
    let mut location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(uri)
                        .uri_base_id("%SRCROOT%")
                        .build(),
                )
                .region(region)
                .build(),
        )
        .build();
    if !logical.is_empty() {
        location.logical_locations = Some(logical);
    }
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert("secretSha256/v1".to_string(), f.secret_sha256.clone());
    if let Some(c) = &f.commit {
        fingerprints.insert("commitSha".to_string(), c.id.clone());
    }
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".into(),
        json!(f.severity.security_severity()),
    );
    props.insert("severity".into(), json!(f.severity.as_str()));
    props.insert("secret".into(), json!(f.secret));
    props.insert("secret_sha256".into(), json!(f.secret_sha256));
    props.insert("entropy".into(), json!(f.entropy));
    if let Some(member) = member {
        props.insert("archive_member".into(), json!(member));
        props.insert("member_line".into(), json!(f.line));
    }
    if f.record.is_some() {
        props.insert("cell_line".into(), json!(f.line));
        props.insert("cell_column".into(), json!(f.column));
    }
    for (key, value) in [
        ("commit", serde_json::to_value(&f.commit)),
        ("at_head", serde_json::to_value(f.at_head)),
        ("removed_in", serde_json::to_value(&f.removed_in)),
        ("notebook", serde_json::to_value(&f.notebook)),
        ("encoding", serde_json::to_value(&f.encoding)),
        ("verification", serde_json::to_value(&f.verification)),
        ("repo", serde_json::to_value(&f.repo)),
        ("url", serde_json::to_value(&f.url)),
        ("discussion", serde_json::to_value(&f.discussion)),
        ("pull_request", serde_json::to_value(f.pull_request)),
        ("record", serde_json::to_value(&f.record)),
    ] {
        if let Ok(v) = value {
            if !v.is_null() {
                props.insert(key.into(), v);
            }
        }
    }
    let b = SarifResult::builder()
        .rule_id(f.rule_id.clone())
        .message(Message::builder().text(text).build())
        .level(level(f.severity))
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(bag(props));
    match rule_index {
        Some(i) => b.rule_index(i as i64).build(),
        None => b.build(),
    }
}

/// A relative URI reference for a path: percent-encode what a URI cannot hold.
fn uri_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches("./").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn build(report: &Report, rules: &[Rule]) -> Sarif {
    let descriptors: Vec<ReportingDescriptor> = rules.iter().map(descriptor).collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| result(f, rules.iter().position(|r| r.id == f.rule_id), rules))
        .collect();
    let driver = ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .information_uri(INFO_URI)
        .rules(descriptors)
        .build();
    let mut run_props = BTreeMap::new();
    run_props.insert(
        "scan".into(),
        serde_json::to_value(&report.scan).unwrap_or_default(),
    );
    if !report.errors.is_empty() {
        run_props.insert(
            "errors".into(),
            serde_json::to_value(&report.errors).unwrap_or_default(),
        );
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .properties(bag(run_props))
        .build();
    Sarif::builder()
        .schema(SCHEMA_URL)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_and_relative() {
        assert_eq!(uri_of("./a b/c#d.py"), "a%20b/c%23d.py");
        assert_eq!(uri_of("notebooks/é.ipynb"), "notebooks/%C3%A9.ipynb");
    }
}
