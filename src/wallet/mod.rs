//! Wallet: an append-only ledger per partner in integer FCFA. A completed order credits its
//! cash on delivery (and emits `payment.received`, once per order, ever) and debits its
//! delivery fee; a failed order debits the fee too (the courier made the trip); a cancelled
//! order costs nothing. Payouts hold their amount while pending and are debited when paid.
//! The balance always equals the sum of the ledger; available = balance − held.

pub mod api;
pub mod pages;

use crate::{
    accounts::phone::{Operator, Phone},
    db::{Db, now_ms},
    on_db,
};

/// Smallest payout, FCFA.
pub const MIN_PAYOUT: i64 = 1_000;

/// Book one ledger entry inside the caller's transaction, unless it is a once-per-order entry
/// already booked. Locks the partner's account row (PostgreSQL) so that concurrent writers
/// serialise; SQLite's single writer does the same. Evaluates to whether it was booked.
#[macro_export]
macro_rules! wallet_book {
    ($tx:expr, $is_pg:expr, $partner_id:expr, $kind:expr, $amount:expr, $order_id:expr, $payout_id:expr, $reason:expr, $at:expr) => {
        $crate::wallet_book!($tx, $is_pg, $partner_id, $kind, $amount, $order_id, $payout_id, $reason, $at, None::<&str>)
    };
    ($tx:expr, $is_pg:expr, $partner_id:expr, $kind:expr, $amount:expr, $order_id:expr, $payout_id:expr, $reason:expr, $at:expr, $dispute_id:expr) => {{
        sqlx::query(
            "INSERT INTO wallet_accounts (partner_id, balance, held, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (partner_id) DO NOTHING",
        )
        .bind($partner_id)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
        let lock = if $is_pg { " FOR UPDATE" } else { "" };
        let balance: i64 = sqlx::query_scalar(&format!("SELECT balance FROM wallet_accounts WHERE partner_id = $1{lock}"))
            .bind($partner_id)
            .fetch_one(&mut *$tx)
            .await?;
        let amount: i64 = $amount;
        let booked = sqlx::query(
            "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, order_id, payout_id, reason, created_at, dispute_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind($partner_id)
        .bind($kind)
        .bind(amount)
        .bind(balance + amount)
        .bind($order_id)
        .bind($payout_id)
        .bind($reason)
        .bind($at)
        .bind($dispute_id)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if booked {
            sqlx::query("UPDATE wallet_accounts SET balance = balance + $2, updated_at = $3 WHERE partner_id = $1")
                .bind($partner_id)
                .bind(amount)
                .bind($at)
                .execute(&mut *$tx)
                .await?;
        }
        booked
    }};
}

/// The `data` of a `payment.received` event.
#[derive(serde::Serialize)]
pub struct PaymentData<'a> {
    pub order_id: &'a str,
    pub tracking_number: &'a str,
    pub amount: i64,
    pub currency: &'static str,
}

/// Balance figures of a partner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub balance: i64,
    pub held: i64,
}

impl Balance {
    /// The balance less pending payouts: what a new payout may take. Delivery fees debited
    /// after a payout was requested can make it negative: then it is what the vendor owes,
    /// and pending payouts wait until the balance covers them again (see [`decide_payout`]).
    pub fn available(&self) -> i64 {
        self.balance - self.held
    }
}

