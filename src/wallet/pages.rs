//! The wallet page (balance, ledger with filters, CSV export, payout requests) and the
//! admin's payout queue.

use chrono::NaiveDate;
use maud::{Markup, html};
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
    pricing::parse_fcfa,
    state::AppState,
    wallet::{self, EntryFilter, WalletError, actor::WalletCommand},
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        forms::{FieldErrors, Input},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

const PAGE: i64 = 30;
const KINDS: [(&str, Msg); 5] = [
    ("COD_COLLECTED", Msg::EntryCod),
    ("DELIVERY_FEE", Msg::EntryFee),
    ("DISPUTE_REFUND", Msg::EntryRefund),
    ("PAYOUT", Msg::EntryPayout),
    ("ADJUSTMENT", Msg::EntryAdjustment),
];

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/wallet/", get(wallet_page))
        .at("/partners/wallet/export/", get(export_ledger))
        .at("/partners/wallet/payouts/", post(request_payout))
        .at("/admin/payouts/", get(payout_queue))
        .at("/admin/payouts/:id/", post(decide_payout))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct LedgerQuery {
    kind: String,
    from: String,
    to: String,
    before: String,
    requested: String,
}

fn filter_of(ctx: &Ctx, q: &LedgerQuery) -> (EntryFilter, FieldErrors) {
    let mut errors = FieldErrors::default();
    let kind = KINDS.iter().find(|(k, _)| *k == q.kind).map(|(k, _)| (*k).to_owned());
    if !q.kind.is_empty() && kind.is_none() {
        errors.add("kind", ctx.t(Msg::ErrChoice));
    }
    let date = |field: &'static str, v: &str, errors: &mut FieldErrors| {
        if v.is_empty() {
            return None;
        }
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(field, ctx.t(Msg::ErrDate));
        }
        d
    };
    let from = date("from", &q.from, &mut errors);
    let to = date("to", &q.to, &mut errors);
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        errors.add("to", ctx.t(Msg::ErrDateOrder));
    }
    let f = EntryFilter {
        kind,
        from_ms: from.map(crate::douala::day_start),
        to_ms: to.and_then(|d| d.succ_opt()).map(|d| crate::douala::day_start(d) - 1),
    };
    (f, errors)
}

