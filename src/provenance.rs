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

/// Attributes the findings of `blobs` (each `path` relative to its blob:
/// `""`, or `!member` inside an archive)
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
        // The blob's path, then the place inside it (an archive member).
        finding.path = format!("{}{}", walker.paths.name(path), base.path);
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

/// For each blob of `wanted`, the first commit (oldest first) whose tree
/// holds it, and its path there: where an LFS pointer's content can be
/// asked for.
pub fn first_seen(en: &Enumeration, wanted: &HashSet<Oid>) -> HashMap<Oid, (Oid, String)> {
    let none = HashMap::new();
    let mut walker = Walker {
        en,
        graph: &en.graph,
        interesting: en.blobs.iter().map(|b| wanted.contains(&b.id)).collect(),
        blobs: &none,
        tree_memo: vec![None; en.graph.len()],
        no_entries: Rc::new(Vec::new()),
        set_memo: HashMap::new(),
        tokens: Interner::default(),
        paths: Interner::default(),
    };
    let mut out = HashMap::new();
    for (&commit, shape) in en.commits.iter().zip(&en.shapes) {
        if out.len() == wanted.len() {
            break;
        }
        let Some(root) = shape.root else { continue };
        for (path, blob) in walker.entries(root).iter() {
            out.entry(*blob).or_insert_with(|| (commit, path.clone()));
        }
    }
    out
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
            // The changed path, then the place inside the blob (an archive member).
            finding.path = format!("{}{}", change.path, f.path);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::detect;
    use crate::engine::Engine;
    use crate::rules;
    use crate::sources::git::{self, Handles};
    use crate::sources::objects::{self, Objects, TreeGraph};

    /// Synthetic tokens, built from parts so that no token sits in the source.
    fn token(n: usize) -> String {
        let bodies = [
            "QmZtRkWvLpNcXyBdGhJsTfUaEoIqVrKwPz",
            "XkPwRtYuIoMnBvCxZaSdFgHjKlQwErTyUi",
            "LkJhGfDsAzXcVbNmQpWoEiRuTyMnBvCxZa",
        ];
        format!("hf_{}", bodies[n])
    }

    /// A small history built commit by commit from file maps.
    struct Graph {
        _dir: tempfile::TempDir,
        repo: Repository,
        clock: i64,
    }

    impl Graph {
        fn new() -> Graph {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init(dir.path()).unwrap();
            Graph {
                _dir: dir,
                repo,
                clock: 1_700_000_000,
            }
        }

        /// A commit with exactly `files` on `branch`, on top of `parents`.
        fn commit(&mut self, branch: &str, files: &[(&str, &str)], parents: &[Oid]) -> Oid {
            let mut builder = self.repo.treebuilder(None).unwrap();
            for (path, content) in files {
                let blob = self.repo.blob(content.as_bytes()).unwrap();
                builder.insert(path, blob, 0o100644).unwrap();
            }
            let tree = self.repo.find_tree(builder.write().unwrap()).unwrap();
            self.clock += 60;
            let when = git2::Time::new(self.clock, 0);
            let sig = git2::Signature::new("Dev", "dev@example.com", &when).unwrap();
            let parents: Vec<_> = parents
                .iter()
                .map(|p| self.repo.find_commit(*p).unwrap())
                .collect();
            let refs: Vec<_> = parents.iter().collect();
            let id = self
                .repo
                .commit(None, &sig, &sig, "c", &tree, &refs)
                .unwrap();
            self.repo
                .reference(&format!("refs/heads/{branch}"), id, true, "test")
                .unwrap();
            id
        }

        /// The whole-history attribution, as `history` computes it.
        fn attribute(&self) -> Vec<Finding> {
            self.repo.set_head("refs/heads/main").unwrap();
            let mut errors = Vec::new();
            let tips = git::tips(&self.repo, &mut errors).unwrap();
            let handles = Handles::open(self.repo.path()).unwrap();
            let objects = Objects::open(self.repo.path(), &mut errors).unwrap();
            let (commits, shapes) = objects::walk_commits(
                &self.repo,
                &objects,
                &handles,
                HashMap::new(),
                &tips,
                &mut errors,
            );
            let en = objects::enumerate(&objects, &handles, TreeGraph::default(), commits, shapes);
            assert!(errors.is_empty() && en.errors.is_empty());
            let engine = Engine::new(rules::builtin());
            let found: HashMap<Oid, Vec<Finding>> = en
                .blobs
                .iter()
                .filter_map(|b| {
                    let blob = self.repo.find_blob(b.id).ok()?;
                    let f = detect(&engine, blob.content(), "");
                    (!f.is_empty()).then_some((b.id, f))
                })
                .collect();
            let mut out = attribute(&self.repo, &en, &found);
            out.sort_by(|a, b| a.path.cmp(&b.path));
            out
        }
    }

    fn commit_of(f: &Finding) -> Option<String> {
        f.commit.as_ref().map(|c| c.id.clone())
    }

    fn removed_in(f: &Finding) -> Option<String> {
        f.removed_in.as_ref().map(|c| c.id.clone())
    }

    #[test]
    fn a_removed_token_names_the_commits_that_added_and_removed_it() {
        let mut g = Graph::new();
        let line = format!("t = '{}'\n", token(0));
        let c1 = g.commit("main", &[("a.py", "x = 1\n")], &[]);
        let c2 = g.commit("main", &[("a.py", &line)], &[c1]);
        let c3 = g.commit("main", &[("a.py", &line), ("b.py", "y\n")], &[c2]);
        let c4 = g.commit("main", &[("a.py", "x = 2\n"), ("b.py", "y\n")], &[c3]);
        let f = g.attribute();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "a.py");
        assert_eq!(commit_of(&f[0]), Some(c2.to_string()));
        assert_eq!(f[0].at_head, Some(false));
        assert_eq!(removed_in(&f[0]), Some(c4.to_string()));
    }

    #[test]
    fn a_rename_continues_a_finding_and_a_copy_starts_one() {
        let mut g = Graph::new();
        let line = format!("t = '{}'\n", token(1));
        let c1 = g.commit("main", &[("old.py", &line)], &[]);
        let c2 = g.commit("main", &[("new.py", &line)], &[c1]);
        let c3 = g.commit("main", &[("new.py", &line), ("copy.py", &line)], &[c2]);
        let f = g.attribute();
        let shown: Vec<_> = f.iter().map(|f| (f.path.as_str(), commit_of(f))).collect();
        assert_eq!(
            shown,
            [
                ("copy.py", Some(c3.to_string())),
                ("old.py", Some(c1.to_string())),
            ]
        );
        assert!(f.iter().all(|f| f.at_head == Some(true)));
    }

    #[test]
    fn a_token_only_on_another_branch_is_not_at_head_and_not_removed() {
        let mut g = Graph::new();
        let c1 = g.commit("main", &[("a.py", "x\n")], &[]);
        let b1 = g.commit(
            "feature",
            &[("a.py", "x\n"), ("f.py", &format!("{}\n", token(2)))],
            &[c1],
        );
        let f = g.attribute();
        assert_eq!(f.len(), 1);
        assert_eq!(commit_of(&f[0]), Some(b1.to_string()));
        assert_eq!((f[0].at_head, removed_in(&f[0])), (Some(false), None));
    }

    #[test]
    fn a_merged_token_is_one_finding_attributed_to_its_branch_commit() {
        let mut g = Graph::new();
        let line = format!("{}\n", token(0));
        let c1 = g.commit("main", &[("a.py", "x\n")], &[]);
        let b1 = g.commit("feature", &[("a.py", "x\n"), ("f.py", &line)], &[c1]);
        let c2 = g.commit("main", &[("a.py", "y\n")], &[c1]);
        let _merge = g.commit("main", &[("a.py", "y\n"), ("f.py", &line)], &[c2, b1]);
        let f = g.attribute();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(commit_of(&f[0]), Some(b1.to_string()));
        assert_eq!(f[0].at_head, Some(true));
    }

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    /// A finding of `secret` as the collector makes it.
    fn finding_of(secret: &str) -> Finding {
        let engine = Engine::new(rules::builtin());
        detect(&engine, secret.as_bytes(), "").remove(0)
    }

    fn change(commit: u8, path: &str, new: Option<u8>, old: Option<u8>) -> Change {
        Change {
            commit: oid(commit),
            path: path.to_string(),
            new: new.map(oid),
            old: old.map(oid),
        }
    }

    /// Range attribution over hand-written changes: blob `n` holds the
    /// contents `blobs[n]`, and the tip holds `tip` by path.
    fn range(
        changes: &[Change],
        blobs: &[(u8, &str)],
        tip: &[(&str, &str)],
    ) -> Vec<(String, Oid, bool, Option<Oid>)> {
        let content = |id: Option<Oid>| -> Option<String> {
            let id = id?;
            blobs
                .iter()
                .find(|(n, _)| oid(*n) == id)
                .map(|(_, c)| c.to_string())
        };
        let found: HashMap<Oid, Vec<Finding>> = blobs
            .iter()
            .filter(|(_, c)| c.starts_with("hf_"))
            .map(|(n, c)| (oid(*n), vec![finding_of(c)]))
            .collect();
        let contains = |blob: Option<Oid>, secret: &[u8]| {
            content(blob).is_some_and(|c| c.as_bytes() == secret)
        };
        let at_tip = |path: &str, secret: &[u8]| {
            tip.iter()
                .any(|(p, c)| *p == path && c.as_bytes() == secret)
        };
        attribute_range(changes, &found, &contains, &at_tip)
            .into_iter()
            .map(|a| (a.finding.path, a.commit, a.at_tip, a.removed_in))
            .collect()
    }

    #[test]
    fn range_attributes_a_token_to_the_commit_that_added_it_and_the_one_that_removed_it() {
        let t = token(0);
        let changes = [
            change(1, "a.py", Some(10), None),
            change(2, "a.py", Some(11), Some(10)),
            change(3, "a.py", Some(12), Some(11)),
        ];
        let blobs = [(10, "x"), (11, t.as_str()), (12, "y")];
        assert_eq!(
            range(&changes, &blobs, &[("a.py", "y")]),
            [("a.py".to_string(), oid(2), false, Some(oid(3)))]
        );
    }

    #[test]
    fn range_ignores_a_token_the_file_already_had_and_reports_one_per_path() {
        let t = token(1);
        let changes = [
            // Edited around an old token: not the range's doing.
            change(1, "old.py", Some(20), Some(21)),
            // Added at two paths, then again at the first.
            change(2, "a.py", Some(20), None),
            change(3, "b.py", Some(20), None),
            change(4, "a.py", Some(20), Some(22)),
        ];
        let blobs = [(20, t.as_str()), (21, t.as_str()), (22, "z")];
        let tip = [("a.py", t.as_str()), ("b.py", t.as_str())];
        assert_eq!(
            range(&changes, &blobs, &tip),
            [
                ("a.py".to_string(), oid(2), true, None),
                ("b.py".to_string(), oid(3), true, None),
            ]
        );
    }

    #[test]
    fn range_counts_a_deletion_as_the_removal() {
        let t = token(2);
        let changes = [
            change(1, "a.py", Some(30), None),
            change(2, "a.py", None, Some(30)),
        ];
        assert_eq!(
            range(&changes, &[(30, t.as_str())], &[]),
            [("a.py".to_string(), oid(1), false, Some(oid(2)))]
        );
    }
}
