//! The `rust-sdk` driver: the AWS SDK for Rust in this process.
//!
//! Each client is an `aws_sdk_sts::Client` whose only credentials provider is
//! `ImdsCredentialsProvider` pointed at the mock (wrapped, as by default, in the lazy
//! identity cache), with the region set explicitly so that nothing asks IMDS for it, and a
//! plain-HTTP connector of its own. Nothing is read from the environment or profile files
//! except what `ImdsCredentialsProvider` itself reads (`AWS_EC2_METADATA_DISABLED`); the
//! `imds-harness` binary removes `AWS_*` variables from its own environment at start-up.
//!
//! With `credential_chain = "default"` the client is aws-config's default chain instead
//! (see [`RustSdkDriver`]'s `build_default_chain_client`), reading a profile file of the
//! cell's own.

use std::error::Error as StdError;

use async_trait::async_trait;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::config::Region;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::api::{CallOutcome, ClientOutcome, Driver, DriverError, Endpoints};
use super::kind::DriverKind;

/// The in-process Rust SDK driver.
#[derive(Debug, Default)]
pub struct RustSdkDriver {
    endpoints: Option<Endpoints>,
    client: Option<aws_sdk_sts::Client>,
    /// The cell's own profile files (`credential_chain = "default"`).
    profile_dir: Option<tempfile::TempDir>,
    /// The credentials the current client's provider last returned.
    held: super::rust_held::Held,
    /// What the SDK logged during this driver's calls.
    log: super::rust_log::Sink,
}

impl RustSdkDriver {
    /// A driver with no client yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn time_source(endpoints: &Endpoints) -> CellTime {
        let settings = endpoints.settings.rust_sdk();
        CellTime {
            clock: endpoints.clock.clone(),
            extra: mock_imds::SignedDuration::from_secs(settings.clock_offset_s.map_or(0, |s| s.0)),
        }
    }

    /// `credential_chain = "default"`: the client as `aws_config::defaults` builds it
    /// (default credentials chain, default region chain unless the harness gives the
    /// region), reading only the cell's profile files in `dir`: `[default]` with the
    /// mock's IMDS endpoint (`ec2_metadata_service_endpoint`), the STS endpoint
    /// (`endpoint_url`) and the scenario's `profile` settings; an empty credentials
    /// file. The rest of the chain reads this process's environment, from which the
    /// binary removed every `AWS_*` variable at start-up.
    async fn build_default_chain_client(
        endpoints: &Endpoints,
        dir: &std::path::Path,
    ) -> Result<(aws_sdk_sts::Client, super::rust_held::Held), String> {
        #[allow(deprecated)]
        use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
        let config = dir.join("config");
        let credentials = dir.join("credentials");
        let text = endpoints.passthrough.config_file(&[
            ("ec2_metadata_service_endpoint", endpoints.imds.as_str()),
            ("endpoint_url", endpoints.sts.as_str()),
        ]);
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        std::fs::write(&credentials, "").map_err(|e| format!("{}: {e}", credentials.display()))?;
        #[allow(deprecated)]
        let files = ProfileFiles::builder()
            .with_file(ProfileFileKind::Config, &config)
            .with_file(ProfileFileKind::Credentials, &credentials)
            .build();
        let http = aws_smithy_http_client::Builder::new().build_http();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .profile_files(files)
            .profile_name("default")
            .http_client(http)
            .time_source(Self::time_source(endpoints))
            .endpoint_url(&endpoints.sts);
        if !endpoints.passthrough.region_from_imds {
            loader = loader.region(Region::new(endpoints.region.clone()));
        }
        let sdk_config = loader.load().await;
        let mut config = aws_sdk_sts::config::Builder::from(&sdk_config);
        let Some(chain) = sdk_config.credentials_provider() else {
            return Ok((
                aws_sdk_sts::Client::from_conf(config.build()),
                Default::default(),
            ));
        };
        let recording = super::rust_held::Recording::new(chain);
        let held = recording.handle();
        config.set_credentials_provider(Some(
            aws_credential_types::provider::SharedCredentialsProvider::new(recording),
        ));
        Ok((aws_sdk_sts::Client::from_conf(config.build()), held))
    }

    fn build_client(
        endpoints: &Endpoints,
    ) -> Result<(aws_sdk_sts::Client, super::rust_held::Held), String> {
        let settings = endpoints.settings.rust_sdk();
        let time_source = Self::time_source(endpoints);
        let http = aws_smithy_http_client::Builder::new().build_http();
        let provider_config = ProviderConfig::without_region()
            .with_http_client(http.clone())
            .with_time_source(time_source.clone());
        let mut imds = aws_config::imds::Client::builder()
            .configure(&provider_config)
            .endpoint(&endpoints.imds)
            .map_err(|e| format!("bad IMDS endpoint {}: {e}", endpoints.imds))?;
        if let Some(ms) = settings.imds_connect_timeout_ms {
            imds = imds.connect_timeout(std::time::Duration::from_millis(ms.0));
        }
        if let Some(ms) = settings.imds_read_timeout_ms {
            imds = imds.read_timeout(std::time::Duration::from_millis(ms.0));
        }
        if let Some(n) = settings.imds_max_attempts {
            imds = imds.max_attempts(n.0 as u32);
        }
        let imds = imds.build();
        let credentials = ImdsCredentialsProvider::builder()
            .configure(&provider_config)
            .imds_client(imds)
            .build();
        let credentials = super::rust_held::Recording::new(credentials);
        let held = credentials.handle();
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(endpoints.region.clone()))
            .endpoint_url(&endpoints.sts)
            .credentials_provider(credentials)
            .http_client(http)
            .time_source(time_source.clone())
            .build();
        Ok((aws_sdk_sts::Client::from_conf(config), held))
    }
}

