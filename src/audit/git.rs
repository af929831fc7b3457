//! A repository's git audit, the one unit `history`, `hub` and `repos`
//! share: every blob reachable from any ref, once, attributed to the
//! commit that introduced each token (with the LFS and Xet contents its
//! pointers stand for, when a reader is given); what the commits of a
//! range added; or what is new since a recorded state. The reading is in
//! `sources::git` and `sources::objects`, the matching in the collector,
//! the attribution in `provenance`; this file puts the steps in order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, anyhow};
use git2::{Oid, Repository};

use crate::detect::{Collected, Collector, Scanner};
use crate::finding::{
    CommitInfo, ContentStats, Finding, LfsRef, Origin, Report, ScanError, ScanKind, ScanStats,
};
use crate::notebook::is_notebook;
use crate::provenance;
use crate::sources::git::{self, BlobRef, Handles, ReadStats, commit_info};
use crate::sources::lfs::{PointerWatch, parse_pointer};
use crate::sources::objects::{self, Decoded, Enumeration, Objects};
use crate::state::RepoState;
use crate::ui::{self, Progress};

/// What a history audit reads besides the blobs.
pub struct Limits {
    pub max_file_size: u64,
    /// `--messages`: commit messages too.
    pub messages: bool,
}

/// An LFS or Xet pointer to read the content of: the pointer blob, the
/// object it stands for, and a commit and path that hold it.
pub struct PointerAt {
    pub blob: Oid,
    pub pointer: LfsRef,
    pub commit: Oid,
    pub path: String,
}

/// The contents of LFS and Xet files (git holds only their pointers), read
/// for an audit: `hfleaks hub` downloads them from the Hub.
pub trait LfsContents: Sync {
    /// Each pointer's content scanned: findings by pointer blob, each
    /// `path` relative to the blob (`""`, or `!member` of an archive) and
    /// with its `lfs`.
    fn read(&self, scanner: &Scanner, pointers: &[PointerAt]) -> LfsRead;
}

/// What [`LfsContents::read`] gives.
#[derive(Default)]
pub struct LfsRead {
    pub found: HashMap<Oid, Vec<Finding>>,
    pub errors: Vec<ScanError>,
    pub stats: ContentStats,
}

impl LfsRead {
    /// Whether `blob` is a pointer whose content holds `secret`.
    fn holds(&self, blob: Option<Oid>, secret: &[u8]) -> bool {
        blob.and_then(|b| self.found.get(&b))
            .is_some_and(|list| list.iter().any(|f| f.secret.as_bytes() == secret))
    }

    fn merge_into(&mut self, found: &mut HashMap<Oid, Vec<Finding>>) {
        for (blob, list) in std::mem::take(&mut self.found) {
            found.entry(blob).or_default().extend(list);
        }
    }
}

/// Every reachable blob once: decode the packs (matching blobs as they
/// come), walk the commits, enumerate the blobs, read the rest one by
/// one, then attribute each finding to its commits.
/// With `lfs`, the content of every LFS pointer reachable is read too
/// (each distinct object once) and attributed like a blob's.
pub fn full_audit(
    repo: &Repository,
    scanner: &Scanner,
    limits: &Limits,
    lfs: Option<&dyn LfsContents>,
) -> Result<Report> {
    full_audit_listing(repo, scanner, limits, lfs).map(|(report, _)| report)
}

/// [`full_audit`], and every commit it walked.
fn full_audit_listing(
    repo: &Repository,
    scanner: &Scanner,
    limits: &Limits,
    lfs: Option<&dyn LfsContents>,
) -> Result<(Report, Vec<Oid>)> {
    let mut t = Instant::now();
    let mut errors = Vec::new();
    let tips = git::tips(repo, &mut errors).map_err(|e| anyhow!(e))?;
    let handles = Handles::open(repo.path()).map_err(|e| anyhow!(e))?;
    // No ref, nothing reachable (an empty repository): nothing to decode.
    let mut objects = match tips.is_empty() {
        true => Objects::default(),
        false => Objects::open(repo.path(), &mut errors).map_err(|e| anyhow!(e))?,
    };
    let (mut decoded, packed, mut pointers) = decode(scanner, &mut objects, limits.max_file_size);
    ui::timing("decode packs", &mut t);
    errors.append(&mut decoded.errors);

    let en = enumerate(
        repo,
        &objects,
        &handles,
        &mut decoded,
        &tips,
        &mut errors,
        &mut t,
    );
    let (mut found, stats, collected, more) =
        match_blobs(scanner, &handles, &en, &decoded, packed, limits);
    ui::timing("read and match the other blobs", &mut t);
    pointers.extend(more);
    let mut content = ContentStats::default();
    if let Some(lfs) = lfs {
        let mut read = read_lfs(scanner, lfs, &en, pointers);
        read.merge_into(&mut found);
        errors.append(&mut read.errors);
        content = read.stats;
        ui::timing("read LFS contents", &mut t);
    }

    let mut findings = provenance::attribute(repo, &en, &found);
    ui::timing("provenance", &mut t);
    for e in &errors {
        ui::error(e);
    }
    let mut all_errors = collected.errors;
    all_errors.extend(errors);
    if limits.messages {
        findings.extend(message_findings(repo, scanner, &en.commits));
    }
    let mut report = history_report(en.commits.len(), &stats, findings, all_errors);
    report.scan.content = content;
    Ok((report, en.commits))
}

