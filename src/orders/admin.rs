//! Admin order pages: the dispatch queue, an order's detail, assigning a courier, cancelling.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::{guard, pages::required_text},
    db::now_ms,
    i18n::Msg,
    on_db,
    orders::{
        model::{Action, Role, Status},
        pages::status_badge,
        repo::{self, Order},
        service::{self, Actor, OrderError},
    },
    state::AppState,
    web::{
        Ctx, PageResult,
        components::format_datetime,
        forms::{FieldErrors, Input},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/admin/orders/", get(queue))
        .at("/admin/orders/:id/", get(show))
        .at("/admin/orders/assign/", post(assign_many))
        .at("/admin/orders/:id/assign/", post(assign))
        .at("/admin/orders/:id/cancel/", post(cancel))
        .at("/admin/orders/:id/reset-pin/", post(reset_pin))
        .at("/admin/orders/:id/complete/", post(complete_without_pin))
        .at("/admin/orders/:id/reattempt/", post(reattempt))
        .at("/admin/orders/:id/return/", post(send_back))
        .at("/admin/orders/:id/returned/", post(hand_back))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueueQuery {
    status: String,
    /// How many ticked orders were just assigned.
    assigned: String,
}

#[handler]
async fn queue(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<QueueQuery>) -> PageResult<Response> {
    guard::admin(ctx)?;
    // `pin_locked`: deliveries whose PIN locked, waiting for an admin's decision.
    let locked_tab = q.status == "pin_locked";
    let status = Status::parse(&q.status).unwrap_or(Status::Pending);
    let orders: Vec<Order> = if locked_tab {
        let sql =
            format!("{} WHERE o.pin_locked_at IS NOT NULL AND o.status = 'IN_TRANSIT' ORDER BY o.pin_locked_at LIMIT 200", repo::SELECT);
        on_db!(&state.db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
    } else {
        let sql = format!("{} WHERE o.status = $1 ORDER BY o.created_at LIMIT 200", repo::SELECT);
        on_db!(&state.db, pool => sqlx::query_as(&sql).bind(status.as_str()).fetch_all(pool).await)
    }?;
    let couriers = couriers_for_dispatch(state).await?;
    let body = html! {
        h1 { (ctx.t(Msg::AdminOrdersTitle)) }
        @if ctx.alerts > 0 && !locked_tab {
            div.flash.err role="alert" {
                a href="/admin/orders/?status=pin_locked" { (ctx.fmt(Msg::PinLockedCount, &[("count", &ctx.alerts.to_string())])) }
            }
        }
        nav.row aria-label=(ctx.t(Msg::FieldStatus)) {
            @for s in Status::ALL {
                a.btn.secondary[locked_tab || s != status] .btn[!locked_tab && s == status] href=(format!("/admin/orders/?status={}", s.as_str())) { (ctx.t(s.label())) }
            }
            a.btn.secondary[!locked_tab] .btn[locked_tab] href="/admin/orders/?status=pin_locked" { (ctx.t(Msg::PinLockedTab)) " (" (ctx.alerts) ")" }
        }
        @if let Some(n) = q.assigned.parse::<usize>().ok() { div.flash.ok role="status" { (ctx.fmt(Msg::AssignedMany, &[("n", &n.to_string())])) } }
        @if orders.is_empty() { div.card { p.muted { (ctx.t(Msg::NoResults)) } } }
        // Waiting orders: tick several and give them to one courier at once.
        @if !locked_tab && status == Status::Pending && !orders.is_empty() {
            form.card #assign-many method="post" action="/admin/orders/assign/" {
                (csrf_field(ctx))
                (crate::web::forms::select("courier_id", ctx.t(Msg::Courier), &courier_options(ctx, &couriers, None), "", &FieldErrors::default(), html! { option value="" { (ctx.t(Msg::ChooseCourier)) } }))
                button.btn type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::AssignTicked)) }
            }
        }
        ul.orders {
            @for o in &orders {
                li.order-row.pickable[!locked_tab && status == Status::Pending] {
                    @if !locked_tab && status == Status::Pending {
                        label.pick { input type="checkbox" name="id" value=(o.id) form="assign-many" aria-label=(ctx.t(Msg::LabelsPick)); }
                    }
                    a href=(format!("/admin/orders/{}/", o.id)) {
                        span.tn { (o.tracking_number) } (status_badge(ctx, o.status()))
                        span.who { (o.business_name) " → " (o.dropoff_quartier) ", " (o.dropoff_city) }
                        span.meta { (format_datetime(o.created_at, ctx.lang)) " · " (o.price_total) }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::AdminOrdersTitle), body)))
}

