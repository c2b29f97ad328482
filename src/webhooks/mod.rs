//! Webhooks: one configuration per partner (the spec's `WebhookConfig`), deliveries written to
//! an outbox in the same transaction as the event, signed HTTP deliveries with retries, an
//! attempt log, replays, and the SSRF guard. The partner's `WebhookActor` drives the sending.

pub mod api;
pub mod delivery;
pub mod pages;
pub mod ssrf;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    db::{Db, now_ms},
    idempotency::IdemKey,
    on_db, security,
};

/// The events a webhook can subscribe to: the spec's seven, `order.failed`, and the disputes'.
pub const EVENTS: &[&str] = &[
    "order.created",
    "order.assigned",
    "order.picked_up",
    "order.in_transit",
    "order.completed",
    "order.cancelled",
    "order.failed",
    "payment.received",
    "dispute.opened",
    "dispute.updated",
    "dispute.resolved",
];

/// The webhook configuration of a partner.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct WebhookConfig {
    pub partner_id: String,
    pub url: String,
    pub secret: String,
    /// JSON list of event names.
    pub events: String,
    pub is_active: bool,
    pub last_triggered: Option<i64>,
    pub last_status_code: Option<i64>,
    pub failure_count: i64,
    pub paused_reason: Option<String>,
}

impl WebhookConfig {
    pub fn event_list(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

/// A fresh secret, in the Standard Webhooks format (`whsec_` + base64 of 32 random bytes).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    format!("whsec_{}", STANDARD.encode(bytes))
}

pub async fn config(db: &Db, partner_id: &str) -> sqlx::Result<Option<WebhookConfig>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT partner_id, url, secret, events, is_active, last_triggered, last_status_code, failure_count, paused_reason \
         FROM webhook_configs WHERE partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(pool)
    .await)
}

/// Create or update the configuration (a new one gets a generated secret). Re-activating
/// clears the failure count and the pause.
pub async fn save(db: &Db, partner_id: &str, url: &str, events: &[String], active: bool) -> sqlx::Result<()> {
    save_with(db, partner_id, url, events, active, None).await.map(|_| ())
}

/// What saving a configuration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Saved {
    /// There was no webhook: its secret was just made.
    pub created: bool,
    /// A paused or switched-off webhook was switched on: its queued events go out now, in order.
    pub resumed: bool,
    /// Queued events older than the chosen date, not sent (marked skipped in the log).
    pub skipped: u64,
}

/// [`save`], in one transaction. Resuming sends the events queued meanwhile (the pause did not
/// stop the queue), oldest first, except those created before `skip_before` when given. A
/// vendor who saves it switched off has chosen: it is no longer "paused", and queues nothing.
pub async fn save_with(
    db: &Db,
    partner_id: &str,
    url: &str,
    events: &[String],
    active: bool,
    skip_before: Option<i64>,
) -> sqlx::Result<Saved> {
    let now = now_ms();
    let events = serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned());
    let is_pg = db.is_postgres();
    on_db!(db, pool => async {
        let mut tx = if is_pg { pool.begin().await? } else { pool.begin_with("BEGIN IMMEDIATE").await? };
        let lock = if is_pg { " FOR UPDATE" } else { "" };
        let before: Option<bool> = sqlx::query_scalar(&format!("SELECT is_active FROM webhook_configs WHERE partner_id = $1{lock}"))
            .bind(partner_id)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO webhook_configs (partner_id, url, secret, events, is_active, failure_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) \
             ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, events = excluded.events, is_active = excluded.is_active, \
             failure_count = CASE WHEN excluded.is_active AND NOT webhook_configs.is_active THEN 0 ELSE webhook_configs.failure_count END, \
             paused_reason = NULL, updated_at = excluded.updated_at",
        )
        .bind(partner_id)
        .bind(url)
        .bind(new_secret())
        .bind(&events)
        .bind(active)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let resumed = active && before == Some(false);
        let mut skipped = 0;
        if resumed {
            if let Some(cutoff) = skip_before {
                skipped = sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'skipped-on-resume', locked_until = NULL \
                     WHERE partner_id = $1 AND status = 'PENDING' AND created_at < $2",
                )
                .bind(partner_id)
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            // What waited (queued while paused, or backing off) goes now, oldest first.
            sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE partner_id = $1 AND status = 'PENDING'")
                .bind(partner_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Saved { created: before.is_none(), resumed, skipped })
    }
    .await)
}

