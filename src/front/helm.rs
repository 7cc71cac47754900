//! The Helm front end: what is special about running as a Helm post-renderer.
//!
//! Helm 3 runs `secret-rollout` as a plain executable and shows its stderr
//! when it fails. Helm 4 runs it as a plugin (`HELM_PLUGIN_NAME` is set) and
//! throws the plugin's stderr away, so the binary also sends diagnostics to
//! the terminal when [`running_as_plugin`].

use crate::policy::finding::Finding;
use crate::policy::rule::Rule;

/// Set by Helm 4 (and the Helm 4 SDK) in a plugin's environment.
pub const PLUGIN_NAME_ENV: &str = "HELM_PLUGIN_NAME";

/// True when Helm runs us as a plugin: our stderr is then discarded.
pub fn running_as_plugin() -> bool {
    std::env::var_os(PLUGIN_NAME_ENV).is_some_and(|v| !v.is_empty())
}

/// Make `unresolved-reference` findings say why the object is missing when
/// Helm sent the hooks on their own: the Secret is (probably) rendered by the
/// chart, just not in this call, and the hook is not stamped for it.
pub fn explain_hooks_only(findings: &mut [Finding]) {
    for f in findings
        .iter_mut()
        .filter(|f| f.rule == Rule::UnresolvedReference)
    {
        f.message.push_str(HOOKS_ONLY_NOTE);
        f.help = format!(
            "Helm post-rendered the release's hooks in a call of their own (the Helm 4 SDK's \
             `separate` post-render strategy), so objects rendered by the chart's other templates \
             are not visible here and {} is not stamped for them; a hook Job runs anew on every \
             install/upgrade and reads the current value anyway. Use the `combined` strategy \
             (the helm CLI's default) to have hooks stamped, or render the object as a hook too",
            f.workload.as_deref().unwrap_or("the hook")
        );
    }
}

/// Appended to the message of an `unresolved-reference` in a hooks-only call.
pub const HOOKS_ONLY_NOTE: &str =
    " (this post-renderer call received only the release's hooks; Helm sends the other manifests in a separate call)";
