//! Device cookies (OWASP's answer to lockout abuse): a browser that signed in to an account
//! gets a cookie signed under the server secret for that account. Its failed sign-ins are
//! counted on their own, so a stranger's guesses that lock the account do not lock it out.
//! The cookie is bound to the password it signed in with: a new password makes every device a
//! stranger again.

use crate::security::{self, Secret};

pub const DEVICE_COOKIE: &str = "delivr_device";
/// A device stays known for a year after its last sign-in.
pub const DEVICE_MAX_AGE_SECS: i64 = 365 * 24 * 60 * 60;

fn signature(secret: &Secret, user_id: &str, password_hash: &str, nonce: &str) -> String {
    let credential = security::sha256_hex(password_hash.as_bytes());
    secret.sign("device", format!("{user_id}.{credential}.{nonce}").as_bytes())
}

/// A new device cookie value for `user_id` with its current password: `<nonce>.<signature>`.
pub fn issue(secret: &Secret, user_id: &str, password_hash: &str) -> String {
    let nonce = security::random_token(16);
    let sig = signature(secret, user_id, password_hash, &nonce);
    format!("{nonce}.{sig}")
}

/// The cookie's nonce, if the cookie was issued to this browser for `user_id` while its
/// password was the current one.
pub fn trusted_for<'a>(secret: &Secret, cookie: &'a str, user_id: &str, password_hash: &str) -> Option<&'a str> {
    let (nonce, sig) = cookie.split_once('.')?;
    if nonce.is_empty() || nonce.len() > 64 {
        return None;
    }
    security::constant_time_eq(sig.as_bytes(), signature(secret, user_id, password_hash, nonce).as_bytes()).then_some(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_is_good_for_its_account_only() {
        let secret = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let cookie = issue(&secret, "user-a", "phc-1");
        assert!(trusted_for(&secret, &cookie, "user-a", "phc-1").is_some());
        assert!(trusted_for(&secret, &cookie, "user-b", "phc-1").is_none());
        assert!(trusted_for(&secret, &cookie, "user-a", "phc-2").is_none(), "a new password forgets the device");
        let other = Secret::from_bytes(b"fedcba9876543210fedcba9876543210");
        assert!(trusted_for(&other, &cookie, "user-a", "phc-1").is_none());
        assert!(trusted_for(&secret, "forged.signature", "user-a", "phc-1").is_none());
        assert!(trusted_for(&secret, "", "user-a", "phc-1").is_none());
    }
}
