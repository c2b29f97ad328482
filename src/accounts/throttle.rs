//! Login throttling, per account and per client address, kept in the database so that every
//! instance sees the same counts.

use crate::{
    db::{Db, now_ms},
    on_db,
};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_PER_ACCOUNT: i64 = 5;
pub const MAX_PER_CLIENT: i64 = 20;

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn client_key(client: &str) -> String {
    format!("client:{client}")
}

/// Seconds to wait before another attempt is allowed, if the account or client is locked.
pub async fn retry_after(db: &Db, email: &str, client: &str) -> sqlx::Result<Option<i64>> {
    let now = now_ms();
    let since = now - WINDOW_MS;
    let mut wait: Option<i64> = None;
    for (key, max) in [(account_key(email), MAX_PER_ACCOUNT), (client_key(client), MAX_PER_CLIENT)] {
        let (count, oldest): (i64, Option<i64>) = on_db!(db, pool => sqlx::query_as(
            "SELECT COUNT(*), MIN(at) FROM (SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at DESC LIMIT $3) recent",
        )
        .bind(&key)
        .bind(since)
        .bind(max)
        .fetch_one(pool)
        .await)?;
        if count >= max {
            // Locked until the oldest of the last `max` failures leaves the window.
            let secs = (oldest.unwrap_or(now) + WINDOW_MS - now).max(1000) / 1000;
            wait = Some(wait.map_or(secs, |w: i64| w.max(secs)));
        }
    }
    Ok(wait)
}

/// Count an attempt as failed for the account and the client, *before* the password is
/// checked, so that parallel guesses cannot all slip under the limit; returns the rows to
/// forget if the attempt turns out to succeed.
pub async fn record_failure(db: &Db, email: &str, client: &str) -> sqlx::Result<Vec<i64>> {
    let now = now_ms();
    on_db!(db, pool => {
        let mut ids = Vec::with_capacity(2);
        for key in [account_key(email), client_key(client)] {
            let id: i64 = sqlx::query_scalar("INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id").bind(key).bind(now).fetch_one(pool).await?;
            ids.push(id);
        }
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(now - WINDOW_MS).execute(pool).await?;
        Ok(ids)
    })
}

/// Forget an attempt counted by [`record_failure`] that succeeded.
pub async fn forget(db: &Db, ids: &[i64]) -> sqlx::Result<()> {
    for id in ids {
        on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
    }
    Ok(())
}

/// A successful login clears the account's failures (the client's remain).
pub async fn clear_account(db: &Db, email: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(account_key(email)).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
