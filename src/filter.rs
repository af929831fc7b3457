//! Drops the findings a user has explicitly accepted: secrets and paths
//! listed in `.hfleaksignore`, and findings already present in a baseline
//! report. (The inline `hfleaks:allow` marker needs the content, so it is
//! applied in `detect`.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;

use crate::finding::Finding;

/// The name of the project-level ignore file.
pub const IGNORE_FILE: &str = ".hfleaksignore";

/// Accepted secrets, paths and baseline entries.
#[derive(Default)]
pub struct Filters {
    secrets: HashSet<String>,
    paths: Vec<Gitignore>,
    baseline: HashSet<(String, String, String)>,
    /// Cells of tables accepted by place (`PATH@row=N[,column=C]`): no
    /// inline marker can sit in a cell.
    records: Vec<RecordPlace>,
    /// Paths the user named on the command line: like ripgrep, an ignore
    /// pattern never hides a path named explicitly, nor what is below it.
    roots: Vec<String>,
}

impl Filters {
    /// Reads each existing ignore file and the baseline, if any.
    pub fn load(ignore_files: &[PathBuf], baseline: Option<&Path>) -> Result<Filters> {
        let mut filters = Filters::default();
        for file in ignore_files {
            if file.is_file() {
                filters.add_ignore_file(file)?;
            }
        }
        if let Some(path) = baseline {
            filters.baseline = load_baseline(path)?;
        }
        Ok(filters)
    }

    /// Adds one ignore file: `secret_sha256` values (64 hex digits) and
    /// gitignore-style path globs, one per line; `#` starts a comment.
    pub fn add_ignore_file(&mut self, file: &Path) -> Result<()> {
        let text = std::fs::read(file)
            .with_context(|| format!("{}: cannot read ignore file", file.display()))?;
        let text = String::from_utf8_lossy(&text);
        let root = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        self.add_ignore_text(&text, root, &file.display().to_string())
    }

    /// Adds ignore-file lines whose globs are relative to `root`.
    pub fn add_ignore_text(&mut self, text: &str, root: &Path, name: &str) -> Result<()> {
        let mut globs = GitignoreBuilder::new(root);
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.len() == 64 && line.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.secrets.insert(line.to_ascii_lowercase());
                continue;
            }
            if let Some(place) = RecordPlace::parse(line, root) {
                self.records
                    .push(place.map_err(|e| anyhow::anyhow!("{name}:{}: {e}", n + 1))?);
                continue;
            }
            globs.add_line(None, line).map_err(|e| {
                anyhow::anyhow!("{name}:{}: invalid path pattern '{line}': {e}", n + 1)
            })?;
        }
        let globs = globs
            .build()
            .with_context(|| format!("{name}: invalid path patterns"))?;
        if !globs.is_empty() {
            self.paths.push(globs);
        }
        Ok(())
    }

    /// Sets the paths named on the command line (as shown in findings).
    pub fn set_roots(&mut self, roots: Vec<String>) {
        self.roots = roots
            .into_iter()
            .map(|r| r.trim_end_matches('/').to_string())
            .collect();
    }

    /// Whether a path glob hides `path`: the path itself or a directory
    /// above it, up to (not including) a root the user named.
    fn path_ignored(&self, path: &str) -> bool {
        if path.is_empty() || self.roots.iter().any(|r| r == path) {
            return false;
        }
        let mut candidates = vec![(path, false)];
        let mut rest = path;
        while let Some(i) = rest.rfind('/') {
            rest = &rest[..i];
            if rest.is_empty() || self.roots.iter().any(|r| r == rest) {
                break;
            }
            candidates.push((rest, true));
        }
        self.paths.iter().any(|g| {
            candidates
                .iter()
                .any(|&(p, is_dir)| g.matched(strip_root(g, Path::new(p)), is_dir).is_ignore())
        })
    }

    /// Whether a finding should be reported.
    pub fn keep(&self, f: &Finding) -> bool {
        if self.secrets.contains(&f.secret_sha256) {
            return false;
        }
        if self.path_ignored(&f.path) {
            return false;
        }
        if self.records.iter().any(|r| r.covers(f)) {
            return false;
        }
        !self
            .baseline
            .contains(&(f.rule_id.clone(), f.secret_sha256.clone(), f.path.clone()))
    }
}

/// A cell of a table named in an ignore file:
/// `[SHA256:]PATH@row=N[,column=C]`.
struct RecordPlace {
    secret: Option<String>,
    /// As findings name it (the ignore file's directory joined in front).
    paths: [String; 2],
    row: u64,
    column: Option<String>,
}

impl RecordPlace {
    /// `None` when the line names no record place (a glob); `Some(Err)`
    /// when it tries and fails.
    fn parse(line: &str, root: &Path) -> Option<Result<RecordPlace, String>> {
        let (head, place) = line.rsplit_once("@row=")?;
        let (secret, path) = match head.split_once(':') {
            Some((sha, path)) if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (Some(sha.to_ascii_lowercase()), path)
            }
            _ => (None, head),
        };
        let (row, column) = match place.split_once(",column=") {
            Some((row, column)) => (row, Some(column.to_string())),
            None => (place, None),
        };
        let Ok(row) = row.parse::<u64>() else {
            return Some(Err(format!(
                "invalid record place '{line}': expected PATH@row=N[,column=C]"
            )));
        };
        let path = path.trim_start_matches("./").to_string();
        let joined = if root == Path::new(".") || root.as_os_str().is_empty() {
            path.clone()
        } else {
            format!("{}/{path}", crate::sources::display_path(root))
        };
        Some(Ok(RecordPlace {
            secret,
            paths: [path, joined],
            row,
            column,
        }))
    }

    fn covers(&self, f: &Finding) -> bool {
        let Some(r) = &f.record else { return false };
        r.row == self.row
            && self.paths.contains(&f.path)
            && self.column.as_ref().is_none_or(|c| *c == r.column)
            && self.secret.as_ref().is_none_or(|s| *s == f.secret_sha256)
    }
}

