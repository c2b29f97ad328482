//! The API keys section: list, create (the key is shown once), revoke.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use crate::{
    accounts::{guard, pages::required_text},
    api_keys::{self, ApiKey},
    auth::TeamRole,
    i18n::Msg,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::{FieldErrors, Input},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/api-keys/", get(keys_page).post(create_key))
        .at("/partners/api-keys/:id/revoke/", post(revoke_key))
        .at("/partners/api/quickstart/", get(super::quickstart::quickstart))
}

fn view(ctx: &Ctx, keys: &[ApiKey], created: Option<&str>, errors: &FieldErrors, flash: Option<Msg>) -> Markup {
    html! {
        h1 { (ctx.t(Msg::ApiKeysTitle)) }
        p.muted { (ctx.t(Msg::ApiKeysIntro)) " " a href="/partners/api/quickstart/" { (ctx.t(Msg::QuickstartTitle)) } " · " a href="/partners/docs/" hx-boost="false" { (ctx.t(Msg::ApiDocsLink)) } }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        @if let Some(secret) = created { (new_key_card(ctx, secret)) }
        form.card method="post" action="/partners/api-keys/" novalidate {
            (csrf_field(ctx))
            (Input::new("name", ctx.t(Msg::ApiKeyName), "").hint(ctx.t(Msg::ApiKeyNameHint)).render(errors))
            (role_select(ctx, errors))
            button.btn type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.t(Msg::ApiKeyCreate)) }
        }
        @if keys.is_empty() {
            div.card { p.muted { (ctx.t(Msg::ApiKeysNone)) } }
        } @else {
            ul.keys {
                @for k in keys {
                    li.card {
                        div.row.between {
                            strong { (k.name) }
                            @if k.revoked_at.is_some() { (badge(ctx.t(Msg::ApiKeyRevoked), "err")) } @else { (badge(ctx.t(Msg::ApiKeyActive), "ok")) }
                        }
                        dl.facts.small {
                            dt { (ctx.t(Msg::ApiKeyPrefix)) } dd { code { (k.prefix) "…" } }
                            dt { (ctx.t(Msg::ApiKeyRole)) } dd { (TeamRole::parse(&k.role).map_or("—", |r| ctx.t(r.label()))) }
                            dt { (ctx.t(Msg::ApiKeyCreatedBy)) } dd { (k.created_by_name.as_deref().unwrap_or("—")) }
                            dt { (ctx.t(Msg::ApiKeyCreatedAt)) } dd { (format_datetime(k.created_at, ctx.lang)) }
                            dt { (ctx.t(Msg::ApiKeyLastUsed)) } dd { (k.last_used_at.map(|t| format_datetime(t, ctx.lang)).unwrap_or_else(|| "—".to_owned())) }
                        }
                        @if k.revoked_at.is_none() {
                            form method="post" action=(format!("/partners/api-keys/{}/revoke/", k.id))
                                data-confirm=(ctx.fmt(Msg::ConfirmRevokeKey, &[("name", &k.name)])) {
                                (csrf_field(ctx))
                                (crate::web::confirm::field())
                                button.btn.danger type="submit" { (ctx.t(Msg::ApiKeyRevoke)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[handler]
async fn keys_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, req: &poem::Request) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let keys = api_keys::list(&state.db, &p.id).await?;
    let flash = req.uri().query().is_some_and(|q| q.contains("revoked=1")).then_some(Msg::ApiKeyRevokedFlash);
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::ApiKeysTitle), view(ctx, &keys, None, &FieldErrors::default(), flash))))
}

/// The roles a new key may act with: those the member may hand out, their own first.
fn role_select(ctx: &Ctx, errors: &FieldErrors) -> Markup {
    let Some(mine) = ctx.user.as_ref().and_then(|u| u.partner.as_ref()).map(|p| p.role) else { return html! {} };
    let options: Vec<(String, String)> = TeamRole::ALL
        .into_iter()
        .filter(|r| mine.may_grant(*r))
        .map(|r| (r.as_str().to_owned(), format!("{} — {}", ctx.t(r.label()), ctx.t(r.summary()))))
        .collect();
    crate::web::forms::select("role", ctx.t(Msg::ApiKeyRole), &options, mine.as_str(), errors, html! {})
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateForm {
    name: String,
    role: String,
}

#[handler]
async fn create_key(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<CreateForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let mut errors = FieldErrors::default();
    let name = required_text(ctx, &mut errors, "name", &form.name, 60);
    // A key acts with a role its maker may hand out (their own when none is chosen).
    let role = if form.role.is_empty() { Some(p.role) } else { TeamRole::parse(&form.role).filter(|r| p.role.may_grant(*r)) };
    if role.is_none() {
        errors.add("role", ctx.t(Msg::ErrChoice));
    }
    if !errors.is_empty() {
        let keys = api_keys::list(&state.db, &p.id).await?;
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::ApiKeysTitle), view(ctx, &keys, None, &errors, None))));
    }
    let user = guard::user(ctx)?;
    let Some(new) = api_keys::create_as(&state.db, &p.id, &name, Some(&user.user_id), role.unwrap_or(p.role)).await? else {
        return Err(status_error(StatusCode::FORBIDDEN).into());
    };
    let keys = api_keys::list(&state.db, &p.id).await?;
    // Shown in this response only; it is not stored and cannot be shown again.
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::ApiKeysTitle), view(ctx, &keys, Some(&new.secret), &FieldErrors::default(), None))))
}

#[handler]
async fn revoke_key(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    if !crate::web::confirm::given(&form.confirmed) {
        let keys = api_keys::list(&state.db, &p.id).await?;
        let Some(key) = keys.iter().find(|k| k.id == id && k.revoked_at.is_none()) else {
            return Err(status_error(StatusCode::NOT_FOUND).into());
        };
        let ask = crate::web::confirm::Ask {
            question: ctx.fmt(Msg::ConfirmRevokeKey, &[("name", &key.name)]),
            consequence: ctx.t(Msg::ConfirmRevokeKeyText).to_owned(),
            yes: ctx.t(Msg::ApiKeyRevoke),
            back: "/partners/api-keys/",
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, &format!("/partners/api-keys/{id}/revoke/"), &[]));
    }
    if uuid::Uuid::parse_str(&id).is_err() || !api_keys::revoke(&state.db, &p.id, &id).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(redirect("/partners/api-keys/?revoked=1"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    confirmed: String,
}

/// A key just created: its secret, shown in this response only (it is not stored), with a
/// copy button. The keys page and the dashboard show it.
pub fn new_key_card(ctx: &Ctx, secret: &str) -> Markup {
    html! {
        div.card.new-key role="status" {
            h2 { (ctx.t(Msg::ApiKeyCreated)) }
            p.flash.warn { (ctx.t(Msg::ApiKeyShownOnce)) }
            input #new-key type="text" readonly value=(secret) aria-label=(ctx.t(Msg::ApiKeysTitle));
            p { button.btn.secondary type="button" data-copy="#new-key" { (ctx.t(Msg::Copy)) } }
            p.small.muted { code { "Authorization: Api-Key " (secret) } }
        }
    }
}
