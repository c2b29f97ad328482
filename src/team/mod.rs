//! A shop's team: its members and their roles, invitations to join it, and the shops a person
//! belongs to. The owner invites by e-mail or phone (a single-use link valid 72 hours, sent
//! through the messages outbox; only its token's SHA-256 is stored), changes roles and removes
//! members, whose sessions (and so their live streams) end at once. A shop always keeps an
//! owner: the last one can be neither removed nor given another role.

pub mod pages;
pub mod security_log;

use serde_json::json;

use crate::{
    audit,
    auth::{TeamRole, sessions::Ended},
    db::{Db, Tx},
    events::outbound::{self, Outbound},
    messages::{INVITATION_HOURS, TEAM_INVITATION},
    on_db, on_tx, security,
};

/// How long an invitation stays valid.
pub const INVITATION_TTL_MS: i64 = INVITATION_HOURS * 3_600_000;

/// One member of a shop.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub full_name: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
    /// Their two-factor is on.
    pub two_factor: bool,
}

impl Member {
    pub fn role(&self) -> TeamRole {
        TeamRole::parse(&self.role).unwrap_or(TeamRole::Accountant)
    }
}

pub async fn members(db: &Db, partner_id: &str) -> sqlx::Result<Vec<Member>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT m.user_id, u.full_name, u.email, m.role, m.created_at, \
         EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = m.user_id AND t.confirmed_at IS NOT NULL) AS two_factor \
         FROM partner_members m JOIN users u ON u.id = m.user_id \
         WHERE m.partner_id = $1 ORDER BY CASE m.role WHEN 'OWNER' THEN 0 WHEN 'MANAGER' THEN 1 WHEN 'STAFF' THEN 2 ELSE 3 END, m.created_at",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await)
}

/// An invitation still waiting to be accepted.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub invited_by_name: Option<String>,
}

/// The shop's invitations not yet accepted, revoked or expired.
pub async fn pending_invitations(db: &Db, partner_id: &str, now: i64) -> sqlx::Result<Vec<Invitation>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT i.id, i.channel, i.recipient, i.role, i.created_at, i.expires_at, u.full_name AS invited_by_name \
         FROM member_invitations i LEFT JOIN users u ON u.id = i.invited_by \
         WHERE i.partner_id = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at DESC",
    )
    .bind(partner_id)
    .bind(now)
    .fetch_all(pool)
    .await)
}

/// Who is invited, and how the link reaches them.
pub struct NewInvitation<'a> {
    pub partner_id: &'a str,
    pub invited_by: &'a str,
    /// `EMAIL` or `SMS`.
    pub channel: &'static str,
    /// An e-mail address (lower-cased) or a phone number in E.164.
    pub recipient: &'a str,
    pub role: TeamRole,
    /// The language of the message.
    pub language: &'a str,
}

/// Record an invitation and its message in one transaction; an earlier invitation still
/// waiting for the same recipient is revoked (one live link per person).
pub async fn invite(db: &Db, new: &NewInvitation<'_>, now: i64) -> sqlx::Result<()> {
    let token = security::random_token(32);
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE member_invitations SET revoked_at = $3 WHERE partner_id = $1 AND recipient = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(new.partner_id)
    .bind(new.recipient)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO member_invitations (id, partner_id, token_hash, channel, recipient, role, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(new.partner_id)
    .bind(security::sha256_hex(token.as_bytes()))
    .bind(new.channel)
    .bind(new.recipient)
    .bind(new.role.as_str())
    .bind(new.invited_by)
    .bind(now)
    .bind(now + INVITATION_TTL_MS)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let (shop, inviter): (String, String) = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT p.business_name, u.full_name FROM partners p, users u WHERE p.id = $1 AND u.id = $2",
    )
    .bind(new.partner_id)
    .bind(new.invited_by)
    .fetch_one(&mut *c)
    .await)?;
    let message = Outbound {
        channel: new.channel,
        recipient: new.recipient.to_owned(),
        language: new.language.to_owned(),
        template: TEAM_INVITATION,
        params: json!({"token": token, "shop": shop, "inviter": inviter, "role": new.role.as_str()}),
    };
    outbound::write(&mut tx, None, Some(new.partner_id), None, vec![message], now).await?;
    audit::record(
        &mut tx,
        audit::Entry::new(audit::Action::MemberInvited, new.recipient)
            .shop(new.partner_id)
            .after(json!({"role": new.role.as_str(), "channel": new.channel})),
    )
    .await?;
    tx.commit().await?;
    crate::messages::send::nudge();
    Ok(())
}

