//! The objects of a full history audit, each decoded once.
//!
//! A full audit needs every tree (which blobs each commit holds, and later
//! provenance) and every blob (to match). Looking objects up one by one
//! re-inflates delta chains over and over, even in pack order. Instead,
//! [`decode_packs`] walks each pack's delta tree with gix, the way
//! `git index-pack` resolves a pack: every entry is inflated once and each
//! delta is applied to a base that is still in memory, on all workers.
//! Trees are recorded in a compact [`TreeGraph`]; blobs are matched as they
//! are decoded and dropped at once.
//!
//! Objects that no pack gave (loose objects, a pack that cannot be
//! decoded) are read one by one afterwards — commits by [`walk_commits`],
//! trees by [`enumerate`], blobs by `git::read_blobs` — and parsed by the
//! same code, so the outcome is the same either way.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use git2::{Oid, Repository};
use gix::ObjectId;
use gix::odb::pack;
use rayon::prelude::*;

use crate::finding::{Origin, ScanError};
use crate::sources::Sink;
use crate::sources::git::{self, BlobRef, Handles, display, to_git2, to_gix};

/// Every object of the repository, numbered: the objects of each pack by
/// their position in its index (the first pack that holds an object owns
/// it), then objects outside packs in the order they are met.
#[derive(Default)]
pub struct Objects {
    indices: Vec<pack::index::File>,
    /// Per pack, where each id prefix starts in its index.
    tables: Vec<PrefixTable>,
    /// The packs' data, until [`decode_packs`] has read it.
    data: Vec<pack::data::File>,
    bases: Vec<u32>,
    packed: u32,
    extra: Mutex<Extra>,
}

#[derive(Default)]
struct Extra {
    numbers: gix::hashtable::HashMap<ObjectId, u32>,
    ids: Vec<ObjectId>,
}

impl Objects {
    /// The packs of the repository at `git_dir` and of its alternates.
    /// A pack that cannot be opened is reported; its objects are then read
    /// one by one, like loose objects.
    pub fn open(git_dir: &Path, errors: &mut Vec<ScanError>) -> Result<Objects, String> {
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for index in pack_indices(git_dir)? {
            match pack::Bundle::at(&index, gix::hash::Kind::Sha1) {
                Ok(bundle) if bundle.index.num_objects() > 0 => {
                    verify_index(&bundle.index, &index)?;
                    indices.push(bundle.index);
                    data.push(bundle.pack);
                }
                Ok(_) => {}
                Err(e) => errors.push(ScanError::new(
                    crate::sources::display_path(&index),
                    format!("cannot open pack: {e}; its objects are read one by one"),
                )),
            }
        }
        let mut bases = Vec::with_capacity(indices.len());
        let mut packed: u32 = 0;
        for index in &indices {
            bases.push(packed);
            packed = packed.saturating_add(index.num_objects());
        }
        // The top bit of a number marks trees in the graph.
        if packed >= TREE_BIT {
            return Err(format!(
                "{}: {packed} objects in packs: more than hfleaks can number",
                git_dir.display()
            ));
        }
        let tables = indices.iter().map(PrefixTable::new).collect();
        Ok(Objects {
            indices,
            tables,
            data,
            bases,
            packed,
            extra: Mutex::new(Extra::default()),
        })
    }

    /// How many objects the packs hold.
    pub fn packed(&self) -> u32 {
        self.packed
    }

    /// How many objects are numbered so far.
    fn len(&self) -> usize {
        self.packed as usize + self.lock_extra().ids.len()
    }

    /// The number of object `id`, given one if it is in no pack.
    pub fn number(&self, id: &gix::oid) -> u32 {
        if let Some(n) = self.packed_number(id) {
            return n;
        }
        let mut extra = self.lock_extra();
        if let Some(&n) = extra.numbers.get(id) {
            return n;
        }
        let n = self.packed + extra.ids.len() as u32;
        extra.ids.push(id.to_owned());
        extra.numbers.insert(id.to_owned(), n);
        n
    }

    /// The id of object `n`.
    pub fn id(&self, n: u32) -> ObjectId {
        if n < self.packed {
            let k = self.bases.partition_point(|&b| b <= n) - 1;
            self.indices[k].oid_at_index(n - self.bases[k]).to_owned()
        } else {
            self.lock_extra().ids[(n - self.packed) as usize]
        }
    }

