//! Admin tariff page: one form per city, and the served pairs of cities with their own
//! tariffs (add, change, stop serving).

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
    route
        .at("/admin/tariffs/", get(tariffs_page))
        .at("/admin/tariffs/routes/", post(save_route))
        .at("/admin/tariffs/routes/remove/", post(remove_route))
        .at("/admin/tariffs/:city_id/", post(save_tariff))
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

/// A served pair's form: the two cities and the tariff.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct RouteForm {
    city_from: String,
    city_to: String,
    #[serde(flatten)]
    tariff: TariffForm,
}

/// The tariff fields, checked; errors by field.
fn parse_tariff(ctx: &Ctx, form: &TariffForm, city_id: i64, errors: &mut FieldErrors) -> Tariff {
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
    Tariff { city_id, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps }
}

fn tariff_fields(ctx: &Ctx, form: &TariffForm, errors: &FieldErrors) -> maud::Markup {
    html! {
        div.grid2 {
            (Input::new("base_fare", ctx.t(Msg::TariffBase), &form.base_fare).inputmode("numeric").render(errors))
            (Input::new("per_km", ctx.t(Msg::TariffPerKm), &form.per_km).inputmode("numeric").render(errors))
            (Input::new("surcharge_medium", ctx.t(Msg::TariffMedium), &form.surcharge_medium).inputmode("numeric").render(errors))
            (Input::new("surcharge_large", ctx.t(Msg::TariffLarge), &form.surcharge_large).inputmode("numeric").render(errors))
            (Input::new("commission_percent", ctx.t(Msg::TariffCommission), &form.commission_percent).inputmode("decimal").render(errors))
        }
    }
}

/// What is being edited when the page is shown again with errors.
enum Edited {
    City(i64, TariffForm, FieldErrors),
    Route(RouteForm, FieldErrors),
}

