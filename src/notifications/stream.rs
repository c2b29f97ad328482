//! One server-sent-event stream per signed-in vendor page: new notifications (event
//! `notification`, an HTML fragment for the feed), the unread badge (event `badge`), and a
//! word for each order that changed (event `order-<id>`, its data the event's kind), which
//! the order page and the rows of the list use to fetch their fresh selves.
//! Event ids are notification ids, so `Last-Event-ID` resumes without loss or repetition; an id
//! that is malformed or too far behind gets a `refresh` event instead of an error.
//! A stream lives only as long as its session: when the session ends (logout, suspension,
//! password change, expiry, "sign out everywhere") it sends `ended` (the login page's URL, for
//! the page to go to) and closes.

use std::{collections::VecDeque, time::Duration};

use maud::html;
use poem::{
    IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, sse::Event},
};

use crate::{
    db::Db,
    i18n::{Lang, Msg},
    notifications::live::Live,
    notifications::{self, Notification},
    state::AppState,
    web::PageResult,
    web::{Ctx, components::format_datetime},
};

/// Beyond this many missed notifications, the page is told to refresh instead.
const MAX_BACKLOG: i64 = 50;
/// Order events read at once after a wake-up (a burst beyond it is read on the next).
const MAX_ORDER_EVENTS: i64 = 200;
/// How far back a stream looks again for events that committed late (by sequence number).
const LATE_WINDOW: i64 = 32;

/// One entry of the feed, in the reader's language: an order's entry is its latest news (the
/// order's page keeps the history); `data-order` lets a newer entry take its place live.
pub fn item(lang: Lang, n: &Notification) -> maud::Markup {
    let (title, message) = n.texts(lang);
    html! {
        li.notif.unread[!n.is_read] #(format!("notif-{}", n.id)) data-order=[n.order_id.as_deref()] {
            strong { (title) }
            br;
            span { (message) }
            br;
            span.small.muted { (format_datetime(n.created_at, lang)) }
            @if let Some(order) = &n.order_id { " · " a.more href=(format!("/partners/orders/{order}/")) { (lang.t(Msg::SeeOrderHistory)) } }
        }
    }
}

/// How long a page waits before reconnecting to a stream closed by a stopping instance.
pub const RECONNECT_MS: u64 = 2_000;

/// A stream looks at its session again at least this often, whatever it was told.
const SESSION_CHECK_MS: i64 = 60_000;

struct State {
    db: Db,
    partner_id: String,
    /// The session this stream belongs to, and when to look at it again.
    session_hash: String,
    check_session_at: i64,
    /// The session ended: send what is queued (the `ended` event), then close.
    closing: bool,
    lang: Lang,
    last: i64,
    /// The last domain event whose order was announced, and the latest ones announced (a
    /// window is read again: on PostgreSQL a lower sequence number may commit after a higher).
    last_seq: i64,
    announced: VecDeque<i64>,
    rx: tokio::sync::broadcast::Receiver<Live>,
    /// When to look anyway (see the loop), and the timer set for it.
    nap_until: i64,
    nap: std::pin::Pin<Box<tokio::time::Sleep>>,
    queue: VecDeque<Event>,
    _open: crate::web::OpenStream,
}

/// The `position` event: at most ~200 bytes of JSON.
#[derive(serde::Serialize)]
pub struct PositionEvent<'a> {
    pub id: &'a str,
    pub t: &'a str,
    pub s: &'a str,
    pub la: f64,
    pub ln: f64,
    /// Minutes to the drop-off, when in transit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<i64>,
}

/// The `position` event of the latest position of one of this partner's orders (JSON), if it
/// has one.
pub async fn position_event(db: &Db, partner_id: &str, order_id: &str) -> Option<String> {
    let order = crate::orders::repo::find_for_partner(db, partner_id, order_id).await.ok()??;
    let p = crate::orders::repo::latest_position(db, &order.id).await.ok()??;
    let eta = (order.status() == crate::orders::model::Status::InTransit).then(|| crate::orders::eta_minutes(&order, p));
    let ev = PositionEvent { id: &order.id, t: &order.tracking_number, s: order.status().as_str(), la: p.lat, ln: p.lng, eta };
    serde_json::to_string(&ev).ok()
}

impl State {
    /// Is the session still valid? If not, queue `ended` and close after it.
    async fn check_session(&mut self) {
        match crate::auth::sessions::valid_until(&self.db, &self.session_hash).await {
            Ok(Some(until)) => self.check_session_at = until.min(crate::db::now_ms() + SESSION_CHECK_MS),
            Ok(None) => self.end(),
            // The database is away: look again soon, keep the stream.
            Err(_) => self.check_session_at = crate::db::now_ms() + 5_000,
        }
    }

    fn end(&mut self) {
        self.queue.clear();
        self.queue.push_back(Event::message("/accounts/login/").event_type("ended"));
        self.closing = true;
    }

    /// The orders that changed since `last_seq`, one event each (several changes, one event).
    async fn orders(&mut self) {
        let from = (self.last_seq - LATE_WINDOW).max(0);
        let Ok(rows) = crate::events::order_events_after(&self.db, &self.partner_id, from, MAX_ORDER_EVENTS).await else { return };
        let mut seen: Vec<&str> = Vec::with_capacity(rows.len());
        for (seq, order_id, kind) in rows.iter().rev() {
            if self.announced.contains(seq) {
                continue;
            }
            self.last_seq = self.last_seq.max(*seq);
            self.announced.push_back(*seq);
            if self.announced.len() > 4 * LATE_WINDOW as usize {
                self.announced.pop_front();
            }
            if !seen.contains(&order_id.as_str()) {
                seen.push(order_id);
                self.queue.push_back(Event::message(kind.as_str()).event_type(format!("order-{order_id}")));
            }
        }
    }

