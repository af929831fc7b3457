//! Nested encodings of any order: a token under up to `--max-decode-depth`
//! layers of base64, percent-encoding, `\u` escapes and hex is found even
//! where the outer layer shows no encoded keyword, with the whole chain
//! named outermost first; a lower depth reports nothing a higher one loses.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::Value;

use super::*;

/// (path, line, column, secret_sha256, encoding) of every finding.
fn found(r: &Value) -> BTreeSet<(String, u64, u64, String, String)> {
    findings(r)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["secret_sha256"].as_str().unwrap().to_string(),
                f["encoding"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Layer {
    Base64,
    Base64Url,
    PercentAll,
    PercentPunct,
    UnicodeAll,
    Hex,
}

impl Layer {
    const ALL: [Layer; 6] = [
        Layer::Base64,
        Layer::Base64Url,
        Layer::PercentAll,
        Layer::PercentPunct,
        Layer::UnicodeAll,
        Layer::Hex,
    ];

    fn name(self) -> &'static str {
        match self {
            Layer::Base64 | Layer::Base64Url => "base64",
            Layer::PercentAll | Layer::PercentPunct => "percent",
            Layer::UnicodeAll => "unicode-escape",
            Layer::Hex => "hex",
        }
    }

    fn apply(self, text: &str) -> String {
        match self {
            Layer::Base64 => b64(text.as_bytes()),
            Layer::Base64Url => {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes())
            }
            Layer::PercentAll => text.bytes().map(|b| format!("%{b:02X}")).collect(),
            Layer::PercentPunct => text
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect(),
            Layer::UnicodeAll => text.bytes().map(|b| format!("\\u{b:04x}")).collect(),
            Layer::Hex => text.bytes().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// Text around an encoded value, as it sits in configs, URLs and JSON.
fn wrap(rng: &mut fastrand::Rng, value: &str) -> String {
    match rng.u8(..4) {
        0 => format!("{{\"auth\": \"{value}\"}}"),
        1 => format!("token: {value}"),
        2 => format!("https://hub.example/cb?code=1&state={value}"),
        _ => format!("user:{value}"),
    }
}

/// A chain of `layers` encodings around a token in context, and its name.
fn chain(rng: &mut fastrand::Rng, token: &str, layers: usize) -> (String, String) {
    let mut text = wrap(rng, token);
    let mut names = Vec::new();
    for i in 0..layers {
        let mut layer = Layer::ALL[rng.usize(..Layer::ALL.len())];
        // Percent-encoding of text that has no punctuation changes nothing.
        if matches!(layer, Layer::PercentPunct) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            layer = Layer::PercentAll;
        }
        text = layer.apply(&text);
        if i + 1 < layers {
            text = wrap(rng, &text);
        }
        names.push(layer.name());
    }
    names.reverse();
    (text, names.join(">"))
}

#[test]
fn chains_of_any_order_are_found_with_their_whole_name_and_depth_loses_nothing() {
    let mut rng = fastrand::Rng::with_seed(0x18);
    let dir = tree(&[]);
    // (file, token, chain length, chain name)
    let mut cases = Vec::new();
    for i in 0..150u64 {
        let layers = 1 + (i % 3) as usize;
        let token = fake_token(18_000 + i);
        let (text, name) = chain(&mut rng, &token, layers);
        let file = format!("c{i:03}.txt");
        write(
            dir.path(),
            &file,
            format!("first line\nvalue = {text}\n").as_bytes(),
        );
        cases.push((file, token, layers, name));
    }
    let mut previous: Option<BTreeSet<_>> = None;
    for depth in 1..=4usize {
        let (_, r) = scan(dir.path(), &["--max-decode-depth", &depth.to_string()]);
        let now = found(&r);
        for (file, token, layers, name) in &cases {
            let here: Vec<_> = now.iter().filter(|f| &f.0 == file).collect();
            if depth >= *layers {
                assert_eq!(here.len(), 1, "depth {depth}, {file} ({name}): {here:?}");
                assert_eq!(here[0].3, sha(token), "{file}");
                assert_eq!(&here[0].4, name, "depth {depth}, {file}");
                assert_eq!(here[0].1, 2, "{file}");
            } else {
                assert!(here.is_empty(), "depth {depth}, {file} ({name}): {here:?}");
            }
        }
        if let Some(before) = &previous {
            let lost: Vec<_> = before.difference(&now).collect();
            assert!(lost.is_empty(), "depth {depth} lost {lost:?}");
        }
        previous = Some(now);
    }
}

#[test]
fn a_kubernetes_dockerconfigjson_secret_is_found() {
    let t = fake_token(181);
    let auth = b64(format!("hf-user:{t}").as_bytes());
    let config = format!(
        "{{\"auths\":{{\"registry.hf.space\":{{\"username\":\"hf-user\",\"auth\":\"{auth}\"}}}}}}"
    );
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: space-registry\n\
         type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
        b64(config.as_bytes())
    );
    let dir = tree(&[("k8s/pull-secret.yaml", &yaml)]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    let f = &findings(&r)[0];
    assert_eq!(findings(&r).len(), 1, "{r}");
    assert_eq!(f["secret_sha256"], sha(&t));
    assert_eq!(f["encoding"], "base64>base64");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(7), Some(22))
    );
    let (_, r) = scan(dir.path(), &["--max-decode-depth", "1"]);
    assert!(findings(&r).is_empty(), "{r}");
}

