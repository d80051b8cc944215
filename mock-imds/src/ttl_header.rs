//! What the token PUT's answer says in its `X-aws-ec2-metadata-token-ttl-seconds`
//! header: EC2 echoes the TTL granted ([`TokenTtlHeader::Echo`], the default); the other
//! modes test how SDKs read it: leave it out (`absent`) or send a chosen value
//! (`SECONDS`, e.g. 0, 1, 10, 600). Set in the config (`token_ttl_header = "absent"`,
//! `token_ttl_header = 600`), a scenario's `[imds]`, and at runtime through
//! [`crate::MockImds::set_token_ttl_header`], `PUT /token-ttl-header` and
//! `mock-imds ctl token-ttl-header MODE`. The token itself still lives the TTL asked for.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The token answer's TTL header mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TokenTtlHeader {
    /// The TTL granted, as EC2 sends it.
    #[default]
    Echo,
    /// No TTL header at all.
    Absent,
    /// This many seconds, whatever was asked for.
    Seconds(u64),
}

impl FromStr for TokenTtlHeader {
    type Err = String;
    /// `echo`, `absent` or a whole number of seconds.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "echo" => Ok(TokenTtlHeader::Echo),
            "absent" => Ok(TokenTtlHeader::Absent),
            other => other.parse().map(TokenTtlHeader::Seconds).map_err(|_| {
                format!("token_ttl_header must be \"echo\", \"absent\" or a whole number of seconds, not `{other}`")
            }),
        }
    }
}

impl fmt::Display for TokenTtlHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenTtlHeader::Echo => f.write_str("echo"),
            TokenTtlHeader::Absent => f.write_str("absent"),
            TokenTtlHeader::Seconds(s) => write!(f, "{s}"),
        }
    }
}

impl Serialize for TokenTtlHeader {
    /// `"echo"`, `"absent"`, or the seconds as a number.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            TokenTtlHeader::Seconds(s) => serializer.serialize_u64(*s),
            other => serializer.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for TokenTtlHeader {
    /// `"echo"`, `"absent"`, a number of seconds, or the number as a string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "token_ttl_header must be \"echo\", \"absent\" or a whole number of seconds (0..)",
            )
        })? {
            Raw::Seconds(s) => Ok(TokenTtlHeader::Seconds(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl TokenTtlHeader {
    /// The header value to send for a token granted `granted` seconds; `None` for none.
    pub fn value(self, granted: u64) -> Option<u64> {
        match self {
            TokenTtlHeader::Echo => Some(granted),
            TokenTtlHeader::Absent => None,
            TokenTtlHeader::Seconds(s) => Some(s),
        }
    }
}

/// The mode in force, shared by IMDS (which reads it per token) and the switch (which
/// changes it). Cloning shares it.
#[derive(Clone, Debug, Default)]
pub(crate) struct TtlHeaderSetting(Arc<Mutex<TokenTtlHeader>>);

impl TtlHeaderSetting {
    /// A setting starting at `mode`.
    pub(crate) fn new(mode: TokenTtlHeader) -> Self {
        Self(Arc::new(Mutex::new(mode)))
    }

    /// The mode in force.
    pub(crate) fn get(&self) -> TokenTtlHeader {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `mode` in force for the next token answers.
    pub(crate) fn set(&self, mode: TokenTtlHeader) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_print_and_deserialize() {
        for (text, mode) in [
            ("echo", TokenTtlHeader::Echo),
            ("absent", TokenTtlHeader::Absent),
            ("0", TokenTtlHeader::Seconds(0)),
            ("600", TokenTtlHeader::Seconds(600)),
        ] {
            assert_eq!(text.parse::<TokenTtlHeader>(), Ok(mode));
            assert_eq!(mode.to_string(), text);
        }
        assert!("never"
            .parse::<TokenTtlHeader>()
            .unwrap_err()
            .contains("\"echo\", \"absent\" or a whole number"));
        #[derive(Deserialize)]
        struct T {
            m: TokenTtlHeader,
        }
        assert_eq!(
            toml::from_str::<T>("m = 10").unwrap().m,
            TokenTtlHeader::Seconds(10)
        );
        assert_eq!(
            toml::from_str::<T>("m = \"absent\"").unwrap().m,
            TokenTtlHeader::Absent
        );
        assert!(toml::from_str::<T>("m = -1").is_err());
        assert_eq!(TokenTtlHeader::Echo.value(60), Some(60));
        assert_eq!(TokenTtlHeader::Absent.value(60), None);
        assert_eq!(TokenTtlHeader::Seconds(1).value(60), Some(1));
    }
}
