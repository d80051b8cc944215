//! Fault targets: which requests a fault applies to.

/// Where a fault applies. Ordered most specific first: a request meets the faults of its
/// path targets, then `credentials`, then `token`, then `listener`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A path glob (`*` matches any characters, `/` included), e.g. `/latest/meta-data/iam/*`.
    Path(String),
    /// `…/meta-data/iam/security-credentials/` and everything below it (also the
    /// `security-credentials-extended` variant).
    Credentials,
    /// `PUT /latest/api/token`.
    Token,
    /// Everything on the IMDS listener, including the socket.
    Listener,
    /// Everything on the container credentials listener (the ECS agent's and the EKS Pod
    /// Identity agent's endpoints, see `crate::container`), its socket included. IMDS
    /// requests never meet it, and container requests meet only it.
    Container,
}

impl Target {
    /// True when a request for `path` is subject to this target.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Target::Listener => true,
            // Met only by the container listener's requests, which ask for it by name.
            Target::Container => false,
            Target::Token => path == "/latest/api/token",
            Target::Credentials => is_credentials_path(path),
            Target::Path(glob) => glob_match(glob.as_bytes(), path.as_bytes()),
        }
    }
}

/// True for the role listing and role credentials paths under any API version: the text
/// after the first `/meta-data/iam/` starts with `security-credentials`.
pub fn is_credentials_path(path: &str) -> bool {
    // A plain scan: paths are short, and a substring searcher's set-up cost more than the
    // search on every request.
    const IAM: &[u8] = b"/meta-data/iam/";
    let path = path.as_bytes();
    path.windows(IAM.len())
        .position(|w| w == IAM)
        .is_some_and(|at| path[at + IAM.len()..].starts_with(b"security-credentials"))
}

/// `*` matches any run of bytes (including `/`), `?` one byte; everything else itself.
pub(crate) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_their_paths() {
        assert!(Target::Token.matches("/latest/api/token"));
        assert!(!Target::Token.matches("/latest/meta-data/"));
        assert!(Target::Credentials.matches("/latest/meta-data/iam/security-credentials/"));
        assert!(Target::Credentials.matches("/2021-07-15/meta-data/iam/security-credentials/role"));
        assert!(
            Target::Credentials.matches("/latest/meta-data/iam/security-credentials-extended/role")
        );
        assert!(!Target::Credentials.matches("/latest/meta-data/iam/info"));
        assert!(!Target::Credentials.matches("/latest/meta-data/iam"));
        assert!(!Target::Credentials
            .matches("/x/meta-data/iam/info/meta-data/iam/security-credentials"));
        assert!(Target::Credentials.matches("/meta-data/iam/security-credentials"));
        let glob = Target::Path("/latest/meta-data/*/region".into());
        assert!(glob.matches("/latest/meta-data/placement/region"));
        assert!(!glob.matches("/latest/meta-data/placement/zone"));
    }
}
