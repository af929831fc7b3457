//! Arbitrary text as a rule file: an error or rules, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rules) = hfleaks::rules::parse_rules(&text, "fuzz.toml") {
        let engine = hfleaks::engine::Engine::new(rules);
        for rule in engine.rules() {
            for ex in rule.examples.positive.iter().chain(&rule.examples.negative) {
                let _ = engine.scan(ex.as_bytes());
            }
        }
    }
});
