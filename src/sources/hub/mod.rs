//! The Hugging Face Hub as a source: what a target names (an owner, a repo
//! id, a Hub URL), an owner's repos from the listing endpoints (every
//! page), one repo's metadata, its git history (`clone`) and its
//! discussions (`discussions`). Everything goes through one shared
//! [`Hub`] client, so rate limits hold every worker back together. The
//! token is sent only to the endpoint and never appears in a message.

pub mod buckets;
pub mod clone;
pub mod content;
pub mod discussions;
pub mod pool;
pub mod variables;

use serde::Deserialize;

use crate::finding::{RepoKind, RepoRef};
use crate::http::{Endpoint, Hub, HubResponse, status_text};

/// Largest listing page asked for (huggingface.js asks for at most 500).
const LIST_PAGE: usize = 500;

/// What a command-line target names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every repo of a user or organization.
    Owner(String),
    /// One repo.
    Repo(RepoRef),
}

/// A repo to audit, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepo {
    pub repo: RepoRef,
    pub private: bool,
}

/// Reads a target: `NS` (an owner), `NS/NAME` (a model),
/// `datasets/NS/NAME`, `spaces/NS/NAME`, `models/NS/NAME`,
/// `buckets/NS/NAME` (a Storage Bucket), `kernels/NS/NAME` (a kernel
/// repo), or a Hub URL of
/// any of them (`https://huggingface.co/spaces/NS/NAME/blob/main/app.py`
/// names the Space; anything after the name is ignored).
/// A URL must name the endpoint's host (or huggingface.co, the Hub
/// people copy links from, when the endpoint is the default).
pub fn parse_target(text: &str, endpoint: &Endpoint) -> Result<Target, String> {
    let bad = |why: &str| format!("'{text}': not a Hub owner, repo id or URL: {why}");
    let trimmed = text.trim();
    let (host, path) = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") || scheme == "http" => {
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            rest.split_once('/').unwrap_or((rest, ""))
        }
        Some(_) => return Err(bad("only http(s) URLs")),
        // `huggingface.co/acme/x`: a URL without its scheme.
        None => match trimmed.split_once('/') {
            Some((first, rest)) if first.contains('.') && !first.starts_with('.') => (first, rest),
            _ => ("", trimmed),
        },
    };
    if !host.is_empty() {
        let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
        let default_hub = endpoint.base() == crate::verify::DEFAULT_ENDPOINT;
        let aliases = ["www.huggingface.co", "hf.co"];
        if host != endpoint.authority() && !(default_hub && aliases.contains(&host.as_str())) {
            return Err(format!(
                "'{text}': a URL on {host}, but the Hub endpoint is {} (set --hf-endpoint or HF_ENDPOINT)",
                endpoint.base()
            ));
        }
    }
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kind = match parts.first() {
        Some(&"datasets") => Some(RepoKind::Dataset),
        Some(&"spaces") => Some(RepoKind::Space),
        Some(&"models") => Some(RepoKind::Model),
        Some(&"buckets") => Some(RepoKind::Bucket),
        Some(&"kernels") => Some(RepoKind::Kernel),
        _ => None,
    };
    if kind.is_some() {
        parts.remove(0);
    }
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 96
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && !s.starts_with('.')
    };
    match (kind, parts.as_slice()) {
        (_, []) => Err(bad("empty")),
        (None, [owner]) if name_ok(owner) => Ok(Target::Owner(owner.to_string())),
        (Some(_), [_]) => Err(bad("expected KIND/NS/NAME")),
        (kind, [ns, name, ..]) if name_ok(ns) && name_ok(name.trim_end_matches(".git")) => {
            Ok(Target::Repo(RepoRef {
                kind: kind.unwrap_or(RepoKind::Model),
                id: format!("{ns}/{}", name.trim_end_matches(".git")),
            }))
        }
        _ => Err(bad("names hold letters, digits, '-', '_' and '.'")),
    }
}

/// A listing item: `id` (older items: `modelId`) and whether it is private.
#[derive(Deserialize)]
struct Item {
    id: Option<String>,
    #[serde(rename = "modelId")]
    model_id: Option<String>,
    #[serde(default)]
    private: bool,
}

/// Every repo of `kind` that `owner` has (and, with a token, the private
/// ones it can see), following `Link: rel="next"` to the last page. A page
/// that fails fails the listing: a partial list is never audited.
pub fn list_owner(
    hub: &Hub,
    token: Option<&str>,
    owner: &str,
    kind: RepoKind,
) -> Result<Vec<HubRepo>, String> {
    list(hub, token, owner, kind, &[]).map(|l| l.unwrap_or_default())
}

/// An owner's kernel repos (`/api/kernels?author=NS`, an endpoint no Hub
/// document describes): `None` when the Hub answers its first page with
/// 404 or 400 (it does not list kernels), else as [`list_owner`].
pub fn list_kernels(
    hub: &Hub,
    token: Option<&str>,
    owner: &str,
) -> Result<Option<Vec<HubRepo>>, String> {
    list(hub, token, owner, RepoKind::Kernel, &[400, 404])
}

