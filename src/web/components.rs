//! Small components shown on many pages: money, dates, badges.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Timelike, Utc};
use maud::{Markup, html};

pub use crate::money::{Fcfa, format_fcfa, format_int};
use crate::{douala::douala, i18n::Lang};

/// A timestamp (ms since epoch, UTC) shown in Douala time, `28/11/2026 14:05`.
pub fn format_datetime(ms: i64, _lang: Lang) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        // Written field by field: a list formats fifty of these, an export two hundred
        // thousand, and parsing a format string each time was most of the cost.
        Some(t) => {
            let t = t.with_timezone(&douala());
            if !(0..=9999).contains(&t.year()) {
                // chrono signs the years beyond four digits.
                return t.format("%d/%m/%Y %H:%M").to_string();
            }
            let mut s = String::with_capacity(16);
            let _ = write!(s, "{:02}/{:02}/{:04} {:02}:{:02}", t.day(), t.month(), t.year(), t.hour(), t.minute());
            s
        }
        None => "—".to_owned(),
    }
}

pub fn format_date(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&douala()).format("%d/%m/%Y").to_string(),
        None => "—".to_owned(),
    }
}

/// The unread notifications badge of the navigation (also sent live as the stream's `badge`).
pub fn unread_badge(count: i64) -> Markup {
    // Past 99 the badge says "99+" (it sits on a 24 px bell); the exact count is its title.
    html! {
        span #notif-badge.count.hidden[count == 0] aria-live="polite" title=(count) {
            @if count > 99 { "99+" } @else { (count) }
        }
    }
}

/// A coloured status pill; `tone` is `ok`, `warn`, `err` or empty.
pub fn badge(text: &str, tone: &str) -> Markup {
    html! { span class={ "badge " (tone) } { (text) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_with_no_break_spaces() {
        assert_eq!(format_fcfa(1500), "1\u{a0}500\u{a0}FCFA");
        assert_eq!(format_fcfa(0), "0\u{a0}FCFA");
        assert_eq!(format_fcfa(1_234_567), "1\u{a0}234\u{a0}567\u{a0}FCFA");
        assert_eq!(format_fcfa(-300), "-300\u{a0}FCFA");
    }

    #[test]
    fn times_are_shown_in_douala() {
        // 2026-02-11T23:30:00Z is already the 12th in Douala.
        assert_eq!(format_datetime(1_770_852_600_000, Lang::Fr), "12/02/2026 00:30");
    }

    #[test]
    fn dates_written_by_hand_are_what_chrono_writes() {
        // From year 500 to past 10 000, every few hundred days and minutes.
        let mut ms: i64 = -46_000_000_000_000;
        while ms < 260_000_000_000_000 {
            let expected =
                DateTime::<Utc>::from_timestamp_millis(ms).unwrap().with_timezone(&douala()).format("%d/%m/%Y %H:%M").to_string();
            assert_eq!(format_datetime(ms, Lang::Fr), expected, "{ms}");
            ms += 23_456_789_012;
        }
    }
}
