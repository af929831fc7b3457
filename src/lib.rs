//! hfleaks: finds leaked Hugging Face tokens in files, notebooks and git
//! history. The binary is a thin layer over this library so that every
//! stage can be tested on its own. Data flows one way:
//! `sources` → `engine` (through `detect`) → `filter` → `verify` → `report`,
//! wired by `commands`, with `ui` the one channel to the terminal. The
//! audits of a repository, a Hub repo and a fleet of them are in `audit`,
//! below the commands, which turn arguments into them.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod finding;
pub mod http;
pub mod identifier;
pub mod notebook;
pub mod provenance;
pub mod report;
pub mod rules;
pub mod serve;
pub mod shard;
pub mod sources;
pub mod state;
pub mod ui;
pub mod verify;
