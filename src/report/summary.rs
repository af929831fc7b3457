//! The one-line summary shown on stderr at the end of a run: what was
//! scanned and what was found.

use crate::finding::{Report, ScanKind};
use crate::ui::{bytes, plural};

/// `scanned 3 files (1.20 KiB) in 0.01 s: 2 findings, 1 error`.
pub fn line(r: &Report) -> String {
    let s = &r.scan;
    let seconds = s.duration_ms as f64 / 1000.0;
    if s.kind == ScanKind::Verify {
        return format!(
            "checked {} in {seconds:.2} s: {}",
            plural((r.findings.len() + r.errors.len()) as u64, "input"),
            plural(r.findings.len() as u64, "token")
        );
    }
    let mut what = Vec::new();
    if matches!(s.kind, ScanKind::Hub | ScanKind::Repos) {
        what.push(plural(s.repos.len() as u64, "repo"));
    }
    if s.commits > 0 || matches!(s.kind, ScanKind::History | ScanKind::Hub | ScanKind::Repos) {
        what.push(plural(s.commits, "commit"));
    }
    if s.blobs > 0 || matches!(s.kind, ScanKind::History | ScanKind::Staged) {
        what.push(plural(s.blobs, "blob"));
    }
    if s.kind == ScanKind::Hub {
        what.push(plural(s.discussions, "discussion"));
    }
    let c = &s.content;
    if !c.is_empty() {
        what.push(format!(
            "{} from LFS and buckets ({} downloaded)",
            plural(c.files, "file"),
            bytes(c.downloaded)
        ));
    }
    if s.files > 0 || what.is_empty() {
        what.push(plural(s.files, "file"));
    }
    let mut line = format!(
        "scanned {} ({}) in {seconds:.2} s: {}",
        what.join(", "),
        bytes(s.bytes),
        plural(r.findings.len() as u64, "finding")
    );
    if s.skipped > 0 {
        line.push_str(&format!(", {} skipped", s.skipped));
    }
    let left_out = [
        (c.weights, "weights or media never downloaded"),
        (c.too_large, "over the size bound"),
        (c.over_budget, "past --max-bucket-bytes"),
        (c.unchanged, "unchanged since the state"),
    ];
    for (n, why) in left_out.into_iter().filter(|(n, _)| *n > 0) {
        line.push_str(&format!(", {n} {why}"));
    }
    if !r.errors.is_empty() {
        line.push_str(&format!(", {}", plural(r.errors.len() as u64, "error")));
    }
    if s.authenticated == Some(false) {
        line.push_str(" (public repos only: no HF_TOKEN)");
    }
    if let Some(i) = &s.incremental {
        line.push_str(&format!(
            " ({} new, {} from earlier runs)",
            i.new, i.carried
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::ScanStats;

    #[test]
    fn history_names_commits_and_blobs_even_when_none() {
        let mut r = Report {
            scan: ScanStats {
                kind: ScanKind::History,
                bytes: 1536,
                duration_ms: 20,
                ..ScanStats::default()
            },
            ..Report::default()
        };
        assert_eq!(
            line(&r),
            "scanned 0 commits, 0 blobs (1.50 KiB) in 0.02 s: 0 findings"
        );
        r.scan.kind = ScanKind::Scan;
        r.scan.files = 1;
        r.scan.skipped = 2;
        assert_eq!(
            line(&r),
            "scanned 1 file (1.50 KiB) in 0.02 s: 0 findings, 2 skipped"
        );
    }
}
