//! Child-process drivers: a sanitised environment and a JSON-lines conversation.
//!
//! Every child starts with an empty environment plus only: `PATH`, `LANG`, a temporary
//! `HOME`, `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` pointing at empty files in
//! it, and `NO_PROXY=*`. No `AWS_*` variable, proxy or profile of the user's reaches it,
//! so a real credential on the machine can never be used. The child leads its own process
//! group, and the whole group is killed when the driver is dropped.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::api::DriverError;
use super::kind::DriverKind;

/// Keep at most this much of a child's stderr (bytes, the end).
const STDERR_KEEP: usize = 8 * 1024;

/// Builds a command with the sanitised environment described above, `home` as `HOME`.
///
/// # Errors
/// I/O errors creating the empty AWS config files.
pub fn sanitized_command(program: &Path, home: &Path) -> std::io::Result<Command> {
    let aws_dir = home.join(".aws");
    std::fs::create_dir_all(&aws_dir)?;
    let config = aws_dir.join("config");
    let credentials = aws_dir.join("credentials");
    std::fs::write(&config, "")?;
    std::fs::write(&credentials, "")?;
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("LANG", "C.UTF-8")
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    Ok(cmd)
}

/// Longest line a child may print, in bytes (1 MiB; a protocol answer is well under
/// 1 KiB). A child printing more without a newline is broken, not buffered forever.
pub const MAX_LINE: usize = 1024 * 1024;

/// After a child's output ends: how long to wait for it to exit and for its stderr to
/// reach end of file (a grandchild may hold it open), wall-clock.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// A running child speaking one JSON object per line each way. The child leads its own
/// process group; dropping this kills the whole group (grandchildren too) with SIGKILL.
#[derive(Debug)]
pub struct JsonLinesChild {
    driver: DriverKind,
    child: Child,
    /// The child's process group (its pid), for killing grandchildren too.
    group: Option<u32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    /// The task collecting stderr; it ends at stderr's end of file.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for JsonLinesChild {
    fn drop(&mut self) {
        self.kill_group();
        if let Some(reader) = self.stderr_reader.take() {
            reader.abort();
        }
    }
}

impl JsonLinesChild {
    /// Spawns `cmd`; `driver` names it in errors.
    ///
    /// # Errors
    /// [`DriverError::Start`] when it cannot be spawned.
    pub fn spawn(driver: DriverKind, mut cmd: Command) -> Result<Self, DriverError> {
        let mut child = cmd.spawn().map_err(|e| DriverError::Start {
            driver: driver.clone(),
            message: e.to_string(),
        })?;
        // `sanitized_command` makes the child a process-group leader.
        let group = child.id();
        let (Some(stdin), Some(stdout), Some(mut stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(DriverError::Start {
                driver,
                message: "child has no stdio pipes".into(),
            });
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
                kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                if kept.len() > STDERR_KEEP {
                    let cut = kept.ceil_char_boundary(kept.len() - STDERR_KEEP);
                    kept.drain(..cut);
                }
            }
        });
        Ok(Self {
            driver,
            child,
            group,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
            stderr_reader: Some(stderr_reader),
        })
    }

    /// SIGKILL to the child's whole process group (the child itself and anything it
    /// started), and to the child directly in case it left the group.
    fn kill_group(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group.and_then(|g| libc::pid_t::try_from(g).ok()) {
            // SAFETY: killpg has no memory-safety preconditions; the group is the one
            // `sanitized_command` created for this child (its pid cannot be reused while
            // the group has members).
            unsafe {
                libc::killpg(group, libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }

    fn broken(&self, message: String) -> DriverError {
        DriverError::Broken {
            driver: self.driver.clone(),
            message,
            stderr: self
                .stderr
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Reads the next line as JSON, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`DriverError::Broken`] on timeout (the child is killed), end of output, a line
    /// longer than [`MAX_LINE`] or a line that is not JSON.
    pub async fn read(&mut self, timeout: Duration) -> Result<Value, DriverError> {
        let mut line = Vec::new();
        let limit = MAX_LINE as u64 + 1;
        let mut bounded = (&mut self.stdout).take(limit);
        let read = bounded.read_until(b'\n', &mut line);
        let outcome = tokio::time::timeout(timeout, read).await;
        drop(bounded);
        match outcome {
            Err(_) => {
                let message = format!("no answer within {}", humantime::format_duration(timeout));
                return Err(self.stop(message).await);
            }
            Ok(Err(e)) => return Err(self.broken(format!("reading its output: {e}"))),
            Ok(Ok(0)) => {
                // The child's output ended: wait (bounded) for it to exit and for its
                // stderr to end, so the message carries the whole traceback.
                let how = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                    Ok(Ok(s)) => format!("exited ({s})"),
                    _ => "closed its output".to_string(),
                };
                self.drain_stderr().await;
                return Err(self.broken(how));
            }
            Ok(Ok(_)) if line.len() > MAX_LINE => {
                let message = format!(
                    "printed a line longer than {MAX_LINE} bytes (the protocol is one JSON object per line)"
                );
                return Err(self.stop(message).await);
            }
            Ok(Ok(_)) => {}
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        match serde_json::from_str(text.trim_end()) {
            Ok(value) => Ok(value),
            Err(e) => {
                let shown: String = text.chars().take(200).collect();
                Err(self
                    .stop(format!("printed a line that is not JSON ({e}): {shown}"))
                    .await)
            }
        }
    }

    /// Kills the child, waits (bounded) until its stderr has been read to the end, and
    /// returns the error with that stderr: what it printed before breaking the protocol
    /// is part of the message however the reader task and the child were scheduled.
    async fn stop(&mut self, message: String) -> DriverError {
        self.kill_group();
        self.drain_stderr().await;
        self.broken(message)
    }

    /// Waits (at most [`EXIT_GRACE`]) until the stderr reader has read to the end, once:
    /// the handle is taken, so a second call is a no-op rather than a poll of a finished
    /// task; a reader still blocked (a grandchild holding the pipe) is aborted.
    async fn drain_stderr(&mut self) {
        if let Some(mut reader) = self.stderr_reader.take() {
            if tokio::time::timeout(EXIT_GRACE, &mut reader).await.is_err() {
                reader.abort();
            }
        }
    }

    /// Sends `request` and reads one answer line within `timeout`.
    ///
    /// # Errors
    /// [`DriverError::Broken`] as for [`Self::read`], or when the child's input is closed.
    pub async fn request(
        &mut self,
        request: &Value,
        timeout: Duration,
    ) -> Result<Value, DriverError> {
        let mut line = request.to_string();
        line.push('\n');
        if let Err(e) = self.stdin.write_all(line.as_bytes()).await {
            return Err(self.broken(format!("writing to it: {e}")));
        }
        if let Err(e) = self.stdin.flush().await {
            return Err(self.broken(format!("writing to it: {e}")));
        }
        self.read(timeout).await
    }
}
