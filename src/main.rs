//! The `hfleaks` binary: parse arguments, run one command, exit with the
//! code it decided (0 clean, 1 findings, 2 error; see `commands`).

use clap::Parser;

use hfleaks::cli::{Cli, Command};
use hfleaks::commands::{self, EXIT_ERROR};
use hfleaks::ui;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::History(args) => commands::history::run(args),
        Command::Staged(args) => commands::staged::run(args),
        Command::Hub(args) => commands::hub::run(args),
        Command::Repos(args) => commands::repos::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Merge(args) => commands::merge::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Revoke(args) => commands::revoke::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Rules { action } => commands::rules::run(action),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            ui::fatal(&e);
            EXIT_ERROR
        }
    };
    std::process::exit(code);
}
