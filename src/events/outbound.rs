//! Which events send a message, to whom: the recipient hears of their parcel (the tracking
//! link and the delivery PIN when the order is created or accepted, the courier on the way),
//! the vendor of their approval. Written by [`super::record`] in the event's transaction as
//! rows of the `messages` outbox (template and parameters; the text is rendered when sent).

use serde_json::{Value, json};

use crate::db::Tx;

/// One message to write.
pub struct Outbound {
    pub channel: &'static str,
    pub recipient: String,
    pub language: String,
    pub template: &'static str,
    pub params: Value,
}

#[derive(sqlx::FromRow)]
struct OrderFacts {
    recipient_phone: String,
    public_token: String,
    delivery_pin: String,
    tracking_number: String,
    business_name: String,
    courier_name: Option<String>,
    language: Option<String>,
}

/// The messages `kind` gives for `partner_id` (and its order), read in the event's unit of work.
pub async fn messages_for(tx: &mut Tx, kind: super::Kind, partner_id: &str, order_id: Option<&str>) -> sqlx::Result<Vec<Outbound>> {
    use super::Kind;
    match (kind, order_id) {
        (Kind::OrderCreated | Kind::OrderInTransit, Some(order_id)) => {
            // The recipient's language: a booking's customer chose theirs; French otherwise.
            let facts: Option<OrderFacts> = crate::on_tx!(tx, c => sqlx::query_as(
                "SELECT o.recipient_phone, o.public_token, o.delivery_pin, o.tracking_number, p.business_name, \
                 u.full_name AS courier_name, b.language FROM orders o JOIN partners p ON p.id = o.partner_id \
                 LEFT JOIN users u ON u.id = o.courier_id LEFT JOIN booking_requests b ON b.order_id = o.id WHERE o.id = $1",
            )
            .bind(order_id)
            .fetch_optional(&mut *c)
            .await)?;
            let Some(f) = facts else { return Ok(Vec::new()) };
            let (template, params) = if kind == Kind::OrderCreated {
                (
                    "order_created",
                    json!({"vendor": f.business_name, "tracking": f.tracking_number, "token": f.public_token, "pin": f.delivery_pin}),
                )
            } else {
                (
                    "order_on_the_way",
                    json!({"vendor": f.business_name, "tracking": f.tracking_number, "token": f.public_token, "courier": f.courier_name.unwrap_or_default()}),
                )
            };
            let language = f.language.unwrap_or_else(|| "fr".to_owned());
            Ok(vec![Outbound { channel: "SMS", recipient: f.recipient_phone, language, template, params }])
        }
        (Kind::PartnerApproved, _) => {
            let row: Option<(String, String, String, Option<String>)> = crate::on_tx!(tx, c => sqlx::query_as(
                "SELECT p.phone, u.email, p.business_name, u.language FROM partners p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
            )
            .bind(partner_id)
            .fetch_optional(&mut *c)
            .await)?;
            let Some((phone, email, business, language)) = row else { return Ok(Vec::new()) };
            let language = language.unwrap_or_else(|| "fr".to_owned());
            let params = json!({"vendor": business});
            Ok(vec![
                Outbound {
                    channel: "SMS",
                    recipient: phone,
                    language: language.clone(),
                    template: "partner_approved",
                    params: params.clone(),
                },
                Outbound { channel: "EMAIL", recipient: email, language, template: "partner_approved", params },
            ])
        }
        _ => Ok(Vec::new()),
    }
}

/// Write messages in the unit of work of what causes them, due at once: an event's
/// (`event_id`), or a request without one (a password recovery, which may have no shop).
pub async fn write(
    tx: &mut Tx,
    event_id: Option<&str>,
    partner_id: Option<&str>,
    order_id: Option<&str>,
    messages: Vec<Outbound>,
    at: i64,
) -> sqlx::Result<()> {
    for m in messages {
        crate::on_tx!(tx, c => sqlx::query(
            "INSERT INTO messages (id, partner_id, order_id, event_id, channel, recipient, language, template, params, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(partner_id)
        .bind(order_id)
        .bind(event_id)
        .bind(m.channel)
        .bind(&m.recipient)
        .bind(&m.language)
        .bind(m.template)
        .bind(m.params.to_string())
        .bind(at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}
