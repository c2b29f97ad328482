//! The webhooks part of the integrator API: read and change the configuration, regenerate the
//! secret, send a test event, list deliveries and replay one.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use crate::{
    db::now_ms,
    i18n::Msg,
    idempotency::IdemKey,
    on_db,
    state::AppState,
    web::api::{
        ApiKeyAuth, ApiTags,
        problem::{ApiProblem, request_lang},
        rfc3339,
    },
    web::forms::FieldErrors,
    webhooks::{self, EVENTS, WebhookConfig, delivery, ssrf},
};

pub struct WebhooksApi;

/// The partner's webhook (the secret is shown only when created or regenerated).
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct WebhookOut {
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    pub is_active: bool,
    #[oai(skip_serializing_if_is_none)]
    pub last_triggered: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub last_status_code: Option<i64>,
    /// Consecutive failed attempts; reset by a success.
    pub failure_count: i64,
    /// Why the webhook was paused: `retries-exhausted` or `consecutive-failures`. Events
    /// keep being queued while paused; they go out in order when it is switched on again.
    #[oai(skip_serializing_if_is_none)]
    pub paused_reason: Option<String>,
    /// The signing secret: only in the answer to the `PUT` that created the webhook (and to
    /// `POST /webhook/secret`). Keep it: it is not shown again.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
}

impl poem_openapi::types::Example for WebhookOut {
    fn example() -> Self {
        WebhookOut {
            url: "https://maboutique.cm/webhooks/delivr".into(),
            events: vec!["order.created".into(), "order.completed".into(), "payment.received".into()],
            is_active: true,
            last_triggered: Some("2026-02-11T10:30:00Z".into()),
            last_status_code: Some(200),
            failure_count: 0,
            paused_reason: None,
            secret: None,
        }
    }
}

impl From<&WebhookConfig> for WebhookOut {
    fn from(c: &WebhookConfig) -> Self {
        WebhookOut {
            url: c.url.clone(),
            events: c.event_list(),
            is_active: c.is_active,
            last_triggered: c.last_triggered.map(rfc3339),
            last_status_code: c.last_status_code,
            failure_count: c.failure_count,
            paused_reason: c.paused_reason.clone(),
            secret: None,
        }
    }
}

/// A webhook configuration to save.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct WebhookIn {
    /// A public http(s) URL (private and loopback addresses are refused).
    #[oai(validator(max_length = 500))]
    pub url: String,
    /// Events to receive, among `order.created`, `order.assigned`, `order.picked_up`,
    /// `order.in_transit`, `order.completed`, `order.cancelled`, `order.failed`,
    /// `order.reattempted`, `order.returning`, `order.returned`, `payment.received`,
    /// `dispute.opened`, `dispute.updated`, `dispute.resolved`, `booking.requested`.
    #[oai(validator(max_items = 20))]
    pub events: Vec<String>,
    /// Deliver events (default true). Switching a paused webhook on again sends the events
    /// queued during the pause, oldest first.
    pub is_active: Option<bool>,
    /// When switching a paused webhook on again: events created before this instant are not
    /// sent (they stay in the delivery log as `FAILED` with `last_error` `skipped-on-resume`,
    /// and can be replayed).
    #[oai(skip_serializing_if_is_none)]
    pub skip_before: Option<chrono::DateTime<chrono::Utc>>,
}

impl poem_openapi::types::Example for WebhookIn {
    fn example() -> Self {
        WebhookIn {
            url: "https://maboutique.cm/webhooks/delivr".into(),
            events: vec!["order.created".into(), "order.completed".into()],
            is_active: Some(true),
            skip_before: None,
        }
    }
}

/// The signing secret, shown after creation or regeneration.
#[derive(Object, Debug, Clone)]
pub struct WebhookSecret {
    /// `whsec_…`: the key of `X-Delivr-Signature` (as is) and of `webhook-signature` (base64 part).
    pub secret: String,
}

