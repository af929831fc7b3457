//! Turns the engine's matches in one chunk of content into [`Finding`]s:
//! line and column, the secret's hash, notebook cell, and the inline
//! `hfleaks:allow` marker. Every source (directory, stdin, git, staged
//! index, commit messages) feeds the one [`Collector`] here, so a finding
//! looks the same wherever it came from. Also redacts free text with the
//! same engine, so that whatever the rules find is hidden wherever it is
//! quoted.

use std::sync::{Arc, Mutex};

use crate::config::DetectConfig;
use crate::engine::{Engine, LineCounter, Span, line_of};
use crate::finding::{Finding, Origin, ScanError, redact, redact_tokenish, sha256_hex};
use crate::notebook::{CellMap, is_notebook};
use crate::rules::Rule;
use crate::sources::Sink;
use crate::sources::decode::{DecodedRun, Decoders, utf16_to_utf8};
use crate::sources::{archive, dataset};
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
    scanner: &'a Scanner,
    hits: Mutex<Vec<Hit>>,
    errors: Mutex<Vec<ScanError>>,
    progress: Progress,
}

impl<'a> Collector<'a> {
    pub fn new(scanner: &'a Scanner) -> Self {
        Collector::with_progress(scanner, Progress::new(0, ""))
    }

    /// A collector that ticks `progress` once per item done.
    pub fn with_progress(scanner: &'a Scanner, progress: Progress) -> Self {
        Collector {
            scanner,
            hits: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            progress,
        }
    }

    fn note_skipped(&self, place: &str, size: u64) {
        ui::note(format!(
            "skipped {place}: larger than --max-file-size ({})",
            ui::bytes(size)
        ));
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
        let path = origin.path();
        let scanned = self.scanner.scan(content, path, notebook);
        // A blob whose path is not known yet is named by its id.
        let place = |p: &str| match origin {
            Origin::Blob { path: None, .. } => format!("{}{p}", origin.place()),
            _ => p.to_string(),
        };
        for mut problem in scanned.problems {
            problem.path = place(&problem.path);
            self.error(problem);
        }
        for (member, size) in scanned.skipped {
            self.note_skipped(&place(&member), size);
        }
        let mut findings = scanned.findings;
        // Lines the origin does not contribute (a staged file's unchanged
        // lines) count only for the content itself, not for its members.
        // A cell's lines are its own: the origin's lines do not apply.
        findings.retain(|f| f.path != path || f.record.is_some() || origin.covers_line(f.line));
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
        self.note_skipped(&origin.place(), size);
    }

    fn progress(&self, bytes: u64) {
        self.progress.tick(bytes);
    }
}

/// For each candidate token (`hfleaks verify`, `hfleaks revoke`), the
/// finding of a rule that matches the whole of it, at the candidate's line;
/// or `None` when no rule does. Nothing is decoded: a candidate is taken
/// as written.
pub fn whole_tokens(
    engine: &Arc<Engine>,
    candidates: &[crate::sources::tokens::Candidate],
) -> (Vec<Option<Finding>>, Vec<ScanError>) {
    let scanner = Scanner::plain(engine.clone());
    let collector = Collector::new(&scanner);
    crate::sources::tokens::feed(candidates, &collector);
    let collected = collector.finish();
    let mut hits = collected.hits;
    let found = candidates
        .iter()
        .map(|c| {
            let origin = c.origin();
            hits.iter_mut()
                .filter(|h| h.origin == origin)
                .flat_map(|h| std::mem::take(&mut h.findings))
                .find(|f| f.column == 1 && f.end_line == 1 && f.end_column == c.text.len() + 1)
                .map(|mut f| {
                    f.line = c.line;
                    f.end_line = c.line;
                    f
                })
        })
        .collect();
    (found, collected.errors)
}

