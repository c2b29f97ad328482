//! The orders part of the integrator API: quotes, create, list, get, cancel, what to do after
//! a failure, timeline, latest position and the printable label. Same validation and use
//! cases as the portal's pages.

use chrono::NaiveDate;
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
};

use crate::{
    accounts::phone::Phone,
    db::now_ms,
    i18n::Msg,
    idempotency::IdemKey,
    orders::{
        self, Draft,
        model::{Action, Role, Status},
        repo::{self, Cursor, Filter, Order},
        service::{self, Actor, OrderError, Source},
    },
    partners::repo as partners,
    state::AppState,
    web::api::{
        ApiKeyAuth, ApiTags,
        problem::{ApiProblem, request_lang},
        rfc3339,
    },
};

pub struct OrdersApi;

/// Status filter of the list.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusFilter {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Completed,
    Cancelled,
    Failed,
    Returning,
    Returned,
    /// Every order not finished yet.
    #[oai(rename = "active")]
    Active,
}

impl StatusFilter {
    fn to_str(self) -> &'static str {
        match self {
            StatusFilter::Pending => "PENDING",
            StatusFilter::Assigned => "ASSIGNED",
            StatusFilter::PickedUp => "PICKED_UP",
            StatusFilter::InTransit => "IN_TRANSIT",
            StatusFilter::Completed => "COMPLETED",
            StatusFilter::Cancelled => "CANCELLED",
            StatusFilter::Failed => "FAILED",
            StatusFilter::Returning => "RETURNING",
            StatusFilter::Returned => "RETURNED",
            StatusFilter::Active => "active",
        }
    }
}

/// List order.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum SortOrder {
    Newest,
    Oldest,
}

/// `{total, commission, net}` in FCFA: the commission is DELIVR-CM's share, the net the courier's.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Pricing {
    pub total: i64,
    pub commission: i64,
    pub net: i64,
}

impl poem_openapi::types::Example for Pricing {
    fn example() -> Self {
        pricing_example()
    }
}

fn pricing_example() -> Pricing {
    Pricing { total: 1500, commission: 300, net: 1200 }
}

/// A person on a delivery.
#[derive(Object, Debug, Clone)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// E.164 phone number; on input `677 98 76 54`, `00237…` and `+237…` are accepted.
    pub phone: String,
}

/// Where a parcel is picked up or delivered.
#[derive(Object, Debug, Clone)]
pub struct Place {
    pub city: String,
    pub quartier: String,
    /// Street or landmark ("derrière la pharmacie …").
    pub address: String,
}

/// A quote request. The pickup defaults to the partner's profile.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct QuoteRequest {
    /// Pickup city, by name (`Douala`) or id; defaults to the profile's.
    #[oai(skip_serializing_if_is_none)]
    pub pickup_city: Option<String>,
    /// Pickup quartier, by name (`Akwa`) or id; defaults to the profile's.
    #[oai(skip_serializing_if_is_none)]
    pub pickup_quartier: Option<String>,
    /// Drop-off city, by name or id.
    #[oai(validator(max_length = 60))]
    pub dropoff_city: String,
    /// Drop-off quartier, by name (accents and case ignored) or id.
    #[oai(validator(max_length = 80))]
    pub dropoff_quartier: String,
    /// Package size: `S`, `M` or `L` (default `S`).
    #[oai(skip_serializing_if_is_none)]
    pub size_class: Option<String>,
}

impl poem_openapi::types::Example for QuoteRequest {
    fn example() -> Self {
        quote_request_example()
    }
}

fn quote_request_example() -> QuoteRequest {
    QuoteRequest {
        pickup_city: None,
        pickup_quartier: None,
        dropoff_city: "Douala".into(),
        dropoff_quartier: "Bonamoussadi".into(),
        size_class: Some("M".into()),
    }
}

/// A price before ordering.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct QuoteResponse {
    /// Distance between the quartiers, in metres.
    pub distance_m: i64,
    pub pricing: Pricing,
    /// Always `XAF`.
    pub currency: String,
}

