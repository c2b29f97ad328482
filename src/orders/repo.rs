//! SQL for orders, their timeline and positions. Writes that change an order's status live in
//! `service.rs` (one transaction per use case).

use sqlx::{FromRow, Row, postgres::PgRow, sqlite::SqliteRow};

use crate::{db::Db, money::Fcfa, on_db, orders::model::Status, pricing::Price};

/// An order with the names the pages show (quartiers, cities, courier).
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Order {
    pub id: crate::ids::OrderId,
    pub partner_id: crate::ids::PartnerId,
    pub tracking_number: String,
    pub public_token: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub source: String,
    pub pickup_quartier_id: i64,
    pub pickup_address: String,
    pub dropoff_quartier_id: i64,
    pub dropoff_address: String,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub package_description: String,
    pub size_class: String,
    pub cod_amount: Fcfa,
    pub courier_note: Option<String>,
    pub delivery_pin: String,
    /// Wrong PINs entered so far; at [`crate::orders::model::MAX_PIN_FAILURES`] the PIN locks.
    pub pin_failures: i32,
    /// When the PIN locked (an admin gives a new one or closes the order by hand).
    pub pin_locked_at: Option<i64>,
    /// The delivery attempt under way or last made (1, then 2… after each new attempt).
    pub attempt: i64,
    /// The code the vendor gives the courier who brings a returned parcel back.
    pub return_code: Option<String>,
    pub distance_m: i64,
    pub price_total: Fcfa,
    pub price_commission: Fcfa,
    pub price_net: Fcfa,
    pub courier_id: Option<String>,
    pub failure_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub pickup_quartier: String,
    pub pickup_city: String,
    pub dropoff_quartier: String,
    pub dropoff_city: String,
    pub dropoff_city_id: i64,
    pub dropoff_lat: f64,
    pub dropoff_lng: f64,
    pub pickup_lat: f64,
    pub pickup_lng: f64,
    pub courier_name: Option<String>,
    pub courier_phone: Option<String>,
    pub business_name: String,
}

impl Order {
    pub fn status(&self) -> Status {
        self.status
    }

    pub fn price(&self) -> Price {
        Price { total: self.price_total, commission: self.price_commission, net: self.price_net }
    }

    /// The spec's webhook `data` for this order.
    pub fn event_data(&self, reason: Option<String>) -> OrderData {
        OrderData {
            order_id: self.id.to_string(),
            tracking_number: self.tracking_number.clone(),
            status: self.status().as_str(),
            courier: match (&self.courier_name, &self.courier_phone) {
                (Some(name), Some(phone)) => Some(Person { name: name.clone(), phone: phone.clone() }),
                (Some(name), None) => Some(Person { name: name.clone(), phone: String::new() }),
                _ => None,
            },
            recipient: Person { name: self.recipient_name.clone(), phone: self.recipient_phone.clone() },
            pricing: self.price(),
            cod_amount: self.cod_amount,
            attempt: self.attempt,
            reason,
        }
    }
}

/// The people on an order, as the spec's payload shows them.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub phone: String,
}

/// The `data` of an order event (the spec's webhook payload).
#[derive(Clone, Debug, serde::Serialize)]
pub struct OrderData {
    pub order_id: String,
    pub tracking_number: String,
    pub status: &'static str,
    pub courier: Option<Person>,
    pub recipient: Person,
    pub pricing: crate::pricing::Price,
    pub cod_amount: Fcfa,
    /// The delivery attempt (1, then 2… after each new attempt ordered after a failure).
    pub attempt: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `data` of `payment.received`: the order's fields, as every order event carries them
/// (so that one receiver parses every event), and the cash collected.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PaymentData {
    #[serde(flatten)]
    pub order: OrderData,
    pub amount: Fcfa,
    pub currency: &'static str,
}

