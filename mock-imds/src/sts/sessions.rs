//! The role sessions the fake STS issued on `AssumeRole`: their credentials (checked like
//! the instance's when they sign a request) and the identity `GetCallerIdentity` answers
//! for them.
//!
//! Shapes follow the STS API reference (`AssumedRoleUser`): the session's ARN is
//! `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME` (the role's path
//! dropped) and its id `ROLE-ID:SESSION-NAME`, where the role id is `AROA` and 17 more
//! characters, stable per role ARN (here `AROAMOCK` and 13 characters derived from it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::assume_role::{AssumeRoleRequest, RoleArn};
use crate::credentials::{mint, IssuedCredentials};

/// One role session issued by `AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedSession {
    /// The session's credentials; `role_name` is the assumed role's name, `expiration` is
    /// `DurationSeconds` after the request on the mock's virtual clock.
    pub credentials: Arc<IssuedCredentials>,
    /// The role ARN as requested.
    pub role_arn: String,
    /// The `RoleSessionName` the caller gave.
    pub session_name: String,
    /// The account the role belongs to (from its ARN).
    pub account_id: String,
    /// `AssumedRoleUser.Arn`: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `AssumedRoleUser.AssumedRoleId`: `AROA…:SESSION`.
    pub assumed_role_id: String,
    /// The access key that signed the `AssumeRole` (the instance's or a session's).
    pub source_access_key_id: String,
}

/// Every session issued so far, by access key id (expired ones stay, so STS can answer
/// `ExpiredToken` for them).
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<String, Arc<AssumedSession>>,
    in_order: Vec<Arc<AssumedSession>>,
}

impl SessionStore {
    /// Issues a session for `req` on `role` at `now`, signed for by `source_access_key_id`.
    pub(crate) fn issue(
        &self,
        req: &AssumeRoleRequest,
        role: &RoleArn<'_>,
        source_access_key_id: &str,
        now: DateTime<Utc>,
    ) -> Arc<AssumedSession> {
        let credentials = Arc::new(mint(
            role.role_name,
            now,
            Duration::from_secs(u64::from(req.duration_seconds)),
        ));
        let session = Arc::new(AssumedSession {
            arn: format!(
                "arn:{}:sts::{}:assumed-role/{}/{}",
                role.partition, role.account_id, role.role_name, req.session_name
            ),
            assumed_role_id: format!("{}:{}", role_id(&req.role_arn), req.session_name),
            credentials,
            role_arn: req.role_arn.clone(),
            session_name: req.session_name.clone(),
            account_id: role.account_id.to_string(),
            source_access_key_id: source_access_key_id.to_string(),
        });
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .by_key
            .insert(session.credentials.access_key_id.clone(), session.clone());
        inner.in_order.push(session.clone());
        session
    }

    /// The session whose credentials have this access key id.
    pub(crate) fn lookup(&self, access_key_id: &str) -> Option<Arc<AssumedSession>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.by_key.get(access_key_id).cloned()
    }

    /// Every session issued, oldest first.
    pub(crate) fn all(&self) -> Vec<Arc<AssumedSession>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.in_order.clone()
    }
}

/// The role's unique id: `AROAMOCK` and 13 characters of `A-Z2-7` from an FNV-1a hash of
/// its ARN (21 characters, like a real role id; the same ARN always gets the same id).
fn role_id(role_arn: &str) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in role_arn.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let suffix: String = (0..13)
        .map(|i| BASE32[((hash >> (i * 5 % 60)) & 31) as usize] as char)
        .collect();
    format!("AROAMOCK{suffix}")
}

#[cfg(test)]
mod tests {
    use super::super::assume_role::role_arn;
    use super::*;

    #[test]
    fn issues_sessions_with_sts_shapes_on_the_given_clock() {
        let store = SessionStore::default();
        let arn = "arn:aws:iam::210987654321:role/team/chained";
        let req = AssumeRoleRequest {
            role_arn: arn.into(),
            session_name: "s-1".into(),
            duration_seconds: 900,
        };
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        let s = store.issue(&req, &role_arn(arn).unwrap(), "ASIAMOCKSOURCE000000", now);
        assert_eq!(s.arn, "arn:aws:sts::210987654321:assumed-role/chained/s-1");
        let (id, name) = s.assumed_role_id.split_once(':').unwrap();
        assert_eq!(name, "s-1");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert_eq!(id, role_id(arn), "stable per role");
        assert_ne!(id, role_id("arn:aws:iam::210987654321:role/other"));
        assert_eq!(
            s.credentials.expiration,
            "2026-12-02T12:15:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(s.credentials.role_name, "chained");
        assert_eq!(s.account_id, "210987654321");
        assert_eq!(store.lookup(&s.credentials.access_key_id), Some(s.clone()));
        assert!(store.lookup("ASIAMOCKSOURCE000000").is_none());
        let t = store.issue(
            &req,
            &role_arn(arn).unwrap(),
            &s.credentials.access_key_id,
            now,
        );
        assert_ne!(t.credentials.access_key_id, s.credentials.access_key_id);
        assert_eq!(store.all(), vec![s, t]);
    }
}
