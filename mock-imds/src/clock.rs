//! The mock's virtual wall clock: real wall time plus an offset that only explicit jumps
//! change ([`Clock::jump`]), and the signed durations jumps are written in
//! ([`SignedDuration`], `+5h52m`, `-10m`).
//!
//! Everything wall-clock in a mock reads it: the credential store (`LastUpdated`,
//! `Expiration`, rotation), IMDSv2 token expiry, and the fake STS (`X-Amz-Date` skew,
//! credential expiry, its `Date` header). Monotonic time (the event log, schedules,
//! latencies, timeouts) is never moved. A harness shares one clock between a mock and
//! the clients it tests, so that an SDK's view of "hours later" is the mock's too.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest offset a clock may be moved to, either way: 100 years, in milliseconds.
pub const MAX_OFFSET_MS: i64 = 100 * 366 * 24 * 3600 * 1000;

/// A duration with a sign, in whole milliseconds: how far a clock jumps. Written with
/// its sign first and a humantime duration after it (`+5h52m`, `-10m`, `+1500ms`); the
/// sign is required, so a jump is never mistaken for a time of day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedDuration {
    millis: i64,
}

impl SignedDuration {
    /// No offset.
    pub const ZERO: SignedDuration = SignedDuration { millis: 0 };

    /// A duration of `millis` milliseconds (negative: backwards).
    pub const fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    /// A duration of `secs` seconds (negative: backwards).
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Milliseconds, negative for backwards.
    pub const fn as_millis(self) -> i64 {
        self.millis
    }

    /// As a chrono duration.
    pub fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.millis)
    }

    /// True for a backwards (negative) duration.
    pub const fn is_negative(self) -> bool {
        self.millis < 0
    }

    /// The sum, `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.millis.checked_add(other.millis).map(Self::from_millis)
    }
}

/// A signed duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a signed duration ({reason}); write e.g. \"+5h52m\", \"-10m\", \"+1500ms\""
)]
pub struct ParseSignedDurationError {
    /// What was given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for SignedDuration {
    type Err = ParseSignedDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ParseSignedDurationError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.as_bytes().first() {
            Some(b'+') => (false, &trimmed[1..]),
            Some(b'-') => (true, &trimmed[1..]),
            _ => return Err(fail("it must start with `+` or `-`")),
        };
        let magnitude = humantime::parse_duration(rest.trim()).map_err(|e| fail(&e.to_string()))?;
        if magnitude.subsec_nanos() % 1_000_000 != 0 {
            return Err(fail("the smallest unit is a millisecond"));
        }
        let millis = i64::try_from(magnitude.as_millis())
            .ok()
            .filter(|ms| *ms <= MAX_OFFSET_MS)
            .ok_or_else(|| fail("more than 100 years"))?;
        Ok(Self::from_millis(if negative { -millis } else { millis }))
    }
}

impl fmt::Display for SignedDuration {
    /// `+5h 52m`, `-10m`, `+0s`: the sign, then humantime's rendering of the magnitude.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.is_negative() { '-' } else { '+' };
        let magnitude = std::time::Duration::from_millis(self.millis.unsigned_abs());
        write!(f, "{sign}{}", humantime::format_duration(magnitude))
    }
}

impl Serialize for SignedDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A jump that would take the clock more than [`MAX_OFFSET_MS`] from real time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a jump of {by} from offset {offset} would move the clock more than 100 years from real time"
)]
pub struct ClockRangeError {
    /// The offset before the jump.
    pub offset: SignedDuration,
    /// The jump asked for.
    pub by: SignedDuration,
}

type Observer = Box<dyn Fn(SignedDuration) + Send + Sync>;

/// A virtual wall clock: the system's wall clock plus an offset that only [`Clock::jump`]
/// changes. Share it with `Arc`; reads are one atomic load.
#[derive(Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    /// Called with the new offset after every jump, in order, before `jump` returns.
    observers: Mutex<Vec<Observer>>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("offset", &self.offset())
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// A clock at real time (offset zero), shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The virtual time now: the system's wall clock plus the offset.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset().to_chrono()
    }

    /// How far the clock is from real time (positive: ahead).
    pub fn offset(&self) -> SignedDuration {
        SignedDuration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Moves the clock by `by` (backwards when negative) and returns the new offset, once
    /// every observer has seen it.
    ///
    /// # Errors
    /// [`ClockRangeError`] when the clock would end up more than 100 years from real time
    /// (the clock is left where it was).
    pub fn jump(&self, by: SignedDuration) -> Result<SignedDuration, ClockRangeError> {
        let observers = self.observers.lock().unwrap_or_else(|p| p.into_inner());
        let offset = self.offset();
        let moved = offset
            .checked_add(by)
            .filter(|o| o.as_millis().abs() <= MAX_OFFSET_MS)
            .ok_or(ClockRangeError { offset, by })?;
        self.offset_ms.store(moved.as_millis(), Ordering::SeqCst);
        for observer in observers.iter() {
            observer(moved);
        }
        Ok(moved)
    }

    /// Calls `observer` with the new offset after every later jump (synchronously, inside
    /// [`Clock::jump`], so a jump is not over until it has run): how a harness moves the
    /// clocks of child processes (libfaketime's timestamp file) in step.
    pub fn on_jump(&self, observer: impl Fn(SignedDuration) + Send + Sync + 'static) {
        self.observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(observer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_durations_parse_with_a_sign_and_print_back() {
        let d: SignedDuration = "+5h52m".parse().unwrap();
        assert_eq!(d.as_millis(), 21_120_000);
        assert_eq!(d.to_string(), "+5h 52m");
        assert_eq!(d.to_string().parse::<SignedDuration>(), Ok(d));
        let back: SignedDuration = "-10m".parse().unwrap();
        assert_eq!(back.as_millis(), -600_000);
        assert_eq!(back.to_string(), "-10m");
        assert_eq!(
            " +1500ms".parse::<SignedDuration>().unwrap().as_millis(),
            1500
        );
        assert_eq!(SignedDuration::ZERO.to_string(), "+0s");
        for bad in ["5h", "", "+", "+soon", "++1s", "+1us", "+200years"] {
            let e = bad.parse::<SignedDuration>().unwrap_err();
            assert!(e.to_string().contains("\"+5h52m\""), "{bad}: {e}");
        }
        assert!("5h"
            .parse::<SignedDuration>()
            .unwrap_err()
            .reason
            .contains("`+` or `-`"));
    }

    #[test]
    fn jumps_move_now_and_tell_observers() {
        let clock = Clock::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        clock.on_jump(move |o| sink.lock().unwrap().push(o));
        let before = clock.now();
        assert_eq!(clock.offset(), SignedDuration::ZERO);
        let offset = clock.jump("+6h".parse().unwrap()).unwrap();
        assert_eq!(offset, SignedDuration::from_secs(6 * 3600));
        let ahead = clock.now() - before;
        assert!(ahead >= chrono::Duration::hours(6), "{ahead}");
        assert!(ahead < chrono::Duration::hours(6) + chrono::Duration::minutes(1));
        clock.jump("-7h".parse().unwrap()).unwrap();
        assert_eq!(clock.offset(), SignedDuration::from_secs(-3600));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                SignedDuration::from_secs(6 * 3600),
                SignedDuration::from_secs(-3600)
            ]
        );
        let e = clock
            .jump(SignedDuration::from_millis(-MAX_OFFSET_MS))
            .unwrap_err();
        assert!(e.to_string().contains("100 years"), "{e}");
        assert_eq!(
            clock.offset(),
            SignedDuration::from_secs(-3600),
            "unchanged"
        );
    }
}
