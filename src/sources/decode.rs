//! Decoders: the runs of base64 (standard and URL-safe), percent-encoding,
//! `\u` escapes and hex in a chunk that may hide a token, decoded; and
//! UTF-16 text, transcoded. Pure and bounded: bytes in, decoded runs out.
//!
//! A run is looked at only where a rule keyword appears in encoded form
//! (`aGZf`, `hmX` and `oZl` are `hf_` in base64 at its three alignments;
//! `hf%5F`, `hf\u005f`, `68665f`, …), found with one literal search, so
//! text without one costs a single pass. Around each such place at most
//! [`WINDOW`] bytes on either side are decoded, however long the run: a
//! token is at most 255 characters, so a megabyte of base64 costs no more
//! than a line of it.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::engine::Span;

/// The most bytes decoded on either side of an encoded keyword: room for a
/// 255-character token percent-encoded and then base64-encoded.
pub const WINDOW: usize = 2048;

/// How a run was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Standard or URL-safe, padded or not.
    Base64,
    Percent,
    Unicode,
    Hex,
}

impl Encoding {
    /// The name findings carry in `encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::Unicode => "unicode-escape",
            Encoding::Hex => "hex",
        }
    }

    /// Whether `b` can be part of a run of this encoding.
    fn in_run(self, b: u8) -> bool {
        match self {
            Encoding::Base64 => b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'),
            Encoding::Percent => {
                b.is_ascii_alphanumeric() || matches!(b, b'%' | b'.' | b'_' | b'~' | b'-')
            }
            Encoding::Unicode => b.is_ascii_alphanumeric() || matches!(b, b'\\' | b'_'),
            Encoding::Hex => b.is_ascii_hexdigit(),
        }
    }
}

/// One decoded run: where it is in the input, how it was encoded, and what
/// it decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRun {
    pub span: Span,
    pub encoding: Encoding,
    pub bytes: Vec<u8>,
    /// Whether the run goes on before `span` (a window after a long run's
    /// first, or a run cut by the decode window): then what it decodes to
    /// may start in the middle of an inner run, at an unknown alignment.
    pub continued: bool,
}

/// What marks a place where a keyword may be encoded, and how to decode
/// the run around it.
pub struct Decoders {
    /// Literals that are a keyword in encoded form (the engine's prefilter
    /// looks for them in the same pass as the keywords).
    triggers: Vec<String>,
    /// The encoding of each trigger.
    kinds: Vec<Encoding>,
    /// The keywords (to keep only runs that decode to one).
    keywords: Vec<Vec<u8>>,
    /// Whether opaque runs (no trigger in them) are decoded too.
    opaque: bool,
}

impl Decoders {
    /// No decoding at all.
    pub fn none() -> Decoders {
        Decoders {
            triggers: Vec::new(),
            kinds: Vec::new(),
            keywords: Vec::new(),
            opaque: false,
        }
    }

