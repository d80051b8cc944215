//! The cell clock: one virtual wall clock ([`mock_imds::Clock`]) for a cell's mock, its
//! fake STS and its driver, so that a schedule's `clock = "+5h52m"` moves all of them.
//!
//! - The Rust SDK reads it through its `TimeSource` (see `super::rust_sdk`), plus the
//!   driver's own `clock_offset_s`.
//! - Child processes (boto3, the AWS CLI, JS v3, `exec`'s program) read it through
//!   libfaketime: `LD_PRELOAD=…/faketime/libfaketime.so.1` and
//!   `FAKETIME_TIMESTAMP_FILE=<a file of the cell's>`, which is rewritten at every jump
//!   (before the jump returns) with the offset in seconds (`+21120.000`: libfaketime reads
//!   `+5h52m` as five minutes), `FAKETIME_NO_CACHE=1` (re-read at every clock call) and
//!   `FAKETIME_DONT_FAKE_MONOTONIC=1` (timeouts and sleeps stay real). Measured here
//!   (Debian libfaketime 0.9.10): Python's `time.time()`/`datetime` and Node's `Date` move
//!   with the file; fractional seconds are honoured.
//!
//! libfaketime is preloaded only where the clock can move (the schedule jumps it, or the
//! driver has a `clock_offset_s`); every other child runs on the real clock untouched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mock_imds::{Clock, SignedDuration};

/// What `scripts/setup` and the error say to run when libfaketime is missing.
pub const INSTALL_HINT: &str = "apt-get install libfaketime";

/// A cell's clock, and the libfaketime set-up its child process needs (if any).
#[derive(Debug)]
pub struct CellClock {
    clock: Arc<Clock>,
    faketime: Option<Faketime>,
}

#[derive(Debug)]
struct Faketime {
    lib: PathBuf,
    file: PathBuf,
    /// Holds the timestamp file.
    _dir: tempfile::TempDir,
}

impl CellClock {
    /// A clock at real time whose children run on the real clock (nothing moves it, or
    /// the driver is in process).
    pub fn real() -> Self {
        Self {
            clock: Clock::new(),
            faketime: None,
        }
    }

    /// A clock a schedule may jump, for a child driver `extra` ahead of it (its
    /// `clock_offset_s`; negative: behind): the timestamp file is written now and at
    /// every jump.
    ///
    /// # Errors
    /// When libfaketime is not installed (the message says `apt-get install
    /// libfaketime`), or the timestamp file cannot be written.
    pub fn faked(extra: SignedDuration) -> Result<Self, String> {
        Self::faked_with(extra, &candidate_dirs())
    }

    /// [`Self::faked`], looking for libfaketime in `dirs` only.
    ///
    /// # Errors
    /// As [`Self::faked`].
    pub fn faked_with(extra: SignedDuration, dirs: &[PathBuf]) -> Result<Self, String> {
        let lib = find_libfaketime(dirs).ok_or_else(|| {
            format!(
                "this cell moves the clock of a child process, which needs libfaketime (looked for faketime/libfaketime.so.1 in {}): {INSTALL_HINT} (scripts/setup does, as root)",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("imds-harness-clock-")
            .tempdir()
            .map_err(|e| format!("a folder for the cell's clock file: {e}"))?;
        let file = dir.path().join("faketime");
        let clock = Clock::new();
        write_offset(&file, clock.offset(), extra)
            .map_err(|e| format!("writing {}: {e}", file.display()))?;
        let observed = file.clone();
        clock.on_jump(move |offset| {
            // A failed write leaves the child on the old time; the verdict then shows
            // its calls rejected, which is what such a clock would do.
            let _ = write_offset(&observed, offset, extra);
        });
        Ok(Self {
            clock,
            faketime: Some(Faketime {
                lib,
                file,
                _dir: dir,
            }),
        })
    }

    /// The clock, to give the mock ([`mock_imds::MockImdsBuilder::clock`]) and the Rust
    /// SDK.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// The variables that put a child process on this clock (empty for a real clock).
    pub fn child_env(&self) -> Vec<(String, String)> {
        let Some(f) = &self.faketime else {
            return Vec::new();
        };
        vec![
            ("LD_PRELOAD".into(), f.lib.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                f.file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".into(), "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ]
    }
}

/// Where Debian and others install libfaketime: `/usr/lib/<arch>-linux-gnu/faketime`, then
/// `/usr/lib64`, `/usr/lib`, `/usr/local/lib` (each `…/faketime`).
pub fn candidate_dirs() -> Vec<PathBuf> {
    let arch = std::env::consts::ARCH;
    [
        format!("/usr/lib/{arch}-linux-gnu/faketime"),
        "/usr/lib64/faketime".into(),
        "/usr/lib/faketime".into(),
        "/usr/local/lib/faketime".into(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// The first `libfaketime.so.1` in `dirs`.
pub fn find_libfaketime(dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join("libfaketime.so.1"))
        .find(|p| p.is_file())
}

/// libfaketime's relative offset for `offset + extra`: seconds with a sign and three
/// decimals (`+21120.000`, `-3600.500`).
pub fn faketime_offset(offset: SignedDuration, extra: SignedDuration) -> String {
    let ms = offset.as_millis().saturating_add(extra.as_millis());
    let sign = if ms < 0 { '-' } else { '+' };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// Writes the offset to `file` atomically (a new file renamed over it), so a child
/// reading at that instant sees the old offset or the new, never half of one.
fn write_offset(file: &Path, offset: SignedDuration, extra: SignedDuration) -> std::io::Result<()> {
    let next = file.with_extension("next");
    std::fs::write(&next, format!("{}\n", faketime_offset(offset, extra)))?;
    std::fs::rename(&next, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_written_in_seconds() {
        let s = SignedDuration::from_millis;
        assert_eq!(faketime_offset(s(21_120_000), s(0)), "+21120.000");
        assert_eq!(faketime_offset(s(0), s(-3_600_500)), "-3600.500");
        assert_eq!(faketime_offset(s(1_000), s(-1_001)), "-0.001");
        assert_eq!(faketime_offset(s(0), s(0)), "+0.000");
    }

    #[test]
    fn the_file_follows_every_jump_and_carries_the_drivers_offset() {
        let Some(lib) = find_libfaketime(&candidate_dirs()) else {
            return; // the missing-library case is the next test
        };
        let cell = CellClock::faked(SignedDuration::from_secs(-60)).unwrap();
        let env = cell.child_env();
        assert_eq!(
            env[0],
            ("LD_PRELOAD".to_string(), lib.display().to_string())
        );
        let file = PathBuf::from(&env[1].1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "-60.000\n");
        cell.clock().jump("+5h52m".parse().unwrap()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "+21060.000\n");
        assert!(env.contains(&("FAKETIME_NO_CACHE".into(), "1".into())));
        assert!(env.contains(&("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into())));
        assert!(CellClock::real().child_env().is_empty());
    }

    #[test]
    fn without_libfaketime_the_error_says_how_to_install_it() {
        let e = CellClock::faked_with(SignedDuration::ZERO, &[PathBuf::from("/nonexistent")])
            .unwrap_err();
        assert!(e.contains("apt-get install libfaketime"), "{e}");
        assert!(e.contains("/nonexistent"), "{e}");
    }
}
