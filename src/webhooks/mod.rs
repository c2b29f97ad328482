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
    let now = now_ms();
    let events = serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned());
    on_db!(db, pool => sqlx::query(
        "INSERT INTO webhook_configs (partner_id, url, secret, events, is_active, failure_count, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6) \
         ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, events = excluded.events, is_active = excluded.is_active, \
         failure_count = CASE WHEN excluded.is_active AND NOT webhook_configs.is_active THEN 0 ELSE webhook_configs.failure_count END, \
         paused_reason = CASE WHEN excluded.is_active THEN NULL ELSE webhook_configs.paused_reason END, updated_at = excluded.updated_at",
    )
    .bind(partner_id)
    .bind(url)
    .bind(new_secret())
    .bind(&events)
    .bind(active)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))
}

pub async fn regenerate_secret(db: &Db, partner_id: &str) -> sqlx::Result<bool> {
    let n = on_db!(db, pool => sqlx::query("UPDATE webhook_configs SET secret = $2, updated_at = $3 WHERE partner_id = $1")
        .bind(partner_id)
        .bind(new_secret())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The JSON body of an event delivery: the spec's payload plus a unique `id`. The signature
/// is a header, never part of the body.
pub fn event_body(event_id: &str, kind: &str, at_ms: i64, data_json: &str) -> String {
    let ts = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true);
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    format!(r#"{{"id":{},"event":{},"timestamp":{},"data":{}}}"#, s(event_id), s(kind), s(&ts), data_json)
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
        let body = $crate::webhooks::event_body(&event_id, $kind, $at, $data_json);
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
             SELECT $1, partner_id, $2, $3, $4, 'PENDING', 0, $5, $5 FROM webhook_configs \
             WHERE partner_id = $6 AND is_active = TRUE AND events LIKE $7",
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