    /// Decoders for the given rule keywords.
    pub fn new(keywords: &[String]) -> Decoders {
        // Candidates by priority: the escapes that mark any keyword, then
        // each keyword in base64 and hex, then (one level of nesting seen
        // from the outside) its percent-escaped form in base64, as in a URL
        // in a Kubernetes Secret. Where upper- and lower-case forms share a
        // prefix of 3+ characters, the prefix marks both.
        let mut escapes = Vec::new();
        let mut direct = Vec::new();
        let mut nested = Vec::new();
        for k in keywords {
            let k = k.as_bytes();
            // An escaped punctuation character marks an escaped keyword
            // (`hf%5F…`, `%68%66%5F…`, `hf\u005f…`); a keyword without
            // punctuation is marked by its first two bytes escaped.
            let mark = match k.iter().position(|b| !b.is_ascii_alphanumeric()) {
                Some(i) => &k[i..=i],
                None => &k[..k.len().min(2)],
            };
            for form in cased(
                percent_encode(mark, true, true),
                percent_encode(mark, true, false),
            ) {
                escapes.push((form, Encoding::Percent));
            }
            for form in cased(
                unicode_escape(mark, true, true),
                unicode_escape(mark, true, false),
            ) {
                escapes.push((form, Encoding::Unicode));
            }
            for aligned in base64_fragments(k) {
                direct.extend(base64_alphabets(aligned));
            }
            let head = &k[..k.len().min(3)];
            for form in cased(hex(head, true), hex(head, false)) {
                direct.push((form, Encoding::Hex));
            }
            if k.iter().any(|b| !b.is_ascii_alphanumeric()) {
                let upper = base64_fragments(percent_encode(k, false, true).as_bytes());
                let lower = base64_fragments(percent_encode(k, false, false).as_bytes());
                for (u, l) in upper.iter().zip(&lower) {
                    for form in cased(u.clone(), l.clone()) {
                        nested.extend(base64_alphabets(form));
                    }
                }
            }
        }
        let candidates: Vec<(String, Encoding)> = escapes
            .into_iter()
            .chain(direct)
            .chain(nested)
            .filter(|(t, _)| t.len() >= 3)
            .collect();
        // None that contains another (the shorter one marks the place), and
        // at most MAX_TRIGGERS: the keyword search stays on its SIMD path.
        let mut triggers: Vec<String> = Vec::new();
        let mut kinds = Vec::new();
        for (t, kind) in &candidates {
            let redundant = candidates
                .iter()
                .any(|(o, _)| o.len() < t.len() && t.contains(o.as_str()));
            if !redundant && !triggers.contains(t) && triggers.len() < MAX_TRIGGERS {
                triggers.push(t.clone());
                kinds.push(*kind);
            }
        }
        Decoders {
            triggers,
            kinds,
            keywords: keywords.iter().map(|k| k.as_bytes().to_vec()).collect(),
            opaque: true,
        }
    }

    /// The literals to look for (see [`crate::engine::Engine::with_triggers`]).
    pub fn triggers(&self) -> &[String] {
        &self.triggers
    }

    /// The runs of `hay` around the trigger `hits` (trigger index, span)
    /// that decode to bytes holding a keyword (or a trigger, for a nested
    /// encoding), in order.
    pub fn runs(&self, hay: &[u8], hits: &[(usize, Span)]) -> Vec<DecodedRun> {
        let mut out: Vec<DecodedRun> = Vec::new();
        let mut covered = 0;
        for &(trigger, m) in hits {
            if m.start < covered {
                continue;
            }
            let Some(&kind) = self.kinds.get(trigger) else {
                continue;
            };
            let (start, end, exact_start) = run_around(hay, m.start, m.end, kind);
            // Base64 or hex glued to a `%XX` escape is a slice of
            // percent-encoded text (`%2B`, `%2F`, `%3D` inside base64 in a
            // URL): where the opaque runs will decode it whole (the run is
            // long enough), it is left to them, and found as the two-layer
            // chain it is (`percent>base64`) once the depth allows two.
            if self.opaque
                && matches!(kind, Encoding::Base64 | Encoding::Hex)
                && glued_to_escape(hay, start, end)
                && opaque_extent(hay, start, end) >= OPAQUE_MIN
            {
                continue;
            }
            // Another hit inside this run gives the same run: decode it once,
            // whatever it gives (a flood of hits costs one decode per run).
            covered = covered.max(end);
            for run in decode_run(hay, start, end, exact_start, kind) {
                // A keyword, or a keyword encoded once more (base64 of a
                // percent-encoded URL).
                let has = |needle: &[u8]| memchr::memmem::find(&run.bytes, needle).is_some();
                if self.keywords.iter().any(|k| has(k))
                    || self.triggers.iter().any(|t| has(t.as_bytes()))
                {
                    covered = covered.max(run.span.end);
                    out.push(run);
                    break;
                }
            }
        }
        out
    }

