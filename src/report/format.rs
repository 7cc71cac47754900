//! Findings in the formats CI systems read: compiler-style text (with colour
//! on a terminal), JSON (schema in docs/output.md), SARIF 2.1.0 for code
//! scanning, and GitHub workflow commands for inline pull-request notes.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::policy::config::Policy;
use crate::policy::finding::{Counts, Finding};
use crate::policy::rule::Severity;
use crate::report;
use crate::yaml::stream::doc_number;

/// The findings of one input (a file, or stdin).
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The path as given, or `<stdin>`.
    pub file: String,
    pub findings: Vec<Finding>,
}

fn visible(f: &Finding, show_suppressed: bool) -> bool {
    f.is_active() || show_suppressed
}

/// Text for a person; `colour` only when writing to a terminal.
pub fn text(reports: &[FileReport], unread: usize, show_suppressed: bool, colour: bool) -> String {
    let mut out = String::new();
    for r in reports {
        let shown = r.findings.iter().filter(|f| visible(f, show_suppressed));
        let body = report::text(shown, &r.file);
        if colour {
            out.push_str(&paint(&body));
        } else {
            out.push_str(&body);
        }
    }
    // Nothing was judged: a count of no findings would read as a pass.
    if reports.is_empty() && unread > 0 {
        return out;
    }
    let all = Counts::of(reports.iter().flat_map(|r| &r.findings));
    let files = if reports.len() == 1 && unread == 0 {
        String::new()
    } else {
        format!(" in {} files", reports.len())
    };
    let unread = match unread {
        0 => String::new(),
        1 => "; 1 input could not be read".to_string(),
        n => format!("; {n} inputs could not be read"),
    };
    let _ = writeln!(out, "secret-rollout: {}{files}{unread}", all.summary());
    out
}

/// Colour the `error[...]`/`warning[...]`/`note[...]` heads.
fn paint(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    for line in body.split_inclusive('\n') {
        let code = if line.starts_with("error[") {
            Some("1;31")
        } else if line.starts_with("warning[") {
            Some("1;33")
        } else if line.starts_with("note[") {
            Some("1;36")
        } else {
            None
        };
        match (code, line.find("]:")) {
            (Some(code), Some(end)) => {
                let _ = write!(
                    out,
                    "\x1b[{code}m{}\x1b[0m{}",
                    &line[..=end],
                    &line[end + 1..]
                );
            }
            _ => out.push_str(line),
        }
    }
    out
}

pub(crate) fn finding_json(file: &str, f: &Finding) -> Value {
    json!({
        "rule": f.rule.to_string(),
        "severity": f.severity.as_str(),
        "suppressed": f.suppressed.is_some(),
        "suppression_reason": f.suppressed,
        "file": f.location.file.as_deref().unwrap_or(file),
        "document": doc_number(f.location.doc),
        "template": f.location.template,
        "line": f.location.line,
        "column": f.location.col,
        "place": f.location.place.as_ref().map(|p| json!({
            "kind": p.kind.as_str(),
            "path": p.path,
            "document": p.document,
            "line": p.line,
        })),
        "path": f.location.path,
        "workload": f.workload,
        "container": f.container,
        "variable": f.variable,
        "message": f.message,
        "help": f.help,
    })
}

fn counts(reports: &[FileReport]) -> Value {
    let c = Counts::of(reports.iter().flat_map(|r| &r.findings));
    json!({
        "files": reports.len(),
        "errors": c.errors,
        "warnings": c.warnings,
        "notes": c.notes,
        "suppressed": c.suppressed,
    })
}

