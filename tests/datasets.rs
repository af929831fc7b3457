//! Datasets read as data, through the built binary: Parquet (each codec,
//! data pages v1 and v2, dictionaries, nested chat messages, several row
//! groups), Arrow IPC files and streams, and compressed text (zstd,
//! bzip2, xz, lz4, gzip), each finding at its row and column or its
//! `path!member` line; traps that must stay quiet; truncated files; a
//! zstd bomb and a row group of 1 GiB within bounds; and `hub` reading a
//! Parquet LFS file and a Parquet bucket file. Fixtures are written here
//! with the parquet and arrow crates, every token synthetic (seeded).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::estate::{hub_json, of, one};
use common::hub_server::{HubServer, RepoBuilder};
use common::*;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::{Value, json};

/// One leaf column's values with their levels, as the writer takes them.
enum Column {
    Text {
        values: Vec<ByteArray>,
        defs: Option<Vec<i16>>,
        reps: Option<Vec<i16>>,
    },
    Float(Vec<f64>),
}

fn text(values: &[String]) -> Column {
    Column::Text {
        values: values.iter().map(|v| ByteArray::from(v.as_str())).collect(),
        defs: None,
        reps: None,
    }
}

fn props(compression: Compression, version: WriterVersion, dictionary: bool) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(compression)
        .set_writer_version(version)
        .set_dictionary_enabled(dictionary)
        .set_data_page_row_count_limit(16)
        .set_write_batch_size(16)
        .build()
}

/// A Parquet file of `schema` with one row group per entry of `groups`
/// (each column's values in schema order).
fn parquet(schema: &str, props: WriterProperties, groups: Vec<Vec<Column>>) -> Vec<u8> {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let mut w = SerializedFileWriter::new(Vec::new(), schema, Arc::new(props)).unwrap();
    for columns in groups {
        let mut group = w.next_row_group().unwrap();
        let mut columns = columns.into_iter();
        while let Some(mut col) = group.next_column().unwrap() {
            match columns.next().expect("a column per leaf") {
                Column::Text { values, defs, reps } => {
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, defs.as_deref(), reps.as_deref())
                        .unwrap();
                }
                Column::Float(values) => {
                    col.typed::<DoubleType>()
                        .write_batch(&values, None, None)
                        .unwrap();
                }
            }
            col.close().unwrap();
        }
        group.close().unwrap();
    }
    w.into_inner().unwrap()
}

const TEXT_AND_SCORE: &str = "message m { required binary text (UTF8); required double score; }";

/// `n` rows of chat-like text, `token` in row `at`.
fn rows_with(n: usize, at: usize, token: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i == at {
                format!("user {i}: my key is {token}, keep it safe")
            } else {
                format!(
                    "user {i}: how do I fine-tune a model on {} examples?",
                    i * 3
                )
            }
        })
        .collect()
}

fn scores(n: usize) -> Column {
    Column::Float((0..n).map(|i| i as f64 / 7.0).collect())
}

fn scan(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["scan", "--no-progress"];
    args.extend(extra);
    run_json(dir, &args)
}

#[test]
fn each_codec_and_both_page_versions_give_the_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let codecs = [
        ("none", Compression::UNCOMPRESSED),
        ("snappy", Compression::SNAPPY),
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("brotli", Compression::BROTLI(BrotliLevel::default())),
        ("lz4", Compression::LZ4),
        ("lz4raw", Compression::LZ4_RAW),
    ];
    let mut expect = Vec::new();
    for (i, (name, codec)) in codecs.into_iter().enumerate() {
        for (v, version) in [
            (1, WriterVersion::PARQUET_1_0),
            (2, WriterVersion::PARQUET_2_0),
        ] {
            let seed = 2700 + (i * 2 + v) as u64;
            let token = fake_token(seed);
            let at = (i * 13 + v * 5) % 60;
            let file = parquet(
                TEXT_AND_SCORE,
                props(codec, version, false),
                vec![vec![text(&rows_with(60, at, &token)), scores(60)]],
            );
            let path = format!("data/{name}-v{v}.parquet");
            write(dir.path(), &path, &file);
            expect.push((path, token, at));
        }
    }
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    assert!(
        r["errors"].as_array().unwrap().is_empty(),
        "{}",
        r["errors"]
    );
    for (path, token, at) in &expect {
        let found = of(&r, token);
        assert_eq!(found.len(), 1, "{path}: {r}");
        let f = found[0];
        assert_eq!(f["path"], path.as_str());
        assert_eq!(f["record"], json!({"row": at, "column": "text"}), "{path}");
        // The place within the cell: line 1, after "user N: my key is ".
        assert_eq!(f["line"], 1);
        let prefix = format!("user {at}: my key is ");
        assert_eq!(f["column"], prefix.len() + 1, "{path}");
    }
}