/// The problem of a candidate that is no whole token: named (redacted),
/// and never sent.
pub fn not_a_token(c: &crate::sources::tokens::Candidate) -> ScanError {
    ScanError::at(
        &c.origin(),
        format!("not a Hugging Face token ({}): not sent", redact(&c.text)),
    )
}

/// `text` with every secret the scanner's rules find in it redacted: as
/// written, and encoded (a base64 or percent-encoded run that decodes to a
/// secret is replaced whole); token-shaped runs too weak for a rule are
/// redacted as well.
pub fn redact_text(scanner: &Scanner, text: &str) -> String {
    let engine = &scanner.engine;
    let (matches, hits) = engine.scan_with_triggers(text.as_bytes());
    let mut spans: Vec<(Span, String)> = matches
        .iter()
        .map(|m| (m.span, None))
        .chain(
            scanner
                .decoders
                .runs(text.as_bytes(), &hits)
                .into_iter()
                .filter_map(|run| {
                    let secrets: Vec<String> = engine
                        .scan(&run.bytes)
                        .iter()
                        .map(|m| {
                            redact(&String::from_utf8_lossy(
                                &run.bytes[m.span.start..m.span.end],
                            ))
                        })
                        .collect();
                    (!secrets.is_empty()).then(|| (run.span, Some(secrets.join(", "))))
                }),
        )
        .map(|(span, encoded)| {
            let replacement = match encoded {
                Some(secrets) => format!("[encoded: {secrets}]"),
                None => String::new(),
            };
            (span, replacement)
        })
        .collect();
    spans.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (span, replacement) in spans {
        // A byte regex may end a span inside a character: widen it to
        // character boundaries.
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = span.end.min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        if replacement.is_empty() {
            out.push_str(&redact(&text[start..end]));
        } else {
            out.push_str(&replacement);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    redact_tokenish(&out)
}

/// The engine with what unpacks content around it: UTF-16 transcoding,
/// the decoders (base64, percent, `\u`, hex; nested up to
/// `max_decode_depth`) and archive readers (up to `max_archive_depth`),
/// within the bounds of a [`DetectConfig`]. Every source's content goes
/// through [`Scanner::scan`].
pub struct Scanner {
    engine: Arc<Engine>,
    decoders: Decoders,
    config: DetectConfig,
}

/// What scanning one chunk found: findings, problems (an archive that is
/// truncated or hit a bound), and archive members left out for size.
#[derive(Debug, Default)]
pub struct Scanned {
    pub findings: Vec<Finding>,
    pub problems: Vec<ScanError>,
    pub skipped: Vec<(String, u64)>,
}

impl Scanner {
    /// The engine for `rules`, with the decoders' triggers in its prefilter
    /// when `config` decodes, and the scanner around it.
    pub fn build(rules: Vec<Rule>, config: DetectConfig) -> Scanner {
        let decoders = if config.decode {
            let keywords: Vec<String> = rules.iter().flat_map(|r| r.keywords.clone()).collect();
            Decoders::new(&keywords)
        } else {
            Decoders::none()
        };
        let engine = Arc::new(Engine::with_triggers(rules, decoders.triggers()));
        Scanner {
            engine,
            decoders,
            config,
        }
    }

    /// A scanner that only matches (no decoding, no archives).
    pub fn plain(engine: Arc<Engine>) -> Scanner {
        let config = DetectConfig {
            decode: false,
            archives: false,
            ..DetectConfig::default()
        };
        Scanner {
            engine,
            decoders: Decoders::none(),
            config,
        }
    }

    /// The engine, shared (for redaction).
    pub fn shared_engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// Everything found in `content`, reported at `path`; `notebook` says
    /// whether to locate notebook cells (an archive member's own name
    /// decides for it).
    pub fn scan(&self, content: &[u8], path: &str, notebook: bool) -> Scanned {
        let mut out = Scanned::default();
        let mut budget = self.config.max_archive_bytes;
        self.scan_at(content, path, notebook, 0, &mut budget, &mut out);
        out
    }

    fn scan_at(
        &self,
        content: &[u8],
        path: &str,
        notebook: bool,
        depth: usize,
        budget: &mut u64,
        out: &mut Scanned,
    ) {
        if self.config.archives {
            if let Some(table) = dataset::kind(content) {
                if self.open_table(table, content, path, budget, out) {
                    return;
                }
            }
            if let Some(kind) = archive::kind(content) {
                if self.open_archive(kind, content, path, depth, budget, out) {
                    return;
                }
                // Not opened (too deep) or nothing readable in it: its raw
                // bytes are scanned like any file's.
            }
        }
        self.scan_text(content, path, notebook, &mut out.findings);
    }

    /// The findings in `content` taken as text (UTF-8, or UTF-16 with a
    /// byte-order mark), as written and decoded.
    fn scan_text(&self, content: &[u8], path: &str, notebook: bool, out: &mut Vec<Finding>) {
        let (text, encoding) = match utf16_to_utf8(content) {
            Some((utf8, name)) => (std::borrow::Cow::Owned(utf8), Some(name)),
            None => (std::borrow::Cow::Borrowed(content), None),
        };
        let (matches, hits) = self.engine.scan_with_triggers(&text);
        let mut found = findings_from(&self.engine, matches, &text, path, notebook);
        if let Some(name) = encoding {
            for f in &mut found {
                f.encoding = Some(name.to_string());
            }
        }
        out.extend(found);
        if self.config.decode {
            let outer = Located {
                text: &text,
                path,
                notebook,
                cells: std::cell::OnceCell::new(),
                lines: std::cell::RefCell::new(None),
                chain: encoding.map(str::to_string),
            };
            let first = out.len();
            let top = Layer { at: None, depth: 1 };
            self.decoded(&outer, &text, false, &hits, top, out);
            drop_repeats(out, first);
        }
    }

    /// Reads a Parquet or Arrow file's text cells and scans each, its
    /// findings placed at their row and column; whether it was a table.
    /// The cells share the archives' `budget` (`--max-archive-size`); a
    /// cell over the member limit is left out and noted.
    fn open_table(
        &self,
        table: dataset::Table,
        content: &[u8],
        path: &str,
        budget: &mut u64,
        out: &mut Scanned,
    ) -> bool {
        use crate::finding::{Record, printable};
        let limits = archive::Limits {
            member: self.config.max_member_bytes,
            total: self.config.max_archive_bytes,
            ratio: self.config.max_archive_ratio,
        };
        let mut found = Vec::new();
        let read = dataset::read(table, content, &limits, budget, &mut |cell| {
            // Each cell on its own: its places are its own, never compared
            // with another cell's when repeats are dropped.
            let mut in_cell = Vec::new();
            self.scan_text(cell.value, path, false, &mut in_cell);
            for mut f in in_cell {
                f.record = Some(Record {
                    row: cell.row,
                    column: cell.column.to_string(),
                });
                found.push(f);
            }
        });
        if !read.opened {
            return false;
        }
        out.findings.extend(found);
        for p in read.problems {
            out.problems.push(ScanError::new(path, printable(&p)));
        }
        for (cell, size) in read.skipped {
            out.skipped
                .push((format!("{path} {}", printable(&cell)), size));
        }
        true
    }

    /// Opens an archive and scans its members; whether it gave any. The
    /// decompressed bytes of every archive within one top-level input share
    /// one `budget` (`--max-archive-size`), however deep they nest.
    fn open_archive(
        &self,
        kind: archive::Kind,
        content: &[u8],
        path: &str,
        depth: usize,
        budget: &mut u64,
        out: &mut Scanned,
    ) -> bool {
        use crate::finding::printable;
        if depth >= self.config.max_archive_depth {
            out.problems.push(ScanError::new(
                path,
                format!(
                    "archive nested deeper than --max-archive-depth {}: not opened",
                    self.config.max_archive_depth
                ),
            ));
            return false;
        }
        let limits = archive::Limits {
            member: self.config.max_member_bytes,
            total: self.config.max_archive_bytes,
            ratio: self.config.max_archive_ratio,
        };
        if archive::is_stream(kind) {
            // Text is streamed a window of lines at a time; what must be
            // unpacked whole (a tar, a nested archive, a table, a
            // notebook, UTF-16) is opened below.
            let whole = |name: &str, first: &[u8]| {
                is_notebook(name)
                    || archive::kind(first).is_some()
                    || dataset::kind(first).is_some()
                    || first.starts_with(&[0xff, 0xfe])
                    || first.starts_with(&[0xfe, 0xff])
            };
            let mut found = Vec::new();
            let streamed = archive::stream(
                kind,
                content,
                path,
                &limits,
                budget,
                &whole,
                &mut |name, window, first_line| {
                    let inner = format!("{path}!{}", printable(name));
                    let mut in_window = Vec::new();
                    self.scan_text(window, &inner, false, &mut in_window);
                    for mut f in in_window {
                        f.line += first_line;
                        f.end_line += first_line;
                        found.push(f);
                    }
                },
            );
            if let Some(streamed) = streamed {
                out.findings.extend(found);
                for p in &streamed.problems {
                    out.problems.push(ScanError::new(path, printable(p)));
                }
                return true;
            }
        }
        let opened = archive::open(kind, content, path, &limits, budget);
        for p in &opened.problems {
            out.problems.push(ScanError::new(path, printable(p)));
        }
        for (name, size) in &opened.skipped {
            out.skipped
                .push((format!("{path}!{}", printable(name)), *size));
        }
        if opened.members.is_empty() && opened.skipped.is_empty() && !opened.problems.is_empty() {
            return false;
        }
        for m in opened.members {
            let inner = format!("{path}!{}", printable(&m.name));
            self.scan_at(
                &m.data,
                &inner,
                is_notebook(&m.name),
                depth + 1,
                budget,
                out,
            );
        }
        true
    }

    /// Findings in the encoded runs of `data` (the outer text itself, or
    /// what a run of it decoded to), located at the outer run `layer.at`
    /// or at each run's own place in the outer text. `continued`: `data`
    /// is what a run cut from a longer one decoded to, so it may start
    /// mid-run.
    fn decoded(
        &self,
        outer: &Located,
        data: &[u8],
        continued: bool,
        hits: &[(usize, Span)],
        layer: Layer,
        out: &mut Vec<Finding>,
    ) {
        let runs = self.decoders.runs(data, hits);
        for run in &runs {
            self.decoded_run(outer, run, layer, out);
        }
        // Then the opaque runs (no trigger in them) that the trigger runs do
        // not already cover as the same encoding, each handled as soon as
        // it is decoded.
        self.decoders.opaque_runs(data, continued, |o| {
            let covered = runs.iter().any(|r| {
                r.encoding == o.encoding && r.span.start <= o.span.start && o.span.end <= r.span.end
            });
            if !covered {
                self.decoded_run(outer, &o, layer, out);
            }
        });
    }

    /// The findings in one decoded run, and in the runs below it while the
    /// depth allows.
    fn decoded_run(&self, outer: &Located, run: &DecodedRun, layer: Layer, out: &mut Vec<Finding>) {
        let Layer { at, depth } = layer;
        let (span, chain) = match at {
            Some((span, chain)) => (span, format!("{chain}>{}", run.encoding.as_str())),
            None => (run.span, run.encoding.as_str().to_string()),
        };
        let (matches, inner_hits) = self.engine.scan_with_triggers(&run.bytes);
        for m in matches {
            let secret = &run.bytes[m.span.start..m.span.end];
            if let Some(f) = outer.finding(&self.engine, m.rule, secret, m.entropy, span, &chain) {
                out.push(f);
            }
        }
        if depth < self.config.max_decode_depth {
            let inner = Layer {
                at: Some((span, chain.as_str())),
                depth: depth + 1,
            };
            self.decoded(outer, &run.bytes, run.continued, &inner_hits, inner, out);
        }
    }
}

/// Drops each decoded finding (from `first` on) that repeats another at an
/// overlapping place: the same secret (the token in plain text and again
/// in a percent-decoded URL around it, or reached through two chains), or
/// its start (a window that cut the encoded run short). The one with
/// the fewest layers stays, then the longest secret, so raising
/// `--max-decode-depth` never changes a finding a lower depth reports.
fn drop_repeats(found: &mut Vec<Finding>, first: usize) {
    if found.len() <= first {
        return;
    }
    type Place = (usize, usize, usize, usize);
    let layers = |f: &Finding| f.encoding.as_deref().map_or(0, |e| e.split('>').count());
    let place = |f: &Finding| (f.line, f.column, f.end_line, f.end_column);
    let overlaps = |a: &Place, b: &Place| (a.0, a.1) <= (b.2, b.3) && (b.0, b.1) <= (a.2, a.3);
    let mut kept: foldhash::HashMap<&str, Vec<(Place, &str)>> = Default::default();
    for f in &found[..first] {
        kept.entry(&f.path).or_default().push((place(f), &f.secret));
    }
    let mut order: Vec<usize> = (first..found.len()).collect();
    order.sort_by_key(|&i| (layers(&found[i]), std::cmp::Reverse(found[i].secret.len())));
    let mut keep = vec![false; found.len()];
    for i in order {
        let f = &found[i];
        let p = place(f);
        let seen = kept.entry(&f.path).or_default();
        let repeat = seen
            .iter()
            .any(|(q, secret)| overlaps(q, &p) && secret.starts_with(f.secret.as_str()));
        if !repeat {
            seen.push((p, &f.secret));
            keep[i] = true;
        }
    }
    drop(kept);
    let mut i = 0;
    found.retain(|_| {
        let k = i < first || keep[i];
        i += 1;
        k
    });
}

/// Which layer of decoding a text is: the outer run it came from and the
/// chain of encodings so far (none for the outer text), and its depth.
#[derive(Clone, Copy)]
struct Layer<'a> {
    at: Option<(Span, &'a str)>,
    depth: usize,
}

/// The outer text that decoded findings are located in.
struct Located<'a> {
    text: &'a [u8],
    path: &'a str,
    notebook: bool,
    /// The notebook's cells, located only once a decoded finding needs them.
    cells: std::cell::OnceCell<CellMap>,
    /// Lines counted so far, and the last span located: runs come in order,
    /// so the text is counted once, not once per finding.
    lines: std::cell::RefCell<Option<Lines<'a>>>,
    /// The encoding of the text itself (UTF-16), first in every chain.
    chain: Option<String>,
}

/// A line counter and the last span it located.
struct Lines<'a> {
    counter: LineCounter<'a>,
    last: Option<(Span, Position, Position)>,
}

