//! Git history as a source: commits, ranges and their changes, and reading
//! blobs one by one.
//!
//! `git2` is the repository interface (refs, revwalk, trees, diffs). A full
//! audit decodes whole packs (`sources::objects`); what is left — a range's
//! blobs, loose objects — is read here with `gix`, in pack-offset order,
//! from one thread-local handle per rayon worker: reading a pack front to
//! back keeps delta bases in the cache, which is several times faster than
//! random order (see README, "Dependencies").

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{ObjectType, Oid, Repository, Sort};
use rayon::prelude::*;

use crate::finding::{CommitInfo, Origin, ScanError};
use crate::sources::{Sink, escape_bytes};

/// A blob to scan, with the first path it was seen at (for messages and
/// notebook detection; attribution is computed later, see `provenance`).
#[derive(Debug, Clone)]
pub struct BlobRef {
    pub id: Oid,
    pub path: String,
}

/// Opens the repository at or above `path`, or says it is not one.
pub fn open(path: &Path) -> Result<Repository, String> {
    match Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::empty(),
        std::iter::empty::<&std::ffi::OsStr>(),
    ) {
        Ok(repo) => Ok(repo),
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            Err(format!("not a git repository: {}", path.display()))
        }
        Err(e) => Err(format!(
            "{}: cannot open repository: {}",
            path.display(),
            e.message()
        )),
    }
}

/// The commits every ref (branches, remote branches, tags, `refs/stash`,
/// notes) and HEAD point at. Refs that cannot be resolved are reported;
/// tags of trees or blobs are left out.
pub fn tips(repo: &Repository, errors: &mut Vec<ScanError>) -> Result<Vec<Oid>, String> {
    let mut tips = Vec::new();
    let references = repo
        .references()
        .map_err(|e| format!("cannot list refs: {}", e.message()))?;
    for reference in references {
        let Ok(reference) = reference else { continue };
        let name = reference.name().unwrap_or("?").to_string();
        match reference.peel(ObjectType::Commit) {
            Ok(obj) => tips.push(obj.id()),
            Err(e) if e.code() != git2::ErrorCode::InvalidSpec => {
                if !matches!(
                    reference.peel(ObjectType::Any).map(|o| o.kind()),
                    Ok(Some(ObjectType::Blob | ObjectType::Tree))
                ) {
                    errors.push(ScanError::new(
                        name,
                        format!("cannot resolve ref: {}", e.message()),
                    ));
                }
            }
            Err(_) => {}
        }
    }
    if let Some(id) = repo.head().ok().and_then(|h| h.target()) {
        tips.push(id);
    }
    Ok(tips)
}

