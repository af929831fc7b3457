//! Turns the engine's matches in one chunk of content into [`Finding`]s:
//! line and column, the secret's hash, notebook cell, and the inline
//! `hfleaks:allow` marker. Every source (directory, stdin, git) goes through
//! here, so a finding looks the same wherever it came from.

use crate::engine::{Engine, LineCounter, line_of};
use crate::finding::{Finding, sha256_hex};
use crate::notebook::{CellMap, is_notebook};

/// The marker that, on the same line as a secret, accepts it.
pub const ALLOW_MARKER: &[u8] = b"hfleaks:allow";

/// Finds the secrets in `content`, reported at `path`.
pub fn detect(engine: &Engine, content: &[u8], path: &str) -> Vec<Finding> {
    detect_as(engine, content, path, is_notebook(path))
}

/// [`detect`], told whether `content` is a notebook (for content whose path
/// is not known yet); findings outside any cell have no `notebook`.
pub fn detect_as(engine: &Engine, content: &[u8], path: &str, notebook: bool) -> Vec<Finding> {
    let matches = engine.scan(content);
    if matches.is_empty() {
        return Vec::new();
    }
    let cells = notebook.then(|| CellMap::new(content));
    let mut lines = LineCounter::new(content);
    let mut findings = Vec::with_capacity(matches.len());
    for m in matches {
        let (line, column) = lines.locate(m.span.start);
        if memchr::memmem::find(line_of(content, m.span), ALLOW_MARKER).is_some() {
            continue;
        }
        let secret_bytes = &content[m.span.start..m.span.end];
        let rule = &engine.rules()[m.rule];
        // Secrets are matched by byte regexes; keep any odd byte visible.
        let secret = String::from_utf8_lossy(secret_bytes).into_owned();
        let newlines = memchr::memchr_iter(b'\n', secret_bytes).count();
        let end_column = match memchr::memrchr(b'\n', secret_bytes) {
            Some(nl) => secret_bytes.len() - nl,
            None => column + secret_bytes.len(),
        };
        findings.push(Finding {
            rule_id: rule.id.clone(),
            severity: rule.severity,
            path: path.to_string(),
            line,
            column,
            end_line: line + newlines,
            end_column,
            secret_sha256: sha256_hex(secret_bytes),
            secret,
            entropy: (m.entropy * 100.0).round() / 100.0,
            commit: None,
            at_head: None,
            removed_in: None,
            notebook: cells.as_ref().and_then(|c| c.locate(m.span.start)),
            encoding: None,
            verification: None,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    const T: &str = "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"; // hfleaks:allow

    #[test]
    fn allow_marker_on_the_same_line_suppresses() {
        let e = Engine::new(rules::builtin());
        let text = format!("a = '{T}'  # hfleaks{}allow\nb = '{T}'\n", ":");
        let f = detect(&e, text.as_bytes(), "x.py");
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].line, f[0].column, f[0].end_column),
            (2, 6, 6 + T.len())
        );
    }

    #[test]
    fn notebook_findings_name_the_cell() {
        let e = Engine::new(rules::builtin());
        let nb = format!(
            "{{\"cells\": [{{\"source\": [\"x\"]}}, {{\"outputs\": [{{\"text\": [\"Logged in\\n{T}\\n\"]}}], \"source\": [\"login(\\\"{T}\\\")\"]}}]}}"
        );
        let f = detect(&e, nb.as_bytes(), "nb/demo.ipynb");
        let cells: Vec<_> = f.iter().map(|f| f.notebook.clone().unwrap()).collect();
        assert_eq!(cells.len(), 2);
        assert_eq!((cells[0].cell, cells[0].part.as_str()), (2, "output"));
        assert_eq!((cells[1].cell, cells[1].part.as_str()), (2, "source"));
    }
}
