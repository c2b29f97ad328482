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
        $crate::db::count_call();
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
        $crate::db::count_call();
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
            let opts = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
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

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
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