/// The commits of a shallow clone's boundary, whose parents are not there.
pub fn shallow_commits(repo: &Repository) -> Vec<Oid> {
    std::fs::read_to_string(repo.commondir().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// The commits in `A..B` (reachable from B, not from A), oldest first.
pub fn range_commits(repo: &Repository, range: &str) -> Result<Vec<Oid>, String> {
    let mut walk = repo.revwalk().map_err(|e| e.message().to_string())?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| e.message().to_string())?;
    walk.push_range(range)
        .map_err(|e| format!("invalid range '{range}': {}", e.message()))?;
    walk.map(|r| r.map_err(|e| format!("revision walk: {}", e.message())))
        .collect()
}

/// A git2 id as a gix id.
pub fn to_gix(id: Oid) -> gix::ObjectId {
    gix::ObjectId::from_bytes_or_panic(id.as_bytes())
}

/// A gix id as a git2 id.
pub fn to_git2(id: &gix::oid) -> Oid {
    Oid::from_bytes(id.as_bytes()).expect("SHA-1 ids are 20 bytes")
}

/// A repository path as text (escaped if not UTF-8).
pub fn display(path: &[u8]) -> String {
    escape_bytes(path.strip_suffix(b"/").unwrap_or(path))
}

/// Totals of a blob read.
#[derive(Debug, Default)]
pub struct ReadStats {
    pub blobs: u64,
    pub bytes: u64,
    pub skipped: u64,
}

impl std::ops::AddAssign for ReadStats {
    fn add_assign(&mut self, other: ReadStats) {
        self.blobs += other.blobs;
        self.bytes += other.bytes;
        self.skipped += other.skipped;
    }
}

/// Opens a repository with `gix`.
pub fn open_gix(git_dir: &Path) -> Result<gix::Repository, String> {
    gix::open(git_dir).map_err(|e| format!("{}: cannot open repository: {e}", git_dir.display()))
}

/// One `gix` handle per rayon worker, kept for a whole read so that each
/// handle's delta-base cache stays warm.
pub struct Handles(Vec<Mutex<gix::Repository>>);

impl Handles {
    pub fn open(git_dir: &Path) -> Result<Handles, String> {
        let shared = open_gix(git_dir)?.into_sync();
        Ok(Handles(
            (0..rayon::current_num_threads())
                .map(|_| Mutex::new(shared.to_thread_local()))
                .collect(),
        ))
    }

    /// Runs `f` with the calling worker's handle.
    pub fn with<R>(&self, f: impl FnOnce(&mut gix::Repository) -> R) -> R {
        let slot = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        f(&mut self.0[slot].lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Reads every blob in pack-offset order, in parallel, and hands each to
/// the sink. Never holds more than one blob per worker in memory.
pub fn read_blobs(
    handles: &Handles,
    blobs: &[BlobRef],
    max_size: u64,
    sink: &dyn Sink,
) -> ReadStats {
    let order = handles.with(|repo| pack_order(repo, blobs));
    let read = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    // Contiguous runs of the pack go to one worker, so delta bases stay hot.
    let chunk = (order.len() / (rayon::current_num_threads() * 16)).clamp(16, 512);
    order.par_chunks(chunk).for_each(|run| {
        handles.with(|repo| {
            for &i in run {
                let blob = &blobs[i];
                let origin = Origin::Blob {
                    id: blob.id,
                    path: Some(blob.path.clone()),
                };
                let id = to_gix(blob.id);
                // The header first, so that a blob over --max-file-size is
                // never inflated into memory (measured: a few percent of the read).
                match repo.try_find_header(id) {
                    Ok(Some(h)) if h.size() > max_size => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        sink.skipped(&origin, h.size());
                        continue;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        sink.error(ScanError::new(
                            &blob.path,
                            format!("blob {} is missing from the object database", blob.id),
                        ));
                        continue;
                    }
                    Err(e) => {
                        sink.error(ScanError::new(
                            &blob.path,
                            format!("cannot read blob {}: {e}", blob.id),
                        ));
                        continue;
                    }
                }
                match repo.find_object(id) {
                    Ok(obj) => {
                        read.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(obj.data.len() as u64, Ordering::Relaxed);
                        sink.progress(obj.data.len() as u64);
                        sink.chunk(&origin, &obj.data);
                    }
                    Err(e) => sink.error(ScanError::new(
                        &blob.path,
                        format!("cannot read blob {}: {e}", blob.id),
                    )),
                }
            }
        })
    });
    ReadStats {
        blobs: read.into_inner(),
        bytes: bytes.into_inner(),
        skipped: skipped.into_inner(),
    }
}

/// Indices into `blobs` in pack order: by pack, then offset; loose objects
/// and anything not found in a pack index come last.
fn pack_order(repo: &gix::Repository, blobs: &[BlobRef]) -> Vec<usize> {
    let mut wanted: HashMap<gix::ObjectId, usize> = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| (to_gix(b.id), i))
        .collect();
    let mut order = Vec::with_capacity(blobs.len());
    if let Ok(iter) = repo.objects.store_ref().iter() {
        let iter = iter.with_ordering(
            gix::odb::store::iter::Ordering::PackAscendingOffsetThenLooseLexicographical,
        );
        for id in iter.flatten() {
            if let Some(i) = wanted.remove(&id) {
                order.push(i);
                if wanted.is_empty() {
                    break;
                }
            }
        }
    }
    let mut rest: Vec<usize> = wanted.into_values().collect();
    rest.sort_unstable();
    order.extend(rest);
    order
}

/// Author, date (RFC 3339 with the author's offset) and summary of a commit.
pub fn commit_info(commit: &git2::Commit) -> CommitInfo {
    let author = commit.author();
    let when = author.when();
    CommitInfo {
        id: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(when.seconds(), when.offset_minutes()),
        summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
    }
}

/// A Unix time with a UTC offset as RFC 3339 (gix's strict ISO 8601).
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    gix::date::Time::new(seconds, offset_minutes * 60)
        .format_or_unix(gix::date::time::format::ISO8601_STRICT)
}

/// Whether `name` is a secrets file that belongs out of commits: `.env`,
/// `.env.local`, `prod.env`, `.envrc`.
pub fn is_env_file(name: &str) -> bool {
    let name = name.rsplit('/').next().unwrap_or(name);
    name == ".env" || name == ".envrc" || name.starts_with(".env.") || name.ends_with(".env")
}

/// For a file in a git work tree: `Some(true)` when git ignores it and does
/// not track it (it never reached a commit), `Some(false)` when it is
/// tracked or not ignored; `None` outside a work tree.
pub fn ignored_untracked(file: &Path) -> Option<bool> {
    let abs = std::fs::canonicalize(file).ok()?;
    let repo = Repository::discover(abs.parent()?).ok()?;
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let rel = abs.strip_prefix(&workdir).ok()?;
    let tracked = repo.index().ok()?.get_path(rel, 0).is_some();
    Some(!tracked && repo.is_path_ignored(rel).unwrap_or(false))
}

/// Hands the message of each of `commits` to the sink, in order. A commit
/// that cannot be read was reported by the walk that listed it.
pub fn messages(repo: &Repository, commits: &[Oid], sink: &dyn Sink) {
    for &id in commits {
        if let Ok(commit) = repo.find_commit(id) {
            sink.chunk(
                &Origin::CommitMessage { commit: id },
                commit.message_bytes(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_with_offset() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_700_000_000, 60), "2023-11-14T23:13:20+01:00");
        assert_eq!(rfc3339(951_782_400, -330), "2000-02-28T18:30:00-05:30");
    }
}

/// One file a commit of a range added or changed (or deleted: `new` is None).
#[derive(Debug, Clone)]
pub struct Change {
    pub commit: Oid,
    pub path: String,
    pub new: Option<Oid>,
    pub old: Option<Oid>,
}

/// What each commit changed relative to its first parent (the empty tree
/// for a root commit), with renames detected so that a moved file is
/// compared with its old content.
pub fn changes(repo: &Repository, commits: &[Oid]) -> Result<Vec<Change>, String> {
    let mut out = Vec::new();
    for &id in commits {
        let commit = repo
            .find_commit(id)
            .map_err(|e| format!("commit {id}: {}", e.message()))?;
        let tree = commit
            .tree()
            .map_err(|e| format!("commit {id}: {}", e.message()))?;
        let parent_tree = match commit.parent(0) {
            Ok(p) => Some(
                p.tree()
                    .map_err(|e| format!("commit {}: {}", p.id(), e.message()))?,
            ),
            Err(_) => None,
        };
        let mut opts = git2::DiffOptions::new();
        opts.ignore_submodules(true);
        let mut diff = repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))
            .map_err(|e| format!("commit {id}: cannot diff: {}", e.message()))?;
        let mut find = git2::DiffFindOptions::new();
        find.renames(true).copies(false);
        let _ = diff.find_similar(Some(&mut find));
        for delta in diff.deltas() {
            let nonzero = |o: Oid| (!o.is_zero()).then_some(o);
            let file = if delta.status() == git2::Delta::Deleted {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let path = display(file.path_bytes().unwrap_or_default());
            match delta.status() {
                git2::Delta::Added
                | git2::Delta::Modified
                | git2::Delta::Renamed
                | git2::Delta::Copied
                | git2::Delta::Typechange => {
                    if delta.new_file().mode() == git2::FileMode::Commit {
                        continue;
                    }
                    out.push(Change {
                        commit: id,
                        path,
                        new: nonzero(delta.new_file().id()),
                        old: nonzero(delta.old_file().id()),
                    });
                }
                git2::Delta::Deleted => out.push(Change {
                    commit: id,
                    path,
                    new: None,
                    old: nonzero(delta.old_file().id()),
                }),
                _ => {}
            }
        }
    }
    Ok(out)
}