/// The SDK's wall clock: the cell clock (which schedule steps jump), plus `extra`, the
/// driver's `clock_offset_s` (negative: behind). Signing (`X-Amz-Date`) and the identity
/// cache's expiry checks read it; sleeps and timeouts stay on real monotonic time.
#[derive(Debug, Clone)]
struct CellTime {
    clock: std::sync::Arc<mock_imds::Clock>,
    extra: mock_imds::SignedDuration,
}

impl aws_smithy_async::time::TimeSource for CellTime {
    fn now(&self) -> std::time::SystemTime {
        let now = std::time::SystemTime::now();
        let ms = self
            .clock
            .offset()
            .as_millis()
            .saturating_add(self.extra.as_millis());
        let offset = std::time::Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            now + offset
        } else {
            now - offset
        }
    }
}

/// The SDK's own name for a failed call: the credentials error variant when credential
/// resolution failed (`CredentialsNotLoaded`, `ProviderTimedOut`, …), the service's error
/// code for a service error (`InvalidClientTokenId`), else the `SdkError` variant.
pub fn error_kind<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = err {
        if let Some(code) = service.err().code() {
            return code.to_string();
        }
    }
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(creds) = e.downcast_ref::<CredentialsError>() {
            return match creds {
                CredentialsError::CredentialsNotLoaded(_) => "CredentialsNotLoaded",
                CredentialsError::ProviderTimedOut(_) => "ProviderTimedOut",
                CredentialsError::InvalidConfiguration(_) => "InvalidConfiguration",
                CredentialsError::ProviderError(_) => "ProviderError",
                CredentialsError::Unhandled(_) => "Unhandled",
                _ => "CredentialsError",
            }
            .to_string();
        }
        source = e.source();
    }
    match err {
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        SdkError::TimeoutError(_) => "TimeoutError",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ServiceError(_) => "ServiceError",
        _ => "SdkError",
    }
    .to_string()
}

/// The error and its sources joined with `: `.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[async_trait]
impl Driver for RustSdkDriver {
    fn sdk_version(&self) -> String {
        format!(
            "aws-sdk-sts {} (aws-config {})",
            sts_version(),
            config_version()
        )
    }

    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError> {
        self.endpoints = Some(endpoints.clone());
        Ok(())
    }

    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError> {
        let endpoints = self.endpoints.as_ref().ok_or_else(|| DriverError::Broken {
            driver: DriverKind::RustSdk,
            message: "new_client before configure".into(),
            stderr: String::new(),
        })?;
        // Building the client resolves nothing (the SDK resolves credentials per call);
        // it fails only on the harness's own input (an IMDS endpoint it cannot parse).
        let default_chain = endpoints.settings.rust_sdk().credential_chain
            == Some(super::settings::CredentialChain::Default);
        let built = if default_chain {
            if self.profile_dir.is_none() {
                self.profile_dir = Some(
                    tempfile::Builder::new()
                        .prefix("imds-harness-rust-profile-")
                        .tempdir()
                        .map_err(|e| DriverError::Broken {
                            driver: DriverKind::RustSdk,
                            message: format!("temporary profile folder: {e}"),
                            stderr: String::new(),
                        })?,
                );
            }
            let dir = self.profile_dir.as_ref().map(|d| d.path().to_path_buf());
            Self::build_default_chain_client(endpoints, &dir.unwrap_or_default()).await
        } else {
            Self::build_client(endpoints)
        };
        let (client, held) = built.map_err(|message| DriverError::Broken {
            driver: DriverKind::RustSdk,
            message,
            stderr: String::new(),
        })?;
        self.client = Some(client);
        self.held = held;
        Ok(ClientOutcome {
            credentials_resolved: None,
            error: None,
        })
    }

    async fn call(&mut self, call_id: &str) -> Result<CallOutcome, DriverError> {
        let Some(client) = &self.client else {
            return Err(DriverError::Broken {
                driver: DriverKind::RustSdk,
                message: "call before new_client".into(),
                stderr: String::new(),
            });
        };
        let id = call_id.to_string();
        let call = client
            .get_caller_identity()
            .customize()
            .mutate_request(move |req| {
                req.headers_mut()
                    .insert(mock_imds::sts::CALL_ID_HEADER, id.clone());
            });
        use tracing::Instrument;
        Ok(match call.send().instrument(self.log.span()).await {
            Ok(output) => {
                // The set the client's identity cache holds: the last its provider returned.
                let (key, held) = self.held.read().unzip();
                CallOutcome::Ok {
                    arn: output.arn().unwrap_or_default().to_string(),
                    access_key_id: key,
                    credentials: held,
                }
            }
            Err(err) => CallOutcome::Err {
                kind: error_kind(&err),
                message: error_chain(&err),
            },
        })
    }

    async fn drop_client(&mut self) -> Result<(), DriverError> {
        self.client = None;
        Ok(())
    }

    fn take_sdk_warnings(&mut self) -> Vec<super::api::SdkWarning> {
        self.log.take()
    }
}

fn sts_version() -> &'static str {
    env!("HARNESS_AWS_SDK_STS_VERSION")
}

fn config_version() -> &'static str {
    env!("HARNESS_AWS_CONFIG_VERSION")
}
