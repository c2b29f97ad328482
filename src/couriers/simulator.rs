//! The simulator: assigns pending orders to free couriers and moves them along a plausible
//! path from pickup to drop-off, through the same functions as the courier API (`act`,
//! `record_position`). It makes the demo alive and serves the tests. `speed` multiplies time:
//! at 10, a 20-minute delivery takes 2 minutes.

use std::time::Duration;

use crate::{
    db::{Db, now_ms},
    events::Bus,
    on_db,
    orders::{
        model::{Action, Status},
        repo::{self, Order},
        service::{self, Actor},
    },
};

/// A courier's average speed in town, metres per second (about 18 km/h on a moto-taxi in traffic).
const COURIER_MPS: f64 = 5.0;
/// Simulated minutes from assignment to pickup, and from pickup to departure.
const TO_PICKUP_MS: f64 = 6.0 * 60_000.0;
const LOADING_MS: f64 = 2.0 * 60_000.0;
/// Pending orders wait this long (simulated) before a courier is assigned.
const DISPATCH_MS: f64 = 60_000.0;

#[derive(Clone, Debug)]
pub struct Simulator {
    pub speed: f64,
    pub tick: Duration,
    /// Share of deliveries that fail (recipient unreachable), in percent.
    pub failure_percent: u64,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator { speed: 10.0, tick: Duration::from_secs(2), failure_percent: 4 }
    }
}

/// A point between pickup and drop-off at `frac`, bent a little sideways so the path looks
/// like streets rather than a ruler line.
pub fn along(o: &Order, frac: f64) -> (f64, f64) {
    let f = frac.clamp(0.0, 1.0);
    let (dlat, dlng) = (o.dropoff_lat - o.pickup_lat, o.dropoff_lng - o.pickup_lng);
    let bend = (f * std::f64::consts::PI).sin() * 0.12;
    (o.pickup_lat + dlat * f - dlng * bend, o.pickup_lng + dlng * f + dlat * bend)
}

/// Cheap deterministic pseudo-randomness from an id (no state to keep between ticks).
fn hash_pct(id: &str) -> u64 {
    id.bytes().fold(1469598103934665603u64, |h, b| (h ^ u64::from(b)).wrapping_mul(1099511628211)) % 100
}

impl Simulator {
    /// Run until the process stops.
    pub async fn run(self, db: Db, bus: Bus) {
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if let Err(e) = self.step(&db, &bus, now_ms()).await {
                tracing::warn!(error = %e, "simulator step failed");
            }
        }
    }

    /// One step at time `now`: dispatch, then advance every order in progress.
    pub async fn step(&self, db: &Db, bus: &Bus, now: i64) -> anyhow::Result<()> {
        let scale = |ms: f64| (ms / self.speed) as i64;
        // Dispatch: each free courier takes the oldest pending order that waited long enough.
        let free: Vec<String> = on_db!(db, pool => sqlx::query_scalar(
            "SELECT u.id FROM users u WHERE u.role = 'COURIER' AND u.is_active = TRUE AND NOT EXISTS \
             (SELECT 1 FROM orders o WHERE o.courier_id = u.id AND o.status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING')) ORDER BY u.id",
        )
        .fetch_all(pool)
        .await)?;
        if !free.is_empty() {
            let sql =
                format!("{} WHERE o.status = 'PENDING' AND o.created_at <= $1 ORDER BY o.created_at LIMIT {}", repo::SELECT, free.len());
            let pending: Vec<Order> = on_db!(db, pool => sqlx::query_as(&sql).bind(now - scale(DISPATCH_MS)).fetch_all(pool).await)?;
            for (order, courier) in pending.iter().zip(free) {
                // A vendor may cancel meanwhile: a refused transition is simply skipped.
                let _ = service::transition(db, bus, order, &Action::Assign { courier_id: courier }, &Actor::system(), now).await;
            }
        }
        let sql = format!(
            "{} WHERE o.status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING') AND o.courier_id IS NOT NULL ORDER BY o.updated_at LIMIT 500",
            repo::SELECT
        );
        let moving: Vec<Order> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        for order in moving {
            let Some(courier) = order.courier_id.clone() else { continue };
            let elapsed = now - order.updated_at;
            let result = match order.status() {
                Status::Assigned if elapsed >= scale(TO_PICKUP_MS) => {
                    super::act(db, bus, &courier, &order, &Action::PickUp).await.map(|_| ())
                }
                Status::PickedUp if elapsed >= scale(LOADING_MS) => {
                    super::act(db, bus, &courier, &order, &Action::StartTransit).await.map(|_| ())
                }
                Status::InTransit => {
                    let travel = scale(order.distance_m.max(300) as f64 / COURIER_MPS * 1000.0).max(1);
                    let frac = elapsed as f64 / travel as f64;
                    if frac >= 1.0 {
                        // A new attempt draws again (the same order does not fail every time).
                        let action = if hash_pct(&format!("{}:{}", order.id, order.attempt)) < self.failure_percent {
                            Action::Fail { reason: "Destinataire injoignable au téléphone".to_owned() }
                        } else {
                            Action::Complete { pin: order.delivery_pin.clone() }
                        };
                        super::act(db, bus, &courier, &order, &action).await.map(|_| ())
                    } else {
                        let (lat, lng) = along(&order, frac);
                        // Too frequent or refused positions are not errors for the simulator.
                        let _ = super::report_position(db, bus, &courier, &order, lat, lng, now).await;
                        Ok(())
                    }
                }
                // A parcel on its way back reaches the vendor, who gives the code.
                Status::Returning if elapsed >= scale(TO_PICKUP_MS) => {
                    let code = order.return_code.clone().unwrap_or_default();
                    super::act(db, bus, &courier, &order, &Action::HandBack { code }).await.map(|_| ())
                }
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::debug!(order = order.tracking_number, error = %e, "simulator skipped an order");
            }
        }
        Ok(())
    }
}
