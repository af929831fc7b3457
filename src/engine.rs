//! The pattern engine: bytes in, candidate secrets out.
//!
//! It is pure: no filesystem, no git, no network. A literal prefilter
//! (Aho-Corasick over every rule's keywords) decides which rules can match at
//! all, so input without a keyword costs one pass of a SIMD substring search.
//! Regex candidates then pass the boundary, length, entropy and placeholder
//! checks before they become matches.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind, packed};

use crate::rules::Rule;

/// A half-open byte interval `[start, end)` into the scanned input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A secret the engine accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Where the secret is.
    pub span: Span,
    /// Shannon entropy of the secret's body, bits per byte.
    pub entropy: f64,
}

/// The keyword search: Teddy (SIMD) where the CPU has it, else an
/// Aho-Corasick automaton. The automaton's own prefilter picks one "rare"
/// byte, which for `hf_` is `_`, on nearly every line of Python: Teddy
/// looks for whole short patterns at once.
pub(crate) enum Prefilter {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    pub(crate) fn new(keywords: &[String]) -> Prefilter {
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(keywords)
            .build();
        match packed {
            Some(searcher) => Prefilter::Packed(searcher),
            None => Prefilter::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(keywords)
                    .expect("keyword prefilter builds from literal strings"),
            ),
        }
    }

    /// Calls `f` with each pattern found and where (leftmost first, not
    /// overlapping), until it returns false.
    pub(crate) fn find_each(&self, hay: &[u8], mut f: impl FnMut(usize, Span) -> bool) {
        match self {
            Prefilter::Packed(s) => {
                for m in s.find_iter(hay) {
                    let span = Span {
                        start: m.start(),
                        end: m.end(),
                    };
                    if !f(m.pattern().as_usize(), span) {
                        return;
                    }
                }
            }
            Prefilter::Automaton(a) => {
                for m in a.find_iter(hay) {
                    let span = Span {
                        start: m.start(),
                        end: m.end(),
                    };
                    if !f(m.pattern().as_usize(), span) {
                        return;
                    }
                }
            }
        }
    }
}

/// The most trigger hits kept for one input (24 bytes each): past that, a
/// pathological input (megabytes of `aGZfaGZf…`) is not decoded further.
pub const MAX_TRIGGER_HITS: usize = 1 << 20;

/// Compiled rules plus the keyword prefilter.
pub struct Engine {
    rules: Vec<Rule>,
    prefilter: Prefilter,
    /// Extra literals the same pass looks for ([`Engine::with_triggers`]):
    /// the prefilter's patterns after the keywords.
    triggers: usize,
    /// For each prefilter pattern, the rules that listed it as a keyword.
    keyword_rules: Vec<Vec<usize>>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        Engine::with_triggers(rules, &[])
    }

    /// An engine whose one prefilter pass also reports where each of
    /// `triggers` occurs ([`Engine::scan_with_triggers`]): how the decoders
    /// find encoded keywords without a second pass over the input.
    pub fn with_triggers(rules: Vec<Rule>, triggers: &[String]) -> Engine {
        let all: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.keywords.iter().map(String::as_str))
            .collect();
        // Only keywords that contain no other keyword go into the prefilter:
        // a hit on `hf_` must also wake the rules keyed on `hf_oauth_`. That
        // keeps the set tiny and lets a plain (non-overlapping) search run
        // on the SIMD packed searcher.
        let mut keywords: Vec<String> = Vec::new();
        for kw in &all {
            let contains_other = all.iter().any(|o| o.len() < kw.len() && kw.contains(o));
            if !contains_other && !keywords.iter().any(|k| k == kw) {
                keywords.push(kw.to_string());
            }
        }
        let keyword_rules: Vec<Vec<usize>> = keywords
            .iter()
            .map(|k| {
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.keywords.iter().any(|rk| rk.contains(k.as_str())))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let mut patterns = keywords.clone();
        patterns.extend(triggers.iter().cloned());
        let prefilter = Prefilter::new(&patterns);
        Engine {
            rules,
            prefilter,
            triggers: triggers.len(),
            keyword_rules,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Finds every accepted secret in `hay`, sorted by position. Where two
    /// rules' secrets overlap, the rule listed first wins.
    pub fn scan(&self, hay: &[u8]) -> Vec<Match> {
        self.scan_with_triggers(hay).0
    }

    /// [`Engine::scan`], and where each trigger literal occurs (its index
    /// in the `triggers` given to [`Engine::with_triggers`], and its span).
    pub fn scan_with_triggers(&self, hay: &[u8]) -> (Vec<Match>, Vec<(usize, Span)>) {
        let (triggered, hits) = self.prefilter_pass(hay);
        if triggered.iter().all(|t| !t) {
            return (Vec::new(), hits);
        }
        let mut candidates = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if triggered[i] {
                scan_rule(i, rule, hay, &mut candidates);
            }
        }
        (resolve_overlaps(candidates), hits)
    }

    /// One pass of the prefilter: which rules have at least one keyword in
    /// `hay`, and every trigger hit. Without triggers it stops once every
    /// keyword has been seen.
    fn prefilter_pass(&self, hay: &[u8]) -> (Vec<bool>, Vec<(usize, Span)>) {
        let mut triggered = vec![false; self.rules.len()];
        let mut hits = Vec::new();
        let keywords = self.keyword_rules.len();
        let mut seen = vec![false; keywords];
        let mut left = keywords;
        let whole = self.triggers > 0;
        self.prefilter.find_each(hay, |p, span| {
            if p >= keywords {
                // Bounded: a flood of encoded-looking text keeps memory flat.
                if hits.len() < MAX_TRIGGER_HITS {
                    hits.push((p - keywords, span));
                }
            } else if !seen[p] {
                seen[p] = true;
                for &r in &self.keyword_rules[p] {
                    triggered[r] = true;
                }
                left -= 1;
            }
            whole || left > 0
        });
        (triggered, hits)
    }
}

