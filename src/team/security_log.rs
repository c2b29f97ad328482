//! The audit trail's pages: a shop's security log for its owner (`/partners/audit/`), the same
//! for the admin (`/admin/partners/<id>/audit/`), each with filters (action, person, period),
//! older entries page by page, and the filtered entries as CSV (`?format=csv`).

use chrono::{Duration, NaiveDate};
use maud::html;
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    audit::{self, Action, Event, Filter},
    douala,
    i18n::{Lang, Msg},
    state::AppState,
    web::{
        Ctx, PageResult,
        components::format_datetime,
        forms::FieldErrors,
        layout::{page, respond},
        status_error,
    },
};

const PAGE_SIZE: i64 = 50;
/// Rows read at a time for the CSV.
const CHUNK: i64 = 1_000;

pub fn routes(route: Route) -> Route {
    route.at("/partners/audit/", get(shop_log)).at("/admin/partners/:id/audit/", get(admin_log))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AuditQuery {
    action: String,
    person: String,
    from: String,
    to: String,
    before: String,
    format: String,
}

impl AuditQuery {
    /// The filters as a query string (without the page or the format).
    fn filters(&self) -> String {
        serde_urlencoded::to_string([("action", &self.action), ("person", &self.person), ("from", &self.from), ("to", &self.to)])
            .unwrap_or_default()
    }
}

fn action_label(action: Action) -> Msg {
    match action {
        Action::SignIn => Msg::AuditSignIn,
        Action::SignInFailed => Msg::AuditSignInFailed,
        Action::TwoFactorOn => Msg::AuditTwoFactorOn,
        Action::TwoFactorOff => Msg::AuditTwoFactorOff,
        Action::TwoFactorFailed => Msg::AuditTwoFactorFailed,
        Action::TwoFactorRequired => Msg::AuditTwoFactorRequired,
        Action::PasswordChanged => Msg::AuditPasswordChanged,
        Action::MemberInvited => Msg::AuditMemberInvited,
        Action::InvitationRevoked => Msg::AuditInvitationRevoked,
        Action::MemberJoined => Msg::AuditMemberJoined,
        Action::RoleChanged => Msg::AuditRoleChanged,
        Action::MemberRemoved => Msg::AuditMemberRemoved,
        Action::ApiKeyCreated => Msg::AuditApiKeyCreated,
        Action::ApiKeyRevoked => Msg::AuditApiKeyRevoked,
        Action::WebhookChanged => Msg::AuditWebhookChanged,
        Action::WebhookSecretChanged => Msg::AuditWebhookSecretChanged,
        Action::PayoutRequested => Msg::AuditPayoutRequested,
        Action::ShopDetailsChanged => Msg::AuditShopDetailsChanged,
        Action::BrandingChanged => Msg::AuditBrandingChanged,
        Action::OrderCancelled => Msg::AuditOrderCancelled,
        Action::DisputeOpened => Msg::AuditDisputeOpened,
        Action::DisputeCommented => Msg::AuditDisputeCommented,
        Action::DisputeStatusChanged => Msg::AuditDisputeStatus,
        Action::Refused => Msg::AuditRefused,
    }
}

fn label_of(lang: Lang, action: &str) -> &str {
    Action::parse(action).map_or(action, |a| lang.t(action_label(a)))
}

/// A JSON value as a person reads it: text as it is, the rest as JSON.
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// A recorded field's name as the reader says it (the names the entries use most), else as
/// recorded.
fn field_label(lang: Lang, key: &str) -> String {
    let msg = match key {
        "role" => Some(Msg::TeamRole),
        "amount" => Some(Msg::PayoutAmount),
        "operator" => Some(Msg::PayoutOperator),
        "phone" => Some(Msg::PayoutPhone),
        "status" => Some(Msg::FieldStatus),
        "reason" => Some(Msg::FieldReason),
        "required" => Some(Msg::TeamRequireTwoFactor),
        "url" => Some(Msg::WebhookUrl),
        "events" => Some(Msg::WebhookEvents),
        "active" => Some(Msg::WebhookActive),
        "color" => Some(Msg::BrandColor),
        "message" => Some(Msg::BrandMessage),
        "logo" => Some(Msg::BrandLogo),
        "business_name" => Some(Msg::FieldBusinessName),
        "contact_name" => Some(Msg::FieldContactName),
        "email" => Some(Msg::FieldEmail),
        "pickup_address" => Some(Msg::FieldPickupAddress),
        "name" => Some(Msg::ApiKeyName),
        "channel" => Some(Msg::TeamInviteContact),
        "refund" => Some(Msg::DisputeRefund),
        "note" => Some(Msg::FieldReason),
        _ => None,
    };
    msg.map_or_else(|| key.to_owned(), |m| lang.t(m).to_owned())
}

/// A recorded value as the reader says it: a role by its name in their language.
fn value_label(lang: Lang, key: &str, v: &serde_json::Value) -> String {
    match (key, v) {
        ("role", serde_json::Value::String(r)) => {
            crate::auth::TeamRole::parse(r).map_or_else(|| r.clone(), |r| lang.t(r.label()).to_owned())
        }
        ("logo", serde_json::Value::String(r)) if r == "replaced" => lang.t(Msg::AuditReplaced).to_owned(),
        (_, serde_json::Value::Bool(b)) => lang.t(if *b { Msg::Yes } else { Msg::No }).to_owned(),
        _ => shown(v),
    }
}

/// What changed, field by field: `field: before → after` (or only one side when the other is
/// not recorded).
fn changes(lang: Lang, e: &Event) -> Vec<String> {
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
    let (before, after) = (parse(&e.before), parse(&e.after));
    let object = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let (b, a) = (object(&before), object(&after));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<String> = keys
        .into_iter()
        .map(|k| {
            let (name, value) = (field_label(lang, k), |v| value_label(lang, k, v));
            match (b.get(k), a.get(k)) {
                (Some(old), Some(new)) => format!("{name}{}{} → {}", lang.colon(), value(old), value(new)),
                (Some(old), None) => format!("{name}{}{}", lang.colon(), value(old)),
                (None, Some(new)) => format!("{name}{}{}", lang.colon(), value(new)),
                (None, None) => String::new(),
            }
        })
        .collect();
    // A value that is not an object (a plain amount, say) is shown whole.
    for v in [&before, &after].into_iter().flatten().filter(|v| !v.is_object()) {
        out.push(shown(v));
    }
    out
}

/// The filters read from the query string, or the fields in error.
fn filter_of(ctx: &Ctx, q: &AuditQuery, people: &[(String, String)]) -> Result<Filter, FieldErrors> {
    let mut errors = FieldErrors::default();
    let action = match q.action.trim() {
        "" => None,
        a => {
            let parsed = Action::parse(a);
            if parsed.is_none() {
                errors.add("action", ctx.t(Msg::ErrChoice));
            }
            parsed
        }
    };
    let user_id = match q.person.trim() {
        "" => None,
        p if people.iter().any(|(id, _)| id == p) => Some(p.to_owned()),
        _ => {
            errors.add("person", ctx.t(Msg::ErrChoice));
            None
        }
    };
    let mut date = |field: &'static str, value: &str| -> Option<NaiveDate> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(field, ctx.t(Msg::ErrDate));
        }
        d
    };
    let (from, to) = (date("from", &q.from), date("to", &q.to));
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        errors.add("to", ctx.t(Msg::ErrDateOrder));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Filter { action, user_id, from_ms: from.map(douala::day_start), to_ms: to.map(|d| douala::day_start(d + Duration::days(1))) })
}

