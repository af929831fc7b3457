//! The workers: each takes the oldest pending event of a repo no other
//! worker holds, with every pending event of that repo (coalesced into one
//! audit), audits it with the audit layer from the repo's record, and
//! stores the outcome (record, new findings, their alerts, the events
//! done) in one transaction.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::incident::Check;
use super::receive::repo_kind;
use super::store::{Alert, Event, IncidentOp, Retry, Store, now_ms};
use super::{RevokePolicy, Shared};
use crate::audit::fleet::{Options, audit_one};
use crate::audit::git::Limits;
use crate::audit::hub::{DISCUSSION_REQUESTS_PER_JOB, HubExtras, one_discussion, unit};
use crate::audit::storage::BucketLimits;
use crate::audit::variables::{is_variable, space_variables};
use crate::detect::redact_text;
use crate::finding::verification::Status;
use crate::finding::{Finding, RepoKind, RepoRef, Report, ScanError, sha256_hex};
use crate::http::Hub;
use crate::sources::hub::HubRepo;
use crate::sources::hub::clone::HUB_GIT_USER;
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
use crate::sources::hub::discussions::Pool;
use crate::ui;
use crate::verify::revoke::revoke_public;

/// The pause after the database itself failed (the events stay pending).
const DB_PAUSE: Duration = Duration::from_secs(3);
/// The first wait before a failed part is tried again; it doubles with
/// each failure up to [`MAX_RETRY_WAIT`]. (`HFLEAKS_BACKOFF_BASE_MS`
/// scales both, for tests.)
const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between two tries of a failed part.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

pub fn run(shared: &Shared) {
    let Some(mut store) = shared.open_store() else {
        return;
    };
    let mut seen = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let group = {
            let mut busy = shared.busy.lock().unwrap_or_else(|p| p.into_inner());
            match store.next_group(&busy) {
                Ok(g) => {
                    if let Some(first) = g.first() {
                        busy.push(first.repo.clone());
                    }
                    g
                }
                Err(e) => {
                    ui::error(&ScanError::new(
                        shared.config.db.display().to_string(),
                        format!("reading the queue: {e}"),
                    ));
                    Vec::new()
                }
            }
        };
        let Some(first) = group.first() else {
            // Nothing due: sleep until woken, or until the next retry is.
            let until_due = store
                .next_due()
                .ok()
                .flatten()
                .map(|at| Duration::from_millis((at - now_ms()).clamp(0, 500) as u64))
                .unwrap_or(Duration::from_millis(500));
            shared.wait(&mut seen, until_due.max(Duration::from_millis(5)));
            continue;
        };
        let repo = first.repo.clone();
        let outcome = audit_group(shared, &mut store, &group);
        shared
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|r| *r != repo);
        match outcome {
            Ok(()) => shared.notify(),
            Err(e) => {
                // The database failed: left pending, audited again after a
                // pause.
                ui::error(&ScanError::new(
                    format!("event {}", first.id),
                    format!("{repo}: {e} (left in the queue)"),
                ));
                let until = Instant::now() + DB_PAUSE;
                while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// The wait before try `attempt + 1` of a failed part: doubling from
/// [`RETRY_BASE`], at most [`MAX_RETRY_WAIT`], with ±20 % jitter so that
/// parts that failed together are not retried together.
fn retry_wait(attempt: u32) -> Duration {
    let scale = std::env::var(crate::http::BACKOFF_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| ms as f64 / 1000.0)
        .unwrap_or(1.0);
    let base = RETRY_BASE.as_secs_f64() * scale;
    let cap = MAX_RETRY_WAIT.as_secs_f64() * scale;
    let wait = (base * 2f64.powi(attempt.min(20) as i32)).min(cap);
    let jitter = 0.8 + 0.4 * fastrand_unit();
    Duration::from_secs_f64(wait * jitter)
}

/// A number in [0, 1) from the clock: enough to spread retries.
fn fastrand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos % 1000) as f64 / 1000.0
}

/// Whether a failure is final: the Hub said the thing is not there or not
/// ours to read (401, 403, 404, 410). Anything else (a network error, a
/// 5xx, a 429 past its wait, a cut download) may pass, and is tried again.
pub fn is_final(error: &str) -> bool {
    [
        "HTTP 401",
        "HTTP 403",
        "HTTP 404",
        "HTTP 410",
        "RepoNotFound",
        "GatedRepo",
    ]
    .iter()
    .any(|m| error.contains(m))
        || error.contains("not found")
        || error.contains("disabled")
}

