//! The incident view of a report: one [`Incident`] per distinct token
//! (grouped by `secret_sha256`), with every place it appears, its exposure
//! window, what verification said, and the ordered steps to fix it with
//! ready commands. Data only; `report::text` (and `report::html`) render
//! it, and JSON carries it as `remediation`.

use serde::{Deserialize, Serialize};

use super::{CommitInfo, Finding, Status, redact, sha256_hex};
use crate::rules::Severity;

/// One distinct leaked token and how to deal with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub secret_sha256: String,
    /// The token as the report shows it (redacted unless `--show-secrets`).
    pub secret: String,
    pub rule_id: String,
    /// The highest severity of its findings.
    pub severity: Severity,
    /// Where it appears: `path:line:column`, with the commit when known.
    pub places: Vec<Place>,
    /// When it was first committed, and whether it is still there.
    pub exposure: Exposure,
    /// `valid`, `invalid`, `unknown`, or null when not verified.
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// What to do, in order.
    pub steps: Vec<Step>,
}

/// One place a token appears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub path: String,
    pub line: usize,
    pub column: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// A `.env`-style file git ignores: it never reached a commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_only: Option<bool>,
    /// `hfleaks hub`: the repo (`NS/NAME`, `datasets/NS/NAME`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// `hfleaks hub`: the link to the file at its commit, or to the comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `hfleaks hub`: the discussion or pull request holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discussion: Option<u64>,
    /// `hfleaks hub`: the LFS or Xet object (its oid) whose content holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfs: Option<String>,
    /// A Parquet or Arrow file: the cell's row and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<super::Record>,
}

/// The exposure window of a token in git history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// The earliest commit that introduced it (null outside history).
    pub introduced: Option<CommitInfo>,
    /// Still in HEAD's tree somewhere (null outside history).
    pub at_head: Option<bool>,
    /// The latest commit that removed it, when it is no longer at HEAD.
    pub removed_in: Option<CommitInfo>,
}

/// One step of the fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `revoke`, `replace`, `ignore`, `clean-discussion`, `delete-lfs-object`,
    /// `delete-bucket-file`, `move-to-secret`, `purge-history`, `purge-logs`,
    /// `watch`.
    pub action: String,
    pub text: String,
    /// Ready commands or snippets, one per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

/// The incidents of `findings` (raw secrets, before redaction), most
/// severe first. `remediation` gives a rule's own fix text; with
/// `show_secrets` the history purge file names the token itself, else a
/// pattern built from its redacted form.
pub fn incidents(
    findings: &[Finding],
    remediation: &dyn Fn(&str) -> Option<String>,
    show_secrets: bool,
) -> Vec<Incident> {
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in findings {
        match index.get(f.secret_sha256.as_str()) {
            Some(&i) => groups[i].1.push(f),
            None => {
                index.insert(&f.secret_sha256, groups.len());
                groups.push((f.secret_sha256.clone(), vec![f]));
            }
        }
    }
    let mut out: Vec<Incident> = groups
        .into_iter()
        .map(|(sha, list)| incident(sha, &list, remediation, show_secrets))
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.places[0].path.cmp(&b.places[0].path))
    });
    out
}