macro_rules! order_columns {
    () => {
        "o.id, o.partner_id, o.tracking_number, o.public_token, o.status, o.source, \
    o.pickup_quartier_id, o.pickup_address, o.dropoff_quartier_id, o.dropoff_address, o.recipient_name, o.recipient_phone, \
    o.package_description, o.size_class, o.cod_amount, o.courier_note, o.delivery_pin, o.pin_failures, o.pin_locked_at, o.attempt, o.return_code, o.distance_m, o.price_total, \
    o.price_commission, o.price_net, o.courier_id, o.failure_reason, o.cancel_reason, o.created_at, o.updated_at, o.finished_at, \
    pq.name AS pickup_quartier, pc.name AS pickup_city, dq.name AS dropoff_quartier, dc.name AS dropoff_city, dq.city_id AS dropoff_city_id, \
    dq.lat AS dropoff_lat, dq.lng AS dropoff_lng, pq.lat AS pickup_lat, pq.lng AS pickup_lng, \
    cu.full_name AS courier_name, cu.phone AS courier_phone, p.business_name"
    };
}

macro_rules! order_from {
    () => {
        "FROM orders o \
    JOIN quartiers pq ON pq.id = o.pickup_quartier_id JOIN cities pc ON pc.id = pq.city_id \
    JOIN quartiers dq ON dq.id = o.dropoff_quartier_id JOIN cities dc ON dc.id = dq.city_id \
    JOIN partners p ON p.id = o.partner_id \
    LEFT JOIN users cu ON cu.id = o.courier_id"
    };
}

/// The order and the names around it; add a WHERE clause.
pub const SELECT: &str = concat!("SELECT ", order_columns!(), " ", order_from!());

/// One order of one partner, by id or tracking number. Another partner's order is `None`.
pub async fn find_for_partner(db: &Db, partner_id: &str, id_or_tracking: &str) -> sqlx::Result<Option<Order>> {
    let sql = format!("{SELECT} WHERE o.partner_id = $1 AND (o.id = $2 OR o.tracking_number = $2)");
    // Tracking numbers are matched whatever their case; ids are lowercase UUIDs.
    let key = id_or_tracking.trim();
    let key = if key.len() == 10 && key.to_uppercase().starts_with("DLV-") { key.to_uppercase() } else { key.to_lowercase() };
    on_db!(db, pool => sqlx::query_as(&sql).bind(partner_id).bind(&key).fetch_optional(pool).await)
}

/// Any order, for admins, couriers and the simulator.
pub async fn find(db: &Db, id: &str) -> sqlx::Result<Option<Order>> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_by_public_token(db: &Db, token: &str) -> sqlx::Result<Option<Order>> {
    let sql = format!("{SELECT} WHERE o.public_token = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(token).fetch_optional(pool).await)
}

/// Deliveries whose PIN locked and wait for an admin.
pub async fn count_pin_locked(db: &Db) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE pin_locked_at IS NOT NULL AND status = 'IN_TRANSIT'").fetch_one(pool).await)
}

/// A timeline entry.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TimelineEvent {
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub actor_role: String,
    pub note: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub at: i64,
}

pub async fn timeline(db: &Db, order_id: &str) -> sqlx::Result<Vec<TimelineEvent>> {
    on_db!(db, pool => sqlx::query_as("SELECT status, actor_role, note, lat, lng, at FROM order_events WHERE order_id = $1 ORDER BY id")
        .bind(order_id)
        .fetch_all(pool)
        .await)
}

/// The latest known position of an order's courier.
#[derive(sqlx::FromRow, Debug, Clone, Copy, serde::Serialize)]
pub struct Position {
    pub lat: f64,
    pub lng: f64,
    pub at: i64,
}

pub async fn latest_position(db: &Db, order_id: &str) -> sqlx::Result<Option<Position>> {
    on_db!(db, pool => sqlx::query_as("SELECT lat, lng, at FROM order_positions_latest WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(pool)
        .await)
}

/// Filters of the orders list (and export, and API).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<Status>,
    /// Inclusive bounds, ms since epoch.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub city_id: Option<i64>,
    pub quartier_id: Option<i64>,
    pub text: String,
    pub newest_first: bool,
}

