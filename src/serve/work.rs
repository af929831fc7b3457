//! The workers: each takes the oldest pending event of a repo no other
//! worker holds, with every pending event of that repo (coalesced into one
//! audit), audits it with the audit layer from the repo's record, and
//! stores the outcome (record, new findings, their alerts, the events
//! done) in one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Shared;
use super::receive::repo_kind;
use super::store::{Alert, Event, Store};
use crate::audit::fleet::{Options, audit_one};
use crate::audit::git::Limits;
use crate::audit::hub::{DISCUSSION_REQUESTS_PER_JOB, HubExtras, one_discussion, unit};
use crate::audit::storage::BucketLimits;
use crate::detect::redact_text;
use crate::finding::{Finding, RepoRef, Report, ScanError, sha256_hex};
use crate::sources::hub::HubRepo;
use crate::sources::hub::clone::HUB_GIT_USER;
use crate::sources::hub::content::{DOWNLOADS_PER_JOB, Downloader};
use crate::sources::hub::discussions::Pool;
use crate::ui;

/// Tries of an audit that fails (the repo cannot be cloned: the Hub is
/// down, or the repo is gone) before its events are done with an error.
const ATTEMPTS: u32 = 5;
/// The pause before trying a failed audit again.
const RETRY_PAUSE: Duration = Duration::from_secs(3);

pub fn run(shared: &Shared) {
    let mut store = match Store::open(&shared.config.db) {
        Ok(s) => s,
        Err(e) => {
            ui::error(&ScanError::new("serve", e));
            shared.stop.store(true, Ordering::Relaxed);
            return;
        }
    };
    let mut seen = 0u64;
    // Tries of a group whose audit failed, by its first event (in memory:
    // a restart tries again from the start).
    let mut attempts: HashMap<i64, u32> = HashMap::new();
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
            shared.wait(&mut seen, Duration::from_millis(500));
            continue;
        };
        let repo = first.repo.clone();
        let tries = attempts.entry(first.id).or_insert(0);
        *tries += 1;
        let last_try = *tries >= ATTEMPTS;
        let outcome = audit_group(shared, &mut store, &group, last_try);
        shared
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|r| *r != repo);
        match outcome {
            Ok(()) => {
                attempts.remove(&first.id);
                shared.notify();
            }
            Err(e) => {
                // Left pending: audited again after a pause.
                ui::error(&ScanError::new(
                    format!("event {}", first.id),
                    format!(
                        "{repo}: {e} (attempt {} of {ATTEMPTS}; left in the queue)",
                        attempts.get(&first.id).copied().unwrap_or(0)
                    ),
                ));
                let until = Instant::now() + RETRY_PAUSE;
                while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
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
    }
    p
}

/// Audits a group of events and stores the outcome. A git audit that
/// fails is an error (the events stay pending), unless `last_try`: then
/// the events are done with what could be read.
fn audit_group(
    shared: &Shared,
    store: &mut Store,
    events: &[Event],
    last_try: bool,
) -> Result<(), String> {
    let started = Instant::now();
    let config = &shared.config;
    let key = events[0].repo.clone();
    let mut plan = plan(events);
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let nothing_after_delete = plan.deleted && !plan.git && plan.discussions.is_empty();
    let Some(repo) = plan.repo.clone().filter(|_| !nothing_after_delete) else {
        // Nothing to audit: every event ignored (or a deletion only).
        let drop = plan.deleted;
        store.complete(&key, None, drop, &[], &config.alerts, &ids)?;
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
    let mut errors: Vec<ScanError> = Vec::new();
    let mut record = previous.clone();
    let mut findings: Vec<Finding> = Vec::new();
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
        if single.git_failed && !last_try {
            let why = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "the git audit failed".to_string());
            return Err(why);
        }
        if let Some(r) = single.record {
            record = Some(r);
            findings = single.findings;
            audited_git = true;
        }
    }
    if !audited_git {
        if let Some(r) = &record {
            findings = r.findings.clone();
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
            Err(e) => errors.push(ScanError::new(
                format!("{}/discussions/{num}", repo.display()),
                e,
            )),
        }
    }
    for e in &errors[shown..] {
        ui::error(e);
    }
    // The alerts: findings this database has not alerted before.
    let keys: Vec<String> = findings.iter().map(|f| alert_key(&key, f)).collect();
    let done = store.alerted(&keys)?;
    let mut seen = HashSet::new();
    let mut fresh: Vec<(String, Finding)> = keys
        .into_iter()
        .zip(findings.iter().cloned())
        .zip(done)
        .filter(|((k, _), done)| !done && seen.insert(k.clone()))
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
    }
    let event = event_json(events, &plan);
    let redacted = redact(shared, fresh.iter().map(|(_, f)| f.clone()).collect());
    let alerts: Vec<Alert> = fresh
        .iter()
        .zip(redacted)
        .map(|((k, _), f)| {
            let id = sha256_hex(k.as_bytes())[..32].to_string();
            let finding = serde_json::to_value(&f).unwrap_or(Value::Null);
            let body = json!({
                "id": id,
                "finding": finding,
                "event": event,
                "text": one_line(&f),
            });
            Alert {
                key: k.clone(),
                id,
                repo: key.clone(),
                secret_sha256: f.secret_sha256.clone(),
                finding: finding.to_string(),
                body: body.to_string(),
            }
        })
        .collect();
    if let Some(r) = record.as_mut() {
        r.findings = redact(shared, findings)
            .into_iter()
            .map(|mut f| {
                f.new = None;
                f
            })
            .collect();
    }
    store.complete(
        &key,
        record.as_ref(),
        record.is_some() || plan.deleted,
        &alerts,
        &config.alerts,
        &ids,
    )?;
    shared
        .metrics
        .findings
        .fetch_add(alerts.len() as u64, Ordering::Relaxed);
    log_events(shared, events, &plan, alerts.len(), errors.len(), started);
    Ok(())
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

/// Findings as the database and alerts hold them: redacted (unless
/// `--show-secrets`).
fn redact(shared: &Shared, findings: Vec<Finding>) -> Vec<Finding> {
    let mut r = Report {
        findings,
        ..Report::default()
    };
    if !shared.config.show_secrets {
        r.redact(&|text| redact_text(&shared.scanner, text));
    }
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
    shared
        .metrics
        .processed
        .fetch_add(events.len() as u64, Ordering::Relaxed);
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
