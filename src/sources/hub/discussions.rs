//! A Hub repo's discussions and pull requests as text to scan: every page
//! of the list (50 a page), and each one's events: the title, every
//! comment's latest text **and each earlier revision of an edited comment**
//! (`data.history`: a token pasted and edited away is still readable
//! there), title changes (`from` and `to`) and commit subjects. Parsing is
//! lenient: the shape of `data.history` items is not documented, so any
//! `raw` string inside one is taken.

use serde::Deserialize;
use serde_json::Value;

pub use super::pool::Pool;
use super::{api_path, json_of};
use crate::finding::RepoRef;
use crate::http::Hub;

/// One discussion or pull request, as listed.
#[derive(Debug, Clone)]
pub struct Summary {
    pub num: u64,
    pub is_pull_request: bool,
}

/// Discussions a page holds.
const PAGE: u64 = 50;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    discussions: Vec<ListItem>,
    #[serde(default)]
    count: u64,
}

#[derive(Deserialize)]
struct ListItem {
    num: u64,
    #[serde(rename = "isPullRequest", default)]
    is_pull_request: bool,
}

/// Every discussion and pull request of `repo`, all pages: the first one
/// tells how many there are, the others are read through `pool` a batch
/// at a time.
pub fn list(
    hub: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    pool: &Pool,
) -> Result<Vec<Summary>, String> {
    let base = hub
        .endpoint()
        .url(&format!("{}/discussions", api_path(repo)));
    let fetch = |p: &u64| -> Result<Page, String> {
        let resp = hub.get(&format!("{base}?p={p}"), token)?;
        json_of(&resp)
    };
    let mut out: Vec<Summary> = Vec::new();
    let mut nums = std::collections::HashSet::new();
    // Whether a page added a discussion not seen before.
    let mut add = |page: Page| {
        let before = out.len();
        for d in page.discussions {
            if nums.insert(d.num) {
                out.push(Summary {
                    num: d.num,
                    is_pull_request: d.is_pull_request,
                });
            }
        }
        out.len() > before
    };
    let first = pool.map(&[0u64], fetch).remove(0)?;
    let pages = first.count.div_ceil(PAGE).max(1);
    let mut more = add(first);
    let mut next = 1;
    // Pages of 50 until `count`; a page that adds nothing new ends it
    // whatever the count says, and pages are asked for a pool's worth at a
    // time, so a wrong count costs at most one batch.
    while more && next < pages {
        let batch: Vec<u64> = (next..pages.min(next + pool.size as u64)).collect();
        for page in pool.map(&batch, fetch) {
            more = add(page?);
            if !more {
                break;
            }
        }
        next += batch.len() as u64;
    }
    out.sort_by_key(|d| d.num);
    Ok(out)
}

/// A piece of a discussion's text, and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The event holding it; `""` for the current title.
    pub event_id: String,
    pub author: String,
    pub date: String,
    /// `latest`, or the 0-based index of an earlier revision.
    pub revision: String,
    pub text: String,
}

/// A discussion's detail: whether it is a pull request, and its texts.
#[derive(Debug, Clone)]
pub struct Discussion {
    pub num: u64,
    pub is_pull_request: bool,
    pub texts: Vec<Text>,
}

/// The detail of each discussion in `nums`, in that order, read through
/// `pool`: as many at a time as the pool has room for.
pub fn details(
    hub: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    nums: &[u64],
    pool: &Pool,
) -> Vec<Result<Discussion, String>> {
    pool.map(nums, |&num| detail(hub, token, repo, num))
}

/// `GET …/discussions/NUM`, read into its texts.
pub fn detail(
    hub: &Hub,
    token: Option<&str>,
    repo: &RepoRef,
    num: u64,
) -> Result<Discussion, String> {
    let url = hub
        .endpoint()
        .url(&format!("{}/discussions/{num}", api_path(repo)));
    let resp = hub.get(&url, token)?;
    let value: Value = json_of(&resp)?;
    Ok(read_detail(num, &value))
}

