//! Admin courier pages: the couriers, adding one, deactivating (their app tokens end at once),
//! signing a courier's app out everywhere, and setting a new password (which ends them too).

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use crate::{
    accounts::{
        guard,
        pages::{check_password, required_email, required_text},
        password,
        phone::Phone,
        repo as users,
    },
    auth::Role,
    couriers::{self, Courier},
    i18n::Msg,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::{FieldErrors, Input},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/admin/couriers/", get(list_couriers).post(add_courier))
        .at("/admin/couriers/:id/active/", post(set_active))
        .at("/admin/couriers/:id/sign-out/", post(sign_out))
        .at("/admin/couriers/:id/password/", post(set_password))
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct NewCourierForm {
    full_name: String,
    email: String,
    phone: String,
    password: String,
}

async fn view(state: &AppState, ctx: &Ctx, form: &NewCourierForm, errors: &FieldErrors, status: StatusCode) -> PageResult<Response> {
    let all: Vec<Courier> = couriers::list(&state.db).await?;
    let body = html! {
        h1 { (ctx.t(Msg::AdminCouriersTitle)) }
        p.muted { (ctx.t(Msg::AdminCouriersIntro)) }
        @if let Some(e) = errors.get("action") { div.flash.err role="alert" { (e) } }
        @if all.is_empty() { div.card { p.muted { (ctx.t(Msg::NoResults)) } } }
        ul.orders {
            @for c in &all {
                li.card {
                    div.row.between {
                        strong { (c.full_name) }
                        @if c.is_active { (badge(ctx.t(Msg::CourierActive), "ok")) } @else { (badge(ctx.t(Msg::CourierInactive), "err")) }
                    }
                    p.small.muted {
                        (c.email) @if let Some(p) = &c.phone { " · " (p) }
                        br;
                        (ctx.fmt(Msg::CourierTokens, &[("count", &c.live_tokens.to_string())]))
                        @if let Some(at) = c.last_used_at { " · " (ctx.t(Msg::ApiKeyLastUsed)) " " (format_datetime(at, ctx.lang)) }
                    }
                    div.row {
                        form method="post" action=(format!("/admin/couriers/{}/active/", c.id)) {
                            (csrf_field(ctx))
                            input type="hidden" name="active" value=(if c.is_active { "0" } else { "1" });
                            @if c.is_active {
                                button.btn.danger type="submit" { (ctx.t(Msg::CourierDeactivate)) }
                            } @else {
                                button.btn.secondary type="submit" { (ctx.t(Msg::CourierActivate)) }
                            }
                        }
                        @if c.live_tokens > 0 {
                            form method="post" action=(format!("/admin/couriers/{}/sign-out/", c.id)) {
                                (csrf_field(ctx))
                                button.btn.secondary type="submit" { (ctx.t(Msg::CourierSignOut)) }
                            }
                        }
                    }
                    details {
                        summary { (ctx.t(Msg::CourierNewPassword)) }
                        form method="post" action=(format!("/admin/couriers/{}/password/", c.id)) {
                            (csrf_field(ctx))
                            (Input::new("new_password", ctx.t(Msg::FieldNewPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(&FieldErrors::default()))
                            button.btn.secondary type="submit" { (ctx.t(Msg::ChangePassword)) }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/admin/couriers/" novalidate {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::CourierAdd)) }
            (Input::new("full_name", ctx.t(Msg::FieldFullName), &form.full_name).autocomplete("name").render(errors))
            (Input::new("email", ctx.t(Msg::FieldEmail), &form.email).kind("email").render(errors))
            (Input::new("phone", ctx.t(Msg::FieldPhone), &form.phone).kind("tel").inputmode("tel").optional().hint(ctx.t(Msg::HintPhone)).render(errors))
            (Input::new("password", ctx.t(Msg::FieldPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(errors))
            button.btn type="submit" { (ctx.t(Msg::CourierAdd)) }
        }
    };
    Ok(respond(status, page(ctx, ctx.t(Msg::AdminCouriersTitle), body)))
}

#[handler]
async fn list_couriers(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    guard::admin(ctx)?;
    view(state, ctx, &NewCourierForm::default(), &FieldErrors::default(), StatusCode::OK).await
}

#[handler]
async fn add_courier(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<NewCourierForm>) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let mut errors = FieldErrors::default();
    let name = required_text(ctx, &mut errors, "full_name", &form.full_name, 120);
    let email = required_email(ctx, &mut errors, "email", &form.email);
    let phone = match form.phone.trim() {
        "" => None,
        raw => {
            let p = Phone::parse(raw);
            if p.is_none() {
                errors.add("phone", ctx.t(Msg::ErrPhone));
            }
            p
        }
    };
    check_password(ctx, &mut errors, "password", &form.password);
    let (Some(email), true) = (email, errors.is_empty()) else {
        return view(state, ctx, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let hash = password::hash_blocking(form.password.clone()).await?;
    match users::create_staff(&state.db, Role::Courier, &email, &name, phone.as_ref().map(Phone::as_str), &hash).await {
        Ok(id) => {
            tracing::info!(courier = id, admin = admin.user_id, "courier added");
            Ok(redirect("/admin/couriers/"))
        }
        Err(e) if crate::db::is_unique_violation(&e) => {
            errors.add("email", ctx.t(Msg::ErrEmailInUse));
            view(state, ctx, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(internal(e).into()),
    }
}

fn courier_id(id: &str) -> PageResult<&str> {
    Ok(uuid::Uuid::parse_str(id).map(|_| id).map_err(|_| status_error(StatusCode::NOT_FOUND))?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActiveForm {
    active: String,
}

/// Deactivating a courier ends every token of their app in the same transaction.
#[handler]
async fn set_active(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let active = form.active == "1";
    if !couriers::set_active(&state.db, courier_id(&id)?, active).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    tracing::info!(courier = id, admin = admin.user_id, active, "courier status changed");
    Ok(redirect("/admin/couriers/"))
}

/// End every token of a courier's app (a lost phone): they sign in again.
#[handler]
async fn sign_out(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let ended = couriers::revoke_tokens(&state.db, courier_id(&id)?).await?;
    tracing::info!(courier = id, admin = admin.user_id, ended, "courier tokens revoked");
    Ok(redirect("/admin/couriers/"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    new_password: String,
}

/// A new password for a courier: every token of theirs ends with the old one.
#[handler]
async fn set_password(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let id = courier_id(&id)?;
    if !couriers::is_courier(&state.db, id).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let mut errors = FieldErrors::default();
    check_password(ctx, &mut errors, "action", &form.new_password);
    if !errors.is_empty() {
        return view(state, ctx, &NewCourierForm::default(), &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let hash = password::hash_blocking(form.new_password).await?;
    // Couriers hold no portal sessions; their tokens are revoked in the same transaction.
    let ended = users::set_password_hash(&state.db, id, &hash).await?;
    ended.announce(&state.bus);
    tracing::info!(courier = id, admin = admin.user_id, "courier password set");
    Ok(redirect("/admin/couriers/"))
}
