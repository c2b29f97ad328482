//! Disputes on orders: a vendor opens one on a finished order (within 14 days, one open at a
//! time), with a reason, a description, the amount claimed and evidence photos; vendor and
//! admins talk in a thread; an admin takes it in review, then resolves it (optionally with a
//! refund credited to the wallet, once per dispute, ever) or rejects it, each time with a
//! reason. Every change is one transaction with its domain event (`dispute.opened`,
//! `dispute.updated`, `dispute.resolved`) and the vendor's notification.

pub mod admin;
pub mod api;
pub mod pages;

use serde::Serialize;
use uuid::Uuid;

use crate::{
    audit,
    db::{Db, Tx, is_unique_violation},
    events::{self, Bus, Event, Kind},
    i18n::{Lang, Msg},
    media::Image,
    money::Fcfa,
    on_db, on_tx,
    orders::repo::Order,
    pricing::parse_fcfa,
    web::{
        components::format_fcfa,
        forms::{FieldErrors, clean},
    },
};

/// How long after an order finished a dispute may be opened.
pub const WINDOW_MS: i64 = 14 * 24 * 3_600_000;
pub const MAX_PHOTOS: usize = 5;
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// Largest amount a vendor may claim (FCFA).
pub const MAX_CLAIM: i64 = 5_000_000;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_MESSAGE: usize = 2000;
pub const MAX_DECISION: usize = 500;
pub const PER_PAGE: i64 = 20;

/// The reasons a dispute may have, with their labels.
pub const REASONS: [(&str, Msg); 6] = [
    ("DAMAGED", Msg::DisputeReasonDamaged),
    ("MISSING_ITEM", Msg::DisputeReasonMissing),
    ("COD_MISMATCH", Msg::DisputeReasonCod),
    ("LATE", Msg::DisputeReasonLate),
    ("COURIER_CONDUCT", Msg::DisputeReasonConduct),
    ("OTHER", Msg::DisputeReasonOther),
];

/// The statuses, with their labels and badge tones.
pub const STATUSES: [(&str, Msg, &str); 4] = [
    ("OPEN", Msg::DisputeOpen, "warn"),
    ("IN_REVIEW", Msg::DisputeInReview, "info"),
    ("RESOLVED", Msg::DisputeResolved, "ok"),
    ("REJECTED", Msg::DisputeRejected, "err"),
];

pub fn reason_code(input: &str) -> Option<&'static str> {
    REASONS.iter().map(|(c, _)| *c).find(|c| *c == input)
}

pub fn reason_label(code: &str) -> Msg {
    REASONS.iter().find(|(c, _)| *c == code).map(|(_, m)| *m).unwrap_or(Msg::DisputeReasonOther)
}

pub fn status_code(input: &str) -> Option<&'static str> {
    STATUSES.iter().map(|(c, _, _)| *c).find(|c| *c == input)
}

pub fn status_label(code: &str) -> (Msg, &'static str) {
    STATUSES.iter().find(|(c, _, _)| *c == code).map(|(_, m, t)| (*m, *t)).unwrap_or((Msg::DisputeOpen, "warn"))
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Dispute {
    pub id: String,
    pub number: String,
    pub partner_id: crate::ids::PartnerId,
    pub order_id: crate::ids::OrderId,
    pub tracking_number: String,
    pub business_name: String,
    pub reason: String,
    pub description: String,
    pub amount_claimed: Fcfa,
    pub status: String,
    pub decision_reason: Option<String>,
    pub refund_amount: Option<Fcfa>,
    pub created_at: i64,
    pub updated_at: i64,
    pub decided_at: Option<i64>,
}

impl Dispute {
    /// Still waiting for a decision (messages and decisions are possible).
    pub fn is_open(&self) -> bool {
        self.status == "OPEN" || self.status == "IN_REVIEW"
    }
}

/// The `data` of a dispute event (webhooks, notifications).
#[derive(Serialize, Debug, Clone)]
pub struct EventData<'a> {
    pub dispute_id: &'a str,
    pub number: &'a str,
    pub order_id: &'a str,
    pub tracking_number: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub amount_claimed: Fcfa,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Fcfa>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<&'a str>,
    /// The message that caused a `dispute.updated`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageData<'a>>,
}