type Position = (usize, usize);

impl Located<'_> {
    /// (line, column) of a span's start and end.
    fn locate(&self, span: Span) -> (Position, Position) {
        let mut slot = self.lines.borrow_mut();
        let lines = slot.get_or_insert_with(|| Lines {
            counter: LineCounter::new(self.text),
            last: None,
        });
        if let Some((last, start, end)) = lines.last {
            if last == span {
                return (start, end);
            }
            if span.start < last.end {
                // Out of order (overlapping runs): count again from the top.
                lines.counter = LineCounter::new(self.text);
            }
        }
        let start = lines.counter.locate(span.start);
        let end = lines.counter.locate(span.end);
        lines.last = Some((span, start, end));
        (start, end)
    }

    /// A finding of `secret` (decoded) at the encoded run `span`, unless
    /// the run's line carries the allow marker.
    fn finding(
        &self,
        engine: &Engine,
        rule: usize,
        secret: &[u8],
        entropy: f64,
        span: Span,
        chain: &str,
    ) -> Option<Finding> {
        if memchr::memmem::find(line_of(self.text, span), ALLOW_MARKER).is_some() {
            return None;
        }
        let ((line, column), (end_line, end_column)) = self.locate(span);
        let rule = &engine.rules()[rule];
        let encoding = match &self.chain {
            Some(c) => format!("{c}>{chain}"),
            None => chain.to_string(),
        };
        let notebook = self
            .notebook
            .then(|| {
                self.cells
                    .get_or_init(|| CellMap::new(self.text))
                    .locate(span.start)
            })
            .flatten();
        let mut f = new_finding(
            rule,
            secret,
            entropy,
            self.path,
            (line, column),
            (end_line, end_column),
        );
        f.notebook = notebook;
        f.encoding = Some(encoding);
        Some(f)
    }
}

