//! The pre-commit mirror hook (`deploy/pre-commit-mirror/`), used the way
//! pre-commit uses it: a throw-away hook repository made from those files,
//! committed and tagged `vVERSION`, and a project whose
//! `.pre-commit-config.yaml` points at it with that rev. pre-commit makes a
//! virtualenv and runs `pip install .` on the hook repository, whose
//! dependency `hfleaks==VERSION` is the wheel `maturin build` made.
//!
//! Nothing reaches an index: pip runs with PIP_NO_INDEX=1 and
//! PIP_FIND_LINKS naming a folder that holds the hfleaks wheel and a
//! setuptools wheel (the hook repository's build backend), copied from the
//! wheelhouse if it has one, else from the wheels virtualenv embeds (a
//! dependency of pre-commit, so always there). A fake `cargo` first on PATH
//! makes any attempt to compile fail the test.
//!
//! Needs pre-commit (as tests/precommit.rs: PRE_COMMIT, or on PATH) and the
//! wheel: HFLEAKS_WHEELHOUSE names the folder (default: the target
//! directory's `wheels`, where `maturin build --release --locked` puts it).
//! Without either the test says SKIPPED; `.ci/run` builds the wheel and sets
//! HFLEAKS_REQUIRE_PRECOMMIT=1 and HFLEAKS_REQUIRE_WHEEL=1, so there a
//! missing one fails instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::hook::{HookRepo, output_text, staged_token_blocks_until_fixed};
use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MIRROR_FILES: [&str; 3] = [".pre-commit-hooks.yaml", "pyproject.toml", "README.md"];

fn pre_commit() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRE_COMMIT") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("pre-commit"))
        .find(|p| p.is_file())
}

/// The Python that runs pre-commit (its script's `#!` line), which has
/// virtualenv; else HFLEAKS_PYTHON or python3.
fn python_of(pre_commit: &Path) -> String {
    let fallback = std::env::var("HFLEAKS_PYTHON").unwrap_or_else(|_| "python3".into());
    let Ok(text) = std::fs::read(pre_commit) else {
        return fallback;
    };
    let first = String::from_utf8_lossy(text.split(|&b| b == b'\n').next().unwrap_or(b""));
    match first
        .strip_prefix("#!")
        .map(|s| s.split_whitespace().collect::<Vec<_>>())
    {
        Some(words) if words.len() == 1 && words[0].contains("python") => words[0].to_string(),
        _ => fallback,
    }
}

/// Where `maturin build` put the wheel.
fn wheelhouse() -> PathBuf {
    if let Some(dir) = std::env::var_os("HFLEAKS_WHEELHOUSE") {
        return PathBuf::from(dir);
    }
    // <target>/debug/hfleaks -> <target>/wheels
    let bin = assert_cmd::cargo::cargo_bin("hfleaks");
    bin.parent().unwrap().parent().unwrap().join("wheels")
}

/// Files in `dir` whose name starts with `prefix` and ends with `.whl`.
fn wheels_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".whl")
        })
        .collect();
    found.sort();
    found
}

/// A setuptools wheel: the wheelhouse's, else the newest virtualenv embeds.
fn setuptools_wheel(wheelhouse: &Path, python: &str) -> PathBuf {
    if let Some(w) = wheels_in(wheelhouse, "setuptools-").pop() {
        return w;
    }
    let script = "import pathlib, virtualenv.seed.wheels.embed as e\n\
                  ws = sorted(pathlib.Path(e.__file__).parent.glob('setuptools-*.whl'),\n\
                  key=lambda p: [int(x) for x in p.name.split('-')[1].split('.') if x.isdigit()])\n\
                  print(ws[-1] if ws else '')";
    let out = Command::new(python).args(["-c", script]).output().unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && !path.is_empty(),
        "no setuptools wheel in {} nor among virtualenv's embedded wheels ({python}): {}; \
         put one in the wheelhouse (pip download setuptools -d DIR)",
        wheelhouse.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(path)
}

struct Sandbox {
    home: tempfile::TempDir,
    repo: PathBuf,
    pre_commit: PathBuf,
}