/// The documented, stable JSON report (version 1). Suppressed findings are
/// included and marked.
pub fn json(reports: &[FileReport]) -> Value {
    json!({
        "version": 1,
        "tool": {"name": "secret-rollout", "version": env!("CARGO_PKG_VERSION")},
        "summary": counts(reports),
        "findings": reports
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| finding_json(&r.file, f)))
            .collect::<Vec<_>>(),
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Where a finding lives for tools that open files, with its line and (when
/// known) column: a file the finding is about (a `--secrets-from` file) at
/// its own line; the chart template's file (`--chart-root`) at the
/// template's line; a file given as input, at its own line; for stdin, the
/// chart template or source file the object came from, at the line within
/// its document ([`crate::kube::place::Place`]), since Helm's stream is nowhere a
/// tool can open.
fn artifact(file: &str, f: &Finding) -> (String, usize, Option<usize>) {
    let l = &f.location;
    let chart_file = l.place.as_ref().and_then(|p| p.chart_file.as_ref());
    if let Some(own) = &l.file {
        (
            own.trim_start_matches("./").to_string(),
            l.line,
            Some(l.col),
        )
    } else if let Some(chart_file) = chart_file {
        // No column: the template's is not the render's.
        (chart_file.path.clone(), chart_file.line, None)
    } else if file != report::STDIN {
        (
            file.trim_start_matches("./").to_string(),
            l.line,
            Some(l.col),
        )
    } else if let Some(place) = &l.place {
        (place.path.clone(), place.line, None)
    } else {
        ("stdin".to_string(), l.line, Some(l.col))
    }
}

/// A path as a SARIF `artifactLocation.uri`, which must be a URI reference
/// (RFC 3986): every byte but the unreserved ones, the sub-delimiters, `/`
/// and `@` is percent-encoded, so a space, `%`, `#`, `?` or `:` in a file
/// name neither breaks the reference nor changes what it points to.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// SARIF 2.1.0, as GitHub code scanning accepts it.
pub fn sarif(reports: &[FileReport], policy: &Policy) -> Value {
    let rules = crate::policy::effective::catalogue(policy);
    let rule_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {
                    "text": format!("{}. See docs/rules.md#{} for an example and the fix.", r.summary, id),
                    "markdown": format!("{}.\n\nSee `docs/rules.md#{}` for an example and the fix.", r.summary, id),
                },
                "defaultConfiguration": {
                    "level": r.level.map_or("none", sarif_level),
                    "enabled": r.level.is_some(),
                },
            })
        })
        .collect();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|r| r.findings.iter().map(move |f| (r.file.as_str(), f)))
        .map(|(file, f)| {
            let (uri, line, col) = artifact(file, f);
            let identity = fingerprint(&uri, f);
            let n = seen.entry(identity.clone()).or_default();
            *n += 1;
            let mut region = json!({"startLine": line.max(1)});
            if let Some(col) = col {
                region["startColumn"] = json!(col.max(1));
            }
            let mut result = json!({
                "ruleId": f.rule.to_string(),
                // What the finding is about, not where its line is today nor
                // any value: code-scanning tools follow it across runs.
                "partialFingerprints": {"secretRolloutFinding/v1": format!("{identity}:{n}")},
                "level": sarif_level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.help)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_reference(&uri)},
                        "region": region,
                    },
                }],
                "properties": {
                    "document": doc_number(f.location.doc),
                    "inputLine": f.location.line,
                    "inputColumn": f.location.col,
                    "template": f.location.template,
                    "path": f.location.path,
                    "workload": f.workload,
                    "container": f.container,
                    "variable": f.variable,
                },
            });
            if let Some(i) = rules.iter().position(|x| x.id == f.rule) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(reason) = &f.suppressed {
                result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secret-rollout",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/secret-rollout/secret-rollout",
                "rules": rule_json,
            }},
            "results": results,
        }],
    })
}

