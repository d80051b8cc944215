//! `[[expect]] imds_requests = [...]`: the IMDS requests a cell made, in order.
//!
//! ```toml
//! [[expect]]
//! driver = "rust-sdk"
//! imds_requests = [
//!   { method = "PUT", path = "/latest/api/token" },
//!   { path = "/latest/meta-data/iam/security-credentials/*", token = true, count = 2 },
//! ]
//! ```
//!
//! The list describes *every* IMDS request the cell's log has, from the first to the
//! last, in arrival order: each entry matches `count` consecutive requests (default 1;
//! `count = 3` exactly three, `count = "1+"` one or more, `"0+"` any number). An entry
//! matches a request when each key it gives holds: `method` (`GET`, `PUT`, …), `path` (a
//! glob, `*` any characters, `/` included; the path without its query), `status` (the
//! status sent; `0` for none sent: blackholed, closed or reset), `token` (whether the
//! request carried `X-aws-ec2-metadata-token`), `token_ttl_seconds` (the
//! `X-aws-ec2-metadata-token-ttl-seconds` header as sent: a number for that exact value,
//! `"*"` for any value; the header must be there), `user_agent` (a glob on the
//! `User-Agent` header as sent, e.g. `"*aws-sdk-rust*"`; the header must be there). The
//! headers come from the mock's event log, which records them as the SDK sent them. An
//! empty list means "no IMDS request". A mismatch names the first request no entry could
//! take, and the entry expected there.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::diag::At;

/// The largest `count` (a cell makes at most this many IMDS requests worth listing).
pub const MAX_COUNT: u32 = 10_000;

/// One IMDS request as the verdict keeps it (from the mock's event log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// The path, without its query.
    pub path: String,
    /// The status sent; `None` when no answer was sent.
    pub status: Option<u16>,
    /// Whether the request carried `X-aws-ec2-metadata-token`.
    pub token: bool,
    /// The `X-aws-ec2-metadata-token-ttl-seconds` header as sent (seconds, unparsed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl_seconds: Option<String>,
    /// The `User-Agent` header as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl fmt::Display for SeenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → ", self.method, self.path)?;
        match self.status {
            Some(s) => write!(f, "{s}")?,
            None => f.write_str("no answer")?,
        }
        f.write_str(if self.token {
            " (token)"
        } else {
            " (no token)"
        })?;
        if let Some(ttl) = &self.token_ttl_seconds {
            write!(f, " ttl {ttl}")?;
        }
        Ok(())
    }
}

/// How many consecutive requests an entry takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many (at least 1).
    Exactly(u32),
    /// This many or more.
    AtLeast(u32),
}

impl Count {
    fn allows(self, n: usize) -> bool {
        match self {
            Count::Exactly(k) => n == k as usize,
            Count::AtLeast(k) => n >= k as usize,
        }
    }
}

/// One entry of an `imds_requests` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPattern {
    /// The method, upper case (any when `None`).
    pub method: Option<String>,
    /// A path glob.
    pub path: String,
    /// The status sent (`Some(None)`: no answer; any when `None`).
    pub status: Option<Option<u16>>,
    /// Whether the session token header is present (either when `None`).
    pub token: Option<bool>,
    /// A glob the token TTL header's value must match (`"*"`: present; any when `None`).
    pub token_ttl_seconds: Option<String>,
    /// A glob the `User-Agent` header must match (any when `None`).
    pub user_agent: Option<String>,
    /// How many consecutive requests it takes.
    pub count: Count,
}

/// Whether a header pattern holds: no pattern, or the header present and matching.
fn header_matches(pattern: Option<&String>, value: Option<&String>) -> bool {
    match (pattern, value) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(v)) => crate::glob::matches(p, v),
    }
}

impl RequestPattern {
    /// True when `r` is a request this entry describes.
    pub fn matches(&self, r: &SeenRequest) -> bool {
        self.method.as_ref().is_none_or(|m| *m == r.method)
            && crate::glob::matches(&self.path, &r.path)
            && self.status.is_none_or(|s| s == r.status)
            && self.token.is_none_or(|t| t == r.token)
            && header_matches(
                self.token_ttl_seconds.as_ref(),
                r.token_ttl_seconds.as_ref(),
            )
            && header_matches(self.user_agent.as_ref(), r.user_agent.as_ref())
    }

