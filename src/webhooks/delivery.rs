//! Sending deliveries: claim the due ones (once, even across instances), POST them signed,
//! record every attempt, schedule retries with jitter, pause a webhook that keeps failing.
//! `now` is a parameter everywhere so that tests drive the clock.

use std::time::{Duration, Instant};

use crate::{
    db::Db,
    events::{self, Bus, Event, Kind},
    idempotency::IdemKey,
    on_db, on_tx,
    webhooks::{self, WebhookConfig, ssrf::GuardedResolver},
};

/// Delay before each attempt after the first failure: immediately, 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, 10 h. After the last one the delivery fails for good.
pub const SCHEDULE_MS: [i64; 8] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/// Deliveries in flight at once for one partner: claimed together, sent concurrently and
/// recorded together (a few statements per batch, whatever its size). A slow or dead endpoint
/// holds only its own partner's slots.
pub const MAX_IN_FLIGHT: usize = 64;
/// Consecutive failures after which the webhook is paused.
pub const PAUSE_AFTER_FAILURES: i64 = 25;
/// A claimed delivery not finished within this time (a crash) is claimed again. Longer than
/// the 15 s request timeout, so that a slow delivery is not sent twice.
pub const DEFAULT_LOCK_MS: i64 = 60_000;
/// How much of a response is kept in the log.
pub const EXCERPT_BYTES: usize = 1024;

/// How deliveries are sent: the client, whether loopback is allowed (development and tests),
/// and how long a claim holds.
#[derive(Clone, Debug)]
pub struct Sending {
    pub client: reqwest::Client,
    pub allow_loopback: bool,
    pub lock_ms: i64,
}

impl Sending {
    pub fn new(allow_loopback: bool, lock_ms: i64) -> Sending {
        Sending { client: client(allow_loopback), allow_loopback, lock_ms }
    }
}

/// The HTTP client for deliveries: 5 s to connect, 15 s in all, no redirects, no proxy, and a
/// resolver that only hands out public addresses.
pub fn client(allow_loopback: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { allow_loopback })
        .user_agent(concat!("DELIVR-CM-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook HTTP client builds")
}

/// A delivery being sent.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub partner_id: String,
    pub event_id: String,
    pub event_kind: String,
    pub body: String,
    pub attempts: i64,
    /// The version (`updated_at`) of the partner's configuration when it was claimed.
    pub config_version: i64,
}

/// Claim up to `limit` due deliveries of a partner whose webhook is active: pending ones whose
/// time has come, and sending ones whose claim lapsed (a crash). Written so that both backends
/// read only the partner's waiting rows (the index on partner, status and time), never the
/// delivered ones. On PostgreSQL `FOR UPDATE SKIP LOCKED` makes each row go to exactly one
/// instance; on SQLite the single writer does the same.
pub async fn claim_due(db: &Db, partner_id: &str, now: i64, limit: usize, lock_ms: i64) -> sqlx::Result<Vec<Delivery>> {
    let lock = if db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'SENDING', locked_until = $3 WHERE id IN (\
           SELECT d.id FROM webhook_deliveries d WHERE d.partner_id = $1 \
           AND d.status IN ('PENDING', 'SENDING') AND CASE d.status WHEN 'PENDING' THEN d.next_attempt_at <= $2 ELSE d.locked_until < $2 END \
           AND EXISTS (SELECT 1 FROM webhook_configs c WHERE c.partner_id = $1 AND c.is_active = TRUE) \
           ORDER BY d.next_attempt_at, d.created_at LIMIT {limit}{lock}) \
         RETURNING id, partner_id, event_id, event_kind, body, attempts, \
           (SELECT c.updated_at FROM webhook_configs c WHERE c.partner_id = webhook_deliveries.partner_id) AS config_version"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(partner_id).bind(now).bind(now + lock_ms).fetch_all(pool).await)
}

/// Partners with deliveries due at `now` (for the sweeper that wakes their actors).
pub async fn partners_with_due(db: &Db, now: i64) -> sqlx::Result<Vec<String>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT DISTINCT d.partner_id FROM webhook_deliveries d JOIN webhook_configs c ON c.partner_id = d.partner_id \
         WHERE c.is_active = TRUE AND ((d.status = 'PENDING' AND d.next_attempt_at <= $1) OR (d.status = 'SENDING' AND d.locked_until < $1))",
    )
    .bind(now)
    .fetch_all(pool)
    .await)
}

/// When the oldest delivery still waiting to be sent (to an active webhook) was created.
pub async fn oldest_waiting(db: &Db) -> sqlx::Result<Option<i64>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT MIN(d.created_at) FROM webhook_deliveries d JOIN webhook_configs c ON c.partner_id = d.partner_id \
         WHERE c.is_active = TRUE AND d.status IN ('PENDING', 'SENDING')",
    )
    .fetch_one(pool)
    .await)
}

