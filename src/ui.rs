//! The one channel to the terminal: every note, error line, progress bar
//! and summary goes through here, and so does the report on standard
//! output. It records whether an error was shown, for the exit code, and
//! passes every line through the run's redactor, so that a secret quoted
//! by an error never reaches the terminal. It decides nothing else.

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::finding::ScanError;

static QUIET: AtomicBool = AtomicBool::new(false);
static PROGRESS: AtomicBool = AtomicBool::new(true);
static ERRORED: AtomicBool = AtomicBool::new(false);
/// The bar being drawn, if any: lines are printed above it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);
/// While a bar over several inputs is drawn (`hfleaks hub`'s repos), every
/// other bar goes below it, and lines above them all.
static MULTI: Mutex<Option<MultiProgress>> = Mutex::new(None);
/// A function that redacts the secrets the run's rules know in a line.
type Redactor = Box<dyn Fn(&str) -> String + Send + Sync>;
/// The run's redactor (unset: lines as they are).
static REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// `--quiet`: no notes or summary; errors are still shown.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether bars may be drawn at all (`--no-progress` turns them off).
pub fn set_progress(on: bool) {
    PROGRESS.store(on, Ordering::Relaxed);
}

/// The redaction every line goes through, set once per run (not set with
/// `--show-secrets`).
pub fn set_redactor(redact: impl Fn(&str) -> String + Send + Sync + 'static) {
    let _ = REDACTOR.set(Box::new(redact));
}

/// Whether an error line was shown in this run.
pub fn errored() -> bool {
    ERRORED.load(Ordering::Relaxed)
}

fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Writes a line to stderr, redacted, above the progress bar if one is drawn.
fn line(text: &str) {
    let text = match REDACTOR.get() {
        Some(redact) => redact(text),
        None => text.to_string(),
    };
    if let Some(multi) = MULTI.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        let _ = multi.println(&text);
        return;
    }
    let bar = BAR.lock().unwrap_or_else(|e| e.into_inner());
    match bar.as_ref() {
        Some(bar) => bar.println(text),
        None => {
            let _ = writeln!(io::stderr().lock(), "{text}");
        }
    }
}

/// A problem with one input (`hfleaks: PATH: problem`); the run goes on.
pub fn error(e: &ScanError) {
    ERRORED.store(true, Ordering::Relaxed);
    line(&e.line());
}

/// The error that stopped the run: `hfleaks: context: cause`.
pub fn fatal(e: &anyhow::Error) {
    ERRORED.store(true, Ordering::Relaxed);
    let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    line(&format!("hfleaks: {}", causes.join(": ")));
}

/// `hfleaks: note: …`, unless `--quiet`.
pub fn note(message: impl Display) {
    if !quiet() {
        line(&format!("hfleaks: note: {message}"));
    }
}

/// `hfleaks: …` (what is being done, the summary), unless `--quiet`.
pub fn info(message: impl Display) {
    if !quiet() {
        line(&format!("hfleaks: {message}"));
    }
}

/// A message that must be seen even with `--quiet` (a prompt, a hint on
/// how to unblock a commit). Printed as given, without a prefix.
pub fn say(text: &str) {
    for l in text.lines() {
        line(l);
    }
}

/// Asks `question` on the terminal and reads the answer from standard
/// input: whether it was yes. Only called when standard input is a terminal.
pub fn confirm(question: &str) -> bool {
    {
        let _ = write!(io::stderr().lock(), "{question} [y/N] ");
        let _ = io::stderr().flush();
    }
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// With `HFLEAKS_TIMING` set, how long a phase took and the memory so far
/// (for benchmarks).
pub fn timing(name: &str, since: &mut Instant) {
    if std::env::var_os("HFLEAKS_TIMING").is_some() {
        // Resident and peak memory, where the kernel tells (Linux).
        let memory = std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        line(&format!(
            "hfleaks: timing: {name}: {:.3} s ({memory})",
            since.elapsed().as_secs_f64()
        ));
    }
    *since = Instant::now();
}

/// Writes to standard output through `write`; a closed pipe (`| head`)
/// ends the output quietly.
pub fn stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match write(&mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Whether standard output is a terminal (for colour).
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether standard input is a terminal (to say that it is being read).
pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// A byte count for people: `1.50 MiB`.
pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

/// `1 file`, `2 files`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Whether bars are drawn: stderr is a terminal, bars are not turned off,
/// and there is something to count.
fn bars_on(total: u64) -> bool {
    total > 0 && PROGRESS.load(Ordering::Relaxed) && !quiet() && io::stderr().is_terminal()
}

/// A progress bar on stderr, when it is a terminal and bars are not turned
/// off: items done of a total, and the bytes matched. While it is drawn,
/// every line goes above it.
pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
}

impl Progress {
    /// A bar over `total` items named `unit` (nothing when `total` is 0).
    pub fn new(total: u64, unit: &str) -> Progress {
        let template = format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit}, {{msg}} matched, ETA {{eta}}"
        );
        let bar = Self::bar(total, &template);
        if let Some(bar) = &bar {
            bar.set_message(bytes(0));
        }
        Progress {
            bar,
            bytes: AtomicU64::new(0),
        }
    }

    /// The bar over a run's inputs (`hfleaks hub`'s repos): drawn on top,
    /// with each input's own bars below it; its message is set by
    /// [`Progress::say`].
    pub fn over_inputs(total: u64, unit: &str) -> Progress {
        if bars_on(total) {
            *MULTI.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        }
        let template = format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit}, {{msg}}"
        );
        Progress {
            bar: Self::bar(total, &template),
            bytes: AtomicU64::new(0),
        }
    }

    fn bar(total: u64, template: &str) -> Option<ProgressBar> {
        bars_on(total).then(|| {
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let multi = MULTI.lock().unwrap_or_else(|e| e.into_inner());
            match multi.as_ref() {
                Some(multi) => {
                    let bar = multi.add(ProgressBar::new(total));
                    bar.set_style(style);
                    bar
                }
                None => {
                    let bar =
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(style);
                    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
                    bar
                }
            }
        })
    }

    /// Sets the bar's message (redacted like every line).
    pub fn say(&self, message: &str) {
        if let Some(bar) = &self.bar {
            let text = match REDACTOR.get() {
                Some(redact) => redact(message),
                None => message.to_string(),
            };
            bar.set_message(text);
        }
    }

    /// One more input done, without a byte count.
    pub fn step(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// One more item done, with `bytes` matched.
    pub fn tick(&self, n: u64) {
        if let Some(bar) = &self.bar {
            let total = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
            bar.inc(1);
            if bar.position() % 256 == 0 {
                bar.set_message(bytes(total));
            }
        }
    }

    /// Clears the bar; lines go straight to stderr again.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            match MULTI.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                Some(m) => m.remove(bar),
                None => *BAR.lock().unwrap_or_else(|e| e.into_inner()) = None,
            }
        }
    }

    /// Ends the bar over the inputs: lines go straight to stderr again.
    pub fn finish_inputs(&self) {
        self.finish();
        *MULTI.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(0, "file"), "0 files");
        assert_eq!(bytes(3 << 20), "3.00 MiB");
    }
}
