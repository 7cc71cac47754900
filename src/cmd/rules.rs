//! `secret-rollout rules`: the catalogue of the policy in force.

use anyhow::Result;
use secret_rollout::Severity;

use crate::cli::settings::Rules;
use crate::cli::{self, Exit};

pub fn run(settings: &Rules) -> Result<Exit> {
    let catalogue = secret_rollout::catalogue(&settings.policy);
    let ids: Vec<String> = catalogue.iter().map(|r| r.id.to_string()).collect();
    let width = ids.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (r, id) in catalogue.iter().zip(&ids) {
        let level = r.level.map_or("off", Severity::as_str);
        out.push_str(&format!("{id:width$}  {level:7}  {}\n", r.summary));
    }
    out.push_str("\nDetails, examples and fixes: docs/rules.md\n");
    cli::print(&out)?;
    Ok(Exit::Success)
}