/// A new delivery.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct OrderCreate {
    /// Pickup city; defaults to the profile's.
    #[oai(skip_serializing_if_is_none)]
    pub pickup_city: Option<String>,
    /// Pickup quartier; defaults to the profile's.
    #[oai(skip_serializing_if_is_none)]
    pub pickup_quartier: Option<String>,
    /// Pickup address or landmark; defaults to the profile's.
    #[oai(skip_serializing_if_is_none)]
    pub pickup_address: Option<String>,
    #[oai(validator(max_length = 60))]
    pub dropoff_city: String,
    #[oai(validator(max_length = 80))]
    pub dropoff_quartier: String,
    /// Street or landmark, 3 to 200 characters.
    #[oai(validator(max_length = 400))]
    pub dropoff_address: String,
    pub recipient: Person,
    /// What is in the parcel, 2 to 200 characters.
    #[oai(validator(max_length = 400))]
    pub package_description: String,
    /// `S`, `M` or `L` (default `S`).
    #[oai(skip_serializing_if_is_none)]
    pub size_class: Option<String>,
    /// Cash to collect from the recipient, FCFA (0 to 2 000 000; default 0).
    #[oai(skip_serializing_if_is_none)]
    pub cod_amount: Option<i64>,
    /// For the courier, up to 300 characters.
    #[oai(validator(max_length = 600))]
    #[oai(skip_serializing_if_is_none)]
    pub courier_note: Option<String>,
}

impl poem_openapi::types::Example for OrderCreate {
    fn example() -> Self {
        order_create_example()
    }
}

fn order_create_example() -> OrderCreate {
    OrderCreate {
        pickup_city: None,
        pickup_quartier: None,
        pickup_address: None,
        dropoff_city: "Douala".into(),
        dropoff_quartier: "Bonamoussadi".into(),
        dropoff_address: "Derrière la pharmacie du Carrefour".into(),
        recipient: Person { name: "Paul Nkwi".into(), phone: "+237677987654".into() },
        package_description: "Chaussures".into(),
        size_class: Some("M".into()),
        cod_amount: Some(15000),
        courier_note: Some("Appeler avant d'arriver".into()),
    }
}

/// A delivery.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct OrderOut {
    /// Internal id (UUID).
    pub id: String,
    /// `DLV-XXXXXX`.
    pub tracking_number: String,
    /// `PENDING`, `ASSIGNED`, `PICKED_UP`, `IN_TRANSIT`, `COMPLETED`, `CANCELLED`, `FAILED`,
    /// `RETURNING` or `RETURNED`.
    pub status: String,
    /// The delivery attempt: 1, then 2… after each new attempt ordered after a failure.
    pub attempt: i64,
    /// While `RETURNING`: the code you give the courier who brings the parcel back.
    #[oai(skip_serializing_if_is_none)]
    pub return_code: Option<String>,
    /// `PORTAL`, `API`, `BOOKING`, `IMPORT` or `DEMO`.
    pub source: String,
    pub pickup: Place,
    pub dropoff: Place,
    pub recipient: Person,
    pub package_description: String,
    pub size_class: String,
    pub cod_amount: i64,
    pub pricing: Pricing,
    pub distance_m: i64,
    /// The 4-digit PIN the recipient gives the courier on hand-over.
    pub delivery_pin: String,
    #[oai(skip_serializing_if_is_none)]
    pub courier: Option<Person>,
    #[oai(skip_serializing_if_is_none)]
    pub courier_note: Option<String>,
    /// Public tracking page for the recipient.
    pub tracking_url: String,
    #[oai(skip_serializing_if_is_none)]
    pub failure_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub cancel_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<String>,
}

