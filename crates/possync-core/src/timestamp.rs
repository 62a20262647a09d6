//! A point in time, passed into the core by its callers (the core never reads a clock).

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC; RFC 3339 on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest and latest instants accepted: years 1970 to 9999.
    const MILLIS_MAX: i64 = 253_402_300_799_999;

    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis.clamp(0, Self::MILLIS_MAX))
    }

    pub fn unix_millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp::from_unix_millis(self.0.saturating_add(millis))
    }

    /// The calendar year (UTC), as invoice numbers carry it.
    pub fn year(self) -> i32 {
        self.to_offset_date_time().year()
    }

    /// The hour of the day (UTC), 0 to 23.
    pub fn hour(self) -> u8 {
        self.to_offset_date_time().hour()
    }

    /// The day (UTC) as `YYYY-MM-DD`.
    pub fn day(self) -> String {
        let at = self.to_offset_date_time();
        format!(
            "{:04}-{:02}-{:02}",
            at.year(),
            u8::from(at.month()),
            at.day()
        )
    }

    fn to_offset_date_time(self) -> OffsetDateTime {
        // In range by construction (clamped to years 1970..=9999).
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let millis = i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()?;
        (0..=Self::MILLIS_MAX)
            .contains(&millis)
            .then_some(Timestamp(millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset_date_time().format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| de::Error::custom("not an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        let at = Timestamp::from_unix_millis(1_795_000_000_123);
        let text = at.to_string();
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(Timestamp::parse_rfc3339(&text), Some(at));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
