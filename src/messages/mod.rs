//! Messages to recipients and vendors: the outbox the event owner writes
//! ([`crate::events::outbound`]), its texts in the recipient's language, the sender that
//! delivers them through the configured providers with retries ([`send`]), and the pages that
//! show them (the order's messages, the admin outbox).

pub mod pages;
pub mod send;

use serde_json::Value;

use crate::{
    db::Db,
    i18n::{Lang, Msg},
    on_db,
};

/// A message as stored.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Message {
    pub id: String,
    /// The shop, if any (a recovery e-mail to an admin has none).
    pub partner_id: Option<String>,
    pub order_id: Option<String>,
    pub channel: String,
    pub recipient: String,
    pub language: String,
    pub template: String,
    pub params: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const SELECT: &str = "SELECT id, partner_id, order_id, channel, recipient, language, template, params, status, attempts, last_error, \
     provider_ref, created_at, sent_at FROM messages";

impl Message {
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.language).unwrap_or_default()
    }

    pub fn params(&self) -> Value {
        serde_json::from_str(&self.params).unwrap_or_default()
    }

    /// The text, as the recipient reads it.
    pub fn text(&self, public_url: &str) -> String {
        render(&self.template, &self.params(), self.lang(), public_url)
    }

    /// The e-mail subject, as the recipient reads it.
    pub fn subject(&self) -> String {
        subject(&self.template, &self.params(), self.lang())
    }

    /// The text with its secrets hidden (the admin outbox): the delivery PIN is the
    /// recipient's, a recovery link the account holder's.
    pub fn masked_text(&self, public_url: &str) -> String {
        let mut params = self.params();
        for secret in ["pin", "token"] {
            if params.get(secret).is_some() && (secret == "pin" || is_secret(&self.template)) {
                params[secret] = Value::from("••••");
            }
        }
        render(&self.template, &params, self.lang(), public_url)
    }
}

/// Templates whose parameters hold a secret that must not outlive the message: once sent (or
/// failed, or recorded) the sender blanks them.
pub fn is_secret(template: &str) -> bool {
    template == PASSWORD_RESET || template == TEAM_INVITATION
}

/// The template of an invitation to join a shop's team (its link is a secret).
pub const TEAM_INVITATION: &str = "team_invitation";

/// How long an invitation link stays valid, in hours (said in the message).
pub const INVITATION_HOURS: i64 = 72;

/// The address of an invitation link.
pub fn invitation_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/accounts/invitations/{token}/")
}

/// The role named in an invitation, in `lang`.
fn role_name(params: &Value, lang: Lang) -> String {
    crate::auth::TeamRole::parse(params["role"].as_str().unwrap_or_default()).map_or_else(String::new, |r| lang.t(r.label()).to_owned())
}

/// The template of a password recovery message (e-mail, and SMS when a gateway is set up).
pub const PASSWORD_RESET: &str = "password_reset";

/// How long a recovery link stays valid, in minutes (said in the message).
pub const RESET_MINUTES: i64 = 30;

/// The address of a recovery link.
pub fn reset_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/accounts/password/reset/{token}/")
}

/// The tracking link of a message's parameters.
fn link(params: &Value, public_url: &str) -> String {
    format!("{public_url}/t/{}/", params["token"].as_str().unwrap_or_default())
}

