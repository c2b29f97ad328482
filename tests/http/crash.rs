//! Crash safety: the server process is killed (SIGKILL) three times while 1 000 webhook events
//! are being delivered; after the last restart the receiver has every event id.

use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use crate::{
    both_backends,
    helpers::{Backend, fresh_database},
    webhooks::Receiver,
};

both_backends!(sigkill_three_times_loses_no_webhook_event);

fn start_server(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_delivr"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        .env("ALLOW_LOOPBACK_WEBHOOKS", "true")
        .env("WEBHOOK_LOCK_SECS", "2")
        .env("LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("delivr starts")
}

fn distinct(receiver: &Receiver) -> usize {
    let got = receiver.got.lock().unwrap();
    got.iter().filter_map(|r| r.header("webhook-id").map(str::to_owned)).collect::<HashSet<_>>().len()
}

async fn sigkill_three_times_loses_no_webhook_event(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let receiver = Receiver::start().await;
    receiver.delay_ms.store(3, Ordering::SeqCst);

    // A partner with a webhook and 1 000 events waiting to be delivered.
    {
        let db = delivr::db::Db::connect(&url).await.unwrap();
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
        delivr::webhooks::save(&db, &partner, &receiver.url, &["order.created".to_owned()], true).await.unwrap();
        let now = delivr::db::now_ms();
        delivr::on_db!(&db, pool => {
            let mut tx = pool.begin().await.unwrap();
            for i in 0..1000 {
                let event = format!("evt-{i:04}");
                let body = delivr::webhooks::event_body(&event, "order.created", now, "{}");
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
