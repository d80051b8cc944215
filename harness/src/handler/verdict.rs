//! The verdict on a termination handler: did it notice within the bound.

use std::time::Duration;

use super::seen::NoticeSeen;

/// Whether the program saw the notice within `within` of it being put in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeVerdict {
    /// The bound, as given (`--notice-within`).
    pub within: Duration,
    /// The notice and when it was seen; `None` when the schedule posted no notice
    /// before the program ended.
    pub seen: Option<NoticeSeen>,
}

impl NoticeVerdict {
    /// True when the notice was seen within the bound.
    pub fn passed(&self) -> bool {
        self.seen
            .as_ref()
            .and_then(NoticeSeen::time_to_notice)
            .is_some_and(|t| t <= self.within)
    }

    /// One line: `noticed spot-interruption(terminate, 2m) on PATH after 812ms (within
    /// 5s): pass`, or why not.
    pub fn line(&self) -> String {
        let within = humantime::format_duration(self.within);
        let Some(seen) = &self.seen else {
            return format!(
                "notice: none was posted before the command ended: FAIL (nothing to notice within {within})"
            );
        };
        match seen.time_to_notice() {
            Some(t) => format!(
                "notice: {} on {} seen after {} ({} poll(s) without it first; bound {within}): {}",
                seen.notice,
                seen.path,
                crate::ms::fmt_ms(t),
                seen.polls_after_notice,
                if t <= self.within { "pass" } else { "FAIL" }
            ),
            None => format!(
                "notice: {} on {} NOT seen ({} poll(s) after it, none answered 200): FAIL (bound {within})",
                seen.notice, seen.path, seen.polls_after_notice
            ),
        }
    }
}
