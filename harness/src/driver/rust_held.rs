//! The credentials the Rust SDK's client holds: [`Recording`] wraps the client's
//! credentials provider and keeps the last [`Credentials`] it returned. The client's
//! lazy identity cache stores exactly what its provider returns and signs with it until
//! its expiry, so the last set returned is the set the SDK holds (with the expiry
//! `ImdsCredentialsProvider`'s static stability may have extended, and the account id
//! from the extended IMDS document, `Credentials::account_id()`).

use std::sync::{Arc, Mutex};

use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;

use super::api::{rfc3339_ms, HeldCredentials};

/// A credentials provider that remembers what its inner provider last returned.
#[derive(Debug, Clone)]
pub struct Recording<P> {
    inner: P,
    last: Arc<Mutex<Option<Credentials>>>,
}

impl<P> Recording<P> {
    /// Wraps `inner`; [`Self::handle`] reads what it returns.
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            last: Arc::default(),
        }
    }

    /// A handle on the last credentials returned, kept by the driver.
    pub fn handle(&self) -> Held {
        Held(self.last.clone())
    }
}

impl<P: ProvideCredentials> ProvideCredentials for Recording<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let result = self.inner.provide_credentials().await;
            if let Ok(creds) = &result {
                *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(creds.clone());
            }
            result
        })
    }
}

/// The last credentials a [`Recording`] provider returned.
#[derive(Debug, Clone, Default)]
pub struct Held(Arc<Mutex<Option<Credentials>>>);

impl Held {
    /// The access key and [`HeldCredentials`] of the last set returned (`None` before
    /// any).
    pub fn read(&self) -> Option<(String, HeldCredentials)> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let creds = guard.as_ref()?;
        Some((
            creds.access_key_id().to_string(),
            HeldCredentials {
                expiration: creds
                    .expiry()
                    .map(|t| rfc3339_ms(chrono::DateTime::<chrono::Utc>::from(t))),
                account_id: creds.account_id().map(|a| a.as_str().to_string()),
                issued_expiration: None,
            },
        ))
    }
}