fn incident(
    sha: String,
    list: &[&Finding],
    remediation: &dyn Fn(&str) -> Option<String>,
    show_secrets: bool,
) -> Incident {
    let first = list[0];
    let verification = list.iter().find_map(|f| f.verification.as_ref());
    let mut exposure = Exposure::default();
    for f in list {
        if let Some(c) = &f.commit {
            if exposure
                .introduced
                .as_ref()
                .is_none_or(|e| c.seconds() < e.seconds())
            {
                exposure.introduced = Some(c.clone());
            }
        }
        if let Some(at) = f.at_head {
            exposure.at_head = Some(exposure.at_head.unwrap_or(false) || at);
        }
        if let Some(r) = &f.removed_in {
            if exposure
                .removed_in
                .as_ref()
                .is_none_or(|e| r.seconds() > e.seconds())
            {
                exposure.removed_in = Some(r.clone());
            }
        }
    }
    if exposure.at_head == Some(true) {
        exposure.removed_in = None;
    }
    let places: Vec<Place> = list
        .iter()
        .map(|f| Place {
            path: f.path.clone(),
            line: f.line,
            column: f.column,
            commit: f.commit.as_ref().map(|c| c.id.clone()),
            encoding: f.encoding.clone(),
            local_only: f.local_only,
            repo: f.repo.as_ref().map(|r| r.display()),
            url: f.url.clone(),
            discussion: f.discussion.as_ref().map(|d| d.num),
            lfs: f.lfs.as_ref().map(|l| l.oid.clone()),
            record: f.record.clone(),
        })
        .collect();
    let status = verification.map(|v| v.status);
    let owner = verification
        .and_then(|v| v.owner.as_ref())
        .map(|o| o.name.clone());
    let role = verification
        .and_then(|v| v.token.as_ref())
        .and_then(|t| t.role.clone());
    let in_history = list.iter().any(|f| f.commit.is_some());
    let steps = steps(
        first,
        status,
        owner.as_deref(),
        in_history,
        &places,
        remediation,
        show_secrets,
    );
    Incident {
        secret: shown(first, show_secrets),
        secret_sha256: sha,
        rule_id: first.rule_id.clone(),
        severity: list
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(first.severity),
        places,
        exposure,
        status,
        owner,
        role,
        steps,
    }
}

/// Whether a finding holds its secret itself (not the redacted form, as in
/// a report read back): the secret hashes to its `secret_sha256`.
fn is_raw(f: &Finding) -> bool {
    sha256_hex(f.secret.as_bytes()) == f.secret_sha256
}

/// A secret as the report shows it: in full with `show_secrets`, else
/// redacted (once: a secret read back from a redacted report stays as is).
fn shown(f: &Finding, show_secrets: bool) -> String {
    if (show_secrets && is_raw(f)) || !is_raw(f) {
        f.secret.clone()
    } else {
        redact(&f.secret)
    }
}

/// The length of a finding's secret: the secret's own, or (read back from a
/// redacted report) the span it covers on its line.
fn secret_len(f: &Finding) -> Option<usize> {
    if is_raw(f) {
        Some(f.secret.chars().count())
    } else if f.end_line == f.line && f.encoding.is_none() && f.end_column > f.column {
        Some(f.end_column - f.column)
    } else {
        None
    }
}

/// `s` quoted for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn step(action: &str, text: impl Into<String>, commands: Vec<String>) -> Step {
    Step {
        action: action.to_string(),
        text: text.into(),
        commands,
    }
}

