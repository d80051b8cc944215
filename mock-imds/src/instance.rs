//! The fake instance as served right now: its config, the notices in force and the
//! metadata tree built from both. A notice or a reloaded config builds a new tree and
//! swaps it in whole, so a request (on a kept-alive connection too) sees either the old
//! instance or the new one, never half of each; the faults and the schedule are not
//! touched.

use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};

use crate::config::ImdsConfig;
use crate::metadata::MetadataTree;
use crate::notice::{Notice, NoticeBoard};

/// One consistent view: the config and the tree built from it and the notices.
#[derive(Debug)]
pub(crate) struct Served {
    /// The config in force.
    pub config: ImdsConfig,
    /// The tree built from `config` and the notices.
    pub tree: MetadataTree,
}

/// The instance: swapped whole on every notice or reload.
#[derive(Debug)]
pub(crate) struct Instance {
    current: RwLock<Arc<Served>>,
    /// The notices in force; its lock also serializes rebuilds.
    notices: Mutex<NoticeBoard>,
}

impl Instance {
    /// An instance with `config` and no notices.
    pub(crate) fn new(config: ImdsConfig) -> Self {
        let tree = MetadataTree::new(&config);
        Self {
            current: RwLock::new(Arc::new(Served { config, tree })),
            notices: Mutex::new(NoticeBoard::default()),
        }
    }

    /// What is served now.
    pub(crate) fn served(&self) -> Arc<Served> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn swap(&self, config: ImdsConfig, notices: &NoticeBoard) {
        let tree = MetadataTree::with_notices(&config, notices);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(Served { config, tree });
    }

    /// Puts `notice` in force at virtual time `now`; returns the notice's time (see
    /// [`NoticeBoard::post`]). Served from the next request on.
    pub(crate) fn post(&self, notice: &Notice, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut board = self.notices.lock().unwrap_or_else(|p| p.into_inner());
        let at = board.post(notice, now);
        self.swap(self.served().config.clone(), &board);
        at
    }

    /// Serves `config` from the next request on, with the notices in force.
    pub(crate) fn reconfigure(&self, config: ImdsConfig) {
        let board = self.notices.lock().unwrap_or_else(|p| p.into_inner());
        self.swap(config, &board);
    }
}