    fn packed_number(&self, id: &gix::oid) -> Option<u32> {
        (0..self.indices.len()).find_map(|k| self.lookup(k, id).map(|i| self.bases[k] + i))
    }

    /// The position of `id` in pack `k`'s index.
    fn lookup(&self, k: usize, id: &gix::oid) -> Option<u32> {
        let index = &self.indices[k];
        // Fixed-size compares, inlined (a slice compare calls memcmp).
        let mut candidates = self.tables[k].candidates(id);
        match <&[u8; 20]>::try_from(id.as_bytes()) {
            Ok(want) => candidates.find(|&i| {
                <&[u8; 20]>::try_from(index.oid_at_index(i).as_bytes())
                    .is_ok_and(|have| have == want)
            }),
            Err(_) => candidates.find(|&i| index.oid_at_index(i) == id),
        }
    }

    fn lock_extra(&self) -> std::sync::MutexGuard<'_, Extra> {
        self.extra.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where each id prefix starts in a pack index (ids are sorted there): a
/// fan-out table fine enough for about one id per slot, so that a lookup
/// compares one or two ids instead of binary-searching the index (the
/// index's own fan-out has 256 slots). Ids are hashes, so slots fill
/// evenly. 4 to 8 bytes an object (at most 64 MiB a pack).
struct PrefixTable {
    shift: u32,
    starts: Vec<u32>,
}

impl PrefixTable {
    fn new(index: &pack::index::File) -> PrefixTable {
        let n = index.num_objects();
        let bits = (32 - n.leading_zeros()).clamp(8, 24);
        let shift = 32 - bits;
        let slots = 1usize << bits;
        let mut starts = Vec::with_capacity(slots + 1);
        for i in 0..n {
            let slot = (prefix(index.oid_at_index(i)) >> shift) as usize;
            while starts.len() <= slot {
                starts.push(i);
            }
        }
        starts.resize(slots + 1, n);
        PrefixTable { shift, starts }
    }

