//! Maps byte offsets in a Jupyter notebook (`.ipynb`) to the cell and part
//! (source, output, …) they fall in, so a finding can say "cell 3, output".
//!
//! Notebooks are scanned as raw bytes like any file; this module only runs
//! for files that had a finding. It is a small tolerant JSON walker rather
//! than a parser because it needs byte offsets, which serde_json does not
//! keep, and because a half-broken notebook must still be attributed as far
//! as it goes.

use crate::finding::NotebookCell;

/// The byte ranges of the top-level values of each cell.
#[derive(Debug, Default)]
pub struct CellMap {
    /// `(start, end, cell index from 1, key)`, sorted by start.
    regions: Vec<(usize, usize, usize, String)>,
}

enum Frame {
    Object {
        key: Option<Vec<u8>>,
        expect_key: bool,
    },
    Array {
        index: usize,
    },
}

impl CellMap {
    /// Builds the map. Input that is not JSON yields an empty map.
    pub fn new(json: &[u8]) -> CellMap {
        let mut map = CellMap::default();
        let mut stack: Vec<Frame> = Vec::new();
        // (value start, depth at which it started, cell, key)
        let mut open: Option<(usize, usize, usize, String)> = None;
        let mut i = 0;
        while i < json.len() {
            let c = json[i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                    if c == b':' {
                        if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                            *expect_key = false;
                        }
                    }
                    i += 1;
                    continue;
                }
                b',' => {
                    match stack.last_mut() {
                        Some(Frame::Object { expect_key, key }) => {
                            *expect_key = true;
                            *key = None;
                        }
                        Some(Frame::Array { index }) => *index += 1,
                        None => {}
                    }
                    i += 1;
                    continue;
                }
                b'}' | b']' => {
                    stack.pop();
                    i += 1;
                    map.close_if_done(&mut open, stack.len(), i);
                    continue;
                }
                _ => {}
            }
            // A key or the start of a value.
            if c == b'"' {
                let end = string_end(json, i);
                if let Some(Frame::Object {
                    expect_key: true,
                    key,
                }) = stack.last_mut()
                {
                    *key = Some(json[i + 1..end.saturating_sub(1).max(i + 1)].to_vec());
                    i = end;
                    continue;
                }
                map.open_value(&stack, &mut open, i);
                i = end;
                map.close_if_done(&mut open, stack.len(), i);
                continue;
            }
            map.open_value(&stack, &mut open, i);
            match c {
                b'{' => {
                    stack.push(Frame::Object {
                        key: None,
                        expect_key: true,
                    });
                    i += 1;
                }
                b'[' => {
                    stack.push(Frame::Array { index: 0 });
                    i += 1;
                }
                _ => {
                    // A number, true, false or null: up to the next delimiter.
                    while i < json.len()
                        && !matches!(json[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                    {
                        i += 1;
                    }
                    map.close_if_done(&mut open, stack.len(), i);
                }
            }
        }
        map.regions.sort_by_key(|r| r.0);
        map
    }

    /// Records the start of a value if it is a top-level value of a cell:
    /// the stack is `{ "cells": [ { KEY: <here>`.
    fn open_value(
        &self,
        stack: &[Frame],
        open: &mut Option<(usize, usize, usize, String)>,
        at: usize,
    ) {
        if open.is_some() || stack.len() != 3 {
            return;
        }
        if let (
            Frame::Object {
                key: Some(root_key),
                ..
            },
            Frame::Array { index },
            Frame::Object { key: Some(key), .. },
        ) = (&stack[0], &stack[1], &stack[2])
        {
            if root_key == b"cells" {
                *open = Some((at, 3, index + 1, String::from_utf8_lossy(key).into_owned()));
            }
        }
    }

    fn close_if_done(
        &mut self,
        open: &mut Option<(usize, usize, usize, String)>,
        depth: usize,
        at: usize,
    ) {
        if let Some((start, d, cell, key)) = open {
            if depth == *d {
                self.regions.push((*start, at, *cell, std::mem::take(key)));
                *open = None;
            }
        }
    }

    /// The cell and part containing `offset`, if any.
    pub fn locate(&self, offset: usize) -> Option<NotebookCell> {
        let idx = self.regions.partition_point(|r| r.0 <= offset);
        let (start, end, cell, key) = self.regions.get(idx.checked_sub(1)?)?;
        if offset < *start || offset >= *end {
            return None;
        }
        let part = match key.as_str() {
            "outputs" => "output".to_string(),
            other => other.to_string(),
        };
        Some(NotebookCell { cell: *cell, part })
    }
}

/// Index just past the closing quote of the string starting at `start`.
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    json.len()
}

/// Whether a path names a notebook.
pub fn is_notebook(path: &str) -> bool {
    path.rsplit('.')
        .next()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("ipynb"))
        && path.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
  {"cell_type": "code", "execution_count": 1, "metadata": {"tags": []},
   "outputs": [{"name": "stdout", "text": ["Logged in\nTOKEN_A\n"]}],
   "source": ["login(\"TOKEN_B\")\n"]}
 ],
 "metadata": {"kernelspec": {"name": "TOKEN_C"}},
 "nbformat": 4
}"##;

    fn at(s: &str) -> Option<NotebookCell> {
        CellMap::new(NB.as_bytes()).locate(NB.find(s).unwrap())
    }

    #[test]
    fn output_and_source_of_second_cell() {
        assert_eq!(
            at("TOKEN_A"),
            Some(NotebookCell {
                cell: 2,
                part: "output".into()
            })
        );
        assert_eq!(
            at("TOKEN_B"),
            Some(NotebookCell {
                cell: 2,
                part: "source".into()
            })
        );
        assert_eq!(
            at("# Title"),
            Some(NotebookCell {
                cell: 1,
                part: "source".into()
            })
        );
    }

    #[test]
    fn notebook_metadata_is_not_a_cell() {
        assert_eq!(at("TOKEN_C"), None);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "{",
            "}}]]",
            "{\"cells\": [{\"source\": \"unterminated",
            "[1,2,{\"a\":",
        ] {
            let m = CellMap::new(s.as_bytes());
            for off in 0..s.len() {
                let _ = m.locate(off);
            }
        }
    }

    #[test]
    fn notebook_extension() {
        assert!(is_notebook("a/b.ipynb"));
        assert!(is_notebook("X.IPYNB"));
        assert!(!is_notebook("ipynb"));
        assert!(!is_notebook("a.py"));
    }
}
