//! Arbitrary bytes through the whole scanner with decoding at depth 3:
//! opaque runs, windows, chains, archives. No panic; every finding sits on
//! a line of the input.
#![no_main]

use std::sync::LazyLock;

use hfleaks::config::DetectConfig;
use hfleaks::detect::Scanner;
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let config = DetectConfig {
        max_decode_depth: 3,
        ..DetectConfig::default()
    };
    Scanner::build(hfleaks::rules::builtin(), config)
});

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let scanned = SCANNER.scan(data, "fuzz.txt", false);
    for f in &scanned.findings {
        assert!(f.line >= 1 && f.column >= 1);
        if f.record.is_none() && !f.path.contains('!') && f.encoding.as_deref().is_none_or(|e| !e.starts_with("utf-16")) {
            assert!(f.line <= lines, "line {} of {lines}", f.line);
        }
    }
});
