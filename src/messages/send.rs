//! The sender: claims due messages (one instance each: `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, the single writer on SQLite), sends them through the configured provider and
//! records the outcome. A text to a phone goes by SMS through an HTTP SMS gateway (Africa's
//! Talking's documented messaging API, which serves Cameroon), or by WhatsApp through the
//! WhatsApp Cloud API's messages endpoint (approved templates) when only WhatsApp is set up.
//! An e-mail goes through the configured SMTP server (`lettre`). With no provider for a
//! message's channel it is only recorded: nothing leaves the machine.
//! A provider that times out or answers 5xx or 429 is retried later (30 s, 2 min, 10 min,
//! 1 h, 6 h); one that refuses the message (other 4xx) fails it at once. Sending never
//! blocks the request that caused the message.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, message::Mailbox, message::header::ContentType};
use serde_json::json;

use super::Message;
use crate::{
    config::Config,
    db::{Db, now_ms},
    events::Bus,
    on_db,
};

/// Retry delays after each failed attempt; after the last, the message fails.
pub const BACKOFF_MS: [i64; 5] = [30_000, 120_000, 600_000, 3_600_000, 21_600_000];
/// How long a claimed message stays claimed (a crash mid-send frees it after this).
const LOCK_MS: i64 = 120_000;
/// Messages claimed at once.
const BATCH: i64 = 4;

/// An HTTP SMS gateway (Africa's Talking's API shape).
#[derive(Clone, Debug)]
pub struct SmsGateway {
    pub url: String,
    pub username: String,
    pub api_key: String,
    pub sender: Option<String>,
}

/// The WhatsApp Cloud API.
#[derive(Clone, Debug)]
pub struct WhatsApp {
    pub url: String,
    pub token: String,
    pub phone_number_id: String,
}

/// An SMTP server and the sender of e-mails.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// The configured providers.
#[derive(Clone)]
pub struct Providers {
    pub sms: Option<SmsGateway>,
    pub whatsapp: Option<WhatsApp>,
    pub smtp: Option<Smtp>,
    pub public_url: String,
    http: reqwest::Client,
}

impl Providers {
    /// The providers `config` sets up; a malformed SMTP URL or sender is an error (the
    /// portal refuses to start rather than lose e-mails).
    pub fn of(config: &Config) -> anyhow::Result<Providers> {
        let nonempty = |v: &Option<String>| v.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        let sms = match (nonempty(&config.sms_username), nonempty(&config.sms_api_key)) {
            (Some(username), Some(api_key)) => Some(SmsGateway {
                url: config.sms_api_url.trim_end_matches('/').to_owned(),
                username,
                api_key,
                sender: nonempty(&config.sms_sender),
            }),
            _ => None,
        };
        let whatsapp = match (nonempty(&config.whatsapp_token), nonempty(&config.whatsapp_phone_number_id)) {
            (Some(token), Some(phone_number_id)) => {
                Some(WhatsApp { url: config.whatsapp_api_url.trim_end_matches('/').to_owned(), token, phone_number_id })
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let smtp = match nonempty(&config.smtp_url) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not a usable SMTP address: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                let from: Mailbox = config.smtp_from.parse().map_err(|e| anyhow::anyhow!("SMTP_FROM is not an e-mail sender: {e}"))?;
                Some(Smtp { transport, from })
            }
            None => None,
        };
        Ok(Providers { sms, whatsapp, smtp, public_url: config.public_url(), http })
    }
}

/// What became of one attempt.
#[derive(Debug)]
enum Outcome {
    Sent {
        channel: &'static str,
        reference: Option<String>,
    },
    /// No provider for this channel: kept as a record only.
    Recorded,
    /// Try again later.
    Retry(String),
    /// The provider refused it: no retry.
    Refused(String),
}