    /// The index positions that may hold `id`.
    fn candidates(&self, id: &gix::oid) -> std::ops::Range<u32> {
        let slot = (prefix(id) >> self.shift) as usize;
        self.starts[slot]..self.starts[slot + 1]
    }
}

/// The first four bytes of an id, big-endian (the index's sort order).
fn prefix(id: &gix::oid) -> u32 {
    let b = id.as_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Checks the pack indices of the repository at `git_dir` (and of its
/// alternates) before libgit2 reads through them.
pub fn verify_pack_indices(git_dir: &Path) -> Result<(), String> {
    for path in pack_indices(git_dir)? {
        // One that cannot be opened at all is not read by libgit2 either.
        if let Ok(index) = pack::index::File::at(&path, gix::hash::Kind::Sha1) {
            verify_index(&index, &path)?;
        }
    }
    Ok(())
}

/// libgit2 trusts an index's offsets and crashes on a damaged one, so a
/// damaged index stops a history scan with this error.
fn verify_index(index: &pack::index::File, path: &Path) -> Result<(), String> {
    index
        .verify_checksum(&mut gix::progress::Discard, &AtomicBool::new(false))
        .map(|_| ())
        .map_err(|_| {
            format!(
                "{}: corrupt pack index (checksum mismatch); rebuild it with `git index-pack` on its .pack file",
                crate::sources::display_path(path)
            )
        })
}

/// The `.idx` files of the repository at `git_dir` and of its alternates,
/// sorted within each objects directory.
fn pack_indices(git_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let repo = git::open_gix(git_dir)?;
    let store = repo.objects.store_ref();
    let mut dirs = vec![store.path().to_path_buf()];
    dirs.extend(store.alternate_db_paths().unwrap_or_default());
    let mut out = Vec::new();
    for dir in dirs {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("pack"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// A child of a tree in [`TreeGraph`], by object number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    Tree(u32),
    /// A file or a symbolic link: content to scan.
    Blob(u32),
}

/// A tree entry in 8 bytes: its interned name, and its child's object
/// number with the top bit set for a tree.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    name: u32,
    child: u32,
}

const TREE_BIT: u32 = 1 << 31;

impl Entry {
    fn new(name: u32, child: Child) -> Entry {
        let child = match child {
            Child::Tree(n) => n | TREE_BIT,
            Child::Blob(n) => n,
        };
        Entry { name, child }
    }

    /// The entry's name, an id for [`TreeGraph::name`].
    pub fn name(&self) -> u32 {
        self.name
    }

    pub fn child(&self) -> Child {
        if self.child & TREE_BIT != 0 {
            Child::Tree(self.child & !TREE_BIT)
        } else {
            Child::Blob(self.child)
        }
    }
}

/// Where a tree's entries are: chunk, start, end.
#[derive(Debug, Clone, Copy)]
struct Span {
    chunk: u32,
    start: u32,
    end: u32,
}

const NO_SPAN: Span = Span {
    chunk: u32::MAX,
    start: 0,
    end: 0,
};

/// The trees of a repository, by object number: each tree's entries as
/// (interned name, child) pairs, 8 bytes an entry, so a history's trees
/// can be walked any number of times without decoding objects again.
/// Submodule entries are left out: they are not content of the repository.
#[derive(Debug, Default)]
pub struct TreeGraph {
    spans: Vec<Span>,
    chunks: Vec<Vec<Entry>>,
    names: Names,
}

/// Entry names, each stored once, by id.
#[derive(Debug, Default)]
struct Names {
    list: Vec<Box<[u8]>>,
    ids: foldhash::HashMap<Box<[u8]>, u32>,
}

impl Names {
    fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }
}

/// Trees recorded by one worker of a pack traversal, or read one by one:
/// entries whose names are ids of the chunk's own `names`, and the trees
/// (number, start, end) that live in it. Merged into a [`TreeGraph`].
#[derive(Default)]
struct Chunk {
    names: Names,
    entries: Vec<Entry>,
    trees: Vec<(u32, u32, u32)>,
}

impl Chunk {
    /// Records tree `n` from its raw bytes; nothing is recorded for a tree
    /// that does not parse. Submodule entries are left out.
    fn add_tree(&mut self, n: u32, data: &[u8], objects: &Objects) -> Result<(), String> {
        let start = self.entries.len();
        for entry in gix::objs::TreeRefIter::from_bytes(data, gix::hash::Kind::Sha1) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.entries.truncate(start);
                    return Err(e.to_string());
                }
            };
            let child = if entry.mode.is_tree() {
                Child::Tree(objects.number(entry.oid))
            } else if entry.mode.is_commit() {
                continue;
            } else {
                Child::Blob(objects.number(entry.oid))
            };
            let name = self.names.intern(entry.filename.as_ref());
            self.entries.push(Entry::new(name, child));
        }
        self.trees
            .push((n, start as u32, self.entries.len() as u32));
        Ok(())
    }

    /// Records tree `n` as having no entries (it could not be read).
    fn add_empty(&mut self, n: u32) {
        let at = self.entries.len() as u32;
        self.trees.push((n, at, at));
    }
}

impl TreeGraph {
    /// The entries of tree `n` (none if it was never recorded).
    pub fn entries(&self, n: u32) -> &[Entry] {
        match self.spans.get(n as usize) {
            Some(s) if s.chunk != u32::MAX => {
                &self.chunks[s.chunk as usize][s.start as usize..s.end as usize]
            }
            _ => &[],
        }
    }

    /// One more than the highest tree number recorded.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no tree was recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Whether tree `n` was recorded.
    pub fn has(&self, n: u32) -> bool {
        self.spans
            .get(n as usize)
            .is_some_and(|s| s.chunk != u32::MAX)
    }

    /// An entry name.
    pub fn name(&self, id: u32) -> &[u8] {
        &self.names.list[id as usize]
    }

    /// Adds a chunk's trees, its names mapped onto the graph's.
    fn add_chunk(&mut self, chunk: Chunk) {
        let Chunk {
            names,
            mut entries,
            trees,
        } = chunk;
        let remap: Vec<u32> = names.list.iter().map(|n| self.names.intern(n)).collect();
        for e in &mut entries {
            e.name = remap[e.name as usize];
        }
        entries.shrink_to_fit();
        let chunk = self.chunks.len() as u32;
        self.chunks.push(entries);
        for (n, start, end) in trees {
            let n = n as usize;
            if self.spans.len() <= n {
                self.spans.resize(n + 1, NO_SPAN);
            }
            self.spans[n] = Span { chunk, start, end };
        }
    }
}