/// Paths in findings are relative to the scan root; make them comparable
/// with a matcher rooted at the ignore file's directory.
fn strip_root<'a>(g: &Gitignore, path: &'a Path) -> &'a Path {
    let root = g.path();
    if root == Path::new(".") {
        return path;
    }
    path.strip_prefix(root).unwrap_or(path)
}

#[derive(Deserialize)]
struct BaselineReport {
    findings: Vec<BaselineFinding>,
}

#[derive(Deserialize)]
struct BaselineFinding {
    rule_id: String,
    secret_sha256: String,
    path: String,
}

fn load_baseline(path: &Path) -> Result<HashSet<(String, String, String)>> {
    let text =
        std::fs::read(path).with_context(|| format!("baseline {}: cannot read", path.display()))?;
    parse_baseline(&text, &path.display().to_string())
}

/// The `(rule_id, secret_sha256, path)` triples of an hfleaks JSON report.
pub fn parse_baseline(text: &[u8], name: &str) -> Result<HashSet<(String, String, String)>> {
    let report: BaselineReport = match serde_json::from_slice(text) {
        Ok(r) => r,
        Err(e) => bail!("baseline {name}: not an hfleaks JSON report: {e}"),
    };
    Ok(report
        .findings
        .into_iter()
        .map(|f| (f.rule_id, f.secret_sha256.to_ascii_lowercase(), f.path))
        .collect())
}

/// `.hfleaksignore` files that apply to a scan: the one in the current
/// directory and the one at each directory root (or beside each file root).
pub fn project_ignore_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(IGNORE_FILE)];
    for root in roots.iter().filter(|p| p.as_os_str() != "-") {
        let dir = if root.is_dir() {
            root.as_path()
        } else {
            root.parent().unwrap_or(Path::new(""))
        };
        let file = if dir.as_os_str().is_empty() {
            PathBuf::from(IGNORE_FILE)
        } else {
            dir.join(IGNORE_FILE)
        };
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    fn finding(path: &str, sha: &str) -> Finding {
        Finding {
            rule_id: "hf-user-access-token".into(),
            severity: Severity::High,
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 38,
            secret: "x".into(),
            secret_sha256: sha.into(),
            entropy: 4.5,
            commit: None,
            at_head: None,
            removed_in: None,
            notebook: None,
            encoding: None,
            verification: None,
            local_only: None,
            repo: None,
            url: None,
            discussion: None,
            pull_request: None,
            new: None,
            lfs: None,
            record: None,
        }
    }

    #[test]
    fn a_record_place_accepts_only_that_cell() {
        let mut filters = Filters::default();
        let sha = "b".repeat(64);
        let text = format!("data/a.parquet@row=3\n{sha}:data/b.parquet@row=7,column=text\n");
        filters
            .add_ignore_text(&text, Path::new("."), "ignore")
            .unwrap();
        let at = |path: &str, row: u64, column: &str, sha: &str| {
            let mut f = finding(path, sha);
            f.record = Some(crate::finding::Record {
                row,
                column: column.into(),
            });
            filters.keep(&f)
        };
        let other = "c".repeat(64);
        assert!(!at("data/a.parquet", 3, "x", &other));
        assert!(at("data/a.parquet", 4, "x", &other));
        assert!(!at("data/b.parquet", 7, "text", &sha));
        assert!(at("data/b.parquet", 7, "text", &other));
        assert!(at("data/b.parquet", 7, "title", &sha));
        assert!(filters.keep(&finding("data/a.parquet", &other)));
        let bad = Filters::default().add_ignore_text("a.parquet@row=x", Path::new("."), "ignore");
        assert!(bad.is_err());
    }

    #[test]
    fn ignore_file_lists_hashes_and_globs() {
        let sha = "a".repeat(64);
        let mut f = Filters::default();
        f.add_ignore_text(
            &format!(
                "# accepted\n{}\ntests/fixtures/\n*.snap\n",
                sha.to_uppercase()
            ),
            Path::new("."),
            "x",
        )
        .unwrap();
        assert!(!f.keep(&finding("src/a.py", &sha)));
        assert!(!f.keep(&finding("tests/fixtures/deep/a.py", &"b".repeat(64))));
        assert!(!f.keep(&finding("x/y.snap", &"b".repeat(64))));
        assert!(f.keep(&finding("src/a.py", &"b".repeat(64))));
    }

    #[test]
    fn a_root_named_explicitly_is_not_hidden_by_a_glob() {
        let mut f = Filters::default();
        f.add_ignore_text("fixtures/demo/\n", Path::new("."), "x")
            .unwrap();
        assert!(!f.keep(&finding("fixtures/demo/a.py", &"b".repeat(64))));
        f.set_roots(vec!["fixtures/demo".into()]);
        assert!(f.keep(&finding("fixtures/demo/a.py", &"b".repeat(64))));
        f.set_roots(vec!["fixtures/demo/a.py".into()]);
        assert!(f.keep(&finding("fixtures/demo/a.py", &"b".repeat(64))));
    }

    #[test]
    fn bad_glob_names_file_and_line() {
        let mut f = Filters::default();
        let err = f
            .add_ignore_text("ok\n[z-a]\n", Path::new("."), ".hfleaksignore")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(".hfleaksignore:2: invalid path pattern"),
            "{err}"
        );
    }
}
