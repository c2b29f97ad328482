//! Two-factor authentication for anyone who signs in to the portal: a TOTP secret for the usual
//! authenticator apps (shown as a QR code, confirmed by a first code), ten single-use recovery
//! codes (stored hashed, shown once), and at sign-in a second step after the password. A code
//! works once (the last step used is kept), a sign-in waiting for its code lasts five minutes
//! and five tries, then the password is asked again (throttled as any sign-in).

use maud::{Markup, PreEscaped, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form},
};
use serde::Deserialize;

use super::{guard, totp};
use crate::{
    db::{Db, now_ms},
    i18n::Msg,
    on_db, on_tx, security,
    state::AppState,
    web::{
        Ctx, PageResult,
        forms::{FieldErrors, Input},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

/// The cookie of a sign-in waiting for its second factor.
pub const CHALLENGE_COOKIE: &str = "delivr_2fa";
/// How long it waits.
pub const CHALLENGE_MS: i64 = 5 * 60_000;
/// Wrong codes it takes before the password is asked again.
pub const CHALLENGE_TRIES: i64 = 5;
/// Recovery codes made at once.
pub const RECOVERY_CODES: usize = 10;

pub fn routes(route: Route) -> Route {
    route
        .at("/accounts/two-factor/", get(challenge_page).post(answer_challenge))
        .at("/accounts/two-factor/setup/", get(setup_page).post(confirm_setup))
        .at("/accounts/two-factor/disable/", post(disable))
}

/// Is two-factor on for this person?
pub async fn enabled(db: &Db, user_id: &str) -> sqlx::Result<bool> {
    let on: Option<Option<i64>> = on_db!(db, pool => sqlx::query_scalar("SELECT confirmed_at FROM user_totp WHERE user_id = $1").bind(user_id).fetch_optional(pool).await)?;
    Ok(on.flatten().is_some())
}

/// The secret being set up (made now if none waits); `None` when two-factor is already on.
async fn pending_secret(db: &Db, user_id: &str, now: i64) -> sqlx::Result<Option<String>> {
    let row: Option<(String, Option<i64>)> = on_db!(db, pool => sqlx::query_as("SELECT secret, confirmed_at FROM user_totp WHERE user_id = $1").bind(user_id).fetch_optional(pool).await)?;
    match row {
        Some((_, Some(_))) => Ok(None),
        Some((secret, None)) => Ok(Some(secret)),
        None => {
            let mut bytes = [0u8; totp::SECRET_BYTES];
            getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
            let secret = totp::base32(&bytes);
            on_db!(db, pool => sqlx::query("INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id)
                .bind(&secret)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()))?;
            // Two tabs at once: whichever secret was stored is the one.
            let stored: String = on_db!(db, pool => sqlx::query_scalar("SELECT secret FROM user_totp WHERE user_id = $1").bind(user_id).fetch_one(pool).await)?;
            Ok(Some(stored))
        }
    }
}

/// Use `code` at `now` for this person's secret (`confirmed`: the secret in use, or the one
/// being set up): true when it matches a step not used before, which it then spends.
async fn spend_code(db: &Db, user_id: &str, code: &str, now: i64, confirmed: bool) -> sqlx::Result<bool> {
    let row: Option<(String, i64)> = on_db!(db, pool => sqlx::query_as(&format!(
        "SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND confirmed_at IS {} NULL",
        if confirmed { "NOT" } else { "" }
    ))
    .bind(user_id)
    .fetch_optional(pool)
    .await)?;
    let Some((secret, last)) = row else { return Ok(false) };
    let Some(step) = totp::from_base32(&secret).and_then(|s| totp::matching_step(&s, code, now / 1000)) else { return Ok(false) };
    if step <= last {
        return Ok(false);
    }
    // Two requests with the same code race to one winner.
    let won = on_db!(db, pool => sqlx::query("UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2")
        .bind(user_id)
        .bind(step)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(won == 1)
}

/// A recovery code as typed (case, spaces and dashes do not matter), hashed as stored.
fn recovery_hash(code: &str) -> String {
    let clean: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    security::sha256_hex(clean.as_bytes())
}

/// Spend a recovery code of this person: true when it was one not used before.
async fn spend_recovery(db: &Db, user_id: &str, code: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_db!(db, pool => sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(recovery_hash(code))
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Check a second factor: a current code, or else a recovery code (each works once).
pub async fn verify(db: &Db, user_id: &str, code: &str, now: i64) -> sqlx::Result<bool> {
    Ok(spend_code(db, user_id, code, now, true).await? || spend_recovery(db, user_id, code, now).await?)
}

/// What a typed second factor turned out to be.
enum Code {
    Given,
    Wrong,
    /// Too many wrong ones lately: not even checked.
    Locked,
}

/// Check a code (or recovery code) `user_id` typed: wrong ones count per account across
/// sign-ins and are recorded, so a stolen password or session gets no endless tries.
async fn check_code(db: &Db, user_id: &str, code: &str, now: i64) -> sqlx::Result<Code> {
    let key = format!("2fa:{user_id}");
    if super::throttle::retry_after(db, &[(&key, super::throttle::LOGIN_ACCOUNT)]).await?.is_some() {
        return Ok(Code::Locked);
    }
    if verify(db, user_id, code, now).await? {
        return Ok(Code::Given);
    }
    super::throttle::record(db, &[&key]).await?;
    metrics::counter!("delivr_sign_in_failures_total", "kind" => "second-factor").increment(1);
    let email = super::repo::email_of(db, user_id).await?.unwrap_or_default();
    crate::audit::failed_sign_in(db, &email, crate::audit::Action::TwoFactorFailed).await?;
    Ok(Code::Wrong)
}

/// Turn two-factor on with the first code of the secret being set up; returns the recovery
/// codes (shown once), or `None` when the code does not match.
pub async fn confirm(db: &Db, user_id: &str, code: &str, now: i64) -> sqlx::Result<Option<Vec<String>>> {
    if !spend_code(db, user_id, code, now, false).await? {
        return Ok(None);
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE user_totp SET confirmed_at = $2 WHERE user_id = $1").bind(user_id).bind(now).execute(&mut *c).await.map(|_| ()))?;
    let codes = new_recovery_codes(&mut tx, user_id).await?;
    crate::audit::record(&mut tx, crate::audit::Entry::new(crate::audit::Action::TwoFactorOn, "")).await?;
    tx.commit().await?;
    Ok(Some(codes))
}

/// Replace a person's recovery codes with new ones; returns them (shown once, stored hashed).
async fn new_recovery_codes(tx: &mut crate::db::Tx, user_id: &str) -> sqlx::Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = security::random_token(8).to_lowercase().replace(['-', '_'], "x");
            let raw: String = raw.chars().filter(char::is_ascii_alphanumeric).take(10).collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    on_tx!(tx, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *c).await.map(|_| ()))?;
    for code in &codes {
        on_tx!(tx, c => sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(recovery_hash(code))
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
    }
    Ok(codes)
}

/// Turn two-factor on with a secret given out of band (the demo's owner, whose secret is
/// printed); returns the recovery codes.
pub async fn turn_on_with(db: &Db, user_id: &str, secret_base32: &str, now: i64) -> sqlx::Result<Vec<String>> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO user_totp (user_id, secret, confirmed_at, created_at) VALUES ($1, $2, $3, $3)")
        .bind(user_id)
        .bind(secret_base32)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    let codes = new_recovery_codes(&mut tx, user_id).await?;
    crate::audit::record(&mut tx, crate::audit::Entry::new(crate::audit::Action::TwoFactorOn, "")).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turn two-factor off (its secret and recovery codes go).
pub async fn turn_off(db: &Db, user_id: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *c).await.map(|_| ()))?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(user_id).execute(&mut *c).await.map(|_| ()))?;
    crate::audit::record(&mut tx, crate::audit::Entry::new(crate::audit::Action::TwoFactorOff, "")).await?;
    tx.commit().await
}

/// A sign-in whose password was right, waiting for its second factor: the cookie's value.
pub async fn challenge(db: &Db, user_id: &str, next: &str, now: i64) -> sqlx::Result<String> {
    let raw = security::random_token(32);
    on_db!(db, pool => sqlx::query("DELETE FROM login_challenges WHERE user_id = $1 OR created_at < $2")
        .bind(user_id)
        .bind(now - CHALLENGE_MS)
        .execute(pool)
        .await
        .map(|_| ()))?;
    on_db!(db, pool => sqlx::query("INSERT INTO login_challenges (id_hash, user_id, next, created_at) VALUES ($1, $2, $3, $4)")
        .bind(security::sha256_hex(raw.as_bytes()))
        .bind(user_id)
        .bind(next)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(raw)
}

/// The sign-in waiting behind a cookie: its person and where they were going, counting one
/// more try; `None` when it is unknown, expired or out of tries (then it is gone).
async fn take_try(db: &Db, raw: &str, now: i64) -> sqlx::Result<Option<(String, String)>> {
    if raw.len() > 128 {
        return Ok(None);
    }
    let hash = security::sha256_hex(raw.as_bytes());
    let row: Option<(String, String, i64)> = on_db!(db, pool => sqlx::query_as(
        "UPDATE login_challenges SET attempts = attempts + 1 WHERE id_hash = $1 AND created_at > $2 RETURNING user_id, next, attempts",
    )
    .bind(&hash)
    .bind(now - CHALLENGE_MS)
    .fetch_optional(pool)
    .await)?;
    match row {
        Some((user, next, attempts)) if attempts <= CHALLENGE_TRIES => Ok(Some((user, next))),
        _ => {
            end_challenge(db, raw).await?;
            Ok(None)
        }
    }
}

async fn end_challenge(db: &Db, raw: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1").bind(security::sha256_hex(raw.as_bytes())).execute(pool).await.map(|_| ()))
}

fn challenge_view(ctx: &Ctx, errors: &FieldErrors) -> Markup {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::TwoFactorTitle)) }
            form.card method="post" action="/accounts/two-factor/" novalidate hx-boost="false" {
                (csrf_field(ctx))
                p { (ctx.t(Msg::TwoFactorAsk)) }
                (Input::new("code", ctx.t(Msg::TwoFactorCode), "").autocomplete("one-time-code").hint(ctx.t(Msg::TwoFactorRecoveryHint)).render(errors))
                button.btn.block type="submit" data-busy=(ctx.t(Msg::BusySigningIn)) { (ctx.t(Msg::LoginSubmit)) }
            }
            p.small { a href="/accounts/login/" { (ctx.t(Msg::BackToLogin)) } }
        }
    };
    page(ctx, ctx.t(Msg::TwoFactorTitle), body)
}

