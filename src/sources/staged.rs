//! What `git commit` would record: the index compared with HEAD (or with
//! the empty tree before the first commit). Content is read from the
//! index, never from the working tree, and for each file the lines the
//! staged change adds are listed so that an old token elsewhere in the file
//! does not block an unrelated commit.

use std::collections::HashSet;

use git2::{Delta, DiffOptions, Repository};

use crate::finding::{Origin, ScanError};
use crate::sources::Sink;
use crate::sources::git::display;

/// Totals of the staged files read.
#[derive(Debug, Default)]
pub struct StagedStats {
    pub files: u64,
    pub bytes: u64,
}

/// Hands each staged addition or modification to the sink, as an
/// [`Origin::Staged`] with the lines it adds (`None`: the whole file, for a
/// new file or a binary one whose lines git does not diff). An index that
/// cannot be compared with HEAD is an error; a file that cannot be read is
/// reported to the sink.
pub fn read(repo: &Repository, sink: &dyn Sink) -> Result<StagedStats, String> {
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(|e| format!("cannot read HEAD's tree: {}", e.message()))?,
        ),
        Err(_) => None, // no commit yet: everything staged is new
    };
    let index = repo
        .index()
        .map_err(|e| format!("cannot read the index: {}", e.message()))?;
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .ignore_submodules(true)
        .include_typechange(true);
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
        .map_err(|e| format!("cannot compare the index with HEAD: {}", e.message()))?;
    let mut stats = StagedStats::default();
    for (i, delta) in diff.deltas().enumerate() {
        let path = display(delta.new_file().path_bytes().unwrap_or_default());
        match delta.status() {
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange => {
            }
            Delta::Conflicted => {
                sink.error(ScanError::new(
                    path,
                    "has merge conflicts: resolve and stage it, then commit",
                ));
                continue;
            }
            _ => continue,
        }
        if delta.new_file().mode() == git2::FileMode::Commit {
            continue;
        }
        let blob = match repo.find_blob(delta.new_file().id()) {
            Ok(blob) => blob,
            Err(e) => {
                sink.error(ScanError::new(
                    path,
                    format!("cannot read staged content: {}", e.message()),
                ));
                continue;
            }
        };
        let added_lines = if delta.status() == Delta::Added || delta.old_file().id().is_zero() {
            None
        } else {
            added_lines(&diff, i)
        };
        stats.files += 1;
        stats.bytes += blob.content().len() as u64;
        sink.chunk(&Origin::Staged { path, added_lines }, blob.content());
    }
    Ok(stats)
}

/// The new-side line numbers of `+` lines of delta `i`; `None` if git has
/// no line diff for it (binary content).
fn added_lines(diff: &git2::Diff, i: usize) -> Option<HashSet<usize>> {
    let patch = git2::Patch::from_diff(diff, i).ok()??;
    if patch.delta().flags().is_binary() {
        return None;
    }
    let mut lines = HashSet::new();
    for h in 0..patch.num_hunks() {
        let Ok(n) = patch.num_lines_in_hunk(h) else {
            continue;
        };
        for l in 0..n {
            if let Ok(line) = patch.line_in_hunk(h, l) {
                if line.origin() == '+' {
                    if let Some(no) = line.new_lineno() {
                        lines.insert(no as usize);
                    }
                }
            }
        }
    }
    Some(lines)
}
