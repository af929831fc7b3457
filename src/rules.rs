//! Rule files: the TOML format, loading (built-in and user files), compiling
//! and checking each rule's own examples (`hfleaks rules test`).
//!
//! Rules are data. This module knows nothing about files being scanned; the
//! engine consumes the compiled [`Rule`]s.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use serde::Deserialize;

/// The built-in rules, embedded so the binary needs no data files.
pub const BUILTIN_RULES: &str = include_str!("../rules/huggingface.toml");
/// How the built-in rule file is named in messages.
pub const BUILTIN_NAME: &str = "<built-in rules/huggingface.toml>";

/// How serious a finding of a rule is. Ordered from least to most serious.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// One step lower (low stays low).
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium | Severity::Low => Severity::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// GitHub code scanning's `security-severity` score for this level.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Positive and negative examples a rule must get right.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub positive: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    name: String,
    description: String,
    regex: String,
    keywords: Vec<String>,
    #[serde(default)]
    secret_group: usize,
    #[serde(default)]
    min_entropy: f64,
    #[serde(default = "default_max_length")]
    max_length: usize,
    #[serde(default)]
    mixed_case: bool,
    #[serde(default)]
    reject_identifiers: bool,
    #[serde(default)]
    reject_in_blobs: bool,
    severity: Severity,
    #[serde(default)]
    verifier: Option<String>,
    remediation: String,
    #[serde(default)]
    examples: Examples,
}

fn default_max_length() -> usize {
    255
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// A compiled rule, ready for the engine.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub regex: Regex,
    /// Literal strings at least one of which occurs in every match: the prefilter.
    pub keywords: Vec<String>,
    /// Capture group holding the secret (0 = the whole match).
    pub secret_group: usize,
    /// Minimum Shannon entropy (bits per byte) of the secret's body.
    pub min_entropy: f64,
    /// Longest secret, in bytes, that can be a real token.
    pub max_length: usize,
    /// The body must mix upper and lower case letters (rejects words, DNA, hex).
    pub mixed_case: bool,
    /// Reject bodies that split entirely into words (`hf_setImageWithURL…`):
    /// method and field names, not tokens.
    pub reject_identifiers: bool,
    /// Reject a candidate glued by `+`, `/`, `-` or `=` padding to a longer
    /// run of base64 characters: a slice of an encoded blob, not a token.
    pub reject_in_blobs: bool,
    pub severity: Severity,
    pub verifier: Option<String>,
    pub remediation: String,
    pub examples: Examples,
    /// The file the rule came from, for messages.
    pub source: String,
}