async fn render(state: &AppState, ctx: &Ctx, edited: Option<Edited>, saved: bool, status: StatusCode) -> PageResult<Response> {
    let cities = geo::cities(&state.db).await?;
    let mut cards = Vec::new();
    for city in &cities {
        let t = pricing::tariff(&state.db, city.id).await?;
        let (form, errors) = match &edited {
            Some(Edited::City(id, f, e)) if *id == city.id => (f.clone(), e.clone()),
            _ => (TariffForm::from_tariff(&t), FieldErrors::default()),
        };
        cards.push(html! {
            form.card method="post" action=(format!("/admin/tariffs/{}/", city.id)) novalidate {
                (csrf_field(ctx))
                h2 { (city.name) }
                (tariff_fields(ctx, &form, &errors))
                button.btn type="submit" { (ctx.t(Msg::Save)) }
            }
        });
    }
    let name = |id: i64| cities.iter().find(|c| c.id == id).map(|c| c.name.clone()).unwrap_or_default();
    let served = pricing::intercity_tariffs(&state.db).await?;
    let (new_route, new_errors) = match &edited {
        Some(Edited::Route(f, e)) => (f.clone(), e.clone()),
        _ => (
            RouteForm {
                tariff: TariffForm::from_tariff(&Tariff {
                    city_id: 0,
                    base_fare: 3000,
                    per_km: 15,
                    surcharge_medium: 500,
                    surcharge_large: 1500,
                    commission_bps: 2000,
                }),
                ..RouteForm::default()
            },
            FieldErrors::default(),
        ),
    };
    let city_choice = |field: &'static str, label: Msg, selected: &str| {
        let options: Vec<(String, String)> = cities.iter().map(|c| (c.id.to_string(), c.name.clone())).collect();
        crate::web::forms::select(field, ctx.t(label), &options, selected, &new_errors, html! {})
    };
    let routes = html! {
        h2 #routes { (ctx.t(Msg::IntercityTitle)) }
        p.muted { (ctx.t(Msg::IntercityExplain)) }
        @if served.is_empty() { p.muted { (ctx.t(Msg::IntercityNone)) } }
        @for r in &served {
            div.card {
                h3 { (name(r.city_a)) " ⇄ " (name(r.city_b)) }
                form method="post" action="/admin/tariffs/routes/" novalidate {
                    (csrf_field(ctx))
                    input type="hidden" name="city_from" value=(r.city_a);
                    input type="hidden" name="city_to" value=(r.city_b);
                    (tariff_fields(ctx, &TariffForm::from_tariff(&r.tariff), &FieldErrors::default()))
                    button.btn type="submit" { (ctx.t(Msg::Save)) }
                }
                form method="post" action="/admin/tariffs/routes/remove/" {
                    (csrf_field(ctx))
                    input type="hidden" name="city_from" value=(r.city_a);
                    input type="hidden" name="city_to" value=(r.city_b);
                    button.btn.secondary type="submit" { (ctx.fmt(Msg::IntercityRemove, &[("from", &name(r.city_a)), ("to", &name(r.city_b))])) }
                }
            }
        }
        form.card method="post" action="/admin/tariffs/routes/" novalidate {
            (csrf_field(ctx))
            h3 { (ctx.t(Msg::IntercityAdd)) }
            div.grid2 {
                (city_choice("city_from", Msg::IntercityFrom, &new_route.city_from))
                (city_choice("city_to", Msg::IntercityTo, &new_route.city_to))
            }
            (tariff_fields(ctx, &new_route.tariff, &new_errors))
            button.btn type="submit" { (ctx.t(Msg::IntercityAdd)) }
        }
    };
    let body = html! {
        h1 { (ctx.t(Msg::AdminTariffsTitle)) }
        @if saved { div.flash.ok role="status" { (ctx.t(Msg::TariffSaved)) } }
        p.muted { (ctx.fmt(Msg::TariffExplain, &[("rounding", &pricing::ROUNDING.to_string())])) }
        @for c in cards { (c) }
        (routes)
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
    let tariff = parse_tariff(ctx, &form, city_id, &mut errors);
    if !errors.is_empty() {
        return render(state, ctx, Some(Edited::City(city_id, form, errors)), false, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    pricing::save(&state.db, &tariff).await?;
    Ok(redirect("/admin/tariffs/?saved=1"))
}

/// Two distinct known cities from a route form, or the errors.
async fn route_cities(state: &AppState, ctx: &Ctx, form: &RouteForm, errors: &mut FieldErrors) -> PageResult<Option<(i64, i64)>> {
    let cities = geo::cities(&state.db).await?;
    let mut city = |field: &'static str, value: &str| match value.trim().parse::<i64>() {
        Ok(id) if cities.iter().any(|c| c.id == id) => Some(id),
        _ => {
            errors.add(field, ctx.t(Msg::ErrChoice));
            None
        }
    };
    let (from, to) = (city("city_from", &form.city_from), city("city_to", &form.city_to));
    Ok(match (from, to) {
        (Some(a), Some(b)) if a == b => {
            errors.add("city_to", ctx.t(Msg::ErrIntercitySame));
            None
        }
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    })
}

#[handler]
async fn save_route(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<RouteForm>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let mut errors = FieldErrors::default();
    let cities = route_cities(state, ctx, &form, &mut errors).await?;
    let tariff = parse_tariff(ctx, &form.tariff, 0, &mut errors);
    match cities {
        Some((from, to)) if errors.is_empty() => {
            pricing::save_intercity(&state.db, from, to, &tariff).await?;
            Ok(redirect("/admin/tariffs/?saved=1#routes"))
        }
        _ => render(state, ctx, Some(Edited::Route(form, errors)), false, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[handler]
async fn remove_route(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<RouteForm>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let mut errors = FieldErrors::default();
    let Some((from, to)) = route_cities(state, ctx, &form, &mut errors).await? else {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    };
    if !pricing::remove_intercity(&state.db, from, to).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(redirect("/admin/tariffs/?saved=1#routes"))
}
