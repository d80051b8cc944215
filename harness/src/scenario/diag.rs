//! Diagnostics shared by the scenario elements: where an error is ([`At`], a byte span
//! turned into line and column by [`line_column`]), the "unknown NAME (did you mean …?);
//! expected one of …" error ([`Unknown`]), and the escaping that keeps every message one
//! line of plain text.

use std::fmt;
use std::ops::Range;

/// A byte range of the scenario text.
pub type Span = Range<usize>;

/// An element's error and where in the file it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<E> {
    /// Where: `None` for the start of the file.
    pub span: Option<Span>,
    /// What.
    pub error: E,
}

impl<E> At<E> {
    /// `error` at `span`.
    pub fn new(span: Span, error: E) -> Self {
        Self {
            span: Some(span),
            error,
        }
    }

    /// `error` at the start of the file (it belongs to no one key).
    pub fn file(error: E) -> Self {
        Self { span: None, error }
    }

    /// The same place, the error turned into another type.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> At<F> {
        At {
            span: self.span,
            error: f(self.error),
        }
    }
}

/// A name that is not one of those defined: says which are, and suggests the closest one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// What kind of name: `driver`, `strategy`, `generator kind`.
    pub what: &'static str,
    /// The name as written.
    pub name: String,
    /// The names that would be accepted.
    pub allowed: Vec<String>,
    /// Where accepted names come from, e.g. `define it as a [strategy.NAME] table`.
    pub source: &'static str,
}

impl Unknown {
    /// `name`, not one of `allowed`.
    pub fn new(what: &'static str, name: &str, allowed: &[&str], source: &'static str) -> Self {
        Self {
            what,
            name: name.to_string(),
            allowed: allowed.iter().map(|a| a.to_string()).collect(),
            source,
        }
    }

    /// The allowed name closest to the one written, when it is close enough to be a typo.
    pub fn suggestion(&self) -> Option<&str> {
        self.allowed
            .iter()
            .map(|a| (strsim::levenshtein(&self.name, a), a))
            .filter(|(d, a)| *d <= 2.max(a.len() / 3))
            .min()
            .map(|(_, a)| a.as_str())
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            what,
            name,
            allowed,
            source,
        } = self;
        if allowed.is_empty() {
            return write!(f, "unknown {what} `{name}`: none is defined ({source})");
        }
        write!(f, "unknown {what} `{name}`")?;
        if let Some(a) = self.suggestion() {
            write!(f, " (did you mean `{a}`?)")?;
        }
        let listed: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        write!(f, "; expected one of {} ({source})", listed.join(", "))
    }
}

impl std::error::Error for Unknown {}

/// 1-based line and character column of byte `offset` in `text` (clamped to the text).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// `message` on one line: runs of whitespace (the TOML parser's multi-line messages) as
/// one space.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `message` with control characters (and U+2028/U+2029) written as Rust escapes
/// (`\n`, `\u{1b}`): messages quote names and values from the file, and a TOML string
/// can hold a newline or an ESC, which would break the one-line `FILE:LINE:COLUMN:`
/// format or reach the terminal raw.
pub fn escape_controls(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 0), (1, 1));
        assert_eq!(line_column("ab\ncé\nx", 3), (2, 1));
        assert_eq!(line_column("ab\ncé\nx", 7), (3, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let e = Unknown::new("driver", "boto", &["rust-sdk", "boto3"], "the [matrix]");
        assert_eq!(
            e.to_string(),
            "unknown driver `boto` (did you mean `boto3`?); expected one of `rust-sdk`, `boto3` (the [matrix])"
        );
        let none = Unknown::new("strategy", "x", &[], "define it");
        assert_eq!(
            none.to_string(),
            "unknown strategy `x`: none is defined (define it)"
        );
    }

    #[test]
    fn messages_stay_one_line() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        assert_eq!(escape_controls("a\nb\u{1b}"), "a\\nb\\u{1b}");
    }
}
