//! SQL for users.

use uuid::Uuid;

use crate::{
    accounts::Role,
    db::{Db, now_ms},
    on_db,
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

pub async fn password_hash(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|r| r.0))
}

pub async fn set_password_hash(db: &Db, user_id: &str, hash: &str) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .bind(now_ms())
        .execute(pool)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
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
