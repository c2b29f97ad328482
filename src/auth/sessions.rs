//! Server-side sessions: the cookie holds a random id, the database its SHA-256. Sessions end
//! at logout, after 30 minutes idle, 12 hours after login, when the partner is suspended, when
//! the password changes (every other session) or on "sign out everywhere". Whatever ends a
//! session hands back an [`Ended`] for the live streams it opened, announced on the bus;
//! on PostgreSQL a trigger also announces each end to every instance.

use crate::{
    audit,
    auth::Role,
    db::{Db, now_ms},
    events::{Bus, Notice},
    on_db, on_tx, security,
};

pub const IDLE_MS: i64 = 30 * 60 * 1000;
pub const ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;
/// `last_seen_at` is refreshed at most this often, to keep reads cheap.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// The signed-in user, as every page sees them.
#[derive(Clone, Debug)]
pub struct SessionUser {
    /// SHA-256 of the session cookie: what a live stream remembers of its session.
    pub session_hash: String,
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub full_name: String,
    pub language: Option<String>,
    pub partner: Option<PartnerRef>,
    /// When the person last proved who they are (signing in, or a step-up), in ms.
    pub proved_at: i64,
    /// Whether they have two-factor on.
    pub two_factor: bool,
}

/// How long a proof of presence lasts for the actions that ask for a fresh one.
pub const PROOF_MS: i64 = 10 * 60 * 1000;
/// How long a new owner may work before two-factor is required of them (the owners already
/// there when it came got theirs from then: `partner_members.two_factor_due_at`).
pub const OWNER_GRACE_MS: i64 = 14 * 24 * 60 * 60 * 1000;

impl SessionUser {
    /// Did they prove who they are recently enough for a sensitive action?
    pub fn freshly_proved(&self, now: i64) -> bool {
        now - self.proved_at <= PROOF_MS
    }

    /// Must they turn two-factor on before going on in their shop?
    pub fn must_set_up_two_factor(&self) -> bool {
        !self.two_factor && self.partner.as_ref().is_some_and(|p| p.two_factor_required)
    }
}

/// The vendor business behind a BUSINESS user.
#[derive(Clone, Debug)]
pub struct PartnerRef {
    pub id: crate::ids::PartnerId,
    pub business_name: String,
    pub slug: String,
    pub approved: bool,
    /// The signed-in person's role in this shop.
    pub role: super::TeamRole,
    /// Two-factor is required of them here: the shop asks it of every member, or they are an
    /// owner past their first two weeks.
    pub two_factor_required: bool,
    /// For an owner: when two-factor becomes required of them (ms).
    pub two_factor_due_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    user_id: String,
    email: String,
    role: String,
    full_name: String,
    language: Option<String>,
    created_at: i64,
    last_seen_at: i64,
    partner_id: Option<String>,
    business_name: Option<String>,
    slug: Option<String>,
    is_business_approved: Option<bool>,
    suspended_at: Option<i64>,
    member_role: Option<String>,
    proved_at: i64,
    totp_on: Option<i64>,
    require_two_factor: Option<bool>,
    two_factor_due: Option<i64>,
}

/// Start a session for `user_id`, who has just signed in (their password, and code if on), and
/// return the raw cookie value. It acts for the shop the person joined first (they may switch:
/// [`switch`]).
pub async fn create(db: &Db, user_id: &str) -> sqlx::Result<String> {
    start(db, user_id, now_ms(), true).await
}

/// A new session in place of one the person just ended (a password change ends them all): it
/// keeps the old one's last proof of presence, and is not a sign-in.
pub async fn renew(db: &Db, user_id: &str, proved_at: i64) -> sqlx::Result<String> {
    start(db, user_id, proved_at, false).await
}