/// Keyset cursor: the (created_at, id) of the last row shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created_at, self.id))
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (at, id) = raw.split_once(':')?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(Cursor { created_at: at.parse().ok()?, id: id.to_owned() })
    }
}

/// Build the WHERE clause and its text arguments for a filter. Numbers are formatted into the
/// SQL (they are parsed integers), text is bound.
fn where_clause(partner_id_param: &str, f: &Filter, cursor: Option<&Cursor>) -> (String, Vec<String>) {
    let mut sql = format!(" WHERE o.partner_id = {partner_id_param}");
    let mut binds: Vec<String> = Vec::new();
    if !f.statuses.is_empty() {
        let list: Vec<String> = f.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND o.status IN ({})", list.join(", ")));
    }
    if let Some(from) = f.from_ms {
        sql.push_str(&format!(" AND o.created_at >= {from}"));
    }
    if let Some(to) = f.to_ms {
        sql.push_str(&format!(" AND o.created_at <= {to}"));
    }
    if let Some(q) = f.quartier_id {
        sql.push_str(&format!(" AND o.dropoff_quartier_id = {q}"));
    } else if let Some(c) = f.city_id {
        sql.push_str(&format!(" AND o.dropoff_quartier_id IN (SELECT id FROM quartiers WHERE city_id = {c})"));
    }
    let text = f.text.trim();
    if !text.is_empty() {
        binds.push(text.to_uppercase());
        let t = binds.len() + 1;
        binds.push(format!("%{}%", text.to_lowercase().replace(['%', '_', '\\'], "")));
        let like = binds.len() + 1;
        // A phone typed like `677 98 76 54` matches `+237677987654`.
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let phone = if digits.len() >= 4 {
            binds.push(format!("%{digits}%"));
            format!(" OR o.recipient_phone LIKE ${}", binds.len() + 1)
        } else {
            String::new()
        };
        // A part of a tracking number ("TBTJH9" of DLV-TBTJH9), from three characters.
        let part: String = text.to_uppercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let partial = if part.len() >= 3 {
            binds.push(format!("%{part}%"));
            format!(" OR o.tracking_number LIKE ${}", binds.len() + 1)
        } else {
            String::new()
        };
        sql.push_str(&format!(" AND (o.tracking_number = ${t} OR LOWER(o.recipient_name) LIKE ${like}{phone}{partial})"));
    }
    if let Some(c) = cursor {
        // Both bound, not written into the text: every page of a walk (an export reads two
        // hundred) is then the same prepared statement, parsed and planned once.
        binds.push(c.created_at.to_string());
        let at = binds.len() + 1;
        binds.push(c.id.clone());
        let id = binds.len() + 1;
        let op = if f.newest_first { "<" } else { ">" };
        // A row value, so that both databases seek the (partner, created_at, id) index to the
        // cursor; the equivalent `a < x OR (a = x AND b < y)` made PostgreSQL walk the index from
        // the newest order and filter (a page 50 000 orders deep read 50 000 entries).
        sql.push_str(&format!(" AND (o.created_at, o.id) {op} (CAST(${at} AS BIGINT), ${id})"));
    }
    (sql, binds)
}

/// One page of a partner's orders and the cursor of the next page.
pub async fn list<R: Listed>(
    db: &Db,
    partner_id: &str,
    f: &Filter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> sqlx::Result<(Vec<R>, Option<Cursor>)> {
    let page = list_counted(db, partner_id, f, cursor, limit, 0).await?;
    Ok((page.orders, page.next))
}

/// A page of orders with the (capped) number of all matching orders.
pub struct Page<R = Order> {
    pub orders: Vec<R>,
    pub next: Option<Cursor>,
    pub total: i64,
    /// More than `total` orders match.
    pub more: bool,
}

/// An order as a line of the lists shows it (the orders list, the dashboard's recent orders):
/// the eight columns a line reads, from the orders table alone. The quartier and city names
/// come from the fixed geography; the forty columns and five joins of [`Order`] cost a list
/// page more than a quarter of its CPU on SQLite, copied and decoded on sqlx's worker thread.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct OrderLine {
    pub id: crate::ids::OrderId,
    pub tracking_number: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub recipient_name: String,
    pub dropoff_quartier_id: i64,
    pub cod_amount: Fcfa,
    pub price_total: Fcfa,
    pub created_at: i64,
}

