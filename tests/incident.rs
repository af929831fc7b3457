//! The incident view (the default text output, `remediation` in JSON, and
//! `hfleaks report`), `.env` hygiene, and the HTML report, through the
//! built binary. Snapshots live in `tests/snapshots/`, with the commit ids,
//! tokens and hashes of each run replaced by placeholders; set
//! `UPDATE_SNAPSHOTS=1` to rewrite them after an intended change.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Compares `text` with the snapshot `name` after replacing each value of
/// `subst` by its placeholder.
fn snapshot(name: &str, text: &str, subst: &[(&str, String)]) {
    let mut shown = text.to_string();
    for (placeholder, value) in subst {
        shown = shown.replace(value.as_str(), placeholder);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &shown).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        shown, expected,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it)"
    );
}

fn sha(t: &str) -> String {
    hfleaks::finding::sha256_hex(t.as_bytes())
}

/// A repository where one token stays at HEAD (and is copied to a second
/// file) and another is removed.
fn history_repo() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let keep = fake_token(60);
    let gone = fake_token(61);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(p, "app.py", format!("TOKEN = '{keep}'\n").as_bytes());
    write(p, "old.env", format!("X={gone}\n").as_bytes());
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "add tokens"]);
    let c1 = git(p, &["rev-parse", "HEAD"]);
    git(p, &["rm", "-q", "old.env"]);
    write(p, "copy.py", format!("T = '{keep}'\n").as_bytes());
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "drop env, copy token"]);
    let c2 = git(p, &["rev-parse", "HEAD"]);
    let subst = vec![
        ("{C1}", c1[..12].to_string()),
        ("{C2}", c2[..12].to_string()),
        ("{KEEP}", hfleaks::finding::redact(&keep)),
        ("{GONE}", hfleaks::finding::redact(&gone)),
        ("{KEEP_SHA}", sha(&keep)[..12].to_string()),
        ("{GONE_SHA}", sha(&gone)[..12].to_string()),
    ];
    (dir, subst)
}

#[test]
fn incident_view_of_a_history_with_a_token_at_head_and_one_removed() {
    let (dir, subst) = history_repo();
    let (code, stdout, _) = run(dir.path(), &["history", "--no-progress"]);
    assert_eq!(code, 1);
    // Placeholders for the regex-quoted forms the purge lines show.
    snapshot("incident_history.txt", &stdout, &subst);
    // The per-finding layout is still there.
    let (_, flat, _) = run(dir.path(), &["history", "--no-progress", "--no-group"]);
    assert!(
        !flat.contains("== token") && flat.contains("old.env:1:3"),
        "{flat}"
    );
}

#[test]
fn json_carries_the_remediation_and_report_shows_it_again() {
    let (dir, _) = history_repo();
    let (_, r) = run_json(dir.path(), &["history", "--no-progress"]);
    let remediation = r["remediation"].as_array().unwrap();
    assert_eq!(remediation.len(), 2);
    let first = &remediation[0];
    assert_eq!(first["places"].as_array().unwrap().len(), 2);
    assert_eq!(first["exposure"]["at_head"], true);
    let actions: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["revoke", "replace", "purge-history", "watch"]);
    assert_eq!(remediation[1]["exposure"]["at_head"], false);
    assert!(remediation[1]["exposure"]["removed_in"]["id"].is_string());
    // `hfleaks report` renders the same incident view from the file.
    let path = dir.path().join("audit.json");
    std::fs::write(&path, r.to_string()).unwrap();
    let (code, text, stderr) = run(dir.path(), &["report", "audit.json"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, direct, _) = run(dir.path(), &["history", "--no-progress"]);
    assert_eq!(text, direct);
    // A report without `remediation` (older, or edited) gets it computed.
    let mut bare = r.clone();
    bare.as_object_mut().unwrap().remove("remediation");
    std::fs::write(&path, bare.to_string()).unwrap();
    let (_, again, _) = run(dir.path(), &["report", "audit.json"]);
    assert_eq!(again, direct);
    let (code, _, stderr) = run(dir.path(), &["report", "missing.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.json"), "{stderr}");
}

#[test]
fn one_token_in_several_places_is_one_incident() {
    let t = fake_token(62);
    let dir = tree(&[
        ("a/config.py", &format!("T = '{t}'\n")),
        ("b/notes.md", &format!("token {t}\n")),
        ("c/deploy.sh", &format!("export HF_TOKEN={t}\n")),
    ]);
    let (code, stdout, _) = run(dir.path(), &["scan", "--no-progress"]);
    assert_eq!(code, 1);
    snapshot(
        "incident_places.txt",
        &stdout,
        &[
            ("{T}", hfleaks::finding::redact(&t)),
            ("{SHA}", sha(&t)[..12].to_string()),
        ],
    );
}

