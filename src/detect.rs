//! Turns the engine's matches in one chunk of content into [`Finding`]s:
//! line and column, the secret's hash, notebook cell, and the inline
//! `hfleaks:allow` marker. Every source (directory, stdin, git, staged
//! index, commit messages) feeds the one [`Collector`] here, so a finding
//! looks the same wherever it came from. Also redacts free text with the
//! same engine, so that whatever the rules find is hidden wherever it is
//! quoted.

use std::sync::Mutex;

use crate::engine::{Engine, LineCounter, line_of};
use crate::finding::{Finding, Origin, ScanError, redact, redact_tokenish, sha256_hex};
use crate::notebook::{CellMap, is_notebook};
use crate::sources::Sink;
use crate::ui::{self, Progress};

/// The findings of one chunk, with the chunk's origin.
#[derive(Debug)]
pub struct Hit {
    pub origin: Origin,
    pub findings: Vec<Finding>,
}

/// What a run of sources produced: the chunks with findings, in the order
/// they arrived, and the problems met.
#[derive(Debug, Default)]
pub struct Collected {
    pub hits: Vec<Hit>,
    pub errors: Vec<ScanError>,
}

impl Collected {
    /// Adds what another collector gathered.
    pub fn extend(&mut self, other: Collected) {
        self.hits.extend(other.hits);
        self.errors.extend(other.errors);
    }

    /// Every finding, in arrival order, dropping the origins.
    pub fn into_findings(self) -> (Vec<Finding>, Vec<ScanError>) {
        let findings = self.hits.into_iter().flat_map(|h| h.findings).collect();
        (findings, self.errors)
    }
}

/// The sink every source feeds: matches each chunk with the engine, keeps
/// the findings with their origin, shows and keeps each problem, notes
/// what was skipped, and ticks the progress bar. Safe to feed from any
/// number of threads.
pub struct Collector<'a> {
    engine: &'a Engine,
    hits: Mutex<Vec<Hit>>,
    errors: Mutex<Vec<ScanError>>,
    progress: Progress,
}

impl<'a> Collector<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        Collector::with_progress(engine, Progress::new(0, ""))
    }

    /// A collector that ticks `progress` once per item done.
    pub fn with_progress(engine: &'a Engine, progress: Progress) -> Self {
        Collector {
            engine,
            hits: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            progress,
        }
    }

    /// What was collected; the progress bar is cleared.
    pub fn finish(self) -> Collected {
        self.progress.finish();
        Collected {
            hits: lock_into(self.hits),
            errors: lock_into(self.errors),
        }
    }
}

fn lock_into<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|e| e.into_inner())
}

impl Sink for Collector<'_> {
    fn chunk(&self, origin: &Origin, content: &[u8]) {
        let notebook = match origin {
            // The pack pass meets blobs before their paths: cells are
            // located in any blob, and dropped later for other paths.
            Origin::Blob { path: None, .. } => true,
            other => is_notebook(other.path()),
        };
        let mut findings = detect_as(self.engine, content, origin.path(), notebook);
        findings.retain(|f| origin.covers_line(f.line));
        if !findings.is_empty() {
            let hit = Hit {
                origin: origin.clone(),
                findings,
            };
            self.hits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(hit);
        }
    }

    fn error(&self, error: ScanError) {
        self.progress.tick(0);
        ui::error(&error);
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error);
    }

    fn skipped(&self, origin: &Origin, size: u64) {
        self.progress.tick(0);
        ui::note(format!(
            "skipped {}: larger than --max-file-size ({})",
            origin.place(),
            ui::bytes(size)
        ));
    }

    fn progress(&self, bytes: u64) {
        self.progress.tick(bytes);
    }
}

/// `text` with every secret the engine's rules find in it redacted, and
/// token-shaped runs too weak for a rule redacted as well.
pub fn redact_text(engine: &Engine, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in engine.scan(text.as_bytes()) {
        // A byte regex may end a span inside a character: widen it to
        // character boundaries.
        let mut start = m.span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = m.span.end.min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&redact(&text[start..end]));
        at = end;
    }
    out.push_str(&text[at..]);
    redact_tokenish(&out)
}

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
    fn text_is_redacted_by_every_rule_including_user_rules() {
        let mut rules = rules::builtin();
        let user = "[[rules]]\nid = \"acme-key\"\nname = \"Acme\"\ndescription = \"d\"\n\
                    regex = \"acme_[A-Za-z0-9]{32}\"\nkeywords = [\"acme_\"]\n\
                    severity = \"high\"\nremediation = \"r\"\n";
        rules.extend(rules::parse_rules(user, "user.toml").unwrap());
        let e = Engine::new(rules);
        let key = format!("acme_{}", "Zq7RkWvLpNcXyBdGhJsTfUaEoIqVrKw3");
        let text = format!("add {T} and {key}, call hf_hub_download");
        let redacted = redact_text(&e, &text);
        assert_eq!(
            redacted,
            "add hf_QmZt…KwPz and acme_Zq7R…rKw3, call hf_hub_download"
        );
    }

    #[test]
    fn a_staged_origin_keeps_only_findings_on_added_lines() {
        let e = Engine::new(rules::builtin());
        let collector = Collector::new(&e);
        let text = format!("a = '{T}'\nb = '{T}'\n");
        let origin = Origin::Staged {
            path: "a.py".into(),
            added_lines: Some([2].into_iter().collect()),
        };
        collector.chunk(&origin, text.as_bytes());
        let (findings, errors) = collector.finish().into_findings();
        assert!(errors.is_empty());
        assert_eq!(findings.iter().map(|f| f.line).collect::<Vec<_>>(), [2]);
        assert_eq!(findings[0].path, "a.py");
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
