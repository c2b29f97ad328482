//! Public pages for the vendor's customers: the tracking page of one order (unguessable URL,
//! tiny, works on 2G, no map needed), the booking page `/book/<slug>/` (it shows the delivery
//! fee before sending) and a booking request's own page `/r/<token>/`, where the customer
//! reads the vendor's answer.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::{
    db::{Db, now_ms},
    geo,
    i18n::Msg,
    on_db,
    orders::{
        self, Draft,
        bookings::{self, NewRequest},
        model::Status,
        pages::status_badge,
        repo,
    },
    partners::repo as partners,
    state::AppState,
    web::brand::Brand,
    web::{
        Ctx, PageResult,
        components::format_datetime,
        forms::{FieldErrors, Input},
        layout::{branded_page, csrf_field, public_page, respond},
        status_error,
    },
};

/// Booking requests allowed per client address per hour, and per vendor per day.
pub const BOOKINGS_PER_CLIENT_HOUR: i64 = 5;
pub const BOOKINGS_PER_PARTNER_DAY: i64 = 200;

pub fn routes(route: Route) -> Route {
    route
        .at("/t/:token/", get(track))
        .at("/t/:token/stream/", get(track_stream))
        .at("/book/:slug/", get(booking_page).post(book))
        .at("/r/:token/", get(request_page))
}

#[handler]
async fn track(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(token): Path<String>) -> PageResult<Response> {
    if token.len() > 64 {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let order = repo::find_by_public_token(&state.db, &token).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let timeline = repo::timeline(&state.db, &order.id).await?;
    let position = repo::latest_position(&state.db, &order.id).await?;
    let status = order.status();
    // A parcel on its way back to the vendor is no longer coming: no live courier, no PIN.
    let coming = status.in_progress() && status != Status::Returning;
    let eta = if status == Status::InTransit { position.map(|p| orders::eta_minutes(&order, p)) } else { None };
    let brand = crate::partners::branding::of(&state.db, &order.partner_id).await?;
    let body = html! {
        div.narrow {
            p.muted { (ctx.fmt(Msg::TrackFrom, &[("vendor", &order.business_name)])) }
            @if let Some(m) = &brand.message { p.brand-message { (m) } }
            h1 { (order.tracking_number) }
            div.card {
                p { (status_badge(ctx, status)) }
                @if coming {
                    // Updated live while the order moves (public.js; without it, reload the page).
                    p.eta #live data-stream=(format!("/t/{}/stream/", order.public_token)) data-template=(ctx.t(Msg::TrackEta)) {
                        @if let Some(m) = eta { (ctx.fmt(Msg::TrackEta, &[("minutes", &m.to_string())])) }
                    }
                }
                dl.facts {
                    dt { (ctx.t(Msg::Dropoff)) } dd { (order.dropoff_quartier) ", " (order.dropoff_city) }
                    @if let Some(name) = &order.courier_name { dt { (ctx.t(Msg::Courier)) } dd { (name) } }
                }
                @if !status.is_final() && status != Status::Returning { p.small.muted { (ctx.t(Msg::TrackPinHint)) } }
                @if status == Status::Returning { p.small.muted { (ctx.fmt(Msg::TrackReturning, &[("vendor", &order.business_name)])) } }
            }
            div.card {
                h2 { (ctx.t(Msg::Timeline)) }
                ol.timeline {
                    @for e in &timeline {
                        li {
                            strong { (ctx.t(e.status.label())) }
                            " · " span.muted { (format_datetime(e.at, ctx.lang)) }
                        }
                    }
                }
            }
        }
    };
    let mut resp = respond(StatusCode::OK, public_page(ctx, &order.tracking_number, body, coming.then_some("public.js"), Some(&brand)));
    resp.headers_mut().insert("x-robots-tag", poem::http::HeaderValue::from_static("noindex"));
    Ok(resp)
}

