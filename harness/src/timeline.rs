//! One cell's timeline: the mock's events (IMDS requests, transitions, STS calls) merged
//! with the driver's (client created, attempt made), all on the scenario clock.

use std::time::Duration;

use mock_imds::{Event, EventKind};
use serde::{Deserialize, Serialize};

use crate::driver::{CallOutcome, ClientOutcome};

/// Something the runner did through the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum DriverEvent {
    /// A client was created before attempt `attempt`.
    ClientCreated {
        /// The attempt it was created for (1-based).
        attempt: u32,
        /// How long creation took, serialized as `duration_ms`.
        #[serde(rename = "duration_ms", with = "crate::ms")]
        duration: Duration,
        /// What creation produced.
        #[serde(flatten)]
        outcome: ClientOutcome,
    },
    /// One call.
    Attempt {
        /// 1-based.
        attempt: u32,
        /// The id the driver sent with every STS request of this call
        /// (`x-mock-imds-call-id`): `<cell nonce>.<attempt>`. The verdict ties accepted
        /// STS calls to this attempt by it.
        #[serde(default)]
        call_id: String,
        /// How long the call took, serialized as `duration_ms`.
        #[serde(rename = "duration_ms", with = "crate::ms")]
        duration: Duration,
        /// What the SDK returned.
        outcome: CallOutcome,
    },
    /// A message the SDK itself logged during the operation for attempt `attempt` (its
    /// client creation or its call); `at` is when that operation started.
    SdkWarning {
        /// The attempt whose operation it was logged in (1-based).
        attempt: u32,
        /// What the SDK logged.
        #[serde(flatten)]
        warning: crate::driver::SdkWarning,
    },
}

/// One attempt as the timeline holds it.
#[derive(Debug, Clone, Copy)]
pub struct AttemptView<'a> {
    /// When the call started, on the scenario clock.
    pub start: Duration,
    /// How long it took.
    pub duration: Duration,
    /// 1-based.
    pub attempt: u32,
    /// The id its STS requests carried.
    pub call_id: &'a str,
    /// What the SDK returned.
    pub outcome: &'a CallOutcome,
}

impl AttemptView<'_> {
    /// When the call returned.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

/// One entry of the merged timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    /// From mock-imds.
    Mock(Event),
    /// From the driver; `at` is when the operation started.
    Driver {
        /// Start of the operation on the scenario clock, serialized as `at_ms`.
        #[serde(rename = "at_ms", with = "crate::ms")]
        at: Duration,
        /// What happened.
        #[serde(flatten)]
        event: DriverEvent,
    },
}

impl Entry {
    /// When it happened (for operations: when they started).
    pub fn at(&self) -> Duration {
        match self {
            Entry::Mock(e) => e.at,
            Entry::Driver { at, .. } => *at,
        }
    }
}

/// A cell's full timeline, sorted by time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timeline {
    entries: Vec<Entry>,
}

impl Timeline {
    /// Merges mock events and driver events into one time-ordered list.
    pub fn merge(mock: Vec<Event>, driver: Vec<(Duration, DriverEvent)>) -> Self {
        let mut entries: Vec<Entry> = mock.into_iter().map(Entry::Mock).collect();
        entries.extend(
            driver
                .into_iter()
                .map(|(at, event)| Entry::Driver { at, event }),
        );
        entries.sort_by_key(Entry::at);
        Self { entries }
    }

    /// All entries, in time order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// When the last thing in the timeline ended: operations count with their duration,
    /// events at their time. Zero for an empty timeline.
    pub fn end(&self) -> Duration {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Driver {
                    at,
                    event:
                        DriverEvent::Attempt { duration, .. }
                        | DriverEvent::ClientCreated { duration, .. },
                } => *at + *duration,
                other => other.at(),
            })
            .max()
            .unwrap_or_default()
    }

    /// The attempts, in time order.
    pub fn attempts(&self) -> impl Iterator<Item = AttemptView<'_>> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Driver {
                at,
                event:
                    DriverEvent::Attempt {
                        attempt,
                        call_id,
                        duration,
                        outcome,
                    },
            } => Some(AttemptView {
                start: *at,
                duration: *duration,
                attempt: *attempt,
                call_id,
                outcome,
            }),
            _ => None,
        })
    }

    /// What the SDKs logged (the `sdk-warning` events), in time order.
    pub fn sdk_warnings(&self) -> impl Iterator<Item = &crate::driver::SdkWarning> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Driver {
                event: DriverEvent::SdkWarning { warning, .. },
                ..
            } => Some(warning),
            _ => None,
        })
    }

    /// The mock's events.
    pub fn mock_events(&self) -> impl Iterator<Item = &Event> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Mock(e) => Some(e),
            Entry::Driver { .. } => None,
        })
    }

    /// Times at which IMDS went from a fault back to up, as logged.
    pub fn recoveries(&self) -> Vec<Duration> {
        let mut down = false;
        let mut out = Vec::new();
        for e in self.mock_events() {
            if let EventKind::Transition { state, .. } = &e.kind {
                if state.is_up() && down {
                    out.push(e.at);
                }
                down = !state.is_up();
            }
        }
        out
    }
}
