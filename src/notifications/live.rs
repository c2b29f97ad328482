//! `NotificationActor`: one per partner with open streams or pages on this instance. It owns
//! the partner's live state here: the unread count the page shell shows (loaded once from the
//! database, then kept by the events and the reads that change it) and the fan-out channel that
//! streams subscribe to, so that every wake-up (a committed event here, or a NOTIFY from another
//! instance) reaches all of them. It stops when no stream listens and no page asked for a while.
//! [`start_waking`] connects it to the bus and, on PostgreSQL, to the other instances (whose
//! changes it catches up with by reading the count again).

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, AtomicResponse, Context, Handler, Message, WrapFuture};
use tokio::sync::broadcast;

use crate::{
    actors::{Actors, Env, PartnerActor, Slot},
    db::Db,
    events::{Bus, Notice},
};

/// An actor no stream listens to stops after this long without a page asking.
const IDLE: Duration = Duration::from_secs(300);

pub struct NotificationActor {
    partner_id: String,
    env: Env,
    slot: Slot,
    tx: broadcast::Sender<Live>,
    /// The unread count, once read from the database; `None` when it must be read again.
    known: Option<Count>,
    last_asked: Instant,
}

impl PartnerActor for NotificationActor {
    const KIND: &'static str = "streams";

    fn create(partner_id: &str, env: &Env, slot: Slot) -> Self {
        // A stream that lags only misses wake-ups: it reads everything new when it wakes.
        NotificationActor {
            partner_id: partner_id.to_owned(),
            env: env.clone(),
            slot,
            tx: broadcast::channel(64).0,
            known: None,
            last_asked: Instant::now(),
        }
    }
}

impl Actor for NotificationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(60), |act, ctx| {
            if act.tx.receiver_count() == 0 && act.last_asked.elapsed() > IDLE {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.slot.vacate();
    }
}

/// The partner's unread notifications (read from the database only when not known), and
/// whether this answer read it.
#[derive(Message)]
#[rtype(result = "sqlx::Result<(i64, bool)>")]
pub struct Unread;

impl Handler<Unread> for NotificationActor {
    type Result = AtomicResponse<Self, sqlx::Result<(i64, bool)>>;

    fn handle(&mut self, _: Unread, _: &mut Context<Self>) -> Self::Result {
        self.last_asked = Instant::now();
        if let Some(known) = self.known.as_ref().filter(|k| k.since.elapsed() < FRESH_FOR) {
            return AtomicResponse::new(Box::pin(actix::fut::ready(Ok((known.unread, false)))));
        }
        // Read on the application runtime (where the database lives); the actor waits, so no
        // change slips between the read and the count it keeps.
        let (db, partner_id) = (self.env.db.clone(), self.partner_id.clone());
        let read = self.env.runtime.spawn(async move { super::unread_and_last(&db, &partner_id).await });
        AtomicResponse::new(Box::pin(
            async move { read.await.unwrap_or_else(|e| Err(sqlx::Error::Protocol(format!("reading the unread count: {e}")))) }
                .into_actor(self)
                .map(|read, act: &mut NotificationActor, _| {
                    let (unread, last) = read?;
                    act.known = Some(Count { unread, read_up_to: last, added: std::collections::HashSet::new(), since: Instant::now() });
                    Ok((unread, true))
                }),
        ))
    }
}

/// What the actor knows of the unread count: the count read from the database (which includes
/// every notification up to `read_up_to`) plus those written here since, each counted once
/// whatever the order their announcements arrive in.
#[derive(Debug)]
struct Count {
    unread: i64,
    read_up_to: i64,
    added: std::collections::HashSet<i64>,
    /// When it was read: a count older than [`FRESH_FOR`] is read again, whatever the actor
    /// was told (a backstop for what it cannot be told: another process writing to SQLite).
    since: Instant,
}

/// Past this many notifications added since its last read, the actor reads the count again.
const MAX_ADDED: usize = 1_000;