/// What decoding the packs produced, by object number.
#[derive(Default)]
pub struct Decoded {
    pub graph: TreeGraph,
    /// The size of every blob decoded; those over the size limit were
    /// not matched.
    pub blob_sizes: HashMap<u32, u64>,
    /// Every commit decoded.
    pub commits: HashMap<u32, CommitRecord>,
    pub errors: Vec<ScanError>,
}

/// What the commit walk needs of a commit.
#[derive(Debug, Clone)]
pub struct CommitRecord {
    pub tree: u32,
    pub parents: Vec<u32>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
}

impl CommitRecord {
    /// From a commit's raw bytes.
    fn parse(data: &[u8], objects: &Objects) -> Result<CommitRecord, String> {
        let c = gix::objs::CommitRef::from_bytes(data, gix::hash::Kind::Sha1)
            .map_err(|e| e.to_string())?;
        Ok(CommitRecord {
            tree: objects.number(&c.tree()),
            parents: c.parents().map(|p| objects.number(&p)).collect(),
            time: c.committer().map(|s| s.seconds()).unwrap_or_default(),
        })
    }
}

/// What one worker of a pack traversal recorded; merged at the end.
#[derive(Default)]
struct Recorded {
    trees: Chunk,
    blobs: Vec<(u32, u64)>,
    commits: Vec<(u32, CommitRecord)>,
}

/// What the workers of a traversal share.
struct Shared<'a> {
    objects: &'a Objects,
    pack: usize,
    max_size: u64,
    sink: &'a dyn Sink,
    done: Mutex<Vec<Recorded>>,
}

/// One worker of a pack traversal. gix clones the processor for each of
/// its threads; each clone starts empty and hands what it recorded over
/// when it is dropped.
struct Worker<'a> {
    shared: &'a Shared<'a>,
    recorded: Recorded,
}

impl Clone for Worker<'_> {
    fn clone(&self) -> Self {
        Worker::new(self.shared)
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let recorded = std::mem::take(&mut self.recorded);
        self.shared
            .done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(recorded);
    }
}

impl<'a> Worker<'a> {
    fn new(shared: &'a Shared<'a>) -> Self {
        Worker {
            shared,
            recorded: Recorded::default(),
        }
    }

    fn object(&mut self, kind: gix::objs::Kind, data: &[u8], id: &gix::oid) {
        let objects = self.shared.objects;
        let pack = self.shared.pack;
        let Some(i) = objects.lookup(pack, id) else {
            return;
        };
        // An object that an earlier pack holds too was handled there.
        if (0..pack).any(|k| objects.lookup(k, id).is_some()) {
            return;
        }
        let n = objects.bases[pack] + i;
        match kind {
            // A tree or commit that does not parse is left out here, so
            // that the one-by-one reader reports it.
            gix::objs::Kind::Tree => {
                let _ = self.recorded.trees.add_tree(n, data, objects);
                self.shared.sink.progress(0);
            }
            gix::objs::Kind::Blob => {
                let size = data.len() as u64;
                self.recorded.blobs.push((n, size));
                if size <= self.shared.max_size {
                    // Paths are not known yet: the collector locates
                    // notebook cells in every blob with a finding.
                    let origin = Origin::Blob {
                        id: to_git2(id),
                        path: None,
                    };
                    self.shared.sink.chunk(&origin, data);
                }
                self.shared.sink.progress(size);
            }
            gix::objs::Kind::Commit => {
                if let Ok(record) = CommitRecord::parse(data, objects) {
                    self.recorded.commits.push((n, record));
                }
                self.shared.sink.progress(0);
            }
            gix::objs::Kind::Tag => self.shared.sink.progress(0),
        }
    }
}

