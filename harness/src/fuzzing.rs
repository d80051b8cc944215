//! The body of the `cargo fuzz` target `scenario` (`fuzz/fuzz_targets/scenario.rs`), as
//! a function, so that the fuzz target calls it and `cargo test` runs it on every seed in
//! `fuzz/seeds/scenario/` (`tests/fuzz_seeds.rs` in the workspace root) on stable Rust.
//! Not an API: it panics when its property does not hold.

use std::path::Path;

/// The `scenario` target. Scenario files: any bytes (as lossy UTF-8) →
/// [`crate::scenario::parse`]. No input may panic, and a refusal must be one line of
/// text (no control characters) starting `fuzz.toml:LINE:COLUMN: ` (the CLI prints it as
/// is and editors jump to it).
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Err(err) = crate::scenario::parse(Path::new("fuzz.toml"), &text) else {
        return;
    };
    let message = err.to_string();
    // One line, and no control characters (a raw ESC or NUL would reach the terminal).
    assert!(
        !message
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}'),
        "not one line of text: {message:?}"
    );
    let rest = message
        .strip_prefix("fuzz.toml:")
        .unwrap_or_else(|| panic!("no file name: {message:?}"));
    let mut fields = rest.splitn(3, ':');
    let line = fields.next().unwrap_or_default();
    let column = fields.next().unwrap_or_default();
    let tail = fields.next().unwrap_or_default();
    let number = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s != "0" && !s.starts_with('0')
    };
    assert!(
        number(line) && number(column),
        "no LINE:COLUMN: {message:?}"
    );
    assert!(
        tail.starts_with(' '),
        "no space after LINE:COLUMN: {message:?}"
    );
    assert!(!err.message().is_empty(), "empty message: {message:?}");
}