#[test]
fn a_dictionary_token_shared_by_ten_rows_is_found_at_each_row() {
    let token = fake_token(2750);
    let rows: Vec<String> = (0..200)
        .map(|i| {
            if i % 20 == 3 {
                format!("export HF_TOKEN={token}")
            } else {
                format!("label-{}", i % 4)
            }
        })
        .collect();
    let file = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, true),
        vec![vec![text(&rows), scores(200)]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train.parquet", &file);
    let (_, r) = scan(dir.path(), &[]);
    let found: Vec<u64> = of(&r, &token)
        .iter()
        .map(|f| f["record"]["row"].as_u64().unwrap())
        .collect();
    assert_eq!(found, (0..10).map(|k| k * 20 + 3).collect::<Vec<u64>>());
}

/// pyarrow's layout of `messages: list<struct<role, content>>`.
const CHAT: &str = "message schema {
  optional group messages (LIST) {
    repeated group list {
      optional group element {
        optional binary role (STRING);
        optional binary content (STRING);
      }
    }
  }
}";

#[test]
fn nested_chat_messages_name_the_leaf_path_and_the_row() {
    let token = fake_token(2760);
    // Rows: 0 two messages; 1 an empty list; 2 null; 3 two messages, the
    // tool's output holding the token; 4 one message.
    let leaf = |values: Vec<&str>, defs: Vec<i16>| Column::Text {
        values: values.into_iter().map(ByteArray::from).collect(),
        defs: Some(defs),
        reps: Some(vec![0, 1, 0, 0, 0, 1, 0]),
    };
    let tool_output = format!("env:\nPATH=/usr/bin\nHF_TOKEN={token}\n");
    let file = parquet(
        CHAT,
        props(Compression::SNAPPY, WriterVersion::PARQUET_2_0, false),
        vec![vec![
            leaf(
                vec!["user", "assistant", "user", "tool", "user"],
                vec![4, 4, 1, 0, 4, 4, 4],
            ),
            leaf(
                vec!["hi", "hello", "run env", &tool_output, "thanks"],
                vec![4, 4, 1, 0, 4, 4, 4],
            ),
        ]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "chats.parquet", &file);
    let (_, r) = scan(dir.path(), &[]);
    let f = one(&r, &token);
    assert_eq!(
        f["record"],
        json!({"row": 3, "column": "messages.list.element.content"})
    );
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(3), Some(10))
    );
    let (_, stdout, _) = run(dir.path(), &["scan", "--no-progress", "--no-group"]);
    assert!(
        stdout.contains("chats.parquet  row 3, column messages.list.element.content"),
        "{stdout}"
    );
    assert!(stdout.contains("in cell  line 3, column 10"), "{stdout}");
}

#[test]
fn sarif_the_incident_view_and_the_ignore_file_name_the_record() {
    let token = fake_token(2765);
    let rows = rows_with(12, 9, &token);
    let file = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, false),
        vec![vec![text(&rows), scores(12)]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data/train.parquet", &file);
    let (_, stdout, _) = run(dir.path(), &["scan", "--no-progress", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif_schema_errors(&sarif), Vec::<String>::new());
    let result = &sarif["runs"][0]["results"][0];
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("row 9, column text"),
        "{result}"
    );
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["name"],
        "row 9, column text"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "data/train.parquet"
    );
    // The incident view (the default text report) names the row and says
    // how to drop it.
    let (_, stdout, _) = run(dir.path(), &["scan", "--no-progress"]);
    assert!(
        stdout.contains("data/train.parquet  row 9, column text"),
        "{stdout}"
    );
    assert!(stdout.contains("drop = {9}"), "{stdout}");
    // No inline marker can sit in a cell: the ignore file names the place.
    write(dir.path(), ".hfleaksignore", b"data/train.parquet@row=9\n");
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{r}");
    write(dir.path(), ".hfleaksignore", b"data/train.parquet@row=8\n");
    let (code, _) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
}