    /// True when the entry names one exact request shape (no glob, an exact count):
    /// two such lists that differ cannot both hold.
    fn exact(&self) -> bool {
        !self.path.contains('*') && matches!(self.count, Count::Exactly(_))
    }
}

impl fmt::Display for RequestPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_deref().unwrap_or("*"), self.path)?;
        if let Some(s) = self.status {
            match s {
                Some(s) => write!(f, " → {s}")?,
                None => f.write_str(" → no answer")?,
            }
        }
        if let Some(t) = self.token {
            f.write_str(if t { " (token)" } else { " (no token)" })?;
        }
        if let Some(ttl) = &self.token_ttl_seconds {
            write!(f, " ttl {ttl}")?;
        }
        if let Some(ua) = &self.user_agent {
            write!(f, " user-agent {ua:?}")?;
        }
        match self.count {
            Count::Exactly(1) => Ok(()),
            Count::Exactly(n) => write!(f, " ×{n}"),
            Count::AtLeast(n) => write!(f, " ×{n}+"),
        }
    }
}

/// The `imds_requests` list of one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestSequence(pub Vec<RequestPattern>);

impl fmt::Display for RequestSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no IMDS request");
        }
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "IMDS requests [{}]", parts.join(", "))
    }
}

impl RequestSequence {
    /// Why `seen` is not this sequence (`None` when it is).
    pub fn mismatch(&self, seen: &[SeenRequest]) -> Option<String> {
        let n = self.0.len();
        let m = seen.len();
        // reach[i][j]: the first i entries take exactly the first j requests.
        let mut reach = vec![vec![false; m + 1]; n + 1];
        reach[0][0] = true;
        for i in 0..n {
            let entry = &self.0[i];
            for j in 0..=m {
                if !reach[i][j] {
                    continue;
                }
                // Entry i takes requests j..k (k - j of them, all matching).
                let mut k = j;
                loop {
                    if entry.count.allows(k - j) {
                        reach[i + 1][k] = true;
                    }
                    if k == m || !entry.matches(&seen[k]) {
                        break;
                    }
                    if let Count::Exactly(c) = entry.count {
                        if k - j >= c as usize {
                            break;
                        }
                    }
                    k += 1;
                }
            }
        }
        if reach[n][m] {
            return None;
        }
        // The furthest request some prefix of the entries accounts for, and the last
        // entry that got there: the next request (or the end) is what broke it.
        let (i, j) = (0..=m)
            .rev()
            .find_map(|j| (0..=n).rev().find(|i| reach[*i][j]).map(|i| (i, j)))
            .unwrap_or((0, 0));
        let total = format!("{m} IMDS request(s)");
        let Some(entry) = self.0.get(i) else {
            return Some(match seen.get(j) {
                Some(request) => format!(
                    "expected {self}; saw {total}: request {} `{request}` comes after the last entry",
                    j + 1
                ),
                None => format!("expected {self}; saw {total}"),
            });
        };
        let run = seen[j..].iter().take_while(|r| entry.matches(r)).count();
        let after = match seen.get(j + run) {
            Some(request) => format!("request {} `{request}`", j + run + 1),
            None => "the end of the requests".to_string(),
        };
        Some(if run == 0 {
            match seen.get(j) {
                Some(_) => format!(
                    "expected {self}; saw {total}: {after} is not entry {} `{entry}`",
                    i + 1
                ),
                None => format!(
                    "expected {self}; saw {total}: they ended where entry {} `{entry}` was expected",
                    i + 1
                ),
            }
        } else {
            format!(
                "expected {self}; saw {total}: entry {} `{entry}` matched {run} request(s) from request {}, then came {after}",
                i + 1,
                j + 1
            )
        })
    }

    /// Whether this and `other` cannot both hold: both name exact requests only and
    /// differ.
    pub fn contradicts(&self, other: &Self) -> bool {
        self.0.iter().all(RequestPattern::exact)
            && other.0.iter().all(RequestPattern::exact)
            && self != other
    }
}

