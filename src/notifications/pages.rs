//! The notifications page: the feed (live over the page's stream), unread filter, pagination,
//! mark one or all as read.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    i18n::Msg,
    notifications::{self, stream},
    state::AppState,
    web::{
        Ctx, PageResult,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

const PAGE: i64 = 30;

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/notifications/", get(notifications_page))
        .at("/partners/notifications/stream/", get(stream::stream))
        .at("/partners/notifications/read-all/", post(read_all))
        .at("/partners/notifications/settings/", post(save_settings))
        .at("/partners/notifications/:id/read/", post(read_one))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    unread: String,
    before: String,
    saved: String,
}

/// The switch's label of a kind of event.
fn setting_label(kind: &str) -> Msg {
    match kind {
        "order.created" => Msg::NotifSetCreated,
        "order.assigned" => Msg::NotifSetAssigned,
        "order.picked_up" => Msg::NotifSetPickedUp,
        "order.completed" => Msg::NotifSetCompleted,
        "order.cancelled" => Msg::NotifSetCancelled,
        "order.failed" => Msg::NotifSetFailed,
        "order.returned" => Msg::NotifSetReturned,
        "payment.received" => Msg::NotifSetPayment,
        "booking.requested" => Msg::NotifSetBooking,
        "dispute.updated" => Msg::NotifSetDispute,
        "invoice.issued" => Msg::NotifSetInvoice,
        _ => Msg::NotifSetPayout,
    }
}

/// The switches, as a form sends them: the kinds the vendor wants (`notify`, repeated).
#[handler]
async fn save_settings(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, body: String) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).map_err(|_| status_error(StatusCode::BAD_REQUEST))?;
    let wanted: Vec<&str> = pairs.iter().filter(|(k, _)| k == "notify").map(|(_, v)| v.as_str()).collect();
    let muted: Vec<String> = crate::events::notice::MUTABLE.iter().filter(|k| !wanted.contains(k)).map(|k| (*k).to_owned()).collect();
    notifications::set_muted(&state.db, &p.id, &muted).await?;
    Ok(redirect("/partners/notifications/?saved=settings#notif-settings"))
}

#[handler]
async fn notifications_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<ListQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let unread_only = q.unread == "1";
    let before = q.before.parse::<i64>().ok().filter(|b| *b > 0);
    let mut rows = notifications::latest_per_order(&state.db, &p.id, unread_only, before, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let unread = notifications::unread_count(&state.db, &p.id).await?;
    let muted = notifications::muted(&state.db, &p.id).await?;
    let body = html! {
        div.row.between {
            h1 { (ctx.t(Msg::NavNotifications)) }
            @if unread > 0 {
                form method="post" action="/partners/notifications/read-all/" {
                    (csrf_field(ctx))
                    button.btn.secondary type="submit" { (ctx.t(Msg::MarkAllRead)) }
                }
            }
        }
        nav.row aria-label=(ctx.t(Msg::Filter)) {
            a.btn.secondary[unread_only] .btn[!unread_only] href="/partners/notifications/" { (ctx.t(Msg::FilterAll)) }
            a.btn.secondary[!unread_only] .btn[unread_only] href="/partners/notifications/?unread=1" { (ctx.fmt(Msg::UnreadCount, &[("n", &unread.to_string())])) }
        }
        // New notifications arrive here over the page's stream (htmx SSE extension).
        // One entry per order (its latest news); a newer one takes its place live (app.js).
        ul.orders.notifs #notif-list sse-swap="notification" hx-swap="afterbegin" {
            @for n in &rows {
                (stream::item(ctx.lang, n))
                @if !n.is_read {
                    li.notif-action {
                        form method="post" action=(format!("/partners/notifications/{}/read/", n.id)) {
                            (csrf_field(ctx))
                            button.btn.secondary type="submit" { (ctx.t(Msg::MarkRead)) }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { div.card #notif-empty { p.muted { (ctx.t(Msg::NoNotifications)) } } }
        @if more {
            a.btn.secondary rel="next" href=(format!("/partners/notifications/?{}before={}", if unread_only { "unread=1&" } else { "" }, rows.last().map_or(0, |n| n.id))) { (ctx.t(Msg::Next)) }
        }
        // What the vendor is told of: one switch per kind (the others are always told).
        details.card.more-filters #notif-settings open[q.saved == "settings"] {
            summary { (ctx.t(Msg::NotifSettings)) }
            form.filters method="post" action="/partners/notifications/settings/" {
                (csrf_field(ctx))
                @if q.saved == "settings" { p.flash.ok role="status" { (ctx.t(Msg::NotifSettingsSaved)) } }
                p.small.muted { (ctx.t(Msg::NotifSettingsText)) }
                @for kind in crate::events::notice::MUTABLE {
                    label.check {
                        input type="checkbox" name="notify" value=(kind) checked[!muted.iter().any(|m| m == kind)];
                        " " (ctx.t(setting_label(kind)))
                    }
                }
                button.btn type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::Save)) }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NavNotifications), body)))
}

#[handler]
async fn read_all(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    notifications::mark_read(&state.db, &p.id, None).await?;
    notifications::live::read(&state.actors, &p.id);
    Ok(redirect("/partners/notifications/"))
}

#[handler]
async fn read_one(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let id = id.parse::<i64>().map_err(|_| status_error(StatusCode::NOT_FOUND))?;
    let marked = notifications::mark_read(&state.db, &p.id, Some(id)).await?;
    notifications::live::read(&state.actors, &p.id);
    if marked == 0 {
        // Unknown, another partner's, or already read: nothing to change.
        let exists = notifications::list(&state.db, &p.id, false, Some(id + 1), 1).await?.iter().any(|n| n.id == id);
        if !exists {
            return Err(status_error(StatusCode::NOT_FOUND).into());
        }
    }
    Ok(redirect("/partners/notifications/"))
}