/// A rule file that could not be loaded, with what a person needs to fix it.
#[derive(Debug)]
pub struct RuleError {
    pub file: String,
    pub rule_id: Option<String>,
    pub problem: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{}: rule '{}': {}", self.file, id, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for RuleError {}

/// Parses and compiles the rules in one TOML document.
pub fn parse_rules(text: &str, file: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError {
        file: file.to_string(),
        rule_id: None,
        problem: one_line(&e.to_string()),
    })?;
    parsed
        .rules
        .into_iter()
        .map(|spec| compile(spec, file))
        .collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn compile(spec: RuleSpec, file: &str) -> Result<Rule, RuleError> {
    let err = |problem: String| RuleError {
        file: file.to_string(),
        rule_id: Some(spec.id.clone()),
        problem,
    };
    if spec.id.trim().is_empty() || spec.id.chars().any(char::is_whitespace) {
        return Err(err("id must be non-empty and contain no spaces".into()));
    }
    let regex = Regex::new(&spec.regex)
        .map_err(|e| err(format!("invalid regex: {}", one_line(&e.to_string()))))?;
    if spec.secret_group >= regex.captures_len() {
        return Err(err(format!(
            "secret_group {} does not exist (the regex has {} groups)",
            spec.secret_group,
            regex.captures_len() - 1
        )));
    }
    if spec.keywords.is_empty() || spec.keywords.iter().any(String::is_empty) {
        return Err(err(
            "keywords must list at least one non-empty literal".into()
        ));
    }
    if !(0.0..=8.0).contains(&spec.min_entropy) {
        return Err(err(
            "min_entropy must be between 0 and 8 bits per byte".into()
        ));
    }
    if spec.max_length == 0 {
        return Err(err("max_length must be at least 1".into()));
    }
    Ok(Rule {
        id: spec.id.clone(),
        name: spec.name,
        description: spec.description,
        regex,
        keywords: spec.keywords,
        secret_group: spec.secret_group,
        min_entropy: spec.min_entropy,
        max_length: spec.max_length,
        mixed_case: spec.mixed_case,
        reject_identifiers: spec.reject_identifiers,
        reject_in_blobs: spec.reject_in_blobs,
        severity: spec.severity,
        verifier: spec.verifier,
        remediation: spec.remediation,
        examples: spec.examples,
        source: file.to_string(),
    })
}

/// The built-in rules.
pub fn builtin() -> Vec<Rule> {
    parse_rules(BUILTIN_RULES, BUILTIN_NAME).expect("built-in rules are valid (checked by tests)")
}

/// Loads a rule file, or every `*.toml` file in a directory (sorted by name).
pub fn load_path(path: &Path) -> Result<Vec<Rule>, RuleError> {
    let io_err = |p: &Path, e: std::io::Error| RuleError {
        file: p.display().to_string(),
        rule_id: None,
        problem: e.to_string(),
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io_err(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut rules = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| io_err(&file, e))?;
        rules.extend(parse_rules(&text, &file.display().to_string())?);
    }
    Ok(rules)
}

/// The built-in rules plus those of each `--rules` path. A user rule with the
/// id of an earlier rule replaces it.
pub fn load_all(extra: &[PathBuf]) -> Result<Vec<Rule>, RuleError> {
    let mut rules = builtin();
    for path in extra {
        for rule in load_path(path)? {
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(slot) => *slot = rule,
                None => rules.push(rule),
            }
        }
    }
    Ok(rules)
}

/// A digest of what the rules match (ids, patterns, checks): two runs with
/// the same digest find the same things in the same bytes.
pub fn digest(rules: &[Rule]) -> String {
    let mut text = String::new();
    for r in rules {
        text.push_str(&format!(
            "{}\u{0}{}\u{0}{:?}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\n",
            r.id,
            r.regex.as_str(),
            r.keywords,
            r.secret_group,
            r.min_entropy,
            r.max_length,
            r.mixed_case,
            r.reject_identifiers,
            r.reject_in_blobs,
            r.severity.as_str(),
            r.verifier
        ));
    }
    crate::finding::sha256_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse() {
        let rules = builtin();
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        for id in [
            "hf-user-access-token",
            "hf-org-api-token",
            "hf-oauth-token",
            "hf-token-nonstandard",
        ] {
            assert!(ids.contains(&id), "missing built-in rule {id}");
        }
    }

    #[test]
    fn malformed_rule_names_file_rule_and_problem() {
        let text = "[[rules]]\nid = \"broken\"\nname = \"n\"\ndescription = \"d\"\nregex = \"hf_[\"\nkeywords = [\"hf_\"]\nseverity = \"high\"\nremediation = \"r\"\n";
        let err = parse_rules(text, "my.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("my.toml: rule 'broken': invalid regex"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn missing_field_is_a_clear_error() {
        let err = parse_rules("[[rules]]\nid = \"x\"\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r.toml: "), "{err}");
        assert!(err.contains("missing field"), "{err}");
    }

    #[test]
    fn bad_secret_group_is_rejected() {
        let text = "[[rules]]\nid = \"g\"\nname = \"n\"\ndescription = \"d\"\nregex = \"hf_x\"\nsecret_group = 2\nkeywords = [\"hf_\"]\nseverity = \"low\"\nremediation = \"r\"\n";
        let err = parse_rules(text, "g.toml").unwrap_err().to_string();
        assert!(err.contains("secret_group 2 does not exist"), "{err}");
    }
}