/// A courier as dispatch sees them: how many deliveries they carry now, and where they were
/// last seen (their latest position on any order).
#[derive(sqlx::FromRow)]
struct CourierLoad {
    id: String,
    full_name: String,
    load: i64,
    lat: Option<f64>,
    lng: Option<f64>,
}

async fn couriers_for_dispatch(state: &AppState) -> PageResult<Vec<CourierLoad>> {
    Ok(on_db!(&state.db, pool => sqlx::query_as(
        "SELECT u.id, u.full_name, \
         (SELECT COUNT(*) FROM orders o WHERE o.courier_id = u.id AND o.status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING')) AS load, \
         (SELECT p.lat FROM order_positions_latest p WHERE p.courier_id = u.id ORDER BY p.at DESC LIMIT 1) AS lat, \
         (SELECT p.lng FROM order_positions_latest p WHERE p.courier_id = u.id ORDER BY p.at DESC LIMIT 1) AS lng \
         FROM users u WHERE u.role = 'COURIER' AND u.is_active = TRUE ORDER BY load, u.full_name",
    )
    .fetch_all(pool)
    .await)?)
}

/// The courier choices, each with its load and, when known, its distance to `pickup`, nearest
/// and least loaded first: "Jean Mbarga — 2 en cours · 1,4 km".
fn courier_options(ctx: &Ctx, couriers: &[CourierLoad], pickup: Option<(f64, f64)>) -> Vec<(String, String)> {
    let mut rows: Vec<(Option<i64>, &CourierLoad)> = couriers
        .iter()
        .map(|c| (c.lat.zip(c.lng).zip(pickup).map(|(at, p)| (crate::geo::distance_km(at, p) * 1000.0) as i64), c))
        .collect();
    rows.sort_by_key(|(d, c)| (c.load, d.unwrap_or(i64::MAX)));
    rows.into_iter()
        .map(|(d, c)| {
            let load = ctx.fmt(Msg::CourierLoad, &[("n", &c.load.to_string())]);
            let label = match d {
                Some(m) => format!("{} — {load} · {}", c.full_name, ctx.lang.km(m)),
                None => format!("{} — {load}", c.full_name),
            };
            (c.id.clone(), label)
        })
        .collect()
}

