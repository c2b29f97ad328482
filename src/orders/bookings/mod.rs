//! Booking requests: a customer asks for a delivery on the vendor's public booking page
//! (`/book/<slug>/`), and the request waits in the vendor's "À confirmer" inbox. The vendor
//! sets the cash to collect, may correct the customer's details, and accepts it (it becomes
//! an order, with its PIN, in the same transaction) or declines it with a reason the customer
//! reads on the request's own page (`/r/<token>/`). Unanswered, a request expires after
//! `BOOKING_TTL_HOURS`. Raising a request records `booking.requested` (notification and
//! webhook).

pub mod pages;

use serde::Serialize;

use crate::{
    accounts::phone::Phone,
    db::{Db, Tx, now_ms},
    events::{self, Bus, Event, Kind},
    geo::Quartier,
    i18n::{Lang, Msg},
    money::Fcfa,
    on_db, on_tx,
    orders::{
        repo::Order,
        service::{self, Actor, Once, OrderError, Source, ValidOrder},
    },
    security,
};

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Accepted,
    Declined,
    Expired,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pending, Status::Accepted, Status::Declined, Status::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Accepted => "ACCEPTED",
            Status::Declined => "DECLINED",
            Status::Expired => "EXPIRED",
        }
    }

    pub fn label(self) -> Msg {
        match self {
            Status::Pending => Msg::BookingStatusPending,
            Status::Accepted => Msg::BookingStatusAccepted,
            Status::Declined => Msg::BookingStatusDeclined,
            Status::Expired => Msg::BookingStatusExpired,
        }
    }

    pub fn tone(self) -> &'static str {
        match self {
            Status::Pending => "warn",
            Status::Accepted => "ok",
            Status::Declined | Status::Expired => "err",
        }
    }
}

/// A stored status that is none of ours: reading the row fails.
#[derive(Debug, thiserror::Error)]
#[error("unknown booking request status {0:?}")]
pub struct UnknownStatus(pub String);

impl TryFrom<String> for Status {
    type Error = UnknownStatus;

    fn try_from(s: String) -> Result<Status, UnknownStatus> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or(UnknownStatus(s))
    }
}

/// A booking request as stored, with its places' names and, once accepted, its order.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct BookingRequest {
    pub id: String,
    pub partner_id: String,
    pub public_token: String,
    #[sqlx(try_from = "String")]
    status: Status,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub dropoff_quartier_id: i64,
    pub dropoff_quartier: String,
    pub dropoff_city_id: i64,
    pub dropoff_city: String,
    pub dropoff_address: String,
    pub package_description: String,
    pub quoted_fee: Fcfa,
    pub language: String,
    pub decline_reason: Option<String>,
    pub order_id: Option<String>,
    pub tracking_number: Option<String>,
    pub order_token: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

impl BookingRequest {
    /// Its status now: a pending request past its time is expired, even before the sweep
    /// writes it.
    pub fn status(&self) -> Status {
        self.status_at(now_ms())
    }

    pub fn status_at(&self, now: i64) -> Status {
        if self.status == Status::Pending && self.expires_at <= now { Status::Expired } else { self.status }
    }

    pub fn lang(&self) -> Lang {
        Lang::parse(&self.language).unwrap_or_default()
    }
}

const SELECT: &str = "SELECT b.id, b.partner_id, b.public_token, b.status, b.recipient_name, b.recipient_phone, b.dropoff_quartier_id, \
     q.name AS dropoff_quartier, q.city_id AS dropoff_city_id, c.name AS dropoff_city, b.dropoff_address, b.package_description, \
     b.quoted_fee, b.language, b.decline_reason, b.order_id, o.tracking_number, o.public_token AS order_token, b.created_at, \
     b.expires_at, b.decided_at FROM booking_requests b JOIN quartiers q ON q.id = b.dropoff_quartier_id \
     JOIN cities c ON c.id = q.city_id LEFT JOIN orders o ON o.id = b.order_id";

/// What a customer asked, checked (the drop-off side of an order; the pickup is the vendor's).
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub dropoff: Quartier,
    pub dropoff_address: String,
    pub recipient_name: String,
    pub recipient_phone: Phone,
    pub package_description: String,
    /// The fee the booking page showed for this drop-off.
    pub fee: Fcfa,
    /// The customer's language: what the request's page and messages speak.
    pub lang: Lang,
}

