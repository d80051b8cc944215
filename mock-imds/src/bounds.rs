//! The bound on every duration written in a scenario, a schedule file, a fault, the
//! control API or a command line: at most [`MAX_DURATION`]. A cell runs for at most an
//! hour, an outage worth testing is seconds to minutes, and a unit typo (`500m` for
//! `500ms`) or a huge number (`18446744073709551615s`) would otherwise overflow a clock,
//! run for years or draw a timeline gigabytes wide.

use std::time::Duration;

/// The longest duration anything accepts: 24 h.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Parses a duration in humantime's syntax (`500ms`, `2s`, `1m 30s`) no longer than
/// [`MAX_DURATION`].
///
/// # Errors
/// What is wrong, how a duration is written, and the bound.
pub fn parse_bounded_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let d = humantime::parse_duration(text).map_err(|e| {
        format!("invalid duration `{text}` ({e}); write a number with a unit, e.g. \"500ms\", \"2s\", \"1m 30s\"")
    })?;
    check_bounded(d).map_err(|why| format!("`{text}`: {why}"))
}

/// `d` when it is at most [`MAX_DURATION`].
///
/// # Errors
/// The bound, when `d` exceeds it.
pub fn check_bounded(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        return Err(format!(
            "{} is longer than the longest duration allowed, {} (durations are in 0s..=24h)",
            humantime::format_duration(d),
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_inclusive() {
        assert_eq!(parse_bounded_duration("24h"), Ok(MAX_DURATION));
        assert!(parse_bounded_duration("86400001ms")
            .unwrap_err()
            .contains("0s..=24h"));
        assert!(parse_bounded_duration("18446744073709551615s").is_err());
        assert!(parse_bounded_duration("soon").unwrap_err().contains("e.g."));
    }
}
