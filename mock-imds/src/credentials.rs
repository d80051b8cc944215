//! The credential store: issues role credentials, rotates them before they expire, and
//! remembers every key it ever issued so the fake STS can check signatures against it.
//!
//! Access key ids are `ASIA` (AWS's prefix for temporary keys) followed by `MOCK`, so a
//! key from this store is recognisable at a glance and never mistaken for a real one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;

/// Prefix of every access key id this store issues.
pub const ACCESS_KEY_PREFIX: &str = "ASIAMOCK";

/// One set of role credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIAMOCK` + 12 characters of `A-Z2-7` (20 characters, like a real key id).
    pub access_key_id: String,
    /// 40 characters.
    pub secret_access_key: String,
    /// The session token clients must send as `X-Amz-Security-Token`.
    pub session_token: String,
    /// The role the credentials belong to.
    pub role_name: String,
    /// When they were issued (the document's `LastUpdated`).
    pub issued_at: DateTime<Utc>,
    /// When they stop working (the document's `Expiration`; STS answers `ExpiredToken`
    /// after it).
    pub expiration: DateTime<Utc>,
}

impl IssuedCredentials {
    /// The role credentials document exactly as EC2 serves it at
    /// `meta-data/iam/security-credentials/<role>` (JSON, `" : "` separators, times in
    /// second precision with `Z`).
    pub fn to_document(&self) -> String {
        let q = crate::ec2_http::json_string;
        format!(
            "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : {},\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : {},\n  \"SecretAccessKey\" : {},\n  \"Token\" : {},\n  \"Expiration\" : {}\n}}",
            q(&ec2_time(self.issued_at)),
            q(&self.access_key_id),
            q(&self.secret_access_key),
            q(&self.session_token),
            q(&ec2_time(self.expiration)),
        )
    }

    /// The document of `security-credentials-extended/<role>`: the same fields plus
    /// `AccountId`.
    pub fn to_extended_document(&self, account_id: &str) -> String {
        let mut doc = self.to_document();
        doc.truncate(doc.len() - 2); // "\n}"
        let account = serde_json::to_string(account_id).unwrap_or_else(|_| "\"\"".into());
        doc.push_str(&format!(",\n  \"AccountId\" : {account}\n}}"));
        doc
    }

    /// True when the credentials have expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expiration
    }
}

/// A role credentials document as a request path names it: the role's store, and
/// whether the path serves the extended document (which adds `AccountId`).
#[derive(Debug, Clone, Copy)]
pub struct RoleDocument<'a> {
    /// The role's credential store.
    pub store: &'a CredentialStore,
    /// `Some(account id)` for `security-credentials-extended/<role>`.
    pub extended_account: Option<&'a str>,
}

impl RoleDocument<'_> {
    /// The document of the credentials served at `now`, as this path serves it (rendered
    /// once per set).
    pub fn current(&self, now: DateTime<Utc>) -> Bytes {
        self.store.current_document(now, self.extended_account)
    }

    /// The document for `creds`, as this path serves it.
    pub fn render(&self, creds: &IssuedCredentials) -> String {
        match self.extended_account {
            Some(account) => creds.to_extended_document(account),
            None => creds.to_document(),
        }
    }
}

/// The credentials error document EC2 serves (status 200) when it cannot provide role
/// credentials, e.g. `AssumeRoleUnauthorizedAccess`, stamped `now`.
pub fn error_document(code: &str, role: &str, now: DateTime<Utc>) -> String {
    let q = crate::ec2_http::json_string;
    format!(
        "{{\n  \"Code\" : {},\n  \"Message\" : {},\n  \"LastUpdated\" : {}\n}}",
        q(code),
        q(&format!(
            "EC2 cannot assume the role {role}. Please see documentation at https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html#troubleshoot_roles_ec2-cannot-assume-role"
        )),
        q(&ec2_time(now)),
    )
}

/// Formats a time as EC2 does in metadata documents: `2026-11-29T13:07:28Z`.
pub fn ec2_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Default)]
struct Inner {
    current: Option<Arc<IssuedCredentials>>,
    expired: Option<Arc<IssuedCredentials>>,
    by_key: HashMap<String, Arc<IssuedCredentials>>,
    /// The current set's documents, rendered once (a document is the same bytes until the
    /// set rotates): the plain one, and the extended one with its account id.
    rendered: Option<Rendered>,
}

#[derive(Debug)]
struct Rendered {
    creds: Arc<IssuedCredentials>,
    plain: Option<Bytes>,
    extended: Option<(String, Bytes)>,
}

