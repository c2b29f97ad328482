//! The admins' side of disputes: the queue, the detail with the thread, and the decisions
//! (take in review, resolve with an optional refund, reject), each with a reason.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use super::{
    self as disputes, Decision, Dispute, DisputeError, PER_PAGE,
    pages::{ListQuery, MessageForm, after, detail_view, filter_form, pager, row},
};
use crate::{
    accounts::{guard, pages::required_text},
    db::now_ms,
    i18n::Msg,
    pricing::parse_fcfa,
    state::AppState,
    web::{
        Ctx, PageResult,
        forms::{FieldErrors, Input, textarea},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/admin/disputes/", get(queue))
        .at("/admin/disputes/:id/", get(show))
        .at("/admin/disputes/:id/messages/", post(post_reply))
        .at("/admin/disputes/:id/review/", post(review))
        .at("/admin/disputes/:id/decide/", post(decide))
}

#[handler]
async fn queue(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<ListQuery>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let status = q.status();
    let (rows, total) = super::list(&state.db, None, status.unwrap_or(None), (q.page() - 1) * PER_PAGE, PER_PAGE).await?;
    let body = html! {
        h1 { (ctx.t(Msg::AdminDisputesTitle)) }
        div.card {
            (filter_form(ctx, "/admin/disputes/", &q, status.is_err()))
            @if rows.is_empty() { p.muted { (ctx.t(Msg::NoResults)) } }
            ul.orders.compact { @for d in &rows { (row(ctx, d, &format!("/admin/disputes/{}/", d.id), true)) } }
            (pager(ctx, "/admin/disputes/", &q, total))
        }
    };
    let code = if status.is_err() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(respond(code, page(ctx, ctx.t(Msg::AdminDisputesTitle), body)))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct DecideForm {
    decision: String,
    reason: String,
    refund: String,
    note: String,
}

fn decision_forms(ctx: &Ctx, d: &Dispute, form: &DecideForm, errors: &FieldErrors) -> Markup {
    html! {
        @if d.status == "OPEN" {
            form.card method="post" action=(format!("/admin/disputes/{}/review/", d.id)) novalidate {
                (csrf_field(ctx))
                h2 { (ctx.t(Msg::DisputeTakeInReview)) }
                p.small.muted { (ctx.t(Msg::DisputeReviewFirst)) }
                (Input::new("note", ctx.t(Msg::DisputeReviewNote), &form.note).hint(ctx.t(Msg::DisputeReviewNoteHint)).render(errors))
                button.btn type="submit" { (ctx.t(Msg::DisputeTakeInReview)) }
            }
        }
        @if d.status == "IN_REVIEW" {
            form.card method="post" action=(format!("/admin/disputes/{}/decide/", d.id)) novalidate {
                (csrf_field(ctx))
                h2 { (ctx.t(Msg::DisputeDecide)) }
                (textarea("reason", ctx.t(Msg::DisputeDecisionReason), &form.reason, super::MAX_DECISION, Some(ctx.t(Msg::DisputeDecisionHint)), errors))
                (Input::new("refund", ctx.t(Msg::DisputeRefund), &form.refund).inputmode("numeric").optional()
                    .hint(&ctx.fmt(Msg::DisputeRefundHint, &[("max", &crate::web::components::format_fcfa(d.amount_claimed.get()))])).render(errors))
                div.row {
                    button.btn type="submit" name="decision" value="resolve" { (ctx.t(Msg::DisputeResolve)) }
                    button.btn.danger type="submit" name="decision" value="reject" { (ctx.t(Msg::DisputeReject)) }
                }
            }
        }
    }
}

async fn load(state: &AppState, id: &str) -> PageResult<Dispute> {
    Ok(super::find(&state.db, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    d: &Dispute,
    reply: &str,
    form: &DecideForm,
    errors: &FieldErrors,
    code: StatusCode,
) -> PageResult<Response> {
    let forms = decision_forms(ctx, d, form, errors);
    let view = detail_view(state, ctx, d, reply, errors, Some(forms)).await?;
    let body = html! {
        p { a href="/admin/disputes/?status=open" { "← " (ctx.t(Msg::AdminDisputesTitle)) } }
        (view)
    };
    Ok(respond(code, page(ctx, &d.number, body)))
}

#[handler]
async fn show(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let d = load(state, &id).await?;
    render(state, ctx, &d, "", &DecideForm::default(), &FieldErrors::default(), StatusCode::OK).await
}

#[handler]
async fn post_reply(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<MessageForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let d = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let body = required_text(ctx, &mut errors, "body", &f.body, super::MAX_MESSAGE);
    if errors.is_empty() {
        let result = super::comment(&state.db, &state.bus, &d.id, super::Author::Admin(&admin.user_id), &body, now_ms(), None).await;
        if let Some(done) = after(ctx, result, &format!("/admin/disputes/{}/", d.id), &mut errors)? {
            return Ok(done);
        }
    }
    let d = load(state, &id).await?;
    render(state, ctx, &d, &f.body, &DecideForm::default(), &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[handler]
async fn review(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let d = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let note = required_text(ctx, &mut errors, "note", &f.note, super::MAX_DECISION);
    if errors.is_empty() {
        let result = super::review(&state.db, &state.bus, &d.id, &admin.user_id, &note, now_ms()).await;
        if let Some(done) = after(ctx, result, &format!("/admin/disputes/{}/", d.id), &mut errors)? {
            return Ok(done);
        }
    }
    let d = load(state, &id).await?;
    render(state, ctx, &d, "", &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[handler]
async fn decide(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> PageResult<Response> {
    let admin = guard::admin(ctx)?;
    let d = load(state, &id).await?;
    let mut errors = FieldErrors::default();
    let resolved = match f.decision.as_str() {
        "resolve" => true,
        "reject" => false,
        _ => return Err(status_error(StatusCode::BAD_REQUEST).into()),
    };
    let reason = required_text(ctx, &mut errors, "reason", &f.reason, super::MAX_DECISION);
    let refund = if f.refund.trim().is_empty() { Some(0) } else { parse_fcfa(&f.refund) };
    match refund {
        None => errors.add("refund", ctx.t(Msg::ErrAmount)),
        Some(r) if r > d.amount_claimed.get() => errors.add("refund", ctx.t(Msg::ErrRefundTooHigh)),
        Some(r) if r > 0 && !resolved => errors.add("refund", ctx.t(Msg::ErrRefundOnReject)),
        _ => {}
    }
    if let (Some(refund), true) = (refund, errors.is_empty()) {
        let decision = Decision { resolved, reason, refund };
        match disputes::decide_in_turn(state, &d.partner_id, &d.id, &admin.user_id, decision).await {
            Ok(_) => return Ok(redirect(&format!("/admin/disputes/{}/", d.id))),
            Err(DisputeError::Db(e)) => return Err(e.into()),
            Err(e @ DisputeError::Unavailable) => return Err(internal(e).into()),
            Err(e) => errors.add("form", ctx.t(e.message())),
        }
    }
    let d = load(state, &id).await?;
    render(state, ctx, &d, "", &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}