pub async fn balance(db: &Db, partner_id: &str) -> sqlx::Result<Balance> {
    let row: Option<(i64, i64)> = on_db!(db, pool => sqlx::query_as("SELECT balance, held FROM wallet_accounts WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|(balance, held)| Balance { balance, held }).unwrap_or_default())
}

/// The sum of the ledger (tests check it equals the balance).
pub async fn ledger_sum(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_entries WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
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
    pub amount: i64,
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

/// Mobile-money operators payouts go to.
pub fn operator_of(phone: &Phone) -> Option<&'static str> {
    match phone.operator() {
        Operator::Mtn => Some("MTN"),
        Operator::Orange => Some("ORANGE"),
        Operator::Other => None,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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
    #[error("database: {0}")]
    Db(String),
    #[error(transparent)]
    Dispute(#[from] crate::disputes::DisputeError),
}

impl From<sqlx::Error> for WalletError {
    fn from(e: sqlx::Error) -> Self {
        WalletError::Db(e.to_string())
    }
}

/// Hold `amount` for a payout. A repeated `request_token` (double submit) returns the first
/// payout instead of creating a second.
pub async fn request_payout(
    db: &Db,
    partner_id: &str,
    amount: i64,
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
    amount: i64,
    phone: &Phone,
    operator: &str,
    request_token: &str,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<String, WalletError> {
    if amount < MIN_PAYOUT {
        return Err(WalletError::BelowMinimum);
    }
    let now = now_ms();
    let is_pg = db.is_postgres();
    let id = uuid::Uuid::new_v4().to_string();
    let result: Result<String, WalletError> = on_db!(db, pool => async {
        // SQLite takes the write lock at BEGIN; PostgreSQL locks the account row below.
        let mut tx = if is_pg { pool.begin().await? } else { pool.begin_with("BEGIN IMMEDIATE").await? };
        if let Some(existing) = sqlx::query_scalar::<_, String>("SELECT id FROM payouts WHERE request_token = $1 AND partner_id = $2")
            .bind(request_token)
            .bind(partner_id)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(existing);
        }
        sqlx::query("INSERT INTO wallet_accounts (partner_id, balance, held, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (partner_id) DO NOTHING")
            .bind(partner_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // Hold only if the available balance covers it: one conditional update, so that two
        // concurrent requests can never both pass.
        let held = sqlx::query("UPDATE wallet_accounts SET held = held + $2, updated_at = $3 WHERE partner_id = $1 AND balance - held >= $2")
            .bind(partner_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
        if let Some(key) = idem {
            crate::idempotency::record(&mut *tx, key, 201, Some(&format!("payout:{id}")), None).await?;
        }
        tx.commit().await?;
        Ok(id.clone())
    }
    .await);
    match result {
        // A concurrent double submit lost the race on the unique token: return the winner's.
        Err(WalletError::Db(_)) => {
            let existing: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT id FROM payouts WHERE request_token = $1 AND partner_id = $2")
                .bind(request_token)
                .bind(partner_id)
                .fetch_optional(pool)
                .await)?;
            existing.ok_or_else(|| WalletError::Db("payout request failed".into()))
        }
        other => other,
    }
}

/// An admin marks a pending payout paid (debit the ledger, release the hold) or rejected
/// (release the hold); the vendor is notified either way.
pub async fn decide_payout(db: &Db, payout_id: &str, paid: bool, note: &str, admin_id: &str) -> Result<(), WalletError> {
    let now = now_ms();
    let is_pg = db.is_postgres();
    on_db!(db, pool => async {
        let mut tx = if is_pg { pool.begin().await? } else { pool.begin_with("BEGIN IMMEDIATE").await? };
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
        .fetch_optional(&mut *tx)
        .await?;
        let Some(p) = payout else { return Err(WalletError::NotPending) };
        // The money rule: a payout is paid only from money that is there. With B the balance
        // and H the held amount (this payout's included), paying `a` leaves B − a against
        // H − a still held: it needs B ≥ H. Fees may take B below H (they are owed); pending
        // payouts then wait, or are rejected.
        let lock = if is_pg { " FOR UPDATE" } else { "" };
        let (balance, held): (i64, i64) = sqlx::query_as(&format!("SELECT balance, held FROM wallet_accounts WHERE partner_id = $1{lock}"))
            .bind(&p.partner_id)
            .fetch_one(&mut *tx)
            .await?;
        if paid && balance < held {
            return Err(WalletError::NotCovered);
        }
        sqlx::query("UPDATE wallet_accounts SET held = held - $2, updated_at = $3 WHERE partner_id = $1")
            .bind(&p.partner_id)
            .bind(p.amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if paid {
            crate::wallet_book!(tx, is_pg, &p.partner_id, "PAYOUT", -p.amount, None::<&str>, Some(p.id.as_str()), Some(note), now);
        }
        let lang: Option<String> = sqlx::query_scalar("SELECT u.language FROM partners pa JOIN users u ON u.id = pa.user_id WHERE pa.id = $1")
            .bind(&p.partner_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
        let lang = lang.as_deref().and_then(crate::i18n::Lang::parse).unwrap_or_default();
        let amount = crate::web::components::format_fcfa(p.amount);
        let (title, message) = if paid {
            (lang.t(crate::i18n::Msg::PayoutPaidTitle), lang.fmt(crate::i18n::Msg::PayoutPaidText, &[("amount", &amount), ("reference", note)]))
        } else {
            (lang.t(crate::i18n::Msg::PayoutRejectedTitle), lang.fmt(crate::i18n::Msg::PayoutRejectedText, &[("amount", &amount), ("reason", note)]))
        };
        sqlx::query(
            "INSERT INTO partner_notifications (partner_id, notification_type, title, message, order_id, is_read, created_at) VALUES ($1, 'system', $2, $3, NULL, FALSE, $4)",
        )
        .bind(&p.partner_id)
        .bind(title)
        .bind(&message)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await)
}

/// An admin's correction, with its reason.
pub async fn adjust(db: &Db, partner_id: &str, amount: i64, reason: &str) -> Result<(), WalletError> {
    let now = now_ms();
    let is_pg = db.is_postgres();
    on_db!(db, pool => async {
        let mut tx = if is_pg { pool.begin().await? } else { pool.begin_with("BEGIN IMMEDIATE").await? };
        crate::wallet_book!(tx, is_pg, partner_id, "ADJUSTMENT", amount, None::<&str>, None::<&str>, Some(reason), now);
        tx.commit().await?;
        Ok::<(), WalletError>(())
    }
    .await)
}