async fn start(db: &Db, user_id: &str, proved_at: i64, sign_in: bool) -> sqlx::Result<String> {
    let raw = security::random_token(32);
    let now = now_ms();
    let mut tx = db.begin().await?;
    let partner: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, proved_at, partner_id) VALUES ($1, $2, $3, $3, $4, \
           (SELECT partner_id FROM partner_members WHERE user_id = $2 ORDER BY created_at, partner_id LIMIT 1)) RETURNING partner_id",
    )
        .bind(security::sha256_hex(raw.as_bytes()))
        .bind(user_id)
        .bind(now)
        .bind(proved_at)
        .fetch_one(&mut *c)
        .await)?;
    if sign_in {
        let email: String =
            on_tx!(&mut tx, c => sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *c).await)?;
        let mut entry = audit::Entry::new(audit::Action::SignIn, "");
        entry.partner_id = partner.as_deref();
        audit::record_as(&mut tx, entry, Some(&audit::person(user_id, &email))).await?;
    }
    tx.commit().await?;
    Ok(raw)
}

/// The person behind the session `hash` has just proved who they are (a step-up).
pub async fn proved(db: &Db, hash: &str, now: i64) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE sessions SET proved_at = $2 WHERE id_hash = $1").bind(hash).bind(now).execute(pool).await.map(|_| ()))
}

