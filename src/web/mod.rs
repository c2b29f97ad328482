//! The shared web shell: the per-request context (session, language, CSRF), the middleware
//! that builds it, error pages, and the helpers every page handler uses.

pub mod api;
pub mod assets;
pub mod brand;
pub mod components;
pub mod confirm;
pub mod forms;
pub mod input;
pub mod layout;
pub mod lean_streams;
pub mod pwa;

use std::{sync::Arc, time::Instant};

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use tracing::Instrument;

use crate::{
    auth::sessions::{self, SessionUser},
    i18n::{Lang, Msg},
    security,
    state::AppState,
};

pub const SESSION_COOKIE: &str = "delivr_session";
pub const CSRF_COOKIE: &str = "delivr_csrf";
pub const LANG_COOKIE: &str = "delivr_lang";
/// Name of the hidden form field, the query parameter and (as `X-CSRF-Token`) the header.
pub const CSRF_FIELD: &str = "csrf";

/// What every page handler knows about the request: who, in which language, and the CSRF
/// token to embed in forms. Built by [`context_middleware`], read with `Data<&Ctx>`.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<SessionUser>,
    pub csrf_token: String,
    /// Request path, for the navigation's current item and `next=` redirects.
    pub path: String,
    /// Request came from htmx (`HX-Request: true`) and wants a fragment.
    pub hx: bool,
    /// The request changes something (POST, PUT, PATCH, DELETE): what a role may do depends on it.
    pub write: bool,
    /// The client's address as the throttles see it.
    pub client: String,
    /// Unread notifications of an approved vendor (the badge in the layout).
    pub unread: i64,
    /// For admins: deliveries whose PIN locked and wait for a decision (shown in the menu).
    pub alerts: i64,
}

impl Ctx {
    pub fn t(&self, msg: Msg) -> &'static str {
        self.lang.t(msg)
    }

    pub fn fmt(&self, msg: Msg, args: &[(&str, &str)]) -> String {
        self.lang.fmt(msg, args)
    }
}

/// A page-level error: the middleware renders it as a translated page.
pub fn status_error(status: StatusCode) -> poem::Error {
    poem::Error::from_status(status)
}

/// An unexpected failure: logged with its cause chain, shown as a generic 500 page.
pub fn internal(err: impl Into<anyhow::Error>) -> poem::Error {
    PageError::Internal(err.into()).into()
}

/// What a page handler fails with: a status or a response the shell renders (not found, a
/// redirect to the login page, ...), or an unexpected failure. The shell logs the latter with
/// its cause chain, inside the request's span (so with its request id and partner), and shows
/// the translated error page. `?` turns database and domain failures into it.
#[derive(Debug)]
pub enum PageError {
    Http(poem::Error),
    Internal(anyhow::Error),
}

/// A page handler's result.
pub type PageResult<T> = Result<T, PageError>;

impl From<poem::Error> for PageError {
    fn from(e: poem::Error) -> Self {
        PageError::Http(e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Internal(e.into())
    }
}

impl From<tokio::task::JoinError> for PageError {
    fn from(e: tokio::task::JoinError) -> Self {
        PageError::Internal(e.into())
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::Internal(e)
    }
}

impl From<PageError> for poem::Error {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Http(e) => e,
            // The database cannot be reached (stopped, restarting): a translated 503 with
            // `Retry-After`, not a failure of this page.
            PageError::Internal(cause) if cause.downcast_ref::<sqlx::Error>().is_some_and(crate::db::unavailable) => {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable");
                poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE)
            }
            PageError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// An open live stream, counted in `delivr_live_streams_open{kind}` while it lives.
pub struct OpenStream(&'static str);

impl OpenStream {
    pub fn new(kind: &'static str) -> OpenStream {
        metrics::gauge!("delivr_live_streams_open", "kind" => kind).increment(1.0);
        OpenStream(kind)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("delivr_live_streams_open", "kind" => self.0).decrement(1.0);
    }
}

/// A CSV download named `filename` (the body and any extra header are the caller's).
pub fn csv_attachment(filename: &str) -> poem::ResponseBuilder {
    Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))
}

/// A PDF answer named `filename`: shown in the browser (`inline`, to print from there) or
/// downloaded.
pub fn pdf_file(filename: &str, inline: bool) -> poem::ResponseBuilder {
    let disposition = if inline { "inline" } else { "attachment" };
    Response::builder()
        .content_type("application/pdf")
        .header(header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{filename}\""))
}

