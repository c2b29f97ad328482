//! Login, logout and the language switcher (a vendor signs up with `partners::signup`).

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{HeaderValue, StatusCode, header},
    post,
    web::{Data, Form, Query},
};
use serde::Deserialize;

use crate::{
    accounts::{device, guard, parse_email, password, phone::Phone, repo, throttle, two_factor},
    auth::{Role, sessions},
    i18n::{Lang, Msg},
    state::AppState,
    web::{
        Ctx, LANG_COOKIE, PageResult, SESSION_COOKIE, cookie,
        forms::{FieldErrors, Input, clean},
        layout::{csrf_field, page, respond},
        redirect,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/accounts/login/", get(login_page).post(login))
        .at("/accounts/logout/", post(logout))
        .at("/lang/", post(switch_language))
        .at("/", get(home))
}

#[handler]
fn home(Data(ctx): Data<&Ctx>) -> Response {
    match &ctx.user {
        Some(user) => redirect(guard::home_of(user)),
        None => redirect("/accounts/login/"),
    }
}

/// Check a new password against the policy.
pub fn check_password(ctx: &Ctx, errors: &mut FieldErrors, field: &'static str, pw: &str) {
    let n = pw.chars().count();
    if n < password::MIN_LEN {
        errors.add(field, ctx.fmt(Msg::ErrPasswordShort, &[("min", &password::MIN_LEN.to_string())]));
    } else if n > password::MAX_LEN {
        errors.add(field, ctx.fmt(Msg::ErrTooLong, &[("max", &password::MAX_LEN.to_string())]));
    }
}

/// Validate a required text field of at most `max` characters.
pub fn required_text(ctx: &Ctx, errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) -> String {
    match clean(value, max) {
        Ok(v) if v.is_empty() => {
            errors.add(field, ctx.t(Msg::ErrRequired));
            v
        }
        Ok(v) if v.chars().count() < 2 => {
            errors.add(field, ctx.t(Msg::ErrTooShort));
            v
        }
        Ok(v) => v,
        Err(max) => {
            errors.add(field, ctx.fmt(Msg::ErrTooLong, &[("max", &max.to_string())]));
            value.chars().take(max).collect()
        }
    }
}

pub fn required_phone(ctx: &Ctx, errors: &mut FieldErrors, field: &'static str, value: &str) -> Option<Phone> {
    if value.trim().is_empty() {
        errors.add(field, ctx.t(Msg::ErrRequired));
        return None;
    }
    let phone = Phone::parse(value);
    if phone.is_none() {
        errors.add(field, ctx.t(Msg::ErrPhone));
    }
    phone
}

pub fn required_email(ctx: &Ctx, errors: &mut FieldErrors, field: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        errors.add(field, ctx.t(Msg::ErrRequired));
        return None;
    }
    let email = parse_email(value);
    if email.is_none() {
        errors.add(field, ctx.t(Msg::ErrEmail));
    }
    email
}

/// Add a `Set-Cookie` header (built by [`cookie`]).
pub fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
    /// `everywhere` after "sign out everywhere"; `1` when a page's session ended under it.
    signed_out: String,
    ended: String,
    /// `1` after a password was set through a recovery link.
    reset: String,
    /// `1` when a sign-in waited too long (or too many wrong codes) for its second factor.
    expired: String,
}

fn login_view(ctx: &Ctx, email: &str, next: &str, errors: &FieldErrors, banner: Option<String>) -> Markup {
    login_view_with(ctx, email, next, errors, banner, None)
}

fn login_view_with(ctx: &Ctx, email: &str, next: &str, errors: &FieldErrors, banner: Option<String>, info: Option<Msg>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::LoginTitle)) }
            @if let Some(b) = banner { div.flash.err role="alert" { (b) } }
            @if let Some(m) = info { div.flash role="status" { (ctx.t(m)) } }
            form.card method="post" action="/accounts/login/" novalidate hx-boost="false" {
                (csrf_field(ctx))
                input type="hidden" name="next" value=(next);
                (Input::new("email", ctx.t(Msg::FieldEmail), email).kind("email").autocomplete("username").render(errors))
                (Input::new("password", ctx.t(Msg::FieldPassword), "").kind("password").autocomplete("current-password").render(errors))
                button.btn.block type="submit" data-busy=(ctx.t(Msg::BusySigningIn)) { (ctx.t(Msg::LoginSubmit)) }
                p.small { a.tap href="/accounts/password/forgot/" { (ctx.t(Msg::LoginForgot)) } }
            }
            p.small { (ctx.t(Msg::LoginNoAccount)) " " a href="/accounts/signup/" { (ctx.t(Msg::SignupSubmit)) } }
        }
    };
    page(ctx, ctx.t(Msg::LoginTitle), body)
}

