//! The daily cash statement: per Douala day, the cash collected, the delivery fees, the
//! refunds, the payouts, the adjustments and the closing balance, from the ledger. A page with
//! a date range (the last 30 days by default), as CSV (Excel opens it) and as PDF.

use chrono::{Duration, NaiveDate};
use maud::html;
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    db::{Db, now_ms},
    i18n::{Lang, Msg},
    money::{Fcfa, format_fcfa},
    on_db, pdf,
    state::AppState,
    web::{
        Ctx, PageResult,
        forms::FieldErrors,
        layout::{page, respond},
    },
};

/// At most this many days in one statement.
pub const MAX_DAYS: i64 = 366;

/// One day of the statement (only days with movements).
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// Douala day number (days since the epoch, UTC+1).
    pub day: i64,
    pub cod: Fcfa,
    pub fees: Fcfa,
    pub refunds: Fcfa,
    pub payouts: Fcfa,
    pub adjustments: Fcfa,
    pub closing: Fcfa,
}

impl Day {
    pub fn date(&self) -> NaiveDate {
        crate::douala::day_date(self.day)
    }

    /// The balance before the day's first movement.
    pub fn opening(&self) -> Fcfa {
        self.closing - self.cod - self.fees - self.refunds - self.payouts - self.adjustments
    }
}

/// The statement of `partner_id` from day `first` to day `last` (Douala dates, included),
/// newest first. One query.
pub async fn days(db: &Db, partner_id: &str, first: NaiveDate, last: NaiveDate) -> sqlx::Result<Vec<Day>> {
    let (from, to) = (crate::douala::day_start(first), crate::douala::day_start(last + Duration::days(1)));
    on_db!(db, pool => sqlx::query_as(
        "SELECT d.day, d.cod, d.fees, d.refunds, d.payouts, d.adjustments, e.balance_after AS closing FROM ( \
           SELECT (created_at + 3600000) / 86400000 AS day, \
             CAST(SUM(CASE WHEN kind = 'COD_COLLECTED' THEN amount ELSE 0 END) AS BIGINT) AS cod, \
             CAST(SUM(CASE WHEN kind = 'DELIVERY_FEE' THEN amount ELSE 0 END) AS BIGINT) AS fees, \
             CAST(SUM(CASE WHEN kind = 'DISPUTE_REFUND' THEN amount ELSE 0 END) AS BIGINT) AS refunds, \
             CAST(SUM(CASE WHEN kind = 'PAYOUT' THEN amount ELSE 0 END) AS BIGINT) AS payouts, \
             CAST(SUM(CASE WHEN kind = 'ADJUSTMENT' THEN amount ELSE 0 END) AS BIGINT) AS adjustments, \
             MAX(id) AS last_id \
           FROM wallet_entries WHERE partner_id = $1 AND created_at >= $2 AND created_at < $3 \
           GROUP BY (created_at + 3600000) / 86400000 \
         ) d JOIN wallet_entries e ON e.id = d.last_id ORDER BY d.day DESC",
    )
    .bind(partner_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await)
}

pub fn routes(route: Route) -> Route {
    route.at("/partners/wallet/statement/", get(statement))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct StatementQuery {
    from: String,
    to: String,
    format: String,
}

/// The range asked (the last 30 days by default), or what is wrong with it.
fn range(ctx: &Ctx, q: &StatementQuery) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
    let today = crate::douala::date_of(now_ms());
    let mut errors = FieldErrors::default();
    let mut date = |field: &'static str, v: &str, default: NaiveDate| {
        if v.trim().is_empty() {
            return Some(default);
        }
        let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(field, ctx.t(Msg::ErrDate));
        }
        d
    };
    let (from, to) = (date("from", &q.from, today - Duration::days(29)), date("to", &q.to, today));
    match (from, to) {
        (Some(a), Some(b)) if b < a => errors.add("to", ctx.t(Msg::ErrDateOrder)),
        (Some(a), Some(b)) if (b - a).num_days() >= MAX_DAYS => {
            errors.add("to", ctx.fmt(Msg::ErrStatementTooLong, &[("days", &MAX_DAYS.to_string())]))
        }
        (Some(a), Some(b)) if errors.is_empty() => return Ok((a, b)),
        _ => {}
    }
    Err(errors)
}

fn columns(lang: Lang) -> [&'static str; 8] {
    [
        lang.t(Msg::StatementDay),
        lang.t(Msg::StatementOpening),
        lang.t(Msg::EntryCod),
        lang.t(Msg::StatementFees),
        lang.t(Msg::EntryRefund),
        lang.t(Msg::StatementPayouts),
        lang.t(Msg::EntryAdjustment),
        lang.t(Msg::StatementClosing),
    ]
}

fn cells(d: &Day) -> [i64; 7] {
    [d.opening().get(), d.cod.get(), d.fees.get(), d.refunds.get(), d.payouts.get(), d.adjustments.get(), d.closing.get()]
}

