//! Helpers for the argument syntax of the catalogue's rows: `name(args)`, durations, and
//! quoted bodies that must print back to text that parses.

use std::time::Duration;

/// `text` split as `name(inner)`, when it has that shape.
pub(super) fn split_call(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let inner = text[open + 1..].strip_suffix(')')?;
    Some((&text[..open], inner))
}

/// A duration argument (`200ms`, `1s`), at most [`crate::MAX_DURATION`].
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{}` is not a duration ({e})", text.trim()))?;
    crate::bounds::check_bounded(d).map_err(|why| format!("`{}`: {why}", text.trim()))
}

/// Escapes, inside a JSON string, what the parsers split on before they read a status
/// body: `;` (between the faults of a state) and a space that starts ` on `, ` p=` or
/// ` times=`.
/// Without this a body such as `"a on b"` (written `"a\u0020on b"`) would print as text
/// that no longer parses.
pub(super) fn escape_separators(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    for (i, c) in quoted.char_indices() {
        let rest = &quoted[i + c.len_utf8()..];
        match c {
            ';' => out.push_str("\\u003b"),
            ' ' if rest.starts_with("on ")
                || rest.starts_with("p=")
                || rest.starts_with("times=") =>
            {
                out.push_str("\\u0020")
            }
            _ => out.push(c),
        }
    }
    out
}
