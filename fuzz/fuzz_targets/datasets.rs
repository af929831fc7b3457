//! Arbitrary bytes as a dataset file: after a Parquet, Arrow IPC (file or
//! stream) or compressed-stream magic picked by the first byte, through
//! the whole scanner. No panic, no unbounded output; every finding in a
//! table names its cell.
#![no_main]

use std::sync::LazyLock;

use hfleaks::config::DetectConfig;
use hfleaks::detect::Scanner;
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let config = DetectConfig {
        max_archive_bytes: 16 << 20,
        ..DetectConfig::default()
    };
    Scanner::build(hfleaks::rules::builtin(), config)
});

const MAGICS: [&[u8]; 8] = [
    b"PAR1",
    b"ARROW1\0\0",
    &[0xff, 0xff, 0xff, 0xff],
    &[0x28, 0xb5, 0x2f, 0xfd],
    b"BZh9",
    &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
    &[0x04, 0x22, 0x4d, 0x18],
    &[0x1f, 0x8b],
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut input = MAGICS[pick as usize % MAGICS.len()].to_vec();
    input.extend_from_slice(rest);
    let scanned = SCANNER.scan(&input, "fuzz.bin", false);
    for f in &scanned.findings {
        assert!(f.line >= 1 && f.column >= 1);
        if input.starts_with(b"PAR1") || input.starts_with(b"ARROW1") {
            assert!(f.record.is_some() || f.path == "fuzz.bin");
        }
    }
});
