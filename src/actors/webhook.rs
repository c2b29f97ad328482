//! `WebhookActor`: one per partner with webhook work. It serialises that partner's sending
//! (at most a few deliveries in flight, so a dead endpoint of one partner never slows
//! another), schedules the next retry, and stops when idle. The I/O runs on the application
//! runtime; the actor keeps only counters and timers.

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message, SpawnHandle};

use super::{Env, Registry, Stopped};
use crate::{db::now_ms, webhooks::delivery};

/// An idle actor stops after this long.
const IDLE: Duration = Duration::from_secs(300);

pub struct WebhookActor {
    partner_id: String,
    env: Env,
    registry: Addr<Registry>,
    in_flight: usize,
    last_activity: Instant,
    timer: Option<SpawnHandle>,
}

impl WebhookActor {
    pub(super) fn new(partner_id: String, env: Env, registry: Addr<Registry>) -> Self {
        WebhookActor { partner_id, env, registry, in_flight: 0, last_activity: Instant::now(), timer: None }
    }
}

impl Actor for WebhookActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(30), |act, ctx| {
            if act.in_flight == 0 && act.last_activity.elapsed() > IDLE {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.registry.do_send(Stopped(self.partner_id.clone()));
    }
}

/// "There may be work": claim and send what is due.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

/// A batch finished: how many slots it held, how many deliveries it attempted, and when the
/// next pending one is due.
#[derive(Message)]
#[rtype(result = "()")]
struct BatchDone {
    slots: usize,
    attempted: usize,
    next_due: Option<i64>,
}

impl Handler<Kick> for WebhookActor {
    type Result = ();

    fn handle(&mut self, _: Kick, ctx: &mut Context<Self>) {
        self.last_activity = Instant::now();
        let slots = delivery::MAX_IN_FLIGHT.saturating_sub(self.in_flight);
        if slots == 0 {
            return;
        }
        self.in_flight += slots;
        let (env, partner_id, me) = (self.env.clone(), self.partner_id.clone(), ctx.address());
        self.env.runtime.spawn(async move {
            let attempted = match delivery::deliver_due(&env.db, &env.bus, &env.sending, &partner_id, now_ms(), slots).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(partner_id, error = %e, "webhook delivery batch failed");
                    0
                }
            };
            let next_due = delivery::next_due(&env.db, &partner_id).await.ok().flatten();
            me.do_send(BatchDone { slots, attempted, next_due });
        });
    }
}

impl Handler<BatchDone> for WebhookActor {
    type Result = ();

    fn handle(&mut self, msg: BatchDone, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(msg.slots);
        self.last_activity = Instant::now();
        if msg.attempted > 0 {
            // There may be more due right away.
            ctx.notify(Kick);
            return;
        }
        if let Some(due) = msg.next_due {
            if let Some(t) = self.timer.take() {
                ctx.cancel_future(t);
            }
            let wait = Duration::from_millis((due - now_ms()).clamp(50, 3_600_000) as u64);
            self.timer = Some(ctx.notify_later(Kick, wait));
        }
    }
}
