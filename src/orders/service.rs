//! Order use cases, one transaction each: the change, its timeline entry and its domain event
//! are committed together or not at all; the event is announced on the bus after commit.

use uuid::Uuid;

use crate::{
    accounts::phone::Phone,
    audit,
    db::{Db, Tx, is_unique_violation},
    events::{self, Bus, Event, Kind, Recorded},
    geo::Quartier,
    on_db, on_tx,
    orders::{
        model::{self, Action, Role, Status, TransitionError},
        repo::{self, Order},
    },
    pricing::{Quote, Size},
    security,
    wallet::{self, Booking, EntryKind},
};

/// Where an order came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Portal,
    Api,
    Booking,
    Import,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Portal => "PORTAL",
            Source::Api => "API",
            Source::Booking => "BOOKING",
            Source::Import => "IMPORT",
            Source::Demo => "DEMO",
        }
    }
}

/// Who acts: a role and, for people, their user id.
#[derive(Clone, Debug)]
pub struct Actor {
    pub role: Role,
    pub user_id: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { role: Role::System, user_id: None }
    }
}

/// A validated order, ready to insert (see `orders::validate`).
#[derive(Clone, Debug)]
pub struct ValidOrder {
    pub pickup: Quartier,
    pub pickup_address: String,
    pub dropoff: Quartier,
    pub dropoff_address: String,
    pub recipient_name: String,
    pub recipient_phone: Phone,
    pub package_description: String,
    pub size: Size,
    pub cod_amount: crate::money::Fcfa,
    pub courier_note: Option<String>,
    pub quote: Quote,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("order not found")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Someone else changed the order between our read and our write.
    #[error("the order changed meanwhile")]
    Conflict,
    #[error("courier not found")]
    UnknownCourier,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An order's refusal as an API problem, in the request's language: `404`, `409` for a
/// refused transition or a concurrent change, `422` for an unknown courier, `500` otherwise.
impl From<OrderError> for crate::web::api::problem::ApiProblem {
    fn from(e: OrderError) -> Self {
        use crate::{i18n::Msg, web::api::problem::ApiProblem};
        use poem::http::StatusCode;
        let lang = crate::web::api::problem::request_lang();
        match e {
            OrderError::NotFound => ApiProblem::not_found(lang),
            OrderError::Transition(t) => ApiProblem::new(StatusCode::CONFLICT, "transition-refused", lang, t.message(), None),
            OrderError::Conflict => ApiProblem::new(StatusCode::CONFLICT, "conflict", lang, Msg::ErrOrderChanged, None),
            OrderError::UnknownCourier => ApiProblem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-courier", lang, Msg::ErrChoice, None),
            OrderError::Db(e) => e.into(),
        }
    }
}

/// An order's refusal on a page: `404`, `409`, `422`, or the error page for a failure.
impl From<OrderError> for crate::web::PageError {
    fn from(e: OrderError) -> Self {
        use poem::http::StatusCode;
        let status = match e {
            OrderError::NotFound => StatusCode::NOT_FOUND,
            OrderError::Transition(_) | OrderError::Conflict => StatusCode::CONFLICT,
            OrderError::UnknownCourier => StatusCode::UNPROCESSABLE_ENTITY,
            OrderError::Db(e) => return crate::web::PageError::Internal(e.into()),
        };
        crate::web::PageError::Http(crate::web::status_error(status))
    }
}

/// Create an order (status PENDING) with its first timeline entry and `order.created`.
pub async fn create(
    db: &Db,
    bus: &Bus,
    partner_id: &str,
    source: Source,
    v: &ValidOrder,
    actor: &Actor,
    at: i64,
) -> Result<Order, OrderError> {
    create_once(db, bus, partner_id, source, v, actor, at, None).await
}

/// [`create`], at most once per `client_key` of the partner: the same key again gives the
/// order it made (an offline draft sent twice makes one order).
#[allow(clippy::too_many_arguments)]
pub async fn create_once(
    db: &Db,
    bus: &Bus,
    partner_id: &str,
    source: Source,
    v: &ValidOrder,
    actor: &Actor,
    at: i64,
    client_key: Option<&str>,
) -> Result<Order, OrderError> {
    let once = client_key.map(Once::ClientKey);
    let ids = create_many(db, bus, partner_id, source, std::slice::from_ref(v), actor, at, once).await?;
    let id = ids.first().ok_or(OrderError::NotFound)?;
    repo::find(db, id).await?.ok_or(OrderError::NotFound)
}

/// What makes a creation happen once.
#[derive(Clone, Copy, Debug)]
pub enum Once<'a> {
    /// A CSV import, marked used in the same transaction.
    Import(&'a str),
    /// A key the vendor's device gave its offline draft.
    ClientKey(&'a str),
    /// An API request's `Idempotency-Key`, recorded with the order.
    Idempotent(&'a crate::idempotency::IdemKey),
    /// A customer's booking request the vendor accepts, claimed in the same transaction
    /// (`Ok(vec![])` when it is no longer waiting).
    Booking(&'a str),
}

/// Create several orders in one transaction: all or none. With an import, the import is
/// marked used in the same transaction, so a double submit creates nothing twice
/// (`Ok(vec![])` when it was already used); with a client key, the key is recorded with the
/// order, and a key already used gives that order's id.
#[allow(clippy::too_many_arguments)]
pub async fn create_many(
    db: &Db,
    bus: &Bus,
    partner_id: &str,
    source: Source,
    orders: &[ValidOrder],
    actor: &Actor,
    at: i64,
    once: Option<Once<'_>>,
) -> Result<Vec<String>, OrderError> {
    for _attempt in 0..8 {
        // Fresh random identifiers at each attempt (a collision rolls the whole batch back).
        let fresh: Vec<(String, String, String, String)> = orders
            .iter()
            .map(|_| (Uuid::new_v4().to_string(), model::new_tracking_number(), security::random_token(16), model::new_pin()))
            .collect();
        let result: sqlx::Result<Vec<(String, Option<Recorded>)>> = async {
            // SQLite's write lock is taken at BEGIN (a client key is read before the order is
            // written, and a read transaction cannot always be upgraded).
            let mut tx = db.begin().await?;
            if let Some(Once::ClientKey(key)) = once {
                let made: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT order_id FROM order_client_keys WHERE partner_id = $1 AND key = $2")
                    .bind(partner_id)
                    .bind(key)
                    .fetch_optional(&mut *c)
                    .await)?;
                if let Some(id) = made {
                    // Already made: nothing new to announce.
                    return Ok(vec![(id, None)]);
                }
            }
            if let Some(Once::Import(import_id)) = once {
                let claimed = on_tx!(&mut tx, c => sqlx::query("UPDATE order_imports SET used_at = $3 WHERE id = $1 AND partner_id = $2 AND used_at IS NULL")
                    .bind(import_id)
                    .bind(partner_id)
                    .bind(at)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
                if claimed != 1 {
                    return Ok(Vec::new());
                }
            }
            if let Some(Once::Booking(request_id)) = once
                && !super::bookings::claim(&mut tx, partner_id, request_id, at).await?
            {
                return Ok(Vec::new());
            }
            let mut created = Vec::with_capacity(orders.len());
            for (v, fresh) in orders.iter().zip(&fresh) {
                let order = insert(&mut tx, partner_id, source, v, fresh, actor, at).await?;
                // A booking's order is linked before its event: the recipient's message speaks
                // the customer's language.
                if let Some(Once::Booking(request_id)) = once {
                    super::bookings::link(&mut tx, request_id, &order.id).await?;
                }
                let event = Event::new(partner_id, Kind::OrderCreated, Some(&order.id), &order.event_data(None));
                let recorded = events::record(&mut tx, &event, at).await?;
                created.push((String::from(order.id), Some(recorded)));
            }
            if let (Some(Once::Idempotent(key)), Some((id, _))) = (once, created.first()) {
                // A concurrent request with the same key (another instance) makes this fail,
                // and the order with it: the caller answers as that request did.
                crate::idempotency::record(&mut tx, key, 201, Some(&format!("order:{id}")), None).await?;
            }
            if let (Some(Once::ClientKey(key)), Some((id, _))) = (once, created.first()) {
                // A concurrent send of the same draft makes this fail: the retry finds its order.
                on_tx!(&mut tx, c => sqlx::query("INSERT INTO order_client_keys (partner_id, key, order_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(partner_id)
                    .bind(key)
                    .bind(id)
                    .bind(at)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
            tx.commit().await?;
            Ok(created)
        }
        .await;
        match result {
            Ok(created) => {
                let mut ids = Vec::with_capacity(created.len());
                for (id, recorded) in created {
                    if let Some(recorded) = recorded {
                        bus.announce(recorded);
                    }
                    ids.push(id);
                }
                return Ok(ids);
            }
            // Another request with the same idempotency key recorded its order first (another
            // instance): nothing to draw again, the caller answers as that request did.
            Err(e) if is_unique_violation(&e) && matches!(once, Some(Once::Idempotent(_))) && idempotency_taken(db, once).await => {
                return Err(OrderError::Conflict);
            }
            // A tracking number or public token collision, or a concurrent send of the same
            // client key: draw again (the next attempt finds that key's order).
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OrderError::Conflict)
}

/// Insert one order (PENDING) and its first timeline entry; returns it as stored.
async fn insert(
    tx: &mut Tx,
    partner_id: &str,
    source: Source,
    v: &ValidOrder,
    (id, tracking, token, pin): &(String, String, String, String),
    actor: &Actor,
    at: i64,
) -> sqlx::Result<Order> {
    on_tx!(tx, c => async {
        sqlx::query(
            "INSERT INTO orders (id, partner_id, tracking_number, public_token, status, source, pickup_quartier_id, pickup_address, \
             dropoff_quartier_id, dropoff_address, recipient_name, recipient_phone, package_description, size_class, cod_amount, \
             courier_note, delivery_pin, distance_m, price_total, price_commission, price_net, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)",
        )
        .bind(id)
        .bind(partner_id)
        .bind(tracking)
        .bind(token)
        .bind(source.as_str())
        .bind(v.pickup.id)
        .bind(&v.pickup_address)
        .bind(v.dropoff.id)
        .bind(&v.dropoff_address)
        .bind(&v.recipient_name)
        .bind(v.recipient_phone.as_str())
        .bind(&v.package_description)
        .bind(v.size.as_str())
        .bind(v.cod_amount)
        .bind(v.courier_note.as_deref())
        .bind(pin)
        .bind(v.quote.distance_m)
        .bind(v.quote.price.total)
        .bind(v.quote.price.commission)
        .bind(v.quote.price.net)
        .bind(at)
        .execute(&mut *c)
        .await?;
        sqlx::query("INSERT INTO order_events (order_id, status, actor_role, actor_id, note, lat, lng, at) VALUES ($1, 'PENDING', $2, $3, NULL, $4, $5, $6)")
            .bind(id)
            .bind(actor.role.as_str())
            .bind(actor.user_id.as_deref())
            .bind(v.pickup.lat)
            .bind(v.pickup.lng)
            .bind(at)
            .execute(&mut *c)
            .await?;
        sqlx::query_as(&format!("{} WHERE o.id = $1", repo::SELECT)).bind(id).fetch_one(&mut *c).await
    }
    .await)
}

/// The order as this transaction sees it.
async fn reread(tx: &mut Tx, id: &str) -> sqlx::Result<Order> {
    on_tx!(tx, c => sqlx::query_as(&format!("{} WHERE o.id = $1", repo::SELECT)).bind(id).fetch_one(&mut *c).await)
}

/// Has another request already recorded this idempotency key?
async fn idempotency_taken(db: &Db, once: Option<Once<'_>>) -> bool {
    let Some(Once::Idempotent(key)) = once else { return false };
    crate::idempotency::lookup(db, &key.partner_id, &key.key).await.is_ok_and(|r| r.is_some())
}

/// Apply `action` to `order` as `actor`, at `at`, optionally at a position. The order must be
/// the caller's (scoping is done when loading it).
pub async fn transition(db: &Db, bus: &Bus, order: &Order, action: &Action, actor: &Actor, at: i64) -> Result<Order, OrderError> {
    transition_once(db, bus, order, action, actor, at, None).await
}

/// [`transition`], with an API request's idempotency key recorded in its transaction.
pub async fn transition_once(
    db: &Db,
    bus: &Bus,
    order: &Order,
    action: &Action,
    actor: &Actor,
    at: i64,
    idem: Option<&crate::idempotency::IdemKey>,
) -> Result<Order, OrderError> {
    let from = order.status();
    let to = model::check(from, action, actor.role)?;
    // A courier acts only on orders assigned to them.
    if actor.role == Role::Courier && order.courier_id.as_deref() != actor.user_id.as_deref() {
        return Err(TransitionError::NotYours.into());
    }
    // A courier hands the parcel back only against the code the vendor was given; wrong codes
    // are counted like wrong PINs and lock it (an admin, who checked with the vendor, or the
    // system closes the return without it).
    if let (Action::HandBack { code }, Role::Courier) = (action, actor.role) {
        if order.pin_locked_at.is_some() {
            return Err(TransitionError::PinLocked.into());
        }
        let expected = order.return_code.as_deref().unwrap_or_default();
        if expected.is_empty() || !security::constant_time_eq(code.trim().as_bytes(), expected.as_bytes()) {
            let locked: Option<Option<i64>> = on_db!(db, pool => sqlx::query_scalar(
                "UPDATE orders SET pin_failures = pin_failures + 1, \
                 pin_locked_at = CASE WHEN pin_failures + 1 >= $2 THEN $3 ELSE NULL END, updated_at = $3 \
                 WHERE id = $1 AND status = 'RETURNING' AND pin_locked_at IS NULL RETURNING pin_locked_at",
            )
            .bind(&order.id)
            .bind(model::MAX_PIN_FAILURES)
            .bind(at)
            .fetch_optional(pool)
            .await)?;
            return Err(match locked {
                Some(None) => TransitionError::WrongReturnCode,
                _ => TransitionError::PinLocked,
            }
            .into());
        }
    }
    // Closing without the PIN is only for a PIN that locked.
    if matches!(action, Action::CompleteWithoutPin { .. }) && order.pin_locked_at.is_none() {
        return Err(TransitionError::NotFromHere.into());
    }
    // The PIN proves the courier met the recipient: a locked PIN takes no more tries, and
    // every wrong one is counted in the database (every instance, every restart).
    if let Action::Complete { pin } = action {
        if order.pin_locked_at.is_some() {
            return Err(TransitionError::PinLocked.into());
        }
        if !security::constant_time_eq(pin.trim().as_bytes(), order.delivery_pin.as_bytes()) {
            return Err(wrong_pin(db, bus, order, at).await?.into());
        }
    }
    let courier_id = match action {
        Action::Assign { courier_id } => {
            let is_courier: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND role = 'COURIER' AND is_active = TRUE")
                .bind(courier_id)
                .fetch_optional(pool)
                .await)?;
            Some(is_courier.ok_or(OrderError::UnknownCourier)?)
        }
        // A new attempt goes back to the dispatch queue: any courier may take it.
        Action::Reattempt { .. } => None,
        _ => order.courier_id.clone(),
    };
    // What the vendor's decision after a failure costs, booked with it: the new trip.
    let decision_fee = match action {
        Action::Reattempt { fee } | Action::Return { fee } => Some(*fee),
        _ => None,
    };
    let return_code = matches!(action, Action::Return { .. }).then(model::new_pin);
    let reason = match action {
        Action::Cancel { reason } | Action::Fail { reason } | Action::CompleteWithoutPin { reason } => {
            Some(reason.trim().to_owned()).filter(|r| !r.is_empty())
        }
        _ => None,
    };
    // A courier's completion must find the PIN unlocked at the moment of writing too (a wrong
    // try may have locked it since the order was read).
    let needs_open_pin = matches!(action, Action::Complete { .. });
    let finished_at = to.is_final().then_some(at);
    let position = repo::latest_position(db, &order.id).await?;
    let (lat, lng) = match (to, position) {
        (Status::PickedUp, _) => (Some(order.pickup_lat), Some(order.pickup_lng)),
        (Status::Completed, _) => (Some(order.dropoff_lat), Some(order.dropoff_lng)),
        (_, Some(p)) => (Some(p.lat), Some(p.lng)),
        _ => (None, None),
    };
    let kind = if matches!(action, Action::Reattempt { .. }) { Kind::OrderReattempted } else { to.event() };
    let next_attempt = matches!(action, Action::Reattempt { .. });
    let result: sqlx::Result<Option<Vec<Recorded>>> = async {
        let mut tx = db.begin().await?;
        let updated = on_tx!(&mut tx, c => sqlx::query(
            "UPDATE orders SET status = $3, courier_id = $4, updated_at = $5, finished_at = $6, \
             failure_reason = CASE WHEN $3 = 'FAILED' THEN $7 ELSE failure_reason END, \
             cancel_reason = CASE WHEN $3 = 'CANCELLED' THEN $7 ELSE cancel_reason END, \
             attempt = attempt + CASE WHEN $9 THEN 1 ELSE 0 END, \
             return_code = COALESCE($10, return_code), \
             pin_failures = CASE WHEN $9 OR $3 = 'RETURNING' THEN 0 ELSE pin_failures END, \
             pin_locked_at = CASE WHEN $9 OR $3 = 'RETURNING' THEN NULL ELSE pin_locked_at END \
             WHERE id = $1 AND status = $2 AND ($8 = FALSE OR pin_locked_at IS NULL)",
        )
        .bind(&order.id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(courier_id.as_deref())
        .bind(at)
        .bind(finished_at)
        .bind(reason.as_deref())
        .bind(needs_open_pin)
        .bind(next_attempt)
        .bind(return_code.as_deref())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if updated != 1 {
            return Ok(None);
        }
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO order_events (order_id, status, actor_role, actor_id, note, lat, lng, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&order.id)
            .bind(to.as_str())
            .bind(actor.role.as_str())
            .bind(actor.user_id.as_deref())
            .bind(reason.as_deref())
            .bind(lat)
            .bind(lng)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        let fresh = reread(&mut tx, &order.id).await?;
        let partner = order.partner_id.as_str();
        let mut recorded = vec![events::record(&mut tx, &Event::new(partner, kind, Some(&order.id), &fresh.event_data(reason.clone())), at).await?];
        // The wallet follows the order in the same transaction: the fee of a delivered or
        // failed first attempt is debited (a new attempt's or a return's was booked with the
        // vendor's decision), a delivered order's cash on delivery is credited and announced as
        // `payment.received` (the ledger books each once per order and attempt, ever).
        if matches!(to, Status::Completed | Status::Failed) && fresh.attempt == 1 {
            let fee = Booking { order_id: Some(&order.id), ..Booking::new(partner, EntryKind::DeliveryFee, -fresh.price_total, at) };
            wallet::book(&mut tx, fee).await?;
        }
        if let Some(fee) = decision_fee.filter(|f| *f > crate::money::Fcfa::ZERO) {
            // A return's trip is numbered after the last delivery attempt.
            let attempt = if to == Status::Returning { fresh.attempt + 1 } else { fresh.attempt };
            let reason = if to == Status::Returning { "return".to_owned() } else { format!("reattempt:{attempt}") };
            let fee = Booking { order_id: Some(&order.id), reason: Some(&reason), attempt, ..Booking::new(partner, EntryKind::DeliveryFee, -fee, at) };
            wallet::book(&mut tx, fee).await?;
        }
        // A new attempt cancelled before it happened costs nothing: its fee comes back.
        if to == Status::Cancelled && fresh.attempt > 1 {
            let fee: Option<crate::money::Fcfa> = on_tx!(&mut tx, c => sqlx::query_scalar(
                "SELECT -amount FROM wallet_entries WHERE order_id = $1 AND kind = 'DELIVERY_FEE' AND attempt = $2",
            )
            .bind(&order.id)
            .bind(fresh.attempt)
            .fetch_optional(&mut *c)
            .await)?;
            if let Some(fee) = fee.filter(|f| *f > crate::money::Fcfa::ZERO) {
                let reason = format!("reattempt-cancelled:{}", fresh.attempt);
                let back = Booking { order_id: Some(&order.id), reason: Some(&reason), attempt: fresh.attempt, ..Booking::new(partner, EntryKind::Adjustment, fee, at) };
                wallet::book(&mut tx, back).await?;
            }
        }
        if to == Status::Completed && fresh.cod_amount > crate::money::Fcfa::ZERO {
            let cod = Booking { order_id: Some(&order.id), attempt: fresh.attempt, ..Booking::new(partner, EntryKind::CodCollected, fresh.cod_amount, at) };
            if wallet::book(&mut tx, cod).await? {
                // The same order fields as every order event, so one receiver parses them all.
                let data = repo::PaymentData { order: fresh.event_data(None), amount: fresh.cod_amount, currency: "XAF" };
                recorded.push(events::record(&mut tx, &Event::new(partner, Kind::PaymentReceived, Some(&order.id), &data), at).await?);
            }
        }
        if to.is_final() {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM order_positions_latest WHERE order_id = $1").bind(&order.id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        if to == Status::Cancelled {
            let entry = audit::Entry::new(audit::Action::OrderCancelled, &fresh.tracking_number)
                .shop(partner)
                .before(serde_json::json!({ "status": from.as_str() }))
                .after(serde_json::json!({ "status": to.as_str(), "reason": reason }));
            audit::record(&mut tx, entry).await?;
        }
        if let Some(key) = idem {
            crate::idempotency::record(&mut tx, key, 200, Some(&format!("cancel:{}", order.id)), None).await?;
        }
        tx.commit().await?;
        Ok(Some(recorded))
    }
    .await;
    match result? {
        Some(recorded) => {
            for r in recorded {
                bus.announce(r);
            }
            repo::find(db, &order.id).await?.ok_or(OrderError::NotFound)
        }
        // A completion that found the PIN locked meanwhile gets the same answer as any try on
        // a locked PIN: nothing tells a right guess from a wrong one.
        None if needs_open_pin && repo::find(db, &order.id).await?.is_some_and(|o| o.pin_locked_at.is_some()) => {
            Err(TransitionError::PinLocked.into())
        }
        None => Err(OrderError::Conflict),
    }
}

/// Count a wrong delivery PIN for `order`. The [`model::MAX_PIN_FAILURES`]th locks the PIN;
/// the lock's event (`order.pin_locked`: the vendor's notification, the admins' queue) is
/// written in the same transaction. Returns the refusal to give the courier.
async fn wrong_pin(db: &Db, bus: &Bus, order: &Order, at: i64) -> Result<TransitionError, OrderError> {
    let mut tx = db.begin().await?;
    let counted: Option<(i32, Option<i64>)> = on_tx!(&mut tx, c => sqlx::query_as(
        "UPDATE orders SET pin_failures = pin_failures + 1, \
         pin_locked_at = CASE WHEN pin_failures + 1 >= $2 THEN $3 ELSE NULL END, updated_at = $3 \
         WHERE id = $1 AND pin_locked_at IS NULL RETURNING pin_failures, pin_locked_at",
    )
    .bind(&order.id)
    .bind(model::MAX_PIN_FAILURES)
    .bind(at)
    .fetch_optional(&mut *c)
    .await)?;
    let (refusal, locked) = match counted {
        // Locked meanwhile by another try.
        None => (TransitionError::PinLocked, None),
        Some((_, None)) => (TransitionError::WrongPin, None),
        Some((_, Some(_))) => {
            let event = Event::new(&order.partner_id, Kind::OrderPinLocked, Some(&order.id), &order.event_data(None));
            (TransitionError::PinLocked, Some(events::record(&mut tx, &event, at).await?))
        }
    };
    tx.commit().await?;
    if let Some(recorded) = locked {
        tracing::warn!(order_id = %order.id, tracking = order.tracking_number, "delivery PIN locked after too many wrong tries");
        bus.announce(recorded);
    }
    Ok(refusal)
}

/// An admin gives a locked order a new PIN (for the recipient) and unlocks it; the vendor is
/// told (`order.pin_reset`) in the same transaction. `Ok(None)` if the PIN was not locked or
/// the order is no longer in transit.
pub async fn reset_pin(db: &Db, bus: &Bus, order: &Order, at: i64) -> Result<Option<Order>, OrderError> {
    let pin = model::new_pin();
    let mut tx = db.begin().await?;
    let done = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE orders SET delivery_pin = $2, pin_failures = 0, pin_locked_at = NULL, updated_at = $3 \
         WHERE id = $1 AND pin_locked_at IS NOT NULL AND status = 'IN_TRANSIT'",
    )
    .bind(&order.id)
    .bind(&pin)
    .bind(at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if done != 1 {
        return Ok(None);
    }
    let event = Event::new(&order.partner_id, Kind::OrderPinReset, Some(&order.id), &order.event_data(None));
    let recorded = events::record(&mut tx, &event, at).await?;
    tx.commit().await?;
    bus.announce(recorded);
    Ok(repo::find(db, &order.id).await?)
}