/// Make the session with hash `hash` act for `partner_id`, if its person is a member there.
/// The streams it opened for the former shop end (announce the result).
pub async fn switch(db: &Db, hash: &str, partner_id: &str) -> sqlx::Result<Option<Ended>> {
    let before: Option<Option<String>> =
        on_db!(db, pool => sqlx::query_scalar("SELECT partner_id FROM sessions WHERE id_hash = $1").bind(hash).fetch_optional(pool).await)?;
    let Some(before) = before else { return Ok(None) };
    let changed = on_db!(db, pool => sqlx::query(
        "UPDATE sessions SET partner_id = $2 WHERE id_hash = $1 \
           AND EXISTS (SELECT 1 FROM partner_members m WHERE m.user_id = sessions.user_id AND m.partner_id = $2)",
    )
    .bind(hash)
    .bind(partner_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Ok(None);
    }
    Ok(Some(Ended { sessions: before.filter(|o| o != partner_id).map(|o| (o, hash.to_owned())).into_iter().collect() }))
}

/// The bus notice of an ended session.
pub const ENDED: &str = "session.ended";

/// Sessions that have just ended: the live streams they opened must close. [`Ended::announce`]
/// it on the bus.
#[must_use = "announce ended sessions so that their live streams close"]
#[derive(Debug, Default)]
pub struct Ended {
    /// (partner id, session hash) of each ended vendor session; other roles hold no streams.
    pub sessions: Vec<(String, String)>,
}

impl Ended {
    /// Tell this instance's live streams (on PostgreSQL a trigger also tells every instance).
    pub fn announce(self, bus: &Bus) {
        for (partner_id, hash) in self.sessions {
            bus.publish(Notice { partner_id, kind: ENDED.to_owned(), session: Some(hash), ..Notice::default() });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// End the session with this cookie value (logout, or renewal at login).
pub async fn delete(db: &Db, raw: &str) -> sqlx::Result<Ended> {
    let hash = security::sha256_hex(raw.as_bytes());
    let partner: Option<Option<String>> = on_db!(db, pool => sqlx::query_scalar("DELETE FROM sessions WHERE id_hash = $1 RETURNING partner_id").bind(&hash).fetch_optional(pool).await)?;
    Ok(Ended { sessions: partner.flatten().map(|p| (p, hash)).into_iter().collect() })
}

/// End every session of a user but the one with hash `keep` (suspension, password change,
/// "sign out everywhere").
pub async fn delete_for_user(db: &Db, user_id: &str, keep: Option<&str>) -> sqlx::Result<Ended> {
    let ended: Vec<(String, Option<String>)> = on_db!(db, pool => sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 RETURNING id_hash, partner_id")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .fetch_all(pool)
        .await)?;
    Ok(Ended { sessions: ended.into_iter().filter_map(|(h, p)| p.map(|p| (p, h))).collect() })
}

/// When the session with this hash ends by itself (idle or absolute expiry), if it is still
/// valid now: a live stream checks again then.
pub async fn valid_until(db: &Db, hash: &str) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64, i64, Option<i64>)> = on_db!(db, pool => sqlx::query_as(
        "SELECT s.created_at, s.last_seen_at, p.suspended_at FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN partners p ON p.id = s.partner_id WHERE s.id_hash = $1 AND u.is_active = TRUE",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await)?;
    let now = now_ms();
    Ok(row.and_then(|(created, seen, suspended)| {
        let until = (created + ABSOLUTE_MS).min(seen + IDLE_MS);
        (suspended.is_none() && until > now).then_some(until)
    }))
}

/// The user behind a session cookie, if the session is still valid. Expired sessions are deleted.
pub async fn resolve(db: &Db, raw: &str) -> sqlx::Result<Option<SessionUser>> {
    if raw.len() > 128 {
        return Ok(None);
    }
    let hash = security::sha256_hex(raw.as_bytes());
    const SQL: &str = "SELECT u.id AS user_id, u.email, u.role, u.full_name, u.language, \
                s.created_at, s.last_seen_at, p.id AS partner_id, p.business_name, p.slug, \
                p.is_business_approved, p.suspended_at, m.role AS member_role, s.proved_at, \
                (SELECT t.confirmed_at FROM user_totp t WHERE t.user_id = u.id) AS totp_on, \
                p.require_two_factor, COALESCE(m.two_factor_due_at, m.created_at + $2) AS two_factor_due \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN partner_members m ON m.partner_id = s.partner_id AND m.user_id = s.user_id \
         LEFT JOIN partners p ON p.id = m.partner_id \
         WHERE s.id_hash = $1 AND u.is_active = TRUE";
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(SQL).bind(&hash).bind(OWNER_GRACE_MS).fetch_optional(pool).await)?;
    let Some(row) = row else { return Ok(None) };
    let now = now_ms();
    let role = Role::parse(&row.role);
    let expired = now - row.created_at > ABSOLUTE_MS || now - row.last_seen_at > IDLE_MS;
    if expired || row.suspended_at.is_some() || role.is_none() {
        on_db!(db, pool => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(&hash).execute(pool).await.map(|r| r.rows_affected()))?;
        return Ok(None);
    }
    if now - row.last_seen_at > TOUCH_EVERY_MS {
        on_db!(db, pool => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&hash)
            .bind(now)
            .execute(pool)
            .await.map(|r| r.rows_affected()))?;
    }
    let member_role = row.member_role.as_deref().and_then(super::TeamRole::parse);
    let partner = match (row.partner_id, row.business_name, row.slug, member_role) {
        (Some(id), Some(business_name), Some(slug), Some(role)) => Some(PartnerRef {
            id: crate::ids::PartnerId::new(id),
            business_name,
            slug,
            approved: row.is_business_approved.unwrap_or(false),
            role,
            two_factor_required: row.require_two_factor.unwrap_or(false)
                || (role == super::TeamRole::Owner && row.two_factor_due.is_some_and(|due| now > due)),
            two_factor_due_at: row.two_factor_due.filter(|_| role == super::TeamRole::Owner),
        }),
        _ => None,
    };
    Ok(Some(SessionUser {
        session_hash: hash,
        user_id: row.user_id,
        email: row.email,
        role: role.unwrap_or(Role::Business),
        full_name: row.full_name,
        language: row.language,
        partner,
        proved_at: row.proved_at,
        two_factor: row.totp_on.is_some(),
    }))
}

/// A shop a person belongs to.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Shop {
    pub partner_id: String,
    pub business_name: String,
    pub role: String,
}

/// The shops a person belongs to, the first joined first.
pub async fn shops_of(db: &Db, user_id: &str) -> sqlx::Result<Vec<Shop>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT m.partner_id, p.business_name, m.role FROM partner_members m JOIN partners p ON p.id = m.partner_id \
         WHERE m.user_id = $1 ORDER BY m.created_at, m.partner_id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await)
}
