//! The webhooks page: configuration (URL, events, active), the secret (masked, revealable,
//! copyable, regenerable), a test event, and the delivery log with replay.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    db::now_ms,
    i18n::Msg,
    on_db,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::FieldErrors,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
    webhooks::{self, EVENTS, WebhookConfig, delivery, ssrf},
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/webhooks/", get(webhooks_page).post(save_webhook))
        .at("/partners/webhooks/secret/", post(regenerate))
        .at("/partners/webhooks/test/", post(send_test))
        .at("/partners/webhooks/test/result/", get(test_result_fragment))
        .at("/partners/webhooks/deliveries/:id/replay/", post(replay))
}

#[derive(sqlx::FromRow, Debug)]
struct DeliveryRow {
    id: String,
    event_id: String,
    event_kind: String,
    status: String,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    next_attempt_at: i64,
}

/// The latest test event's delivery: what the button's press really gave.
#[derive(sqlx::FromRow, Debug)]
struct TestRow {
    status: String,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

async fn latest_test(state: &AppState, partner_id: &str) -> PageResult<Option<TestRow>> {
    Ok(crate::on_db!(&state.db, pool => sqlx::query_as(
        "SELECT status, attempts, last_status_code, last_error, created_at FROM webhook_deliveries \
         WHERE partner_id = $1 AND event_kind = 'webhook.test' ORDER BY created_at DESC LIMIT 1",
    )
    .bind(partner_id)
    .fetch_optional(pool)
    .await)?)
}

/// The test's real result where the button is; while it is on its way, it looks again.
fn test_result(ctx: &Ctx, test: Option<&TestRow>) -> Markup {
    let Some(t) = test else { return html! {} };
    let code = t.last_status_code.map(|c| format!(" · HTTP {c}")).unwrap_or_default();
    html! {
        @match t.status.as_str() {
            "DELIVERED" => p #test-result.flash.ok role="status" { (ctx.fmt(Msg::WebhookTestDelivered, &[("at", &format_datetime(t.created_at, ctx.lang))])) (code) },
            "FAILED" => p #test-result.flash.err role="alert" {
                (ctx.t(Msg::WebhookTestFailed)) (code)
                @if let Some(e) = &t.last_error { br; span.small { (e) } }
            },
            // On its way: looked at again until its first answer (retries come minutes later).
            _ if t.attempts == 0 => p #test-result.flash.warn role="status" hx-get="/partners/webhooks/test/result/" hx-trigger="load delay:2s" hx-swap="outerHTML" {
                (ctx.t(Msg::WebhookTestSending))
            },
            _ => p #test-result.flash.warn role="status" {
                (ctx.fmt(Msg::WebhookTestRetrying, &[("n", &t.attempts.to_string())])) (code)
                @if let Some(e) = &t.last_error { br; span.small { (e) } }
            },
        }
    }
}

#[handler]
async fn test_result_fragment(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let test = latest_test(state, &p.id).await?;
    Ok(respond(StatusCode::OK, test_result(ctx, test.as_ref())))
}

/// What each event means, in a line.
fn event_help(event: &str) -> Option<Msg> {
    Some(match event {
        "order.created" => Msg::EvOrderCreated,
        "order.assigned" => Msg::EvOrderAssigned,
        "order.picked_up" => Msg::EvOrderPickedUp,
        "order.in_transit" => Msg::EvOrderInTransit,
        "order.completed" => Msg::EvOrderCompleted,
        "order.cancelled" => Msg::EvOrderCancelled,
        "order.failed" => Msg::EvOrderFailed,
        "order.reattempted" => Msg::EvOrderReattempted,
        "order.returning" => Msg::EvOrderReturning,
        "order.returned" => Msg::EvOrderReturned,
        "payment.received" => Msg::EvPaymentReceived,
        "dispute.opened" => Msg::EvDisputeOpened,
        "dispute.updated" => Msg::EvDisputeUpdated,
        "dispute.resolved" => Msg::EvDisputeResolved,
        "booking.requested" => Msg::EvBookingRequested,
        _ => return None,
    })
}