fn challenge_cookie(req: &poem::Request) -> Option<String> {
    super::pages::cookie_value(req, CHALLENGE_COOKIE).map(str::to_owned)
}

#[handler]
async fn challenge_page(Data(ctx): Data<&Ctx>, req: &poem::Request) -> Response {
    if challenge_cookie(req).is_none() {
        return redirect("/accounts/login/");
    }
    respond(StatusCode::OK, challenge_view(ctx, &FieldErrors::default()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
}

#[handler]
async fn answer_challenge(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Form(form): Form<CodeForm>,
    req: &poem::Request,
) -> PageResult<Response> {
    let now = now_ms();
    let Some(raw) = challenge_cookie(req) else { return Ok(redirect("/accounts/login/")) };
    let Some((user_id, next)) = take_try(&state.db, &raw, now).await? else {
        // Expired or out of tries: the password again.
        return Ok(redirect("/accounts/login/?expired=1"));
    };
    match check_code(&state.db, &user_id, &form.code, now).await? {
        Code::Given => {}
        Code::Locked => {
            end_challenge(&state.db, &raw).await?;
            return Ok(redirect("/accounts/login/?expired=1"));
        }
        Code::Wrong => {
            let mut errors = FieldErrors::default();
            errors.add("code", ctx.t(Msg::ErrTwoFactorCode));
            return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, challenge_view(ctx, &errors)));
        }
    }
    end_challenge(&state.db, &raw).await?;
    let mut resp = super::pages::start_session(state, ctx, &user_id, &next, req).await?;
    super::pages::set_cookie(&mut resp, &crate::web::cookie(state, CHALLENGE_COOKIE, "", 0));
    Ok(resp)
}

