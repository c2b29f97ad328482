//! Pricing: a tariff per city (base fare + per-km rate on the distance between quartiers, a
//! surcharge by package size), rounded up to 50 FCFA, split into the platform's commission
//! and the courier's net. A delivery between two cities is served only when the pair has its
//! own intercity tariff; otherwise it has no price and is refused. Admins edit tariffs and
//! served pairs at `/admin/tariffs/`.

pub mod pages;

use serde::Serialize;

use crate::{
    db::{Db, now_ms},
    geo::{self, Quartier},
    money::Fcfa,
    on_db,
};

/// Prices are rounded up to a multiple of this many FCFA.
pub const ROUNDING: i64 = 50;

/// A city's tariff. Amounts in FCFA; the commission in basis points (2000 = 20 %).
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub city_id: i64,
    pub base_fare: i64,
    pub per_km: i64,
    pub surcharge_medium: i64,
    pub surcharge_large: i64,
    pub commission_bps: i64,
}

impl Tariff {
    /// The defaults a new city starts with.
    pub fn default_for(city_id: i64) -> Tariff {
        Tariff { city_id, base_fare: 1000, per_km: 150, surcharge_medium: 300, surcharge_large: 700, commission_bps: 2000 }
    }
}

/// Package size classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Size {
    S,
    M,
    L,
}

impl Size {
    pub const ALL: [Size; 3] = [Size::S, Size::M, Size::L];

    pub fn parse(s: &str) -> Option<Size> {
        match s.trim().to_ascii_uppercase().as_str() {
            "S" | "SMALL" | "PETIT" => Some(Size::S),
            "M" | "MEDIUM" | "MOYEN" => Some(Size::M),
            "L" | "LARGE" | "GRAND" => Some(Size::L),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
        }
    }
}

/// `{total, commission, net}` as in the spec's webhook payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Price {
    pub total: Fcfa,
    pub commission: Fcfa,
    pub net: Fcfa,
}

impl Price {
    /// Split a total with a commission rate: the commission is rounded to the nearest FCFA.
    pub fn split(total: i64, commission_bps: i64) -> Price {
        let commission = (total * commission_bps + 5000) / 10_000;
        Price { total: Fcfa(total), commission: Fcfa(commission), net: Fcfa(total - commission) }
    }
}

/// A quote: the distance and the price, and whether it crosses cities (a served pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub distance_m: i64,
    pub price: Price,
    pub intercity: bool,
}

/// A served pair of cities and its tariff (`city_id` is unused: the pair is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntercityTariff {
    pub city_a: i64,
    pub city_b: i64,
    pub tariff: Tariff,
}

/// A pair of cities in stored order (smaller id first).
pub fn pair(from: i64, to: i64) -> (i64, i64) {
    if from <= to { (from, to) } else { (to, from) }
}

/// Round up to the next multiple of [`ROUNDING`].
pub fn round_up(amount: i64) -> i64 {
    (amount + ROUNDING - 1).div_euclid(ROUNDING) * ROUNDING
}

/// Price a delivery of `size` over `distance_m` metres with `tariff`.
pub fn price(tariff: &Tariff, distance_m: i64, size: Size) -> Price {
    let surcharge = match size {
        Size::S => 0,
        Size::M => tariff.surcharge_medium,
        Size::L => tariff.surcharge_large,
    };
    // per_km * metres / 1000, in integer arithmetic (rounded up with the total).
    let distance_part = (tariff.per_km * distance_m + 999) / 1000;
    Price::split(round_up(tariff.base_fare + distance_part + surcharge), tariff.commission_bps)
}

/// Quote a delivery between two quartiers: with the city's tariff within a city, with the
/// pair's tariff between served cities; `None` when the pair is not served.
pub async fn quote(db: &Db, pickup: &Quartier, dropoff: &Quartier, size: Size) -> sqlx::Result<Option<Quote>> {
    let intercity = pickup.city_id != dropoff.city_id;
    let tariff = if intercity {
        match intercity_tariff(db, pickup.city_id, dropoff.city_id).await? {
            Some(t) => t.tariff,
            None => return Ok(None),
        }
    } else {
        tariff(db, dropoff.city_id).await?
    };
    let distance_m = (geo::distance_km((pickup.lat, pickup.lng), (dropoff.lat, dropoff.lng)) * 1000.0).round() as i64;
    Ok(Some(Quote { distance_m, price: price(&tariff, distance_m, size), intercity }))
}

#[derive(sqlx::FromRow)]
struct IntercityRow {
    city_a: i64,
    city_b: i64,
    base_fare: i64,
    per_km: i64,
    surcharge_medium: i64,
    surcharge_large: i64,
    commission_bps: i64,
}

impl From<IntercityRow> for IntercityTariff {
    fn from(r: IntercityRow) -> Self {
        let tariff = Tariff {
            city_id: r.city_b,
            base_fare: r.base_fare,
            per_km: r.per_km,
            surcharge_medium: r.surcharge_medium,
            surcharge_large: r.surcharge_large,
            commission_bps: r.commission_bps,
        };
        IntercityTariff { city_a: r.city_a, city_b: r.city_b, tariff }
    }
}

const INTERCITY: &str =
    "SELECT city_a, city_b, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps FROM intercity_tariffs";

/// The tariff of a served pair of cities (either direction).
pub async fn intercity_tariff(db: &Db, from: i64, to: i64) -> sqlx::Result<Option<IntercityTariff>> {
    let (a, b) = pair(from, to);
    let sql = format!("{INTERCITY} WHERE city_a = $1 AND city_b = $2");
    let row: Option<IntercityRow> = on_db!(db, pool => sqlx::query_as(&sql).bind(a).bind(b).fetch_optional(pool).await)?;
    Ok(row.map(Into::into))
}