impl Sandbox {
    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    /// `program` in the project, with pip held to the local folder and a
    /// fake cargo first on PATH.
    fn cmd(&self, program: &Path, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("fake-bin").display(),
            std::env::var("PATH").unwrap()
        );
        Command::new(program)
            .args(args)
            .current_dir(&self.repo)
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", self.path("pre-commit-cache"))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", self.path("links"))
            .env("PIP_CACHE_DIR", self.path("pip-cache"))
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("VIRTUALENV_NO_PERIODIC_UPDATE", "1")
            .env("VIRTUALENV_OVERRIDE_APP_DATA", self.path("virtualenv-data"))
            .env("FAKE_CARGO_LOG", self.path("cargo.log"))
            .env("GIT_AUTHOR_NAME", "Dev")
            .env("GIT_AUTHOR_EMAIL", "dev@example.com")
            .env("GIT_COMMITTER_NAME", "Dev")
            .env("GIT_COMMITTER_EMAIL", "dev@example.com")
            .env_remove("HF_ENDPOINT")
            .env_remove("HF_TOKEN")
            .env_remove("PIP_INDEX_URL")
            .env_remove("PIP_EXTRA_INDEX_URL")
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap()
    }

    fn git(&self, args: &[&str]) {
        let out = self.cmd(Path::new("git"), args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pre_commit(&self, args: &[&str]) -> (bool, String) {
        let out = self.cmd(&self.pre_commit, args);
        (out.status.success(), output_text(&out))
    }

    /// What the fake cargo was asked to do (nothing, if all is well).
    fn cargo_calls(&self) -> String {
        std::fs::read_to_string(self.path("cargo.log")).unwrap_or_default()
    }
}

impl HookRepo for Sandbox {
    fn repo(&self) -> &Path {
        &self.repo
    }

    fn git(&self, args: &[&str]) {
        Sandbox::git(self, args)
    }

    fn commit(&self, message: &str) -> (bool, String) {
        let out = self.cmd(Path::new("git"), &["commit", "-m", message]);
        (out.status.success(), output_text(&out))
    }
}

/// The mirror repository, as its maintainers publish it: the files of
/// deploy/pre-commit-mirror/, committed and tagged vVERSION.
fn hook_repo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in MIRROR_FILES {
        std::fs::copy(
            Path::new(ROOT).join("deploy/pre-commit-mirror").join(f),
            dir.join(f),
        )
        .unwrap();
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", &format!("hfleaks {VERSION}")]);
    git(dir, &["tag", &format!("v{VERSION}")]);
}

fn sandbox() -> Option<Sandbox> {
    let Some(pre_commit) = pre_commit() else {
        assert!(
            std::env::var_os("HFLEAKS_REQUIRE_PRECOMMIT").is_none(),
            "pre-commit is required (HFLEAKS_REQUIRE_PRECOMMIT is set) but not installed"
        );
        eprintln!(
            "SKIPPED: pre-commit is not installed (pip install pre-commit; .ci/run installs it)"
        );
        return None;
    };
    let house = wheelhouse();
    let wheels = wheels_in(&house, &format!("hfleaks-{VERSION}-"));
    if wheels.is_empty() {
        assert!(
            std::env::var_os("HFLEAKS_REQUIRE_WHEEL").is_none(),
            "no hfleaks-{VERSION}-*.whl in {} (HFLEAKS_REQUIRE_WHEEL is set): \
             build it with `maturin build --release --locked --out {}`",
            house.display(),
            house.display()
        );
        eprintln!(
            "SKIPPED: no hfleaks-{VERSION}-*.whl in {} (maturin build --release --locked; .ci/run builds it)",
            house.display()
        );
        return None;
    }
    let home = tempfile::tempdir().unwrap();
    let links = home.path().join("links");
    std::fs::create_dir(&links).unwrap();
    let python = python_of(&pre_commit);
    for w in wheels.iter().chain([&setuptools_wheel(&house, &python)]) {
        std::fs::copy(w, links.join(w.file_name().unwrap())).unwrap();
    }
    // Anything that tries to compile hfleaks fails, and is recorded.
    let cargo = write(
        &home.path().join("fake-bin"),
        "cargo",
        b"#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$FAKE_CARGO_LOG\"\n\
          echo 'cargo must not run: the mirror hook installs the wheel' >&2\nexit 101\n",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let hooks = home.path().join("hfleaks-pre-commit");
    hook_repo(&hooks);
    let repo = home.path().join("project");
    std::fs::create_dir(&repo).unwrap();
    let sb = Sandbox {
        home,
        repo,
        pre_commit,
    };
    sb.git(&["init", "-q", "-b", "main"]);
    write(
        &sb.repo,
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: v{VERSION}\n    hooks:\n      - id: hfleaks\n",
            hooks.display()
        )
        .as_bytes(),
    );
    Some(sb)
}

#[test]
fn mirror_hook_installs_the_wheel_and_blocks_a_staged_token() {
    let Some(sb) = sandbox() else { return };
    let (ok, out) = sb.pre_commit(&["install"]);
    assert!(ok, "pre-commit install: {out}");

    let start = Instant::now();
    let (ok, out) = sb.pre_commit(&["install-hooks"]);
    let took = start.elapsed();
    assert!(ok, "pre-commit install-hooks: {out}");
    eprintln!(
        "pre-commit install-hooks, mirror hook (language: python, the hfleaks wheel): {:.1} s",
        took.as_secs_f64()
    );
    assert_eq!(sb.cargo_calls(), "", "nothing may be compiled:\n{out}");
    // Seconds (the language: rust hook's build took 290 s on 2 cores).
    assert!(
        took.as_secs() < 30,
        "install-hooks took {took:?}: the target is under 30 s"
    );

    // The hook's environment holds the wheel's binary, at Cargo.toml's version.
    let env_bin = std::fs::read_dir(sb.path("pre-commit-cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .flat_map(|repo| std::fs::read_dir(repo).into_iter().flatten())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("py_env-")
        })
        .map(|env| env.join("bin/hfleaks"))
        .find(|b| b.is_file())
        .expect("a py_env-* with bin/hfleaks in pre-commit's cache");
    let v = Command::new(&env_bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!("hfleaks {VERSION}")
    );

    // A clean commit passes.
    write(&sb.repo, "README.md", b"# demo\n");
    sb.git(&["add", "-A"]);
    let (ok, out) = sb.commit("clean start");
    assert!(ok, "a clean commit must pass:\n{out}");

    // A staged token blocks the commit: where, the token redacted, how to
    // fix; fixed (read from the environment), it goes through.
    let out = staged_token_blocks_until_fixed(&sb, &fake_token(41));
    assert!(out.contains("commit blocked"), "{out}");
    assert_eq!(sb.cargo_calls(), "");
}

/// The mirror pins the hfleaks of this Cargo.toml, and its hook runs what
/// the main repository's hook runs.
#[test]
fn mirror_pins_cargo_version_and_runs_the_same_hook() {
    let pyproject: toml::Value = toml::from_str(
        &std::fs::read_to_string(format!("{ROOT}/deploy/pre-commit-mirror/pyproject.toml"))
            .unwrap(),
    )
    .unwrap();
    let deps: Vec<&str> = pyproject["project"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        deps,
        [format!("hfleaks=={VERSION}")],
        "deploy/pre-commit-mirror/pyproject.toml must pin Cargo.toml's version"
    );
    assert_eq!(
        pyproject["build-system"]["build-backend"].as_str(),
        Some("setuptools.build_meta")
    );

    let hook = |path: &str| {
        let text = std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap();
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        docs[0]
            .as_vec()
            .unwrap()
            .iter()
            .find(|h| h["id"].as_str() == Some("hfleaks"))
            .cloned()
            .unwrap_or_else(|| panic!("{path}: no hook with id hfleaks"))
    };
    let mirror = hook("deploy/pre-commit-mirror/.pre-commit-hooks.yaml");
    let main = hook(".pre-commit-hooks.yaml");
    assert_eq!(mirror["language"].as_str(), Some("python"));
    assert_eq!(
        main["language"].as_str(),
        Some("rust"),
        "the fallback stays"
    );
    for key in [
        "entry",
        "pass_filenames",
        "always_run",
        "stages",
        "minimum_pre_commit_version",
    ] {
        assert_eq!(mirror[key], main[key], "{key}");
    }

    // The root pyproject.toml (the wheel) takes its version from Cargo.toml.
    let wheel: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{ROOT}/pyproject.toml")).unwrap())
            .unwrap();
    assert_eq!(wheel["project"]["name"].as_str(), Some("hfleaks"));
    assert!(wheel["project"].get("version").is_none());
    assert_eq!(
        wheel["project"]["dynamic"].as_array().unwrap(),
        &[toml::Value::String("version".into())]
    );
    assert_eq!(wheel["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
}
