//! Analytics: the spec's metrics over a period, computed from the orders table and the wallet
//! ledger. Douala is UTC+1 all year (no daylight saving), so a Douala calendar day is an
//! integer division of `created_at + 1 h` by one day, the same arithmetic on both backends.

pub mod api;
pub mod bench_data;
pub mod pages;

use chrono::{Datelike, Days, NaiveDate};

use crate::{db::Db, douala::day_start as douala_day_start, on_db};

/// Milliseconds Douala is ahead of UTC.
pub const DOUALA_OFFSET_MS: i64 = 3_600_000;

pub use crate::douala::{date_of as douala_date, day_date};

/// How the orders-over-time series is bucketed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn parse(s: &str) -> Option<Grain> {
        match s {
            "day" => Some(Grain::Day),
            "week" => Some(Grain::Week),
            "month" => Some(Grain::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    /// The natural grain of a period of `days` days.
    pub fn for_days(days: i64) -> Grain {
        match days {
            ..=31 => Grain::Day,
            32..=120 => Grain::Week,
            _ => Grain::Month,
        }
    }

    /// The first day of the bucket holding `date`.
    pub fn bucket(self, date: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => date,
            Grain::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Grain::Month => date.with_day(1).unwrap_or(date),
        }
    }
}

/// A range of Douala calendar days, both ends included.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Range {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Range {
        let n = u64::try_from(self.days()).unwrap_or(1);
        let to = self.from - Days::new(1);
        Range { from: to - Days::new(n - 1), to }
    }
}

/// Counts of orders by final or current status.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: i64,
    pub active: i64,
    pub completed: i64,
    pub cancelled: i64,
    pub failed: i64,
}

impl StatusCounts {
    pub fn total(&self) -> i64 {
        self.pending + self.active + self.completed + self.cancelled + self.failed
    }

    pub fn finished(&self) -> i64 {
        self.completed + self.cancelled + self.failed
    }

    /// Completed over finished orders, in per mille (None when nothing finished).
    pub fn delivery_rate_permille(&self) -> Option<i64> {
        (self.finished() > 0).then(|| self.completed * 1000 / self.finished())
    }
}

/// The headline figures of a period (also computed for the previous period).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Summary {
    pub statuses: StatusCounts,
    /// Cash collected on delivery and credited to the wallet in the period (FCFA).
    pub cod_collected: i64,
    /// Delivery fees debited from the wallet in the period (FCFA, positive).
    pub delivery_spend: i64,
    /// Orders of the period with a dispute (read from the disputes, which are few).
    pub disputed: i64,
}

impl Summary {
    /// Orders with a dispute over orders, in per mille.
    pub fn dispute_rate_permille(&self) -> Option<i64> {
        (self.statuses.total() > 0).then(|| self.disputed * 1000 / self.statuses.total())
    }
}

/// Everything the analytics page draws for one period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    pub range: Option<Range>,
    pub summary: Summary,
    /// Orders created per Douala day (sparse: days without orders are absent).
    pub orders_per_day: Vec<(NaiveDate, i64)>,
    /// COD collected and delivery spend per Douala day (sparse).
    pub money_per_day: Vec<(NaiveDate, i64, i64)>,
    /// Orders created by Douala weekday (0 = Monday) and hour.
    pub heat: [[i64; 24]; 7],
    /// Drop-off quartiers by number of orders, most first.
    pub top_quartiers: Vec<(String, i64)>,
}

impl Metrics {
    /// The orders series bucketed by `grain`, with every bucket of the range present.
    pub fn orders_series(&self, grain: Grain) -> Vec<(NaiveDate, i64)> {
        let Some(range) = self.range else { return Vec::new() };
        let mut out: Vec<(NaiveDate, i64)> = Vec::new();
        let mut counts = self.orders_per_day.iter().peekable();
        let mut day = range.from;
        while day <= range.to {
            let bucket = grain.bucket(day);
            if out.last().is_none_or(|(b, _)| *b != bucket) {
                out.push((bucket, 0));
            }
            if let Some((_, n)) = counts.next_if(|(d, _)| *d == day)
                && let Some(last) = out.last_mut()
            {
                last.1 += n;
            }
            day = day + Days::new(1);
        }
        out
    }

    /// Cumulative COD collected and delivery spend at the end of each day of the range.
    pub fn cumulative_money(&self) -> Vec<(NaiveDate, i64, i64)> {
        let Some(range) = self.range else { return Vec::new() };
        let mut out = Vec::with_capacity(usize::try_from(range.days()).unwrap_or(0));
        let (mut cod, mut spend) = (0, 0);
        let mut rows = self.money_per_day.iter().peekable();
        let mut day = range.from;
        while day <= range.to {
            if let Some((_, c, s)) = rows.next_if(|(d, _, _)| *d == day) {
                cod += c;
                spend += s;
            }
            out.push((day, cod, spend));
            day = day + Days::new(1);
        }
        out
    }
}

