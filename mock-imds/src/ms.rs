//! Durations in JSON as milliseconds: a float with microsecond precision (`1500.25`).
//! Every `*_ms` field of the event log, schedules and generators uses it:
//! `#[serde(with = "crate::ms")]`.

use std::time::Duration;

use serde::{Deserializer, Serializer};

/// Writes `d` as milliseconds.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_micros() as f64) / 1000.0)
}

/// Reads milliseconds (as [`serialize`] writes them) back into a [`Duration`].
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = <f64 as serde::Deserialize>::deserialize(d)?;
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(serde::de::Error::custom(format!(
            "{ms} is not a duration in milliseconds"
        )));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}
