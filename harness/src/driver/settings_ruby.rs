//! The AWS SDK for Ruby's settings (`ruby`), as `[driver.NAME]` tables set them: options
//! of `Aws::STS::Client.new` of the same names, which the driver
//! (`drivers/ruby_driver.rb`) passes on. aws-sdk-core 3.168.1 has no switch to refuse
//! IMDSv1, so `ruby` takes no `ec2_metadata_v1_disabled`.

use serde::{Deserialize, Serialize};

use super::settings::{Count, RetryMode, Seconds};

/// `Aws::STS::Client` options (aws-sdk-core 3.168.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubySettings {
    /// `instance_profile_credentials_retries`: IMDS retries per credential fetch
    /// (default 0 in the client's chain, `credential_provider_chain.rb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_credentials_retries: Option<Count>,
    /// `instance_profile_credentials_timeout`: IMDS open and read timeout, seconds
    /// (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_credentials_timeout: Option<Seconds>,
    /// `retry_limit`: API call retries in `legacy` retry mode (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_limit: Option<Count>,
    /// `retry_mode`: `legacy` (the default), `standard` or `adaptive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_mode: Option<RetryMode>,
    /// `max_attempts`: API call attempts in `standard` and `adaptive` modes (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<Count>,
    /// Seconds this driver's wall clock is ahead of the cell clock (negative: behind),
    /// through libfaketime (not an SDK option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<super::settings::SignedSeconds>,
}