#[test]
fn a_dotenv_file_git_ignores_is_local_only_and_one_it_does_not_gets_the_ignore_line() {
    let t = fake_token(63);
    let u = fake_token(64);
    let dir = tree(&[
        (".gitignore", ".env\n"),
        (".env", &format!("HF_TOKEN={t}\n")),
        ("deploy/prod.env", &format!("HF_TOKEN={u}\n")),
    ]);
    git(dir.path(), &["init", "-q"]);
    let (_, r) = run_json(dir.path(), &["scan", "--no-progress", "--no-ignore"]);
    let by_path = |p: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p}: {r}"))
            .clone()
    };
    let ignored = by_path(".env");
    assert_eq!(ignored["local_only"], true);
    assert_eq!(ignored["severity"], "medium", "one step lower");
    let exposed = by_path("deploy/prod.env");
    assert_eq!(exposed["local_only"], false);
    assert_eq!(exposed["severity"], "high");
    let (_, text, _) = run(dir.path(), &["scan", "--no-progress", "--no-ignore"]);
    assert!(
        text.contains(
            "echo 'prod.env' >> .gitignore && git rm --cached --ignore-unmatch -- 'deploy/prod.env'"
        ),
        "{text}"
    );
    assert!(text.contains("git ignores this file"), "{text}");
    // Outside a work tree, nothing is said.
    let plain = tree(&[(".env", &format!("HF_TOKEN={t}\n"))]);
    let (_, r) = run_json(plain.path(), &["scan", "--no-progress"]);
    assert!(r["findings"][0].get("local_only").is_none(), "{r}");
}

#[test]
fn the_incident_view_names_no_raw_token() {
    let (dir, _) = history_repo();
    let keep = fake_token(60);
    for format in ["text", "json"] {
        let (_, out, err) = run(
            dir.path(),
            &["history", "--no-progress", "--format", format],
        );
        assert!(!out.contains(&keep) && !err.contains(&keep), "{format}");
    }
    // With --show-secrets the purge line names the token itself.
    let (_, out, _) = run(dir.path(), &["history", "--no-progress", "--show-secrets"]);
    assert!(
        out.contains(&format!("{keep}==>HF_TOKEN_REMOVED_")),
        "{out}"
    );
    let _: Value = Value::Null;
}

/// A repository whose file names and commit message try to inject markup.
fn hostile_repo() -> (tempfile::TempDir, String) {
    let t = fake_token(65);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    write(
        p,
        "<script>alert(1)</script>.py",
        format!("T = '{t}'\n").as_bytes(),
    );
    write(
        p,
        "a\"onmouseover=\"x.py",
        format!("T = '{t}'\n").as_bytes(),
    );
    git(p, &["add", "."]);
    git(
        p,
        &[
            "commit",
            "-q",
            "-m",
            "<img src=x onerror=alert(2)> & </style>",
        ],
    );
    (dir, t)
}