/// Deliveries waiting to be sent (active webhooks only) and when the oldest was created.
pub async fn waiting(db: &Db) -> sqlx::Result<(i64, Option<i64>)> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*), MIN(d.created_at) FROM webhook_deliveries d JOIN webhook_configs c ON c.partner_id = d.partner_id \
         WHERE c.is_active = TRUE AND d.status IN ('PENDING', 'SENDING')",
    )
    .fetch_one(pool)
    .await)
}

/// When the partner's next pending delivery is due, if any.
pub async fn next_due(db: &Db, partner_id: &str) -> sqlx::Result<Option<i64>> {
    on_db!(db, pool => sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE partner_id = $1 AND status = 'PENDING'")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

/// What one attempt gave.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status_code: Option<u16>,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// POST one delivery. At most [`EXCERPT_BYTES`] of the answer are read: a receiver that
/// answers with megabytes cannot hurt us.
pub async fn send(client: &reqwest::Client, cfg: &WebhookConfig, d: &Delivery, now_ms: i64, allow_loopback: bool) -> Outcome {
    let started = Instant::now();
    let elapsed = |s: Instant| s.elapsed().as_millis() as i64;
    if let Err(e) = webhooks::ssrf::check_shape(&cfg.url, allow_loopback) {
        return Outcome { error: Some(format!("refused URL: {e:?}")), duration_ms: 0, ..Outcome::default() };
    }
    let timestamp = now_ms / 1000;
    let request = client
        .post(&cfg.url)
        .header("content-type", "application/json")
        .header("x-delivr-signature", webhooks::delivr_signature(&cfg.secret, d.body.as_bytes()))
        .header("x-delivr-event", &d.event_kind)
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", webhooks::standard_signature(&cfg.secret, &d.event_id, timestamp, d.body.as_bytes()))
        .body(d.body.clone());
    match request.send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut excerpt = Vec::new();
            while excerpt.len() < EXCERPT_BYTES {
                match resp.chunk().await {
                    Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - excerpt.len())]),
                    _ => break,
                }
            }
            let text = String::from_utf8_lossy(&excerpt).into_owned();
            Outcome { status_code: Some(status), excerpt: (!text.is_empty()).then_some(text), error: None, duration_ms: elapsed(started) }
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            let mut chain = format!("{kind}: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            chain.truncate(EXCERPT_BYTES);
            Outcome { error: Some(chain), duration_ms: elapsed(started), ..Outcome::default() }
        }
    }
}

/// The delay before the next attempt, with ±10 % jitter so that retries do not stampede.
pub fn retry_delay(attempts_so_far: i64, jitter: f64) -> Option<i64> {
    let base = *SCHEDULE_MS.get(attempts_so_far as usize)?;
    Some((base as f64 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0))).round() as i64)
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).unwrap_or_default();
    (u16::from_le_bytes(b) as f64 / u16::MAX as f64) * 2.0 - 1.0
}

/// The data of `webhook.paused` (it only tells the vendor).
#[derive(serde::Serialize)]
struct PausedData {
    reason: &'static str,
    failures: i64,
}

/// Rows written by one statement when a batch is recorded (7 values each, far below either
/// backend's limit on bound values).
const ROWS_PER_STATEMENT: usize = 64;

/// One attempt's result, decided before it is written.
struct Decided<'a> {
    delivery: &'a Delivery,
    outcome: &'a Outcome,
    attempt: i64,
    status: &'static str,
    next: Option<i64>,
    status_code: Option<i64>,
}