/// Issues and remembers role credentials. Share it with `Arc`.
///
/// Every time it is asked for is the mock's virtual wall clock ([`crate::clock::Clock`]):
/// a set is replaced at its rotation instant (`rotate_before_expiry` before it expires,
/// EC2: "new credentials at least five minutes before the expiration of the old"), and a
/// clock that jumped past that instant gets a set issued *at* the instant (the last one
/// EC2 would have issued by then), not at the time of the request.
#[derive(Debug)]
pub struct CredentialStore {
    role_name: String,
    lifetime: Duration,
    rotate_before_expiry: Duration,
    inner: Mutex<Inner>,
    /// Where rotations are logged (`credentials-rotated`), when set.
    events: Option<crate::events::EventLog>,
}

impl CredentialStore {
    /// A store for `role_name` whose credentials live `lifetime` and are replaced once
    /// less than `rotate_before_expiry` is left.
    pub fn new(
        role_name: impl Into<String>,
        lifetime: Duration,
        rotate_before_expiry: Duration,
    ) -> Self {
        Self {
            role_name: role_name.into(),
            lifetime,
            rotate_before_expiry,
            inner: Mutex::default(),
            events: None,
        }
    }

    /// Logs every rotation (scheduled or forced) to `events` as `credentials-rotated`.
    pub fn with_events(mut self, events: crate::events::EventLog) -> Self {
        self.events = Some(events);
        self
    }

    /// Replaces the current set now (at `now`), whatever is left of it, as
    /// `mock-imds ctl rotate` does; the old set stays valid until it expires.
    pub fn rotate(&self, now: DateTime<Utc>) -> Arc<IssuedCredentials> {
        self.rotate_for(now, None)
    }

    /// [`Self::rotate`] for a schedule step at `step` (logged with it as `asked_at`).
    pub(crate) fn rotate_for(
        &self,
        now: DateTime<Utc>,
        step: Option<std::time::Duration>,
    ) -> Arc<IssuedCredentials> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.install(&mut inner, self.mint(now), Some(step))
    }

    /// Makes `fresh` the current set, and logs the rotation when it replaces one or was
    /// asked for (`forced`: `Some(the schedule step's time, if a step asked)`).
    fn install(
        &self,
        inner: &mut Inner,
        fresh: IssuedCredentials,
        forced: Option<Option<std::time::Duration>>,
    ) -> Arc<IssuedCredentials> {
        let fresh = Arc::new(fresh);
        inner
            .by_key
            .insert(fresh.access_key_id.clone(), fresh.clone());
        let replaced = inner.current.replace(fresh.clone());
        if let (Some(events), true) = (&self.events, forced.is_some() || replaced.is_some()) {
            let step = forced.flatten();
            events.record(crate::events::EventKind::CredentialsRotated {
                access_key_id: fresh.access_key_id.clone(),
                issued_at: ec2_time(fresh.issued_at),
                expiration: ec2_time(fresh.expiration),
                forced: forced.is_some(),
                asked_at: step.unwrap_or_else(|| events.now()),
                scheduled: step.is_some(),
            });
        }
        fresh
    }

    /// When the set `current` is replaced: `rotate_before_expiry` before it expires.
    fn rotation_instant(&self, current: &IssuedCredentials) -> DateTime<Utc> {
        let before =
            chrono::Duration::from_std(self.rotate_before_expiry).unwrap_or(chrono::Duration::MAX);
        current
            .expiration
            .checked_sub_signed(before)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The role these credentials are for.
    pub fn role_name(&self) -> &str {
        &self.role_name
    }

    /// The credentials IMDS serves at `now`: the current set, or a new one when there is
    /// none yet or the current one is within `rotate_before_expiry` of expiring.
    pub fn current(&self, now: DateTime<Utc>) -> Arc<IssuedCredentials> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.current_in(&mut inner, now)
    }

    /// The document of the credentials served at `now` ([`Self::current`]), plain or, with
    /// `extended_account`, extended: rendered once per set and then shared.
    pub fn current_document(&self, now: DateTime<Utc>, extended_account: Option<&str>) -> Bytes {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let creds = self.current_in(&mut inner, now);
        let rendered = match &mut inner.rendered {
            Some(r) if Arc::ptr_eq(&r.creds, &creds) => r,
            slot => slot.insert(Rendered {
                creds: creds.clone(),
                plain: None,
                extended: None,
            }),
        };
        match extended_account {
            None => rendered
                .plain
                .get_or_insert_with(|| Bytes::from(creds.to_document()))
                .clone(),
            Some(account) => match &rendered.extended {
                Some((a, doc)) if a == account => doc.clone(),
                _ => {
                    let doc = Bytes::from(creds.to_extended_document(account));
                    rendered.extended = Some((account.to_string(), doc.clone()));
                    doc
                }
            },
        }
    }

    fn current_in(&self, inner: &mut Inner, now: DateTime<Utc>) -> Arc<IssuedCredentials> {
        let Some(current) = &inner.current else {
            let first = self.mint(now);
            return self.install(inner, first, None);
        };
        let rotation = self.rotation_instant(current);
        if now < rotation {
            return current.clone();
        }
        // The last set EC2 would have issued by `now`: one per period (lifetime less
        // `rotate_before_expiry`) from the rotation instant on; sets nobody asked for in
        // between are skipped.
        let period_ms = i64::try_from(
            self.lifetime
                .saturating_sub(self.rotate_before_expiry)
                .as_millis(),
        )
        .unwrap_or(i64::MAX);
        let issued = if period_ms > 0 {
            let periods = (now - rotation).num_milliseconds() / period_ms;
            rotation
                .checked_add_signed(chrono::Duration::milliseconds(
                    periods.saturating_mul(period_ms),
                ))
                .filter(|t| *t <= now)
                .unwrap_or(now)
        } else {
            now
        };
        let fresh = self.mint(issued);
        self.install(inner, fresh, None)
    }

    /// A set of credentials that expired a minute before `now` (issued one lifetime
    /// before that), for the `expired-credentials` fault. Remembered like any other set,
    /// so STS recognises the key and answers `ExpiredToken`; reused while it stays expired.
    pub fn expired(&self, now: DateTime<Utc>) -> Arc<IssuedCredentials> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(expired) = &inner.expired {
            if expired.is_expired(now) {
                return expired.clone();
            }
        }
        let lifetime = chrono::Duration::from_std(self.lifetime).unwrap_or(chrono::Duration::MAX);
        let expiration = now - chrono::Duration::minutes(1);
        let mut creds = self.mint(
            expiration
                .checked_sub_signed(lifetime)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        );
        creds.expiration = expiration;
        let creds = Arc::new(creds);
        inner
            .by_key
            .insert(creds.access_key_id.clone(), creds.clone());
        inner.expired = Some(creds.clone());
        creds
    }

    /// Looks up credentials this store issued, current or not.
    pub fn lookup(&self, access_key_id: &str) -> Option<Arc<IssuedCredentials>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.by_key.get(access_key_id).cloned()
    }

    /// Number of distinct credential sets issued so far.
    pub fn issued_count(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_key
            .len()
    }

    fn mint(&self, now: DateTime<Utc>) -> IssuedCredentials {
        mint(&self.role_name, now, self.lifetime)
    }
}