#[allow(clippy::too_many_arguments)]
fn steps(
    f: &Finding,
    status: Option<Status>,
    owner: Option<&str>,
    in_history: bool,
    places: &[Place],
    remediation: &dyn Fn(&str) -> Option<String>,
    show_secrets: bool,
) -> Vec<Step> {
    let mut out = Vec::new();
    let short = super::short_id(&f.secret_sha256);
    let jwt = f.secret.starts_with("hf_jwt_");
    match status {
        Some(Status::Invalid) => out.push(step(
            "revoke",
            "Verification says it no longer works (revoked or never valid): nothing to revoke.",
            vec![],
        )),
        _ if jwt => out.push(step(
            "purge-logs",
            remediation(&f.rule_id).unwrap_or_else(|| {
                "It expires within 60 minutes; purge the CI job log that printed it.".into()
            }),
            vec![],
        )),
        _ => {
            let who = owner
                .map(|o| format!(" (signed in as {o})"))
                .unwrap_or_default();
            let settings = if f.secret.starts_with("api_org_") {
                "the organization's settings on https://huggingface.co".to_string()
            } else {
                format!("https://huggingface.co/settings/tokens{who}")
            };
            out.push(step(
                "revoke",
                format!(
                    "Revoke it first{}: ask the Hub to revoke it, or delete it at {settings}.",
                    if status == Some(Status::Valid) { " — it is live" } else { "" }
                ),
                vec![
                    "hfleaks revoke --yes < token.txt        # token.txt: the token, one line; or:".into(),
                    "hfleaks revoke --from-report REPORT.json --only-valid   # a report written with --show-secrets".into(),
                ],
            ));
        }
    }
    if !jwt {
        out.push(step(
            "replace",
            "Create a least-privilege replacement (a fine-grained token scoped to what the code needs) and read it from the environment, never from the code.",
            vec![
                "import os".into(),
                "from huggingface_hub import login".into(),
                "login(token=os.environ[\"HF_TOKEN\"])   # huggingface_hub also reads HF_TOKEN by itself".into(),
                "# CI: store it as a secret named HF_TOKEN (GitHub: gh secret set HF_TOKEN; GitLab: a masked CI/CD variable)".into(),
            ],
        ));
    }
    for p in places.iter().filter(|p| p.local_only == Some(false)) {
        let name = p.path.rsplit('/').next().unwrap_or(&p.path);
        out.push(step(
            "ignore",
            format!(
                "{} is not ignored by git (or is tracked already): keep secrets files out of commits.",
                p.path
            ),
            vec![format!(
                "echo {} >> .gitignore && git rm --cached --ignore-unmatch -- {}",
                shell_quote(name),
                shell_quote(&p.path)
            )],
        ));
    }
    let comments: Vec<&Place> = places.iter().filter(|p| p.discussion.is_some()).collect();
    if !comments.is_empty() {
        out.push(step(
            "clean-discussion",
            "Delete the comment, or the discussion, that holds it: editing it away is not enough, the Hub keeps a comment's earlier revisions in its edit history for anyone to read.",
            comments.iter().filter_map(|p| p.url.clone()).collect(),
        ));
    }
    out.extend(dataset_steps(places));
    out.extend(storage_steps(places));
    out.extend(variable_steps(places));
    if in_history {
        let line = purge_line(&f.secret, is_raw(f), secret_len(f), short, show_secrets);
        // Hub repos: a mirror clone of each, purged and pushed back.
        let mut hub_repos: Vec<(String, String)> = places
            .iter()
            .filter(|p| p.commit.is_some())
            .filter_map(|p| {
                let url = p.url.as_deref()?;
                let (web, _) = url
                    .split_once("/blob/")
                    .or_else(|| url.split_once("/commit/"))?;
                let folder: String = p
                    .repo
                    .as_deref()?
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                Some((web.to_string(), folder))
            })
            .collect();
        hub_repos.sort();
        hub_repos.dedup();
        if !hub_repos.is_empty() {
            let mut commands = vec![format!(
                "printf '%s\\n' '{line}' > hfleaks-replacements.txt"
            )];
            for (web, name) in &hub_repos {
                commands.push(format!(
                    "git clone --mirror {web} {name}.git && git -C {name}.git filter-repo --replace-text ../hfleaks-replacements.txt --replace-message ../hfleaks-replacements.txt && git -C {name}.git push --force --all && git -C {name}.git push --force --tags"
                ));
            }
            out.push(step(
                "purge-history",
                "Remove it from each Hub repo's history, after revoking it: rewriting history does not un-leak a token that was already cloned or cached. A pull request's ref (refs/pr/N) is the Hub's: close that pull request.",
                commands,
            ));
        }
    }
    if in_history && !places.iter().any(|p| p.repo.is_some()) {
        let line = purge_line(&f.secret, is_raw(f), secret_len(f), short, show_secrets);
        out.push(step(
            "purge-history",
            "Remove it from the history, after revoking it: rewriting history does not un-leak a token that was already pushed, cloned or cached.",
            vec![
                format!("printf '%s\\n' '{line}' > hfleaks-replacements.txt"),
                "git filter-repo --replace-text hfleaks-replacements.txt".into(),
                "git push --force-with-lease --all && git push --force-with-lease --tags".into(),
            ],
        ));
    }
    out.push(step(
        "watch",
        "Check the owner's recent activity on the Hub (pushes, new tokens, settings) for what you did not do.",
        vec![],
    ));
    out
}

