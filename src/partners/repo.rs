//! SQL for partners (vendor businesses) and their users.

use uuid::Uuid;

use crate::{
    db::{Db, is_unique_violation, now_ms},
    on_db, on_tx, text,
};

/// Slugs that would collide with the portal's own URLs or mislead customers.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "partners",
    "partner",
    "book",
    "static",
    "accounts",
    "account",
    "login",
    "logout",
    "signup",
    "track",
    "tracking",
    "healthz",
    "docs",
    "delivr",
    "delivr-cm",
    "support",
    "help",
    "www",
    "new",
    "edit",
    "media",
    "dashboard",
    "orders",
    "disputes",
    "branding",
    "delivr-cameroun",
];

/// Everything the profile and admin pages show about a partner.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Partner {
    pub id: crate::ids::PartnerId,
    pub user_id: String,
    pub business_name: String,
    pub slug: String,
    pub phone: String,
    pub contact_name: String,
    pub email: String,
    pub language: Option<String>,
    pub is_business_approved: bool,
    pub approved_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub suspension_reason: Option<String>,
    pub pickup_quartier_id: Option<i64>,
    pub pickup_city_id: Option<i64>,
    pub pickup_address: Option<String>,
    /// Tax identifier (Numéro d'Identifiant Unique), printed on invoices.
    pub niu: Option<String>,
    /// Trade register number, printed on invoices.
    pub rccm: Option<String>,
    pub created_at: i64,
}

/// A partner's place in the approval workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Suspended,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "approved" => Some(Status::Approved),
            "suspended" => Some(Status::Suspended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Suspended => "suspended",
        }
    }
}

impl Partner {
    pub fn status(&self) -> Status {
        if self.suspended_at.is_some() {
            Status::Suspended
        } else if self.is_business_approved {
            Status::Approved
        } else {
            Status::Pending
        }
    }
}

