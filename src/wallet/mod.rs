//! Wallet: an append-only ledger per partner in integer FCFA. A completed order credits its
//! cash on delivery (and emits `payment.received`, once per order, ever) and debits its
//! delivery fee; a failed order debits the fee too (the courier made the trip); a cancelled
//! order costs nothing. Payouts hold their amount while pending and are debited when paid.
//! The balance always equals the sum of the ledger; available = balance − held.

pub mod actor;
pub mod api;
pub mod pages;
pub mod statement;

use crate::{
    accounts::phone::{Operator, Phone},
    db::{Db, Tx, now_ms},
    events::{self, Event, Kind},
    money::Fcfa,
    on_db, on_tx,
};

/// Smallest payout, FCFA.
pub const MIN_PAYOUT: Fcfa = Fcfa(1_000);

/// What a ledger entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A delivered order's cash on delivery (once per order, ever).
    CodCollected,
    /// A delivery attempt's fee: a delivered or failed first attempt at the order's price, a new
    /// attempt or a return at the configured share of it (once per order and attempt, ever).
    DeliveryFee,
    /// A paid payout.
    Payout,
    /// An admin's correction.
    Adjustment,
    /// A resolved dispute's refund (once per dispute, ever).
    DisputeRefund,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::CodCollected => "COD_COLLECTED",
            EntryKind::DeliveryFee => "DELIVERY_FEE",
            EntryKind::Payout => "PAYOUT",
            EntryKind::Adjustment => "ADJUSTMENT",
            EntryKind::DisputeRefund => "DISPUTE_REFUND",
        }
    }
}

/// One ledger entry to book, and what it is for.
#[derive(Clone, Copy, Debug)]
pub struct Booking<'a> {
    pub partner_id: &'a str,
    pub kind: EntryKind,
    /// Signed: a credit is positive, a debit negative.
    pub amount: crate::money::Fcfa,
    pub order_id: Option<&'a str>,
    pub payout_id: Option<&'a str>,
    pub dispute_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The order's delivery attempt it pays for (1 unless reattempted or returned).
    pub attempt: i64,
    pub at: i64,
}