/// The people who may appear in a shop's log: its members, and anyone already in it (someone
/// removed since stays findable).
async fn people(state: &AppState, partner_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> =
        super::members(&state.db, partner_id).await?.into_iter().map(|m| (m.user_id, format!("{} ({})", m.full_name, m.email))).collect();
    for (id, label) in audit::people(&state.db, partner_id).await? {
        if !out.iter().any(|(known, _)| *known == id) {
            out.push((id, label));
        }
    }
    Ok(out)
}

/// The log of `partner_id` as a page (`base`: where it is served) or as CSV.
async fn log(
    state: &AppState,
    ctx: &Ctx,
    partner_id: &str,
    title: &str,
    base: &str,
    back: Option<(&str, &str)>,
    q: &AuditQuery,
) -> PageResult<Response> {
    let people = people(state, partner_id).await?;
    let filter = filter_of(ctx, q, &people);
    if q.format == "csv"
        && let Ok(f) = &filter
    {
        return Ok(crate::web::csv_attachment("journal-securite.csv")
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(to_csv(state, ctx.lang, partner_id, f).await?));
    }
    if !matches!(q.format.as_str(), "" | "html" | "csv") {
        return Err(status_error(StatusCode::BAD_REQUEST).into());
    }
    let before = q.before.parse::<i64>().ok().filter(|s| *s > 0);
    let (events, errors) = match &filter {
        Ok(f) => (audit::list(&state.db, partner_id, f, before, PAGE_SIZE + 1).await?, FieldErrors::default()),
        Err(e) => (Vec::new(), e.clone()),
    };
    let more = events.len() as i64 > PAGE_SIZE;
    let events = &events[..events.len().min(PAGE_SIZE as usize)];
    let filters = q.filters();
    let error = |field: &str| errors.get(field).map(|e| html! { div.error role="alert" { (e) } });
    // The filters stay folded on a phone unless one is in use (or wrong).
    let filtering = filter.is_err() || [&q.action, &q.person, &q.from, &q.to].iter().any(|v| !v.trim().is_empty());
    let body = html! {
        @if let Some((href, label)) = back { p { a href=(href) { "← " (label) } } }
        h1 { (title) }
        p.muted { (ctx.t(Msg::AuditIntro)) }
        details.card.more-filters open[filtering] {
        summary { (ctx.t(Msg::Filter)) }
        form.filters method="get" action=(base) {
            div {
                label for="action" { (ctx.t(Msg::AuditWhat)) }
                select #action name="action" {
                    option value="" { (ctx.t(Msg::AuditAllActions)) }
                    @for a in Action::ALL { option value=(a.as_str()) selected[q.action == a.as_str()] { (ctx.t(action_label(a))) } }
                }
                (error("action").unwrap_or_default())
            }
            div {
                label for="person" { (ctx.t(Msg::AuditWho)) }
                select #person name="person" {
                    option value="" { (ctx.t(Msg::AuditEveryone)) }
                    @for (id, label) in &people { option value=(id) selected[q.person == *id] { (label) } }
                }
                (error("person").unwrap_or_default())
            }
            div { label for="from" { (ctx.t(Msg::FieldFrom)) } input #from type="date" name="from" value=(q.from); (error("from").unwrap_or_default()) }
            div { label for="to" { (ctx.t(Msg::FieldTo)) } input #to type="date" name="to" value=(q.to); (error("to").unwrap_or_default()) }
            button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
        }
        }
        @if filter.is_ok() {
            p { a.btn.secondary href=(format!("{base}?{filters}&format=csv")) hx-boost="false" download { (ctx.t(Msg::AuditExport)) } }
        }
        @if events.is_empty() { div.card { p.muted { (ctx.t(Msg::AuditEmpty)) } } }
        ol.audit-log {
            @for e in events {
                li.card.audit-entry data-action=(e.action) {
                    div.row.between {
                        strong { (label_of(ctx.lang, &e.action)) }
                        time.small.muted { (format_datetime(e.created_at, ctx.lang)) }
                    }
                    @if !e.subject.is_empty() { div.small { code { (e.subject) } } }
                    div.small { (ctx.t(Msg::AuditWho)) (ctx.lang.colon()) (if e.actor == "system" { ctx.t(Msg::AuditSystem) } else { &e.actor }) }
                    @if !e.ip.is_empty() {
                        div.small.muted title=(e.user_agent) { (ctx.t(Msg::AuditFrom)) (ctx.lang.colon()) (e.ip) " · " (browser(&e.user_agent)) }
                    }
                    @let changes = changes(ctx.lang, e);
                    @if !changes.is_empty() {
                        ul.small.changes { @for c in &changes { li { (c) } } }
                    }
                }
            }
        }
        @if more {
            @if let Some(last) = events.last() {
                nav.row { a.btn.secondary rel="next" href=(format!("{base}?{filters}&before={}", last.seq)) { (ctx.t(Msg::Next)) } }
            }
        }
    };
    let status = if filter.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(respond(status, page(ctx, title, body)))
}

