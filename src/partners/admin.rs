//! Admin partner pages: the list (search, status filter, pagination), a partner's detail with
//! their money (balance, adjustments, invoices and credit notes), approve and suspend.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::{guard, pages::required_text, phone::Phone},
    i18n::Msg,
    partners::repo::{self, Partner, Status},
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::{FieldErrors, Input, clean},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

const PAGE_SIZE: i64 = 25;

pub fn routes(route: Route) -> Route {
    route
        .at("/admin/", get(index))
        .at("/admin/partners/", get(list_partners))
        .at("/admin/partners/:id/", get(show_partner))
        .at("/admin/partners/:id/approve/", post(approve_partner))
        .at("/admin/partners/:id/suspend/", post(suspend_partner))
        .at("/admin/partners/:id/refuse/", post(refuse_partner))
        .at("/admin/partners/:id/adjust/", post(adjust_wallet))
        .at("/admin/invoices/:id/credit-note/", post(issue_credit_note))
}

#[handler]
fn index() -> Response {
    redirect("/admin/partners/")
}

fn status_badge(ctx: &Ctx, s: Status) -> maud::Markup {
    match s {
        Status::Approved => badge(ctx.t(Msg::StatusApproved), "ok"),
        Status::Pending => badge(ctx.t(Msg::StatusPending), "warn"),
        Status::Suspended => badge(ctx.t(Msg::StatusSuspended), "err"),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: String,
    status: String,
    page: String,
}

#[handler]
async fn list_partners(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(query): Query<ListQuery>) -> PageResult<Response> {
    guard::admin(ctx)?;
    // Bad filters fall back to defaults rather than failing: a query string is not a form.
    let q = clean(&query.q, 100).unwrap_or_default();
    let status = Status::parse(&query.status);
    let page_no = query.page.parse::<i64>().ok().filter(|p| (1..=10_000).contains(p)).unwrap_or(1);
    let (partners, total) = repo::search(&state.db, &q, status, PAGE_SIZE, (page_no - 1) * PAGE_SIZE).await?;
    let pending = repo::count_pending(&state.db).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64| {
        serde_urlencoded::to_string([("q", q.as_str()), ("status", status.map_or("", Status::as_str)), ("page", &p.to_string())])
            .map(|qs| format!("/admin/partners/?{qs}"))
            .unwrap_or_default()
    };
    let statuses =
        [("", Msg::FilterAll), ("pending", Msg::StatusPending), ("approved", Msg::StatusApproved), ("suspended", Msg::StatusSuspended)];
    let body = html! {
        h1 { (ctx.t(Msg::AdminPartnersTitle)) }
        @if pending > 0 { div.flash.warn role="status" { (ctx.fmt(Msg::AdminPendingCount, &[("n", &pending.to_string())])) } }
        form.filters method="get" action="/admin/partners/" hx-get="/admin/partners/" hx-target="main" hx-select="main" hx-push-url="true" {
            div {
                label for="q" { (ctx.t(Msg::Search)) }
                input #q type="search" name="q" value=(q) placeholder=(ctx.t(Msg::AdminSearchHint));
            }
            div {
                label for="status" { (ctx.t(Msg::FieldStatus)) }
                select #status name="status" {
                    @for (value, label) in statuses {
                        option value=(value) selected[status.map_or("", Status::as_str) == value] { (ctx.t(label)) }
                    }
                }
            }
            button.btn type="submit" { (ctx.t(Msg::Filter)) }
        }
        p.muted.small { (ctx.fmt(Msg::ResultsCount, &[("n", &total.to_string())])) }
        @if partners.is_empty() {
            div.card { p.muted { (ctx.t(Msg::NoResults)) } }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { (ctx.t(Msg::FieldBusinessName)) } th { (ctx.t(Msg::FieldContactName)) } th { (ctx.t(Msg::FieldStatus)) } th { (ctx.t(Msg::SignedUp)) } } }
                    tbody {
                        @for p in &partners {
                            tr {
                                td { a href=(format!("/admin/partners/{}/", p.id)) { (p.business_name) } br; span.small.muted { (p.slug) } }
                                td { (p.contact_name) br; span.small.muted { (p.email) } }
                                td { (status_badge(ctx, p.status())) }
                                td.small { (format_datetime(p.created_at, ctx.lang)) }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.row aria-label=(ctx.t(Msg::Pagination)) {
                @if page_no > 1 { a.btn.secondary href=(link(page_no - 1)) rel="prev" { (ctx.t(Msg::Previous)) } }
                span.muted { (ctx.fmt(Msg::PageOf, &[("page", &page_no.to_string()), ("pages", &pages.to_string())])) }
                @if page_no < pages { a.btn.secondary href=(link(page_no + 1)) rel="next" { (ctx.t(Msg::Next)) } }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::AdminPartnersTitle), body)))
}

