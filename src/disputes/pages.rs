//! The vendor's dispute pages: list, open one on an order (with photos), and the detail with
//! its thread. The photos are served to the vendor who owns them and to admins.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    post,
    web::{Data, Form, Multipart, Path, Query},
};
use serde::Deserialize;

use super::{Dispute, DisputeError, Eligibility, MAX_PHOTO_BYTES, MAX_PHOTOS, PER_PAGE};
use crate::{
    accounts::{guard, pages::required_text},
    auth::Role,
    db::now_ms,
    i18n::Msg,
    media::{self, ImageError},
    orders::repo as orders,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{Fcfa, badge, format_datetime},
        forms::{FieldErrors, Input, textarea},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/disputes/", get(list_page))
        .at("/partners/disputes/new/:order_id/", get(new_page).post(create))
        .at("/partners/disputes/:id/", get(detail_page))
        .at("/partners/disputes/:id/messages/", post(add_message))
        .at("/partners/disputes/:id/photos/:photo_id/", get(photo))
}

/// A status badge for a dispute.
pub fn status_badge(ctx: &Ctx, status: &str) -> Markup {
    let (label, tone) = super::status_label(status);
    badge(ctx.t(label), tone)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    pub status: String,
    pub page: String,
}

/// A status filter that is not one of the choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownStatus;

impl ListQuery {
    /// The status filter (`open` = waiting for a decision).
    pub fn status(&self) -> Result<Option<&str>, UnknownStatus> {
        match self.status.as_str() {
            "" => Ok(None),
            "open" => Ok(Some("open")),
            s => super::status_code(s).map(Some).ok_or(UnknownStatus),
        }
    }

    pub fn page(&self) -> i64 {
        self.page.parse::<i64>().ok().filter(|p| (1..=10_000).contains(p)).unwrap_or(1)
    }
}

/// The status filter and the pager shared by the vendor's and the admin's lists.
pub fn filter_form(ctx: &Ctx, action: &str, q: &ListQuery, invalid: bool) -> Markup {
    html! {
        form.filters method="get" action=(action) hx-get=(action) hx-target="#main" hx-select="#main" hx-push-url="true" hx-trigger="change" {
            div {
                label for="status" { (ctx.t(Msg::ColStatus)) }
                select #status name="status" aria-invalid=[invalid.then_some("true")] {
                    option value="" { (ctx.t(Msg::FilterAll)) }
                    option value="open" selected[q.status == "open"] { (ctx.t(Msg::DisputeFilterOpen)) }
                    @for (code, label, _) in super::STATUSES { option value=(code) selected[q.status == code] { (ctx.t(label)) } }
                }
                @if invalid { div.error role="alert" { (ctx.t(Msg::ErrChoice)) } }
            }
            button.btn.secondary.nojs-only type="submit" { (ctx.t(Msg::Filter)) }
        }
    }
}