impl OrderLine {
    /// The drop-off's quartier and city names.
    pub fn dropoff_place(&self) -> (&'static str, &'static str) {
        crate::geo::place_names(self.dropoff_quartier_id).unwrap_or_default()
    }
}

impl From<&Order> for OrderLine {
    fn from(o: &Order) -> Self {
        OrderLine {
            id: o.id.clone(),
            tracking_number: o.tracking_number.clone(),
            status: o.status,
            recipient_name: o.recipient_name.clone(),
            dropoff_quartier_id: o.dropoff_quartier_id,
            cod_amount: o.cod_amount,
            price_total: o.price_total,
            created_at: o.created_at,
        }
    }
}

/// What a page of orders is read as: the whole [`Order`] (the API) or an [`OrderLine`].
pub trait Listed: Sized + Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {
    /// The SELECT's columns and its FROM (orders as `o`).
    const COLUMNS: &'static str;
    const FROM: &'static str;
    /// Where the next page starts after this order.
    fn cursor(&self) -> Cursor;
}

impl Listed for Order {
    const COLUMNS: &'static str = order_columns!();
    const FROM: &'static str = order_from!();
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at, id: self.id.to_string() }
    }
}

impl Listed for OrderLine {
    const COLUMNS: &'static str =
        "o.id, o.tracking_number, o.status, o.recipient_name, o.dropoff_quartier_id, o.cod_amount, o.price_total, o.created_at";
    const FROM: &'static str = "FROM orders o";
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at, id: self.id.to_string() }
    }
}

/// A listed order and the page's capped count, which every row of the query carries.
struct CountedRow<R>(R, i64);

impl<'r, R: FromRow<'r, SqliteRow>> FromRow<'r, SqliteRow> for CountedRow<R> {
    fn from_row(row: &'r SqliteRow) -> sqlx::Result<Self> {
        Ok(CountedRow(R::from_row(row)?, row.try_get("capped_total")?))
    }
}

impl<'r, R: FromRow<'r, PgRow>> FromRow<'r, PgRow> for CountedRow<R> {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(CountedRow(R::from_row(row)?, row.try_get("capped_total")?))
    }
}

/// One page and the count capped at `count_cap`, in a single query: the count is an
/// uncorrelated sub-query that both backends evaluate once.
pub async fn list_counted<R: Listed>(
    db: &Db,
    partner_id: &str,
    f: &Filter,
    cursor: Option<&Cursor>,
    limit: i64,
    count_cap: i64,
) -> sqlx::Result<Page<R>> {
    let (clause, binds) = where_clause("$1", f, cursor);
    // The cursor's bind comes last, so the count's clause can share the first placeholders.
    let (count_clause, _) = where_clause("$1", f, None);
    let dir = if f.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {}, (SELECT COUNT(*) FROM (SELECT 1 FROM orders o{count_clause} LIMIT {}) c) AS capped_total {}{clause} \
         ORDER BY o.created_at {dir}, o.id {dir} LIMIT {}",
        R::COLUMNS,
        count_cap + 1,
        R::FROM,
        limit + 1
    );
    let rows: Vec<CountedRow<R>> = on_db!(db, pool => {
        let mut q = sqlx::query_as(&sql).bind(partner_id);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(pool).await
    })?;
    let capped = match rows.first() {
        Some(CountedRow(_, capped)) => *capped,
        // An empty page past the end still reports the count.
        None if cursor.is_some() && count_cap > 0 => {
            let (n, more) = count_capped(db, partner_id, f, count_cap).await?;
            n + i64::from(more)
        }
        None => 0,
    };
    let mut orders: Vec<R> = rows.into_iter().map(|CountedRow(r, _)| r).collect();
    let next = if orders.len() as i64 > limit {
        orders.truncate(limit as usize);
        orders.last().map(Listed::cursor)
    } else {
        None
    };
    Ok(Page { orders, next, total: capped.min(count_cap), more: capped > count_cap })
}