#[test]
fn the_html_report_is_self_contained_and_escapes_what_it_quotes() {
    let (dir, t) = hostile_repo();
    let (code, html, stderr) = run(
        dir.path(),
        &["history", "--no-progress", "--format", "html"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    // Nothing scanned becomes markup, nothing is fetched, nothing runs.
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
    assert!(!html.contains("\"onmouseover"), "{html}");
    for external in ["src=\"", "href=\"", "<link", "@import", "url("] {
        assert!(!html.contains(external), "{external} in {html}");
    }
    assert!(!html.contains(&t), "secret redacted");
    assert!(
        html.contains("<svg") && html.contains("id=\"summary\"") && html.contains("id=\"tokens\"")
    );
    // The same page from a saved report, to a file by its extension.
    let (_, json, _) = run(
        dir.path(),
        &["history", "--no-progress", "--format", "json"],
    );
    std::fs::write(dir.path().join("audit.json"), json).unwrap();
    let (code, _, stderr) = run(dir.path(), &["report", "audit.json", "-o", "incident.html"]);
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(dir.path().join("incident.html")).unwrap();
    assert_eq!(page, html);
    validate_html5(&page);
    render_in_chromium(dir.path(), &page);
}

/// Whether `program args` runs and succeeds.
fn runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether an optional tool is there; when it is not, the check is
/// SKIPPED, unless the environment variable `require` makes it mandatory
/// (as CI does), which fails the test.
fn available(present: bool, require: &str, what: &str) -> bool {
    if !present {
        assert!(
            require.is_empty() || std::env::var_os(require).is_none(),
            "{what} is required ({require}) but not available"
        );
        eprintln!("SKIPPED: {what}");
    }
    present
}

/// Parses the page with html5lib in strict mode (a parse error fails).
/// Needs Python with html5lib (`$HFLEAKS_PYTHON`, else `python3`); CI
/// makes it mandatory with `HFLEAKS_REQUIRE_HTML5LIB=1`.
fn validate_html5(page: &str) {
    let python = std::env::var("HFLEAKS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, html5lib\n\
                  p = html5lib.HTMLParser(strict=True)\n\
                  p.parse(sys.stdin.buffer.read())\n\
                  print('valid')\n";
    let has = runs(&python, &["-c", "import html5lib"]);
    if !available(
        has,
        "HFLEAKS_REQUIRE_HTML5LIB",
        "HTML5 validation (pip install html5lib)",
    ) {
        return;
    }
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), page.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not valid HTML5: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Renders the page offline in headless Chromium (`--dump-dom`) and checks
/// its sections; CI makes it mandatory with `HFLEAKS_REQUIRE_CHROMIUM=1`.
fn render_in_chromium(dir: &Path, page: &str) {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| runs(b, &["--version"]));
    let what = "rendering in Chromium (apt-get install chromium)";
    if !available(browser.is_some(), "HFLEAKS_REQUIRE_CHROMIUM", what) {
        return;
    }
    let browser = browser.unwrap();
    let file = dir.join("render.html");
    std::fs::write(&file, page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            // Offline: any request would go to a closed port.
            "--proxy-server=127.0.0.1:9",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    for part in [
        "id=\"summary\"",
        "id=\"tokens\"",
        "id=\"token-1\"",
        "What to do",
        "<svg",
    ] {
        assert!(
            dom.contains(part),
            "{part} missing from the rendered page: {dom}"
        );
    }
}

#[test]
fn a_live_token_says_so_with_its_owner_and_role() {
    use common::mock_hub::{MockHub, Reply};
    let t = fake_token(66);
    let hub = MockHub::start(|_, _, _| {
        Reply::json(
            &serde_json::json!({"type": "user", "name": "alice", "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"role": "write"}}}),
        )
    });
    let dir = tree(&[("app.py", &format!("T = '{t}'\n"))]);
    let (code, text, stderr) = run(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--verify",
            "--hf-endpoint",
            hub.url(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        text.contains("status    LIVE, owner alice, role write"),
        "{text}"
    );
    assert!(text.contains("Revoke it first — it is live"), "{text}");
    assert!(text.contains("signed in as alice"), "{text}");
    let (_, r) = run_json(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--verify",
            "--hf-endpoint",
            hub.url(),
        ],
    );
    let i = &r["remediation"][0];
    assert_eq!(
        (
            i["status"].as_str(),
            i["owner"].as_str(),
            i["role"].as_str()
        ),
        (Some("valid"), Some("alice"), Some("write"))
    );
    assert_eq!(i["severity"], "critical");
}

/// The `<li id="ID">` summary card of an HTML report, whole.
fn summary_card<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<li id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no card {id}: {html}"));
    let end = start + html[start..].find("</li>").unwrap() + "</li>".len();
    &html[start..end]
}

#[test]
fn the_html_summary_says_not_checked_without_verify_and_counts_with_it() {
    use common::mock_hub::{MockHub, Reply};
    let live = fake_token(67);
    let dead = fake_token(68);
    let dir = tree(&[
        ("live.py", &format!("T = '{live}'\n")),
        ("dead.py", &format!("T = '{dead}'\n")),
    ]);
    // Without --verify, nothing was asked: neither "0 live" nor "0 can write".
    let (code, html, stderr) = run(dir.path(), &["scan", "--no-progress", "--format", "html"]);
    assert_eq!(code, 1, "{stderr}");
    for id in ["live", "can-write"] {
        let card = summary_card(&html, id);
        assert!(card.contains(">not checked</b>"), "{card}");
        assert!(!card.contains("<b>0</b>"), "{card}");
    }
    // With it, the counts: one live token that can write, one dead.
    let live_token = live.clone();
    let hub = MockHub::start(move |req: &common::mock_hub::Request, _, _| {
        if req.token() == Some(live_token.as_str()) {
            Reply::json(
                &serde_json::json!({"type": "user", "name": "alice", "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"role": "write"}}}),
            )
        } else {
            Reply::new(401, "{}")
        }
    });
    let (code, html, stderr) = run(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--verify",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "html",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        summary_card(&html, "live"),
        "<li id=\"live\"><b>1</b>live</li>"
    );
    assert_eq!(
        summary_card(&html, "can-write"),
        "<li id=\"can-write\"><b>1</b>can write</li>"
    );
    assert!(!html.contains("not checked"), "{html}");
    // Verified and nothing live: a real zero.
    let dir = tree(&[("dead.py", &format!("T = '{dead}'\n"))]);
    let (_, html, _) = run(
        dir.path(),
        &[
            "scan",
            "--no-progress",
            "--verify",
            "--hf-endpoint",
            hub.url(),
            "--format",
            "html",
        ],
    );
    assert_eq!(
        summary_card(&html, "live"),
        "<li id=\"live\"><b>0</b>live</li>"
    );
}

#[test]
fn report_redacts_a_show_secrets_report_unless_asked() {
    let (dir, _) = history_repo();
    let keep = fake_token(60);
    let (_, raw, _) = run(
        dir.path(),
        &[
            "history",
            "--no-progress",
            "--format",
            "json",
            "--show-secrets",
        ],
    );
    assert!(raw.contains(&keep));
    std::fs::write(dir.path().join("audit.json"), raw).unwrap();
    for format in ["text", "json", "sarif", "html"] {
        let (code, out, _) = run(dir.path(), &["report", "audit.json", "--format", format]);
        assert_eq!(code, 0);
        assert!(!out.contains(&keep), "{format} leaks the token: {out}");
    }
    let (_, shown, _) = run(dir.path(), &["report", "audit.json", "--show-secrets"]);
    assert!(
        shown.contains(&format!("{keep}==>HF_TOKEN_REMOVED_")),
        "{shown}"
    );
}