pub fn pager(ctx: &Ctx, action: &str, q: &ListQuery, total: i64) -> Markup {
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let current = q.page().min(pages);
    let href = |p: i64| {
        let pairs: Vec<(&str, String)> =
            [("status", q.status.clone()), ("page", p.to_string())].into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!("{action}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    };
    html! {
        @if pages > 1 {
            nav.pager aria-label=(ctx.t(Msg::Pagination)) {
                @if current > 1 { a.btn.secondary href=(href(current - 1)) rel="prev" { (ctx.t(Msg::Previous)) } }
                span.muted { (ctx.fmt(Msg::PageOf, &[("page", &current.to_string()), ("pages", &pages.to_string())])) }
                @if current < pages { a.btn.secondary href=(href(current + 1)) rel="next" { (ctx.t(Msg::Next)) } }
            }
        }
    }
}

/// One dispute in a list.
pub fn row(ctx: &Ctx, d: &Dispute, href: &str, show_partner: bool) -> Markup {
    html! {
        li.order-row {
            a href=(href) {
                span.tn { (d.number) }
                (status_badge(ctx, &d.status))
                span.who {
                    (d.tracking_number) " · " (ctx.t(super::reason_label(&d.reason))) " · " (ctx.t(Msg::DisputeClaimed)) " " (d.amount_claimed)
                    @if let Some(r) = d.refund_amount.filter(|r| *r > Fcfa::ZERO) { " · " (ctx.t(Msg::DisputeRefund)) " " (r) }
                }
                span.meta { @if show_partner { (d.business_name) " · " } (format_datetime(d.created_at, ctx.lang)) }
            }
        }
    }
}

#[handler]
async fn list_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<ListQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let status = q.status();
    let (rows, total) = super::list(&state.db, Some(&p.id), status.unwrap_or(None), (q.page() - 1) * PER_PAGE, PER_PAGE).await?;
    let body = html! {
        h1 { (ctx.t(Msg::NavDisputes)) }
        p.muted { (ctx.t(Msg::DisputesIntro)) }
        div.card {
            (filter_form(ctx, "/partners/disputes/", &q, status.is_err()))
            @if rows.is_empty() {
                p.muted { (ctx.t(Msg::NoDisputes)) " " a href="/partners/orders/?status=COMPLETED" { (ctx.t(Msg::DisputesFromOrders)) } }
            }
            ul.orders.compact { @for d in &rows { (row(ctx, d, &format!("/partners/disputes/{}/", d.id), false)) } }
            (pager(ctx, "/partners/disputes/", &q, total))
        }
    };
    let code = if status.is_err() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(respond(code, page(ctx, ctx.t(Msg::NavDisputes), body)))
}

#[derive(Default, Clone)]
struct DisputeForm {
    reason: String,
    description: String,
    amount_claimed: String,
}

fn new_form(ctx: &Ctx, order: &orders::Order, until: i64, form: &DisputeForm, errors: &FieldErrors) -> Markup {
    html! {
        p { a href=(format!("/partners/orders/{}/", order.id)) { "← " (order.tracking_number) } }
        h1 { (ctx.t(Msg::DisputeNew)) }
        p.muted { (ctx.fmt(Msg::DisputeDeadline, &[("tracking", &order.tracking_number), ("date", &format_datetime(until, ctx.lang))])) }
        @if let Some(e) = errors.get("form") { div.flash.err role="alert" { (e) } }
        form.card method="post" action=(format!("/partners/disputes/new/{}/?csrf={}", order.id, ctx.csrf_token)) enctype="multipart/form-data" hx-boost="false" novalidate {
            fieldset.field.invalid[errors.get("reason").is_some()] aria-describedby=[errors.get("reason").map(|_| "f-reason-err")] {
                legend { (ctx.t(Msg::DisputeReason)) }
                @for (code, label) in super::REASONS {
                    label.check { input type="radio" name="reason" value=(code) checked[form.reason == code] required; " " (ctx.t(label)) }
                }
                @if let Some(e) = errors.get("reason") { div.error #f-reason-err role="alert" { (e) } }
            }
            (textarea("description", ctx.t(Msg::DisputeDescription), &form.description, super::MAX_DESCRIPTION, Some(ctx.t(Msg::DisputeDescriptionHint)), errors))
            (Input::new("amount_claimed", ctx.t(Msg::DisputeAmount), &form.amount_claimed).inputmode("numeric").hint(ctx.t(Msg::DisputeAmountHint)).render(errors))
            div.field.invalid[errors.get("photos").is_some()] {
                label for="f-photos" { (ctx.t(Msg::DisputePhotos)) }
                input #f-photos type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple
                    aria-describedby=(if errors.get("photos").is_some() { "f-photos-hint f-photos-err" } else { "f-photos-hint" })
                    aria-invalid=[errors.get("photos").map(|_| "true")];
                div.hint #f-photos-hint { (ctx.fmt(Msg::DisputePhotosHint, &[("n", &MAX_PHOTOS.to_string()), ("mb", &(MAX_PHOTO_BYTES >> 20).to_string())])) }
                @if let Some(e) = errors.get("photos") { div.error #f-photos-err role="alert" { (e) } }
            }
            button.btn type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::DisputeSubmit)) }
        }
    }
}

/// The order, if the vendor may open a dispute on it now; otherwise the page that says why.
async fn eligible_order(
    state: &AppState,
    ctx: &Ctx,
    partner_id: &str,
    order_id: &str,
) -> PageResult<Result<(orders::Order, i64), Response>> {
    let order = orders::find_for_partner(&state.db, partner_id, order_id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let why = match super::eligibility(&state.db, &order, now_ms()).await? {
        Eligibility::Until(until) => return Ok(Ok((order, until))),
        Eligibility::AlreadyOpen(id) => return Ok(Err(redirect(&format!("/partners/disputes/{id}/?already=1")))),
        Eligibility::NotFinished => Msg::ErrDisputeNotFinished,
        Eligibility::TooLate => Msg::ErrDisputeTooLate,
    };
    let body = html! {
        p { a href=(format!("/partners/orders/{}/", order.id)) { "← " (order.tracking_number) } }
        h1 { (ctx.t(Msg::DisputeNew)) }
        div.flash.err role="alert" { (ctx.t(why)) }
    };
    Ok(Err(respond(StatusCode::CONFLICT, page(ctx, ctx.t(Msg::DisputeNew), body))))
}

#[handler]
async fn new_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(order_id): Path<String>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let (order, until) = match eligible_order(state, ctx, &p.id, &order_id).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let body = new_form(ctx, &order, until, &DisputeForm::default(), &FieldErrors::default());
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::DisputeNew), body)))
}

