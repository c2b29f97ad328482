//! What a partner is told of an event: the notification's type, title and message, in the
//! partner's language. Written by [`super::record`] in the event's transaction.

use crate::{
    i18n::{Lang, Msg},
    money::format_fcfa,
};

/// The events a vendor may choose not to be notified of (the others always are: an approval,
/// a paused webhook, a locked PIN).
pub const MUTABLE: [&str; 12] = [
    "order.created",
    "order.assigned",
    "order.picked_up",
    "order.completed",
    "order.cancelled",
    "order.failed",
    "order.returned",
    "payment.received",
    "booking.requested",
    "dispute.updated",
    "invoice.issued",
    "payout.paid",
];

/// The muted kinds of a partner's stored setting (comma-separated), keeping only mutable ones.
pub fn muted(setting: &str) -> Vec<&str> {
    setting.split(',').map(str::trim).filter(|k| MUTABLE.contains(k)).collect()
}

/// Type, title and message of the notification an event gives, if any.
pub fn render(kind: super::Kind, lang: Lang, data: &serde_json::Value) -> Option<(&'static str, String, String)> {
    let kind = kind.as_str();
    let tracking = data["tracking_number"].as_str().unwrap_or("");
    let t = ("tracking", tracking);
    let courier = data["courier"]["name"].as_str().unwrap_or("");
    let amount = format_fcfa(data["amount"].as_i64().unwrap_or(0));
    let reason = data["reason"].as_str().unwrap_or("");
    let (ty, title, message) = match kind {
        "order.created" => ("order_created", Msg::NotifCreatedTitle, lang.fmt(Msg::NotifCreatedText, &[t])),
        "order.assigned" => ("order_assigned", Msg::NotifAssignedTitle, lang.fmt(Msg::NotifAssignedText, &[t, ("courier", courier)])),
        "order.picked_up" => ("order_picked_up", Msg::NotifPickedUpTitle, lang.fmt(Msg::NotifPickedUpText, &[t, ("courier", courier)])),
        "order.completed" => ("order_completed", Msg::NotifCompletedTitle, lang.fmt(Msg::NotifCompletedText, &[t])),
        "order.cancelled" => ("order_cancelled", Msg::NotifCancelledTitle, lang.fmt(Msg::NotifCancelledText, &[t])),
        "order.failed" => ("system", Msg::NotifFailedTitle, lang.fmt(Msg::NotifFailedText, &[t, ("reason", reason)])),
        "partner.approved" => ("system", Msg::NotifApprovedTitle, lang.t(Msg::NotifApprovedText).to_owned()),
        "order.returned" => ("system", Msg::NotifReturnedTitle, lang.fmt(Msg::NotifReturnedText, &[t])),
        "order.pin_locked" => ("system", Msg::NotifPinLockedTitle, lang.fmt(Msg::NotifPinLockedText, &[t])),
        "order.pin_reset" => ("system", Msg::NotifPinResetTitle, lang.fmt(Msg::NotifPinResetText, &[t])),
        "payment.received" => ("payment_received", Msg::NotifPaymentTitle, lang.fmt(Msg::NotifPaymentText, &[t, ("amount", &amount)])),
        "payout.paid" => {
            let reference = data["reference"].as_str().unwrap_or("");
            ("system", Msg::PayoutPaidTitle, lang.fmt(Msg::PayoutPaidText, &[("amount", &amount), ("reference", reference)]))
        }
        "payout.rejected" => {
            ("system", Msg::PayoutRejectedTitle, lang.fmt(Msg::PayoutRejectedText, &[("amount", &amount), ("reason", reason)]))
        }
        "invoice.issued" => {
            let total = format_fcfa(data["total"].as_i64().unwrap_or(0));
            let month = data["month"].as_str().unwrap_or("");
            ("invoice_generated", Msg::InvoiceGeneratedTitle, lang.fmt(Msg::InvoiceGeneratedText, &[("month", month), ("total", &total)]))
        }
        "booking.requested" => {
            let who = ("name", data["recipient"]["name"].as_str().unwrap_or(""));
            let quartier = ("quartier", data["dropoff"]["quartier"].as_str().unwrap_or(""));
            ("system", Msg::NotifBookingTitle, lang.fmt(Msg::NotifBookingText, &[who, quartier]))
        }
        "webhook.paused" => {
            let why = if reason == "retries-exhausted" {
                lang.t(Msg::WebhookPausedExhausted).to_owned()
            } else {
                lang.fmt(Msg::WebhookPausedFailures, &[("n", &data["failures"].as_i64().unwrap_or(0).to_string())])
            };
            ("system", Msg::WebhookPausedTitle, format!("{why} {}", lang.t(Msg::WebhookPausedHowToResume)))
        }
        // Disputes: the vendor hears of every change but their own messages.
        "dispute.opened" | "dispute.updated" | "dispute.resolved" => {
            let number = ("number", data["number"].as_str().unwrap_or(""));
            let decision = data["decision_reason"].as_str().unwrap_or("");
            match (kind, data["status"].as_str().unwrap_or(""), data["message"]["author"].as_str()) {
                (_, _, Some("VENDOR")) => return None,
                ("dispute.opened", _, _) => ("system", Msg::NotifDisputeOpenedTitle, lang.fmt(Msg::NotifDisputeOpenedText, &[t, number])),
                ("dispute.updated", _, Some(_)) => {
                    let body: String = data["message"]["body"].as_str().unwrap_or("").chars().take(200).collect();
                    ("system", Msg::NotifDisputeMessageTitle, lang.fmt(Msg::NotifDisputeMessageText, &[number, ("message", &body)]))
                }
                ("dispute.updated", _, None) => {
                    ("system", Msg::NotifDisputeReviewTitle, lang.fmt(Msg::NotifDisputeReviewText, &[t, number]))
                }
                (_, "RESOLVED", _) => {
                    let refund = format_fcfa(data["refund_amount"].as_i64().unwrap_or(0));
                    let text = if data["refund_amount"].as_i64().unwrap_or(0) > 0 {
                        Msg::NotifDisputeRefundText
                    } else {
                        Msg::NotifDisputeResolvedText
                    };
                    ("system", Msg::NotifDisputeResolvedTitle, lang.fmt(text, &[number, ("amount", &refund), ("reason", decision)]))
                }
                _ => ("system", Msg::NotifDisputeRejectedTitle, lang.fmt(Msg::NotifDisputeRejectedText, &[number, ("reason", decision)])),
            }
        }
        _ => return None,
    };
    Some((ty, lang.fmt(title, &[t, ("number", data["number"].as_str().unwrap_or(""))]), message))
}
