//! Builds the application: configuration, database, secret, routes and middleware, bound to a
//! listener. Tests start it on port 0 through `App::build`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    EndpointExt, IntoResponse, Response, Route, Server, get, handler,
    http::{HeaderValue, StatusCode, header},
    middleware::CatchPanic,
    web::{Compress, CompressionAlgo, CompressionLevel, Data, Json},
};

use crate::{
    accounts,
    actors::{Actors, Env as ActorEnv, Extensions},
    api, api_keys,
    config::Config,
    couriers,
    db::Db,
    events::Bus,
    geo, orders, partners, pricing, public,
    security::Secret,
    state::AppState,
    web::{self, assets},
    webhooks,
};

/// A built application, bound to its listener but not yet serving.
pub struct App {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    pub state: AppState,
}

impl App {
    /// Connect, migrate, seed the geography, load the secret and bind `config.bind`.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        // reqwest (webhooks) uses rustls with the ring provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        geo::seed(&db).await.context("seeding cities and quartiers")?;
        pricing::seed_defaults(&db).await.context("seeding default tariffs")?;
        let secret = Secret::load(&config, &db).await?;
        let listener =
            tokio::net::TcpListener::bind(&config.bind).await.with_context(|| format!("cannot listen on {} (BIND)", config.bind))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match &config.metrics_bind {
            Some(bind) => Some(std::net::TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind} (METRICS_BIND)"))?),
            None => None,
        };
        assets::warm_up();
        web::pwa::warm_up();
        let mut config = config;
        // Links the portal prints (booking page, tracking links) need a real port.
        config.public_url.get_or_insert_with(|| format!("http://{addr}"));
        let bus = Bus::default();
        let runtime = tokio::runtime::Handle::current();
        let sending = webhooks::delivery::Sending::new(config.allow_loopback_webhooks, config.webhook_lock_secs * 1000);
        let actors = Actors::start(ActorEnv {
            db: db.clone(),
            runtime: runtime.clone(),
            bus: bus.clone(),
            extensions: Arc::new(Extensions::default().with(sending)),
        });
        // What wakes the actors: committed events, the database's due work, other instances.
        webhooks::actor::start_waking(&actors, &bus, &db, &runtime);
        crate::notifications::live::start_waking(&actors, &bus, &db, &runtime);
        // Invoices are issued automatically after each month's end (idempotent, every instance).
        let (invoicing_db, invoicing_bus) = (db.clone(), bus.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let month = crate::invoices::previous_month(crate::db::now_ms());
                if let Err(e) = crate::invoices::close_month(&invoicing_db, &invoicing_bus, &month).await {
                    tracing::warn!(error = %e, month, "closing the month failed");
                }
            }
        });
        // Messages to recipients and vendors leave through the configured providers (or are only recorded).
        crate::messages::send::start(db.clone(), &bus, crate::messages::send::Providers::of(&config)?);
        // Booking requests nobody answered in time expire (every instance; idempotent).
        let expiring_db = db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = orders::bookings::expire_due(&expiring_db, crate::db::now_ms()).await {
                    tracing::warn!(error = %e, "expiring booking requests failed");
                }
            }
        });
        let state = AppState {
            db,
            config: Arc::new(config),
            secret: Arc::new(secret),
            bus,
            actors,
            idem_locks: Arc::default(),
            rate_limits: Arc::default(),
            api_keys: Arc::default(),
            last_ping_ok: Arc::default(),
            outage: Arc::default(),
        };
        let metrics_addr = match metrics_listener {
            Some(listener) => {
                let addr = listener.local_addr()?;
                crate::telemetry::serve(listener, state.clone())?;
                Some(addr)
            }
            None => None,
        };
        Ok(App { listener, addr, metrics_addr, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where `/metrics` is served (`METRICS_BIND`), if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Serve until `shutdown` resolves, then close the live streams (each told to reconnect)
    /// and let in-flight requests finish (up to 10 s); unsent webhook deliveries stay in the
    /// outbox for the next start or another instance.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let actors = self.state.actors.clone();
        let closing = actors.clone();
        let shutdown = async move {
            shutdown.await;
            tracing::info!("stopping: closing live streams, finishing requests");
            crate::notifications::live::end_streams(&closing).await;
        };
        let app = Arc::new(routes(self.state));
        // Event streams opened on a new connection are answered beside hyper, lighter.
        let acceptor = web::lean_streams::StreamsFirst::new(self.listener, app.clone())?;
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
            .await
            .context("HTTP server failed")?;
        actors.shutdown().await;
        db.close().await;
        Ok(())
    }
}