#[derive(Serialize, Debug, Clone)]
pub struct MessageData<'a> {
    /// `VENDOR` or `ADMIN`.
    pub author: &'a str,
    pub body: &'a str,
}

const SELECT: &str = "SELECT d.id, d.number, d.partner_id, d.order_id, o.tracking_number, p.business_name, d.reason, d.description, \
    d.amount_claimed, d.status, d.decision_reason, d.refund_amount, d.created_at, d.updated_at, d.decided_at \
    FROM disputes d JOIN orders o ON o.id = d.order_id JOIN partners p ON p.id = d.partner_id";

/// One entry of the thread: a message, or a status change with its reason.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub author_role: String,
    pub author_name: Option<String>,
    /// The status the dispute moved to, for a status change.
    pub status: Option<String>,
    pub body: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PhotoRef {
    pub id: String,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DisputeError {
    #[error("not found")]
    NotFound,
    #[error("the order is not finished")]
    NotFinished,
    #[error("the order finished more than 14 days ago")]
    TooLate,
    #[error("the order already has an open dispute")]
    AlreadyOpen,
    #[error("the dispute is closed")]
    Closed,
    #[error("the dispute must be in review first")]
    NotInReview,
    #[error("the refund is larger than the amount claimed")]
    RefundTooHigh,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The partner's wallet actor could not run the decision.
    #[error("wallet unavailable")]
    Unavailable,
}

/// Refusals compare by kind; database failures by their message (a `sqlx::Error` has no equality).
impl PartialEq for DisputeError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (DisputeError::Db(a), DisputeError::Db(b)) => a.to_string() == b.to_string(),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl DisputeError {
    pub fn message(&self) -> Msg {
        match self {
            DisputeError::NotFound => Msg::ErrNotFoundText,
            DisputeError::NotFinished => Msg::ErrDisputeNotFinished,
            DisputeError::TooLate => Msg::ErrDisputeTooLate,
            DisputeError::AlreadyOpen => Msg::ErrDisputeAlreadyOpen,
            DisputeError::Closed => Msg::ErrDisputeClosed,
            DisputeError::NotInReview => Msg::ErrDisputeNotInReview,
            DisputeError::RefundTooHigh => Msg::ErrRefundTooHigh,
            DisputeError::Db(_) | DisputeError::Unavailable => Msg::ErrServerText,
        }
    }
}

/// Whether a dispute may be opened on an order now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    /// Yes, until this time (ms).
    Until(i64),
    NotFinished,
    TooLate,
    /// No: this dispute is open on it.
    AlreadyOpen(String),
}

pub async fn eligibility(db: &Db, order: &Order, now: i64) -> sqlx::Result<Eligibility> {
    if let Some(id) = open_on_order(db, &order.id).await? {
        return Ok(Eligibility::AlreadyOpen(id));
    }
    Ok(match (order.status().is_final(), order.finished_at) {
        (true, Some(at)) if now <= at + WINDOW_MS => Eligibility::Until(at + WINDOW_MS),
        (true, Some(_)) => Eligibility::TooLate,
        _ => Eligibility::NotFinished,
    })
}

pub async fn open_on_order(db: &Db, order_id: &str) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => sqlx::query_scalar("SELECT id FROM disputes WHERE order_id = $1 AND status IN ('OPEN', 'IN_REVIEW')")
        .bind(order_id)
        .fetch_optional(pool)
        .await)
}

/// The disputes of an order, newest first (id, number, status).
pub async fn of_order(db: &Db, order_id: &str) -> sqlx::Result<Vec<(String, String, String)>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, number, status FROM disputes WHERE order_id = $1 ORDER BY created_at DESC")
        .bind(order_id)
        .fetch_all(pool)
        .await)
}

/// A validated dispute, ready to open.
#[derive(Debug, Clone)]
pub struct NewDispute {
    pub reason: &'static str,
    pub description: String,
    pub amount_claimed: i64,
}

/// A required text of at most `max` characters, trimmed.
pub fn required(lang: Lang, errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) -> String {
    match clean(value, max) {
        Ok(v) if v.is_empty() => errors.add(field, lang.t(Msg::ErrRequired)),
        Ok(v) if v.chars().count() < 2 => errors.add(field, lang.t(Msg::ErrTooShort)),
        Ok(v) => return v,
        Err(max) => errors.add(field, lang.fmt(Msg::ErrTooLong, &[("max", &max.to_string())])),
    }
    String::new()
}

