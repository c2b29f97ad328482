//! The audit trail: every security- or money-relevant action (sign-ins, the team, two-factor,
//! API keys, webhooks, payouts, branding, cancellations, disputes), written by the action's
//! own unit of work in its own transaction, so that an action and its entry commit or roll
//! back together. Who acted comes from the request being served (the shells set it: a signed-in
//! person, or an API key), with the address and browser it came from; a change made by the
//! platform itself (a job, the command line) is the system's. Entries are never changed or
//! deleted (the tables' triggers refuse it).

use serde::Serialize;

use crate::{
    db::{Db, Tx, now_ms},
    on_db, on_tx,
};

/// Who is acting in the request being served.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// The person, when a person acts (an API key acts for the person who made it).
    pub user_id: Option<String>,
    /// As shown: the person's e-mail, or "API key «name»".
    pub label: String,
    /// The shop the session or key acts for.
    pub partner_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
}

tokio::task_local! {
    static ACTOR: Actor;
}

/// Serve `fut` on behalf of `actor`: the entries it writes name them.
pub async fn acting<F: Future>(actor: Actor, fut: F) -> F::Output {
    ACTOR.scope(actor, fut).await
}

/// Who acts in the current request (`None` outside one: a job, the command line).
pub fn current() -> Option<Actor> {
    ACTOR.try_with(Clone::clone).ok()
}

/// `user_id` (shown as `label`) acting from the current request's address and browser: a
/// person the request has just identified (by their password), before any session says so.
pub fn person(user_id: &str, label: &str) -> Actor {
    let from = current().unwrap_or_default();
    Actor { user_id: Some(user_id.to_owned()), label: label.to_owned(), partner_id: None, ip: from.ip, user_agent: from.user_agent }
}

/// A failed sign-in to the account of `email`, if there is one (the same statement either way,
/// so that it tells nothing about which accounts exist), for the shop it belongs to first.
pub async fn failed_sign_in(db: &Db, email: &str, action: Action) -> sqlx::Result<()> {
    let from = current().unwrap_or_default();
    on_db!(db, pool => sqlx::query(
        "INSERT INTO audit_events (partner_id, user_id, actor, action, subject, ip, user_agent, created_at) \
         SELECT (SELECT m.partner_id FROM partner_members m WHERE m.user_id = u.id ORDER BY m.created_at LIMIT 1), \
                u.id, u.email, $2, '', $3, $4, $5 FROM users u WHERE u.email = $1",
    )
    .bind(email)
    .bind(action.as_str())
    .bind(from.ip.chars().take(64).collect::<String>())
    .bind(from.user_agent.chars().take(300).collect::<String>())
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|_| ()))
}

/// What happened. Stored by name; the page shows each in the reader's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignInFailed,
    TwoFactorOn,
    TwoFactorOff,
    TwoFactorFailed,
    TwoFactorRequired,
    PasswordChanged,
    MemberInvited,
    InvitationRevoked,
    MemberJoined,
    RoleChanged,
    MemberRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    WebhookChanged,
    WebhookSecretChanged,
    PayoutRequested,
    ShopDetailsChanged,
    BrandingChanged,
    OrderCancelled,
    DisputeOpened,
    DisputeCommented,
    DisputeStatusChanged,
    Refused,
}

