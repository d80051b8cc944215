//! What the fake instance looks like: identity values, instance profile, IMDS options.
//!
//! Defaults imitate a freshly launched Amazon Linux instance in `us-east-1` with an
//! instance profile attached. Option names follow EC2's `ModifyInstanceMetadataOptions`
//! (`HttpTokens`, `HttpEndpoint`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// EC2's `HttpTokens` instance metadata option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpTokens {
    /// IMDSv1 and IMDSv2 both work: a GET without a session token is served.
    #[default]
    Optional,
    /// IMDSv2 only: a GET without a session token gets `401 Unauthorized`.
    Required,
}

/// EC2's `HttpEndpoint` instance metadata option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpEndpoint {
    /// IMDS answers.
    #[default]
    Enabled,
    /// Every request gets `403 Forbidden`, which SDKs read as "IMDS is disabled".
    Disabled,
}

/// Identity values served under `meta-data/` and in the instance identity document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstanceIdentity {
    /// `meta-data/instance-id`, e.g. `i-0123456789abcdef0`.
    pub instance_id: String,
    /// `meta-data/instance-type`, e.g. `t3.micro`.
    pub instance_type: String,
    /// `meta-data/ami-id`.
    pub ami_id: String,
    /// `meta-data/placement/region`.
    pub region: String,
    /// `meta-data/placement/availability-zone`.
    pub availability_zone: String,
    /// The 12-digit account the instance (and its role) belongs to.
    pub account_id: String,
    /// `meta-data/local-ipv4`. A documentation address: nothing ever connects to it.
    pub local_ipv4: String,
    /// `meta-data/hostname` and `meta-data/local-hostname`.
    pub hostname: String,
}

impl Default for InstanceIdentity {
    fn default() -> Self {
        Self {
            instance_id: "i-0123456789abcdef0".into(),
            instance_type: "t3.micro".into(),
            ami_id: "ami-0abcdef1234567890".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            account_id: "123456789012".into(),
            local_ipv4: "192.0.2.10".into(),
            hostname: "ip-192-0-2-10.ec2.internal".into(),
        }
    }
}

/// Everything that shapes the fake IMDS apart from faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdsConfig {
    /// IMDSv1 allowed or not (EC2 `HttpTokens`).
    pub http_tokens: HttpTokens,
    /// IMDS switched on or off (EC2 `HttpEndpoint`).
    pub http_endpoint: HttpEndpoint,
    /// Identity values.
    pub identity: InstanceIdentity,
    /// The instance profile's role name; `None` serves no `iam/` folder at all, like an
    /// instance launched without an instance profile.
    pub role_name: Option<String>,
    /// Lifetime of each issued set of role credentials. EC2 hands out about 6 h.
    pub credential_lifetime: Duration,
    /// A new set of credentials is issued once the current one has less than this left.
    /// EC2 makes new credentials available at least 5 minutes before the old ones expire.
    pub rotate_before_expiry: Duration,
    /// `/latest/user-data`; `None` answers 404 there, as EC2 does when none is set.
    pub user_data: Option<String>,
}

impl Default for ImdsConfig {
    fn default() -> Self {
        Self {
            http_tokens: HttpTokens::default(),
            http_endpoint: HttpEndpoint::default(),
            identity: InstanceIdentity::default(),
            role_name: Some("mock-imds-role".into()),
            credential_lifetime: Duration::from_secs(6 * 3600),
            rotate_before_expiry: Duration::from_secs(5 * 60),
            user_data: None,
        }
    }
}
