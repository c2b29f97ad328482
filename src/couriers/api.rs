//! The courier app's JSON API under `/courier/v1/`: login (token), assigned orders, status
//! changes, positions. Errors are RFC 7807 problem documents with translated titles.

use poem::{
    IntoResponse, Request, Response, Route, get, handler,
    http::{HeaderValue, StatusCode, header},
    post,
    web::{Data, Json, Path},
};
use serde::{Deserialize, Serialize};

use crate::{
    accounts::{password, repo as users, throttle},
    couriers::{self, PositionError},
    db::now_ms,
    i18n::{Lang, Msg},
    orders::{
        model::Action,
        repo::{self, Order},
        service::OrderError,
    },
    state::AppState,
};

pub fn routes(route: Route) -> Route {
    route
        .at("/login", post(login))
        .at("/orders", get(list_orders))
        .at("/orders/:id/pickup", post(pick_up))
        .at("/orders/:id/in-transit", post(start_transit))
        .at("/orders/:id/complete", post(complete))
        .at("/orders/:id/fail", post(fail))
        .at("/orders/:id/returned", post(returned))
        .at("/positions", post(position))
}

fn lang_of(req: &Request) -> Lang {
    req.header(header::ACCEPT_LANGUAGE.as_str()).and_then(Lang::from_accept_language).unwrap_or_default()
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// An RFC 7807 problem document.
pub fn problem(status: StatusCode, kind: &str, lang: Lang, title: Msg, detail: Option<String>) -> Response {
    let body =
        Problem { kind: format!("https://delivr.cm/problems/{kind}"), title: lang.t(title).to_owned(), status: status.as_u16(), detail };
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}

fn internal(lang: Lang, e: sqlx::Error) -> Response {
    if crate::db::unavailable(&e) {
        tracing::warn!(error = %e, "database unavailable");
        return problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable", lang, Msg::ErrUnavailableTitle, None);
    }
    tracing::error!(error = %e, "courier API failure");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", lang, Msg::ErrServerTitle, None)
}

/// The courier behind `Authorization: Bearer <token>`, or a 401 problem.
async fn courier(state: &AppState, req: &Request) -> Result<(String, String), Response> {
    let lang = lang_of(req);
    let token = req.header(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let Some(token) = token else {
        return Err(problem(StatusCode::UNAUTHORIZED, "unauthorized", lang, Msg::ErrApiUnauthorized, None));
    };
    match couriers::authenticate(&state.db, token).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(problem(StatusCode::UNAUTHORIZED, "unauthorized", lang, Msg::ErrApiUnauthorized, None)),
        Err(e) => Err(internal(lang, e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    name: String,
}

#[handler]
async fn login(Data(state): Data<&AppState>, req: &Request, body: Result<Json<LoginBody>, poem::Error>) -> Response {
    let lang = lang_of(req);
    let Ok(Json(body)) = body else { return problem(StatusCode::BAD_REQUEST, "malformed-body", lang, Msg::ErrApiBody, None) };
    let client = req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let email = body.email.trim().to_lowercase();
    let (account, client) = (throttle::account_key(&email), throttle::client_key(&client));
    match throttle::retry_after(&state.db, &[(&account, throttle::LOGIN_ACCOUNT), (&client, throttle::LOGIN_CLIENT)]).await {
        Ok(Some(wait)) => {
            metrics::counter!("delivr_sign_in_failures_total", "kind" => "throttled").increment(1);
            metrics::counter!("delivr_rate_limit_refusals_total", "scope" => "sign-in").increment(1);
            let mut resp = problem(StatusCode::TOO_MANY_REQUESTS, "throttled", lang, Msg::ErrTooManyTitle, None);
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return resp;
        }
        Ok(None) => {}
        Err(e) => return internal(lang, e),
    }
    let attempt = match throttle::record(&state.db, &[&account, &client]).await {
        Ok(ids) => ids,
        Err(e) => return internal(lang, e),
    };
    let user = match users::find_by_email(&state.db, &email).await {
        Ok(u) => u,
        Err(e) => return internal(lang, e),
    };
    let phc = user.as_ref().map_or_else(|| password::dummy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = password::verify_blocking(body.password, phc).await;
    let Some(user) = user.filter(|u| ok && u.is_active && u.role == "COURIER") else {
        metrics::counter!("delivr_sign_in_failures_total", "kind" => "password").increment(1);
        return problem(StatusCode::UNAUTHORIZED, "unauthorized", lang, Msg::ErrLoginInvalid, None);
    };
    let _ = throttle::forget(&state.db, &attempt).await;
    let _ = throttle::clear(&state.db, &account).await;
    match couriers::issue_token(&state.db, &user.id).await {
        Ok(token) => {
            let name = couriers::authenticate(&state.db, &token).await.ok().flatten().map(|(_, n)| n).unwrap_or_default();
            Json(LoginResponse { token, name }).into_response()
        }
        Err(e) => internal(lang, e),
    }
}

#[derive(Serialize)]
struct Place {
    city: String,
    quartier: String,
    address: String,
    lat: f64,
    lng: f64,
}

#[derive(Serialize)]
struct CourierOrder {
    id: String,
    tracking_number: String,
    status: String,
    pickup: Place,
    dropoff: Place,
    recipient_name: String,
    recipient_phone: String,
    cod_amount: i64,
    note: Option<String>,
}

impl From<&Order> for CourierOrder {
    fn from(o: &Order) -> Self {
        CourierOrder {
            id: o.id.to_string(),
            tracking_number: o.tracking_number.clone(),
            status: o.status.as_str().to_owned(),
            pickup: Place {
                city: o.pickup_city.clone(),
                quartier: o.pickup_quartier.clone(),
                address: o.pickup_address.clone(),
                lat: o.pickup_lat,
                lng: o.pickup_lng,
            },
            dropoff: Place {
                city: o.dropoff_city.clone(),
                quartier: o.dropoff_quartier.clone(),
                address: o.dropoff_address.clone(),
                lat: o.dropoff_lat,
                lng: o.dropoff_lng,
            },
            recipient_name: o.recipient_name.clone(),
            recipient_phone: o.recipient_phone.clone(),
            cod_amount: o.cod_amount.get(),
            note: o.courier_note.clone(),
        }
    }
}

#[handler]
async fn list_orders(Data(state): Data<&AppState>, req: &Request) -> Response {
    let (courier_id, _) = match courier(state, req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match couriers::active_orders(&state.db, &courier_id).await {
        Ok(orders) => Json(orders.iter().map(CourierOrder::from).collect::<Vec<_>>()).into_response(),
        Err(e) => internal(lang_of(req), e),
    }
}

/// The order, only if it is assigned to this courier (anything else is a 404).
async fn assigned(state: &AppState, courier_id: &str, id: &str, lang: Lang) -> Result<Order, Response> {
    let not_found = || problem(StatusCode::NOT_FOUND, "not-found", lang, Msg::ErrNotFoundTitle, None);
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    match repo::find(&state.db, id).await {
        Ok(Some(o)) if o.courier_id.as_deref() == Some(courier_id) => Ok(o),
        Ok(_) => Err(not_found()),
        Err(e) => Err(internal(lang, e)),
    }
}

async fn apply(state: &AppState, req: &Request, id: &str, action: Action) -> Response {
    let lang = lang_of(req);
    let (courier_id, _) = match courier(state, req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let order = match assigned(state, &courier_id, id, lang).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match couriers::act(&state.db, &state.bus, &courier_id, &order, &action).await {
        Ok(o) => Json(CourierOrder::from(&o)).into_response(),
        Err(OrderError::Transition(e @ crate::orders::model::TransitionError::PinLocked)) => {
            problem(StatusCode::LOCKED, "pin-locked", lang, e.message(), None)
        }
        Err(OrderError::Transition(e)) => {
            let status = if matches!(
                e,
                crate::orders::model::TransitionError::WrongPin
                    | crate::orders::model::TransitionError::ReasonRequired
                    | crate::orders::model::TransitionError::WrongReturnCode
            ) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            problem(status, "transition-refused", lang, e.message(), Some(format!("status is {}", order.status)))
        }
        Err(OrderError::Conflict) => problem(StatusCode::CONFLICT, "conflict", lang, Msg::ErrOrderChanged, None),
        Err(OrderError::Db(e)) => internal(lang, e),
        Err(e) => {
            tracing::error!(error = %e, "courier API failure");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", lang, Msg::ErrServerTitle, None)
        }
    }
}

#[handler]
async fn pick_up(Data(state): Data<&AppState>, req: &Request, Path(id): Path<String>) -> Response {
    apply(state, req, &id, Action::PickUp).await
}

#[handler]
async fn start_transit(Data(state): Data<&AppState>, req: &Request, Path(id): Path<String>) -> Response {
    apply(state, req, &id, Action::StartTransit).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    pin: String,
}

#[handler]
async fn complete(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    body: Result<Json<PinBody>, poem::Error>,
) -> Response {
    match body {
        Ok(Json(b)) => apply(state, req, &id, Action::Complete { pin: b.pin }).await,
        Err(_) => problem(StatusCode::BAD_REQUEST, "malformed-body", lang_of(req), Msg::ErrApiBody, None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

/// A parcel on its way back is handed to the vendor, who gives the return code.
#[handler]
async fn returned(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    body: Result<Json<CodeBody>, poem::Error>,
) -> Response {
    match body {
        Ok(Json(b)) if b.code.len() <= 20 => apply(state, req, &id, Action::HandBack { code: b.code }).await,
        _ => problem(StatusCode::BAD_REQUEST, "malformed-body", lang_of(req), Msg::ErrApiBody, None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

#[handler]
async fn fail(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    body: Result<Json<ReasonBody>, poem::Error>,
) -> Response {
    match body {
        Ok(Json(b)) if b.reason.chars().count() <= 300 => apply(state, req, &id, Action::Fail { reason: b.reason }).await,
        _ => problem(StatusCode::BAD_REQUEST, "malformed-body", lang_of(req), Msg::ErrApiBody, None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionBody {
    order_id: String,
    lat: f64,
    lng: f64,
}

#[handler]
async fn position(Data(state): Data<&AppState>, req: &Request, body: Result<Json<PositionBody>, poem::Error>) -> Response {
    let lang = lang_of(req);
    let (courier_id, _) = match courier(state, req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(Json(body)) = body else { return problem(StatusCode::BAD_REQUEST, "malformed-body", lang, Msg::ErrApiBody, None) };
    let order = match assigned(state, &courier_id, &body.order_id, lang).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match couriers::report_position(&state.db, &state.bus, &courier_id, &order, body.lat, body.lng, now_ms()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(PositionError::Implausible) => problem(StatusCode::UNPROCESSABLE_ENTITY, "bad-position", lang, Msg::ErrPosition, None),
        Err(PositionError::NotYours) => problem(StatusCode::CONFLICT, "transition-refused", lang, Msg::ErrTransition, None),
        Err(PositionError::TooFrequent(ms)) => {
            let mut resp = problem(StatusCode::TOO_MANY_REQUESTS, "throttled", lang, Msg::ErrTooManyTitle, None);
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from((ms + 999) / 1000));
            resp
        }
        Err(PositionError::Db(e)) => internal(lang, e),
    }
}
