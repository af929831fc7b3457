//! Bad input of every kind: a clear one-line message naming the path and
//! the problem, the documented exit code, no panic, nothing left behind.

mod common;

use common::*;
use serde_json::Value;

fn no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn sparse_2_gib_file_is_skipped_and_reported() {
    let dir = tree(&[("small.txt", &format!("{}\n", fake_token(1)))]);
    let f = std::fs::File::create(dir.path().join("huge.bin")).unwrap();
    f.set_len(2 << 30).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["scan", "--format", "json"]);
    no_panic(&stderr);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("skipped huge.bin: larger than --max-file-size"),
        "{stderr}"
    );
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["scan"]["skipped"], 1);
    assert_eq!(r["scan"]["files"], 1);
}

#[test]
fn twenty_megabyte_single_line() {
    let t = fake_token(2);
    let line = format!(
        "{} {t} {}",
        "ab ".repeat(3_500_000),
        "cd ".repeat(3_500_000)
    );
    assert!(line.len() > 20_000_000);
    let dir = tree(&[("one-line.min.js", &line)]);
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert_eq!(r["findings"][0]["line"], 1);
    assert_eq!(r["findings"][0]["column"], 10_500_002);
}

#[test]
fn utf16_is_decoded_and_invalid_utf8_does_not_break_the_scan() {
    let t = fake_token(3);
    let dir = tree(&[("ok.txt", &format!("{t}\n"))]);
    let utf16: Vec<u8> = format!("\u{feff}HF_TOKEN={}\n", fake_token(4))
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    write(dir.path(), "utf16.txt", &utf16);
    write(
        dir.path(),
        "latin1.txt",
        b"caf\xe9 \xff\xfe\x00 garbage \x80\x81",
    );
    let (code, stdout, stderr) = run(dir.path(), &["scan", "--format", "json"]);
    no_panic(&stderr);
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&r), ["ok.txt", "utf16.txt"], "UTF-16 text is decoded");
    let f = &r["findings"][1];
    assert_eq!(
        (f["line"].as_u64(), f["encoding"].as_str()),
        (Some(1), Some("utf-16le"))
    );
    assert!(r["errors"].as_array().unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn odd_file_names_are_reported_losslessly() {
    let dir = tree(&[]);
    for name in ["with space.py", "new\nline.py", "tab\there.py"] {
        write(
            dir.path(),
            name,
            format!("T='{}'\n", fake_token(name.len() as u64 + 10)).as_bytes(),
        );
    }
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    let mut p = paths(&r);
    p.sort();
    assert_eq!(p, ["new\nline.py", "tab\there.py", "with space.py"]);
    // Text output escapes control characters, so a name cannot forge a line.
    let (_, text, _) = run(dir.path(), &["scan"]);
    assert!(text.contains("new\\nline.py:1:4"), "{text}");
    assert!(text.contains("tab\\there.py:1:4"), "{text}");
}

#[test]
fn many_small_files_complete() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20_000 {
        let sub = dir.path().join(format!("d{}", i % 100));
        if i < 100 {
            std::fs::create_dir(&sub).unwrap();
        }
        std::fs::write(
            sub.join(format!("f{i}.txt")),
            if i == 12_345 {
                format!("{}\n", fake_token(5))
            } else {
                "x = 1\n".into()
            },
        )
        .unwrap();
    }
    let (code, r) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert_eq!(r["scan"]["files"], 20_000);
    assert_eq!(paths(&r), ["d45/f12345.txt"]);
}

#[test]
fn malformed_ignore_file_is_a_clear_error() {
    let dir = tree(&[(".hfleaksignore", "ok/\n[z-a]\n"), ("a.txt", "x\n")]);
    let (code, _, stderr) = run(dir.path(), &["scan", "--ignore-file", ".hfleaksignore"]);
    no_panic(&stderr);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".hfleaksignore:2: invalid path pattern '[z-a]'"),
        "{stderr}"
    );
}

#[test]
fn unreadable_rules_and_baseline_paths_are_errors() {
    let dir = tree(&[("a.txt", "x\n")]);
    for args in [
        ["scan", "--rules", "missing.toml"],
        ["scan", "--baseline", "missing.json"],
    ] {
        let (code, _, stderr) = run(dir.path(), &args);
        no_panic(&stderr);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains("missing."), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn output_into_a_directory_path_fails_cleanly() {
    let dir = tree(&[("a.txt", "x\n")]);
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let (code, _, stderr) = run(dir.path(), &["scan", "-o", "out"]);
    no_panic(&stderr);
    assert_eq!(code, 2);
    assert!(stderr.contains("out: cannot write output"), "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hfleaks-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn repository_with_a_deleted_pack_reports_errors_and_goes_on() {
    let t = fake_token(6);
    let dir = tree(&[]);
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "old.txt", b"old content\n");
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "old"]);
    git(p, &["repack", "-adq"]);
    write(p, "new.txt", format!("T='{t}'\n").as_bytes());
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "new"]);
    for entry in std::fs::read_dir(p.join(".git/objects/pack")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let (code, stdout, stderr) = run(p, &["history", "--no-progress", "--format", "json"]);
    no_panic(&stderr);
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&r), ["new.txt"]);
    assert!(
        !r["errors"].as_array().unwrap().is_empty(),
        "missing objects are reported"
    );
}

