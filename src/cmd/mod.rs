//! One module per subcommand. Each takes its checked settings and returns
//! how the run ends; errors go back to `main`, which reports them once.

mod check;
mod diff;
mod explain;
mod flux;
mod krm;
mod kustomization;
mod policy;
mod render;
mod rules;

use anyhow::Result;

use crate::cli::diagnostics::Diagnostics;
use crate::cli::settings::Settings;
use crate::cli::Exit;

pub fn run(settings: Settings, diagnostics: &Diagnostics) -> Result<Exit> {
    match settings {
        Settings::Render(s) => render::run(&s, diagnostics),
        Settings::Check(s) => check::run(&s, diagnostics),
        Settings::Explain(s) => explain::run(&s),
        Settings::Diff(s) => diff::run(&s, diagnostics),
        Settings::Rules(s) => rules::run(&s),
        Settings::Krm(s) => krm::run(&s, diagnostics),
        Settings::Flux(s) => flux::run(&s, diagnostics),
        Settings::Kustomization(s) => kustomization::run(&s, diagnostics),
        Settings::PrintPolicy => policy::print_default(),
        Settings::PrintEffective { policy, source } => policy::print_effective(&policy, &source),
    }
}