/// Revoke a waiting invitation of the shop (`false`: none such).
pub async fn revoke_invitation(db: &Db, partner_id: &str, id: &str, now: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let revoked: Option<(String, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "UPDATE member_invitations SET revoked_at = $3 WHERE id = $1 AND partner_id = $2 AND used_at IS NULL AND revoked_at IS NULL \
         RETURNING recipient, role",
    )
    .bind(id)
    .bind(partner_id)
    .bind(now)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((recipient, role)) = revoked else { return Ok(false) };
    audit::record(&mut tx, audit::Entry::new(audit::Action::InvitationRevoked, &recipient).shop(partner_id).before(json!({"role": role})))
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// A valid invitation, as its link shows it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Invited {
    pub partner_id: String,
    pub business_name: String,
    pub channel: String,
    pub recipient: String,
    pub role: String,
    pub expires_at: i64,
}

impl Invited {
    pub fn role(&self) -> TeamRole {
        TeamRole::parse(&self.role).unwrap_or(TeamRole::Accountant)
    }
}

/// The invitation behind a link's token, if it can still be accepted.
pub async fn find(db: &Db, token: &str, now: i64) -> sqlx::Result<Option<Invited>> {
    if token.len() > 128 {
        return Ok(None);
    }
    on_db!(db, pool => sqlx::query_as(
        "SELECT i.partner_id, p.business_name, i.channel, i.recipient, i.role, i.expires_at \
         FROM member_invitations i JOIN partners p ON p.id = i.partner_id \
         WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 AND p.suspended_at IS NULL",
    )
    .bind(security::sha256_hex(token.as_bytes()))
    .bind(now)
    .fetch_optional(pool)
    .await)
}

/// Spend the invitation in `tx` (a single winner when two race) and make `user_id` a member
/// with its role; a person already in the shop keeps their role. `None`: the link is no longer
/// valid, nothing changed.
async fn spend(tx: &mut Tx, token: &str, user_id: &str, now: i64) -> sqlx::Result<Option<String>> {
    let spent: Option<(String, String)> = on_tx!(tx, c => sqlx::query_as(
        "UPDATE member_invitations SET used_at = $2, used_by = $3 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         RETURNING partner_id, role",
    )
    .bind(security::sha256_hex(token.as_bytes()))
    .bind(now)
    .bind(user_id)
    .fetch_optional(&mut *c)
    .await)?;
    let Some((partner_id, role)) = spent else { return Ok(None) };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO partner_members (partner_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (partner_id, user_id) DO NOTHING",
    )
    .bind(&partner_id)
    .bind(user_id)
    .bind(&role)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let email = email_in(tx, user_id).await?;
    let who = audit::current().filter(|a| a.user_id.as_deref() == Some(user_id)).unwrap_or_else(|| audit::person(user_id, &email));
    audit::record_as(tx, audit::Entry::new(audit::Action::MemberJoined, &email).shop(&partner_id).after(json!({"role": role})), Some(&who))
        .await?;
    Ok(Some(partner_id))
}

/// Accept an invitation as the signed-in person `user_id`: the shop's id, or `None` when the
/// link is no longer valid.
pub async fn accept(db: &Db, token: &str, user_id: &str, now: i64) -> sqlx::Result<Option<String>> {
    let mut tx = db.begin().await?;
    let joined = spend(&mut tx, token, user_id, now).await?;
    if joined.is_some() {
        tx.commit().await?;
    }
    Ok(joined)
}

/// Someone new, accepting an invitation.
pub struct NewPerson<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub language: &'a str,
}

/// Why an invitation could not make a new account.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("the invitation is no longer valid")]
    Invalid,
    #[error("an account already uses this e-mail")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Accept an invitation by making an account: the account and the membership in one
/// transaction. Returns the new user's id and the shop's.
pub async fn accept_new(db: &Db, token: &str, person: &NewPerson<'_>, now: i64) -> Result<(String, String), JoinError> {
    let user_id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin().await?;
    let created = on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, full_name, language, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, 'BUSINESS', $4, $5, TRUE, $6, $6) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&user_id)
    .bind(person.email)
    .bind(person.password_hash)
    .bind(person.full_name)
    .bind(person.language)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if created == 0 {
        return Err(JoinError::EmailTaken);
    }
    let partner_id = spend(&mut tx, token, &user_id, now).await?.ok_or(JoinError::Invalid)?;
    tx.commit().await?;
    Ok((user_id, partner_id))
}

/// Why a member could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no such member")]
    NotFound,
    #[error("a shop keeps at least one owner")]
    LastOwner,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The members' roles, read for a change under a lock (on PostgreSQL the shop's row is locked,
