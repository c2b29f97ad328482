//! Idempotency keys of the integrator API, below the domains that use them. The API's
//! middleware looks a key up before the operation and stores the response after it; the
//! operation itself records its effect with the key *in the same transaction as the effect*
//! ([`record`]), so a retry after a crash at any point finds either nothing (nothing was done:
//! it runs again) or the effect (it is answered from it, never done twice).

use std::{collections::HashMap, sync::Arc};

use crate::{
    db::{Db, Tx, now_ms},
    on_db, on_tx,
};

/// How long a key is remembered.
pub const TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// The key a request carries, as the operation records it with its effect.
#[derive(Clone, Debug)]
pub struct IdemKey {
    pub partner_id: String,
    pub key: String,
    /// SHA-256 of the path and body: the same key with another request is refused.
    pub request_hash: String,
    /// This request's own mark, to tell its record from a concurrent request's.
    pub attempt: String,
}

/// What a key's record says.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Record {
    pub request_hash: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub response_body: Option<String>,
    pub effect: Option<String>,
    pub attempt: Option<String>,
    pub created_at: i64,
}

/// Record the effect of `key`'s operation inside the operation's transaction: `effect` names
/// the resource a retry is answered from, or `body` is the response itself. A concurrent
/// request that recorded the same key first makes this fail (unique key), which rolls the
/// whole operation back.
pub async fn record(tx: &mut Tx, key: &IdemKey, status: u16, effect: Option<&str>, body: Option<&str>) -> sqlx::Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO idempotency_keys (partner_id, key, request_hash, status, content_type, response_body, effect, attempt, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(key.partner_id.as_str())
    .bind(key.key.as_str())
    .bind(key.request_hash.as_str())
    .bind(i64::from(status))
    .bind(body.map(|_| "application/json; charset=utf-8"))
    .bind(body)
    .bind(effect)
    .bind(key.attempt.as_str())
    .bind(now_ms())
    .execute(&mut *c)
    .await
    .map(|_| ()))
}

/// The record of a key, if any (expired ones are deleted on the way).
pub async fn lookup(db: &Db, partner_id: &str, key: &str) -> sqlx::Result<Option<Record>> {
    let row: Option<Record> = on_db!(db, pool => sqlx::query_as(
        "SELECT request_hash, status, content_type, response_body, effect, attempt, created_at FROM idempotency_keys \
         WHERE partner_id = $1 AND key = $2",
    )
    .bind(partner_id)
    .bind(key)
    .fetch_optional(pool)
    .await)?;
    match row {
        // Expired, or left without an answer by the previous design: forget it.
        Some(r) if now_ms() - r.created_at > TTL_MS || r.status.is_none() => {
            // Only what is stale: another instance may have just recorded the key afresh.
            on_db!(db, pool => sqlx::query(
                "DELETE FROM idempotency_keys WHERE partner_id = $1 AND key = $2 AND (created_at < $3 OR status IS NULL)",
            )
            .bind(partner_id)
            .bind(key)
            .bind(now_ms() - TTL_MS)
            .execute(pool)
            .await
            .map(|_| ()))?;
            Ok(None)
        }
        other => Ok(other),
    }
}

/// Keep the response of `key`'s request for its retries: alongside the effect its operation
/// recorded, or as the whole record for an operation that changed nothing (a refusal). A
/// refusal never replaces an effect's record: the retry is answered from the effect.
pub async fn store_response(db: &Db, key: &IdemKey, status: u16, content_type: &str, body: &str) -> sqlx::Result<()> {
    let now = now_ms();
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO idempotency_keys (partner_id, key, request_hash, status, content_type, response_body, effect, attempt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) \
             ON CONFLICT (partner_id, key) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, \
             response_body = excluded.response_body \
             WHERE idempotency_keys.attempt = excluded.attempt AND (idempotency_keys.effect IS NULL OR excluded.status < 300)",
        )
        .bind(&key.partner_id)
        .bind(&key.key)
        .bind(&key.request_hash)
        .bind(i64::from(status))
        .bind(content_type)
        .bind(body)
        .bind(&key.attempt)
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(now - TTL_MS).execute(pool).await.map(|_| ())
    })
}

/// One lock per key in this process: requests with the same key run one after the other, so
/// the second is answered from the first's record instead of racing it. (Across instances the
/// unique key in [`record`] decides.)
#[derive(Default)]
pub struct KeyLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

pub struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    name: String,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl KeyLocks {
    pub async fn lock(&self, name: String) -> KeyGuard<'_> {
        let lock = match self.0.lock() {
            Ok(mut map) => map.entry(name.clone()).or_default().clone(),
            Err(poisoned) => poisoned.into_inner().entry(name.clone()).or_default().clone(),
        };
        KeyGuard { locks: self, name, _guard: lock.lock_owned().await }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        let mut map = match self.locks.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget the lock once nobody else holds or waits for it (the map's copy and ours).
        if map.get(&self.name).is_some_and(|l| Arc::strong_count(l) <= 2) {
            map.remove(&self.name);
        }
    }
}
