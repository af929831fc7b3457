//! The audit layer: one place for each unit of audit, below the commands
//! and shared by them. `git`: a repository's history, in full, of a range,
//! or from a recorded state; `hub`: what a Hub repo adds to it (links,
//! discussions, LFS contents, a bucket's files, a Space's variables);
//! `variables`: a Space's variables; `storage`: the LFS and bucket
//! downloads; `fleet`: many units, their shard, jobs and merge.
//! Each takes the run's scanner and its own options, and gives findings,
//! statistics and the record to keep; nothing here writes a report, reads
//! the command line or imports `commands`.

pub mod fleet;
pub mod git;
pub mod hub;
pub mod storage;
pub mod targets;
pub mod variables;