/// Where the figures are read from: the roll-ups (what the pages use) or the orders table
/// and the ledger directly (the reference the roll-ups are checked against).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    Rollup,
    Direct,
}

struct Sql {
    statuses: &'static str,
    per_day: &'static str,
    heat: &'static str,
    top: &'static str,
    money: &'static str,
}

// `$2` and `$3` are Douala day numbers, both included. 1970-01-01 was a Thursday, so
// `(day + 3) % 7` is the weekday with Monday = 0.
const ROLLUP: Sql = Sql {
    statuses: "SELECT status, CAST(SUM(n) AS BIGINT) FROM analytics_daily WHERE partner_id = $1 AND day >= $2 AND day <= $3 GROUP BY status",
    per_day: "SELECT day, CAST(SUM(n) AS BIGINT) AS c FROM analytics_daily WHERE partner_id = $1 AND day >= $2 AND day <= $3
              GROUP BY day HAVING SUM(n) <> 0 ORDER BY day",
    heat: "SELECT (day + 3) % 7 AS wd, hour, CAST(SUM(n) AS BIGINT) FROM analytics_hourly WHERE partner_id = $1 AND day >= $2 AND day <= $3
           GROUP BY wd, hour HAVING SUM(n) <> 0",
    top: "SELECT q.name, CAST(SUM(a.n) AS BIGINT) AS c FROM analytics_quartiers a JOIN quartiers q ON q.id = a.quartier_id
           WHERE a.partner_id = $1 AND a.day >= $2 AND a.day <= $3
           GROUP BY q.id, q.name HAVING SUM(a.n) > 0 ORDER BY c DESC, q.name LIMIT 8",
    money: "SELECT day, CAST(SUM(cod) AS BIGINT), CAST(SUM(spend) AS BIGINT) FROM analytics_money
             WHERE partner_id = $1 AND day >= $2 AND day <= $3 GROUP BY day HAVING SUM(cod) <> 0 OR SUM(spend) <> 0 ORDER BY day",
};

const DIRECT: Sql = Sql {
    statuses: "SELECT status, COUNT(*) FROM orders WHERE partner_id = $1 AND (created_at + 3600000) / 86400000 BETWEEN $2 AND $3 GROUP BY status",
    per_day: "SELECT (created_at + 3600000) / 86400000 AS d, COUNT(*) FROM orders
               WHERE partner_id = $1 AND (created_at + 3600000) / 86400000 BETWEEN $2 AND $3 GROUP BY d ORDER BY d",
    heat: "SELECT ((created_at + 3600000) / 86400000 + 3) % 7 AS wd, ((created_at + 3600000) / 3600000) % 24 AS h, COUNT(*) FROM orders
            WHERE partner_id = $1 AND (created_at + 3600000) / 86400000 BETWEEN $2 AND $3 GROUP BY wd, h",
    top: "SELECT q.name, COUNT(*) AS c FROM orders o JOIN quartiers q ON q.id = o.dropoff_quartier_id
           WHERE o.partner_id = $1 AND (o.created_at + 3600000) / 86400000 BETWEEN $2 AND $3
           GROUP BY q.id, q.name ORDER BY c DESC, q.name LIMIT 8",
    money: "SELECT (created_at + 3600000) / 86400000 AS d,
                   CAST(SUM(CASE WHEN kind = 'COD_COLLECTED' THEN amount ELSE 0 END) AS BIGINT),
                   CAST(SUM(CASE WHEN kind = 'DELIVERY_FEE' THEN -amount ELSE 0 END) AS BIGINT)
              FROM wallet_entries
             WHERE partner_id = $1 AND kind IN ('COD_COLLECTED', 'DELIVERY_FEE') AND (created_at + 3600000) / 86400000 BETWEEN $2 AND $3
             GROUP BY d ORDER BY d",
};

impl Source {
    fn sql(self) -> &'static Sql {
        match self {
            Source::Rollup => &ROLLUP,
            Source::Direct => &DIRECT,
        }
    }
}

impl Range {
    /// The first and last Douala day numbers.
    fn day_numbers(&self) -> (i64, i64) {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        ((self.from - epoch).num_days(), (self.to - epoch).num_days())
    }
}

/// Orders per status among the orders created in `range`.
async fn statuses(db: &Db, src: Source, partner_id: &str, range: Range) -> sqlx::Result<StatusCounts> {
    let (first, last) = range.day_numbers();
    let rows: Vec<(String, i64)> =
        on_db!(db, pool => sqlx::query_as(src.sql().statuses).bind(partner_id).bind(first).bind(last).fetch_all(pool).await)?;
    let mut c = StatusCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "PENDING" => c.pending += n,
            "COMPLETED" => c.completed += n,
            "CANCELLED" => c.cancelled += n,
            // A returned parcel (or one on its way back) is a delivery that failed.
            "FAILED" | "RETURNING" | "RETURNED" => c.failed += n,
            _ => c.active += n,
        }
    }
    Ok(c)
}