/// Check the fields of a new dispute (the portal's form and the API share it).
pub fn validate(lang: Lang, reason: &str, description: &str, amount: &str, errors: &mut FieldErrors) -> Option<NewDispute> {
    let reason = reason_code(reason);
    if reason.is_none() {
        errors.add("reason", lang.t(Msg::ErrChoice));
    }
    let description = required(lang, errors, "description", description, MAX_DESCRIPTION);
    let amount = if amount.trim().is_empty() { Some(0) } else { parse_fcfa(amount) };
    match amount {
        Some(a) if a <= MAX_CLAIM => {}
        Some(_) => errors.add("amount_claimed", lang.fmt(Msg::ErrClaimTooHigh, &[("max", &format_fcfa(MAX_CLAIM))])),
        None => errors.add("amount_claimed", lang.t(Msg::ErrAmount)),
    }
    Some(NewDispute { reason: reason?, description, amount_claimed: amount? })
}

fn new_number() -> String {
    crate::orders::model::new_tracking_number().replacen("DLV-", "LIT-", 1)
}

/// The event of a change to `d` (`message` when the change is a message in the thread).
fn event(d: &Dispute, kind: Kind, message: Option<MessageData<'_>>) -> Event {
    let data = EventData {
        dispute_id: &d.id,
        number: &d.number,
        order_id: &d.order_id,
        tracking_number: &d.tracking_number,
        status: &d.status,
        reason: &d.reason,
        amount_claimed: d.amount_claimed,
        refund_amount: d.refund_amount,
        decision_reason: d.decision_reason.as_deref(),
        message,
    };
    Event::new(&d.partner_id, kind, Some(&d.order_id), &data)
}

/// The dispute as this transaction sees it.
async fn reread(tx: &mut Tx, id: &str) -> sqlx::Result<Dispute> {
    on_tx!(tx, c => sqlx::query_as(&format!("{SELECT} WHERE d.id = $1")).bind(id).fetch_one(&mut *c).await)
}