#[handler]
async fn create(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(order_id): Path<String>,
    mut multipart: Multipart,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let (order, until) = match eligible_order(state, ctx, &p.id, &order_id).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let mut form = DisputeForm::default();
    let mut errors = FieldErrors::default();
    let mut uploads: Vec<Vec<u8>> = Vec::new();
    let mut photo_error: Option<ImageError> = None;
    let mut too_many = false;
    while let Some(field) = media::next_field(&mut multipart).await? {
        match field.name() {
            Some("photos") => {
                let named = field.file_name().is_some_and(|n| !n.is_empty());
                match media::read_field(field, MAX_PHOTO_BYTES).await {
                    Ok(bytes) if bytes.is_empty() && !named => {}
                    Ok(_) if uploads.len() >= MAX_PHOTOS => {
                        // No need to read further: the upload is refused.
                        too_many = true;
                        break;
                    }
                    Ok(bytes) => uploads.push(bytes),
                    Err(e) => {
                        photo_error.get_or_insert(e);
                    }
                }
            }
            Some(name @ ("reason" | "description" | "amount_claimed")) => {
                let name = name.to_owned();
                let text = media::read_text(field, 4 * super::MAX_DESCRIPTION).await?;
                match name.as_str() {
                    "reason" => form.reason = text,
                    "description" => form.description = text,
                    _ => form.amount_claimed = text,
                }
            }
            _ => {}
        }
    }
    let valid = super::validate(ctx.lang, &form.reason, &form.description, &form.amount_claimed, &mut errors);
    if too_many {
        errors.add("photos", ctx.fmt(Msg::ErrTooManyPhotos, &[("n", &MAX_PHOTOS.to_string())]));
    }
    if let Some(e) = photo_error {
        errors.add("photos", e.message(ctx.lang, MAX_PHOTO_BYTES >> 20));
    }
    // Decoding is CPU work: off the async threads.
    let photos = if errors.is_empty() {
        let decoded =
            media::off_thread(move || uploads.iter().map(|b| media::evidence(b, MAX_PHOTO_BYTES)).collect::<Result<Vec<_>, _>>()).await?;
        match decoded {
            Ok(photos) => photos,
            Err(e) => {
                errors.add("photos", e.message(ctx.lang, MAX_PHOTO_BYTES >> 20));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    if let (Some(new), true) = (valid, errors.is_empty()) {
        let user = ctx.user.as_ref().map(|u| u.user_id.as_str());
        match super::open(&state.db, &state.bus, &order, user, &new, &photos, now_ms(), None).await {
            Ok(d) => return Ok(redirect(&format!("/partners/disputes/{}/?opened=1", d.id))),
            Err(DisputeError::Db(e)) => return Err(internal(anyhow::anyhow!(e)).into()),
            Err(e) => errors.add("form", ctx.t(e.message())),
        }
    }
    if !errors.is_empty() && errors.get("photos").is_none() && !errors.fields().any(|f| f == "form") {
        // The browser does not send files back: say so next to the field.
        errors.add("photos", ctx.t(Msg::DisputePhotosAgain));
    }
    let body = new_form(ctx, &order, until, &form, &errors);
    Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::DisputeNew), body)))
}