/// What a group of events asks for.
#[derive(Default)]
struct Plan {
    /// Events that ask for nothing (other scopes and actions).
    ignored: Vec<i64>,
    /// The repo was deleted (after which only later events count).
    deleted: bool,
    /// A git audit: a push, a creation, or the repo's first event.
    git: bool,
    /// Every discussion too (a creation).
    all_discussions: bool,
    /// These discussions.
    discussions: BTreeSet<u64>,
    /// A Space's settings changed (`repo.config`): its variables again.
    variables: bool,
    /// The repo was made public (`updatedConfig.private` false).
    made_public: bool,
    private: bool,
    repo: Option<RepoRef>,
}

fn plan(events: &[Event]) -> Plan {
    let mut p = Plan::default();
    for e in events {
        let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
        let kind = repo_kind(body["repo"]["type"].as_str().unwrap_or(""));
        let name = body["repo"]["name"].as_str().unwrap_or("");
        let acts = match (e.scope.as_str(), e.action.as_str()) {
            ("repo", "delete") => {
                p = Plan {
                    ignored: std::mem::take(&mut p.ignored),
                    deleted: true,
                    ..Plan::default()
                };
                true
            }
            ("repo", "create") => {
                p.git = true;
                p.all_discussions = true;
                true
            }
            ("repo.content", _) => {
                p.git = true;
                true
            }
            ("repo.config", _) => {
                let public = body["updatedConfig"]["private"] == Value::Bool(false);
                p.made_public |= public;
                p.variables |= kind == Some(RepoKind::Space);
                public || kind == Some(RepoKind::Space)
            }
            ("discussion" | "discussion.comment", "create" | "update") => {
                match body["discussion"]["num"].as_u64() {
                    Some(n) => {
                        p.discussions.insert(n);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !acts || kind.is_none() || name.is_empty() {
            p.ignored.push(e.id);
            continue;
        }
        if let Some(kind) = kind {
            p.repo = Some(RepoRef {
                kind,
                id: name.to_string(),
            });
        }
        p.private = body["repo"]["private"].as_bool().unwrap_or(false);
        if p.made_public && e.scope == "repo.config" {
            p.private = false;
        }
    }
    p
}

/// Parts of a group's audit to try again, each with why it failed.
#[derive(Default)]
struct Failed {
    /// The git part (the clone, an LFS download, or whoami for a finding
    /// in git): the record stays where it was, so the retry audits the
    /// same commits again.
    git: Option<String>,
    /// Every discussion (a creation's listing failed).
    all_discussions: Option<String>,
    /// These discussions.
    discussions: BTreeMap<u64, String>,
    /// A Space's variables.
    variables: Option<String>,
}

/// Audits a group of events and stores the outcome: the record, the new
/// findings' alerts, the events done, and a retry event for each part
/// that failed for a passing reason, in one transaction. An `Err` is the
/// database's own failure (the events stay pending).
fn audit_group(shared: &Shared, store: &mut Store, events: &[Event]) -> Result<(), String> {
    let started = Instant::now();
    let config = &shared.config;
    let key = events[0].repo.clone();
    let mut plan = plan(events);
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let attempts = events.iter().map(|e| e.attempts).max().unwrap_or(0);
    let nothing_after_delete = plan.deleted
        && !plan.git
        && plan.discussions.is_empty()
        && !plan.variables
        && !plan.made_public;
    let Some(repo) = plan.repo.clone().filter(|_| !nothing_after_delete) else {
        // Nothing to audit: every event ignored (or a deletion only).
        let drop = plan.deleted;
        store.complete(&key, None, drop, &[], &config.alerts, &ids, &[])?;
        log_events(shared, events, &plan, 0, 0, started);
        return Ok(());
    };
    let previous = if plan.deleted {
        None
    } else {
        store.record(&key)?
    };
    // The first event of a repo audits its whole history.
    if previous.is_none() {
        plan.git = true;
    }
    let mut failed = Failed::default();
    let mut errors: Vec<ScanError> = Vec::new();
    let mut record = previous.clone();
    let mut findings: Vec<Finding> = previous
        .as_ref()
        .map(|r| r.findings.clone())
        .unwrap_or_default();
    let mut audited_git = false;
    let mut shown = 0;
    if plan.git {
        let login = config
            .token
            .as_deref()
            .map(|t| (HUB_GIT_USER.to_string(), t.to_string()));
        let u = unit(
            &config.client,
            login,
            HubRepo {
                repo: repo.clone(),
                private: plan.private,
            },
        );
        let extras = HubExtras {
            client: config.client.clone(),
            token: config.token.clone(),
            discussions: plan.all_discussions,
            pool: Pool::new(DISCUSSION_REQUESTS_PER_JOB),
            downloader: Downloader::new(
                config.client.clone(),
                config.token.clone(),
                DOWNLOADS_PER_JOB,
            ),
            lfs: config.lfs,
            buckets: BucketLimits {
                max_file_size: config.max_file_size,
                max_bucket_bytes: u64::MAX,
            },
        };
        let options = Options {
            limits: Limits {
                max_file_size: config.max_file_size,
                messages: true,
            },
            jobs: 1,
            cache: None,
            state: None,
            shard: None,
            converted: false,
        };
        let single = audit_one(&shared.scanner, &u, &options, &extras, previous.as_ref());
        // (The audit layer has shown its errors.)
        shown = single.errors.len();
        errors.extend(single.errors);
        let downloads: Vec<String> = std::mem::take(
            &mut *extras
                .downloader
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
        .into_iter()
        .filter(|e| !is_final(e))
        .collect();
        match &single.git_error {
            Some(e) if !is_final(e) => failed.git = Some(e.clone()),
            _ => {}
        }
        if failed.git.is_none() {
            if let Some(first) = downloads.first() {
                failed.git = Some(format!(
                    "{} failed: {first}",
                    ui::plural(downloads.len() as u64, "LFS download")
                ));
            }
        }
        if let Some(e) = single.outside_error.filter(|e| !is_final(e)) {
            if plan.all_discussions {
                failed.all_discussions = Some(e);
            }
        }
        // What was found is alerted now, even when a part will be tried
        // again (the alert keys keep it from being alerted twice).
        findings = single.findings;
        if failed.git.is_none() && failed.all_discussions.is_none() {
            if let Some(r) = single.record {
                record = Some(r);
                audited_git = true;
            }
        }
    }
    for &num in plan
        .discussions
        .iter()
        .filter(|_| !(plan.all_discussions && audited_git))
    {
        match one_discussion(
            &shared.scanner,
            &config.client,
            config.token.as_deref(),
            &repo,
            num,
            record.as_ref(),
        ) {
            Ok((found, digests)) => {
                findings.retain(|f| f.discussion.as_ref().is_none_or(|d| d.num != num));
                findings.extend(found);
                if let Some(r) = record.as_mut() {
                    r.discussions.insert(num, digests);
                }
            }
            Err(e) if !is_final(&e) => {
                failed.discussions.insert(num, e);
            }
            Err(e) => errors.push(ScanError::new(
                format!("{}/discussions/{num}", repo.display()),
                e,
            )),
        }
    }
    if plan.variables && !plan.git {
        // (A git audit of a Space reads its variables too.)
        match space_variables(
            &shared.scanner,
            &config.client,
            config.token.as_deref(),
            &repo,
            record.as_ref(),
        ) {
            Ok(read) => {
                findings.retain(|f| !is_variable(f));
                findings.extend(read.findings);
                if let Some(r) = record.as_mut() {
                    r.variables = read.record;
                }
            }
            Err(e) if e.refused => ui::note(format!(
                "{}: variables not read: {}",
                repo.display(),
                e.message
            )),
            Err(e) if !is_final(&e.message) => failed.variables = Some(e.message),
            Err(e) => errors.push(ScanError::new(
                format!("{}/variables", repo.display()),
                e.message,
            )),
        }
    }
    for e in &errors[shown..] {
        ui::error(e);
    }
    // The alerts: findings this database has not alerted before, and that
    // no ignore file or baseline accepts.
    let keys: Vec<String> = findings.iter().map(|f| alert_key(&key, f)).collect();
    let done = store.alerted(&keys)?;
    let mut seen = HashSet::new();
    let mut fresh: Vec<(String, Finding)> = keys
        .into_iter()
        .zip(findings.iter().cloned())
        .zip(done)
        .filter(|((k, f), done)| !done && config.filters.keep(f) && seen.insert(k.clone()))
        .map(|((k, f), _)| (k, f))
        .collect();
    if config.verify.enabled && !fresh.is_empty() {
        let mut list: Vec<Finding> = fresh.iter().map(|(_, f)| f.clone()).collect();
        crate::verify::verify_findings(
            &mut list,
            shared.scanner.shared_engine().rules(),
            &config.verify,
        );
        for ((_, f), v) in fresh.iter_mut().zip(list) {
            f.verification = v.verification;
            f.severity = v.severity;
        }
        // whoami did not answer (a network error, a 5xx, a 429): the
        // finding waits, and its place is audited again later.
        fresh.retain(|(_, f)| {
            let Some(v) = f
                .verification
                .as_ref()
                .filter(|v| v.status == Status::Unknown)
            else {
                return true;
            };
            let why = format!("whoami: {}", v.reason.as_deref().unwrap_or("no answer"));
            match &f.discussion {
                Some(d) => {
                    failed.discussions.entry(d.num).or_insert(why);
                }
                None => {
                    failed.git.get_or_insert(why);
                }
            }
            false
        });
    }
    if failed.git.is_some() || failed.all_discussions.is_some() {
        // The record stays where it was: the retry audits the same
        // commits (and discussions) again.
        record = previous.clone();
    } else if let Some(r) = record.as_mut() {
        for num in failed.discussions.keys() {
            match previous.as_ref().and_then(|p| p.discussions.get(num)) {
                Some(d) => r.discussions.insert(*num, d.clone()),
                None => r.discussions.remove(num),
            };
        }
        r.findings = redact(shared, findings)
            .into_iter()
            .filter(|f| {
                f.discussion
                    .as_ref()
                    .is_none_or(|d| !failed.discussions.contains_key(&d.num))
            })
            .map(|mut f| {
                f.new = None;
                f
            })
            .collect();
    }
    let revoked = revoke_new_live(shared, store, &fresh, events)?;
    let retries = retry_events(shared, events, &plan, &repo, &failed, attempts);
    let event = event_json(events, &plan);
    let redacted = redact(shared, fresh.iter().map(|(_, f)| f.clone()).collect());
    let alerts: Vec<Alert> = fresh
        .iter()
        .zip(redacted)
        .map(|((k, _), f)| {
            let id = sha256_hex(k.as_bytes())[..32].to_string();
            let finding = serde_json::to_value(&f).unwrap_or(Value::Null);
            let body = json!({
                "type": "finding.new",
                "id": id,
                "finding": finding,
                "event": event,
                "text": slack_text(&one_line(&f)),
            });
            Alert {
                key: k.clone(),
                id,
                repo: key.clone(),
                secret_sha256: f.secret_sha256.clone(),
                finding: finding.to_string(),
                body: body.to_string(),
                incident: Some(IncidentOp {
                    check: f.verification.as_ref().map(|v| Check::of(v, now_ms())),
                    revoked: revoked.contains(&f.secret_sha256),
                    finding: f,
                }),
            }
        })
        .collect();
    let mut alerts = alerts;
    if plan.made_public {
        let mut known = store.repo_tokens(&key)?;
        for a in &alerts {
            known.push((a.secret_sha256.clone(), a.finding.clone()));
        }
        alerts.extend(made_public_alert(&plan, &repo, &key, known, &event));
    }
    store.complete(
        &key,
        record.as_ref(),
        record.is_some() || plan.deleted,
        &alerts,
        &config.alerts,
        &ids,
        &retries,
    )?;
    shared
        .metrics
        .findings
        .fetch_add(alerts.len() as u64, Ordering::Relaxed);
    shared
        .metrics
        .retries
        .fetch_add(retries.len() as u64, Ordering::Relaxed);
    log_events(shared, events, &plan, alerts.len(), errors.len(), started);
    Ok(())
}

/// With `--revoke-policy live`: revokes each new token (no incident yet)
/// that whoami says is valid, in batches, before its alert goes out, and
/// returns the `secret_sha256` of those the Hub accepted. A token whose
/// revoke this server requested before (a crash came between the request
/// and its record) is revoked again: that is harmless, and its incident
/// still ends `revoked`.
fn revoke_new_live(
    shared: &Shared,
    store: &Store,
    fresh: &[(String, Finding)],
    events: &[Event],
) -> Result<HashSet<String>, String> {
    let mut revoked = HashSet::new();
    if shared.config.revoke_policy != RevokePolicy::Live {
        return Ok(revoked);
    }
    let mut seen = HashSet::new();
    let mut todo: Vec<(String, String)> = Vec::new();
    for (_, f) in fresh {
        let sha = &f.secret_sha256;
        if !seen.insert(sha.clone()) || sha256_hex(f.secret.as_bytes()) != *sha {
            continue;
        }
        if store.has_incident(sha)? {
            continue;
        }
        let valid = f
            .verification
            .as_ref()
            .is_some_and(|v| v.status == Status::Valid);
        if valid || store.revoke_requested(sha)? {
            todo.push((sha.clone(), f.secret.clone()));
        }
    }
    if todo.is_empty() {
        return Ok(revoked);
    }
    let shas: Vec<String> = todo.iter().map(|(s, _)| s.clone()).collect();
    store.intend_revoke(&shas)?;
    let hub = Hub::new(
        shared.config.verify.endpoint.clone(),
        shared.config.verify.timeout,
    );
    let tokens: Vec<String> = todo.iter().map(|(_, t)| t.clone()).collect();
    let received = events
        .iter()
        .map(|e| e.received_at)
        .min()
        .unwrap_or(now_ms());
    let mut at = 0;
    for (n, outcome) in revoke_public(&hub, &tokens) {
        let batch = &todo[at..at + n];
        at += n;
        match outcome {
            Ok(()) => {
                let seconds = (now_ms() - received).max(0) as f64 / 1000.0;
                for (sha, _) in batch {
                    revoked.insert(sha.clone());
                    shared.metrics.revocations.fetch_add(1, Ordering::Relaxed);
                    shared.metrics.revoke_latency.observe(seconds);
                }
            }
            Err(e) => ui::error(&ScanError::new(
                "revoke",
                format!(
                    "{} not revoked (their incidents stay open; re-verification tries again): {}",
                    ui::plural(n as u64, "live token"),
                    redact_text(&shared.scanner, &e)
                ),
            )),
        }
    }
    Ok(revoked)
}

/// The `repo.public` alert of a repo just made public: the tokens this
/// database knows in it that are not known to be dead, redacted. Keyed by
/// the repo and those tokens, so a replayed event alerts nothing again.
fn made_public_alert(
    plan: &Plan,
    repo: &RepoRef,
    key: &str,
    known: Vec<(String, String)>,
    event: &Value,
) -> Option<Alert> {
    let mut seen = HashSet::new();
    let tokens: Vec<Value> = known
        .into_iter()
        .filter_map(|(sha, finding)| {
            let f: Value = serde_json::from_str(&finding).ok()?;
            let dead = f["verification"]["status"] == "invalid";
            (!dead && !sha.is_empty() && seen.insert(sha.clone())).then(|| {
                json!({
                    "secret": f["secret"],
                    "secret_sha256": sha,
                    "rule_id": f["rule_id"],
                    "path": f["path"],
                    "url": f["url"],
                })
            })
        })
        .collect::<Vec<Value>>();
    let mut tokens = tokens;
    tokens.sort_by(|a, b| {
        (a["path"].as_str(), a["secret_sha256"].as_str())
            .cmp(&(b["path"].as_str(), b["secret_sha256"].as_str()))
    });
    if tokens.is_empty() {
        ui::info(format!(
            "{}: made public; no leaked token is known in it",
            repo.display()
        ));
        return None;
    }
    let mut shas: Vec<&str> = tokens
        .iter()
        .filter_map(|t| t["secret_sha256"].as_str())
        .collect();
    shas.sort_unstable();
    let alert_key = format!("{key}\u{0}public\u{0}{}", shas.join(","));
    let id = sha256_hex(alert_key.as_bytes())[..32].to_string();
    let listed: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!(
                "{} ({})",
                t["secret"].as_str().unwrap_or(""),
                t["path"].as_str().unwrap_or("")
            )
        })
        .collect();
    let text = format!(
        "hfleaks: {} was made public, exposing {} not known to be dead: {}",
        repo.display(),
        ui::plural(tokens.len() as u64, "leaked token"),
        listed.join(", ")
    );
    let body = json!({
        "type": "repo.public",
        "id": id,
        "repo": {"type": repo.kind, "id": repo.id, "private": plan.private},
        "count": tokens.len(),
        "tokens": tokens,
        "event": event,
        "text": slack_text(&text),
    });
    Some(Alert {
        key: alert_key,
        id,
        repo: key.to_string(),
        secret_sha256: String::new(),
        finding: "{}".to_string(),
        body: body.to_string(),
        incident: None,
    })
}

/// One retry event per failed part, due after the backoff of its try.
fn retry_events(
    shared: &Shared,
    events: &[Event],
    plan: &Plan,
    repo: &RepoRef,
    failed: &Failed,
    attempts: u32,
) -> Vec<Retry> {
    let wait = retry_wait(attempts);
    let not_before = now_ms() + wait.as_millis() as i64;
    let kind = events
        .iter()
        .find_map(|e| {
            let body: Value = serde_json::from_str(&e.body).ok()?;
            body["repo"]["type"].as_str().map(str::to_string)
        })
        .unwrap_or_default();
    let body = |scope: &str, action: &str, discussion: Option<u64>| {
        json!({
            "event": {"scope": scope, "action": action},
            "repo": {"type": kind, "name": repo.id, "private": plan.private},
            "updatedRefs": [],
            "discussion": discussion.map(|n| json!({"num": n, "isPullRequest": false})),
            "retry": attempts + 1,
        })
        .to_string()
    };
    let mut parts: Vec<(String, String, Option<u64>, String)> = Vec::new();
    if let Some(e) = &failed.all_discussions {
        parts.push(("repo".into(), "create".into(), None, e.clone()));
    } else if let Some(e) = &failed.git {
        parts.push(("repo.content".into(), "update".into(), None, e.clone()));
    }
    for (num, e) in &failed.discussions {
        parts.push(("discussion".into(), "update".into(), Some(*num), e.clone()));
    }
    if let Some(e) = &failed.variables {
        parts.push(("repo.config".into(), "update".into(), None, e.clone()));
    }
    parts
        .into_iter()
        .map(|(scope, action, num, error)| {
            let what = match num {
                Some(n) => format!("discussion #{n}"),
                None if scope == "repo" => "the audit with its discussions".to_string(),
                None if scope == "repo.config" => "reading its variables".to_string(),
                None => "the git audit".to_string(),
            };
            let error = redact_text(&shared.scanner, &error);
            ui::info(format!(
                "{}: {what} failed ({error}); tried again in {:.1} s (attempt {})",
                repo.display(),
                wait.as_secs_f64(),
                attempts + 1
            ));
            Retry {
                body: body(&scope, &action, num),
                scope,
                action,
                attempts: attempts + 1,
                not_before,
                error,
            }
        })
        .collect()
}

/// What makes a finding the same alert: the repo, and the path (a
/// discussion's number and event) and the token.
fn alert_key(repo: &str, f: &Finding) -> String {
    match &f.discussion {
        Some(d) => format!(
            "{repo}\u{0}discussion\u{0}{}\u{0}{}\u{0}{}",
            d.num, d.event_id, f.secret_sha256
        ),
        None => format!("{repo}\u{0}path\u{0}{}\u{0}{}", f.path, f.secret_sha256),
    }
}

/// Findings as the database and alerts hold them: redacted, always
/// (`serve` refuses `--show-secrets`).
fn redact(shared: &Shared, findings: Vec<Finding>) -> Vec<Finding> {
    let mut r = Report {
        findings,
        ..Report::default()
    };
    r.redact(&|text| redact_text(&shared.scanner, text));
    r.findings
}

/// The alert's `text`: one line a chat shows as it is.
fn one_line(f: &Finding) -> String {
    let repo = f.repo.as_ref().map(|r| r.display()).unwrap_or_default();
    let place = match (&f.discussion, &f.commit) {
        (Some(d), _) => format!(
            "{} #{}",
            if d.is_pull_request {
                "pull request"
            } else {
                "discussion"
            },
            d.num
        ),
        (None, Some(c)) if f.path.is_empty() => {
            format!("commit message {}", crate::finding::short_id(&c.id))
        }
        (None, Some(c)) => format!("{} (commit {})", f.path, crate::finding::short_id(&c.id)),
        (None, None) => f.path.clone(),
    };
    let status = f
        .verification
        .as_ref()
        .map(|v| {
            format!(
                ", {}",
                serde_json::to_value(v.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let link = f
        .url
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    format!(
        "hfleaks: leaked token {} ({}{status}) in {repo}: {place}{link}",
        f.secret, f.rule_id
    )
}

/// `text` as Slack shows it: what came from outside (paths, archive
/// member names, repo names, titles) can neither mention a channel, nor
/// make a link, nor break the line. Slack's three control characters are
/// escaped (`&amp;`, `&lt;`, `&gt;`), and line breaks and other control
/// characters become visible escapes (`\n`, `\u{7}`).
pub fn slack_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The event an alert names: the group's first event that asked for work.
fn event_json(events: &[Event], plan: &Plan) -> Value {
    let e = events
        .iter()
        .find(|e| !plan.ignored.contains(&e.id))
        .unwrap_or(&events[0]);
    let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
    json!({
        "id": e.id,
        "scope": e.scope,
        "action": e.action,
        "repo": plan.repo.as_ref().map(|r| json!({"type": r.kind, "id": r.id})),
        "discussion": body["discussion"]["num"],
        "coalesced": events.len(),
    })
}

fn log_events(
    shared: &Shared,
    events: &[Event],
    plan: &Plan,
    alerts: usize,
    errors: usize,
    started: Instant,
) {
    // Deliveries from the Hub only: a retry record is this server's own
    // work, so that processed meets received once all is done.
    let delivered = events.iter().filter(|e| e.attempts == 0).count();
    shared
        .metrics
        .processed
        .fetch_add(delivered as u64, Ordering::Relaxed);
    let lead = events.iter().find(|e| !plan.ignored.contains(&e.id));
    for e in events {
        let what = format!("event {}: {} {} {}", e.id, e.scope, e.action, e.repo);
        let line = match lead {
            _ if plan.ignored.contains(&e.id) => format!("{what}: ignored"),
            Some(l) if l.id != e.id => format!("{what}: coalesced into event {}", l.id),
            _ => {
                let done = match (plan.deleted, plan.git, plan.discussions.len()) {
                    (true, false, 0) => "record dropped".to_string(),
                    (_, true, _) => "audited".to_string(),
                    (_, false, 0) if plan.variables => "variables read".to_string(),
                    (_, false, 0) if plan.made_public => "made public".to_string(),
                    (_, false, n) => format!("{} read", ui::plural(n as u64, "discussion")),
                };
                format!(
                    "{what}: {done}, {}{} in {:.2} s",
                    ui::plural(alerts as u64, "new finding"),
                    if errors > 0 {
                        format!(", {}", ui::plural(errors as u64, "error"))
                    } else {
                        String::new()
                    },
                    started.elapsed().as_secs_f64()
                )
            }
        };
        ui::info(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_escapes_slack_controls_and_keeps_one_line() {
        let t = slack_text("<!channel> <mailto:x@evil.example|Rotate> a&b\nc\r\u{7}\u{2028}");
        assert_eq!(
            t,
            "&lt;!channel&gt; &lt;mailto:x@evil.example|Rotate&gt; a&amp;b\\nc\\r\\u{7}\\u{2028}"
        );
        assert!(!t.chars().any(char::is_control));
    }

    #[test]
    fn retries_back_off_doubling_up_to_five_minutes() {
        // (HFLEAKS_BACKOFF_BASE_MS is not set by the unit tests.)
        if std::env::var(crate::http::BACKOFF_ENV).is_ok() {
            return;
        }
        let secs = |a| retry_wait(a).as_secs_f64();
        assert!((0.8..=1.2).contains(&secs(0)), "{}", secs(0));
        assert!((1.6..=2.4).contains(&secs(1)));
        assert!((12.8..=19.2).contains(&secs(4)));
        for a in [9, 10, 30, u32::MAX] {
            assert!(
                secs(a) <= 300.0 * 1.2 && secs(a) >= 300.0 * 0.8,
                "{a}: {}",
                secs(a)
            );
        }
    }

    #[test]
    fn only_not_found_and_refused_are_final() {
        for e in [
            "HTTP 404 Not Found (RepoNotFound)",
            "git: HTTP 403 Forbidden",
            "HTTP 401 Unauthorized",
        ] {
            assert!(is_final(e), "{e}");
        }
        for e in [
            "HTTP 503 Service Unavailable after 5 retries",
            "HTTP 429 Too Many Requests: the Hub asks to retry after 600 s",
            "cannot connect to http://127.0.0.1:1",
            "timed out after 30 s",
            "the connection was cut after 10 of 20 bytes",
        ] {
            assert!(!is_final(e), "{e}");
        }
    }
}
