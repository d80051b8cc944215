//! `AssumeRole`'s parameters, read from the Query protocol's form fields and validated
//! the way STS does before it issues a session.
//!
//! Constraints are those of the STS API reference (`AssumeRole`, API version
//! 2011-06-15): `RoleArn` 20–2048 characters of the ARN character class,
//! `RoleSessionName` 2–64 characters of `[\w+=,.@-]*`, `DurationSeconds` 900–43200
//! (default 3600), `ExternalId` 2–1224 characters of `[\w+=,.@:/-]*`. A broken
//! constraint is a `ValidationError` whose message lists each one as STS's service
//! framework words it: `1 validation error detected: Value 'x' at 'roleSessionName'
//! failed to satisfy constraint: Member must have length greater than or equal to 2`.
//!
//! Beyond the shapes: every caller of this fake STS holds role-session credentials (the
//! instance's, or an earlier `AssumeRole`'s), so every `AssumeRole` here is *role
//! chaining*, which STS limits to one hour (IAM User Guide, "Role chaining"; STS API
//! reference, `DurationSeconds`): more is a `ValidationError` naming that limit.

/// `DurationSeconds` when the request gives none (seconds; STS API reference).
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
/// Smallest `DurationSeconds` (seconds, 15 minutes).
pub const MIN_DURATION_SECONDS: u32 = 900;
/// Largest `DurationSeconds` the parameter's constraint allows (seconds, 12 hours).
pub const MAX_DURATION_SECONDS: u32 = 43_200;
/// Largest `DurationSeconds` for a chained role session (seconds, one hour).
pub const ROLE_CHAINING_LIMIT_SECONDS: u32 = 3600;

/// The message STS gives when a chained session asks for more than an hour.
pub const ROLE_CHAINING_MESSAGE: &str =
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";

const SESSION_NAME_PATTERN: &str = r"[\w+=,.@-]*";
const EXTERNAL_ID_PATTERN: &str = r"[\w+=,.@:\/-]*";
const ARN_PATTERN: &str =
    r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+";

/// A validated `AssumeRole` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleRequest {
    /// The role to assume, as given (`arn:aws:iam::123456789012:role/path/name`).
    pub role_arn: String,
    /// The caller's name for the session (the last part of the assumed-role ARN).
    pub session_name: String,
    /// How long the session's credentials live (seconds).
    pub duration_seconds: u32,
}

/// Why STS refused the parameters: the error code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `ValidationError` (the only code parameter checks give).
    pub code: &'static str,
    /// STS's message.
    pub message: String,
}

/// Reads and validates `AssumeRole`'s form fields (`params`, in request order; the first
/// occurrence of a name counts).
///
/// # Errors
/// A [`Refusal`] listing every broken constraint, or naming the role-chaining limit.
pub fn parse(params: &[(String, String)]) -> Result<AssumeRoleRequest, Refusal> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut broken: Vec<String> = Vec::new();
    let role_arn = get("RoleArn");
    match role_arn {
        None => broken.push(not_null("roleArn")),
        Some(arn) => {
            if !arn.chars().all(is_arn_char) || arn.is_empty() {
                broken.push(constraint(
                    arn,
                    "roleArn",
                    &format!("Member must satisfy regular expression pattern: {ARN_PATTERN}"),
                ));
            }
            length(arn, "roleArn", 20, 2048, &mut broken);
        }
    }
    let session_name = get("RoleSessionName");
    match session_name {
        None => broken.push(not_null("roleSessionName")),
        Some(name) => {
            if !name.chars().all(|c| is_word(c) || "+=,.@-".contains(c)) {
                broken.push(constraint(
                    name,
                    "roleSessionName",
                    &format!(
                        "Member must satisfy regular expression pattern: {SESSION_NAME_PATTERN}"
                    ),
                ));
            }
            length(name, "roleSessionName", 2, 64, &mut broken);
        }
    }
    let mut duration_seconds = DEFAULT_DURATION_SECONDS;
    if let Some(raw) = get("DurationSeconds") {
        match raw.trim().parse::<i64>() {
            Ok(n) if n < i64::from(MIN_DURATION_SECONDS) => broken.push(constraint(
                raw,
                "durationSeconds",
                &format!("Member must have value greater than or equal to {MIN_DURATION_SECONDS}"),
            )),
            Ok(n) if n > i64::from(MAX_DURATION_SECONDS) => broken.push(constraint(
                raw,
                "durationSeconds",
                &format!("Member must have value less than or equal to {MAX_DURATION_SECONDS}"),
            )),
            Ok(n) => duration_seconds = u32::try_from(n).unwrap_or(MAX_DURATION_SECONDS),
            Err(_) => broken.push(constraint(
                raw,
                "durationSeconds",
                "Member must be an integer",
            )),
        }
    }
    if let Some(id) = get("ExternalId") {
        if !id.chars().all(|c| is_word(c) || "+=,.@:/-".contains(c)) {
            broken.push(constraint(
                id,
                "externalId",
                &format!("Member must satisfy regular expression pattern: {EXTERNAL_ID_PATTERN}"),
            ));
        }
        length(id, "externalId", 2, 1224, &mut broken);
    }
    if !broken.is_empty() {
        let n = broken.len();
        let plural = if n == 1 { "error" } else { "errors" };
        return Err(Refusal {
            code: "ValidationError",
            message: format!("{n} validation {plural} detected: {}", broken.join("; ")),
        });
    }
    if duration_seconds > ROLE_CHAINING_LIMIT_SECONDS {
        return Err(Refusal {
            code: "ValidationError",
            message: ROLE_CHAINING_MESSAGE.into(),
        });
    }
    Ok(AssumeRoleRequest {
        role_arn: role_arn.unwrap_or_default().to_string(),
        session_name: session_name.unwrap_or_default().to_string(),
        duration_seconds,
    })
}