impl OrderOut {
    fn from(o: &Order, public_url: &str) -> OrderOut {
        let phone = |p: &str| Phone::parse(p).map(|x| x.as_str().to_owned()).unwrap_or_else(|| p.to_owned());
        OrderOut {
            id: o.id.to_string(),
            tracking_number: o.tracking_number.clone(),
            status: o.status.as_str().to_owned(),
            source: o.source.clone(),
            pickup: Place { city: o.pickup_city.clone(), quartier: o.pickup_quartier.clone(), address: o.pickup_address.clone() },
            dropoff: Place { city: o.dropoff_city.clone(), quartier: o.dropoff_quartier.clone(), address: o.dropoff_address.clone() },
            recipient: Person { name: o.recipient_name.clone(), phone: o.recipient_phone.clone() },
            package_description: o.package_description.clone(),
            size_class: o.size_class.clone(),
            cod_amount: o.cod_amount.get(),
            pricing: Pricing { total: o.price_total.get(), commission: o.price_commission.get(), net: o.price_net.get() },
            distance_m: o.distance_m,
            delivery_pin: o.delivery_pin.clone(),
            courier: o
                .courier_name
                .as_ref()
                .map(|n| Person { name: n.clone(), phone: o.courier_phone.as_deref().map(phone).unwrap_or_default() }),
            courier_note: o.courier_note.clone(),
            tracking_url: format!("{public_url}/t/{}/", o.public_token),
            failure_reason: o.failure_reason.clone(),
            cancel_reason: o.cancel_reason.clone(),
            attempt: o.attempt,
            return_code: o.return_code.clone().filter(|_| o.status() == Status::Returning),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            finished_at: o.finished_at.map(rfc3339),
        }
    }
}

/// One page of orders.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct OrderPage {
    pub data: Vec<OrderOut>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Cancelling an order (before pick-up).
#[derive(Object, Debug, Clone, Default)]
#[oai(deny_unknown_fields, example)]
pub struct CancelRequest {
    /// Why, for your records (optional, up to 200 characters).
    #[oai(validator(max_length = 400))]
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

/// A timeline entry.
#[derive(Object, Debug, Clone)]
pub struct TimelineEntry {
    pub status: String,
    /// `VENDOR`, `ADMIN`, `COURIER`, `SYSTEM` or `CUSTOMER`.
    pub actor: String,
    pub at: String,
    #[oai(skip_serializing_if_is_none)]
    pub lat: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    pub lng: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
}

#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Timeline {
    pub events: Vec<TimelineEntry>,
}

/// The courier's latest known position.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct PositionOut {
    pub lat: f64,
    pub lng: f64,
    pub at: String,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The order was created.
    #[oai(status = 201)]
    Created(Json<OrderOut>),
}

/// API field names for the portal's form fields.
fn api_field(f: &str) -> String {
    match f {
        "recipient_name" => "recipient.name".to_owned(),
        "recipient_phone" => "recipient.phone".to_owned(),
        other => other.to_owned(),
    }
}

async fn partner(state: &AppState, auth: &ApiKeyAuth, lang: crate::i18n::Lang) -> Result<partners::Partner, ApiProblem> {
    partners::by_id(&state.db, &auth.0.partner_id)
        .await?
        .ok_or_else(|| ApiProblem::new(poem::http::StatusCode::UNAUTHORIZED, "unauthorized", lang, Msg::ErrApiUnauthorized, None))
}

async fn find(state: &AppState, auth: &ApiKeyAuth, id: &str) -> Result<Order, ApiProblem> {
    repo::find_for_partner(&state.db, &auth.0.partner_id, id).await?.ok_or_else(|| ApiProblem::not_found(request_lang()))
}

#[OpenApi]
impl OrdersApi {
    /// Quote a delivery.
    ///
    /// The price the order would have now, from the drop-off city's tariff and the distance
    /// between the quartiers.
    #[oai(path = "/quotes", method = "post", operation_id = "createQuote", tag = "ApiTags::Quotes")]
    async fn create_quote(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        body: Json<QuoteRequest>,
    ) -> Result<Json<QuoteResponse>, ApiProblem> {
        let lang = request_lang();
        let partner = partner(&state, &auth, lang).await?;
        let b = body.0;
        let (pickup_city, pickup_quartier, size_class) =
            (b.pickup_city.unwrap_or_default(), b.pickup_quartier.unwrap_or_default(), exact_size(b.size_class));
        let route = orders::Route {
            pickup_city: &pickup_city,
            pickup_quartier: &pickup_quartier,
            dropoff_city: &b.dropoff_city,
            dropoff_quartier: &b.dropoff_quartier,
            size_class: &size_class,
        };
        match orders::quote(&state.db, lang, &partner, route).await? {
            Ok(q) => Ok(Json(QuoteResponse {
                distance_m: q.distance_m,
                pricing: Pricing { total: q.price.total.get(), commission: q.price.commission.get(), net: q.price.net.get() },
                currency: "XAF".into(),
            })),
            Err(errors) => Err(ApiProblem::validation(lang, &errors, api_field)),
        }
    }

