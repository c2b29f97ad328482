//! The integrator REST API under `/api/v1/`, typed with poem-openapi: its OpenAPI document is
//! generated from the handler types and served at `/api/v1/openapi.json`, with Swagger UI at
//! `/partners/docs/`. Around every operation: API-key authentication, a per-key rate limit,
//! a body-size cap, `Idempotency-Key` on POST, and RFC 7807 problems for every error.

pub mod contract;

use std::sync::Arc;

use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use poem_openapi::OpenApiService;

use crate::{
    api_keys,
    db::now_ms,
    i18n::Msg,
    idempotency::{self, IdemKey},
    security,
    state::AppState,
    web::api::problem::{for_status, lang_of, response},
};

/// Largest JSON body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const API_DESCRIPTION: &str = include_str!("description.md");

/// Every part of the API; later domains add theirs to the tuple.
type Apis = (
    crate::orders::api::OrdersApi,
    crate::webhooks::api::WebhooksApi,
    crate::wallet::api::WalletApi,
    crate::analytics::api::AnalyticsApi,
    crate::disputes::api::DisputesApi,
);

pub fn service(public_url: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            crate::orders::api::OrdersApi,
            crate::webhooks::api::WebhooksApi,
            crate::wallet::api::WalletApi,
            crate::analytics::api::AnalyticsApi,
            crate::disputes::api::DisputesApi,
        ),
        "DELIVR-CM Partner API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(API_DESCRIPTION)
    .server(format!("{public_url}/api/v1"))
}

/// The finished document as the API serves it (tests hold the server to it).
pub fn contract(public_url: &str) -> Arc<contract::Contract> {
    finished(&service(public_url)).1
}

/// The generated document, finished (see `contract`): its text and the contract it makes.
fn finished(service: &OpenApiService<Apis, ()>) -> (String, Arc<contract::Contract>) {
    let raw = service.spec();
    let mut value: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
    contract::finish(&mut value);
    let text = serde_json::to_string_pretty(&value).unwrap_or(raw);
    (text, Arc::new(contract::Contract::new(value)))
}

/// The API routes: the operations under `/api/v1` with the middleware, the spec beside them.
pub fn routes(state: &AppState) -> impl Endpoint<Output = Response> + use<> {
    let service = service(&state.config.public_url());
    let (spec, contract) = finished(&service);
    let spec_endpoint = poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
            .header(header::CACHE_CONTROL, "public, max-age=300")
            .body(spec.clone())
    });
    let checked = service.around(move |ep, req| api_middleware(ep, req, contract.clone())).around(api_headers);
    poem::Route::new().at("/openapi.json", spec_endpoint).nest("/", checked).map_to_response()
}

/// The API reference at `/partners/docs/`: Swagger UI (from npm, served as immutable assets)
/// over the document at `/api/v1/openapi.json`, under a policy that runs only our own files.
pub fn docs(_state: &AppState) -> impl Endpoint<Output = Response> + use<> {
    let html = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "DELIVR-CM Partner API · reference" }
                link rel="stylesheet" href=(crate::web::assets::docs_url("swagger-ui.css"));
            }
            body {
                div #ui { noscript { "The reference needs JavaScript; the document itself is at " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } "." } }
                script src=(crate::web::assets::docs_url("swagger-ui-bundle.js")) {}
                script src=(crate::web::assets::docs_url("docs.js")) {}
            }
        }
    }
    .into_string();
    poem::endpoint::make_sync(move |_| {
        let mut resp = Response::builder()
            .content_type("text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "public, max-age=300")
            .header(
                "content-security-policy",
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            )
            .body(html.clone());
        security::add_security_headers(resp.headers_mut());
        resp
    })
}

/// `Authorization: Api-Key <key>`, or the bare key (what the reference's Authorize dialog
/// sends when the key alone is pasted into it).
fn presented_key(req: &Request) -> Option<String> {
    let value = req.header(header::AUTHORIZATION.as_str())?.trim();
    match value.split_once(' ') {
        Some((scheme, key)) => scheme.eq_ignore_ascii_case("Api-Key").then(|| key.trim().to_owned()),
        None => value.starts_with("dlv_").then(|| value.to_owned()),
    }
}

