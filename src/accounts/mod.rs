//! Accounts: users, login and logout, passwords, login throttling. Who is signed in (roles and
//! sessions) is `auth`, below the web shell.
//! The vendor's business profile belongs to `partners`.

pub mod device;
pub mod guard;
pub mod pages;
pub mod password;
pub mod phone;
pub mod repo;
pub mod step_up;
pub mod throttle;
pub mod totp;
pub mod two_factor;

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