/// Open a dispute on one of the partner's orders, with its photos, in one transaction (with
/// an API request's idempotency key when given).
#[allow(clippy::too_many_arguments)]
pub async fn open(
    db: &Db,
    bus: &Bus,
    order: &Order,
    user_id: Option<&str>,
    new: &NewDispute,
    photos: &[Image],
    now: i64,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<Dispute, DisputeError> {
    match eligibility(db, order, now).await? {
        Eligibility::Until(_) => {}
        Eligibility::NotFinished => return Err(DisputeError::NotFinished),
        Eligibility::TooLate => return Err(DisputeError::TooLate),
        Eligibility::AlreadyOpen(_) => return Err(DisputeError::AlreadyOpen),
    }
    for _attempt in 0..5 {
        let id = Uuid::new_v4().to_string();
        let number = new_number();
        let result: Result<(Dispute, events::Recorded), sqlx::Error> = async {
            let mut tx = db.begin().await?;
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO disputes (id, number, partner_id, order_id, reason, description, amount_claimed, status, opened_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'OPEN', $8, $9, $9)",
            )
            .bind(&id)
            .bind(&number)
            .bind(&order.partner_id)
            .bind(&order.id)
            .bind(new.reason)
            .bind(&new.description)
            .bind(new.amount_claimed)
            .bind(user_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            for photo in photos {
                on_tx!(&mut tx, c => sqlx::query(
                    "INSERT INTO dispute_photos (id, dispute_id, content_type, width, height, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Uuid::new_v4().to_string())
                .bind(&id)
                .bind(photo.content_type)
                .bind(i64::from(photo.width))
                .bind(i64::from(photo.height))
                .bind(&photo.bytes)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            let d = reread(&mut tx, &id).await?;
            let recorded = events::record(&mut tx, &event(&d, Kind::DisputeOpened, None), now).await?;
            let entry = audit::Entry::new(audit::Action::DisputeOpened, &d.number)
                .shop(&d.partner_id)
                .after(serde_json::json!({"order": d.tracking_number, "reason": d.reason, "amount_claimed": d.amount_claimed.0}));
            audit::record(&mut tx, entry).await?;
            if let Some(key) = idem {
                crate::idempotency::record(&mut tx, key, 201, Some(&format!("dispute:{id}")), None).await?;
            }
            tx.commit().await?;
            Ok((d, recorded))
        }
    .await;
        match result {
            Ok((d, recorded)) => {
                bus.announce(recorded);
                return Ok(d);
            }
            Err(e) if is_unique_violation(&e) => {
                // Another open dispute won the race (also what another request with the same
                // idempotency key does: its caller then answers as it did), or the number was
                // drawn twice: draw again.
                if open_on_order(db, &order.id).await?.is_some() {
                    return Err(DisputeError::AlreadyOpen);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(DisputeError::AlreadyOpen)
}

/// Who writes in a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author<'a> {
    Vendor(Option<&'a str>),
    Admin(&'a str),
}

impl Author<'_> {
    fn role(&self) -> &'static str {
        match self {
            Author::Vendor(_) => "VENDOR",
            Author::Admin(_) => "ADMIN",
        }
    }

    fn user_id(&self) -> Option<&str> {
        match self {
            Author::Vendor(u) => *u,
            Author::Admin(u) => Some(u),
        }
    }
}

/// Add a message to the thread of an open dispute (`dispute.updated`).
pub async fn comment(
    db: &Db,
    bus: &Bus,
    dispute_id: &str,
    author: Author<'_>,
    body: &str,
    now: i64,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<Message, DisputeError> {
    let (recorded, message) = async {
        let mut tx = db.begin().await?;
        // Touching the row first serialises the comment with a concurrent decision.
        let touched = on_tx!(&mut tx, c => sqlx::query("UPDATE disputes SET updated_at = $2 WHERE id = $1 AND status IN ('OPEN', 'IN_REVIEW')")
            .bind(dispute_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if touched != 1 {
            let exists: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT id FROM disputes WHERE id = $1").bind(dispute_id).fetch_optional(&mut *c).await)?;
            return Err(if exists.is_some() { DisputeError::Closed } else { DisputeError::NotFound });
        }
        let id: i64 = on_tx!(&mut tx, c => sqlx::query_scalar(
            "INSERT INTO dispute_messages (dispute_id, author_role, author_id, status, body, created_at) VALUES ($1, $2, $3, NULL, $4, $5) RETURNING id",
        )
        .bind(dispute_id)
        .bind(author.role())
        .bind(author.user_id())
        .bind(body)
        .bind(now)
        .fetch_one(&mut *c)
        .await)?;
        let d = reread(&mut tx, dispute_id).await?;
        let recorded = events::record(&mut tx, &event(&d, Kind::DisputeUpdated, Some(MessageData { author: author.role(), body })), now).await?;
        audit::record(&mut tx, audit::Entry::new(audit::Action::DisputeCommented, &d.number).shop(&d.partner_id)).await?;
        if let Some(key) = idem {
            crate::idempotency::record(&mut tx, key, 201, Some(&format!("message:{dispute_id}:{id}")), None).await?;
        }
        tx.commit().await?;
        let message = Message { id, author_role: author.role().to_owned(), author_name: None, status: None, body: body.to_owned(), created_at: now };
        Ok::<_, DisputeError>((recorded, message))
    }
    .await?;
    bus.announce(recorded);
    Ok(message)
}

/// Record an admin's status change with its reason in the thread.
async fn status_entry(tx: &mut Tx, dispute_id: &str, admin_id: &str, status: &str, note: &str, refund: i64, at: i64) -> sqlx::Result<()> {
    on_tx!(tx, c => sqlx::query("INSERT INTO dispute_messages (dispute_id, author_role, author_id, status, body, created_at) VALUES ($1, 'ADMIN', $2, $3, $4, $5)")
        .bind(dispute_id)
        .bind(admin_id)
        .bind(status)
        .bind(note)
        .bind(at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let (partner_id, number): (String, String) =
        on_tx!(tx, c => sqlx::query_as("SELECT partner_id, number FROM disputes WHERE id = $1").bind(dispute_id).fetch_one(&mut *c).await)?;
    audit::record(
        tx,
        audit::Entry::new(audit::Action::DisputeStatusChanged, &number).shop(&partner_id).after(if refund > 0 {
            serde_json::json!({"status": status, "note": note, "refund": refund})
        } else {
            serde_json::json!({"status": status, "note": note})
        }),
    )
    .await?;
    Ok(())
}

/// An admin takes an open dispute in review, saying why or what happens next (`dispute.updated`).
pub async fn review(db: &Db, bus: &Bus, dispute_id: &str, admin_id: &str, note: &str, now: i64) -> Result<(), DisputeError> {
    let (_, recorded) = async {
        let mut tx = db.begin().await?;
        let moved = on_tx!(&mut tx, c => sqlx::query("UPDATE disputes SET status = 'IN_REVIEW', updated_at = $2 WHERE id = $1 AND status = 'OPEN'")
            .bind(dispute_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        if moved != 1 {
            return Err(DisputeError::Closed);
        }
        status_entry(&mut tx, dispute_id, admin_id, "IN_REVIEW", note, 0, now).await?;
        let d = reread(&mut tx, dispute_id).await?;
        let recorded = events::record(&mut tx, &event(&d, Kind::DisputeUpdated, None), now).await?;
        tx.commit().await?;
        Ok::<_, DisputeError>((d, recorded))
    }
    .await?;
    bus.announce(recorded);
    Ok(())
}

/// An admin's decision on an open dispute.
#[derive(Debug, Clone)]
pub struct Decision {
    pub resolved: bool,
    pub reason: String,
    /// Credited to the vendor's wallet when resolved (0 for none).
    pub refund: i64,
}

/// [`decide`], in turn with the partner's other money movements (through the partner's wallet
/// actor): how the admin pages decide.
pub async fn decide_in_turn(
    state: &crate::state::AppState,
    partner_id: &str,
    dispute_id: &str,
    admin_id: &str,
    decision: Decision,
) -> Result<Dispute, DisputeError> {
    let (db, bus) = (state.db.clone(), state.bus.clone());
    let (partner, dispute, admin) = (partner_id.to_owned(), dispute_id.to_owned(), admin_id.to_owned());
    let job: crate::wallet::actor::Job<Result<Dispute, DisputeError>> =
        Box::new(move || Box::pin(async move { decide(&db, &bus, &partner, &dispute, &admin, &decision, crate::db::now_ms()).await }));
    crate::wallet::actor::serialised(&state.actors, partner_id, job).await.unwrap_or(Err(DisputeError::Unavailable))
}

/// Resolve (with an optional refund to the wallet) or reject a dispute in review, in one
/// transaction with the ledger entry, the event `dispute.resolved` and the notification. The
/// refund is credited once per dispute, ever (the status guard, and a unique index on the
/// ledger); the admin pages run it through the wallet actor ([`decide_in_turn`]).
pub async fn decide(
    db: &Db,
    bus: &Bus,
    partner_id: &str,
    dispute_id: &str,
    admin_id: &str,
    decision: &Decision,
    now: i64,
) -> Result<Dispute, DisputeError> {
    let current = find_for_partner(db, partner_id, dispute_id).await?.ok_or(DisputeError::NotFound)?;
    match current.status.as_str() {
        "IN_REVIEW" => {}
        "OPEN" => return Err(DisputeError::NotInReview),
        _ => return Err(DisputeError::Closed),
    }
    let refund = if decision.resolved { decision.refund } else { 0 };
    if refund < 0 || refund > current.amount_claimed.get() {
        return Err(DisputeError::RefundTooHigh);
    }
    let status = if decision.resolved { "RESOLVED" } else { "REJECTED" };
    let (decided, recorded) = async {
        let mut tx = db.begin().await?;
        let moved = on_tx!(&mut tx, c => sqlx::query(
            "UPDATE disputes SET status = $2, decision_reason = $3, refund_amount = $4, decided_by = $5, decided_at = $6, updated_at = $6 \
             WHERE id = $1 AND status = 'IN_REVIEW'",
        )
        .bind(dispute_id)
        .bind(status)
        .bind(&decision.reason)
        .bind(decision.resolved.then_some(refund))
        .bind(admin_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if moved != 1 {
            return Err(DisputeError::Closed);
        }
        status_entry(&mut tx, dispute_id, admin_id, status, &decision.reason, refund, now).await?;
        if refund > 0 {
            let reason = format!("{} · {}", current.number, decision.reason);
            let booking = crate::wallet::Booking {
                order_id: Some(&current.order_id),
                dispute_id: Some(dispute_id),
                reason: Some(&reason),
                ..crate::wallet::Booking::new(&current.partner_id, crate::wallet::EntryKind::DisputeRefund, crate::money::Fcfa(refund), now)
            };
            let booked = crate::wallet::book(&mut tx, booking).await?;
            if !booked {
                return Err(DisputeError::Closed);
            }
        }
        let d = reread(&mut tx, dispute_id).await?;
        let recorded = events::record(&mut tx, &event(&d, Kind::DisputeResolved, None), now).await?;
        tx.commit().await?;
        Ok::<_, DisputeError>((d, recorded))
    }
    .await?;
    bus.announce(recorded);
    Ok(decided)
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<Dispute>> {
    if Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    on_db!(db, pool => sqlx::query_as(&format!("{SELECT} WHERE d.id = $1")).bind(id).fetch_optional(pool).await)
}

/// A dispute, only if it is this partner's.
pub async fn find_for_partner(db: &Db, partner_id: &str, id: &str) -> sqlx::Result<Option<Dispute>> {
    Ok(find(db, id).await?.filter(|d| d.partner_id == partner_id))
}

/// Disputes newest first: one partner's (or everyone's, for admins), optionally with one
/// status (`open` means OPEN or IN_REVIEW); `limit` rows from `offset`, and the total.
pub async fn list(db: &Db, partner_id: Option<&str>, status: Option<&str>, offset: i64, limit: i64) -> sqlx::Result<(Vec<Dispute>, i64)> {
    let (a, b) = match status {
        Some("open") => ("OPEN", "IN_REVIEW"),
        Some(s) => (s, s),
        None => ("", ""),
    };
    let filter = "($1 = '' OR d.partner_id = $1) AND ($2 = '' OR d.status = $2 OR d.status = $3)";
    let rows = on_db!(db, pool => sqlx::query_as(&format!("{SELECT} WHERE {filter} ORDER BY d.created_at DESC, d.id DESC LIMIT $4 OFFSET $5"))
        .bind(partner_id.unwrap_or(""))
        .bind(a)
        .bind(b)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
    let total: i64 = on_db!(db, pool => sqlx::query_scalar(&format!("SELECT COUNT(*) FROM disputes d WHERE {filter}"))
        .bind(partner_id.unwrap_or(""))
        .bind(a)
        .bind(b)
        .fetch_one(pool)
        .await)?;
    Ok((rows, total))
}

/// The thread, oldest first.
pub async fn messages(db: &Db, dispute_id: &str) -> sqlx::Result<Vec<Message>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT m.id, m.author_role, u.full_name AS author_name, m.status, m.body, m.created_at FROM dispute_messages m \
         LEFT JOIN users u ON u.id = m.author_id WHERE m.dispute_id = $1 ORDER BY m.id",
    )
    .bind(dispute_id)
    .fetch_all(pool)
    .await)
}

pub async fn photos(db: &Db, dispute_id: &str) -> sqlx::Result<Vec<PhotoRef>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, width, height FROM dispute_photos WHERE dispute_id = $1 ORDER BY created_at, id")
        .bind(dispute_id)
        .fetch_all(pool)
        .await)
}

/// One photo's type and bytes.
pub async fn photo(db: &Db, dispute_id: &str, photo_id: &str) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    on_db!(db, pool => sqlx::query_as("SELECT content_type, bytes FROM dispute_photos WHERE dispute_id = $1 AND id = $2")
        .bind(dispute_id)
        .bind(photo_id)
        .fetch_optional(pool)
        .await)
}

/// Orders created in `[from_ms, to_ms)` with at least one dispute (the analytics' dispute rate).
pub async fn disputed_orders(db: &Db, partner_id: &str, from_ms: i64, to_ms: i64) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(DISTINCT d.order_id) FROM disputes d JOIN orders o ON o.id = d.order_id \
         WHERE d.partner_id = $1 AND o.created_at >= $2 AND o.created_at < $3",
    )
    .bind(partner_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_one(pool)
    .await)
}
