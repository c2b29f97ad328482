//! Cameroon phone numbers, normalised to E.164 (`+237` and nine digits).

use std::fmt;

/// A Cameroonian phone number in E.164 form, e.g. `+237677987654`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

/// Which mobile operator a number belongs to (used for mobile-money payouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Mtn,
    Orange,
    Other,
}

impl Phone {
    /// Accepts `677 98 76 54`, `677-98-76-54`, `00237677987654`, `+237 677 98 76 54` and
    /// `237677987654`. Mobile numbers start with 6, landlines with 2.
    pub fn parse(input: &str) -> Option<Phone> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
            return None;
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let national = if let Some(n) = digits.strip_prefix("00237").filter(|_| !plus) {
            n
        } else if let Some(n) = digits.strip_prefix("237").filter(|n| n.len() == 9) {
            n
        } else if plus {
            return None;
        } else {
            digits.as_str()
        };
        let valid = national.len() == 9 && matches!(national.as_bytes()[0], b'6' | b'2');
        valid.then(|| Phone(format!("+237{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The nine national digits.
    pub fn national(&self) -> &str {
        &self.0[4..]
    }

    /// The operator, from the national prefix (ART numbering plan, approximate but current).
    pub fn operator(&self) -> Operator {
        let n = self.national();
        let p2: u32 = n[..2].parse().unwrap_or(0);
        let p3: u32 = n[..3].parse().unwrap_or(0);
        match p2 {
            67 | 68 => Operator::Mtn,
            69 => Operator::Orange,
            65 => match p3 {
                650..=654 => Operator::Mtn,
                655..=659 => Operator::Orange,
                _ => Operator::Other,
            },
            _ => Operator::Other,
        }
    }
}

impl fmt::Display for Phone {
    /// `+237 6 77 98 76 54`, the way Cameroonians read numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.national();
        write!(f, "+237 {} {} {} {} {}", &n[..1], &n[1..3], &n[3..5], &n[5..7], &n[7..9])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_ways_of_writing_a_number() {
        for input in
            ["677 98 76 54", "677987654", "+237677987654", "+237 677-98-76-54", "00237677987654", "237677987654", " 6 77 98 76 54 "]
        {
            assert_eq!(Phone::parse(input).map(|p| p.0), Some("+237677987654".to_owned()), "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_cameroon_number() {
        for input in ["", "12345", "77987654", "+33612345678", "577987654", "6779876543", "67798765a", "+0023767798765", "00237 5779 87654"]
        {
            assert_eq!(Phone::parse(input), None, "{input}");
        }
    }

    #[test]
    fn recognises_operators_and_formats() {
        let p = Phone::parse("677987654").unwrap();
        assert_eq!(p.operator(), Operator::Mtn);
        assert_eq!(p.to_string(), "+237 6 77 98 76 54");
        assert_eq!(Phone::parse("699123456").unwrap().operator(), Operator::Orange);
        assert_eq!(Phone::parse("655123456").unwrap().operator(), Operator::Orange);
        assert_eq!(Phone::parse("651123456").unwrap().operator(), Operator::Mtn);
        assert_eq!(Phone::parse("222123456").unwrap().operator(), Operator::Other);
    }
}