#[handler]
fn login_page(Data(ctx): Data<&Ctx>, Query(q): Query<NextQuery>) -> Response {
    let next = guard::safe_next(&q.next).unwrap_or("");
    if let Some(user) = &ctx.user {
        // Still (or again) signed in, e.g. a page whose old session was renewed: back to it.
        return redirect(match (next.is_empty(), guard::home_of(user)) {
            (false, "/partners/dashboard/" | "/admin/partners/") => next,
            (_, landing) => landing,
        });
    }
    let info = match (q.signed_out.as_str(), q.ended.as_str(), q.reset.as_str()) {
        ("everywhere", _, _) => Some(Msg::SignedOutEverywhere),
        (_, "1", _) => Some(Msg::SessionEndedInfo),
        (_, _, "1") => Some(Msg::PasswordResetDone),
        _ if q.expired == "1" => Some(Msg::TwoFactorExpired),
        _ => None,
    };
    respond(StatusCode::OK, login_view_with(ctx, "", next, &FieldErrors::default(), None, info))
}

#[handler]
async fn login(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Form(form): Form<LoginForm>,
    cookies: &poem::Request,
) -> PageResult<Response> {
    let next = guard::safe_next(&form.next).unwrap_or("").to_owned();
    let email = form.email.trim().to_lowercase();
    let mut errors = FieldErrors::default();
    if email.is_empty() {
        errors.add("email", ctx.t(Msg::ErrRequired));
    }
    if form.password.is_empty() {
        errors.add("password", ctx.t(Msg::ErrRequired));
    }
    if !errors.is_empty() {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, login_view(ctx, &form.email, &next, &errors, None)));
    }

    // The user is looked up first (the same queries whether or not the account exists): a
    // browser that signed in to this account before is throttled on its own count.
    let user = repo::find_by_email(&state.db, &email).await?;
    let device = match (&user, cookie_value(cookies, device::DEVICE_COOKIE)) {
        (Some(u), Some(c)) => device::trusted_for(&state.secret, c, &u.id, &u.password_hash).map(throttle::device_key),
        _ => None,
    };
    let (account, client, trusted) = (throttle::account_key(&email), throttle::client_key(&ctx.client), throttle::trusted_key(&email));
    let (checks, keys): (Vec<(&str, throttle::Rule)>, Vec<&str>) = match &device {
        Some(d) => (vec![(d.as_str(), throttle::LOGIN_DEVICE), (trusted.as_str(), throttle::LOGIN_TRUSTED)], vec![d.as_str(), &trusted]),
        None => (vec![(account.as_str(), throttle::LOGIN_ACCOUNT), (client.as_str(), throttle::LOGIN_CLIENT)], vec![&account, &client]),
    };
    if let Some(wait) = throttle::retry_after(&state.db, &checks).await? {
        metrics::counter!("delivr_sign_in_failures_total", "kind" => "throttled").increment(1);
        metrics::counter!("delivr_rate_limit_refusals_total", "scope" => "sign-in").increment(1);
        let minutes = ((wait + 59) / 60).to_string();
        let banner = ctx.fmt(Msg::ErrLoginThrottled, &[("minutes", &minutes)]);
        let mut resp = respond(StatusCode::TOO_MANY_REQUESTS, login_view(ctx, &form.email, &next, &errors, Some(banner)));
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(resp);
    }

    // Counted first, forgotten on success: parallel guesses cannot outrun the limit.
    let attempt = throttle::record(&state.db, &keys).await?;
    let phc = user.as_ref().map_or_else(|| password::dummy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = password::verify_blocking(form.password.clone(), phc).await;
    let user = match user {
        Some(u) if matches && u.is_active => u,
        _ => {
            metrics::counter!("delivr_sign_in_failures_total", "kind" => "password").increment(1);
            crate::audit::failed_sign_in(&state.db, &email, crate::audit::Action::SignInFailed).await?;
            // How many tries are left before the lock (the same whether or not the account exists).
            let (key, rule) = checks[0];
            let left = throttle::remaining(&state.db, key, rule).await?;
            let then = if left > 0 {
                ctx.fmt(Msg::LoginTriesLeft, &[("count", &left.to_string())])
            } else {
                ctx.fmt(Msg::ErrLoginThrottled, &[("minutes", &(throttle::WINDOW_MS / 60_000).to_string())])
            };
            let banner = format!("{} {then}", ctx.t(Msg::ErrLoginInvalid));
            return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, login_view(ctx, &form.email, &next, &errors, Some(banner))));
        }
    };
    throttle::forget(&state.db, &attempt).await?;
    if Role::parse(&user.role) == Some(Role::Courier) {
        let banner = ctx.t(Msg::ErrCourierPortal).to_owned();
        return Ok(respond(StatusCode::FORBIDDEN, login_view(ctx, &form.email, &next, &errors, Some(banner))));
    }
    throttle::clear(&state.db, device.as_deref().unwrap_or(&account)).await?;
    // Two-factor: the password was right; the session waits for the second factor.
    if two_factor::enabled(&state.db, &user.id).await? {
        let raw = two_factor::challenge(&state.db, &user.id, &next, crate::db::now_ms()).await?;
        let mut resp = redirect("/accounts/two-factor/");
        set_cookie(&mut resp, &cookie(state, two_factor::CHALLENGE_COOKIE, &raw, two_factor::CHALLENGE_MS / 1000));
        return Ok(resp);
    }
    start_session(state, ctx, &user.id, &next, cookies).await
}

