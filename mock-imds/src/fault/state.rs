//! Faults as values: a fault on a target ([`FaultSpec`]), the state of IMDS (the active
//! faults, [`ImdsState`]) and one change of it ([`Change`]), with constructors that read
//! as the text grammar: `Fault::status(403).on(Target::Token)` is `status(403) on token`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::catalogue::Fault;
use super::target::Target;

impl Fault {
    /// `status(code)`: answer `code` with EC2's error page for it.
    ///
    /// # Panics
    /// When `code` is outside 200..=599 (the grammar refuses those too: a 1xx is no
    /// final answer, and hyper would send 500 in its place).
    pub fn status(code: u16) -> Self {
        assert!(
            (200..=599).contains(&code),
            "the status must be in 200..=599, not {code}"
        );
        Fault::Status { code, body: None }
    }

    /// `status(code, "body")`: answer `code` with `body` (`text/plain`).
    ///
    /// # Panics
    /// As [`Fault::status`].
    pub fn status_with_body(code: u16, body: impl Into<String>) -> Self {
        let Fault::Status { code, .. } = Fault::status(code) else {
            unreachable!()
        };
        Fault::Status {
            code,
            body: Some(body.into()),
        }
    }

    /// `latency(delay, jitter)`: answer `delay` ± `jitter` late.
    ///
    /// # Panics
    /// When `jitter` exceeds `delay` (the grammar refuses that too).
    pub fn latency(delay: Duration, jitter: Duration) -> Self {
        assert!(
            jitter <= delay,
            "the latency jitter cannot exceed the delay"
        );
        Fault::Latency { delay, jitter }
    }

    /// `error-document(code)`: a credentials error document with this `Code`.
    pub fn error_document(code: impl Into<String>) -> Self {
        Fault::ErrorDocument { code: code.into() }
    }

    /// `throttle(per_second)`: 429 past this many requests per second.
    pub fn throttle(per_second: u32) -> Self {
        Fault::Throttle { per_second }
    }

    /// This fault on `target` (`FAULT on TARGET`), always firing.
    pub fn on(self, target: Target) -> FaultSpec {
        FaultSpec::new(self).on(target)
    }

    /// This fault on its default target, firing with probability `p` (`FAULT p=P`).
    pub fn with_probability(self, p: f64) -> FaultSpec {
        FaultSpec::new(self).with_probability(p)
    }

    /// This fault on its default target, lifting itself after acting on `n` requests
    /// (`FAULT times=N`; see [`FaultSpec::times`]).
    pub fn times(self, n: u32) -> FaultSpec {
        FaultSpec::new(self).times(n)
    }
}

/// A fault on a target, firing with a probability.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// What happens.
    pub fault: Fault,
    /// To which requests.
    pub target: Target,
    /// Chance (0..=1) that a matching request meets the fault, drawn from the mock's
    /// seeded RNG; `None` is always.
    pub probability: Option<f64>,
    /// How many requests the fault acts on before it lifts itself (`times=N`, N ≥ 1);
    /// `None` is until changed. A request the fault *acted on* is one it changed: with
    /// `p=`, only the requests the draw picked count; `throttle` counts the requests it
    /// answered 429; `latency` the requests it delayed; a document fault the role
    /// credentials answers it replaced (not the role listing it leaves alone, unless
    /// `no-role`); `malformed-json` the JSON bodies it cut. The socket faults (`refuse`,
    /// `drop-syn`) take no count: the connections they refuse never reach the mock as
    /// requests, so nothing could count them.
    pub times: Option<u32>,
}

impl FaultSpec {
    /// `fault` on its default target, always.
    pub fn new(fault: Fault) -> Self {
        Self {
            target: fault.default_target(),
            fault,
            probability: None,
            times: None,
        }
    }

    /// The same fault on `target`.
    pub fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// The same fault with probability `p`.
    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// The same fault, lifting itself after acting on `n` requests (`times=N`).
    ///
    /// # Panics
    /// When `n` is 0 or the fault acts on the socket (the grammar refuses both).
    pub fn times(mut self, n: u32) -> Self {
        assert!(n >= 1, "times takes a count of at least 1");
        assert!(
            !self.fault.is_socket_level(),
            "`{}` acts on the socket and takes no count",
            self.fault
        );
        self.times = Some(n);
        self
    }
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> Self {
        FaultSpec::new(fault)
    }
}

/// What IMDS does right now: at most one fault per target. Empty is up.
///
/// Each counted fault (`times=N`) is armed when it is set: it gets a number of its own,
/// so setting the same fault again (a second schedule step, a second `ctl fault`) starts
/// a new count. Two states are equal when they hold the same faults, whatever their
/// arming.
#[derive(Clone, Debug, Default)]
pub struct ImdsState {
    faults: BTreeMap<Target, FaultSpec>,
    armed: BTreeMap<Target, u64>,
}

impl PartialEq for ImdsState {
    fn eq(&self, other: &Self) -> bool {
        self.faults == other.faults
    }
}

