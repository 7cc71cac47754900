//! Text from the input that a message may show. The stream, `--secrets-from`
//! files and cluster answers are not ours: a message (stderr, the report
//! file, the step summary, every check format) may carry text from them
//! only as a name, checked here, so that no Secret value (or token a proxy
//! echoes) ever reaches a log because a scalar ran on where we expected a
//! name to end.
//!
//! A shown name is cut at the first line break Go's YAML reader knows (LF,
//! CR, NEL, LS, PS), must be made only of the characters Kubernetes names,
//! keys and chart paths use, and is bounded in length; anything else is
//! left out.

use std::borrow::Cow;
use std::fmt;

/// Longer than any Kubernetes name (a DNS subdomain is at most 253) or key.
pub const MAX_LEN: usize = 253;

/// What stands where a text was not a name.
pub const LEFT_OUT: &str = "(not shown)";

/// Every character that ends a line for Go's YAML reader (CR LF is one
/// break of two of them). Defined here, at the bottom, because a shown name
/// is cut at exactly these; the YAML layer uses the same set
/// (`yaml::write::lines::BREAKS`).
pub const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// Characters of object names (DNS labels and subdomains, RBAC's `:`),
/// annotation and data keys (`/`, `_`), environment variable names and chart
/// paths (`chart/templates/_x.tpl`, `@` and `+` in versions).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | ':' | '@' | '+' | '~')
}

/// The name `text` holds, cut at its first line break, when it is one.
pub fn checked(text: &str) -> Option<&str> {
    let line = text.split(BREAKS).next().unwrap_or("");
    (!line.is_empty() && line.len() <= MAX_LEN && line.chars().all(name_char)).then_some(line)
}

/// `text` as a message shows it: the name (with `…` when a line break cut
/// it), or [`LEFT_OUT`].
pub fn shown(text: &str) -> Cow<'_, str> {
    match checked(text) {
        Some(name) if name.len() == text.len() => Cow::Borrowed(name),
        Some(name) => Cow::Owned(format!("{name}…")),
        None => Cow::Borrowed(LEFT_OUT),
    }
}

/// Longer than a reason needs to be read; the rest is cut.
pub const PROSE_MAX: usize = 200;

/// Free text a person wrote into the input for people to read (the reason
/// of a `secret-rollout/ignore` annotation): its first line, when it is made
/// of words of name characters and plain punctuation, cut at
/// [`PROSE_MAX`] characters; else [`LEFT_OUT`]. Like [`shown`], it never
/// carries a line break, a control or escape character (which could forge
/// a GitHub workflow command or recolour a terminal), or text beyond the
/// scalar it came from. Whether a word of it looks like a credential is a
/// policy question, asked by the caller.
pub fn prose(text: &str) -> Cow<'_, str> {
    let line = text.split(BREAKS).next().unwrap_or("");
    let prose_char = |c: char| {
        name_char(c)
            || matches!(
                c,
                ' ' | ',' | ';' | '(' | ')' | '\'' | '!' | '?' | '=' | '#' | '%' | '&'
            )
    };
    if line.trim().is_empty() || !line.chars().all(prose_char) {
        return Cow::Borrowed(LEFT_OUT);
    }
    let cut = line.char_indices().nth(PROSE_MAX).map(|(i, _)| i);
    match cut {
        None if line.len() == text.len() => Cow::Borrowed(line),
        None => Cow::Owned(format!("{line}…")),
        Some(i) => Cow::Owned(format!("{}…", &line[..i])),
    }
}

/// A dotted key path (`spec.template.metadata.name`) with each key shown as
/// [`shown`] shows a name; the path as a whole is bounded too.
pub fn path(keys: &str) -> Cow<'_, str> {
    if checked(keys).is_some_and(|k| k.len() == keys.len()) {
        return Cow::Borrowed(keys);
    }
    let mut out = String::new();
    for key in keys.split('.') {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&shown(key));
        if out.len() > 4 * MAX_LEN {
            out.push('…');
            break;
        }
    }
    Cow::Owned(out)
}

/// A name for `format!`: `format!("{}", Name(text))`.
pub struct Name<'a>(pub &'a str);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pass_and_everything_else_is_left_out() {
        assert_eq!(
            checked("c/templates/the0-api.yaml"),
            Some("c/templates/the0-api.yaml")
        );
        assert_eq!(
            checked("system:auth-delegator"),
            Some("system:auth-delegator")
        );
        for brk in ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"] {
            assert_eq!(
                checked(&format!("c/t.yaml{brk}password: s3cret")),
                Some("c/t.yaml")
            );
        }
        assert_eq!(
            checked("c/t.yaml\",\"stringData\":{\"a\":\"s3cret\"}"),
            None
        );
        assert_eq!(checked("a b"), None);
        assert_eq!(checked(""), None);
        assert_eq!(checked(&"a".repeat(MAX_LEN)).map(str::len), Some(MAX_LEN));
        assert_eq!(checked(&"a".repeat(MAX_LEN + 1)), None);
        assert_eq!(shown("x y"), LEFT_OUT);
        assert_eq!(shown("web\u{2028}LEAK"), "web…");
        assert_eq!(Name("web").to_string(), "web");
    }

    #[test]
    fn prose_is_one_plain_line_or_left_out() {
        let reason = "dummy values in the dev chart (ticket #42); until 2027-03-31";
        assert_eq!(prose(reason), reason);
        for brk in ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            assert_eq!(prose(&format!("why{brk}password: s3cret")), "why…");
        }
        // A terminal escape, a tab, a JSON break-out, nothing.
        for hostile in [
            "ok \u{1b}[31mred",
            "ok\tthere",
            "ok\",\"stringData\":{\"a\":\"s3cret\"}",
            "   ",
            "",
        ] {
            assert_eq!(prose(hostile), LEFT_OUT, "{hostile:?}");
        }
        let long = "word ".repeat(100);
        assert_eq!(prose(&long).chars().count(), PROSE_MAX + 1);
    }

    #[test]
    fn a_path_shows_each_key_as_a_name() {
        assert_eq!(path("spec.template.metadata"), "spec.template.metadata");
        assert_eq!(path("stringData.a b.c"), format!("stringData.{LEFT_OUT}.c"));
        assert_eq!(path("data.k\rsecret"), "data.k…");
    }
}
