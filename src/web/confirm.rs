//! Confirmation before a destructive action (cancelling an order, revoking an API key,
//! regenerating the webhook secret, declining a booking request, suspending a vendor, marking
//! a payout paid), naming its object. The form carries the question (`data-confirm`, on the
//! form or on the button that submits it) and a hidden `confirmed` field: with JavaScript,
//! app.js asks in a dialog and sets the field; without it, the handler answers the first
//! submission with a page that asks, whose button sends the same fields again, confirmed.

use maud::{Markup, html};
use poem::{Response, http::StatusCode};

use crate::{
    i18n::Msg,
    web::{
        Ctx,
        layout::{csrf_field, page, respond},
    },
};

/// The form field that says the action was confirmed.
pub const FIELD: &str = "confirmed";

/// The hidden field every confirmed form carries (app.js sets it to `1`).
pub fn field() -> Markup {
    html! { input type="hidden" name=(FIELD) value="0"; }
}

/// Was the action confirmed (the field is `1`)?
pub fn given(value: &str) -> bool {
    value == "1"
}

/// What to ask: the question naming the object, what follows, the button, and where "no"
/// goes back to.
pub struct Ask<'a> {
    pub question: String,
    pub consequence: String,
    pub yes: &'a str,
    pub back: &'a str,
}

/// The page that asks (no JavaScript, or a form sent without the dialog): its button posts
/// `fields` again to `action`, confirmed.
pub fn page_for(ctx: &Ctx, ask: &Ask<'_>, action: &str, fields: &[(&str, &str)]) -> Response {
    let body = html! {
        div.narrow {
            div.card role="alertdialog" aria-labelledby="confirm-q" {
                h1 #confirm-q { (ask.question) }
                p { (ask.consequence) }
                form method="post" action=(action) {
                    (csrf_field(ctx))
                    @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                    input type="hidden" name=(FIELD) value="1";
                    div.row {
                        button.btn.danger type="submit" { (ask.yes) }
                        a.btn.secondary href=(ask.back) { (ctx.t(Msg::ConfirmNo)) }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page(ctx, &ask.question, body))
}
