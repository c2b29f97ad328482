//! Monthly invoices: one per partner per month with deliveries, numbered `FAC-YYYY-NNNNNN`
//! without gaps within a year (the counter moves in the invoice's own transaction), listing
//! each delivery fee, TVA 19.25 % included, with both parties' legal details. An issued
//! invoice never changes (its lines and customer are frozen in the row); a correction is a
//! credit note. Downloadable as PDF (written here) and CSV.

pub mod pages;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{
    db::{Db, Tx, now_ms},
    douala::{self, douala},
    events::{self, Bus, Event, Kind, Recorded},
    i18n::{Lang, Msg},
    money::{Fcfa, format_fcfa},
    on_db, on_tx, pdf,
    web::components::format_date,
};

/// Cameroon's TVA, in basis points.
pub const TVA_BPS: i64 = 1925;

/// DELIVR-CM's own details, printed on every invoice.
pub const ISSUER: &[&str] = &[
    "DELIVR-CM SARL",
    "Rue Joss, Bonanjo — BP 1234 Douala, Cameroun",
    "NIU : M042600012345X",
    "RCCM : RC/DLA/2024/B/01234",
    "factures@delivr.cm",
];

/// One delivery fee on an invoice.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Line {
    pub date_ms: i64,
    pub tracking_number: String,
    pub dropoff: String,
    /// Fee, TVA included.
    pub amount: Fcfa,
}

/// The customer as invoiced (frozen at issue).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Customer {
    pub business_name: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub niu: String,
    pub rccm: String,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Invoice {
    pub id: String,
    pub partner_id: String,
    pub number: String,
    pub month: String,
    pub kind: String,
    pub subtotal: Fcfa,
    pub tva: Fcfa,
    pub total: Fcfa,
    pub lines: String,
    pub customer: String,
    pub created_at: i64,
}

impl Invoice {
    pub fn lines(&self) -> Vec<Line> {
        serde_json::from_str(&self.lines).unwrap_or_default()
    }

    pub fn customer(&self) -> Customer {
        serde_json::from_str(&self.customer).unwrap_or_default()
    }
}

/// Split a TVA-inclusive total into (excluding TVA, TVA), in whole FCFA.
pub fn split_tva(total: Fcfa) -> (Fcfa, Fcfa) {
    let tva = Fcfa((total.get() * TVA_BPS + (10_000 + TVA_BPS) / 2) / (10_000 + TVA_BPS));
    (total - tva, tva)
}

/// `YYYY-MM` → the first day of that month.
pub fn parse_month(month: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok().filter(|d| d.year() >= 2020)
}

/// The month before the one containing `now_ms` (Douala time), as `YYYY-MM`.
pub fn previous_month(now_ms: i64) -> String {
    let today = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now_ms).unwrap_or_default().with_timezone(&douala()).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let prev = first.pred_opt().unwrap_or(first);
    format!("{:04}-{:02}", prev.year(), prev.month())
}

fn month_bounds(first: NaiveDate) -> (i64, i64) {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    (douala::day_start(first), douala::day_start(next))
}

/// The next number of a year's sequence of one kind, in the caller's unit of work: the
/// counter row is locked by the update, and rolls back with the transaction, so no gap.
async fn next_number(tx: &mut Tx, year: i64, kind: &str) -> sqlx::Result<i64> {
    on_tx!(tx, c => async {
        sqlx::query("INSERT INTO invoice_counters (year, kind, last) VALUES ($1, $2, 0) ON CONFLICT (year, kind) DO NOTHING")
            .bind(year)
            .bind(kind)
            .execute(&mut *c)
            .await?;
        sqlx::query_scalar("UPDATE invoice_counters SET last = last + 1 WHERE year = $1 AND kind = $2 RETURNING last")
            .bind(year)
            .bind(kind)
            .fetch_one(&mut *c)
            .await
    }
    .await)
}

/// The data of `invoice.issued` (it only tells the vendor).
#[derive(serde::Serialize)]
struct IssuedData<'a> {
    invoice_id: &'a str,
    number: &'a str,
    month: &'a str,
    total: Fcfa,
}

pub const SELECT: &str = "SELECT id, partner_id, number, month, kind, subtotal, tva, total, lines, customer, created_at FROM invoices";