/// The contents of the reachable pointers among `pointers`, each asked for
/// at the first commit and path that hold it.
fn read_lfs(
    scanner: &Scanner,
    lfs: &dyn LfsContents,
    en: &Enumeration,
    pointers: Vec<(Oid, LfsRef)>,
) -> LfsRead {
    if pointers.is_empty() {
        return LfsRead::default();
    }
    let wanted: std::collections::HashSet<Oid> = pointers.iter().map(|(b, _)| *b).collect();
    let seen = provenance::first_seen(en, &wanted);
    let at: Vec<PointerAt> = pointers
        .into_iter()
        .filter_map(|(blob, pointer)| {
            let (commit, path) = seen.get(&blob)?.clone();
            Some(PointerAt {
                blob,
                pointer,
                commit,
                path,
            })
        })
        .collect();
    lfs.read(scanner, &at)
}

/// Step 1: every pack decoded once, its blobs matched as they come (and
/// LFS pointers noted).
fn decode(
    scanner: &Scanner,
    objects: &mut Objects,
    max_file_size: u64,
) -> (Decoded, Collected, Vec<(Oid, LfsRef)>) {
    let progress = Progress::new(objects.packed() as u64, "objects");
    let collector = Collector::with_progress(scanner, progress);
    let watch = PointerWatch::new(&collector);
    let decoded = objects::decode_packs(objects, max_file_size, &watch);
    let pointers = watch.pointers();
    (decoded, collector.finish(), pointers)
}

/// Step 2: the commits reachable from the tips, and every distinct blob
/// they hold with the first path it was seen at.
fn enumerate(
    repo: &Repository,
    objects: &Objects,
    handles: &Handles,
    decoded: &mut Decoded,
    tips: &[Oid],
    errors: &mut Vec<ScanError>,
    t: &mut Instant,
) -> Enumeration {
    let (commits, shapes) = objects::walk_commits(
        repo,
        objects,
        handles,
        std::mem::take(&mut decoded.commits),
        tips,
        errors,
    );
    ui::timing("walk commits", t);
    let graph = std::mem::take(&mut decoded.graph);
    let mut en = objects::enumerate(objects, handles, graph, commits, shapes);
    ui::timing("enumerate blobs", t);
    errors.append(&mut en.errors);
    en
}

/// What [`match_blobs`] gives: findings by blob, the read's counts, what
/// the collector gathered besides, and the LFS pointers seen.
type Matched = (
    HashMap<Oid, Vec<Finding>>,
    ReadStats,
    Collected,
    Vec<(Oid, LfsRef)>,
);

