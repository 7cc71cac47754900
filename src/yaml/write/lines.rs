//! Lines as Go's YAML reader counts them. go-yaml (a port of libyaml) ends a
//! line at LF, CR LF, a lone CR, NEL (U+0085), LS (U+2028) and PS (U+2029);
//! the reader ([`crate::yaml::tree`], [`crate::yaml::stream`]) counts lines
//! with this set and the writers find where lines start and end with it, so
//! what we write lands on the lines Go sees.
//!
//! (The set itself is defined in [`crate::trust::name`], below the YAML
//! layer, which cuts shown names at the same breaks.)

/// Every character that ends a line for Go's YAML reader. CR LF is one
/// break of two of them; [`break_at`] reads it so. (Defined in the trust
/// layer, which cuts shown names at the same set.)
pub use crate::trust::name::BREAKS;

/// `c` ends a line for Go's YAML reader.
pub fn is_break(c: char) -> bool {
    BREAKS.contains(&c)
}

/// The first line break in `text`: its offset and text (CR LF as one).
pub fn break_at(text: &str) -> Option<(usize, &str)> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // The first bytes of every break, tested before the full match: the
        // reader scans whole documents with this.
        if matches!(b[i], b'\n' | b'\r' | 0xC2 | 0xE2) {
            if let Some(len) = break_len(&b[i..]) {
                return Some((i, &text[i..i + len]));
            }
        }
        i += 1;
    }
    None
}

/// The length of the line break `bytes` starts with, if any: the byte-level
/// form of [`BREAKS`], for scans that must not decode characters.
pub fn break_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b'\r', b'\n', ..] => Some(2),
        [b'\n' | b'\r', ..] => Some(1),
        [0xC2, 0x85, ..] => Some(2),
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => Some(3),
        _ => None,
    }
}

/// The line break `text` ends with, if any (CR LF as one).
pub fn final_break(text: &str) -> Option<&str> {
    if text.ends_with("\r\n") {
        return Some(&text[text.len() - 2..]);
    }
    let c = text.chars().next_back().filter(|&c| is_break(c))?;
    Some(&text[text.len() - c.len_utf8()..])
}

/// `text` ends with a line break.
pub fn ends_with_break(text: &str) -> bool {
    text.ends_with(BREAKS)
}

/// `text` without the line break it ends with, if any.
pub fn without_final_break(text: &str) -> &str {
    let cut = final_break(text).map_or(0, str::len);
    &text[..text.len() - cut]
}

/// The byte offset where each line starts, the first at 0: the lines Go
/// numbers, so line `n` (1-based) of a message starts at `starts[n - 1]`.
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut at = 0;
    while let Some((i, brk)) = break_at(&text[at..]) {
        at += i + brk.len();
        starts.push(at);
    }
    starts
}

/// The lines of `text`, each with the break that ends it (the last may
/// have none).
pub fn split_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = break_at(rest).map_or(rest.len(), |(i, brk)| i + brk.len());
        let (line, more) = rest.split_at(end);
        rest = more;
        Some(line)
    })
}

/// The first byte of the line that holds `at`.
pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind(BREAKS).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    })
}

/// The first byte after the line on which a value ending at `end` ends;
/// `None` when that line is the last and has no line break.
pub fn after_line(text: &str, end: usize) -> Option<usize> {
    if end == 0 || ends_with_break(&text[..end]) {
        return Some(end);
    }
    break_at(&text[end..]).map(|(i, brk)| end + i + brk.len())
}

/// The line break new lines take near `at`: the file's own, as the next
/// ASCII line break shows it (else the last one before `at`). A Unicode
/// break (NEL, LS, PS) ending a line says nothing of the file's line ends,
/// so it is passed over: a CRLF stream stays CRLF around a comment that
/// ends in U+2028.
pub fn eol_near(text: &str, at: usize) -> &'static str {
    let kind = |s: &[u8], i: usize| match s[i] {
        b'\r' if s.get(i + 1) == Some(&b'\n') => "\r\n",
        b'\r' => "\r",
        _ if i > 0 && s[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    };
    let bytes = text.as_bytes();
    if let Some(i) = memchr::memchr2(b'\r', b'\n', &bytes[at..]) {
        return kind(bytes, at + i);
    }
    match memchr::memrchr2(b'\r', b'\n', &bytes[..at]) {
        Some(i) => kind(bytes, i),
        None => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_break_go_knows_and_crlf_as_one() {
        assert_eq!(break_at("a\r\nb"), Some((1, "\r\n")));
        for brk in ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = format!("ab{brk}c");
            assert_eq!(break_at(&text), Some((2, brk)), "{brk:?}");
            assert_eq!(final_break(&text[..2 + brk.len()]), Some(brk));
        }
        assert_eq!(break_at("a\u{2027}\u{84}\u{feff}b"), None);
        assert_eq!(final_break("a\r\n"), Some("\r\n"));
        assert_eq!(without_final_break("a\n\r"), "a\n");
        assert_eq!(without_final_break("a"), "a");
    }

    #[test]
    fn lines_start_where_go_counts_them() {
        let text = "a\r\nb\rc\u{85}d\u{2028}e\nf";
        let starts = line_starts(text);
        let lines: Vec<&str> = split_inclusive(text).collect();
        assert_eq!(lines, ["a\r\n", "b\r", "c\u{85}", "d\u{2028}", "e\n", "f"]);
        let mut at = 0;
        for (line, start) in lines.iter().zip(&starts) {
            assert_eq!(*start, at);
            assert_eq!(line_start(text, at), at);
            assert_eq!(line_start(text, at + 1), at, "inside {line:?}");
            at += line.len();
        }
        assert_eq!(starts.len(), 6);
        assert_eq!(after_line(text, 1), Some(3));
        assert_eq!(after_line(text, text.len()), None);
    }

    #[test]
    fn new_lines_take_the_files_ascii_line_break() {
        assert_eq!(eol_near("a\r\nb", 0), "\r\n");
        assert_eq!(eol_near("a\rb", 3), "\r");
        assert_eq!(eol_near("a # x\u{2028}b\r\n", 0), "\r\n");
        assert_eq!(eol_near("a", 0), "\n");
    }

    /// The message boundary cuts a shown name at exactly these breaks and at
    /// nothing else, character by character.
    #[test]
    fn names_in_messages_are_cut_at_exactly_these_breaks() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            let cut = crate::trust::name::checked(&text) == Some("a");
            assert_eq!(cut, is_break(c), "U+{:04X}", c as u32);
        }
    }
}
