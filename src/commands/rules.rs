//! `hfleaks rules list|test`: the rules, and whether each one's own
//! positive and negative examples hold through the whole engine.

use anyhow::{Context, Result};

use super::EXIT_CLEAN;
use crate::cli::RulesAction;
use crate::engine::Engine;
use crate::report::rules::{self as render, RuleCheck};
use crate::{rules, ui};

pub fn run(action: RulesAction) -> Result<i32> {
    match action {
        RulesAction::List { rules } => {
            let rules = rules::load_all(&rules.rules)?;
            ui::stdout(|out| render::list(&rules, out))
                .context("cannot write to standard output")?;
            Ok(EXIT_CLEAN)
        }
        RulesAction::Test { rules } => {
            let engine = Engine::new(rules::load_all(&rules.rules)?);
            let checks = check(&engine);
            ui::stdout(|out| render::checks(&checks, out))
                .context("cannot write to standard output")?;
            let failed = checks.iter().any(|c| !c.problems.is_empty());
            Ok(if failed { 1 } else { EXIT_CLEAN })
        }
    }
}

/// Runs each rule's examples through the engine: a positive example must
/// produce a finding of that rule, a negative one must not.
fn check(engine: &Engine) -> Vec<RuleCheck<'_>> {
    engine
        .rules()
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let mut problems = Vec::new();
            for ex in &rule.examples.positive {
                if !engine.scan(ex.as_bytes()).iter().any(|m| m.rule == i) {
                    problems.push(format!("positive example not matched: {ex}"));
                }
            }
            for ex in &rule.examples.negative {
                if engine.scan(ex.as_bytes()).iter().any(|m| m.rule == i) {
                    problems.push(format!("negative example matched: {ex}"));
                }
            }
            RuleCheck { rule, problems }
        })
        .collect()
}