/// Decodes every object of every pack once, on all workers: records trees
/// and commits, hands each blob to `sink` (blobs over `max_size` are
/// counted, not handed over), and tells the sink's progress once per
/// object with the blob's size (0 for other objects). A pack that fails to decode is reported; what it did
/// not give is read one by one later. Each pack's data is unmapped once
/// it has been read.
pub fn decode_packs(objects: &mut Objects, max_size: u64, sink: &dyn Sink) -> Decoded {
    let mut decoded = Decoded::default();
    let mut recorded = Vec::new();
    let data = std::mem::take(&mut objects.data);
    let objects = &*objects;
    for (k, data) in data.into_iter().enumerate() {
        let index = &objects.indices[k];
        // Decoding holds each object in memory: a pack with an object over
        // the limit is read one by one instead, where such a blob is
        // skipped without being inflated.
        if stores_object_over(index, &data, max_size) {
            continue;
        }
        let shared = Shared {
            objects,
            pack: k,
            max_size,
            sink,
            done: Mutex::new(Vec::new()),
        };
        let result = {
            let mut worker = Worker::new(&shared);
            index.traverse_with_index(
                &data,
                move |kind, data, entry, _| {
                    worker.object(kind, data, &entry.oid);
                    Ok(())
                },
                &mut gix::progress::Discard,
                &AtomicBool::new(false),
                pack::index::traverse::with_index::Options {
                    thread_limit: Some(rayon::current_num_threads()),
                    // Objects are identified by the index; a damaged object
                    // fails to inflate or to parse, and is then reported by
                    // the one-by-one reader.
                    check:
                        pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerification,
                    alloc_limit_bytes: None,
                },
            )
        };
        if let Err(e) = result {
            decoded.errors.push(ScanError::new(
                crate::sources::display_path(data.path()),
                format!("cannot decode pack in one pass: {e}; reading its objects one by one"),
            ));
        }
        recorded.extend(shared.done.into_inner().unwrap_or_else(|e| e.into_inner()));
    }
    for r in recorded {
        decoded.graph.add_chunk(r.trees);
        decoded.blob_sizes.extend(r.blobs);
        decoded.commits.extend(r.commits);
    }
    decoded
}

/// Whether a pack stores a whole object larger than `max_size` (from the
/// entry headers; deltas are not resolved: git stores large files whole).
fn stores_object_over(index: &pack::index::File, data: &pack::data::File, max_size: u64) -> bool {
    index.iter().any(|e| {
        data.entry(e.pack_offset)
            .is_ok_and(|entry| !entry.header.is_delta() && entry.decompressed_size > max_size)
    })
}

/// What a history walk enumerated.
#[derive(Debug, Default)]
pub struct Enumeration {
    /// Commits, parents before children (oldest first).
    pub commits: Vec<Oid>,
    /// Each distinct reachable blob once, with the first path it was seen at.
    pub blobs: Vec<BlobRef>,
    /// The object number of each of `blobs`.
    pub numbers: Vec<u32>,
    /// By object number: the index in `blobs`, or `u32::MAX`.
    blob_index: Vec<u32>,
    /// Problems met on the way (missing trees, unreadable commits).
    pub errors: Vec<ScanError>,
    /// The trees, for provenance without a second read.
    pub graph: TreeGraph,
    /// Per commit (same order as `commits`): its root tree, and its parents
    /// as indices into `commits` (parents outside the walk, e.g. beyond a
    /// shallow boundary, are left out).
    pub shapes: Vec<CommitShape>,
}

impl Enumeration {
    /// The index in `blobs` of the blob with object number `n`.
    pub fn blob(&self, n: u32) -> Option<usize> {
        match self.blob_index.get(n as usize) {
            Some(&i) if i != u32::MAX => Some(i as usize),
            _ => None,
        }
    }
}

/// A commit's place in the history graph, recorded once during enumeration.
#[derive(Debug, Clone, Default)]
pub struct CommitShape {
    pub root: Option<u32>,
    pub parents: Vec<u32>,
}

