//! What is read of each document, decided from its sniffed kind before any
//! tree is built ([`plan`]), and what the stream's pod templates name
//! ([`Referenced`]): the question every source below the stream is asked.

use std::collections::BTreeSet;

use crate::kube::{gvk, inventory, workload};
use crate::yaml::stream;

/// What the stream's pod templates name. It is what is read of the
/// ConfigMaps the sniff set aside, and what the sources below the stream
/// are asked for: `--secrets-from` files (their ConfigMaps likewise), then
/// what `--lookup` fetches of whatever is still unresolved.
pub(crate) struct Referenced<'m> {
    pub workloads: &'m [workload::Workload],
    pub config_maps: BTreeSet<&'m str>,
    names: aho_corasick::AhoCorasick,
}

impl<'m> Referenced<'m> {
    pub fn of(workloads: &'m [workload::Workload]) -> Self {
        let config_maps: BTreeSet<&str> = workloads
            .iter()
            .flat_map(|w| &w.refs)
            .filter(|r| r.target == inventory::TargetKind::ConfigMap)
            .map(|r| r.name.as_str())
            .collect();
        let names = aho_corasick::AhoCorasick::new(config_maps.iter().filter(|n| !n.is_empty()))
            .expect("names make an automaton");
        Referenced {
            workloads,
            config_maps,
            names,
        }
    }

    /// Whether a ConfigMap set aside (see [`plan`]) may be one pods name: a
    /// document whose text holds none of their names cannot be (unless
    /// escapes or tags could spell a name).
    pub fn may_name(&self, text: &str, doc: &stream::Document) -> bool {
        doc.sniff.as_ref().is_none_or(|s| s.obfuscated)
            || (!self.config_maps.is_empty() && self.names.is_match(&text[doc.range.clone()]))
    }
}

/// What is done with a document, decided from its sniffed kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Read its tree: workloads, Secret producers, lists, and whatever the
    /// sniff is not certain about.
    Parse,
    /// A ConfigMap: read it only if a pod template may name it.
    Later,
    /// One object nobody reads (and no Helm hook): copied, never judged.
    Skip,
}

/// The plan for `doc` of `text`. `workload_kinds`: the kinds whose pod
/// templates are read, with Helm hooks counted; `None` for a document that
/// can only give sources (a `--secrets-from` file).
pub(crate) fn plan(
    text: &str,
    doc: &stream::Document,
    workload_kinds: Option<&[workload::WorkloadKind]>,
) -> Plan {
    let Some(sniff) = &doc.sniff else {
        return Plan::Parse;
    };
    let gvk = gvk::Gvk::new(&text[sniff.api_version.clone()], &text[sniff.kind.clone()]);
    if let Some(kinds) = workload_kinds {
        if sniff.maybe_hook || workload::is_workload_kind(&gvk, kinds) {
            return Plan::Parse;
        }
    }
    if gvk.is("", "ConfigMap") {
        Plan::Later
    } else if inventory::is_source_kind(&gvk) {
        Plan::Parse
    } else {
        Plan::Skip
    }
}
