//! `NotificationActor`: one per partner with open streams. It owns the partner's fan-out
//! channel: streams subscribe to it, and every wake-up (a committed event here, or a NOTIFY
//! from another instance) reaches all of them. It stops once no stream listens.

use std::time::Duration;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message};
use tokio::sync::broadcast;

use super::{Registry, Stopped};

pub struct NotificationActor {
    partner_id: String,
    registry: Addr<Registry>,
    tx: broadcast::Sender<Live>,
}

impl NotificationActor {
    pub(super) fn new(partner_id: String, registry: Addr<Registry>) -> Self {
        // A stream that lags only misses wake-ups: it reads everything new when it wakes.
        NotificationActor { partner_id, registry, tx: broadcast::channel(64).0 }
    }
}

impl Actor for NotificationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(60), |act, ctx| {
            if act.tx.receiver_count() == 0 {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.registry.do_send(Stopped(format!("notifications:{}", self.partner_id)));
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
/// position on one of the partner's orders (read from the database too), or the end of a
/// session (the streams it opened close).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Live {
    Notifications,
    Position(String),
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
        let _ = self.tx.send(msg.0);
    }
}