    /// Every run of `hay` that decodes to a keyword, searching `hay` for
    /// the triggers itself (the scanner gets the hits from the engine).
    #[cfg(test)]
    pub fn find(&self, hay: &[u8]) -> Vec<DecodedRun> {
        if self.triggers.is_empty() {
            return Vec::new();
        }
        let searcher = crate::engine::Prefilter::new(&self.triggers);
        let mut hits = Vec::new();
        searcher.find_each(hay, |t, span| {
            hits.push((t, span));
            true
        });
        self.runs(hay, &hits)
    }
}

/// The shortest run decoded without a trigger: the outer layer of a chain
/// whose inner layers hide every keyword (base64 of a Docker config whose
/// `auth` is base64 of `user:hf_…`). A canonical token (`hf_` + 34) under
/// two layers takes at least 52 characters (base64 of its percent-encoded
/// form); 48 also leaves room for the tokens of other rules with a little
/// text around them, and lets the run finder look at half of each chunk.
pub const OPAQUE_MIN: usize = 48;

/// An opaque run longer than this is decoded in windows of this many
/// characters (a multiple of 4, so base64 stays aligned), overlapping by
/// [`OPAQUE_OVERLAP`]: memory stays flat however long the run.
pub const OPAQUE_WINDOW: usize = 64 * 1024;

/// How much consecutive windows share: more than a 255-character token
/// under three layers of encoding takes.
const OPAQUE_OVERLAP: usize = 4 * 1024;

/// How many characters of a run are decoded first to tell whether it holds
/// text (the only thing another encoding layer can be).
const PROBE: usize = 256;

/// Whether decoded bytes read as text: the layer below an encoding in a
/// chain is itself encoded text (base64, hex, escapes) inside text (JSON,
/// YAML, a URL). Binary data (images in notebooks, random blobs) stops the
/// chain there; a token directly inside it is the triggers' business.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let printable = bytes
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    printable * 10 >= bytes.len() * 9
}

/// What a run is made of, gathered in one pass: which encodings its
/// characters allow.
#[derive(Default)]
struct Makeup {
    lower: bool,
    upper: bool,
    /// `+` or `/` (standard base64).
    standard: bool,
    /// `-` or `_` (URL-safe base64).
    url_safe: bool,
    percent: bool,
    backslash: bool,
    /// Every character a hex digit.
    hex: bool,
}

impl Makeup {
    fn of(text: &[u8]) -> Makeup {
        let mut flags = 0u8;
        let mut all = 0xFFu8;
        for &b in text {
            let f = MAKEUP[usize::from(b)];
            flags |= f;
            all &= f;
        }
        Makeup {
            lower: flags & LOWER != 0,
            upper: flags & UPPER != 0,
            standard: flags & STANDARD_PUNCT != 0,
            url_safe: flags & URL_PUNCT != 0,
            percent: flags & PERCENT != 0,
            backslash: flags & BACKSLASH != 0,
            hex: all & HEX != 0,
        }
    }
}

const LOWER: u8 = 1;
const UPPER: u8 = 2;
const HEX: u8 = 4;
const STANDARD_PUNCT: u8 = 8;
const URL_PUNCT: u8 = 16;
const PERCENT: u8 = 32;
const BACKSLASH: u8 = 64;

static MAKEUP: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut f = 0;
        if c.is_ascii_lowercase() {
            f |= LOWER;
        }
        if c.is_ascii_uppercase() {
            f |= UPPER;
        }
        if c.is_ascii_hexdigit() {
            f |= HEX;
        }
        if c == b'+' || c == b'/' {
            f |= STANDARD_PUNCT;
        }
        if c == b'-' || c == b'_' {
            f |= URL_PUNCT;
        }
        if c == b'%' {
            f |= PERCENT;
        }
        if c == b'\\' {
            f |= BACKSLASH;
        }
        table[i] = f;
        i += 1;
    }
    table
};