/// COD collected and delivery spend per Douala day, from the ledger.
async fn money(db: &Db, src: Source, partner_id: &str, range: Range) -> sqlx::Result<Vec<(NaiveDate, i64, i64)>> {
    let (first, last) = range.day_numbers();
    let rows: Vec<(i64, i64, i64)> =
        on_db!(db, pool => sqlx::query_as(src.sql().money).bind(partner_id).bind(first).bind(last).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|(d, c, s)| (day_date(d), c, s)).collect())
}

/// The headline figures of a period.
pub async fn summary(db: &Db, partner_id: &str, range: Range) -> sqlx::Result<Summary> {
    Ok(summary_and_money(db, Source::Rollup, partner_id, range).await?.0)
}

/// The headline figures of a period and the ledger's daily figures they sum.
async fn summary_and_money(db: &Db, src: Source, partner_id: &str, range: Range) -> sqlx::Result<(Summary, Vec<(NaiveDate, i64, i64)>)> {
    let statuses = statuses(db, src, partner_id, range).await?;
    let money = money(db, src, partner_id, range).await?;
    let (cod_collected, delivery_spend) = money.iter().fold((0, 0), |(c, s), (_, dc, ds)| (c + dc, s + ds));
    let (from_ms, to_ms) = (douala_day_start(range.from), douala_day_start(range.to + Days::new(1)));
    let disputed = crate::disputes::disputed_orders(db, partner_id, from_ms, to_ms).await?;
    Ok((Summary { statuses, cod_collected, delivery_spend, disputed }, money))
}

/// All the metrics of a period, from the roll-ups.
pub async fn metrics(db: &Db, partner_id: &str, range: Range) -> sqlx::Result<Metrics> {
    metrics_from(db, Source::Rollup, partner_id, range).await
}

/// All the metrics of a period, from `src`.
pub async fn metrics_from(db: &Db, src: Source, partner_id: &str, range: Range) -> sqlx::Result<Metrics> {
    let (first, last) = range.day_numbers();
    let sql = src.sql();
    let (summary, money_per_day) = summary_and_money(db, src, partner_id, range).await?;
    let per_day: Vec<(i64, i64)> =
        on_db!(db, pool => sqlx::query_as(sql.per_day).bind(partner_id).bind(first).bind(last).fetch_all(pool).await)?;
    let heat_rows: Vec<(i64, i64, i64)> =
        on_db!(db, pool => sqlx::query_as(sql.heat).bind(partner_id).bind(first).bind(last).fetch_all(pool).await)?;
    let top: Vec<(String, i64)> =
        on_db!(db, pool => sqlx::query_as(sql.top).bind(partner_id).bind(first).bind(last).fetch_all(pool).await)?;
    let mut heat = [[0; 24]; 7];
    for (wd, h, n) in heat_rows {
        if let (Ok(wd), Ok(h)) = (usize::try_from(wd), usize::try_from(h))
            && wd < 7
            && h < 24
        {
            heat[wd][h] += n;
        }
    }
    Ok(Metrics {
        range: Some(range),
        summary,
        orders_per_day: per_day.into_iter().map(|(d, n)| (day_date(d), n)).collect(),
        money_per_day,
        heat,
        top_quartiers: top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn douala_days_start_at_23h_utc() {
        let start = douala_day_start(d(2026, 3, 10));
        assert_eq!(douala_date(start), d(2026, 3, 10));
        assert_eq!(douala_date(start - 1), d(2026, 3, 9));
        assert_eq!(start, chrono::DateTime::parse_from_rfc3339("2026-03-09T23:00:00Z").unwrap().timestamp_millis());
    }

    #[test]
    fn previous_period_has_the_same_length() {
        let r = Range { from: d(2026, 3, 1), to: d(2026, 3, 30) };
        assert_eq!(r.previous(), Range { from: d(2026, 1, 30), to: d(2026, 2, 28) });
        assert_eq!(r.previous().days(), 30);
    }

    #[test]
    fn series_fill_every_bucket() {
        let m = Metrics {
            range: Some(Range { from: d(2026, 3, 1), to: d(2026, 3, 16) }),
            orders_per_day: vec![(d(2026, 3, 1), 2), (d(2026, 3, 2), 3), (d(2026, 3, 16), 1)],
            ..Metrics::default()
        };
        assert_eq!(m.orders_series(Grain::Day).len(), 16);
        // 2026-03-01 is a Sunday: its week starts on 23 February.
        assert_eq!(m.orders_series(Grain::Week), vec![(d(2026, 2, 23), 2), (d(2026, 3, 2), 3), (d(2026, 3, 9), 0), (d(2026, 3, 16), 1)]);
        assert_eq!(m.orders_series(Grain::Month), vec![(d(2026, 3, 1), 6)]);
    }
}
