//! `hfleaks scan`: files and directories (a parallel walk) and standard
//! input ("-"), through the one collector, into one report.

use std::path::PathBuf;

use anyhow::Result;

use super::{Run, resolve};
use crate::cli::ScanArgs;
use crate::detect::Collector;
use crate::filter::project_ignore_files;
use crate::finding::{Finding, Report, ScanKind, ScanStats};
use crate::sources::dir::{WalkOptions, scan_paths};
use crate::sources::display_path;
use crate::sources::git;
use crate::sources::stdin::scan_stdin;

pub fn run(args: ScanArgs) -> Result<i32> {
    let mut config = resolve(&args.report)?;
    config.detect.max_member_bytes = args.size.max_file_size;
    let run = Run::start(config)?;
    let mut filters = run.filters(&project_ignore_files(&args.paths))?;
    filters.set_roots(
        args.paths
            .iter()
            .map(|p| display_path(p.strip_prefix("./").unwrap_or(p)))
            .collect(),
    );
    let (stdin, paths): (Vec<&PathBuf>, Vec<PathBuf>) = {
        let (s, p): (Vec<&PathBuf>, Vec<&PathBuf>) =
            args.paths.iter().partition(|p| p.as_os_str() == "-");
        (s, p.into_iter().cloned().collect())
    };
    let mut stats = ScanStats {
        kind: if paths.is_empty() {
            ScanKind::Stdin
        } else {
            ScanKind::Scan
        },
        root: args
            .paths
            .iter()
            .map(|p| display_path(p))
            .collect::<Vec<_>>()
            .join(" "),
        ..ScanStats::default()
    };

    let collector = Collector::new(&run.scanner);
    if !stdin.is_empty() {
        stats.bytes += scan_stdin(&collector);
        stats.files += 1;
    }
    if !paths.is_empty() {
        let opts = WalkOptions {
            follow: args.follow,
            no_ignore: args.no_ignore,
            max_file_size: args.size.max_file_size,
            threads: run.config.threads,
        };
        let walked = scan_paths(&paths, &opts, &collector);
        stats.files += walked.files;
        stats.bytes += walked.bytes;
        stats.skipped += walked.skipped;
    }
    let (mut findings, errors) = collector.finish().into_findings();
    mark_env_files(&mut findings);
    let report = Report {
        scan: stats,
        findings,
        errors,
        ..Report::default()
    };
    run.finish(report, &filters)
}

/// `.env` hygiene: a finding in a `.env`-style file of a git work tree is
/// marked `local_only` when git ignores the file (it never reached a
/// commit: severity one step lower), and `local_only: false` when git does
/// not (the incident view then gives the `.gitignore` line).
fn mark_env_files(findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        if f.path.contains('!') || !git::is_env_file(&f.path) {
            continue;
        }
        if let Some(ignored) = git::ignored_untracked(std::path::Path::new(&f.path)) {
            f.local_only = Some(ignored);
            if ignored {
                f.severity = f.severity.lower();
            }
        }
    }
}