fn scan_rule(index: usize, rule: &Rule, hay: &[u8], out: &mut Vec<Match>) {
    let mut caps = rule.regex.capture_locations();
    let mut pos = 0;
    while pos <= hay.len() {
        let Some(whole) = rule.regex.captures_read_at(&mut caps, hay, pos) else {
            break;
        };
        let next = whole.end().max(whole.start() + 1);
        let Some((start, end)) = caps.get(rule.secret_group) else {
            pos = next;
            continue;
        };
        if !has_boundaries(hay, start, end) {
            // A token may still start inside this match (e.g. `xhf_hf_…`).
            pos = whole.start() + 1;
            continue;
        }
        if rule.reject_in_blobs && in_encoded_blob(hay, start, end) {
            pos = next;
            continue;
        }
        let secret = &hay[start..end];
        if let Some(entropy) = accept(rule, secret) {
            out.push(Match {
                rule: index,
                span: Span { start, end },
                entropy,
            });
        }
        pos = next;
    }
}

/// A secret is not glued to the text around it: not preceded by a letter,
/// digit or `_` (except the letter of a `\n`, `\t`, `\r` escape, as in JSON
/// notebook outputs) and not followed by a letter or digit.
fn has_boundaries(hay: &[u8], start: usize, end: usize) -> bool {
    if start > 0 {
        let before = hay[start - 1];
        let escaped = start >= 2 && hay[start - 2] == b'\\' && matches!(before, b'n' | b't' | b'r');
        if (before.is_ascii_alphanumeric() || before == b'_') && !escaped {
            return false;
        }
    }
    match hay.get(end) {
        Some(after) => !after.is_ascii_alphanumeric(),
        None => true,
    }
}

/// Base64 and base64url characters, without padding.
fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Whether the candidate at `[start, end)` is a slice of a longer encoded
/// run: glued by `+`, `/` or `-` to at least 16 more base64 characters on
/// the left or 8 on the right, or followed by `=` padding. A token stands
/// apart from what surrounds it (`=`, `:`, quotes, spaces, `&`, `@`).
fn in_encoded_blob(hay: &[u8], start: usize, end: usize) -> bool {
    let glue = |b: u8| matches!(b, b'+' | b'/' | b'-');
    if start > 0 && glue(hay[start - 1]) {
        let run = hay[..start - 1]
            .iter()
            .rev()
            .take_while(|&&b| is_base64_char(b))
            .take(16)
            .count();
        if run >= 16 {
            return true;
        }
    }
    match hay.get(end) {
        Some(&b) if glue(b) => {
            let run = hay[end + 1..]
                .iter()
                .take_while(|&&b| is_base64_char(b))
                .take(8)
                .count();
            run >= 8
        }
        // Padding: `=` that does not start a value (`hf_…=x` would be an
        // assignment, `hf_…==` or `hf_…=` at the end of a run is base64).
        Some(b'=') => hay.get(end + 1).is_none_or(|b| !b.is_ascii_alphanumeric()),
        _ => false,
    }
}