/// Sign `user_id` in (their password, and second factor if on, checked): the pre-login session
/// ends, a new one starts, this browser becomes known to the account; to `next` or their home.
pub async fn start_session(state: &AppState, ctx: &Ctx, user_id: &str, next: &str, cookies: &poem::Request) -> PageResult<Response> {
    // Renew: the pre-login session (if any) ends, a new id is issued.
    if let Some(old) = cookie_value(cookies, SESSION_COOKIE) {
        sessions::delete(&state.db, old).await?.announce(&state.bus);
    }
    let raw = sessions::create(&state.db, user_id).await?;
    let resolved = sessions::resolve(&state.db, &raw).await?;
    let Some(resolved) = resolved else {
        // The partner is suspended: the session was refused. The right password earns the
        // reason and how to reach DELIVR-CM.
        let reason = repo::suspension_reason(&state.db, user_id).await?;
        let refused = !repo::was_approved(&state.db, user_id).await?;
        return Ok(respond(StatusCode::FORBIDDEN, suspended_view(state, ctx, reason.as_deref(), refused)));
    };
    let target = match (next.is_empty(), guard::home_of(&resolved)) {
        (false, "/partners/dashboard/" | "/admin/partners/") => next,
        (_, landing) => landing,
    };
    let hash = repo::password_hash(&state.db, user_id).await?.unwrap_or_default();
    let mut resp = redirect(target);
    set_cookie(&mut resp, &cookie(state, SESSION_COOKIE, &raw, sessions::ABSOLUTE_MS / 1000));
    // This browser is now known to the account: its failed tries count on their own.
    set_cookie(
        &mut resp,
        &cookie(state, device::DEVICE_COOKIE, &device::issue(&state.secret, user_id, &hash), device::DEVICE_MAX_AGE_SECS),
    );
    tracing::info!(user_id, "logged in");
    Ok(resp)
}

pub fn cookie_value<'a>(req: &'a poem::Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[handler]
async fn logout(Data(state): Data<&AppState>, req: &poem::Request) -> PageResult<Response> {
    if let Some(raw) = cookie_value(req, SESSION_COOKIE) {
        sessions::delete(&state.db, raw).await?.announce(&state.bus);
    }
    let mut resp = redirect("/accounts/login/");
    set_cookie(&mut resp, &cookie(state, SESSION_COOKIE, "", 0));
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangForm {
    lang: String,
    next: String,
}

#[handler]
async fn switch_language(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<LangForm>) -> PageResult<Response> {
    let Some(lang) = Lang::parse(&form.lang) else {
        return Err(crate::web::status_error(StatusCode::BAD_REQUEST).into());
    };
    if let Some(user) = &ctx.user {
        repo::set_language(&state.db, &user.user_id, lang.code()).await?;
    }
    let mut resp = redirect(guard::safe_next(&form.next).unwrap_or("/"));
    set_cookie(&mut resp, &cookie(state, LANG_COOKIE, lang.code(), 60 * 60 * 24 * 365));
    Ok(resp)
}

/// What a suspended vendor sees after signing in: why, and how to reach DELIVR-CM.
fn suspended_view(state: &AppState, ctx: &Ctx, reason: Option<&str>, refused: bool) -> Markup {
    let config = &state.config;
    let phone = crate::accounts::phone::Phone::parse(&config.support_phone);
    let wa = phone.as_ref().map(|p| format!("https://wa.me/{}", p.as_str().trim_start_matches('+')));
    let body = html! {
        div.narrow {
            h1 { (ctx.t(if refused { Msg::SuspendedRefusedTitle } else { Msg::SuspendedTitle })) }
            div.card {
                p { (ctx.t(if refused { Msg::SuspendedRefusedText } else { Msg::SuspendedText })) }
                @if let Some(r) = reason.filter(|r| !r.trim().is_empty()) { p { strong { (ctx.t(Msg::SuspendedReason)) " : " } (r) } }
                p { (ctx.t(Msg::SuspendedContact)) }
                ul {
                    li { a href=(format!("mailto:{}", config.support_email)) { (config.support_email) } }
                    @if let Some(p) = &phone { li { a href=(format!("tel:{}", p.as_str())) { (p.to_string()) } } }
                    @if let Some(wa) = &wa { li { a href=(wa) rel="noopener" { "WhatsApp" } } }
                }
                p.small.muted { (ctx.t(Msg::SuspendedData)) }
            }
        }
    };
    page(ctx, ctx.t(if refused { Msg::SuspendedRefusedTitle } else { Msg::SuspendedTitle }), body)
}