/// Record a batch of attempts of one partner in one transaction, a few statements whatever its
/// size: the log rows, the deliveries' new states, then the configuration's counters, which
/// run over the attempts in order as if each had been recorded alone; pause the webhook (and
/// tell the partner) when it keeps failing.
pub async fn record(db: &Db, bus: &Bus, attempts: &[(Delivery, Outcome)], now: i64) -> sqlx::Result<Option<Counters>> {
    let Some((first, _)) = attempts.first() else { return Ok(None) };
    let partner_id = first.partner_id.clone();
    let decided: Vec<Decided> = attempts
        .iter()
        .map(|(d, outcome)| {
            let attempt = d.attempts + 1;
            let ok = outcome.ok();
            // `attempt` attempts made; the schedule gives the delay before attempt + 1.
            let next = if ok { None } else { retry_delay(attempt, jitter()).map(|delay| now + delay) };
            let status = match (ok, next) {
                (true, _) => "DELIVERED",
                (false, Some(_)) => "PENDING",
                (false, None) => "FAILED",
            };
            Decided { delivery: d, outcome, attempt, status, next, status_code: outcome.status_code.map(i64::from) }
        })
        .collect();
    let recorded = async {
        let mut tx = db.begin().await?;
        for rows in decided.chunks(ROWS_PER_STATEMENT) {
            write_attempts(&mut tx, rows, now).await?;
        }
        let lock = tx.row_lock();
        let start: i64 = on_tx!(&mut tx, c => sqlx::query_scalar(&format!("SELECT failure_count FROM webhook_configs WHERE partner_id = $1{lock}"))
        .bind(&partner_id)
        .fetch_one(&mut *c)
        .await)?;
        // The consecutive failures after each attempt, as one-by-one recording counted them.
        let mut failures = start;
        let mut pause: Option<(bool, i64)> = None;
        for x in &decided {
            let ok = x.outcome.ok();
            failures = if ok { 0 } else { failures + 1 };
            let exhausted = x.status == "FAILED";
            if !ok && (exhausted || failures >= PAUSE_AFTER_FAILURES) {
                pause = Some((exhausted, failures));
            }
        }
        let last_status_code = decided.last().and_then(|x| x.status_code);
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE webhook_configs SET last_triggered = $2, last_status_code = $3, failure_count = $4 WHERE partner_id = $1",
        )
        .bind(&partner_id)
        .bind(now)
        .bind(last_status_code)
        .bind(failures)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let mut counters = Counters { failures, last_status_code, last_triggered: now, paused_reason: None };
        let mut paused = None;
        if let Some((exhausted, failures)) = pause {
            let reason = if exhausted { "retries-exhausted" } else { "consecutive-failures" };
            let paused_now = on_tx!(&mut tx, c => sqlx::query("UPDATE webhook_configs SET is_active = FALSE, paused_reason = $2 WHERE partner_id = $1 AND is_active = TRUE")
                .bind(&partner_id)
                .bind(reason)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            if paused_now == 1 {
                let data = PausedData { reason, failures };
                paused = Some(events::record(&mut tx, &Event::new(&partner_id, Kind::WebhookPaused, None, &data), now).await?);
            }
            counters.paused_reason = Some(reason);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>((paused, counters))
    }
    .await?;
    let (paused, counters) = recorded;
    for x in &decided {
        let outcome = match x.status {
            "DELIVERED" => "delivered",
            "PENDING" => "retry",
            _ => "failed",
        };
        metrics::counter!("delivr_webhook_attempts_total", "outcome" => outcome).increment(1);
    }
    if let Some(recorded) = paused {
        tracing::warn!(partner_id, "webhook paused after repeated failures");
        bus.announce(recorded);
    }
    Ok(Some(counters))
}

/// The attempt log rows and the deliveries' new states of some attempts: two statements.
async fn write_attempts(tx: &mut crate::db::Tx, rows: &[Decided<'_>], now: i64) -> sqlx::Result<()> {
    let placeholders = |width: usize, first: usize| {
        (0..rows.len())
            .map(|r| {
                let cells: Vec<String> = (0..width).map(|i| format!("${}", first + r * width + i)).collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let insert = format!(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code, response_excerpt, error) VALUES {}",
        placeholders(7, 1)
    );
    on_tx!(tx, c => {
        let mut q = sqlx::query(&insert);
        for x in rows {
            q = q.bind(&x.delivery.id).bind(x.attempt).bind(now).bind(x.outcome.duration_ms).bind(x.status_code)
                .bind(x.outcome.excerpt.as_deref()).bind(x.outcome.error.as_deref());
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    // Both backends name a VALUES list's columns column1, column2, …
    let update = format!(
        "UPDATE webhook_deliveries SET status = v.column2, attempts = v.column3, next_attempt_at = COALESCE(v.column4, next_attempt_at), \
         locked_until = NULL, last_status_code = v.column5, last_error = v.column6, \
         delivered_at = CASE WHEN v.column2 = 'DELIVERED' THEN $1 ELSE delivered_at END \
         FROM (VALUES {}) AS v WHERE webhook_deliveries.id = v.column1",
        placeholders(6, 2)
    );
    on_tx!(tx, c => {
        let mut q = sqlx::query(&update).bind(now);
        for x in rows {
            q = q.bind(&x.delivery.id).bind(x.status).bind(x.attempt).bind(x.next).bind(x.status_code).bind(x.outcome.error.as_deref());
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// What a batch left in the configuration: the consecutive failures, the last answer, and the
/// pause when it decided one.
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    pub failures: i64,
    pub last_status_code: Option<i64>,
    pub last_triggered: i64,
    pub paused_reason: Option<&'static str>,
}

/// Claim and send up to `limit` due deliveries of one partner, concurrently, then record the
/// batch in one transaction; returns how many were attempted.
pub async fn deliver_due(db: &Db, bus: &Bus, sending: &Sending, partner_id: &str, now: i64, limit: usize) -> sqlx::Result<usize> {
    deliver_due_with(db, bus, sending, partner_id, now, limit, &mut None).await
}

/// [`deliver_due`] with the configuration a webhook actor holds: used as it is while its
/// version is the stored one (read again otherwise), and kept up to date with the failures and
/// the pause the batch leaves.
pub async fn deliver_due_with(
    db: &Db,
    bus: &Bus,
    sending: &Sending,
    partner_id: &str,
    now: i64,
    limit: usize,
    held: &mut Option<WebhookConfig>,
) -> sqlx::Result<usize> {
    let claimed = claim_due(db, partner_id, now, limit, sending.lock_ms).await?;
    let Some(version) = claimed.first().map(|d| d.config_version) else { return Ok(0) };
    if held.as_ref().is_none_or(|c| c.updated_at != version) {
        *held = webhooks::config(db, partner_id).await?;
    }
    let Some(cfg) = held.clone() else { return Ok(0) };
    let sends = claimed.into_iter().map(|d| async {
        let outcome = send(&sending.client, &cfg, &d, now, sending.allow_loopback).await;
        (d, outcome)
    });
    let attempts = futures_util::future::join_all(sends).await;
    if let (Some(counters), Some(cfg)) = (record_patiently(db, bus, &attempts, now, sending.lock_ms).await?, held.as_mut()) {
        cfg.failure_count = counters.failures;
        cfg.last_status_code = counters.last_status_code;
        cfg.last_triggered = Some(counters.last_triggered);
        if let Some(reason) = counters.paused_reason {
            cfg.is_active = false;
            cfg.paused_reason = Some(reason.to_owned());
        }
    }
    Ok(attempts.len())
}

/// [`record`], retried while the database is out of reach (a restart) for as long as the claim
/// holds: the attempts were made, and forgetting them would send them again once the claim
/// lapses. Past that another instance may claim them, so this one gives up.
async fn record_patiently(db: &Db, bus: &Bus, attempts: &[(Delivery, Outcome)], now: i64, lock_ms: i64) -> sqlx::Result<Option<Counters>> {
    let until = std::time::Instant::now() + std::time::Duration::from_millis((lock_ms.max(0) as u64) * 3 / 4);
    let mut wait = std::time::Duration::from_millis(250);
    loop {
        match record(db, bus, attempts, now).await {
            Err(e) if crate::db::unavailable(&e) && !matches!(e, sqlx::Error::PoolClosed) && std::time::Instant::now() + wait < until => {
                tracing::warn!(error = %e, attempts = attempts.len(), "recording webhook attempts: database unavailable, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(4));
            }
            recorded => return recorded,
        }
    }
}

/// Queue a test event with id `event_id` (delivered whatever the subscription); with an API
/// request's idempotency key, its response `body` is recorded in the same transaction.
pub async fn enqueue_test(db: &Db, partner_id: &str, event_id: &str, now: i64, once: Option<(&IdemKey, &str)>) -> sqlx::Result<()> {
    let body =
        crate::events::event_body(event_id, "webhook.test", now, r#"{"message":"Test DELIVR-CM : votre webhook est bien configuré."}"#);
    async {
        let mut tx = db.begin().await?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, 'webhook.test', $4, 'PENDING', 0, $5, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(partner_id)
        .bind(event_id)
        .bind(&body)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if let Some((key, response)) = once {
            crate::idempotency::record(&mut tx, key, 202, None, Some(response)).await?;
        }
        tx.commit().await
    }
    .await
}

/// Send an existing delivery's event again, as a new delivery with the same event id; with an
/// API request's idempotency key, its response `body` is recorded in the same transaction.
pub async fn replay(db: &Db, partner_id: &str, delivery_id: &str, now: i64, once: Option<(&IdemKey, &str)>) -> sqlx::Result<bool> {
    async {
        let mut tx = db.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
             SELECT $1, partner_id, event_id, event_kind, body, 'PENDING', 0, $3, $3 FROM webhook_deliveries WHERE id = $2 AND partner_id = $4",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(delivery_id)
        .bind(now)
        .bind(partner_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n != 1 {
            return Ok(false);
        }
        if let Some((key, response)) = once {
            crate::idempotency::record(&mut tx, key, 202, None, Some(response)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spaces_retries_with_bounded_jitter() {
        assert_eq!(retry_delay(0, 0.0), Some(0));
        assert_eq!(retry_delay(1, 0.0), Some(5_000));
        assert_eq!(retry_delay(2, 1.0), Some(330_000));
        assert_eq!(retry_delay(3, -1.0), Some(1_620_000));
        assert_eq!(retry_delay(7, 0.0), Some(36_000_000));
        assert_eq!(retry_delay(8, 0.0), None);
    }
}