/// Issue the invoice of `partner_id` for `month` (`YYYY-MM`). `None` when the month had no
/// delivery fee or is already invoiced.
pub async fn generate(db: &Db, bus: &Bus, partner_id: &str, month: &str) -> anyhow::Result<Option<Invoice>> {
    let first = parse_month(month).ok_or_else(|| anyhow::anyhow!("not a month: {month}"))?;
    let (start, end) = month_bounds(first);
    let now = now_ms();
    let year = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now).unwrap_or_default().with_timezone(&douala()).year() as i64;
    let id = uuid::Uuid::new_v4().to_string();
    #[derive(sqlx::FromRow)]
    struct FeeRow {
        created_at: i64,
        amount: Fcfa,
        tracking_number: String,
        dropoff: String,
    }
    #[derive(sqlx::FromRow)]
    struct CustomerRow {
        business_name: String,
        full_name: String,
        email: String,
        phone: String,
        pickup_address: Option<String>,
        niu: Option<String>,
        rccm: Option<String>,
    }
    let result: sqlx::Result<Option<Recorded>> = async {
        // The counter row serialises numbering: SQLite's write lock from BEGIN, a row lock on PostgreSQL.
        let mut tx = db.begin().await?;
        let exists: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT id FROM invoices WHERE partner_id = $1 AND month = $2 AND kind = 'INVOICE'")
            .bind(partner_id)
            .bind(month)
            .fetch_optional(&mut *c)
            .await)?;
        if exists.is_some() {
            return Ok(None);
        }
        let fees: Vec<FeeRow> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT e.created_at, -e.amount AS amount, o.tracking_number, q.name AS dropoff FROM wallet_entries e \
             JOIN orders o ON o.id = e.order_id JOIN quartiers q ON q.id = o.dropoff_quartier_id \
             WHERE e.partner_id = $1 AND e.kind = 'DELIVERY_FEE' AND e.created_at >= $2 AND e.created_at < $3 ORDER BY e.created_at, e.id",
        )
        .bind(partner_id)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *c)
        .await)?;
        if fees.is_empty() {
            return Ok(None);
        }
        let c: CustomerRow = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT p.business_name, u.full_name, u.email, p.phone, p.pickup_address, p.niu, p.rccm FROM partners p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
        )
        .bind(partner_id)
        .fetch_one(&mut *c)
        .await)?;
        let seq = next_number(&mut tx, year, "INVOICE").await?;
        let number = format!("FAC-{year}-{seq:06}");
        let lines: Vec<Line> = fees.iter().map(|f| Line { date_ms: f.created_at, tracking_number: f.tracking_number.clone(), dropoff: f.dropoff.clone(), amount: f.amount }).collect();
        let total: Fcfa = lines.iter().map(|l| l.amount).sum();
        let (subtotal, tva) = split_tva(total);
        let customer = Customer {
            business_name: c.business_name,
            contact_name: c.full_name,
            email: c.email,
            phone: c.phone,
            address: c.pickup_address.unwrap_or_default(),
            niu: c.niu.unwrap_or_default(),
            rccm: c.rccm.unwrap_or_default(),
        };
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO invoices (id, partner_id, number, year, seq, month, kind, subtotal, tva, total, lines, customer, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'INVOICE', $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(partner_id)
        .bind(&number)
        .bind(year)
        .bind(seq)
        .bind(month)
        .bind(subtotal)
        .bind(tva)
        .bind(total)
        .bind(serde_json::to_string(&lines).unwrap_or_default())
        .bind(serde_json::to_string(&customer).unwrap_or_default())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let issued = IssuedData { invoice_id: &id, number: &number, month, total };
        let recorded = events::record(&mut tx, &Event::new(partner_id, Kind::InvoiceIssued, None, &issued), now).await?;
        tx.commit().await?;
        Ok(Some(recorded))
    }
    .await;
    match result {
        Ok(Some(recorded)) => {
            bus.announce(recorded);
            Ok(find(db, &id).await?)
        }
        Ok(None) => Ok(None),
        // Another instance issued it at the same moment.
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Issue every invoice of `month`; returns how many were issued.
pub async fn close_month(db: &Db, bus: &Bus, month: &str) -> anyhow::Result<usize> {
    let first = parse_month(month).ok_or_else(|| anyhow::anyhow!("not a month (YYYY-MM): {month}"))?;
    let (start, end) = month_bounds(first);
    let partners: Vec<String> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT DISTINCT partner_id FROM wallet_entries WHERE kind = 'DELIVERY_FEE' AND created_at >= $1 AND created_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await)?;
    let mut issued = 0;
    for p in partners {
        issued += usize::from(generate(db, bus, &p, month).await?.is_some());
    }
    Ok(issued)
}