/// Step 3: the findings of every reachable blob, by blob: those the pack
/// pass matched, and the rest (objects outside packs) read one by one now
/// (and the LFS pointers among them).
fn match_blobs(
    scanner: &Scanner,
    handles: &Handles,
    en: &Enumeration,
    decoded: &Decoded,
    packed: Collected,
    limits: &Limits,
) -> Matched {
    let mut packed_found = blob_findings(packed.hits);
    let mut stats = ReadStats::default();
    let mut found = HashMap::new();
    let mut skipped = Vec::new();
    let mut rest = Vec::new();
    for (blob, &n) in en.blobs.iter().zip(&en.numbers) {
        let Some(&size) = decoded.blob_sizes.get(&n) else {
            rest.push(blob.clone());
            continue;
        };
        if size > limits.max_file_size {
            skipped.push((blob, size));
            continue;
        }
        if let Some(mut list) = packed_found.remove(&blob.id) {
            // Cells were located before the path was known (archive
            // members, with a path of their own, were told by their name).
            if !is_notebook(&blob.path) {
                for f in list.iter_mut().filter(|f| f.path.is_empty()) {
                    f.notebook = None;
                }
            }
            found.insert(blob.id, list);
        }
        stats.blobs += 1;
        stats.bytes += size;
    }
    let progress = Progress::new(rest.len() as u64, "blobs");
    let collector = Collector::with_progress(scanner, progress);
    for (blob, size) in skipped {
        stats.skipped += 1;
        crate::sources::Sink::skipped(&collector, &blob_origin(blob), size);
    }
    let watch = PointerWatch::new(&collector);
    stats += git::read_blobs(handles, &rest, limits.max_file_size, &watch);
    let pointers = watch.pointers();
    let mut collected = collector.finish();
    found.extend(blob_findings(std::mem::take(&mut collected.hits)));
    // The pack pass's own problems (a pack it could not decode) were shown.
    collected.errors.splice(0..0, packed.errors);
    (found, stats, collected, pointers)
}

fn blob_origin(blob: &BlobRef) -> Origin {
    Origin::Blob {
        id: blob.id,
        path: Some(blob.path.clone()),
    }
}

/// The findings of the blob hits, by blob id. Each finding's `path` is
/// made relative to its blob: `""` for the blob itself, `!member` inside
/// an archive; attribution puts the blob's path in front.
fn blob_findings(hits: Vec<crate::detect::Hit>) -> HashMap<Oid, Vec<Finding>> {
    hits.into_iter()
        .filter_map(|h| match h.origin {
            Origin::Blob { id, path } => {
                let prefix = path.map_or(0, |p| p.len());
                let mut findings = h.findings;
                for f in &mut findings {
                    f.path = f.path.get(prefix..).unwrap_or("").to_string();
                }
                Some((id, findings))
            }
            _ => None,
        })
        .collect()
}

fn history_report(
    commits: usize,
    stats: &ReadStats,
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
) -> Report {
    Report {
        scan: ScanStats {
            kind: ScanKind::History,
            commits: commits as u64,
            blobs: stats.blobs,
            bytes: stats.bytes,
            skipped: stats.skipped,
            ..ScanStats::default()
        },
        findings,
        errors,
        ..Report::default()
    }
}

/// Findings in commit messages (`--messages`): path "" and the commit;
/// each token once, at the oldest commit that has it.
fn message_findings(repo: &Repository, scanner: &Scanner, commits: &[Oid]) -> Vec<Finding> {
    let collector = Collector::new(scanner);
    git::messages(repo, commits, &collector);
    let mut out: Vec<Finding> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for hit in collector.finish().hits {
        let Origin::CommitMessage { commit } = hit.origin else {
            continue;
        };
        let info = lookup_commit(repo, commit);
        for mut f in hit.findings {
            if seen.insert(f.secret_sha256.clone()) {
                f.commit = info.clone();
                out.push(f);
            }
        }
    }
    out
}

fn lookup_commit(repo: &Repository, id: Oid) -> Option<CommitInfo> {
    repo.find_commit(id).ok().map(|c| commit_info(&c))
}

/// What the commits of `range` added: each changed blob read once, each
/// token attributed to the first commit of the range that added it at a
/// path, whether it is still at the range's tip, and which commit of the
/// range removed it.
pub fn range_audit(
    repo: &Repository,
    scanner: &Scanner,
    range: &str,
    limits: &Limits,
) -> Result<Report> {
    objects::verify_pack_indices(repo.path()).map_err(|e| anyhow!(e))?;
    let commits = git::range_commits(repo, range).map_err(|e| anyhow!(e))?;
    let changes = git::changes(repo, &commits).map_err(|e| anyhow!(e))?;
    let tip = repo
        .revparse(range)
        .ok()
        .and_then(|r| r.to().and_then(|o| o.peel_to_tree().ok()));
    commits_audit(
        repo,
        scanner,
        &commits,
        &changes,
        tip.as_ref(),
        limits,
        None,
    )
}