fn explain(ctx: &Ctx, e: &wallet::Entry) -> String {
    let t = e.tracking_number.clone().unwrap_or_default();
    match e.kind.as_str() {
        "COD_COLLECTED" => ctx.fmt(Msg::ExplainCod, &[("tracking", &t)]),
        // A new attempt's or a return's trip after a failed delivery, or the delivery itself.
        "DELIVERY_FEE" => match e.reason.as_deref() {
            Some("return") => ctx.fmt(Msg::ExplainReturnFee, &[("tracking", &t)]),
            Some(r) if r.starts_with("reattempt:") => {
                ctx.fmt(Msg::ExplainReattemptFee, &[("tracking", &t), ("n", r.trim_start_matches("reattempt:"))])
            }
            _ => ctx.fmt(Msg::ExplainFee, &[("tracking", &t)]),
        },
        "DISPUTE_REFUND" => ctx.fmt(Msg::ExplainRefund, &[("tracking", &t)]),
        "PAYOUT" => ctx.fmt(Msg::ExplainPayout, &[("reference", e.reason.as_deref().unwrap_or(""))]),
        _ => match e.reason.as_deref() {
            Some(r) if r.starts_with("reattempt-cancelled:") => {
                ctx.fmt(Msg::ExplainReattemptRefund, &[("tracking", &t), ("n", r.trim_start_matches("reattempt-cancelled:"))])
            }
            r => ctx.fmt(Msg::ExplainAdjustment, &[("reason", r.unwrap_or(""))]),
        },
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct PayoutForm {
    amount: String,
    phone: String,
    operator: String,
    request_token: String,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    partner_id: &str,
    q: &LedgerQuery,
    form: &PayoutForm,
    payout_errors: &FieldErrors,
    flash: Option<Msg>,
) -> PageResult<Markup> {
    let (filter, errors) = filter_of(ctx, q);
    let b = wallet::actor::balance(&state.actors, &state.db, partner_id).await?;
    let before = q.before.parse::<i64>().ok();
    let entries = wallet::entries(&state.db, partner_id, &filter, before, PAGE + 1).await?;
    let more = entries.len() as i64 > PAGE;
    let entries = &entries[..entries.len().min(PAGE as usize)];
    let payouts = wallet::payouts(&state.db, partner_id).await?;
    let token = if form.request_token.is_empty() { uuid::Uuid::new_v4().to_string() } else { form.request_token.clone() };
    let qs = |before: Option<i64>| {
        let mut pairs = vec![("kind", q.kind.clone()), ("from", q.from.clone()), ("to", q.to.clone())];
        if let Some(b) = before {
            pairs.push(("before", b.to_string()));
        }
        serde_urlencoded::to_string(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>()).unwrap_or_default()
    };
    let operators = [("MTN", "MTN Mobile Money"), ("ORANGE", "Orange Money")];
    Ok(html! {
        h1 { (ctx.t(Msg::NavWallet)) }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        div.kpis {
            div.kpi { span.l { (ctx.t(Msg::WalletBalance)) } span.v { (b.balance) } }
            div.kpi { span.l { (ctx.t(Msg::WalletAvailable)) } span.v { (b.available()) } }
            @if b.available() < crate::money::Fcfa::ZERO { div.flash.err role="status" { (ctx.fmt(Msg::WalletOwed, &[("amount", &crate::web::components::format_fcfa(-b.available().get()))])) } }
            div.kpi { span.l { (ctx.t(Msg::WalletHeld)) } span.v { (b.held) } }
        }
        p.small.muted { (ctx.t(Msg::WalletRules)) " " a href="/partners/wallet/statement/" { (ctx.t(Msg::StatementTitle)) } }
        @if !crate::accounts::guard::can(ctx, crate::auth::Capability::Payouts) {
            div.card { h2 { (ctx.t(Msg::PayoutRequest)) } p.muted { (ctx.t(Msg::PayoutOwnerOnly)) } }
        } @else {
        form.card method="post" action="/partners/wallet/payouts/" novalidate {
            (csrf_field(ctx))
            input type="hidden" name="request_token" value=(token);
            h2 { (ctx.t(Msg::PayoutRequest)) }
            @if let Some(e) = payout_errors.get("form") { div.flash.err role="alert" { (e) } }
            div.grid2 {
                (Input::new("amount", ctx.t(Msg::PayoutAmount), &form.amount).inputmode("numeric").hint(&ctx.fmt(Msg::PayoutAmountHint, &[("min", &crate::web::components::format_fcfa(wallet::MIN_PAYOUT.get()))])).render(payout_errors))
                (Input::new("phone", ctx.t(Msg::PayoutPhone), &form.phone).kind("tel").inputmode("tel").hint(ctx.t(Msg::PayoutPhoneHint)).render(payout_errors))
            }
            fieldset.field.invalid[payout_errors.get("operator").is_some()] {
                legend { (ctx.t(Msg::PayoutOperator)) }
                @for (v, label) in operators { label.check { input type="radio" name="operator" value=(v) checked[form.operator == v]; " " (label) } }
                @if let Some(e) = payout_errors.get("operator") { div.error role="alert" { (e) } }
            }
            button.btn type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::PayoutSubmit)) }
        }
        }
        @if !payouts.is_empty() {
            div.card {
                h2 { (ctx.t(Msg::Payouts)) }
                ul.orders.compact {
                    @for p in &payouts {
                        li.order-row { div {
                            strong { (p.amount) } " · " (p.operator) " " (Phone::parse(&p.phone).map(|x| x.to_string()).unwrap_or_else(|| p.phone.clone())) " "
                            @match p.status.as_str() { "PAID" => { (badge(ctx.t(Msg::PayoutPaid), "ok")) } "REJECTED" => { (badge(ctx.t(Msg::PayoutRejected), "err")) } _ => { (badge(ctx.t(Msg::PayoutPending), "warn")) } }
                            br; span.small.muted { (format_datetime(p.created_at, ctx.lang))
                                @if let Some(r) = &p.reference { " · " (r) } @if let Some(r) = &p.reject_reason { " · " (r) } }
                        } }
                    }
                }
            }
        }
        div.card {
            div.row.between { h2 { (ctx.t(Msg::Ledger)) } a href=(format!("/partners/wallet/export/?{}", qs(None))) hx-boost="false" download { (ctx.t(Msg::ExportCsv)) } }
            form.filters method="get" action="/partners/wallet/" {
                div { label for="kind" { (ctx.t(Msg::EntryKind)) }
                    select #kind name="kind" { option value="" { (ctx.t(Msg::FilterAll)) } @for (k, m) in KINDS { option value=(k) selected[q.kind == k] { (ctx.t(m)) } } }
                    @if let Some(e) = errors.get("kind") { div.error role="alert" { (e) } } }
                div { label for="from" { (ctx.t(Msg::FieldFrom)) } input #from type="date" name="from" value=(q.from); @if let Some(e) = errors.get("from") { div.error role="alert" { (e) } } }
                div { label for="to" { (ctx.t(Msg::FieldTo)) } input #to type="date" name="to" value=(q.to); @if let Some(e) = errors.get("to") { div.error role="alert" { (e) } } }
                button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
            }
            @if entries.is_empty() { p.muted { (ctx.t(Msg::NoResults)) } }
            ul.orders.compact.ledger {
                @for e in entries {
                    li.order-row { div {
                        strong.amount.credit[e.amount > crate::money::Fcfa::ZERO] { @if e.amount > crate::money::Fcfa::ZERO { "+" } (e.amount) }
                        " " span.small.muted { (format_datetime(e.created_at, ctx.lang)) " · " (ctx.t(Msg::BalanceAfter)) " " (e.balance_after) }
                        br;
                        @match &e.order_id { Some(id) => { a href=(format!("/partners/orders/{id}/")) { (explain(ctx, e)) } } None => { (explain(ctx, e)) } }
                    } }
                }
            }
            @if more { a.btn.secondary href=(format!("/partners/wallet/?{}", qs(entries.last().map(|e| e.id)))) rel="next" { (ctx.t(Msg::Next)) } }
        }
    })
}

#[handler]
async fn wallet_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<LedgerQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let flash = (q.requested == "1").then_some(Msg::PayoutRequested);
    let (_, errors) = filter_of(ctx, &q);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = view(state, ctx, &p.id, &q, &PayoutForm::default(), &FieldErrors::default(), flash).await?;
    Ok(respond(status, page(ctx, ctx.t(Msg::NavWallet), body)))
}

