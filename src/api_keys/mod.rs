//! API keys for integrators: `dlv_<prefix>.<secret>`, shown once, stored as a SHA-256 of the
//! whole key (a high-entropy secret needs no slow hash), revocable with immediate effect.
//! Only approved, non-suspended partners' keys authenticate.

pub mod pages;
pub mod quickstart;

use uuid::Uuid;

use crate::{
    audit,
    auth::{Authenticated, KeyCache, Remembered, TeamRole},
    db::{Db, now_ms},
    on_db, on_tx, security,
};

/// `last_used_at` is refreshed at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;
const PREFIX_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The role the key acts with (`OWNER`, `MANAGER`, `STAFF`, `ACCOUNTANT`).
    pub role: String,
    /// Who made it (the member's name), when known.
    pub created_by_name: Option<String>,
}

/// A new key: its row and the full secret, which is never stored.
pub struct NewKey {
    pub key: ApiKey,
    pub secret: String,
}

fn random_prefix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    let code: String = bytes.iter().map(|b| PREFIX_ALPHABET[*b as usize % PREFIX_ALPHABET.len()] as char).collect();
    format!("dlv_{code}")
}

pub async fn list(db: &Db, partner_id: &str) -> sqlx::Result<Vec<ApiKey>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at, k.role, u.full_name AS created_by_name \
         FROM api_keys k LEFT JOIN users u ON u.id = k.created_by WHERE k.partner_id = $1 ORDER BY k.created_at DESC",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await)
}

pub async fn count_active(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE partner_id = $1 AND revoked_at IS NULL")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

/// Create a key for an approved partner, made by its owner and acting with the owner's role
/// (`None` if the partner is not approved).
pub async fn create(db: &Db, partner_id: &str, name: &str) -> sqlx::Result<Option<NewKey>> {
    create_as(db, partner_id, name, None, TeamRole::Owner).await
}

/// Create a key for an approved partner, made by the member `created_by` (the shop's owner when
/// `None`) and acting with `role` (the caller checks the member may grant it).
pub async fn create_as(db: &Db, partner_id: &str, name: &str, created_by: Option<&str>, role: TeamRole) -> sqlx::Result<Option<NewKey>> {
    let approved: Option<bool> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT is_business_approved FROM partners WHERE id = $1 AND suspended_at IS NULL",
    )
    .bind(partner_id)
    .fetch_optional(pool)
    .await)?;
    if approved != Some(true) {
        return Ok(None);
    }
    loop {
        let prefix = random_prefix();
        let secret = format!("{prefix}.{}", security::random_token(24));
        let key = ApiKey {
            id: Uuid::new_v4().to_string(),
            name: name.to_owned(),
            prefix: prefix.clone(),
            created_at: now_ms(),
            last_used_at: None,
            revoked_at: None,
            role: role.as_str().to_owned(),
            created_by_name: None,
        };
        let inserted = insert(db, partner_id, &key, &secret, created_by).await;
        match inserted {
            Ok(()) => return Ok(Some(NewKey { key, secret })),
            // Prefix collision: draw another.
            Err(e) if crate::db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The key's row and its audit entry, in one transaction.
async fn insert(db: &Db, partner_id: &str, key: &ApiKey, secret: &str, created_by: Option<&str>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO api_keys (id, partner_id, name, prefix, hashed_key, created_at, role, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, (SELECT user_id FROM partners WHERE id = $2)))",
    )
    .bind(&key.id)
    .bind(partner_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(security::sha256_hex(secret.as_bytes()))
    .bind(key.created_at)
    .bind(&key.role)
    .bind(created_by)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    let entry = audit::Entry::new(audit::Action::ApiKeyCreated, &key.name)
        .shop(partner_id)
        .after(serde_json::json!({"prefix": key.prefix, "role": key.role}));
    audit::record(&mut tx, entry).await?;
    tx.commit().await
}

pub async fn revoke(db: &Db, partner_id: &str, id: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let revoked: Option<(String, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND partner_id = $2 AND revoked_at IS NULL RETURNING name, prefix",
    )
    .bind(id)
    .bind(partner_id)
    .bind(now_ms())
    .fetch_optional(&mut *c)
    .await)?;
    let Some((name, prefix)) = revoked else { return Ok(false) };
    audit::record(
        &mut tx,
        audit::Entry::new(audit::Action::ApiKeyRevoked, &name).shop(partner_id).before(serde_json::json!({"prefix": prefix})),
    )
    .await?;
    tx.commit().await?;
    crate::auth::credentials_changed();
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    partner_id: String,
    hashed_key: String,
    last_used_at: Option<i64>,
    role: String,
    created_by: Option<String>,
}