    /// Read what is new since `last` into the queue (and the badge with it).
    async fn fill(&mut self) {
        let Ok(rows) = notifications::after(&self.db, &self.partner_id, self.last, MAX_BACKLOG).await else { return };
        if rows.is_empty() {
            return;
        }
        for n in &rows {
            self.last = n.id;
            self.queue.push_back(Event::message(item(self.lang, n).into_string()).event_type("notification").id(n.id.to_string()));
        }
        if let Ok(count) = notifications::unread_count(&self.db, &self.partner_id).await {
            self.queue.push_back(Event::message(crate::web::components::unread_badge(count).into_string()).event_type("badge"));
        }
    }
}

#[handler]
pub async fn stream(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, req: &Request) -> PageResult<Response> {
    // No session, no stream (and never another partner's).
    let Some(partner) = ctx.user.as_ref().and_then(|u| u.partner.as_ref()).filter(|p| p.approved) else {
        return Ok(StatusCode::UNAUTHORIZED.into_response());
    };
    let Some(rx) = crate::notifications::live::subscribe(&state.actors, &partner.id).await else {
        return Ok(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    let db = state.db.clone();
    let newest = notifications::last_id(&db, &partner.id).await.map_err(crate::web::internal)?;
    let resume = req.header("last-event-id").map(|v| v.trim().parse::<i64>());
    let mut queue = VecDeque::new();
    let last = match resume {
        None => newest,
        Some(Ok(id)) if id >= 0 && id <= newest && newest - id <= MAX_BACKLOG * 10 => {
            let missed = notifications::after(&db, &partner.id, id, MAX_BACKLOG + 1).await.map_err(crate::web::internal)?;
            if missed.len() as i64 > MAX_BACKLOG {
                queue.push_back(Event::message("refresh").event_type("refresh"));
                newest
            } else {
                id
            }
        }
        // Malformed, from the future or far too old: start afresh.
        Some(_) => {
            queue.push_back(Event::message("refresh").event_type("refresh"));
            newest
        }
    };
    let last_seq = crate::events::last_seq(&db, &partner.id).await.map_err(crate::web::internal)?;
    let recent = crate::events::order_events_after(&db, &partner.id, (last_seq - LATE_WINDOW).max(0), MAX_ORDER_EVENTS)
        .await
        .map_err(crate::web::internal)?;
    let session_hash = ctx.user.as_ref().map(|u| u.session_hash.clone()).unwrap_or_default();
    let mut st = State {
        db,
        partner_id: partner.id.to_string(),
        session_hash,
        check_session_at: 0,
        closing: false,
        lang: ctx.lang,
        last,
        last_seq,
        // What was there when the stream opened counts as told.
        announced: recent.iter().map(|(seq, ..)| *seq).collect(),
        rx,
        nap_until: 0,
        nap: Box::pin(tokio::time::sleep(Duration::ZERO)),
        queue,
        _open: crate::web::OpenStream::new("portal"),
    };
    // Subscribed first, then checked: an end announced in between is not missed.
    st.check_session().await;
    if !st.closing {
        crate::money::grouped_by(st.lang.thousands_separator(), st.fill()).await;
    }
    // The database's futures are boxed while they run: held inline, the biggest of them would
    // size every idle stream's state, and ten thousand streams mostly wait.
    let events = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if let Some(e) = st.queue.pop_front() {
                return Some((e, st));
            }
            if st.closing {
                return None;
            }
            // Woken by an event, or look anyway now and then (notifications written where no
            // event is announced in this process; the session's own expiry).
            let now = crate::db::now_ms();
            if now >= st.check_session_at {
                Box::pin(st.check_session()).await;
                continue;
            }
            // One timer per stream, set again only when it fired or the session's check moved
            // earlier: a thousand streams woken by one position do not each re-arm a timer.
            if st.nap_until <= now || st.nap_until > st.check_session_at {
                st.nap_until = st.check_session_at.min(now + 10_000);
                st.nap.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis((st.nap_until - now).max(1) as u64));
            }
            tokio::select! {
                r = st.rx.recv() => match r {
                    Ok(Live::PositionEvent { json, .. }) => {
                        if let Some(json) = json {
                            st.queue.push_back(Event::message(&*json).event_type("position"));
                        }
                        continue;
                    }
                    // Only the actor is told of positions this way.
                    Ok(Live::Position(_)) => continue,
                    Ok(Live::SessionEnded(hash)) => {
                        if *hash == *st.session_hash {
                            st.end();
                        }
                        continue;
                    }
                    // The instance stops: reconnect in a moment (elsewhere, or here restarted).
                    Ok(Live::Shutdown) => {
                        st.queue.clear();
                        st.queue.push_back(Event::retry(RECONNECT_MS));
                        st.queue.push_back(Event::message("reconnect").event_type("reconnect"));
                        st.closing = true;
                        continue;
                    }
                    // Missed wake-ups may have carried this session's end: look.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        Box::pin(st.check_session()).await;
                        if !st.closing {
                            Box::pin(st.orders()).await;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    // An event (here, or on PostgreSQL anywhere): orders may have changed too.
                    Ok(Live::Notifications) => {
                        if !st.closing {
                            Box::pin(st.orders()).await;
                        }
                    }
                },
                _ = st.nap.as_mut() => st.nap_until = 0,
            }
            if !st.closing {
                // The items' amounts are grouped as the page's language writes them.
                Box::pin(crate::money::grouped_by(st.lang.thousands_separator(), st.fill())).await;
            }
        }
    });
    Ok(crate::web::lean_streams::event_stream(events, Duration::from_secs(15)))
}
