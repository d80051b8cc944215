//! Looking through the events: [`Mark`] and the narrowing [`Events`] view.

use std::time::Duration;

use super::kinds::{Event, EventKind, EventType};

/// A position in the event log (its clock's time when taken), from
/// [`crate::MockImds::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(pub(crate) Duration);

impl Mark {
    /// The mark's time on the event log's clock.
    pub fn at(&self) -> Duration {
        self.0
    }
}

/// Events to look through: a snapshot of the log, sorted by time, narrowed step by step
/// (`imds.query().since(mark).path("/latest/meta-data/iam/*").len()`). Derefs to a
/// slice of [`Event`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events(Vec<Event>);

impl Events {
    /// The events at or after `mark`.
    pub fn since(self, mark: Mark) -> Self {
        self.filter(|e| e.at >= mark.0)
    }

    /// The events of one kind.
    pub fn of(self, kind: EventType) -> Self {
        self.filter(|e| e.kind.event_type() == kind)
    }

    /// The IMDS requests whose path matches `glob` (`*` any run of characters, `?` one).
    pub fn path(self, glob: &str) -> Self {
        self.filter(|e| {
            matches!(&e.kind, EventKind::ImdsRequest { path, .. }
                if crate::fault::glob_match(glob.as_bytes(), path.as_bytes()))
        })
    }

    /// The credential fetches (see [`Event::is_credential_fetch`]).
    pub fn credential_fetches(self) -> Self {
        self.filter(Event::is_credential_fetch)
    }

    /// The events `keep` says yes to.
    pub fn filter(mut self, keep: impl FnMut(&Event) -> bool) -> Self {
        self.0.retain(keep);
        self
    }

    /// The events, as a vector.
    pub fn into_vec(self) -> Vec<Event> {
        self.0
    }
}

impl From<Vec<Event>> for Events {
    fn from(events: Vec<Event>) -> Self {
        Self(events)
    }
}

impl std::ops::Deref for Events {
    type Target = [Event];
    fn deref(&self) -> &[Event] {
        &self.0
    }
}

impl IntoIterator for Events {
    type Item = Event;
    type IntoIter = std::vec::IntoIter<Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