/// The parts of an IAM role ARN: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// The 12-digit account id.
    pub account_id: &'a str,
    /// The role's name (the path is dropped, as in assumed-role ARNs).
    pub role_name: &'a str,
}

/// Splits a role ARN; `None` when it does not name an IAM role (STS then answers
/// `AccessDenied`: it cannot tell a malformed ARN from a role that does not trust the
/// caller).
pub fn role_arn(arn: &str) -> Option<RoleArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let ("arn", Some(partition), Some("iam"), Some(""), Some(account_id), Some(resource)) = (
        parts.next()?,
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let path_and_name = resource.strip_prefix("role/")?;
    let role_name = path_and_name.rsplit('/').next()?;
    let valid_name = !role_name.is_empty()
        && role_name.len() <= 64
        && role_name
            .chars()
            .all(|c| is_word(c) || "+=,.@-".contains(c));
    (!partition.is_empty()
        && account_id.len() == 12
        && account_id.bytes().all(|b| b.is_ascii_digit())
        && valid_name)
        .then_some(RoleArn {
            partition,
            account_id,
            role_name,
        })
}

/// Java's `\w`: `[a-zA-Z0-9_]`.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_arn_char(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{7E}' | '\u{85}'
    ) || matches!(c, '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn not_null(member: &str) -> String {
    format!("Value null at '{member}' failed to satisfy constraint: Member must not be null")
}

fn constraint(value: &str, member: &str, rule: &str) -> String {
    format!("Value '{value}' at '{member}' failed to satisfy constraint: {rule}")
}

fn length(value: &str, member: &str, min: usize, max: usize, broken: &mut Vec<String>) {
    let n = value.chars().count();
    if n < min {
        broken.push(constraint(
            value,
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    } else if n > max {
        broken.push(constraint(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const ARN: &str = "arn:aws:iam::123456789012:role/team/chained";

    #[test]
    fn reads_a_request_with_the_default_duration() {
        let req = parse(&params(&[
            ("Action", "AssumeRole"),
            ("RoleArn", ARN),
            ("RoleSessionName", "botocore-session-1764688500"),
        ]))
        .unwrap();
        assert_eq!(req.role_arn, ARN);
        assert_eq!(req.session_name, "botocore-session-1764688500");
        assert_eq!(req.duration_seconds, 3600);
        let short = parse(&params(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "a+=,.@-_Z9"),
            ("DurationSeconds", "900"),
            ("ExternalId", "ext:id/1"),
        ]))
        .unwrap();
        assert_eq!(short.duration_seconds, 900);
    }

    #[test]
    fn names_every_broken_constraint_as_sts_does() {
        let err = parse(&params(&[("RoleSessionName", "a")])).unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert_eq!(
            err.message,
            "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        );
        let err = parse(&params(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "has space"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.message,
            r"1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        );
        let long = "s".repeat(65);
        let err = parse(&params(&[("RoleArn", ARN), ("RoleSessionName", &long)])).unwrap_err();
        assert!(
            err.message.ends_with("less than or equal to 64"),
            "{}",
            err.message
        );
        let err = parse(&params(&[
            ("RoleArn", "arn:aws:iam::1:r"),
            ("RoleSessionName", "ok"),
        ]))
        .unwrap_err();
        assert!(err.message.contains("at 'roleArn'"), "{}", err.message);
        assert!(
            err.message.ends_with("greater than or equal to 20"),
            "{}",
            err.message
        );
        let err = parse(&params(&[("RoleSessionName", "ok")])).unwrap_err();
        assert!(err
            .message
            .starts_with("1 validation error detected: Value null at 'roleArn'"));
    }

    #[test]
    fn bounds_the_duration_and_limits_chained_sessions_to_an_hour() {
        let with = |d: &str| {
            parse(&params(&[
                ("RoleArn", ARN),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", d),
            ]))
        };
        assert_eq!(with("3600").unwrap().duration_seconds, 3600);
        assert_eq!(
            with("899").unwrap_err().message,
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
        assert!(with("43201")
            .unwrap_err()
            .message
            .ends_with("Member must have value less than or equal to 43200"));
        assert!(with("ten")
            .unwrap_err()
            .message
            .contains("Member must be an integer"));
        // Within the parameter's bounds, but more than role chaining allows.
        for d in ["3601", "43200"] {
            let err = with(d).unwrap_err();
            assert_eq!(
                (err.code, err.message.as_str()),
                ("ValidationError", ROLE_CHAINING_MESSAGE)
            );
        }
    }

    #[test]
    fn splits_role_arns_and_refuses_what_names_no_role() {
        assert_eq!(
            role_arn(ARN),
            Some(RoleArn {
                partition: "aws",
                account_id: "123456789012",
                role_name: "chained"
            })
        );
        assert_eq!(
            role_arn("arn:aws-cn:iam::210987654321:role/r").map(|r| r.partition),
            Some("aws-cn")
        );
        for bad in [
            "arn:aws:iam:123456789012:role/chained",
            "arn:aws:iam::123456789012:user/chained",
            "arn:aws:sts::123456789012:role/chained",
            "arn:aws:iam::12345678901:role/chained",
            "arn:aws:iam:us-east-1:123456789012:role/chained",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/with space",
            "not-an-arn-but-twenty-chars",
        ] {
            assert_eq!(role_arn(bad), None, "{bad}");
        }
    }
}