/// What a token in an LFS object's content or in a bucket file needs
/// besides: neither goes away with a history rewrite.
/// Rows of Parquet and Arrow files that hold the token: dropped (or
/// redacted) and the file written again, since no comment can sit in a
/// cell to accept it.
fn dataset_steps(places: &[Place]) -> Vec<Step> {
    let mut rows: std::collections::BTreeMap<&str, std::collections::BTreeSet<u64>> =
        Default::default();
    for p in places {
        if let Some(r) = &p.record {
            rows.entry(p.path.as_str()).or_default().insert(r.row);
        }
    }
    if rows.is_empty() {
        return Vec::new();
    }
    let commands = rows
        .iter()
        .map(|(path, rows)| {
            let list: Vec<String> = rows.iter().map(u64::to_string).collect();
            let file = path.rsplit('/').next().unwrap_or(path);
            if file.ends_with(".parquet") {
                let py = serde_json::to_string(path).unwrap_or_default();
                let code = format!(
                    "import pyarrow.parquet as pq; t = pq.read_table({py}); drop = {{{}}}; \
                     pq.write_table(t.take([i for i in range(t.num_rows) if i not in drop]), {py})",
                    list.join(", ")
                );
                format!("python3 -c {}", shell_quote(&code))
            } else {
                format!("{path}: rows {}", list.join(", "))
            }
        })
        .collect();
    vec![step(
        "drop-rows",
        "Drop or redact the rows that hold it (0-based, as listed), write the file again and push it: the old file stays in the repo's history and storage until purged as below.",
        commands,
    )]
}

fn storage_steps(places: &[Place]) -> Vec<Step> {
    let mut out = Vec::new();
    let mut objects: Vec<String> = places
        .iter()
        .filter_map(|p| {
            let oid = p.lfs.as_deref()?;
            let repo = p.repo.as_deref()?;
            let (kind, id) = match repo.split_once('/') {
                Some(("datasets", id)) => ("dataset", id),
                Some(("spaces", id)) => ("space", id),
                Some(("kernels", id)) => ("kernel", id),
                _ => ("model", repo),
            };
            Some(format!(
                "python3 -c \"from huggingface_hub import HfApi; a = HfApi(); \
                 a.permanently_delete_lfs_files('{id}', [f for f in a.list_lfs_files('{id}', repo_type='{kind}') \
                 if f.file_oid == '{oid}'], repo_type='{kind}')\""
            ))
        })
        .collect();
    objects.sort();
    objects.dedup();
    if !objects.is_empty() {
        out.push(step(
            "delete-lfs-object",
            "It is in the content of an LFS or Xet file: purging git history removes only the pointer, and the object stays downloadable by its oid until it is deleted from the repo's storage (Settings → Storage, or huggingface_hub as below). Upload a cleaned copy first if the file is still needed.",
            objects,
        ));
    }
    let files: Vec<String> = places
        .iter()
        .filter(|p| p.repo.as_deref().is_some_and(|r| r.starts_with("buckets/")))
        .filter_map(|p| p.url.clone())
        .collect();
    if !files.is_empty() {
        out.push(step(
            "delete-bucket-file",
            "Delete the file from the Storage Bucket, or overwrite it with a cleaned copy: a bucket keeps no history, so that removes it.",
            files,
        ));
    }
    out
}