/// A key in groups of four, as it is easier to copy by hand.
fn grouped(key: &str) -> String {
    key.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn setup_view(ctx: &Ctx, secret: Option<&str>, email: &str, recovery: Option<&[String]>, errors: &FieldErrors) -> Markup {
    let required = ctx.user.as_ref().is_some_and(|u| u.must_set_up_two_factor());
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::TwoFactorSetupTitle)) }
            @if required && recovery.is_none() { div.flash.warn role="status" { (ctx.t(Msg::TwoFactorRequiredText)) } }
            @if let Some(codes) = recovery {
                div.card {
                    div.flash.ok role="status" { (ctx.t(Msg::TwoFactorOn)) }
                    h2 { (ctx.t(Msg::TwoFactorRecoveryTitle)) }
                    p { (ctx.t(Msg::TwoFactorRecoveryText)) }
                    ul.codes { @for c in codes { li { code { (c) } } } }
                    a.btn href="/partners/profile/" { (ctx.t(Msg::Continue)) }
                }
            } @else if let Some(secret) = secret {
                form.card method="post" action="/accounts/two-factor/setup/" novalidate {
                    (csrf_field(ctx))
                    p { (ctx.t(Msg::TwoFactorScan)) }
                    @let uri = totp::uri(secret, email);
                    // On the phone itself, the code opens the authenticator app.
                    @if let Some(svg) = totp::qr_svg(&uri) { a.qr href=(uri) aria-label=(ctx.t(Msg::TwoFactorOpenApp)) { (PreEscaped(svg)) } }
                    p.small { a href=(uri) { (ctx.t(Msg::TwoFactorOpenApp)) } }
                    p.small { (ctx.t(Msg::TwoFactorKeyText)) br; code #totp-secret { (grouped(secret)) } }
                    (Input::new("code", ctx.t(Msg::TwoFactorCode), "").inputmode("numeric").autocomplete("one-time-code").render(errors))
                    button.btn.block type="submit" { (ctx.t(Msg::TwoFactorEnable)) }
                }
            } @else {
                form.card method="post" action="/accounts/two-factor/disable/" novalidate {
                    (csrf_field(ctx))
                    div.flash.ok role="status" { (ctx.t(Msg::TwoFactorOn)) }
                    p { (ctx.t(Msg::TwoFactorDisableText)) }
                    (Input::new("code", ctx.t(Msg::TwoFactorCode), "").autocomplete("one-time-code").hint(ctx.t(Msg::TwoFactorRecoveryHint)).render(errors))
                    button.btn.danger type="submit" { (ctx.t(Msg::TwoFactorDisable)) }
                }
            }
        }
    };
    page(ctx, ctx.t(Msg::TwoFactorSetupTitle), body)
}

