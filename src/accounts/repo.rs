//! SQL for users.

use uuid::Uuid;

use crate::{
    auth::Role,
    db::{Db, Tx, now_ms},
    on_db, on_tx,
};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct UserAuth {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub is_active: bool,
}

/// Look a user up by (lower-cased) email for login.
pub async fn find_by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserAuth>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, email, password_hash, role, is_active FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(pool)
        .await)
}

/// A person's e-mail address.
pub async fn email_of(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user_id).fetch_optional(pool).await)
}

pub async fn password_hash(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|r| r.0))
}

/// Change a user's password: in the same transaction every session of the user ends and
/// every courier token is revoked (whoever knew the old password is out). The caller starts
/// a new session for the browser that made the change, if any.
pub async fn set_password_hash(db: &Db, user_id: &str, hash: &str) -> sqlx::Result<crate::auth::sessions::Ended> {
    let mut tx = db.begin().await?;
    let ended = set_password_in(&mut tx, user_id, hash, now_ms()).await?;
    tx.commit().await?;
    Ok(ended)
}

/// [`set_password_hash`] in the caller's unit of work (password recovery spends its link in
/// the same one); announce the ended sessions once it commits.
pub async fn set_password_in(tx: &mut Tx, user_id: &str, hash: &str, now: i64) -> sqlx::Result<crate::auth::sessions::Ended> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let ended: Vec<(String, Option<String>)> = on_tx!(tx, c => sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id_hash, partner_id").bind(user_id).fetch_all(&mut *c).await)?;
    on_tx!(tx, c => sqlx::query("UPDATE courier_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL").bind(user_id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    // For every shop the person belongs to (a reset link acts before any session).
    let shops: Vec<String> = on_tx!(tx, c => sqlx::query_scalar("SELECT partner_id FROM partner_members WHERE user_id = $1").bind(user_id).fetch_all(&mut *c).await)?;
    let email: String =
        on_tx!(tx, c => sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *c).await)?;
    let who =
        crate::audit::current().filter(|a| a.user_id.as_deref() == Some(user_id)).unwrap_or_else(|| crate::audit::person(user_id, &email));
    for shop in &shops {
        crate::audit::record_as(tx, crate::audit::Entry::new(crate::audit::Action::PasswordChanged, "").shop(shop), Some(&who)).await?;
    }
    Ok(crate::auth::sessions::Ended { sessions: ended.into_iter().filter_map(|(h, p)| p.map(|p| (p, h))).collect() })
}

pub async fn set_language(db: &Db, user_id: &str, lang: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE users SET language = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(lang)
        .bind(now_ms())
        .execute(pool)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Create a user that is not a vendor (ADMIN or COURIER). Fails on a duplicate email.
pub async fn create_staff(db: &Db, role: Role, email: &str, full_name: &str, phone: Option<&str>, hash: &str) -> sqlx::Result<String> {
    let id = Uuid::new_v4().to_string();
    let now = now_ms();
    on_db!(db, pool => sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, full_name, phone, language, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, TRUE, $7, $7)",
    )
    .bind(&id)
    .bind(email)
    .bind(hash)
    .bind(role.as_str())
    .bind(full_name)
    .bind(phone)
    .bind(now)
    .execute(pool)
    .await.map(|r| r.rows_affected()))?;
    Ok(id)
}

/// Was the shop a user signs in to (the first they joined) ever approved (a suspension), or not (a refused application)?
pub async fn was_approved(db: &Db, user_id: &str) -> sqlx::Result<bool> {
    let at: Option<Option<i64>> = on_db!(db, pool => sqlx::query_scalar("SELECT approved_at FROM partners WHERE id = (SELECT partner_id FROM partner_members WHERE user_id = $1 ORDER BY created_at, partner_id LIMIT 1)")
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
    Ok(at.flatten().is_some())
}

/// Why the shop a user signs in to is suspended, as the admin wrote it (`None` when not suspended or
/// no reason was given).
pub async fn suspension_reason(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    let reason: Option<Option<String>> = on_db!(db, pool => sqlx::query_scalar("SELECT suspension_reason FROM partners WHERE id = (SELECT partner_id FROM partner_members WHERE user_id = $1 ORDER BY created_at, partner_id LIMIT 1) AND suspended_at IS NOT NULL")
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
    Ok(reason.flatten())
}