/// What a token in a Space variable needs besides: anyone can read a
/// variable on the Space's settings page, and every duplicate of the Space
/// copied it. Its places are `variables/KEY` of a `spaces/NS/NAME` repo,
/// with no commit.
fn variable_steps(places: &[Place]) -> Vec<Step> {
    let safe = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_".contains(c) || extra.contains(c))
    };
    let mut commands: Vec<String> = Vec::new();
    for p in places
        .iter()
        .filter(|p| p.commit.is_none() && p.discussion.is_none())
    {
        let (Some(id), Some(key)) = (
            p.repo.as_deref().and_then(|r| r.strip_prefix("spaces/")),
            p.path.strip_prefix("variables/"),
        ) else {
            continue;
        };
        let mut add = |c: String| {
            if !commands.contains(&c) {
                commands.push(c);
            }
        };
        if let Some(url) = &p.url {
            add(url.clone());
        }
        if safe(id, "-./") && safe(key, "") {
            add(format!(
                "python3 -c \"import os; from huggingface_hub import HfApi; a = HfApi(); \
                 a.add_space_secret('{id}', '{key}', os.environ['NEW_VALUE']); \
                 a.delete_space_variable('{id}', '{key}')\"   # NEW_VALUE: the replacement token"
            ));
        }
    }
    if commands.is_empty() {
        return Vec::new();
    }
    vec![step(
        "move-to-secret",
        "It is in a Space variable: anyone can read it on the Space's settings page, and every duplicate of the Space copied it. Revoke it (deleting the variable does not reach the copies), move the new value to a Space secret (Settings → Variables and secrets) and delete the variable, then check the Space's duplicates for their copy.",
        commands,
    )]
}

/// A `git filter-repo --replace-text` line: the token itself with
/// `--show-secrets`, else a regex from its redacted form (prefix, four
/// characters at each end, the length of the rest) that matches no other
/// text in practice and reveals no more than the report.
fn purge_line(
    secret: &str,
    raw: bool,
    len: Option<usize>,
    short: &str,
    show_secrets: bool,
) -> String {
    let replacement = format!("HF_TOKEN_REMOVED_{short}");
    if show_secrets && raw {
        return format!("{secret}==>{replacement}");
    }
    let shown = if raw {
        redact(secret)
    } else {
        secret.to_string()
    };
    let (head, tail) = shown.split_once('…').unwrap_or((&shown, ""));
    let visible = head.chars().count() + tail.chars().count();
    let middle = match len {
        Some(len) => format!("{{{}}}", len.saturating_sub(visible)),
        None => "+".to_string(),
    };
    format!(
        "regex:{}[A-Za-z0-9_.-]{middle}{}==>{replacement}",
        regex::escape(head),
        regex::escape(tail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_a_space_variable_says_to_move_it_to_a_secret() {
        let place = |repo: &str, path: &str| Place {
            path: path.into(),
            line: 1,
            column: 1,
            commit: None,
            encoding: None,
            local_only: None,
            repo: Some(repo.into()),
            url: Some(format!("https://huggingface.co/{repo}/settings")),
            discussion: None,
            lfs: None,
            record: None,
        };
        let steps = variable_steps(&[
            place("spaces/acme/demo", "variables/HF_TOKEN"),
            place("spaces/acme/demo", "variables/bad key'"),
            place("acme/model", "variables/x.py"),
        ]);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].action, "move-to-secret");
        assert!(steps[0].text.contains("duplicate"));
        let c = &steps[0].commands;
        assert_eq!(c[0], "https://huggingface.co/spaces/acme/demo/settings");
        assert!(
            c[1].contains("delete_space_variable('acme/demo', 'HF_TOKEN')"),
            "{c:?}"
        );
        // A key that is no plain name gets the link only.
        assert_eq!(c.len(), 2, "{c:?}");
    }

    const T: &str = "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"; // hfleaks:allow

    #[test]
    fn the_purge_pattern_matches_the_token_and_shows_no_more_than_the_report() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        let line = purge_line(T, true, Some(T.len()), "3a3465b61b5a", false);
        let (pattern, replacement) = line.split_once("==>").unwrap();
        assert_eq!(replacement, "HF_TOKEN_REMOVED_3a3465b61b5a");
        let re =
            regex::Regex::new(&format!("^{}$", pattern.strip_prefix("regex:").unwrap())).unwrap();
        assert!(re.is_match(T));
        assert!(!line.contains(&T[7..T.len() - 4]));
        assert_eq!(
            purge_line(T, true, Some(T.len()), "x", true),
            format!("{T}==>HF_TOKEN_REMOVED_x")
        );
        // Read back from a redacted report, the same line.
        assert_eq!(
            purge_line(&redact(T), false, Some(T.len()), "3a3465b61b5a", false),
            line
        );
    }
}