#[handler]
async fn setup_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let user = guard::user(ctx)?;
    let secret = pending_secret(&state.db, &user.user_id, now_ms()).await?;
    Ok(respond(StatusCode::OK, setup_view(ctx, secret.as_deref(), &user.email, None, &FieldErrors::default())))
}

#[handler]
async fn confirm_setup(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<CodeForm>) -> PageResult<Response> {
    let user = guard::user(ctx)?;
    let now = now_ms();
    let Some(secret) = pending_secret(&state.db, &user.user_id, now).await? else { return Ok(redirect("/accounts/two-factor/setup/")) };
    match confirm(&state.db, &user.user_id, &form.code, now).await? {
        Some(codes) => {
            // The code just typed is a proof of presence.
            crate::auth::sessions::proved(&state.db, &user.session_hash, now).await?;
            tracing::info!(user_id = user.user_id, "two-factor turned on");
            Ok(respond(StatusCode::OK, setup_view(ctx, None, &user.email, Some(&codes), &FieldErrors::default())))
        }
        None => {
            let mut errors = FieldErrors::default();
            errors.add("code", ctx.t(Msg::ErrTwoFactorCode));
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, setup_view(ctx, Some(&secret), &user.email, None, &errors)))
        }
    }
}

/// Turning it off takes a current code (or a recovery code), not only the session.
#[handler]
async fn disable(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<CodeForm>) -> PageResult<Response> {
    let user = guard::user(ctx)?;
    let now = now_ms();
    if !enabled(&state.db, &user.user_id).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let required = user.partner.as_ref().is_some_and(|p| p.two_factor_required);
    // Wrong codes count with the sign-in's (a stolen session gets no endless tries either).
    let refusal = if required {
        Some(Msg::ErrTwoFactorStillRequired)
    } else {
        match check_code(&state.db, &user.user_id, &form.code, now).await? {
            Code::Given => None,
            Code::Locked => Some(Msg::ErrTwoFactorLocked),
            Code::Wrong => Some(Msg::ErrTwoFactorCode),
        }
    };
    if let Some(refusal) = refusal {
        let mut errors = FieldErrors::default();
        errors.add("code", ctx.t(refusal));
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, setup_view(ctx, None, &user.email, None, &errors)));
    }
    turn_off(&state.db, &user.user_id).await?;
    tracing::info!(user_id = user.user_id, "two-factor turned off");
    Ok(redirect("/partners/profile/?saved=two-factor-off"))
}

/// The profile's card: whether two-factor is on, and where to change it.
pub async fn card(state: &AppState, ctx: &Ctx) -> PageResult<Markup> {
    let Some(user) = &ctx.user else { return Ok(html! {}) };
    let on = enabled(&state.db, &user.user_id).await?;
    Ok(html! {
        div.card #two-factor {
            h2 { (ctx.t(Msg::TwoFactorSetupTitle)) }
            p { @if on { (ctx.t(Msg::TwoFactorOn)) } @else { (ctx.t(Msg::TwoFactorOffText)) } }
            a.btn.secondary href="/accounts/two-factor/setup/" { @if on { (ctx.t(Msg::TwoFactorManage)) } @else { (ctx.t(Msg::TwoFactorEnable)) } }
        }
    })
}
