//! Couriers: token authentication for the courier app, the actions a courier takes on an
//! order, GPS positions (latest per order plus a thinned history), and the simulator that
//! drives demo orders through the same functions.

pub mod admin;
pub mod api;
pub mod simulator;

use crate::{
    db::{Db, now_ms},
    events::Bus,
    geo, on_db, on_tx,
    orders::{
        model::{Action, Role},
        repo::{self, Order},
        service::{self, Actor, OrderError},
    },
    security,
};

/// Positions from one courier closer together than this are refused (429).
pub const MIN_POSITION_INTERVAL_MS: i64 = 1000;
/// The history keeps a point at most this often…
const HISTORY_EVERY_MS: i64 = 30_000;
/// …unless the courier moved at least this far.
const HISTORY_EVERY_M: f64 = 100.0;

/// Cameroon's bounding box, with a margin: a position outside is a bad fix or bad input.
pub fn plausible(lat: f64, lng: f64) -> bool {
    lat.is_finite() && lng.is_finite() && (1.5..=13.2).contains(&lat) && (8.3..=16.3).contains(&lng)
}

/// A courier token lives this long after its last use (a working day with margin).
pub const TOKEN_TTL_MS: i64 = 12 * 60 * 60 * 1000;
/// Its expiry is pushed back at most this often, to keep requests cheap.
const TOKEN_RENEW_EVERY_MS: i64 = 60_000;

