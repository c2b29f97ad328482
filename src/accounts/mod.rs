//! Accounts: users and their roles, sign-up, login and logout, sessions, login throttling.
//! The vendor's business profile belongs to `partners`.

pub mod device;
pub mod guard;
pub mod pages;
pub mod password;
pub mod phone;
pub mod repo;
pub mod sessions;
pub mod throttle;

/// What a user is allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Business,
    Admin,
    Courier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Business => "BUSINESS",
            Role::Admin => "ADMIN",
            Role::Courier => "COURIER",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "BUSINESS" => Some(Role::Business),
            "ADMIN" => Some(Role::Admin),
            "COURIER" => Some(Role::Courier),
            _ => None,
        }
    }
}

/// A syntactically valid, lower-cased email address.
pub fn parse_email(input: &str) -> Option<String> {
    let email = input.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.contains(char::is_whitespace)
        && email.matches('@').count() == 1
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(parse_email(" Awa@Shop.CM "), Some("awa@shop.cm".to_owned()));
        for bad in ["", "awa", "awa@", "@shop.cm", "awa@shop", "a b@shop.cm", "a@@shop.cm", "a@shop..cm", "a@.cm"] {
            assert_eq!(parse_email(bad), None, "{bad}");
        }
    }
}
