//! Findings pointed at a chart's own files (`check --chart-root DIR`): a
//! finding in a chart template names `DIR/templates/x.yaml` at the line of
//! the template that wrote it, which a pull request's diff shows, instead
//! of a line of a render nobody committed.
//!
//! Helm does not say which template line wrote which rendered line, so the
//! rendered document is matched against the template: the template's text
//! byte for byte, each action (`{{ … }}`) as any text, `if`/`with` as a
//! choice, `range` as a repetition. The matcher is a small Pike VM over the
//! template, under a step budget, so a hostile template or render costs
//! bounded time.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::kube::place::{ChartFile, PlaceKind};
use crate::policy::finding::Finding;

/// Point findings from chart templates at the template files under `root`,
/// the directory that holds the chart whose render `text` is (`check
/// --chart-root`): `CHART/templates/x.yaml` becomes `ROOT/templates/x.yaml`,
/// at the template's own line, which is what a pull request's diff shows.
/// A finding keeps its place alone when its template path could leave
/// `root`, the file is not there, or its line cannot be told for certain.
pub fn in_chart_files(text: &str, root: &Path, findings: &mut [Finding]) {
    // The path is shown, so only a UTF-8 root can be named.
    let Some(shown_root) = root.to_str() else {
        return;
    };
    // Helm names a template by its chart's name (Chart.yaml's, not the
    // directory's): another chart's templates in the stream are not here.
    let Some(chart) = chart_name(root) else {
        return;
    };
    let docs = crate::yaml::stream::split(text);
    let mut budget = MAX_STEPS;
    let mut programs: HashMap<String, Option<(String, Program)>> = HashMap::new();
    for f in findings.iter_mut() {
        if f.location.file.is_some() {
            continue;
        }
        let (line, col) = (f.location.line, f.location.col);
        let Some(place) = f.location.place.as_mut() else {
            continue;
        };
        if place.kind != PlaceKind::Template {
            continue;
        }
        let compiled = programs.entry(place.path.clone()).or_insert_with(|| {
            let relative = inside_chart(&place.path, &chart)?;
            let program = Program::read(root, &relative)?;
            let shown = Path::new(shown_root).join(&relative);
            Some((
                shown.to_str()?.trim_start_matches("./").to_string(),
                program,
            ))
        });
        let Some((shown, program)) = compiled.as_ref() else {
            continue;
        };
        let Some(doc) = docs.iter().rev().find(|d| d.line <= line) else {
            continue;
        };
        let doc_text = &text[doc.range.clone()];
        let Some((content, target)) = rendered(doc_text, doc.line, line, col) else {
            continue;
        };
        if let Some(line) = program.line_of(content, target, &mut budget) {
            place.chart_file = Some(ChartFile {
                path: shown.clone(),
                line,
            });
        }
    }
}

/// The `name` in the chart's Chart.yaml.
fn chart_name(root: &Path) -> Option<String> {
    let text = crate::trust::regular::read_to_string(&root.join("Chart.yaml")).ok()?;
    let chart = crate::yaml::tree::parse_document(&text, 0, 1).ok()??;
    chart.get_str("name").map(str::to_string)
}

/// The template's path within chart `chart`: `the0/templates/x.yaml`
/// without its first part, the chart's name. The path comes from the
/// stream, which whoever writes a chart controls: plain names only, no
/// `..`, no root.
fn inside_chart(template: &str, chart: &str) -> Option<PathBuf> {
    let mut parts = Path::new(template).components();
    if parts.next() != Some(Component::Normal(chart.as_ref())) {
        return None;
    }
    let rest = parts.as_path();
    let plain = rest.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && rest.components().next().is_some()).then(|| rest.to_path_buf())
}

