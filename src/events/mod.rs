//! Domain events, and their one owner. Domain code raises a typed [`Event`] inside its unit of
//! work; [`record`] alone writes what an event gives, in that same transaction: the
//! `domain_events` row (the outbox, with its sequence number, increasing across events), the
//! webhook delivery when the partner subscribed, and the partner's notification. After commit, the caller announces the
//! [`Recorded`] event on the in-process [`Bus`]; consumers (streams, webhook actors) read the
//! committed rows, so a crash between commit and announcement only delays the delivery.

pub mod notice;
pub mod outbound;
pub mod wire;

use serde::Serialize;
use tokio::sync::broadcast;

pub use wire::{event_body, event_body_in_sequence};

use crate::db::Tx;

/// "Partner P has a new event, sequence number S, of this kind": ids only, the payload is
/// read from the database. Also carries what is not an event but wakes live pages: a
/// courier's position (`position`) and an ended session (`session.ended`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notice {
    pub partner_id: String,
    pub seq: i64,
    pub kind: String,
    pub order_id: Option<String>,
    /// For `session.ended`: the SHA-256 of the session's cookie.
    pub session: Option<String>,
    /// The event's notification took the place of its order's unread ones: counts are read
    /// again rather than added to.
    pub superseded: bool,
    /// The notification the event gave the partner, if any.
    pub notification_id: Option<i64>,
}

/// In-process fan-out of committed events. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Notice>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { tx: broadcast::channel(4096).0 }
    }
}

impl Bus {
    /// Announce committed events. Nobody listening is fine: the rows are the truth.
    pub fn publish(&self, notice: Notice) {
        let _ = self.tx.send(notice);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }

    /// Announce an event once its transaction committed.
    pub fn announce(&self, recorded: Recorded) {
        self.publish(recorded.0);
    }
}

/// Every kind of domain event. The first eleven are the webhook events (the spec's seven,
/// `order.failed` and the disputes'); the others only tell the partner (a notification) and
/// wake their live pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    OrderCreated,
    OrderAssigned,
    OrderPickedUp,
    OrderInTransit,
    OrderCompleted,
    OrderCancelled,
    OrderFailed,
    PaymentReceived,
    DisputeOpened,
    DisputeUpdated,
    DisputeResolved,
    OrderPinLocked,
    OrderPinReset,
    PayoutPaid,
    PayoutRejected,
    InvoiceIssued,
    WebhookPaused,
    BookingRequested,
    OrderReattempted,
    OrderReturning,
    OrderReturned,
    PartnerApproved,
}

impl Kind {
    /// The webhook events first, in [`WEBHOOK_EVENTS`]' order, then the internal ones.
    pub const ALL: [Kind; 22] = [
        Kind::OrderCreated,
        Kind::OrderAssigned,
        Kind::OrderPickedUp,
        Kind::OrderInTransit,
        Kind::OrderCompleted,
        Kind::OrderCancelled,
        Kind::OrderFailed,
        Kind::OrderReattempted,
        Kind::OrderReturning,
        Kind::OrderReturned,
        Kind::PaymentReceived,
        Kind::DisputeOpened,
        Kind::DisputeUpdated,
        Kind::DisputeResolved,
        Kind::BookingRequested,
        Kind::OrderPinLocked,
        Kind::OrderPinReset,
        Kind::PayoutPaid,
        Kind::PayoutRejected,
        Kind::InvoiceIssued,
        Kind::WebhookPaused,
        Kind::PartnerApproved,
    ];