const SELECT: &str = "SELECT p.id, p.user_id, p.business_name, p.slug, p.phone, u.full_name AS contact_name, u.email, \
     u.language, p.is_business_approved, p.approved_at, p.suspended_at, p.suspension_reason, p.pickup_quartier_id, \
     q.city_id AS pickup_city_id, p.pickup_address, p.niu, p.rccm, p.created_at \
     FROM partners p JOIN users u ON u.id = p.user_id LEFT JOIN quartiers q ON q.id = p.pickup_quartier_id";

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<Partner>> {
    let sql = format!("{SELECT} WHERE p.id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// What a new vendor submits at sign-up, already validated.
pub struct NewPartner<'a> {
    pub business_name: &'a str,
    pub contact_name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub language: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Create the vendor's user and partner rows together, with a unique slug.
pub async fn create(db: &Db, new: &NewPartner<'_>) -> Result<(String, String), CreateError> {
    let base = {
        let s = text::slugify(new.business_name);
        // At least 3 characters, never a reserved word (the rules of the branding page).
        if s.len() < 3 || RESERVED_SLUGS.contains(&s.as_str()) { format!("boutique-{s}").trim_end_matches('-').to_owned() } else { s }
    };
    // A concurrent sign-up may take the slug we picked: try again with the next free one.
    for _attempt in 0..5 {
        let slug = free_slug(db, &base).await?;
        let user_id = Uuid::new_v4().to_string();
        let partner_id = Uuid::new_v4().to_string();
        let now = now_ms();
        // An async block, so that `?` stops here and the match below sees the error.
        let result: sqlx::Result<()> = async {
            let mut tx = db.begin().await?;
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO users (id, email, password_hash, role, full_name, phone, language, is_active, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'BUSINESS', $4, $5, $6, TRUE, $7, $7)",
            )
            .bind(&user_id)
            .bind(new.email)
            .bind(new.password_hash)
            .bind(new.contact_name)
            .bind(new.phone)
            .bind(new.language)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO partners (id, user_id, business_name, slug, phone, is_business_approved, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6)",
            )
            .bind(&partner_id)
            .bind(&user_id)
            .bind(new.business_name)
            .bind(&slug)
            .bind(new.phone)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            // The one who signs up owns the shop.
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO partner_members (partner_id, user_id, role, created_at) VALUES ($1, $2, 'OWNER', $3)")
            .bind(&partner_id)
            .bind(&user_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => return Ok((user_id, partner_id)),
            Err(e) if is_unique_violation(&e) => {
                if email_exists(db, new.email).await? {
                    return Err(CreateError::EmailTaken);
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CreateError::Db(sqlx::Error::Protocol("could not find a free slug".into())))
}

async fn email_exists(db: &Db, email: &str) -> sqlx::Result<bool> {
    let row: Option<(String,)> =
        on_db!(db, pool => sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(email).fetch_optional(pool).await)?;
    Ok(row.is_some())
}

/// `base`, or `base-2`, `base-3`, … whichever is free.
async fn free_slug(db: &Db, base: &str) -> sqlx::Result<String> {
    // Slugs a vendor used before keep redirecting to them: they are taken too.
    let taken: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT slug FROM partners WHERE slug = $1 OR slug LIKE $2 UNION SELECT slug FROM partner_old_slugs WHERE slug = $1 OR slug LIKE $2",
    )
        .bind(base)
        .bind(format!("{base}-%"))
        .fetch_all(pool)
        .await)?;
    let taken: std::collections::HashSet<String> = taken.into_iter().map(|t| t.0).collect();
    if !taken.contains(base) {
        return Ok(base.to_owned());
    }
    Ok((2..).map(|n| format!("{base}-{n}")).find(|s| !taken.contains(s)).unwrap_or_else(|| base.to_owned()))
}

/// Profile fields a vendor edits.
pub struct ProfileUpdate<'a> {
    pub business_name: &'a str,
    pub contact_name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub language: &'a str,
    pub pickup_quartier_id: Option<i64>,
    pub pickup_address: Option<&'a str>,
    pub niu: Option<&'a str>,
    pub rccm: Option<&'a str>,
}

pub async fn update_profile(db: &Db, partner: &Partner, up: &ProfileUpdate<'_>) -> Result<(), CreateError> {
    let now = now_ms();
    let result: sqlx::Result<()> = async {
        let mut tx = db.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("UPDATE users SET email = $2, full_name = $3, phone = $4, language = $5, updated_at = $6 WHERE id = $1")
            .bind(&partner.user_id)
            .bind(up.email)
            .bind(up.contact_name)
            .bind(up.phone)
            .bind(up.language)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE partners SET business_name = $2, phone = $3, pickup_quartier_id = $4, pickup_address = $5, niu = $6, rccm = $7, updated_at = $8 WHERE id = $1",
        )
            .bind(&partner.id)
            .bind(up.business_name)
            .bind(up.phone)
            .bind(up.pickup_quartier_id)
            .bind(up.pickup_address)
            .bind(up.niu)
            .bind(up.rccm)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        // The audit trail keeps what changed, field by field.
        let was = serde_json::json!({
            "business_name": partner.business_name, "contact_name": partner.contact_name, "email": partner.email,
            "phone": partner.phone, "language": partner.language, "pickup_quartier_id": partner.pickup_quartier_id,
            "pickup_address": partner.pickup_address, "niu": partner.niu, "rccm": partner.rccm,
        });
        let now_is = serde_json::json!({
            "business_name": up.business_name, "contact_name": up.contact_name, "email": up.email,
            "phone": up.phone, "language": up.language, "pickup_quartier_id": up.pickup_quartier_id,
            "pickup_address": up.pickup_address, "niu": up.niu, "rccm": up.rccm,
        });
        let (before, after) = crate::audit::changed(&was, &now_is);
        if !after.is_empty() {
            crate::audit::record(
                &mut tx,
                crate::audit::Entry::new(crate::audit::Action::ShopDetailsChanged, up.business_name).shop(&partner.id).before(before).after(after),
            )
            .await?;
        }
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(CreateError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Admin list: search on business name, slug, email or phone; filter by status; newest first.
pub async fn search(db: &Db, q: &str, status: Option<Status>, limit: i64, offset: i64) -> sqlx::Result<(Vec<Partner>, i64)> {
    let status_sql = match status {
        None => "",
        Some(Status::Pending) => " AND p.is_business_approved = FALSE AND p.suspended_at IS NULL",
        Some(Status::Approved) => " AND p.is_business_approved = TRUE AND p.suspended_at IS NULL",
        Some(Status::Suspended) => " AND p.suspended_at IS NOT NULL",
    };
    let filter =
        format!(" WHERE ($1 = '' OR LOWER(p.business_name) LIKE $2 OR p.slug LIKE $2 OR u.email LIKE $2 OR p.phone LIKE $2){status_sql}");
    let pattern = format!("%{}%", q.to_lowercase().replace(['\\', '%', '_'], ""));
    let list_sql = format!("{SELECT}{filter} ORDER BY p.created_at DESC, p.id LIMIT $3 OFFSET $4");
    let count_sql = format!("SELECT COUNT(*) FROM partners p JOIN users u ON u.id = p.user_id{filter}");
    on_db!(db, pool => {
        let rows: Vec<Partner> = sqlx::query_as(&list_sql).bind(q).bind(&pattern).bind(limit).bind(offset).fetch_all(pool).await?;
        let (total,): (i64,) = sqlx::query_as(&count_sql).bind(q).bind(&pattern).fetch_one(pool).await?;
        Ok((rows, total))
    })
}

/// Approve a partner (or lift a suspension); the first approval tells the vendor
/// (`partner.approved`: a notification) in the same transaction. The event to announce, if
/// one was recorded.
pub async fn approve(db: &Db, id: &str) -> sqlx::Result<Option<crate::events::Recorded>> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    // The first approval is the one that sets `approved_at`: a guarded update, so that two
    // concurrent approvals (two instances) tell the vendor once.
    let first = on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET approved_at = $2 WHERE id = $1 AND approved_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected() == 1))?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE partners SET is_business_approved = TRUE, approved_at = COALESCE(approved_at, $2), suspended_at = NULL, \
         suspension_reason = NULL, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let recorded = if first {
        let event = crate::events::Event::new(id, crate::events::Kind::PartnerApproved, None, &serde_json::json!({}));
        Some(crate::events::record(&mut tx, &event, now).await?)
    } else {
        None
    };
    tx.commit().await?;
    crate::auth::credentials_changed();
    Ok(recorded)
}