/// A fresh set of credentials for `role_name`, issued at `issued_at` and living
/// `lifetime`: an `ASIAMOCK` key id, a 40-character secret and a session token shaped
/// like real STS/EC2 tokens (`IQoJb3JpZ2luX2Vj…`). Used for instance credentials and for
/// the sessions the fake STS issues on `AssumeRole`.
pub(crate) fn mint(
    role_name: &str,
    issued_at: DateTime<Utc>,
    lifetime: Duration,
) -> IssuedCredentials {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let suffix: String = (0..12)
        .map(|_| BASE32[rng.random_range(0..BASE32.len())] as char)
        .collect();
    let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
    IssuedCredentials {
        access_key_id: format!("{ACCESS_KEY_PREFIX}{suffix}"),
        secret_access_key: Alphanumeric.sample_string(&mut rng, 40),
        session_token: format!(
            "IQoJb3JpZ2luX2VjEMOCK{}",
            Alphanumeric.sample_string(&mut rng, 300)
        ),
        role_name: role_name.to_string(),
        issued_at,
        expiration: issued_at
            .checked_add_signed(lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn document_has_ec2_fields_and_format() {
        let store = CredentialStore::new(
            "web",
            Duration::from_secs(6 * 3600),
            Duration::from_secs(300),
        );
        let creds = store.current(t("2026-11-29T12:00:00Z"));
        let doc = creds.to_document();
        let parsed: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(parsed["Code"], "Success");
        assert_eq!(parsed["Type"], "AWS-HMAC");
        assert_eq!(parsed["LastUpdated"], "2026-11-29T12:00:00Z");
        assert_eq!(parsed["Expiration"], "2026-11-29T18:00:00Z");
        assert_eq!(parsed["AccessKeyId"], creds.access_key_id.as_str());
        assert_eq!(parsed["SecretAccessKey"], creds.secret_access_key.as_str());
        assert_eq!(parsed["Token"], creds.session_token.as_str());
        assert!(
            doc.contains("\"Code\" : \"Success\""),
            "EC2 separators: {doc}"
        );
        assert_eq!(creds.access_key_id.len(), 20);
        let extended: serde_json::Value =
            serde_json::from_str(&creds.to_extended_document("123456789012")).unwrap();
        assert_eq!(extended["AccountId"], "123456789012");
        assert_eq!(extended["AccessKeyId"], parsed["AccessKeyId"]);
        assert!(creds.access_key_id.starts_with("ASIAMOCK"));
    }

    #[test]
    fn documents_are_rendered_once_per_set() {
        let store =
            CredentialStore::new("web", Duration::from_secs(3600), Duration::from_secs(300));
        let now = t("2026-11-29T12:00:00Z");
        let doc = store.current_document(now, None);
        assert_eq!(doc, store.current(now).to_document().as_bytes());
        assert_eq!(
            doc.as_ptr(),
            store.current_document(now, None).as_ptr(),
            "shared"
        );
        let extended = store.current_document(now, Some("123456789012"));
        assert_eq!(
            extended,
            store
                .current(now)
                .to_extended_document("123456789012")
                .as_bytes()
        );
        let rotated = store.current_document(t("2026-11-29T12:55:00Z"), None);
        assert_ne!(rotated, doc);
        assert_eq!(
            rotated,
            store
                .current(t("2026-11-29T12:55:00Z"))
                .to_document()
                .as_bytes()
        );
    }

    #[test]
    fn rotates_before_expiry_and_remembers_old_keys() {
        let store =
            CredentialStore::new("web", Duration::from_secs(3600), Duration::from_secs(300));
        let first = store.current(t("2026-11-29T12:00:00Z"));
        let same = store.current(t("2026-11-29T12:54:59Z"));
        assert_eq!(first.access_key_id, same.access_key_id);
        let rotated = store.current(t("2026-11-29T12:55:00Z"));
        assert_ne!(first.access_key_id, rotated.access_key_id);
        assert_eq!(store.lookup(&first.access_key_id).as_deref(), Some(&*first));
        assert_eq!(store.issued_count(), 2);
        assert!(store.lookup("ASIAMOCKUNKNOWN00000").is_none());
        assert!(first.is_expired(t("2026-11-29T13:00:00Z")));
        assert!(!first.is_expired(t("2026-11-29T12:59:59Z")));
    }

    #[test]
    fn rotation_follows_the_clock_and_issues_at_the_rotation_instant() {
        let events = crate::events::EventLog::new(tokio::time::Instant::now());
        let store = CredentialStore::new(
            "web",
            Duration::from_secs(6 * 3600),
            Duration::from_secs(300),
        )
        .with_events(events.clone());
        let first = store.current(t("2026-11-29T12:00:00Z"));
        // 8 minutes left: inside SDK refresh windows, but EC2 has not rotated yet.
        assert_eq!(store.current(t("2026-11-29T17:52:00Z")), first);
        assert!(events.snapshot().is_empty(), "the first set is no rotation");
        // A jump past the rotation instant (17:55): the set EC2 issued then.
        let second = store.current(t("2026-11-29T17:58:00Z"));
        assert_ne!(second.access_key_id, first.access_key_id);
        assert_eq!(second.issued_at, t("2026-11-29T17:55:00Z"));
        assert_eq!(second.expiration, t("2026-11-29T23:55:00Z"));
        // A day later: sets every 5 h 55 min from 23:50; the last one by 12:00 is 11:40.
        let later = store.current(t("2026-11-30T12:00:00Z"));
        assert_eq!(later.issued_at, t("2026-11-30T11:40:00Z"));
        assert_eq!(store.issued_count(), 3);
        let forced = store.rotate(t("2026-11-30T12:00:00Z"));
        assert_eq!(forced.issued_at, t("2026-11-30T12:00:00Z"));
        assert_eq!(store.current(t("2026-11-30T12:00:01Z")), forced);
        let rotations: Vec<(String, bool)> = events
            .snapshot()
            .into_iter()
            .filter_map(|e| match e.kind {
                crate::events::EventKind::CredentialsRotated {
                    access_key_id,
                    forced,
                    ..
                } => Some((access_key_id, forced)),
                _ => None,
            })
            .collect();
        assert_eq!(
            rotations,
            vec![
                (second.access_key_id.clone(), false),
                (later.access_key_id.clone(), false),
                (forced.access_key_id.clone(), true)
            ]
        );
    }

    #[test]
    fn expired_credentials_are_expired_and_remembered() {
        let store =
            CredentialStore::new("web", Duration::from_secs(3600), Duration::from_secs(300));
        let now = t("2026-11-29T12:00:00Z");
        let old = store.expired(now);
        assert!(old.is_expired(now));
        assert_eq!(old.expiration, t("2026-11-29T11:59:00Z"));
        assert_eq!(store.lookup(&old.access_key_id).as_deref(), Some(&*old));
        assert_eq!(store.expired(now).access_key_id, old.access_key_id);
    }
}
