//! The Action's install step (`ci/install-hfleaks.sh`, run by action.yml)
//! against a fake release served on 127.0.0.1. The release is made the way
//! .github/workflows/release.yml makes it: `ci/release-assets.py package`
//! turns a wheel into `hfleaks-TARGET.tar.gz` (`.zip` for Windows), one per
//! target of the workflow's build matrix, and `ci/release-assets.py sums`
//! writes SHA256SUMS. A fake `cargo` first on PATH records whether the
//! script fell back to building from source. Needs python3 and curl.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Serves the files under a directory on 127.0.0.1 (404 for anything else)
/// and records every requested path. Its threads end with the test process.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (dir, log) = (dir.to_path_buf(), requests.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                log.lock().unwrap().push(path.clone());
                let file = dir.join(path.trim_start_matches('/'));
                let ok = !path.contains("..") && file.is_file();
                let (status, body) = if ok {
                    ("200 OK", std::fs::read(&file).unwrap())
                } else {
                    ("404 Not Found", b"Not Found".to_vec())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Server { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn python() -> String {
    std::env::var("HFLEAKS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The targets release.yml builds wheels and release binaries for.
fn release_targets() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/.github/workflows/release.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let include = &docs[0]["jobs"]["build"]["strategy"]["matrix"]["include"];
    let targets: Vec<String> = include
        .as_vec()
        .expect("release.yml: jobs.build.strategy.matrix.include")
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    assert!(!targets.is_empty());
    targets
}

/// A shell script standing in for a binary of another platform.
fn fake_binary(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"hfleaks {version}\"\n").into_bytes()
}

/// Writes release `tag` under `dir/tag`: one asset per target, each made by
/// ci/release-assets.py from a wheel holding `binary(target)`, and
/// SHA256SUMS. Returns the release's directory.
fn release(dir: &Path, tag: &str, binary: impl Fn(&str) -> Vec<u8>) -> PathBuf {
    let out = dir.join(tag);
    let wheels = dir.join("wheels");
    for target in release_targets() {
        let exe = if target.contains("windows") {
            "hfleaks.exe"
        } else {
            "hfleaks"
        };
        let member = format!("hfleaks-{VERSION}.data/scripts/{exe}");
        let wheel = write(
            &wheels,
            &format!("hfleaks-{VERSION}-py3-none-{target}.whl"),
            &stored_zip(&member, &binary(&target)),
        );
        assets_script(&[
            "package",
            wheel.to_str().unwrap(),
            "--target",
            &target,
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    assets_script(&["sums", out.to_str().unwrap()]);
    out
}

/// A zip with one member, stored (the debug binary is large: deflating it
/// here would only slow the test).
fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(data.len() > u32::MAX as usize);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

fn assets_script(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(format!("{ROOT}/ci/release-assets.py"))
        .args(args)
        .output()
        .expect("python3 runs ci/release-assets.py");
    assert!(
        out.status.success(),
        "release-assets.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real binary for the Linux x86_64 glibc asset (what this test runs
/// on), a stand-in script for the others.
fn host_binary(target: &str) -> Vec<u8> {
    if target == "x86_64-unknown-linux-gnu" {
        std::fs::read(assert_cmd::cargo::cargo_bin("hfleaks")).unwrap()
    } else {
        fake_binary(VERSION)
    }
}

/// One run of the install script.
struct Install {
    code: i32,
    stderr: String,
    /// What it wrote to $GITHUB_OUTPUT.
    outputs: String,
    /// The fake cargo's command lines, if it was called.
    cargo: Vec<String>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Install {
    fn output(&self, key: &str) -> Option<String> {
        self.outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    }
}

/// Runs ci/install-hfleaks.sh in a fresh directory with the action's
/// environment: `vars` (RUNNER_OS, RUNNER_ARCH, GITHUB_ACTIONS, ...) and
/// the release base URL; a fake cargo comes first on PATH.
fn install(base_url: &str, git_ref: &str, vars: &[(&str, &str)]) -> Install {
    let dir = tempfile::tempdir().unwrap();
    let fake_bin = dir.path().join("fake-bin");
    let cargo_log = dir.path().join("cargo.log");
    // Like `cargo install --root R`: leaves R/bin/hfleaks (hfleaks.exe on
    // Windows) and records its arguments.
    let fake_cargo = r#"#!/bin/sh
printf '%s\n' "$*" >> "LOG"
root= prev=
for a in "$@"; do [ "$prev" = --root ] && root=$a; prev=$a; done
exe=; [ "$RUNNER_OS" = Windows ] && exe=.exe
mkdir -p "$root/bin"
printf '#!/bin/sh\necho "hfleaks VERSION"\n' > "$root/bin/hfleaks$exe"
chmod +x "$root/bin/hfleaks$exe"
"#
    .replace("LOG", &cargo_log.display().to_string())
    .replace("VERSION", VERSION);
    write(&fake_bin, "cargo", fake_cargo.as_bytes());
    chmod_x(&fake_bin.join("cargo"));
    let root = dir.path().join("install");
    let outputs = dir.path().join("github-output.txt");
    let mut cmd = Command::new("bash");
    cmd.arg(format!("{ROOT}/ci/install-hfleaks.sh"))
        .current_dir(dir.path())
        .env(
            "PATH",
            format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("HFLEAKS_REF", git_ref)
        .env("HFLEAKS_RELEASE_URL", base_url)
        .env("HFLEAKS_ROOT", &root)
        .env("GITHUB_OUTPUT", &outputs);
    for key in [
        "RUNNER_OS",
        "RUNNER_ARCH",
        "RUNNER_TEMP",
        "GITHUB_ACTIONS",
        "HFLEAKS_TARGET",
        "HFLEAKS_SOURCE",
    ] {
        cmd.env_remove(key);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Install {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        cargo: std::fs::read_to_string(&cargo_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
        root,
        _dir: dir,
    }
}

fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const LINUX_X64: &[(&str, &str)] = &[("RUNNER_OS", "Linux"), ("RUNNER_ARCH", "X64")];

#[test]
fn release_binary_is_installed_when_its_checksum_matches() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{VERSION}");
    release(dir.path(), &tag, host_binary);
    let server = Server::start(dir.path());

    let run = install(&server.url, &tag, LINUX_X64);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.cargo.is_empty(), "must not build: {:?}", run.cargo);
    let bin = run.root.join("bin/hfleaks");
    assert_eq!(run.output("path"), Some(bin.display().to_string()));
    assert_eq!(run.output("source").as_deref(), Some("release"));
    assert_eq!(
        server.requests(),
        [
            format!("/{tag}/SHA256SUMS"),
            format!("/{tag}/hfleaks-x86_64-unknown-linux-gnu.tar.gz")
        ]
    );
    assert!(
        run.stderr.contains(&format!(
            "installed hfleaks {VERSION} from release {tag} (hfleaks-x86_64-unknown-linux-gnu.tar.gz, sha256 "
        )),
        "{}",
        run.stderr
    );

    // The installed binary is the real one: it runs and finds a token.
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("hfleaks {VERSION}")
    );
    let tree = tree(&[("app.py", &format!("T = \"{}\"\n", fake_token(20)))]);
    let out = Command::new(&bin)
        .args(["scan", "--no-progress", "."])
        .current_dir(tree.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("app.py:1:6"));
}

#[test]
fn each_runner_gets_the_asset_release_yml_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{VERSION}");
    release(dir.path(), &tag, |_| fake_binary(VERSION));
    let server = Server::start(dir.path());
    let published = release_targets();

    for (os, arch, target, asset, exe) in [
        (
            "Linux",
            "X64",
            "x86_64-unknown-linux-gnu",
            ".tar.gz",
            "hfleaks",
        ),
        (
            "Linux",
            "ARM64",
            "aarch64-unknown-linux-gnu",
            ".tar.gz",
            "hfleaks",
        ),
        ("macOS", "X64", "x86_64-apple-darwin", ".tar.gz", "hfleaks"),
        (
            "macOS",
            "ARM64",
            "aarch64-apple-darwin",
            ".tar.gz",
            "hfleaks",
        ),
        (
            "Windows",
            "X64",
            "x86_64-pc-windows-msvc",
            ".zip",
            "hfleaks.exe",
        ),
    ] {
        assert!(
            published.iter().any(|t| t == target),
            "release.yml builds no {target} for {os} {arch}: {published:?}"
        );
        let before = server.requests().len();
        let run = install(
            &server.url,
            &tag,
            &[("RUNNER_OS", os), ("RUNNER_ARCH", arch)],
        );
        assert_eq!(run.code, 0, "{os} {arch}: {}", run.stderr);
        assert!(run.cargo.is_empty(), "{os} {arch}: {:?}", run.cargo);
        assert_eq!(
            server.requests()[before..],
            [
                format!("/{tag}/SHA256SUMS"),
                format!("/{tag}/hfleaks-{target}{asset}")
            ]
        );
        let bin = run.root.join("bin").join(exe);
        assert_eq!(run.output("path"), Some(bin.display().to_string()));
        let out = Command::new(&bin).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("hfleaks {VERSION}")
        );
    }

    // The musl builds are published too (a musl system, an Alpine container
    // job, gets them).
    for musl in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        assert!(published.iter().any(|t| t == musl), "{published:?}");
    }

    // No binary for this platform: built from source, nothing downloaded.
    let before = server.requests().len();
    let run = install(
        &server.url,
        &tag,
        &[("RUNNER_OS", "Windows"), ("RUNNER_ARCH", "ARM64")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.cargo.len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("no release binary for Windows ARM64"));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn checksum_mismatch_is_refused_and_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{VERSION}");
    let rel = release(dir.path(), &tag, |_| fake_binary(VERSION));
    // The asset changes after SHA256SUMS was written (a tampered or
    // truncated download).
    let asset = rel.join("hfleaks-x86_64-unknown-linux-gnu.tar.gz");
    let mut bytes = std::fs::read(&asset).unwrap();
    bytes.truncate(bytes.len() - 1);
    std::fs::write(&asset, &bytes).unwrap();
    let server = Server::start(dir.path());

    for github in [false, true] {
        let mut vars = LINUX_X64.to_vec();
        if github {
            vars.push(("GITHUB_ACTIONS", "true"));
        }
        let run = install(&server.url, &tag, &vars);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
        let prefix = if github {
            "::error title=hfleaks install::checksum mismatch for "
        } else {
            "hfleaks-install: error: checksum mismatch for "
        };
        assert!(
            lines[0].starts_with(&format!(
                "{prefix}hfleaks-x86_64-unknown-linux-gnu.tar.gz of release {tag} (SHA256SUMS says "
            )) && lines[0].ends_with("): refusing to install it"),
            "{}",
            lines[0]
        );
        assert!(!run.root.join("bin/hfleaks").exists(), "nothing installed");
        assert!(!run.root.exists(), "not even the install root");
        assert!(run.cargo.is_empty(), "a mismatch is not a reason to build");
        assert!(run.output("path").is_none(), "{}", run.outputs);
    }
}

#[test]
fn no_matching_release_builds_from_source() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path(), &format!("v{VERSION}"), |_| fake_binary(VERSION));
    let server = Server::start(dir.path());

    // A branch, a commit, a tag without a release: nothing to download.
    for git_ref in [
        "main",
        "0123456789abcdef0123456789abcdef01234567",
        "v99.0.0",
    ] {
        let run = install(&server.url, git_ref, LINUX_X64);
        assert_eq!(run.code, 0, "{git_ref}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "no release {git_ref} (a branch, a commit, or a tag without a release): building hfleaks from source with cargo"
            )),
            "{}",
            run.stderr
        );
        let root = run.root.display().to_string();
        assert_eq!(
            run.cargo,
            [format!(
                "install --locked --path {ROOT} --root {root} --force"
            )]
        );
        assert_eq!(run.output("source").as_deref(), Some("cargo"));
        assert_eq!(run.output("path"), Some(format!("{root}/bin/hfleaks")));
        assert!(
            server
                .requests()
                .contains(&format!("/{git_ref}/SHA256SUMS"))
        );
    }

    // A local action (uses: ./) has no ref: built without asking anything.
    let before = server.requests().len();
    let run = install(&server.url, "", LINUX_X64);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.cargo.len(), 1);
    assert!(run.stderr.contains("no action ref"), "{}", run.stderr);
    assert_eq!(server.requests().len(), before);

    // A release that lists no binary for this runner.
    let sums = dir.path().join(format!("v{VERSION}/SHA256SUMS"));
    let kept: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("x86_64-unknown-linux-gnu"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sums, kept).unwrap();
    let run = install(&server.url, &format!("v{VERSION}"), LINUX_X64);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.cargo.len(), 1);
    assert!(
        run.stderr
            .contains("lists no hfleaks-x86_64-unknown-linux-gnu.tar.gz in SHA256SUMS"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_release_binary_of_another_version_or_that_does_not_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{VERSION}");
    release(dir.path(), &tag, |_| fake_binary("0.0.1"));
    let server = Server::start(dir.path());
    let run = install(&server.url, &tag, LINUX_X64);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "says 'hfleaks 0.0.1', not 'hfleaks {VERSION}': refusing to install it"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.root.join("bin/hfleaks").exists());
    assert!(run.cargo.is_empty());

    // A binary that does not run here is refused too.
    let tag = "v0.0.2";
    release(dir.path(), tag, |_| {
        b"#!/bin/sh\necho 'cannot execute binary file' >&2\nexit 126\n".to_vec()
    });
    let run = install(&server.url, tag, LINUX_X64);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "hfleaks-install: error: the release binary hfleaks-x86_64-unknown-linux-gnu.tar.gz \
         of v0.0.2 does not run here: cannot execute binary file"
    );
    assert!(!run.root.join("bin/hfleaks").exists());
    assert!(run.cargo.is_empty());
}