/// Claim up to `limit` due messages.
async fn claim(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<Message>> {
    let lock = if db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE messages SET status = 'SENDING', locked_until = $2, attempts = attempts + 1 WHERE id IN (\
           SELECT id FROM messages WHERE (status = 'PENDING' AND next_attempt_at <= $1) OR (status = 'SENDING' AND locked_until < $1) \
           ORDER BY next_attempt_at, created_at LIMIT {limit}{lock}) \
         RETURNING id, partner_id, order_id, channel, recipient, language, template, params, status, attempts, last_error, \
           provider_ref, created_at, sent_at"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(now).bind(now + LOCK_MS).fetch_all(pool).await)
}

/// Record an attempt's outcome, if this instance still holds the claim (a claim that outlived
/// its lock may have gone to another instance, whose outcome then stands).
async fn finish(db: &Db, m: &Message, outcome: &Outcome, now: i64) -> sqlx::Result<()> {
    let (status, channel, reference, error, next) = match outcome {
        Outcome::Sent { channel, reference } => ("SENT", *channel, reference.clone(), None, now),
        Outcome::Recorded => ("RECORDED", m.channel.as_str(), None, None, now),
        Outcome::Retry(e) => match BACKOFF_MS.get((m.attempts - 1).max(0) as usize) {
            Some(delay) => ("PENDING", m.channel.as_str(), None, Some(e.clone()), now + delay),
            None => ("FAILED", m.channel.as_str(), None, Some(e.clone()), now),
        },
        Outcome::Refused(e) => ("FAILED", m.channel.as_str(), None, Some(e.clone()), now),
    };
    let channel = channel.to_owned();
    // A secret (a recovery link) is kept only while the message may still be sent.
    let params = if super::is_secret(&m.template) && status != "PENDING" { "{}".to_owned() } else { m.params.clone() };
    on_db!(db, pool => sqlx::query(
        "UPDATE messages SET status = $2, channel = $3, provider_ref = COALESCE($4, provider_ref), last_error = $5, \
         next_attempt_at = $6, locked_until = NULL, sent_at = CASE WHEN $2 = 'SENT' THEN $6 ELSE sent_at END, params = $8 \
         WHERE id = $1 AND status = 'SENDING' AND attempts = $7",
    )
    .bind(&m.id)
    .bind(status)
    .bind(&channel)
    .bind(reference)
    .bind(error)
    .bind(next)
    .bind(m.attempts)
    .bind(params)
    .execute(pool)
    .await
    .map(|_| ()))?;
    metrics::counter!("delivr_messages_total", "channel" => channel, "outcome" => status.to_ascii_lowercase()).increment(1);
    Ok(())
}

/// Messages waiting to be sent and when the oldest was created.
pub async fn waiting(db: &Db) -> sqlx::Result<(i64, Option<i64>)> {
    on_db!(db, pool => sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM messages WHERE status IN ('PENDING', 'SENDING')")
        .fetch_one(pool)
        .await)
}

/// A phone number in E.164 (`+237…`), as providers want it.
fn e164(recipient: &str) -> String {
    crate::accounts::phone::Phone::parse(recipient).map(|p| p.as_str().to_owned()).unwrap_or_else(|| recipient.to_owned())
}

fn classify(status: reqwest::StatusCode, body: &str) -> Outcome {
    let detail: String = body.chars().take(300).collect();
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Outcome::Retry(format!("{status}: {detail}"))
    } else {
        Outcome::Refused(format!("{status}: {detail}"))
    }
}

async fn send_sms(p: &Providers, g: &SmsGateway, m: &Message) -> Outcome {
    let mut form = vec![("username", g.username.clone()), ("to", e164(&m.recipient)), ("message", m.text(&p.public_url))];
    if let Some(from) = &g.sender {
        form.push(("from", from.clone()));
    }
    let body = serde_urlencoded::to_string(&form).unwrap_or_default();
    let sent = p
        .http
        .post(format!("{}/version1/messaging", g.url))
        .header("apiKey", &g.api_key)
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Retry(format!("SMS gateway unreachable: {e}")),
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return classify(status, &text);
    }
    // The gateway answers per recipient: 100-102 are accepted, others refused.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let r = &v["SMSMessageData"]["Recipients"][0];
    match r["statusCode"].as_i64() {
        Some(100..=102) => Outcome::Sent { channel: "SMS", reference: r["messageId"].as_str().map(str::to_owned) },
        Some(_) => Outcome::Refused(format!("refused: {}", r["status"].as_str().unwrap_or("unknown"))),
        None => Outcome::Retry(format!("unexpected answer: {}", text.chars().take(200).collect::<String>())),
    }
}

