//! Password recovery ("Mot de passe oublié ?"): a single-use link valid 30 minutes, sent by
//! e-mail through the messages outbox (and by SMS when a gateway is set up). Only the link
//! token's SHA-256 is stored; asking for a new link spends the older ones, and using one
//! changes the password, spends every link of the account and ends all its sessions and
//! courier tokens, in one transaction. Whether an account exists is never said: the request
//! gets the same answer either way, and both are throttled alike.

pub mod pages;

use serde_json::json;

use crate::{
    accounts::repo,
    auth::sessions::Ended,
    db::{Db, now_ms},
    events::outbound::{self, Outbound},
    messages::{PASSWORD_RESET, RESET_MINUTES},
    on_db, on_tx, security,
};

/// How long a link stays valid.
pub const TTL_MS: i64 = RESET_MINUTES * 60_000;

#[derive(sqlx::FromRow)]
struct Account {
    id: String,
    email: String,
    phone: Option<String>,
    language: Option<String>,
    partner_id: Option<String>,
}

/// Send a recovery link to the active account with this (lower-cased) e-mail, if there is
/// one: by e-mail, and by SMS to its phone when `texts` leave the machine. Returns whether a
/// link was made (the caller must not tell the visitor).
pub async fn request(db: &Db, email: &str, texts: bool, now: i64) -> sqlx::Result<bool> {
    let account: Option<Account> = on_db!(db, pool => sqlx::query_as(
        "SELECT u.id, u.email, COALESCE(p.phone, u.phone) AS phone, u.language, p.id AS partner_id \
         FROM users u LEFT JOIN partners p ON p.user_id = u.id WHERE u.email = $1 AND u.is_active = TRUE",
    )
    .bind(email)
    .fetch_optional(pool)
    .await)?;
    let Some(account) = account else { return Ok(false) };
    let token = security::random_token(32);
    let language = account.language.clone().unwrap_or_else(|| "fr".to_owned());
    let mut messages = vec![Outbound {
        channel: "EMAIL",
        recipient: account.email.clone(),
        language: language.clone(),
        template: PASSWORD_RESET,
        params: json!({"token": token}),
    }];
    if let (true, Some(phone)) = (texts, account.phone.filter(|p| !p.trim().is_empty())) {
        messages.push(Outbound { channel: "SMS", recipient: phone, language, template: PASSWORD_RESET, params: json!({"token": token}) });
    }
    let mut tx = db.begin().await?;
    // One request at a time per account (SQLite has a single writer already): the older links
    // are all spent, whatever runs beside.
    if db.is_postgres() {
        on_tx!(&mut tx, c => sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(&account.id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    spend_links(&mut tx, &account.id, now).await?;
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(security::sha256_hex(token.as_bytes()))
        .bind(&account.id)
        .bind(now)
        .bind(now + TTL_MS)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    outbound::write(&mut tx, None, account.partner_id.as_deref(), None, messages, now).await?;
    tx.commit().await?;
    crate::messages::send::nudge();
    Ok(true)
}

/// Spend every link of the account still unused (a newer one is made, or one was used).
async fn spend_links(tx: &mut crate::db::Tx, user_id: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, c => sqlx::query("UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))
}

/// Is this link's token valid now (unused, not expired)?
pub async fn is_valid(db: &Db, token: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT expires_at FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(security::sha256_hex(token.as_bytes()))
    .bind(now_ms())
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

/// A password set through a recovery link.
pub struct Reset {
    /// The account's sessions, ended: announce them.
    pub ended: Ended,
    /// The account's e-mail (its sign-in throttle starts afresh).
    pub email: String,
}

/// Spend the link and set the new password (`hash`), ending every session of the account:
/// `None` when the link is unknown, used or expired (nothing changed).
pub async fn reset(db: &Db, token: &str, hash: &str, now: i64) -> sqlx::Result<Option<Reset>> {
    let mut tx = db.begin().await?;
    // The guard on `used_at` makes two uses of one link race to a single winner.
    let user: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
    )
    .bind(security::sha256_hex(token.as_bytes()))
    .bind(now)
    .fetch_optional(&mut *c)
    .await)?;
    let Some(user) = user else { return Ok(None) };
    spend_links(&mut tx, &user, now).await?;
    let ended = repo::set_password_in(&mut tx, &user, hash, now).await?;
    let email: String =
        on_tx!(&mut tx, c => sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(&user).fetch_one(&mut *c).await)?;
    tx.commit().await?;
    Ok(Some(Reset { ended, email }))
}
