//! `secret-rollout policy --print-default`: the built-in policy, to start
//! your own from; `--print-effective`: the policy in force, built-in profile
//! and policy file together, as one complete file.

use anyhow::Result;
use secret_rollout::Policy;

use crate::cli::{self, Exit};

pub fn print_default() -> Result<Exit> {
    cli::print(secret_rollout::DEFAULT_POLICY)?;
    Ok(Exit::Success)
}

pub fn print_effective(policy: &Policy, source: &str) -> Result<Exit> {
    cli::print(&policy.to_yaml(source))?;
    Ok(Exit::Success)
}
