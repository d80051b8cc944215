//! `imds-harness exec`: put any program through an IMDS outage.
//!
//! Starts mock IMDS + STS, runs the command with a sanitised environment pointing at them
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_ENDPOINT_URL_STS`, a region, empty AWS config
//! files, a temporary `HOME`; no inherited `AWS_*`), applies the schedule on a clock that
//! starts with the command (its clock jumps move the program's wall clock too, through
//! libfaketime, see [`crate::driver::clock`]), and afterwards counts what IMDS and STS saw ([`ExecReport`],
//! printed by [`crate::report::exec`]).

use std::path::PathBuf;
use std::time::Duration;

use mock_imds::{Change, Event, EventKind, ImdsConfig, MockImds, Schedule, Step, StsOutcome};

use crate::driver::child::sanitized_command;
use crate::driver::clock::CellClock;
use crate::driver::passthrough::Passthrough;

/// How `FAULT START..END` is written, for every [`WindowError`].
const WINDOW_HINT: &str =
    "write `FAULT START..END`, e.g. `refuse 0s..5s` or `status(403) on token 1s..3s`";

/// A `--schedule` window that is not `FAULT START..END`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// No space before a window.
    #[error("`{text}`: no time window; {WINDOW_HINT}")]
    NoWindow {
        /// The window as given.
        text: String,
    },
    /// The window has no `..`.
    #[error("`{text}`: `{window}` is not START..END; {WINDOW_HINT}")]
    NotARange {
        /// The window as given.
        text: String,
        /// The part after the fault.
        window: String,
    },
    /// START or END is not a duration.
    #[error("`{text}`: `{part}` is not a duration ({error}); {WINDOW_HINT}")]
    Duration {
        /// The window as given.
        text: String,
        /// START or END as given.
        part: String,
        /// humantime's message.
        error: String,
    },
    /// The fault is not one.
    #[error("`{text}`: {error}")]
    Fault {
        /// The window as given.
        text: String,
        /// The fault parser's message.
        error: String,
    },
    /// `up` (or `up on TARGET`) instead of a fault.
    #[error("`{text}`: name a fault, not `up`; {WINDOW_HINT}")]
    Up {
        /// The window as given.
        text: String,
    },
    /// END at or before START.
    #[error("`{text}`: the window ends before it starts; {WINDOW_HINT}")]
    Backwards {
        /// The window as given.
        text: String,
    },
}

/// Parses `FAULT START..END` (e.g. `refuse 0s..5s`, `status(500) on token 2s..4s`): the
/// fault is on from START until END. `FAULT START..` leaves it on.
///
/// # Errors
/// [`WindowError`]: what is wrong with the text, and how a window is written.
pub fn parse_window(text: &str) -> Result<Vec<Step>, WindowError> {
    let whole = || text.to_string();
    let (fault, window) = text
        .trim()
        .rsplit_once(' ')
        .ok_or_else(|| WindowError::NoWindow { text: whole() })?;
    let (start, end) = window
        .split_once("..")
        .ok_or_else(|| WindowError::NotARange {
            text: whole(),
            window: window.to_string(),
        })?;
    let parse = |t: &str| {
        mock_imds::parse_bounded_duration(t).map_err(|e| WindowError::Duration {
            text: whole(),
            part: t.to_string(),
            error: e,
        })
    };
    let change: Change =
        fault
            .parse()
            .map_err(|e: mock_imds::ParseFaultError| WindowError::Fault {
                text: whole(),
                error: e.to_string(),
            })?;
    let Change::Set(spec) = change else {
        return Err(WindowError::Up { text: whole() });
    };
    let start = parse(start)?;
    let mut steps = vec![Step::new(start, Change::Set(spec.clone()))];
    if !end.is_empty() {
        let end = parse(end)?;
        if end <= start {
            return Err(WindowError::Backwards { text: whole() });
        }
        steps.push(Step::new(end, Change::Clear(spec.target)));
    }
    Ok(steps)
}

/// What the mocks saw while the command ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests IMDS answered, by path (method included), in first-seen order.
    pub imds_requests: Vec<(String, usize)>,
    /// Role credentials documents served (status 200).
    pub credential_fetches: usize,
    /// STS calls accepted (a credential provider's own `AssumeRole` not included).
    pub sts_accepted: usize,
    /// Sessions STS issued on `AssumeRole` (role chaining).
    pub sts_sessions_issued: usize,
    /// STS calls rejected, by error code.
    pub sts_rejected: Vec<(String, usize)>,
    /// Access keys that signed accepted calls, in first-use order.
    pub keys_used: Vec<String>,
}

impl Summary {
    /// Counts the events of a run.
    pub fn of(events: &[Event]) -> Self {
        let mut s = Summary::default();
        let bump = |list: &mut Vec<(String, usize)>, key: String| match list
            .iter_mut()
            .find(|(k, _)| *k == key)
        {
            Some((_, n)) => *n += 1,
            None => list.push((key, 1)),
        };
        for e in events {
            match &e.kind {
                EventKind::ImdsRequest { method, path, .. } => {
                    bump(&mut s.imds_requests, format!("{method} {path}"));
                    if e.is_credential_fetch() {
                        s.credential_fetches += 1;
                    }
                }
                EventKind::StsRequest {
                    action,
                    access_key_id,
                    outcome,
                    ..
                } => match outcome {
                    StsOutcome::Accepted { .. } if mock_imds::sts::is_credential_action(action) => {
                        s.sts_sessions_issued += 1
                    }
                    StsOutcome::Accepted { .. } => {
                        s.sts_accepted += 1;
                        if let Some(key) = access_key_id {
                            if !s.keys_used.contains(key) {
                                s.keys_used.push(key.clone());
                            }
                        }
                    }
                    StsOutcome::Rejected { code } => bump(&mut s.sts_rejected, code.clone()),
                },
                EventKind::Transition { .. }
                | EventKind::TransitionFailed { .. }
                | EventKind::ClockJump { .. }
                | EventKind::CredentialsRotated { .. }
                | EventKind::FaultLifted { .. }
                | EventKind::Notice { .. }
                | EventKind::ConfigReload { .. }
                | EventKind::TokenFileRotated { .. } => {}
            }
        }
        s
    }
}

/// A command's run through the mocks: what [`run`] returns, and
/// [`crate::report::exec::render`] prints.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecReport {
    /// The schedule the mocks followed, on a clock that started with the command.
    pub schedule: Schedule,
    /// Everything the mocks logged.
    pub events: Vec<Event>,
    /// The events, counted.
    pub summary: Summary,
    /// How long the command ran (wall-clock).
    pub ran_for: Duration,
    /// Its exit code; `None` when a signal killed it.
    pub code: Option<i32>,
    /// The signal that killed it (Unix; `None` when it exited).
    pub signal: Option<i32>,
    /// With `--notice-within`: did the program see the schedule's notice in time
    /// ([`crate::handler`]).
    pub notice: Option<crate::handler::NoticeVerdict>,
    /// True when the harness stopped the command at its deadline (see [`run`]).
    pub stopped_at_deadline: bool,
}

/// Why a command could not be run through the mocks.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Nothing after `--`.
    #[error("no command given: write it after `--`")]
    NoCommand,
    /// The temporary `HOME` (or its empty AWS files) could not be made.
    #[error("temporary HOME: {0}")]
    Home(std::io::Error),
    /// The sanitised command could not be prepared.
    #[error("{0}")]
    Prepare(std::io::Error),
    /// The mocks did not start.
    #[error("could not start mock-imds: {0}")]
    Mock(String),
    /// The schedule jumps the clock, and the program's clock cannot follow (no
    /// libfaketime).
    #[error("{0}")]
    Clock(String),
    /// The command did not start.
    #[error("cannot run `{program}`: {error}")]
    Spawn {
        /// The program as given.
        program: String,
        /// Why.
        error: std::io::Error,
    },
    /// Waiting for the command failed.
    #[error("waiting for `{program}`: {error}")]
    Wait {
        /// The program as given.
        program: String,
        /// Why.
        error: std::io::Error,
    },
}

/// Runs `command` against fresh mocks following `schedule`, and returns what happened.
/// `passthrough`: the SDK settings (and other variables) the user gives the program
/// ([`Passthrough::for_program`]): its variables, its `[default]` profile in the
/// temporary `HOME`'s `~/.aws/config`, and no region with `region_from_imds`.
/// `notice_within`: judge whether the command saw the schedule's first notice within
/// this long ([`crate::handler`]), and stop it (SIGKILL) if it is still running that
/// long plus 1 s after the notice's step: a termination handler polls until it sees one.
///
/// `container`: also serve the container credentials endpoints (`mock_imds::container`)
/// and give the command the SDK variables for that surface
/// ([`MockImds::container_env`]: `AWS_CONTAINER_CREDENTIALS_FULL_URI` and the token or
/// token file), so its SDK takes credentials from them before IMDS; `None`: IMDS only.
///
/// # Errors
/// [`ExecError`]: the mocks or the command could not be started.
pub async fn run(
    command: &[String],
    schedule: Schedule,
    config: ImdsConfig,
    notice_within: Option<Duration>,
    container: Option<mock_imds::ContainerSurface>,
    passthrough: &Passthrough,
) -> Result<ExecReport, ExecError> {
    let (program, args) = command.split_first().ok_or(ExecError::NoCommand)?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-exec-")
        .tempdir()
        .map_err(ExecError::Home)?;
    // The child's environment is cleared, so a bare name is resolved here.
    let program_path = if program.contains('/') {
        PathBuf::from(program)
    } else {
        crate::driver::envs::which(program).unwrap_or_else(|| PathBuf::from(program))
    };
    // A schedule that jumps the clock moves the program's too (libfaketime).
    let clock = if schedule.moves_clock() {
        CellClock::faked(mock_imds::SignedDuration::ZERO).map_err(ExecError::Clock)?
    } else {
        CellClock::real()
    };
    let mut cmd = sanitized_command(&program_path, home.path()).map_err(ExecError::Prepare)?;
    // The user's settings first: what the harness sets below is never among them.
    cmd.envs(&passthrough.env);
    let config_file = passthrough.config_file(&[]);
    if !config_file.is_empty() {
        std::fs::write(home.path().join(".aws").join("config"), config_file)
            .map_err(ExecError::Prepare)?;
    }
    cmd.envs(clock.child_env());
    cmd.args(args)
        .current_dir(std::env::current_dir().map_err(ExecError::Prepare)?)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit());
    let mut builder = MockImds::builder()
        .config(config)
        .epoch(tokio::time::Instant::now())
        .clock(clock.clock().clone())
        .schedule(schedule.clone());
    if container.is_some() {
        builder = builder.container(mock_imds::ContainerConfig::default());
    }
    let mock = builder
        .start()
        .await
        .map_err(|e| ExecError::Mock(e.to_string()))?;
    if let Some(surface) = container {
        let env = mock.container_env(surface).ok_or_else(|| {
            ExecError::Mock(format!(
                "the container endpoints cannot serve {surface:?} on loopback"
            ))
        })?;
        cmd.envs(env);
    }
    cmd.env(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("{}/", mock.endpoint()),
    )
    .env("AWS_ENDPOINT_URL_STS", mock.sts_endpoint());
    if !passthrough.region_from_imds {
        cmd.env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_REGION", "us-east-1");
    }
    let mut child = cmd.spawn().map_err(|error| ExecError::Spawn {
        program: program.clone(),
        error,
    })?;
    let started = tokio::time::Instant::now();
    let deadline = notice_within.map(|within| {
        let notice_step = schedule
            .steps()
            .iter()
            .find(|s| s.change.notice.is_some())
            .map_or(Duration::ZERO, |s| s.at);
        started + notice_step + within + Duration::from_secs(1)
    });
    let waited = match deadline {
        None => Ok(child.wait().await),
        Some(deadline) => tokio::select! {
            status = child.wait() => Ok(status),
            () = tokio::time::sleep_until(deadline) => Err(()),
        },
    };
    let (status, stopped_at_deadline) = match waited {
        Ok(status) => (status, false),
        Err(()) => {
            let _ = child.start_kill();
            (child.wait().await, true)
        }
    };
    let status = status.map_err(|error| ExecError::Wait {
        program: program.clone(),
        error,
    })?;
    let ran_for = started.elapsed();
    let events = mock.events();
    let notice = notice_within.map(|within| crate::handler::NoticeVerdict {
        within,
        seen: crate::handler::first_notice_seen(&events),
    });
    Ok(ExecReport {
        summary: Summary::of(&events),
        schedule,
        events,
        ran_for,
        code: status.code(),
        signal: killed_by(&status),
        notice,
        stopped_at_deadline,
    })
}

/// The signal that ended a process, if one did.
#[cfg(unix)]
fn killed_by(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn killed_by(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// The conventional name of a signal number on Linux (`SIGTERM` for 15), for messages;
/// `None` for one this table does not name (signal(7)).
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_into_set_and_clear() {
        let steps = parse_window("refuse 0s..5s").unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].change.to_string(), "refuse");
        assert_eq!(steps[1].at, Duration::from_secs(5));
        assert_eq!(steps[1].change.to_string(), "up on listener");
        let open = parse_window("status(403) on token 1s..").unwrap();
        assert_eq!(open.len(), 1);
        for (bad, why) in [
            ("refuse", "no time window"),
            ("refuse 0s-5s", "is not START..END"),
            ("refuse 5s..1s", "ends before it starts"),
            ("refuse 0s..soon", "is not a duration"),
            ("up 0s..1s", "name a fault"),
            ("refused 0s..1s", "invalid fault"),
        ] {
            let e = parse_window(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
