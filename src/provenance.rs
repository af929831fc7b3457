//! Provenance for `history`: which commit introduced each token at which
//! path, whether it is still at HEAD, and which commit removed it — for a
//! whole history ([`attribute`]) and for the commits of a range
//! ([`attribute_range`]).
//!
//! Runs after matching and only looks for blobs that had a finding. It walks
//! the tree graph recorded during enumeration (no object is decoded again),
//! memoized per tree, so a tree shared by many commits costs once; a tree that holds
//! none of those blobs answered from a memo.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use git2::{Oid, Repository};

use crate::finding::Finding;
use crate::sources::git::{Change, commit_info, display};
use crate::sources::objects::{Child, Enumeration, TreeGraph};

/// (token, path), both interned.
type Key = (u32, u32);

/// Attributes the findings of `blobs` (found with the blob's first path)
/// to the commits in `commits` (oldest first). Returns one finding per
/// token and path lineage: a rename continues a finding, a copy starts one.
pub fn attribute(
    repo: &Repository,
    en: &Enumeration,
    blobs: &HashMap<Oid, Vec<Finding>>,
) -> Vec<Finding> {
    let commits = &en.commits;
    let interesting: Vec<bool> = en.blobs.iter().map(|b| blobs.contains_key(&b.id)).collect();
    let mut walker = Walker {
        en,
        graph: &en.graph,
        interesting,
        blobs,
        tree_memo: vec![None; en.graph.len()],
        no_entries: Rc::new(Vec::new()),
        set_memo: HashMap::new(),
        tokens: Interner::default(),
        paths: Interner::default(),
    };
    // The key set of each commit, by position in `commits`.
    let mut sets: Vec<Rc<HashSet<Key>>> = Vec::with_capacity(commits.len());
    let mut lineage: HashMap<Key, usize> = HashMap::new();
    // (token, path, introducing commit, blob at that path)
    let mut drafts: Vec<(u32, u32, Oid, Oid)> = Vec::new();
    // Per finding, the positions of the commits that removed it.
    let mut removals: Vec<Vec<usize>> = Vec::new();
    let empty: Rc<HashSet<Key>> = Rc::new(HashSet::new());

    for (position, (&id, shape)) in commits.iter().zip(&en.shapes).enumerate() {
        let (set, blob_at) = match shape.root {
            Some(root) => walker.keys(root),
            None => (empty.clone(), Rc::new(HashMap::new())),
        };
        // Parents come before children, so their sets are known.
        let parents: Vec<Rc<HashSet<Key>>> = shape
            .parents
            .iter()
            .map(|&p| sets[p as usize].clone())
            .collect();
        let unchanged = parents.len() == 1 && Rc::ptr_eq(&parents[0], &set);
        if !(unchanged || parents.is_empty() && set.is_empty()) {
            for &key in set.iter() {
                if parents.iter().any(|p| p.contains(&key)) || lineage.contains_key(&key) {
                    continue;
                }
                // A rename: the token left another path of a parent in this commit.
                let renamed_from = parents
                    .iter()
                    .flat_map(|p| p.iter())
                    .find(|k| k.0 == key.0 && !set.contains(k) && lineage.contains_key(k))
                    .and_then(|k| lineage.get(k).copied());
                let finding = renamed_from.unwrap_or_else(|| {
                    drafts.push((key.0, key.1, id, blob_at[&key]));
                    removals.push(Vec::new());
                    drafts.len() - 1
                });
                lineage.insert(key, finding);
            }
            for parent in &parents {
                for key in parent.iter().filter(|k| !set.contains(k)) {
                    let Some(&f) = lineage.get(key) else { continue };
                    let still_there = set.iter().any(|k| lineage.get(k) == Some(&f));
                    if !still_there && !removals[f].contains(&position) {
                        removals[f].push(position);
                    }
                }
            }
        }
        sets.push(set);
    }

    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .and_then(|c| commits.iter().position(|&id| id == c.id()));
    let head_set = head.map(|i| sets[i].clone()).unwrap_or(empty);
    let at_head: HashSet<usize> = head_set
        .iter()
        .filter_map(|k| lineage.get(k).copied())
        .collect();
    // HEAD and its ancestors, by position: one pass over the graph instead
    // of an ancestry query per removal.
    let mut on_head = vec![false; commits.len()];
    let mut stack: Vec<usize> = head.into_iter().collect();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut on_head[i], true) {
            stack.extend(en.shapes[i].parents.iter().map(|&p| p as usize));
        }
    }

    let mut findings = Vec::with_capacity(drafts.len());
    for (f, &(token, path, commit_id, blob)) in drafts.iter().enumerate() {
        let secret_sha = walker.tokens.name(token);
        let Some(base) = blobs
            .get(&blob)
            .and_then(|v| v.iter().find(|x| x.secret_sha256 == secret_sha))
        else {
            continue;
        };
        let mut finding = base.clone();
        finding.path = walker.paths.name(path).to_string();
        finding.commit = repo.find_commit(commit_id).ok().map(|c| commit_info(&c));
        let present = at_head.contains(&f);
        finding.at_head = Some(present);
        if !present {
            finding.removed_in = removals[f]
                .iter()
                .rev()
                .find(|&&r| on_head[r])
                .and_then(|&r| repo.find_commit(commits[r]).ok())
                .map(|c| commit_info(&c));
        }
        findings.push(finding);
    }
    findings
}