async fn send_whatsapp(p: &Providers, w: &WhatsApp, m: &Message) -> Outcome {
    let parameters: Vec<serde_json::Value> = super::whatsapp_parameters(&m.template, &m.params(), &p.public_url)
        .into_iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    let body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": e164(&m.recipient).trim_start_matches('+'),
        "type": "template",
        "template": {
            "name": m.template,
            "language": {"code": m.lang().code()},
            "components": [{"type": "body", "parameters": parameters}],
        },
    });
    let sent = p.http.post(format!("{}/{}/messages", w.url, w.phone_number_id)).bearer_auth(&w.token).json(&body).send().await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Retry(format!("WhatsApp unreachable: {e}")),
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return classify(status, &text);
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Outcome::Sent { channel: "WHATSAPP", reference: v["messages"][0]["id"].as_str().map(str::to_owned) }
}

async fn send_email(p: &Providers, smtp: &Smtp, m: &Message) -> Outcome {
    let to: Mailbox = match m.recipient.parse() {
        Ok(to) => to,
        Err(e) => return Outcome::Refused(format!("not an e-mail address: {e}")),
    };
    let email = lettre::Message::builder()
        .from(smtp.from.clone())
        .to(to)
        .subject(m.subject())
        .header(ContentType::TEXT_PLAIN)
        .body(m.text(&p.public_url));
    let email = match email {
        Ok(e) => e,
        Err(e) => return Outcome::Refused(format!("e-mail not built: {e}")),
    };
    // The transport's timeout is per step: the whole exchange gets one too, well within the claim.
    let sent = tokio::time::timeout(Duration::from_secs(30), smtp.transport.send(email)).await;
    let Ok(sent) = sent else { return Outcome::Retry("SMTP: no answer within 30 s".to_owned()) };
    match sent {
        Ok(answer) => {
            let reference: String = answer.message().collect::<Vec<_>>().join(" ").chars().take(200).collect();
            Outcome::Sent { channel: "EMAIL", reference: Some(reference).filter(|r| !r.is_empty()) }
        }
        // 5xx: the server will never take it (unknown mailbox, refused sender).
        Err(e) if e.is_permanent() => Outcome::Refused(format!("SMTP: {e}")),
        Err(e) => Outcome::Retry(format!("SMTP: {e}")),
    }
}

async fn attempt(p: &Providers, m: &Message) -> Outcome {
    match (m.channel.as_str(), &p.sms, &p.whatsapp, &p.smtp) {
        ("SMS" | "WHATSAPP", Some(g), _, _) if m.channel == "SMS" || p.whatsapp.is_none() => send_sms(p, g, m).await,
        ("SMS" | "WHATSAPP", _, Some(w), _) => send_whatsapp(p, w, m).await,
        ("EMAIL", _, _, Some(smtp)) => send_email(p, smtp, m).await,
        // No provider for it: recorded only.
        _ => Outcome::Recorded,
    }
}

/// Recovery messages not sent while their link was valid fail, and forget the link.
async fn expire_secrets(db: &Db, now: i64) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE messages SET status = 'FAILED', last_error = 'expired before it could be sent', params = '{}', locked_until = NULL \
         WHERE status = 'PENDING' AND template = $1 AND created_at <= $2",
    )
    .bind(super::PASSWORD_RESET)
    .bind(now - super::RESET_MINUTES * 60_000)
    .execute(pool)
    .await
    .map(|_| ()))
}

/// Send what is due now; returns how many messages were handled.
pub async fn send_due(db: &Db, providers: &Providers) -> sqlx::Result<usize> {
    expire_secrets(db, now_ms()).await?;
    // Few at a time: a batch is sent well within its claim (BATCH × 15 s < LOCK_MS).
    let due = claim(db, now_ms(), BATCH).await?;
    for m in &due {
        let outcome = attempt(providers, m).await;
        if let Outcome::Retry(e) | Outcome::Refused(e) = &outcome {
            tracing::warn!(message_id = m.id, channel = m.channel, attempts = m.attempts, error = e, "message not sent");
        }
        finish(db, m, &outcome, now_ms()).await?;
    }
    Ok(due.len())
}

/// Wakes the senders of this process at once (a message written without an event, such as a
/// recovery e-mail).
static QUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Tell the senders a message is due now.
pub fn nudge() {
    QUEUED.notify_waiters();
}

/// Run the sender for as long as the process: woken by every committed event, and every few
/// seconds for retries and other instances' messages.
pub fn start(db: Db, bus: &Bus, providers: Providers) {
    let mut events = bus.subscribe();
    tokio::spawn(async move {
        loop {
            match send_due(&db, &providers).await {
                // A full batch: more may be due at once.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending messages failed"),
            }
            tokio::select! {
                r = events.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                _ = QUEUED.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    });
}
