//! Storage Buckets: the Hub's S3-like, Xet-backed repos of files (no git).
//! An owner's buckets come from `GET /api/buckets/NS` (every page, through
//! [`super::list_owner`]); one bucket's files from its recursive tree,
//! `GET /api/buckets/NS/NAME/tree?recursive=true`, read a page at a time
//! and handed on as each page arrives (buckets of millions of files
//! exist); a file's content from `/buckets/NS/NAME/resolve/PATH`.

use serde::Deserialize;

use super::{encode_path, pages};
use crate::http::Hub;

/// One file of a bucket, as its tree lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFile {
    pub path: String,
    pub size: u64,
    /// The content hash: the same hash means the same bytes.
    pub xet_hash: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(rename = "xetHash", default)]
    xet_hash: Option<String>,
}

/// Every file of bucket `id`, a tree page at a time, in the tree's order;
/// `each` says whether to go on (`Err`: the listing fails with that).
pub fn files(
    hub: &Hub,
    token: Option<&str>,
    id: &str,
    mut each: impl FnMut(Vec<BucketFile>) -> Result<bool, String>,
) -> Result<(), String> {
    let what = "the file tree";
    let path = format!("/api/buckets/{id}/tree?recursive=true");
    pages(hub, token, &path, what, |entries: Vec<Entry>| {
        let files = entries
            .into_iter()
            .filter(|e| e.kind == "file" && !e.path.is_empty())
            .map(|e| BucketFile {
                path: e.path,
                size: e.size,
                xet_hash: e.xet_hash,
            })
            .collect();
        each(files)
    })
}

/// A file's content: `{endpoint}/buckets/NS/NAME/resolve/PATH`. Also the
/// link a finding carries (a bucket has no per-file page the Hub
/// documents).
pub fn resolve_url(hub: &Hub, id: &str, path: &str) -> String {
    hub.endpoint()
        .url(&format!("/buckets/{id}/resolve/{}", encode_path(path)))
}