/// One delivery of an event.
#[derive(Object, Debug, Clone)]
pub struct DeliveryOut {
    pub id: String,
    /// The event id (`webhook-id`), the same on every attempt and replay.
    pub event_id: String,
    pub event: String,
    /// `PENDING`, `SENDING`, `DELIVERED` or `FAILED`.
    pub status: String,
    pub attempts: i64,
    #[oai(skip_serializing_if_is_none)]
    pub last_status_code: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_id: String,
    event_kind: String,
    status: String,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

#[derive(Object, Debug, Clone)]
pub struct DeliveryList {
    pub data: Vec<DeliveryOut>,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Queued; it is sent within seconds.
    #[oai(status = 202)]
    Accepted(Json<DeliveryAccepted>),
}

#[derive(Object, Debug, Clone)]
pub struct DeliveryAccepted {
    pub event_id: String,
}

async fn current(state: &AppState, partner_id: &str, lang: crate::i18n::Lang) -> Result<WebhookConfig, ApiProblem> {
    webhooks::config(&state.db, partner_id).await?.ok_or_else(|| ApiProblem::not_found(lang))
}

#[OpenApi]
impl WebhooksApi {
    /// The webhook configuration.
    #[oai(path = "/webhook", method = "get", operation_id = "getWebhook", tag = "ApiTags::Webhooks")]
    async fn get_webhook(&self, auth: ApiKeyAuth, state: Data<&AppState>) -> Result<Json<WebhookOut>, ApiProblem> {
        let cfg = current(&state, &auth.0.partner_id, request_lang()).await?;
        Ok(Json(WebhookOut::from(&cfg)))
    }

    /// Create or change the webhook configuration.
    #[oai(path = "/webhook", method = "put", operation_id = "putWebhook", tag = "ApiTags::Webhooks")]
    async fn put_webhook(&self, auth: ApiKeyAuth, state: Data<&AppState>, body: Json<WebhookIn>) -> Result<Json<WebhookOut>, ApiProblem> {
        let lang = request_lang();
        let b = body.0;
        let active = b.is_active.unwrap_or(true);
        let mut errors = FieldErrors::default();
        match ssrf::resolve_checked(&b.url, state.config.allow_loopback_webhooks).await {
            Ok(_) => {}
            Err(ssrf::UrlError::PrivateAddress) => errors.add("url", lang.t(Msg::ErrWebhookPrivate)),
            Err(ssrf::UrlError::Scheme) => errors.add("url", lang.t(Msg::ErrWebhookScheme)),
            Err(ssrf::UrlError::Unresolvable) => errors.add("url", lang.t(Msg::ErrWebhookUnresolvable)),
            Err(_) => errors.add("url", lang.t(Msg::ErrWebhookUrl)),
        }
        if let Some(bad) = b.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            errors.add("events", lang.fmt(Msg::ErrWebhookEvent, &[("event", bad)]));
        } else if b.events.is_empty() && active {
            errors.add("events", lang.t(Msg::ErrWebhookNoEvents));
        }
        if !errors.is_empty() {
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        }
        let mut events = b.events;
        events.sort();
        events.dedup();
        let skip_before = b.skip_before.map(|t| t.timestamp_millis());
        let saved = webhooks::save_with(&state.db, &auth.0.partner_id, b.url.trim(), &events, active, skip_before).await?;
        crate::webhooks::actor::wake(&state.actors, &auth.0.partner_id);
        let cfg = current(&state, &auth.0.partner_id, lang).await?;
        let mut out = WebhookOut::from(&cfg);
        // A new webhook's secret is shown once, as the portal does.
        if saved.created {
            out.secret = Some(cfg.secret.clone());
        }
        Ok(Json(out))
    }

    /// Regenerate the signing secret (the old one stops at once).
    #[oai(path = "/webhook/secret", method = "post", operation_id = "regenerateWebhookSecret", tag = "ApiTags::Webhooks")]
    async fn regenerate_secret(&self, auth: ApiKeyAuth, state: Data<&AppState>, req: &Request) -> Result<Json<WebhookSecret>, ApiProblem> {
        let lang = request_lang();
        let out = WebhookSecret { secret: webhooks::new_secret() };
        let body = json_of(&out);
        let once = req.extensions().get::<IdemKey>().map(|k| (k, body.as_str()));
        if !webhooks::set_secret(&state.db, &auth.0.partner_id, &out.secret, once).await? {
            return Err(ApiProblem::not_found(lang));
        }
        Ok(Json(out))
    }