/// Runs the length, entropy and placeholder checks; returns the body's
/// entropy when the secret is accepted.
pub fn accept(rule: &Rule, secret: &[u8]) -> Option<f64> {
    if secret.is_empty() || secret.len() > rule.max_length {
        return None;
    }
    let body = body(rule, secret);
    if body.is_empty() {
        return None;
    }
    let entropy = shannon_entropy(body);
    if entropy < rule.min_entropy {
        return None;
    }
    if rule.mixed_case && !is_mixed_case(body) {
        return None;
    }
    if is_placeholder(body) {
        return None;
    }
    if rule.reject_identifiers && crate::identifier::is_identifier(body) {
        return None;
    }
    Some(entropy)
}

/// The secret without the longest keyword it starts with (`hf_`, `api_org_`).
pub fn body<'a>(rule: &Rule, secret: &'a [u8]) -> &'a [u8] {
    let prefix = rule
        .keywords
        .iter()
        .filter(|k| secret.starts_with(k.as_bytes()))
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    &secret[prefix..]
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn is_mixed_case(body: &[u8]) -> bool {
    body.iter().any(u8::is_ascii_uppercase) && body.iter().any(u8::is_ascii_lowercase)
}

/// Words that only appear in documentation and templates. Each is at least
/// five letters, so a random 34-letter body contains one with a probability
/// of about 1 in 400,000.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "replace",
    "redacted",
    "insert",
    "secret",
    "dummy",
    "token",
    "sample",
    "xxxxx",
];

/// Runs like `xxxxxx`, sequences like `abcdef` / `123456`, and template words.
pub fn is_placeholder(body: &[u8]) -> bool {
    const RUN: usize = 6;
    let mut same = 1;
    let mut up = 1;
    let mut down = 1;
    for w in body.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        same = if a == b { same + 1 } else { 1 };
        up = if a.is_ascii_alphanumeric() && b == a.wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if a.is_ascii_alphanumeric() && b == a.wrapping_sub(1) {
            down + 1
        } else {
            1
        };
        if same >= RUN || up >= RUN || down >= RUN {
            return true;
        }
    }
    let lower = body.to_ascii_lowercase();
    PLACEHOLDER_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

/// Keeps, among overlapping candidates, the one whose rule is listed first.
fn resolve_overlaps(mut candidates: Vec<Match>) -> Vec<Match> {
    candidates.sort_by_key(|m| (m.rule, m.span.start));
    let mut kept: BTreeMap<usize, Match> = BTreeMap::new();
    for m in candidates {
        let before = kept.range(..=m.span.start).next_back();
        if before.is_some_and(|(_, k)| k.span.end > m.span.start) {
            continue;
        }
        let after = kept.range(m.span.start..).next();
        if after.is_some_and(|(&s, _)| s < m.span.end) {
            continue;
        }
        kept.insert(m.span.start, m);
    }
    kept.into_values().collect()
}

/// Turns byte offsets into 1-based line and byte column numbers. Offsets
/// must be asked for in increasing order; each call scans only the bytes
/// since the previous one.
pub struct LineCounter<'a> {
    hay: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    pub fn new(hay: &'a [u8]) -> Self {
        LineCounter {
            hay,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// `(line, column)` of `offset`, both 1-based; the column counts bytes.
    pub fn locate(&mut self, offset: usize) -> (usize, usize) {
        assert!(offset >= self.offset, "offsets must be increasing");
        for nl in memchr::memchr_iter(b'\n', &self.hay[self.offset..offset]) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
        }
        self.offset = offset;
        (self.line, offset - self.line_start + 1)
    }
}

