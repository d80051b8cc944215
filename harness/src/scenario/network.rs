//! `[network]` → [`NetworkSettings`]: where a cell's mocks and driver meet.

use serde::Deserialize;

/// `[network]`: where the cell runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSettings {
    /// `mode = "loopback"` (default) or `"link-local"`.
    #[serde(default)]
    pub mode: NetworkMode,
}

/// Where a cell's mocks listen and its driver runs.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// The harness's own network: the mocks on loopback (`127.0.0.1`, free ports; a
    /// `127.0.0.N:80` of the cell's own for an SDK that ignores the port).
    #[default]
    Loopback,
    /// A network namespace the harness makes for the cell (Linux, root): IMDS on
    /// `169.254.169.254:80`, an `[endpoint]` container surface on its agent's address
    /// (ECS `169.254.170.2:80`, which `uri = "relative"` needs; Pod Identity
    /// `169.254.170.23:80`), every address of [`crate::netns::LINK_LOCAL_BINDINGS`] on its
    /// `lo`, the driver and the mocks inside it (see [`crate::netns`]).
    LinkLocal,
}

impl NetworkSettings {
    /// Whether the cell runs in a namespace of its own.
    pub fn is_link_local(&self) -> bool {
        self.mode == NetworkMode::LinkLocal
    }
}
