//! `secret-rollout policy --print-default`: the built-in policy, to start
//! your own from.

use anyhow::Result;

use crate::cli::{self, Exit};

pub fn print_default() -> Result<Exit> {
    cli::print(secret_rollout::DEFAULT_POLICY)?;
    Ok(Exit::Success)
}
