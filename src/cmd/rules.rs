//! `secret-rollout rules [RULE]`: the catalogue of the policy in force, or
//! one rule's documentation.

use anyhow::Result;
use secret_rollout::Severity;

use crate::cli::settings::Rules;
use crate::cli::{self, Exit};

/// The rules' documentation, built into the binary: an installed binary has
/// no checkout beside it to point at.
const RULES_DOC: &str = include_str!("../../docs/rules.md");

pub fn run(settings: &Rules) -> Result<Exit> {
    let catalogue = secret_rollout::catalogue(&settings.policy);
    if let Some(rule) = &settings.rule {
        let known = catalogue.iter().any(|r| r.id.to_string() == *rule);
        let doc = section(RULES_DOC, rule).filter(|_| known).ok_or_else(|| {
            anyhow::anyhow!("no rule {rule:?}: `secret-rollout rules` lists them")
        })?;
        cli::print(doc)?;
        return Ok(Exit::Success);
    }
    let ids: Vec<String> = catalogue.iter().map(|r| r.id.to_string()).collect();
    let width = ids.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (r, id) in catalogue.iter().zip(&ids) {
        let level = r.level.map_or("off", Severity::as_str);
        out.push_str(&format!("{id:width$}  {level:7}  {}\n", r.summary));
    }
    out.push_str("\nDetails, examples and fixes: `secret-rollout rules RULE`\n");
    cli::print(&out)?;
    Ok(Exit::Success)
}

/// The `## RULE` section of the rules document, heading included, up to the
/// next heading of the same level.
fn section<'d>(doc: &'d str, rule: &str) -> Option<&'d str> {
    let heading = format!("## {rule}\n");
    let start = if doc.starts_with(&heading) {
        0
    } else {
        doc.find(&format!("\n{heading}"))? + 1
    };
    let rest = &doc[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .map_or(doc.len(), |i| start + heading.len() + i + 1);
    Some(&doc[start..end])
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn a_section_runs_to_the_next_heading_of_its_level() {
        let doc = "# Rules\n\n## a\none\n### sub\ntwo\n## b\nthree\n";
        assert_eq!(section(doc, "a"), Some("## a\none\n### sub\ntwo\n"));
        assert_eq!(section(doc, "b"), Some("## b\nthree\n"));
        assert_eq!(section(doc, "c"), None);
    }
}
