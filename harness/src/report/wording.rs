//! A verdict in words, the same in the table, the progress lines, JUnit and the SVG:
//! the worst outcome (`recovered in 505ms`, `NOT recovered`, …), the outages counted by
//! outcome, one outage (`#2 recovered in 40ms (3 failed)`).

use crate::ms::fmt_ms;
use crate::verdict::{Outage, Outcome, Verdict};

/// The worst outcome in words: `recovered in 505ms`, `rode through`, `NOT recovered`, …
pub fn outcome_text(v: &Verdict) -> String {
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
