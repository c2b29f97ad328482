//! Where messages show: under the vendor's order page (what the recipient was sent, with a
//! "Partager sur WhatsApp" link and copy buttons for the tracking link and the PIN), and the
//! admin outbox.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    i18n::Msg,
    orders::repo::Order,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        layout::{page, respond},
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/admin/messages/", get(outbox))
}

fn channel_label(ctx: &Ctx, channel: &str) -> &'static str {
    match channel {
        "WHATSAPP" => "WhatsApp",
        "EMAIL" => ctx.t(Msg::ChannelEmail),
        _ => "SMS",
    }
}

fn message_item(ctx: &Ctx, m: &super::Message, public_url: &str, show_partner: bool) -> Markup {
    let (label, tone) = super::status_label(&m.status);
    html! {
        li.order-row { div {
            strong { (channel_label(ctx, &m.channel)) } " · " (m.recipient) " " (badge(ctx.t(label), tone))
            @if show_partner { " " span.small.muted { (m.partner_id.as_deref().and_then(|p| p.get(..8)).unwrap_or("—")) } }
            br;
            span.small { @if show_partner { (m.masked_text(public_url)) } @else { (m.text(public_url)) } }
            br;
            span.small.muted {
                (format_datetime(m.created_at, ctx.lang))
                @if m.attempts > 1 { " · " (ctx.fmt(Msg::MessageAttempts, &[("n", &m.attempts.to_string())])) }
                @if let Some(e) = &m.last_error { " · " (e) }
            }
        } }
    }
}

/// The order page's panel (given to the orders' page by the composition).
pub fn order_panel<'a>(state: &'a AppState, ctx: &'a Ctx, o: &'a Order) -> crate::web::BoxFuture<'a, PageResult<Markup>> {
    Box::pin(order_card(state, ctx, o))
}

async fn order_card(state: &AppState, ctx: &Ctx, o: &Order) -> PageResult<Markup> {
    let sent = super::of_order(&state.db, &o.id).await?;
    let public_url = state.config.public_url();
    let link = format!("{public_url}/t/{}/", o.public_token);
    // The recipient's first message, ready to share from the vendor's own WhatsApp.
    let params =
        serde_json::json!({"vendor": o.business_name, "tracking": o.tracking_number, "token": o.public_token, "pin": o.delivery_pin});
    let text = super::render("order_created", &params, crate::i18n::Lang::Fr, &public_url);
    let digits =
        crate::accounts::phone::Phone::parse(&o.recipient_phone).map(|p| p.as_str().trim_start_matches('+').to_owned()).unwrap_or_default();
    let share = format!("https://wa.me/{digits}?text={}", urlencode(&text));
    Ok(html! {
        div.card #messages {
            h2 { (ctx.t(Msg::MessagesTitle)) }
            p { a.btn href=(share) rel="noopener" target="_blank" { (ctx.t(Msg::ShareWhatsApp)) } }
            div.grid2 {
                div.field {
                    label for="share-link" { (ctx.t(Msg::PublicTracking)) }
                    input #share-link type="text" readonly value=(link);
                    button.btn.secondary type="button" data-copy="#share-link" { (ctx.t(Msg::Copy)) }
                }
                div.field {
                    label for="share-pin" { (ctx.t(Msg::DeliveryPin)) }
                    input #share-pin type="text" readonly value=(o.delivery_pin);
                    button.btn.secondary type="button" data-copy="#share-pin" { (ctx.t(Msg::Copy)) }
                }
            }
            @if sent.is_empty() {
                p.small.muted { (ctx.t(Msg::MessagesNone)) }
            } @else {
                ul.orders.compact { @for m in &sent { (message_item(ctx, m, &public_url, false)) } }
            }
        }
    })
}

/// `application/x-www-form-urlencoded` for one value (spaces as `%20` for wa.me).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutboxQuery {
    status: String,
}

/// The admin outbox: the latest messages, by status.
#[handler]
async fn outbox(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<OutboxQuery>) -> PageResult<Response> {
    guard::admin(ctx)?;
    let status = super::STATUSES.iter().map(|(s, _, _)| *s).find(|s| *s == q.status);
    let invalid = !q.status.is_empty() && status.is_none();
    let rows = super::latest(&state.db, status, 200).await?;
    let public_url = state.config.public_url();
    let body = html! {
        h1 { (ctx.t(Msg::OutboxTitle)) }
        p.muted { (ctx.t(Msg::OutboxIntro)) }
        form.filters.card method="get" action="/admin/messages/" {
            div {
                label for="status" { (ctx.t(Msg::ColStatus)) }
                select #status name="status" aria-invalid=[invalid.then_some("true")] {
                    option value="" { (ctx.t(Msg::FilterAll)) }
                    @for (s, label, _) in super::STATUSES.iter().filter(|(s, _, _)| *s != "SENDING") { option value=(s) selected[q.status == *s] { (ctx.t(*label)) } }
                }
                @if invalid { div.error role="alert" { (ctx.t(Msg::ErrChoice)) } }
            }
            button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
        }
        @if rows.is_empty() { div.card { p.muted { (ctx.t(Msg::NoResults)) } } }
        ul.orders.compact { @for m in &rows { (message_item(ctx, m, &public_url, true)) } }
    };
    let code = if invalid { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(respond(code, page(ctx, ctx.t(Msg::OutboxTitle), body)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn share_text_is_encoded_for_a_link() {
        assert_eq!(super::urlencode("a b/é:1"), "a%20b%2F%C3%A9%3A1");
    }
}
