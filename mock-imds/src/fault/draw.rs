//! The fault engine's own state: the seeded RNG behind probabilities and jitter, and the
//! throttle windows. One per mock, so a seed reproduces a run's draws.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::state::FaultSpec;
use super::target::Target;

/// The seeded RNG and the throttle windows.
#[derive(Debug)]
pub(crate) struct Draws {
    rng: Mutex<StdRng>,
    throttle: Mutex<HashMap<Target, (Instant, u32)>>,
}

impl Draws {
    /// Draws seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            throttle: Mutex::default(),
        }
    }

    /// True when `spec` fires for this request (always, without a probability).
    pub(crate) fn fires(&self, spec: &FaultSpec) -> bool {
        match spec.probability {
            None => true,
            Some(p) => self
                .rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .random_bool(p),
        }
    }

    /// `delay` ± a uniform draw of up to `jitter`.
    pub(crate) fn jittered(&self, delay: Duration, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return delay;
        }
        let j = jitter.as_secs_f64();
        let offset = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_range(-j..=j);
        // A delay near `Duration::MAX` (`latency(18446744073709551615s, 1s)` parses) rounds
        // past it as f64: saturate rather than panic in `from_secs_f64`.
        Duration::try_from_secs_f64((delay.as_secs_f64() + offset).max(0.0))
            .unwrap_or(Duration::MAX)
    }

    /// True when this request is one too many for `target`'s one-second window.
    pub(crate) fn throttled(&self, target: &Target, per_second: u32) -> bool {
        let now = Instant::now();
        let mut windows = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(target.clone()).or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 > per_second
    }
}