#[derive(sqlx::FromRow, Debug)]
struct AttemptRow {
    delivery_id: String,
    attempt: i64,
    at: i64,
    duration_ms: i64,
    status_code: Option<i64>,
    response_excerpt: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct LogQuery {
    status: String,
    event: String,
    saved: String,
}

async fn log(state: &AppState, partner_id: &str, q: &LogQuery) -> PageResult<(Vec<DeliveryRow>, Vec<AttemptRow>)> {
    let status = ["DELIVERED", "PENDING", "SENDING", "FAILED"].into_iter().find(|s| s.eq_ignore_ascii_case(&q.status)).unwrap_or("");
    let event = EVENTS.iter().copied().chain(["webhook.test"]).find(|e| *e == q.event).unwrap_or("");
    let rows: Vec<DeliveryRow> = on_db!(&state.db, pool => sqlx::query_as(
        "SELECT id, event_id, event_kind, status, attempts, last_status_code, last_error, created_at, next_attempt_at FROM webhook_deliveries \
         WHERE partner_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR event_kind = $3) ORDER BY created_at DESC LIMIT 50",
    )
    .bind(partner_id)
    .bind(status)
    .bind(event)
    .fetch_all(pool)
    .await)?;
    let attempts: Vec<AttemptRow> = on_db!(&state.db, pool => sqlx::query_as(
        "SELECT a.delivery_id, a.attempt, a.at, a.duration_ms, a.status_code, a.response_excerpt, a.error FROM webhook_attempts a \
         JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.partner_id = $1 ORDER BY a.at DESC LIMIT 200",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await)?;
    Ok((rows, attempts))
}

/// The values of the form, as typed.
#[derive(Default, Clone)]
struct ConfigForm {
    url: String,
    events: Vec<String>,
    active: bool,
}

#[allow(clippy::too_many_arguments)]
fn view(
    ctx: &Ctx,
    cfg: Option<&WebhookConfig>,
    form: &ConfigForm,
    errors: &FieldErrors,
    log: &(Vec<DeliveryRow>, Vec<AttemptRow>),
    test: Option<&TestRow>,
    q: &LogQuery,
    flash: Option<Msg>,
) -> Markup {
    let delivery_badge = |s: &str| match s {
        "DELIVERED" => badge(ctx.t(Msg::WebhookDelivered), "ok"),
        "FAILED" => badge(ctx.t(Msg::WebhookFailed), "err"),
        _ => badge(ctx.t(Msg::WebhookPending), "warn"),
    };
    html! {
        h1 { (ctx.t(Msg::NavWebhooks)) }
        p.muted { (ctx.t(Msg::WebhooksIntro)) " " a href="/partners/api/quickstart/" { (ctx.t(Msg::QuickstartTitle)) } " · " a href="/partners/docs/" hx-boost="false" { (ctx.t(Msg::ApiDocsLink)) } }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        @if let Some(c) = cfg {
            @if let Some(reason) = &c.paused_reason {
                div.flash.err role="alert" {
                    (ctx.t(Msg::WebhookPausedTitle)) " — "
                    (if reason == "retries-exhausted" { ctx.t(Msg::WebhookPausedExhausted).to_owned() } else { ctx.fmt(Msg::WebhookPausedFailures, &[("n", &c.failure_count.to_string())]) })
                    " " (ctx.t(Msg::WebhookPausedHowToResume))
                }
            }
            div.kpis {
                div.kpi { span.l { (ctx.t(Msg::FieldStatus)) } span.v { @if c.is_active { (badge(ctx.t(Msg::ApiKeyActive), "ok")) } @else { (badge(ctx.t(Msg::WebhookInactive), "err")) } } }
                // The spec's field names stay in the titles, for integrators.
                div.kpi title="last_triggered" { span.l { (ctx.t(Msg::WebhookLastSent)) } span.v.small { (c.last_triggered.map(|t| format_datetime(t, ctx.lang)).unwrap_or_else(|| "—".into())) } }
                div.kpi title="last_status_code" { span.l { (ctx.t(Msg::WebhookLastCode)) } span.v { (c.last_status_code.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) } }
                div.kpi title="failure_count" { span.l { (ctx.t(Msg::WebhookFailureCount)) } span.v { (c.failure_count) } }
            }
        }
        form.card method="post" action="/partners/webhooks/" novalidate {
            (csrf_field(ctx))
            div.field.invalid[errors.get("url").is_some()] {
                label for="f-url" { (ctx.t(Msg::WebhookUrl)) }
                input #f-url type="url" name="url" value=(form.url) placeholder="https://maboutique.cm/webhooks/delivr" inputmode="url" autocomplete="off";
                div.hint { (ctx.t(Msg::WebhookUrlHint)) }
                @if let Some(e) = errors.get("url") { div.error role="alert" { (e) } }
            }
            fieldset.field.invalid[errors.get("events").is_some()] {
                legend { (ctx.t(Msg::WebhookEvents)) }
                @for e in EVENTS {
                    label.check.event {
                        input type="checkbox" name="events" value=(e) checked[form.events.iter().any(|x| x == e)];
                        " " code { (e) }
                        @if let Some(help) = event_help(e) { span.hint { (ctx.t(help)) } }
                    }
                }
                @if let Some(e) = errors.get("events") { div.error role="alert" { (e) } }
            }
            label.check { input type="checkbox" name="active" value="1" checked[form.active]; " " (ctx.t(Msg::WebhookActive)) }
            // A paused webhook kept its queue: the vendor may leave old events out when resuming.
            @if cfg.is_some_and(|c| !c.is_active) {
                div.field.invalid[errors.get("skip_before").is_some()] {
                    label for="f-skip_before" { (ctx.t(Msg::WebhookSkipBefore)) }
                    input #f-skip_before type="date" name="skip_before";
                    div.hint { (ctx.t(Msg::WebhookSkipBeforeHint)) }
                    @if let Some(e) = errors.get("skip_before") { div.error role="alert" { (e) } }
                }
            }
            button.btn type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::Save)) }
        }
        @if let Some(c) = cfg {
            div.card {
                h2 { (ctx.t(Msg::WebhookSecret)) }
                p.small.muted { (ctx.t(Msg::WebhookSecretHint)) }
                details {
                    summary { code { "whsec_••••••••" } " " (ctx.t(Msg::Reveal)) }
                    input #webhook-secret type="text" readonly value=(c.secret);
                    button.btn.secondary type="button" data-copy="#webhook-secret" { (ctx.t(Msg::Copy)) }
                }
                form method="post" action="/partners/webhooks/secret/" data-confirm=(ctx.t(Msg::ConfirmRegenerateSecret)) {
                    (csrf_field(ctx))
                    (crate::web::confirm::field())
                    button.btn.secondary type="submit" { (ctx.t(Msg::WebhookRegenerate)) }
                }
            }
            form.card method="post" action="/partners/webhooks/test/" {
                (csrf_field(ctx))
                @if let Some(e) = errors.get("test") { div.flash.err role="alert" { (e) } }
                p.small.muted { (ctx.t(Msg::WebhookTestHint)) }
                button.btn.secondary type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::WebhookSendTest)) }
                (test_result(ctx, test))
            }
            div.card {
                h2 { (ctx.t(Msg::WebhookLog)) }
                form.filters method="get" action="/partners/webhooks/" {
                    div {
                        label for="log-status" { (ctx.t(Msg::FieldStatus)) }
                        select #log-status name="status" {
                            option value="" { (ctx.t(Msg::FilterAll)) }
                            @for (v, m) in [("DELIVERED", Msg::WebhookDelivered), ("PENDING", Msg::WebhookPending), ("FAILED", Msg::WebhookFailed)] {
                                option value=(v) selected[q.status == v] { (ctx.t(m)) }
                            }
                        }
                    }
                    div {
                        label for="log-event" { (ctx.t(Msg::WebhookEvent)) }
                        select #log-event name="event" {
                            option value="" { (ctx.t(Msg::FilterAll)) }
                            @for e in EVENTS.iter().copied().chain(["webhook.test"]) { option value=(e) selected[q.event == e] { (e) } }
                        }
                    }
                    button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
                }
                @if log.0.is_empty() { p.muted { (ctx.t(Msg::NoResults)) } }
                ul.orders {
                    @for d in &log.0 {
                        li.order-row.delivery {
                            details {
                                summary {
                                    code { (d.event_kind) } " " (delivery_badge(&d.status))
                                    br; span.small.muted { (format_datetime(d.created_at, ctx.lang)) " · " (ctx.fmt(Msg::WebhookAttempts, &[("n", &d.attempts.to_string())]))
                                        @if let Some(c) = d.last_status_code { " · HTTP " (c) }
                                        @if d.status == "PENDING" && d.attempts > 0 { " · " (ctx.t(Msg::WebhookNextAttempt)) " " (format_datetime(d.next_attempt_at, ctx.lang)) } }
                                }
                                p.small { "id: " code { (d.event_id) } }
                                @if let Some(e) = &d.last_error { p.small.error { (e) } }
                                ol.timeline.small {
                                    @for a in log.1.iter().filter(|a| a.delivery_id == d.id) {
                                        li {
                                            (format_datetime(a.at, ctx.lang)) " · #" (a.attempt) " · " (a.duration_ms) " ms"
                                            @if let Some(c) = a.status_code { " · HTTP " (c) }
                                            @if let Some(e) = &a.error { br; span.error { (e) } }
                                            @if let Some(x) = &a.response_excerpt { br; code.excerpt { (x) } }
                                        }
                                    }
                                }
                                form method="post" action=(format!("/partners/webhooks/deliveries/{}/replay/", d.id)) {
                                    (csrf_field(ctx))
                                    button.btn.secondary type="submit" { (ctx.t(Msg::WebhookReplay)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn form_of(cfg: Option<&WebhookConfig>) -> ConfigForm {
    match cfg {
        Some(c) => ConfigForm { url: c.url.clone(), events: c.event_list(), active: c.is_active },
        None => ConfigForm { url: String::new(), events: EVENTS.iter().map(|e| (*e).to_owned()).collect(), active: true },
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    partner_id: &str,
    form: Option<ConfigForm>,
    errors: &FieldErrors,
    q: &LogQuery,
    flash: Option<Msg>,
    status: StatusCode,
) -> PageResult<Response> {
    let cfg = webhooks::config(&state.db, partner_id).await?;
    let form = form.unwrap_or_else(|| form_of(cfg.as_ref()));
    let log = log(state, partner_id, q).await?;
    let test = latest_test(state, partner_id).await?;
    Ok(respond(status, page(ctx, ctx.t(Msg::NavWebhooks), view(ctx, cfg.as_ref(), &form, errors, &log, test.as_ref(), q, flash))))
}

#[handler]
async fn webhooks_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<LogQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let flash = match q.saved.as_str() {
        "config" => Some(Msg::WebhookSaved),
        "resumed" => Some(Msg::WebhookResumed),
        "secret" => Some(Msg::WebhookSecretRegenerated),
        "test" => Some(Msg::WebhookTestQueued),
        "replay" => Some(Msg::WebhookReplayQueued),
        _ => None,
    };
    render(state, ctx, &p.id, None, &FieldErrors::default(), &q, flash, StatusCode::OK).await
}

#[handler]
async fn save_webhook(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let form = ConfigForm {
        url: value("url").trim().to_owned(),
        events: pairs.iter().filter(|(n, _)| n == "events").map(|(_, v)| v.clone()).collect(),
        active: value("active") == "1",
    };
    let mut errors = FieldErrors::default();
    let skip_before = match value("skip_before").trim() {
        "" => None,
        day => match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            Ok(d) => Some(crate::douala::day_start(d)),
            Err(_) => {
                errors.add("skip_before", ctx.t(Msg::ErrDate));
                None
            }
        },
    };
    if form.url.is_empty() {
        errors.add("url", ctx.t(Msg::ErrRequired));
    } else if form.url.len() > 500 {
        errors.add("url", ctx.fmt(Msg::ErrTooLong, &[("max", "500")]));
    } else if let Err(e) = ssrf::resolve_checked(&form.url, state.config.allow_loopback_webhooks).await {
        errors.add(
            "url",
            ctx.t(match e {
                ssrf::UrlError::Malformed | ssrf::UrlError::Credentials => Msg::ErrWebhookUrl,
                ssrf::UrlError::Scheme => Msg::ErrWebhookScheme,
                ssrf::UrlError::PrivateAddress => Msg::ErrWebhookPrivate,
                ssrf::UrlError::Unresolvable => Msg::ErrWebhookUnresolvable,
            }),
        );
    }
    if let Some(bad) = form.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        errors.add("events", ctx.fmt(Msg::ErrWebhookEvent, &[("event", bad)]));
    } else if form.events.is_empty() && form.active {
        errors.add("events", ctx.t(Msg::ErrWebhookNoEvents));
    }
    if !errors.is_empty() {
        return render(state, ctx, &p.id, Some(form), &errors, &LogQuery::default(), None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut events = form.events.clone();
    events.dedup();
    let saved = webhooks::save_with(&state.db, &p.id, &form.url, &events, form.active, skip_before).await?;
    crate::webhooks::actor::wake(&state.actors, &p.id);
    Ok(redirect(if saved.resumed { "/partners/webhooks/?saved=resumed" } else { "/partners/webhooks/?saved=config" }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    confirmed: String,
}

#[handler]
async fn regenerate(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<ConfirmForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    if !crate::web::confirm::given(&form.confirmed) {
        let ask = crate::web::confirm::Ask {
            question: ctx.t(Msg::ConfirmRegenerateSecret).to_owned(),
            consequence: ctx.t(Msg::ConfirmRegenerateSecretText).to_owned(),
            yes: ctx.t(Msg::WebhookRegenerate),
            back: "/partners/webhooks/",
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, "/partners/webhooks/secret/", &[]));
    }
    if !webhooks::regenerate_secret(&state.db, &p.id).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(redirect("/partners/webhooks/?saved=secret"))
}

#[handler]
async fn send_test(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    match webhooks::config(&state.db, &p.id).await? {
        None => return Err(status_error(StatusCode::NOT_FOUND).into()),
        // Paused or switched off: nothing would be sent.
        Some(c) if !c.is_active => {
            let mut errors = FieldErrors::default();
            errors.add("test", ctx.t(Msg::ErrWebhookInactive));
            return render(state, ctx, &p.id, None, &errors, &LogQuery::default(), None, StatusCode::CONFLICT).await;
        }
        Some(_) => {}
    }
    delivery::enqueue_test(&state.db, &p.id, &uuid::Uuid::new_v4().to_string(), now_ms(), None).await?;
    crate::webhooks::actor::wake(&state.actors, &p.id);
    Ok(redirect("/partners/webhooks/?saved=test"))
}

#[handler]
async fn replay(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    if uuid::Uuid::parse_str(&id).is_err() || !delivery::replay(&state.db, &p.id, &id, now_ms(), None).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    crate::webhooks::actor::wake(&state.actors, &p.id);
    Ok(redirect("/partners/webhooks/?saved=replay"))
}
