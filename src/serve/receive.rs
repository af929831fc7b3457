//! What a webhook delivery is reduced to before it is stored: the repo it
//! is about and only the fields the worker reads (no comment content, no
//! titles, no URLs). The HTTP checks that come first are in `front`.

use serde_json::{Value, json};

use crate::finding::{RepoKind, RepoRef};

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
        "kernel" => Some(RepoKind::Kernel),
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
        "repo" | "repo.content" | "repo.config" | "discussion" | "discussion.comment"
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
        // Only whether the repo was made public or private: the rest of a
        // config change is not ours to keep.
        "updatedConfig": payload
            .get("updatedConfig")
            .map(|c| json!({"private": c.get("private").and_then(Value::as_bool)})),
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
        let other = json!({"event": {"scope": "repo.move", "action": "update"}, "repo": {}});
        assert_eq!(reduce(&other).unwrap().repo, "-");
        let no_num = json!({"event": {"scope": "discussion", "action": "create"},
                            "repo": {"type": "space", "name": "a/b"}});
        assert!(reduce(&no_num).is_err());
    }
}