impl Action {
    pub const ALL: [Action; 24] = [
        Action::SignIn,
        Action::SignInFailed,
        Action::TwoFactorOn,
        Action::TwoFactorOff,
        Action::TwoFactorFailed,
        Action::TwoFactorRequired,
        Action::PasswordChanged,
        Action::MemberInvited,
        Action::InvitationRevoked,
        Action::MemberJoined,
        Action::RoleChanged,
        Action::MemberRemoved,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
        Action::WebhookChanged,
        Action::WebhookSecretChanged,
        Action::PayoutRequested,
        Action::ShopDetailsChanged,
        Action::BrandingChanged,
        Action::OrderCancelled,
        Action::DisputeOpened,
        Action::DisputeCommented,
        Action::DisputeStatusChanged,
        Action::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in.failed",
            Action::TwoFactorOn => "two_factor.on",
            Action::TwoFactorOff => "two_factor.off",
            Action::TwoFactorFailed => "two_factor.failed",
            Action::TwoFactorRequired => "two_factor.required",
            Action::PasswordChanged => "password.changed",
            Action::MemberInvited => "member.invited",
            Action::InvitationRevoked => "invitation.revoked",
            Action::MemberJoined => "member.joined",
            Action::RoleChanged => "member.role_changed",
            Action::MemberRemoved => "member.removed",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::WebhookChanged => "webhook.changed",
            Action::WebhookSecretChanged => "webhook.secret_changed",
            Action::PayoutRequested => "payout.requested",
            Action::ShopDetailsChanged => "shop.changed",
            Action::BrandingChanged => "branding.changed",
            Action::OrderCancelled => "order.cancelled",
            Action::DisputeOpened => "dispute.opened",
            Action::DisputeCommented => "dispute.commented",
            Action::DisputeStatusChanged => "dispute.status_changed",
            Action::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One action to record: what, on what (an id or a name), and what changed.
pub struct Entry<'a> {
    pub action: Action,
    /// The shop it concerns (default: the shop the actor acts for).
    pub partner_id: Option<&'a str>,
    pub subject: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> Entry<'a> {
    pub fn new(action: Action, subject: &'a str) -> Entry<'a> {
        Entry { action, partner_id: None, subject, before: None, after: None }
    }

    pub fn shop(mut self, partner_id: &'a str) -> Entry<'a> {
        self.partner_id = Some(partner_id);
        self
    }

    pub fn before(mut self, v: impl Serialize) -> Entry<'a> {
        self.before = serde_json::to_value(v).ok();
        self
    }

    pub fn after(mut self, v: impl Serialize) -> Entry<'a> {
        self.after = serde_json::to_value(v).ok();
        self
    }
}

/// The fields of two JSON objects that differ: (their values before, their values after).
pub fn changed(
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> (serde_json::Map<String, serde_json::Value>, serde_json::Map<String, serde_json::Value>) {
    let (mut was, mut is) = (serde_json::Map::new(), serde_json::Map::new());
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, v) in a {
            let old = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
            if &old != v {
                was.insert(k.clone(), old);
                is.insert(k.clone(), v.clone());
            }
        }
    }
    (was, is)
}

const INSERT: &str = "INSERT INTO audit_events (partner_id, user_id, actor, action, subject, before, after, ip, user_agent, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Record `entry` in the action's transaction.
pub async fn record(tx: &mut Tx, entry: Entry<'_>) -> sqlx::Result<()> {
    record_as(tx, entry, None).await
}

/// Record `entry` as done by `actor` (when the actor is not the request's: a person just
/// identified by their password, say; `None`: the request's, or the system outside one).
pub async fn record_as(tx: &mut Tx, entry: Entry<'_>, actor: Option<&Actor>) -> sqlx::Result<()> {
    let actor = actor.cloned().or_else(current).unwrap_or_else(|| Actor { label: "system".to_owned(), ..Actor::default() });
    let partner = entry.partner_id.map(str::to_owned).or(actor.partner_id);
    let text = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    let ip: String = actor.ip.chars().take(64).collect();
    let agent: String = actor.user_agent.chars().take(300).collect();
    on_tx!(tx, c => sqlx::query(INSERT)
        .bind(partner)
        .bind(actor.user_id)
        .bind(actor.label)
        .bind(entry.action.as_str())
        .bind(entry.subject)
        .bind(text(&entry.before))
        .bind(text(&entry.after))
        .bind(ip)
        .bind(agent)
        .bind(now_ms())
        .execute(&mut *c)
        .await
        .map(|_| ()))
}

/// Record an attempt that changed nothing else (a refusal): its own transaction.
pub async fn record_alone(db: &Db, entry: Entry<'_>, actor: Option<&Actor>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    record_as(&mut tx, entry, actor).await?;
    tx.commit().await
}

/// A recorded entry.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    pub seq: i64,
    pub partner_id: Option<String>,
    pub user_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
}

/// What to list: one shop's entries, optionally of one action or one person, in a period.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: Option<Action>,
    pub user_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A shop's entries, newest first, before `before` (a `seq`, for the next page).
pub async fn list(db: &Db, partner_id: &str, f: &Filter, before: Option<i64>, limit: i64) -> sqlx::Result<Vec<Event>> {
    let sql = "SELECT seq, partner_id, user_id, actor, action, subject, before, after, ip, user_agent, created_at FROM audit_events \
               WHERE partner_id = $1 AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR user_id = $3) \
               AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) AND ($6 IS NULL OR seq < $6) \
               ORDER BY seq DESC LIMIT $7";
    on_db!(db, pool => sqlx::query_as::<_, Event>(sql)
        .bind(partner_id)
        .bind(f.action.map(Action::as_str))
        .bind(f.user_id.as_deref())
        .bind(f.from_ms)
        .bind(f.to_ms)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await)
}

/// The people already named in a shop's entries (its members past and present): (id, label).
pub async fn people(db: &Db, partner_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    on_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT user_id, MAX(actor) FROM audit_events WHERE partner_id = $1 AND user_id IS NOT NULL GROUP BY user_id ORDER BY MAX(actor)",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await)
}