#[test]
fn plain_http_is_refused_unless_loopback() {
    let run = install("http://releases.example.com/download", "v1.0.0", LINUX_X64);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "hfleaks-install: error: HFLEAKS_RELEASE_URL must be https:// (plain http only on loopback): http://releases.example.com/download"
    );
    assert!(run.cargo.is_empty());
}

#[test]
fn release_archives_hold_the_wheels_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rel = release(dir.path(), "v0", |t| format!("binary of {t}").into_bytes());
    // tar.gz: one member, hfleaks, mode 755, the wheel's bytes.
    let gz = std::fs::read(rel.join("hfleaks-aarch64-apple-darwin.tar.gz")).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let members: Vec<(String, u32, String)> = tar
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            (
                e.path().unwrap().display().to_string(),
                e.header().mode().unwrap(),
                s,
            )
        })
        .collect();
    assert_eq!(
        members,
        [(
            "hfleaks".to_string(),
            0o755,
            "binary of aarch64-apple-darwin".to_string()
        )]
    );
    // zip for Windows: hfleaks.exe.
    let zip = std::fs::read(rel.join("hfleaks-x86_64-pc-windows-msvc.zip")).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(z.len(), 1);
    let mut s = String::new();
    std::io::Read::read_to_string(&mut z.by_name("hfleaks.exe").unwrap(), &mut s).unwrap();
    assert_eq!(s, "binary of x86_64-pc-windows-msvc");
    // SHA256SUMS: every asset, sha256sum's format, and `sha256sum -c` agrees.
    let sums = std::fs::read_to_string(rel.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), release_targets().len());
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&rel)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The same wheel gives the same archive (fixed times and owners).
    let again = dir.path().join("again");
    let wheel = dir.path().join(format!(
        "wheels/hfleaks-{VERSION}-py3-none-aarch64-apple-darwin.whl"
    ));
    assets_script(&[
        "package",
        wheel.to_str().unwrap(),
        "--target",
        "aarch64-apple-darwin",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(again.join("hfleaks-aarch64-apple-darwin.tar.gz")).unwrap(),
        gz
    );
}

