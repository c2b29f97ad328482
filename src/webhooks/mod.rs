//! Webhooks: one configuration per partner (the spec's `WebhookConfig`), deliveries written to
//! an outbox in the same transaction as the event, signed HTTP deliveries with retries, an
//! attempt log, replays, and the SSRF guard. The partner's `WebhookActor` drives the sending.

pub mod actor;
pub mod api;
pub mod delivery;
pub mod pages;
pub mod ssrf;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    db::{Db, now_ms},
    idempotency::IdemKey,
    on_db, on_tx, security,
};

/// The events a webhook can subscribe to.
pub const EVENTS: &[&str] = crate::events::WEBHOOK_EVENTS;

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
    /// When it was last saved: its version (a webhook actor reads it again when it changes).
    pub updated_at: i64,
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
        "SELECT partner_id, url, secret, events, is_active, last_triggered, last_status_code, failure_count, paused_reason, updated_at \
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
    async {
        let mut tx = db.begin().await?;
        let lock = tx.row_lock();
        let was: Option<(bool, String, String)> =
            on_tx!(&mut tx, c => sqlx::query_as(&format!("SELECT is_active, url, events FROM webhook_configs WHERE partner_id = $1{lock}"))
                .bind(partner_id)
                .fetch_optional(&mut *c)
                .await)?;
        let before = was.as_ref().map(|w| w.0);
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO webhook_configs (partner_id, url, secret, events, is_active, failure_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) \
             ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, events = excluded.events, is_active = excluded.is_active, \
             failure_count = CASE WHEN excluded.is_active AND NOT webhook_configs.is_active THEN 0 ELSE webhook_configs.failure_count END, \
             paused_reason = NULL, \
             updated_at = CASE WHEN webhook_configs.updated_at >= excluded.updated_at THEN webhook_configs.updated_at + 1 ELSE excluded.updated_at END",
        )
        .bind(partner_id)
        .bind(url)
        .bind(new_secret())
        .bind(&events)
        .bind(active)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let resumed = active && before == Some(false);
        let was_none = was.is_none();
        let mut skipped = 0;
        if resumed {
            if let Some(cutoff) = skip_before {
                skipped = on_tx!(&mut tx, c => sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'skipped-on-resume', locked_until = NULL \
                     WHERE partner_id = $1 AND status = 'PENDING' AND created_at < $2",
                )
                .bind(partner_id)
                .bind(cutoff)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            // What waited (queued while paused, or backing off) goes now, oldest first.
            on_tx!(&mut tx, c => sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE partner_id = $1 AND status = 'PENDING'")
                .bind(partner_id)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        // The trail keeps no credentials a receiver's address may carry (its user, password or
        // query string): entries are forever.
        let shown = |active: bool, url: &str, events: &str| {
            serde_json::json!({"url": without_credentials(url), "events": serde_json::from_str::<serde_json::Value>(events).unwrap_or_default(), "active": active})
        };
        let after = shown(active, url, &events);
        let before = was.map(|(a, u, e)| shown(a, &u, &e));
        if before.as_ref() != Some(&after) {
            let subject = without_credentials(url);
            let mut entry = crate::audit::Entry::new(crate::audit::Action::WebhookChanged, &subject).shop(partner_id).after(after);
            entry.before = before;
            crate::audit::record(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(Saved { created: was_none, resumed, skipped })
    }
    .await
}

pub async fn regenerate_secret(db: &Db, partner_id: &str) -> sqlx::Result<bool> {
    set_secret(db, partner_id, &new_secret(), None).await
}

/// A new signing secret, made by [`new_secret`]; with an API request's idempotency key, the
/// response (`body`, which carries the secret) is recorded in the same transaction.
pub async fn set_secret(db: &Db, partner_id: &str, secret: &str, once: Option<(&IdemKey, &str)>) -> sqlx::Result<bool> {
    async {
        let mut tx = db.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query(
            // `updated_at` is the configuration's version: it always moves forward.
            "UPDATE webhook_configs SET secret = $2, updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END WHERE partner_id = $1",
        )
            .bind(partner_id)
            .bind(secret)
            .bind(now_ms())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if n != 1 {
            return Ok(false);
        }
        if let Some((key, body)) = once {
            crate::idempotency::record(&mut tx, key, 200, None, Some(body)).await?;
        }
        crate::audit::record(&mut tx, crate::audit::Entry::new(crate::audit::Action::WebhookSecretChanged, "").shop(partner_id)).await?;
        tx.commit().await?;
        Ok(true)
    }
    .await
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
}

/// A receiver's address without what may be a credential: its user and password, its query
/// string and fragment (`https://shop.cm/hooks?token=…` → `https://shop.cm/hooks?…`).
fn without_credentials(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else { return String::new() };
    let had_query = u.query().is_some_and(|q| !q.is_empty());
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    let mut out = u.to_string();
    if had_query {
        out.push_str("?…");
    }
    out
}

#[cfg(test)]
mod credential_tests {
    #[test]
    fn addresses_are_recorded_without_credentials() {
        assert_eq!(super::without_credentials("https://user:pw@shop.cm/hooks?token=abc#x"), "https://shop.cm/hooks?…");
        assert_eq!(super::without_credentials("https://shop.cm/hooks"), "https://shop.cm/hooks");
    }
}