async fn load(state: &AppState, id: &str) -> PageResult<Order> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(repo::find(&state.db, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

async fn detail(state: &AppState, ctx: &Ctx, o: &Order, errors: &FieldErrors, status: StatusCode) -> PageResult<Response> {
    let couriers = courier_options(ctx, &couriers_for_dispatch(state).await?, Some((o.pickup_lat, o.pickup_lng)));
    let st = o.status();
    let body = html! {
        p { a href="/admin/orders/" { "← " (ctx.t(Msg::AdminOrdersTitle)) } }
        div.row.between { h1 { (o.tracking_number) } (status_badge(ctx, st)) }
        @if let Some(e) = errors.get("action") { div.flash.err role="alert" { (e) } }
        div.card {
            dl.facts {
                dt { (ctx.t(Msg::FieldBusinessName)) } dd { (o.business_name) }
                dt { (ctx.t(Msg::Pickup)) } dd { (o.pickup_quartier) ", " (o.pickup_city) " — " (o.pickup_address) }
                dt { (ctx.t(Msg::Dropoff)) } dd { (o.dropoff_quartier) ", " (o.dropoff_city) " — " (o.dropoff_address) }
                dt { (ctx.t(Msg::FieldRecipientName)) } dd { (o.recipient_name) " · " (o.recipient_phone) }
                dt { (ctx.t(Msg::PriceTotal)) } dd { (o.price_total) }
                dt { (ctx.t(Msg::FieldCod)) } dd { (o.cod_amount) }
                dt { (ctx.t(Msg::Courier)) } dd { (o.courier_name.clone().unwrap_or_else(|| "—".into())) }
            }
        }
        @if st == Status::Pending {
            form.card method="post" action=(format!("/admin/orders/{}/assign/", o.id)) {
                (csrf_field(ctx))
                (crate::web::forms::select("courier_id", ctx.t(Msg::Courier), &couriers, "", errors, html! { option value="" { (ctx.t(Msg::ChooseCourier)) } }))
                button.btn type="submit" { (ctx.t(Msg::AssignCourier)) }
            }
        }
        @if o.pin_locked_at.is_some() && st == Status::InTransit {
            div.card {
                p.flash.err role="alert" { (ctx.fmt(Msg::PinLockedAdmin, &[("count", &o.pin_failures.to_string())])) }
                form method="post" action=(format!("/admin/orders/{}/reset-pin/", o.id)) {
                    (csrf_field(ctx))
                    button.btn type="submit" { (ctx.t(Msg::ResetPin)) }
                }
                form method="post" action=(format!("/admin/orders/{}/complete/", o.id)) {
                    (csrf_field(ctx))
                    (Input::new("complete_reason", ctx.t(Msg::CompleteReason), "").render(errors))
                    button.btn.secondary type="submit" { (ctx.t(Msg::CompleteWithoutPin)) }
                }
            }
        }
        @if st == Status::Failed {
            div.card {
                h2 { (ctx.t(Msg::AfterFailureTitle)) }
                form method="post" action=(format!("/admin/orders/{}/reattempt/", o.id)) {
                    (csrf_field(ctx))
                    button.btn type="submit" { (ctx.t(Msg::ReattemptButton)) }
                }
                form method="post" action=(format!("/admin/orders/{}/return/", o.id)) {
                    (csrf_field(ctx))
                    button.btn.secondary type="submit" { (ctx.t(Msg::AdminReturnButton)) }
                }
            }
        }
        @if st == Status::Returning {
            form.card method="post" action=(format!("/admin/orders/{}/returned/", o.id)) {
                (csrf_field(ctx))
                p.small.muted { (ctx.t(Msg::AdminHandBackHint)) }
                (Input::new("code", ctx.t(Msg::ReturnCodeLabel), "").optional().inputmode("numeric").render(errors))
                button.btn type="submit" { (ctx.t(Msg::MarkReturned)) }
            }
        }
        @if !st.is_final() && st != Status::Returning {
            form.card method="post" action=(format!("/admin/orders/{}/cancel/", o.id)) {
                (csrf_field(ctx))
                (Input::new("reason", ctx.t(Msg::CancelReason), "").render(errors))
                button.btn.danger type="submit" { (ctx.t(Msg::CancelOrder)) }
            }
        }
    };
    Ok(respond(status, page(ctx, &o.tracking_number, body)))
}

#[handler]
async fn show(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    detail(state, ctx, &o, &FieldErrors::default(), StatusCode::OK).await
}

async fn act(state: &AppState, ctx: &Ctx, o: &Order, action: Action) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let actor = Actor { role: Role::Admin, user_id: Some(admin.user_id.clone()) };
    let mut errors = FieldErrors::default();
    match service::transition(&state.db, &state.bus, o, &action, &actor, now_ms()).await {
        Ok(_) => return Ok(redirect(&format!("/admin/orders/{}/", o.id))),
        Err(OrderError::Transition(e)) => errors.add("action", ctx.t(e.message())),
        Err(OrderError::Conflict) => errors.add("action", ctx.t(Msg::ErrOrderChanged)),
        Err(OrderError::UnknownCourier) => errors.add("courier_id", ctx.t(Msg::ErrChoice)),
        Err(e) => return Err(internal(e).into()),
    }
    let fresh = load(state, &o.id).await?;
    detail(state, ctx, &fresh, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignForm {
    courier_id: String,
}

/// Give the ticked waiting orders to one courier: each is assigned in its own transaction (one
/// taken meanwhile by someone else stays as it is); the queue says how many were assigned.
#[handler]
async fn assign_many(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, body: String) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).map_err(|_| status_error(StatusCode::BAD_REQUEST))?;
    let courier = pairs.iter().find(|(k, _)| k == "courier_id").map(|(_, v)| v.clone()).unwrap_or_default();
    let ids: Vec<&str> = pairs.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.as_str()).take(100).collect();
    if courier.is_empty() || ids.is_empty() {
        return Ok(redirect("/admin/orders/?assigned=0"));
    }
    let actor = Actor { role: Role::Admin, user_id: Some(admin.user_id.clone()) };
    let mut assigned = 0;
    for id in ids {
        let Ok(o) = load(state, id).await else { continue };
        match service::transition(&state.db, &state.bus, &o, &Action::Assign { courier_id: courier.clone() }, &actor, now_ms()).await {
            Ok(_) => assigned += 1,
            Err(OrderError::UnknownCourier) => return Err(status_error(StatusCode::UNPROCESSABLE_ENTITY).into()),
            Err(OrderError::Transition(_) | OrderError::Conflict) => {}
            Err(e) => return Err(internal(e).into()),
        }
    }
    Ok(redirect(&format!("/admin/orders/?assigned={assigned}")))
}