pub async fn regenerate_secret(db: &Db, partner_id: &str) -> sqlx::Result<bool> {
    set_secret(db, partner_id, &new_secret(), None).await
}

/// A new signing secret, made by [`new_secret`]; with an API request's idempotency key, the
/// response (`body`, which carries the secret) is recorded in the same transaction.
pub async fn set_secret(db: &Db, partner_id: &str, secret: &str, once: Option<(&IdemKey, &str)>) -> sqlx::Result<bool> {
    on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE webhook_configs SET secret = $2, updated_at = $3 WHERE partner_id = $1")
            .bind(partner_id)
            .bind(secret)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        if let Some((key, body)) = once {
            crate::idempotency::record(&mut *tx, key, 200, None, Some(body)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await)
}

/// The JSON body of an event delivery: the spec's payload plus a unique `id`. The signature
/// is a header, never part of the body.
pub fn event_body(event_id: &str, kind: &str, at_ms: i64, data_json: &str) -> String {
    event_body_in_sequence(event_id, kind, None, at_ms, data_json)
}

/// [`event_body`] with the event's `sequence`: increasing with each event of a partner, so a
/// receiver can put events delivered out of order (concurrent sends, retries) back in order.
pub fn event_body_in_sequence(event_id: &str, kind: &str, sequence: Option<i64>, at_ms: i64, data_json: &str) -> String {
    let ts = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true);
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    match sequence {
        Some(seq) => {
            format!(r#"{{"id":{},"event":{},"sequence":{seq},"timestamp":{},"data":{}}}"#, s(event_id), s(kind), s(&ts), data_json)
        }
        None => format!(r#"{{"id":{},"event":{},"timestamp":{},"data":{}}}"#, s(event_id), s(kind), s(&ts), data_json),
    }
}

/// `sha256=<hex HMAC-SHA256 of the raw body>` keyed with the secret string as is: exactly
/// what the spec's Python snippet computes.
pub fn delivr_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", security::hex(&mac.finalize().into_bytes()))
}

/// Standard Webhooks: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
/// base64-decoded part of `whsec_…`.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret.strip_prefix("whsec_").and_then(|b| STANDARD.decode(b).ok()).unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Write an event to the outbox inside the caller's transaction: the `domain_events` row, and
/// a delivery for the partner's webhook when it is active and subscribed. Evaluates to the
/// event's sequence number.
#[macro_export]
macro_rules! outbox_insert {
    ($tx:expr, $partner_id:expr, $kind:expr, $order_id:expr, $data_json:expr, $at:expr) => {{
        let event_id = uuid::Uuid::new_v4().to_string();
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO domain_events (id, partner_id, kind, order_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .bind(&event_id)
        .bind($partner_id)
        .bind($kind)
        .bind($order_id)
        .bind($data_json)
        .bind($at)
        .fetch_one(&mut *$tx)
        .await?;
        let body = $crate::webhooks::event_body_in_sequence(&event_id, $kind, Some(seq), $at, $data_json);
        // A paused webhook keeps its queue (it goes out when resumed); one the vendor switched
        // off gets nothing.
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
             SELECT $1, partner_id, $2, $3, $4, 'PENDING', 0, $5, $5 FROM webhook_configs \
             WHERE partner_id = $6 AND (is_active = TRUE OR paused_reason IS NOT NULL) AND events LIKE $7",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&event_id)
        .bind($kind)
        .bind(&body)
        .bind($at)
        .bind($partner_id)
        .bind(format!("%\"{}\"%", $kind))
        .execute(&mut *$tx)
        .await?;
        $crate::notification_insert!($tx, $partner_id, $kind, $order_id, $data_json, $at);
        seq
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_reference_values() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published test vector.
        assert_eq!(
            delivr_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        // Standard Webhooks' own example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn bodies_carry_the_spec_fields_and_an_id() {
        let body = event_body("e1", "order.completed", 1_770_805_800_000, r#"{"status":"COMPLETED"}"#);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], "e1");
        assert_eq!(v["event"], "order.completed");
        assert_eq!(v["timestamp"], "2026-02-11T10:30:00Z");
        assert_eq!(v["data"]["status"], "COMPLETED");
        assert!(v.get("signature").is_none());
    }
}