/// A finding's identity: its rule, the chart template (or file) it is in,
/// the workload, container, variable and key path; sha256, hex. Never a
/// line number (lines move when a template changes above the finding) and
/// never a message or value (wording changes; values must not leak).
fn fingerprint(uri: &str, f: &Finding) -> String {
    use sha2::{Digest as _, Sha256};
    let place = f.location.place.as_ref().map_or(uri, |p| p.path.as_str());
    let mut h = Sha256::new();
    for part in [
        f.rule.to_string().as_str(),
        place,
        f.workload.as_deref().unwrap_or(""),
        f.container.as_deref().unwrap_or(""),
        f.variable.as_deref().unwrap_or(""),
        f.location.path.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// GitHub Actions workflow commands: `::error file=…,line=…::message`.
pub fn github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in r.findings.iter().filter(|f| f.is_active()) {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            let (file, line, col) = artifact(&r.file, f);
            let col = col.map(|c| format!(",col={c}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "::{command} file={},line={line}{col},title={}::{}",
                property(&file),
                property(&f.rule.to_string()),
                data(&format!("{}\nFix: {}", f.message, f.help)),
            );
        }
    }
    let all = Counts::of(reports.iter().flat_map(|r| &r.findings));
    let _ = writeln!(out, "secret-rollout: {}", all.summary());
    out
}

/// A markdown summary for people on GitHub (a job's step summary, a
/// pull-request comment): a heading, the counts, and a table of the active
/// findings. Suppressed findings are counted, not listed.
pub fn markdown(reports: &[FileReport], heading: &str) -> String {
    let all = Counts::of(reports.iter().flat_map(|r| &r.findings));
    let mut out = format!("### {}\n\n{}\n\n", cell(heading), all.summary());
    let mut rows = reports
        .iter()
        .flat_map(|r| r.findings.iter().map(move |f| (r, f)))
        .filter(|(_, f)| f.is_active())
        .peekable();
    if rows.peek().is_some() {
        out.push_str("| | rule | where | workload | finding |\n|---|---|---|---|---|\n");
    }
    for (r, f) in rows {
        let mut at = cell(&report::position(&f.location, &r.file));
        if let Some(path) = &f.location.path {
            at.push_str(&format!("<br>`{}`", cell_code(path)));
        }
        let mut subject = f
            .workload
            .as_deref()
            .map(|w| format!("`{}`", cell_code(w)))
            .unwrap_or_default();
        if let Some(c) = &f.container {
            subject.push_str(&format!(" (container `{}`)", cell_code(c)));
        }
        let _ = writeln!(
            out,
            "| **{}** | `{}` | {at} | {subject} | {}<br>**Fix:** {} |",
            f.severity.as_str(),
            f.rule,
            cell(&f.message),
            cell(&f.help)
        );
    }
    out.push('\n');
    out
}

/// An error a run ended with, as markdown: the text as it is, fenced.
pub fn markdown_error(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!(
        "### secret-rollout: error\n\n{fence}text\n{}\n{fence}\n\n",
        text.trim_end()
    )
}

/// Text for a markdown table cell: `|` cannot end the cell, a line break
/// cannot end the row, and `<`/`&` outside code spans are not HTML. Inside
/// `` `code` `` only `|` needs escaping (GitHub splits cells first).
pub(crate) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&cell_code(part));
            continue;
        }
        for c in part.chars() {
            match c {
                '|' => out.push_str("\\|"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '\n' => out.push_str("<br>"),
                '\r' => {}
                c => out.push(c),
            }
        }
    }
    out
}

/// Text inside a code span of a table cell.
fn cell_code(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Escaping of a workflow command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a workflow command's property values.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_keep_the_table_and_code_spans_intact() {
        assert_eq!(
            cell("a | b <c> & `x | <y>`\nz"),
            "a \\| b &lt;c&gt; &amp; `x \\| <y>`<br>z"
        );
        let fenced = markdown_error("error: ``` in it\n");
        assert!(
            fenced.contains("\n````text\nerror: ``` in it\n````\n"),
            "{fenced}"
        );
    }

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn sarif_uris_are_uri_references() {
        assert_eq!(uri_reference("charts/the0.yaml"), "charts/the0.yaml");
        assert_eq!(
            uri_reference("/tmp/a b,c:50%#?é.yaml"),
            "/tmp/a%20b,c%3A50%25%23%3F%C3%A9.yaml"
        );
    }
}
