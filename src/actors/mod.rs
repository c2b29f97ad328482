//! The actor runtime: an actix System on its own thread, and a registry that lazily starts one
//! actor per partner and kind, forgets those that stopped (each actor decides when it is idle),
//! and starts them again on demand. It knows no domain: the wallet, webhook and notification
//! actors live in their domains and implement [`PartnerActor`]; the composition (`app`) starts
//! the tasks that wake them. The database stays the truth, so a crash loses nothing.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    marker::PhantomData,
    sync::Arc,
    time::Duration,
};

use actix::{Actor, Addr, Context, Handler, Message, MessageResult, dev::ToEnvelope};
use tokio::sync::oneshot;

use crate::{db::Db, events::Bus};

/// What the actors need from the application.
#[derive(Clone)]
pub struct Env {
    pub db: Db,
    /// The application's tokio runtime: actors run their I/O there.
    pub runtime: tokio::runtime::Handle,
    /// Where actors announce the events they commit.
    pub bus: Bus,
    /// What else the composition gives a kind of actor (the webhooks' HTTP client), by type.
    pub extensions: Arc<Extensions>,
}

/// Values handed to the actors by type, set once when the application is built.
#[derive(Default)]
pub struct Extensions(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Extensions {
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
        self
    }

    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref())
    }
}

/// An actor the registry runs one of per partner.
pub trait PartnerActor: Actor<Context = Context<Self>> {
    /// The registry's name for this kind (`wallet`, `webhooks`, `streams`).
    const KIND: &'static str;

    /// The partner's actor, as it starts; `slot` must be told when it stops.
    fn create(partner_id: &str, env: &Env, slot: Slot) -> Self;
}

/// An actor's place in the registry: call [`Slot::vacate`] from `Actor::stopped`, so that the
/// next message for that partner starts a fresh one.
pub struct Slot {
    registry: Addr<Registry>,
    kind: &'static str,
    partner_id: String,
}

impl Slot {
    pub fn vacate(&self) {
        self.registry.do_send(Stopped(self.kind, self.partner_id.clone()));
    }
}

/// Handle on the actor system, cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Actors {
    registry: Addr<Registry>,
}