/// Check a presented key. Revoked keys and keys of unapproved or suspended partners fail. On
/// PostgreSQL the database is read every time, so revocation holds on the very next request,
/// everywhere; on SQLite a key checked before is remembered until any key or partner changes
/// (see [`crate::auth::KeyCache`]), which holds the same promise with one query fewer per request.
pub async fn authenticate(db: &Db, cache: &KeyCache, presented: &str) -> sqlx::Result<Option<Authenticated>> {
    let presented = presented.trim();
    let Some((prefix, _)) = presented.split_once('.') else { return Ok(None) };
    if !prefix.starts_with("dlv_") || prefix.len() != 12 || presented.len() > 100 {
        return Ok(None);
    }
    // The same work whether or not the prefix exists: the hash is computed and compared
    // either way (against a value no key hashes to when there is no row).
    let presented_hash = security::sha256_hex(presented.as_bytes());
    let remember = !db.is_postgres();
    let epoch = crate::auth::credentials_epoch();
    let now = now_ms();
    if remember && let Some(mut known) = cache.get(&presented_hash, epoch) {
        if known.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
            touch(db, &known.auth.key_id, now).await?;
            known.last_used_at = Some(now);
            cache.put(presented_hash, known.clone());
        }
        return Ok(Some(known.auth));
    }
    let row: Option<KeyRow> = on_db!(db, pool => sqlx::query_as(
        "SELECT k.id, k.partner_id, k.hashed_key, k.last_used_at, k.role, k.created_by FROM api_keys k JOIN partners p ON p.id = k.partner_id \
         WHERE k.prefix = $1 AND k.revoked_at IS NULL AND p.is_business_approved = TRUE AND p.suspended_at IS NULL",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await)?;
    const NO_KEY: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    let expected = row.as_ref().map_or(NO_KEY, |r| r.hashed_key.as_str());
    let matches = security::constant_time_eq(presented_hash.as_bytes(), expected.as_bytes());
    let Some(row) = row.filter(|_| matches) else { return Ok(None) };
    let mut last_used_at = row.last_used_at;
    if last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
        touch(db, &row.id, now).await?;
        last_used_at = Some(now);
    }
    // A key whose role cannot be read acts with the narrowest one.
    let role = TeamRole::parse(&row.role).unwrap_or(TeamRole::Accountant);
    let auth = Authenticated { key_id: row.id, partner_id: crate::ids::PartnerId::new(row.partner_id), role, created_by: row.created_by };
    if remember {
        cache.put(presented_hash, Remembered { epoch, auth: auth.clone(), last_used_at });
    }
    Ok(Some(auth))
}

async fn touch(db: &Db, key_id: &str, now: i64) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1").bind(key_id).bind(now).execute(pool).await.map(|_| ()))
}

/// The rate limit's window: `limit` requests per minute, counted in microseconds (so that a
/// limit above 60 000 a minute still spaces requests exactly).
pub const RATE_WINDOW_US: i64 = 60_000_000;

/// The outcome of one request against a key's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests that could still be made right now.
    pub remaining: i64,
    /// Milliseconds until the allowance is whole again.
    pub reset_ms: i64,
    /// When refused: milliseconds until the next request is allowed.
    pub retry_after_ms: i64,
}

/// Count one request against the key's limit, a GCRA (generic cell rate algorithm, a token
/// bucket kept as one "theoretical arrival time" per key): `limit` requests per minute, at
/// most `limit` in a burst, then one every `60 s / limit`, with no window edge to straddle.
/// On PostgreSQL, one statement on the shared database, so every instance counts the same
/// (an unlogged table: an allowance is not worth a disk flush per request, and a crash only
/// forgets the last minute's). The embedded SQLite file has one serving process, which keeps
/// the arrival times in memory (`local`): a request then writes nothing to the database.
pub async fn rate_limit(db: &Db, local: &crate::security::LocalLimits, key_id: &str, limit: i64, now: i64) -> sqlx::Result<RateDecision> {
    let limit = limit.max(1);
    let now = now * 1000;
    let interval = (RATE_WINDOW_US / limit).max(1);
    let (tat, refused) = match db {
        Db::Sqlite(_) => local.arrive(key_id, now, interval, RATE_WINDOW_US),
        Db::Postgres(pool) => {
            // Allowed when the new arrival time is at most a window ahead of now.
            sqlx::query_as(
                "INSERT INTO api_rate_limits (key_id, tat, refused) VALUES ($1, $2 + $3, FALSE) \
                 ON CONFLICT (key_id) DO UPDATE SET \
                 refused = (GREATEST(api_rate_limits.tat, $2) + $3 - $2 > $4), \
                 tat = CASE WHEN GREATEST(api_rate_limits.tat, $2) + $3 - $2 > $4 THEN api_rate_limits.tat \
                            ELSE GREATEST(api_rate_limits.tat, $2) + $3 END \
                 RETURNING tat, refused",
            )
            .bind(key_id)
            .bind(now)
            .bind(interval)
            .bind(RATE_WINDOW_US)
            .fetch_one(pool)
            .await?
        }
    };
    let ahead = (tat - now).max(0);
    Ok(RateDecision {
        allowed: !refused,
        remaining: ((RATE_WINDOW_US - ahead) / interval).max(0),
        reset_ms: (ahead + 999) / 1000,
        retry_after_ms: if refused { ((ahead + interval - RATE_WINDOW_US).max(1) + 999) / 1000 } else { 0 },
    })
}