    /// The kind named `s` (as [`Kind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderCreated => "order.created",
            Kind::OrderAssigned => "order.assigned",
            Kind::OrderPickedUp => "order.picked_up",
            Kind::OrderInTransit => "order.in_transit",
            Kind::OrderCompleted => "order.completed",
            Kind::OrderCancelled => "order.cancelled",
            Kind::OrderFailed => "order.failed",
            Kind::PaymentReceived => "payment.received",
            Kind::DisputeOpened => "dispute.opened",
            Kind::DisputeUpdated => "dispute.updated",
            Kind::DisputeResolved => "dispute.resolved",
            Kind::OrderPinLocked => "order.pin_locked",
            Kind::OrderPinReset => "order.pin_reset",
            Kind::PayoutPaid => "payout.paid",
            Kind::PayoutRejected => "payout.rejected",
            Kind::InvoiceIssued => "invoice.issued",
            Kind::WebhookPaused => "webhook.paused",
            Kind::BookingRequested => "booking.requested",
            Kind::OrderReattempted => "order.reattempted",
            Kind::OrderReturning => "order.returning",
            Kind::OrderReturned => "order.returned",
            Kind::PartnerApproved => "partner.approved",
        }
    }

    /// Can a webhook subscribe to it?
    pub fn is_webhook_event(self) -> bool {
        WEBHOOK_EVENTS.contains(&self.as_str())
    }
}

/// The events a webhook can subscribe to: the spec's seven, `order.failed` and what follows a
/// failure (a new attempt, a return), the disputes', and a customer's booking request waiting
/// for the vendor.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "order.created",
    "order.assigned",
    "order.picked_up",
    "order.in_transit",
    "order.completed",
    "order.cancelled",
    "order.failed",
    "order.reattempted",
    "order.returning",
    "order.returned",
    "payment.received",
    "dispute.opened",
    "dispute.updated",
    "dispute.resolved",
    "booking.requested",
];

/// A domain event, raised by domain code inside its unit of work and written by [`record`].
#[derive(Clone, Debug)]
pub struct Event {
    pub partner_id: String,
    pub kind: Kind,
    pub order_id: Option<String>,
    /// The event's `data`, as JSON (the webhook payload's `data`).
    data: String,
}

