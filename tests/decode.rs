//! Tokens hidden by encodings (base64, percent, `\u`, hex, UTF-16) and in
//! archives (zip and its family, tar, gzip, tar.gz), found through the
//! built binary within their bounds; and the precision checks on
//! `hf_`-prefixed identifiers and encoded blobs.

mod common;
/// Chains of encodings, at every depth (tests/decode/nested.rs).
#[path = "decode/nested.rs"]
mod nested;

use base64::Engine as _;
use common::*;
use serde_json::Value;

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn findings(r: &Value) -> &Vec<Value> {
    r["findings"].as_array().unwrap()
}

fn sha(t: &str) -> String {
    hfleaks::finding::sha256_hex(t.as_bytes())
}

/// (path, line, column, encoding) of each finding.
fn places(r: &Value) -> Vec<(String, u64, u64, Option<String>)> {
    findings(r)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["encoding"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn scan(dir: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["scan", "--no-progress"];
    args.extend(extra);
    run_json(dir, &args)
}

#[test]
fn a_kubernetes_secret_value_in_base64_is_found_at_the_encoded_run() {
    let t = fake_token(1);
    let value = b64(t.as_bytes());
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hub\ndata:\n  HF_TOKEN: {value}\n"
    );
    let dir = tree(&[("k8s/secret.yaml", &yaml)]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&r),
        [("k8s/secret.yaml".into(), 6, 13, Some("base64".into()))]
    );
    let f = &findings(&r)[0];
    assert_eq!(f["end_line"], 6);
    assert_eq!(f["end_column"].as_u64(), Some(13 + value.len() as u64));
    assert_eq!(f["secret_sha256"], sha(&t));
    assert_eq!(f["rule_id"], "hf-user-access-token");
}

#[test]
fn each_encoding_is_found_with_its_name() {
    let t = fake_token(2);
    let url_safe =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"t\":\"{t}\"}}"));
    let docker = b64(format!("user:{t}").as_bytes());
    let percent = t.replace('_', "%5F");
    let full: String = t.bytes().map(|b| format!("%{b:02x}")).collect();
    let unicode = t.replace('_', "\\u005f");
    let hexed: String = t.bytes().map(|b| format!("{b:02X}")).collect();
    let cases = [
        ("jwt.txt", format!("claims = {url_safe}\n"), "base64"),
        (
            "config.json",
            format!("{{\"auths\": {{\"hf.co\": {{\"auth\": \"{docker}\"}}}}}}\n"),
            "base64",
        ),
        (
            "callback.txt",
            format!("https://app/cb?token={percent}&x=1\n"),
            "percent",
        ),
        ("full.txt", format!("q={full}\n"), "percent"),
        (
            "data.json",
            format!("{{\"token\": \"{unicode}\"}}\n"),
            "unicode-escape",
        ),
        ("dump.hex", format!("{hexed}\n"), "hex"),
    ];
    for (name, text, encoding) in cases {
        let dir = tree(&[(name, &format!("line one\n{text}"))]);
        let (code, r) = scan(dir.path(), &[]);
        assert_eq!(code, 1, "{name}: {r}");
        let f = &findings(&r)[0];
        assert_eq!(findings(&r).len(), 1, "{name}: {r}");
        assert_eq!(f["line"], 2, "{name}");
        assert_eq!(f["encoding"], encoding, "{name}");
        assert_eq!(f["secret_sha256"], sha(&t), "{name}");
        // Without decoding, nothing.
        let (code, r) = scan(dir.path(), &["--no-decode"]);
        assert_eq!((code, findings(&r).len()), (0, 0), "{name}");
    }
}