/// The text the template wrote for one document of Helm's stream (after
/// the `---` line and Helm 3's `# Source:` line, without the blanks Helm
/// trims), and the byte in it that the finding at `line`, `col` of the
/// stream is about: the column's, or else the line's first non-blank one.
fn rendered(doc: &str, first_line: usize, line: usize, col: usize) -> Option<(&str, usize)> {
    let (line_start, this) = doc
        .split_inclusive('\n')
        .scan(0, |offset, l| {
            let at = *offset;
            *offset += l.len();
            Some((at, l))
        })
        .nth(line.checked_sub(first_line)?)?;
    let this = this.trim_end_matches(['\n', '\r']);
    let in_line = this
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(b, _)| b)
        .filter(|&b| !this.as_bytes()[b].is_ascii_whitespace())
        .or_else(|| this.find(|c: char| !c.is_whitespace()))?;
    let target = line_start + in_line;
    let mut start = 0;
    let mut lines = doc.split_inclusive('\n').peekable();
    if let Some(l) = lines.next_if(|l| {
        let l = l.trim_end_matches(['\n', '\r']);
        l.strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    }) {
        start += l.len();
    }
    if let Some(l) = lines.next_if(|l| l.starts_with("# Source: ")) {
        start += l.len();
    }
    let body = &doc[start..];
    let start = start + (body.len() - body.trim_start().len());
    let content = doc[start..].trim_end();
    (target >= start && target < start + content.len()).then(|| (content, target - start))
}

/// Templates larger than this are not read: a chart's are far smaller.
const MAX_TEMPLATE: u64 = 1 << 20;
/// How deep `if`/`range`/`with` may nest in a template we read.
const MAX_NESTING: usize = 100;
/// Steps (threads × bytes) the matching for one input may take, so that
/// large templates with many actions cost a bounded time; past it, findings
/// keep their place.
const MAX_STEPS: usize = 50_000_000;

/// A chart template compiled to match what it renders: its text byte for
/// byte, each action (`{{ .Values.x }}`, `{{ include … }}`) as any text,
/// `if`/`with` as a choice of branches, `range` as a repetition, `define`
/// as nothing. Matching a rendered document tells which line of the
/// template wrote each of its bytes.
#[derive(Debug)]
struct Program {
    insts: Vec<Inst>,
    /// Where a document can start: the template's start, and after each
    /// `---` line.
    starts: Vec<usize>,
    /// From here what is left can be blank up to the template's end or a
    /// `---` line: a document can end here.
    ends: Vec<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inst {
    /// A byte of the template's text, and its line.
    Byte(u8, usize),
    /// An action's output, any text (none too), and the action's line.
    Any(usize),
    /// Go on at both, the first preferred.
    Split(usize, usize),
    Jump(usize),
    /// The template's end.
    Match,
}

/// A block being compiled.
enum Frame {
    /// `if`/`with`: the split that skips the branch being compiled (none
    /// after a plain `else`), and the jumps to the end of the last one.
    Choice {
        skip: Option<usize>,
        exits: Vec<usize>,
    },
    /// `range`: its loop's head (a split: once more, or out), the split
    /// before it that takes the `else` branch, and whether that has begun.
    Range {
        head: usize,
        choose: usize,
        exit: Option<usize>,
    },
    /// `define`/`block` and all inside: nothing written here.
    Quiet,
}

#[derive(Default)]
struct Builder {
    insts: Vec<Inst>,
    starts: Vec<usize>,
    separators: Vec<usize>,
}

impl Builder {
    fn push(&mut self, inst: Inst) -> usize {
        self.insts.push(inst);
        self.insts.len() - 1
    }

    fn here(&self) -> usize {
        self.insts.len()
    }

    /// Make the split or jump at `at` go (also) to `to`.
    fn patch(&mut self, at: usize, to: usize) {
        self.insts[at] = match self.insts[at] {
            Inst::Split(a, _) => Inst::Split(a, to),
            Inst::Jump(_) => Inst::Jump(to),
            other => other,
        };
    }

