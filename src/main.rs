//! The `secret-rollout` binary: raw flags ([`cli::args`]) become checked
//! settings ([`cli::settings`]), one command runs ([`cmd`]), and every error
//! leaves through one path here. The work is in the library.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::args::{self, Cli};
use cli::diagnostics::{Diagnostics, Outcome, Terminal};
use cli::settings::Settings;
use cli::Exit;

#[global_allocator]
static ALLOCATOR: cli::memory::ExitOnFailure = cli::memory::ExitOnFailure;

fn main() -> ExitCode {
    args::unset_empty_env();
    // kustomize runs a legacy exec plugin by its kind's name.
    let cli = match Cli::try_parse_from(secret_rollout::front::krm::plugin_args(
        std::env::args_os().collect(),
    )) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // A usage error from `--post-renderer-args` must be readable
            // under Helm 4 too, and reach a report named next to it.
            let mut text = e.render().to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            let terminal = Terminal::choose(args::terminal_from_env());
            Diagnostics::new(terminal, args::report_from_raw()).fail(&text);
            return Exit::BadInput.into();
        }
    };
    // Known before anything is checked, so every error reaches the report.
    let terminal = cli.terminal().map_or(Terminal::Never, Terminal::choose);
    let diagnostics = Diagnostics::new(terminal, cli.report());
    let policy_file = cli.policy_file();
    let run = Settings::from_args(cli).and_then(|settings| {
        // A policy file with built-in protections off says so on every run,
        // once, wherever findings go.
        let notice = settings
            .policy()
            .zip(policy_file)
            .and_then(|(policy, file)| {
                policy.protections_notice(&format!("policy {}", file.display()))
            });
        if let Some(notice) = notice {
            diagnostics.show(&notice, Outcome::Succeeded);
            diagnostics.record(&notice)?;
        }
        cmd::run(settings, &diagnostics)
    });
    match run {
        Ok(exit) => exit.into(),
        Err(e) => {
            diagnostics.fail(&format!("secret-rollout: error: {e:#}\n"));
            Exit::BadInput.into()
        }
    }
}