#[test]
fn the_same_token_plain_and_encoded_has_one_secret_sha256() {
    let t = fake_token(3);
    let text = format!("HF_TOKEN={t}\nencoded: {}\n", b64(t.as_bytes()));
    let dir = tree(&[(".env", &text)]);
    let (_, r) = scan(dir.path(), &[]);
    let shas: Vec<&str> = findings(&r)
        .iter()
        .map(|f| f["secret_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(shas, [sha(&t), sha(&t)]);
    let encodings: Vec<&Value> = findings(&r).iter().map(|f| &f["encoding"]).collect();
    assert_eq!(encodings, [&Value::Null, &Value::from("base64")]);
}

#[test]
fn nested_encodings_are_followed_up_to_the_depth() {
    let t = fake_token(4);
    let url = format!("https://hub.example/login?token={}", t.replace('_', "%5F"));
    let dir = tree(&[("env.txt", &format!("CALLBACK={}\n", b64(url.as_bytes())))]);
    let (_, r) = scan(dir.path(), &[]);
    assert_eq!(
        places(&r),
        [("env.txt".into(), 1, 10, Some("base64>percent".into()))]
    );
    let (_, r) = scan(dir.path(), &["--max-decode-depth", "1"]);
    assert!(findings(&r).is_empty(), "{r}");
}

#[test]
fn random_base64_decoding_to_hf_and_garbage_is_not_a_token() {
    // Bytes that decode to `hf_` followed by random binary: the rules'
    // shape and entropy checks reject it.
    let mut rng = fastrand::Rng::with_seed(9);
    let mut text = String::new();
    for _ in 0..200 {
        let mut raw = b"hf_".to_vec();
        raw.extend((0..40).map(|_| rng.u8(..)));
        text.push_str(&b64(&raw));
        text.push('\n');
    }
    let dir = tree(&[("blob.txt", &text)]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!((code, findings(&r).len()), (0, 0), "{r}");
}

#[test]
fn utf16_files_are_scanned_with_their_line_numbers() {
    let t = fake_token(5);
    let text = format!("[settings]\r\nname = demo\r\ntoken = {t}\r\n");
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let dir = tree(&[]);
    write(
        dir.path(),
        "a-le-bom.ini",
        &[&[0xFF, 0xFE][..], &le].concat(),
    );
    write(
        dir.path(),
        "b-be-bom.ini",
        &[&[0xFE, 0xFF][..], &be].concat(),
    );
    write(dir.path(), "c-le.ini", &le);
    write(dir.path(), "d-be.ini", &be);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&r),
        [
            ("a-le-bom.ini".into(), 3, 9, Some("utf-16le".into())),
            ("b-be-bom.ini".into(), 3, 9, Some("utf-16be".into())),
            ("c-le.ini".into(), 3, 9, Some("utf-16le".into())),
            ("d-be.ini".into(), 3, 9, Some("utf-16be".into())),
        ]
    );
    assert!(findings(&r).iter().all(|f| f["secret_sha256"] == sha(&t)));
}

#[test]
fn archive_members_are_scanned_and_named_after_the_archive() {
    let t = fake_token(6);
    let env = format!("# settings\nHF_TOKEN={t}\n");
    let env = env.as_bytes();
    let dir = tree(&[]);
    write(
        dir.path(),
        "dist/pkg-1.0-py3-none-any.whl",
        &zip_of(&[("pkg/.env", env), ("pkg/a.py", b"x = 1\n")]),
    );
    write(dir.path(), "backup.tar", &tar_of(&[("etc/app.env", env)]));
    write(
        dir.path(),
        "logs.tgz",
        &gzip_of(&tar_of(&[("ci.log", env)])),
    );
    write(dir.path(), "notes.env.gz", &gzip_of(env));
    write(
        dir.path(),
        "clean.zip",
        &zip_of(&[("a.txt", b"nothing here\n")]),
    );
    let nested = zip_of(&[("deep/c.env", env)]);
    write(
        dir.path(),
        "a.tar.gz",
        &gzip_of(&tar_of(&[("b.zip", &nested)])),
    );
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    let shown: Vec<(String, u64)> = places(&r).into_iter().map(|(p, l, _, _)| (p, l)).collect();
    assert_eq!(
        shown,
        [
            ("a.tar.gz!b.zip!deep/c.env".to_string(), 2),
            ("backup.tar!etc/app.env".to_string(), 2),
            ("dist/pkg-1.0-py3-none-any.whl!pkg/.env".to_string(), 2),
            ("logs.tgz!ci.log".to_string(), 2),
            ("notes.env.gz!notes.env".to_string(), 2),
        ]
    );
    assert!(r["errors"].as_array().unwrap().is_empty(), "{r}");
    // --no-archives: nothing is opened (a tar's members are stored as they
    // are, so its raw bytes still show the token).
    let (_, r) = scan(dir.path(), &["--no-archives"]);
    assert_eq!(paths(&r), ["backup.tar"], "{r}");
    // One level only: the zip inside the tar.gz is named, not opened.
    let (_, r) = scan(dir.path(), &["--max-archive-depth", "1"]);
    assert_eq!(findings(&r).len(), 4);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0]["path"], "a.tar.gz!b.zip");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("--max-archive-depth")
    );
}