/// Why a decision on a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("booking request not found")]
    NotFound,
    /// Already accepted, declined or expired.
    #[error("the booking request is {0:?}, no longer waiting")]
    NotPending(Status),
    #[error("a reason is required")]
    ReasonRequired,
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl BookingError {
    /// What the vendor reads when the request cannot be decided.
    pub fn message(&self) -> Msg {
        match self {
            BookingError::NotPending(Status::Expired) => Msg::ErrBookingExpired,
            BookingError::NotPending(_) => Msg::ErrBookingDecided,
            BookingError::ReasonRequired => Msg::ErrBookingReason,
            _ => Msg::ErrNotFoundText,
        }
    }
}

/// The data of `booking.requested`.
#[derive(Serialize)]
struct RequestedData<'a> {
    booking_request_id: &'a str,
    status: Status,
    recipient: Recipient<'a>,
    dropoff: Dropoff<'a>,
    package_description: &'a str,
    delivery_fee: Fcfa,
    currency: &'static str,
    expires_at: String,
}

#[derive(Serialize)]
struct Recipient<'a> {
    name: &'a str,
    phone: &'a str,
}

#[derive(Serialize)]
struct Dropoff<'a> {
    city: &'a str,
    quartier: &'a str,
    address: &'a str,
}

/// Record a customer's request, waiting for the vendor until `at + ttl_ms`, with its event.
/// Returns the request's public token (its page is `/r/<token>/`).
pub async fn submit(db: &Db, bus: &Bus, partner_id: &str, r: &NewRequest, ttl_ms: i64, at: i64) -> sqlx::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let token = security::random_token(16);
    let expires_at = at + ttl_ms;
    let city = crate::geo::cities(db).await?.into_iter().find(|c| c.id == r.dropoff.city_id).map(|c| c.name).unwrap_or_default();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO booking_requests (id, partner_id, public_token, status, recipient_name, recipient_phone, dropoff_quartier_id, \
         dropoff_address, package_description, quoted_fee, language, created_at, expires_at) \
         VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(partner_id)
    .bind(&token)
    .bind(&r.recipient_name)
    .bind(r.recipient_phone.as_str())
    .bind(r.dropoff.id)
    .bind(&r.dropoff_address)
    .bind(&r.package_description)
    .bind(r.fee)
    .bind(r.lang.code())
    .bind(at)
    .bind(expires_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let data = RequestedData {
        booking_request_id: &id,
        status: Status::Pending,
        recipient: Recipient { name: &r.recipient_name, phone: r.recipient_phone.as_str() },
        dropoff: Dropoff { city: &city, quartier: &r.dropoff.name, address: &r.dropoff_address },
        package_description: &r.package_description,
        delivery_fee: r.fee,
        currency: "XAF",
        expires_at: crate::web::api::rfc3339(expires_at),
    };
    let recorded = events::record(&mut tx, &Event::new(partner_id, Kind::BookingRequested, None, &data), at).await?;
    tx.commit().await?;
    bus.announce(recorded);
    Ok(token)
}

/// Accept a pending request as the order `v` (the vendor's corrected details and the cash to
/// collect): the order is created and the request marked accepted in one transaction, so a
/// request becomes one order at most, whoever clicks twice.
pub async fn accept(db: &Db, bus: &Bus, partner_id: &str, request_id: &str, v: &ValidOrder, actor: &Actor) -> Result<Order, BookingError> {
    let at = now_ms();
    let ids =
        service::create_many(db, bus, partner_id, Source::Booking, std::slice::from_ref(v), actor, at, Some(Once::Booking(request_id)))
            .await?;
    match ids.first() {
        Some(id) => crate::orders::repo::find(db, id).await?.ok_or(BookingError::NotFound),
        None => Err(match find_for_partner(db, partner_id, request_id).await? {
            Some(r) => BookingError::NotPending(r.status_at(at)),
            None => BookingError::NotFound,
        }),
    }
}