/// What `commits` (oldest first, with their `changes`) added, as a range
/// audit reports it, `tip` being the tree findings are checked against.
fn commits_audit(
    repo: &Repository,
    scanner: &Scanner,
    commits: &[Oid],
    changes: &[git::Change],
    tip: Option<&git2::Tree>,
    limits: &Limits,
    lfs: Option<&dyn LfsContents>,
) -> Result<Report> {
    let mut seen = std::collections::HashSet::new();
    let blobs: Vec<BlobRef> = changes
        .iter()
        .filter_map(|c| {
            c.new.filter(|id| seen.insert(*id)).map(|id| BlobRef {
                id,
                path: c.path.clone(),
            })
        })
        .collect();
    let handles = Handles::open(repo.path()).map_err(|e| anyhow!(e))?;
    let collector = Collector::with_progress(scanner, Progress::new(blobs.len() as u64, "blobs"));
    let watch = PointerWatch::new(&collector);
    let stats = git::read_blobs(&handles, &blobs, limits.max_file_size, &watch);
    let pointers = watch.pointers();
    let mut collected = collector.finish();
    let mut found = blob_findings(std::mem::take(&mut collected.hits));
    let mut read = LfsRead::default();
    if let Some(lfs) = lfs.filter(|_| !pointers.is_empty()) {
        // Each pointer asked for at the change that added it.
        let at: Vec<PointerAt> = pointers
            .into_iter()
            .filter_map(|(blob, pointer)| {
                let c = changes.iter().find(|c| c.new == Some(blob))?;
                Some(PointerAt {
                    blob,
                    pointer,
                    commit: c.commit,
                    path: c.path.clone(),
                })
            })
            .collect();
        read = lfs.read(scanner, &at);
        collected.errors.append(&mut read.errors);
    }
    for (blob, list) in &read.found {
        found.entry(*blob).or_default().extend(list.iter().cloned());
    }

    let contains = |blob: Option<Oid>, secret: &[u8]| {
        read.holds(blob, secret) || blob_holds(repo, scanner, blob, secret)
    };
    let at_tip = |path: &str, secret: &[u8]| {
        tip.and_then(|t| t.get_path(Path::new(path)).ok())
            .is_some_and(|e| contains(Some(e.id()), secret))
    };
    let mut findings: Vec<Finding> =
        provenance::attribute_range(changes, &found, &contains, &at_tip)
            .into_iter()
            .map(|a| {
                let mut f = a.finding;
                f.commit = lookup_commit(repo, a.commit);
                f.at_head = Some(a.at_tip);
                f.removed_in = a.removed_in.and_then(|id| lookup_commit(repo, id));
                f
            })
            .collect();
    if limits.messages {
        findings.extend(message_findings(repo, scanner, commits));
    }
    let mut report = history_report(commits.len(), &stats, findings, collected.errors);
    report.scan.content = read.stats;
    Ok(report)
}

/// Whether a blob holds a secret: as written, or encoded or archived
/// (then the blob is scanned again; only blobs near a finding are).
fn blob_holds(repo: &Repository, scanner: &Scanner, blob: Option<Oid>, secret: &[u8]) -> bool {
    blob.and_then(|id| repo.find_blob(id).ok())
        .is_some_and(|b| {
            memchr::memmem::find(b.content(), secret).is_some()
                || scan_holds(scanner, b.content(), &crate::finding::sha256_hex(secret))
        })
}

/// Whether a blob holds the secret whose SHA-256 is `sha` (a finding read
/// back from a state file may be redacted).
fn blob_holds_sha(repo: &Repository, scanner: &Scanner, blob: Oid, sha: &str) -> bool {
    repo.find_blob(blob)
        .ok()
        .is_some_and(|b| scan_holds(scanner, b.content(), sha))
}

/// Whether `blob` still holds an earlier finding: for a finding in an LFS
/// object's content, whether the blob is a pointer to that same object.
fn still_holds(repo: &Repository, scanner: &Scanner, blob: Oid, f: &Finding) -> bool {
    match &f.lfs {
        Some(lfs) => repo
            .find_blob(blob)
            .ok()
            .and_then(|b| parse_pointer(b.content()))
            .is_some_and(|p| p.oid == lfs.oid),
        None => blob_holds_sha(repo, scanner, blob, &f.secret_sha256),
    }
}

/// Whether scanning `content` finds the secret whose SHA-256 is `sha`.
fn scan_holds(scanner: &Scanner, content: &[u8], sha: &str) -> bool {
    scanner
        .scan(content, "", false)
        .findings
        .iter()
        .any(|f| f.secret_sha256 == sha)
}