/// Headers on every API response, whatever answered: nothing is cached (an order carries its
/// delivery PIN) and nothing is sniffed.
pub async fn api_headers<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    use tracing::Instrument;
    // Every line logged for this request carries its id (and, once the key is known, the
    // partner's id: see `api_middleware`).
    let (request_id, span) = crate::web::request_span(&req);
    let started = std::time::Instant::now();
    let mut resp = async {
        let resp = ep.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
        tracing::info!(status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served");
        resp
    }
    .instrument(span)
    .await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-request-id", v);
    }
    // An operation that says how its answer may be kept (a photo, a PDF, both private and
    // immutable) keeps its say.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(resp)
}

/// Authentication, rate limit, body cap, idempotency, and problems for every error.
async fn api_middleware<E: Endpoint>(ep: Arc<E>, mut req: Request, contract: Arc<contract::Contract>) -> poem::Result<Response> {
    let lang = lang_of(&req);
    let Some(state) = req.data::<AppState>().cloned() else {
        return Ok(for_status(StatusCode::INTERNAL_SERVER_ERROR, lang, None));
    };
    // 1. Who is calling.
    let Some(key) = presented_key(&req) else {
        let mut resp = response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            lang,
            Msg::ErrApiUnauthorized,
            Some("Authorization: Api-Key <key>".to_owned()),
        );
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Api-Key"));
        return Ok(resp);
    };
    let auth = match api_keys::authenticate(&state.db, &state.api_keys, &key).await {
        Ok(Some(a)) => {
            tracing::Span::current().record("partner", a.partner_id.as_str());
            a
        }
        Ok(None) => return Ok(response(StatusCode::UNAUTHORIZED, "unauthorized", lang, Msg::ErrApiUnauthorized, None)),
        Err(e) => return Ok(internal(e, lang)),
    };
    // 2. Rate limit per key (a GCRA: no window edge to straddle).
    let limit = state.config.api_rate_limit;
    let rate = match api_keys::rate_limit(&state.db, &state.rate_limits, &auth.key_id, limit, now_ms()).await {
        Ok(r) => r,
        Err(e) => return Ok(internal(e, lang)),
    };
    let rate_headers = |resp: &mut Response| {
        let h = resp.headers_mut();
        h.insert("ratelimit-limit", HeaderValue::from(limit));
        h.insert("ratelimit-remaining", HeaderValue::from(rate.remaining));
        h.insert("ratelimit-reset", HeaderValue::from((rate.reset_ms + 999) / 1000));
        if let Ok(v) = HeaderValue::from_str(&format!("{limit};w=60")) {
            h.insert("ratelimit-policy", v);
        }
    };
    if !rate.allowed {
        metrics::counter!("delivr_rate_limit_refusals_total", "scope" => "api").increment(1);
        let mut resp = response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            lang,
            Msg::ErrTooManyTitle,
            Some(format!("{limit} requests per minute")),
        );
        rate_headers(&mut resp);
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from((rate.retry_after_ms + 999) / 1000));
        return Ok(resp);
    }
    // 2b. The key's role allows this operation (the policy's table, as the portal's pages).
    let write = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if !auth.role.can(crate::auth::policy::operation(req.uri().path(), write)) {
        let role = auth.role.as_str().to_ascii_lowercase();
        let mut resp = response(
            StatusCode::FORBIDDEN,
            "forbidden",
            lang,
            Msg::ErrForbiddenTitle,
            Some(format!("this key acts with the {role} role, which may not do this")),
        );
        rate_headers(&mut resp);
        return Ok(resp);
    }
    req.extensions_mut().insert(auth.clone());

    // 3. The body, capped; 4. idempotency on POST.
    let mut idem: Option<IdemKey> = None;
    let mut _same_key = None;
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        let body = match req.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(_) => return Ok(for_status(StatusCode::PAYLOAD_TOO_LARGE, lang, Some(format!("at most {MAX_BODY_BYTES} bytes")))),
        };
        // The document says what a request may be; nothing it refuses reaches the operation.
        if let Err(refusal) = contract.check(req.method().as_str(), req.uri().path(), req.uri().query().unwrap_or(""), Some(&body), lang) {
            let mut resp = refused(refusal, lang);
            rate_headers(&mut resp);
            return Ok(resp);
        }
        // A key that is not even text (bytes outside ASCII) is as wrong as a malformed one.
        let key_header = req.headers().get("idempotency-key").filter(|_| req.method() == Method::POST);
        if let Some(key) = key_header.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()) {
            if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
                return Ok(response(StatusCode::BAD_REQUEST, "idempotency-key", lang, Msg::ErrIdempotencyKey, None));
            }
            let request_hash = security::sha256_hex(&[req.uri().path().as_bytes(), b"\n", &body].concat());
            // Requests with the same key run one after the other on this instance.
            _same_key = Some(state.idem_locks.lock(format!("{}\n{key}", auth.partner_id)).await);
            match idempotency::lookup(&state.db, &auth.partner_id, &key).await {
                Ok(None) => {}
                Ok(Some(r)) if r.request_hash != request_hash => {
                    return Ok(response(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-mismatch", lang, Msg::ErrIdempotencyMismatch, None));
                }
                Ok(Some(r)) => {
                    let mut resp = replay(&state, &auth.partner_id, &r, lang).await;
                    rate_headers(&mut resp);
                    return Ok(resp);
                }
                Err(e) => return Ok(internal(e, lang)),
            }
            let key = IdemKey { partner_id: auth.partner_id.to_string(), key, request_hash, attempt: security::random_token(12) };
            req.extensions_mut().insert(key.clone());
            idem = Some(key);
        }
        if body.iter().all(u8::is_ascii_whitespace) && contract.body_optional(req.method().as_str(), req.uri().path()) {
            req.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            req.set_body("{}");
        } else {
            req.set_body(body);
        }
    } else if let Err(refusal) = contract.check(req.method().as_str(), req.uri().path(), req.uri().query().unwrap_or(""), None, lang) {
        let mut resp = refused(refusal, lang);
        rate_headers(&mut resp);
        return Ok(resp);
    }

    // An optional query parameter sent empty is not sent (the document says so): the
    // operation's own parser then sees it absent.
    if let Some(query) = req.uri().query()
        && query.split('&').any(|kv| kv.is_empty() || kv.ends_with('=') || !kv.contains('='))
    {
        let kept: Vec<&str> = query.split('&').filter(|kv| kv.split_once('=').is_some_and(|(_, v)| !v.is_empty())).collect();
        let uri = if kept.is_empty() { req.uri().path().to_owned() } else { format!("{}?{}", req.uri().path(), kept.join("&")) };
        if let Ok(uri) = uri.parse() {
            *req.uri_mut() = uri;
        }
    }

    // 5. The operation; errors become problems.
    let path = req.uri().path().to_owned();
    let actor = crate::audit::Actor {
        user_id: auth.created_by.clone(),
        label: format!("API key {}", key.split('.').next().unwrap_or_default()),
        partner_id: Some(auth.partner_id.to_string()),
        ip: crate::web::client_address(&req, state.config.trust_proxy),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned(),
    };
    let mut resp = match crate::audit::acting(actor, crate::web::api::problem::in_language(lang, ep.call(req))).await {
        Ok(r) => {
            let r = r.into_response();
            // Unmatched routes and methods answer with plain statuses: give them a problem body.
            let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
            if r.status().is_client_error() && !is_problem { for_status(r.status(), lang, None) } else { r }
        }
        Err(e) if e.is_from_response() => e.into_response(),
        Err(e) => {
            // A missing or wrong Content-Type is a malformed request like any other.
            let status = if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE { StatusCode::BAD_REQUEST } else { e.status() };
            if status.is_server_error() {
                tracing::error!(error = %e, "API operation failed");
            }
            for_status(status, lang, Some(e.to_string()))
        }
    };
    // An undeclared method on a known path: say which ones are (RFC 9110).
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Ok(allow) = HeaderValue::from_str(&contract.allowed(&path).join(", "))
    {
        resp.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(key) = idem {
        fault_pause().await;
        resp = keep_for_retries(&state, &key, resp, lang).await;
    }
    rate_headers(&mut resp);
    Ok(resp)
}

