//! Git history as a source: which blobs a history holds, and reading them.
//!
//! `git2` is the repository interface (refs, revwalk, trees, diffs). The one
//! hot path — reading every distinct blob once — uses `gix`, in pack-offset
//! order, from one thread-local handle per rayon worker: reading a pack
//! front to back keeps delta bases in the cache, which is several times
//! faster than random order (see README, "Dependencies").

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{ObjectType, Oid, Repository, Sort};
use rayon::prelude::*;

use crate::finding::CommitInfo;
use crate::sources::escape_bytes;

/// A blob to scan, with the first path it was seen at (for messages and
/// notebook detection; attribution is computed later, see `provenance`).
#[derive(Debug, Clone)]
pub struct BlobRef {
    pub id: Oid,
    pub path: String,
}

/// What a history walk enumerated.
#[derive(Debug, Default)]
pub struct Enumeration {
    /// Commits, parents before children (oldest first).
    pub commits: Vec<Oid>,
    /// Each distinct blob once.
    pub blobs: Vec<BlobRef>,
    /// Problems met on the way (missing trees, unreadable refs).
    pub errors: Vec<(String, String)>,
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

/// The commits reachable from every ref (branches, remote branches, tags,
/// `refs/stash`, notes) and HEAD, oldest first.
pub fn all_commits(
    repo: &Repository,
    errors: &mut Vec<(String, String)>,
) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    let mut pushed = 0;
    for reference in repo.references()? {
        let Ok(reference) = reference else { continue };
        let name = reference.name().unwrap_or("?").to_string();
        match reference.peel(ObjectType::Commit) {
            Ok(obj) => {
                if walk.push(obj.id()).is_ok() {
                    pushed += 1;
                }
            }
            // Tags of trees or blobs, broken refs: say so, carry on.
            Err(e) if e.code() != git2::ErrorCode::InvalidSpec => {
                if !matches!(
                    reference.peel(ObjectType::Any).map(|o| o.kind()),
                    Ok(Some(ObjectType::Blob | ObjectType::Tree))
                ) {
                    errors.push((name, format!("cannot resolve ref: {}", e.message())));
                }
            }
            Err(_) => {}
        }
    }
    if let Ok(head) = repo.head() {
        if let Some(id) = head.target() {
            if walk.push(id).is_ok() {
                pushed += 1;
            }
        }
    }
    if pushed == 0 {
        return Ok(Vec::new());
    }
    let mut commits = Vec::new();
    for id in walk {
        match id {
            Ok(id) => commits.push(id),
            Err(e) => errors.push((String::new(), format!("revision walk: {}", e.message()))),
        }
    }
    Ok(commits)
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

/// Every distinct blob in the trees of `commits`. Each distinct tree is read
/// once, so the cost follows the number of distinct trees, not commits ×
/// files.
pub fn enumerate_blobs(repo: &Repository, commits: Vec<Oid>) -> Enumeration {
    let mut en = Enumeration {
        commits,
        ..Enumeration::default()
    };
    let mut seen_trees: HashSet<Oid> = HashSet::new();
    let mut seen_blobs: HashSet<Oid> = HashSet::new();
    let mut path = Vec::new();
    for i in 0..en.commits.len() {
        let id = en.commits[i];
        let tree = match repo.find_commit(id) {
            Ok(c) => c.tree_id(),
            Err(e) => {
                en.errors.push((
                    format!("commit {id}"),
                    format!("cannot read commit: {}", e.message()),
                ));
                continue;
            }
        };
        walk_tree(
            repo,
            tree,
            &mut path,
            &mut seen_trees,
            &mut seen_blobs,
            &mut en,
        );
    }
    en
}

fn walk_tree(
    repo: &Repository,
    tree_id: Oid,
    path: &mut Vec<u8>,
    seen_trees: &mut HashSet<Oid>,
    seen_blobs: &mut HashSet<Oid>,
    en: &mut Enumeration,
) {
    if !seen_trees.insert(tree_id) {
        return;
    }
    let tree = match repo.find_tree(tree_id) {
        Ok(t) => t,
        Err(e) => {
            en.errors.push((
                display(path),
                format!("cannot read tree {tree_id}: {}", e.message()),
            ));
            return;
        }
    };
    for entry in tree.iter() {
        let len = path.len();
        path.extend_from_slice(entry.name_bytes());
        match entry.kind() {
            Some(ObjectType::Tree) => {
                path.push(b'/');
                walk_tree(repo, entry.id(), path, seen_trees, seen_blobs, en);
            }
            Some(ObjectType::Blob) if seen_blobs.insert(entry.id()) => en.blobs.push(BlobRef {
                id: entry.id(),
                path: display(path),
            }),
            // Submodule commits and already-seen blobs.
            _ => {}
        }
        path.truncate(len);
    }
}

/// A repository path as text (escaped if not UTF-8).
pub fn display(path: &[u8]) -> String {
    escape_bytes(path.strip_suffix(b"/").unwrap_or(path))
}

/// What reading blobs produced.
pub trait BlobSink: Sync {
    fn blob(&self, blob: &BlobRef, content: &[u8]);
    fn error(&self, blob: &BlobRef, message: String);
    fn skipped(&self, blob: &BlobRef, size: u64);
    fn progress(&self, _bytes: u64) {}
}

/// Totals of a blob read.
#[derive(Debug, Default)]
pub struct ReadStats {
    pub blobs: u64,
    pub bytes: u64,
    pub skipped: u64,
}

/// Reads every blob in pack-offset order, in parallel, and hands each to
/// the sink. Never holds more than one blob per worker in memory.
pub fn read_blobs(
    git_dir: &Path,
    blobs: &[BlobRef],
    max_size: u64,
    sink: &dyn BlobSink,
) -> Result<ReadStats, String> {
    let repo = gix::open(git_dir)
        .map_err(|e| format!("{}: cannot open repository: {e}", git_dir.display()))?;
    let order = pack_order(&repo, blobs);
    let shared = repo.into_sync();
    let read = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    // Contiguous runs of the pack go to one worker, so delta bases stay hot.
    let chunk = (order.len() / (rayon::current_num_threads() * 16)).clamp(16, 512);
    order.par_chunks(chunk).for_each_init(
        || {
            let mut r = shared.to_thread_local();
            r.object_cache_size_if_unset(4 << 20);
            r
        },
        |repo, run| {
            for &i in run {
                let blob = &blobs[i];
                let id = gix::ObjectId::from_bytes_or_panic(blob.id.as_bytes());
                match repo.try_find_header(id) {
                    Ok(Some(h)) if h.size() > max_size => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        sink.skipped(blob, h.size());
                        continue;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        sink.error(
                            blob,
                            format!("blob {} is missing from the object database", blob.id),
                        );
                        continue;
                    }
                    Err(e) => {
                        sink.error(blob, format!("cannot read blob {}: {e}", blob.id));
                        continue;
                    }
                }
                match repo.find_object(id) {
                    Ok(obj) => {
                        read.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(obj.data.len() as u64, Ordering::Relaxed);
                        sink.progress(obj.data.len() as u64);
                        sink.blob(blob, &obj.data);
                    }
                    Err(e) => sink.error(blob, format!("cannot read blob {}: {e}", blob.id)),
                }
            }
        },
    );
    Ok(ReadStats {
        blobs: read.into_inner(),
        bytes: bytes.into_inner(),
        skipped: skipped.into_inner(),
    })
}

/// Indices into `blobs` in pack order: by pack, then offset; loose objects
/// and anything not found in a pack index come last.
fn pack_order(repo: &gix::Repository, blobs: &[BlobRef]) -> Vec<usize> {
    let mut wanted: HashMap<gix::ObjectId, usize> = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| (gix::ObjectId::from_bytes_or_panic(b.id.as_bytes()), i))
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

/// Formats a Unix time with a UTC offset as RFC 3339.
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + offset_minutes as i64 * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