/// The arming numbers of counted faults, unique in the process.
static ARMING: AtomicU64 = AtomicU64::new(1);

impl ImdsState {
    /// No fault: serving normally.
    pub fn up() -> Self {
        Self::default()
    }

    /// True when no fault is active.
    pub fn is_up(&self) -> bool {
        self.faults.is_empty()
    }

    /// The active faults, most specific target first.
    pub fn faults(&self) -> impl Iterator<Item = &FaultSpec> {
        self.faults.values()
    }

    /// The fault on `target`, if any.
    pub fn fault_on(&self, target: &Target) -> Option<&FaultSpec> {
        self.faults.get(target)
    }

    /// The faults a request for `path` meets, most specific target first.
    pub fn matching<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a FaultSpec> + 'a {
        self.faults.values().filter(move |s| s.target.matches(path))
    }

    /// The fault on the IMDS socket (`refuse` or `drop-syn`), if any.
    pub fn socket_fault(&self) -> Option<&Fault> {
        self.socket_fault_on(&Target::Listener)
    }

    /// The socket fault on `target`'s listener (`listener`: IMDS, `container`: the
    /// container credentials endpoint), if any.
    pub fn socket_fault_on(&self, target: &Target) -> Option<&Fault> {
        self.faults
            .get(target)
            .map(|s| &s.fault)
            .filter(|f| f.is_socket_level())
    }

    /// Sets `spec`, replacing any fault on the same target (a counted one is armed anew).
    pub fn set(&mut self, spec: FaultSpec) {
        if spec.times.is_some() {
            self.armed
                .insert(spec.target.clone(), ARMING.fetch_add(1, Ordering::Relaxed));
        } else {
            self.armed.remove(&spec.target);
        }
        self.faults.insert(spec.target.clone(), spec);
    }

    /// Removes the fault on `target`.
    pub fn clear(&mut self, target: &Target) {
        self.faults.remove(target);
        self.armed.remove(target);
    }

    /// The arming number of the counted fault on `target` (see [`ImdsState`]); `None`
    /// when the fault there (if any) is not counted.
    pub(crate) fn arming(&self, target: &Target) -> Option<u64> {
        self.armed.get(target).copied()
    }

    /// Applies a schedule change.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Set(spec) => self.set(spec.clone()),
            Change::Clear(target) => self.clear(target),
            Change::Up => {
                self.faults.clear();
                self.armed.clear();
            }
        }
    }
}

impl From<FaultSpec> for ImdsState {
    fn from(spec: FaultSpec) -> Self {
        let mut state = Self::up();
        state.set(spec);
        state
    }
}

/// One change of state: what a schedule step or a control command does.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Set a fault on its target (replacing the one there).
    Set(FaultSpec),
    /// Remove the fault on one target (`up on TARGET`).
    Clear(Target),
    /// Remove every fault (`up`).
    Up,
}

impl Change {
    /// The target this change touches; `None` for [`Change::Up`] (all of them).
    pub fn target(&self) -> Option<&Target> {
        match self {
            Change::Set(spec) => Some(&spec.target),
            Change::Clear(target) => Some(target),
            Change::Up => None,
        }
    }
}

impl From<FaultSpec> for Change {
    fn from(spec: FaultSpec) -> Self {
        Change::Set(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_read_as_the_grammar() {
        assert_eq!(
            Fault::status(403).on(Target::Token).to_string(),
            "status(403) on token"
        );
        assert_eq!(
            Fault::Reset.with_probability(0.3).to_string(),
            "reset p=0.3"
        );
        assert_eq!(
            FaultSpec::from(Fault::NoRole),
            "no-role".parse::<FaultSpec>().unwrap()
        );
        assert_eq!(
            Fault::latency(Duration::from_millis(200), Duration::from_millis(50)).to_string(),
            "latency(200ms, 50ms)"
        );
        assert_eq!(
            Fault::status_with_body(503, "busy").to_string(),
            "status(503, \"busy\")"
        );
    }

    #[test]
    #[should_panic(expected = "200..=599")]
    fn status_refuses_what_the_grammar_refuses() {
        let _ = Fault::status(103);
    }

    #[test]
    fn faults_are_met_most_specific_target_first() {
        let state: ImdsState = "status(500); status(403) on token; no-role"
            .parse()
            .unwrap();
        let order: Vec<String> = state
            .matching("/latest/api/token")
            .map(|s| s.target.to_string())
            .collect();
        assert_eq!(order, vec!["token", "listener"]);
        let order: Vec<String> = state
            .matching("/latest/meta-data/iam/security-credentials/")
            .map(|s| s.target.to_string())
            .collect();
        assert_eq!(order, vec!["credentials", "listener"]);
        assert_eq!(state.socket_fault(), None);
        assert_eq!(
            "refuse".parse::<ImdsState>().unwrap().socket_fault(),
            Some(&Fault::Refuse)
        );
    }
}