/// One entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequestPattern {
    method: Option<String>,
    path: String,
    status: Option<u16>,
    token: Option<bool>,
    token_ttl_seconds: Option<RawTtl>,
    user_agent: Option<String>,
    count: Option<RawCount>,
}

/// `token_ttl_seconds` as written: an exact number of seconds or a glob.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawTtl {
    Seconds(i64),
    Glob(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawCount {
    Exactly(i64),
    Text(String),
}

/// What is wrong with an `imds_requests` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestPatternError {
    /// `method` is not an HTTP method in upper case.
    #[error("imds_requests entry {entry}: `method` must be an HTTP method in upper case (GET, PUT, …), not {value:?}")]
    Method {
        /// 1-based.
        entry: usize,
        /// As written.
        value: String,
    },
    /// `path` does not start with `/`.
    #[error("imds_requests entry {entry}: `path` must be a path glob starting with `/` (e.g. \"/latest/meta-data/iam/*\"), not {value:?}")]
    Path {
        /// 1-based.
        entry: usize,
        /// As written.
        value: String,
    },
    /// `status` outside 100..=599 (and not 0).
    #[error("imds_requests entry {entry}: `status` must be a status in 100..=599, or 0 for no answer sent, not {value}")]
    Status {
        /// 1-based.
        entry: usize,
        /// As written.
        value: u16,
    },
    /// `token_ttl_seconds` not a number of seconds (0..=21600, what EC2 accepts is
    /// 1..=21600; an SDK may send anything) or a non-empty glob.
    #[error("imds_requests entry {entry}: `token_ttl_seconds` must be a number of seconds (0..=86400) or a glob such as \"*\" (any value, header present), not {value}")]
    TokenTtl {
        /// 1-based.
        entry: usize,
        /// As written.
        value: String,
    },
    /// `user_agent` is empty.
    #[error("imds_requests entry {entry}: `user_agent` must be a non-empty glob on the User-Agent header (e.g. \"*aws-sdk-rust*\")")]
    UserAgent {
        /// 1-based.
        entry: usize,
    },
    /// `count` not N (1..=10000) or "N+".
    #[error("imds_requests entry {entry}: `count` must be a whole number in 1..=10000 or \"N+\" (N or more, e.g. \"1+\", \"0+\"), not {value}")]
    Count {
        /// 1-based.
        entry: usize,
        /// As written.
        value: String,
    },
}

