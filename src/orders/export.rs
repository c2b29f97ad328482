//! CSV export of the orders list, with the list's filters: streamed in keyset batches, so
//! memory stays flat whatever the number of orders. UTF-8 with a BOM and `;` by default for
//! French (what Excel expects in French locales), `,` for English; `?sep=` overrides.

use bytes::Bytes;
use futures_util::{StreamExt as _, stream};
use poem::{
    Body, Response, handler,
    http::{StatusCode, header},
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    db::Db,
    geo,
    i18n::{Lang, Msg},
    orders::{
        model::Status,
        pages::{ListQuery, load_partner},
        repo::{self, Cursor, Filter},
    },
    state::AppState,
    web::PageResult,
    web::{Ctx, components::format_datetime, status_error},
};

const BATCH: i64 = 500;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ExportQuery {
    #[serde(flatten)]
    list: ListQuery,
    sep: String,
}

/// Excel runs cells starting with `=`, `+`, `-` or `@` as formulas: neutralise those that are
/// not plain numbers (a phone like `+237…` stays as it is).
pub(crate) fn cell(value: &str) -> String {
    neutralised(value).into_owned()
}

/// [`cell`], borrowing the value when it is safe as it is (nearly always).
fn neutralised(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '@', '\t', '\r'])
        || (value.starts_with(['+', '-']) && !value[1..].chars().all(|c| c.is_ascii_digit() || c == ' '));
    if risky { format!("'{value}").into() } else { value.into() }
}

fn header_row(lang: Lang) -> Vec<&'static str> {
    [
        Msg::CsvTracking,
        Msg::CsvCreated,
        Msg::CsvStatus,
        Msg::FieldRecipientName,
        Msg::CsvRecipientPhone,
        Msg::CsvPickupCity,
        Msg::CsvPickupQuartier,
        Msg::CsvPickupAddress,
        Msg::CsvDropoffCity,
        Msg::CsvDropoffQuartier,
        Msg::CsvDropoffAddress,
        Msg::FieldPackage,
        Msg::FieldSize,
        Msg::CsvClientPays,
        Msg::CsvDeliveryFee,
        Msg::CsvYouReceive,
        Msg::CsvDistance,
        Msg::Courier,
        Msg::CsvSource,
        Msg::CsvFinished,
        Msg::FailureReason,
        Msg::CancelReason,
        Msg::PublicTracking,
    ]
    .into_iter()
    .map(|m| lang.t(m))
    .collect()
}

/// Write one order's line (its fields straight into the writer: no line of strings per order;
/// `num` is a scratch buffer for the numbers).
fn write_row(w: &mut csv::Writer<Vec<u8>>, num: &mut String, o: &repo::ExportRow, lang: Lang, public_url: &str) {
    use std::fmt::Write as _;
    let status = Status::parse(&o.2).unwrap_or(Status::Pending);
    // What the vendor receives for it: nothing for a cancelled order; the fee paid, nothing
    // collected, for one that failed or came back.
    let receives = match status {
        Status::Cancelled => 0,
        Status::Failed | Status::Returning | Status::Returned => -o.12,
        _ => o.11 - o.12,
    };
    let (pickup_quartier, pickup_city) = geo::place_names(o.5).unwrap_or_default();
    let (dropoff_quartier, dropoff_city) = geo::place_names(o.7).unwrap_or_default();
    // Writing into memory cannot fail.
    let mut field = |f: &str| {
        let _ = w.write_field(f);
    };
    field(&o.0);
    field(&format_datetime(o.1, lang));
    field(lang.t(status.label()));
    field(&neutralised(&o.3));
    field(&o.4);
    field(pickup_city);
    field(pickup_quartier);
    field(&neutralised(&o.6));
    field(dropoff_city);
    field(dropoff_quartier);
    field(&neutralised(&o.8));
    field(&neutralised(&o.9));
    field(&o.10);
    for n in [o.11, o.12, receives] {
        num.clear();
        let _ = write!(num, "{n}");
        field(num);
    }
    num.clear();
    let _ = write!(num, "{:.1}", o.13 as f64 / 1000.0);
    if lang == Lang::Fr
        && let Some(dot) = num.find('.')
    {
        num.replace_range(dot..=dot, ",");
    }
    field(num);
    field(&neutralised(o.14.as_deref().unwrap_or("")));
    field(&o.15);
    field(&o.16.map(|t| format_datetime(t, lang)).unwrap_or_default());
    field(&neutralised(o.17.as_deref().unwrap_or("")));
    field(&neutralised(o.18.as_deref().unwrap_or("")));
    num.clear();
    let _ = write!(num, "{public_url}/t/{}/", o.19);
    field(num);
    let _ = w.write_record(None::<&[u8]>);
}

