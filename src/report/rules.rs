//! How `hfleaks rules` shows the rules and the outcome of checking their
//! examples.

use std::io::{self, Write};

use crate::rules::Rule;
use crate::ui::plural;

/// One line per rule: id, severity, description.
pub fn list(rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in rules {
        writeln!(
            out,
            "{:width$}  {:8}  {}",
            r.id,
            r.severity.as_str(),
            r.description
        )?;
    }
    Ok(())
}

/// The examples of one rule that did not hold.
pub struct RuleCheck<'a> {
    pub rule: &'a Rule,
    pub problems: Vec<String>,
}

/// `ok`/`FAIL` per rule, the failing examples, and a closing tally.
pub fn checks(checks: &[RuleCheck], out: &mut dyn Write) -> io::Result<()> {
    let mut failures = 0;
    for c in checks {
        let rule = c.rule;
        let total = rule.examples.positive.len() + rule.examples.negative.len();
        if c.problems.is_empty() {
            writeln!(out, "ok    {} ({total} examples)", rule.id)?;
        } else {
            failures += c.problems.len();
            writeln!(
                out,
                "FAIL  {} ({}): {} of {total} examples",
                rule.id,
                rule.source,
                c.problems.len()
            )?;
            for p in &c.problems {
                writeln!(out, "      {p}")?;
            }
        }
    }
    writeln!(
        out,
        "{} rules, {}",
        checks.len(),
        if failures == 0 {
            "all examples hold".to_string()
        } else {
            plural(failures as u64, "failure")
        }
    )
}
