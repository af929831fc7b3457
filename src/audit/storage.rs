//! What a Hub owner stores outside git, audited: the contents of LFS and
//! Xet files (git holds only their pointers) for `hub` and for `repos`
//! lines that are Hub URLs, and the files of Storage Buckets. Both
//! download through the run's one [`Downloader`] (one bound on downloads
//! in flight, run-wide), never download model weights or media, keep what
//! they download in memory only, and scan it as `scan` scans a file
//! (decoding, archives as `path!member`, notebooks).

use std::collections::{BTreeMap, HashMap};

use super::fleet::Outside;
use super::git::{LfsContents, LfsRead, PointerAt};
use crate::detect::Scanner;
use crate::finding::{Finding, LfsRef, RepoRef, ScanError, sha256_hex};
use crate::notebook::is_notebook;
use crate::sources::hub::buckets::{self, BucketFile};
use crate::sources::hub::content::{Downloader, Fetched};
use crate::sources::hub::encode_path;
use crate::sources::lfs::is_weights_name;
use crate::state::RepoState;
use crate::ui;

/// The LFS and Xet contents of one git repo on the Hub, read through
/// `{web}/resolve/COMMIT/PATH`.
pub struct HubLfs<'a> {
    pub downloader: &'a Downloader,
    /// The repo's web (and git) URL.
    pub web: String,
    /// The repo as errors name it.
    pub name: String,
    pub max_size: u64,
}

impl LfsContents for HubLfs<'_> {
    fn read(&self, scanner: &Scanner, pointers: &[PointerAt]) -> LfsRead {
        let mut read = LfsRead::default();
        // Each distinct object once, at the first place that holds it.
        let mut by_oid: BTreeMap<&str, Vec<&PointerAt>> = BTreeMap::new();
        for p in pointers {
            by_oid.entry(&p.pointer.oid).or_default().push(p);
        }
        let mut todo = Vec::new();
        for places in by_oid.values() {
            let p = places[0];
            if is_weights_name(&p.path) {
                read.stats.weights += 1;
            } else if p.pointer.size > self.max_size {
                read.stats.too_large += 1;
                ui::note(format!(
                    "{}: {}: LFS object of {} bytes over --max-lfs-size, not downloaded",
                    self.name, p.path, p.pointer.size
                ));
            } else {
                todo.push(places);
            }
        }
        let results = self.downloader.pool.map(&todo, |places| {
            let p = places[0];
            let url = format!("{}/resolve/{}/{}", self.web, p.commit, encode_path(&p.path));
            let fetch = self.downloader.fetch(&url, p.pointer.size);
            let scanned = fetch
                .outcome
                .and_then(|f| checked(f, &p.pointer))
                .map(|f| f.map(|bytes| scan_content(scanner, &bytes, &p.path)));
            (fetch.downloaded, scanned)
        });
        for (places, (downloaded, scanned)) in todo.iter().zip(results) {
            let p = places[0];
            read.stats.downloaded += downloaded;
            match scanned {
                Ok(None) => read.stats.weights += 1,
                Ok(Some((findings, problems))) => {
                    read.stats.files += 1;
                    read.errors.extend(problems.into_iter().map(|e| ScanError {
                        path: format!("{}: {}{}", self.name, p.path, e.path),
                        message: e.message,
                    }));
                    for place in places.iter() {
                        let list = read.found.entry(place.blob).or_default();
                        list.extend(findings.iter().cloned().map(|mut f| {
                            f.lfs = Some(p.pointer.clone());
                            f
                        }));
                    }
                }
                Err(e) => {
                    let err = ScanError::new(
                        format!(
                            "{}: {} (LFS object {})",
                            self.name,
                            p.path,
                            short(&p.pointer)
                        ),
                        e,
                    );
                    ui::error(&err);
                    read.errors.push(err);
                }
            }
        }
        read
    }
}

fn short(p: &LfsRef) -> &str {
    &p.oid[..p.oid.len().min(12)]
}

