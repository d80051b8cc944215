//! Words in reports. A verdict, the same in the table, the progress lines, JUnit and the
//! SVG: the worst outcome (`recovered in 505ms`, `NOT recovered`, …), the outages counted
//! by outcome, one outage (`#2 recovered in 40ms (3 failed)`). Counts with the right
//! plural, and a one-line summary of a scenario's description that never stops mid-word.

use crate::ms::fmt_ms;
use crate::verdict::{Outage, Outcome, Verdict};

/// The worst outcome in words: `recovered in 505ms`, `rode through`, `NOT recovered`, …
pub fn outcome_text(v: &Verdict) -> String {
    if let Some(seen) = &v.notice {
        return match seen.time_to_notice() {
            Some(t) => format!("noticed in {}", fmt_ms(t)),
            None => "NOT noticed".to_string(),
        };
    }
    if v.hung_calls > 0 {
        // The call never returned (strategy `call_timeout`): the cell ended there.
        return "HUNG (a call never returned)".to_string();
    }
    match v.outcome {
        None => "no outage".to_string(),
        Some(Outcome::Untested) if v.outages.iter().any(|o| o.failed_calls > 0) => {
            "failed; recovery untested (no call after)".to_string()
        }
        Some(Outcome::Untested) => "untested (no call met an outage)".to_string(),
        Some(Outcome::RodeThrough) if v.outages.iter().any(|o| o.recovery.is_some()) => {
            "rode through (waited)".to_string()
        }
        Some(Outcome::RodeThrough) => "rode through".to_string(),
        Some(Outcome::NotRecovered) => "NOT recovered".to_string(),
        Some(Outcome::Recovered) => {
            let slowest = v
                .outages
                .iter()
                .filter_map(|o| o.recovery)
                .max()
                .map_or("—".to_string(), fmt_ms);
            if v.outages.len() == 1 {
                format!("recovered in {slowest}")
            } else {
                format!("recovered (slowest {slowest})")
            }
        }
    }
}

/// The outages in words: `1`, or `12: 9 recovered, 3 rode through`, with the failures
/// after recovery when there were any.
pub fn outages_text(v: &Verdict) -> String {
    if v.outages.is_empty() {
        return "0".to_string();
    }
    let mut text = v.outages.len().to_string();
    if v.outages.len() > 1 {
        let mut counts: Vec<String> = Vec::new();
        for (outcome, words) in [
            (Outcome::NotRecovered, "NOT recovered"),
            (Outcome::Recovered, "recovered"),
            (Outcome::RodeThrough, "rode through"),
            (Outcome::Untested, "untested"),
        ] {
            let n = v.outages.iter().filter(|o| o.outcome == outcome).count();
            if n > 0 {
                counts.push(format!("{n} {words}"));
            }
        }
        text = format!("{text}: {}", counts.join(", "));
    }
    let relapses: u32 = v.outages.iter().map(|o| o.failures_after_recovery).sum();
    if relapses > 0 {
        text.push_str(&format!("; {relapses} failed after recovering"));
    }
    text
}

/// One outage in words: `#2 recovered in 40ms (3 failed)`.
pub fn outage_text(o: &Outage) -> String {
    let what = match (o.outcome, o.recovery) {
        (Outcome::Recovered, Some(r)) => format!("recovered in {}", fmt_ms(r)),
        (Outcome::NotRecovered, _) => "NOT recovered".to_string(),
        (Outcome::RodeThrough, Some(r)) => {
            format!("rode through (waited: accepted {} after it)", fmt_ms(r))
        }
        (Outcome::RodeThrough, None) => "rode through".to_string(),
        (Outcome::Untested, _) if o.failed_calls > 0 => "recovery untested".to_string(),
        (outcome, _) => outcome.to_string(),
    };
    let mut text = format!("#{} {what}", o.index);
    if o.failed_calls > 0 {
        text.push_str(&format!(" ({} failed)", o.failed_calls));
    }
    if o.failures_after_recovery > 0 {
        text.push_str(&format!(" then {} failed again", o.failures_after_recovery));
    }
    text
}

/// `n word` or `n words` ("1 cell", "2 cells", "0 expectations").
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The first sentence of `text` on one line (runs of white space as one space), at most
/// `max` characters: a longer one is cut at the last word that fits and ends in `…`.
pub fn summary(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match line.find(". ") {
        Some(end) => &line[..=end],
        None => line.as_str(),
    };
    if sentence.chars().count() <= max {
        return sentence.to_string();
    }
    let mut out = String::new();
    for word in sentence.split(' ') {
        // +1 for the space, +1 for the ellipsis.
        if out.chars().count() + word.chars().count() + 2 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let out = out.trim_end_matches([',', ';', ':']).to_string();
    format!("{out}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "cell"), "1 cell");
        assert_eq!(plural(0, "cell"), "0 cells");
        assert_eq!(plural(2, "expectation"), "2 expectations");
    }

    #[test]
    fn summary_is_the_first_sentence_cut_at_a_word() {
        assert_eq!(summary("One line.\nTwo. Three.", 80), "One line.");
        assert_eq!(summary("a b\n  c", 80), "a b c");
        let long = "IMDS refuses connections when the client is created, back at 2 s";
        let cut = summary(long, 30);
        assert!(cut.chars().count() <= 30, "{cut}");
        assert_eq!(cut, "IMDS refuses connections when…");
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }
}
