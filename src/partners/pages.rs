//! Vendor pages: pending approval, profile (with password change). The dashboard is `dashboard`.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{HeaderValue, StatusCode, header},
    post,
    web::{Data, Form, Query},
};
use serde::Deserialize;

use crate::{
    accounts::{
        guard,
        pages::{check_password, required_email, required_phone, required_text},
        password, repo as users,
    },
    auth::{TeamRole, sessions},
    geo,
    i18n::{Lang, Msg},
    partners::repo::{self, Partner, ProfileUpdate, Status},
    state::AppState,
    web::{
        Ctx, PageResult, SESSION_COOKIE,
        components::badge,
        cookie,
        forms::{FieldErrors, Input, clean, select},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/", get(index))
        .at("/partners/pending/", get(pending))
        .at("/partners/profile/", get(profile_page).post(save_profile))
        .at("/partners/profile/password/", post(change_password))
        .at("/partners/profile/sign-out-everywhere/", post(sign_out_everywhere))
        .at("/partners/profile/quartiers/", get(quartier_options))
}

#[handler]
fn index() -> Response {
    redirect("/partners/dashboard/")
}

async fn load(state: &AppState, id: &str) -> PageResult<Partner> {
    Ok(repo::by_id(&state.db, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

#[handler]
async fn pending(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::any_partner(ctx)?;
    if p.approved {
        return Ok(redirect("/partners/dashboard/"));
    }
    let partner = load(state, &p.id).await?;
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::PendingTitle)) }
            div.flash.warn role="status" { (ctx.t(Msg::PendingText)) }
            p.muted { (ctx.t(Msg::PendingApiKeys)) }
            div.card {
                h2 { (ctx.t(Msg::PendingMeanwhile)) }
                (profile_checklist(ctx, &partner))
                p { a.btn.secondary href="/partners/profile/" { (ctx.t(Msg::CompleteProfile)) } }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::PendingTitle), body)))
}