#[test]
fn a_token_in_the_last_row_of_the_last_row_group_is_found() {
    let token = fake_token(2770);
    let groups = (0..4)
        .map(|g| {
            let at = if g == 3 { 99 } else { usize::MAX };
            vec![text(&rows_with(100, at, &token)), scores(100)]
        })
        .collect();
    let file = parquet(
        TEXT_AND_SCORE,
        props(
            Compression::ZSTD(ZstdLevel::default()),
            WriterVersion::PARQUET_1_0,
            true,
        ),
        groups,
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-00000-of-00001.parquet", &file);
    let (_, r) = scan(dir.path(), &[]);
    assert_eq!(one(&r, &token)["record"]["row"], 399);
}

#[test]
fn base64_in_a_cell_is_decoded_and_placed_in_the_cell() {
    use base64::Engine as _;
    let token = fake_token(2780);
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("HF_TOKEN={token}"));
    let mut rows = rows_with(30, usize::MAX, "");
    rows[17] = format!("config blob: {encoded}");
    // The same token plain in another row, at an overlapping place of its
    // cell: each cell's findings stand on their own.
    rows[4] = format!("config: HF_TOKEN={token}");
    let file = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, false),
        vec![vec![text(&rows), scores(30)]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "logs.parquet", &file);
    let (_, r) = scan(dir.path(), &[]);
    let found = of(&r, &token);
    assert_eq!(found.len(), 2, "{r}");
    let plain = found.iter().find(|f| f["record"]["row"] == 4).unwrap();
    assert!(plain["encoding"].is_null());
    let f = found.iter().find(|f| f["record"]["row"] == 17).unwrap();
    assert_eq!(f["encoding"], "base64");
    assert_eq!(f["record"], json!({"row": 17, "column": "text"}));
    assert_eq!(f["column"], "config blob: ".len() + 1);
}

#[test]
fn history_finds_a_parquet_blob_at_its_row_and_names_its_removal() {
    let token = fake_token(2785);
    let file = parquet(
        TEXT_AND_SCORE,
        props(
            Compression::ZSTD(ZstdLevel::default()),
            WriterVersion::PARQUET_2_0,
            true,
        ),
        vec![vec![text(&rows_with(25, 21, &token)), scores(25)]],
    );
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), "data/train.parquet", &file);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "add data"]);
    git(dir.path(), &["rm", "-q", "data/train.parquet"]);
    git(dir.path(), &["commit", "-qm", "drop the shard"]);
    let (code, r) = run_json(dir.path(), &["history", "--no-progress"]);
    assert_eq!(code, 1, "{r}");
    let f = one(&r, &token);
    assert_eq!(f["path"], "data/train.parquet");
    assert_eq!(f["record"], json!({"row": 21, "column": "text"}));
    assert_eq!(f["commit"]["summary"], "add data");
    assert_eq!(f["removed_in"]["summary"], "drop the shard");
}

fn arrow_batch(rows: &[String]) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("text", DataType::Utf8, true),
        Field::new("score", DataType::Float64, false),
    ]);
    let text = StringArray::from(rows.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
    let score = Float64Array::from((0..rows.len()).map(|i| i as f64).collect::<Vec<_>>());
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(text) as ArrayRef, Arc::new(score)],
    )
    .unwrap()
}

#[test]
fn an_arrow_stream_and_an_arrow_file_give_the_row() {
    let in_stream = fake_token(2790);
    let in_file = fake_token(2791);
    let mut stream = Vec::new();
    {
        let first = arrow_batch(&rows_with(40, usize::MAX, ""));
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut stream, &first.schema()).unwrap();
        w.write(&first).unwrap();
        w.write(&arrow_batch(&rows_with(40, 25, &in_stream)))
            .unwrap();
        w.finish().unwrap();
    }
    let mut file = Vec::new();
    {
        let batch = arrow_batch(&rows_with(10, 4, &in_file));
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut file, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train/data-00000-of-00001.arrow", &stream);
    write(dir.path(), "cache.arrow", &file);
    let (_, r) = scan(dir.path(), &[]);
    let s = one(&r, &in_stream);
    assert_eq!(s["path"], "train/data-00000-of-00001.arrow");
    assert_eq!(s["record"], json!({"row": 65, "column": "text"}));
    assert_eq!(
        one(&r, &in_file)["record"],
        json!({"row": 4, "column": "text"})
    );
}

