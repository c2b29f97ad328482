//! Admin tariff page: one form per city.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    geo,
    i18n::Msg,
    pricing::{self, Tariff},
    state::AppState,
    web::{
        Ctx, PageResult,
        forms::{FieldErrors, Input},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/admin/tariffs/", get(tariffs_page)).at("/admin/tariffs/:city_id/", post(save_tariff))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct TariffForm {
    base_fare: String,
    per_km: String,
    surcharge_medium: String,
    surcharge_large: String,
    commission_percent: String,
}

impl TariffForm {
    fn from_tariff(t: &Tariff) -> Self {
        TariffForm {
            base_fare: t.base_fare.to_string(),
            per_km: t.per_km.to_string(),
            surcharge_medium: t.surcharge_medium.to_string(),
            surcharge_large: t.surcharge_large.to_string(),
            commission_percent: format!("{}", t.commission_bps as f64 / 100.0),
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    edited: Option<(i64, TariffForm, FieldErrors)>,
    saved: bool,
    status: StatusCode,
) -> PageResult<Response> {
    let cities = geo::cities(&state.db).await?;
    let mut cards = Vec::new();
    for city in &cities {
        let t = pricing::tariff(&state.db, city.id).await?;
        let (form, errors) = match &edited {
            Some((id, f, e)) if *id == city.id => (f.clone(), e.clone()),
            _ => (TariffForm::from_tariff(&t), FieldErrors::default()),
        };
        cards.push(html! {
            form.card method="post" action=(format!("/admin/tariffs/{}/", city.id)) novalidate {
                (csrf_field(ctx))
                h2 { (city.name) }
                div.grid2 {
                    (Input::new("base_fare", ctx.t(Msg::TariffBase), &form.base_fare).inputmode("numeric").render(&errors))
                    (Input::new("per_km", ctx.t(Msg::TariffPerKm), &form.per_km).inputmode("numeric").render(&errors))
                    (Input::new("surcharge_medium", ctx.t(Msg::TariffMedium), &form.surcharge_medium).inputmode("numeric").render(&errors))
                    (Input::new("surcharge_large", ctx.t(Msg::TariffLarge), &form.surcharge_large).inputmode("numeric").render(&errors))
                    (Input::new("commission_percent", ctx.t(Msg::TariffCommission), &form.commission_percent).inputmode("decimal").render(&errors))
                }
                button.btn type="submit" { (ctx.t(Msg::Save)) }
            }
        });
    }
    let body = html! {
        h1 { (ctx.t(Msg::AdminTariffsTitle)) }
        @if saved { div.flash.ok role="status" { (ctx.t(Msg::TariffSaved)) } }
        p.muted { (ctx.fmt(Msg::TariffExplain, &[("rounding", &pricing::ROUNDING.to_string())])) }
        @for c in cards { (c) }
    };
    Ok(respond(status, page(ctx, ctx.t(Msg::AdminTariffsTitle), body)))
}

#[handler]
async fn tariffs_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, req: &poem::Request) -> PageResult<Response> {
    guard::admin(ctx)?;
    let saved = req.uri().query().is_some_and(|q| q.contains("saved=1"));
    render(state, ctx, None, saved, StatusCode::OK).await
}

#[handler]
async fn save_tariff(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(city_id): Path<String>,
    Form(form): Form<TariffForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let city_id: i64 = city_id.parse().map_err(|_| status_error(StatusCode::NOT_FOUND))?;
    if !geo::cities(&state.db).await?.iter().any(|c| c.id == city_id) {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let mut errors = FieldErrors::default();
    let mut amount = |field: &'static str, value: &str, max: i64| match pricing::parse_fcfa(value) {
        Some(v) if v <= max => v,
        _ => {
            errors.add(field, ctx.t(Msg::ErrAmount));
            0
        }
    };
    let base_fare = amount("base_fare", &form.base_fare, 100_000);
    let per_km = amount("per_km", &form.per_km, 10_000);
    let surcharge_medium = amount("surcharge_medium", &form.surcharge_medium, 100_000);
    let surcharge_large = amount("surcharge_large", &form.surcharge_large, 100_000);
    let commission_bps = match form.commission_percent.trim().replace(',', ".").parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => (p * 100.0).round() as i64,
        _ => {
            errors.add("commission_percent", ctx.t(Msg::ErrPercent));
            0
        }
    };
    if !errors.is_empty() {
        return render(state, ctx, Some((city_id, form, errors)), false, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    pricing::save(&state.db, &Tariff { city_id, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps }).await?;
    Ok(redirect("/admin/tariffs/?saved=1"))
}
