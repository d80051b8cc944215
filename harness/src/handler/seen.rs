//! When a program first saw a notice, from the event log.
//!
//! "Saw" is defined as: the first `200` answer on the notice's path whose answer left
//! the mock (arrival + latency, so a `latency` fault on the path counts against the
//! program) at or after the notice was put in force. Before its notice each of these
//! paths answers `404` (spot, rebalance, lifecycle) or `[]` (maintenance), and a notice
//! is read when the answer is made (after any `latency`), so that answer is the first to
//! carry it. "That program" is every request the run's mocks saw: `exec` runs one
//! program (with its children) against mocks of its own.

use std::time::Duration;

use mock_imds::notice::Notice;
use mock_imds::{Event, EventKind};

/// The path below `/latest/` a program polls to see `notice`, as EC2 serves it;
/// `None` for `clear`.
pub fn notice_path(notice: &Notice) -> Option<&'static str> {
    Some(match notice {
        Notice::SpotInterruption { .. } => "/latest/meta-data/spot/instance-action",
        Notice::Rebalance => "/latest/meta-data/events/recommendations/rebalance",
        Notice::Maintenance { .. } => "/latest/meta-data/events/maintenance/scheduled",
        Notice::Lifecycle(_) => "/latest/meta-data/autoscaling/target-lifecycle-state",
        Notice::Clear => return None,
    })
}

/// One notice and when the program first saw it (in the JSON report as the verdict's
/// `notice`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoticeSeen {
    /// The notice.
    pub notice: Notice,
    /// The path watched.
    pub path: String,
    /// When it was put in force, on the event log's clock; serialized as
    /// `posted_at_ms`.
    #[serde(rename = "posted_at_ms", with = "crate::ms")]
    pub posted_at: Duration,
    /// When the first answer carrying it left the mock; `None`: never. Serialized as
    /// `seen_at_ms`.
    #[serde(rename = "seen_at_ms", with = "crate::ms::option")]
    pub seen_at: Option<Duration>,
    /// Requests on the path answered before that (or in all, when never seen), after
    /// the notice.
    pub polls_after_notice: usize,
}

impl NoticeSeen {
    /// Time from the notice to the program's first answer carrying it (ms precision).
    pub fn time_to_notice(&self) -> Option<Duration> {
        self.seen_at.map(|s| s.saturating_sub(self.posted_at))
    }
}

/// The first notice in `events` (other than `clear`) and when it was seen, or `None`
/// when there was no notice.
pub fn first_notice_seen(events: &[Event]) -> Option<NoticeSeen> {
    let (notice, posted_at) = events.iter().find_map(|e| match &e.kind {
        EventKind::Notice { notice, .. } if notice_path(notice).is_some() => {
            Some((notice.clone(), e.at))
        }
        _ => None,
    })?;
    let path = notice_path(&notice)?.to_string();
    let mut polls = 0;
    let mut seen_at = None;
    let mut answers: Vec<(Duration, Option<u16>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ImdsRequest {
                path: p,
                status,
                latency,
                ..
            } if *p == path => Some((e.at + *latency, *status)),
            _ => None,
        })
        .filter(|(answered, _)| *answered >= posted_at)
        .collect();
    answers.sort_by_key(|(answered, _)| *answered);
    for (answered, status) in answers {
        if status == Some(200) {
            seen_at = Some(answered);
            break;
        }
        polls += 1;
    }
    Some(NoticeSeen {
        notice,
        path,
        posted_at,
        seen_at,
        polls_after_notice: polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, kind: EventKind) -> Event {
        Event {
            at: Duration::from_millis(ms),
            kind,
        }
    }

    fn get(ms: u64, path: &str, status: u16, latency_ms: u64) -> Event {
        at(
            ms,
            EventKind::ImdsRequest {
                method: "GET".into(),
                path: path.into(),
                status: Some(status),
                token_present: true,
                user_agent: None,
                token_ttl_seconds: None,
                latency: Duration::from_millis(latency_ms),
            },
        )
    }

    const SPOT: &str = "/latest/meta-data/spot/instance-action";

    fn notice(ms: u64) -> Event {
        at(
            ms,
            EventKind::Notice {
                notice: "spot-interruption(terminate, 2m)".parse().unwrap(),
                time: "2026-12-02T10:02:00Z".into(),
                asked_at: Duration::from_millis(ms),
                scheduled: true,
            },
        )
    }

    #[test]
    fn seen_is_the_first_200_on_the_path_answered_after_the_notice() {
        let events = vec![
            get(100, SPOT, 404, 1),
            notice(1000),
            get(1100, "/latest/meta-data/instance-id", 200, 1),
            get(1200, SPOT, 500, 1),
            get(1700, SPOT, 200, 5),
            get(2200, SPOT, 200, 1),
        ];
        let seen = first_notice_seen(&events).unwrap();
        assert_eq!(seen.path, SPOT);
        assert_eq!(seen.posted_at, Duration::from_millis(1000));
        assert_eq!(seen.seen_at, Some(Duration::from_millis(1705)));
        assert_eq!(seen.time_to_notice(), Some(Duration::from_millis(705)));
        assert_eq!(seen.polls_after_notice, 1);
    }

    #[test]
    fn a_request_held_by_latency_counts_when_its_answer_left() {
        // Arrived before the notice, answered after it (latency): that answer carried it.
        let events = vec![notice(1000), get(600, SPOT, 200, 900)];
        let seen = first_notice_seen(&events).unwrap();
        assert_eq!(seen.time_to_notice(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn never_seen_and_no_notice() {
        let events = vec![notice(1000), get(1200, SPOT, 404, 1)];
        let seen = first_notice_seen(&events).unwrap();
        assert_eq!(seen.seen_at, None);
        assert_eq!(seen.polls_after_notice, 1);
        assert!(first_notice_seen(&[get(1, SPOT, 404, 1)]).is_none());
    }
}
