//! IMDSv2 session tokens.
//!
//! EC2: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` between 1 and
//! 21600 returns an opaque token valid for that many seconds; a GET carrying an unknown or
//! expired token in `X-aws-ec2-metadata-token` gets 401. A token is bound to nothing but
//! its TTL here (EC2 also binds it to the instance, which a single mock need not model).
//! Expiry is on the mock's virtual wall clock ([`crate::clock::Clock`]), so a clock jump
//! past a token's TTL expires it, as hours passing would.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};

/// Smallest TTL EC2 accepts, in seconds.
pub const MIN_TTL_SECONDS: u64 = 1;
/// Largest TTL EC2 accepts, in seconds (6 h).
pub const MAX_TTL_SECONDS: u64 = 21_600;

/// Why a TTL header value was refused (EC2 answers 400 for each).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    /// No `X-aws-ec2-metadata-token-ttl-seconds` header.
    #[error("missing X-aws-ec2-metadata-token-ttl-seconds header")]
    Missing,
    /// Not a whole number.
    #[error("X-aws-ec2-metadata-token-ttl-seconds is not a whole number")]
    NotANumber,
    /// Outside 1..=21600.
    #[error("X-aws-ec2-metadata-token-ttl-seconds must be between 1 and 21600")]
    OutOfRange,
}

/// Parses a TTL header value as EC2 does: a whole number of seconds in 1..=21600.
///
/// # Errors
/// [`TtlError`] for a missing, non-numeric or out-of-range value.
pub fn parse_ttl(value: Option<&[u8]>) -> Result<u64, TtlError> {
    let value = value.ok_or(TtlError::Missing)?;
    let text = std::str::from_utf8(value).map_err(|_| TtlError::NotANumber)?;
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TtlError::NotANumber);
    }
    let ttl: u64 = text.parse().map_err(|_| TtlError::OutOfRange)?;
    if (MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
        Ok(ttl)
    } else {
        Err(TtlError::OutOfRange)
    }
}

/// Issued tokens and their expiry times (virtual wall clock).
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl TokenStore {
    /// Issues a new random token valid for `ttl` from `now`.
    pub fn issue(&self, ttl: Duration, now: DateTime<Utc>) -> String {
        // EC2 tokens are 56 base64 characters starting with "AQAE"; the exact shape is
        // opaque to clients, so random alphanumerics of that length do.
        let token = format!("AQAE{}", Alphanumeric.sample_string(&mut rand::rng(), 52));
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, expiry| *expiry > now);
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        tokens.insert(
            token.clone(),
            now.checked_add_signed(ttl)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
        token
    }

    /// True when `token` was issued here and has not expired at `now`.
    pub fn is_valid(&self, token: &str, now: DateTime<Utc>) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.get(token).is_some_and(|expiry| *expiry > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds_follow_ec2() {
        assert_eq!(parse_ttl(Some(b"1")), Ok(1));
        assert_eq!(parse_ttl(Some(b"21600")), Ok(21600));
        assert_eq!(parse_ttl(Some(b"0")), Err(TtlError::OutOfRange));
        assert_eq!(parse_ttl(Some(b"21601")), Err(TtlError::OutOfRange));
        assert_eq!(
            parse_ttl(Some(b"99999999999999999999999")),
            Err(TtlError::OutOfRange)
        );
        assert_eq!(parse_ttl(Some(b"-5")), Err(TtlError::NotANumber));
        assert_eq!(parse_ttl(Some(b"6h")), Err(TtlError::NotANumber));
        assert_eq!(parse_ttl(Some(b"")), Err(TtlError::NotANumber));
        assert_eq!(parse_ttl(None), Err(TtlError::Missing));
    }

    #[test]
    fn tokens_expire_and_unknown_tokens_fail() {
        let store = TokenStore::default();
        let t0 = Utc::now();
        let token = store.issue(Duration::from_secs(2), t0);
        assert!(store.is_valid(&token, t0));
        assert!(store.is_valid(&token, t0 + Duration::from_millis(1999)));
        assert!(!store.is_valid(&token, t0 + Duration::from_secs(2)));
        assert!(!store.is_valid("AQAEnot-a-token", t0));
        let other = store.issue(Duration::from_secs(2), t0);
        assert_ne!(token, other);
    }
}
