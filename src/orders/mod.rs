//! Orders (deliveries): creation with pricing, the lifecycle state machine, the vendor's list,
//! detail, CSV export and import. Every entry point (form, API, import, booking page) goes
//! through [`validate`] and [`service`], so the rules are the same everywhere.

pub mod admin;
pub mod api;
pub mod bookings;
pub mod export;
pub mod import;
pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
pub mod waybill;

use serde::Deserialize;

use crate::{
    accounts::phone::Phone,
    db::Db,
    geo::{self, City, Quartier},
    i18n::{Lang, Msg},
    partners::repo::Partner,
    pricing::{self, Size},
    text,
    web::forms::FieldErrors,
};

/// Cash on delivery above this is refused as a typing mistake (2 000 000 FCFA).
pub const MAX_COD: i64 = 2_000_000;
/// Lengths (in characters, once trimmed) the order's texts must have: the form, the import and
/// the API (whose document states them) all check these.
pub const ADDRESS_LEN: (usize, usize) = (3, 200);
pub const NAME_LEN: (usize, usize) = (2, 120);
pub const PACKAGE_LEN: (usize, usize) = (2, 200);
pub const NOTE_LEN: (usize, usize) = (0, 300);

/// An order as submitted (form, CSV row, API body, booking page): text, to be validated.
/// Cities and quartiers are given by id or by name.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct Draft {
    pub pickup_city: String,
    pub pickup_quartier: String,
    pub pickup_address: String,
    pub dropoff_city: String,
    pub dropoff_quartier: String,
    pub dropoff_address: String,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub package_description: String,
    pub size_class: String,
    pub cod_amount: String,
    pub courier_note: String,
    /// The portal form's confirmation of an intercity delivery (`1`).
    pub intercity_ok: String,
}

/// A city by id, name or slug (accents and case ignored).
pub async fn resolve_city(db: &Db, input: &str) -> sqlx::Result<Option<City>> {
    let input = input.trim();
    let key = text::match_key(input);
    Ok(geo::cities(db).await?.into_iter().find(|c| c.id.to_string() == input || text::match_key(&c.name) == key || c.slug == key))
}

/// A quartier of a city by id or name.
pub async fn resolve_quartier(db: &Db, city_id: i64, input: &str) -> sqlx::Result<Option<Quartier>> {
    let input = input.trim();
    if let Ok(id) = input.parse::<i64>() {
        return Ok(geo::quartier(db, id).await?.filter(|q| q.city_id == city_id));
    }
    geo::find_quartier(db, city_id, input).await
}

fn text_field(lang: Lang, errors: &mut FieldErrors, field: &'static str, value: &str, min: usize, max: usize) -> String {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 && min > 0 {
        errors.add(field, lang.t(Msg::ErrRequired));
    } else if n < min {
        errors.add(field, lang.t(Msg::ErrTooShort));
    } else if n > max {
        errors.add(field, lang.fmt(Msg::ErrTooLong, &[("max", &max.to_string())]));
    }
    v.to_owned()
}

async fn place(
    db: &Db,
    lang: Lang,
    errors: &mut FieldErrors,
    (city_field, quartier_field): (&'static str, &'static str),
    city: &str,
    quartier: &str,
) -> sqlx::Result<Option<Quartier>> {
    if city.trim().is_empty() {
        errors.add(city_field, lang.t(Msg::ErrRequired));
        return Ok(None);
    }
    let Some(city) = resolve_city(db, city).await? else {
        errors.add(city_field, lang.t(Msg::ErrUnknownCity));
        return Ok(None);
    };
    if quartier.trim().is_empty() {
        errors.add(quartier_field, lang.t(Msg::ErrRequired));
        return Ok(None);
    }
    let found = resolve_quartier(db, city.id, quartier).await?;
    if found.is_none() {
        let mut message = lang.fmt(Msg::ErrUnknownQuartier, &[("city", &city.name)]);
        if let Some(close) = geo::closest_quartier(city.id, quartier) {
            message = format!("{message} {}", lang.fmt(Msg::DidYouMean, &[("name", &close.name)]));
        }
        errors.add(quartier_field, message);
    }
    Ok(found)
}