/// A batch of orders as CSV lines.
fn batch_csv(rows: &[repo::ExportRow], lang: Lang, public_url: &str, delimiter: u8) -> Bytes {
    let mut w =
        csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(Vec::with_capacity(rows.len() * 200));
    let mut num = String::with_capacity(64);
    for o in rows {
        write_row(&mut w, &mut num, o, lang, public_url);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

pub(crate) fn to_csv(rows: impl IntoIterator<Item = Vec<String>>, delimiter: u8) -> Bytes {
    let mut w = csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for r in rows {
        // Writing into memory cannot fail.
        let _ = w.write_record(&r);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

/// Read the batches one after the other, each asked for as soon as the one before has come
/// (its cursor comes with it): the database's thread reads the next batch while this one is
/// turned into CSV. At most three batches are in memory (one written, one waiting, one read);
/// a client that goes away stops the reading.
fn read_batches(db: Db, partner_id: String, filter: Filter) -> tokio::sync::mpsc::Receiver<sqlx::Result<repo::ExportBatch>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut cursor: Option<Cursor> = None;
        loop {
            let batch = repo::export_batch(&db, &partner_id, &filter, cursor.as_ref(), BATCH).await;
            let next = batch.as_ref().ok().and_then(|b| b.next.clone());
            if tx.send(batch).await.is_err() {
                return;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return,
            }
        }
    });
    rx
}

/// The export's bytes: BOM and header, then one chunk per batch of orders.
pub fn stream_orders(db: Db, partner_id: String, filter: Filter, lang: Lang, public_url: String, delimiter: u8) -> Body {
    let first = {
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(&to_csv([header_row(lang).into_iter().map(str::to_owned).collect()], delimiter));
        Bytes::from(b)
    };
    let batches = read_batches(db, partner_id, filter);
    let lines = stream::unfold(Some(batches), move |batches| {
        let public_url = public_url.clone();
        async move {
            let mut batches = batches?;
            // The reading ends after the last batch (the one without a cursor after it): if it
            // ends before, the download fails rather than look complete.
            let Some(batch) = batches.recv().await else {
                tracing::error!("export failed mid-stream: the reading stopped before the last batch");
                return Some((Err(std::io::Error::other("the export's reading stopped")), None));
            };
            let last = batch.as_ref().map_or(true, |b| b.next.is_none());
            match batch.and_then(|b| b.rows()) {
                Ok(rows) => Some((Ok(batch_csv(&rows, lang, &public_url, delimiter)), (!last).then_some(batches))),
                Err(e) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    Some((Err(std::io::Error::other(e)), None))
                }
            }
        }
    });
    Body::from_bytes_stream(stream::once(async move { Ok::<Bytes, std::io::Error>(first) }).chain(lines))
}

#[handler]
pub async fn export_orders(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<ExportQuery>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let (filter, errors) = q.list.to_filter(ctx);
    if !errors.is_empty() {
        return Err(status_error(StatusCode::BAD_REQUEST).into());
    }
    let delimiter = match (q.sep.as_str(), ctx.lang) {
        ("comma", _) => b',',
        ("semicolon", _) => b';',
        ("", lang) => lang.csv_delimiter(),
        _ => return Err(status_error(StatusCode::BAD_REQUEST).into()),
    };
    let today = chrono::Utc::now().with_timezone(&crate::douala::douala()).format("%Y-%m-%d");
    let name = if ctx.lang == Lang::Fr { "commandes" } else { "orders" };
    let body = stream_orders(state.db.clone(), partner.id.into(), filter, ctx.lang, state.config.public_url(), delimiter);
    Ok(crate::web::csv_attachment(&format!("{name}-{today}.csv")).header(header::CACHE_CONTROL, "no-store").body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_but_phones_are_not() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+2"), "'-1+2");
        assert_eq!(cell("+237677987654"), "+237677987654");
        assert_eq!(cell("Derrière la pharmacie"), "Derrière la pharmacie");
    }
}
