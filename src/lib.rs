//! hfleaks: finds leaked Hugging Face tokens in files, notebooks and git
//! history. The binary is a thin layer over this library so that every
//! stage can be tested on its own.

pub mod app;
pub mod cli;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod finding;
pub mod history;
pub mod notebook;
pub mod provenance;
pub mod report;
pub mod rules;
pub mod sources;
pub mod verify;
