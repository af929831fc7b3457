//! Standard input as one chunk (`hfleaks scan -`).

use std::io::Read;

use super::Sink;
use crate::finding::{Origin, STDIN_PATH, ScanError};

/// Reads all of stdin and hands it to the sink; returns the bytes read.
pub fn scan_stdin(sink: &dyn Sink) -> u64 {
    let mut data = Vec::new();
    match std::io::stdin().lock().read_to_end(&mut data) {
        Ok(_) => sink.chunk(&Origin::Stdin, &data),
        Err(e) => sink.error(ScanError::new(
            STDIN_PATH,
            format!("cannot read standard input: {e}"),
        )),
    }
    data.len() as u64
}