/// The line containing `span` (without its line terminator).
pub fn line_of(hay: &[u8], span: Span) -> &[u8] {
    let start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[span.end..]).map_or(hay.len(), |i| span.end + i);
    &hay[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    fn engine() -> Engine {
        Engine::new(rules::builtin())
    }

    /// A random canonical body: 34 ASCII letters from a seeded generator.
    fn body34(seed: u64) -> String {
        let mut rng = fastrand::Rng::with_seed(seed);
        loop {
            let s: String = (0..34).map(|_| rng.alphabetic()).collect();
            if !is_placeholder(s.as_bytes()) && is_mixed_case(s.as_bytes()) {
                return s;
            }
        }
    }

    fn token(seed: u64) -> String {
        format!("hf_{}", body34(seed))
    }

    fn found(hay: &str) -> Vec<(String, String)> {
        let e = engine();
        e.scan(hay.as_bytes())
            .into_iter()
            .map(|m| {
                (
                    e.rules()[m.rule].id.clone(),
                    hay[m.span.start..m.span.end].to_string(),
                )
            })
            .collect()
    }

    fn user(t: &str) -> Vec<(String, String)> {
        vec![("hf-user-access-token".to_string(), t.to_string())]
    }

    #[test]
    fn a_slice_of_an_encoded_blob_is_not_a_token() {
        let t = token(3);
        let lead = "U2FsdGVkX19vbmUgdHdvIHRocmVl";
        for hay in [
            format!("{lead}+{t}/dGhyZWU"),
            format!("{lead}/{t}"),
            format!("{lead}-{t}"),
            format!("x {t}+ZW5kb2ZibG9i"),
            format!("x {t}=="),
            format!("\"{t}=\""),
        ] {
            assert!(found(&hay).is_empty(), "{hay}");
        }
        for hay in [
            format!("HF_TOKEN={t}"),
            format!("token={t}&x=1"),
            format!("https://hf.co/{t}"),
            format!("--token {t} --x"),
            format!("{t}=1"),
            format!("a+{t}"),
        ] {
            assert_eq!(found(&hay), user(&t), "{hay}");
        }
    }

    #[test]
    fn every_terminator_ends_a_token() {
        let t = token(1);
        for term in [
            "\"", "'", "`", " ", "\t", "\n", "\r\n", ";", ",", ")", "]", "}", "<", "&", "@", ".",
            "\\n", "\\\"", "\\\\", "",
        ] {
            let hay = format!("x = {t}{term}");
            assert_eq!(found(&hay), user(&t), "terminator {term:?}");
        }
    }

    #[test]
    fn token_after_json_escape_letter_is_found() {
        let t = token(2);
        for esc in ["\\n", "\\t", "\\r"] {
            let hay = format!("\"Logged in{esc}{t}\\n\"");
            assert_eq!(found(&hay), user(&t), "escape {esc}");
        }
    }

    #[test]
    fn token_glued_to_a_word_is_not_found() {
        let t = token(3);
        for pre in ["r", "Symptom", "9", "_"] {
            assert!(found(&format!("{pre}{t}")).is_empty(), "prefix {pre}");
        }
        assert!(found(&format!("{t}Z")).len() <= 1);
        assert!(
            found(&format!("{t}Z"))
                .iter()
                .all(|(id, _)| id != "hf-user-access-token")
        );
    }

    #[test]
    fn prefix_is_case_sensitive() {
        let b = body34(4);
        assert!(found(&format!("HF_{b}")).is_empty());
        assert!(found(&format!("Hf_{b}")).is_empty());
    }

    #[test]
    fn placeholders_are_rejected() {
        for hay in [
            "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "hf_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "hf_YOUR_TOKEN_HERE",
            "hf_***",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            "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",
            "hf_QmZtRkWvLpNcXyBd123456TfUaEoIqVrKw",
            "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",
            "hf_YourTokenGoesHereReplaceThisNowOk",
            "hf_ExampleTokenQmZtRkWvLpNcXyBdGhJsT",
            "hf_servingcellpriorityparametersdescription_h_prio",
            "hf_SERVINGCELLPRIORITYPARAMETERSDESC",
            "api_org_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "api_org_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "hf_ACGTTGCAACGTAGCTAGCTAGGCTAGCATCGATCG",
        ] {
            assert!(
                found(hay).is_empty(),
                "{hay} should be rejected: {:?}",
                found(hay)
            );
        }
    }

    #[test]
    fn random_tokens_pass_the_entropy_and_placeholder_checks() {
        let e = engine();
        let mut rng = fastrand::Rng::with_seed(77);
        let mut rejected = 0;
        for _ in 0..20_000 {
            let b: String = (0..34).map(|_| rng.alphabetic()).collect();
            if e.scan(format!("hf_{b}").as_bytes()).is_empty() {
                rejected += 1;
            }
        }
        // All-lower/all-upper and template words are astronomically rare.
        assert!(rejected <= 1, "{rejected} random tokens rejected");
    }

    #[test]
    fn entropy_threshold_separates_repetitive_bodies() {
        // Mixed case, no run of six, but only three distinct letters.
        let low = "hf_AbcAbcAbcAbcAbcAbcAbcAbcAbcAbcAbcA";
        assert!(shannon_entropy(&low.as_bytes()[3..]) < 3.5);
        assert!(found(low).is_empty());
        let t = token(5);
        assert!(shannon_entropy(&t.as_bytes()[3..]) > 4.0);
    }

    #[test]
    fn run_longer_than_255_is_not_a_token() {
        let mut rng = fastrand::Rng::with_seed(6);
        let body: String = (0..297).map(|_| rng.alphanumeric()).collect();
        let hay = format!("x={}hf_{body}\n", "");
        assert_eq!(hay.len() - 3, 300);
        assert!(found(&hay).is_empty());
        // 252 body characters = 255 in all: still reported, as non-standard.
        let ok = format!("hf_{}", &body[..252]);
        let f = found(&ok);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, "hf-token-nonstandard");
    }

    #[test]
    fn tokens_with_digits_are_found() {
        let t = "hf_Qm4tRkWv8pNcXyBd2hJsTfUa7oIqVrKw9z"; // hfleaks:allow
        assert_eq!(found(&format!("t='{t}'")), user(t));
    }

    #[test]
    fn org_tokens_are_found() {
        let t = format!("api_org_{}", body34(8));
        assert_eq!(
            found(&format!("k = \"{t}\"")),
            vec![("hf-org-api-token".to_string(), t)]
        );
    }

    #[test]
    fn oauth_tokens_are_found_and_win_over_nonstandard() {
        let t = format!("hf_oauth_{}", body34(9));
        assert_eq!(
            found(&format!("Bearer {t}\n")),
            vec![("hf-oauth-token".to_string(), t)]
        );
    }

    #[test]
    fn non_canonical_length_is_low_severity_nonstandard() {
        let t = format!("hf_{}", &body34(10)[..28]);
        assert_eq!(
            found(&t),
            vec![("hf-token-nonstandard".to_string(), t.clone())]
        );
        let long = format!("hf_{}{}", body34(10), "QwErTy");
        assert_eq!(
            found(&long),
            vec![("hf-token-nonstandard".to_string(), long.clone())]
        );
    }

    #[test]
    fn two_tokens_on_one_line() {
        let (a, b) = (token(11), token(12));
        let hay = format!("{a},{b}");
        let f = found(&hay);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].1.as_str(), f[1].1.as_str()), (a.as_str(), b.as_str()));
    }

    #[test]
    fn crlf_bom_and_invalid_utf8() {
        let t = token(13);
        let mut hay = b"\xEF\xBB\xBF".to_vec();
        hay.extend_from_slice(b"a\r\n\xff\xfe ");
        hay.extend_from_slice(t.as_bytes());
        hay.extend_from_slice(b"\r\n\x80");
        let e = engine();
        let m = e.scan(&hay);
        assert_eq!(m.len(), 1);
        let mut lc = LineCounter::new(&hay);
        assert_eq!(lc.locate(m[0].span.start), (2, 4));
    }

    #[test]
    fn token_at_first_and_last_byte() {
        let t = token(14);
        assert_eq!(found(&t), user(&t));
        let e = engine();
        let hay = format!("a\nb {t}");
        let m = e.scan(hay.as_bytes());
        assert_eq!(m[0].span.end, hay.len());
        assert_eq!(m[0].span.start, 4);
    }

    #[test]
    fn multi_megabyte_line() {
        let t = token(15);
        let hay = format!("{}{t}{}", "a ".repeat(2_000_000), " b".repeat(1_000_000));
        let e = engine();
        let m = e.scan(hay.as_bytes());
        assert_eq!(m.len(), 1);
        assert_eq!(
            LineCounter::new(hay.as_bytes()).locate(m[0].span.start),
            (1, 4_000_001)
        );
    }

    #[test]
    fn input_without_keyword_yields_nothing() {
        assert!(
            engine()
                .scan(b"nothing to see here, just hf text")
                .is_empty()
        );
        assert!(engine().scan(b"").is_empty());
    }

    #[test]
    fn builtin_rule_examples_hold() {
        let e = engine();
        for (i, rule) in e.rules().iter().enumerate() {
            for ex in &rule.examples.positive {
                assert!(
                    e.scan(ex.as_bytes()).iter().any(|m| m.rule == i),
                    "{}: missed {ex}",
                    rule.id
                );
            }
            for ex in &rule.examples.negative {
                assert!(
                    !e.scan(ex.as_bytes()).iter().any(|m| m.rule == i),
                    "{}: matched {ex}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn a_longer_keyword_is_woken_by_the_shorter_one_it_contains() {
        let e = engine();
        // hf_oauth_ rules are reached through the `hf_` prefilter hit.
        let t = format!("hf_oauth_{}", body34(20));
        assert_eq!(e.scan(t.as_bytes()).len(), 1);
        assert_eq!(e.keyword_rules.len(), 2, "hf_ and api_org_");
    }

    #[test]
    fn line_counter_counts_lines() {
        let hay = b"ab\ncd\n\nefg";
        let mut lc = LineCounter::new(hay);
        assert_eq!(lc.locate(0), (1, 1));
        assert_eq!(lc.locate(4), (2, 2));
        assert_eq!(lc.locate(9), (4, 3));
        assert_eq!(line_of(hay, Span { start: 8, end: 9 }), b"efg");
    }
}