fn jsonl(n: usize, at: usize, token: &str) -> Vec<u8> {
    rows_with(n, at, token)
        .iter()
        .map(|r| format!("{{\"text\": \"{r}\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

type Compressor = fn(&[u8]) -> Vec<u8>;

#[test]
fn each_compressed_text_format_is_read_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut expect = Vec::new();
    let compressors: [(&str, Compressor); 5] = [
        ("train.jsonl.zst", |d| zstd::encode_all(d, 3).unwrap()),
        ("train.jsonl.bz2", |d| {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        }),
        ("rows.csv.xz", |d| {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(d).unwrap();
            e.finish().unwrap()
        }),
        ("train.jsonl.lz4", |d| {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        }),
        ("train.jsonl.gz", gzip_of),
    ];
    for (i, (name, compress)) in compressors.into_iter().enumerate() {
        let token = fake_token(2800 + i as u64);
        let at = 40 + i * 11;
        write(dir.path(), name, &compress(&jsonl(200, at, &token)));
        expect.push((name, token, at));
    }
    let (_, r) = scan(dir.path(), &[]);
    assert!(
        r["errors"].as_array().unwrap().is_empty(),
        "{}",
        r["errors"]
    );
    for (name, token, at) in expect {
        let f = one(&r, &token);
        let stem = name.rsplit_once('.').unwrap().0;
        assert_eq!(f["path"], format!("{name}!{stem}"));
        assert_eq!(f["line"], at + 1, "{name}");
        assert!(f["record"].is_null());
    }
}

#[test]
fn a_compressed_stream_is_read_in_windows_past_the_file_size_limit() {
    // 300,000 lines (about 27 MiB) in a small zstd file; the token far
    // past the first window, and the file far past --max-file-size once
    // decompressed: streamed, never held whole.
    let token = fake_token(2810);
    let data = jsonl(300_000, 280_000, &token);
    assert!(data.len() > 5 * archive_window());
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "big.jsonl.zst",
        &zstd::encode_all(&data[..], 3).unwrap(),
    );
    let (code, r) = scan(dir.path(), &["--max-file-size", "2M"]);
    assert_eq!(code, 1, "{r}");
    let f = one(&r, &token);
    assert_eq!(f["path"], "big.jsonl.zst!big.jsonl");
    assert_eq!(f["line"], 280_001);
    assert_eq!(
        f["column"],
        "{\"text\": \"user 280000: my key is ".len() + 1
    );
}

fn archive_window() -> usize {
    hfleaks::sources::archive::WINDOW
}

#[test]
fn identifiers_placeholders_and_floats_in_cells_are_not_findings() {
    let traps: Vec<String> = [
        "from huggingface_hub import hf_hub_download",
        "token = hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "HF_TOKEN=hf_YOUR_TOKEN_HERE",
        "set HF_TOKEN=<your token>",
        "hf_transfer is enabled",
        "api_org_name = 'acme'",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let n = traps.len();
    let file = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, true),
        vec![vec![text(&traps), scores(n)]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "traps.parquet", &file);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{r}");
    assert!(r["findings"].as_array().unwrap().is_empty());
}

#[test]
fn a_truncated_parquet_file_is_one_error_naming_it_and_the_run_goes_on() {
    let token = fake_token(2820);
    let file = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, false),
        vec![vec![text(&rows_with(50, 3, &fake_token(2821))), scores(50)]],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cut.parquet", &file[..file.len() * 2 / 3]);
    write(dir.path(), "ok.parquet", &file);
    write(dir.path(), ".env", format!("HF_TOKEN={token}\n").as_bytes());
    let broken_stream = {
        let mut z = zstd::encode_all(&jsonl(100, 50, &fake_token(2822))[..], 3).unwrap();
        z.truncate(z.len() / 2);
        z
    };
    write(dir.path(), "half.jsonl.zst", &broken_stream);
    let (code, r) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(one(&r, &token)["path"], ".env");
    assert_eq!(one(&r, &fake_token(2821))["path"], "ok.parquet");
    let errors = r["errors"].as_array().unwrap();
    let on = |p: &str| errors.iter().filter(|e| e["path"] == p).count();
    assert_eq!(on("cut.parquet"), 1, "{errors:?}");
    assert_eq!(on("half.jsonl.zst"), 1, "{errors:?}");
    let cut = errors.iter().find(|e| e["path"] == "cut.parquet").unwrap();
    assert!(
        cut["message"].as_str().unwrap().contains("Parquet"),
        "{cut}"
    );
}

