//! The credential files a container reads its authorization token from, written by the
//! mock: the ECS token file (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` beside the ECS
//! `FULL_URI`) and the EKS Pod Identity service-account token file, a JWT the kubelet
//! projects into the pod and rotates.
//!
//! Kubelet behaviour imitated (Kubernetes docs, "Service account token volume
//! projection"): the token has an `exp` claim (`expirationSeconds` after `iat`; EKS Pod
//! Identity projects it with 86 400 s), a new token is written before the old one
//! expires, atomically (the kubelet's atomic writer swaps a symlink; here a temporary
//! file is renamed over the old one), and the old token keeps working until its `exp`.
//! The mock accepts only tokens it wrote ([`TokenFiles::known`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};

/// Name of the Pod Identity token file in the token directory (EKS mounts it at
/// `/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token`).
pub const POD_IDENTITY_TOKEN_FILE: &str = "eks-pod-identity-token";
/// Name of the ECS authorization token file in the token directory.
pub const ECS_TOKEN_FILE: &str = "ecs-authorization-token";
/// The audience of an EKS Pod Identity token (`aud` claim).
pub const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

/// One service-account token the mock wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountToken {
    /// The JWT, `header.payload.signature` (base64url, no padding).
    pub jwt: String,
    /// Its `iat` claim (virtual wall clock).
    pub issued_at: DateTime<Utc>,
    /// Its `exp` claim: the Pod Identity endpoint answers "token is expired" after it.
    pub expires_at: DateTime<Utc>,
}

/// The token directory and every service-account token written to it.
#[derive(Debug)]
pub(crate) struct TokenFiles {
    dir: PathBuf,
    /// Removes the directory on drop when the mock made it.
    _owned: Option<tempfile::TempDir>,
    lifetime: Duration,
    issued: Mutex<Vec<ServiceAccountToken>>,
}

impl TokenFiles {
    /// Writes the ECS token file (`ecs_token`) and a first service-account token valid for
    /// `lifetime` from `now` into `dir` (a fresh temporary directory when `None`).
    pub(crate) fn create(
        dir: Option<&Path>,
        ecs_token: &str,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> std::io::Result<Self> {
        let (dir, owned) = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.to_path_buf(), None)
            }
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("mock-imds-container-")
                    .tempdir()?;
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        let this = Self {
            dir,
            _owned: owned,
            lifetime,
            issued: Mutex::new(Vec::new()),
        };
        write_atomically(&this.ecs_token_path(), ecs_token)?;
        this.rotate(now)?;
        Ok(this)
    }

    /// Path of the Pod Identity token file.
    pub(crate) fn pod_identity_token_path(&self) -> PathBuf {
        self.dir.join(POD_IDENTITY_TOKEN_FILE)
    }

    /// Path of the ECS authorization token file.
    pub(crate) fn ecs_token_path(&self) -> PathBuf {
        self.dir.join(ECS_TOKEN_FILE)
    }

    /// Writes a new service-account token (issued `now`, expiring one lifetime later) over
    /// the token file, atomically, as the kubelet does; the older ones stay accepted until
    /// their `exp`.
    ///
    /// # Errors
    /// The write or rename error.
    pub(crate) fn rotate(&self, now: DateTime<Utc>) -> std::io::Result<ServiceAccountToken> {
        let expires_at =
            now + chrono::Duration::from_std(self.lifetime).unwrap_or(chrono::Duration::days(1));
        let token = ServiceAccountToken {
            jwt: mint_jwt(now, expires_at),
            issued_at: now,
            expires_at,
        };
        write_atomically(&self.pod_identity_token_path(), &token.jwt)?;
        self.lock().push(token.clone());
        Ok(token)
    }

    /// The token the mock wrote whose JWT is `jwt`, if any.
    pub(crate) fn known(&self, jwt: &str) -> Option<ServiceAccountToken> {
        self.lock().iter().find(|t| t.jwt == jwt).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ServiceAccountToken>> {
        self.issued.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes `text` to a temporary file beside `path` and renames it over `path`, so a reader
/// sees the old content or the new, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A JWT shaped like a projected service-account token: RS256 header, the claims a
/// kubelet puts in (`aud`, `exp`, `iat`, `nbf`, `iss`, `sub`, `kubernetes.io`) and a
/// random signature (nothing verifies it: the mock recognises its own tokens by value).
fn mint_jwt(issued_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> String {
    let header = serde_json::json!({"alg": "RS256", "kid": "mock-imds"});
    let claims = serde_json::json!({
        "aud": [POD_IDENTITY_AUDIENCE],
        "exp": expires_at.timestamp(),
        "iat": issued_at.timestamp(),
        "nbf": issued_at.timestamp(),
        "iss": "https://oidc.eks.us-east-1.amazonaws.com/id/MOCKIMDS",
        "sub": "system:serviceaccount:default:mock-imds",
        "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "mock-imds"}},
    });
    let signature = Alphanumeric.sample_string(&mut rand::rng(), 64);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature),
    )
}

/// Why a JWT could not be read, worded as golang-jwt v5 words it (the Pod Identity agent
/// quotes it: `token is malformed: …`).
pub(crate) fn parse_exp(jwt: &str) -> Result<Option<i64>, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("token is malformed: token contains an invalid number of segments".into());
    }
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|e| format!("token is malformed: could not base64 decode {what}: {e}"))
    };
    let header = decode(parts[0], "header")?;
    serde_json::from_slice::<serde_json::Value>(&header)
        .map_err(|e| format!("token is malformed: could not JSON decode header: {e}"))?;
    let claims = decode(parts[1], "claim")?;
    let claims: serde_json::Value = serde_json::from_slice(&claims)
        .map_err(|e| format!("token is malformed: could not JSON decode claim: {e}"))?;
    match claims.get("exp") {
        None => Ok(None),
        Some(exp) => exp
            .as_f64()
            .map(|e| Some(e as i64))
            .ok_or_else(|| "token has invalid claims: exp is invalid".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_replaces_the_file_and_remembers_the_old_token() {
        let now = Utc::now();
        let files = TokenFiles::create(None, "ecs-token", Duration::from_secs(60), now).unwrap();
        let first = std::fs::read_to_string(files.pod_identity_token_path()).unwrap();
        assert_eq!(
            parse_exp(&first).unwrap(),
            Some((now + chrono::Duration::seconds(60)).timestamp())
        );
        let second = files.rotate(now + chrono::Duration::seconds(30)).unwrap();
        let on_disk = std::fs::read_to_string(files.pod_identity_token_path()).unwrap();
        assert_eq!(on_disk, second.jwt);
        assert_ne!(on_disk, first);
        assert!(
            files.known(&first).is_some(),
            "the old token is still known"
        );
        assert_eq!(
            std::fs::read_to_string(files.ecs_token_path()).unwrap(),
            "ecs-token"
        );
        assert!(parse_exp("abc")
            .unwrap_err()
            .contains("invalid number of segments"));
    }
}
