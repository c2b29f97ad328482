//! The recovery pages: asking for a link (`/accounts/password/forgot/`) and choosing a new
//! password with it (`/accounts/password/reset/<token>/`).

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{HeaderValue, StatusCode, header},
    web::{Data, Form, Path},
};
use serde::Deserialize;

use crate::{
    accounts::{pages::check_password, password, throttle},
    db::now_ms,
    i18n::Msg,
    messages::RESET_MINUTES,
    state::AppState,
    web::{
        Ctx, PageResult,
        forms::{FieldErrors, Input},
        layout::{csrf_field, page, respond},
        redirect,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/accounts/password/forgot/", get(forgot_page).post(forgot))
        .at("/accounts/password/reset/:token/", get(reset_page).post(reset))
}

fn forgot_view(ctx: &Ctx, email: &str, errors: &FieldErrors, banner: Option<String>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::ForgotTitle)) }
            @if let Some(b) = banner { div.flash.err role="alert" { (b) } }
            form.card method="post" action="/accounts/password/forgot/" novalidate hx-boost="false" {
                (csrf_field(ctx))
                p { (ctx.fmt(Msg::ForgotIntro, &[("minutes", &RESET_MINUTES.to_string())])) }
                (Input::new("email", ctx.t(Msg::FieldEmail), email).kind("email").autocomplete("username").render(errors))
                button.btn.block type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::ForgotSubmit)) }
            }
            p.small { a href="/accounts/login/" { (ctx.t(Msg::BackToLogin)) } }
        }
    };
    page(ctx, ctx.t(Msg::ForgotTitle), body)
}

#[handler]
fn forgot_page(Data(ctx): Data<&Ctx>) -> Response {
    respond(StatusCode::OK, forgot_view(ctx, "", &FieldErrors::default(), None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForgotForm {
    email: String,
}

#[handler]
async fn forgot(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<ForgotForm>) -> PageResult<Response> {
    let mut errors = FieldErrors::default();
    let email = crate::accounts::pages::required_email(ctx, &mut errors, "email", &form.email);
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, forgot_view(ctx, &form.email, &errors, None)));
    };
    // Counted whether or not the account exists: the limits say nothing about accounts.
    let (by_email, by_client) = (throttle::reset_email_key(&email), throttle::reset_client_key(&ctx.client));
    let checks = [(by_email.as_str(), throttle::RESET_EMAIL), (by_client.as_str(), throttle::RESET_CLIENT)];
    if let Some(wait) = throttle::retry_after(&state.db, &checks).await? {
        let minutes = ((wait + 59) / 60).to_string();
        let banner = ctx.fmt(Msg::ErrForgotThrottled, &[("minutes", &minutes)]);
        let mut resp = respond(StatusCode::TOO_MANY_REQUESTS, forgot_view(ctx, &form.email, &errors, Some(banner)));
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(resp);
    }
    throttle::record(&state.db, &[&by_email, &by_client]).await?;
    // The link is made after the answer: how long the answer takes says nothing of the account.
    let (db, texts, target) = (state.db.clone(), state.config.sends_texts(), email.clone());
    tokio::spawn(async move {
        match crate::recovery::request(&db, &target, texts, now_ms()).await {
            Ok(made) => tracing::info!(link_made = made, "password recovery asked"),
            Err(e) => tracing::error!(error = %e, "making a password recovery link failed"),
        }
    });
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::ForgotTitle)) }
            div.card role="status" {
                p { (ctx.fmt(Msg::ForgotSent, &[("email", &email), ("minutes", &RESET_MINUTES.to_string())])) }
                p.small.muted { (ctx.t(Msg::ForgotSentHint)) }
            }
            p.small { a href="/accounts/login/" { (ctx.t(Msg::BackToLogin)) } " · " a href="/accounts/password/forgot/" { (ctx.t(Msg::ForgotAgain)) } }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::ForgotTitle), body)))
}

/// A link that cannot serve (unknown, used, expired): say so and offer a new one.
fn spent_view(ctx: &Ctx) -> Response {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::ResetTitle)) }
            div.card {
                p role="alert" { (ctx.t(Msg::ResetLinkSpent)) }
                a.btn.block href="/accounts/password/forgot/" { (ctx.t(Msg::ForgotAgain)) }
            }
        }
    };
    respond(StatusCode::GONE, page(ctx, ctx.t(Msg::ResetTitle), body))
}

fn reset_view(ctx: &Ctx, token: &str, errors: &FieldErrors) -> Markup {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::ResetTitle)) }
            form.card method="post" action=(format!("/accounts/password/reset/{token}/")) novalidate hx-boost="false" {
                (csrf_field(ctx))
                p { (ctx.t(Msg::ResetIntro)) }
                (Input::new("new_password", ctx.t(Msg::FieldNewPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(errors))
                button.btn.block type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::ChangePassword)) }
            }
        }
    };
    page(ctx, ctx.t(Msg::ResetTitle), body)
}

/// A link's token as the portal makes them (43 URL-safe characters); anything else is spent.
fn well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[handler]
async fn reset_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(token): Path<String>) -> PageResult<Response> {
    if !well_formed(&token) || !crate::recovery::is_valid(&state.db, &token).await? {
        return Ok(spent_view(ctx));
    }
    Ok(respond(StatusCode::OK, reset_view(ctx, &token, &FieldErrors::default())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    new_password: String,
}

#[handler]
async fn reset(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> PageResult<Response> {
    if !well_formed(&token) {
        return Ok(spent_view(ctx));
    }
    // Only a link that still serves gets its form back, or costs a password hash.
    if !crate::recovery::is_valid(&state.db, &token).await? {
        return Ok(spent_view(ctx));
    }
    let mut errors = FieldErrors::default();
    check_password(ctx, &mut errors, "new_password", &form.new_password);
    if !errors.is_empty() {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, reset_view(ctx, &token, &errors)));
    }
    let hash = password::hash_blocking(form.new_password).await?;
    let Some(done) = crate::recovery::reset(&state.db, &token, &hash, now_ms()).await? else {
        return Ok(spent_view(ctx));
    };
    done.ended.announce(&state.bus);
    // Whoever was guessing the old password: their count no longer locks the owner out.
    throttle::clear(&state.db, &throttle::account_key(&done.email)).await?;
    tracing::info!("password reset through a recovery link");
    Ok(redirect("/accounts/login/?reset=1"))
}
