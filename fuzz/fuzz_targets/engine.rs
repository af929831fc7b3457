//! Arbitrary bytes through the engine and `detect`: no panic, every span
//! inside the input and starting with one of its rule's keywords.
#![no_main]

use std::sync::LazyLock;

use hfleaks::engine::Engine;
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new(hfleaks::rules::builtin()));

fuzz_target!(|data: &[u8]| {
    let engine = &*ENGINE;
    for m in engine.scan(data) {
        assert!(m.span.start < m.span.end && m.span.end <= data.len());
        let secret = &data[m.span.start..m.span.end];
        let rule = &engine.rules()[m.rule];
        assert!(rule.keywords.iter().any(|k| secret.starts_with(k.as_bytes())));
        assert!(secret.len() <= rule.max_length);
    }
    for f in hfleaks::detect::detect(engine, data, "fuzz.ipynb") {
        assert!(f.line >= 1 && f.column >= 1);
    }
});
