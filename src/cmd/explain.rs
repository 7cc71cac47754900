//! `secret-rollout explain`: who consumes which Secret and ConfigMap keys,
//! and what would be stamped.

use anyhow::Result;
use secret_rollout::query::explain;

use crate::cli::args::ExplainFormat;
use crate::cli::settings::Explain;
use crate::cli::{self, inputs, Exit};

pub fn run(settings: &Explain) -> Result<Exit> {
    let (graphs, bad) = inputs::each(&settings.inputs, |name, text| {
        let graph =
            explain::graph(text, &settings.options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if let (Some(secret), Some(key)) = (&settings.secret, &settings.key) {
            let unknown = explain::unknown_key(text, &settings.options, secret, key)
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if let Some(why) = unknown {
                anyhow::bail!("{name}: {why}");
            }
        }
        // Text lists the workloads that read only other keys too, as not
        // rolled; the other formats hold only what the query selects.
        let key = match settings.format {
            ExplainFormat::Text => None,
            _ => settings.key.as_deref(),
        };
        let graph = match &settings.secret {
            Some(secret) => explain::only_secret(graph, secret, key),
            None => graph,
        };
        Ok((name.to_string(), graph))
    })?;
    if !bad.is_empty() {
        anyhow::bail!(
            "{}",
            bad.join("\n").trim_start_matches("secret-rollout: error: ")
        );
    }
    let several = graphs.len() > 1;
    let all: Vec<explain::WorkloadUses> = graphs.iter().flat_map(|(_, g)| g.clone()).collect();
    let out = match (settings.format, &settings.secret) {
        (ExplainFormat::Json, _) => {
            let mut v = explain::json(&all);
            if several {
                // Say which input each workload came from.
                let files = graphs
                    .iter()
                    .flat_map(|(f, g)| g.iter().map(move |_| f.clone()));
                if let Some(ws) = v["workloads"].as_array_mut() {
                    for (w, f) in ws.iter_mut().zip(files) {
                        w["file"] = serde_json::json!(f);
                    }
                }
            }
            format!("{v:#}\n")
        }
        (ExplainFormat::Dot, _) => explain::dot(&all),
        (ExplainFormat::Text, secret) => {
            let one = |g: &[explain::WorkloadUses]| match secret {
                Some(secret) => explain::secret_text(g, secret, settings.key.as_deref()),
                None => explain::text(g),
            };
            if several {
                graphs
                    .iter()
                    .map(|(f, g)| format!("== {f}\n{}", one(g)))
                    .collect::<Vec<_>>()
                    .join(if secret.is_some() { "\n" } else { "" })
            } else {
                one(&all)
            }
        }
    };
    cli::print(&out)?;
    Ok(Exit::Success)
}
