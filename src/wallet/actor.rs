//! `WalletActor`: one per partner with wallet commands. It runs that partner's balance-changing
//! commands one at a time (the mailbox waits while one runs): payouts, adjustments, and the
//! money movements of other domains given to it as jobs ([`serialised`], a dispute's refund).
//! Underneath, each command is a transaction that locks the account (`BEGIN IMMEDIATE` on
//! SQLite, a row lock on PostgreSQL), so several instances stay correct too.

use std::{
    future::Future,
    pin::Pin,
    time::{Duration, Instant},
};

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, AtomicResponse, Context, Handler, Message, WrapFuture};

use crate::{
    accounts::phone::Phone,
    actors::{Actors, Env, PartnerActor, Slot},
    money::Fcfa,
    wallet::{self, WalletError},
};

const IDLE: Duration = Duration::from_secs(300);

/// A balance-changing command.
#[derive(Debug, Clone)]
pub enum WalletCommand {
    RequestPayout {
        amount: Fcfa,
        phone: Phone,
        operator: &'static str,
        request_token: String,
        /// An API request's idempotency key, recorded with the payout.
        idem: Option<crate::idempotency::IdemKey>,
    },
    DecidePayout {
        payout_id: String,
        paid: bool,
        note: String,
        admin_id: String,
    },
    Adjust {
        amount: Fcfa,
        reason: String,
    },
}

#[derive(Message)]
#[rtype(result = "Result<String, WalletError>")]
/// A command, with who asked for it (the audit trail's actor, carried across to the actor's task).
pub struct Command(pub WalletCommand, pub Option<crate::audit::Actor>);

pub struct WalletActor {
    partner_id: String,
    env: Env,
    slot: Slot,
    last_activity: Instant,
    /// The partner's figures as of the last ledger entry applied.
    held: Held,
}

/// What a wallet actor holds: the balance and held amounts, and the last ledger entry they
/// include.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub balance: wallet::Balance,
    pub last_entry: i64,
}

impl PartnerActor for WalletActor {
    const KIND: &'static str = "wallet";

    fn create(partner_id: &str, env: &Env, slot: Slot) -> Self {
        WalletActor { partner_id: partner_id.to_owned(), env: env.clone(), slot, last_activity: Instant::now(), held: Held::default() }
    }
}

/// The partner's balance, as the partner's wallet actor holds it: it reads the account first
/// (whatever booked entries since, by any path, on any instance), with the held amount
/// (pending payouts), one statement.
pub async fn balance(actors: &Actors, db: &crate::db::Db, partner_id: &str) -> sqlx::Result<wallet::Balance> {
    match actors.get::<WalletActor>(partner_id).await {
        Some(actor) => match actor.send(Current).await {
            Ok(held) => {
                // The actor's catching up is this request's database call.
                crate::db::count_call();
                held.map(|h| h.balance)
            }
            Err(_) => wallet::balance(db, partner_id).await,
        },
        // The actor system is gone (the instance is stopping): the database says.
        None => wallet::balance(db, partner_id).await,
    }
}

/// What the actor holds once caught up (for the pages, the API and the tests).
pub async fn held(actors: &Actors, partner_id: &str) -> Option<sqlx::Result<Held>> {
    actors.get::<WalletActor>(partner_id).await?.send(Current).await.ok()
}

/// The actor's figures, caught up with the ledger.
struct Current;

impl Message for Current {
    type Result = sqlx::Result<Held>;
}

impl Handler<Current> for WalletActor {
    type Result = AtomicResponse<Self, sqlx::Result<Held>>;

    fn handle(&mut self, _: Current, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = Instant::now();
        let (db, partner_id) = (self.env.db.clone(), self.partner_id.clone());
        // The account as one statement sees it: its balance moves in the same transaction as
        // each ledger entry, so it is the ledger's sum up to the last entry read with it. (Reading
        // the entries after the last one known instead looked cheaper, but PostgreSQL planned
        // that range on the ledger's primary key and walked every other shop's newer entries.)
        let read = self.env.runtime.spawn(async move { wallet::snapshot(&db, &partner_id).await });
        AtomicResponse::new(Box::pin(
            async move { read.await.unwrap_or_else(|e| Err(sqlx::Error::Protocol(format!("reading the ledger: {e}")))) }
                .into_actor(self)
                .map(|read, act: &mut WalletActor, _| {
                    let (balance, last_entry) = read?;
                    // Answers arrive in order (the actor waits for each): never step back.
                    if last_entry >= act.held.last_entry {
                        act.held = Held { balance, last_entry };
                    }
                    Ok(act.held)
                }),
        ))
    }
}