#[handler]
async fn request_payout(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<PayoutForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let mut errors = FieldErrors::default();
    let ask = wallet::validate_payout(ctx.lang, parse_fcfa(&form.amount), &form.phone, Some(&form.operator), &mut errors);
    if uuid::Uuid::parse_str(&form.request_token).is_err() {
        errors.add("form", ctx.t(Msg::ErrForbiddenText));
    }
    if let (Some(ask), true) = (ask, errors.is_empty()) {
        let cmd = WalletCommand::RequestPayout {
            amount: ask.amount,
            phone: ask.phone,
            operator: ask.operator,
            request_token: form.request_token.clone(),
            idem: None,
        };
        match crate::wallet::actor::run(&state.actors, &p.id, cmd).await {
            Ok(_) => return Ok(redirect("/partners/wallet/?requested=1")),
            Err(WalletError::InsufficientFunds) => errors.add("amount", ctx.t(Msg::ErrPayoutFunds)),
            Err(WalletError::BelowMinimum) => errors.add("amount", ctx.t(Msg::ErrAmount)),
            Err(e) => return Err(e.into()),
        }
    }
    let body = view(state, ctx, &p.id, &LedgerQuery::default(), &form, &errors, None).await?;
    Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::NavWallet), body)))
}

#[handler]
async fn export_ledger(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<LedgerQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let (filter, errors) = filter_of(ctx, &q);
    if !errors.is_empty() {
        return Err(status_error(StatusCode::BAD_REQUEST).into());
    }
    let entries = wallet::entries(&state.db, &p.id, &filter, None, 100_000).await?;
    let sep = ctx.lang.csv_delimiter();
    let mut w = csv::WriterBuilder::new().delimiter(sep).terminator(csv::Terminator::CRLF).from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        ctx.t(Msg::CsvCreated),
        ctx.t(Msg::EntryKind),
        ctx.t(Msg::CsvAmount),
        ctx.t(Msg::BalanceAfter),
        ctx.t(Msg::CsvTracking),
        ctx.t(Msg::CsvDetail),
    ]);
    for e in &entries {
        let kind = KINDS.iter().find(|(k, _)| *k == e.kind).map(|(_, m)| ctx.t(*m)).unwrap_or("");
        let _ = w.write_record([
            format_datetime(e.created_at, ctx.lang),
            kind.to_owned(),
            e.amount.get().to_string(),
            e.balance_after.get().to_string(),
            e.tracking_number.clone().unwrap_or_default(),
            explain(ctx, e),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    Ok(crate::web::csv_attachment("wallet.csv").body(bytes))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueueQuery {
    /// A payout whose payment was refused because the balance no longer covers it.
    uncovered: String,
    /// The decision just made (`paid`, `rejected`).
    done: String,
}

#[handler]
async fn payout_queue(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<QueueQuery>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let pending = wallet::pending_payouts(&state.db).await?;
    let decided = wallet::decided_payouts(&state.db, 30).await?;
    let body = html! {
        h1 { (ctx.t(Msg::AdminPayoutsTitle)) }
        @match q.done.as_str() {
            "paid" => { div.flash.ok role="status" { (ctx.t(Msg::AdminDonePaid)) } },
            "rejected" => { div.flash.ok role="status" { (ctx.t(Msg::AdminDoneRejected)) } },
            _ => {},
        }
        @if !q.uncovered.is_empty() { div.flash.err role="alert" { (ctx.t(Msg::ErrPayoutNotCovered)) } }
        @if pending.is_empty() { div.card { p.muted { (ctx.t(Msg::NoResults)) } } }
        @for (p, business) in &pending {
            div.card {
                p { strong { (p.amount) } " · " (business) " · " (p.operator) " " (Phone::parse(&p.phone).map(|x| x.to_string()).unwrap_or_else(|| p.phone.clone())) }
                @if q.uncovered == p.id { div.flash.err role="alert" { (ctx.t(Msg::ErrPayoutNotCovered)) } }
                p.small.muted { (format_datetime(p.created_at, ctx.lang)) }
                form method="post" action=(format!("/admin/payouts/{}/", p.id)) {
                    (csrf_field(ctx))
                    (crate::web::confirm::field())
                    (Input::new("note", ctx.t(Msg::PayoutNote), "").hint(ctx.t(Msg::PayoutNoteHint)).render(&FieldErrors::default()))
                    div.row {
                        button.btn type="submit" name="decision" value="paid"
                            data-confirm=(ctx.fmt(Msg::ConfirmPayoutPaid, &[("amount", &crate::money::format_fcfa(p.amount.get())), ("business", business)])) { (ctx.t(Msg::PayoutMarkPaid)) }
                        button.btn.danger type="submit" name="decision" value="rejected" { (ctx.t(Msg::PayoutReject)) }
                    }
                }
            }
        }
    };
    let history = html! {
        @if !decided.is_empty() {
            h2 { (ctx.t(Msg::AdminPayoutHistory)) }
            ul.orders.compact.card {
                @for (p, business) in &decided {
                    li.order-row {
                        div {
                            strong { (p.amount) } " · " (business) " · " (p.operator) " "
                            @if p.status == "PAID" { span.badge.ok { (ctx.t(Msg::PayoutPaid)) } } @else { span.badge.err { (ctx.t(Msg::PayoutRejected)) } }
                            br;
                            span.small.muted {
                                (p.decided_at.map(|t| format_datetime(t, ctx.lang)).unwrap_or_default())
                                @if let Some(r) = p.reference.as_deref().or(p.reject_reason.as_deref()) { " · " (r) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::AdminPayoutsTitle), html! { (body) (history) })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    note: String,
    decision: String,
    confirmed: String,
}

#[handler]
async fn decide_payout(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let mut errors = FieldErrors::default();
    let note = required_text(ctx, &mut errors, "note", &f.note, 120);
    let paid = match f.decision.as_str() {
        "paid" => true,
        "rejected" => false,
        _ => return Err(status_error(StatusCode::BAD_REQUEST).into()),
    };
    if !errors.is_empty() {
        return Err(status_error(StatusCode::UNPROCESSABLE_ENTITY).into());
    }
    let partner: Option<String> = crate::on_db!(&state.db, pool => sqlx::query_scalar("SELECT partner_id FROM payouts WHERE id = $1").bind(&id).fetch_optional(pool).await)?;
    let Some(partner) = partner else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    // Money leaves for good: "paid" is confirmed, naming the amount and the vendor.
    if paid && !crate::web::confirm::given(&f.confirmed) {
        let pending = wallet::pending_payouts(&state.db).await?;
        let Some((p, business)) = pending.iter().find(|(p, _)| p.id == id) else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
        let phone = Phone::parse(&p.phone).map(|x| x.to_string()).unwrap_or_else(|| p.phone.clone());
        let ask = crate::web::confirm::Ask {
            question: ctx.fmt(Msg::ConfirmPayoutPaid, &[("amount", &crate::money::format_fcfa(p.amount.get())), ("business", business)]),
            consequence: ctx.fmt(Msg::ConfirmPayoutPaidText, &[("operator", &p.operator), ("phone", &phone), ("reference", &note)]),
            yes: ctx.t(Msg::PayoutMarkPaid),
            back: "/admin/payouts/",
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, &format!("/admin/payouts/{id}/"), &[("note", &note), ("decision", "paid")]));
    }
    let cmd = WalletCommand::DecidePayout { payout_id: id.clone(), paid, note, admin_id: admin.user_id.clone() };
    match crate::wallet::actor::run(&state.actors, &partner, cmd).await {
        Ok(_) => Ok(redirect(if paid { "/admin/payouts/?done=paid" } else { "/admin/payouts/?done=rejected" })),
        Err(WalletError::NotPending) => Err(status_error(StatusCode::NOT_FOUND).into()),
        Err(WalletError::NotCovered) => Ok(redirect(&format!("/admin/payouts/?uncovered={id}"))),
        Err(e) => Err(e.into()),
    }
}