impl Actors {
    /// Start the actor system on a dedicated thread. It stops with the application's runtime
    /// (or at [`Actors::shutdown`]), so that its thread and database handles go too.
    pub fn start(env: Env) -> Actors {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_env = env.clone();
        std::thread::Builder::new()
            .name("delivr-actors".to_owned())
            .spawn(move || {
                let system = actix::System::new();
                system.block_on(async move {
                    let _ = tx.send(Registry { env: thread_env, running: HashMap::new() }.start());
                });
                let _ = system.run();
            })
            .expect("the actor thread starts");
        let registry = rx.recv().expect("the actor system starts");
        let guard = StopOnDrop(registry.clone());
        env.runtime.spawn(async move {
            // Dropped with the runtime: the guard then stops the actor system.
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        Actors { registry }
    }

    /// The partner's actor of kind `A`, started if it was not running; `None` once the actor
    /// system stopped.
    pub async fn get<A: PartnerActor>(&self, partner_id: &str) -> Option<Addr<A>> {
        self.registry.send(Get::<A>(partner_id.to_owned(), PhantomData)).await.ok()
    }

    /// Send `msg` to the partner's actor of kind `A`, starting it if needed.
    pub fn tell<A, M>(&self, partner_id: &str, msg: M)
    where
        A: PartnerActor + Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message<Result = ()> + Send + 'static,
    {
        self.registry.do_send(Tell::<A, M> { partner_id: partner_id.to_owned(), msg, start: true, kind: PhantomData });
    }

    /// Send `msg` to the partner's actor of kind `A` only if it runs (nobody listening: nothing
    /// to wake).
    pub fn tell_running<A, M>(&self, partner_id: &str, msg: M)
    where
        A: PartnerActor + Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message<Result = ()> + Send + 'static,
    {
        self.registry.do_send(Tell::<A, M> { partner_id: partner_id.to_owned(), msg, start: false, kind: PhantomData });
    }

    /// Every running actor of kind `A`.
    pub async fn all<A: PartnerActor>(&self) -> Vec<Addr<A>> {
        self.registry.send(All::<A>(PhantomData)).await.unwrap_or_default()
    }

    /// Is the actor system still running?
    pub fn connected(&self) -> bool {
        self.registry.connected()
    }

    /// How many partner actors are running, of every kind (for health and metrics).
    pub async fn running(&self) -> usize {
        self.registry.send(Count).await.unwrap_or(0)
    }

    /// Stop every actor and the system; in-flight work finishes on the runtime, unsent work
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

/// A running actor's address, whatever its kind.
trait Running {
    fn connected(&self) -> bool;
    fn as_any(&self) -> &dyn Any;
}

impl<A: Actor> Running for Addr<A> {
    fn connected(&self) -> bool {
        Addr::connected(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct Registry {
    env: Env,
    running: HashMap<(&'static str, String), Box<dyn Running>>,
}

impl Registry {
    fn find<A: PartnerActor>(&self, partner_id: &str) -> Option<Addr<A>> {
        let running = self.running.get(&(A::KIND, partner_id.to_owned()))?;
        running.as_any().downcast_ref::<Addr<A>>().filter(|a| a.connected()).cloned()
    }

    fn get<A: PartnerActor>(&mut self, partner_id: &str, ctx: &mut Context<Self>) -> Addr<A> {
        if let Some(a) = self.find::<A>(partner_id) {
            return a;
        }
        let slot = Slot { registry: actix::AsyncContext::address(ctx), kind: A::KIND, partner_id: partner_id.to_owned() };
        let a = <A as PartnerActor>::create(partner_id, &self.env, slot).start();
        self.running.insert((A::KIND, partner_id.to_owned()), Box::new(a.clone()));
        a
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

struct Get<A>(String, PhantomData<fn() -> A>);

impl<A: PartnerActor> Message for Get<A> {
    type Result = Addr<A>;
}

impl<A: PartnerActor> Handler<Get<A>> for Registry {
    type Result = MessageResult<Get<A>>;

    fn handle(&mut self, msg: Get<A>, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.get::<A>(&msg.0, ctx))
    }
}

/// A message for a partner's actor: started if needed (`start`), or only if it runs.
struct Tell<A, M> {
    partner_id: String,
    msg: M,
    start: bool,
    kind: PhantomData<fn() -> A>,
}

impl<A: 'static, M: Send> Message for Tell<A, M> {
    type Result = ();
}

impl<A, M> Handler<Tell<A, M>> for Registry
where
    A: PartnerActor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message<Result = ()> + Send + 'static,
{
    type Result = ();

    fn handle(&mut self, tell: Tell<A, M>, ctx: &mut Context<Self>) {
        let actor = if tell.start { Some(self.get::<A>(&tell.partner_id, ctx)) } else { self.find::<A>(&tell.partner_id) };
        if let Some(a) = actor {
            a.do_send(tell.msg);
        }
    }
}

struct All<A>(PhantomData<fn() -> A>);

impl<A: PartnerActor> Message for All<A> {
    type Result = Vec<Addr<A>>;
}

impl<A: PartnerActor> Handler<All<A>> for Registry {
    type Result = MessageResult<All<A>>;

    fn handle(&mut self, _: All<A>, _: &mut Context<Self>) -> Self::Result {
        let all = self
            .running
            .iter()
            .filter(|((kind, _), _)| *kind == A::KIND)
            .filter_map(|(_, a)| a.as_any().downcast_ref::<Addr<A>>().filter(|a| a.connected()).cloned())
            .collect();
        MessageResult(all)
    }
}

/// An actor stopped: its kind and partner.
#[derive(Message)]
#[rtype(result = "()")]
struct Stopped(&'static str, String);

impl Handler<Stopped> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Stopped, _: &mut Context<Self>) {
        let key = (msg.0, msg.1);
        if self.running.get(&key).is_some_and(|a| !a.connected()) {
            self.running.remove(&key);
        }
    }
}

#[derive(Message)]
#[rtype(result = "usize")]
struct Count;

impl Handler<Count> for Registry {
    type Result = usize;

    fn handle(&mut self, _: Count, _: &mut Context<Self>) -> usize {
        self.running.values().filter(|a| a.connected()).count()
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Shutdown(std::sync::Mutex<Option<oneshot::Sender<()>>>);

impl Handler<Shutdown> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Shutdown, _: &mut Context<Self>) {
        self.running.clear();
        actix::System::current().stop();
        if let Ok(mut slot) = msg.0.lock()
            && let Some(tx) = slot.take()
        {
            let _ = tx.send(());
        }
    }
}