/// action.yml wires it up: the install step runs this script with the
/// action's ref and the releases of the action's repository, and the scan
/// uses the binary it installed.
#[test]
fn action_yml_installs_with_the_script_and_scans_with_its_binary() {
    let text = std::fs::read_to_string(format!("{ROOT}/action.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let steps = docs[0]["runs"]["steps"].as_vec().unwrap();
    let step = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("action.yml: no step with id {id}"))
    };
    let install = step("install");
    assert_eq!(
        install["run"].as_str(),
        Some("bash \"$GITHUB_ACTION_PATH/ci/install-hfleaks.sh\"")
    );
    let env = &install["env"];
    assert_eq!(
        env["HFLEAKS_REF"].as_str(),
        Some("${{ github.action_ref }}")
    );
    assert_eq!(
        env["HFLEAKS_RELEASE_URL"].as_str(),
        Some("${{ github.server_url }}/${{ github.action_repository }}/releases/download")
    );
    assert_eq!(
        step("scan")["env"]["HFLEAKS"].as_str(),
        Some("${{ steps.install.outputs.path }}")
    );
    // The install step comes before the scan, and nothing else builds.
    let index = |id: &str| steps.iter().position(|s| s["id"].as_str() == Some(id));
    assert!(index("install") < index("scan"));
    for s in steps {
        let run = s["run"].as_str().unwrap_or("");
        assert!(!run.contains("cargo"), "only the script builds: {run}");
    }
}