async fn load(state: &AppState, id: &str) -> PageResult<Partner> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(repo::by_id(&state.db, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

#[handler]
async fn show_partner(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    poem::web::Query(q): poem::web::Query<DoneQuery>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let p = load(state, &id).await?;
    let done = match q.done.as_str() {
        "approved" => Some(Msg::AdminDoneApproved),
        "refused" => Some(Msg::AdminDoneRefused),
        "suspended" => Some(Msg::AdminDoneSuspended),
        "adjusted" => Some(Msg::AdminDoneAdjusted),
        "credit" => Some(Msg::AdminDoneCredit),
        _ => None,
    };
    Ok(respond(StatusCode::OK, partner_page(state, ctx, &p, &FieldErrors::default(), done).await?))
}

/// Which admin action just succeeded (its page says so).
#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneQuery {
    done: String,
}

/// The partner's detail with its money: balance, adjustment, invoices and credit notes.
async fn partner_page(state: &AppState, ctx: &Ctx, p: &Partner, errors: &FieldErrors, done: Option<Msg>) -> PageResult<maud::Markup> {
    let balance = crate::wallet::actor::balance(&state.actors, &state.db, &p.id).await?;
    let invoices = crate::invoices::list(&state.db, &p.id).await?;
    let money = html! {
        p { a href=(format!("/admin/partners/{}/audit/", p.id)) { (ctx.t(Msg::NavAudit)) " →" } }
        div.card {
            h2 { (ctx.t(Msg::NavWallet)) }
            p { (ctx.t(Msg::WalletBalance)) " " strong { (balance.balance) } " · " (ctx.t(Msg::WalletHeld)) " " (balance.held) }
            form method="post" action=(format!("/admin/partners/{}/adjust/", p.id)) {
                (csrf_field(ctx))
                div.grid2 {
                    (Input::new("amount", ctx.t(Msg::AdjustAmount), "").hint(ctx.t(Msg::AdjustAmountHint)).render(errors))
                    (Input::new("adjust_reason", ctx.t(Msg::FieldReason), "").render(errors))
                }
                button.btn.secondary type="submit" { (ctx.t(Msg::AdjustSubmit)) }
            }
        }
        @if !invoices.is_empty() {
            div.card {
                h2 { (ctx.t(Msg::NavInvoices)) }
                ul.orders.compact {
                    @for inv in &invoices {
                        li.order-row { div {
                            strong { (inv.number) } " · " (inv.month) " · " (inv.total)
                            @if inv.kind == "INVOICE" {
                                form.row method="post" action=(format!("/admin/invoices/{}/credit-note/", inv.id)) {
                                    (csrf_field(ctx))
                                    input type="text" name="reason" required maxlength="200" placeholder=(ctx.t(Msg::FieldReason)) aria-label=(ctx.t(Msg::FieldReason));
                                    button.btn.secondary type="submit" { (ctx.t(Msg::CreditNoteIssue)) }
                                }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(partner_view(ctx, p, errors, done, money))
}

fn partner_view(ctx: &Ctx, p: &Partner, errors: &FieldErrors, done: Option<Msg>, money: maud::Markup) -> maud::Markup {
    let phone = Phone::parse(&p.phone).map(|ph| ph.to_string()).unwrap_or_else(|| p.phone.clone());
    let body = html! {
        p { a href="/admin/partners/" { "← " (ctx.t(Msg::AdminPartnersTitle)) } }
        h1 { (p.business_name) " " (status_badge(ctx, p.status())) }
        @if let Some(msg) = done { div.flash.ok role="status" { (ctx.t(msg)) } }
        // What to check before approving: where parcels are picked up, the business's papers.
        div.card {
            h2 { (ctx.t(Msg::AdminToVerify)) }
            ul.checklist {
                li.done[p.pickup_address.is_some() && p.pickup_quartier_id.is_some()] {
                    (ctx.t(Msg::AdminVerifyPickup)) " : "
                    @match &p.pickup_address { Some(a) => { strong { (a) } }, None => { span.muted { (ctx.t(Msg::AdminNotGiven)) } } }
                }
                li.done[p.niu.as_deref().is_some_and(|v| !v.trim().is_empty())] {
                    "NIU : " @match p.niu.as_deref().filter(|v| !v.trim().is_empty()) { Some(v) => { strong { (v) } }, None => { span.muted { (ctx.t(Msg::AdminNotGiven)) } } }
                }
                li.done[p.rccm.as_deref().is_some_and(|v| !v.trim().is_empty())] {
                    "RCCM : " @match p.rccm.as_deref().filter(|v| !v.trim().is_empty()) { Some(v) => { strong { (v) } }, None => { span.muted { (ctx.t(Msg::AdminNotGiven)) } } }
                }
                li.done[Phone::parse(&p.phone).is_some()] { (ctx.t(Msg::AdminVerifyPhone)) " : " a href=(format!("tel:{}", p.phone)) { (phone) } }
            }
        }
        div.card {
            dl.facts {
                dt { (ctx.t(Msg::FieldContactName)) } dd { (p.contact_name) }
                dt { (ctx.t(Msg::FieldEmail)) } dd { (p.email) }
                dt { (ctx.t(Msg::FieldPhone)) } dd { (phone) }
                dt { (ctx.t(Msg::FieldSlug)) } dd { code { (p.slug) } }
                dt { (ctx.t(Msg::SignedUp)) } dd { (format_datetime(p.created_at, ctx.lang)) }
                @if let Some(at) = p.approved_at { dt { (ctx.t(Msg::KpiApprovedOn)) } dd { (format_datetime(at, ctx.lang)) } }
                @if let Some(at) = p.suspended_at {
                    dt { (ctx.t(Msg::SuspendedOn)) } dd { (format_datetime(at, ctx.lang)) }
                    dt { (ctx.t(Msg::FieldReason)) } dd { (p.suspension_reason.clone().unwrap_or_default()) }
                }
            }
        }
        div.card {
            @if p.status() != Status::Approved {
                form method="post" action=(format!("/admin/partners/{}/approve/", p.id)) {
                    (csrf_field(ctx))
                    p.muted { (ctx.t(if p.status() == Status::Suspended { Msg::AdminReactivateText } else { Msg::AdminApproveText })) }
                    button.btn type="submit" { (ctx.t(if p.status() == Status::Suspended { Msg::AdminReactivate } else { Msg::AdminApprove })) }
                }
            }
            @if p.status() == Status::Pending {
                form method="post" action=(format!("/admin/partners/{}/refuse/", p.id))
                    data-confirm=(ctx.fmt(Msg::ConfirmRefuse, &[("business", &p.business_name)])) {
                    (csrf_field(ctx))
                    (crate::web::confirm::field())
                    (Input::new("reason", ctx.t(Msg::FieldReason), "").hint(ctx.t(Msg::AdminRefuseText)).render(errors))
                    button.btn.danger type="submit" { (ctx.t(Msg::AdminRefuse)) }
                }
            }
            @if p.status() == Status::Approved {
                form method="post" action=(format!("/admin/partners/{}/suspend/", p.id))
                    data-confirm=(ctx.fmt(Msg::ConfirmSuspend, &[("business", &p.business_name)])) {
                    (csrf_field(ctx))
                    (crate::web::confirm::field())
                    (Input::new("reason", ctx.t(Msg::FieldReason), "").hint(ctx.t(Msg::AdminSuspendText)).render(errors))
                    button.btn.danger type="submit" { (ctx.t(Msg::AdminSuspend)) }
                }
            }
        }
        (money)
    };
    page(ctx, &p.business_name, body)
}

#[handler]
async fn approve_partner(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let p = load(state, &id).await?;
    if let Some(told) = repo::approve(&state.db, &p.id).await? {
        state.bus.announce(told);
    }
    tracing::info!(partner_id = %p.id, admin = admin.user_id, "partner approved");
    Ok(redirect(&format!("/admin/partners/{}/?done=approved", p.id)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SuspendForm {
    reason: String,
    confirmed: String,
}

/// Closing a partner's account with a reason: a suspension, or the refusal of an application.
struct Closing {
    /// The question (with `{business}`), what follows, the button.
    question: Msg,
    consequence: Msg,
    yes: Msg,
    /// The action's path under the partner's page, and the success message's key.
    action: &'static str,
    done: &'static str,
}

/// Close the account with the reason the vendor reads when signing in (their sessions and
/// live streams end at once), asked first, naming the business.
async fn close(state: &AppState, ctx: &Ctx, p: &Partner, form: &SuspendForm, closing: Closing) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let mut errors = FieldErrors::default();
    let reason = required_text(ctx, &mut errors, "reason", &form.reason, 200);
    if !errors.is_empty() {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, partner_page(state, ctx, p, &errors, None).await?));
    }
    let back = format!("/admin/partners/{}/", p.id);
    if !crate::web::confirm::given(&form.confirmed) {
        let ask = crate::web::confirm::Ask {
            question: ctx.fmt(closing.question, &[("business", &p.business_name)]),
            consequence: ctx.t(closing.consequence).to_owned(),
            yes: ctx.t(closing.yes),
            back: &back,
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, &format!("{back}{}/", closing.action), &[("reason", &reason)]));
    }
    if let Some(ended) = repo::suspend(&state.db, &p.id, &reason).await? {
        ended.announce(&state.bus);
    }
    tracing::info!(partner_id = %p.id, admin = admin.user_id, action = closing.action, "partner account closed");
    Ok(redirect(&format!("{back}?done={}", closing.done)))
}

#[handler]
async fn suspend_partner(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<SuspendForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let p = load(state, &id).await?;
    let closing = Closing {
        question: Msg::ConfirmSuspend,
        consequence: Msg::ConfirmSuspendText,
        yes: Msg::AdminSuspend,
        action: "suspend",
        done: "suspended",
    };
    close(state, ctx, &p, &form, closing).await
}

/// Refuse an application (a partner never approved).
#[handler]
async fn refuse_partner(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<SuspendForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let p = load(state, &id).await?;
    if p.status() != Status::Pending {
        return Err(status_error(StatusCode::CONFLICT).into());
    }
    let closing = Closing {
        question: Msg::ConfirmRefuse,
        consequence: Msg::ConfirmRefuseText,
        yes: Msg::AdminRefuse,
        action: "refuse",
        done: "refused",
    };
    close(state, ctx, &p, &form, closing).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdjustForm {
    amount: String,
    adjust_reason: String,
}

#[handler]
async fn adjust_wallet(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<AdjustForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let p = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let raw = form.amount.trim();
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    let amount = match crate::pricing::parse_fcfa(digits) {
        Some(a) if a > 0 && a <= 10_000_000 => Some(if negative { -a } else { a }),
        _ => {
            errors.add("amount", ctx.t(Msg::ErrAmount));
            None
        }
    };
    let reason = required_text(ctx, &mut errors, "adjust_reason", &form.adjust_reason, 200);
    let Some(amount) = amount.filter(|_| errors.is_empty()) else {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, partner_page(state, ctx, &p, &errors, None).await?));
    };
    let cmd = crate::wallet::actor::WalletCommand::Adjust { amount: crate::money::Fcfa(amount), reason };
    crate::wallet::actor::run(&state.actors, &p.id, cmd).await.map_err(|e| internal(anyhow::anyhow!(e)))?;
    Ok(redirect(&format!("/admin/partners/{}/?done=adjusted", p.id)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreditForm {
    reason: String,
}

#[handler]
async fn issue_credit_note(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<CreditForm>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let reason = clean(&form.reason, 200).unwrap_or_default();
    if reason.is_empty() {
        return Err(status_error(StatusCode::UNPROCESSABLE_ENTITY).into());
    }
    let Some(inv) = crate::invoices::find(&state.db, &id).await? else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    crate::invoices::credit_note(&state.db, &id, &reason).await?;
    Ok(redirect(&format!("/admin/partners/{}/?done=credit", inv.partner_id)))
}