/// Ref name → commit id of every ref that resolves to a commit, and HEAD:
/// what an incremental audit records as audited.
pub fn ref_tips(repo: &Repository) -> BTreeMap<String, String> {
    let mut tips = BTreeMap::new();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            let (Ok(name), Ok(commit)) = (r.name().map(str::to_string), r.peel_to_commit()) else {
                continue;
            };
            tips.insert(name, commit.id().to_string());
        }
    }
    if let Some(id) = repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
        tips.insert("HEAD".to_string(), id.id().to_string());
    }
    tips
}

/// A history audit that remembers: with no `previous` record, the full
/// audit; otherwise only the commits not reachable from the recorded tips
/// (read like a `--range` audit, over every ref), with the earlier findings
/// carried over and their `at_head`/`removed_in` brought up to date. A
/// recorded tip that is no longer reachable (a force-push, a deleted
/// branch) means a full audit again, with a note. Findings are marked
/// `new`; the new record is returned with the report.
pub fn audit_with_state(
    repo: &Repository,
    scanner: &Scanner,
    limits: &Limits,
    previous: Option<&RepoState>,
    name: &str,
    lfs: Option<&dyn LfsContents>,
) -> Result<Audited> {
    let mut t = Instant::now();
    let tips = ref_tips(repo);
    ui::timing("read refs", &mut t);
    let Some(prev) = previous else {
        let (report, commits) = full_audit_listing(repo, scanner, limits, lfs)?;
        return Ok(Audited::new(mark_new(report, &[]), tips, commits, false));
    };
    let recorded: Vec<(&String, Oid)> = prev
        .tips
        .iter()
        .filter_map(|(name, t)| Oid::from_str(t).ok().map(|t| (name, t)))
        .collect();
    let current: Vec<Oid> = tips
        .values()
        .filter_map(|t| Oid::from_str(t).ok())
        .collect();
    let unchanged: std::collections::HashSet<Oid> = current.iter().copied().collect();
    let descends = |c: Oid, t: Oid| repo.graph_descendant_of(c, t).unwrap_or(false);
    // Cheapest first: a tip that is still a tip, then the same ref moved
    // forward, and only then any ref that may have taken it in.
    let reachable = |name: &str, t: Oid| {
        unchanged.contains(&t)
            || tips
                .get(name)
                .and_then(|c| Oid::from_str(c).ok())
                .is_some_and(|c| descends(c, t))
            || current.iter().any(|&c| descends(c, t))
    };
    let lost = recorded
        .iter()
        .find(|(name, t)| !reachable(name, *t))
        .map(|(_, t)| *t);
    if let Some(lost) = lost {
        ui::note(format!(
            "{name}: the recorded tip {} is no longer reachable (history was rewritten, or a ref \
             deleted): auditing the whole history again",
            crate::finding::short_id(&lost.to_string())
        ));
        let (report, commits) = full_audit_listing(repo, scanner, limits, lfs)?;
        return Ok(Audited::new(
            mark_new(report, &prev.findings),
            tips,
            commits,
            false,
        ));
    }
    ui::timing("check the recorded tips", &mut t);
    // Tips that did not move add nothing; only the others are walked, down
    // to the commits audited already.
    let was: std::collections::HashSet<Oid> = recorded.iter().map(|(_, t)| *t).collect();
    let moved: Vec<Oid> = current
        .iter()
        .copied()
        .filter(|c| !was.contains(c))
        .collect();
    let mut audited = crate::state::parse_commits(&prev.commits);
    let commits = new_commits_past(repo, &moved, &audited).map_err(|e| anyhow!(e))?;
    audited.extend(commits.iter().copied());
    ui::timing("walk the new commits", &mut t);
    let changes = git::changes(repo, &commits).map_err(|e| anyhow!(e))?;
    // A merge of a branch audited earlier brings nothing new: what it adds
    // against its first parent is at the same path in another parent.
    let fresh: Vec<git::Change> = changes
        .iter()
        .filter(|c| !in_another_parent(repo, c))
        .cloned()
        .collect();
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let mut report = commits_audit(repo, scanner, &commits, &fresh, head.as_ref(), limits, lfs)?;
    ui::timing("read and match the new blobs", &mut t);
    let mut carried: Vec<Finding> = prev.findings.iter().map(Finding::carried).collect();
    for f in &mut carried {
        update_exposure(repo, scanner, f, head.as_ref(), &changes);
    }
    // A token already recorded at a path (put back by a revert, say) is
    // the earlier finding, brought up to date, not a new one.
    let known: std::collections::HashSet<(String, String)> = carried
        .iter()
        .map(|f| (f.secret_sha256.clone(), f.path.clone()))
        .collect();
    report
        .findings
        .retain(|f| !known.contains(&(f.secret_sha256.clone(), f.path.clone())));
    for f in &mut report.findings {
        f.new = Some(true);
    }
    report.findings.splice(0..0, carried);
    ui::timing("bring earlier findings up to date", &mut t);
    Ok(Audited::new(
        report,
        tips,
        audited.into_iter().collect(),
        true,
    ))
}

