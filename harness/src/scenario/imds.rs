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
    /// The instance profile's role name (default `mock-imds-role`), as `serve --config`'s
    /// `role_name`.
    pub role_name: Option<String>,
    /// No instance profile at all (`no_role = true`): no `iam/` folder.
    pub no_role: bool,
    /// Serve `iam/security-credentials-extended/` (credentials plus `AccountId`), as
    /// `serve --config`'s `extended_credentials`.
    pub extended_credentials: bool,
    /// What the token answer's TTL header says: `"echo"` (default), `"absent"` or
    /// seconds (see [`mock_imds::TokenTtlHeader`]).
    pub token_ttl_header: mock_imds::TokenTtlHeader,
}

impl From<RawImds> for ImdsSettings {
    fn from(raw: RawImds) -> Self {
        Self {
            http_tokens: raw.http_tokens,
            credential_lifetime: raw.credential_lifetime.map(|d| d.0),
            rotate_before_expiry: raw.rotate_before_expiry.map(|d| d.0),
            role_name: raw.role_name,
            no_role: raw.no_role,
            extended_credentials: raw.extended_credentials,
            token_ttl_header: raw.token_ttl_header,
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
            role_name: if self.no_role {
                None
            } else {
                self.role_name.clone().or(defaults.role_name.clone())
            },
            extended_credentials: self.extended_credentials,
            token_ttl_header: self.token_ttl_header,
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const MATRIX: &str = "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"once\"]\n[strategy.once]\nkind = \"call-retry\"\nattempts = 1\ninterval = \"1s\"\n";

    fn config(imds: &str) -> Result<mock_imds::ImdsConfig, String> {
        let text = format!("description = \"x\"\n[imds]\n{imds}\n{MATRIX}");
        crate::scenario::parse(Path::new("s/x.toml"), &text)
            .map(|s| s.imds.config())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn role_name_extended_credentials_and_the_ttl_header_reach_the_mock_config() {
        let c = config(
            "role_name = \"web-app\"\nextended_credentials = true\ntoken_ttl_header = \"absent\"",
        )
        .unwrap();
        assert_eq!(c.role_name.as_deref(), Some("web-app"));
        assert!(c.extended_credentials);
        assert_eq!(c.token_ttl_header, mock_imds::TokenTtlHeader::Absent);
        let c = config("token_ttl_header = 600\nno_role = true").unwrap();
        assert_eq!(c.token_ttl_header, mock_imds::TokenTtlHeader::Seconds(600));
        assert_eq!(c.role_name, None);
        let c = config("").unwrap();
        assert_eq!(c, mock_imds::ImdsConfig::default());
    }

    #[test]
    fn bad_values_are_refused_at_their_line_and_column() {
        let e = config("role_name = \"a/b\"").unwrap_err();
        assert!(e.starts_with("s/x.toml:3:13"), "{e}");
        assert!(e.contains("not an IAM role name"), "{e}");
        let e = config("token_ttl_header = \"never\"").unwrap_err();
        assert!(e.starts_with("s/x.toml:3:20"), "{e}");
        assert!(e.contains("\"echo\", \"absent\" or a whole number"), "{e}");
    }
}