/// Run a balance-changing command through the partner's wallet actor.
pub async fn run(actors: &Actors, partner_id: &str, cmd: WalletCommand) -> Result<String, WalletError> {
    let Some(actor) = actors.get::<WalletActor>(partner_id).await else {
        return Err(WalletError::Unavailable("actor system stopped".to_owned()));
    };
    actor
        .send(Command(cmd, crate::audit::current()))
        .await
        .unwrap_or_else(|e| Err(WalletError::Unavailable(format!("wallet actor stopped: {e}"))))
}

/// A money movement of another domain, run in turn with the partner's wallet commands.
pub type Job<T> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = T> + Send>> + Send>;

/// Run `job` through the partner's wallet actor, after the commands before it and before those
/// after it. `None` if the actor system is gone.
pub async fn serialised<T: Send + 'static>(actors: &Actors, partner_id: &str, job: Job<T>) -> Option<T> {
    // The job runs elsewhere: on behalf of whoever asked it, for the audit trail.
    let job: Job<T> = match crate::audit::current() {
        Some(actor) => Box::new(move || Box::pin(crate::audit::acting(actor, job()))),
        None => job,
    };
    actors.get::<WalletActor>(partner_id).await?.send(Serialised(job)).await.ok().flatten()
}

struct Serialised<T>(Job<T>);

impl<T: Send + 'static> Message for Serialised<T> {
    type Result = Option<T>;
}

impl<T: Send + 'static> Handler<Serialised<T>> for WalletActor {
    type Result = AtomicResponse<Self, Option<T>>;

    fn handle(&mut self, msg: Serialised<T>, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = Instant::now();
        // The work runs on the application runtime (where the database lives); the actor waits
        // for it before the next message.
        let job = self.env.runtime.spawn((msg.0)());
        AtomicResponse::new(Box::pin(async move { job.await.ok() }.into_actor(self).map(|result, act: &mut WalletActor, _| {
            act.last_activity = Instant::now();
            result
        })))
    }
}

impl Actor for WalletActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(30), |act, ctx| {
            if act.last_activity.elapsed() > IDLE {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.slot.vacate();
    }
}

async fn execute(db: crate::db::Db, bus: crate::events::Bus, partner_id: String, cmd: WalletCommand) -> Result<String, WalletError> {
    match cmd {
        WalletCommand::RequestPayout { amount, phone, operator, request_token, idem } => {
            wallet::request_payout_once(&db, &partner_id, amount, &phone, operator, &request_token, idem.as_ref()).await
        }
        WalletCommand::DecidePayout { payout_id, paid, note, admin_id } => {
            wallet::decide_payout(&db, &bus, &payout_id, paid, &note, &admin_id).await.map(|()| payout_id)
        }
        WalletCommand::Adjust { amount, reason } => wallet::adjust(&db, &partner_id, amount, &reason).await.map(|()| String::new()),
    }
}

impl Handler<Command> for WalletActor {
    type Result = AtomicResponse<Self, Result<String, WalletError>>;

    fn handle(&mut self, msg: Command, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = Instant::now();
        // The work runs on the application runtime; the actor waits for it before the next message.
        let work = execute(self.env.db.clone(), self.env.bus.clone(), self.partner_id.clone(), msg.0);
        let job = match msg.1 {
            Some(who) => self.env.runtime.spawn(crate::audit::acting(who, work)),
            None => self.env.runtime.spawn(work),
        };
        AtomicResponse::new(Box::pin(
            async move { job.await.unwrap_or_else(|e| Err(WalletError::Unavailable(format!("wallet command failed: {e}")))) }
                .into_actor(self)
                .map(|result, act: &mut WalletActor, _| {
                    act.last_activity = Instant::now();
                    result
                }),
        ))
    }
}
