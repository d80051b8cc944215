//! Durations as milliseconds: the JSON report's number format and the short form the
//! table and messages print.
//!
//! In the report every duration is a `*_ms` field holding milliseconds as a float with
//! microsecond precision (`1234.567`); [`serialize`]/[`deserialize`] (for
//! `#[serde(with = "crate::ms")]`) and [`option`] (for an `Option<Duration>` written as
//! the number or `null`) are the one place that format lives. Reading refuses negative
//! and non-finite numbers and rounds to the microsecond.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `d` as milliseconds (a float, microsecond precision).
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_micros() as f64) / 1000.0)
}

/// Reads milliseconds (a non-negative finite number), rounded to the microsecond.
///
/// # Errors
/// A value that is not a number, or a negative or non-finite one.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = f64::deserialize(d)?;
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(serde::de::Error::custom(format!(
            "{ms} is not a duration in milliseconds"
        )));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

/// `Option<Duration>` as milliseconds or `null` (`#[serde(with = "crate::ms::option")]`).
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the milliseconds, or `null` for `None`.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// Reads milliseconds or `null`.
    ///
    /// # Errors
    /// As [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Ms(#[serde(with = "super")] Duration);
        Ok(Option::<Ms>::deserialize(d)?.map(|m| m.0))
    }
}

/// `1.23s` from one second on, else `250ms` (whole milliseconds, rounded down).
pub fn fmt_ms(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "crate::ms")]
        at_ms: Duration,
        #[serde(with = "crate::ms::option")]
        took_ms: Option<Duration>,
    }

    #[test]
    fn milliseconds_with_microsecond_precision_round_trip() {
        let row = Row {
            at_ms: Duration::from_nanos(1_234_567_891),
            took_ms: None,
        };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"{"at_ms":1234.567,"took_ms":null}"#);
        let back: Row = serde_json::from_str(&text).unwrap();
        assert_eq!(back.at_ms, Duration::from_micros(1_234_567));
        let some: Row = serde_json::from_str(r#"{"at_ms":0.0,"took_ms":2.5}"#).unwrap();
        assert_eq!(some.took_ms, Some(Duration::from_micros(2500)));
        let e = serde_json::from_str::<Row>(r#"{"at_ms":-1.0,"took_ms":null}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("-1 is not a duration in milliseconds"),
            "{e}"
        );
    }

    #[test]
    fn short_form() {
        assert_eq!(fmt_ms(Duration::from_micros(250_900)), "250ms");
        assert_eq!(fmt_ms(Duration::from_millis(1234)), "1.23s");
    }
}