/// All a price depends on: the two places and the size (the pickup defaults to the partner's
/// profile when both its fields are empty).
#[derive(Clone, Copy, Debug, Default)]
pub struct Route<'a> {
    pub pickup_city: &'a str,
    pub pickup_quartier: &'a str,
    pub dropoff_city: &'a str,
    pub dropoff_quartier: &'a str,
    pub size_class: &'a str,
}

impl<'a> Route<'a> {
    pub fn of(d: &'a Draft) -> Route<'a> {
        Route {
            pickup_city: &d.pickup_city,
            pickup_quartier: &d.pickup_quartier,
            dropoff_city: &d.dropoff_city,
            dropoff_quartier: &d.dropoff_quartier,
            size_class: &d.size_class,
        }
    }
}

/// The places and the size of `route`, each `None` with its problem in `errors`.
async fn resolve(
    db: &Db,
    lang: Lang,
    partner: &Partner,
    route: Route<'_>,
    errors: &mut FieldErrors,
) -> sqlx::Result<(Option<Quartier>, Option<Quartier>, Option<Size>)> {
    let pickup = if route.pickup_quartier.trim().is_empty() && route.pickup_city.trim().is_empty() {
        match partner.pickup_quartier_id {
            Some(id) => geo::quartier(db, id).await?,
            None => {
                errors.add("pickup_quartier", lang.t(Msg::ErrNoPickup));
                None
            }
        }
    } else {
        place(db, lang, errors, ("pickup_city", "pickup_quartier"), route.pickup_city, route.pickup_quartier).await?
    };
    let dropoff = place(db, lang, errors, ("dropoff_city", "dropoff_quartier"), route.dropoff_city, route.dropoff_quartier).await?;
    let size = if route.size_class.trim().is_empty() {
        Some(Size::S)
    } else {
        let s = Size::parse(route.size_class);
        if s.is_none() {
            errors.add("size_class", lang.t(Msg::ErrChoice));
        }
        s
    };
    Ok((pickup, dropoff, size))
}

/// The price of a delivery along `route`: computed from the places and the size alone, or
/// what is wrong with them, by field.
pub async fn quote(db: &Db, lang: Lang, partner: &Partner, route: Route<'_>) -> sqlx::Result<Result<pricing::Quote, FieldErrors>> {
    let mut errors = FieldErrors::default();
    match resolve(db, lang, partner, route, &mut errors).await? {
        (Some(pickup), Some(dropoff), Some(size)) if errors.is_empty() => match pricing::quote(db, &pickup, &dropoff, size).await? {
            Some(q) => Ok(Ok(q)),
            None => {
                unserved(db, lang, &pickup, &dropoff, &mut errors).await?;
                Ok(Err(errors))
            }
        },
        _ => Ok(Err(errors)),
    }
}

/// A pair of cities DELIVR-CM does not serve: said on the drop-off city, by name.
async fn unserved(db: &Db, lang: Lang, pickup: &Quartier, dropoff: &Quartier, errors: &mut FieldErrors) -> sqlx::Result<()> {
    let cities = geo::cities(db).await?;
    let name = |id: i64| cities.iter().find(|c| c.id == id).map(|c| c.name.clone()).unwrap_or_default();
    errors.add("dropoff_city", lang.fmt(Msg::ErrUnservedRoute, &[("from", &name(pickup.city_id)), ("to", &name(dropoff.city_id))]));
    Ok(())
}

/// Check a draft against every rule; the pickup defaults to the partner's profile. Returns
/// the order ready to create, or every problem keyed by field.
pub async fn validate(db: &Db, lang: Lang, partner: &Partner, d: &Draft) -> sqlx::Result<Result<service::ValidOrder, FieldErrors>> {
    let mut errors = FieldErrors::default();
    let (pickup, dropoff, size) = resolve(db, lang, partner, Route::of(d), &mut errors).await?;
    let pickup_address =
        if d.pickup_address.trim().is_empty() { partner.pickup_address.clone().unwrap_or_default() } else { d.pickup_address.clone() };
    let pickup_address = text_field(lang, &mut errors, "pickup_address", &pickup_address, ADDRESS_LEN.0, ADDRESS_LEN.1);
    let dropoff_address = text_field(lang, &mut errors, "dropoff_address", &d.dropoff_address, ADDRESS_LEN.0, ADDRESS_LEN.1);
    let recipient_name = text_field(lang, &mut errors, "recipient_name", &d.recipient_name, NAME_LEN.0, NAME_LEN.1);
    let phone = if d.recipient_phone.trim().is_empty() {
        errors.add("recipient_phone", lang.t(Msg::ErrRequired));
        None
    } else {
        let p = Phone::parse(&d.recipient_phone);
        if p.is_none() {
            errors.add("recipient_phone", lang.t(Msg::ErrPhone));
        }
        p
    };
    let package_description = text_field(lang, &mut errors, "package_description", &d.package_description, PACKAGE_LEN.0, PACKAGE_LEN.1);
    let cod_amount = if d.cod_amount.trim().is_empty() {
        Some(0)
    } else {
        match pricing::parse_fcfa(&d.cod_amount) {
            Some(v) if v <= MAX_COD => Some(v),
            Some(_) => {
                errors.add("cod_amount", lang.fmt(Msg::ErrCodTooLarge, &[("max", &crate::web::components::format_fcfa(MAX_COD))]));
                None
            }
            None => {
                errors.add("cod_amount", lang.t(Msg::ErrAmount));
                None
            }
        }
    };
    let courier_note = text_field(lang, &mut errors, "courier_note", &d.courier_note, NOTE_LEN.0, NOTE_LEN.1);
    let quote = match (&pickup, &dropoff, size) {
        (Some(pickup), Some(dropoff), Some(size)) => {
            let quote = pricing::quote(db, pickup, dropoff, size).await?;
            if quote.is_none() {
                unserved(db, lang, pickup, dropoff, &mut errors).await?;
            }
            quote
        }
        _ => None,
    };
    match (pickup, dropoff, phone, quote, cod_amount, errors.is_empty()) {
        (Some(pickup), Some(dropoff), Some(recipient_phone), Some(quote), Some(cod_amount), true) => Ok(Ok(service::ValidOrder {
            pickup,
            pickup_address,
            dropoff,
            dropoff_address,
            recipient_name,
            recipient_phone,
            package_description,
            size: size.unwrap_or(pricing::Size::S),
            cod_amount: crate::money::Fcfa(cod_amount),
            courier_note: (!courier_note.is_empty()).then_some(courier_note),
            quote,
        })),
        _ => Ok(Err(errors)),
    }
}

/// What the vendor's decisions after a failed delivery cost: shares of the order's price (from
/// `REATTEMPT_FEE_PERCENT` and `RETURN_FEE_PERCENT`), rounded up like prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfterFailure {
    pub reattempt_percent: i64,
    pub return_percent: i64,
}

