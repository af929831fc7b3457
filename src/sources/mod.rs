//! Sources yield content with an origin; they know nothing about rules.
//! Each source hands every chunk, named by its [`Origin`], to a [`Sink`],
//! from as many threads as it likes; one sink (`detect::Collector`) turns
//! what the engine matches into findings. A new source is a new file here
//! that feeds a `Sink`, and a new `Origin` variant if none fits.

pub mod archive;
pub mod dataset;
pub mod decode;
pub mod dir;
pub mod git;
pub mod hub;
pub mod lfs;
pub mod objects;
pub mod repo_list;
pub mod runs;
pub mod staged;
pub mod stdin;
pub mod tokens;

use crate::finding::{Origin, ScanError};

/// Receives what a source produces.
pub trait Sink: Sync {
    /// One chunk of content: a file's, a blob's, a commit message's.
    fn chunk(&self, origin: &Origin, content: &[u8]);
    /// Something could not be read; the scan goes on.
    fn error(&self, error: ScanError);
    /// Something of `size` bytes was left out for being over `--max-file-size`.
    fn skipped(&self, origin: &Origin, size: u64);
    /// One more item done, `bytes` long (for a progress bar).
    fn progress(&self, _bytes: u64) {}
}

/// A path as text: `/` separators, invalid UTF-8 bytes escaped as `\xNN`
/// so that two different names never print the same.
pub fn display_path(path: &std::path::Path) -> String {
    #[cfg(unix)]
    let s = {
        use std::os::unix::ffi::OsStrExt;
        escape_bytes(path.as_os_str().as_bytes())
    };
    #[cfg(not(unix))]
    let s = path.to_string_lossy().replace('\\', "/");
    s
}

/// UTF-8 text as is; each byte of an invalid sequence as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_escaped_not_lost() {
        assert_eq!(escape_bytes(b"a\xffb.py"), "a\\xFFb.py");
        assert_eq!(escape_bytes("é.py".as_bytes()), "é.py");
    }
}