impl<'a> Booking<'a> {
    pub fn new(partner_id: &'a str, kind: EntryKind, amount: crate::money::Fcfa, at: i64) -> Booking<'a> {
        Booking { partner_id, kind, amount, order_id: None, payout_id: None, dispute_id: None, reason: None, attempt: 1, at }
    }
}

/// Book one ledger entry in the caller's unit of work, unless it is a once-per-order (or
/// per-dispute) entry already booked: returns whether it was booked. Locks the partner's
/// account row (PostgreSQL) so that concurrent writers serialise; SQLite's single writer does
/// the same.
pub async fn book(tx: &mut Tx, b: Booking<'_>) -> sqlx::Result<bool> {
    let lock = tx.row_lock();
    on_tx!(tx, c => async {
        sqlx::query("INSERT INTO wallet_accounts (partner_id, balance, held, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (partner_id) DO NOTHING")
            .bind(b.partner_id)
            .bind(b.at)
            .execute(&mut *c)
            .await?;
        let balance: i64 = sqlx::query_scalar(&format!("SELECT balance FROM wallet_accounts WHERE partner_id = $1{lock}"))
            .bind(b.partner_id)
            .fetch_one(&mut *c)
            .await?;
        let booked = sqlx::query(
            "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, order_id, payout_id, reason, created_at, dispute_id, attempt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(b.partner_id)
        .bind(b.kind.as_str())
        .bind(b.amount)
        .bind(balance + b.amount.get())
        .bind(b.order_id)
        .bind(b.payout_id)
        .bind(b.reason)
        .bind(b.at)
        .bind(b.dispute_id)
        .bind(b.attempt)
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1;
        if booked {
            sqlx::query("UPDATE wallet_accounts SET balance = balance + $2, updated_at = $3 WHERE partner_id = $1")
                .bind(b.partner_id)
                .bind(b.amount)
                .bind(b.at)
                .execute(&mut *c)
                .await?;
        }
        Ok(booked)
    }
    .await)
}

/// Balance figures of a partner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub balance: Fcfa,
    pub held: Fcfa,
}

impl Balance {
    /// The balance less pending payouts: what a new payout may take. Delivery fees debited
    /// after a payout was requested can make it negative: then it is what the vendor owes,
    /// and pending payouts wait until the balance covers them again (see [`decide_payout`]).
    pub fn available(&self) -> Fcfa {
        self.balance - self.held
    }
}

pub async fn balance(db: &Db, partner_id: &str) -> sqlx::Result<Balance> {
    let row: Option<(Fcfa, Fcfa)> = on_db!(db, pool => sqlx::query_as("SELECT balance, held FROM wallet_accounts WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|(balance, held)| Balance { balance, held }).unwrap_or_default())
}

/// A partner's account as one statement sees it: the balance, the held amount and the last
/// ledger entry the balance includes (what a wallet actor starts from).
pub async fn snapshot(db: &Db, partner_id: &str) -> sqlx::Result<(Balance, i64)> {
    let row: Option<(Fcfa, Fcfa, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT a.balance, a.held, CAST(COALESCE((SELECT MAX(e.id) FROM wallet_entries e WHERE e.partner_id = a.partner_id), 0) AS BIGINT) \
         FROM wallet_accounts a WHERE a.partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(balance, held, last)| (Balance { balance, held }, last)).unwrap_or_default())
}

/// The sum of the ledger (tests check it equals the balance).
pub async fn ledger_sum(db: &Db, partner_id: &str) -> sqlx::Result<Fcfa> {
    on_db!(db, pool => sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_entries WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub kind: String,
    pub amount: Fcfa,
    pub balance_after: Fcfa,
    pub order_id: Option<String>,
    pub tracking_number: Option<String>,
    pub payout_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

/// Ledger filters.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub kind: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A page of the ledger, newest first, before entry id `before` when given.
pub async fn entries(db: &Db, partner_id: &str, f: &EntryFilter, before: Option<i64>, limit: i64) -> sqlx::Result<Vec<Entry>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT e.id, e.kind, e.amount, e.balance_after, e.order_id, o.tracking_number, e.payout_id, e.reason, e.created_at \
         FROM wallet_entries e LEFT JOIN orders o ON o.id = e.order_id \
         WHERE e.partner_id = $1 AND ($2 = '' OR e.kind = $2) AND e.created_at >= $3 AND e.created_at <= $4 AND e.id < $5 \
         ORDER BY e.id DESC LIMIT $6",
    )
    .bind(partner_id)
    .bind(f.kind.as_deref().unwrap_or(""))
    .bind(f.from_ms.unwrap_or(0))
    .bind(f.to_ms.unwrap_or(i64::MAX))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Payout {
    pub id: String,
    pub partner_id: String,
    pub amount: Fcfa,
    pub operator: String,
    pub phone: String,
    pub status: String,
    pub reference: Option<String>,
    pub reject_reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

pub async fn payouts(db: &Db, partner_id: &str) -> sqlx::Result<Vec<Payout>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, partner_id, amount, operator, phone, status, reference, reject_reason, created_at, decided_at FROM payouts \
         WHERE partner_id = $1 ORDER BY created_at DESC LIMIT 50",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await)
}

/// One of the partner's payouts.
pub async fn payout(db: &Db, partner_id: &str, id: &str) -> sqlx::Result<Option<Payout>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, partner_id, amount, operator, phone, status, reference, reject_reason, created_at, decided_at FROM payouts \
         WHERE partner_id = $1 AND id = $2",
    )
    .bind(partner_id)
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn pending_payouts(db: &Db) -> sqlx::Result<Vec<(Payout, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        payout: Payout,
        business_name: String,
    }
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(
        "SELECT p.id, p.partner_id, p.amount, p.operator, p.phone, p.status, p.reference, p.reject_reason, p.created_at, p.decided_at, \
         pa.business_name FROM payouts p JOIN partners pa ON pa.id = p.partner_id WHERE p.status = 'PENDING' ORDER BY p.created_at",
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(|r| (r.payout, r.business_name)).collect())
}

/// The latest payouts decided (paid or rejected), newest first, with their vendor's name.
pub async fn decided_payouts(db: &Db, limit: i64) -> sqlx::Result<Vec<(Payout, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        payout: Payout,
        business_name: String,
    }
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(
        "SELECT p.id, p.partner_id, p.amount, p.operator, p.phone, p.status, p.reference, p.reject_reason, p.created_at, p.decided_at, \
         pa.business_name FROM payouts p JOIN partners pa ON pa.id = p.partner_id WHERE p.status <> 'PENDING' ORDER BY p.decided_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(|r| (r.payout, r.business_name)).collect())
}

/// A payout request, checked.
#[derive(Debug, Clone)]
pub struct PayoutAsk {
    pub amount: Fcfa,
    pub phone: Phone,
    pub operator: &'static str,
}

/// Check a payout request (the portal's form and the API share it): `amount` as parsed (`None`
/// when it is not an amount), the mobile-money number, and the operator the vendor chose when
/// the form asks (it must be the number's). Errors go to `errors`, by field.
pub fn validate_payout(
    lang: crate::i18n::Lang,
    amount: Option<i64>,
    phone: &str,
    chosen_operator: Option<&str>,
    errors: &mut crate::web::forms::FieldErrors,
) -> Option<PayoutAsk> {
    use crate::i18n::Msg;
    match amount {
        Some(a) if a >= MIN_PAYOUT.get() => {}
        Some(_) => errors.add("amount", lang.fmt(Msg::ErrPayoutMinimum, &[("min", &crate::money::format_fcfa(MIN_PAYOUT.get()))])),
        None => errors.add("amount", lang.t(Msg::ErrAmount)),
    }
    let phone = Phone::parse(phone);
    let operator = phone.as_ref().and_then(operator_of);
    match (&phone, operator, chosen_operator) {
        (None, _, _) => errors.add("phone", lang.t(Msg::ErrPhone)),
        (Some(_), None, _) => errors.add("phone", lang.t(Msg::ErrPayoutOperatorUnknown)),
        (Some(_), Some(op), Some(chosen)) if op != chosen => errors.add(
            "operator",
            lang.fmt(Msg::ErrPayoutOperatorMismatch, &[("operator", if op == "MTN" { "MTN Mobile Money" } else { "Orange Money" })]),
        ),
        _ => {}
    }
    match (amount, phone, operator) {
        (Some(amount), Some(phone), Some(operator)) if errors.is_empty() => Some(PayoutAsk { amount: Fcfa(amount), phone, operator }),
        _ => None,
    }
}

/// Mobile-money operators payouts go to.
pub fn operator_of(phone: &Phone) -> Option<&'static str> {
    match phone.operator() {
        Operator::Mtn => Some("MTN"),
        Operator::Orange => Some("ORANGE"),
        Operator::Other => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("amount below the minimum")]
    BelowMinimum,
    #[error("amount above the available balance")]
    InsufficientFunds,
    #[error("payout not found or already decided")]
    NotPending,
    /// Fees debited since the request leave the balance below the pending payouts: paying
    /// this one would pay out money that is not there.
    #[error("the balance no longer covers the pending payouts")]
    NotCovered,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The partner's wallet actor could not run the command.
    #[error("wallet unavailable: {0}")]
    Unavailable(String),
}