/// The route table.
pub fn routes(state: AppState) -> impl poem::Endpoint<Output = Response> {
    let pages = [
        accounts::pages::routes,
        accounts::two_factor::routes,
        crate::recovery::pages::routes,
        partners::pages::routes,
        partners::signup::routes,
        crate::dashboard::routes,
        crate::analytics::pages::routes,
        orders::pages::routes,
        orders::bookings::pages::routes,
        public::routes,
        partners::admin::routes,
        orders::admin::routes,
        couriers::admin::routes,
        pricing::pages::routes,
        api_keys::pages::routes,
        webhooks::pages::routes,
        crate::wallet::pages::routes,
        crate::wallet::statement::routes,
        crate::invoices::pages::routes,
        crate::notifications::pages::routes,
        crate::tracking::routes,
        crate::disputes::pages::routes,
        crate::disputes::admin::routes,
        crate::messages::pages::routes,
        crate::partners::branding::routes,
        crate::team::pages::routes,
        crate::team::security_log::routes,
        web::pwa::routes,
    ]
    .into_iter()
    .fold(Route::new(), |route, add| add(route))
    .around(accounts::step_up::guard)
    .around(web::context_middleware);
    Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/static/:file", get(assets::serve_asset))
        .at("/media/logos/:file", get(crate::partners::branding::serve_logo))
        .at("/sw.js", get(web::pwa::service_worker))
        .at("/icons/:file", get(web::pwa::icon))
        .at("/manifest/:file", get(web::pwa::manifest))
        .nest("/courier/v1", couriers::api::routes(Route::new()).around(api::api_headers))
        .nest("/api/v1", api::routes(&state))
        // Swagger UI brings its own scripts: it stays outside the pages' CSP.
        .nest("/partners/docs", api::docs(&state))
        .nest("/", pages)
        .around(web::input::reject_nul)
        .around(outage_guard)
        .around(compress)
        .around(transport_security)
        .with(CatchPanic::new().with_handler(|_| {
            tracing::error!("a handler panicked");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                maud::html! {
                    (maud::DOCTYPE) html lang="fr" { head { meta charset="utf-8"; title { "Erreur · DELIVR-CM" } }
                    body { h1 { "Erreur interne / Internal error" } p { "Réessayez dans un instant. / Please try again in a moment." } } }
                },
            )
        }))
        .around(crate::telemetry::observe)
        .data(state)
        .data(SHELL_COUNTS)
        .data(orders::pages::OrderPanels(&[crate::messages::pages::order_panel, crate::disputes::pages::order_panel]))
        .map_to_response()
}

/// Seconds a client is told to wait when the database is unreachable.
const RETRY_AFTER_SECS: u16 = 5;

/// Riding through a database restart: a request that met an unreachable database is answered
/// `503` (a translated page, or a problem for the APIs) with `Retry-After`, and for the next
/// second every other request is answered the same at once rather than each waiting for a
/// connection. The probes, assets and the service worker never depend on it.
async fn outage_guard<E: poem::Endpoint>(ep: Arc<E>, req: poem::Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let exempt = matches!(path.as_str(), "/healthz" | "/readyz" | "/sw.js")
        || ["/static/", "/icons/", "/manifest/"].iter().any(|p| path.starts_with(p));
    let Some(state) = req.data::<AppState>().cloned().filter(|_| !exempt) else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    let lang = crate::web::api::problem::lang_of(&req);
    let hx = req.headers().get("hx-request").is_some_and(|v| v == "true");
    let mut resp = if state.outage.recent() {
        unavailable(&path, lang, hx)
    } else {
        let resp = ep.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            state.outage.note();
        }
        // A bare status (the shell itself could not read the session) gets its page.
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE && !resp.headers().contains_key(header::CONTENT_TYPE) {
            unavailable(&path, lang, hx)
        } else {
            resp
        }
    };
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        metrics::counter!("delivr_db_unavailable_total").increment(1);
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    Ok(resp)
}

/// The `503` answer while the database is unreachable: a problem for the APIs, a translated
/// page (without a session: reading it needs the database) for the portal.
fn unavailable(path: &str, lang: crate::i18n::Lang, hx: bool) -> Response {
    if path.starts_with("/api/") || path.starts_with("/courier/") {
        return crate::web::api::problem::for_status(StatusCode::SERVICE_UNAVAILABLE, lang, None);
    }
    let ctx = web::Ctx {
        lang,
        user: None,
        csrf_token: String::new(),
        path: path.to_owned(),
        hx,
        write: false,
        client: String::new(),
        unread: 0,
        alerts: 0,
    };
    web::layout::error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE)
}

/// What the page shell shows of the domains on every page.
const SHELL_COUNTS: web::Counts = web::Counts {
    unread: |state, partner_id| Box::pin(crate::notifications::live::unread(&state.actors, &state.db, partner_id)),
    alerts: |state| Box::pin(crate::orders::repo::count_pin_locked(&state.db)),
};

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
    version: &'static str,
}

