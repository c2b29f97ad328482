//! Cameroon geography: cities and their quartiers with approximate coordinates, used for
//! pickup and drop-off addresses, pricing distances, maps and analytics.

mod data;

use serde::Serialize;

use crate::{db::Db, on_tx, text};

#[derive(sqlx::FromRow, Debug, Clone, Serialize)]
pub struct City {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
}

#[derive(sqlx::FromRow, Debug, Clone, Serialize)]
pub struct Quartier {
    pub id: i64,
    pub city_id: i64,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
}

/// Insert the built-in cities and quartiers that are missing (idempotent, run at start).
pub async fn seed(db: &Db) -> sqlx::Result<()> {
    {
        let mut tx = db.begin().await?;
        for (city_id, slug, name, lat, lng, quartiers) in data::CITIES {
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO cities (id, slug, name, lat, lng) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING")
                .bind(city_id)
                .bind(slug)
                .bind(name)
                .bind(lat)
                .bind(lng)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            for (i, (name, lat, lng)) in quartiers.iter().enumerate() {
                // Stable ids: city id * 1000 + position in the list (lists only ever grow at the end).
                let id = city_id * 1000 + i as i64 + 1;
                on_tx!(&mut tx, c => sqlx::query("INSERT INTO quartiers (id, city_id, name, name_key, lat, lng) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING")
                    .bind(id)
                    .bind(city_id)
                    .bind(name)
                    .bind(text::match_key(name))
                    .bind(lat)
                    .bind(lng)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        tx.commit().await
    }
}

// Cities and quartiers are fixed data from `data.rs` (the tables mirror them for joins and
// foreign keys): reading them costs no query.

fn all_cities() -> &'static [City] {
    static CITIES: std::sync::OnceLock<Vec<City>> = std::sync::OnceLock::new();
    CITIES.get_or_init(|| {
        let mut v: Vec<City> = data::CITIES
            .iter()
            .map(|(id, slug, name, lat, lng, _)| City { id: *id, slug: (*slug).to_owned(), name: (*name).to_owned(), lat: *lat, lng: *lng })
            .collect();
        v.sort_by_key(|c| text::match_key(&c.name));
        v
    })
}

fn all_quartiers() -> &'static [Quartier] {
    static QUARTIERS: std::sync::OnceLock<Vec<Quartier>> = std::sync::OnceLock::new();
    QUARTIERS.get_or_init(|| {
        let mut v: Vec<Quartier> = data::CITIES
            .iter()
            .flat_map(|(city_id, _, _, _, _, qs)| {
                qs.iter().enumerate().map(move |(i, (name, lat, lng))| Quartier {
                    id: city_id * 1000 + i as i64 + 1,
                    city_id: *city_id,
                    name: (*name).to_owned(),
                    lat: *lat,
                    lng: *lng,
                })
            })
            .collect();
        v.sort_by_key(|q| text::match_key(&q.name));
        v
    })
}

pub async fn cities(_db: &Db) -> sqlx::Result<Vec<City>> {
    Ok(all_cities().to_vec())
}

pub async fn quartiers_of(_db: &Db, city_id: i64) -> sqlx::Result<Vec<Quartier>> {
    Ok(all_quartiers().iter().filter(|q| q.city_id == city_id).cloned().collect())
}

/// The names of a quartier and of its city, straight from the fixed data (a quartier's id is
/// its city's id × 1000 + its position): what a list row shows, without a join or a clone.
pub fn place_names(quartier_id: i64) -> Option<(&'static str, &'static str)> {
    let (city_id, position) = (quartier_id / 1000, quartier_id % 1000);
    let (_, _, city, _, _, quartiers) = data::CITIES.iter().find(|c| c.0 == city_id)?;
    let (name, _, _) = quartiers.get(usize::try_from(position).ok()?.checked_sub(1)?)?;
    Some((name, city))
}

pub async fn quartier(_db: &Db, id: i64) -> sqlx::Result<Option<Quartier>> {
    Ok(all_quartiers().iter().find(|q| q.id == id).cloned())
}

/// Find a quartier of a city by name, ignoring case, accents and punctuation.
pub async fn find_quartier(_db: &Db, city_id: i64, name: &str) -> sqlx::Result<Option<Quartier>> {
    let key = text::match_key(name);
    Ok(all_quartiers().iter().find(|q| q.city_id == city_id && text::match_key(&q.name) == key).cloned())
}

/// The quartier of a city whose name is closest to `name` (a typo, a missing letter), if one
/// is close enough to be worth suggesting: at most a third of the name's letters differ.
pub fn closest_quartier(city_id: i64, name: &str) -> Option<Quartier> {
    let key = text::match_key(name);
    if key.chars().count() < 3 {
        return None;
    }
    all_quartiers()
        .iter()
        .filter(|q| q.city_id == city_id)
        .map(|q| (text::edit_distance(&key, &text::match_key(&q.name)), q))
        .filter(|(d, _)| *d * 3 <= key.chars().count().max(3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, q)| q.clone())
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lng1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lng2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lng2 - lng1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_city_has_thirty_distinct_quartiers_nearby() {
        for (_, slug, _, lat, lng, quartiers) in data::CITIES {
            assert!(quartiers.len() >= 30, "{slug} has {}", quartiers.len());
            let mut keys: Vec<String> = quartiers.iter().map(|q| text::match_key(q.0)).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), quartiers.len(), "duplicate quartier in {slug}");
            for (name, qlat, qlng) in *quartiers {
                let d = distance_km((*lat, *lng), (*qlat, *qlng));
                assert!(d < 25.0, "{name} is {d:.1} km from the centre of {slug}");
            }
        }
    }

    #[test]
    fn place_names_agree_with_every_quartier_and_refuse_unknown_ids() {
        for q in all_quartiers() {
            let city = all_cities().iter().find(|c| c.id == q.city_id).map(|c| c.name.as_str());
            assert_eq!(place_names(q.id), Some((q.name.as_str(), city.unwrap_or_default())), "quartier {}", q.id);
        }
        for unknown in [0, 1000, 1999, 3001, -1001, i64::MAX] {
            assert_eq!(place_names(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn distance_akwa_to_bonamoussadi_is_plausible() {
        let d = distance_km((4.0490, 9.6950), (4.0900, 9.7400));
        assert!((6.0..7.0).contains(&d), "{d}");
    }
}