/// An LFS object's bytes, checked against its oid (a content host that
/// sent something else is an error, not a scan of the wrong bytes).
fn checked(fetched: Fetched, pointer: &LfsRef) -> Result<Option<Vec<u8>>, String> {
    match fetched {
        Fetched::Weights => Ok(None),
        Fetched::Bytes(b) if sha256_hex(&b) == pointer.oid => Ok(Some(b)),
        Fetched::Bytes(b) => Err(format!(
            "the content downloaded ({} bytes) does not match the pointer's oid",
            b.len()
        )),
    }
}

/// A downloaded file scanned: its findings with paths relative to it
/// (`""`, or `!member`), and what could not be read in it.
fn scan_content(scanner: &Scanner, bytes: &[u8], path: &str) -> (Vec<Finding>, Vec<ScanError>) {
    let scanned = scanner.scan(bytes, "", is_notebook(path));
    (scanned.findings, scanned.problems)
}

/// How a bucket is read.
pub struct BucketLimits {
    /// `--max-file-size`: a larger file is skipped.
    pub max_file_size: u64,
    /// `--max-bucket-bytes`: downloading stops past this many bytes.
    pub max_bucket_bytes: u64,
}

/// Every file of a Storage Bucket, a tree page at a time: weights and
/// media left out by name, files over `--max-file-size` skipped, files
/// whose content hash the state had at the same path carried over, each
/// distinct content downloaded once and scanned, until
/// `--max-bucket-bytes` stops it. `Err` when the tree could not be read
/// at all (a 404 bucket): the failure names the reason.
pub fn bucket_findings(
    scanner: &Scanner,
    downloader: &Downloader,
    bucket: &RepoRef,
    limits: &BucketLimits,
    previous: Option<&RepoState>,
) -> Outside {
    let name = bucket.display();
    let hub = &downloader.hub;
    let mut out = Outside::default();
    let mut used = 0u64;
    let mut stopped: Option<String> = None;
    // Contents scanned this run, by hash: findings relative to the file
    // (`None`: weights, told by their first bytes).
    let mut scanned: Scanned = HashMap::new();
    let earlier = |path: &str| -> Vec<Finding> {
        previous
            .map(|p| {
                p.findings
                    .iter()
                    .filter(|f| f.path == path || f.path.starts_with(&format!("{path}!")))
                    .map(Finding::carried)
                    .collect()
            })
            .unwrap_or_default()
    };
    let listed = buckets::files(hub, downloader.token.as_deref(), &bucket.id, |page| {
        let mut todo: Vec<BucketFile> = Vec::new();
        for f in page {
            if stopped.is_some() {
                out.content.over_budget += 1;
            } else if is_weights_name(&f.path) {
                out.content.weights += 1;
            } else if f.size > limits.max_file_size {
                out.content.too_large += 1;
                ui::note(format!(
                    "{name}: {}: {} bytes over --max-file-size, not downloaded",
                    f.path, f.size
                ));
            } else if let Some(h) = f
                .xet_hash
                .as_ref()
                .filter(|h| previous.and_then(|p| p.files.get(&f.path)) == Some(*h))
            {
                out.content.unchanged += 1;
                out.files.insert(f.path.clone(), h.clone());
                out.findings.extend(earlier(&f.path));
            } else if used + f.size > limits.max_bucket_bytes {
                stopped = Some(f.path.clone());
                out.content.over_budget += 1;
            } else {
                if !f.xet_hash.as_ref().is_some_and(|h| scanned.contains_key(h)) {
                    used += f.size;
                }
                todo.push(f);
            }
        }
        read_files(scanner, downloader, bucket, &todo, &mut scanned, &mut out);
        Ok(stopped.is_none())
    });
    if let Err(e) = listed {
        out.failure = Some(e);
    }
    if let Some(p) = previous {
        // Rescanned files: a token the record had at the path is not new.
        let known: std::collections::HashSet<(&str, &str)> = p
            .findings
            .iter()
            .map(|f| (f.secret_sha256.as_str(), f.path.as_str()))
            .collect();
        for f in out.findings.iter_mut().filter(|f| f.new.is_none()) {
            f.new = Some(!known.contains(&(f.secret_sha256.as_str(), f.path.as_str())));
        }
    }
    if let Some(at) = stopped {
        let note = format!(
            "stopped at --max-bucket-bytes ({} bytes downloaded); {at} and the files after it were not read",
            used
        );
        ui::note(format!("{name}: {note}"));
        out.errors.push(ScanError::new(name, note));
    }
    out
}

