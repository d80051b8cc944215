//! The notices in force and the metadata leaves they add, as EC2 serves them:
//!
//! | path under `meta-data/` | before | after |
//! |---|---|---|
//! | `spot/instance-action` | 404 | `{"action": "terminate", "time": "2026-12-02T10:02:00Z"}` |
//! | `spot/termination-time` | 404 | `2026-12-02T10:02:00Z` (`terminate` only) |
//! | `events/recommendations/rebalance` | 404 | `{"noticeTime": "2026-12-02T10:00:00Z"}` |
//! | `events/maintenance/scheduled` | `[]` | a JSON list of events, `State` `active` |
//! | `events/maintenance/history` | `[]` | cleared events, `State` `canceled` |
//! | `autoscaling/target-lifecycle-state` | 404 | `InService`, `Terminated`, … |
//!
//! Sources: EC2 User Guide, "Instance metadata categories" and "Spot Instance
//! interruption notices" (the `instance-action` JSON, `termination-time` "present only if
//! the Spot Instance has been marked for termination"), "Scheduled events" (the
//! maintenance list with `"21 Jan 2019 09:00:43 GMT"` times); Auto Scaling User Guide
//! for the lifecycle states. Where AEMM (v1.13) differs, EC2 is followed: AEMM serves
//! `spot/termination-time` for `stop` and `hibernate` too and answers 404 on
//! `events/maintenance/scheduled` before its delay; here `termination-time` is only
//! for `terminate` and the lists answer `[]`. `NotBeforeDeadline` = `NotBefore` + 9
//! days follows AEMM (EC2 documents the field, not a default).

use chrono::{DateTime, Utc};

use super::syntax::{Notice, SpotAction};
use crate::credentials::ec2_time;

/// `NotBeforeDeadline` - `NotBefore` of a maintenance event (AEMM's 9 days).
const DEADLINE_AFTER_NOT_BEFORE: chrono::Duration = chrono::Duration::days(9);

/// One scheduled maintenance event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MaintenanceEvent {
    code: String,
    event_id: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    state: &'static str,
}

/// The notices in force; empty until the first one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoticeBoard {
    spot: Option<(SpotAction, DateTime<Utc>)>,
    rebalance: Option<DateTime<Utc>>,
    scheduled: Vec<MaintenanceEvent>,
    history: Vec<MaintenanceEvent>,
    lifecycle: Option<String>,
    events_posted: u32,
}

/// EC2's maintenance time format: `21 Jan 2019 09:00:43 GMT`.
fn maintenance_time(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y %H:%M:%S GMT").to_string()
}