/// The statement as CSV: UTF-8 with BOM, `;` in French, amounts as plain numbers.
fn to_csv(days: &[Day], lang: Lang) -> Vec<u8> {
    let mut w =
        csv::WriterBuilder::new().delimiter(lang.csv_delimiter()).terminator(csv::Terminator::CRLF).from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(columns(lang));
    for d in days {
        let mut row = vec![d.date().format("%Y-%m-%d").to_string()];
        row.extend(cells(d).iter().map(i64::to_string));
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

/// The statement as PDF (A4, landscape-free: one line a day, pages as needed).
fn to_pdf(days: &[Day], business: &str, (first, last): (NaiveDate, NaiveDate), lang: Lang) -> Vec<u8> {
    let mut d = pdf::Document::new();
    let right = pdf::WIDTH - pdf::MARGIN;
    let cols = columns(lang);
    let xs = [pdf::MARGIN, 150.0, 215.0, 280.0, 345.0, 410.0, 475.0, right];
    let header = |d: &mut pdf::Document| -> f64 {
        let mut y = pdf::HEIGHT - pdf::MARGIN;
        d.text(pdf::MARGIN, y, 16.0, true, "DELIVR-CM");
        d.text_right(right, y, 13.0, true, lang.t(Msg::StatementTitle));
        y -= 18.0;
        d.text(pdf::MARGIN, y, 10.0, false, business);
        d.text_right(right, y, 10.0, false, &format!("{} — {}", first.format("%d/%m/%Y"), last.format("%d/%m/%Y")));
        y -= 24.0;
        d.fill(pdf::MARGIN, y - 4.0, right - pdf::MARGIN, 16.0, 0.9);
        d.text(xs[0] + 2.0, y, 7.5, true, cols[0]);
        for (i, c) in cols.iter().enumerate().skip(1) {
            d.text_right(xs[i] + 55.0, y, 7.5, true, c);
        }
        y - 18.0
    };
    let mut y = header(&mut d);
    for day in days {
        if y < pdf::MARGIN + 20.0 {
            d.new_page();
            y = header(&mut d);
        }
        d.text(xs[0] + 2.0, y, 8.5, false, &day.date().format("%d/%m/%Y").to_string());
        for (i, v) in cells(day).iter().enumerate() {
            d.text_right(xs[i + 1] + 55.0, y, 8.5, i == 6, &format_fcfa(*v));
        }
        y -= 13.0;
    }
    if days.is_empty() {
        d.text(pdf::MARGIN, y, 10.0, false, lang.t(Msg::StatementEmpty));
    }
    d.finish()
}

#[handler]
async fn statement(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<StatementQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let range = range(ctx, &q);
    let days = match &range {
        Ok((first, last)) => days(&state.db, &p.id, *first, *last).await?,
        Err(_) => Vec::new(),
    };
    let file = |ext: &str| format!("releve-{}.{ext}", range.as_ref().map(|(a, b)| format!("{a}-{b}")).unwrap_or_default());
    match (q.format.as_str(), &range) {
        ("csv", Ok(_)) => {
            return Ok(crate::web::csv_attachment(&file("csv"))
                .header(header::CACHE_CONTROL, "private, no-store")
                .body(to_csv(&days, ctx.lang)));
        }
        ("pdf", Ok(r)) => {
            return Ok(crate::web::pdf_file(&file("pdf"), false).header(header::CACHE_CONTROL, "private, no-store").body(to_pdf(
                &days,
                &p.business_name,
                *r,
                ctx.lang,
            )));
        }
        ("" | "html" | "csv" | "pdf", _) => {}
        _ => {
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                page(ctx, ctx.t(Msg::StatementTitle), html! { div.flash.err role="alert" { (ctx.t(Msg::ErrChoice)) } }),
            ));
        }
    }
    let errors = range.as_ref().err().cloned().unwrap_or_default();
    let shown = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
    let (from, to) = match &range {
        Ok((a, b)) => (shown(a), shown(b)),
        Err(_) => (q.from.clone(), q.to.clone()),
    };
    let qs = serde_urlencoded::to_string([("from", from.as_str()), ("to", to.as_str())]).unwrap_or_default();
    let cols = columns(ctx.lang);
    let body = html! {
        p { a href="/partners/wallet/" { "← " (ctx.t(Msg::NavWallet)) } }
        h1 { (ctx.t(Msg::StatementTitle)) }
        p.muted { (ctx.t(Msg::StatementIntro)) }
        form.filters.card method="get" action="/partners/wallet/statement/" {
            div { label for="from" { (ctx.t(Msg::FieldFrom)) } input #from type="date" name="from" value=(from); @if let Some(e) = errors.get("from") { div.error role="alert" { (e) } } }
            div { label for="to" { (ctx.t(Msg::FieldTo)) } input #to type="date" name="to" value=(to); @if let Some(e) = errors.get("to") { div.error role="alert" { (e) } } }
            button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
        }
        @if range.is_ok() {
            p.row {
                a.btn.secondary href=(format!("/partners/wallet/statement/?{qs}&format=csv")) hx-boost="false" download { (ctx.t(Msg::ExportCsv)) }
                " " a.btn.secondary href=(format!("/partners/wallet/statement/?{qs}&format=pdf")) hx-boost="false" { "PDF" }
            }
        }
        @if days.is_empty() { div.card { p.muted { (ctx.t(Msg::StatementEmpty)) } } }
        @for d in &days {
            div.card.statement-day {
                div.row.between { h2 { (crate::web::components::format_date(crate::douala::day_start(d.date()))) } strong { (d.closing) } }
                dl.facts {
                    dt { (cols[1]) } dd { (d.opening()) }
                    @if d.cod != Fcfa::ZERO { dt { (cols[2]) } dd { "+" (d.cod) } }
                    @if d.fees != Fcfa::ZERO { dt { (cols[3]) } dd { (d.fees) } }
                    @if d.refunds != Fcfa::ZERO { dt { (cols[4]) } dd { "+" (d.refunds) } }
                    @if d.payouts != Fcfa::ZERO { dt { (cols[5]) } dd { (d.payouts) } }
                    @if d.adjustments != Fcfa::ZERO { dt { (cols[6]) } dd { (d.adjustments) } }
                    dt { (cols[7]) } dd { strong { (d.closing) } }
                }
            }
        }
    };
    let status = if range.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(respond(status, page(ctx, ctx.t(Msg::StatementTitle), body)))
}
