//! The request path: `POST /webhook` checked (the secret, then the size,
//! then the JSON) and stored before it is answered 202; `GET /healthz`
//! and `GET /metrics`. Storing is the only work done here.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tiny_http::{Header, Method, Request, Response};

use super::store::Store;
use super::{MAX_BODY, Shared};
use crate::detect::redact_text;
use crate::finding::{RepoKind, RepoRef};
use crate::ui;

/// Threads answering requests, each with its own database connection.
pub const THREADS: usize = 4;

pub fn serve(server: &tiny_http::Server, shared: &Shared) {
    let store = match Store::open(&shared.config.db) {
        Ok(s) => s,
        Err(e) => {
            ui::error(&crate::finding::ScanError::new("serve", e));
            shared.stop.store(true, Ordering::Relaxed);
            return;
        }
    };
    while !shared.stop.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(request)) => answer(request, &store, shared),
            Ok(None) => {}
            Err(e) => {
                ui::error(&crate::finding::ScanError::new(
                    "serve",
                    format!("accept: {e}"),
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn text(status: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(
            Header::from_bytes("Content-Type", "text/plain; charset=utf-8")
                .expect("a valid header"),
        )
}

fn answer(mut request: Request, store: &Store, shared: &Shared) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let response = match (request.method(), path.as_str()) {
        (Method::Get, "/healthz") => text(200, "ok\n"),
        (Method::Get, "/metrics") => metrics(store, shared),
        (Method::Post, "/webhook") => webhook(&mut request, store, shared),
        (_, "/webhook" | "/healthz" | "/metrics") => text(405, "method not allowed\n"),
        _ => text(404, "not found\n"),
    };
    let _ = request.respond(response);
}

fn metrics(store: &Store, shared: &Shared) -> Response<std::io::Cursor<Vec<u8>>> {
    let m = &shared.metrics;
    let depth = store.pending().unwrap_or(0);
    let undelivered = store.undelivered().unwrap_or(0);
    let body = format!(
        "# HELP hfleaks_events_received_total Webhook deliveries accepted (answered 202).\n\
         # TYPE hfleaks_events_received_total counter\n\
         hfleaks_events_received_total {}\n\
         # HELP hfleaks_events_processed_total Events done, ignored scopes included.\n\
         # TYPE hfleaks_events_processed_total counter\n\
         hfleaks_events_processed_total {}\n\
         # HELP hfleaks_queue_depth Events pending, the ones being audited included.\n\
         # TYPE hfleaks_queue_depth gauge\n\
         hfleaks_queue_depth {depth}\n\
         # HELP hfleaks_findings_total New findings alerted.\n\
         # TYPE hfleaks_findings_total counter\n\
         hfleaks_findings_total {}\n\
         # HELP hfleaks_alerts_pending Alert deliveries not yet acknowledged.\n\
         # TYPE hfleaks_alerts_pending gauge\n\
         hfleaks_alerts_pending {undelivered}\n\
         # HELP hfleaks_alerts_delivered_total Alert deliveries acknowledged.\n\
         # TYPE hfleaks_alerts_delivered_total counter\n\
         hfleaks_alerts_delivered_total {}\n\
         # HELP hfleaks_alert_failures_total Alert delivery attempts that failed.\n\
         # TYPE hfleaks_alert_failures_total counter\n\
         hfleaks_alert_failures_total {}\n",
        m.received.load(Ordering::Relaxed),
        m.processed.load(Ordering::Relaxed),
        m.findings.load(Ordering::Relaxed),
        m.alerts_delivered.load(Ordering::Relaxed),
        m.alert_failures.load(Ordering::Relaxed),
    );
    Response::from_string(body).with_header(
        Header::from_bytes("Content-Type", "text/plain; version=0.0.4").expect("a valid header"),
    )
}

fn webhook(
    request: &mut Request,
    store: &Store,
    shared: &Shared,
) -> Response<std::io::Cursor<Vec<u8>>> {
    let given = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Webhook-Secret"))
        .map(|h| h.value.as_bytes().to_vec());
    let Some(given) = given else {
        return text(401, "missing X-Webhook-Secret\n");
    };
    // Digests of both: equal lengths, compared in constant time.
    let want = Sha256::digest(shared.config.secret.as_bytes());
    let got = Sha256::digest(&given);
    if !bool::from(want.as_slice().ct_eq(got.as_slice())) {
        return text(403, "wrong X-Webhook-Secret\n");
    }
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return text(413, "body over 1 MiB\n");
    }
    let mut body = Vec::new();
    if request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .is_err()
    {
        return text(400, "the body could not be read\n");
    }
    if body.len() > MAX_BODY {
        return text(413, "body over 1 MiB\n");
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return text(400, "the body is not JSON\n"),
    };
    let event = match reduce(&payload) {
        Ok(e) => e,
        Err(why) => return text(400, &format!("{why}\n")),
    };
    // Belt and braces: nothing token-shaped reaches the database.
    let stored = redact_text(&shared.scanner, &event.body.to_string());
    match store.enqueue(&event.repo, &event.scope, &event.action, &stored) {
        Ok(id) => {
            shared.metrics.received.fetch_add(1, Ordering::Relaxed);
            shared.notify();
            Response::from_string(json!({"accepted": id}).to_string())
                .with_status_code(202)
                .with_header(
                    Header::from_bytes("Content-Type", "application/json").expect("a valid header"),
                )
        }
        Err(e) => {
            ui::error(&crate::finding::ScanError::new(
                shared.config.db.display().to_string(),
                format!("an event could not be stored (answered 503): {e}"),
            ));
            text(503, "the event could not be stored; deliver it again\n")
        }
    }
}

/// An event as stored: the repo it is about (`TYPE/NS/NAME` as reports
/// name repos, `-` for none), and only the fields the worker reads.
pub struct Reduced {
    pub repo: String,
    pub scope: String,
    pub action: String,
    pub body: Value,
}

/// A payload's `repo.type`: the git repos webhooks are sent for.
pub fn repo_kind(text: &str) -> Option<RepoKind> {
    match text {
        "model" => Some(RepoKind::Model),
        "dataset" => Some(RepoKind::Dataset),
        "space" => Some(RepoKind::Space),
        _ => None,
    }
}

/// The payload reduced to what the worker needs: no comment content, no
/// titles, no URLs (serve reads only from its endpoint).
pub fn reduce(payload: &Value) -> Result<Reduced, String> {
    let Some(event) = payload.get("event").filter(|e| e.is_object()) else {
        return Err("the payload has no event".to_string());
    };
    let Some(repo) = payload.get("repo").filter(|r| r.is_object()) else {
        return Err("the payload has no repo".to_string());
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let scope = s(event, "scope");
    let action = s(event, "action");
    let kind = repo_kind(&s(repo, "type"));
    let name = s(repo, "name");
    let valid_name = {
        let parts: Vec<&str> = name.split('/').collect();
        parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && *p != "."
                    && *p != ".."
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
    };
    let acted = matches!(
        scope.as_str(),
        "repo" | "repo.content" | "discussion" | "discussion.comment"
    );
    let key = match (kind, valid_name) {
        (Some(kind), true) => RepoRef {
            kind,
            id: name.clone(),
        }
        .display(),
        _ if acted => {
            return Err(format!(
                "the payload's repo is not a model, dataset or Space named NS/NAME (type {:?}, name {:?})",
                s(repo, "type"),
                name.chars().take(100).collect::<String>()
            ));
        }
        _ => "-".to_string(),
    };
    let refs: Vec<Value> = payload
        .get("updatedRefs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .take(100)
                .map(|r| json!({"ref": s(r, "ref"), "oldSha": r.get("oldSha"), "newSha": r.get("newSha")}))
                .collect()
        })
        .unwrap_or_default();
    let discussion = payload.get("discussion").map(|d| {
        json!({
            "num": d.get("num").and_then(Value::as_u64),
            "isPullRequest": d.get("isPullRequest").and_then(Value::as_bool).unwrap_or(false),
        })
    });
    if scope.starts_with("discussion")
        && discussion
            .as_ref()
            .and_then(|d| d["num"].as_u64())
            .is_none()
        && matches!(action.as_str(), "create" | "update")
    {
        return Err("a discussion event without discussion.num".to_string());
    }
    let body = json!({
        "event": {"scope": scope, "action": action},
        "repo": {"type": s(repo, "type"), "name": name, "private": repo.get("private").and_then(Value::as_bool).unwrap_or(false)},
        "updatedRefs": refs,
        "discussion": discussion,
        "comment": payload.get("comment").map(|c| json!({"id": s(c, "id")})),
        "webhook": payload.get("webhook").map(|w| json!({"id": s(w, "id"), "version": w.get("version")})),
    });
    Ok(Reduced {
        repo: key,
        scope,
        action,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_only_what_the_worker_reads() {
        let p = json!({
            "event": {"action": "create", "scope": "discussion.comment"},
            "repo": {"type": "model", "name": "acme/m", "private": true, "url": {"web": "https://evil.example/x"}},
            "discussion": {"num": 7, "title": "secret title", "isPullRequest": false},
            "comment": {"id": "c1", "content": "my token is here"},
        });
        let r = reduce(&p).unwrap();
        assert_eq!(r.repo, "acme/m");
        let text = r.body.to_string();
        assert!(!text.contains("my token"), "{text}");
        assert!(!text.contains("secret title"));
        assert!(!text.contains("evil.example"));
        assert_eq!(r.body["discussion"]["num"], 7);
        assert_eq!(r.body["repo"]["private"], true);
    }

    #[test]
    fn a_payload_without_event_or_repo_or_a_usable_name_is_refused() {
        assert!(reduce(&json!({"repo": {}})).is_err());
        assert!(reduce(&json!({"event": {}})).is_err());
        let bad = json!({"event": {"scope": "repo.content", "action": "update"},
                         "repo": {"type": "model", "name": "../etc"}});
        assert!(reduce(&bad).is_err());
        // An ignored scope is accepted whatever its repo.
        let other = json!({"event": {"scope": "repo.config", "action": "update"}, "repo": {}});
        assert_eq!(reduce(&other).unwrap().repo, "-");
        let no_num = json!({"event": {"scope": "discussion", "action": "create"},
                            "repo": {"type": "space", "name": "a/b"}});
        assert!(reduce(&no_num).is_err());
    }
}