/// One order as the CSV export shows it (the columns it writes, nothing else). Places are
/// quartier ids: their names come from the fixed geography, not from a join per row.
#[derive(serde::Deserialize, sqlx::FromRow, Debug)]
pub struct ExportRow(
    pub String,         // tracking number
    pub i64,            // created at
    pub String,         // status
    pub String,         // recipient name
    pub String,         // recipient phone
    pub i64,            // pickup quartier
    pub String,         // pickup address
    pub i64,            // drop-off quartier
    pub String,         // drop-off address
    pub String,         // package
    pub String,         // size
    pub i64,            // cash on delivery
    pub i64,            // price
    pub i64,            // distance (m)
    pub Option<String>, // courier
    pub String,         // source
    pub Option<i64>,    // finished at
    pub Option<String>, // failure reason
    pub Option<String>, // cancel reason
    pub String,         // public token
    pub String,         // id
);

/// A batch of the export as the database gives it (read its orders with
/// [`ExportBatch::rows`]), and the cursor after them when the batch was full.
pub struct ExportBatch {
    lines: Lines,
    newest_first: bool,
    pub next: Option<Cursor>,
}

/// SQLite hands a batch over as one JSON array it built (one row from its thread instead of
/// five hundred); PostgreSQL as rows (its binary rows cost it far less than building JSON:
/// profiled, `json_agg` made the database the export's bottleneck).
enum Lines {
    Json(Option<String>),
    Rows(Vec<ExportRow>),
}

impl ExportBatch {
    /// The batch's orders, in the cursor's order (SQLite gives the sub-query's; checked, not
    /// assumed).
    pub fn rows(self) -> sqlx::Result<Vec<ExportRow>> {
        let mut rows: Vec<ExportRow> = match self.lines {
            Lines::Json(Some(j)) => serde_json::from_str(&j).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            Lines::Json(None) => Vec::new(),
            Lines::Rows(rows) => return Ok(rows),
        };
        let newest_first = self.newest_first;
        let in_order = |a: &ExportRow, b: &ExportRow| {
            let (a, b) = ((a.1, &a.20), (b.1, &b.20));
            if newest_first { b.cmp(&a) } else { a.cmp(&b) }
        };
        if !rows.is_sorted_by(|a, b| in_order(a, b).is_le()) {
            rows.sort_by(in_order);
        }
        Ok(rows)
    }
}

