//! The tokens given to `hfleaks verify`: command-line arguments, or lines of
//! standard input. Blank lines and `#` comments are skipped; each candidate
//! keeps where it came from so that findings and messages can name it.
//! Whether a candidate is a token is for the engine to say, not this module.

use std::io::Read;

use super::Sink;
use crate::finding::{ARGUMENT_PATH, Origin, STDIN_PATH};
use crate::ui;

/// One candidate token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// [`ARGUMENT_PATH`] or `<stdin>`.
    pub path: &'static str,
    /// 1-based argument position or line number.
    pub line: usize,
    pub text: String,
}

/// The candidates from `args`, or from standard input when `args` is empty
/// or `["-"]`.
pub fn read(args: &[String]) -> std::io::Result<Vec<Candidate>> {
    if args.is_empty() || args == ["-"] {
        if ui::stdin_is_terminal() {
            ui::say("hfleaks: reading tokens from standard input, one per line (end with Ctrl-D)");
        }
        let mut data = Vec::new();
        std::io::stdin().lock().read_to_end(&mut data)?;
        return Ok(lines(&String::from_utf8_lossy(&data), STDIN_PATH));
    }
    Ok(args
        .iter()
        .enumerate()
        .map(|(i, a)| Candidate {
            path: ARGUMENT_PATH,
            line: i + 1,
            text: a.trim().to_string(),
        })
        .filter(|c| !c.text.is_empty())
        .collect())
}

impl Candidate {
    pub fn origin(&self) -> Origin {
        Origin::Candidate {
            source: self.path,
            line: self.line,
        }
    }
}

/// Hands each candidate to the sink as a chunk of its own.
pub fn feed(candidates: &[Candidate], sink: &dyn Sink) {
    for c in candidates {
        sink.chunk(&c.origin(), c.text.as_bytes());
    }
}

/// Non-blank, non-comment lines, trimmed, with their 1-based numbers.
pub fn lines(text: &str, path: &'static str) -> Vec<Candidate> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| Candidate {
            path,
            line,
            text: l.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_and_comments_are_skipped() {
        let c = lines("# tokens\n\n  abc  \r\n#x\ndef\n", STDIN_PATH);
        assert_eq!(
            c.iter()
                .map(|c| (c.line, c.text.as_str()))
                .collect::<Vec<_>>(),
            [(3, "abc"), (5, "def")]
        );
    }
}