#[test]
fn zip_and_gzip_bombs_stop_at_the_bound() {
    let zeros = vec![0u8; 300 << 20];
    let dir = tree(&[("ok.txt", &format!("{}\n", fake_token(7)))]);
    write(dir.path(), "bomb.zip", &zip_of(&[("zeros.bin", &zeros)]));
    write(dir.path(), "bomb.gz", &gzip_of(&zeros));
    drop(zeros);
    let started = std::time::Instant::now();
    let (code, r) = scan(dir.path(), &[]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{r}");
    let errors = r["errors"].as_array().unwrap();
    let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["bomb.gz", "bomb.zip"], "{r}");
    for e in errors {
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("decompression bomb"),
            "{e}"
        );
    }
    // Reading stops after a few megabytes, not after 300 MiB.
    assert!(took.as_secs() < 30, "took {took:?}");
}

#[test]
fn a_truncated_archive_is_an_error_and_the_scan_goes_on() {
    let t = fake_token(8);
    let zip = zip_of(&[("a.env", format!("{t}\n").as_bytes())]);
    let gz = gzip_of(format!("{t}\n{}", "x".repeat(200_000)).as_bytes());
    let dir = tree(&[("plain.env", &format!("{t}\n"))]);
    write(dir.path(), "cut.zip", &zip[..zip.len() / 2]);
    write(dir.path(), "cut.gz", &gz[..gz.len() / 2]);
    let (code, stdout, stderr) = run(dir.path(), &["scan", "--no-progress", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    let errors: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["cut.gz", "cut.zip"], "{r}");
    // What the gzip gave before it broke is still scanned.
    assert!(paths(&r).contains(&"cut.gz!cut".to_string()), "{r}");
    assert!(paths(&r).contains(&"plain.env".to_string()));
}

#[test]
fn a_member_named_to_escape_the_tree_is_reported_and_nothing_is_written() {
    let t = fake_token(9);
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("scan");
    std::fs::create_dir(&dir).unwrap();
    let evil = zip_of(&[
        ("../../x.env", format!("{t}\n").as_bytes()),
        ("/abs.env", b"y\n"),
    ]);
    write(&dir, "evil.zip", &evil);
    let (code, r) = scan(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), ["evil.zip!../../x.env"]);
    assert!(!outer.path().join("x.env").exists() && !dir.join("x.env").exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only evil.zip");
}

#[test]
fn hf_prefixed_identifiers_and_blob_slices_are_not_findings() {
    let t = fake_token(10);
    let body = &t[3..];
    let code_text = format!(
        "- (void)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:(HFBlock)block;\n\
         [self hf_setValueForKeyWithCompletion:v];\n\
         fun hf_downloadFileAtPathWithProgress(p: String) {{}}\n\
         blob = \"U2FsdGVkX19vbmUgdHdvIHRocmVlZm91cg+hf_{body}/dGhyZWU\"\n\
         real = \"{t}\"\n"
    );
    let dir = tree(&[("HFImageView.m", &code_text)]);
    let (_, r) = scan(dir.path(), &[]);
    assert_eq!(
        places(&r),
        [("HFImageView.m".into(), 5, 9, None)],
        "only the real token: {r}"
    );
    // Truncated and padded tokens are still found by the low-severity rule.
    let dir = tree(&[(".env", &format!("A={}\nB={t}Qz7\n", &t[..30]))]);
    let (_, r) = scan(dir.path(), &[]);
    let rules: Vec<&str> = findings(&r)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["hf-token-nonstandard", "hf-token-nonstandard"],
        "{r}"
    );
}

