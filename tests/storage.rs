//! What a Hub owner stores outside git, against the mock Hub
//! (tests/mockhub.py): Storage Buckets (listing and tree pagination,
//! private buckets, unicode paths, a 404 bucket, the byte budget, the
//! state) and LFS contents of git repos (a zip, a token only in an old
//! version, weights never downloaded), each download redirected to a
//! second loopback host that must never see `Authorization`, and a
//! download cut off halfway and tried again. Every token is synthetic
//! (seeded).

mod common;

use std::path::Path;

use common::estate::{access_token, hub_json, of, one, run_in, sha256};
use common::hub_server::{HubServer, RepoBuilder};
use common::{fake_token, zip_of};
use serde_json::{Value, json};

/// An LFS pointer for `content`, whose bytes go into the mock's store.
fn lfs(store: &Path, content: &[u8]) -> String {
    let oid = sha256_bytes(content);
    std::fs::create_dir_all(store).unwrap();
    std::fs::write(store.join(&oid), content).unwrap();
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
        content.len()
    )
}

fn sha256_bytes(b: &[u8]) -> String {
    hfleaks::finding::sha256_hex(b)
}

/// A safetensors-looking file: an 8-byte header length, then JSON, then
/// `n` bytes of "weights" that happen to hold `token`.
fn weights(token: &str, n: usize) -> Vec<u8> {
    let header = br#"{"__metadata__":{"format":"pt"}}"#;
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header);
    let pad = format!("HF_TOKEN={token}\n");
    while v.len() < n {
        v.extend_from_slice(pad.as_bytes());
    }
    v
}

/// Content-host requests of the log.
fn content_requests(server: &HubServer) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| r["server"] == "content")
        .collect()
}

/// No request to the content host carried `Authorization`.
fn assert_no_token_left_the_endpoint(server: &HubServer) {
    let content = content_requests(server);
    assert!(!content.is_empty(), "no download reached the content host");
    for r in &content {
        assert!(r["authorization"].is_null(), "{r}");
        assert_ne!(r["leaked_authorization"], true, "{r}");
    }
}

/// Bytes the content host sent for paths naming one of `hashes`.
fn bytes_sent_for(server: &HubServer, hashes: &[String]) -> u64 {
    content_requests(server)
        .iter()
        .filter(|r| {
            hashes
                .iter()
                .any(|h| r["path"].as_str().unwrap().contains(h.as_str()))
        })
        .map(|r| r["bytes"].as_u64().unwrap_or(0))
        .sum()
}

struct Buckets {
    server: HubServer,
    /// In `acme/logs`, at `logs/run 1/ünï café.txt` (page 2 of the tree).
    unicode: String,
    /// In `acme/logs`, inside `bundle.zip` as `inner/.env`.
    zipped: String,
    /// In `acme/logs`, in a `.safetensors` file: never downloaded.
    in_weights: String,
    /// In the private bucket `acme/private-runs`.
    private: String,
    /// The xetHash of the weights file.
    weights_hash: String,
}

/// Owner acme with two buckets (one private); listing pages of 1, tree
/// pages of 2.
fn buckets(root: &Path, faults: Value) -> Buckets {
    let unicode = fake_token(4101);
    let zipped = fake_token(4102);
    let in_weights = fake_token(4103);
    let private = fake_token(4104);
    let zip = zip_of(&[("inner/.env", format!("HF_TOKEN={zipped}\n").as_bytes())]);
    let w = weights(&in_weights, 4096);
    let weights_hash = sha256_bytes(&w);
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let config = json!({
        "token": access_token(),
        "page_size": 1,
        "tree_page_size": 2,
        "buckets": [
            {"id": "acme/logs", "files": [
                {"path": "README.md", "content": "training logs\n"},
                {"path": "a/config.yaml", "content": "lr: 0.1\n"},
                {"path": "bundle.zip", "content_b64": b64(&zip)},
                {"path": "logs/run 1/ünï café.txt", "content": format!("env: HF_TOKEN={unicode}\n")},
                {"path": "model.safetensors", "content_b64": b64(&w)},
            ]},
            {"id": "acme/private-runs", "private": true, "files": [
                {"path": "env.txt", "content": format!("token={private}\n")},
            ]},
        ],
        "faults": faults,
    });
    Buckets {
        server: HubServer::start(root, config),
        unicode,
        zipped,
        in_weights,
        private,
        weights_hash,
    }
}