#[test]
fn corrupt_loose_object_is_an_error_entry() {
    let dir = tree(&[]);
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "a.txt", b"some content\n");
    write(p, "b.txt", format!("T='{}'\n", fake_token(7)).as_bytes());
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "c"]);
    let id = git(p, &["rev-parse", "HEAD:a.txt"]);
    let obj = p.join(".git/objects").join(&id[..2]).join(&id[2..]);
    clobber(&obj, b"this is not zlib data");
    let (code, stdout, stderr) = run(p, &["history", "--no-progress", "--format", "json"]);
    no_panic(&stderr);
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&r), ["b.txt"]);
    let errors = r["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["path"] == "a.txt"), "{errors:?}");
}

#[test]
fn secrets_never_escape_in_any_format_or_stream() {
    let tokens: Vec<String> = (0..6).map(|i| fake_token(50 + i)).collect();
    let nb = serde_json::json!({"cells": [{"cell_type": "code", "source": [format!("login('{}')", tokens[0])],
        "outputs": [{"text": [format!("{}\n", tokens[1])]}]}]});
    let dir = tree(&[
        ("a.py", &format!("A='{}'\nB=\"{}\"\n", tokens[2], tokens[3])),
        ("nb.ipynb", &nb.to_string()),
        (
            ".env",
            &format!("HF_TOKEN={}\nORG={}\n", tokens[4], fake_org_token(60)),
        ),
        (
            "url.txt",
            &format!("https://u:{}@huggingface.co/x\n", tokens[5]),
        ),
    ]);
    for format in ["text", "json", "jsonl", "sarif"] {
        let (code, stdout, stderr) = run(
            dir.path(),
            &[
                "scan", "--format", format, "-o", "out.file", "--color", "always",
            ],
        );
        assert_eq!(code, 1);
        let file = std::fs::read_to_string(dir.path().join("out.file")).unwrap();
        let (_, stdout2, stderr2) = run(dir.path(), &["scan", "--format", format]);
        for t in tokens.iter().chain([&fake_org_token(60)]) {
            for (what, text) in [
                ("stdout", &stdout),
                ("stderr", &stderr),
                ("file", &file),
                ("stdout", &stdout2),
                ("stderr", &stderr2),
            ] {
                assert!(!text.contains(t.as_str()), "{format}: {what} leaks {t}");
                // Nor the body without its prefix (`hf_`, `api_org_`).
                let body = t.rsplit('_').next().unwrap();
                assert!(!text.contains(body), "{format}: {what} leaks a token body");
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn a_file_gone_before_it_is_read_is_an_error_and_the_scan_goes_on() {
    // A dangling link followed with --follow behaves like a file deleted
    // between the directory listing and the read.
    let dir = tree(&[("a.txt", &format!("{}\n", fake_token(8)))]);
    std::os::unix::fs::symlink(dir.path().join("vanished.txt"), dir.path().join("gone.txt"))
        .unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["scan", "--follow", "--format", "json"]);
    no_panic(&stderr);
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&r), ["a.txt"]);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "gone.txt");
    assert!(stderr.contains("gone.txt: "), "{stderr}");
    // Without findings, the error decides the exit code.
    std::fs::remove_file(dir.path().join("a.txt")).unwrap();
    let (code, _, _) = run(dir.path(), &["scan", "--follow"]);
    assert_eq!(code, 2);
}

#[test]
fn corrupt_pack_index_stops_history_with_a_clear_error() {
    let dir = tree(&[]);
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    for i in 0..5u64 {
        write(p, &format!("f{i}.txt"), format!("v{i}\n").as_bytes());
        git(p, &["add", "-A"]);
        git(p, &["commit", "-qm", &format!("c{i}")]);
    }
    git(p, &["repack", "-adq"]);
    let idx = pack_files(p, "idx").remove(0);
    let mut bytes = std::fs::read(&idx).unwrap();
    // The offset table, which libgit2 would follow out of the pack.
    let offsets = bytes.len() - 40 - 4 * 15;
    bytes[offsets..offsets + 8].fill(0x7f);
    clobber(&idx, &bytes);
    for args in [
        &["history", "--no-progress"][..],
        &["history", "--no-progress", "--range", "HEAD~2..HEAD"],
    ] {
        let (code, _, stderr) = run(p, args);
        no_panic(&stderr);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(".idx: corrupt pack index (checksum mismatch)"),
            "{args:?}: {stderr}"
        );
    }
}