/// Contents scanned, by content hash: findings relative to the file, or
/// `None` for weights told by their first bytes.
type Scanned = HashMap<String, Option<Vec<Finding>>>;

/// The files of one tree page downloaded (each distinct content once,
/// run-wide for the bucket) and scanned; findings, errors and the state's
/// record go into `out`.
fn read_files(
    scanner: &Scanner,
    downloader: &Downloader,
    bucket: &RepoRef,
    files: &[BucketFile],
    scanned: &mut Scanned,
    out: &mut Outside,
) {
    let hub = &downloader.hub;
    // The first file of each content not scanned yet is downloaded.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let fetch: Vec<&BucketFile> = files
        .iter()
        .enumerate()
        .filter(|(i, f)| match &f.xet_hash {
            Some(h) if scanned.contains_key(h) => false,
            Some(h) => *first.entry(h).or_insert(*i) == *i,
            None => true,
        })
        .map(|(_, f)| f)
        .collect();
    let results = downloader.pool.map(&fetch, |f| {
        let url = buckets::resolve_url(hub, &bucket.id, &f.path);
        let got = downloader.fetch(&url, f.size);
        let found = got.outcome.map(|fetched| match fetched {
            Fetched::Weights => None,
            Fetched::Bytes(b) => Some(scan_content(scanner, &b, &f.path)),
        });
        (got.downloaded, found)
    });
    let mut by_path: HashMap<&str, Result<Option<Vec<Finding>>, String>> = HashMap::new();
    for (f, (downloaded, found)) in fetch.iter().zip(results) {
        out.content.downloaded += downloaded;
        let result = match found {
            Ok(Some((findings, problems))) => {
                let findings = Some(findings);
                out.content.files += 1;
                for e in problems {
                    out.errors.push(ScanError {
                        path: format!("{}: {}{}", bucket.display(), f.path, e.path),
                        message: e.message,
                    });
                }
                if let Some(h) = &f.xet_hash {
                    scanned.insert(h.clone(), findings.clone());
                }
                Ok(findings)
            }
            Ok(None) => {
                out.content.weights += 1;
                if let Some(h) = &f.xet_hash {
                    scanned.insert(h.clone(), None);
                }
                Ok(None)
            }
            Err(e) => Err(e),
        };
        by_path.insert(&f.path, result);
    }
    for f in files {
        let result = match by_path.remove(f.path.as_str()) {
            Some(r) => r,
            // A content downloaded for another path (or an earlier page).
            None => match f.xet_hash.as_ref().and_then(|h| scanned.get(h)) {
                Some(found) => Ok(found.clone()),
                None => Err("the same content at another path could not be downloaded".into()),
            },
        };
        match result {
            Ok(findings) => {
                if let Some(h) = &f.xet_hash {
                    out.files.insert(f.path.clone(), h.clone());
                }
                let url = buckets::resolve_url(hub, &bucket.id, &f.path);
                for mut finding in findings.into_iter().flatten() {
                    finding.path = format!("{}{}", f.path, finding.path);
                    finding.repo = Some(bucket.clone());
                    finding.url = Some(url.clone());
                    out.findings.push(finding);
                }
            }
            Err(e) => {
                let err = ScanError::new(format!("{}: {}", bucket.display(), f.path), e);
                ui::error(&err);
                out.errors.push(err);
            }
        }
    }
}
