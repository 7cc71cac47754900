//! The Helm front end: what is special about running as a Helm post-renderer.
//!
//! Helm 3 runs `secret-rollout` as a plain executable and shows its stderr
//! when it fails. Helm 4 runs it as a plugin (`HELM_PLUGIN_NAME` is set) and
//! throws the plugin's stderr away, so the binary also sends diagnostics to
//! the terminal when [`running_as_plugin`]. As a plugin it may also be
//! called with the release's hooks alone ([`crate::Options::hooks_called_apart`]):
//! the rules say so in the findings they make.

/// Set by Helm 4 (and the Helm 4 SDK) in a plugin's environment.
pub const PLUGIN_NAME_ENV: &str = "HELM_PLUGIN_NAME";

/// True when Helm runs us as a plugin: our stderr is then discarded.
pub fn running_as_plugin() -> bool {
    std::env::var_os(PLUGIN_NAME_ENV).is_some_and(|v| !v.is_empty())
}

/// Appended to the message of an `unresolved-reference` in a hooks-only call.
pub use crate::policy::check::HOOKS_ONLY_NOTE;