/// [`list_owner`], or `None` when the first page answers one of `absent`.
fn list(
    hub: &Hub,
    token: Option<&str>,
    owner: &str,
    kind: RepoKind,
    absent: &[u16],
) -> Result<Option<Vec<HubRepo>>, String> {
    let what = format!("listing the {} of '{owner}'", kind.plural());
    let first = match kind {
        RepoKind::Bucket => format!("/api/buckets/{}", encode(owner)),
        _ => format!(
            "/api/{}?author={}&limit={LIST_PAGE}",
            kind.plural(),
            encode(owner)
        ),
    };
    let mut repos = Vec::new();
    let answered = pages_unless(hub, token, &first, &what, absent, |items: Vec<Item>| {
        for item in items {
            let Some(id) = item.id.or(item.model_id) else {
                return Err("an item without an id".to_string());
            };
            if !id.contains('/') {
                return Err(format!("unexpected repo id '{id}'"));
            }
            repos.push(HubRepo {
                repo: RepoRef { kind, id },
                private: item.private,
            });
        }
        Ok(true)
    })?;
    Ok(answered.then_some(repos))
}

/// Every page of a `Link`-paginated listing that starts at the endpoint's
/// `path`, each handed to `each` as it arrives (a listing of millions of
/// entries is never held whole); `each` says whether to go on. A next link that leaves the endpoint or
/// comes back to a page already read ends it with an error; `what` names
/// the listing in every message.
pub fn pages<T: serde::de::DeserializeOwned>(
    hub: &Hub,
    token: Option<&str>,
    path: &str,
    what: &str,
    each: impl FnMut(Vec<T>) -> Result<bool, String>,
) -> Result<(), String> {
    pages_unless(hub, token, path, what, &[], each).map(|_| ())
}

/// [`pages`], except that a first page answered with a status of `absent`
/// ends it at once with `Ok(false)` (the endpoint does not exist there).
fn pages_unless<T: serde::de::DeserializeOwned>(
    hub: &Hub,
    token: Option<&str>,
    path: &str,
    what: &str,
    absent: &[u16],
    mut each: impl FnMut(Vec<T>) -> Result<bool, String>,
) -> Result<bool, String> {
    let mut url = hub.endpoint().url(path);
    let mut fetched = std::collections::HashSet::new();
    loop {
        if !fetched.insert(url.clone()) {
            return Err(format!(
                "{what}: the next page's link points back at a page already read"
            ));
        }
        let resp = hub.get(&url, token).map_err(|e| format!("{what}: {e}"))?;
        if fetched.len() == 1 && absent.contains(&resp.status) {
            return Ok(false);
        }
        let items: Vec<T> = json_of(&resp).map_err(|e| format!("{what}: {e}"))?;
        if !each(items).map_err(|e| format!("{what}: {e}"))? {
            return Ok(true);
        }
        match resp.next.as_deref() {
            None => return Ok(true),
            Some(next) => match hub.endpoint().same_origin(next) {
                Some(n) => url = n,
                None => {
                    return Err(format!(
                        "{what}: the next page's link leaves {}; not followed",
                        hub.endpoint().base()
                    ));
                }
            },
        }
    }
}

/// A path percent-encoded for a URL, its `/` kept (as the Hub's links
/// and `resolve` URLs write it).
pub fn encode_path(text: &str) -> String {
    const PATH: &percent_encoding::AsciiSet = &UNRESERVED.remove(b'/');
    percent_encoding::utf8_percent_encode(text, PATH).to_string()
}

/// What a URL must percent-encode: everything but RFC 3986's unreserved
/// characters (`A–Z a–z 0–9 - . _ ~`), as huggingface_hub's `quote(…,
/// safe="")` does; an owner `acme-ml` stays `acme-ml`.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path segment or query value (an owner, an org) percent-encoded.
pub fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// `/api/{kind}s/NS/NAME`.
pub fn api_path(repo: &RepoRef) -> String {
    format!("/api/{}/{}", repo.kind.plural(), repo.id)
}

/// The repo's page: `{endpoint}[/datasets|/spaces]/NS/NAME`; also its git URL.
pub fn web_url(hub: &Hub, repo: &RepoRef) -> String {
    hub.endpoint()
        .url(&format!("{}/{}", repo.kind.url_prefix(), repo.id))
}

/// A 200 answer's JSON body, or what the Hub said instead, in words a
/// person can act on.
pub(crate) fn json_of<T: serde::de::DeserializeOwned>(resp: &HubResponse) -> Result<T, String> {
    if resp.status != 200 {
        return Err(refusal(resp.status, None, resp.error_message.as_deref()));
    }
    let text = resp.text()?;
    serde_json::from_str(text).map_err(|e| format!("unexpected answer from the Hub: {e}"))
}

