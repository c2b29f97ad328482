//! Money: integer FCFA (XAF has no minor unit) as one type through the domain, printed as a
//! vendor reads it, grouped by thousands. Below every domain: events, notifications and pages
//! all print amounts the same way.

use std::{
    iter::Sum,
    ops::{Add, AddAssign, Neg, Sub, SubAssign},
};

/// An amount of FCFA: stored as the integer (`BIGINT`), sent as a JSON number, shown on pages
/// as `1 500 FCFA` (its `Render`). Signed: a debit is negative. Deliberately not `Display`:
/// a CSV cell or a message chooses between the integer (`get`) and the shown form
/// (`format_fcfa`), so that `to_string` can never put `1 500 FCFA` where a number belongs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct Fcfa(pub i64);

impl Fcfa {
    pub const ZERO: Fcfa = Fcfa(0);

    /// The integer amount (for the API's numbers and the arithmetic SQL does).
    pub fn get(self) -> i64 {
        self.0
    }
}

impl maud::Render for Fcfa {
    fn render(&self) -> maud::Markup {
        maud::html! { (format_fcfa(self.0)) }
    }
}

/// An amount equals a plain number of FCFA (`balance == 46_000`).
impl PartialEq<i64> for Fcfa {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl From<Fcfa> for i64 {
    fn from(a: Fcfa) -> i64 {
        a.0
    }
}

impl Add for Fcfa {
    type Output = Fcfa;

    fn add(self, other: Fcfa) -> Fcfa {
        Fcfa(self.0 + other.0)
    }
}

impl Sub for Fcfa {
    type Output = Fcfa;

    fn sub(self, other: Fcfa) -> Fcfa {
        Fcfa(self.0 - other.0)
    }
}

impl Neg for Fcfa {
    type Output = Fcfa;

    fn neg(self) -> Fcfa {
        Fcfa(-self.0)
    }
}

impl AddAssign for Fcfa {
    fn add_assign(&mut self, other: Fcfa) {
        self.0 += other.0;
    }
}

impl SubAssign for Fcfa {
    fn sub_assign(&mut self, other: Fcfa) {
        self.0 -= other.0;
    }
}

impl Sum for Fcfa {
    fn sum<I: Iterator<Item = Fcfa>>(iter: I) -> Fcfa {
        Fcfa(iter.map(|a| a.0).sum())
    }
}

/// `1500` → `1 500 FCFA`, with a no-break space between thousands and before the unit.
pub fn format_fcfa(amount: i64) -> String {
    format!("{}\u{a0}FCFA", format_int(amount))
}

tokio::task_local! {
    /// How the page being rendered groups thousands (set by the pages' middleware).
    static GROUPING: char;
}

/// Run `f` with thousands grouped by `separator`: a page in French writes `1 500` (a no-break
/// space), one in English `1,500`. Outside (messages, PDFs, logs) the French way holds.
pub async fn grouped_by<F: std::future::Future>(separator: char, f: F) -> F::Output {
    GROUPING.scope(separator, f).await
}

/// `1500` → `1 500` (no-break space between thousands; `1,500` on an English page).
pub fn format_int(amount: i64) -> String {
    let separator = GROUPING.try_with(|c| *c).unwrap_or('\u{a0}');
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn thousands_are_grouped_as_the_page_writes_them() {
        assert_eq!(format_fcfa(1_234_500), "1\u{a0}234\u{a0}500\u{a0}FCFA");
        assert_eq!(grouped_by(',', async { format_fcfa(1_234_500) }).await, "1,234,500\u{a0}FCFA");
        assert_eq!(grouped_by(',', async { format_int(-999) }).await, "-999");
    }

    #[test]
    fn amounts_add_up_and_print() {
        let fee = Fcfa(1_850);
        assert_eq!(Fcfa(25_000) - fee, Fcfa(23_150));
        assert_eq!(-fee + Fcfa(2_000), Fcfa(150));
        assert_eq!([Fcfa(1), Fcfa(2)].into_iter().sum::<Fcfa>(), Fcfa(3));
        assert_eq!(maud::Render::render(&Fcfa(-1_500)).into_string(), "-1\u{a0}500\u{a0}FCFA");
        assert_eq!(serde_json::to_string(&Fcfa(7)).unwrap(), "7");
    }

    #[test]
    fn amounts_group_by_thousands() {
        assert_eq!(format_fcfa(0), "0\u{a0}FCFA");
        assert_eq!(format_fcfa(1_850), "1\u{a0}850\u{a0}FCFA");
        assert_eq!(format_int(-1_234_567), "-1\u{a0}234\u{a0}567");
        assert_eq!(format_int(999), "999");
    }
}
