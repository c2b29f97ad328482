//! The actor core: an actix System on its own thread, a registry that lazily starts one actor
//! per partner for each concern with serialised state (webhook delivery now), stops idle
//! actors, and starts them again from the database on demand. Actors serialise and cache; the
//! database stays the truth, so a crash loses nothing.

pub mod notifications;
pub mod wallet;
pub mod webhook;

use std::{collections::HashMap, time::Duration};

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, ResponseFuture};
use tokio::sync::oneshot;

use crate::{db::Db, events::Bus};

/// What the actors need from the application.
#[derive(Clone)]
pub struct Env {
    pub db: Db,
    /// The application's tokio runtime: actors run their I/O there.
    pub runtime: tokio::runtime::Handle,
    pub sending: crate::webhooks::delivery::Sending,
    /// Where actors announce the events they commit.
    pub bus: Bus,
}

/// Handle on the actor system, cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Actors {
    registry: Addr<Registry>,
}

impl Actors {
    /// Start the actor system on a dedicated thread, and the tasks that wake actors: one on
    /// committed events (the bus), one sweeping the database for due work (retries, work
    /// left by a crash or by another instance).
    pub fn start(env: Env, bus: &Bus) -> Actors {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_env = env.clone();
        std::thread::Builder::new()
            .name("delivr-actors".to_owned())
            .spawn(move || {
                let system = actix::System::new();
                system.block_on(async move {
                    let registry =
                        Registry { env: thread_env, webhooks: HashMap::new(), wallets: HashMap::new(), streams: HashMap::new() }.start();
                    let _ = tx.send(registry);
                });
                let _ = system.run();
            })
            .expect("the actor thread starts");
        let registry = rx.recv().expect("the actor system starts");
        let actors = Actors { registry };

        let mut notices = bus.subscribe();
        let on_events = actors.clone();
        env.runtime.spawn(async move {
            loop {
                match notices.recv().await {
                    Ok(n) if n.kind == "position" => {
                        if let Some(order) = &n.order_id {
                            on_events.position(&n.partner_id, order);
                        }
                    }
                    Ok(n) => {
                        on_events.wake_webhooks(&n.partner_id);
                        on_events.wake_streams(&n.partner_id);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        // PostgreSQL: notifications made by any instance wake this instance's streams.
        if let Db::Postgres(pool) = &env.db {
            let (pool, listening) = (pool.clone(), actors.clone());
            env.runtime.spawn(async move {
                loop {
                    match sqlx::postgres::PgListener::connect_with(&pool).await {
                        Ok(mut listener) => {
                            if listener.listen(crate::notifications::CHANNEL).await.is_ok() {
                                while let Ok(n) = listener.recv().await {
                                    // `partner` (new notifications), `pos:partner:order` or
                                    // `end:partner:session hash` (a session ended).
                                    let payload = n.payload();
                                    if let Some((partner, order)) = payload.strip_prefix("pos:").and_then(|r| r.split_once(':')) {
                                        listening.position(partner, order);
                                    } else if let Some((partner, hash)) = payload.strip_prefix("end:").and_then(|r| r.split_once(':')) {
                                        listening.session_ended(partner, hash);
                                    } else {
                                        listening.wake_streams(payload);
                                    }
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
                    }
                    if !listening.registry.connected() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        }
        let sweeper = actors.clone();
        let db = env.db.clone();
        env.runtime.spawn(async move {
            // When the application's runtime goes away, this task is dropped, and the guard
            // stops the actor system, so that its thread and database handles go too.
            let _guard = StopOnDrop(sweeper.registry.clone());
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                match crate::webhooks::delivery::partners_with_due(&db, crate::db::now_ms()).await {
                    Ok(partners) => partners.iter().for_each(|p| sweeper.wake_webhooks(p)),
                    Err(e) => tracing::warn!(error = %e, "webhook sweep failed"),
                }
                if sweeper.registry.connected() {
                    continue;
                }
                break;
            }
        });
        actors
    }

    /// There may be webhook deliveries to send for this partner.
    pub fn wake_webhooks(&self, partner_id: &str) {
        self.registry.do_send(WakeWebhooks(partner_id.to_owned()));
    }

    /// Run a balance-changing command through the partner's wallet actor.
    pub async fn wallet(&self, partner_id: &str, cmd: wallet::WalletCommand) -> Result<String, crate::wallet::WalletError> {
        self.registry
            .send(WalletFor(partner_id.to_owned(), cmd))
            .await
            .unwrap_or_else(|e| Err(crate::wallet::WalletError::Unavailable(format!("actor system unavailable: {e}"))))
    }

    /// The partner's streams should look for new notifications.
    pub fn wake_streams(&self, partner_id: &str) {
        self.registry.do_send(WakeStreams(partner_id.to_owned(), notifications::Live::Notifications));
    }

    /// A courier moved on one of the partner's orders.
    pub fn position(&self, partner_id: &str, order_id: &str) {
        self.registry.do_send(WakeStreams(partner_id.to_owned(), notifications::Live::Position(order_id.to_owned())));
    }

    /// These sessions ended: the streams they opened on this instance close. (On PostgreSQL
    /// the database also announces each end to every instance.)
    pub fn sessions_ended(&self, ended: crate::accounts::sessions::Ended) {
        for (partner, hash) in &ended.sessions {
            self.session_ended(partner, hash);
        }
    }

    fn session_ended(&self, partner_id: &str, session_hash: &str) {
        self.registry.do_send(WakeStreams(partner_id.to_owned(), notifications::Live::SessionEnded(session_hash.into())));
    }

    /// This instance is stopping: every open stream closes now, telling its page to reconnect,
    /// so that the server's graceful stop does not wait on them.
    pub fn end_streams(&self) {
        self.registry.do_send(EndStreams);
    }

    /// A stream's subscription to the partner's wake-ups.
    pub async fn subscribe(&self, partner_id: &str) -> Option<tokio::sync::broadcast::Receiver<notifications::Live>> {
        self.registry.send(SubscribeStreams(partner_id.to_owned())).await.ok().flatten()
    }

    /// How many partner actors are running (for tests and health).
    pub async fn running(&self) -> usize {
        self.registry.send(Count).await.unwrap_or(0)
    }

    /// Stop every actor and the system; in-flight sends finish on the runtime, unsent work
    /// stays in the database for the next start.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        self.registry.do_send(Shutdown(std::sync::Mutex::new(Some(tx))));
        let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
    }
}

struct StopOnDrop(Addr<Registry>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.do_send(Shutdown(std::sync::Mutex::new(None)));
    }
}

struct Registry {
    env: Env,
    webhooks: HashMap<String, Addr<webhook::WebhookActor>>,
    wallets: HashMap<String, Addr<wallet::WalletActor>>,
    streams: HashMap<String, Addr<notifications::NotificationActor>>,
}

impl Registry {
    fn streams_of(&mut self, partner_id: &str, ctx: &mut Context<Self>) -> Addr<notifications::NotificationActor> {
        match self.streams.get(partner_id).filter(|a| a.connected()) {
            Some(a) => a.clone(),
            None => {
                let a = notifications::NotificationActor::new(partner_id.to_owned(), ctx.address()).start();
                self.streams.insert(partner_id.to_owned(), a.clone());
                a
            }
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct WakeStreams(String, notifications::Live);

#[derive(Message)]
#[rtype(result = "Option<tokio::sync::broadcast::Receiver<notifications::Live>>")]
struct SubscribeStreams(String);

#[derive(Message)]
#[rtype(result = "()")]
struct EndStreams;

impl Handler<EndStreams> for Registry {
    type Result = ();

    fn handle(&mut self, _: EndStreams, _: &mut Context<Self>) {
        for a in self.streams.values().filter(|a| a.connected()) {
            a.do_send(notifications::Wake(notifications::Live::Shutdown));
        }
    }
}

impl Handler<WakeStreams> for Registry {
    type Result = ();

    fn handle(&mut self, msg: WakeStreams, _: &mut Context<Self>) {
        // Nobody listening: nothing to wake.
        if let Some(a) = self.streams.get(&msg.0).filter(|a| a.connected()) {
            a.do_send(notifications::Wake(msg.1));
        }
    }
}

impl Handler<SubscribeStreams> for Registry {
    type Result = ResponseFuture<Option<tokio::sync::broadcast::Receiver<notifications::Live>>>;

    fn handle(&mut self, msg: SubscribeStreams, ctx: &mut Context<Self>) -> Self::Result {
        let addr = self.streams_of(&msg.0, ctx);
        Box::pin(async move { addr.send(notifications::Subscribe).await.ok() })
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct WakeWebhooks(String);

#[derive(Message)]
#[rtype(result = "Result<String, crate::wallet::WalletError>")]
struct WalletFor(String, wallet::WalletCommand);

/// An actor stopped; its key is the partner id (webhooks) or `wallet:<partner id>`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Stopped(pub String);

#[derive(Message)]
#[rtype(result = "usize")]
struct Count;

#[derive(Message)]
#[rtype(result = "()")]
struct Shutdown(std::sync::Mutex<Option<oneshot::Sender<()>>>);

impl Handler<WakeWebhooks> for Registry {
    type Result = ();

    fn handle(&mut self, msg: WakeWebhooks, ctx: &mut Context<Self>) {
        let addr = match self.webhooks.get(&msg.0).filter(|a| a.connected()) {
            Some(a) => a.clone(),
            None => {
                let a = webhook::WebhookActor::new(msg.0.clone(), self.env.clone(), ctx.address()).start();
                self.webhooks.insert(msg.0, a.clone());
                a
            }
        };
        addr.do_send(webhook::Kick);
    }
}

impl Handler<WalletFor> for Registry {
    type Result = ResponseFuture<Result<String, crate::wallet::WalletError>>;

    fn handle(&mut self, msg: WalletFor, ctx: &mut Context<Self>) -> Self::Result {
        let addr = match self.wallets.get(&msg.0).filter(|a| a.connected()) {
            Some(a) => a.clone(),
            None => {
                let a = wallet::WalletActor::new(msg.0.clone(), self.env.clone(), ctx.address()).start();
                self.wallets.insert(msg.0, a.clone());
                a
            }
        };
        Box::pin(async move {
            addr.send(wallet::Command(msg.1))
                .await
                .unwrap_or_else(|e| Err(crate::wallet::WalletError::Unavailable(format!("wallet actor stopped: {e}"))))
        })
    }
}

impl Handler<Stopped> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Stopped, _: &mut Context<Self>) {
        if let Some(partner) = msg.0.strip_prefix("notifications:") {
            if self.streams.get(partner).is_some_and(|a| !a.connected()) {
                self.streams.remove(partner);
            }
        } else if let Some(partner) = msg.0.strip_prefix("wallet:") {
            if self.wallets.get(partner).is_some_and(|a| !a.connected()) {
                self.wallets.remove(partner);
            }
        } else if self.webhooks.get(&msg.0).is_some_and(|a| !a.connected()) {
            self.webhooks.remove(&msg.0);
        }
    }
}

impl Handler<Count> for Registry {
    type Result = usize;

    fn handle(&mut self, _: Count, _: &mut Context<Self>) -> usize {
        self.webhooks.values().filter(|a| a.connected()).count() + self.wallets.values().filter(|a| a.connected()).count()
    }
}

impl Handler<Shutdown> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Shutdown, _: &mut Context<Self>) {
        self.webhooks.clear();
        self.wallets.clear();
        self.streams.clear();
        actix::System::current().stop();
        if let Ok(mut slot) = msg.0.lock()
            && let Some(tx) = slot.take()
        {
            let _ = tx.send(());
        }
    }
}