/// Correct an issued invoice with a credit note cancelling it in full (numbered in its own
/// yearly sequence, `AV-YYYY-NNNNNN`). The invoice itself never changes.
pub async fn credit_note(db: &Db, invoice_id: &str, reason: &str) -> anyhow::Result<Option<Invoice>> {
    let Some(original) = find(db, invoice_id).await?.filter(|i| i.kind == "INVOICE") else { return Ok(None) };
    let now = now_ms();
    let year = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now).unwrap_or_default().with_timezone(&douala()).year() as i64;
    let id = uuid::Uuid::new_v4().to_string();
    let lines: Vec<Line> = original.lines().into_iter().map(|l| Line { amount: -l.amount, ..l }).collect();
    let mut customer = original.customer();
    customer.address = format!("{} — {reason}", customer.address);
    let done: sqlx::Result<bool> = async {
        let mut tx = db.begin().await?;
        let exists: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT id FROM invoices WHERE credit_for = $1").bind(invoice_id).fetch_optional(&mut *c).await)?;
        if exists.is_some() {
            return Ok(false);
        }
        let seq = next_number(&mut tx, year, "CREDIT_NOTE").await?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO invoices (id, partner_id, number, year, seq, month, kind, subtotal, tva, total, lines, customer, credit_for, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'CREDIT_NOTE', $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(&original.partner_id)
        .bind(format!("AV-{year}-{seq:06}"))
        .bind(year)
        .bind(seq)
        .bind(&original.month)
        .bind(-original.subtotal)
        .bind(-original.tva)
        .bind(-original.total)
        .bind(serde_json::to_string(&lines).unwrap_or_default())
        .bind(serde_json::to_string(&customer).unwrap_or_default())
        .bind(&original.id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(true)
    }
    .await;
    match done {
        Ok(true) => Ok(find(db, &id).await?),
        Ok(false) => Ok(None),
        // A concurrent correction of the same invoice won.
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<Invoice>> {
    let sql = format!("{SELECT} WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn list(db: &Db, partner_id: &str) -> sqlx::Result<Vec<Invoice>> {
    let sql = format!("{SELECT} WHERE partner_id = $1 ORDER BY year DESC, seq DESC");
    on_db!(db, pool => sqlx::query_as(&sql).bind(partner_id).fetch_all(pool).await)
}

fn labels(lang: Lang) -> [&'static str; 10] {
    [
        lang.t(Msg::InvoiceTitle),
        lang.t(Msg::InvoiceNumber),
        lang.t(Msg::InvoiceDate),
        lang.t(Msg::InvoicePeriod),
        lang.t(Msg::InvoiceCustomer),
        lang.t(Msg::CsvCreated),
        lang.t(Msg::CsvTracking),
        lang.t(Msg::Dropoff),
        lang.t(Msg::InvoiceSubtotal),
        lang.t(Msg::InvoiceTotal),
    ]
}

/// The invoice as a PDF, in `lang`.
pub fn to_pdf(inv: &Invoice, lang: Lang) -> Vec<u8> {
    let [title, number, date, period, customer_l, created, tracking, dropoff, subtotal, total] = labels(lang);
    let c = inv.customer();
    let lines = inv.lines();
    let mut d = pdf::Document::new();
    let right = pdf::WIDTH - pdf::MARGIN;
    let header = |d: &mut pdf::Document| -> f64 {
        let mut y = pdf::HEIGHT - pdf::MARGIN;
        d.text(pdf::MARGIN, y, 18.0, true, "DELIVR-CM");
        d.text_right(right, y, 16.0, true, title);
        y -= 18.0;
        for (i, l) in ISSUER.iter().enumerate().skip(1) {
            d.text(pdf::MARGIN, y - 12.0 * (i as f64 - 1.0), 9.0, false, l);
        }
        d.text_right(right, y, 10.0, false, &format!("{number} : {}", inv.number));
        d.text_right(right, y - 13.0, 10.0, false, &format!("{date} : {}", format_date(inv.created_at)));
        d.text_right(right, y - 26.0, 10.0, false, &format!("{period} : {}", inv.month));
        y - 12.0 * ISSUER.len() as f64 - 10.0
    };
    let mut y = header(&mut d);
    d.text(pdf::MARGIN, y, 11.0, true, customer_l);
    y -= 14.0;
    for l in [&c.business_name, &c.contact_name, &c.address, &c.phone, &c.email] {
        if !l.is_empty() {
            d.text(pdf::MARGIN, y, 10.0, false, l);
            y -= 12.0;
        }
    }
    if !c.niu.is_empty() || !c.rccm.is_empty() {
        d.text(pdf::MARGIN, y, 10.0, false, &format!("NIU : {} — RCCM : {}", c.niu, c.rccm));
        y -= 12.0;
    }
    y -= 14.0;
    let table_header = |d: &mut pdf::Document, y: f64| {
        d.fill(pdf::MARGIN, y - 4.0, right - pdf::MARGIN, 16.0, 0.9);
        d.text(pdf::MARGIN + 4.0, y, 9.0, true, created);
        d.text(pdf::MARGIN + 80.0, y, 9.0, true, tracking);
        d.text(pdf::MARGIN + 190.0, y, 9.0, true, dropoff);
        d.text_right(right - 4.0, y, 9.0, true, lang.t(Msg::InvoiceAmountTtc));
    };
    table_header(&mut d, y);
    y -= 18.0;
    for l in &lines {
        if y < pdf::MARGIN + 80.0 {
            d.new_page();
            y = header(&mut d);
            table_header(&mut d, y);
            y -= 18.0;
        }
        d.text(pdf::MARGIN + 4.0, y, 9.0, false, &format_date(l.date_ms));
        d.text(pdf::MARGIN + 80.0, y, 9.0, false, &l.tracking_number);
        d.text(pdf::MARGIN + 190.0, y, 9.0, false, &l.dropoff);
        d.text_right(right - 4.0, y, 9.0, false, &format_fcfa(l.amount.get()));
        y -= 13.0;
    }
    d.rule(pdf::MARGIN, right, y + 6.0, 0.5);
    y -= 10.0;
    for (label, amount, bold) in [(subtotal, inv.subtotal, false), (lang.t(Msg::InvoiceTva), inv.tva, false), (total, inv.total, true)] {
        d.text_right(right - 120.0, y, 10.0, bold, label);
        d.text_right(right - 4.0, y, 10.0, bold, &format_fcfa(amount.get()));
        y -= 14.0;
    }
    d.text(pdf::MARGIN, pdf::MARGIN, 8.0, false, lang.t(Msg::InvoiceFooter));
    d.finish()
}

/// The invoice as CSV (UTF-8 with BOM, `;` in French).
pub fn to_csv(inv: &Invoice, lang: Lang) -> Vec<u8> {
    let [_, _, _, _, _, created, tracking, dropoff, subtotal, total] = labels(lang);
    let sep = lang.csv_delimiter();
    let mut w =
        csv::WriterBuilder::new().delimiter(sep).terminator(csv::Terminator::CRLF).flexible(true).from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([lang.t(Msg::InvoiceNumber), &inv.number, lang.t(Msg::InvoicePeriod), &inv.month]);
    let _ = w.write_record([created, tracking, dropoff, lang.t(Msg::InvoiceAmountTtc)]);
    for l in inv.lines() {
        let _ = w.write_record([format_date(l.date_ms), l.tracking_number.clone(), l.dropoff.clone(), l.amount.get().to_string()]);
    }
    let _ = w.write_record([subtotal, "", "", &inv.subtotal.get().to_string()]);
    let _ = w.write_record([lang.t(Msg::InvoiceTva), "", "", &inv.tva.get().to_string()]);
    let _ = w.write_record([total, "", "", &inv.total.get().to_string()]);
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tva_is_included_and_exact() {
        let (ht, tva) = split_tva(Fcfa(11_925));
        assert_eq!((ht, tva), (Fcfa(10_000), Fcfa(1_925)));
        for total in [0, 1, 1500, 99_999, 1_234_567] {
            let (ht, tva) = split_tva(Fcfa(total));
            assert_eq!(ht + tva, Fcfa(total));
        }
    }

    #[test]
    fn months() {
        assert_eq!(previous_month(1_764_288_000_000), "2025-10"); // 2025-11-28
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("nope").is_none());
    }
}
