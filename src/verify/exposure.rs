//! Blast radius (`--analyze`): what a live token can reach, listed with the
//! token itself: the models, datasets and Spaces of its owner and of each
//! of the owner's organizations, with the private ones named. Bounded per
//! owner and kind; pagination links are followed only on the endpoint.

use serde_json::Value;

use super::client::{Hub, status_text};
use crate::finding::{Exposure, OwnerRepos, RepoList};

/// Lists what `token` exposes for each of `owners`.
pub fn analyze(hub: &Hub, token: &str, owners: &[String], max_repos: usize) -> Exposure {
    Exposure {
        owners: owners
            .iter()
            .map(|name| OwnerRepos {
                name: name.clone(),
                models: list(hub, token, "models", name, max_repos),
                datasets: list(hub, token, "datasets", name, max_repos),
                spaces: list(hub, token, "spaces", name, max_repos),
            })
            .collect(),
    }
}

/// `GET /api/{kind}?author={owner}`, following `rel="next"` links.
fn list(hub: &Hub, token: &str, kind: &str, owner: &str, max_repos: usize) -> RepoList {
    let mut out = RepoList::default();
    let mut url = hub
        .endpoint()
        .url(&format!("/api/{kind}?author={}", encode(owner)));
    // Every page must add at least one repo, so this bounds a link loop.
    for _ in 0..=max_repos {
        let resp = match hub.get(&url, Some(token)) {
            Ok(r) => r,
            Err(reason) => {
                out.error = Some(reason);
                return out;
            }
        };
        if resp.status != 200 {
            out.error = Some(status_text(resp.status));
            return out;
        }
        let items = match resp.text().map(serde_json::from_str::<Value>) {
            Ok(Ok(Value::Array(items))) => items,
            Ok(_) => {
                out.error = Some(format!("malformed {kind} listing (not a JSON array)"));
                return out;
            }
            Err(reason) => {
                out.error = Some(reason);
                return out;
            }
        };
        let page_len = items.len();
        for (i, item) in items.into_iter().enumerate() {
            if out.count as usize >= max_repos {
                out.truncated = i < page_len || resp.next.is_some();
                return out;
            }
            out.count += 1;
            if item.get("private").and_then(Value::as_bool) == Some(true) {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    out.private.push(id.to_string());
                }
            }
        }
        let next = resp.next.as_deref();
        match next.and_then(|n| hub.endpoint().same_origin(n)) {
            Some(n) if page_len > 0 => {
                if out.count as usize >= max_repos {
                    out.truncated = true;
                    return out;
                }
                url = n;
            }
            None if next.is_some() => {
                out.truncated = true;
                out.error = Some("pagination link leaves the Hub endpoint: not followed".into());
                return out;
            }
            _ => return out,
        }
    }
    out.truncated = true;
    out
}

/// Percent-encodes a Hub name for a query value (names are normally
/// `[A-Za-z0-9-_.]`, so this rarely changes anything).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_query_safe() {
        assert_eq!(encode("acme-ai_lab.x"), "acme-ai_lab.x");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }

    #[test]
    fn totals_add_up_every_kind() {
        let e = Exposure {
            owners: vec![OwnerRepos {
                name: "a".into(),
                models: RepoList {
                    count: 3,
                    private: vec!["a/m".into()],
                    ..RepoList::default()
                },
                spaces: RepoList {
                    count: 1,
                    ..RepoList::default()
                },
                ..OwnerRepos::default()
            }],
        };
        assert_eq!(e.totals(), (4, 1));
    }
}
