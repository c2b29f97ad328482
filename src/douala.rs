//! Douala's clock: the calendar every page, report and invoice counts days and months in.
//! Africa/Douala is UTC+1 all year (no daylight saving time).

use chrono::{FixedOffset, NaiveDate, TimeZone};

/// The Africa/Douala offset.
pub fn douala() -> FixedOffset {
    FixedOffset::east_opt(3600).expect("UTC+1 is a valid offset")
}

/// Start of a Douala calendar day, in ms since the epoch.
pub fn day_start(date: NaiveDate) -> i64 {
    douala().from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()).single().map_or(0, |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_douala_day_starts_at_23h_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 11).unwrap();
        assert_eq!(day_start(d), 1_770_764_400_000);
    }
}