#[test]
fn a_trusted_publisher_token_in_a_ci_log_is_found() {
    let segment = |seed: u64| fake_body(seed).replace('q', "-");
    let jwt = format!(
        "hf_jwt_eyJhbGciOiJSUzI1NiJ9.{}.{}",
        segment(11),
        segment(12)
    );
    let log = format!(
        "2026-01-01T00:00:00Z Exchanging OIDC token\n2026-01-01T00:00:01Z HF_TOKEN={jwt}\n"
    );
    let dir = tree(&[("job.log", &log)]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
    let f = &findings(&r)[0];
    assert_eq!(
        (f["rule_id"].as_str(), f["severity"].as_str()),
        (Some("hf-jwt-token"), Some("medium"))
    );
    assert_eq!(f["line"], 2);
    let (_, text, _) = run(dir.path(), &["scan", "--no-progress"]);
    assert!(
        text.contains("60 minutes") && text.contains("log"),
        "{text}"
    );
    assert!(!text.contains(&jwt), "redacted: {text}");
}

#[test]
fn sarif_locates_a_member_at_its_archive_and_names_the_encoding() {
    let t = fake_token(13);
    let dir = tree(&[("k.yaml", &format!("v: {}\n", b64(t.as_bytes())))]);
    write(
        dir.path(),
        "dist/p.whl",
        &zip_of(&[("p/.env", format!("\nT={t}\n").as_bytes())]),
    );
    let (code, stdout, _) = run(dir.path(), &["scan", "--no-progress", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert!(sarif_schema_errors(&sarif).is_empty());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let loc = |i: usize| &results[i]["locations"][0]["physicalLocation"];
    assert_eq!(loc(0)["artifactLocation"]["uri"], "dist/p.whl");
    assert_eq!(loc(0)["region"]["startLine"], 1);
    assert_eq!(results[0]["properties"]["archive_member"], "p/.env");
    assert_eq!(results[0]["properties"]["member_line"], 2);
    assert_eq!(loc(1)["artifactLocation"]["uri"], "k.yaml");
    assert_eq!(results[1]["properties"]["encoding"], "base64");
    let (_, text, _) = run(dir.path(), &["scan", "--no-progress"]);
    assert!(text.contains("encoded  base64"), "{text}");
    assert!(text.contains("dist/p.whl!p/.env:2:"), "{text}");
}

#[test]
fn a_file_that_only_looks_like_an_archive_is_scanned_as_text() {
    let t = fake_token(14);
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend_from_slice(format!("not really gzip\nHF_TOKEN={t}\n").as_bytes());
    let dir = tree(&[]);
    write(dir.path(), "odd.bin", &bytes);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(paths(&r), ["odd.bin"]);
    assert_eq!(r["errors"][0]["path"], "odd.bin", "the failed open is said");
}

#[test]
fn nested_archives_share_one_decompression_budget() {
    let mut rng = fastrand::Rng::with_seed(15);
    let member: Vec<u8> = (0..2 << 20).map(|_| rng.alphanumeric() as u8).collect();
    let inner = zip_of(&[("big.txt", &member)]);
    let outer = zip_of(&[
        ("one.zip", &inner),
        ("two.zip", &inner),
        ("three.zip", &inner),
    ]);
    let dir = tree(&[]);
    write(dir.path(), "outer.zip", &outer);
    let (_, r) = scan(dir.path(), &["--max-archive-size", "5MiB"]);
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("more than 5242880 bytes")),
        "{r}"
    );
}