/// A `303 See Other` redirect (after a successful form post; htmx follows it transparently).
pub fn redirect(to: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, to).finish()
}

struct Cookies<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Cookies<'a> {
    fn parse(req: &'a Request) -> Self {
        let mut all = Vec::new();
        for value in req.headers().get_all(header::COOKIE) {
            if let Ok(s) = value.to_str() {
                all.extend(s.split(';').filter_map(|kv| kv.trim().split_once('=')));
            }
        }
        Cookies(all)
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).filter(|v| !v.is_empty())
    }
}

/// Build a `Set-Cookie` value with the portal's flags (HttpOnly, SameSite=Lax, Secure under https).
pub fn cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

pub fn client_address(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(first) = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.rsplit(',').next())
    {
        return first.trim().to_owned();
    }
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => "unknown".to_owned(),
    }
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Find the CSRF token in the header, the query string or a url-encoded body. The body is read
/// (at most 1 MiB) and put back for the handler.
async fn submitted_csrf(req: &mut Request) -> poem::Result<Option<String>> {
    if let Some(v) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Ok(Some(v.to_owned()));
    }
    if let Some(q) = req.uri().query()
        && let Some(v) = form_value(q.as_bytes(), CSRF_FIELD)
    {
        return Ok(Some(v));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(None);
    }
    let body = req.take_body().into_bytes_limit(forms::MAX_FORM_BYTES).await.map_err(|_| status_error(StatusCode::PAYLOAD_TOO_LARGE))?;
    let found = form_value(&body, CSRF_FIELD);
    req.set_body(body);
    Ok(found)
}

fn form_value(encoded: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded).ok()?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A request's id (the client's `X-Request-Id` when it is a sane one, else a new one) and the
/// span every line logged while serving it carries (its `partner` is recorded once known).
pub fn request_span(req: &Request) -> (String, tracing::Span) {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| security::random_token(12));
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %loggable(req.uri().path()), partner = tracing::field::Empty);
    (request_id, span)
}

/// A path as the logs may keep it: a password recovery link's token is a secret.
pub fn loggable(path: &str) -> &str {
    if path.starts_with("/accounts/password/reset/") { "/accounts/password/reset/…/" } else { path }
}

/// What the shell shows of the domains on every page, given by the composition (the shell
/// sits below the domains): a vendor's unread notifications, and for admins the deliveries
/// waiting for them.
#[derive(Clone, Copy)]
pub struct Counts {
    pub unread: for<'a> fn(&'a AppState, &'a str) -> BoxFuture<'a, sqlx::Result<i64>>,
    pub alerts: for<'a> fn(&'a AppState) -> BoxFuture<'a, sqlx::Result<i64>>,
}