    /// Create a delivery.
    ///
    /// Same rules as the portal's form. Send an `Idempotency-Key` so that a retry never
    /// creates a second order.
    #[oai(path = "/orders", method = "post", operation_id = "createOrder", tag = "ApiTags::Orders")]
    async fn create_order(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        body: Json<OrderCreate>,
    ) -> Result<Created, ApiProblem> {
        let lang = request_lang();
        let partner = partner(&state, &auth, lang).await?;
        let b = body.0;
        let cod = match b.cod_amount {
            Some(v) if v < 0 => "-1".to_owned(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let draft = Draft {
            pickup_city: b.pickup_city.unwrap_or_default(),
            pickup_quartier: b.pickup_quartier.unwrap_or_default(),
            pickup_address: b.pickup_address.unwrap_or_default(),
            dropoff_city: b.dropoff_city,
            dropoff_quartier: b.dropoff_quartier,
            dropoff_address: b.dropoff_address,
            recipient_name: b.recipient.name,
            recipient_phone: b.recipient.phone,
            package_description: b.package_description,
            size_class: exact_size(b.size_class),
            cod_amount: cod,
            courier_note: b.courier_note.unwrap_or_default(),
            intercity_ok: String::new(),
        };
        let valid = match orders::validate(&state.db, lang, &partner, &draft).await? {
            Ok(v) => v,
            Err(errors) => return Err(ApiProblem::validation(lang, &errors, api_field)),
        };
        let actor = Actor { role: Role::Vendor, user_id: Some(partner.user_id.clone()) };
        // With an Idempotency-Key, the key is recorded in the order's own transaction.
        let once = req.extensions().get::<IdemKey>().map(service::Once::Idempotent);
        let ids =
            service::create_many(&state.db, &state.bus, &partner.id, Source::Api, std::slice::from_ref(&valid), &actor, now_ms(), once)
                .await?;
        let id = ids.first().ok_or_else(|| ApiProblem::internal(lang, "no order created"))?;
        let order = repo::find(&state.db, id).await?.ok_or_else(|| ApiProblem::not_found(lang))?;
        Ok(Created::Created(Json(OrderOut::from(&order, &state.config.public_url()))))
    }

    /// List deliveries.
    ///
    /// Newest first unless `sort=oldest`; pages follow `next_cursor`. An unknown city or
    /// quartier matches nothing.
    #[oai(path = "/orders", method = "get", operation_id = "listOrders", tag = "ApiTags::Orders")]
    #[allow(clippy::too_many_arguments)]
    async fn list_orders(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// A status, or `active` for every order not yet finished.
        status: Query<Option<StatusFilter>>,
        /// First day (Douala time).
        from: Query<Option<NaiveDate>>,
        /// Last day (Douala time), not before `from`.
        to: Query<Option<NaiveDate>>,
        /// Drop-off city, by name or id.
        #[oai(validator(max_length = 60))]
        city: Query<Option<String>>,
        /// Drop-off quartier, by name or id.
        #[oai(validator(max_length = 80))]
        quartier: Query<Option<String>>,
        /// Tracking number, recipient name or phone.
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// `newest` (default) or `oldest`.
        sort: Query<Option<SortOrder>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
        /// Page size (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<OrderPage>, ApiProblem> {
        let lang = request_lang();
        let empty = || Json(OrderPage { data: Vec::new(), next_cursor: None });
        let mut filter = Filter { text: q.0.unwrap_or_default(), newest_first: sort.0 != Some(SortOrder::Oldest), ..Filter::default() };
        filter.statuses = match status.0 {
            None => Vec::new(),
            Some(StatusFilter::Active) => Status::ACTIVE.to_vec(),
            Some(s) => Status::parse(s.to_str()).into_iter().collect(),
        };
        if let (Some(a), Some(b)) = (from.0, to.0)
            && b < a
        {
            let mut errors = crate::web::forms::FieldErrors::default();
            errors.add("to", lang.t(Msg::ErrDateOrder));
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        }
        filter.from_ms = from.0.map(crate::douala::day_start);
        filter.to_ms = to.0.and_then(|d| d.succ_opt()).map(|d| crate::douala::day_start(d) - 1);
        if let Some(c) = city.0.filter(|c| !c.trim().is_empty()) {
            match orders::resolve_city(&state.db, &c).await? {
                Some(city) => filter.city_id = Some(city.id),
                None => return Ok(empty()),
            }
        }
        if let Some(qn) = quartier.0.filter(|q| !q.trim().is_empty()) {
            let mut found = None;
            for c in crate::geo::cities(&state.db).await? {
                if filter.city_id.is_none_or(|id| id == c.id)
                    && let Some(q) = orders::resolve_quartier(&state.db, c.id, &qn).await?
                {
                    found = Some(q.id);
                    break;
                }
            }
            match found {
                Some(id) => filter.quartier_id = Some(id),
                None => return Ok(empty()),
            }
        }
        let cursor = match cursor.0.filter(|c| !c.is_empty()) {
            Some(c) => match Cursor::decode(&c) {
                Some(c) => Some(c),
                None => {
                    return Err(ApiProblem::new(poem::http::StatusCode::UNPROCESSABLE_ENTITY, "bad-cursor", lang, Msg::ErrApiCursor, None));
                }
            },
            None => None,
        };
        let (rows, next) =
            repo::list::<repo::Order>(&state.db, &auth.0.partner_id, &filter, cursor.as_ref(), limit.0.unwrap_or(20)).await?;
        let public_url = state.config.public_url();
        Ok(Json(OrderPage { data: rows.iter().map(|o| OrderOut::from(o, &public_url)).collect(), next_cursor: next.map(|c| c.encode()) }))
    }

    /// Get one delivery, by id or tracking number.
    #[oai(path = "/orders/:id", method = "get", operation_id = "getOrder", tag = "ApiTags::Orders")]
    async fn get_order(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<OrderOut>, ApiProblem> {
        let o = find(&state, &auth, &id.0).await?;
        Ok(Json(OrderOut::from(&o, &state.config.public_url())))
    }

    /// Cancel a delivery (before pick-up).
    #[oai(path = "/orders/:id/cancel", method = "post", operation_id = "cancelOrder", tag = "ApiTags::Orders")]
    async fn cancel_order(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        /// Optional: the body may be left out.
        body: Json<CancelRequest>,
    ) -> Result<Json<OrderOut>, ApiProblem> {
        let lang = request_lang();
        let order = find(&state, &auth, &id.0).await?;
        let partner = partner(&state, &auth, lang).await?;
        let reason = body.0.reason.unwrap_or_default().trim().to_owned();
        if reason.chars().count() > 200 {
            let mut errors = crate::web::forms::FieldErrors::default();
            errors.add("reason", lang.fmt(Msg::ErrTooLong, &[("max", "200")]));
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        }
        let actor = Actor { role: Role::Vendor, user_id: Some(partner.user_id.clone()) };
        let idem = req.extensions().get::<IdemKey>();
        transitioned(
            &state,
            &order,
            service::transition_once(&state.db, &state.bus, &order, &Action::Cancel { reason }, &actor, now_ms(), idem).await,
        )
    }

    /// After a failed delivery: a new attempt.
    ///
    /// The order goes back to `PENDING` (the first free courier takes it) with `attempt` one
    /// more; the new trip's fee (a share of the price, `REATTEMPT_FEE_PERCENT`) is debited
    /// from the wallet with it. `409` unless the order is `FAILED`.
    #[oai(path = "/orders/:id/reattempt", method = "post", operation_id = "reattemptOrder", tag = "ApiTags::Orders")]
    async fn reattempt_order(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<OrderOut>, ApiProblem> {
        let order = find(&state, &auth, &id.0).await?;
        let action = crate::orders::AfterFailure::of(&state.config).reattempt(&order);
        after_failure(&state, &auth, &order, &action).await
    }

    /// After a failed delivery: the parcel back to you.
    ///
    /// The order becomes `RETURNING` with a `return_code`: give it to the courier who brings
    /// the parcel back, and the order becomes `RETURNED`. The return trip's fee (a share of the
    /// price, `RETURN_FEE_PERCENT`) is debited with it. `409` unless the order is `FAILED`.
    #[oai(path = "/orders/:id/return", method = "post", operation_id = "returnOrder", tag = "ApiTags::Orders")]
    async fn return_order(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<OrderOut>, ApiProblem> {
        let order = find(&state, &auth, &id.0).await?;
        let action = crate::orders::AfterFailure::of(&state.config).send_back(&order);
        after_failure(&state, &auth, &order, &action).await
    }

    /// A delivery's printable label (A6 PDF): tracking number, a QR code of the public
    /// tracking link, recipient, quartier and landmark, cash to collect, your name and phone.
    #[oai(path = "/orders/:id/label", method = "get", operation_id = "getOrderLabel", tag = "ApiTags::Orders")]
    async fn order_label(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<LabelFile, ApiProblem> {
        let lang = request_lang();
        let order = find(&state, &auth, &id.0).await?;
        let partner = partner(&state, &auth, lang).await?;
        let label = crate::orders::waybill::Label {
            tracking_url: format!("{}/t/{}/", state.config.public_url(), order.public_token),
            order: &order,
            vendor_phone: &partner.phone,
        };
        Ok(LabelFile::Pdf(Binary(crate::orders::waybill::single(&label, lang))))
    }

    /// A delivery's timeline.
    #[oai(path = "/orders/:id/timeline", method = "get", operation_id = "getOrderTimeline", tag = "ApiTags::Orders")]
    async fn order_timeline(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<Timeline>, ApiProblem> {
        let order = find(&state, &auth, &id.0).await?;
        let events = repo::timeline(&state.db, &order.id).await?;
        Ok(Json(Timeline {
            events: events
                .into_iter()
                .map(|e| TimelineEntry {
                    status: e.status.as_str().to_owned(),
                    actor: e.actor_role,
                    at: rfc3339(e.at),
                    lat: e.lat,
                    lng: e.lng,
                    note: e.note,
                })
                .collect(),
        }))
    }

    /// The courier's latest position for a delivery in progress (404 when none is known).
    #[oai(path = "/orders/:id/position", method = "get", operation_id = "getOrderPosition", tag = "ApiTags::Orders")]
    async fn order_position(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<PositionOut>, ApiProblem> {
        let order = find(&state, &auth, &id.0).await?;
        match repo::latest_position(&state.db, &order.id).await? {
            Some(p) if order.status().in_progress() => Ok(Json(PositionOut { lat: p.lat, lng: p.lng, at: rfc3339(p.at) })),
            _ => Err(ApiProblem::not_found(request_lang())),
        }
    }
}

impl poem_openapi::types::Example for QuoteResponse {
    fn example() -> Self {
        QuoteResponse { distance_m: 6720, pricing: Pricing { total: 2350, commission: 470, net: 1880 }, currency: "XAF".into() }
    }
}

impl poem_openapi::types::Example for OrderOut {
    fn example() -> Self {
        OrderOut {
            id: "a7f3c1d2-5b6e-4f8a-9c0d-1e2f3a4b5c6d".into(),
            tracking_number: "DLV-A7F3X2".into(),
            status: "IN_TRANSIT".into(),
            source: "API".into(),
            pickup: Place { city: "Douala".into(), quartier: "Akwa".into(), address: "Rue Joss, face à la pharmacie du Centre".into() },
            dropoff: Place {
                city: "Douala".into(), quartier: "Bonamoussadi".into(), address: "Derrière la pharmacie du Carrefour".into()
            },
            recipient: Person { name: "Paul Nkwi".into(), phone: "+237677987654".into() },
            package_description: "Chaussures".into(),
            size_class: "M".into(),
            cod_amount: 15000,
            pricing: pricing_example(),
            distance_m: 6720,
            delivery_pin: "4821".into(),
            courier: Some(Person { name: "Jean Mbarga".into(), phone: "+237691234567".into() }),
            courier_note: Some("Appeler avant d'arriver".into()),
            tracking_url: "https://portal.delivr.cm/t/Zk3…/".into(),
            failure_reason: None,
            cancel_reason: None,
            attempt: 1,
            return_code: None,
            created_at: "2026-02-11T09:12:00Z".into(),
            updated_at: "2026-02-11T10:05:00Z".into(),
            finished_at: None,
        }
    }
}

impl poem_openapi::types::Example for OrderPage {
    fn example() -> Self {
        OrderPage {
            data: vec![<OrderOut as poem_openapi::types::Example>::example()],
            next_cursor: Some("MTc3MDgwMTEyMDAwMDphN2YzYzFkMi0uLi4".into()),
        }
    }
}

impl poem_openapi::types::Example for Timeline {
    fn example() -> Self {
        Timeline {
            events: vec![
                TimelineEntry {
                    status: "PENDING".into(),
                    actor: "VENDOR".into(),
                    at: "2026-02-11T09:12:00Z".into(),
                    lat: Some(4.049),
                    lng: Some(9.695),
                    note: None,
                },
                TimelineEntry {
                    status: "ASSIGNED".into(),
                    actor: "ADMIN".into(),
                    at: "2026-02-11T09:20:00Z".into(),
                    lat: None,
                    lng: None,
                    note: None,
                },
            ],
        }
    }
}

impl poem_openapi::types::Example for PositionOut {
    fn example() -> Self {
        PositionOut { lat: 4.0712, lng: 9.7311, at: "2026-02-11T10:01:30Z".into() }
    }
}

impl poem_openapi::types::Example for CancelRequest {
    fn example() -> Self {
        CancelRequest { reason: Some("Le client a annulé sa commande".into()) }
    }
}

/// The JSON of one of the partner's orders, as `GET /orders/{id}` gives it (an idempotent
/// retry of a create or a cancel whose response was never stored is answered with it).
pub(crate) async fn order_json(state: &AppState, partner_id: &str, id: &str) -> sqlx::Result<Option<String>> {
    let Some(order) = repo::find_for_partner(&state.db, partner_id, id).await? else { return Ok(None) };
    Ok(poem_openapi::types::ToJSON::to_json(&OrderOut::from(&order, &state.config.public_url())).map(|v| v.to_string()))
}

/// The API takes the sizes its document lists, exactly (`S`, `M`, `L`); anything else is
/// reported by the order's validation as an unknown size.
fn exact_size(size: Option<String>) -> String {
    match size.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(s @ ("S" | "M" | "L")) => s.to_owned(),
        Some(_) => "?".to_owned(),
    }
}

/// A vendor's decision after a failure, through the API.
async fn after_failure(state: &AppState, auth: &ApiKeyAuth, order: &Order, action: &Action) -> Result<Json<OrderOut>, ApiProblem> {
    let partner = partner(state, auth, request_lang()).await?;
    let actor = Actor { role: Role::Vendor, user_id: Some(partner.user_id.clone()) };
    transitioned(state, order, service::transition(&state.db, &state.bus, order, action, &actor, now_ms()).await)
}

/// A transition's answer: the order as it now is, or the problem, a refused transition saying
/// the status it was refused from.
fn transitioned(state: &AppState, order: &Order, result: Result<Order, OrderError>) -> Result<Json<OrderOut>, ApiProblem> {
    match result {
        Ok(o) => Ok(Json(OrderOut::from(&o, &state.config.public_url()))),
        Err(OrderError::Transition(e)) => Err(ApiProblem::new(
            poem::http::StatusCode::CONFLICT,
            "transition-refused",
            request_lang(),
            e.message(),
            Some(format!("status is {}", order.status)),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(ApiResponse)]
pub enum LabelFile {
    /// The label as PDF (A6).
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(Binary<Vec<u8>>),
}
