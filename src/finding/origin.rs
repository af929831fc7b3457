//! Where a chunk of scanned bytes came from. Every source names its chunks
//! with an [`Origin`]; the collector (`detect::Collector`) turns the
//! origin into the finding's place, so a new source adds a variant here
//! and nothing else changes shape.

use std::collections::HashSet;

use git2::Oid;

/// How standard input is named in findings.
pub const STDIN_PATH: &str = "<stdin>";
/// How command-line arguments are named in findings.
pub const ARGUMENT_PATH: &str = "<argument>";

/// The origin of one chunk of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file, named as reached from the scan argument.
    File(String),
    /// All of standard input.
    Stdin,
    /// A token given to `hfleaks verify`: `<argument>` or `<stdin>`, and
    /// its 1-based argument position or line.
    Candidate { source: &'static str, line: usize },
    /// A git blob, with the first path it was seen at; `None` while the
    /// path is not known yet (the pack pass meets blobs before trees).
    Blob { id: Oid, path: Option<String> },
    /// A staged file, and the 1-based lines the staged change adds
    /// (`None`: the whole file is new).
    Staged {
        path: String,
        added_lines: Option<HashSet<usize>>,
    },
    /// The message of a commit.
    CommitMessage { commit: Oid },
}

impl Origin {
    /// The path a finding from this origin is reported at (`""` for a
    /// commit message, whose place is its commit).
    pub fn path(&self) -> &str {
        match self {
            Origin::File(path) | Origin::Staged { path, .. } => path,
            Origin::Blob { path, .. } => path.as_deref().unwrap_or(""),
            Origin::Stdin => STDIN_PATH,
            Origin::Candidate { source, .. } => source,
            Origin::CommitMessage { .. } => "",
        }
    }

    /// The origin as a person reads it in a message: the path, with the
    /// blob or commit id where the path alone would not say.
    pub fn place(&self) -> String {
        match self {
            Origin::Blob {
                id,
                path: Some(path),
            } => format!("{path} (blob {id})"),
            Origin::Blob { id, path: None } => format!("blob {id}"),
            Origin::Candidate { source, line } => format!("{source}:{line}"),
            Origin::CommitMessage { commit } => format!("commit {commit} message"),
            other => other.path().to_string(),
        }
    }

    /// Whether a finding at 1-based `line` is part of what this origin
    /// contributes (a staged file contributes only its added lines).
    pub fn covers_line(&self, line: usize) -> bool {
        match self {
            Origin::Staged {
                added_lines: Some(lines),
                ..
            } => lines.contains(&line),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_origin_names_its_place() {
        let id = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert_eq!(Origin::File("src/a.py".into()).path(), "src/a.py");
        assert_eq!(Origin::Stdin.path(), "<stdin>");
        let blob = Origin::Blob {
            id,
            path: Some("a.py".into()),
        };
        assert_eq!(blob.path(), "a.py");
        assert_eq!(
            blob.place(),
            "a.py (blob 0123456789abcdef0123456789abcdef01234567)"
        );
        assert_eq!(Origin::Blob { id, path: None }.path(), "");
        assert_eq!(Origin::CommitMessage { commit: id }.path(), "");
        let c = Origin::Candidate {
            source: ARGUMENT_PATH,
            line: 2,
        };
        assert_eq!(
            (c.path(), c.place().as_str()),
            ("<argument>", "<argument>:2")
        );
    }

    #[test]
    fn a_staged_file_covers_only_its_added_lines() {
        let staged = Origin::Staged {
            path: "a.py".into(),
            added_lines: Some([3, 4].into_iter().collect()),
        };
        assert!(staged.covers_line(3) && !staged.covers_line(1));
        let new_file = Origin::Staged {
            path: "b.py".into(),
            added_lines: None,
        };
        assert!(new_file.covers_line(1));
    }
}
