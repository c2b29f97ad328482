//! `WalletActor`: one per partner with wallet commands. It runs that partner's balance-changing
//! commands one at a time (the mailbox waits while one runs); underneath, each command is a
//! transaction that locks the account (`BEGIN IMMEDIATE` on SQLite, a row lock on
//! PostgreSQL), so several instances stay correct too.

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, AtomicResponse, Context, Handler, Message, WrapFuture};

use super::{Env, Registry, Stopped};
use crate::{
    accounts::phone::Phone,
    wallet::{self, WalletError},
};

const IDLE: Duration = Duration::from_secs(300);

/// A balance-changing command.
#[derive(Debug, Clone)]
pub enum WalletCommand {
    RequestPayout {
        amount: i64,
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
        amount: i64,
        reason: String,
    },
    /// Resolve or reject a dispute, crediting its refund (see `disputes::decide`).
    DecideDispute {
        dispute_id: String,
        decision: crate::disputes::Decision,
        admin_id: String,
    },
}

#[derive(Message)]
#[rtype(result = "Result<String, WalletError>")]
pub struct Command(pub WalletCommand);

pub struct WalletActor {
    partner_id: String,
    env: Env,
    registry: Addr<Registry>,
    last_activity: Instant,
}

impl WalletActor {
    pub(super) fn new(partner_id: String, env: Env, registry: Addr<Registry>) -> Self {
        WalletActor { partner_id, env, registry, last_activity: Instant::now() }
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
        self.registry.do_send(Stopped(format!("wallet:{}", self.partner_id)));
    }
}

async fn run(db: crate::db::Db, bus: crate::events::Bus, partner_id: String, cmd: WalletCommand) -> Result<String, WalletError> {
    match cmd {
        WalletCommand::RequestPayout { amount, phone, operator, request_token, idem } => {
            wallet::request_payout_once(&db, &partner_id, amount, &phone, operator, &request_token, idem.as_ref()).await
        }
        WalletCommand::DecidePayout { payout_id, paid, note, admin_id } => {
            wallet::decide_payout(&db, &bus, &payout_id, paid, &note, &admin_id).await.map(|()| payout_id)
        }
        WalletCommand::Adjust { amount, reason } => wallet::adjust(&db, &partner_id, amount, &reason).await.map(|()| String::new()),
        WalletCommand::DecideDispute { dispute_id, decision, admin_id } => {
            crate::disputes::decide(&db, &bus, &partner_id, &dispute_id, &admin_id, &decision, crate::db::now_ms())
                .await
                .map(|d| d.id)
                .map_err(WalletError::Dispute)
        }
    }
}

impl Handler<Command> for WalletActor {
    type Result = AtomicResponse<Self, Result<String, WalletError>>;

    fn handle(&mut self, msg: Command, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = Instant::now();
        // The work runs on the application runtime; the actor waits for it before the next message.
        let job = self.env.runtime.spawn(run(self.env.db.clone(), self.env.bus.clone(), self.partner_id.clone(), msg.0));
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
