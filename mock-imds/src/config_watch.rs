//! Instance config files and their hot reload: read one (`.json` as an AEMM config,
//! anything else as mock-imds's TOML), and watch it for changes while serving.
//!
//! The watcher polls the file's content (every 250 ms in `serve`; no file-system
//! notification crate, so it works the same on every file system and with editors that
//! replace files). A change that reads is served from the next request on, through
//! [`crate::MockImds::reconfigure`]: open connections, the faults, the schedule, the
//! notices, tokens and credentials stay. A change that does not read is logged
//! (`config-reload` event with its `error`, and the report callback) and the config in
//! force stays. A file that cannot be read for a moment (an editor's rename) is not a
//! change.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::AbortOnDropHandle;

use crate::config::ImdsConfig;
use crate::events::EventKind;
use crate::switch::Switch;

/// Reads an instance config file: `*.json` as an AEMM config ([`crate::from_aemm_json`]),
/// anything else as TOML ([`ImdsConfig::from_toml`]). Returns the config and warnings
/// (AEMM keys mock-imds does not take; none for TOML).
///
/// # Errors
/// `FILE: why` (`FILE:LINE:COLUMN: why` for TOML).
pub fn read_config_file(path: &Path) -> Result<(ImdsConfig, Vec<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        crate::aemm::from_aemm_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        ImdsConfig::from_toml(&text)
            .map(|c| (c, Vec::new()))
            .map_err(|e| format!("{}:{e}", path.display()))
    }
}

/// A running config watcher; dropping it stops watching.
#[derive(Debug)]
pub struct ConfigWatch {
    _task: AbortOnDropHandle<()>,
}

/// What a reload came to: the warnings of a config now in force, or why the file was
/// not taken (the old config stays).
pub type ReloadOutcome<'a> = Result<&'a [String], &'a str>;

/// Watches `path` every `every`, on the mock's runtime; see the module docs. `adjust`
/// is applied to every config read (the command line's shortcuts); `report` hears every
/// reload.
pub(crate) fn spawn(
    switch: Arc<Switch>,
    path: PathBuf,
    every: Duration,
    adjust: impl Fn(&mut ImdsConfig) + Send + Sync + 'static,
    report: impl Fn(ReloadOutcome<'_>) + Send + Sync + 'static,
) -> ConfigWatch {
    // The content to compare with is read now, not when the task first runs, so a change
    // made right after this returns is one.
    let mut last = std::fs::read(&path).ok();
    let task = switch.clone().runtime_spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(now) = std::fs::read(&path) else {
                continue;
            };
            if last.as_ref() == Some(&now) {
                continue;
            }
            last = Some(now);
            let shown = path.display().to_string();
            match read_config_file(&path) {
                Ok((mut config, warnings)) => {
                    adjust(&mut config);
                    switch.instance().reconfigure(config);
                    switch.events().record(EventKind::ConfigReload {
                        path: shown,
                        error: None,
                    });
                    report(Ok(&warnings));
                }
                Err(why) => {
                    switch.events().record(EventKind::ConfigReload {
                        path: shown,
                        error: Some(why.clone()),
                    });
                    report(Err(&why));
                }
            }
        }
    });
    ConfigWatch {
        _task: AbortOnDropHandle::new(task),
    }
}