/// A browser's user agent, shortened to what a person recognises (`Chrome 120 · Android`).
fn browser(agent: &str) -> String {
    let name = ["Edg/", "OPR/", "SamsungBrowser/", "Firefox/", "Chrome/", "Version/"]
        .iter()
        .find_map(|m| agent.find(m).map(|i| (m, &agent[i + m.len()..])))
        .map(|(m, rest)| {
            let version: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let name = match *m {
                "Edg/" => "Edge",
                "OPR/" => "Opera",
                "SamsungBrowser/" => "Samsung Internet",
                "Firefox/" => "Firefox",
                "Chrome/" => "Chrome",
                _ => "Safari",
            };
            format!("{name} {version}")
        });
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"].into_iter().find(|s| agent.contains(s));
    match (name, system) {
        (Some(n), Some(s)) => format!("{n} · {s}"),
        (Some(n), None) => n,
        (None, Some(s)) => s.to_owned(),
        (None, None) => agent.chars().take(40).collect(),
    }
}

/// Every entry the filter selects, newest first, as CSV (UTF-8 with BOM, `;` in French).
async fn to_csv(state: &AppState, lang: Lang, partner_id: &str, f: &Filter) -> sqlx::Result<Vec<u8>> {
    let mut w =
        csv::WriterBuilder::new().delimiter(lang.csv_delimiter()).terminator(csv::Terminator::CRLF).from_writer(b"\xEF\xBB\xBF".to_vec());
    let cell = crate::orders::export::cell;
    let _ = w.write_record([
        lang.t(Msg::AuditWhen),
        lang.t(Msg::AuditWho),
        lang.t(Msg::AuditWhat),
        lang.t(Msg::AuditCode),
        lang.t(Msg::AuditSubject),
        lang.t(Msg::AuditBefore),
        lang.t(Msg::AuditAfter),
        lang.t(Msg::AuditAddress),
        lang.t(Msg::AuditBrowser),
    ]);
    let mut before = None;
    loop {
        let rows = audit::list(&state.db, partner_id, f, before, CHUNK).await?;
        for e in &rows {
            let _ = w.write_record([
                format_datetime(e.created_at, lang),
                cell(&e.actor),
                cell(label_of(lang, &e.action)),
                e.action.clone(),
                cell(&e.subject),
                cell(e.before.as_deref().unwrap_or_default()),
                cell(e.after.as_deref().unwrap_or_default()),
                cell(&e.ip),
                cell(&e.user_agent),
            ]);
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == CHUNK => before = Some(last.seq),
            _ => break,
        }
    }
    Ok(w.into_inner().unwrap_or_default())
}

