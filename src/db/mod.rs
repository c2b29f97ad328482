//! Storage: one `Db` over two concrete sqlx pools, chosen by `DATABASE_URL`.
//! Each backend has its own migrations under `migrations/`; most SQL is shared text.

use std::{path::PathBuf, str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous},
};

/// The database, SQLite (one file, the default) or PostgreSQL (to scale out).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run the same expression against whichever pool `Db` holds. The body is type-checked once
/// per backend, so a query that only one of them can decode fails to compile.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {{
        let _call = $crate::db::Call::start();
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    }};
}

/// A write transaction on whichever backend `Db` holds: the unit of work. Every step that
/// writes takes `&mut Tx`; nothing is visible to anyone until [`Tx::commit`], and dropping it
/// uncommitted rolls everything back. Opened by [`Db::begin`].
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Run the same expression on the connection of whichever transaction `Tx` holds (`$conn` is
/// a `&mut` connection: pass `&mut *$conn` to each query). Like [`on_db!`], the body is
/// type-checked once per backend. A dispatch, not a step: steps are plain `async fn`s.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {{
        let _call = $crate::db::Call::start();
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    }};
}

tokio::task_local! {
    /// Database calls made by the current request, when it counts them (see [`counting`]).
    static CALLS: std::cell::Cell<u32>;
}

/// Count one database call for the current request: every [`on_db!`] and [`on_tx!`] dispatch
/// counts one (a dispatch may run more than one statement), and so does an actor's read made
/// for the request.
pub fn count_call() {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

/// One database call in progress ([`on_db!`], [`on_tx!`]): counted for the request when it
/// starts, and its time (pool wait included) recorded when it ends, even through `?`.
pub struct Call(std::time::Instant);

impl Call {
    pub fn start() -> Call {
        count_call();
        Call(std::time::Instant::now())
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        metrics::histogram!("delivr_db_call_duration_seconds").record(self.0.elapsed().as_secs_f64());
    }
}

/// Run `fut` counting the database calls it makes (read them with [`calls_so_far`]).
pub async fn counting<F: Future>(fut: F) -> F::Output {
    CALLS.scope(std::cell::Cell::new(0), fut).await
}

/// Database calls made so far by the request that [`counting`] runs (0 outside one).
pub fn calls_so_far() -> u32 {
    CALLS.try_with(std::cell::Cell::get).unwrap_or(0)
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }

    /// ` FOR UPDATE` on PostgreSQL (a row lock that serialises writers of that row), nothing
    /// on SQLite (whose transactions already hold the database's single write lock).
    pub fn row_lock(&self) -> &'static str {
        if self.is_postgres() { " FOR UPDATE" } else { "" }
    }
}

impl Db {
    /// Connect to `url` (`sqlite://path` or `postgres://…`).
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Every statement is prepared once per connection; planning it anew at each run
            // (PostgreSQL's custom plans, which it kept choosing for the orders list) cost 3 to
            // 4 ms against under 1 ms of execution. One generic plan per statement: the queries
            // are keyed on a partner and an indexed order, the same plan serves every shop.
            let opts = PgConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?
                .options([("plan_cache_mode", "force_generic_plan")]);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // The ping before each checkout stays (one round trip per query): without it, a
                // connection that sat idle while the server restarted fails its next query.
                // A stopped server refuses connections at once, and sqlx retries until this
                // timeout: a request waits at most this long before its `503`.
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(opts)
                .await
                .context("cannot connect to PostgreSQL (check DATABASE_URL)")?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Each connection runs on its own thread and hands rows back through a channel:
                // room for a whole page or export batch (501 rows) means the thread never waits
                // for the reader halfway through a result.
                .row_buffer_size(1024);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // An embedded file does not drop a connection the way a server does; the ping
                // before each checkout was one more hand-off to the connection's thread per
                // query (8 % of the dashboard's time, twelve queries a page; sqlx pings again
                // on release, which cannot be turned off).
                .test_before_acquire(false)
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot open the SQLite database {url}"))?;
            Ok(Db::Sqlite(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://, got {url:?}")
        }
    }

    /// Apply the backend's pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
        }
        .context("applying database migrations")
    }

    /// Are all of this binary's migrations applied (and none failed)?
    pub async fn migrations_current(&self) -> bool {
        let (latest, applied): (Option<i64>, sqlx::Result<Option<i64>>) = match self {
            Db::Sqlite(pool) => (
                sqlx::migrate!("migrations/sqlite").migrations.iter().map(|m| m.version).max(),
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(pool).await,
            ),
            Db::Postgres(pool) => (
                sqlx::migrate!("migrations/postgres").migrations.iter().map(|m| m.version).max(),
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(pool).await,
            ),
        };
        matches!(applied, Ok(applied) if applied == latest)
    }

    /// Open a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads before it writes can then never fail to upgrade,
    /// and writers queue on the busy timeout instead of failing; PostgreSQL steps lock the
    /// rows they read to change (see [`Tx::row_lock`]).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Has [`Db::close`] been called?
    pub fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(pool) => pool.is_closed(),
            Db::Postgres(pool) => pool.is_closed(),
        }
    }

    /// The pool's connections: open, idle, and the most it opens.
    pub fn pool_stats(&self) -> (u32, usize, u32) {
        match self {
            Db::Sqlite(pool) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
            Db::Postgres(pool) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// Is this the database out of reach (stopped, restarting, the network, the pool closing)
/// rather than a fault of the statement? Requests that meet it are answered `503` with
/// `Retry-After`, and nothing they began was committed.
pub fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's connection exceptions (08…) and "shutting down / starting up" (57P01-03).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// When requests last met an unreachable database (milliseconds since the epoch; 0 never):
/// for a second after that, requests are answered `503` at once instead of each waiting for a
/// connection that will not come.
#[derive(Debug, Default)]
pub struct Outage(std::sync::atomic::AtomicI64);

/// How long one request meeting an unreachable database answers for the others.
pub const OUTAGE_HOLD_MS: i64 = 1_000;

impl Outage {
    pub fn note(&self) {
        self.0.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Did a request meet it within the last [`OUTAGE_HOLD_MS`]?
    pub fn recent(&self) -> bool {
        now_ms() - self.0.load(std::sync::atomic::Ordering::Relaxed) < OUTAGE_HOLD_MS
    }
}

/// Path of the SQLite file named by a `sqlite:` URL, if it names one.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Milliseconds since the Unix epoch: how every timestamp is stored, on both backends.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Is this error a unique-constraint violation (on either backend)?
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(e) => e.is_unique_violation(),
        _ => false,
    }
}