impl Event {
    pub fn new(partner_id: &str, kind: Kind, order_id: Option<&str>, data: &impl Serialize) -> Event {
        Event {
            partner_id: partner_id.to_owned(),
            kind,
            order_id: order_id.map(str::to_owned),
            data: serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    pub fn data_json(&self) -> &str {
        &self.data
    }
}

/// An event written in a transaction, to announce on the [`Bus`] once it committed.
#[must_use = "announce it on the bus after commit"]
#[derive(Debug)]
pub struct Recorded(Notice);

impl Recorded {
    /// The event's sequence number (increasing with each event).
    pub fn seq(&self) -> i64 {
        self.0.seq
    }
}

/// Write `event` in the caller's unit of work: the `domain_events` row, a delivery for the
/// partner's webhook when it is subscribed (a paused webhook keeps its queue, one the vendor
/// switched off gets nothing), the notification it gives, in the partner's language, and its
/// messages to the recipient or the vendor ([`outbound`]). The only writer of those tables
/// for events.
pub async fn record(tx: &mut Tx, event: &Event, at: i64) -> sqlx::Result<Recorded> {
    let event_id = uuid::Uuid::new_v4().to_string();
    let kind = event.kind.as_str();
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
    let seq = crate::on_tx!(tx, c => async {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO domain_events (id, partner_id, kind, order_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .bind(&event_id)
        .bind(&event.partner_id)
        .bind(kind)
        .bind(event.order_id.as_deref())
        .bind(&event.data)
        .bind(at)
        .fetch_one(&mut *c)
        .await?;
        if event.kind.is_webhook_event() {
            let body = event_body_in_sequence(&event_id, kind, Some(seq), at, &event.data);
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
                 SELECT $1, partner_id, $2, $3, $4, 'PENDING', 0, $5, $5 FROM webhook_configs \
                 WHERE partner_id = $6 AND (is_active = TRUE OR paused_reason IS NOT NULL) AND events LIKE $7",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&event_id)
            .bind(kind)
            .bind(&body)
            .bind(at)
            .bind(&event.partner_id)
            .bind(format!("%\"{kind}\"%"))
            .execute(&mut *c)
            .await?;
        }
        let who: Option<(Option<String>, String)> = sqlx::query_as(
            "SELECT u.language, p.muted_notifications FROM partners p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
        )
        .bind(&event.partner_id)
        .fetch_optional(&mut *c)
        .await?;
        let (lang, muted) = who.unwrap_or_default();
        let lang = lang.as_deref().and_then(crate::i18n::Lang::parse).unwrap_or_default();
        let (mut notification_id, mut superseded) = (None, false);
        let wanted = !notice::muted(&muted).contains(&kind);
        if let (Some((ty, title, message)), true) = (notice::render(event.kind, lang, &data), wanted) {
            // One entry per order: its unread notifications give way to the newest.
            if let Some(order_id) = event.order_id.as_deref() {
                superseded = sqlx::query("UPDATE partner_notifications SET is_read = TRUE WHERE partner_id = $1 AND order_id = $2 AND is_read = FALSE")
                    .bind(&event.partner_id)
                    .bind(order_id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()
                    > 0;
            }
            // On PostgreSQL a trigger also NOTIFYs the other instances (delivered at commit).
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO partner_notifications (partner_id, notification_type, title, message, order_id, is_read, created_at, event_kind, event_data) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8) RETURNING id",
            )
            .bind(&event.partner_id)
            .bind(ty)
            .bind(&title)
            .bind(&message)
            .bind(event.order_id.as_deref())
            .bind(at)
            .bind(kind)
            .bind(event.data_json())
            .fetch_one(&mut *c)
            .await?;
            notification_id = Some(id);
        }
        Ok::<_, sqlx::Error>((seq, notification_id, superseded))
    }
    .await)?;
    let (seq, notification_id, superseded) = seq;
    // Its messages to the recipient or the vendor, in the same unit of work.
    let messages = outbound::messages_for(tx, event.kind, &event.partner_id, event.order_id.as_deref()).await?;
    outbound::write(tx, Some(&event_id), Some(&event.partner_id), event.order_id.as_deref(), messages, at).await?;
    Ok(Recorded(Notice {
        partner_id: event.partner_id.clone(),
        seq,
        kind: kind.to_owned(),
        order_id: event.order_id.clone(),
        session: None,
        notification_id,
        superseded,
    }))
}

/// A partner's newest event sequence number (0 before any event): where a live page starts.
pub async fn last_seq(db: &crate::db::Db, partner_id: &str) -> sqlx::Result<i64> {
    crate::on_db!(db, pool => sqlx::query_scalar("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM domain_events WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

/// The partner's order events after `seq`, oldest first (at most `limit`): `(seq, order id,
/// kind)`, for live pages to follow their orders.
pub async fn order_events_after(db: &crate::db::Db, partner_id: &str, seq: i64, limit: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    crate::on_db!(db, pool => sqlx::query_as(
        "SELECT CAST(seq AS BIGINT), order_id, kind FROM domain_events WHERE partner_id = $1 AND seq > $2 AND order_id IS NOT NULL \
         ORDER BY seq LIMIT $3",
    )
    .bind(partner_id)
    .bind(seq)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_the_webhook_events_come_first() {
        let names: std::collections::HashSet<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
        let subscribable: Vec<&str> = Kind::ALL.iter().filter(|k| k.is_webhook_event()).map(|k| k.as_str()).collect();
        assert_eq!(subscribable, WEBHOOK_EVENTS);
    }

    #[test]
    fn internal_events_tell_the_partner() {
        let lang = crate::i18n::Lang::default();
        for kind in Kind::ALL.into_iter().filter(|k| !k.is_webhook_event()) {
            let data = serde_json::json!({"tracking_number": "DLV-X", "amount": 1500, "reason": "retries-exhausted", "number": "FAC-1", "month": "2026-10", "total": 1, "status": "OPEN"});
            assert!(notice::render(kind, lang, &data).is_some(), "{kind:?} gives no notification");
        }
    }
}
