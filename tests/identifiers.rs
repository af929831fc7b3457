//! Zero false alarms on code identifiers: 12,000 `hf_`-prefixed names
//! (and `api_org_`, `hf_oauth_`, `hf_jwt_` ones) built from a vocabulary
//! that is not `rules/words.txt` (tests/identifiers/vocabulary.txt: SCOWL
//! words and CPython identifier segments, see make_vocabulary.py), 20 to 60
//! letters after the prefix, in camelCase, PascalCase and snake_case, in the
//! declaration and call shapes of Kotlin, Swift, Objective-C, Java, Python
//! and TypeScript, scanned by the built binary: no finding. The same
//! shapes holding random bodies are all found, so the test can fail.

mod common;

use common::*;

const NAMES: usize = 12_000;

fn vocabulary() -> Vec<String> {
    let text = include_str!("identifiers/vocabulary.txt");
    let words: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect();
    let listed: std::collections::HashSet<&str> = include_str!("../rules/words.txt")
        .lines()
        .map(str::trim)
        .collect();
    assert!(words.len() > 10_000, "{} words", words.len());
    assert!(
        words.iter().all(|w| !listed.contains(w.as_str())),
        "the vocabulary must not share words with rules/words.txt"
    );
    words
}

#[derive(Clone, Copy, Debug)]
enum Style {
    Camel,
    Pascal,
    Snake,
}

/// A name of `min..=max` letters in `style`; short words are sometimes
/// written as acronyms (`URL`), and a digit sometimes ends a word (`V2`).
fn name(rng: &mut fastrand::Rng, words: &[String], style: Style, min: usize, max: usize) -> String {
    loop {
        let target = rng.usize(min..=max);
        let mut parts: Vec<String> = Vec::new();
        let mut letters = 0;
        while letters < target {
            let w = &words[rng.usize(..words.len())];
            letters += w.len();
            parts.push(w.clone());
        }
        if letters > max {
            continue;
        }
        let mut out = String::new();
        for (i, w) in parts.iter().enumerate() {
            let word = match style {
                Style::Snake => w.clone(),
                Style::Camel if i == 0 => w.clone(),
                _ if w.len() <= 4 && rng.u8(..10) == 0 => w.to_ascii_uppercase(),
                _ => {
                    let mut c = w.chars();
                    let first = c.next().unwrap().to_ascii_uppercase();
                    std::iter::once(first).chain(c).collect()
                }
            };
            if matches!(style, Style::Snake) && i > 0 {
                out.push('_');
            }
            out.push_str(&word);
            if rng.u8(..40) == 0 {
                out.push(char::from(b'0' + rng.u8(1..10)));
            }
        }
        return out;
    }
}

/// The declaration and call shapes of each language, for a name.
fn shapes(lang: usize, name: &str) -> [String; 2] {
    match lang {
        0 => [
            format!("    private fun {name}(path: String): Unit {{ }}"),
            format!("        val result = client.{name}(path)"),
        ],
        1 => [
            format!("    func {name}(_ value: Any, animated: Bool) {{ }}"),
            format!("        self.{name}(view, animated: true)"),
        ],
        2 => [
            format!("- (void){name}:(NSString *)arg completion:(HFBlock)block;"),
            format!("    [self {name}:@\"x\" completion:nil];"),
        ],
        3 => [
            format!("    public static void {name}(String s) {{ }}"),
            format!("        this.{name}(s);"),
        ],
        4 => [
            format!("    def {name}(self, repo_id: str) -> None:"),
            format!("        return self.{name}(repo_id)"),
        ],
        _ => [
            format!("  export function {name}(a: string): void {{}}"),
            format!("    const r = await api.{name}(a);"),
        ],
    }
}

const FILES: [&str; 6] = [
    "Client.kt",
    "View.swift",
    "HFView.m",
    "Client.java",
    "client.py",
    "client.ts",
];

/// The prefixed names: mostly `hf_` (20-60 letters), then `api_org_` with
/// 34 letters (the org rule's length), `hf_oauth_`, and `hf_jwt_` chains.
fn prefixed(rng: &mut fastrand::Rng, words: &[String], i: usize) -> String {
    let style = [Style::Camel, Style::Pascal, Style::Snake][i % 3];
    match i % 10 {
        7 => format!("api_org_{}", name(rng, words, style, 34, 34)),
        8 => format!("hf_oauth_{}", name(rng, words, style, 20, 60)),
        9 => {
            let seg = |rng: &mut fastrand::Rng| name(rng, words, Style::Camel, 8, 20);
            format!("hf_jwt_{}.{}.{}", seg(rng), seg(rng), seg(rng))
        }
        _ => format!("hf_{}", name(rng, words, style, 20, 60)),
    }
}

#[test]
fn no_identifier_made_of_unlisted_words_is_reported() {
    let words = vocabulary();
    let mut rng = fastrand::Rng::with_seed(18);
    let mut files = vec![String::new(); FILES.len()];
    // The lowest identifier score by body length (tens of letters).
    let mut lowest = std::collections::BTreeMap::new();
    for i in 0..NAMES {
        let ident = prefixed(&mut rng, &words, i);
        let body = ident.trim_start_matches("api_org_");
        let body = body.split_once('_').map_or(body, |(_, b)| b);
        let body = body
            .strip_prefix("oauth_")
            .or(body.strip_prefix("jwt_"))
            .unwrap_or(body);
        let score = hfleaks::identifier::name_score(body.as_bytes());
        let bucket = body.bytes().filter(u8::is_ascii_alphabetic).count() / 10 * 10;
        let low = lowest.entry(bucket).or_insert(f64::MAX);
        *low = score.min(*low);
        let lang = i % FILES.len();
        for line in shapes(lang, &ident) {
            files[lang].push_str(&line);
            files[lang].push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in FILES.iter().zip(&files) {
        write(dir.path(), name, text.as_bytes());
        // HFLEAKS_IDENTIFIERS_DIR keeps a copy, to try other tools on it.
        if let Some(keep) = std::env::var_os("HFLEAKS_IDENTIFIERS_DIR") {
            write(std::path::Path::new(&keep), name, text.as_bytes());
        }
    }
    let (code, report) = run_json(dir.path(), &["scan", "--no-progress", "."]);
    let found: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["path"], f["rule_id"]))
        .collect();
    println!(
        "{NAMES} identifiers, {} lines: {} findings",
        2 * NAMES,
        found.len()
    );
    for (letters, score) in &lowest {
        println!(
            "  {letters}-{} letters: lowest name score {score:.1}",
            letters + 9
        );
    }
    assert_eq!(code, 0, "{found:?}");
    assert!(
        found.is_empty(),
        "{} false findings: {found:?}",
        found.len()
    );
}

#[test]
fn the_same_shapes_with_random_bodies_are_found() {
    let mut text = String::new();
    let tokens: Vec<String> = (0..60).map(|s| fake_token(1800 + s)).collect();
    for (i, t) in tokens.iter().enumerate() {
        for line in shapes(i % FILES.len(), t) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.txt", text.as_bytes());
    let (code, report) = run_json(dir.path(), &["scan", "--no-progress", "."]);
    assert_eq!(code, 1);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        2 * tokens.len()
    );
}