/// Whether the run `[start, end)` touches a `%XX` escape: one ending just
/// before it (its hex digits are then the run's first two characters) or
/// one starting at its end.
fn glued_to_escape(hay: &[u8], start: usize, end: usize) -> bool {
    let hex2 = |at: usize| {
        hay.get(at..at + 2)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    };
    (start > 0 && hay[start - 1] == b'%' && hex2(start))
        || (hay.get(end) == Some(&b'%') && hex2(end + 1))
}

/// The length of the opaque run holding `[start, end)`.
fn opaque_extent(hay: &[u8], start: usize, end: usize) -> usize {
    let class = |b: &u8| super::runs::OPAQUE_CHARS[usize::from(*b)];
    let before = hay[..start].iter().rev().take_while(|b| class(b)).count();
    let after = hay[end..].iter().take_while(|b| class(b)).count();
    before + (end - start) + after
}

/// Whether base64 `text` (aligned) may decode to text, judged without
/// decoding: each group of four characters whose first one stands for 32
/// or more (`g`-`z`, digits, `+`, `/`, `-`, `_`) starts with a byte of 128
/// or more, which text does not hold; more than 3 such groups in 10 mean
/// more than 1 byte in 10 that is not text (see [`is_text`]). Random
/// binary has one in two.
fn base64_may_be_text(text: &[u8]) -> bool {
    let groups = text.len() / 4;
    let high = text
        .iter()
        .step_by(4)
        .take(groups)
        .filter(|&&c| !(c.is_ascii_uppercase() || (b'a'..=b'f').contains(&c)))
        .count();
    high * 10 <= groups * 3
}

/// Whether `text` holds a `%XX` escape.
fn has_percent_escape(text: &[u8]) -> bool {
    text.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Whether `text` holds a `\uXXXX` escape.
fn has_unicode_escape(text: &[u8]) -> bool {
    text.windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(u8::is_ascii_hexdigit))
}

/// Decodes `text` as `kind` from character `shift` on.
fn decode_as(text: &[u8], kind: Encoding, shift: usize) -> Option<Vec<u8>> {
    let text = text.get(shift..)?;
    match kind {
        Encoding::Base64 => decode_base64(text),
        Encoding::Percent => Some(percent_encoding::percent_decode(text).collect()),
        Encoding::Unicode => Some(decode_unicode_escapes(text)),
        Encoding::Hex => Some(
            text.chunks_exact(2)
                .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                .collect(),
        ),
    }
}

impl Decoders {
    /// The opaque runs of `hay` (at least [`OPAQUE_MIN`] characters of an
    /// encoding, found without a trigger) that decode to text, in order:
    /// what may be the outer layer of a chain of encodings. Runs longer
    /// than [`OPAQUE_WINDOW`] come as overlapping windows.
    /// `continued`: whether `hay` may start in the middle of a run (it is
    /// what a continued run decoded to).
    ///
    /// Each run goes to `f` as soon as it is decoded, so no more than one
    /// window's decoded bytes are held however long the run.
    pub fn opaque_runs(&self, hay: &[u8], continued: bool, mut f: impl FnMut(DecodedRun)) {
        if !self.opaque {
            return;
        }
        super::runs::long_runs(hay, OPAQUE_MIN, |start, mut end| {
            // `=` ends a run (`key=value`), but base64's padding belongs to it.
            let body_end = end;
            while end - body_end < 2 && hay.get(end) == Some(&b'=') {
                end += 1;
            }
            let mut at = start;
            loop {
                let stop = (at + OPAQUE_WINDOW).min(end);
                let cut = at > start || (start == 0 && continued);
                opaque_window(hay, at, stop, cut, &mut f);
                if stop == end {
                    break;
                }
                at += OPAQUE_WINDOW - OPAQUE_OVERLAP;
            }
        });
    }
}