/// A boxed future, as the shell's hooks return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The middleware around every HTML route: request id and access log, session lookup with
/// idle and absolute expiry, language choice, CSRF check on state-changing requests, security
/// headers, and translated error pages for any error status a handler returns.
pub async fn context_middleware<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let (request_id, span) = request_span(&req);
    let served = async move {
        let state = req.data::<AppState>().cloned().ok_or_else(|| internal(anyhow::anyhow!("AppState missing")))?;
        let mut set_cookies: Vec<String> = Vec::new();
        let cookies = Cookies::parse(&req);

        // CSRF cookie: a random value per browser; the form token is its HMAC under the secret.
        let csrf_cookie = match cookies.get(CSRF_COOKIE).filter(|v| v.len() >= 16 && v.len() <= 64) {
            Some(v) => v.to_owned(),
            None => {
                let v = security::random_token(24);
                set_cookies.push(cookie(&state, CSRF_COOKIE, &v, 60 * 60 * 24 * 365));
                v
            }
        };
        let csrf_token = state.secret.csrf_token(&csrf_cookie);

        // Session.
        let mut user = None;
        if let Some(raw) = cookies.get(SESSION_COOKIE) {
            match sessions::resolve(&state.db, raw).await.map_err(internal)? {
                Some(u) => user = Some(u),
                None => set_cookies.push(cookie(&state, SESSION_COOKIE, "", 0)),
            }
        }

        if let Some(p) = user.as_ref().and_then(|u| u.partner.as_ref()) {
            tracing::Span::current().record("partner", p.id.as_str());
        }
        let cookie_lang = cookies.get(LANG_COOKIE).and_then(Lang::parse);
        let lang = user
            .as_ref()
            .and_then(|u| u.language.as_deref().and_then(Lang::parse))
            .or(cookie_lang)
            .or_else(|| req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language))
            .unwrap_or_default();

        let counts = req.data::<Counts>().copied();
        let unread = match (counts, user.as_ref().and_then(|u| u.partner.as_ref()).filter(|p| p.approved)) {
            (Some(counts), Some(p)) => (counts.unread)(&state, &p.id).await.map_err(internal)?,
            _ => 0,
        };
        let alerts = match (counts, &user) {
            (Some(counts), Some(u)) if u.role == crate::auth::Role::Admin => (counts.alerts)(&state).await.map_err(internal)?,
            _ => 0,
        };
        let ctx = Ctx {
            lang,
            unread,
            alerts,
            user,
            csrf_token: csrf_token.clone(),
            path: req.uri().path().to_owned(),
            hx: req.headers().get("hx-request").is_some_and(|v| v == "true"),
            write: is_state_changing(req.method()),
            client: client_address(&req, state.config.trust_proxy),
        };
        // What the shell cost: the session (and, for admins, their alerts); the badge comes
        // from the partner's notification actor (its reads, when it must read, count here).
        let shell_calls = crate::db::calls_so_far();

        // Numbers on the page are grouped as its language writes them (1 500 / 1,500).
        // A member's role opens only its part of the portal: checked here for every page,
        // fragment and export before the handler reads anything (the handlers' guards ask the
        // same table).
        let role_refused = ctx.path.starts_with("/partners/")
            && ctx
                .user
                .as_ref()
                .and_then(|u| u.partner.as_ref())
                .is_some_and(|p| !p.role.can(crate::auth::policy::page(&ctx.path, ctx.write)));
        // Who acts, for the audit trail of whatever this request changes.
        let actor = crate::audit::Actor {
            user_id: ctx.user.as_ref().map(|u| u.user_id.clone()),
            label: ctx.user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
            partner_id: ctx.user.as_ref().and_then(|u| u.partner.as_ref()).map(|p| p.id.to_string()),
            ip: ctx.client.clone(),
            user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned(),
        };
        let result = crate::money::grouped_by(
            lang.thousands_separator(),
            crate::audit::acting(actor, async {
                if role_refused {
                    // A member reaching past their role (by URL, an old tab): refused and recorded.
                    let entry = crate::audit::Entry::new(crate::audit::Action::Refused, &ctx.path)
                        .after(serde_json::json!({ "method": req.method().as_str() }));
                    if let Err(e) = crate::audit::record_alone(&state.db, entry, None).await {
                        tracing::warn!(error = %e, "could not record a refusal");
                    }
                    Err(status_error(StatusCode::FORBIDDEN))
                } else if is_state_changing(req.method()) {
                    let submitted = submitted_csrf(&mut req).await;
                    match submitted {
                        Ok(Some(token)) if security::constant_time_eq(token.as_bytes(), csrf_token.as_bytes()) => {
                            req.extensions_mut().insert(ctx.clone());
                            ep.call(req).await.map(IntoResponse::into_response)
                        }
                        Ok(_) => Err(status_error(StatusCode::FORBIDDEN)),
                        Err(e) => Err(e),
                    }
                } else {
                    req.extensions_mut().insert(ctx.clone());
                    ep.call(req).await.map(IntoResponse::into_response)
                }
            }),
        )
        .await;

        let mut resp = match result {
            Ok(resp) => resp,
            Err(err) if err.is_from_response() => err.into_response(),
            Err(err) => {
                let status = err.status();
                if status.is_server_error() {
                    tracing::error!(error = %err, "handler failed");
                }
                layout::error_page(&ctx, status)
            }
        };
        let headers = resp.headers_mut();
        for c in set_cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        headers.insert("x-request-id", HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("-")));
        security::add_security_headers(headers);
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        headers.append(header::VARY, HeaderValue::from_static("HX-Request"));
        // Server-Timing (shown by browsers' developer tools), for signed-in users only: the
        // page's database calls, the shell's and the handler's.
        let page_calls = crate::db::calls_so_far() - shell_calls;
        if ctx.user.is_some() {
            let timing =
                format!("shell;desc=\"db {shell_calls}\", page;desc=\"db {page_calls}\", total;dur={}", started.elapsed().as_millis());
            if let Ok(v) = HeaderValue::from_str(&timing) {
                headers.insert("server-timing", v);
            }
        }
        tracing::info!(status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, db = shell_calls + page_calls, "served");
        Ok(resp)
    }
    .instrument(span);
    crate::db::counting(served).await
}
