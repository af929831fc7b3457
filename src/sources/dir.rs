//! Files and directories: a parallel walk with the `ignore` crate.
//!
//! Hidden files are scanned (`.env`, `.github/` are where tokens live);
//! `.gitignore`, `.ignore` and `.hfleaksignore` are honoured unless
//! `--no-ignore`; `.git/` is never walked as files. The parallelism is the
//! walk itself: each walker thread reads a file and feeds it to the sink.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ignore::{WalkBuilder, WalkState};

use super::{Sink, display_path};
use crate::filter::IGNORE_FILE;
use crate::finding::{Origin, ScanError};

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub follow: bool,
    pub no_ignore: bool,
    pub max_file_size: u64,
    pub threads: usize,
}

/// Totals of a walk.
#[derive(Debug, Default)]
pub struct WalkStats {
    pub files: u64,
    pub bytes: u64,
    pub skipped: u64,
}

/// Walks every root and feeds each regular file to the sink.
pub fn scan_paths(roots: &[PathBuf], opts: &WalkOptions, sink: &dyn Sink) -> WalkStats {
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    for root in roots {
        if let Err(e) = std::fs::metadata(root) {
            sink.error(ScanError::new(
                display_path(root),
                format!("cannot scan: {}", io_reason(&e)),
            ));
            continue;
        }
        let strip_dot = root == Path::new(".");
        let mut builder = WalkBuilder::new(root);
        builder
            .hidden(false)
            .follow_links(opts.follow)
            .standard_filters(!opts.no_ignore)
            .hidden(false)
            .require_git(false)
            .threads(opts.threads)
            .filter_entry(|e| e.file_name() != ".git");
        if !opts.no_ignore {
            builder.add_custom_ignore_filename(IGNORE_FILE);
        }
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(err) => {
                        let (path, message) = walk_error(&err);
                        let path = match path.strip_prefix("./") {
                            Some(rest) if strip_dot => rest.to_string(),
                            _ => path,
                        };
                        sink.error(ScanError::new(path, message));
                        return WalkState::Continue;
                    }
                };
                let is_file = entry.file_type().is_some_and(|t| t.is_file())
                    || (entry.depth() == 0 && entry.path().is_file());
                if !is_file {
                    return WalkState::Continue;
                }
                let origin = Origin::File(shown_path(entry.path(), strip_dot));
                match read_file(entry.path(), opts.max_file_size) {
                    Ok(Ok(content)) => {
                        files.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
                        sink.chunk(&origin, &content);
                    }
                    Ok(Err(size)) => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        sink.skipped(&origin, size);
                    }
                    Err(e) => sink.error(ScanError::at(
                        &origin,
                        format!("cannot read: {}", io_reason(&e)),
                    )),
                }
                WalkState::Continue
            })
        });
    }
    WalkStats {
        files: files.into_inner(),
        bytes: bytes.into_inner(),
        skipped: skipped.into_inner(),
    }
}

/// The path as the user reached it: `src/app.py` from `src`, and `app.py`
/// (not `./app.py`) from the default `.`.
fn shown_path(path: &Path, strip_dot: bool) -> String {
    let path = if strip_dot {
        path.strip_prefix(".").unwrap_or(path)
    } else {
        path
    };
    display_path(path)
}

/// Reads a file unless it is larger than `max` bytes (then its size).
fn read_file(path: &Path, max: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Ok(Err(len));
    }
    let mut content = Vec::with_capacity(len as usize + 1);
    // Files can grow while we read; never read more than the limit.
    file.take(max + 1).read_to_end(&mut content)?;
    if content.len() as u64 > max {
        return Ok(Err(content.len() as u64));
    }
    Ok(Ok(content))
}

/// An I/O error as a short reason, without Rust's "(os error N)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The path and a one-line message for a walk error.
fn walk_error(err: &ignore::Error) -> (String, String) {
    match err {
        ignore::Error::WithPath { path, err } => (display_path(path), walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error(err)
        }
        ignore::Error::Loop { child, ancestor } => (
            display_path(child),
            format!(
                "symbolic link loop (points back to {})",
                display_path(ancestor)
            ),
        ),
        ignore::Error::Io(e) => (String::new(), format!("cannot read: {}", io_reason(e))),
        other => (String::new(), other.to_string()),
    }
}
