//! Partner notifications (the spec's `PartnerNotification`): written in the same transaction
//! as the event they tell about, in the partner's language, then pushed live to the partner's
//! open streams (SSE) by the partner's notification actor. On PostgreSQL a `NOTIFY` carrying
//! the partner id wakes the streams held by every instance; the rows are read from the database.

pub mod pages;
pub mod stream;

use crate::{
    db::Db,
    i18n::{Lang, Msg},
    on_db,
    web::components::format_fcfa,
};

/// The PostgreSQL channel that carries "partner P has something new" between instances.
pub const CHANNEL: &str = "delivr_live";

/// Type, title and message of the notification an event gives, if any.
pub fn render(kind: &str, lang: Lang, data: &serde_json::Value) -> Option<(&'static str, String, String)> {
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
        "order.pin_locked" => ("system", Msg::NotifPinLockedTitle, lang.fmt(Msg::NotifPinLockedText, &[t])),
        "order.pin_reset" => ("system", Msg::NotifPinResetTitle, lang.fmt(Msg::NotifPinResetText, &[t])),
        "payment.received" => ("payment_received", Msg::NotifPaymentTitle, lang.fmt(Msg::NotifPaymentText, &[t, ("amount", &amount)])),
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

/// Write the notification an event gives (inside the caller's transaction), in the partner's
/// language; on PostgreSQL also `NOTIFY` the other instances (delivered at commit).
#[macro_export]
macro_rules! notification_insert {
    ($tx:expr, $partner_id:expr, $kind:expr, $order_id:expr, $data_json:expr, $at:expr) => {{
        let data: serde_json::Value = serde_json::from_str($data_json).unwrap_or_default();
        let lang: Option<String> = sqlx::query_scalar("SELECT u.language FROM partners p JOIN users u ON u.id = p.user_id WHERE p.id = $1")
            .bind($partner_id)
            .fetch_optional(&mut *$tx)
            .await?
            .flatten();
        let lang = lang.as_deref().and_then($crate::i18n::Lang::parse).unwrap_or_default();
        if let Some((ty, title, message)) = $crate::notifications::render($kind, lang, &data) {
            sqlx::query(
                "INSERT INTO partner_notifications (partner_id, notification_type, title, message, order_id, is_read, created_at) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6)",
            )
            .bind($partner_id)
            .bind(ty)
            .bind(&title)
            .bind(&message)
            .bind($order_id)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub notification_type: String,
    pub title: String,
    pub message: String,
    pub order_id: Option<String>,
    pub is_read: bool,
    pub created_at: i64,
}

pub async fn unread_count(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM partner_notifications WHERE partner_id = $1 AND is_read = FALSE")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

/// Notifications newest first, before id `before`, optionally unread only.
pub async fn list(db: &Db, partner_id: &str, unread_only: bool, before: Option<i64>, limit: i64) -> sqlx::Result<Vec<Notification>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, notification_type, title, message, order_id, is_read, created_at FROM partner_notifications \
         WHERE partner_id = $1 AND ($2 = FALSE OR is_read = FALSE) AND id < $3 ORDER BY id DESC LIMIT $4",
    )
    .bind(partner_id)
    .bind(unread_only)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Notifications after id `after`, oldest first (what a stream has not sent yet).
pub async fn after(db: &Db, partner_id: &str, after: i64, limit: i64) -> sqlx::Result<Vec<Notification>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, notification_type, title, message, order_id, is_read, created_at FROM partner_notifications \
         WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(partner_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

pub async fn last_id(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM partner_notifications WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

pub async fn mark_read(db: &Db, partner_id: &str, id: Option<i64>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("UPDATE partner_notifications SET is_read = TRUE WHERE partner_id = $1 AND ($2 = 0 OR id = $2) AND is_read = FALSE")
        .bind(partner_id)
        .bind(id.unwrap_or(0))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}