/// How long a count read from the database is trusted, at most.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// The count changed: `Added(id)` when this instance wrote notification `id`, `Stale` when it
/// must be read again (notifications read, or written by another instance).
#[derive(Message)]
#[rtype(result = "()")]
enum Recount {
    Added(i64),
    Stale,
}

impl Handler<Recount> for NotificationActor {
    type Result = ();

    fn handle(&mut self, msg: Recount, _: &mut Context<Self>) {
        match (&mut self.known, msg) {
            (Some(count), Recount::Added(id)) if id > count.read_up_to && count.added.len() < MAX_ADDED => {
                if count.added.insert(id) {
                    count.unread += 1;
                }
            }
            // Already in the count read from the database.
            (Some(count), Recount::Added(id)) if id <= count.read_up_to => {}
            (known, _) => *known = None,
        }
    }
}

/// A stream wants the partner's wake-ups.
#[derive(Message)]
#[rtype(result = "broadcast::Receiver<Live>")]
pub struct Subscribe;

impl Handler<Subscribe> for NotificationActor {
    type Result = actix::MessageResult<Subscribe>;

    fn handle(&mut self, _: Subscribe, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.tx.subscribe())
    }
}

/// What a stream is woken for: new notifications (read from the database), a courier's new
/// position on one of the partner's orders, or the end of a session (the streams it opened
/// close).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Live {
    Notifications,
    /// A position was recorded for this order (what the actor is told; streams hear
    /// [`Live::PositionEvent`] instead).
    Position(String),
    /// A courier's new position on one of the partner's orders: the order's id, and the vendor
    /// pages' `position` event (JSON) for it, read once by the actor for all the partner's
    /// streams (none if the order or its position could not be read).
    PositionEvent {
        order: std::sync::Arc<str>,
        json: Option<std::sync::Arc<str>>,
    },
    /// The SHA-256 of the ended session's cookie.
    SessionEnded(std::sync::Arc<str>),
    /// This instance is stopping: streams close with a hint to reconnect (to another instance,
    /// or to this one once restarted).
    Shutdown,
}

/// Something new for this partner.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Wake(pub Live);

impl Handler<Wake> for NotificationActor {
    type Result = ();

    fn handle(&mut self, msg: Wake, _: &mut Context<Self>) {
        if let Live::Position(order) = msg.0 {
            // Read once here rather than by each of the partner's streams (a thousand open
            // pages would read it a thousand times), and one wake-up per stream: the event
            // itself (profiled, a wake-up before it doubled the work of the fan-out).
            if self.tx.receiver_count() > 0 {
                let (db, partner_id, tx) = (self.env.db.clone(), self.partner_id.clone(), self.tx.clone());
                self.env.runtime.spawn(async move {
                    let json = super::stream::position_event(&db, &partner_id, &order).await.map(Into::into);
                    let _ = tx.send(Live::PositionEvent { order: order.into(), json });
                });
            }
            return;
        }
        let _ = self.tx.send(msg.0);
    }
}

/// A stream's subscription to the partner's wake-ups on this instance.
pub async fn subscribe(actors: &Actors, partner_id: &str) -> Option<broadcast::Receiver<Live>> {
    actors.get::<NotificationActor>(partner_id).await?.send(Subscribe).await.ok()
}