/// A batch of the export: `limit` orders after `cursor`, and the cursor after them, which
/// comes with the batch from the database: the next batch can be asked for before this one is
/// read. The batch reads the orders table alone (the courier's name by its key): profiled, the
/// joins to the places and the copy of whole rows were half of SQLite's time.
pub async fn export_batch(db: &Db, partner_id: &str, f: &Filter, cursor: Option<&Cursor>, limit: i64) -> sqlx::Result<ExportBatch> {
    let (clause, binds) = where_clause("$1", f, cursor);
    let (dir, back) = if f.newest_first { ("DESC", "ASC") } else { ("ASC", "DESC") };
    const READ: &str = "o.tracking_number, o.created_at, o.status, o.recipient_name, o.recipient_phone, o.pickup_quartier_id, \
                        o.pickup_address, o.dropoff_quartier_id, o.dropoff_address, o.package_description, o.size_class, o.cod_amount, \
                        o.price_total, o.distance_m, o.courier_id, o.source, o.finished_at, o.failure_reason, o.cancel_reason, \
                        o.public_token, o.id";
    let columns = READ.replace("o.courier_id", "(SELECT cu.full_name FROM users cu WHERE cu.id = o.courier_id)");
    let order = format!("ORDER BY o.created_at {dir}, o.id {dir}");
    match db {
        Db::Postgres(pool) => {
            let sql = format!("SELECT {columns} FROM orders o{clause} {order} LIMIT {limit}");
            let mut q = sqlx::query_as::<_, ExportRow>(&sql).bind(partner_id);
            for b in &binds {
                q = q.bind(b);
            }
            let rows = q.fetch_all(pool).await?;
            let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| Cursor { created_at: r.1, id: r.20.clone() })).flatten();
            Ok(ExportBatch { lines: Lines::Rows(rows), newest_first: f.newest_first, next })
        }
        Db::Sqlite(pool) => {
            // The batch once (materialised), then its lines (SQLite aggregates in the batch's
            // order), its last order and its size.
            let last = format!("FROM b ORDER BY created_at {back}, id {back} LIMIT 1");
            let sql = format!(
                "WITH b AS MATERIALIZED (SELECT {READ} FROM orders o{clause} {order} LIMIT {limit}) \
                 SELECT (SELECT json_group_array(json_array({columns})) FROM b o), (SELECT created_at {last}), (SELECT id {last}), \
                 (SELECT COUNT(*) FROM b)"
            );
            let mut q = sqlx::query_as(&sql).bind(partner_id);
            for b in &binds {
                q = q.bind(b);
            }
            let (json, last_at, last_id, n): (Option<String>, Option<i64>, Option<String>, i64) = q.fetch_one(pool).await?;
            let next = match (last_at, last_id) {
                (Some(created_at), Some(id)) if n == limit => Some(Cursor { created_at, id }),
                _ => None,
            };
            Ok(ExportBatch { lines: Lines::Json(json), newest_first: f.newest_first, next })
        }
    }
}

/// How many orders match, counting at most `cap` (the list says "more than" beyond): the
/// cost of a count stays bounded on a vendor with a hundred thousand orders.
pub async fn count_capped(db: &Db, partner_id: &str, f: &Filter, cap: i64) -> sqlx::Result<(i64, bool)> {
    let (clause, binds) = where_clause("$1", f, None);
    let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM orders o{clause} LIMIT {}) capped", cap + 1);
    let n: i64 = on_db!(db, pool => {
        let mut q = sqlx::query_scalar(&sql).bind(partner_id);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_one(pool).await
    })?;
    Ok((n.min(cap), n > cap))
}

/// The dashboard's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kpis {
    pub today: i64,
    pub in_progress: i64,
    pub completed_this_month: i64,
    pub cod_to_collect: i64,
}

/// Four indexed counts, in one statement, rather than one scan of every order of the vendor.
pub async fn kpis(db: &Db, partner_id: &str, day_start_ms: i64, month_start_ms: i64) -> sqlx::Result<Kpis> {
    // One statement, one round trip: each figure is its own subquery, on its own index. A
    // parcel on its way back is moving too (its cash is no longer to collect).
    const SQL: &str = "SELECT \
        (SELECT COUNT(*) FROM orders WHERE partner_id = $1 AND created_at >= $2), \
        (SELECT COUNT(*) FROM orders WHERE partner_id = $1 AND status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING')), \
        (SELECT COUNT(*) FROM orders WHERE partner_id = $1 AND status = 'COMPLETED' AND finished_at >= $3), \
        (SELECT CAST(COALESCE(SUM(cod_amount), 0) AS BIGINT) FROM orders WHERE partner_id = $1 \
           AND status IN ('PENDING', 'ASSIGNED', 'PICKED_UP', 'IN_TRANSIT'))";
    let (today, in_progress, completed_this_month, cod_to_collect): (i64, i64, i64, i64) = on_db!(db, pool => {
        sqlx::query_as(SQL).bind(partner_id).bind(day_start_ms).bind(month_start_ms).fetch_one(pool).await
    })?;
    Ok(Kpis { today, in_progress, completed_this_month, cod_to_collect })
}
