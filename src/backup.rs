//! Backups of the embedded SQLite database: a consistent copy taken while the portal serves
//! and writes (`VACUUM INTO`, one read transaction), checked after writing; and a restore that
//! checks the backup, refuses while a portal serves the target, and swaps the file in whole.
//! A serving process holds an exclusive lock on `<database file>.lock` for its lifetime.
//! PostgreSQL is backed up with `pg_dump` (see the README).

use std::{fs::File, path::Path};

use anyhow::{Context, bail, ensure};
use sqlx::{
    Connection,
    sqlite::{SqliteConnectOptions, SqliteConnection},
};

use crate::db;

fn sqlite_file(database_url: &str) -> anyhow::Result<std::path::PathBuf> {
    if database_url.starts_with("postgres") {
        bail!("backups of PostgreSQL are made with pg_dump and restored with pg_restore (see the README's operations section)");
    }
    db::sqlite_path(database_url).context("DATABASE_URL does not name a SQLite file")
}

fn lock_path(file: &Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// Held by a serving process: `None` for PostgreSQL (many instances share it).
pub fn hold_serve_lock(database_url: &str) -> anyhow::Result<Option<File>> {
    if database_url.starts_with("postgres") {
        return Ok(None);
    }
    let Some(file) = db::sqlite_path(database_url) else { return Ok(None) };
    let lock =
        File::options().create(true).truncate(false).write(true).open(lock_path(&file)).context("opening the database's lock file")?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => bail!("another delivr process already serves {}", file.display()),
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("locking the database's lock file"),
    }
}

/// What a checked database holds.
async fn check(file: &Path) -> anyhow::Result<(i64, i64)> {
    let opts = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut conn = SqliteConnection::connect_with(&opts).await.with_context(|| format!("opening {}", file.display()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.context("checking integrity")?;
    ensure!(integrity == "ok", "{} is damaged: {integrity}", file.display());
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
        .fetch_one(&mut conn)
        .await
        .with_context(|| format!("{} is not a DELIVR-CM database", file.display()))?;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok((migrations, orders))
}

/// Copy the database of `database_url` to `to`, consistently, while it may be in use.
pub async fn backup(database_url: &str, to: &Path) -> anyhow::Result<String> {
    let file = sqlite_file(database_url)?;
    ensure!(!to.exists(), "{} already exists: choose a new file", to.display());
    let opts = SqliteConnectOptions::new().filename(&file).busy_timeout(std::time::Duration::from_secs(30));
    let mut conn = SqliteConnection::connect_with(&opts).await.with_context(|| format!("opening {}", file.display()))?;
    let target = to.to_str().context("the backup path is not valid UTF-8")?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await.context("copying the database")?;
    conn.close().await?;
    let (migrations, orders) = check(to).await?;
    Ok(format!("backup of {} written to {} and checked: {orders} orders, {migrations} migrations", file.display(), to.display()))
}

/// Put the backup `from` in place of the database of `database_url`.
pub async fn restore(database_url: &str, from: &Path) -> anyhow::Result<String> {
    let file = sqlite_file(database_url)?;
    let (migrations, orders) = check(from).await.context("the backup does not pass its check; nothing was changed")?;
    // Held during the swap: no portal may start on the file meanwhile.
    let _lock = hold_serve_lock(database_url).context("a portal serves this database: stop it before restoring")?;
    let partial = file.with_extension("restoring");
    std::fs::copy(from, &partial).with_context(|| format!("copying {}", from.display()))?;
    File::open(&partial)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(side));
    }
    std::fs::rename(&partial, &file).with_context(|| format!("putting the backup in place of {}", file.display()))?;
    Ok(format!("{} restored from {}: {orders} orders, {migrations} migrations", file.display(), from.display()))
}