    /// Send a `webhook.test` event now.
    #[oai(path = "/webhook/test", method = "post", operation_id = "sendWebhookTest", tag = "ApiTags::Webhooks")]
    async fn send_test(&self, auth: ApiKeyAuth, state: Data<&AppState>, req: &Request) -> Result<Accepted, ApiProblem> {
        let lang = request_lang();
        let cfg = current(&state, &auth.0.partner_id, lang).await?;
        // A paused or switched-off webhook sends nothing: saying "sent" would be false.
        if !cfg.is_active {
            return Err(ApiProblem::new(poem::http::StatusCode::CONFLICT, "webhook-inactive", lang, Msg::ErrWebhookInactive, None));
        }
        let out = DeliveryAccepted { event_id: uuid::Uuid::new_v4().to_string() };
        let body = json_of(&out);
        let once = req.extensions().get::<IdemKey>().map(|k| (k, body.as_str()));
        delivery::enqueue_test(&state.db, &auth.0.partner_id, &out.event_id, now_ms(), once).await?;
        crate::webhooks::actor::wake(&state.actors, &auth.0.partner_id);
        Ok(Accepted::Accepted(Json(out)))
    }

    /// The latest deliveries (at most 100), newest first.
    #[oai(path = "/webhook/deliveries", method = "get", operation_id = "listWebhookDeliveries", tag = "ApiTags::Webhooks")]
    async fn list_deliveries(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// `PENDING`, `SENDING`, `DELIVERED` or `FAILED`.
        #[oai(validator(max_length = 20))]
        status: Query<Option<String>>,
        /// An event name.
        #[oai(validator(max_length = 40))]
        event: Query<Option<String>>,
    ) -> Result<Json<DeliveryList>, ApiProblem> {
        let status = status.0.unwrap_or_default().to_uppercase();
        let event = event.0.unwrap_or_default();
        let rows: Vec<DeliveryRow> = on_db!(&state.db, pool => sqlx::query_as(
            "SELECT id, event_id, event_kind, status, attempts, last_status_code, last_error, created_at FROM webhook_deliveries \
             WHERE partner_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR event_kind = $3) ORDER BY created_at DESC LIMIT 100",
        )
        .bind(&auth.0.partner_id)
        .bind(&status)
        .bind(&event)
        .fetch_all(pool)
        .await)?;
        Ok(Json(DeliveryList {
            data: rows
                .into_iter()
                .map(|r| DeliveryOut {
                    id: r.id,
                    event_id: r.event_id,
                    event: r.event_kind,
                    status: r.status,
                    attempts: r.attempts,
                    last_status_code: r.last_status_code,
                    last_error: r.last_error,
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
        }))
    }

    /// Send a delivery's event again (same event id, so receivers can deduplicate).
    #[oai(path = "/webhook/deliveries/:id/replay", method = "post", operation_id = "replayWebhookDelivery", tag = "ApiTags::Webhooks")]
    async fn replay_delivery(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> Result<Accepted, ApiProblem> {
        let lang = request_lang();
        if uuid::Uuid::parse_str(&id.0).is_err() {
            return Err(ApiProblem::not_found(lang));
        }
        let event_id: Option<String> = on_db!(&state.db, pool => sqlx::query_scalar("SELECT event_id FROM webhook_deliveries WHERE id = $1 AND partner_id = $2")
            .bind(&id.0)
            .bind(&auth.0.partner_id)
            .fetch_optional(pool)
            .await)?;
        let Some(event_id) = event_id else { return Err(ApiProblem::not_found(lang)) };
        let out = DeliveryAccepted { event_id };
        let body = json_of(&out);
        let once = req.extensions().get::<IdemKey>().map(|k| (k, body.as_str()));
        if !delivery::replay(&state.db, &auth.0.partner_id, &id.0, now_ms(), once).await? {
            return Err(ApiProblem::not_found(lang));
        }
        crate::webhooks::actor::wake(&state.actors, &auth.0.partner_id);
        Ok(Accepted::Accepted(Json(out)))
    }
}

/// A response object's JSON, exactly as the operation sends it (for its idempotency record).
fn json_of(value: &impl poem_openapi::types::ToJSON) -> String {
    value.to_json().map(|v| v.to_string()).unwrap_or_default()
}
