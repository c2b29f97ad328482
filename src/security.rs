//! Small cryptographic helpers: random tokens, keyed hashes, the server secret and the
//! HTTP security headers every HTML response carries.

use std::path::Path;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use poem::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::{config::Config, db, db::Db, on_db};

/// `n` random bytes, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Lowercase hex SHA-256 of `data`: how session ids are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Compare without leaking where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's secret key.
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    /// HMAC-SHA256 of `data` under the secret, URL-safe base64.
    pub fn sign(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The CSRF token that goes with a browser's CSRF cookie.
    pub fn csrf_token(&self, csrf_cookie: &str) -> String {
        self.sign("csrf", csrf_cookie.as_bytes())
    }

    /// Load the secret: `SECRET_KEY`, else the key kept next to the database, else a new one
    /// generated and kept there.
    pub async fn load(config: &Config, db: &Db) -> anyhow::Result<Secret> {
        if let Some(key) = &config.secret_key {
            anyhow::ensure!(key.len() >= 32, "SECRET_KEY must be at least 32 characters long");
            return Ok(Secret::from_bytes(key.as_bytes()));
        }
        match (db, db::sqlite_path(&config.database_url)) {
            (Db::Sqlite(_), Some(path)) => {
                let key_path = path.with_extension(match path.extension() {
                    Some(ext) => format!("{}.key", ext.to_string_lossy()),
                    None => "key".to_owned(),
                });
                Self::load_file(&key_path)
            }
            _ => {
                let fresh = random_token(48);
                on_db!(db, pool => {
                    sqlx::query("INSERT INTO server_secrets (name, value) VALUES ('secret_key', $1) ON CONFLICT (name) DO NOTHING")
                        .bind(&fresh)
                        .execute(pool)
                        .await?;
                    let (value,): (String,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = 'secret_key'")
                        .fetch_one(pool)
                        .await?;
                    Ok(Secret::from_bytes(value.as_bytes()))
                })
            }
        }
    }

    fn load_file(path: &Path) -> anyhow::Result<Secret> {
        match std::fs::read_to_string(path) {
            Ok(s) if s.trim().len() >= 32 => Ok(Secret::from_bytes(s.trim().as_bytes())),
            Ok(_) => anyhow::bail!("the secret key file {} is too short; delete it to regenerate", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let fresh = random_token(48);
                write_private(path, &fresh).with_context(|| format!("writing the secret key to {}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a new secret key");
                Ok(Secret::from_bytes(fresh.as_bytes()))
            }
            Err(e) => Err(e).with_context(|| format!("reading the secret key {}", path.display())),
        }
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(content.as_bytes())
}

/// Headers every HTML response carries.
pub fn add_security_headers(headers: &mut HeaderMap) {
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !headers.contains_key("content-security-policy") {
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        );
    }
}

/// The keys' theoretical arrival times, in this process (SQLite's single serving process).
#[derive(Debug, Default)]
pub struct LocalLimits {
    tat: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl LocalLimits {
    /// The GCRA step of `api_keys::rate_limit`, in microseconds: (the key's arrival time after
    /// this request, refused).
    pub fn arrive(&self, key_id: &str, now: i64, interval: i64, window: i64) -> (i64, bool) {
        let mut tat = self.tat.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Keys whose allowance is whole again are forgotten (what they hold is `now`'s value).
        if tat.len() > 10_000 {
            tat.retain(|_, t| *t > now);
        }
        let held = tat.get(key_id).copied().unwrap_or(now).max(now);
        let refused = held + interval - now > window;
        let next = if refused { held } else { held + interval };
        tat.insert(key_id.to_owned(), next);
        (next, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_urlsafe() {
        let (a, b) = (random_token(24), random_token(24));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn csrf_token_depends_on_cookie_and_secret() {
        let s1 = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let s2 = Secret::from_bytes(b"fedcba9876543210fedcba9876543210");
        assert_eq!(s1.csrf_token("x"), s1.csrf_token("x"));
        assert_ne!(s1.csrf_token("x"), s1.csrf_token("y"));
        assert_ne!(s1.csrf_token("x"), s2.csrf_token("x"));
    }
}