/// Every served pair of cities.
pub async fn intercity_tariffs(db: &Db) -> sqlx::Result<Vec<IntercityTariff>> {
    let sql = format!("{INTERCITY} ORDER BY city_a, city_b");
    let rows: Vec<IntercityRow> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Serve a pair of distinct cities at `t` (or change its tariff).
pub async fn save_intercity(db: &Db, from: i64, to: i64, t: &Tariff) -> sqlx::Result<()> {
    let (a, b) = pair(from, to);
    on_db!(db, pool => sqlx::query(
        "INSERT INTO intercity_tariffs (city_a, city_b, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (city_a, city_b) DO UPDATE SET base_fare = $3, per_km = $4, \
         surcharge_medium = $5, surcharge_large = $6, commission_bps = $7, updated_at = $8",
    )
    .bind(a)
    .bind(b)
    .bind(t.base_fare)
    .bind(t.per_km)
    .bind(t.surcharge_medium)
    .bind(t.surcharge_large)
    .bind(t.commission_bps)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|_| ()))
}

/// Stop serving a pair of cities; `false` when it was not served.
pub async fn remove_intercity(db: &Db, from: i64, to: i64) -> sqlx::Result<bool> {
    let (a, b) = pair(from, to);
    let n = on_db!(db, pool => sqlx::query("DELETE FROM intercity_tariffs WHERE city_a = $1 AND city_b = $2")
        .bind(a)
        .bind(b)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn tariff(db: &Db, city_id: i64) -> sqlx::Result<Tariff> {
    let found: Option<Tariff> = on_db!(db, pool => sqlx::query_as(
        "SELECT city_id, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps FROM tariffs WHERE city_id = $1",
    )
    .bind(city_id)
    .fetch_optional(pool)
    .await)?;
    Ok(found.unwrap_or_else(|| Tariff::default_for(city_id)))
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<Tariff>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT city_id, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps FROM tariffs ORDER BY city_id",
    )
    .fetch_all(pool)
    .await)
}

/// Give every city without a tariff the default one (idempotent, at start).
pub async fn seed_defaults(db: &Db) -> sqlx::Result<()> {
    for city in geo::cities(db).await? {
        let t = Tariff::default_for(city.id);
        on_db!(db, pool => sqlx::query(
            "INSERT INTO tariffs (city_id, base_fare, per_km, surcharge_medium, surcharge_large, commission_bps, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (city_id) DO NOTHING",
        )
        .bind(t.city_id)
        .bind(t.base_fare)
        .bind(t.per_km)
        .bind(t.surcharge_medium)
        .bind(t.surcharge_large)
        .bind(t.commission_bps)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

pub async fn save(db: &Db, t: &Tariff) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE tariffs SET base_fare = $2, per_km = $3, surcharge_medium = $4, surcharge_large = $5, commission_bps = $6, updated_at = $7 \
         WHERE city_id = $1",
    )
    .bind(t.city_id)
    .bind(t.base_fare)
    .bind(t.per_km)
    .bind(t.surcharge_medium)
    .bind(t.surcharge_large)
    .bind(t.commission_bps)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Parse an FCFA amount as people type it: `1500`, `1 500`, `1.500`, `1 500 FCFA`. No
/// decimals, no negatives.
pub fn parse_fcfa(input: &str) -> Option<i64> {
    let s = input.trim();
    let s = s.strip_suffix("FCFA").or_else(|| s.strip_suffix("fcfa")).or_else(|| s.strip_suffix("XAF")).unwrap_or(s).trim();
    if s.is_empty() {
        return None;
    }
    // Thousands separators: spaces (also no-break), dots or commas between groups of three.
    let groups: Vec<&str> = s.split([' ', '\u{a0}', '\u{202f}', '.', ',']).collect();
    let well_grouped = groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    if !well_grouped || !groups.iter().all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    groups.concat().parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_splits_1500_into_300_and_1200() {
        assert_eq!(Price::split(1500, 2000), Price { total: Fcfa(1500), commission: Fcfa(300), net: Fcfa(1200) });
    }

    #[test]
    fn prices_round_up_to_fifty() {
        let t = Tariff::default_for(1);
        // 1000 + 150 × 2.1 km = 1315 → 1350.
        assert_eq!(price(&t, 2100, Size::S).total, 1350);
        // Exactly on a multiple stays.
        assert_eq!(price(&t, 2000, Size::S).total, 1300);
        // 1000 + 150 × 3.334 = 1500.1 → 1550; medium adds 300 → 1850.
        assert_eq!(price(&t, 3334, Size::S).total, 1550);
        assert_eq!(price(&t, 3334, Size::M).total, 1850);
        assert_eq!(price(&t, 0, Size::L).total, 1700);
        // The spec's example: 1000 + 150 × 3.3 km = 1495 → 1500 → 300 / 1200.
        assert_eq!(price(&t, 3300, Size::S), Price { total: Fcfa(1500), commission: Fcfa(300), net: Fcfa(1200) });
    }

    #[test]
    fn money_input_accepts_what_people_type() {
        for (input, expected) in
            [("1500", 1500), ("1 500", 1500), ("1.500", 1500), ("1 500 FCFA", 1500), ("25 000", 25000), ("0", 0), ("1,250,000", 1_250_000)]
        {
            assert_eq!(parse_fcfa(input), Some(expected), "{input}");
        }
        for bad in ["", "-500", "15.5", "1 50", "abc", "1500.00", "12 3456", "1e3"] {
            assert_eq!(parse_fcfa(bad), None, "{bad}");
        }
    }
}
