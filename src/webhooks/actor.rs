//! `WebhookActor`: one per partner with webhook work. It serialises that partner's sending
//! (at most `delivery::MAX_IN_FLIGHT` deliveries in flight, so a dead endpoint of one partner
//! never slows another), schedules the next retry, and stops when idle. The I/O runs on the
//! application runtime; the actor keeps only counters and timers.

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, SpawnHandle};

use crate::{
    actors::{Actors, Env, PartnerActor, Slot},
    db::{Db, now_ms},
    events::Bus,
    webhooks::delivery::{self, Sending},
};

/// An idle actor stops after this long.
const IDLE: Duration = Duration::from_secs(300);

pub struct WebhookActor {
    partner_id: String,
    env: Env,
    sending: Sending,
    slot: Slot,
    /// The partner's configuration as last read (where to send, how to sign), kept up to date
    /// with the failures and the pause each batch leaves; read again when its stored version
    /// moves (a save on any instance).
    config: Option<crate::webhooks::WebhookConfig>,
    in_flight: usize,
    last_activity: Instant,
    timer: Option<SpawnHandle>,
}

impl PartnerActor for WebhookActor {
    const KIND: &'static str = "webhooks";

    fn create(partner_id: &str, env: &Env, slot: Slot) -> Self {
        // The composition gives the actors how to send; without it (never in the application)
        // the defaults refuse loopback addresses.
        let sending = env.extensions.get::<Sending>().cloned().unwrap_or_else(|| Sending::new(false, delivery::DEFAULT_LOCK_MS));
        WebhookActor {
            partner_id: partner_id.to_owned(),
            env: env.clone(),
            sending,
            slot,
            config: None,
            in_flight: 0,
            last_activity: Instant::now(),
            timer: None,
        }
    }
}

/// There may be deliveries to send for this partner.
pub fn wake(actors: &Actors, partner_id: &str) {
    actors.tell::<WebhookActor, _>(partner_id, Kick);
}

/// Wake the partners' webhook actors: on every committed event of this instance (the bus), and
/// every two seconds for what is due in the database (retries, work left by a crash or by
/// another instance).
pub fn start_waking(actors: &Actors, bus: &Bus, db: &Db, runtime: &tokio::runtime::Handle) {
    let mut notices = bus.subscribe();
    let on_events = actors.clone();
    runtime.spawn(async move {
        loop {
            match notices.recv().await {
                Ok(n) if n.kind == "position" || n.kind == crate::auth::sessions::ENDED => {}
                Ok(n) => wake(&on_events, &n.partner_id),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let (sweeper, db) = (actors.clone(), db.clone());
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            match delivery::partners_with_due(&db, now_ms()).await {
                Ok(partners) => partners.iter().for_each(|p| wake(&sweeper, p)),
                Err(e) => tracing::warn!(error = %e, "webhook sweep failed"),
            }
            if !sweeper.connected() {
                break;
            }
        }
    });
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
        self.slot.vacate();
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
    config: Option<crate::webhooks::WebhookConfig>,
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
        let (env, sending, partner_id, me) = (self.env.clone(), self.sending.clone(), self.partner_id.clone(), ctx.address());
        let mut config = self.config.clone();
        self.env.runtime.spawn(async move {
            let attempted = match delivery::deliver_due_with(&env.db, &env.bus, &sending, &partner_id, now_ms(), slots, &mut config).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(partner_id, error = %e, "webhook delivery batch failed");
                    0
                }
            };
            // After a batch that sent something the actor looks again at once; only an empty
            // claim needs to know when the next delivery is due.
            let next_due = if attempted == 0 { delivery::next_due(&env.db, &partner_id).await.ok().flatten() } else { None };
            me.do_send(BatchDone { slots, attempted, next_due, config });
        });
    }
}

impl Handler<BatchDone> for WebhookActor {
    type Result = ();

    fn handle(&mut self, msg: BatchDone, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(msg.slots);
        // Batches in flight together each read or updated their copy: the newest version wins,
        // and at the same version the copy with the later attempt.
        let newer = match (&self.config, &msg.config) {
            (Some(held), Some(got)) => (got.updated_at, got.last_triggered) >= (held.updated_at, held.last_triggered),
            (None, Some(_)) => true,
            _ => false,
        };
        if newer {
            self.config = msg.config;
        }
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