/// Claim a pending, unexpired request for its order, in the order's unit of work; `false`
/// when it is not (or no longer) waiting.
pub async fn claim(tx: &mut Tx, partner_id: &str, request_id: &str, at: i64) -> sqlx::Result<bool> {
    let claimed = on_tx!(tx, c => sqlx::query(
        "UPDATE booking_requests SET status = 'ACCEPTED', decided_at = $3 WHERE id = $1 AND partner_id = $2 AND status = 'PENDING' AND expires_at > $3",
    )
    .bind(request_id)
    .bind(partner_id)
    .bind(at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(claimed == 1)
}

/// Link a claimed request to the order it became (same unit of work as [`claim`]).
pub async fn link(tx: &mut Tx, request_id: &str, order_id: &str) -> sqlx::Result<()> {
    on_tx!(tx, c => sqlx::query("UPDATE booking_requests SET order_id = $2 WHERE id = $1")
        .bind(request_id)
        .bind(order_id)
        .execute(&mut *c)
        .await
        .map(|_| ()))
}

/// Decline a pending request with the reason its customer reads.
pub async fn decline(db: &Db, partner_id: &str, request_id: &str, reason: &str) -> Result<(), BookingError> {
    let reason = reason.trim();
    if reason.chars().count() < 3 {
        return Err(BookingError::ReasonRequired);
    }
    let at = now_ms();
    let declined = on_db!(db, pool => sqlx::query(
        "UPDATE booking_requests SET status = 'DECLINED', decline_reason = $3, decided_at = $4 \
         WHERE id = $1 AND partner_id = $2 AND status = 'PENDING' AND expires_at > $4",
    )
    .bind(request_id)
    .bind(partner_id)
    .bind(reason)
    .bind(at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if declined == 1 {
        return Ok(());
    }
    Err(match find_for_partner(db, partner_id, request_id).await? {
        Some(r) => BookingError::NotPending(r.status_at(at)),
        None => BookingError::NotFound,
    })
}

/// Mark the requests whose time ran out as expired; returns how many.
pub async fn expire_due(db: &Db, at: i64) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query("UPDATE booking_requests SET status = 'EXPIRED', decided_at = expires_at WHERE status = 'PENDING' AND expires_at <= $1")
        .bind(at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}

/// How many requests wait for the vendor.
pub async fn pending_count(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM booking_requests WHERE partner_id = $1 AND status = 'PENDING' AND expires_at > $2")
        .bind(partner_id)
        .bind(now_ms())
        .fetch_one(pool)
        .await)
}

/// The vendor's requests: those waiting (oldest first, the first to expire), then the last
/// `decided` decided ones.
pub async fn inbox(db: &Db, partner_id: &str, decided: i64) -> sqlx::Result<(Vec<BookingRequest>, Vec<BookingRequest>)> {
    let now = now_ms();
    let waiting = format!("{SELECT} WHERE b.partner_id = $1 AND b.status = 'PENDING' AND b.expires_at > $2 ORDER BY b.created_at, b.id");
    let done = format!(
        "{SELECT} WHERE b.partner_id = $1 AND (b.status <> 'PENDING' OR b.expires_at <= $2) ORDER BY b.created_at DESC, b.id DESC LIMIT $3"
    );
    let waiting: Vec<BookingRequest> = on_db!(db, pool => sqlx::query_as(&waiting).bind(partner_id).bind(now).fetch_all(pool).await)?;
    let done: Vec<BookingRequest> =
        on_db!(db, pool => sqlx::query_as(&done).bind(partner_id).bind(now).bind(decided).fetch_all(pool).await)?;
    Ok((waiting, done))
}

pub async fn find_for_partner(db: &Db, partner_id: &str, id: &str) -> sqlx::Result<Option<BookingRequest>> {
    let sql = format!("{SELECT} WHERE b.id = $1 AND b.partner_id = $2");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).bind(partner_id).fetch_optional(pool).await)
}

pub async fn find_by_token(db: &Db, token: &str) -> sqlx::Result<Option<BookingRequest>> {
    let sql = format!("{SELECT} WHERE b.public_token = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(token).fetch_optional(pool).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_status_decodes_exactly() {
        for st in Status::ALL {
            assert_eq!(Status::try_from(st.as_str().to_owned()).unwrap(), st);
        }
        assert!(Status::try_from("pending".to_owned()).is_err());
    }
}