/// Fault injection for the crash tests: `DELIVR_FAULT_PAUSE_BEFORE_STORE_MS` holds every
/// idempotent response between the operation's commit and the storing of its response, so
/// that a kill lands there often. Unset (always, outside those tests), nothing waits.
async fn fault_pause() {
    static PAUSE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| std::env::var("DELIVR_FAULT_PAUSE_BEFORE_STORE_MS").ok().and_then(|v| v.parse().ok()));
    if let Some(ms) = pause {
        tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
    }
}

/// After an operation with an idempotency key: if another request with the key recorded its
/// effect first (another instance), answer as it did; otherwise keep this response for the
/// retries (a server error keeps nothing: the retry runs again).
async fn keep_for_retries(state: &AppState, key: &IdemKey, resp: Response, lang: crate::i18n::Lang) -> Response {
    // The database is out of reach: nothing was done, and asking it again would only wait.
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        return resp;
    }
    match idempotency::lookup(&state.db, &key.partner_id, &key.key).await {
        Ok(Some(r)) if r.attempt.as_deref() != Some(key.attempt.as_str()) && r.request_hash == key.request_hash => {
            return replay(state, &key.partner_id, &r, lang).await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reading an idempotency record failed"),
    }
    if resp.status().is_server_error() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = body.into_bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    // Not kept (the database is away): the effect's own record still answers the retry.
    if let Err(e) = idempotency::store_response(&state.db, key, parts.status.as_u16(), content_type, &text).await {
        tracing::warn!(error = %e, "storing an idempotent response failed");
    }
    Response::from_parts(parts, poem::Body::from(bytes))
}