fn profile_checklist(ctx: &Ctx, p: &Partner) -> Markup {
    let items = [
        (Msg::CheckContact, !p.contact_name.is_empty() && !p.phone.is_empty()),
        (Msg::CheckPickup, p.pickup_quartier_id.is_some() && p.pickup_address.as_deref().is_some_and(|a| !a.is_empty())),
        (Msg::CheckApproved, p.status() == Status::Approved),
    ];
    html! {
        ul.checklist {
            @for (msg, done) in items { li.done[done] { (ctx.t(msg)) } }
        }
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
struct ProfileForm {
    business_name: String,
    contact_name: String,
    phone: String,
    email: String,
    language: String,
    pickup_city_id: String,
    pickup_quartier_id: String,
    pickup_address: String,
    niu: String,
    rccm: String,
    /// Set by the "show quartiers" button: re-render without saving (the no-JavaScript path).
    refresh: String,
}

impl ProfileForm {
    fn from_partner(p: &Partner) -> Self {
        ProfileForm {
            business_name: p.business_name.clone(),
            contact_name: p.contact_name.clone(),
            phone: crate::accounts::phone::Phone::parse(&p.phone).map(|ph| ph.to_string()).unwrap_or_else(|| p.phone.clone()),
            email: p.email.clone(),
            language: p.language.clone().unwrap_or_else(|| "fr".to_owned()),
            pickup_city_id: p.pickup_city_id.map(|c| c.to_string()).unwrap_or_default(),
            pickup_quartier_id: p.pickup_quartier_id.map(|q| q.to_string()).unwrap_or_default(),
            pickup_address: p.pickup_address.clone().unwrap_or_default(),
            niu: p.niu.clone().unwrap_or_default(),
            rccm: p.rccm.clone().unwrap_or_default(),
            refresh: String::new(),
        }
    }
}

const QUARTIER_SELECT_ID: &str = "quartier-field";

async fn quartier_select(state: &AppState, ctx: &Ctx, city_id: Option<i64>, selected: &str, errors: &FieldErrors) -> PageResult<Markup> {
    let options: Vec<(String, String)> = match city_id {
        Some(id) => geo::quartiers_of(&state.db, id).await?.into_iter().map(|q| (q.id.to_string(), q.name)).collect(),
        None => Vec::new(),
    };
    let placeholder = html! { option value="" { (ctx.t(if city_id.is_some() { Msg::ChooseQuartier } else { Msg::ChooseCityFirst })) } };
    Ok(
        html! { div #(QUARTIER_SELECT_ID) { (select("pickup_quartier_id", ctx.t(Msg::FieldPickupQuartier), &options, selected, errors, placeholder)) } },
    )
}

async fn profile_view(
    state: &AppState,
    ctx: &Ctx,
    partner: &Partner,
    form: &ProfileForm,
    errors: &FieldErrors,
    pw_errors: &FieldErrors,
    flash: Option<Msg>,
) -> PageResult<Markup> {
    let cities: Vec<(String, String)> = geo::cities(&state.db).await?.into_iter().map(|c| (c.id.to_string(), c.name)).collect();
    let city_id = form.pickup_city_id.parse::<i64>().ok();
    let languages: Vec<(String, String)> = Lang::ALL.iter().map(|l| (l.code().to_owned(), l.t(Msg::LanguageName).to_owned())).collect();
    let status = match partner.status() {
        Status::Approved => badge(ctx.t(Msg::StatusApproved), "ok"),
        Status::Pending => badge(ctx.t(Msg::StatusPending), "warn"),
        Status::Suspended => badge(ctx.t(Msg::StatusSuspended), "err"),
    };
    let body = html! {
        h1 { (ctx.t(Msg::ProfileTitle)) }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        @if !errors.is_empty() { div.flash.err role="alert" { (ctx.t(Msg::ErrFixBelow)) } }
        div.card {
            dl.facts {
                dt { (ctx.t(Msg::KpiStatus)) } dd { (status) }
                dt { (ctx.t(Msg::FieldSlug)) } dd { code { (partner.slug) } }
            }
        }
        (shops_card(state, ctx).await?)
        (crate::accounts::two_factor::card(state, ctx).await?)
        @if !guard::can(ctx, crate::auth::Capability::ShopSettings) {
            div.card {
                h2 { (ctx.t(Msg::ProfileBusiness)) }
                dl.facts {
                    dt { (ctx.t(Msg::FieldBusinessName)) } dd { (partner.business_name) }
                    dt { (ctx.t(Msg::FieldPhone)) } dd { (partner.phone) }
                }
                p.small.muted { (ctx.t(Msg::ProfileOwnerOnly)) }
            }
        } @else {
        form.card method="post" action="/partners/profile/" novalidate {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::ProfileBusiness)) }
            div.grid2 {
                (Input::new("business_name", ctx.t(Msg::FieldBusinessName), &form.business_name).autocomplete("organization").render(errors))
                (Input::new("contact_name", ctx.t(Msg::FieldContactName), &form.contact_name).autocomplete("name").render(errors))
                (Input::new("phone", ctx.t(Msg::FieldPhone), &form.phone).kind("tel").autocomplete("tel").inputmode("tel").hint(ctx.t(Msg::HintPhone)).render(errors))
                (Input::new("email", ctx.t(Msg::FieldEmail), &form.email).kind("email").autocomplete("email").render(errors))
            }
            (select("language", ctx.t(Msg::FieldLanguage), &languages, &form.language, errors, html! {}))
            h2 { (ctx.t(Msg::ProfilePickup)) }
            div.grid2 {
                div.field.invalid[errors.get("pickup_city_id").is_some()] {
                    label for="f-pickup_city_id" { (ctx.t(Msg::FieldPickupCity)) }
                    select #f-pickup_city_id name="pickup_city_id" hx-get="/partners/profile/quartiers/" hx-trigger="change"
                        hx-target=(format!("#{QUARTIER_SELECT_ID}")) hx-swap="outerHTML" {
                        option value="" { (ctx.t(Msg::ChooseCity)) }
                        @for (value, text) in &cities { option value=(value) selected[*value == form.pickup_city_id] { (text) } }
                    }
                    @if let Some(e) = errors.get("pickup_city_id") { div.error role="alert" { (e) } }
                }
                (quartier_select(state, ctx, city_id, &form.pickup_quartier_id, errors).await?)
            }
            (Input::new("pickup_address", ctx.t(Msg::FieldPickupAddress), &form.pickup_address).optional().hint(ctx.t(Msg::HintAddress)).render(errors))
            h2 { (ctx.t(Msg::ProfileLegal)) }
            div.grid2 {
                (Input::new("niu", "NIU", &form.niu).optional().hint(ctx.t(Msg::HintNiu)).render(errors))
                (Input::new("rccm", "RCCM", &form.rccm).optional().hint(ctx.t(Msg::HintRccm)).render(errors))
            }
            div.row {
                button.btn type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::Save)) }
                // Without JavaScript, this reloads the form with the chosen city's quartiers.
                button.btn.secondary.nojs-only type="submit" name="refresh" value="1" formnovalidate { (ctx.t(Msg::RefreshQuartiers)) }
            }
        }
        }
        form.card method="post" action="/partners/profile/password/" novalidate data-ends-session {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::ProfilePassword)) }
            (Input::new("current_password", ctx.t(Msg::FieldCurrentPassword), "").kind("password").autocomplete("current-password").render(pw_errors))
            (Input::new("new_password", ctx.t(Msg::FieldNewPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(pw_errors))
            p.small.muted { (ctx.t(Msg::PasswordChangeEndsSessions)) }
            button.btn type="submit" { (ctx.t(Msg::ChangePassword)) }
        }
        form.card method="post" action="/partners/profile/sign-out-everywhere/" hx-boost="false" data-ends-session {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::SignOutEverywhere)) }
            p.small.muted { (ctx.t(Msg::SignOutEverywhereHint)) }
            button.btn.secondary type="submit" { (ctx.t(Msg::SignOutEverywhere)) }
        }
    };
    Ok(page(ctx, ctx.t(Msg::ProfileTitle), body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: String,
}

#[handler]
async fn profile_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<SavedQuery>) -> PageResult<Response> {
    let p = guard::any_partner(ctx)?;
    let partner = load(state, &p.id).await?;
    let form = ProfileForm::from_partner(&partner);
    let flash = match q.saved.as_str() {
        "profile" => Some(Msg::ProfileSaved),
        "password" => Some(Msg::PasswordChanged),
        "two-factor-off" => Some(Msg::TwoFactorOffFlash),
        _ => None,
    };
    let none = FieldErrors::default();
    Ok(respond(StatusCode::OK, profile_view(state, ctx, &partner, &form, &none, &none, flash).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CityQuery {
    pickup_city_id: String,
}

/// htmx: the quartier `<select>` for the chosen city.
#[handler]
async fn quartier_options(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<CityQuery>) -> PageResult<Response> {
    guard::any_partner(ctx)?;
    let city_id = q.pickup_city_id.parse::<i64>().ok();
    let markup = quartier_select(state, ctx, city_id, "", &FieldErrors::default()).await?;
    Ok(respond(StatusCode::OK, markup))
}

#[handler]
async fn save_profile(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<ProfileForm>) -> PageResult<Response> {
    let p = guard::any_partner(ctx)?;
    let partner = load(state, &p.id).await?;
    let none = FieldErrors::default();
    if form.refresh == "1" {
        return Ok(respond(StatusCode::OK, profile_view(state, ctx, &partner, &form, &none, &none, None).await?));
    }
    let mut errors = FieldErrors::default();
    let business_name = required_text(ctx, &mut errors, "business_name", &form.business_name, 120);
    let contact_name = required_text(ctx, &mut errors, "contact_name", &form.contact_name, 120);
    let phone = required_phone(ctx, &mut errors, "phone", &form.phone);
    let email = required_email(ctx, &mut errors, "email", &form.email);
    let language = Lang::parse(&form.language);
    if language.is_none() {
        errors.add("language", ctx.t(Msg::ErrChoice));
    }
    let city_id = match form.pickup_city_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) if geo::cities(&state.db).await?.iter().any(|c| c.id == id) => Some(id),
            _ => {
                errors.add("pickup_city_id", ctx.t(Msg::ErrChoice));
                None
            }
        },
    };
    let quartier_id = match form.pickup_quartier_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) => match geo::quartier(&state.db, id).await? {
                Some(q) if Some(q.city_id) == city_id => Some(id),
                _ => {
                    errors.add("pickup_quartier_id", ctx.t(Msg::ErrQuartier));
                    None
                }
            },
            Err(_) => {
                errors.add("pickup_quartier_id", ctx.t(Msg::ErrChoice));
                None
            }
        },
    };
    if city_id.is_some() && quartier_id.is_none() {
        errors.add("pickup_quartier_id", ctx.t(Msg::ErrQuartier));
    }
    let address = match clean(&form.pickup_address, 200) {
        Ok(a) => a,
        Err(max) => {
            errors.add("pickup_address", ctx.fmt(Msg::ErrTooLong, &[("max", &max.to_string())]));
            String::new()
        }
    };
    let niu = form.niu.trim().to_uppercase();
    let niu_ok = (10..=20).contains(&niu.len()) && niu.chars().all(|c| c.is_ascii_alphanumeric());
    if !niu.is_empty() && !niu_ok {
        errors.add("niu", ctx.t(Msg::ErrNiu));
    }
    let rccm = form.rccm.trim().to_uppercase();
    let rccm_ok = rccm.len() <= 40 && rccm.chars().all(|c| c.is_ascii_alphanumeric() || "/-. ".contains(c));
    if !rccm.is_empty() && !rccm_ok {
        errors.add("rccm", ctx.t(Msg::ErrRccm));
    }
    let (Some(phone), Some(email), Some(language), true) = (phone, email, language, errors.is_empty()) else {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, profile_view(state, ctx, &partner, &form, &errors, &none, None).await?));
    };
    let update = ProfileUpdate {
        business_name: &business_name,
        contact_name: &contact_name,
        phone: phone.as_str(),
        email: &email,
        language: language.code(),
        pickup_quartier_id: quartier_id,
        pickup_address: (!address.is_empty()).then_some(address.as_str()),
        niu: (!niu.is_empty()).then_some(niu.as_str()),
        rccm: (!rccm.is_empty()).then_some(rccm.as_str()),
    };
    match repo::update_profile(&state.db, &partner, &update).await {
        Ok(()) => Ok(redirect("/partners/profile/?saved=profile")),
        Err(repo::CreateError::EmailTaken) => {
            errors.add("email", ctx.t(Msg::ErrEmailInUse));
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, profile_view(state, ctx, &partner, &form, &errors, &none, None).await?))
        }
        Err(repo::CreateError::Db(e)) => Err(internal(e).into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

#[handler]
async fn change_password(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<PasswordForm>) -> PageResult<Response> {
    let p = guard::any_partner(ctx)?;
    let user = guard::user(ctx)?;
    let partner = load(state, &p.id).await?;
    let mut errors = FieldErrors::default();
    let stored = users::password_hash(&state.db, &user.user_id).await?.unwrap_or_default();
    if form.current_password.is_empty() || !password::verify_blocking(form.current_password.clone(), stored).await {
        errors.add("current_password", ctx.t(Msg::ErrCurrentPassword));
    }
    check_password(ctx, &mut errors, "new_password", &form.new_password);
    if !errors.is_empty() {
        let pf = ProfileForm::from_partner(&partner);
        let none = FieldErrors::default();
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, profile_view(state, ctx, &partner, &pf, &none, &errors, None).await?));
    }
    let hash = password::hash_blocking(form.new_password).await?;
    // Every session ends, this browser's too, which gets a new one: whoever else knew the
    // old password is out, here and in their open pages.
    users::set_password_hash(&state.db, &user.user_id, &hash).await?.announce(&state.bus);
    let raw = sessions::renew(&state.db, &user.user_id, user.proved_at).await?;
    let mut resp = redirect("/partners/profile/?saved=password");
    if let Ok(v) = HeaderValue::from_str(&cookie(state, SESSION_COOKIE, &raw, sessions::ABSOLUTE_MS / 1000)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// "Sign out everywhere": every session of the user ends, this one too.
#[handler]
async fn sign_out_everywhere(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    guard::any_partner(ctx)?;
    let user = guard::user(ctx)?;
    sessions::delete_for_user(&state.db, &user.user_id, None).await?.announce(&state.bus);
    tracing::info!(user_id = user.user_id, "signed out everywhere");
    let mut resp = redirect("/accounts/login/?signed_out=everywhere");
    if let Ok(v) = HeaderValue::from_str(&cookie(state, SESSION_COOKIE, "", 0)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The shops a person belongs to, to switch between (on the profile page, when more than one).
pub async fn shops_card(state: &AppState, ctx: &Ctx) -> PageResult<Markup> {
    let (Some(user), Some(current)) = (ctx.user.as_ref(), ctx.user.as_ref().and_then(|u| u.partner.as_ref())) else { return Ok(html! {}) };
    let shops = sessions::shops_of(&state.db, &user.user_id).await?;
    if shops.len() < 2 {
        return Ok(html! {});
    }
    Ok(html! {
        div.card #shops {
            h2 { (ctx.t(Msg::ShopsTitle)) }
            ul.members {
                @for s in &shops {
                    li.member.row.between {
                        div { strong { (s.business_name) } " · " (TeamRole::parse(&s.role).map_or("", |r| ctx.t(r.label()))) }
                        @if *s.partner_id == *current.id {
                            span.badge.ok { (ctx.t(Msg::ShopsCurrent)) }
                        } @else {
                            form.inline method="post" action="/partners/shops/switch/" {
                                (csrf_field(ctx))
                                input type="hidden" name="partner_id" value=(s.partner_id);
                                button.btn.secondary type="submit" { (ctx.t(Msg::ShopsSwitch)) }
                            }
                        }
                    }
                }
            }
        }
    })
}
