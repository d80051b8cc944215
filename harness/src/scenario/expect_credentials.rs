//! The `[[expect]]` keys about what the SDK itself reports, beyond what the mocks saw:
//! the credentials it held after each successful call (`expiry_extended`, `account_id`)
//! and what it logged (`sdk_warnings`). Read here at file:line:column, checked against
//! the [`Verdict`]'s `held_credentials` and `sdk_warnings`.

use super::diag::At;
use crate::verdict::Verdict;

/// `account_id` that is not an AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportedError {
    /// Not twelve digits.
    #[error("account_id `{0}` is not an AWS account id: 12 digits, e.g. \"123456789012\"")]
    AccountId(String),
    /// An empty `sdk_warnings` pattern.
    #[error("an sdk_warnings pattern is empty: write a glob over the SDK's message, e.g. \"*expiration extension*\" (`[]` for no warning at all)")]
    EmptyPattern,
}

/// Reads `account_id`: twelve ASCII digits.
///
/// # Errors
/// [`ReportedError::AccountId`] at the value.
pub fn read_account_id(text: &toml::Spanned<String>) -> Result<String, At<ReportedError>> {
    let id = text.get_ref();
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.clone())
    } else {
        Err(At::new(text.span(), ReportedError::AccountId(id.clone())))
    }
}

/// Reads `sdk_warnings`: globs (`*` any run, `?` one character, as
/// [`crate::glob::matches`]) over the SDK's messages.
///
/// # Errors
/// [`ReportedError::EmptyPattern`] at an empty pattern.
pub fn read_warnings(
    list: &toml::Spanned<Vec<toml::Spanned<String>>>,
) -> Result<Vec<String>, At<ReportedError>> {
    list.get_ref()
        .iter()
        .map(|p| {
            if p.get_ref().is_empty() {
                Err(At::new(p.span(), ReportedError::EmptyPattern))
            } else {
                Ok(p.get_ref().clone())
            }
        })
        .collect()
}

/// Why `expiry_extended = want` does not hold: `true` needs some successful call whose
/// credentials the SDK held with an expiry later than the one IMDS issued with them (an
/// extension: botocore's and JS v3's static stability, the Rust SDK's
/// `ImdsCredentialsProvider`); `false` needs every successful call to report its expiry,
/// none later than the issued one.
pub fn check_expiry_extended(want: bool, verdict: &Verdict) -> Option<String> {
    if verdict.held_credentials.is_empty() {
        return Some(format!(
            "expected expiry_extended = {want}, but no call succeeded"
        ));
    }
    let mut unknown = Vec::new();
    let mut extended = Vec::new();
    for c in &verdict.held_credentials {
        let Some(held) = &c.credentials else {
            unknown.push(format!("attempt {} reported no credentials", c.attempt));
            continue;
        };
        match (held.extended(), &held.expiration) {
            (Some(true), Some(e)) => extended.push(format!(
                "attempt {} held {e}, IMDS issued {}",
                c.attempt,
                held.issued_expiration.as_deref().unwrap_or("?")
            )),
            (Some(_), _) => {}
            (None, None) => unknown.push(format!("attempt {} reported no expiry", c.attempt)),
            (None, Some(_)) => unknown.push(format!(
                "attempt {}: the issued expiry is unknown (the driver reported no access key)",
                c.attempt
            )),
        }
    }
    match want {
        true if extended.is_empty() => Some(format!(
            "expected an SDK-extended expiry, but every successful call held the issued one{}",
            if unknown.is_empty() {
                String::new()
            } else {
                format!(" or an unknown one ({})", unknown.join("; "))
            }
        )),
        false if !extended.is_empty() => Some(format!(
            "expected the issued expiry throughout, but the SDK extended it ({})",
            extended.join("; ")
        )),
        false if !unknown.is_empty() => Some(format!(
            "expected the issued expiry throughout, but {}",
            unknown.join("; ")
        )),
        _ => None,
    }
}

/// Why `account_id = want` does not hold: every successful call must report that account
/// id (and one must have succeeded).
pub fn check_account_id(want: &str, verdict: &Verdict) -> Option<String> {
    if verdict.held_credentials.is_empty() {
        return Some(format!("expected account id {want}, but no call succeeded"));
    }
    let wrong: Vec<String> = verdict
        .held_credentials
        .iter()
        .filter_map(
            |c| match c.credentials.as_ref().and_then(|h| h.account_id.as_deref()) {
                Some(id) if id == want => None,
                Some(id) => Some(format!("attempt {} held {id}", c.attempt)),
                None => Some(format!("attempt {} held none", c.attempt)),
            },
        )
        .collect();
    (!wrong.is_empty()).then(|| {
        format!(
            "expected account id {want} on every successful call, but {}",
            wrong.join(", ")
        )
    })
}

