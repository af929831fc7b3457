//! Helpers shared by the integration tests: fake tokens from a seeded RNG,
//! temporary trees, and running the built binary.

#![allow(dead_code)]

pub mod alert_sink;
pub mod cdp;
pub mod estate;
pub mod hook;
pub mod hub_server;
pub mod mock_hub;
pub mod serve;
pub mod yaml;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A synthetic, canonical-looking user token (`hf_` + 34 mixed-case
/// letters) derived from `seed`. Never a real token: generated here.
pub fn fake_token(seed: u64) -> String {
    format!("hf_{}", fake_body(seed))
}

/// A synthetic organization token.
pub fn fake_org_token(seed: u64) -> String {
    format!("api_org_{}", fake_body(seed))
}

/// 34 random letters, mixed case, passing the placeholder checks.
pub fn fake_body(seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    loop {
        let s: String = (0..34).map(|_| rng.alphabetic()).collect();
        let mixed =
            s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase());
        if mixed && !hfleaks::engine::is_placeholder(s.as_bytes()) {
            return s;
        }
    }
}

/// A temporary directory with files written from `(relative path, content)`.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        write(dir.path(), path, content.as_bytes());
    }
    dir
}

pub fn write(root: &Path, rel: &str, content: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

/// The `hfleaks` binary, run in `cwd`, with no colour and no environment
/// that could reach the network.
pub fn hfleaks(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("hfleaks").unwrap();
    cmd.current_dir(cwd)
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `hfleaks` with `args` in `cwd` and returns (exit code, stdout, stderr).
pub fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = hfleaks(cwd).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a JSON scan and returns (exit code, parsed report).
pub fn run_json(cwd: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, stdout, stderr) = run(cwd, &all);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v)
}

/// The `path` of every finding, in report order.
pub fn paths(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the git CLI in `cwd` with a fixed identity and dates; returns the
/// whole output (for commands expected to fail).
pub fn git_out(cwd: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .output()
        .unwrap()
}

/// Runs the git CLI in `cwd`, asserting success; returns trimmed stdout.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    let out = git_out(cwd, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Errors of `sarif` against the official SARIF 2.1.0 schema.
pub fn sarif_schema_errors(sarif: &Value) -> Vec<String> {
    let schema_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    // The official schema's `language` patterns have a stray `]` that strict
    // regex engines reject; use the pattern they mean (ll or ll-CC).
    let schema_text = schema_text.replace(
        r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        r"^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    let schema: Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The files of `.git/objects/pack` in the repository at `dir` whose
/// extension is `ext` (`pack`, `idx`).
pub fn pack_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

/// Overwrites a file git made read-only (an object, a pack, an index).
pub fn clobber(path: &Path, bytes: &[u8]) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A zip archive (deflated) of `(name, content)` members.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// `data` gzip-compressed (best compression).
pub fn gzip_of(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tar archive of `(name, content)` members.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}
