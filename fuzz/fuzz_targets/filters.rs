//! Arbitrary `.hfleaksignore` and baseline contents: an error or a filter,
//! never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut filters = hfleaks::filter::Filters::default();
    let _ = filters.add_ignore_text(&text, Path::new("."), "fuzz");
    let _ = hfleaks::filter::parse_baseline(data, "fuzz.json");
});
