//! The actors own each partner's live state, and it stays what the database says: random
//! concurrent money movements and reads (orders finishing, payouts, refunds, adjustments,
//! notifications read), spread over two instances on PostgreSQL (SQLite serves one), then every
//! wallet and notification actor of every instance is compared with the database.

use std::time::Duration;

use delivr::{
    disputes, notifications,
    orders::{
        model::Action,
        repo::Order,
        service::{self, Actor},
    },
    state::AppState,
    wallet::{self, actor::WalletCommand},
};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, new_order, test_config},
};

both_backends!(actor_state_equals_the_database);

/// A small deterministic generator: the same operations on every run.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Finish `order` on `state`'s instance: delivered (cash and fee booked) or failed (fee only).
async fn finish(state: &AppState, order: &Order, delivered: bool) -> Option<Order> {
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier =
        delivr::accounts::repo::create_staff(&state.db, delivr::auth::Role::Courier, &format!("c-{}@c.cm", order.id), "C", None, &hash)
            .await
            .ok()?;
    let (db, bus, sys, now) = (&state.db, &state.bus, Actor::system(), delivr::db::now_ms());
    let o = service::transition(db, bus, order, &Action::Assign { courier_id: courier }, &sys, now).await.ok()?;
    let o = service::transition(db, bus, &o, &Action::PickUp, &sys, now).await.ok()?;
    let o = service::transition(db, bus, &o, &Action::StartTransit, &sys, now).await.ok()?;
    let last = if delivered { Action::Complete { pin: o.delivery_pin.clone() } } else { Action::Fail { reason: "Absent".into() } };
    service::transition(db, bus, &o, &last, &sys, now).await.ok()
}

/// A refund on a finished order: opened, taken in review and resolved through the wallet actor.
async fn refund(state: &AppState, order: &Order, admin_id: &str, amount: i64) {
    let (db, bus, now) = (&state.db, &state.bus, delivr::db::now_ms());
    let new = disputes::NewDispute { reason: "DAMAGED", description: "Colis abîmé".into(), amount_claimed: amount };
    let Ok(d) = disputes::open(db, bus, order, None, &new, &[], now, None).await else { return };
    if disputes::review(db, bus, &d.id, admin_id, "On regarde", now).await.is_ok() {
        let decision = disputes::Decision { resolved: true, reason: "Casse".into(), refund: amount };
        let _ = disputes::decide_in_turn(state, &order.partner_id, &d.id, admin_id, decision).await;
    }
}

async fn actor_state_equals_the_database(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let mut instances = vec![a.state.clone()];
    if matches!(backend, Backend::Postgres) {
        let second = delivr::app::App::build(test_config(a.state.config.database_url.clone())).await.expect("a second instance");
        instances.push(second.state.clone());
        tokio::spawn(second.run_until(std::future::pending()));
    }
    a.create_admin("admin@delivr.cm", "mot-de-passe-admin").await;
    let admin_id = delivr::on_db!(&a.state.db, pool => sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE email = 'admin@delivr.cm'").fetch_one(pool).await).unwrap();

    // Three vendors with orders waiting, and every actor of every instance started.
    let mut vendors = Vec::new();
    for i in 0..3 {
        let browser = a.other_browser();
        let partner = browser.approved_vendor("Boutique", &format!("v{i}@shop.cm")).await;
        browser.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{partner}'")).await;
        let mut orders = Vec::new();
        for _ in 0..5 {
            orders.push(new_order(&browser, "7 500").await);
        }
        for state in &instances {
            wallet::actor::balance(&state.actors, &state.db, &partner).await.unwrap();
            notifications::live::unread(&state.actors, &state.db, &partner).await.unwrap();
        }
        vendors.push((partner, orders));
    }

    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut tasks = Vec::new();
    for step in 0..45 {
        let state = instances[dice.roll(instances.len() as u64) as usize].clone();
        let (partner, orders) = vendors[dice.roll(vendors.len() as u64) as usize].clone();
        let order = orders[step % orders.len()].clone();
        let (op, amount, admin_id) = (dice.roll(6), 1_000 + 500 * dice.roll(8) as i64, admin_id.clone());
        tasks.push(tokio::spawn(async move {
            match op {
                0 => {
                    if let Some(done) = finish(&state, &order, amount % 1_000 == 0).await {
                        refund(&state, &done, &admin_id, 1_000).await;
                    }
                }
                1 => {
                    let cmd = WalletCommand::Adjust { amount: delivr::money::Fcfa(amount * 3), reason: "Encaissement".into() };
                    wallet::actor::run(&state.actors, &partner, cmd).await.unwrap();
                }
                2 | 3 => {
                    let phone = delivr::accounts::phone::Phone::parse("677987654").unwrap();
                    let token = uuid::Uuid::new_v4().to_string();
                    let cmd = WalletCommand::RequestPayout {
                        amount: delivr::money::Fcfa(amount),
                        phone,
                        operator: "MTN",
                        request_token: token,
                        idem: None,
                    };
                    if let Ok(id) = wallet::actor::run(&state.actors, &partner, cmd).await {
                        let cmd = WalletCommand::DecidePayout { payout_id: id, paid: op == 2, note: "MP-1".into(), admin_id };
                        let _ = wallet::actor::run(&state.actors, &partner, cmd).await;
                    }
                }
                4 => {
                    notifications::mark_read(&state.db, &partner, None).await.unwrap();
                    notifications::live::read(&state.actors, &partner);
                }
                _ => {
                    wallet::actor::balance(&state.actors, &state.db, &partner).await.unwrap();
                    notifications::live::unread(&state.actors, &state.db, &partner).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("an operation panicked");
    }

    // Every actor of every instance says what the database says (other instances' changes
    // reach an instance through NOTIFY: bounded wait).
    let db = &a.state.db;
    for (partner, _) in &vendors {
        let ledger = wallet::ledger_sum(db, partner).await.unwrap();
        let stored = wallet::balance(db, partner).await.unwrap();
        assert_eq!(stored.balance, ledger, "the account is its ledger");
        let unread = notifications::unread_count(db, partner).await.unwrap();
        for (i, state) in instances.iter().enumerate() {
            let held = wallet::actor::held(&state.actors, partner).await.expect("the actor runs").unwrap();
            assert_eq!(held.balance, stored, "instance {i}: the wallet actor holds the account");
            let mut shown = -1;
            for _ in 0..100 {
                shown = notifications::live::unread(&state.actors, &state.db, partner).await.unwrap();
                if shown == unread {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(shown, unread, "instance {i}: the notification actor holds the unread count");
        }
    }
    let moved: i64 = delivr::on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM wallet_entries").fetch_one(pool).await).unwrap();
    assert!(moved > 10, "the operations moved money ({moved} entries)");
}
