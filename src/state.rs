//! What every handler can reach: the database, the configuration, the secret, the event bus,
//! the actors and the idempotency locks. Below the web shell and the domains; built by `app`.

use std::sync::Arc;

use crate::{actors::Actors, config::Config, db::Db, events::Bus, security::Secret};

/// What every handler can reach, as `Data<&AppState>`.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub secret: Arc<Secret>,
    /// Committed domain events, announced in-process.
    pub bus: Bus,
    /// The per-partner actors (wallet, webhook delivery, notifications and streams).
    pub actors: Actors,
    /// API requests with the same idempotency key run one after the other on this instance.
    pub idem_locks: Arc<crate::idempotency::KeyLocks>,
    /// The API keys' allowances, when this process is the database's only server (SQLite).
    pub rate_limits: Arc<crate::security::LocalLimits>,
    /// The API keys this process checked, when it is the database's only server (SQLite).
    pub api_keys: Arc<crate::auth::KeyCache>,
    /// When the database last answered `/healthz`'s ping (milliseconds since the epoch).
    pub last_ping_ok: Arc<std::sync::atomic::AtomicI64>,
    /// When requests last met an unreachable database (they then answer `503` at once).
    pub outage: Arc<crate::db::Outage>,
}