#[test]
fn every_bucket_file_on_every_page_is_read_and_weights_never_downloaded() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let (code, v, stderr) = hub_json(&b.server, &["acme", "--include", "buckets"], &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = one(&v, &b.unicode);
    assert_eq!(f["repo"], json!({"type": "bucket", "id": "acme/logs"}));
    assert_eq!(f["path"], "logs/run 1/ünï café.txt");
    assert_eq!(
        f["url"],
        format!(
            "{}/buckets/acme/logs/resolve/logs/run%201/%C3%BCn%C3%AF%20caf%C3%A9.txt",
            b.server.endpoint()
        )
    );
    assert_eq!(one(&v, &b.zipped)["path"], "bundle.zip!inner/.env");
    assert!(of(&v, &b.in_weights).is_empty());
    // Without a token the private bucket is not listed.
    assert!(of(&v, &b.private).is_empty());
    assert_eq!(
        bytes_sent_for(&b.server, std::slice::from_ref(&b.weights_hash)),
        0
    );
    let repos = v["scan"]["repos"].as_array().unwrap();
    assert_eq!(repos.len(), 1, "{repos:?}");
    assert_eq!(repos[0]["type"], "bucket");
    assert_eq!(repos[0]["content"]["files"], 4);
    assert_eq!(repos[0]["content"]["weights"], 1);
    assert!(repos[0]["content"]["downloaded"].as_u64().unwrap() > 0);
    assert_eq!(v["scan"]["content"]["weights"], 1);
    assert!(
        stderr.contains("weights or media never downloaded"),
        "{stderr}"
    );
    assert_no_token_left_the_endpoint(&b.server);
    // The tree was read page by page, and the listing too.
    let tree_pages = b
        .server
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .contains("/api/buckets/acme/logs/tree")
        })
        .count();
    assert!(tree_pages >= 3, "{tree_pages}");
}

#[test]
fn a_private_bucket_is_read_with_hf_token_and_the_token_stays_on_the_endpoint() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let token = access_token();
    let (_, v, stderr) = hub_json(
        &b.server,
        &["acme", "--include", "buckets"],
        &[("HF_TOKEN", &token)],
    );
    let f = one(&v, &b.private);
    assert_eq!(
        f["repo"],
        json!({"type": "bucket", "id": "acme/private-runs"}),
        "{stderr}"
    );
    // The resolve requests carried it; the content host never did.
    let resolves: Vec<Value> = b
        .server
        .requests()
        .into_iter()
        .filter(|r| r["server"] != "content" && r["path"].as_str().unwrap().contains("/resolve/"))
        .collect();
    assert!(!resolves.is_empty());
    for r in &resolves {
        assert_eq!(r["authorization"], format!("Bearer {token}"), "{r}");
    }
    assert_no_token_left_the_endpoint(&b.server);
    assert!(!stderr.contains(&token));
}

#[test]
fn a_missing_bucket_is_an_error_naming_it_and_the_run_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let (code, v, stderr) = hub_json(&b.server, &["buckets/acme/nope", "buckets/acme/logs"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!of(&v, &b.unicode).is_empty());
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "buckets/acme/nope")
        .unwrap_or_else(|| panic!("{}", v["errors"]));
    assert!(e["message"].as_str().unwrap().contains("404"), "{e}");
    assert!(stderr.contains("buckets/acme/nope"), "{stderr}");
}

#[test]
fn a_download_cut_off_halfway_is_tried_again() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(
        root.path(),
        json!({"content_cut": {"logs/run 1/ünï café.txt": 1}}),
    );
    let (_, v, stderr) = hub_json(&b.server, &["buckets/acme/logs"], &[]);
    assert_eq!(
        one(&v, &b.unicode)["path"],
        "logs/run 1/ünï café.txt",
        "{stderr}"
    );
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
    let hash = sha256_bytes(format!("env: HF_TOKEN={}\n", b.unicode).as_bytes());
    let tries = content_requests(&b.server)
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains(&hash))
        .count();
    assert_eq!(tries, 2, "one cut off, one whole");
}

#[test]
fn the_bucket_byte_budget_stops_a_bucket_with_a_note() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let (_, v, stderr) = hub_json(
        &b.server,
        &["buckets/acme/logs", "--max-bucket-bytes", "40"],
        &[],
    );
    assert!(stderr.contains("--max-bucket-bytes"), "{stderr}");
    assert!(of(&v, &b.unicode).is_empty());
    let c = &v["scan"]["repos"][0]["content"];
    assert!(c["over_budget"].as_u64().unwrap() >= 1, "{c}");
    assert!(c["downloaded"].as_u64().unwrap() <= 40, "{c}");
}