/// A message's text from its template and parameters, in `lang`.
pub fn render(template: &str, params: &Value, lang: Lang, public_url: &str) -> String {
    let p = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
    match template {
        "order_created" => lang.fmt(
            Msg::SmsOrderCreated,
            &[("vendor", &p("vendor")), ("tracking", &p("tracking")), ("link", &link(params, public_url)), ("pin", &p("pin"))],
        ),
        "order_on_the_way" => lang.fmt(
            Msg::SmsOrderOnTheWay,
            &[("vendor", &p("vendor")), ("tracking", &p("tracking")), ("courier", &p("courier")), ("link", &link(params, public_url))],
        ),
        "partner_approved" => {
            lang.fmt(Msg::SmsPartnerApproved, &[("vendor", &p("vendor")), ("link", &format!("{public_url}/accounts/login/"))])
        }
        PASSWORD_RESET => {
            lang.fmt(Msg::MessagePasswordReset, &[("link", &reset_link(public_url, &p("token"))), ("minutes", &RESET_MINUTES.to_string())])
        }
        TEAM_INVITATION => lang.fmt(
            Msg::MessageTeamInvitation,
            &[
                ("inviter", &p("inviter")),
                ("shop", &p("shop")),
                ("role", &role_name(params, lang)),
                ("link", &invitation_link(public_url, &p("token"))),
                ("hours", &INVITATION_HOURS.to_string()),
            ],
        ),
        other => other.to_owned(),
    }
}

/// A message's e-mail subject.
pub fn subject(template: &str, params: &Value, lang: Lang) -> String {
    match template {
        "order_created" | "order_on_the_way" => {
            lang.fmt(Msg::SubjectParcel, &[("tracking", params["tracking"].as_str().unwrap_or_default())])
        }
        "partner_approved" => lang.t(Msg::SubjectApproved).to_owned(),
        PASSWORD_RESET => lang.t(Msg::SubjectPasswordReset).to_owned(),
        TEAM_INVITATION => lang.fmt(Msg::SubjectTeamInvitation, &[("shop", params["shop"].as_str().unwrap_or_default())]),
        _ => "DELIVR-CM".to_owned(),
    }
}

/// The parameters of a WhatsApp template's body, in the order the template declares them
/// (the templates are named like ours: `order_created`, `order_on_the_way`, `partner_approved`,
/// `password_reset`).
pub fn whatsapp_parameters(template: &str, params: &Value, public_url: &str) -> Vec<String> {
    let p = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
    match template {
        "order_created" => vec![p("vendor"), p("tracking"), link(params, public_url), p("pin")],
        "order_on_the_way" => vec![p("tracking"), p("vendor"), p("courier"), link(params, public_url)],
        "partner_approved" => vec![p("vendor"), format!("{public_url}/accounts/login/")],
        PASSWORD_RESET => vec![reset_link(public_url, &p("token")), RESET_MINUTES.to_string()],
        TEAM_INVITATION => vec![p("inviter"), p("shop"), role_name(params, Lang::Fr), invitation_link(public_url, &p("token"))],
        _ => Vec::new(),
    }
}

/// An order's messages, oldest first.
pub async fn of_order(db: &Db, order_id: &str) -> sqlx::Result<Vec<Message>> {
    let sql = format!("{SELECT} WHERE order_id = $1 ORDER BY created_at, id");
    on_db!(db, pool => sqlx::query_as(&sql).bind(order_id).fetch_all(pool).await)
}

/// The latest messages (the admin outbox), optionally of one status.
pub async fn latest(db: &Db, status: Option<&str>, limit: i64) -> sqlx::Result<Vec<Message>> {
    match status {
        Some(s) => {
            let sql = format!("{SELECT} WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
            on_db!(db, pool => sqlx::query_as(&sql).bind(s).bind(limit).fetch_all(pool).await)
        }
        None => {
            let sql = format!("{SELECT} ORDER BY created_at DESC, id DESC LIMIT $1");
            on_db!(db, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
        }
    }
}

/// The statuses a message goes through, with their labels and tones.
pub const STATUSES: [(&str, Msg, &str); 5] = [
    ("PENDING", Msg::MessagePending, "warn"),
    ("SENDING", Msg::MessagePending, "warn"),
    ("SENT", Msg::MessageSent, "ok"),
    ("FAILED", Msg::MessageFailed, "err"),
    ("RECORDED", Msg::MessageRecorded, ""),
];

pub fn status_label(status: &str) -> (Msg, &'static str) {
    STATUSES.iter().find(|(s, _, _)| *s == status).map(|(_, m, t)| (*m, *t)).unwrap_or((Msg::MessagePending, "warn"))
}