/// A wallet failure on a page: the database out of reach gives the translated `503` every page
/// gives then (the cause must stay a `sqlx::Error` to be recognised); anything else is the
/// error page.
impl From<WalletError> for crate::web::PageError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Db(e) => e.into(),
            other => crate::web::PageError::Internal(other.into()),
        }
    }
}

/// Refusals compare by kind; failures by their message (a `sqlx::Error` has no equality).
impl PartialEq for WalletError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (WalletError::Db(a), WalletError::Db(b)) => a.to_string() == b.to_string(),
            (WalletError::Unavailable(a), WalletError::Unavailable(b)) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Hold `amount` for a payout. A repeated `request_token` (double submit) returns the first
/// payout instead of creating a second.
pub async fn request_payout(
    db: &Db,
    partner_id: &str,
    amount: Fcfa,
    phone: &Phone,
    operator: &str,
    request_token: &str,
) -> Result<String, WalletError> {
    request_payout_once(db, partner_id, amount, phone, operator, request_token, None).await
}

/// [`request_payout`], with an API request's idempotency key recorded in its transaction.
pub async fn request_payout_once(
    db: &Db,
    partner_id: &str,
    amount: Fcfa,
    phone: &Phone,
    operator: &str,
    request_token: &str,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<String, WalletError> {
    if amount < MIN_PAYOUT {
        return Err(WalletError::BelowMinimum);
    }
    match hold_payout(db, partner_id, amount, phone, operator, request_token, idem).await {
        // A concurrent double submit lost the race on the unique token: the same unit of work
        // again finds the winner's payout by its token (its first step) and returns it.
        Err(WalletError::Db(e)) if crate::db::is_unique_violation(&e) => {
            hold_payout(db, partner_id, amount, phone, operator, request_token, idem).await
        }
        other => other,
    }
}

/// The unit of work of a payout request: hold the amount if the available balance covers it,
/// and record the payout (with the idempotency key when given).
async fn hold_payout(
    db: &Db,
    partner_id: &str,
    amount: Fcfa,
    phone: &Phone,
    operator: &str,
    request_token: &str,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<String, WalletError> {
    let now = now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin().await?;
    let held: Result<String, WalletError> = on_tx!(&mut tx, c => async {
        if let Some(existing) = sqlx::query_scalar::<_, String>("SELECT id FROM payouts WHERE request_token = $1 AND partner_id = $2")
            .bind(request_token)
            .bind(partner_id)
            .fetch_optional(&mut *c)
            .await?
        {
            return Ok(existing);
        }
        sqlx::query("INSERT INTO wallet_accounts (partner_id, balance, held, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (partner_id) DO NOTHING")
            .bind(partner_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
        // Hold only if the available balance covers it: one conditional update, so that two
        // concurrent requests can never both pass.
        let held = sqlx::query("UPDATE wallet_accounts SET held = held + $2, updated_at = $3 WHERE partner_id = $1 AND balance - held >= $2")
            .bind(partner_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if held != 1 {
            return Err(WalletError::InsufficientFunds);
        }
        sqlx::query(
            "INSERT INTO payouts (id, partner_id, amount, operator, phone, status, request_token, created_at) VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7)",
        )
        .bind(&id)
        .bind(partner_id)
        .bind(amount)
        .bind(operator)
        .bind(phone.as_str())
        .bind(request_token)
        .bind(now)
        .execute(&mut *c)
        .await?;
        Ok(id.clone())
    }
    .await);
    let held = held?;
    if held == id {
        if let Some(key) = idem {
            crate::idempotency::record(&mut tx, key, 201, Some(&format!("payout:{id}")), None).await?;
        }
        let entry = crate::audit::Entry::new(crate::audit::Action::PayoutRequested, &id)
            .shop(partner_id)
            .after(serde_json::json!({"amount": amount.0, "operator": operator, "phone": phone.as_str()}));
        crate::audit::record(&mut tx, entry).await?;
        tx.commit().await?;
    }
    Ok(held)
}

/// The data of `payout.paid` and `payout.rejected` (they only tell the vendor).
#[derive(serde::Serialize)]
struct PayoutData<'a> {
    payout_id: &'a str,
    amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// An admin marks a pending payout paid (debit the ledger, release the hold) or rejected
/// (release the hold); the vendor is notified either way.
pub async fn decide_payout(db: &Db, bus: &events::Bus, payout_id: &str, paid: bool, note: &str, admin_id: &str) -> Result<(), WalletError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let lock = tx.row_lock();
    let p: Payout = on_tx!(&mut tx, c => async {
        let payout: Option<Payout> = sqlx::query_as(
            "UPDATE payouts SET status = $2, reference = CASE WHEN $2 = 'PAID' THEN $3 ELSE NULL END, \
             reject_reason = CASE WHEN $2 = 'REJECTED' THEN $3 ELSE NULL END, decided_at = $4, decided_by = $5 \
             WHERE id = $1 AND status = 'PENDING' \
             RETURNING id, partner_id, amount, operator, phone, status, reference, reject_reason, created_at, decided_at",
        )
        .bind(payout_id)
        .bind(if paid { "PAID" } else { "REJECTED" })
        .bind(note)
        .bind(now)
        .bind(admin_id)
        .fetch_optional(&mut *c)
        .await?;
        let Some(p) = payout else { return Err(WalletError::NotPending) };
        // The money rule: a payout is paid only from money that is there. With B the balance
        // and H the held amount (this payout's included), paying `a` leaves B − a against
        // H − a still held: it needs B ≥ H. Fees may take B below H (they are owed); pending
        // payouts then wait, or are rejected.
        let (balance, held): (i64, i64) = sqlx::query_as(&format!("SELECT balance, held FROM wallet_accounts WHERE partner_id = $1{lock}"))
            .bind(&p.partner_id)
            .fetch_one(&mut *c)
            .await?;
        if paid && balance < held {
            return Err(WalletError::NotCovered);
        }
        sqlx::query("UPDATE wallet_accounts SET held = held - $2, updated_at = $3 WHERE partner_id = $1")
            .bind(&p.partner_id)
            .bind(p.amount)
            .bind(now)
            .execute(&mut *c)
            .await?;
        Ok(p)
    }
    .await)?;
    if paid {
        book(
            &mut tx,
            Booking { payout_id: Some(&p.id), reason: Some(note), ..Booking::new(&p.partner_id, EntryKind::Payout, -p.amount, now) },
        )
        .await?;
    }
    let (kind, data) = if paid {
        (Kind::PayoutPaid, PayoutData { payout_id: &p.id, amount: p.amount.get(), reference: Some(note), reason: None })
    } else {
        (Kind::PayoutRejected, PayoutData { payout_id: &p.id, amount: p.amount.get(), reference: None, reason: Some(note) })
    };
    let recorded = events::record(&mut tx, &Event::new(&p.partner_id, kind, None, &data), now).await?;
    tx.commit().await?;
    bus.announce(recorded);
    Ok(())
}

/// An admin's correction, with its reason.
pub async fn adjust(db: &Db, partner_id: &str, amount: Fcfa, reason: &str) -> Result<(), WalletError> {
    let mut tx = db.begin().await?;
    book(&mut tx, Booking { reason: Some(reason), ..Booking::new(partner_id, EntryKind::Adjustment, amount, now_ms()) }).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_met_the_database_away_says_unavailable() {
        let status = |e: WalletError| poem::Error::from(crate::web::PageError::from(e)).status();
        let away = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(status(WalletError::Db(sqlx::Error::Io(away))), poem::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(WalletError::NotCovered), poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    }
}
