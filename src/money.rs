//! Money as a vendor reads it: integer FCFA (XAF has no minor unit), grouped by thousands.
//! Below every domain: events, notifications and pages all print amounts the same way.

/// `1500` → `1 500 FCFA`, with a no-break space between thousands and before the unit.
pub fn format_fcfa(amount: i64) -> String {
    format!("{}\u{a0}FCFA", format_int(amount))
}

/// `1500` → `1 500` (no-break space between thousands).
pub fn format_int(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_group_by_thousands() {
        assert_eq!(format_fcfa(0), "0\u{a0}FCFA");
        assert_eq!(format_fcfa(1_850), "1\u{a0}850\u{a0}FCFA");
        assert_eq!(format_int(-1_234_567), "-1\u{a0}234\u{a0}567");
        assert_eq!(format_int(999), "999");
    }
}