/// Runs `hfleaks ARGS` in `dir`: its exit code, stderr, wall time and
/// peak resident memory (polled from /proc while it runs).
fn measured(dir: &Path, args: &[&str]) -> (i32, String, Duration, u64) {
    let bin = assert_cmd::cargo::cargo_bin("hfleaks");
    let started = Instant::now();
    let mut child = std::process::Command::new(bin)
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (
        status.code().unwrap_or(-1),
        stderr,
        started.elapsed(),
        peak_kib << 10,
    )
}

const MEMORY_BOUND: u64 = 300 << 20;
const TIME_BOUND: Duration = Duration::from_secs(30);

#[test]
fn a_zstd_bomb_of_two_gib_is_stopped_in_bounded_memory() {
    // 32 frames of 64 MiB of zeros: 2 GiB out of a few kilobytes.
    let frame = zstd::encode_all(&vec![0u8; 64 << 20][..], 3).unwrap();
    let bomb: Vec<u8> = frame.repeat(32);
    assert!(bomb.len() < 1 << 20);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "zeros.jsonl.zst", &bomb);
    let args = ["scan", "--no-progress"];
    let (_, stderr, took, peak) = measured(dir.path(), &args);
    assert!(stderr.contains("zeros.jsonl.zst"), "{stderr}");
    assert!(stderr.contains("decompression bomb"), "{stderr}");
    eprintln!("{args:?}: {took:?}, peak RSS {} MiB", peak >> 20);
    assert!(peak < MEMORY_BOUND, "peak RSS {peak}");
    assert!(took < TIME_BOUND, "{took:?}");
}

#[test]
fn a_row_group_of_one_gib_is_scanned_or_stopped_within_bounds() {
    // 128 cells of 8 MiB of prose, zstd-compressed to a small file; the
    // token at the end of the last cell.
    let token = fake_token(2830);
    let prose = "the model was trained on public text and evaluated on held-out data. ";
    let mut cell = prose.repeat((8 << 20) / prose.len());
    let plain = ByteArray::from(cell.clone().into_bytes());
    cell.push_str(&format!("HF_TOKEN={token}\n"));
    let last = ByteArray::from(cell.into_bytes());
    let mut values: Vec<ByteArray> = (0..127).map(|_| plain.clone()).collect();
    values.push(last);
    let file = parquet(
        "message m { required binary text (UTF8); }",
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_dictionary_enabled(false)
            .set_write_batch_size(1)
            .set_data_page_row_count_limit(1)
            .build(),
        vec![vec![Column::Text {
            values,
            defs: None,
            reps: None,
        }]],
    );
    assert!(file.len() < 50 << 20, "{}", file.len());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.parquet", &file);
    // Within the default bounds: stopped, with a note naming the file.
    let args = ["scan", "--no-progress"];
    let (code, stderr, took, peak) = measured(dir.path(), &args);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("big.parquet") && stderr.contains("--max-archive-size"),
        "{stderr}"
    );
    eprintln!("{args:?}: {took:?}, peak RSS {} MiB", peak >> 20);
    assert!(peak < MEMORY_BOUND, "peak RSS {peak}");
    assert!(took < TIME_BOUND, "{took:?}");
    // With the bound raised, read to the end in the same memory.
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("r.json");
    let args = [
        "scan",
        "--no-progress",
        "--max-archive-size",
        "2G",
        "-o",
        report.to_str().unwrap(),
    ];
    let (code, stderr, took, peak) = measured(dir.path(), &args);
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        one(&r, &token)["record"],
        json!({"row": 127, "column": "text"})
    );
    eprintln!("{args:?}: {took:?}, peak RSS {} MiB", peak >> 20);
    assert!(peak < MEMORY_BOUND, "peak RSS {peak}");
    assert!(took < TIME_BOUND, "{took:?}");
}

