//! Password hashing with argon2id (PHC strings) and the password policy.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier},
};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// Hash a password with argon2id and a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Does `password` match the stored PHC string?
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// A hash to verify against when the account does not exist, so that an unknown email costs
/// as much time as a wrong password and does not reveal which accounts exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default())
}

/// Hashing is CPU-bound (tens of milliseconds): keep it off the async workers.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

pub async fn verify_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc)).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("x", "not a phc string"));
    }
}
