//! Glob patterns for the harness's own names: `--filter`, `explain CELL` and an
//! expectation's `driver`. `*` matches any run of bytes (also none), `?` exactly one
//! byte; every other byte matches itself. No escapes, no character classes.

/// True when `pattern` matches all of `text`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it was tried at, to backtrack to.
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("trap-*/boto3/*", "trap-refuse/boto3/call-retry"));
        assert!(!matches(
            "trap-*/boto3/*",
            "trap-refuse/rust-sdk/call-retry"
        ));
        assert!(matches("boto3*", "boto3"));
        assert!(matches("boto3*", "boto3@1.34.162"));
        assert!(!matches("boto3", "boto3-patient"));
        assert!(matches("js-v?", "js-v3"));
        assert!(!matches("js-v?", "js-v"));
        assert!(matches("*", ""));
        assert!(matches("", ""));
        assert!(!matches("", "x"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-b-b-d"));
        assert!(matches("**?", "x"));
    }
}