/// The detail of a dispute: facts, photos, the thread, and (when open) the reply form.
/// `admin_forms` is the admin's decision panel, when an admin looks.
pub async fn detail_view(
    state: &AppState,
    ctx: &Ctx,
    d: &Dispute,
    reply: &str,
    errors: &FieldErrors,
    admin_forms: Option<Markup>,
) -> PageResult<Markup> {
    let messages = super::messages(&state.db, &d.id).await?;
    let photos = super::photos(&state.db, &d.id).await?;
    let is_admin = admin_forms.is_some();
    let reply_action =
        if is_admin { format!("/admin/disputes/{}/messages/", d.id) } else { format!("/partners/disputes/{}/messages/", d.id) };
    let vendor_label = if is_admin {
        ctx.fmt(Msg::DisputeAuthorVendorNamed, &[("name", &d.business_name)])
    } else {
        ctx.t(Msg::DisputeAuthorVendor).to_owned()
    };
    let order_href = if is_admin { format!("/admin/orders/{}/", d.order_id) } else { format!("/partners/orders/{}/", d.order_id) };
    Ok(html! {
        @if let Some(e) = errors.get("form") { div.flash.err role="alert" { (e) } }
        div.row.between {
            h1 { (ctx.t(Msg::Dispute)) " " (d.number) }
            (status_badge(ctx, &d.status))
        }
        div.card {
            dl.facts {
                dt { (ctx.t(Msg::Order)) } dd { a href=(order_href) { (d.tracking_number) } }
                @if is_admin { dt { (ctx.t(Msg::Partner)) } dd { (d.business_name) } }
                dt { (ctx.t(Msg::DisputeReason)) } dd { (ctx.t(super::reason_label(&d.reason))) }
                dt { (ctx.t(Msg::DisputeClaimed)) } dd { (d.amount_claimed) }
                dt { (ctx.t(Msg::DisputeOpenedAt)) } dd { (format_datetime(d.created_at, ctx.lang)) }
                @if let Some(at) = d.decided_at {
                    dt { (ctx.t(Msg::DisputeDecidedAt)) } dd { (format_datetime(at, ctx.lang)) }
                    dt { (ctx.t(Msg::DisputeDecision)) } dd { (d.decision_reason.as_deref().unwrap_or("")) }
                }
                @if let Some(r) = d.refund_amount.filter(|r| *r > Fcfa::ZERO) {
                    dt { (ctx.t(Msg::DisputeRefunded)) } dd { strong { (r) } @if !is_admin { " · " a href="/partners/wallet/?kind=DISPUTE_REFUND" { (ctx.t(Msg::DisputeRefundInWallet)) } } }
                }
            }
            @if !photos.is_empty() {
                h2 { (ctx.t(Msg::DisputePhotos)) }
                ul.photos {
                    @for ph in &photos {
                        @let src = format!("/partners/disputes/{}/photos/{}/", d.id, ph.id);
                        li { a href=(src) hx-boost="false" { img src=(src) alt=(ctx.t(Msg::DisputePhotoAlt)) width=(ph.width) height=(ph.height) loading="lazy"; } }
                    }
                }
            }
        }
        div.card {
            h2 { (ctx.t(Msg::DisputeThread)) }
            ol.thread {
                li.msg.vendor {
                    div.who { strong { (vendor_label) } " · " span.muted { (format_datetime(d.created_at, ctx.lang)) } }
                    p { (d.description) }
                }
                @for m in &messages {
                    li.msg.admin[m.author_role == "ADMIN"].vendor[m.author_role == "VENDOR"].status[m.status.is_some()] {
                        div.who {
                            strong { @if m.author_role == "ADMIN" { (ctx.t(Msg::DisputeAuthorAdmin)) } @else { (vendor_label) } }
                            @if is_admin { @if let Some(n) = &m.author_name { " (" (n) ")" } }
                            " · " span.muted { (format_datetime(m.created_at, ctx.lang)) }
                        }
                        @if let Some(s) = &m.status { p { (ctx.t(Msg::DisputeStatusChanged)) " " (status_badge(ctx, s)) } }
                        p { (m.body) }
                    }
                }
            }
            @if d.is_open() {
                form method="post" action=(reply_action) novalidate {
                    (csrf_field(ctx))
                    (textarea("body", ctx.t(Msg::DisputeReply), reply, super::MAX_MESSAGE, None, errors))
                    button.btn type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::DisputeSend)) }
                }
            } @else {
                p.muted { (ctx.t(Msg::DisputeClosedNote)) }
            }
        }
        @if let Some(forms) = admin_forms { (forms) }
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DetailQuery {
    opened: String,
    already: String,
    sent: String,
}