#[test]
fn with_a_state_unchanged_bucket_files_are_not_downloaded_again() {
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let state = root.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let (_, first, _) = hub_json(&b.server, &["buckets/acme/logs", "--state", state_arg], &[]);
    assert_eq!(one(&first, &b.unicode)["new"], true);
    let before = content_requests(&b.server).len();
    let (_, second, stderr) =
        hub_json(&b.server, &["buckets/acme/logs", "--state", state_arg], &[]);
    assert_eq!(content_requests(&b.server).len(), before, "{stderr}");
    assert_eq!(one(&second, &b.unicode)["new"], false);
    assert_eq!(one(&second, &b.zipped)["new"], false);
    assert_eq!(second["scan"]["repos"][0]["content"]["unchanged"], 4);
}

/// A dataset whose LFS files hold tokens: a zip, a JSONL edited so only an
/// old version holds one, weights, and a file over the size bound.
struct LfsRepo {
    server: HubServer,
    zipped: String,
    old_only: String,
    at_head: String,
    in_weights: String,
    big: String,
    weights_oids: Vec<String>,
    removing_commit: String,
}

fn lfs_repo(root: &Path, faults: Value) -> LfsRepo {
    let store = root.join("lfs");
    let zipped = fake_token(4201);
    let old_only = fake_token(4202);
    let at_head = fake_token(4203);
    let in_weights = fake_token(4204);
    let big = fake_token(4205);
    let zip = zip_of(&[("inner/.env", format!("HF_TOKEN={zipped}\n").as_bytes())]);
    let old = format!("{{\"text\": \"login with {old_only}\"}}\n");
    let new = format!("{{\"text\": \"fine\"}}\n{{\"text\": \"{at_head}\"}}\n");
    let w = weights(&in_weights, 200_000);
    // Weights by their magic only: a name that says nothing.
    let w2 = weights(&in_weights, 150_000);
    let mut large = format!("HF_TOKEN={big}\n").into_bytes();
    large.resize(300_000, b'\n');
    let weights_oids = vec![sha256_bytes(&w), sha256_bytes(&w2)];
    let repo = RepoBuilder::new(root, "dataset", "acme/lfs-data");
    repo.commit(
        &[
            ("data/assets.zip", &lfs(&store, &zip)),
            ("data/train.jsonl", &lfs(&store, old.as_bytes())),
            ("model.safetensors", &lfs(&store, &w)),
            ("blob.dat", &lfs(&store, &w2)),
            ("big.txt", &lfs(&store, &large)),
            ("README.md", "# data\n"),
        ],
        "add data",
    );
    let removing_commit = repo.commit(
        &[("data/train.jsonl", &lfs(&store, new.as_bytes()))],
        "clean the training data",
    );
    repo.publish();
    let config = json!({
        "lfs_store": store,
        "repos": [{"type": "dataset", "id": "acme/lfs-data"}],
        "faults": faults,
    });
    LfsRepo {
        server: HubServer::start(root, config),
        zipped,
        old_only,
        at_head,
        in_weights,
        big,
        weights_oids,
        removing_commit,
    }
}

#[test]
fn lfs_contents_are_scanned_and_attributed_like_blobs() {
    let root = tempfile::tempdir().unwrap();
    let r = lfs_repo(root.path(), json!({}));
    let (code, v, stderr) = hub_json(
        &r.server,
        &["datasets/acme/lfs-data", "--max-lfs-size", "250000"],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let z = one(&v, &r.zipped);
    assert_eq!(z["path"], "data/assets.zip!inner/.env");
    assert_eq!(z["at_head"], true);
    assert_eq!(z["commit"]["summary"], "add data");
    assert!(z["lfs"]["oid"].as_str().unwrap().len() == 64, "{z}");
    assert!(z["lfs"]["size"].as_u64().unwrap() > 0);
    let commit = z["commit"]["id"].as_str().unwrap();
    assert_eq!(
        z["url"],
        format!(
            "{}/datasets/acme/lfs-data/blob/{commit}/data/assets.zip",
            r.server.endpoint()
        )
    );
    // Only in the old version of the file: found, removed by the edit.
    let old = one(&v, &r.old_only);
    assert_eq!(old["path"], "data/train.jsonl");
    assert_eq!(old["at_head"], false);
    assert_eq!(old["removed_in"]["id"], r.removing_commit);
    assert_eq!(one(&v, &r.at_head)["at_head"], true);
    // Weights, by name and by magic, never downloaded; the big file left out.
    assert!(of(&v, &r.in_weights).is_empty());
    assert!(of(&v, &r.big).is_empty());
    let probe: u64 = bytes_sent_for(&r.server, &r.weights_oids);
    assert!(probe <= 64 * 1024, "weights bytes sent: {probe}");
    for req in content_requests(&r.server) {
        if req["path"].as_str().unwrap().contains(&r.weights_oids[0]) {
            panic!("the .safetensors file was requested: {req}");
        }
    }
    let c = &v["scan"]["repos"][0]["content"];
    assert_eq!(c["weights"], 2, "{c}");
    assert_eq!(c["too_large"], 1, "{c}");
    assert_eq!(c["files"], 3, "{c}");
    assert_no_token_left_the_endpoint(&r.server);
    // Nothing downloaded is left behind in the temporary directory.
    let tmp = std::env::temp_dir();
    let leftovers = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("hfleaks-"))
        .filter(|e| walk_holds(&e.path(), r.at_head.as_bytes()))
        .count();
    assert_eq!(leftovers, 0);
}