/// The commits reachable from `tips`, parents before children and, among
/// commits whose parents are all listed, the oldest (by committer time)
/// first; with each commit's shape. Commits come from the packs' `decoded`
/// commits, else are read one by one. A missing commit is reported and its
/// ancestry cut; the parents of a shallow clone's boundary are left out.
pub fn walk_commits(
    repo: &Repository,
    objects: &Objects,
    handles: &Handles,
    mut decoded: HashMap<u32, CommitRecord>,
    tips: &[Oid],
    errors: &mut Vec<ScanError>,
) -> (Vec<Oid>, Vec<CommitShape>) {
    let shallow: HashSet<u32> = git::shallow_commits(repo)
        .into_iter()
        .map(|id| objects.number(&to_gix(id)))
        .collect();
    let mut known: HashMap<u32, CommitRecord> = HashMap::new();
    let mut stack: Vec<u32> = tips.iter().map(|t| objects.number(&to_gix(*t))).collect();
    let mut seen: HashSet<u32> = HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        let record = match decoded.remove(&n) {
            Some(r) => Ok(r),
            None => read_object(handles, objects.id(n), gix::objs::Kind::Commit)
                .and_then(|data| CommitRecord::parse(&data, objects)),
        };
        match record {
            Ok(mut record) => {
                if shallow.contains(&n) {
                    record.parents.clear();
                }
                stack.extend(record.parents.iter().copied());
                known.insert(n, record);
            }
            Err(message) => {
                errors.push(ScanError::new(format!("commit {}", objects.id(n)), message))
            }
        }
    }
    // Kahn's algorithm: a commit is ready once its listed parents are out.
    let mut waiting: HashMap<u32, usize> = HashMap::new();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut ready = std::collections::BinaryHeap::new();
    let key = |n: u32| std::cmp::Reverse((known[&n].time, objects.id(n), n));
    for (&n, record) in &known {
        let mut parents: Vec<u32> = record
            .parents
            .iter()
            .copied()
            .filter(|p| known.contains_key(p))
            .collect();
        parents.sort_unstable();
        parents.dedup();
        for &p in &parents {
            children.entry(p).or_default().push(n);
        }
        if parents.is_empty() {
            ready.push(key(n));
        } else {
            waiting.insert(n, parents.len());
        }
    }
    let mut order: Vec<u32> = Vec::with_capacity(known.len());
    while let Some(std::cmp::Reverse((_, _, n))) = ready.pop() {
        order.push(n);
        for &c in children.get(&n).map(Vec::as_slice).unwrap_or_default() {
            let left = waiting.get_mut(&c).expect("a child waits for its parents");
            *left -= 1;
            if *left == 0 {
                ready.push(key(c));
            }
        }
    }
    let position: HashMap<u32, u32> = order
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i as u32))
        .collect();
    let shapes = order
        .iter()
        .map(|n| {
            let record = &known[n];
            CommitShape {
                root: Some(record.tree),
                parents: record
                    .parents
                    .iter()
                    .filter_map(|p| position.get(p).copied())
                    .collect(),
            }
        })
        .collect();
    let commits = order.iter().map(|&n| to_git2(&objects.id(n))).collect();
    (commits, shapes)
}

/// The raw bytes of an object that no pack traversal gave.
fn read_object(handles: &Handles, id: ObjectId, kind: gix::objs::Kind) -> Result<Vec<u8>, String> {
    let object = handles
        .with(|repo| repo.find_object(id).map(|o| o.detach()))
        .map_err(|e| format!("missing: {e}"))?;
    if object.kind != kind {
        return Err(format!("{id} is a {}, not a {kind}", object.kind));
    }
    Ok(object.data)
}

/// Every distinct blob reachable from `commits`, walking `graph` (the trees
/// the packs gave) level by level from the commits' root trees; a tree the
/// packs did not give is decoded now, each level's in parallel. Each
/// distinct tree is visited once, so the cost follows the number of
/// distinct trees, not commits × files; the order is fixed, so the result
/// does not depend on the number of threads.
pub fn enumerate(
    objects: &Objects,
    handles: &Handles,
    graph: TreeGraph,
    commits: Vec<Oid>,
    shapes: Vec<CommitShape>,
) -> Enumeration {
    let mut en = Enumeration {
        commits,
        shapes,
        graph,
        ..Enumeration::default()
    };
    let mut visited: Vec<bool> = vec![false; objects.len()];
    // (tree, its path with a trailing '/')
    let mut level: Vec<(u32, Vec<u8>)> = Vec::new();
    for shape in &en.shapes {
        if let Some(root) = shape.root {
            if visit(&mut visited, root) {
                level.push((root, Vec::new()));
            }
        }
    }
    while !level.is_empty() {
        let missing: Vec<&(u32, Vec<u8>)> =
            level.iter().filter(|(t, _)| !en.graph.has(*t)).collect();
        if !missing.is_empty() {
            read_trees(objects, handles, &mut en, &missing);
        }
        let mut next = Vec::new();
        for (tree, prefix) in &level {
            let mut path = prefix.clone();
            for entry in en.graph.entries(*tree) {
                path.truncate(prefix.len());
                path.extend_from_slice(en.graph.name(entry.name()));
                match entry.child() {
                    Child::Tree(t) => {
                        if visit(&mut visited, t) {
                            let mut sub = path.clone();
                            sub.push(b'/');
                            next.push((t, sub));
                        }
                    }
                    Child::Blob(b) => {
                        let slot = b as usize;
                        if en.blob_index.len() <= slot {
                            en.blob_index.resize(slot + 1, u32::MAX);
                        }
                        if en.blob_index[slot] == u32::MAX {
                            en.blob_index[slot] = en.blobs.len() as u32;
                            en.numbers.push(b);
                            en.blobs.push(BlobRef {
                                id: to_git2(&objects.id(b)),
                                path: display(&path),
                            });
                        }
                    }
                }
            }
        }
        level = next;
    }
    en
}

