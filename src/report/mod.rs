//! Renders a [`Report`] for people (text) and machines (JSON, JSONL,
//! SARIF), and writes it to stdout (through `ui`) or, atomically, to a
//! file; also the summary line and the rule listings. Every rendering
//! lives here.

pub mod html;
pub mod json;
pub mod rules;
pub mod sarif;
pub mod summary;
pub mod text;

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::OutputConfig;
use crate::finding::Report;
use crate::rules::Rule;
use crate::ui;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
    Sarif,
    /// One self-contained page (the incident view).
    Html,
}

impl Format {
    /// The format a file name asks for: `.json`, `.jsonl`/`.ndjson`,
    /// `.sarif`, `.txt`.
    pub fn for_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "sarif" => Some(Format::Sarif),
            "html" | "htm" => Some(Format::Html),
            "txt" | "text" | "log" => Some(Format::Text),
            _ => None,
        }
    }
}

/// What the renderers need besides the report.
pub struct RenderOptions<'a> {
    pub format: Format,
    pub color: bool,
    /// Text: one incident per token rather than one block per finding.
    pub group: bool,
    pub rules: &'a [Rule],
}

/// Renders `report` into `out`.
pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    match opts.format {
        Format::Text => text::write(report, opts.color, opts.group, opts.rules, out),
        Format::Json => json::write(report, out),
        Format::Jsonl => json::write_lines(report, out),
        Format::Sarif => sarif::write(report, opts.rules, out),
        Format::Html => html::write(report, out),
    }
}

/// Renders the report to each `-o FILE` (format from `--format`, else from
/// the file's extension) or to standard output.
pub fn emit(report: &Report, rules: &[Rule], output: &OutputConfig) -> Result<()> {
    let fallback = output.format.unwrap_or(Format::Text);
    for path in &output.files {
        let format = match (output.files.len(), output.format) {
            (1, Some(f)) => f,
            _ => Format::for_path(path).unwrap_or(fallback),
        };
        let opts = RenderOptions {
            format,
            color: false,
            group: output.group,
            rules,
        };
        write_file(path, report, &opts)?;
    }
    if output.files.is_empty() {
        let opts = RenderOptions {
            format: fallback,
            color: output.color,
            group: output.group,
            rules,
        };
        ui::stdout(|out| render(report, &opts, out)).context("cannot write to standard output")?;
    }
    Ok(())
}

/// Writes the rendered report to `path` atomically: a temporary file in the
/// same directory, renamed into place only once complete. A symbolic link
/// is written through (the link stays); a path that is not a regular file
/// (`/dev/null`, a FIFO, `/dev/stdout`) is written to directly, since
/// renaming over it would replace the device or pipe.
pub fn write_file(path: &Path, report: &Report, opts: &RenderOptions) -> Result<()> {
    let context = || format!("{}: cannot write output", path.display());
    let resolved = std::fs::canonicalize(path).ok();
    if let Some(target) = &resolved {
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(target)
                .with_context(context)?;
            let mut w = io::BufWriter::new(file);
            render(report, opts, &mut w).with_context(context)?;
            return w.flush().with_context(context);
        }
    }
    let path = resolved.as_deref().unwrap_or(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hfleaks-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot write output", path.display()))?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        render(report, opts, &mut w)
            .with_context(|| format!("{}: cannot write output", path.display()))?;
        w.flush()
            .with_context(|| format!("{}: cannot write output", path.display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot write output", path.display()))?;
    Ok(())
}

/// An hfleaks JSON report read from `path`.
pub fn read(path: &Path) -> Result<Report> {
    let text =
        std::fs::read(path).with_context(|| format!("{}: cannot read report", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{}: not an hfleaks JSON report", path.display()))
}