/// Answer a retry from its key's record: the stored response, or one rebuilt from the effect
/// the operation recorded (when the process stopped before the response was stored).
async fn replay(state: &AppState, partner_id: &str, r: &idempotency::Record, lang: crate::i18n::Lang) -> Response {
    let status = StatusCode::from_u16(r.status.unwrap_or(200) as u16).unwrap_or(StatusCode::OK);
    let (content_type, body) = match (&r.response_body, &r.effect) {
        (Some(body), _) => (r.content_type.clone().unwrap_or_else(|| "application/json".to_owned()), body.clone()),
        (None, Some(effect)) => match rebuild(state, partner_id, effect).await {
            Ok(Some(body)) => ("application/json; charset=utf-8".to_owned(), body),
            Ok(None) => return for_status(StatusCode::INTERNAL_SERVER_ERROR, lang, None),
            // The database went away between the record and its resource: retry later.
            Err(e) => return internal(e, lang),
        },
        (None, None) => return for_status(StatusCode::INTERNAL_SERVER_ERROR, lang, None),
    };
    Response::builder().status(status).header(header::CONTENT_TYPE, content_type).header("idempotent-replayed", "true").body(body)
}

/// The response an effect gives, built from the resource as it is now.
async fn rebuild(state: &AppState, partner_id: &str, effect: &str) -> sqlx::Result<Option<String>> {
    let mut parts = effect.splitn(3, ':');
    let body = match (parts.next(), parts.next(), parts.next()) {
        (Some("order" | "cancel"), Some(id), None) => crate::orders::api::order_json(state, partner_id, id).await?,
        (Some("dispute"), Some(id), None) => crate::disputes::api::dispute_json(state, partner_id, id).await?,
        (Some("message"), Some(dispute), Some(id)) => crate::disputes::api::message_json(state, partner_id, dispute, id).await?,
        (Some("payout"), Some(id), None) => crate::wallet::api::payout_json(state, partner_id, id).await?,
        _ => None,
    };
    if body.is_none() {
        tracing::warn!(effect, "an idempotent effect could not be rebuilt");
    }
    Ok(body)
}

/// The problem for a request the document refuses.
fn refused(refusal: contract::Refusal, lang: crate::i18n::Lang) -> Response {
    match refusal {
        contract::Refusal::Parameter(name, message) => {
            response(StatusCode::BAD_REQUEST, "invalid-parameter", lang, Msg::ErrApiParameter, Some(format!("{name}: {message}")))
        }
        contract::Refusal::Unreadable(message) => {
            response(StatusCode::BAD_REQUEST, "malformed-request", lang, Msg::ErrApiBody, Some(message))
        }
        contract::Refusal::Malformed(errors) => malformed(errors, lang),
    }
}

/// A malformed-body problem listing each field's error.
fn malformed(errors: Vec<(String, String)>, lang: crate::i18n::Lang) -> Response {
    let status = StatusCode::BAD_REQUEST;
    let body = serde_json::json!({
        "type": format!("{}malformed-request", crate::web::api::problem::TYPE_BASE),
        "title": lang.t(Msg::ErrApiBody),
        "status": status.as_u16(),
        "errors": errors.into_iter().map(|(field, message)| serde_json::json!({"field": field, "message": message})).collect::<Vec<_>>(),
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}

fn internal(e: sqlx::Error, lang: crate::i18n::Lang) -> Response {
    if crate::db::unavailable(&e) {
        tracing::warn!(error = %e, "database unavailable");
        return for_status(StatusCode::SERVICE_UNAVAILABLE, lang, None);
    }
    tracing::error!(error = %e, "API middleware failure");
    for_status(StatusCode::INTERNAL_SERVER_ERROR, lang, None)
}