#[test]
fn base64_percent_encoded_in_a_url_is_found() {
    // An OAuth `state` carrying base64 of JSON, percent-encoded as a query
    // value: `+`, `/` and `=` inside the run become %2B, %2F and %3D.
    let mut seed = 1820;
    let (t, state) = loop {
        let t = fake_token(seed);
        let state =
            b64(format!("{{\"redirect\":\"/spaces?>x\",\"hf\":\"{t}\",\"n\":\"??>\"}}").as_bytes());
        if state.contains('+') && state.contains('/') && state.ends_with('=') {
            break (t, state);
        }
        seed += 1;
    };
    let escaped = state
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let url = format!(
        "https://huggingface.co/oauth/authorize?client_id=abc&state={escaped}&scope=openid\n"
    );
    let dir = tree(&[("access.log", &url)]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(findings(&r).len(), 1, "{r}");
    let f = &findings(&r)[0];
    assert_eq!(f["secret_sha256"], sha(&t));
    assert_eq!(f["encoding"], "percent>base64");
}

#[test]
fn three_layers_are_found_at_depth_three_only() {
    let t = fake_token(183);
    // base64 of YAML holding hex of JSON holding base64 of the token.
    let inner = format!("{{\"token\": \"{}\"}}", b64(t.as_bytes()));
    let hexed: String = inner.bytes().map(|b| format!("{b:02x}")).collect();
    let outer = b64(format!("payload: {hexed}\n").as_bytes());
    let dir = tree(&[("blob.txt", &format!("data={outer}\n"))]);
    let (_, r) = scan(dir.path(), &[]);
    assert!(findings(&r).is_empty(), "default depth 2: {r}");
    let (code, r) = scan(dir.path(), &["--max-decode-depth", "3"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(findings(&r)[0]["encoding"], "base64>hex>base64");
    assert_eq!(findings(&r)[0]["secret_sha256"], sha(&t));
}

#[test]
fn a_long_nested_run_is_decoded_in_windows() {
    // 600 KB of base64 of base64 text, the token's layer in the middle:
    // decoded window by window, found all the same.
    let t = fake_token(184);
    let mut rng = fastrand::Rng::with_seed(184);
    let filler = |rng: &mut fastrand::Rng| {
        let raw: Vec<u8> = (0..150_000).map(|_| rng.u8(..)).collect();
        b64(&raw)
    };
    let inner = format!(
        "{} {} {}",
        filler(&mut rng),
        b64(format!("k={t}").as_bytes()),
        filler(&mut rng)
    );
    let dir = tree(&[("big.txt", &format!("x: {}\n", b64(inner.as_bytes())))]);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(findings(&r).len(), 1, "{r}");
    assert_eq!(findings(&r)[0]["encoding"], "base64>base64");
}

#[test]
fn arbitrary_mixes_of_encodings_never_panic() {
    // Pieces of every encoding, cut and glued at random, with random bytes
    // and runs long enough to be decoded in windows: the scanner (depth 4)
    // must take all of it, and locate every finding on a line of the input.
    use hfleaks::config::DetectConfig;
    use hfleaks::detect::Scanner;
    let config = DetectConfig {
        max_decode_depth: 4,
        ..DetectConfig::default()
    };
    let scanner = Scanner::build(hfleaks::rules::builtin(), config);
    let mut rng = fastrand::Rng::with_seed(0xF022);
    for case in 0..300 {
        let mut data: Vec<u8> = Vec::new();
        while data.len() < rng.usize(10..if case % 25 == 0 { 200_000 } else { 3_000 }) {
            let mut piece = if rng.bool() {
                fake_token(rng.u64(..))
            } else {
                (0..rng.usize(1..200))
                    .map(|_| char::from(rng.u8(0x20..0x7f)))
                    .collect()
            };
            for _ in 0..rng.usize(0..4) {
                piece = Layer::ALL[rng.usize(..Layer::ALL.len())].apply(&piece);
            }
            let bytes = piece.into_bytes();
            let cut = rng.usize(..=bytes.len());
            data.extend_from_slice(if rng.u8(..4) == 0 {
                &bytes[cut..]
            } else {
                &bytes
            });
            match rng.u8(..6) {
                0 => data.extend((0..rng.usize(..50)).map(|_| rng.u8(..))),
                1 => data.push(b'\n'),
                2 => data.extend_from_slice(b"%2"),
                3 => data.extend_from_slice(b"\\u00"),
                _ => {}
            }
        }
        let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
        let scanned = scanner.scan(&data, "mix.txt", case % 2 == 0);
        for f in &scanned.findings {
            assert!(
                f.line >= 1 && f.line <= lines && f.column >= 1,
                "case {case}: {f:?}"
            );
        }
    }
}

#[test]
fn base64_next_to_a_percent_sign_that_is_no_escape_is_still_found_at_depth_one() {
    let t = fake_token(185);
    let encoded = b64(t.as_bytes());
    let dir = tree(&[
        ("a.txt", &format!("value={encoded}%\n")),
        ("b.bat", &format!("set X=%PATH%{encoded}\n")),
    ]);
    for depth in ["1", "2"] {
        let (code, r) = scan(dir.path(), &["--max-decode-depth", depth]);
        assert_eq!(code, 1, "{r}");
        assert_eq!(findings(&r).len(), 2, "depth {depth}: {r}");
        assert!(
            findings(&r)
                .iter()
                .all(|f| f["encoding"] == "base64" && f["secret_sha256"] == sha(&t))
        );
    }
}