/// Why the Hub refused, in words a person can act on: not found (or
/// private without access), gated, disabled, a bad token. `code` and
/// `said` are the `X-Error-Code` and `X-Error-Message` headers. The API
/// and git answers share it.
pub(super) fn refusal(status: u16, code: Option<&str>, said: Option<&str>) -> String {
    let said = said.unwrap_or("");
    match status {
        401 if said.contains("Invalid credentials") => {
            "the token was refused (HTTP 401 Invalid credentials)".to_string()
        }
        401 | 404 => format!(
            "{}: not found, or private and not visible with the credentials at hand \
             (set HF_TOKEN to a token that can read it)",
            status_text(status)
        ),
        403 if code == Some("GatedRepo") => format!(
            "{}: gated: the token must be of an account that accepted the repo's conditions",
            status_text(status)
        ),
        403 if said.contains("disabled") => {
            format!("{}: the repo is disabled", status_text(status))
        }
        403 => format!(
            "{}: gated or forbidden{}",
            status_text(status),
            if said.is_empty() {
                String::new()
            } else {
                format!(" ({said})")
            }
        ),
        s => match said {
            "" => status_text(s),
            _ => format!("{}: {said}", status_text(s)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(kind: RepoKind, id: &str) -> Target {
        Target::Repo(RepoRef {
            kind,
            id: id.to_string(),
        })
    }

    fn parse_target(text: &str) -> Result<Target, String> {
        super::parse_target(text, &Endpoint::parse("https://huggingface.co").unwrap())
    }

    #[test]
    fn unreserved_characters_are_never_encoded() {
        assert_eq!(encode("acme-ml_2.x~y"), "acme-ml_2.x~y");
        assert_eq!(encode("a b/c?"), "a%20b%2Fc%3F");
        assert_eq!(encode_path("data/train-0.parquet"), "data/train-0.parquet");
        assert_eq!(encode_path("a b#c"), "a%20b%23c");
    }

    #[test]
    fn urls_must_name_the_endpoint() {
        let local = Endpoint::parse("http://127.0.0.1:9").unwrap();
        assert!(super::parse_target("http://127.0.0.1:9/a/b", &local).is_ok());
        let e = super::parse_target("https://hub.corp/acme/m", &local).unwrap_err();
        assert!(e.contains("hub.corp"), "{e}");
        assert_eq!(
            parse_target("huggingface.co/acme/m"),
            Ok(repo(RepoKind::Model, "acme/m"))
        );
        assert!(parse_target("evil.example/acme/m").is_err());
    }

    #[test]
    fn targets_name_owners_repos_and_urls() {
        assert_eq!(parse_target("acme"), Ok(Target::Owner("acme".into())));
        assert_eq!(parse_target("acme/m"), Ok(repo(RepoKind::Model, "acme/m")));
        assert_eq!(
            parse_target("datasets/acme/corpus"),
            Ok(repo(RepoKind::Dataset, "acme/corpus"))
        );
        assert_eq!(
            parse_target("spaces/acme/demo"),
            Ok(repo(RepoKind::Space, "acme/demo"))
        );
        assert_eq!(
            parse_target("https://huggingface.co/spaces/acme/demo"),
            Ok(repo(RepoKind::Space, "acme/demo"))
        );
        assert_eq!(
            parse_target("https://huggingface.co/acme/m/blob/main/x.py?y=1"),
            Ok(repo(RepoKind::Model, "acme/m"))
        );
        assert_eq!(
            parse_target("https://huggingface.co/acme"),
            Ok(Target::Owner("acme".into()))
        );
        assert_eq!(
            parse_target("buckets/acme/logs"),
            Ok(repo(RepoKind::Bucket, "acme/logs"))
        );
        assert_eq!(
            parse_target("https://huggingface.co/buckets/acme/logs/tree/main/run%201"),
            Ok(repo(RepoKind::Bucket, "acme/logs"))
        );
        assert_eq!(
            parse_target("kernels/acme/flash-attn"),
            Ok(repo(RepoKind::Kernel, "acme/flash-attn"))
        );
        assert_eq!(
            parse_target("https://huggingface.co/kernels/acme/flash-attn/tree/main"),
            Ok(repo(RepoKind::Kernel, "acme/flash-attn"))
        );
        let local = Endpoint::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            super::parse_target("http://127.0.0.1:9/datasets/a/b.git", &local),
            Ok(repo(RepoKind::Dataset, "a/b"))
        );
    }

    #[test]
    fn bad_targets_are_refused_with_the_reason() {
        for bad in [
            "",
            "spaces/acme",
            "a b",
            "ftp://h/acme",
            "acme/../x",
            "../x/y",
        ] {
            let e = parse_target(bad).unwrap_err();
            assert!(e.contains("not a Hub owner"), "{bad}: {e}");
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert!(refusal(404, None, None).contains("set HF_TOKEN"));
        assert!(
            refusal(403, None, Some("Access to this resource is disabled.")).contains("disabled")
        );
        assert!(refusal(403, None, None).contains("gated"));
        assert!(
            refusal(
                401,
                None,
                Some("Invalid credentials in Authorization header")
            )
            .contains("token was refused")
        );
    }
}