impl AfterFailure {
    pub fn of(config: &crate::config::Config) -> AfterFailure {
        AfterFailure {
            reattempt_percent: config.reattempt_fee_percent.clamp(0, 100),
            return_percent: config.return_fee_percent.clamp(0, 100),
        }
    }

    fn share(order: &repo::Order, percent: i64) -> crate::money::Fcfa {
        crate::money::Fcfa(pricing::round_up(order.price_total.get() * percent / 100))
    }

    pub fn reattempt_fee(&self, order: &repo::Order) -> crate::money::Fcfa {
        Self::share(order, self.reattempt_percent)
    }

    pub fn return_fee(&self, order: &repo::Order) -> crate::money::Fcfa {
        Self::share(order, self.return_percent)
    }

    pub fn reattempt(&self, order: &repo::Order) -> model::Action {
        model::Action::Reattempt { fee: self.reattempt_fee(order) }
    }

    pub fn send_back(&self, order: &repo::Order) -> model::Action {
        model::Action::Return { fee: self.return_fee(order) }
    }
}

/// Minutes to the drop-off from a courier's position, at a moto-taxi's pace in town.
pub fn eta_minutes(order: &repo::Order, position: repo::Position) -> i64 {
    let km = geo::distance_km((position.lat, position.lng), (order.dropoff_lat, order.dropoff_lng));
    ((km * 1000.0 / 5.0) / 60.0).ceil().max(1.0) as i64
}