/// The texts of a discussion's JSON, latest revisions first.
pub fn read_detail(num: u64, v: &Value) -> Discussion {
    let s = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let author_of = |v: &Value| {
        v.get("author")
            .map(|a| match a {
                Value::String(name) => name.clone(),
                other => s(other, "name"),
            })
            .unwrap_or_default()
    };
    let mut texts = Vec::new();
    let mut earlier = Vec::new();
    let title = s(v, "title");
    if !title.is_empty() {
        texts.push(Text {
            event_id: String::new(),
            author: author_of(v),
            date: s(v, "createdAt"),
            revision: "latest".into(),
            text: title,
        });
    }
    let events = v.get("events").and_then(Value::as_array);
    for event in events.into_iter().flatten() {
        let id = s(event, "id");
        let author = author_of(event);
        let date = s(event, "createdAt");
        let data = event.get("data").unwrap_or(&Value::Null);
        let push = |revision: String, text: String, list: &mut Vec<Text>| {
            if !text.is_empty() {
                list.push(Text {
                    event_id: id.clone(),
                    author: author.clone(),
                    date: date.clone(),
                    revision,
                    text,
                });
            }
        };
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "comment" => {
                let latest = data.get("latest").unwrap_or(&Value::Null);
                push("latest".into(), s(latest, "raw"), &mut texts);
                let history = data.get("history").and_then(Value::as_array);
                for (i, item) in history.into_iter().flatten().enumerate() {
                    let mut raws = Vec::new();
                    collect_raw(item, &mut raws);
                    for raw in raws {
                        push(i.to_string(), raw, &mut earlier);
                    }
                }
            }
            "title-change" => {
                push("latest".into(), s(data, "from"), &mut texts);
                push("latest".into(), s(data, "to"), &mut texts);
            }
            "commit" => push("latest".into(), s(data, "subject"), &mut texts),
            _ => {}
        }
    }
    texts.extend(earlier);
    Discussion {
        num,
        is_pull_request: v
            .get("isPullRequest")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        texts,
    }
}

/// Every string under a `raw` key (or the item itself, if a string).
fn collect_raw(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Object(map) => {
            for (k, x) in map {
                match x {
                    Value::String(s) if k == "raw" => out.push(s.clone()),
                    Value::Object(_) | Value::Array(_) => collect_raw(x, out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_raw(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_text_of_a_discussion_is_read_with_its_place() {
        let d = read_detail(
            7,
            &json!({
                "title": "Help", "isPullRequest": true, "author": {"name": "ann"},
                "createdAt": "2026-01-01T00:00:00Z",
                "events": [
                    {"id": "e1", "type": "comment", "author": {"name": "bob"},
                     "createdAt": "2026-01-02T00:00:00Z",
                     "data": {"edited": true, "latest": {"raw": "now clean"},
                              "history": [{"raw": "first", "updatedAt": "x"},
                                          {"latest": {"raw": "second"}}]}},
                    {"id": "e2", "type": "title-change", "data": {"from": "old", "to": "Help"}},
                    {"id": "e3", "type": "commit", "data": {"subject": "Add x", "oid": "abc"}},
                    {"id": "e4", "type": "status-change", "data": {"status": "closed"}}
                ]
            }),
        );
        assert!(d.is_pull_request);
        let got: Vec<(&str, &str, &str)> = d
            .texts
            .iter()
            .map(|t| (t.event_id.as_str(), t.revision.as_str(), t.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "latest", "Help"),
                ("e1", "latest", "now clean"),
                ("e2", "latest", "old"),
                ("e2", "latest", "Help"),
                ("e3", "latest", "Add x"),
                ("e1", "0", "first"),
                ("e1", "1", "second"),
            ]
        );
        assert_eq!(d.texts[1].author, "bob");
    }

    #[test]
    fn odd_shapes_are_read_leniently() {
        let d = read_detail(
            1,
            &json!({"events": [{"type": "comment"}, 3, {"data": null}]}),
        );
        assert!(d.texts.is_empty());
    }
}