/// Marks object `n` visited; whether it was not before.
fn visit(visited: &mut Vec<bool>, n: u32) -> bool {
    let n = n as usize;
    if visited.len() <= n {
        visited.resize(n + 1, false);
    }
    !std::mem::replace(&mut visited[n], true)
}

/// Reads `trees` (with their paths) that no pack traversal gave, in
/// parallel, and records them in the graph; a tree that cannot be read is
/// reported at its path and recorded as empty.
fn read_trees(
    objects: &Objects,
    handles: &Handles,
    en: &mut Enumeration,
    trees: &[&(u32, Vec<u8>)],
) {
    let read: Vec<Result<Vec<u8>, String>> = trees
        .par_iter()
        .map(|(n, _)| read_object(handles, objects.id(*n), gix::objs::Kind::Tree))
        .collect();
    let mut chunk = Chunk::default();
    for ((n, prefix), data) in trees.iter().zip(read) {
        let id = objects.id(*n);
        let recorded = data
            .map_err(|e| format!("cannot read tree {id}: {e}"))
            .and_then(|data| {
                chunk
                    .add_tree(*n, &data, objects)
                    .map_err(|e| format!("corrupt tree {id}: {e}"))
            });
        if let Err(e) = recorded {
            en.errors.push(ScanError::new(display(prefix), e));
            chunk.add_empty(*n);
        }
    }
    en.graph.add_chunk(chunk);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_kind_and_number_in_eight_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 8);
        let big = TREE_BIT - 1;
        assert_eq!(Entry::new(3, Child::Tree(big)).child(), Child::Tree(big));
        assert_eq!(Entry::new(3, Child::Blob(big)).child(), Child::Blob(big));
        assert_eq!(Entry::new(7, Child::Blob(0)).name(), 7);
    }

    /// A raw tree object: (mode, name, id filled with one byte) per entry.
    fn raw_tree(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, fill) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*fill; 20]);
        }
        out
    }

    #[test]
    fn chunks_parse_trees_and_share_one_name_table() {
        let objects = Objects::default();
        let id = |fill: u8| objects.number(&ObjectId::from_bytes_or_panic(&[fill; 20]));
        let mut g = TreeGraph::default();
        let mut a = Chunk::default();
        let tree = raw_tree(&[
            ("100644", "x.py", 1),
            ("40000", "lib", 2),
            ("160000", "sub", 3),
        ]);
        a.add_tree(2, &tree, &objects).unwrap();
        a.add_empty(4);
        assert!(a.add_tree(8, b"40000 lib", &objects).is_err());
        g.add_chunk(a);
        let mut b = Chunk::default();
        b.add_tree(7, &raw_tree(&[("40000", "lib", 2)]), &objects)
            .unwrap();
        g.add_chunk(b);

        let names =
            |t: u32| -> Vec<&[u8]> { g.entries(t).iter().map(|e| g.name(e.name())).collect() };
        // The submodule is left out.
        assert_eq!(names(2), [b"x.py".as_slice(), b"lib"]);
        assert_eq!(names(7), [b"lib".as_slice()]);
        assert_eq!(g.entries(7)[0].name(), g.entries(2)[1].name());
        assert_eq!(g.entries(2)[0].child(), Child::Blob(id(1)));
        assert_eq!(g.entries(7)[0].child(), Child::Tree(id(2)));
        assert!(g.has(4) && g.entries(4).is_empty());
        // A tree that did not parse is not recorded, so it is read again.
        assert!(!g.has(8) && !g.has(3) && !g.has(100));
    }
}