/// How long a successful ping vouches for the database: probes and monitors that call
/// `/healthz` many times a second share one ping.
const PING_FRESH_MS: i64 = 1_000;

/// Liveness: 200 when the database answers (a ping at most a second old, none once the pool is
/// closed), 503 otherwise.
#[handler]
async fn healthz(Data(state): Data<&AppState>) -> Response {
    use std::sync::atomic::Ordering;
    let now = crate::db::now_ms();
    let fresh = now - state.last_ping_ok.load(Ordering::Relaxed) < PING_FRESH_MS && !state.db.is_closed();
    let ok = fresh || state.db.ping().await;
    if ok && !fresh {
        state.last_ping_ok.store(now, Ordering::Relaxed);
    }
    let body = Health {
        status: if ok { "ok" } else { "unavailable" },
        database: if ok { "reachable" } else { "unreachable" },
        version: env!("CARGO_PKG_VERSION"),
    };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Served over https (`PUBLIC_URL`): browsers are told to keep to https for a year.
async fn transport_security<E: poem::Endpoint>(ep: Arc<E>, req: poem::Request) -> poem::Result<Response> {
    let https = req.data::<AppState>().is_some_and(|s| s.config.secure_cookies());
    let mut resp = ep.call(req).await?.into_response();
    if https {
        resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    Ok(resp)
}

#[derive(serde::Serialize)]
struct Readiness {
    status: &'static str,
    database: bool,
    migrations: bool,
    /// Age of the oldest webhook delivery waiting to be sent, seconds (0 when none waits).
    outbox_oldest_secs: i64,
    outbox_max_age_secs: i64,
}

/// Readiness, for a load balancer: the database answers, its migrations are this binary's,
/// and the webhook outbox is not falling behind. `/healthz` stays the cheap liveness check.
#[handler]
async fn readyz(Data(state): Data<&AppState>) -> Response {
    let database = state.db.ping().await;
    let migrations = database && state.db.migrations_current().await;
    let oldest = if database { crate::webhooks::delivery::oldest_waiting(&state.db).await.ok().flatten() } else { None };
    let age = oldest.map_or(0, |at| ((crate::db::now_ms() - at) / 1000).max(0));
    let max = state.config.ready_outbox_max_age_secs;
    let ready = database && migrations && age <= max;
    let body = Readiness {
        status: if ready { "ready" } else { "not-ready" },
        database,
        migrations,
        outbox_oldest_secs: age,
        outbox_max_age_secs: max,
    };
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Compress text responses when the client accepts it. Pages and JSON are small and already
/// fully rendered: they are compressed in one go with brotli's fast quality 1. Profiled under
/// load, quality 5 spent a third of a page's time in brotli (and more zeroing its large hash
/// tables) for a fifth fewer bytes, which a slow 3G line (50 KB/s) carries in 20 ms more.
/// Streamed bodies (CSV exports) are compressed as they stream, with gzip. Already-encoded
/// bodies (static assets, compressed once at start at the highest quality) and event streams
/// are left alone.
async fn compress<E: poem::Endpoint>(ep: Arc<E>, req: poem::Request) -> poem::Result<Response> {
    let accept = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut resp = ep.call(req).await?.into_response();
    let content_type = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let buffered = content_type.starts_with("text/html")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/problem+json");
    let streamed = content_type.starts_with("text/csv");
    if !(buffered || streamed) || resp.headers().contains_key(header::CONTENT_ENCODING) || resp.status() == StatusCode::NO_CONTENT {
        return Ok(resp);
    }
    let has = |c: &str| accept.split(',').any(|part| part.trim().split(';').next() == Some(c));
    resp.headers_mut().append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if buffered && has("br") {
        let body =
            resp.take_body().into_bytes().await.map_err(|e| poem::Error::from_string(e.to_string(), StatusCode::INTERNAL_SERVER_ERROR))?;
        let params = brotli::enc::BrotliEncoderParams { quality: 1, lgwin: 18, size_hint: body.len(), ..Default::default() };
        // The whole body handed to the encoder at once: fed 4 KiB at a time (what
        // `BrotliCompress` does), the fast qualities compress each piece on its own, which cost a
        // list page a quarter more time for 40 % more bytes (8.3 KB instead of 5.9 KB).
        let mut encoder = brotli::CompressorWriter::with_params(Vec::with_capacity(body.len() / 4 + 64), 4096, &params);
        std::io::Write::write_all(&mut encoder, &body)
            .map_err(|e| poem::Error::from_string(e.to_string(), StatusCode::INTERNAL_SERVER_ERROR))?;
        let out = encoder.into_inner();
        resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        resp.set_body(out);
        return Ok(resp);
    }
    if has("gzip") {
        return Ok(Compress::new(resp, CompressionAlgo::GZIP).with_quality(CompressionLevel::Precise(5)).into_response());
    }
    Ok(resp)
}
