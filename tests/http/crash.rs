//! Crash safety: the server process is killed (SIGKILL) three times while 1 000 webhook events
//! are being delivered; after the last restart the receiver has every event id.

use std::{
    collections::HashSet,
    process::Child,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use crate::{
    both_backends,
    helpers::{Backend, free_port, fresh_database, serve_command, wait_healthy},
    webhooks::Receiver,
};

both_backends!(sigkill_three_times_loses_no_webhook_event);

fn start_server(url: &str) -> Child {
    serve_command(url, 0, &[("ALLOW_LOOPBACK_WEBHOOKS", "true"), ("WEBHOOK_LOCK_SECS", "2")]).spawn().expect("delivr starts")
}

/// A migrated database with the geography and one approved partner (before any server runs).
pub(crate) async fn approved_partner(url: &str) -> (delivr::db::Db, String) {
    let db = delivr::db::Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    delivr::geo::seed(&db).await.unwrap();
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let new = delivr::partners::repo::NewPartner {
        business_name: "Crash",
        contact_name: "C",
        phone: "+237677000000",
        email: "crash@shop.cm",
        password_hash: &hash,
        language: "fr",
    };
    let (_, partner) = delivr::partners::repo::create(&db, &new).await.unwrap();
    delivr::partners::repo::approve(&db, &partner).await.unwrap();
    (db, partner)
}

fn distinct(receiver: &Receiver) -> usize {
    let got = receiver.got.lock().unwrap();
    got.iter().filter_map(|r| r.header("webhook-id").map(str::to_owned)).collect::<HashSet<_>>().len()
}

async fn sigkill_three_times_loses_no_webhook_event(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(backend, dir.path()).await;
    let url = database.url.clone();
    let receiver = Receiver::start().await;
    receiver.delay_ms.store(3, Ordering::SeqCst);

    // A partner with a webhook and 1 000 events waiting to be delivered.
    {
        let (db, partner) = approved_partner(&url).await;
        delivr::webhooks::save(&db, &partner, &receiver.url, &["order.created".to_owned()], true).await.unwrap();
        let now = delivr::db::now_ms();
        delivr::on_db!(&db, pool => {
            let mut tx = pool.begin().await.unwrap();
            for i in 0..1000 {
                let event = format!("evt-{i:04}");
                let body = delivr::events::event_body(&event, "order.created", now, "{}");
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'order.created', $4, 'PENDING', 0, $5, $5)",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&partner)
                .bind(&event)
                .bind(&body)
                .bind(now)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        });
        db.close().await;
    }

    let mut server = start_server(&url);
    for round in 0..3 {
        let before = distinct(&receiver);
        let deadline = Instant::now() + Duration::from_secs(60);
        while distinct(&receiver) < before + 120 && distinct(&receiver) < 1000 {
            assert!(Instant::now() < deadline, "round {round}: deliveries stalled at {}", distinct(&receiver));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        server = start_server(&url);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while distinct(&receiver) < 1000 {
        assert!(Instant::now() < deadline, "only {} of 1000 events arrived", distinct(&receiver));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(distinct(&receiver), 1000, "every event id arrived");
    let total = receiver.count();
    println!("1000 distinct events, {total} requests in all ({} re-sent after kills)", total - 1000);
}

both_backends!(sigkill_during_api_writes_makes_one_effect_per_key);

fn start_api_server(url: &str, port: u16) -> Child {
    // Every response waits 150 ms between its commit and its idempotency record's answer:
    // most kills land in that gap, where a design that stores the answer apart from the
    // effect makes a second order on the retry.
    serve_command(url, port, &[("API_RATE_LIMIT", "1000000"), ("DELIVR_FAULT_PAUSE_BEFORE_STORE_MS", "150")])
        .spawn()
        .expect("delivr starts")
}

/// Clients create orders and payouts with idempotency keys while the server is killed
/// (SIGKILL) again and again; every cut request is retried with its key until it is answered.
/// Each key ends with exactly one order or payout, and its answers all name that one.
async fn sigkill_during_api_writes_makes_one_effect_per_key(backend: Backend) {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(backend, dir.path()).await;
    let url = database.url.clone();
    let key = {
        let (db, partner) = approved_partner(&url).await;
        delivr::pricing::seed_defaults(&db).await.unwrap();
        delivr::on_db!(&db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1").bind(&partner).execute(pool).await.map(|_| ())).unwrap();
        delivr::wallet::adjust(&db, &partner, delivr::money::Fcfa(100_000_000), "Fonds de test").await.unwrap();
        let key = delivr::api_keys::create(&db, &partner, "crash").await.unwrap().unwrap().secret;
        db.close().await;
        key
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let server = std::sync::Arc::new(std::sync::Mutex::new(start_api_server(&url, port)));
    let origin = format!("http://127.0.0.1:{port}");

    // Four clients, thirty keys each, orders and payouts alternating.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    wait_healthy(&client, &origin).await;
    let mut tasks = Vec::new();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for c in 0..4 {
        let (client, base, key, answered) = (client.clone(), base.clone(), key.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers: Vec<(String, &'static str, serde_json::Value, String)> = Vec::new();
            for i in 0..30 {
                let idem = format!("crash-{c}-{i}");
                let (path, body, kind) = if i % 2 == 0 {
                    let body = serde_json::json!({
                        "dropoff_city": "Douala", "dropoff_quartier": "bonamoussadi", "dropoff_address": format!("Porte {c}-{i}"),
                        "recipient": {"name": "Paul Nkwi", "phone": "677 98 76 54"}, "package_description": "Chaussures"
                    });
                    ("/orders", body, "order")
                } else {
                    ("/wallet/payouts", serde_json::json!({"amount": 1000 + i, "phone": "677 98 76 54"}), "payout")
                };
                let deadline = Instant::now() + Duration::from_secs(90);
                let id = loop {
                    assert!(Instant::now() < deadline, "{idem} never answered");
                    let sent = client
                        .post(format!("{base}{path}"))
                        .header("authorization", format!("Api-Key {key}"))
                        .header("idempotency-key", &idem)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let v: serde_json::Value = r.json().await.unwrap();
                            break v["id"].as_str().unwrap().to_owned();
                        }
                        // Cut (connection refused or reset), or a server error: the same key again.
                        Ok(r) => assert!(r.status().is_server_error(), "{idem}: {}", r.status()),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                answers.push((idem, kind, body, id));
            }
            answers
        }));
    }
    // Kill the server five times while they write: each time once it serves again and
    // requests are flowing.
    for _ in 0..5 {
        wait_healthy(&client, &origin).await;
        let from = answered.load(std::sync::atomic::Ordering::SeqCst);
        crate::helpers::eventually("requests flow again", 60, async || {
            answered.load(std::sync::atomic::Ordering::SeqCst) >= from + 2 || tasks.iter().all(|t| t.is_finished())
        })
        .await;
        let mut s = server.lock().unwrap();
        s.kill().unwrap();
        s.wait().unwrap();
        *s = start_api_server(&url, port);
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.extend(t.await.unwrap());
    }
    // Keys asked once more, after the last restart, are answered from their record.
    for (idem, kind, body, id) in answers.iter().step_by(7) {
        let path = if *kind == "order" { "/orders" } else { "/wallet/payouts" };
        let deadline = Instant::now() + Duration::from_secs(30);
        let r = loop {
            let sent = client
                .post(format!("{base}{path}"))
                .header("authorization", format!("Api-Key {key}"))
                .header("idempotency-key", idem)
                .json(body)
                .send()
                .await;
            match sent {
                Ok(r) => break r,
                Err(e) => assert!(Instant::now() < deadline, "{e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "{idem}");
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["id"].as_str(), Some(id.as_str()), "{idem}");
    }
    {
        let mut s = server.lock().unwrap();
        s.kill().unwrap();
        s.wait().unwrap();
    }
    let db = delivr::db::Db::connect(&url).await.unwrap();
    let orders: i64 = delivr::on_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(pool).await).unwrap();
    let payouts: i64 = delivr::on_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM payouts").fetch_one(pool).await).unwrap();
    assert_eq!((orders, payouts), (60, 60), "one order per order key, one payout per payout key");
    let ids: HashSet<&str> = answers.iter().map(|(_, _, _, id)| id.as_str()).collect();
    assert_eq!(ids.len(), 120, "every key was answered with its own effect");
    for (idem, kind, _, id) in &answers {
        let table = if *kind == "order" { "orders" } else { "payouts" };
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
        let n: i64 = delivr::on_db!(&db, pool => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await).unwrap();
        assert_eq!(n, 1, "{idem} answered with {id}, which exists");
    }
    // The wallet still balances: holds equal the pending payouts.
    let (held, pending): (i64, i64) = delivr::on_db!(&db, pool => sqlx::query_as(
        "SELECT (SELECT CAST(SUM(held) AS BIGINT) FROM wallet_accounts), (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payouts WHERE status = 'PENDING')",
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(held, pending);
    db.close().await;
}
