//! The start gate: cells that run together start their scenario clocks together, and a
//! little apart ([`StartGate`]).

use std::time::Duration;

use tokio::time::Instant;

/// Cells that run together start their scenario clocks together: each waits, after its
/// driver is ready (interpreter up, SDK imported, configured), until no admitted cell is
/// still starting its driver. Dozens of interpreters importing their SDKs at once are the
/// heaviest load a run puts on the machine; without the gate that storm fell inside the
/// first cells' outages (an AWS CLI process took over 4 s to reach IMDS beside two
/// CPU-bound processes), and a cell's premise held or not by luck.
///
/// Released cells then start their clocks at least [`CLOCK_STAGGER`] apart, so that their
/// first operations (an AWS CLI process per call, boto3 loading its service model) do not
/// all compete for the CPU in the same instant: with every built-in cell at t = 0 at once,
/// an AWS CLI process needed 6–7 s to reach IMDS on 2 cores, past a 4 s outage.
#[derive(Debug)]
pub struct StartGate {
    starting: tokio::sync::watch::Sender<usize>,
    last_release: std::sync::Mutex<Option<Instant>>,
}

/// Least time between two cells' clock starts (see [`StartGate`]): 50 ms, so the 59
/// built-in cells start within 3 s.
pub const CLOCK_STAGGER: Duration = Duration::from_millis(50);

impl Default for StartGate {
    fn default() -> Self {
        Self {
            starting: tokio::sync::watch::channel(0).0,
            last_release: std::sync::Mutex::new(None),
        }
    }
}

/// A cell still starting its driver; dropping it (or [`Starting::ready`]) says it is ready.
#[derive(Debug)]
pub struct Starting<'a>(Option<&'a StartGate>);

impl StartGate {
    /// Registers a cell whose driver is starting.
    pub fn enter(&self) -> Starting<'_> {
        self.starting.send_modify(|n| *n += 1);
        Starting(Some(self))
    }

    /// Waits until no registered cell is starting, or `limit` passes (a driver that takes
    /// longer fails its own cell; the others go on), then for this cell's turn: at least
    /// [`CLOCK_STAGGER`] after the previous cell released.
    pub async fn wait_quiet(&self, limit: Duration) {
        let mut rx = self.starting.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await;
        let turn = {
            let mut last = self.last_release.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let turn = last.map_or(now, |l| (l + CLOCK_STAGGER).max(now));
            *last = Some(turn);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

impl Starting<'_> {
    /// This cell's driver is ready.
    pub fn ready(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.starting.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