/// Issue an API token for a courier; returns the raw token (shown once; only its SHA-256 is
/// kept).
pub async fn issue_token(db: &Db, user_id: &str) -> sqlx::Result<String> {
    let raw = format!("dlvc_{}", security::random_token(32));
    let now = now_ms();
    on_db!(db, pool => sqlx::query(
        "INSERT INTO courier_tokens (token_hash, user_id, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
    )
        .bind(security::sha256_hex(raw.as_bytes()))
        .bind(user_id)
        .bind(now)
        .bind(now + TOKEN_TTL_MS)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(raw)
}

/// The courier (user id, name) behind a token, if valid: not revoked, not expired, its
/// courier active. Using it pushes its expiry back.
pub async fn authenticate(db: &Db, raw: &str) -> sqlx::Result<Option<(String, String)>> {
    if raw.len() > 100 {
        return Ok(None);
    }
    let hash = security::sha256_hex(raw.as_bytes());
    let now = now_ms();
    let row: Option<(String, String, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT u.id, u.full_name, t.last_used_at FROM courier_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.role = 'COURIER' AND u.is_active = TRUE",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(pool)
    .await)?;
    let Some((id, name, last_used)) = row else { return Ok(None) };
    if now - last_used > TOKEN_RENEW_EVERY_MS {
        on_db!(db, pool => sqlx::query("UPDATE courier_tokens SET last_used_at = $2, expires_at = $3 WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(&hash)
            .bind(now)
            .bind(now + TOKEN_TTL_MS)
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    Ok(Some((id, name)))
}

/// Revoke every token of a courier (deactivation, an admin's "sign out", a password change);
/// returns how many were live.
pub async fn revoke_tokens(db: &Db, user_id: &str) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("UPDATE courier_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}

/// A courier as the admin pages list them.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Courier {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub is_active: bool,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    pub last_used_at: Option<i64>,
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<Courier>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT u.id, u.email, u.full_name, u.phone, u.is_active, \
         (SELECT COUNT(*) FROM courier_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > $1) AS live_tokens, \
         (SELECT MAX(t.last_used_at) FROM courier_tokens t WHERE t.user_id = u.id) AS last_used_at \
         FROM users u WHERE u.role = 'COURIER' ORDER BY u.full_name, u.email",
    )
    .bind(now_ms())
    .fetch_all(pool)
    .await)
}

/// Is this user a courier (active or not)?
pub async fn is_courier(db: &Db, user_id: &str) -> sqlx::Result<bool> {
    let found: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND role = 'COURIER'").bind(user_id).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Activate or deactivate a courier; deactivation revokes their tokens in the same transaction.
/// `false` if there is no such courier.
pub async fn set_active(db: &Db, user_id: &str, active: bool) -> sqlx::Result<bool> {
    let now = now_ms();
    async {
        let mut tx = db.begin().await?;
        let done = on_tx!(&mut tx, c => sqlx::query("UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1 AND role = 'COURIER'")
            .bind(user_id)
            .bind(active)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if !active {
            on_tx!(&mut tx, c => sqlx::query("UPDATE courier_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL").bind(user_id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        Ok(done == 1)
    }
    .await
}

/// A courier's action on an order assigned to them (the courier API and the simulator).
pub async fn act(db: &Db, bus: &Bus, courier_id: &str, order: &Order, action: &Action) -> Result<Order, OrderError> {
    let actor = Actor { role: Role::Courier, user_id: Some(courier_id.to_owned()) };
    service::transition(db, bus, order, action, &actor, now_ms()).await
}

/// Active orders assigned to a courier.
pub async fn active_orders(db: &Db, courier_id: &str) -> sqlx::Result<Vec<Order>> {
    let sql = format!(
        "{} WHERE o.courier_id = $1 AND o.status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING') ORDER BY o.created_at",
        repo::SELECT
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(courier_id).fetch_all(pool).await)
}

#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error("coordinates outside Cameroon or not numbers")]
    Implausible,
    #[error("order not assigned to this courier or not in progress")]
    NotYours,
    #[error("too frequent; retry in {0} ms")]
    TooFrequent(i64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Record a courier's position on one of their orders in progress.
pub async fn record_position(db: &Db, courier_id: &str, order: &Order, lat: f64, lng: f64, at: i64) -> Result<(), PositionError> {
    if !plausible(lat, lng) {
        return Err(PositionError::Implausible);
    }
    if order.courier_id.as_deref() != Some(courier_id) || !order.status().in_progress() {
        return Err(PositionError::NotYours);
    }
    let last: Option<(i64,)> = on_db!(db, pool => sqlx::query_as("SELECT MAX(at) FROM order_positions_latest WHERE courier_id = $1 HAVING MAX(at) IS NOT NULL")
        .bind(courier_id)
        .fetch_optional(pool)
        .await)?;
    if let Some((last_at,)) = last
        && at - last_at < MIN_POSITION_INTERVAL_MS
    {
        return Err(PositionError::TooFrequent(MIN_POSITION_INTERVAL_MS - (at - last_at)));
    }
    let last_history: Option<(f64, f64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT lat, lng, at FROM order_positions WHERE order_id = $1 ORDER BY at DESC LIMIT 1",
    )
    .bind(&order.id)
    .fetch_optional(pool)
    .await)?;
    let is_pg = db.is_postgres();
    let keep = match last_history {
        None => true,
        Some((plat, plng, pat)) => at - pat >= HISTORY_EVERY_MS || geo::distance_km((plat, plng), (lat, lng)) * 1000.0 >= HISTORY_EVERY_M,
    };
    async {
        let mut tx = db.begin().await?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO order_positions_latest (order_id, courier_id, lat, lng, at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (order_id) DO UPDATE SET courier_id = excluded.courier_id, lat = excluded.lat, lng = excluded.lng, at = excluded.at",
        )
        .bind(&order.id)
        .bind(courier_id)
        .bind(lat)
        .bind(lng)
        .bind(at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if is_pg {
            // Other instances' streams learn of it at commit (ids only; they read the row).
            on_tx!(&mut tx, c => sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::notifications::CHANNEL)
                .bind(format!("pos:{}:{}", order.partner_id, order.id))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        if keep {
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO order_positions (order_id, lat, lng, at) VALUES ($1, $2, $3, $4)")
                .bind(&order.id)
                .bind(lat)
                .bind(lng)
                .bind(at)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        tx.commit().await
    }
    .await?;
    Ok(())
}

/// Record a position and tell this instance's streams (other instances hear it from the
/// database); the courier API and the simulator both report through here.
pub async fn report_position(
    db: &Db,
    bus: &Bus,
    courier_id: &str,
    order: &Order,
    lat: f64,
    lng: f64,
    at: i64,
) -> Result<(), PositionError> {
    record_position(db, courier_id, order, lat, lng, at).await?;
    if !db.is_postgres() {
        bus.publish(crate::events::Notice {
            partner_id: order.partner_id.to_string(),
            seq: 0,
            kind: "position".to_owned(),
            order_id: Some(order.id.to_string()),
            ..Default::default()
        });
    }
    Ok(())
}
