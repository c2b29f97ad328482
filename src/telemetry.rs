//! Metrics for whoever runs the portal, in the Prometheus text format, on their own listen
//! address (`METRICS_BIND`, off by default; never on the public one): requests by route and
//! status with their latency, database calls and the pool, the outboxes' depth and oldest age,
//! webhook and message outcomes, open live streams, running actors, sign-in failures and
//! rate-limit refusals.
//!
//! The code that knows an event records it through the `metrics` facade (`counter!`,
//! `histogram!`): until a recorder is installed those are no-ops, so a portal without
//! `METRICS_BIND` pays nothing. `metrics-exporter-prometheus` renders them; what is a state
//! rather than an event (the pool, the outboxes, the actors) is read when scraped.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    Endpoint, EndpointExt, IntoResponse, PathPattern, Request, Response, Route, Server, get, handler,
    http::{HeaderValue, header},
    listener::TcpAcceptor,
    web::Data,
};

use crate::state::AppState;

/// Latency buckets (seconds): a page on a phone is fine under 100 ms, slow beyond a second.
const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Is a recorder installed (requests are observed only then)?
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The process's recorder, installed the first time (an application built twice in one
/// process, as the tests do, shares it).
fn handle() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?.build_recorder();
    let handle = recorder.handle();
    match metrics::set_global_recorder(recorder) {
        Ok(()) => {
            describe();
            ENABLED.store(true, Ordering::Relaxed);
            // Histograms keep their samples until drained: drain them even if nobody scrapes.
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Ok(HANDLE.get_or_init(|| handle).clone())
        }
        // Installed meanwhile by another application of this process.
        Err(_) => HANDLE.get().cloned().context("a metrics recorder other than the portal's is installed"),
    }
}

/// What each series means, shown as `# HELP` lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("delivr_http_requests_total", "HTTP requests answered, by method, route pattern and status.");
    describe_histogram!("delivr_http_request_duration_seconds", Unit::Seconds, "Time to answer an HTTP request (to its headers).");
    describe_histogram!(
        "delivr_db_call_duration_seconds",
        Unit::Seconds,
        "Time of one database call (a query or statement group, pool wait included)."
    );
    describe_counter!("delivr_db_unavailable_total", "Requests answered 503 because the database could not be reached.");
    describe_gauge!("delivr_db_pool_connections", "Database connections, by state (idle, in_use) and the pool's maximum.");
    describe_gauge!("delivr_outbox_depth", "Items waiting to be sent, by outbox (webhooks, messages).");
    describe_gauge!("delivr_outbox_oldest_age_seconds", Unit::Seconds, "Age of the oldest item waiting, by outbox.");
    describe_counter!("delivr_webhook_attempts_total", "Webhook delivery attempts, by outcome (delivered, retry, failed).");
    describe_counter!("delivr_messages_total", "Messages to recipients and vendors, by channel and outcome.");
    describe_gauge!("delivr_live_streams_open", "Open server-sent-event streams, by kind (portal, tracking).");
    describe_gauge!("delivr_actors_running", "Per-partner actors running on this instance.");
    describe_counter!("delivr_sign_in_failures_total", "Failed sign-ins, by kind (password, throttled).");
    describe_counter!("delivr_rate_limit_refusals_total", "Requests refused by a rate limit, by scope.");
}

/// Install the recorder and serve `/metrics` on `listener` until the process ends.
pub fn serve(listener: std::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let handle = handle()?;
    listener.set_nonblocking(true)?;
    let acceptor = TcpAcceptor::from_std(listener)?;
    let app = Route::new().at("/metrics", get(scrape)).data(state).data(handle);
    tokio::spawn(async move {
        if let Err(e) = Server::new_with_acceptor(acceptor).run(app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The text exposition, with the states read now.
#[handler]
async fn scrape(Data(state): Data<&AppState>, Data(handle): Data<&PrometheusHandle>) -> Response {
    let (size, idle, max) = state.db.pool_stats();
    metrics::gauge!("delivr_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("delivr_db_pool_connections", "state" => "in_use").set((size as usize).saturating_sub(idle) as f64);
    metrics::gauge!("delivr_db_pool_connections", "state" => "max").set(max as f64);
    let now = crate::db::now_ms();
    for (outbox, waiting) in
        [("webhooks", crate::webhooks::delivery::waiting(&state.db).await), ("messages", crate::messages::send::waiting(&state.db).await)]
    {
        // A database that does not answer leaves the last values (and `/readyz` says why).
        if let Ok((depth, oldest)) = waiting {
            metrics::gauge!("delivr_outbox_depth", "outbox" => outbox).set(depth as f64);
            let age = oldest.map_or(0.0, |at| ((now - at).max(0) as f64) / 1000.0);
            metrics::gauge!("delivr_outbox_oldest_age_seconds", "outbox" => outbox).set(age);
        }
    }
    metrics::gauge!("delivr_actors_running").set(state.actors.running().await as f64);
    let mut resp = handle.render().into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Count and time every request by its route's pattern (`/partners/orders/:id/`, never the
/// id itself: one series per route, not per order). Paths no route matched share `unmatched`;
/// API requests refused before routing (authentication, rate limit) count under `/api/v1`.
pub async fn observe<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    if !ENABLED.load(Ordering::Relaxed) {
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    let started = Instant::now();
    let method = req.method().clone();
    let resp = ep.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
    // Refused before routing (the API's authentication, a rate limit): the prefix that was
    // reached, `/api/v1`.
    let route = match resp.data::<PathPattern>() {
        Some(p) if !p.0.is_empty() => p.0.to_string(),
        _ => "unmatched".to_owned(),
    };
    let method = method_label(&method);
    metrics::counter!("delivr_http_requests_total", "method" => method, "route" => route.clone(), "status" => resp.status().as_u16().to_string())
        .increment(1);
    metrics::histogram!("delivr_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    Ok(resp)
}

/// The method as a label from a closed set (anything else is `other`).
fn method_label(m: &poem::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}
