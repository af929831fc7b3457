//! Standard input as one chunk (`hfleaks scan -`).

use std::io::Read;

use super::Sink;

/// How stdin is named in findings.
pub const STDIN_PATH: &str = "<stdin>";

/// Reads all of stdin and hands it to the sink; returns the bytes read.
pub fn scan_stdin(sink: &dyn Sink) -> u64 {
    let mut data = Vec::new();
    match std::io::stdin().lock().read_to_end(&mut data) {
        Ok(_) => sink.chunk(STDIN_PATH, &data),
        Err(e) => sink.error(STDIN_PATH, format!("cannot read standard input: {e}")),
    }
    data.len() as u64
}