/// Suspend a partner and end their sessions in the same transaction; returns the ended
/// sessions (`None` if there is no such partner).
pub async fn suspend(db: &Db, id: &str, reason: &str) -> sqlx::Result<Option<crate::auth::sessions::Ended>> {
    let now = now_ms();
    let hashes: Option<Vec<String>> = {
        let mut tx = db.begin().await?;
        let done = on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET suspended_at = $2, suspension_reason = $3, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(reason)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        let hashes: Vec<String> = on_tx!(&mut tx, c => sqlx::query_scalar("DELETE FROM sessions WHERE partner_id = $1 RETURNING id_hash")
            .bind(id)
            .fetch_all(&mut *c)
            .await)?;
        tx.commit().await?;
        // The partner's API keys stop working at once (see `api_keys::KeyCache`).
        crate::auth::credentials_changed();
        Ok::<_, sqlx::Error>((done == 1).then_some(hashes))
    }?;
    Ok(hashes.map(|h| crate::auth::sessions::Ended { sessions: h.into_iter().map(|h| (id.to_owned(), h)).collect() }))
}

/// Counts by status for the admin list's filter tabs.
pub async fn count_pending(db: &Db) -> sqlx::Result<i64> {
    let (n,): (i64,) = on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM partners WHERE is_business_approved = FALSE AND suspended_at IS NULL",
    )
    .fetch_one(pool)
    .await)?;
    Ok(n)
}