/// A finding of `rule` for `secret` at `path`, from `start` to `end`
/// (line, column); the one place a finding is made, plain or decoded.
fn new_finding(
    rule: &Rule,
    secret: &[u8],
    entropy: f64,
    path: &str,
    start: Position,
    end: Position,
) -> Finding {
    Finding {
        rule_id: rule.id.clone(),
        severity: rule.severity,
        path: path.to_string(),
        line: start.0,
        column: start.1,
        end_line: end.0,
        end_column: end.1,
        secret_sha256: sha256_hex(secret),
        // Secrets are matched by byte regexes; keep any odd byte visible.
        secret: String::from_utf8_lossy(secret).into_owned(),
        entropy: (entropy * 100.0).round() / 100.0,
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

/// The marker that, on the same line as a secret, accepts it.
pub const ALLOW_MARKER: &[u8] = b"hfleaks:allow";

/// Finds the secrets in `content`, reported at `path`.
pub fn detect(engine: &Engine, content: &[u8], path: &str) -> Vec<Finding> {
    detect_as(engine, content, path, is_notebook(path))
}

/// [`detect`], told whether `content` is a notebook (for content whose path
/// is not known yet); findings outside any cell have no `notebook`.
pub fn detect_as(engine: &Engine, content: &[u8], path: &str, notebook: bool) -> Vec<Finding> {
    findings_from(engine, engine.scan(content), content, path, notebook)
}

/// The findings of the engine's `matches` in `content`.
fn findings_from(
    engine: &Engine,
    matches: Vec<crate::engine::Match>,
    content: &[u8],
    path: &str,
    notebook: bool,
) -> Vec<Finding> {
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
        let secret = &content[m.span.start..m.span.end];
        let newlines = memchr::memchr_iter(b'\n', secret).count();
        let end_column = match memchr::memrchr(b'\n', secret) {
            Some(nl) => secret.len() - nl,
            None => column + secret.len(),
        };
        let rule = &engine.rules()[m.rule];
        let mut f = new_finding(
            rule,
            secret,
            m.entropy,
            path,
            (line, column),
            (line + newlines, end_column),
        );
        f.notebook = cells.as_ref().and_then(|c| c.locate(m.span.start));
        findings.push(f);
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
        let s = Scanner::build(rules, DetectConfig::default());
        let key = format!("acme_{}", "Zq7RkWvLpNcXyBdGhJsTfUaEoIqVrKw3");
        let text = format!("add {T} and {key}, call hf_hub_download");
        let redacted = redact_text(&s, &text);
        assert_eq!(
            redacted,
            "add hf_QmZt…KwPz and acme_Zq7R…rKw3, call hf_hub_download"
        );
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(T);
        assert_eq!(
            redact_text(&s, &format!("rotate {encoded} now")),
            "rotate [encoded: hf_QmZt…KwPz] now"
        );
    }

    #[test]
    fn a_staged_origin_keeps_only_findings_on_added_lines() {
        let s = Scanner::build(rules::builtin(), DetectConfig::default());
        let collector = Collector::new(&s);
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