/// A finding of a range audit, with the commits that introduced and
/// removed its token (to be looked up by the caller).
#[derive(Debug)]
pub struct RangeFinding {
    /// At the path of the change that introduced it.
    pub finding: Finding,
    pub commit: Oid,
    /// Still in the range's tip at that path.
    pub at_tip: bool,
    /// The first later change of the range that left the path without it.
    pub removed_in: Option<Oid>,
}

/// Attributes the findings of the blobs a range's `changes` (oldest first)
/// added. A token that the changed file already held before the change
/// (an old token in an edited or moved file) is not the range's doing;
/// each token is reported once per path. `contains(blob, secret)` says
/// whether a blob holds a secret (no blob: no), `at_tip(path, secret)`
/// whether the range's tip still has it at that path.
pub fn attribute_range(
    changes: &[Change],
    found: &HashMap<Oid, Vec<Finding>>,
    contains: &dyn Fn(Option<Oid>, &[u8]) -> bool,
    at_tip: &dyn Fn(&str, &[u8]) -> bool,
) -> Vec<RangeFinding> {
    let mut out = Vec::new();
    let mut reported = HashSet::new();
    for (i, change) in changes.iter().enumerate() {
        let Some(list) = change.new.and_then(|id| found.get(&id)) else {
            continue;
        };
        for f in list {
            let secret = f.secret.as_bytes();
            if contains(change.old, secret)
                || !reported.insert((f.secret_sha256.clone(), change.path.clone()))
            {
                continue;
            }
            let mut finding = f.clone();
            finding.path = change.path.clone();
            let still = at_tip(&change.path, secret);
            let removed_in = if still {
                None
            } else {
                changes[i + 1..]
                    .iter()
                    .find(|c| c.path == change.path && !contains(c.new, secret))
                    .map(|c| c.commit)
            };
            out.push(RangeFinding {
                finding,
                commit: change.commit,
                at_tip: still,
                removed_in,
            });
        }
    }
    out
}

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// The keys present in a root tree, and the blob holding each.
type KeySet = (Rc<HashSet<Key>>, Rc<HashMap<Key, Oid>>);

/// (path relative to the tree, blob) for each blob of interest under a tree.
type Entries = Rc<Vec<(String, Oid)>>;

struct Walker<'a> {
    en: &'a Enumeration,
    graph: &'a TreeGraph,
    /// By index in `en.blobs`: does the blob have a finding?
    interesting: Vec<bool>,
    blobs: &'a HashMap<Oid, Vec<Finding>>,
    /// By tree number.
    tree_memo: Vec<Option<Entries>>,
    /// Shared by the many trees that hold no blob of interest.
    no_entries: Entries,
    set_memo: HashMap<u32, KeySet>,
    tokens: Interner,
    paths: Interner,
}

impl Walker<'_> {
    /// The (token, path) keys present in a root tree, and the blob holding each.
    fn keys(&mut self, root: u32) -> KeySet {
        if let Some(v) = self.set_memo.get(&root) {
            return v.clone();
        }
        let entries = self.entries(root);
        let mut set = HashSet::new();
        let mut blob_at = HashMap::new();
        for (path, blob) in entries.iter() {
            let p = self.paths.id(path);
            let mut seen = HashSet::new();
            for f in &self.blobs[blob] {
                if seen.insert(f.secret_sha256.as_str()) {
                    let key = (self.tokens.id(&f.secret_sha256), p);
                    set.insert(key);
                    blob_at.insert(key, *blob);
                }
            }
        }
        let v = (Rc::new(set), Rc::new(blob_at));
        self.set_memo.insert(root, v.clone());
        v
    }

    /// The blobs of interest under a tree, memoized by tree: a tree that
    /// holds none of them costs one look at its entries, however many
    /// commits share it.
    fn entries(&mut self, tree: u32) -> Entries {
        if let Some(Some(e)) = self.tree_memo.get(tree as usize) {
            return e.clone();
        }
        let mut out = Vec::new();
        for entry in self.graph.entries(tree) {
            let name = entry.name();
            match entry.child() {
                Child::Blob(b) => {
                    if let Some(i) = self.en.blob(b).filter(|&i| self.interesting[i]) {
                        out.push((display(self.graph.name(name)), self.en.blobs[i].id));
                    }
                }
                Child::Tree(t) => {
                    let sub = self.entries(t);
                    if !sub.is_empty() {
                        let name = display(self.graph.name(name));
                        out.extend(sub.iter().map(|(p, b)| (format!("{name}/{p}"), *b)));
                    }
                }
            }
        }
        let out = if out.is_empty() {
            self.no_entries.clone()
        } else {
            Rc::new(out)
        };
        if let Some(slot) = self.tree_memo.get_mut(tree as usize) {
            *slot = Some(out.clone());
        }
        out
    }
}