fn to_chrono(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl NoticeBoard {
    /// Puts `notice` in force at virtual time `now`; returns the notice's own time
    /// (spot: the interruption, `now + lead`; rebalance: `now`; maintenance:
    /// `NotBefore`; lifecycle and clear: `now`). A later spot notice replaces an
    /// earlier one, as does a later rebalance or lifecycle state; maintenance events
    /// accumulate.
    pub fn post(&mut self, notice: &Notice, now: DateTime<Utc>) -> DateTime<Utc> {
        match notice {
            Notice::SpotInterruption { action, lead } => {
                let at = now + to_chrono(*lead);
                self.spot = Some((*action, at));
                at
            }
            Notice::Rebalance => {
                self.rebalance = Some(now);
                now
            }
            Notice::Maintenance { code, lead, window } => {
                self.events_posted += 1;
                let not_before = now + to_chrono(*lead);
                self.scheduled.push(MaintenanceEvent {
                    code: code.clone(),
                    event_id: format!("instance-event-{:017x}", self.events_posted),
                    not_before,
                    not_after: not_before + to_chrono(*window),
                    state: "active",
                });
                not_before
            }
            Notice::Lifecycle(state) => {
                self.lifecycle = Some(state.clone());
                now
            }
            Notice::Clear => {
                self.spot = None;
                self.rebalance = None;
                self.lifecycle = None;
                for mut event in self.scheduled.drain(..) {
                    event.state = "canceled";
                    self.history.push(event);
                }
                now
            }
        }
    }

    /// The leaves the notices add, as `(path below the version root, body)`.
    pub fn leaves(&self) -> Vec<(String, String)> {
        let mut leaves = vec![
            (
                "meta-data/events/maintenance/scheduled".to_string(),
                events_json(&self.scheduled),
            ),
            (
                "meta-data/events/maintenance/history".to_string(),
                events_json(&self.history),
            ),
        ];
        if let Some((action, at)) = self.spot {
            leaves.push((
                "meta-data/spot/instance-action".into(),
                format!(
                    "{{\"action\": \"{}\", \"time\": \"{}\"}}",
                    action.as_str(),
                    ec2_time(at)
                ),
            ));
            if action == SpotAction::Terminate {
                leaves.push(("meta-data/spot/termination-time".into(), ec2_time(at)));
            }
        }
        if let Some(at) = self.rebalance {
            leaves.push((
                "meta-data/events/recommendations/rebalance".into(),
                format!("{{\"noticeTime\": \"{}\"}}", ec2_time(at)),
            ));
        }
        if let Some(state) = &self.lifecycle {
            leaves.push((
                "meta-data/autoscaling/target-lifecycle-state".into(),
                state.clone(),
            ));
        }
        leaves
    }
}

fn events_json(events: &[MaintenanceEvent]) -> String {
    if events.is_empty() {
        return "[]".into();
    }
    let q = crate::ec2_http::json_string;
    let items: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{{\n  \"NotBefore\" : {},\n  \"Code\" : {},\n  \"Description\" : {},\n  \"EventId\" : {},\n  \"NotAfter\" : {},\n  \"NotBeforeDeadline\" : {},\n  \"State\" : {}\n}}",
                q(&maintenance_time(e.not_before)),
                q(&e.code),
                q(&format!("The instance is scheduled for {}", e.code)),
                q(&e.event_id),
                q(&maintenance_time(e.not_after)),
                q(&maintenance_time(e.not_before + DEADLINE_AFTER_NOT_BEFORE)),
                q(e.state),
            )
        })
        .collect();
    format!("[ {} ]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn leaf(board: &NoticeBoard, path: &str) -> Option<String> {
        board
            .leaves()
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, body)| body)
    }

    #[test]
    fn each_notice_serves_ec2_shapes_stamped_on_the_given_clock() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
        let mut board = NoticeBoard::default();
        assert_eq!(leaf(&board, "meta-data/spot/instance-action"), None);
        assert_eq!(
            leaf(&board, "meta-data/events/maintenance/scheduled").as_deref(),
            Some("[]")
        );
        let at = board.post(&"spot-interruption(terminate, 2m)".parse().unwrap(), now);
        assert_eq!(ec2_time(at), "2026-12-02T10:02:00Z");
        let action: serde_json::Value =
            serde_json::from_str(&leaf(&board, "meta-data/spot/instance-action").unwrap()).unwrap();
        assert_eq!(action["action"], "terminate");
        assert_eq!(action["time"], "2026-12-02T10:02:00Z");
        assert_eq!(
            leaf(&board, "meta-data/spot/termination-time").as_deref(),
            Some("2026-12-02T10:02:00Z")
        );
        board.post(&"spot-interruption(stop, 30s)".parse().unwrap(), now);
        assert_eq!(leaf(&board, "meta-data/spot/termination-time"), None);

        board.post(&"rebalance".parse().unwrap(), now);
        let r: serde_json::Value = serde_json::from_str(
            &leaf(&board, "meta-data/events/recommendations/rebalance").unwrap(),
        )
        .unwrap();
        assert_eq!(r["noticeTime"], "2026-12-02T10:00:00Z");

        board.post(&"maintenance(system-reboot, 1h, 30m)".parse().unwrap(), now);
        let list: serde_json::Value =
            serde_json::from_str(&leaf(&board, "meta-data/events/maintenance/scheduled").unwrap())
                .unwrap();
        assert_eq!(list[0]["Code"], "system-reboot");
        assert_eq!(list[0]["NotBefore"], "2 Dec 2026 11:00:00 GMT");
        assert_eq!(list[0]["NotAfter"], "2 Dec 2026 11:30:00 GMT");
        assert_eq!(list[0]["NotBeforeDeadline"], "11 Dec 2026 11:00:00 GMT");
        assert_eq!(list[0]["State"], "active");
        assert!(list[0]["EventId"]
            .as_str()
            .unwrap()
            .starts_with("instance-event-"));

        board.post(&"lifecycle(Terminated)".parse().unwrap(), now);
        assert_eq!(
            leaf(&board, "meta-data/autoscaling/target-lifecycle-state").as_deref(),
            Some("Terminated")
        );

        board.post(&Notice::Clear, now);
        assert_eq!(leaf(&board, "meta-data/spot/instance-action"), None);
        assert_eq!(
            leaf(&board, "meta-data/events/recommendations/rebalance"),
            None
        );
        assert_eq!(
            leaf(&board, "meta-data/events/maintenance/scheduled").as_deref(),
            Some("[]")
        );
        let history: serde_json::Value =
            serde_json::from_str(&leaf(&board, "meta-data/events/maintenance/history").unwrap())
                .unwrap();
        assert_eq!(history[0]["State"], "canceled");
    }
}