/// Reads an `imds_requests` list.
///
/// # Errors
/// The first entry with a bad value, at the list.
pub(super) fn read(
    raw: &toml::Spanned<Vec<RawRequestPattern>>,
) -> Result<RequestSequence, At<RequestPatternError>> {
    let at = |e| At::new(raw.span(), e);
    let mut out = Vec::new();
    for (i, r) in raw.get_ref().iter().enumerate() {
        let entry = i + 1;
        if let Some(m) = &r.method {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at(RequestPatternError::Method {
                    entry,
                    value: m.clone(),
                }));
            }
        }
        if !r.path.starts_with('/') {
            return Err(at(RequestPatternError::Path {
                entry,
                value: r.path.clone(),
            }));
        }
        let status = match r.status {
            None => None,
            Some(0) => Some(None),
            Some(s) if (100..=599).contains(&s) => Some(Some(s)),
            Some(s) => return Err(at(RequestPatternError::Status { entry, value: s })),
        };
        let bad_count = |value: String| at(RequestPatternError::Count { entry, value });
        let count = match &r.count {
            None => Count::Exactly(1),
            Some(RawCount::Exactly(n)) => match u32::try_from(*n) {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => Count::Exactly(n),
                _ => return Err(bad_count(n.to_string())),
            },
            Some(RawCount::Text(t)) => match t.strip_suffix('+').map(str::parse::<u32>) {
                Some(Ok(n)) if n <= MAX_COUNT => Count::AtLeast(n),
                _ => return Err(bad_count(format!("{t:?}"))),
            },
        };
        let token_ttl_seconds = match &r.token_ttl_seconds {
            None => None,
            Some(RawTtl::Seconds(n)) if (0..=86_400).contains(n) => Some(n.to_string()),
            Some(RawTtl::Glob(g)) if !g.is_empty() => Some(g.clone()),
            Some(RawTtl::Seconds(n)) => {
                return Err(at(RequestPatternError::TokenTtl {
                    entry,
                    value: n.to_string(),
                }))
            }
            Some(RawTtl::Glob(g)) => {
                return Err(at(RequestPatternError::TokenTtl {
                    entry,
                    value: format!("{g:?}"),
                }))
            }
        };
        if r.user_agent.as_deref() == Some("") {
            return Err(at(RequestPatternError::UserAgent { entry }));
        }
        out.push(RequestPattern {
            method: r.method.clone(),
            path: r.path.clone(),
            status,
            token: r.token,
            token_ttl_seconds,
            user_agent: r.user_agent.clone(),
            count,
        });
    }
    Ok(RequestSequence(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, status: u16, token: bool) -> SeenRequest {
        SeenRequest {
            method: method.into(),
            path: path.into(),
            status: Some(status),
            token,
            token_ttl_seconds: None,
            user_agent: None,
        }
    }

    fn seq(text: &str) -> RequestSequence {
        #[derive(Deserialize)]
        struct T {
            r: toml::Spanned<Vec<RawRequestPattern>>,
        }
        let t: T = toml::from_str(&format!("r = {text}")).unwrap();
        read(&t.r).unwrap()
    }

    fn imdsv2() -> Vec<SeenRequest> {
        vec![
            req("PUT", "/latest/api/token", 200, false),
            req(
                "GET",
                "/latest/meta-data/iam/security-credentials/",
                200,
                true,
            ),
            req(
                "GET",
                "/latest/meta-data/iam/security-credentials/mock-imds-role",
                200,
                true,
            ),
        ]
    }

    #[test]
    fn sequences_match_in_order_with_counts() {
        let s = seq(
            r#"[{ method = "PUT", path = "/latest/api/token" }, { path = "/latest/meta-data/iam/security-credentials/*", token = true, count = 2 }]"#,
        );
        assert_eq!(s.mismatch(&imdsv2()), None);
        assert_eq!(
            seq(r#"[{ path = "/latest/*", count = "1+" }]"#).mismatch(&imdsv2()),
            None
        );
        assert_eq!(
            seq(r#"[{ path = "/*", count = "0+" }, { path = "/latest/meta-data/iam/security-credentials/mock-imds-role" }]"#)
                .mismatch(&imdsv2()),
            None
        );
        assert_eq!(seq("[]").mismatch(&[]), None);
        // Order matters.
        let e = seq(r#"[{ method = "GET", path = "/latest/meta-data/*", count = 2 }, { method = "PUT", path = "/latest/api/token" }]"#)
            .mismatch(&imdsv2())
            .unwrap();
        assert!(
            e.ends_with("request 1 `PUT /latest/api/token → 200 (no token)` is not entry 1 `GET /latest/meta-data/* ×2`"),
            "{e}"
        );
        // Too few.
        let e = seq(r#"[{ path = "/*", count = 4 }]"#)
            .mismatch(&imdsv2())
            .unwrap();
        assert!(
            e.ends_with("saw 3 IMDS request(s): entry 1 `* /* ×4` matched 3 request(s) from request 1, then came the end of the requests"),
            "{e}"
        );
        // Too many.
        let e = seq(
            r#"[{ method = "PUT", path = "/latest/api/token" }, { path = "/latest/meta-data/*" }]"#,
        )
        .mismatch(&imdsv2())
        .unwrap();
        assert!(e.contains("request 3 `GET /latest/meta-data/iam/security-credentials/mock-imds-role → 200 (token)`"), "{e}");
        let e = seq(r#"[{ method = "PUT", path = "/latest/api/token" }, { path = "/nothing" }]"#)
            .mismatch(&imdsv2()[..1])
            .unwrap();
        assert!(
            e.ends_with("they ended where entry 2 `* /nothing` was expected"),
            "{e}"
        );
        // The token header and the status.
        let e = seq(r#"[{ path = "/*", token = true, count = 3 }]"#)
            .mismatch(&imdsv2())
            .unwrap();
        assert!(e.contains("request 1 `PUT /latest/api/token"), "{e}");
        assert!(seq(r#"[{ path = "/*", status = 200, count = 3 }]"#)
            .mismatch(&imdsv2())
            .is_none());
        let blackholed = [SeenRequest {
            status: None,
            ..req("PUT", "/latest/api/token", 0, false)
        }];
        assert!(seq(r#"[{ path = "/latest/api/token", status = 0 }]"#)
            .mismatch(&blackholed)
            .is_none());
        assert!(seq("[]").mismatch(&blackholed).unwrap().starts_with(
            "expected no IMDS request; saw 1 IMDS request(s): request 1 `PUT /latest/api/token → no answer (no token)` comes after the last entry"
        ));
    }

    #[test]
    fn headers_as_sent_are_matched() {
        let mut seen = imdsv2();
        seen[0].token_ttl_seconds = Some("21600".into());
        for r in &mut seen {
            r.user_agent = Some("aws-sdk-rust/1.3.9 os/linux ua/2.1".into());
        }
        let ok = [
            r#"[{ path = "/latest/api/token", token_ttl_seconds = 21600 }, { path = "/*", count = 2 }]"#,
            r#"[{ path = "/latest/api/token", token_ttl_seconds = "*" }, { path = "/*", count = 2 }]"#,
            r#"[{ path = "/*", user_agent = "aws-sdk-rust/*", count = 3 }]"#,
        ];
        for text in ok {
            assert_eq!(seq(text).mismatch(&seen), None, "{text}");
        }
        // A value other than the one sent, a header the GETs did not send, another agent.
        let e = seq(r#"[{ path = "/latest/api/token", token_ttl_seconds = 60 }, { path = "/*", count = 2 }]"#)
            .mismatch(&seen)
            .unwrap();
        assert!(
            e.ends_with("request 1 `PUT /latest/api/token → 200 (no token) ttl 21600` is not entry 1 `* /latest/api/token ttl 60`"),
            "{e}"
        );
        assert!(
            seq(r#"[{ path = "/*", token_ttl_seconds = "*", count = 3 }]"#)
                .mismatch(&seen)
                .is_some()
        );
        let e = seq(r#"[{ path = "/*", user_agent = "*botocore*", count = 3 }]"#)
            .mismatch(&seen)
            .unwrap();
        assert!(e.contains("user-agent \"*botocore*\""), "{e}");
        // No header at all: a pattern on it does not match.
        assert!(seq(r#"[{ path = "/*", user_agent = "*", count = 3 }]"#)
            .mismatch(&imdsv2())
            .is_some());
    }

    #[test]
    fn bad_entries_are_refused() {
        #[derive(Deserialize)]
        struct T {
            r: toml::Spanned<Vec<RawRequestPattern>>,
        }
        for (text, want) in [
            (
                r#"[{ method = "get", path = "/" }]"#,
                "`method` must be an HTTP method in upper case",
            ),
            (
                r#"[{ path = "latest/api/token" }]"#,
                "`path` must be a path glob starting with `/`",
            ),
            (
                r#"[{ path = "/", status = 42 }]"#,
                "`status` must be a status in 100..=599",
            ),
            (
                r#"[{ path = "/", count = 0 }]"#,
                "`count` must be a whole number in 1..=10000 or \"N+\"",
            ),
            (r#"[{ path = "/", count = "some" }]"#, "not \"some\""),
            (
                r#"[{ path = "/", token_ttl_seconds = -1 }]"#,
                "`token_ttl_seconds` must be a number of seconds",
            ),
            (
                r#"[{ path = "/", token_ttl_seconds = "" }]"#,
                "`token_ttl_seconds` must be a number of seconds",
            ),
            (
                r#"[{ path = "/", user_agent = "" }]"#,
                "`user_agent` must be a non-empty glob",
            ),
        ] {
            let t: T = toml::from_str(&format!("r = {text}")).unwrap();
            let e = read(&t.r).unwrap_err().error.to_string();
            assert!(
                e.starts_with("imds_requests entry 1: ") && e.contains(want),
                "{e}"
            );
        }
        let exact = seq(r#"[{ method = "PUT", path = "/latest/api/token" }]"#);
        assert!(exact.contradicts(&seq("[]")));
        assert!(!exact.contradicts(&exact.clone()));
        assert!(!exact.contradicts(&seq(r#"[{ path = "/*", count = "1+" }]"#)));
    }
}