/// Whether any file under `dir` holds `needle`.
fn walk_holds(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return std::fs::read(dir).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle));
    };
    entries.flatten().any(|e| walk_holds(&e.path(), needle))
}

#[test]
fn no_lfs_downloads_nothing() {
    let root = tempfile::tempdir().unwrap();
    let r = lfs_repo(root.path(), json!({}));
    let (_, v, _) = hub_json(&r.server, &["datasets/acme/lfs-data", "--no-lfs"], &[]);
    assert!(of(&v, &r.zipped).is_empty());
    assert!(content_requests(&r.server).is_empty());
    assert!(
        !r.server
            .requests()
            .iter()
            .any(|q| q["path"].as_str().unwrap().contains("/resolve/"))
    );
}

#[test]
fn lfs_contents_of_hub_urls_in_a_repos_list_are_scanned() {
    let root = tempfile::tempdir().unwrap();
    let r = lfs_repo(root.path(), json!({"content_cut": {}}));
    let list = root.path().join("repos.txt");
    std::fs::write(
        &list,
        format!("{}/datasets/acme/lfs-data\n", r.server.endpoint()),
    )
    .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, stderr) = run_in(
        &r.server,
        cwd.path(),
        &[
            "repos",
            list.to_str().unwrap(),
            "--format",
            "json",
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = one(&v, &r.old_only);
    assert_eq!(f["at_head"], false);
    assert_eq!(f["lfs"]["oid"].as_str().map(str::len), Some(64));
    assert_eq!(f["secret_sha256"], sha256(&r.old_only));
}

#[test]
fn with_a_state_only_new_lfs_versions_are_downloaded() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("lfs");
    let first = fake_token(4301);
    let second = fake_token(4302);
    let repo = RepoBuilder::new(root.path(), "model", "acme/lfs-m");
    repo.commit(
        &[("train.csv", &lfs(&store, format!("a,{first}\n").as_bytes()))],
        "add data",
    );
    repo.publish();
    let config = json!({"lfs_store": store, "repos": [{"type": "model", "id": "acme/lfs-m"}]});
    let server = HubServer::start(root.path(), config);
    let state = root.path().join("state.json");
    let args = ["acme/lfs-m", "--state", state.to_str().unwrap()];
    let (_, v, _) = hub_json(&server, &args, &[]);
    assert_eq!(one(&v, &first)["new"], true);
    let before = content_requests(&server).len();
    repo.commit(
        &[(
            "train.csv",
            &lfs(&store, format!("b,{second}\n").as_bytes()),
        )],
        "replace data",
    );
    repo.publish();
    let (_, v, stderr) = hub_json(&server, &args, &[]);
    assert_eq!(content_requests(&server).len(), before + 1, "{stderr}");
    assert_eq!(one(&v, &second)["new"], true);
    assert_eq!(one(&v, &second)["at_head"], true);
    let old = one(&v, &first);
    assert_eq!(old["new"], false);
    assert_eq!(old["at_head"], false);
    assert_eq!(old["removed_in"]["summary"], "replace data");
}

#[test]
fn the_fix_for_a_token_in_lfs_content_deletes_the_object_and_for_a_bucket_the_file() {
    let root = tempfile::tempdir().unwrap();
    let r = lfs_repo(root.path(), json!({}));
    let (_, out, _) = common::estate::hub_run(&r.server, &["datasets/acme/lfs-data"], &[]);
    assert!(
        out.contains("permanently_delete_lfs_files('acme/lfs-data'"),
        "{out}"
    );
    assert!(out.contains("repo_type='dataset'"), "{out}");
    let root = tempfile::tempdir().unwrap();
    let b = buckets(root.path(), json!({}));
    let (_, out, _) = common::estate::hub_run(&b.server, &["buckets/acme/logs"], &[]);
    assert!(out.contains("Storage Bucket"), "{out}");
    assert!(!out.contains("filter-repo"), "{out}");
}