/// The live feed of one order for its public page: `position` events while it moves, and
/// `status` when its status changes (the page then reloads). Only that order, nothing else.
#[handler]
async fn track_stream(Data(state): Data<&AppState>, Path(token): Path<String>) -> PageResult<poem::Response> {
    use poem::{IntoResponse, web::sse::Event};
    if token.len() > 64 {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let order = repo::find_by_public_token(&state.db, &token).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    if !order.status().in_progress() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let Some(rx) = crate::notifications::live::subscribe(&state.actors, &order.partner_id).await else {
        return Ok(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    let db = state.db.clone();
    let events = futures_util::stream::unfold(Some((rx, db, order)), |state| async move {
        let (mut rx, db, order) = state?;
        loop {
            match rx.recv().await {
                // The instance stops: the page reconnects in a moment; nothing more here.
                Ok(crate::notifications::live::Live::Shutdown) => {
                    return Some((Event::retry(crate::notifications::stream::RECONNECT_MS), None));
                }
                Ok(crate::notifications::live::Live::PositionEvent { order: id, .. }) if *id == *order.id => {
                    let Ok(Some(p)) = repo::latest_position(&db, &order.id).await else { continue };
                    let ev = crate::notifications::stream::PositionEvent {
                        id: &order.id,
                        t: &order.tracking_number,
                        s: order.status().as_str(),
                        la: p.lat,
                        ln: p.lng,
                        eta: Some(orders::eta_minutes(&order, p)),
                    };
                    let json = serde_json::to_string(&ev).unwrap_or_default();
                    return Some((Event::message(json).event_type("position"), Some((rx, db, order))));
                }
                Ok(crate::notifications::live::Live::Notifications) => {
                    let fresh = repo::find(&db, &order.id).await.ok().flatten();
                    if let Some(f) = fresh.filter(|f| f.status != order.status) {
                        return Some((Event::message(f.status.as_str()).event_type("status"), Some((rx, db, f))));
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let open = crate::web::OpenStream::new("tracking");
    let events = futures_util::StreamExt::map(events, move |e| {
        let _counted = &open;
        e
    });
    Ok(crate::web::lean_streams::event_stream(events, std::time::Duration::from_secs(15)))
}

/// Count events under `key` since `since`, and record one more when under `max`.
async fn allow(db: &Db, key: &str, since: i64, max: i64) -> sqlx::Result<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE key = $1 AND at > $2")
        .bind(key)
        .bind(since)
        .fetch_one(pool)
        .await)?;
    Ok(n < max)
}

async fn record(db: &Db, keys: &[String]) -> sqlx::Result<()> {
    let now = now_ms();
    for key in keys {
        on_db!(db, pool => sqlx::query("INSERT INTO rate_events (key, at) VALUES ($1, $2)").bind(key).bind(now).execute(pool).await.map(|_| ()))?;
    }
    on_db!(db, pool => sqlx::query("DELETE FROM rate_events WHERE at < $1").bind(now - 86_400_000).execute(pool).await.map(|_| ()))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct BookingForm {
    #[serde(flatten)]
    draft: Draft,
    /// Honeypot: hidden from people, filled by bots.
    website: String,
    /// The no-JavaScript "show quartiers" button: re-render, do not book.
    refresh: String,
}

async fn booking_view(
    state: &AppState,
    ctx: &Ctx,
    partner: &partners::Partner,
    brand: &Brand,
    form: &Draft,
    errors: &FieldErrors,
    banner: Option<String>,
) -> PageResult<Markup> {
    let cities = geo::cities(&state.db).await?;
    let quartiers = match orders::resolve_city(&state.db, &form.dropoff_city).await? {
        Some(c) => geo::quartiers_of(&state.db, c.id).await?,
        None => Vec::new(),
    };
    let fee = fee_box(state, ctx, partner, form).await?;
    Ok(html! {
        div.narrow {
            h1 { (partner.business_name) }
            @if let Some(m) = &brand.message { p.brand-message { (m) } }
            p.muted { (ctx.t(Msg::BookIntro)) }
            @if let Some(b) = banner { div.flash.err role="alert" { (b) } }
            form.card #booking-form method="post" action=(format!("/book/{}/", partner.slug)) novalidate {
                (csrf_field(ctx))
                div.hp aria-hidden="true" {
                    label for="website" { "Website" }
                    input #website type="text" name="website" tabindex="-1" autocomplete="off";
                }
                (Input::new("recipient_name", ctx.t(Msg::BookYourName), &form.recipient_name).autocomplete("name").render(errors))
                (Input::new("recipient_phone", ctx.t(Msg::FieldPhone), &form.recipient_phone).kind("tel").autocomplete("tel").inputmode("tel").hint(ctx.t(Msg::HintPhone)).render(errors))
                div.field.invalid[errors.get("dropoff_city").is_some()] {
                    label for="f-dropoff_city" { (ctx.t(Msg::FieldCity)) }
                    select #f-dropoff_city name="dropoff_city" hx-get=(format!("/book/{}/", partner.slug)) hx-trigger="change"
                        hx-target="#dropoff_quartier-field" hx-select="#dropoff_quartier-field" hx-swap="outerHTML" {
                        option value="" { (ctx.t(Msg::ChooseCity)) }
                        @for c in &cities { option value=(c.id) selected[c.id.to_string() == form.dropoff_city] { (c.name) } }
                    }
                    @if let Some(e) = errors.get("dropoff_city") { div.error role="alert" { (e) } }
                }
                (crate::orders::pages::quartier_select(ctx, "dropoff_quartier",
                    &quartiers.iter().map(|q| (q.id.to_string(), q.name.clone())).collect::<Vec<_>>(), &form.dropoff_quartier, errors))
                (Input::new("dropoff_address", ctx.t(Msg::FieldPickupAddress), &form.dropoff_address).hint(ctx.t(Msg::HintAddress)).render(errors))
                (Input::new("package_description", ctx.t(Msg::FieldPackage), &form.package_description).render(errors))
                (fee)
                p.small.muted { (ctx.fmt(Msg::BookNext, &[("vendor", &partner.business_name)])) }
                div.row {
                    button.btn type="submit" { (ctx.t(Msg::BookSubmit)) }
                    button.btn.secondary.nojs-only type="submit" name="refresh" value="1" formnovalidate { (ctx.t(Msg::RefreshQuartiers)) }
                }
            }
        }
    })
}

/// The vendor behind a slug, with their brand. A former slug answers with a permanent
/// redirect to the current one (`308` keeps a form's POST a POST).
async fn bookable(state: &AppState, slug: &str, query: Option<&str>, post: bool) -> PageResult<(partners::Partner, Brand)> {
    if slug.len() > 60 {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let found = crate::partners::branding::resolve_slug(&state.db, slug).await?;
    let partner = match found {
        Some((_, current)) if current != slug => {
            let to = match query.filter(|q| !q.is_empty()) {
                Some(q) => format!("/book/{current}/?{q}"),
                None => format!("/book/{current}/"),
            };
            let code = if post { StatusCode::PERMANENT_REDIRECT } else { StatusCode::MOVED_PERMANENTLY };
            return Err(
                poem::Error::from_response(Response::builder().status(code).header(poem::http::header::LOCATION, to).finish()).into()
            );
        }
        Some((id, _)) => partners::by_id(&state.db, &id).await?,
        None => None,
    };
    // Only approved, active vendors with a pickup address take bookings.
    let partner = partner
        .filter(|p| p.status() == partners::Status::Approved && p.pickup_quartier_id.is_some())
        .ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let brand = crate::partners::branding::of(&state.db, &partner.id).await?;
    Ok((partner, brand))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CityQuery {
    dropoff_city: String,
    dropoff_quartier: String,
}

/// The delivery fee to the chosen quartier (from the vendor's pickup, small parcel), updated
/// as the customer picks the place; without JavaScript the refresh button shows it.
async fn fee_box(state: &AppState, ctx: &Ctx, partner: &partners::Partner, form: &Draft) -> PageResult<Markup> {
    let route = orders::Route { dropoff_city: &form.dropoff_city, dropoff_quartier: &form.dropoff_quartier, ..Default::default() };
    let quote = if form.dropoff_quartier.trim().is_empty() { None } else { orders::quote(&state.db, ctx.lang, partner, route).await?.ok() };
    let quartier = match &quote {
        Some(_) => match orders::resolve_city(&state.db, &form.dropoff_city).await? {
            Some(c) => orders::resolve_quartier(&state.db, c.id, &form.dropoff_quartier).await?.map(|q| q.name),
            None => None,
        },
        None => None,
    };
    // The box stays in place and only its content is swapped: a request sent while an earlier
    // answer lands is never lost with a replaced element.
    Ok(html! {
        div.fee #booking-fee aria-live="polite" hx-get=(format!("/book/{}/", partner.slug)) hx-trigger="change from:#booking-form"
            hx-include="#booking-form" hx-select="#booking-fee-content" hx-swap="innerHTML" hx-sync="this:replace" {
            div #booking-fee-content {
                @match (quote, quartier) {
                    (Some(q), Some(name)) => {
                        p { strong { (ctx.fmt(Msg::BookFee, &[("quartier", &name), ("fee", &crate::money::format_fcfa(q.price.total.get()))])) } }
                    }
                    _ => { p.small.muted { (ctx.t(Msg::BookFeeChoose)) } }
                }
            }
        }
    })
}

#[handler]
async fn booking_page(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(slug): Path<String>,
    Query(q): Query<CityQuery>,
    req: &poem::Request,
) -> PageResult<Response> {
    let (partner, brand) = bookable(state, &slug, req.uri().query(), false).await?;
    let city = if q.dropoff_city.is_empty() { partner.pickup_city_id.map(|c| c.to_string()).unwrap_or_default() } else { q.dropoff_city };
    // A quartier given by name (a shared link) selects its entry in the list.
    let quartier = match orders::resolve_city(&state.db, &city).await? {
        Some(c) if !q.dropoff_quartier.is_empty() => {
            orders::resolve_quartier(&state.db, c.id, &q.dropoff_quartier).await?.map(|q| q.id.to_string()).unwrap_or_default()
        }
        _ => String::new(),
    };
    let draft = Draft { dropoff_city: city, dropoff_quartier: quartier, ..Draft::default() };
    let body = booking_view(state, ctx, &partner, &brand, &draft, &FieldErrors::default(), None).await?;
    Ok(respond(StatusCode::OK, branded_page(ctx, &partner.business_name, body, Some(&brand))))
}

#[handler]
async fn book(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(slug): Path<String>,
    req: &poem::Request,
    Form(form): Form<BookingForm>,
) -> PageResult<Response> {
    let (partner, brand) = bookable(state, &slug, req.uri().query(), true).await?;
    let page = |ctx: &Ctx, title: &str, body: Markup| branded_page(ctx, title, body, Some(&brand));
    let title = partner.business_name.clone();
    if form.refresh == "1" {
        let body = booking_view(state, ctx, &partner, &brand, &form.draft, &FieldErrors::default(), None).await?;
        return Ok(respond(StatusCode::OK, page(ctx, &title, body)));
    }
    // A bot filled the hidden field: pretend success, store nothing.
    if !form.website.is_empty() {
        tracing::info!(partner = %partner.id, "booking honeypot triggered");
        return Ok(respond(StatusCode::OK, page(ctx, &title, thanks(ctx))));
    }
    let now = now_ms();
    let client_key = format!("book:client:{}", ctx.client);
    let partner_key = format!("book:partner:{}", partner.id);
    let allowed = allow(&state.db, &client_key, now - 3_600_000, BOOKINGS_PER_CLIENT_HOUR).await?
        && allow(&state.db, &partner_key, now - 86_400_000, BOOKINGS_PER_PARTNER_DAY).await?;
    if !allowed {
        let body = booking_view(
            state,
            ctx,
            &partner,
            &brand,
            &form.draft,
            &FieldErrors::default(),
            Some(ctx.t(Msg::ErrBookingThrottled).to_owned()),
        )
        .await?;
        metrics::counter!("delivr_rate_limit_refusals_total", "scope" => "booking").increment(1);
        let mut resp = respond(StatusCode::TOO_MANY_REQUESTS, page(ctx, &title, body));
        resp.headers_mut().insert(poem::http::header::RETRY_AFTER, poem::http::HeaderValue::from_static("3600"));
        return Ok(resp);
    }
    // Customers give only the drop-off side; the pickup is the vendor's.
    let draft = Draft {
        pickup_city: String::new(),
        pickup_quartier: String::new(),
        pickup_address: String::new(),
        size_class: String::new(),
        cod_amount: String::new(),
        ..form.draft.clone()
    };
    match orders::validate(&state.db, ctx.lang, &partner, &draft).await? {
        // It waits for the vendor, who sets the cash to collect: no order yet.
        Ok(valid) => {
            record(&state.db, &[client_key, partner_key]).await?;
            let request = NewRequest {
                dropoff: valid.dropoff,
                dropoff_address: valid.dropoff_address,
                recipient_name: valid.recipient_name,
                recipient_phone: valid.recipient_phone,
                package_description: valid.package_description,
                fee: valid.quote.price.total,
                lang: ctx.lang,
            };
            let ttl = state.config.booking_ttl_hours.max(1) * 3_600_000;
            let token = bookings::submit(&state.db, &state.bus, &partner.id, &request, ttl, now).await?;
            Ok(crate::web::redirect(&format!("/r/{token}/?sent=1")))
        }
        Err(errors) => {
            let body = booking_view(state, ctx, &partner, &brand, &form.draft, &errors, None).await?;
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, &title, body)))
        }
    }
}

/// What a bot that filled the honeypot sees: the same words as a customer, and nothing stored.
fn thanks(ctx: &Ctx) -> Markup {
    html! {
        div.narrow {
            div.card {
                h1 { (ctx.t(Msg::BookThanks)) }
                p { (ctx.t(Msg::BookThanksText)) }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SentQuery {
    sent: String,
}

/// A booking request's page, for the customer who sent it (unguessable URL): waiting, or the
/// vendor's answer (the tracking link, or the reason of a refusal), or expired.
#[handler]
async fn request_page(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(token): Path<String>,
    Query(q): Query<SentQuery>,
) -> PageResult<Response> {
    if token.len() > 64 {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let r = bookings::find_by_token(&state.db, &token).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let partner = partners::by_id(&state.db, &r.partner_id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let brand = crate::partners::branding::of(&state.db, &partner.id).await?;
    let vendor = ("vendor", partner.business_name.as_str());
    let status = r.status();
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::RequestTitle)) }
            @if q.sent == "1" { div.flash.ok role="status" { strong { (ctx.t(Msg::BookThanks)) } " " (ctx.t(Msg::BookThanksText)) } }
            div.card {
                p { (crate::orders::bookings::pages::status_badge(ctx, status)) }
                @match status {
                    bookings::Status::Pending => {
                        p { (ctx.fmt(Msg::RequestPendingText, &[vendor, ("date", &format_datetime(r.expires_at, ctx.lang))])) }
                    }
                    bookings::Status::Accepted => {
                        p { (ctx.fmt(Msg::RequestAcceptedText, &[vendor])) }
                        @if let (Some(t), Some(token)) = (&r.tracking_number, &r.order_token) {
                            p { strong { (t) } }
                            p { a.btn href=(format!("/t/{token}/")) { (ctx.t(Msg::PublicTracking)) } }
                        }
                    }
                    bookings::Status::Declined => {
                        p { (ctx.fmt(Msg::RequestDeclinedText, &[vendor, ("reason", r.decline_reason.as_deref().unwrap_or(""))])) }
                        p { a.btn.secondary href=(format!("/book/{}/", partner.slug)) { (ctx.t(Msg::RequestAgain)) } }
                    }
                    bookings::Status::Expired => {
                        p { (ctx.fmt(Msg::RequestExpiredText, &[vendor])) }
                        p { a.btn.secondary href=(format!("/book/{}/", partner.slug)) { (ctx.t(Msg::RequestAgain)) } }
                    }
                }
                dl {
                    dt { (ctx.t(Msg::Dropoff)) } dd { (r.dropoff_address) ", " (r.dropoff_quartier) ", " (r.dropoff_city) }
                    dt { (ctx.t(Msg::FieldPackage)) } dd { (r.package_description) }
                    dt { (ctx.t(Msg::BookFeeLabel)) } dd { (r.quoted_fee) }
                }
            }
        }
    };
    let mut resp = respond(StatusCode::OK, branded_page(ctx, ctx.t(Msg::RequestTitle), body, Some(&brand)));
    resp.headers_mut().insert(poem::http::header::CACHE_CONTROL, poem::http::HeaderValue::from_static("no-store"));
    resp.headers_mut().insert("x-robots-tag", poem::http::HeaderValue::from_static("noindex"));
    Ok(resp)
}
