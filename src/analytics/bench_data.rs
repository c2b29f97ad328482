//! `delivr bench-data`: fill an empty database with one vendor's orders over two years (and a
//! crowd of other vendors), to measure the analytics on realistic volumes. Each backend
//! generates the rows itself in one statement, so a million orders take seconds, not hours;
//! the roll-up triggers fire for every row as they would in production. Completed orders get
//! their COD and delivery fee in the ledger, and each wallet account holds the ledger's sum.

use anyhow::Context;

use crate::{
    accounts::password,
    db::Db,
    on_db, on_tx,
    partners::repo::{self as partners, NewPartner},
};

const TWO_YEARS_MS: i64 = 730 * 86_400_000;

/// What was generated.
pub struct Filled {
    /// The vendor with `orders` orders, signed in as `bench@delivr.cm`.
    pub partner_id: String,
    pub user_id: String,
    pub total_orders: i64,
}

/// Orders of one partner: `n` orders ending at `now_ms`, spread over two years, with a
/// day-of-week and hour pattern, 40 drop-off quartiers and a realistic status mix.
async fn orders_for(db: &Db, partner_id: &str, tag: &str, n: i64, now_ms: i64) -> anyhow::Result<()> {
    // `i` runs over 0..n; every expression below is the same SQL on both backends.
    let select = "SELECT $2 || '-' || i, $1, 'B' || $2 || '-' || i, 'bench-' || $2 || '-' || i,
                CASE WHEN i % 10 < 7 THEN 'COMPLETED' WHEN i % 10 = 7 THEN 'CANCELLED' WHEN i % 10 = 8 THEN 'FAILED'
                     WHEN i < 20 THEN 'IN_TRANSIT' ELSE 'COMPLETED' END,
                'DEMO', 1001, 'Rue Joss', 1001 + (i * 7919) % 40, 'Derrière la pharmacie', 'Client', '+237677987654', 'Colis', 'S',
                (i % 20) * 500, '1234', 3300, 1500, 300, 1200,
                $3 - i * $4 / $5 - ((i * 104729) % 9) * 3600000, $3, NULL";
    let columns = "INSERT INTO orders (id, partner_id, tracking_number, public_token, status, source, pickup_quartier_id, pickup_address,
                   dropoff_quartier_id, dropoff_address, recipient_name, recipient_phone, package_description, size_class,
                   cod_amount, delivery_pin, distance_m, price_total, price_commission, price_net, created_at, updated_at, finished_at)";
    let ledger = "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, order_id, created_at)
                  SELECT partner_id, k.kind, CASE WHEN k.kind = 'COD_COLLECTED' THEN cod_amount ELSE -price_total END, 0, id, created_at + 3600000
                    FROM orders, (SELECT 'COD_COLLECTED' AS kind UNION ALL SELECT 'DELIVERY_FEE') k
                   WHERE partner_id = $1 AND status = 'COMPLETED' AND (k.kind = 'DELIVERY_FEE' OR cod_amount > 0)";
    let account = "INSERT INTO wallet_accounts (partner_id, balance, held, updated_at)
                   SELECT $1, COALESCE(SUM(amount), 0), 0, $2 FROM wallet_entries WHERE partner_id = $1
                   ON CONFLICT (partner_id) DO UPDATE SET balance = EXCLUDED.balance";
    let sql = match db {
        Db::Sqlite(_) => {
            format!("WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < $5 - 1) {columns} {select} FROM seq")
        }
        Db::Postgres(_) => format!("{columns} {select} FROM generate_series(0::BIGINT, $5 - 1) AS i"),
    };
    {
        let mut tx = db.begin().await?;
        on_tx!(&mut tx, c => sqlx::query(&sql).bind(partner_id).bind(tag).bind(now_ms).bind(TWO_YEARS_MS).bind(n).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(ledger).bind(partner_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query(account).bind(partner_id).bind(now_ms).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
    };
    Ok(())
}

/// Fill an empty database: the bench vendor with `orders` orders and `others` vendors with
/// `orders / 100` each. Refuses a database that already has orders.
pub async fn fill(db: &Db, orders: i64, others: i64) -> anyhow::Result<Filled> {
    anyhow::ensure!(orders > 0, "--orders must be positive");
    let existing: i64 = on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(pool).await)?;
    anyhow::ensure!(existing == 0, "bench-data fills an empty database only; this one has {existing} orders");
    let now = crate::db::now_ms();
    let hash = password::hash_blocking("bench-password-1".to_owned()).await?;
    let mut main = None;
    for v in 0..=others {
        let email = if v == 0 { "bench@delivr.cm".to_owned() } else { format!("bench{v}@delivr.cm") };
        let name = format!("Boutique Bench {v}");
        let new = NewPartner {
            business_name: &name,
            contact_name: "Bench",
            phone: "+237677000000",
            email: &email,
            password_hash: &hash,
            language: "fr",
        };
        let (user_id, partner_id) = partners::create(db, &new).await.context("creating a bench vendor")?;
        partners::approve(db, &partner_id).await?;
        let n = if v == 0 { orders } else { (orders / 100).max(1) };
        orders_for(db, &partner_id, &format!("v{v}"), n, now).await.context("generating orders")?;
        if v == 0 {
            main = Some((partner_id, user_id));
        }
    }
    let (partner_id, user_id) = main.context("no vendor")?;
    // What autovacuum does on a live database: the roll-up rows were updated once per
    // generated order (dead row versions to clear) and the planner needs statistics.
    if let Db::Postgres(pool) = db {
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    }
    let total_orders = on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(pool).await)?;
    Ok(Filled { partner_id, user_id, total_orders })
}