/// Decodes the window `[start, end)` of an opaque run as each encoding its
/// characters allow, keeping what decodes to text. Where a base64 or hex
/// run's alignment is unknown (`cut`: a window after a long run's first,
/// or a run that may have begun before `hay` did), each alignment is
/// probed; otherwise the run's own start is.
fn opaque_window(
    hay: &[u8],
    start: usize,
    end: usize,
    cut: bool,
    out: &mut impl FnMut(DecodedRun),
) {
    let text = &hay[start..end];
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let makeup = Makeup::of(body);
    let percent = makeup.percent && has_percent_escape(text);
    let unicode = makeup.backslash && has_unicode_escape(text);
    // Base64 of one alphabet (a path like `src/models/unet_2d` mixes them),
    // mixed-case as base64 of text always is.
    let base64 = !(percent || unicode || makeup.hex)
        && makeup.lower
        && makeup.upper
        && !(makeup.standard && makeup.url_safe)
        && !makeup.percent
        && !makeup.backslash;
    // (applies, encoding, alignments to try)
    let kinds = [
        (percent, Encoding::Percent, 1),
        (unicode, Encoding::Unicode, 1),
        (makeup.hex, Encoding::Hex, 2),
        (base64, Encoding::Base64, 4),
    ];
    for &(_, kind, alignments) in kinds.iter().filter(|k| k.0) {
        let alignments = if cut { alignments } else { 1 };
        for shift in 0..alignments {
            let probe_len = (PROBE.min(text.len().saturating_sub(shift)) / 4 * 4).max(4);
            let probe = &text[shift.min(text.len())..(shift + probe_len).min(text.len())];
            if kind == Encoding::Base64 && !base64_may_be_text(probe) {
                continue;
            }
            if !decode_as(probe, kind, 0).is_some_and(|b| is_text(&b)) {
                continue;
            }
            if let Some(bytes) = decode_as(text, kind, shift).filter(|b| is_text(b)) {
                out(DecodedRun {
                    span: Span {
                        start: start + shift,
                        end,
                    },
                    encoding: kind,
                    bytes,
                    continued: cut,
                });
                break;
            }
        }
    }
}

/// The run of `kind` characters around `[at, end)`, at most [`WINDOW`]
/// bytes either side; and whether its start is the run's real start (not
/// cut by the window).
fn run_around(hay: &[u8], at: usize, end: usize, kind: Encoding) -> (usize, usize, bool) {
    let floor = at.saturating_sub(WINDOW);
    let mut start = at;
    while start > floor && kind.in_run(hay[start - 1]) {
        start -= 1;
    }
    let exact = start == 0 || !kind.in_run(hay[start - 1]);
    let ceil = (end + WINDOW).min(hay.len());
    let mut stop = end;
    while stop < ceil && kind.in_run(hay[stop]) {
        stop += 1;
    }
    if kind == Encoding::Base64 {
        while stop < hay.len() && stop < end + WINDOW + 2 && hay[stop] == b'=' {
            stop += 1;
        }
    }
    (start, stop, exact)
}

/// Decodes one run; where its true start is unknown (a base64 run longer
/// than the window), each of the four alignments is tried.
fn decode_run(
    hay: &[u8],
    start: usize,
    end: usize,
    exact_start: bool,
    kind: Encoding,
) -> Vec<DecodedRun> {
    let text = &hay[start..end];
    let mut out = Vec::new();
    match kind {
        Encoding::Base64 => {
            let shifts = if exact_start { 0..1 } else { 0..4 };
            for shift in shifts {
                if let Some(bytes) = decode_base64(&text[shift.min(text.len())..]) {
                    out.push(DecodedRun {
                        span: Span {
                            start: start + shift,
                            end,
                        },
                        encoding: kind,
                        bytes,
                        continued: !exact_start,
                    });
                }
            }
        }
        Encoding::Percent => out.push(DecodedRun {
            span: Span { start, end },
            encoding: kind,
            bytes: percent_encoding::percent_decode(text).collect(),
            continued: !exact_start,
        }),
        Encoding::Unicode => out.push(DecodedRun {
            span: Span { start, end },
            encoding: kind,
            bytes: decode_unicode_escapes(text),
            continued: !exact_start,
        }),
        Encoding::Hex => {
            // An odd run: the keyword's pairs decide where pairs start.
            for shift in 0..=(text.len() % 2) {
                let bytes: Vec<u8> = text[shift..]
                    .chunks_exact(2)
                    .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                    .collect();
                out.push(DecodedRun {
                    span: Span {
                        start: start + shift,
                        end: start + shift + (text.len() - shift) / 2 * 2,
                    },
                    encoding: kind,
                    bytes,
                    continued: !exact_start,
                });
            }
        }
    }
    out
}

