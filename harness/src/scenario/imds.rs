//! `[imds]` → [`ImdsSettings`]: the mock's options a scenario may set.

use std::time::Duration;

use mock_imds::HttpTokens;
use serde::Deserialize;

use super::raw::RawImds;

/// IMDS options a scenario may set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(from = "RawImds")]
pub struct ImdsSettings {
    /// EC2 `HttpTokens`: `optional` (default) or `required`.
    pub http_tokens: HttpTokens,
    /// Lifetime of issued role credentials (default 6 h, as EC2). A short lifetime does
    /// NOT reach an SDK's refresh window: botocore (1.43.11,
    /// `InstanceMetadataFetcher._evaluate_expiration`) pushes the expiry of credentials
    /// that expire within about 15 minutes out again by 12-20 min (random), so the
    /// refresh never comes when expected. To reach it, keep EC2's lifetime and jump the
    /// cell clock into the window: `[[schedule]] clock = "+5h52m"` (8 minutes left).
    pub credential_lifetime: Option<Duration>,
    /// A new set is issued once the current one has less than this left (default 5 min).
    pub rotate_before_expiry: Option<Duration>,
}

impl From<RawImds> for ImdsSettings {
    fn from(raw: RawImds) -> Self {
        Self {
            http_tokens: raw.http_tokens,
            credential_lifetime: raw.credential_lifetime.map(|d| d.0),
            rotate_before_expiry: raw.rotate_before_expiry.map(|d| d.0),
        }
    }
}

impl ImdsSettings {
    /// The mock's config for these settings.
    pub fn config(&self) -> mock_imds::ImdsConfig {
        let defaults = mock_imds::ImdsConfig::default();
        mock_imds::ImdsConfig {
            http_tokens: self.http_tokens,
            credential_lifetime: self
                .credential_lifetime
                .unwrap_or(defaults.credential_lifetime),
            rotate_before_expiry: self
                .rotate_before_expiry
                .unwrap_or(defaults.rotate_before_expiry),
            ..defaults
        }
    }
}
