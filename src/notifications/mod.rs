//! Partner notifications (the spec's `PartnerNotification`): written by `events::record` in the
//! same transaction as the event they tell about, in the partner's language, then pushed live to the partner's
//! open streams (SSE) by the partner's notification actor. On PostgreSQL a `NOTIFY` carrying
//! the partner id wakes the streams held by every instance; the rows are read from the database.

pub mod live;
pub mod pages;
pub mod stream;

use crate::{db::Db, on_db};

/// The PostgreSQL channel that carries "partner P has something new" between instances.
pub const CHANNEL: &str = "delivr_live";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub notification_type: String,
    pub title: String,
    pub message: String,
    pub order_id: Option<String>,
    pub is_read: bool,
    pub created_at: i64,
    /// The event it tells of, to say it in the reader's current language.
    pub event_kind: Option<String>,
    pub event_data: Option<String>,
}

impl Notification {
    /// Title and message in `lang`: rendered from the event when it is known, else as stored.
    pub fn texts(&self, lang: crate::i18n::Lang) -> (String, String) {
        let rendered = self.event_kind.as_deref().and_then(crate::events::Kind::parse).and_then(|kind| {
            let data: serde_json::Value = serde_json::from_str(self.event_data.as_deref()?).ok()?;
            crate::events::notice::render(kind, lang, &data)
        });
        match rendered {
            Some((_, title, message)) => (title, message),
            None => (self.title.clone(), self.message.clone()),
        }
    }
}

const COLUMNS: &str = "id, notification_type, title, message, order_id, is_read, created_at, event_kind, event_data";

/// The kinds of events the partner chose not to be notified of.
pub async fn muted(db: &Db, partner_id: &str) -> sqlx::Result<Vec<String>> {
    let setting: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT muted_notifications FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_optional(pool)
        .await)?;
    Ok(crate::events::notice::muted(&setting.unwrap_or_default()).into_iter().map(str::to_owned).collect())
}

/// Choose the kinds of events not to be notified of (unknown or unmutable kinds are ignored).
pub async fn set_muted(db: &Db, partner_id: &str, kinds: &[String]) -> sqlx::Result<()> {
    let kept: Vec<&str> = crate::events::notice::MUTABLE.iter().copied().filter(|k| kinds.iter().any(|x| x == k)).collect();
    on_db!(db, pool => sqlx::query("UPDATE partners SET muted_notifications = $2 WHERE id = $1")
        .bind(partner_id)
        .bind(kept.join(","))
        .execute(pool)
        .await
        .map(|_| ()))
}

/// The unread count and the id of the partner's last notification, in one read.
pub async fn unread_and_last(db: &Db, partner_id: &str) -> sqlx::Result<(i64, i64)> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN is_read = FALSE THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(MAX(id), 0) AS BIGINT) \
         FROM partner_notifications WHERE partner_id = $1",
    )
    .bind(partner_id)
    .fetch_one(pool)
    .await)
}

pub async fn unread_count(db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM partner_notifications WHERE partner_id = $1 AND is_read = FALSE")
        .bind(partner_id)
        .fetch_one(pool)
        .await)
}

/// One entry per order: each order's newest notification (and every one without an order),
/// newest first, before id `before`, optionally unread only.
pub async fn latest_per_order(
    db: &Db,
    partner_id: &str,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Notification>> {
    let per_order = " AND (order_id IS NULL OR id = (SELECT MAX(m.id) FROM partner_notifications m \
                     WHERE m.partner_id = n.partner_id AND m.order_id = n.order_id))";
    newest_first(db, partner_id, unread_only, before, limit, per_order).await
}

/// Notifications newest first, before id `before`, optionally unread only.
pub async fn list(db: &Db, partner_id: &str, unread_only: bool, before: Option<i64>, limit: i64) -> sqlx::Result<Vec<Notification>> {
    newest_first(db, partner_id, unread_only, before, limit, "").await
}

/// A page of notifications, newest first, with `also` added to the filter.
async fn newest_first(
    db: &Db,
    partner_id: &str,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
    also: &str,
) -> sqlx::Result<Vec<Notification>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM partner_notifications n WHERE partner_id = $1 AND ($2 = FALSE OR is_read = FALSE) AND id < $3{also} \
         ORDER BY id DESC LIMIT $4"
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(partner_id)
        .bind(unread_only)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await)
}

/// Notifications after id `after`, oldest first (what a stream has not sent yet).
pub async fn after(db: &Db, partner_id: &str, after: i64, limit: i64) -> sqlx::Result<Vec<Notification>> {
    let sql = format!("SELECT {COLUMNS} FROM partner_notifications WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    on_db!(db, pool => sqlx::query_as(&sql)
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

/// Mark one notification (or all) read; on PostgreSQL the other instances are told, so that
/// their count is read again.
pub async fn mark_read(db: &Db, partner_id: &str, id: Option<i64>) -> sqlx::Result<u64> {
    let n = on_db!(db, pool => sqlx::query("UPDATE partner_notifications SET is_read = TRUE WHERE partner_id = $1 AND ($2 = 0 OR id = $2) AND is_read = FALSE")
        .bind(partner_id)
        .bind(id.unwrap_or(0))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if let (Db::Postgres(pool), true) = (db, n > 0) {
        crate::db::count_call();
        // They are read whatever happens here; without the notice, the other instances read
        // the count again within a minute anyway.
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(format!("read:{partner_id}")).execute(pool).await {
            tracing::warn!(error = %e, partner_id, "telling the other instances of notifications read failed");
        }
    }
    Ok(n)
}