async fn own_dispute(state: &AppState, partner_id: &str, id: &str) -> PageResult<Dispute> {
    Ok(super::find_for_partner(&state.db, partner_id, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

#[handler]
async fn detail_page(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let d = own_dispute(state, &p.id, &id).await?;
    let flash = if q.opened == "1" {
        Some(Msg::DisputeOpenedFlash)
    } else if q.sent == "1" {
        Some(Msg::DisputeSentFlash)
    } else {
        None
    };
    let view = detail_view(state, ctx, &d, "", &FieldErrors::default(), None).await?;
    let body = html! {
        p { a href="/partners/disputes/" { "← " (ctx.t(Msg::NavDisputes)) } }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        @if q.already == "1" { div.flash.warn role="alert" { (ctx.t(Msg::ErrDisputeAlreadyOpen)) } }
        (view)
    };
    Ok(respond(StatusCode::OK, page(ctx, &d.number, body)))
}

/// After an action on a dispute: `Some(redirect)` when it worked; otherwise its refusal is
/// added to the page's errors (`None`), and a database failure is a 500.
pub(super) fn after<T>(ctx: &Ctx, result: Result<T, DisputeError>, to: &str, errors: &mut FieldErrors) -> PageResult<Option<Response>> {
    match result {
        Ok(_) => Ok(Some(redirect(to))),
        Err(DisputeError::Db(e)) => Err(internal(anyhow::anyhow!(e)).into()),
        Err(e) => {
            errors.add("form", ctx.t(e.message()));
            Ok(None)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MessageForm {
    pub body: String,
}

#[handler]
async fn add_message(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<MessageForm>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let d = own_dispute(state, &p.id, &id).await?;
    let mut errors = FieldErrors::default();
    let body = required_text(ctx, &mut errors, "body", &f.body, super::MAX_MESSAGE);
    if errors.is_empty() {
        let user = ctx.user.as_ref().map(|u| u.user_id.as_str());
        let result = super::comment(&state.db, &state.bus, &d.id, super::Author::Vendor(user), &body, now_ms(), None).await;
        if let Some(done) = after(ctx, result, &format!("/partners/disputes/{}/?sent=1", d.id), &mut errors)? {
            return Ok(done);
        }
    }
    let d = own_dispute(state, &p.id, &id).await?;
    let view = detail_view(state, ctx, &d, &f.body, &errors, None).await?;
    Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, &d.number, view)))
}

/// An evidence photo: to the vendor who filed it and to admins.
#[handler]
async fn photo(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path((id, photo_id)): Path<(String, String)>) -> PageResult<Response> {
    let user = guard::user(ctx)?;
    let d = super::find(&state.db, &id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let allowed = user.role == Role::Admin
        || user.partner.as_ref().is_some_and(|p| p.id == d.partner_id && p.approved && p.role.can(crate::auth::Capability::Disputes));
    if !allowed {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let (content_type, bytes) = super::photo(&state.db, &d.id, &photo_id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        // Photos never change once stored; they stay private to this browser.
        .header(header::CACHE_CONTROL, "private, max-age=31536000, immutable")
        .header("x-content-type-options", "nosniff")
        .body(bytes))
}

/// The order page's panel: the order's disputes, and the way to open one while that is
/// possible (see `orders::pages::OrderPanels`).
pub fn order_panel<'a>(
    state: &'a AppState,
    ctx: &'a Ctx,
    o: &'a crate::orders::repo::Order,
) -> crate::web::BoxFuture<'a, PageResult<Markup>> {
    Box::pin(order_card(state, ctx, o))
}

async fn order_card(state: &AppState, ctx: &Ctx, o: &crate::orders::repo::Order) -> PageResult<Markup> {
    use crate::disputes::{self, Eligibility};
    let past = disputes::of_order(&state.db, &o.id).await?;
    let eligibility = disputes::eligibility(&state.db, o, crate::db::now_ms()).await?;
    if past.is_empty() && !matches!(eligibility, Eligibility::Until(_)) {
        return Ok(html! {});
    }
    Ok(html! {
        div.card #disputes {
            h2 { (ctx.t(Msg::NavDisputes)) }
            @if !past.is_empty() {
                ul.plain {
                    @for (id, number, status) in &past {
                        li { a href=(format!("/partners/disputes/{id}/")) { (number) } " " (status_badge(ctx, status)) }
                    }
                }
            }
            @if let Eligibility::Until(until) = eligibility {
                p.small.muted { (ctx.fmt(Msg::DisputeDeadline, &[("tracking", &o.tracking_number), ("date", &format_datetime(until, ctx.lang))])) }
                // A full navigation: the refusal page (window just closed) must show even with htmx.
                a.btn.secondary href=(format!("/partners/disputes/new/{}/", o.id)) hx-boost="false" { (ctx.t(Msg::DisputeOpenAction)) }
            }
        }
    })
}