#[handler]
async fn assign(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    act(state, ctx, &o, Action::Assign { courier_id: f.courier_id }).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CancelForm {
    reason: String,
}

#[handler]
async fn cancel(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let reason = required_text(ctx, &mut errors, "reason", &f.reason, 200);
    if !errors.is_empty() {
        return detail(state, ctx, &o, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    act(state, ctx, &o, Action::Cancel { reason }).await
}

/// A locked PIN: a new one for the recipient (the vendor is told and passes it on).
#[handler]
async fn reset_pin(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let o = load(state, &id).await?;
    match service::reset_pin(&state.db, &state.bus, &o, now_ms()).await {
        Ok(Some(_)) => {
            tracing::info!(order_id = %o.id, admin = admin.user_id, "delivery PIN reset");
            Ok(redirect(&format!("/admin/orders/{}/", o.id)))
        }
        Ok(None) => {
            let mut errors = FieldErrors::default();
            errors.add("action", ctx.t(Msg::ErrOrderChanged));
            detail(state, ctx, &o, &errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(internal(e).into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompleteForm {
    complete_reason: String,
}

/// A locked PIN: the admin checked with the recipient and closes the delivery by hand.
#[handler]
async fn complete_without_pin(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<CompleteForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let reason = required_text(ctx, &mut errors, "complete_reason", &f.complete_reason, 300);
    if o.pin_locked_at.is_none() {
        errors.add("action", ctx.t(Msg::ErrTransition));
    }
    if !errors.is_empty() {
        return detail(state, ctx, &o, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    act(state, ctx, &o, Action::CompleteWithoutPin { reason }).await
}

/// After a failure, an admin orders what the vendor would: a new attempt or a return, at the
/// same fees.
#[handler]
async fn reattempt(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    let action = crate::orders::AfterFailure::of(&state.config).reattempt(&o);
    act(state, ctx, &o, action).await
}

#[handler]
async fn send_back(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    let action = crate::orders::AfterFailure::of(&state.config).send_back(&o);
    act(state, ctx, &o, action).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
}

/// The parcel is back at the vendor's, who gave the return code.
#[handler]
async fn hand_back(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let o = load(state, &id).await?;
    act(state, ctx, &o, Action::HandBack { code: f.code }).await
}
