//! Throttles for sign-in, sign-up and password recovery, kept in the database so that every instance sees the
//! same counts. Sign-in counts failures per account and per client address, except from a
//! browser that signed in to that account before (its signed device cookie, as OWASP
//! recommends): that browser has a count of its own, so strangers cannot lock the vendor out.
//! Sign-up counts every attempt per client address and per e-mail, and, more tightly, the
//! attempts on addresses already in use (listing accounts) per client address.

use crate::{
    db::{Db, now_ms},
    on_db,
};

/// At most `max` counted attempts per `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub max: i64,
    pub window_ms: i64,
}

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed sign-ins per account from browsers that never signed in to it.
pub const LOGIN_ACCOUNT: Rule = Rule { max: 5, window_ms: WINDOW_MS };
/// Failed sign-ins per client address (any account).
pub const LOGIN_CLIENT: Rule = Rule { max: 20, window_ms: WINDOW_MS };
/// Failed sign-ins from one trusted browser (its device cookie).
pub const LOGIN_DEVICE: Rule = Rule { max: 5, window_ms: WINDOW_MS };
/// Failed sign-ins of an account from all its trusted browsers together: many device cookies
/// do not make many guesses.
pub const LOGIN_TRUSTED: Rule = Rule { max: 20, window_ms: WINDOW_MS };
/// Sign-up attempts per client address (a shop owners' meeting on one Wi-Fi signs up many).
pub const SIGNUP_CLIENT: Rule = Rule { max: 30, window_ms: 60 * 60 * 1000 };
/// Sign-ups refused for an address already in use, per client address: what listing
/// accounts would take.
pub const SIGNUP_PROBE_CLIENT: Rule = Rule { max: 5, window_ms: 60 * 60 * 1000 };
/// Sign-up attempts per e-mail address.
pub const SIGNUP_EMAIL: Rule = Rule { max: 3, window_ms: 60 * 60 * 1000 };
/// Recovery links asked for one e-mail address.
pub const RESET_EMAIL: Rule = Rule { max: 3, window_ms: 60 * 60 * 1000 };
/// Recovery links asked from one client address (any e-mail).
pub const RESET_CLIENT: Rule = Rule { max: 10, window_ms: 60 * 60 * 1000 };
/// Rows older than the longest window are deleted.
const KEEP_MS: i64 = 60 * 60 * 1000;

pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

pub fn client_key(client: &str) -> String {
    format!("client:{client}")
}

pub fn trusted_key(email: &str) -> String {
    format!("trusted:{}", email.trim().to_lowercase())
}

pub fn device_key(nonce: &str) -> String {
    format!("device:{nonce}")
}

pub fn signup_client_key(client: &str) -> String {
    format!("signup-client:{client}")
}

pub fn signup_probe_key(client: &str) -> String {
    format!("signup-probe:{client}")
}

pub fn signup_email_key(email: &str) -> String {
    format!("signup-email:{}", email.trim().to_lowercase())
}

pub fn reset_email_key(email: &str) -> String {
    format!("reset-email:{}", email.trim().to_lowercase())
}

pub fn reset_client_key(client: &str) -> String {
    format!("reset-client:{client}")
}

/// How many attempts under `key` are within the rule's window.
pub async fn recent(db: &Db, key: &str, rule: Rule) -> sqlx::Result<(i64, Option<i64>)> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM (SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at DESC LIMIT $3) recent",
    )
    .bind(key)
    .bind(now_ms() - rule.window_ms)
    .bind(rule.max)
    .fetch_one(pool)
    .await)
}

/// Seconds to wait before another attempt is allowed, if any of the keys is at its limit.
pub async fn retry_after(db: &Db, checks: &[(&str, Rule)]) -> sqlx::Result<Option<i64>> {
    let now = now_ms();
    let mut wait: Option<i64> = None;
    for (key, rule) in checks {
        let (count, oldest) = recent(db, key, *rule).await?;
        if count >= rule.max {
            // Locked until the oldest of the last `max` attempts leaves the window.
            let secs = (oldest.unwrap_or(now) + rule.window_ms - now).max(1000) / 1000;
            wait = Some(wait.map_or(secs, |w: i64| w.max(secs)));
        }
    }
    Ok(wait)
}

/// Tries left under `key` before it locks.
pub async fn remaining(db: &Db, key: &str, rule: Rule) -> sqlx::Result<i64> {
    Ok((rule.max - recent(db, key, rule).await?.0).max(0))
}

/// Count an attempt under each key, *before* the password is checked, so that parallel
/// guesses cannot all slip under the limit; returns the rows to forget if the attempt turns
/// out to succeed.
pub async fn record(db: &Db, keys: &[&str]) -> sqlx::Result<Vec<i64>> {
    let now = now_ms();
    on_db!(db, pool => {
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            let id: i64 = sqlx::query_scalar("INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id").bind(key).bind(now).fetch_one(pool).await?;
            ids.push(id);
        }
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(now - KEEP_MS).execute(pool).await?;
        Ok(ids)
    })
}

/// Forget attempts counted by [`record`] that succeeded.
pub async fn forget(db: &Db, ids: &[i64]) -> sqlx::Result<()> {
    for id in ids {
        on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
    }
    Ok(())
}

/// Clear a key's count (a successful sign-in clears its account's or device's failures).
pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