/// The partner's unread count, as the page shell shows it: from the partner's actor, which
/// reads the database only when it does not know it.
pub async fn unread(actors: &Actors, db: &Db, partner_id: &str) -> sqlx::Result<i64> {
    match actors.get::<NotificationActor>(partner_id).await {
        Some(actor) => match actor.send(Unread).await {
            Ok(Ok((n, read))) => {
                // The actor's read counts as this request's database call.
                if read {
                    crate::db::count_call();
                }
                Ok(n)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => super::unread_count(db, partner_id).await,
        },
        // The actor system is gone (the instance is stopping): ask the database.
        None => super::unread_count(db, partner_id).await,
    }
}

/// Some of the partner's notifications were just marked read on this instance.
pub fn read(actors: &Actors, partner_id: &str) {
    actors.tell_running::<NotificationActor, _>(partner_id, Recount::Stale);
}

/// Wake the partner's streams on this instance, if any listens.
pub fn wake(actors: &Actors, partner_id: &str, live: Live) {
    actors.tell_running::<NotificationActor, _>(partner_id, Wake(live));
}

/// This instance is stopping: every open stream closes now, telling its page to reconnect,
/// so that the server's graceful stop does not wait on them.
pub async fn end_streams(actors: &Actors) {
    for a in actors.all::<NotificationActor>().await {
        a.do_send(Wake(Live::Shutdown));
    }
}

/// Wake streams on what happens: committed events and positions on this instance's bus, and
/// on PostgreSQL the notifications every instance sends (`partner` for new notifications,
/// `ev:partner` for any domain event,
/// `read:partner` for notifications read, `pos:partner:order` for a position,
/// `end:partner:session hash` for an ended session).
pub fn start_waking(actors: &Actors, bus: &Bus, db: &Db, runtime: &tokio::runtime::Handle) {
    let mut notices = bus.subscribe();
    let on_events = actors.clone();
    let on_postgres = db.is_postgres();
    runtime.spawn(async move {
        loop {
            match notices.recv().await {
                Ok(n) => {
                    let partner_id = n.partner_id.clone();
                    // A notification written here adds one; on PostgreSQL its NOTIFY (which
                    // every instance gets, this one too) makes the actor read the count again.
                    // One that took the place of its order's unread ones: read the count again.
                    match (n.notification_id, on_postgres, n.superseded) {
                        (Some(_), false, true) => on_events.tell_running::<NotificationActor, _>(&partner_id, Recount::Stale),
                        (Some(id), false, false) => on_events.tell_running::<NotificationActor, _>(&partner_id, Recount::Added(id)),
                        _ => {}
                    }
                    wake(&on_events, &partner_id, live_of(n));
                }
                // Missed announcements may have added to counts: read them all again.
                Err(broadcast::error::RecvError::Lagged(_)) => all_stale(&on_events).await,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let Db::Postgres(pool) = db else { return };
    let (pool, listening) = (pool.clone(), actors.clone());
    runtime.spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if listener.listen(super::CHANNEL).await.is_ok() {
                        // Whatever was notified while this instance was not listening is lost:
                        // the counts are read again. `try_recv` says when the connection drops
                        // (`Ok(None)`), so that every gap is followed by the same.
                        all_stale(&listening).await;
                        while let Ok(Some(n)) = listener.try_recv().await {
                            let payload = n.payload();
                            if let Some((partner, order)) = payload.strip_prefix("pos:").and_then(|r| r.split_once(':')) {
                                wake(&listening, partner, Live::Position(order.to_owned()));
                            } else if let Some((partner, hash)) = payload.strip_prefix("end:").and_then(|r| r.split_once(':')) {
                                wake(&listening, partner, Live::SessionEnded(hash.into()));
                            } else if let Some(partner) = payload.strip_prefix("ev:") {
                                // A domain event: orders may have changed; counts did not.
                                wake(&listening, partner, Live::Notifications);
                            } else if let Some(partner) = payload.strip_prefix("read:") {
                                listening.tell_running::<NotificationActor, _>(partner, Recount::Stale);
                            } else {
                                listening.tell_running::<NotificationActor, _>(payload, Recount::Stale);
                                wake(&listening, payload, Live::Notifications);
                            }
                        }
                        all_stale(&listening).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
            }
            if !listening.connected() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// Every count this instance keeps must be read again.
async fn all_stale(actors: &Actors) {
    for a in actors.all::<NotificationActor>().await {
        a.do_send(Recount::Stale);
    }
}

/// What a notice on the bus wakes a stream for.
fn live_of(n: Notice) -> Live {
    match (n.kind.as_str(), n.order_id, n.session) {
        ("position", Some(order), _) => Live::Position(order),
        (crate::auth::sessions::ENDED, _, Some(hash)) => Live::SessionEnded(hash.into()),
        _ => Live::Notifications,
    }
}
