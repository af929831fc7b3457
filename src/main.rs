//! The `hfleaks` binary: parse arguments, run one command, map the result
//! to the exit-code contract (0 clean, 1 findings, 2 error).

use clap::Parser;

use hfleaks::cli::{Cli, Command};
use hfleaks::{app, history};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { app::EXIT_ERROR } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        Command::Scan(args) => app::scan(args),
        Command::History(args) => history::history(args),
        Command::Staged(args) => history::staged(args),
        Command::Verify(args) => app::verify(args),
        Command::Rules { action } => app::rules_command(action),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hfleaks: {}", one_line(&e));
            app::EXIT_ERROR
        }
    };
    std::process::exit(code);
}

/// An error and its causes on one line: "context: cause: cause".
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