/// Base64 of either alphabet (URL-safe when the run has `-` or `_`),
/// padded or not; trailing bits allowed.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    // Built once: an engine's tables cost more than decoding a short run.
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let engine = if text.iter().any(|&b| b == b'-' || b == b'_') {
        &URL_SAFE
    } else {
        &STANDARD
    };
    let body_len = text.iter().take_while(|&&b| b != b'=').count();
    // A lone trailing character holds no whole byte.
    let usable = body_len - usize::from(body_len % 4 == 1);
    engine.decode(&text[..usable]).ok()
}

/// `\uXXXX` escapes (with surrogate pairs) decoded to UTF-8; other bytes kept.
fn decode_unicode_escapes(text: &[u8]) -> Vec<u8> {
    let mut units: Vec<u16> = Vec::new();
    let mut out = Vec::with_capacity(text.len());
    let flush = |units: &mut Vec<u16>, out: &mut Vec<u8>| {
        if !units.is_empty() {
            out.extend_from_slice(String::from_utf16_lossy(units).as_bytes());
            units.clear();
        }
    };
    let mut i = 0;
    while i < text.len() {
        let unit = (text[i] == b'\\' && text.get(i + 1) == Some(&b'u'))
            .then(|| text.get(i + 2..i + 6))
            .flatten()
            .and_then(|h| u16::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match unit {
            Some(u) => {
                units.push(u);
                i += 6;
            }
            None => {
                flush(&mut units, &mut out);
                out.push(text[i]);
                i += 1;
            }
        }
    }
    flush(&mut units, &mut out);
    out
}

/// The base64 characters fully determined by `k` at each of the three
/// byte alignments (what `k` looks like inside any base64 text).
fn base64_fragments(k: &[u8]) -> Vec<String> {
    (0..3)
        .filter_map(|a| {
            let mut bytes = vec![0u8; a];
            bytes.extend_from_slice(k);
            bytes.extend_from_slice(&[0, 0, 0]);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let first = (8 * a).div_ceil(6);
            let last = (8 * (a + k.len())) / 6;
            (last > first).then(|| encoded[first..last].to_string())
        })
        .collect()
}

/// `k` with its punctuation (or, `all`, every byte) written as `prefix`
/// and `width` hex digits: `%5F` (percent), `\u005F` (unicode), `5F` (hex).
fn escaped(k: &[u8], prefix: &str, width: usize, all: bool, upper: bool) -> String {
    k.iter()
        .map(|&b| {
            if all || !b.is_ascii_alphanumeric() {
                let digits = if upper {
                    format!("{b:0width$X}")
                } else {
                    format!("{b:0width$x}")
                };
                format!("{prefix}{digits}")
            } else {
                (b as char).to_string()
            }
        })
        .collect()
}

fn percent_encode(k: &[u8], all: bool, upper: bool) -> String {
    escaped(k, "%", 2, all, upper)
}

fn unicode_escape(k: &[u8], all: bool, upper: bool) -> String {
    escaped(k, "\\u", 4, all, upper)
}

fn hex(k: &[u8], upper: bool) -> String {
    escaped(k, "", 2, true, upper)
}

/// The most encoded forms looked for. The keyword search runs on
/// aho-corasick's SIMD searcher (Teddy) only up to a few dozen short
/// patterns; measured on the 1.1 GiB benchmark tree, 16 patterns in all
/// cost under 10 % over the keywords alone, 21 cost 20 %.
pub const MAX_TRIGGERS: usize = 14;

/// Both case forms, or their common prefix when it is 3+ characters long.
fn cased(upper: String, lower: String) -> Vec<String> {
    let prefix = common_prefix(&upper, &lower);
    if upper == lower || prefix.len() >= 3 {
        vec![if upper == lower { upper } else { prefix }]
    } else {
        vec![upper, lower]
    }
}

/// A base64 fragment in the standard and the URL-safe alphabet.
fn base64_alphabets(fragment: String) -> Vec<(String, Encoding)> {
    let url_safe = fragment.replace('+', "-").replace('/', "_");
    let mut out = vec![(fragment.clone(), Encoding::Base64)];
    if url_safe != fragment {
        out.push((url_safe, Encoding::Base64));
    }
    out
}

/// The longest common prefix of two strings.
fn common_prefix(a: &str, b: &str) -> String {
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// UTF-16 text, detected (a byte-order mark, or NUL bytes in every other
/// position of mostly-ASCII text), transcoded to UTF-8; with the name of
/// the encoding.
pub fn utf16_to_utf8(content: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let (little, body) = match content {
        [0xFF, 0xFE, 0, 0, ..] => return None, // UTF-32 LE
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => {
            let sample = &content[..content.len().min(4096) & !1];
            if sample.len() < 16 || memchr::memchr(0, sample).is_none() {
                return None;
            }
            let pairs = sample.len() / 2;
            let zero_at = |odd: usize| {
                sample
                    .chunks_exact(2)
                    .filter(|p| p[odd] == 0 && p[1 - odd] != 0)
                    .count()
            };
            let (odd_zero, even_zero) = (zero_at(1), zero_at(0));
            if odd_zero * 10 >= pairs * 7 && even_zero * 20 < pairs {
                (true, content)
            } else if even_zero * 10 >= pairs * 7 && odd_zero * 20 < pairs {
                (false, content)
            } else {
                return None;
            }
        }
    };
    let units: Vec<u16> = body
        .chunks_exact(2)
        .map(|p| {
            if little {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        })
        .collect();
    let name = if little { "utf-16le" } else { "utf-16be" };
    Some((String::from_utf16_lossy(&units).into_bytes(), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoders() -> Decoders {
        Decoders::new(&["hf_".to_string(), "api_org_".to_string()])
    }

    const T: &str = "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"; // hfleaks:allow

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn triggers_are_few_and_cover_every_form() {
        let d = Decoders::new(&[
            "hf_".to_string(),
            "hf_oauth_".to_string(),
            "api_org_".to_string(),
        ]);
        let t = d.triggers();
        assert!(t.len() <= MAX_TRIGGERS, "{t:?}");
        for needed in [
            "aGZf", "hmX", "oZl", "%5F", "%5f", "\\u005", "68665", "617069", "aGYlN",
        ] {
            assert!(t.iter().any(|x| x == needed), "{needed} in {t:?}");
        }
    }

    #[test]
    fn keyword_fragments_are_what_base64_shows_at_each_alignment() {
        assert_eq!(base64_fragments(b"hf_"), ["aGZf", "hmX", "oZl"]);
        for prefix in ["", "x", "xy", "HF_TOKEN="] {
            let encoded = b64(&format!("{prefix}{T}"));
            let found = base64_fragments(b"hf_")
                .iter()
                .any(|f| encoded.contains(f.as_str()));
            assert!(found, "{prefix:?}: {encoded}");
        }
    }

    #[test]
    fn base64_runs_decode_at_any_offset_padded_or_not() {
        let d = decoders();
        for prefix in ["", "x", "xy", "HF_TOKEN="] {
            let encoded = b64(&format!("{prefix}{T}\n"));
            for text in [encoded.clone(), encoded.trim_end_matches('=').to_string()] {
                let hay = format!("data:\n  token: {text}\n");
                let runs = d.find(hay.as_bytes());
                assert_eq!(runs.len(), 1, "{hay}");
                let at = hay.find(&text).unwrap();
                assert_eq!(runs[0].span.start, at);
                let decoded = String::from_utf8_lossy(&runs[0].bytes);
                assert!(decoded.contains(T), "{decoded}");
            }
        }
    }

    #[test]
    fn url_safe_base64_percent_unicode_and_hex_decode() {
        let d = decoders();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("?>?{T}"));
        let percent = T.replace('_', "%5F");
        let full: String = T.bytes().map(|b| format!("%{b:02X}")).collect();
        let unicode = T.replace('_', "\\u005f");
        let hexed: String = T.bytes().map(|b| format!("{b:02x}")).collect();
        for (text, kind) in [
            (url, Encoding::Base64),
            (percent, Encoding::Percent),
            (full, Encoding::Percent),
            (unicode, Encoding::Unicode),
            (hexed, Encoding::Hex),
        ] {
            let hay = format!("k=\"{text}\"");
            let runs = d.find(hay.as_bytes());
            assert_eq!(runs.len(), 1, "{hay}");
            assert_eq!(runs[0].encoding, kind);
            assert!(String::from_utf8_lossy(&runs[0].bytes).contains(T), "{hay}");
        }
    }

    #[test]
    fn the_base64_text_check_never_turns_text_away() {
        let mut rng = fastrand::Rng::with_seed(64);
        let mut binary_passed = 0;
        for _ in 0..2000 {
            let text: String = (0..rng.usize(3..300))
                .map(|_| char::from(rng.u8(0x20..0x7f)))
                .collect();
            assert!(base64_may_be_text(b64(&text).as_bytes()), "{text}");
            let raw: Vec<u8> = (0..48).map(|_| rng.u8(..)).collect();
            let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
            binary_passed += usize::from(base64_may_be_text(encoded.as_bytes()));
        }
        // Sixteen groups: about 4 % of random blobs pass by chance (is_text
        // turns them away after decoding).
        assert!(binary_passed < 150, "{binary_passed} random blobs passed");
    }

    #[test]
    fn text_without_encoded_keywords_decodes_nothing() {
        let d = decoders();
        assert!(
            d.find(b"plain text, hf_hub_download and aGVsbG8=")
                .is_empty()
        );
        // A fragment whose run decodes to no keyword is dropped.
        assert!(d.find(b"xxaGZfxx").is_empty());
    }

    #[test]
    fn a_huge_run_is_decoded_only_around_the_keyword() {
        let d = decoders();
        let filler = "QUJD".repeat(100_000);
        let hay = format!("{filler}{}{filler}", b64(&format!("\n{T}\n")));
        let runs = d.find(hay.as_bytes());
        assert!(!runs.is_empty());
        assert!(runs.iter().all(|r| r.bytes.len() <= 2 * WINDOW));
        assert!(
            runs.iter()
                .any(|r| String::from_utf8_lossy(&r.bytes).contains(T))
        );
    }

    #[test]
    fn utf16_is_detected_with_and_without_bom() {
        let text = format!("token = \"{T}\"\nsecond line\n");
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, name) in [
            ([&[0xFF, 0xFE][..], &le].concat(), "utf-16le"),
            ([&[0xFE, 0xFF][..], &be].concat(), "utf-16be"),
            (le.clone(), "utf-16le"),
            (be.clone(), "utf-16be"),
        ] {
            let (utf8, detected) = utf16_to_utf8(&bytes).expect(name);
            assert_eq!(
                (String::from_utf8(utf8).unwrap(), detected),
                (text.clone(), name)
            );
        }
        assert!(utf16_to_utf8(text.as_bytes()).is_none());
        assert!(utf16_to_utf8(&[0u8; 64]).is_none());
    }
}