/// An audit and the record to keep of it.
pub struct Audited {
    pub report: Report,
    pub tips: BTreeMap<String, String>,
    /// Every commit audited so far (reachable from `tips`).
    pub commits: Vec<Oid>,
    /// Whether only what was new since the record was read.
    pub incremental: bool,
}

impl Audited {
    fn new(
        report: Report,
        tips: BTreeMap<String, String>,
        commits: Vec<Oid>,
        incremental: bool,
    ) -> Audited {
        Audited {
            report,
            tips,
            commits,
            incremental,
        }
    }
}

/// The commits reachable from `tips` that are not in `audited` (every
/// commit reachable from the recorded tips), oldest first: a walk from the
/// tips that stops at audited commits, so its cost is the new commits'.
fn new_commits_past(
    repo: &Repository,
    tips: &[Oid],
    audited: &std::collections::HashSet<Oid>,
) -> Result<Vec<Oid>, String> {
    let parents = |id: Oid| -> Result<Vec<Oid>, String> {
        repo.find_commit(id)
            .map(|c| c.parent_ids().collect())
            .map_err(|e| format!("commit {id}: {}", e.message()))
    };
    // Depth-first, parents before children (post-order), without recursion.
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &tip in tips {
        if audited.contains(&tip) || !seen.insert(tip) {
            continue;
        }
        let mut stack = vec![(tip, parents(tip)?, 0usize)];
        while let Some((id, ps, next)) = stack.last_mut() {
            if let Some(&p) = ps.get(*next) {
                *next += 1;
                if !audited.contains(&p) && seen.insert(p) {
                    let pp = parents(p)?;
                    stack.push((p, pp, 0));
                }
            } else {
                order.push(*id);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Marks each finding new unless `earlier` had the same token at the same
/// path.
fn mark_new(mut report: Report, earlier: &[Finding]) -> Report {
    // By token and path: a rebase gives known tokens new commit ids.
    let key = |f: &Finding| (f.secret_sha256.clone(), f.path.clone());
    let old: std::collections::HashSet<_> = earlier.iter().map(key).collect();
    for f in &mut report.findings {
        f.new = Some(!old.contains(&key(f)));
    }
    report
}

/// Whether what a merge commit's change adds (against its first parent)
/// is at the same path in one of its other parents.
fn in_another_parent(repo: &Repository, c: &git::Change) -> bool {
    let Some(new) = c.new else { return false };
    let Ok(commit) = repo.find_commit(c.commit) else {
        return false;
    };
    commit.parents().skip(1).any(|p| {
        p.tree()
            .ok()
            .and_then(|t| t.get_path(Path::new(&c.path)).ok())
            .is_some_and(|e| e.id() == new)
    })
}

/// An earlier finding brought up to date against the new HEAD: still
/// there (or put back), or removed by one of the new commits (`changes`,
/// oldest first).
fn update_exposure(
    repo: &Repository,
    scanner: &Scanner,
    f: &mut Finding,
    head: Option<&git2::Tree>,
    changes: &[git::Change],
) {
    if f.at_head.is_none() || f.path.is_empty() {
        return;
    }
    let file = f.path.split('!').next().unwrap_or(&f.path).to_string();
    let now = head
        .and_then(|t| t.get_path(Path::new(&file)).ok())
        .is_some_and(|e| still_holds(repo, scanner, e.id(), f));
    if now {
        // Still there, or put back (a revert): at HEAD, removed by nothing.
        f.at_head = Some(true);
        f.removed_in = None;
        return;
    }
    if f.at_head == Some(false) {
        return;
    }
    f.at_head = Some(false);
    f.removed_in = changes
        .iter()
        .filter(|c| c.path == file)
        .find(|c| c.new.is_none_or(|id| !still_holds(repo, scanner, id, f)))
        .and_then(|c| lookup_commit(repo, c.commit));
}
