//! The vendor's "À confirmer" inbox: the booking requests waiting (the first to expire
//! first), each with a form to accept it as an order (the customer's details, correctable,
//! and the cash to collect) or to decline it with a reason the customer reads.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use super::{BookingError, BookingRequest, Status};
use crate::{
    accounts::guard,
    geo,
    i18n::Msg,
    orders::{
        self, Draft,
        model::Role,
        pages::{city_select, load_partner, quartier_options, quartier_select, size_label},
        service::Actor,
    },
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::{FieldErrors, Input, textarea},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/bookings/", get(inbox_page))
        .at("/partners/bookings/:id/", get(detail_page))
        .at("/partners/bookings/:id/accept/", post(accept))
        .at("/partners/bookings/:id/decline/", post(decline))
}

/// A request's status badge.
pub fn status_badge(ctx: &Ctx, s: Status) -> Markup {
    badge(ctx.t(s.label()), s.tone())
}

fn row(ctx: &Ctx, r: &BookingRequest) -> Markup {
    let status = r.status();
    html! {
        li.order-row {
            a href=(format!("/partners/bookings/{}/", r.id)) {
                span.tn { (r.recipient_name) }
                (status_badge(ctx, status))
                span.who { (r.dropoff_quartier) ", " (r.dropoff_city) " · " (r.package_description) }
                span.meta {
                    @match status {
                        Status::Pending => { (ctx.fmt(Msg::BookingExpires, &[("date", &format_datetime(r.expires_at, ctx.lang))])) }
                        Status::Accepted => { @if let Some(t) = &r.tracking_number { (ctx.fmt(Msg::BookingBecame, &[("tracking", t)])) } }
                        _ => { (format_datetime(r.decided_at.unwrap_or(r.created_at), ctx.lang)) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InboxQuery {
    declined: String,
}

#[handler]
async fn inbox_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<InboxQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let (waiting, decided) = super::inbox(&state.db, &p.id, 20).await?;
    let body = html! {
        h1 { (ctx.t(Msg::BookingsTitle)) }
        p.muted { (ctx.t(Msg::BookingsIntro)) }
        @if q.declined == "1" { div.flash.ok role="status" { (ctx.t(Msg::BookingDeclined)) } }
        div.card {
            @if waiting.is_empty() {
                p.muted { (ctx.t(Msg::BookingsNone)) }
            } @else {
                ul.orders.compact { @for r in &waiting { (row(ctx, r)) } }
            }
        }
        @if !decided.is_empty() {
            div.card {
                h2 { (ctx.t(Msg::BookingsDecided)) }
                ul.orders.compact { @for r in &decided { (row(ctx, r)) } }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::BookingsTitle), body)))
}

/// The accept form's values: the order's draft (the customer's details, correctable) and the
/// no-JavaScript refresh flag of the quartier list.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AcceptForm {
    #[serde(flatten)]
    draft: Draft,
    refresh: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct DeclineForm {
    reason: String,
    confirmed: String,
}

/// The request as the customer sent it, in the accept form's terms.
fn draft_of(r: &BookingRequest) -> Draft {
    Draft {
        dropoff_city: r.dropoff_city_id.to_string(),
        dropoff_quartier: r.dropoff_quartier_id.to_string(),
        dropoff_address: r.dropoff_address.clone(),
        recipient_name: r.recipient_name.clone(),
        recipient_phone: r.recipient_phone.clone(),
        package_description: r.package_description.clone(),
        size_class: "S".into(),
        ..Draft::default()
    }
}

struct Forms<'a> {
    accept: &'a Draft,
    accept_errors: &'a FieldErrors,
    reason: &'a str,
    decline_errors: &'a FieldErrors,
    banner: Option<&'a str>,
}

async fn detail(state: &AppState, ctx: &Ctx, r: &BookingRequest, f: Forms<'_>) -> PageResult<Markup> {
    let status = r.status();
    let cities = geo::cities(&state.db).await?;
    let options = quartier_options(state, &f.accept.dropoff_city).await?;
    let sizes: Vec<(String, String)> =
        crate::pricing::Size::ALL.iter().map(|s| (s.as_str().to_owned(), size_label(ctx, *s).to_owned())).collect();
    let errors = f.accept_errors;
    Ok(html! {
        p { a href="/partners/bookings/" { "← " (ctx.t(Msg::BookingsTitle)) } }
        div.row.between {
            h1 { (r.recipient_name) }
            (status_badge(ctx, status))
        }
        @if let Some(b) = f.banner { div.flash.err role="alert" { (b) } }
        div.card {
            dl {
                dt { (ctx.t(Msg::FieldPhone)) } dd { a href=(format!("tel:{}", r.recipient_phone)) { (r.recipient_phone) } }
                dt { (ctx.t(Msg::Dropoff)) } dd { (r.dropoff_address) ", " (r.dropoff_quartier) ", " (r.dropoff_city) }
                dt { (ctx.t(Msg::FieldPackage)) } dd { (r.package_description) }
            }
            p.small.muted {
                (ctx.fmt(Msg::BookingAskedFee, &[("fee", &crate::money::format_fcfa(r.quoted_fee.get()))])) " · "
                (format_datetime(r.created_at, ctx.lang))
                @if status == Status::Pending { " · " (ctx.fmt(Msg::BookingExpires, &[("date", &format_datetime(r.expires_at, ctx.lang))])) }
            }
            @if let (Some(id), Some(t)) = (&r.order_id, &r.tracking_number) {
                p { a.btn href=(format!("/partners/orders/{id}/")) { (ctx.fmt(Msg::BookingBecame, &[("tracking", t)])) } }
            }
            @if let Some(reason) = &r.decline_reason { p { strong { (ctx.t(Msg::BookingDeclineReason)) " : " } (reason) } }
        }
        @if status == Status::Pending {
            form #order-form method="post" action=(format!("/partners/bookings/{}/accept/", r.id)) novalidate {
                (csrf_field(ctx))
                div.card {
                    h2 { (ctx.t(Msg::BookingAccept)) }
                    p.small.muted { (ctx.t(Msg::BookingAcceptHint)) }
                    @if !errors.is_empty() { div.flash.err role="alert" { (ctx.t(Msg::ErrFixBelow)) } }
                    (Input::new("cod_amount", ctx.t(Msg::FieldCod), &f.accept.cod_amount).inputmode("numeric").hint(ctx.t(Msg::BookingCodHint)).render(errors))
                    div.grid2 {
                        (Input::new("recipient_name", ctx.t(Msg::FieldRecipientName), &f.accept.recipient_name).autocomplete("off").render(errors))
                        (Input::new("recipient_phone", ctx.t(Msg::FieldPhone), &f.accept.recipient_phone).kind("tel").inputmode("tel").hint(ctx.t(Msg::HintPhone)).render(errors))
                    }
                    div.grid2 {
                        (city_select(ctx, "dropoff_city", "dropoff_quartier", &cities, &f.accept.dropoff_city, errors))
                        (quartier_select(ctx, "dropoff_quartier", &options, &f.accept.dropoff_quartier, errors))
                    }
                    (Input::new("dropoff_address", ctx.t(Msg::FieldPickupAddress), &f.accept.dropoff_address).hint(ctx.t(Msg::HintAddress)).render(errors))
                    @if let Some(e) = errors.get("intercity_ok") {
                        div.field.invalid {
                            label.check { input type="checkbox" name="intercity_ok" value="1"; " " (ctx.t(Msg::IntercityFlag)) " — " (e) }
                        }
                    }
                    div.grid2 {
                        (Input::new("package_description", ctx.t(Msg::FieldPackage), &f.accept.package_description).render(errors))
                        (crate::web::forms::select("size_class", ctx.t(Msg::FieldSize), &sizes, if f.accept.size_class.is_empty() { "S" } else { &f.accept.size_class }, errors, html! {}))
                    }
                    div.row {
                        button.btn type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.t(Msg::BookingAccept)) }
                        button.btn.secondary.nojs-only type="submit" name="refresh" value="1" formnovalidate { (ctx.t(Msg::RefreshQuartiers)) }
                    }
                }
            }
            form.card method="post" action=(format!("/partners/bookings/{}/decline/", r.id)) novalidate
                data-confirm=(ctx.fmt(Msg::ConfirmDeclineBooking, &[("name", &r.recipient_name)])) {
                (csrf_field(ctx))
                (crate::web::confirm::field())
                h2 { (ctx.t(Msg::BookingDecline)) }
                (textarea("reason", ctx.t(Msg::BookingDeclineReason), f.reason, 300, None, f.decline_errors))
                button.btn.danger type="submit" { (ctx.t(Msg::BookingDecline)) }
            }
        }
    })
}

async fn load(state: &AppState, ctx: &Ctx, id: &str) -> PageResult<BookingRequest> {
    let p = guard::partner(ctx)?;
    Ok(super::find_for_partner(&state.db, &p.id, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

fn title(ctx: &Ctx) -> &'static str {
    ctx.t(Msg::BookingsTitle)
}

#[handler]
async fn detail_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let r = load(state, ctx, &id).await?;
    let none = FieldErrors::default();
    let forms = Forms { accept: &draft_of(&r), accept_errors: &none, reason: "", decline_errors: &none, banner: None };
    let body = detail(state, ctx, &r, forms).await?;
    Ok(respond(StatusCode::OK, page(ctx, title(ctx), body)))
}

/// A refusal of a decision, shown on the request's page as it now stands.
async fn refused(state: &AppState, ctx: &Ctx, id: &str, e: &BookingError) -> PageResult<Response> {
    let r = load(state, ctx, id).await?;
    let none = FieldErrors::default();
    let forms = Forms { accept: &draft_of(&r), accept_errors: &none, reason: "", decline_errors: &none, banner: Some(ctx.t(e.message())) };
    let body = detail(state, ctx, &r, forms).await?;
    Ok(respond(StatusCode::CONFLICT, page(ctx, title(ctx), body)))
}

#[handler]
async fn accept(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<AcceptForm>,
) -> PageResult<Response> {
    let r = load(state, ctx, &id).await?;
    let partner = load_partner(state, ctx).await?;
    let none = FieldErrors::default();
    let (r, shown, none) = (&r, &form.draft, &none);
    let again = |errors: FieldErrors, code: StatusCode| async move {
        let forms = Forms { accept: shown, accept_errors: &errors, reason: "", decline_errors: none, banner: None };
        let body = detail(state, ctx, r, forms).await?;
        Ok::<Response, crate::web::PageError>(respond(code, page(ctx, title(ctx), body)))
    };
    if form.refresh == "1" {
        return again(FieldErrors::default(), StatusCode::OK).await;
    }
    // The pickup is the vendor's profile; the cash to collect must be said, even when 0.
    let draft = Draft { pickup_city: String::new(), pickup_quartier: String::new(), pickup_address: String::new(), ..form.draft.clone() };
    let valid = orders::validate(&state.db, ctx.lang, &partner, &draft).await?;
    let valid = match (valid, draft.cod_amount.trim().is_empty()) {
        (Ok(v), false) => v,
        (Ok(_), true) => {
            let mut errors = FieldErrors::default();
            errors.add("cod_amount", ctx.t(Msg::ErrBookingCodRequired));
            return again(errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        (Err(mut errors), empty) => {
            if empty && errors.get("cod_amount").is_none() {
                errors.add("cod_amount", ctx.t(Msg::ErrBookingCodRequired));
            }
            return again(errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    // Between two cities, the vendor confirms the route and its price, as in the order form.
    if valid.quote.intercity && form.draft.intercity_ok != "1" {
        let mut errors = FieldErrors::default();
        errors.add("intercity_ok", ctx.t(Msg::ErrIntercityConfirm));
        return again(errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let user = guard::user(ctx)?;
    let actor = Actor { role: Role::Vendor, user_id: Some(user.user_id.clone()) };
    match super::accept(&state.db, &state.bus, &partner.id, &r.id, &valid, &actor).await {
        Ok(order) => Ok(redirect(&format!("/partners/orders/{}/?created=1", order.id))),
        Err(e @ (BookingError::NotPending(_) | BookingError::NotFound)) => refused(state, ctx, &id, &e).await,
        Err(e) => Err(crate::web::internal(e).into()),
    }
}

#[handler]
async fn decline(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<DeclineForm>,
) -> PageResult<Response> {
    let r = load(state, ctx, &id).await?;
    // A reason that will be refused is said first; a good one is confirmed before it is sent.
    if !crate::web::confirm::given(&form.confirmed) && form.reason.trim().chars().count() >= 3 {
        let back = format!("/partners/bookings/{}/", r.id);
        let ask = crate::web::confirm::Ask {
            question: ctx.fmt(Msg::ConfirmDeclineBooking, &[("name", &r.recipient_name)]),
            consequence: ctx.fmt(Msg::ConfirmDeclineBookingText, &[("reason", form.reason.trim())]),
            yes: ctx.t(Msg::BookingDecline),
            back: &back,
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, &format!("{back}decline/"), &[("reason", &form.reason)]));
    }
    match super::decline(&state.db, &r.partner_id, &r.id, &form.reason).await {
        Ok(()) => Ok(redirect("/partners/bookings/?declined=1")),
        Err(BookingError::ReasonRequired) => {
            let mut errors = FieldErrors::default();
            errors.add("reason", ctx.t(Msg::ErrBookingReason));
            let none = FieldErrors::default();
            let forms = Forms { accept: &draft_of(&r), accept_errors: &none, reason: &form.reason, decline_errors: &errors, banner: None };
            let body = detail(state, ctx, &r, forms).await?;
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, title(ctx), body)))
        }
        Err(e @ (BookingError::NotPending(_) | BookingError::NotFound)) => refused(state, ctx, &id, &e).await,
        Err(e) => Err(crate::web::internal(e).into()),
    }
}