    /// The template's text from `from` to `to`, the first byte on `line`.
    fn text(&mut self, src: &[u8], from: usize, to: usize, mut line: usize) {
        let mut k = from;
        while k < to {
            let separator = (k == 0 || src[k - 1] == b'\n')
                && src[k..to].starts_with(b"---")
                && matches!(src.get(k + 3), None | Some(b'\n' | b'\r' | b' ' | b'\t'));
            if separator {
                self.separators.push(self.here());
                for _ in 0..3 {
                    self.push(Inst::Byte(b'-', line));
                }
                k += 3;
                self.starts.push(self.here());
                continue;
            }
            self.push(Inst::Byte(src[k], line));
            if src[k] == b'\n' {
                line += 1;
            }
            k += 1;
        }
    }
}

/// Go templates trim these around `{{- ` and ` -}}`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The action that opens at `open` (`{{`): its words, where it closes (after
/// `}}`), and whether it trims the blanks after it (` -}}`).
fn action_at(src: &str, open: usize, trims_before: bool) -> Option<(&str, usize, bool)> {
    let bytes = src.as_bytes();
    let inner = open + if trims_before { 4 } else { 2 };
    let rest = &src[inner..];
    let words_at = inner + (rest.len() - rest.trim_start().len());
    if src[words_at..].starts_with("/*") {
        // Go closes a comment with `*/}}` or `*/ -}}`, nothing else.
        let end = words_at + 2 + src[words_at + 2..].find("*/")? + 2;
        if src[end..].starts_with("}}") {
            return Some(("", end + 2, false));
        }
        let after = src[end..].trim_start_matches(|c: char| is_space(c as u8) && c.is_ascii());
        let at = src.len() - after.len();
        return (at > end && after.starts_with("-}}")).then_some(("", at + 3, true));
    }
    let mut k = inner;
    loop {
        match *bytes.get(k)? {
            q @ (b'"' | b'\'') => {
                k += 1;
                while *bytes.get(k)? != q {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                k += 1;
                while *bytes.get(k)? != b'`' {
                    k += 1;
                }
            }
            b'}' if bytes.get(k + 1) == Some(&b'}') => break,
            _ => {}
        }
        k += 1;
    }
    let words = &src[inner..k];
    let trimmed = words.trim_end();
    match trimmed.strip_suffix('-') {
        Some(w) if w.ends_with(|c: char| c.is_ascii_whitespace()) || w.trim().is_empty() => {
            Some((w.trim(), k + 2, true))
        }
        _ => Some((trimmed.trim_start(), k + 2, false)),
    }
}

impl Program {
    /// The template `relative` under the chart's directory `root`, if it
    /// is a regular file there once every link is resolved.
    fn read(root: &Path, relative: &Path) -> Option<Program> {
        let root = std::fs::canonicalize(root).ok()?;
        let file = std::fs::canonicalize(root.join(relative)).ok()?;
        if !file.starts_with(&root) {
            return None;
        }
        let mut text = String::new();
        crate::trust::regular::open(&file)
            .ok()?
            .take(MAX_TEMPLATE + 1)
            .read_to_string(&mut text)
            .ok()?;
        if text.len() as u64 > MAX_TEMPLATE {
            return None;
        }
        Program::compile(&text)
    }

    fn compile(src: &str) -> Option<Program> {
        let bytes = src.as_bytes();
        // Lines are asked for in order: count on from the last answer.
        let (mut counted, mut lines) = (0, 1);
        let mut line_at = |at: usize| {
            lines += memchr::memchr_iter(b'\n', &bytes[counted..at]).count();
            counted = at;
            lines
        };
        let mut b = Builder {
            starts: vec![0],
            ..Builder::default()
        };
        let mut frames: Vec<Frame> = Vec::new();
        let mut quiet = 0;
        let mut pos = 0;
        let mut trim_next = false;
        loop {
            let open = src[pos..].find("{{").map(|i| pos + i);
            let trims_before = open.is_some_and(|o| {
                bytes.get(o + 2) == Some(&b'-') && bytes.get(o + 3).copied().is_some_and(is_space)
            });
            let (mut from, mut to) = (pos, open.unwrap_or(src.len()));
            while trim_next && from < to && is_space(bytes[from]) {
                from += 1;
            }
            while trims_before && to > from && is_space(bytes[to - 1]) {
                to -= 1;
            }
            if quiet == 0 {
                b.text(bytes, from, to, line_at(from));
            }
            let Some(open) = open else { break };
            let (words, close, trims_after) = action_at(src, open, trims_before)?;
            let line = line_at(open);
            (pos, trim_next) = (close, trims_after);
            let word = words
                .split(|c: char| c.is_ascii_whitespace() || c == '(')
                .next()
                .unwrap_or("");
            if quiet > 0 {
                match word {
                    "if" | "with" | "range" | "define" | "block" => {
                        frames.push(Frame::Quiet);
                        quiet += 1;
                    }
                    "end" => {
                        frames.pop()?;
                        quiet -= 1;
                    }
                    _ => {}
                }
                continue;
            }
            match word {
                "if" | "with" => {
                    let skip = b.push(Inst::Split(b.here() + 1, 0));
                    frames.push(Frame::Choice {
                        skip: Some(skip),
                        exits: Vec::new(),
                    });
                }
                "range" => {
                    let choose = b.push(Inst::Split(b.here() + 1, 0));
                    let head = b.push(Inst::Split(b.here() + 1, 0));
                    frames.push(Frame::Range {
                        head,
                        choose,
                        exit: None,
                    });
                }
                "define" | "block" => {
                    // A block writes its body unless something else defines
                    // it: some text, so any.
                    if word == "block" {
                        b.push(Inst::Any(line));
                    }
                    frames.push(Frame::Quiet);
                    quiet += 1;
                }
                "else" => match frames.last_mut()? {
                    Frame::Choice { skip, exits } => {
                        exits.push(b.push(Inst::Jump(0)));
                        let here = b.here();
                        if let Some(s) = skip.take() {
                            b.patch(s, here);
                        }
                        let chained = words["else".len()..].trim_start();
                        if chained.starts_with("if") || chained.starts_with("with") {
                            *skip = Some(b.push(Inst::Split(here + 1, 0)));
                        }
                    }
                    Frame::Range { head, choose, exit } if exit.is_none() => {
                        let (head, choose) = (*head, *choose);
                        b.push(Inst::Jump(head));
                        let out = b.push(Inst::Jump(0));
                        b.patch(head, out);
                        *exit = Some(out);
                        let here = b.here();
                        b.patch(choose, here);
                    }
                    _ => return None,
                },
                "end" => {
                    let here = b.here();
                    match frames.pop()? {
                        Frame::Choice { skip, exits } => {
                            for at in skip.into_iter().chain(exits) {
                                b.patch(at, here);
                            }
                        }
                        Frame::Range {
                            head,
                            choose,
                            exit: None,
                        } => {
                            b.push(Inst::Jump(head));
                            let here = b.here();
                            b.patch(head, here);
                            b.patch(choose, here);
                        }
                        Frame::Range {
                            exit: Some(out), ..
                        } => b.patch(out, here),
                        Frame::Quiet => return None,
                    }
                }
                // They change where a range goes next, and write nothing.
                "break" | "continue" | "" => {}
                // `$x := …` and `$x = …` write nothing.
                w if w.starts_with('$')
                    && words[w.len()..].trim_start().starts_with([':', '=']) => {}
                _ => {
                    b.push(Inst::Any(line));
                }
            }
            if frames.len() > MAX_NESTING {
                return None;
            }
        }
        if !frames.is_empty() {
            return None;
        }
        b.push(Inst::Match);
        let ends = ends(&b.insts, &b.separators);
        Some(Program {
            insts: b.insts,
            starts: b.starts,
            ends,
        })
    }

    /// The template's line that wrote byte `target` of `rendered`, one
    /// document of its output. Of all the ways the template can write the
    /// document, the one that leaves the least to its actions (`{{ … }}`,
    /// any text) is taken: the one its own text explains best; of those,
    /// the one whose earlier actions wrote the least. `None` when the
    /// document is not the template's, or when it starts at two places of
    /// the template, equally well explained, with the byte on different
    /// lines.
    fn line_of(&self, rendered: &str, target: usize, budget: &mut usize) -> Option<usize> {
        let mut best: Option<(usize, Option<usize>)> = None;
        for &start in &self.starts {
            let Some((cost, line)) = self.run(start, rendered.as_bytes(), target, budget)? else {
                continue;
            };
            best = match best {
                Some((c, _)) if c < cost => best,
                Some((c, l)) if c == cost && l != Some(line) => Some((c, None)),
                _ => Some((cost, Some(line))),
            };
        }
        best?.1
    }

    /// Match `input` from `start`, every way at once: a Pike VM whose
    /// threads carry how many bytes actions wrote so far and the line that
    /// wrote `input[target]`, kept cheapest first and, at equal cost, in
    /// order of preference (an action writes as little as it can). Of two
    /// threads at one place only the first goes on: what is left to match is
    /// the same for both. The first complete match: its cost and the line;
    /// `None` past the budget.
    fn run(
        &self,
        start: usize,
        input: &[u8],
        target: usize,
        budget: &mut usize,
    ) -> Option<Option<(usize, usize)>> {
        let mut seen = vec![usize::MAX; self.insts.len()];
        let mut stack = Vec::new();
        let (mut now, mut moves) = (Vec::new(), Vec::new());
        self.add(&mut now, &mut seen, &mut stack, 0, (start, None, 0));
        for (i, &byte) in input.iter().enumerate() {
            if now.is_empty() {
                return Some(None);
            }
            *budget = budget.checked_sub(now.len())?;
            moves.clear();
            for &Thread { pc, hit, cost } in &now {
                let (to, line, cost) = match self.insts[pc] {
                    Inst::Byte(c, line) if c == byte => (pc + 1, line, cost),
                    Inst::Any(line) => (pc, line, cost + 1),
                    _ => continue,
                };
                let hit = if i == target { Some(line) } else { hit };
                moves.push((to, hit, cost));
            }
            // Stable: at equal cost the order of preference stays.
            moves.sort_by_key(|&(_, _, cost)| cost);
            now.clear();
            for &m in &moves {
                self.add(&mut now, &mut seen, &mut stack, i + 1, m);
            }
        }
        Some(
            now.iter()
                .find(|t| self.ends[t.pc])
                .and_then(|t| Some((t.cost, t.hit?))),
        )
    }

    /// Add the thread at `pc`, and where it can go without reading, to
    /// `list` in order of preference, skipping places taken in this `step`.
    /// Blanks of the template may be skipped before the first byte: Helm
    /// trims them.
    fn add(
        &self,
        list: &mut Vec<Thread>,
        seen: &mut [usize],
        stack: &mut Vec<(usize, bool)>,
        step: usize,
        (pc, hit, cost): (usize, Option<usize>, usize),
    ) {
        stack.push((pc, false));
        while let Some((pc, keep)) = stack.pop() {
            if keep {
                list.push(Thread { pc, hit, cost });
                continue;
            }
            if seen[pc] == step {
                continue;
            }
            seen[pc] = step;
            match self.insts[pc] {
                Inst::Jump(to) => stack.push((to, false)),
                Inst::Split(a, b) => stack.extend([(b, false), (a, false)]),
                // Preferred: the action writes nothing more.
                Inst::Any(_) => stack.extend([(pc, true), (pc + 1, false)]),
                Inst::Byte(c, _) if step == 0 && c.is_ascii_whitespace() => {
                    stack.extend([(pc, true), (pc + 1, false)]);
                }
                Inst::Byte(..) | Inst::Match => list.push(Thread { pc, hit, cost }),
            }
        }
    }
}

/// A way through the template: where it is, the line that wrote the
/// target byte (once read), and how many bytes actions wrote.
#[derive(Clone, Copy, Debug)]
struct Thread {
    pc: usize,
    hit: Option<usize>,
    cost: usize,
}

/// Where a document can end: from there, blanks and actions that write
/// nothing lead to the template's end or to a `---` line.
fn ends(insts: &[Inst], separators: &[usize]) -> Vec<bool> {
    let mut ends = vec![false; insts.len()];
    for &s in separators {
        ends[s] = true;
    }
    loop {
        let mut changed = false;
        for pc in (0..insts.len()).rev() {
            if ends[pc] {
                continue;
            }
            ends[pc] = match insts[pc] {
                Inst::Match => true,
                Inst::Byte(c, _) => c.is_ascii_whitespace() && ends[pc + 1],
                Inst::Any(_) => ends[pc + 1],
                Inst::Jump(to) => ends[to],
                Inst::Split(a, b) => ends[a] || ends[b],
            };
            changed |= ends[pc];
        }
        if !changed {
            return ends;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template line `line_of` puts the first byte of `needle` on.
    fn line_for(template: &str, rendered: &str, needle: &str) -> Option<usize> {
        let program = Program::compile(template).expect("the template compiles");
        // A leading line break only makes the needle unique.
        let at = rendered.find(needle).expect("the needle is rendered")
            + usize::from(needle.starts_with('\n'));
        program.line_of(rendered, at, &mut MAX_STEPS.clone())
    }

    const SHAPES: &str = r#"{{/* a comment, and a helper: lines the output does not have */}}
{{- define "x.env" -}}
- name: FROM_HELPER
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
  labels:
    {{- include "x.labels" . | nindent 4 }}
data:
  {{- if .Values.a }}
  a: {{ .Values.a | quote }}
  {{- else if .Values.b }}
  b: "1"
  {{- else }}
  c: "2"
  {{- end }}
  {{- range $k, $v := .Values.map }}
  {{ $k }}: {{ $v | quote }}
  {{- else }}
  empty: "yes"
  {{- end }}
  last: {{ "}}" -}}
"#;

    #[test]
    fn a_rendered_byte_is_put_on_the_template_line_that_wrote_it() {
        let rendered = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel-cm\n  labels:\n    app: x\n    tier: y\ndata:\n  b: \"1\"\n  k1: \"v1\"\n  k2: \"v2\"\n  last: }}";
        for (needle, line) in [
            ("kind", 6),
            ("rel-cm", 8),
            ("app: x", 10),
            ("tier", 10),
            ("\ndata", 11),
            ("b: ", 15),
            ("k1", 20),
            ("k2", 20),
            ("\"v2\"", 20),
            ("last", 24),
        ] {
            assert_eq!(line_for(SHAPES, rendered, needle), Some(line), "{needle}");
        }
        let other_branches = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel-cm\n  labels:\n    app: x\ndata:\n  a: \"x\"\n  empty: \"yes\"\n  last: }}";
        assert_eq!(line_for(SHAPES, other_branches, "a: "), Some(13));
        assert_eq!(line_for(SHAPES, other_branches, "empty"), Some(22));
        let not_this_template = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: rel-cm\n";
        assert_eq!(line_for(SHAPES, not_this_template, "name"), None);
    }

    #[test]
    fn a_document_is_found_among_the_templates_documents() {
        let template = "{{- range .Values.names }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ . }}\n{{- end }}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n";
        let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc";
        assert_eq!(line_for(template, service, "name"), Some(12));
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s2";
        assert_eq!(line_for(template, secret, "name"), Some(6));
        // Two documents of one shape: either could have written it.
        let twins = "---\nkind: A\nname: {{ .Values.a }}\n---\nkind: A\nname: {{ .Values.b }}\n";
        assert_eq!(line_for(twins, "kind: A\nname: x", "name"), None);
    }

    #[test]
    fn templates_that_do_not_parse_are_not_used() {
        for template in [
            "{{ if .x }}a",
            "a{{ end }}",
            "{{ .x ",
            "{{/* a */ }}",
            "{{ else }}",
        ] {
            assert!(Program::compile(template).is_none(), "{template}");
        }
        let deep = "{{ if .x }}".repeat(MAX_NESTING + 1) + &"{{ end }}".repeat(MAX_NESTING + 1);
        assert!(Program::compile(&deep).is_none());
    }

    #[test]
    fn template_paths_from_the_stream_stay_inside_the_chart() {
        assert_eq!(
            inside_chart("the0/templates/the0-api.yaml", "the0"),
            Some(PathBuf::from("templates/the0-api.yaml"))
        );
        assert_eq!(
            inside_chart("the0/charts/db/templates/db.yaml", "the0"),
            Some(PathBuf::from("charts/db/templates/db.yaml"))
        );
        for hostile in [
            "other/templates/the0-api.yaml",
            "the0",
            "the0/",
            "/etc/passwd",
            "../the0/templates/x.yaml",
            "the0/../x.yaml",
            "the0/templates/../../../etc/passwd",
            "the0//etc/passwd/..",
        ] {
            assert_eq!(inside_chart(hostile, "the0"), None, "{hostile}");
        }
    }

    #[test]
    fn the_rendered_document_starts_after_helms_header() {
        let doc = "---\n# Source: c/templates/a.yaml\nkind: A\nname: x\n\n";
        // The stream's line 8 is the document's `name: x`, column 1.
        assert_eq!(rendered(doc, 5, 8, 1), Some(("kind: A\nname: x", 8)));
        // A column on a blank falls back to the line's first non-blank byte.
        assert_eq!(
            rendered("---\nkind: A\n  name: x\n", 1, 3, 1),
            Some(("kind: A\n  name: x", 10))
        );
        // The header itself is nothing a template wrote.
        assert_eq!(rendered(doc, 5, 6, 1), None);
    }
}
