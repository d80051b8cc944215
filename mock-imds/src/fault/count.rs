//! Counted faults (`times=N`): how many requests each armed fault has acted on, and the
//! news that one has run out, which the switch turns into a transition that clears it.
//!
//! The count is the authority: once a fault has acted on its N requests it acts on no
//! more, even before the clearing transition is in force. A request *reserves* its turn
//! ([`Counts::take`]) as the fault acts, so two requests at once never both take the
//! last turn.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::sync::mpsc::UnboundedSender;

use super::state::{FaultSpec, ImdsState};

/// A counted fault that has acted on its last request.
#[derive(Debug, Clone)]
pub(crate) struct Lifted {
    /// The fault, as it was set.
    pub(crate) spec: FaultSpec,
    /// Its arming number (see [`ImdsState`]): the clearing transition clears the target
    /// only while this arming is still there.
    pub(crate) arming: u64,
}

/// One counted fault as a request met it: its arming and its count.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    spec: FaultSpec,
    arming: u64,
    times: u32,
}

impl Ticket {
    /// The ticket of `spec` in `state`; `None` when the fault is not counted.
    pub(crate) fn of(state: &ImdsState, spec: &FaultSpec) -> Option<Ticket> {
        Some(Ticket {
            times: spec.times?,
            arming: state.arming(&spec.target)?,
            spec: spec.clone(),
        })
    }
}

/// The requests each armed fault has acted on, and where to announce one running out.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    used: Mutex<HashMap<u64, u32>>,
    lifted: OnceLock<UnboundedSender<Lifted>>,
}

impl Counts {
    /// Announce each fault that runs out to `sink` (once; later calls are ignored).
    pub(crate) fn announce_to(&self, sink: UnboundedSender<Lifted>) {
        let _ = self.lifted.set(sink);
    }

    /// True while the fault of `ticket` (`None`: not counted) has turns left.
    pub(crate) fn available(&self, ticket: Option<&Ticket>) -> bool {
        let Some(ticket) = ticket else { return true };
        let used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.get(&ticket.arming).copied().unwrap_or(0) < ticket.times
    }

    /// Takes one turn of the fault of `ticket` (`None`: not counted, always true): true
    /// when it had one left. Taking the last announces it.
    pub(crate) fn take(&self, ticket: Option<&Ticket>) -> bool {
        let Some(ticket) = ticket else { return true };
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let count = used.entry(ticket.arming).or_insert(0);
        if *count >= ticket.times {
            return false;
        }
        *count += 1;
        if *count == ticket.times {
            if let Some(sink) = self.lifted.get() {
                let _ = sink.send(Lifted {
                    spec: ticket.spec.clone(),
                    arming: ticket.arming,
                });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Fault, Target};

    #[test]
    fn a_fault_set_twice_counts_anew_and_the_last_turn_is_announced_once() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let counts = Counts::default();
        counts.announce_to(tx);
        let spec = Fault::status(401).on(Target::Token).times(2);
        let state = ImdsState::from(spec.clone());
        let ticket = Ticket::of(&state, &spec);
        assert!(ticket.is_some());
        assert!(counts.take(ticket.as_ref()));
        assert!(rx.try_recv().is_err());
        assert!(counts.available(ticket.as_ref()));
        assert!(counts.take(ticket.as_ref()));
        assert_eq!(rx.try_recv().unwrap().spec, spec);
        assert!(!counts.available(ticket.as_ref()));
        assert!(!counts.take(ticket.as_ref()));
        assert!(rx.try_recv().is_err());
        // Set again: a new arming, a new count.
        let again = ImdsState::from(spec.clone());
        assert!(counts.take(Ticket::of(&again, &spec).as_ref()));
        // Not counted: always.
        let plain = Fault::status(401).on(Target::Token);
        assert!(Ticket::of(&ImdsState::from(plain.clone()), &plain).is_none());
        assert!(counts.take(None));
    }
}
