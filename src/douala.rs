//! Douala's clock: the calendar every page, report and invoice counts days and months in.
//! Africa/Douala is UTC+1 all year (no daylight saving time).

use chrono::{Days, FixedOffset, NaiveDate, TimeZone};

/// The Africa/Douala offset.
pub fn douala() -> FixedOffset {
    FixedOffset::east_opt(3600).expect("UTC+1 is a valid offset")
}

/// The Douala calendar date of an instant (ms since the epoch).
pub fn date_of(ms: i64) -> NaiveDate {
    day_date((ms + 3_600_000).div_euclid(86_400_000))
}

/// The date of a Douala day number (days since 1970-01-01, as the reports group them:
/// `(created_at + 3 600 000) / 86 400 000`).
pub fn day_date(day: i64) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    u64::try_from(day).ok().and_then(|d| epoch.checked_add_days(Days::new(d))).unwrap_or(epoch)
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