#[handler]
async fn shop_log(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<AuditQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    log(state, ctx, p.id.as_str(), ctx.t(Msg::NavAudit), "/partners/audit/", None, &q).await
}

#[handler]
async fn admin_log(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Query(q): Query<AuditQuery>,
) -> PageResult<Response> {
    guard::admin(ctx)?;
    let name = match uuid::Uuid::parse_str(&id) {
        Ok(_) => super::business_name(&state.db, &id).await?,
        Err(_) => None,
    };
    let Some(name) = name else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    let title = format!("{} — {}", ctx.t(Msg::NavAudit), name);
    let back = format!("/admin/partners/{id}/");
    log(state, ctx, &id, &title, &format!("/admin/partners/{id}/audit/"), Some((&back, &name)), &q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        let android = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
        assert_eq!(browser(android), "Chrome 120 · Android");
        assert_eq!(browser("curl/8.5.0"), "curl/8.5.0");
    }

    #[test]
    fn changes_are_listed_field_by_field() {
        let e = Event {
            seq: 1,
            partner_id: None,
            user_id: None,
            actor: String::new(),
            action: "member.role_changed".into(),
            subject: String::new(),
            before: Some(r#"{"role":"STAFF"}"#.into()),
            after: Some(r#"{"role":"MANAGER","amount":5000}"#.into()),
            ip: String::new(),
            user_agent: String::new(),
            created_at: 0,
        };
        assert_eq!(changes(Lang::En, &e), vec!["Amount: 5000".to_owned(), "Role: Staff → Manager".to_owned()]);
    }
}