/// so two owners demoting each other cannot leave the shop without one).
async fn roles_locked(tx: &mut Tx, partner_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    let lock = tx.row_lock();
    on_tx!(tx, c => sqlx::query_scalar::<_, String>(&format!("SELECT id FROM partners WHERE id = $1{lock}")).bind(partner_id).fetch_optional(&mut *c).await)?;
    on_tx!(tx, c => sqlx::query_as("SELECT user_id, role FROM partner_members WHERE partner_id = $1").bind(partner_id).fetch_all(&mut *c).await)
}

fn check_owners(roles: &[(String, String)], user_id: &str, next: Option<TeamRole>) -> Result<TeamRole, ChangeError> {
    let current = roles.iter().find(|(u, _)| u == user_id).and_then(|(_, r)| TeamRole::parse(r)).ok_or(ChangeError::NotFound)?;
    let owners = roles.iter().filter(|(_, r)| r == TeamRole::Owner.as_str()).count();
    if current == TeamRole::Owner && next != Some(TeamRole::Owner) && owners <= 1 {
        return Err(ChangeError::LastOwner);
    }
    Ok(current)
}

/// Give a member another role. Their sessions carry on with it from their next request.
pub async fn set_role(db: &Db, partner_id: &str, user_id: &str, role: TeamRole) -> Result<TeamRole, ChangeError> {
    let mut tx = db.begin().await?;
    let roles = roles_locked(&mut tx, partner_id).await?;
    let before = check_owners(&roles, user_id, Some(role))?;
    // Someone made owner has two weeks from now to turn two-factor on (as a new owner has).
    let due = (role == TeamRole::Owner && before != TeamRole::Owner).then(|| crate::db::now_ms() + crate::auth::sessions::OWNER_GRACE_MS);
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE partner_members SET role = $3, two_factor_due_at = COALESCE($4, two_factor_due_at) WHERE partner_id = $1 AND user_id = $2",
    )
        .bind(partner_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(due)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let email = email_in(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        audit::Entry::new(audit::Action::RoleChanged, &email)
            .shop(partner_id)
            .before(json!({"role": before.as_str()}))
            .after(json!({"role": role.as_str()})),
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}

/// Remove a member: their membership and every session they had in this shop end (announce
/// the result: their live streams close).
pub async fn remove(db: &Db, partner_id: &str, user_id: &str) -> Result<Ended, ChangeError> {
    let mut tx = db.begin().await?;
    let roles = roles_locked(&mut tx, partner_id).await?;
    let before = check_owners(&roles, user_id, None)?;
    let email = email_in(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        audit::Entry::new(audit::Action::MemberRemoved, &email).shop(partner_id).before(json!({"role": before.as_str()})),
    )
    .await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM partner_members WHERE partner_id = $1 AND user_id = $2")
        .bind(partner_id)
        .bind(user_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    let hashes: Vec<String> = on_tx!(&mut tx, c => sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 AND partner_id = $2 RETURNING id_hash")
        .bind(user_id)
        .bind(partner_id)
        .fetch_all(&mut *c)
        .await)?;
    tx.commit().await?;
    Ok(Ended { sessions: hashes.into_iter().map(|h| (partner_id.to_owned(), h)).collect() })
}

/// A person's e-mail address, read in `tx` (what the audit trail names them by).
async fn email_in(tx: &mut Tx, user_id: &str) -> sqlx::Result<String> {
    on_tx!(tx, c => sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *c).await)
}

/// A shop's name, if it exists.
pub async fn business_name(db: &Db, partner_id: &str) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => sqlx::query_scalar("SELECT business_name FROM partners WHERE id = $1").bind(partner_id).fetch_optional(pool).await)
}

/// Does the shop require two-factor of every member?
pub async fn requires_two_factor(db: &Db, partner_id: &str) -> sqlx::Result<bool> {
    on_db!(db, pool => sqlx::query_scalar("SELECT require_two_factor FROM partners WHERE id = $1").bind(partner_id).fetch_one(pool).await)
}

/// Require two-factor of every member of the shop, or stop requiring it.
pub async fn require_two_factor(db: &Db, partner_id: &str, on: bool) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let before: bool = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT require_two_factor FROM partners WHERE id = $1").bind(partner_id).fetch_one(&mut *c).await)?;
    if before != on {
        on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET require_two_factor = $2 WHERE id = $1")
            .bind(partner_id)
            .bind(on)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
        audit::record(
            &mut tx,
            audit::Entry::new(audit::Action::TwoFactorRequired, "")
                .shop(partner_id)
                .before(json!({"required": before}))
                .after(json!({"required": on})),
        )
        .await?;
    }
    tx.commit().await
}

/// Make `user_id` a member of the shop with `role` directly (the demo's team; an operator's
/// script). People join through invitations otherwise.
pub async fn add(db: &Db, partner_id: &str, user_id: &str, role: TeamRole, now: i64) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("INSERT INTO partner_members (partner_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(partner_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
}