#[test]
fn hub_finds_a_token_in_a_parquet_lfs_file_and_a_bucket_file_at_its_row() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("lfs");
    std::fs::create_dir_all(&store).unwrap();
    let in_lfs = fake_token(2840);
    let in_bucket = fake_token(2841);
    let converted = fake_token(2842);
    let shard = parquet(
        TEXT_AND_SCORE,
        props(Compression::SNAPPY, WriterVersion::PARQUET_1_0, true),
        vec![vec![text(&rows_with(500, 321, &in_lfs)), scores(500)]],
    );
    let oid = hfleaks::finding::sha256_hex(&shard);
    std::fs::write(store.join(&oid), &shard).unwrap();
    let pointer = format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n",
        shard.len()
    );
    let repo = RepoBuilder::new(root.path(), "dataset", "acme-ml/chats");
    repo.commit(
        &[
            ("data/train-00000-of-00001.parquet", &pointer),
            ("README.md", "# chats\n"),
        ],
        "upload",
    );
    repo.publish();
    // The dataset viewer's export, on refs/convert/parquet only.
    git(repo.work(), &["checkout", "-q", "-b", "convert"]);
    let conv = repo.commit(
        &[("default/train/0000.parquet.txt", &format!("{converted}\n"))],
        "convert",
    );
    let bare = root.path().join("git/datasets/acme-ml/chats.git");
    git(
        &bare,
        &[
            "fetch",
            "-q",
            repo.work().to_str().unwrap(),
            &format!("{conv}:refs/convert/parquet"),
        ],
    );
    git(repo.work(), &["checkout", "-q", "main"]);
    let bucket_file = parquet(
        TEXT_AND_SCORE,
        props(
            Compression::ZSTD(ZstdLevel::default()),
            WriterVersion::PARQUET_2_0,
            false,
        ),
        vec![vec![text(&rows_with(20, 7, &in_bucket)), scores(20)]],
    );
    use base64::Engine as _;
    let config = json!({
        "lfs_store": store,
        "repos": [{"type": "dataset", "id": "acme-ml/chats"}],
        "buckets": [{"id": "acme-ml/runs", "files": [
            {"path": "eval/results.parquet",
             "content_b64": base64::engine::general_purpose::STANDARD.encode(&bucket_file)},
        ]}],
    });
    let server = HubServer::start(root.path(), config);
    let (code, v, stderr) = hub_json(&server, &["acme-ml", "--no-discussions"], &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = one(&v, &in_lfs);
    assert_eq!(f["path"], "data/train-00000-of-00001.parquet");
    assert_eq!(f["record"], json!({"row": 321, "column": "text"}));
    assert_eq!(f["lfs"]["oid"], oid.as_str());
    let b = one(&v, &in_bucket);
    assert_eq!(b["path"], "eval/results.parquet");
    assert_eq!(b["record"], json!({"row": 7, "column": "text"}));
    assert!(
        of(&v, &converted).is_empty(),
        "refs/convert is not audited by default"
    );
    // The owner's name is sent as written: `-` is never percent-encoded.
    let listed: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .filter(|p| p.starts_with("/api/buckets/"))
        .collect();
    assert!(
        listed.iter().any(|p| p.starts_with("/api/buckets/acme-ml")),
        "{listed:?}"
    );
    assert!(listed.iter().all(|p| !p.contains("%2D")), "{listed:?}");
    let (_, v, stderr) = hub_json(
        &server,
        &[
            "datasets/acme-ml/chats",
            "--no-discussions",
            "--include",
            "converted",
        ],
        &[],
    );
    assert_eq!(
        one(&v, &converted)["path"],
        "default/train/0000.parquet.txt",
        "{stderr}"
    );
}