/// Why `sdk_warnings = patterns` does not hold: every pattern must match a message the SDK
/// logged, and every message must match a pattern (`[]`: the SDK logged nothing).
pub fn check_warnings(patterns: &[String], verdict: &Verdict) -> Option<String> {
    let seen = &verdict.sdk_warnings;
    let missing: Vec<&str> = patterns
        .iter()
        .filter(|p| !seen.iter().any(|m| crate::glob::matches(p, m)))
        .map(String::as_str)
        .collect();
    let unmatched: Vec<&str> = seen
        .iter()
        .filter(|m| !patterns.iter().any(|p| crate::glob::matches(p, m)))
        .map(String::as_str)
        .collect();
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!(
            "no SDK warning matched {}",
            missing
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !unmatched.is_empty() {
        why.push(format!(
            "the SDK also logged {}",
            unmatched
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (!why.is_empty()).then(|| {
        format!(
            "expected the SDK warnings {}: {} ({} logged)",
            describe_warnings(patterns),
            why.join("; "),
            seen.len()
        )
    })
}

/// `sdk_warnings` in words: `none` or the patterns.
pub fn describe_warnings(patterns: &[String]) -> String {
    if patterns.is_empty() {
        "none".to_string()
    } else {
        format!(
            "[{}]",
            patterns
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::HeldCredentials;
    use crate::verdict::AttemptCredentials;

    const ISSUED: &str = "2026-12-02T22:00:00.000Z";

    fn held(attempt: u32, expiration: Option<&str>, account: Option<&str>) -> AttemptCredentials {
        AttemptCredentials {
            attempt,
            credentials: Some(HeldCredentials {
                expiration: expiration.map(str::to_string),
                account_id: account.map(str::to_string),
                issued_expiration: Some(ISSUED.to_string()),
            }),
        }
    }

    fn with(held_credentials: Vec<AttemptCredentials>) -> Verdict {
        Verdict {
            held_credentials,
            ..Verdict::default()
        }
    }

    #[test]
    fn expiry_extended_tells_the_issued_expiry_from_a_later_one() {
        let issued = with(vec![held(1, Some(ISSUED), None)]);
        let extended = with(vec![
            held(1, Some(ISSUED), None),
            held(2, Some("2026-12-02T22:12:31.000Z"), None),
        ]);
        assert_eq!(check_expiry_extended(false, &issued), None);
        assert_eq!(
            check_expiry_extended(true, &issued).unwrap(),
            "expected an SDK-extended expiry, but every successful call held the issued one"
        );
        assert_eq!(check_expiry_extended(true, &extended), None);
        assert_eq!(
            check_expiry_extended(false, &extended).unwrap(),
            "expected the issued expiry throughout, but the SDK extended it (attempt 2 held 2026-12-02T22:12:31.000Z, IMDS issued 2026-12-02T22:00:00.000Z)"
        );
        // Offsets compare as instants: 23:00+01:00 is the issued time.
        let offset = with(vec![held(1, Some("2026-12-02T23:00:00+01:00"), None)]);
        assert_eq!(check_expiry_extended(false, &offset), None);
    }

    #[test]
    fn expiry_extended_false_needs_a_reported_expiry() {
        let none = with(vec![held(3, None, Some("123456789012"))]);
        assert_eq!(
            check_expiry_extended(false, &none).unwrap(),
            "expected the issued expiry throughout, but attempt 3 reported no expiry"
        );
        let cli = with(vec![AttemptCredentials {
            attempt: 1,
            credentials: None,
        }]);
        assert!(check_expiry_extended(true, &cli)
            .unwrap()
            .ends_with("or an unknown one (attempt 1 reported no credentials)"));
        assert_eq!(
            check_expiry_extended(true, &Verdict::default()).unwrap(),
            "expected expiry_extended = true, but no call succeeded"
        );
    }

    #[test]
    fn account_id_must_be_on_every_successful_call() {
        let v = with(vec![
            held(1, None, Some("123456789012")),
            held(2, None, Some("123456789012")),
        ]);
        assert_eq!(check_account_id("123456789012", &v), None);
        assert_eq!(
            check_account_id("210987654321", &v).unwrap(),
            "expected account id 210987654321 on every successful call, but attempt 1 held 123456789012, attempt 2 held 123456789012"
        );
        let missing = with(vec![held(1, None, None)]);
        assert_eq!(
            check_account_id("123456789012", &missing).unwrap(),
            "expected account id 123456789012 on every successful call, but attempt 1 held none"
        );
    }

    #[test]
    fn sdk_warnings_match_both_ways() {
        let v = Verdict {
            sdk_warnings: vec![
                "Attempting credential expiration extension due to a credential service availability issue.".into(),
                "Attempting credential expiration extension due to a credential service availability issue.".into(),
            ],
            ..Verdict::default()
        };
        assert_eq!(check_warnings(&["*expiration extension*".into()], &v), None);
        assert_eq!(
            check_warnings(&[], &v).unwrap(),
            "expected the SDK warnings none: the SDK also logged \"Attempting credential expiration extension due to a credential service availability issue.\", \"Attempting credential expiration extension due to a credential service availability issue.\" (2 logged)"
        );
        assert_eq!(
            check_warnings(&["*IMDSv1*".into()], &Verdict::default()).unwrap(),
            "expected the SDK warnings [\"*IMDSv1*\"]: no SDK warning matched `*IMDSv1*` (0 logged)"
        );
        assert_eq!(check_warnings(&[], &Verdict::default()), None);
    }
}
