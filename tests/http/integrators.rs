//! What an integrator relies on: every POST with an `Idempotency-Key` answers its retries as it
//! answered first, with one effect (also across two instances, and rebuilt from the effect
//! when the process stopped before the answer was stored); a paused webhook keeps its queue and
//! delivers it in order when resumed (or skips the old part on request).

use std::{sync::atomic::Ordering, time::Duration};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, delivered, new_order},
    webhooks::Receiver,
};

both_backends!(
    the_quick_start_takes_an_integrator_from_a_key_to_a_verified_webhook,
    every_post_answers_its_retries_as_it_answered_first,
    a_paused_webhook_keeps_its_queue_and_resumes_in_order,
    fees_after_a_hold_make_the_payout_wait,
    webhook_bodies_are_what_the_document_says,
);

async fn vendor(app: &TestApp, email: &str) -> (String, String) {
    let id = app.approved_vendor("Boutique", email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    let key = app.api_key("Boutique").await;
    (id, key)
}

async fn post(base: &str, key: &str, path: &str, idem: &str, body: Option<Value>) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut req =
        client.post(format!("{base}/api/v1{path}")).header("authorization", format!("Api-Key {key}")).header("idempotency-key", idem);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// The same request twice with one key: the same status and body, the second marked replayed.
async fn twice(app: &TestApp, key: &str, path: &str, idem: &str, body: Option<Value>) -> Value {
    let first = post(&app.base, key, path, idem, body.clone()).await;
    let status = first.status();
    assert!(status.is_success(), "{path}: {status} {}", first.text().await.unwrap());
    let first: Value = first.json().await.unwrap();
    let again = post(&app.base, key, path, idem, body).await;
    assert_eq!(again.status(), status, "{path}");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "{path}");
    first
}

fn order_body(address: &str) -> Value {
    json!({
        "dropoff_city": "Douala", "dropoff_quartier": "bonamoussadi", "dropoff_address": address,
        "recipient": {"name": "Paul Nkwi", "phone": "677 98 76 54"}, "package_description": "Chaussures", "cod_amount": 15000
    })
}

async fn every_post_answers_its_retries_as_it_answered_first(backend: Backend) {
    crate::helpers::install_crypto();
    let app = TestApp::spawn_with(backend, |c| c.allow_loopback_webhooks = true).await;
    let (partner, key) = vendor(&app, "a@shop.cm").await;
    let count = |table: &'static str| app.count(table);

    // Orders: created once, cancelled once.
    let order = twice(&app, &key, "/orders", "create-1", Some(order_body("Porte 1"))).await;
    assert_eq!(count("orders").await, 1);
    let id = order["id"].as_str().unwrap().to_owned();
    let cancelled = twice(&app, &key, &format!("/orders/{id}/cancel"), "cancel-1", Some(json!({"reason": "Client absent"}))).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let entries: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND status = 'CANCELLED'").bind(&id).fetch_one(pool).await).unwrap();
    assert_eq!(entries, 1);

    // The webhook: one new secret, one test event, one replay.
    let receiver = Receiver::start().await;
    let resp = reqwest::Client::new()
        .put(app.url("/api/v1/webhook"))
        .header("authorization", format!("Api-Key {key}"))
        .json(&json!({"url": receiver.url, "events": ["order.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let created: Value = resp.json().await.unwrap();
    // A webhook made through the API shows its secret once, as the portal does.
    let first_secret = created["secret"].as_str().unwrap().to_owned();
    assert!(first_secret.starts_with("whsec_"));
    let again: Value = reqwest::Client::new()
        .put(app.url("/api/v1/webhook"))
        .header("authorization", format!("Api-Key {key}"))
        .json(&json!({"url": receiver.url, "events": ["order.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(again.get("secret").is_none(), "{again}");
    let secret = twice(&app, &key, "/webhook/secret", "secret-1", None).await;
    let stored = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().secret;
    assert_eq!(secret["secret"].as_str(), Some(stored.as_str()));
    assert_ne!(stored, first_secret);
    let deliveries = count("webhook_deliveries").await;
    let test = twice(&app, &key, "/webhook/test", "test-1", None).await;
    assert!(test["event_id"].is_string());
    assert_eq!(count("webhook_deliveries").await, deliveries + 1);
    receiver.wait_for(1, 10).await;
    let delivery: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE event_kind = 'webhook.test'").fetch_one(pool).await).unwrap();
    let replayed = twice(&app, &key, &format!("/webhook/deliveries/{delivery}/replay"), "replay-1", None).await;
    assert_eq!(replayed["event_id"], test["event_id"]);
    assert_eq!(count("webhook_deliveries").await, deliveries + 2);

    // Disputes: one opened, one message.
    let finished = delivered(&app, &new_order(&app, "5 000").await).await;
    let body =
        json!({"order_id": finished.id, "reason": "DAMAGED", "description": "Carton écrasé, chaussures abîmées.", "amount_claimed": 5000});
    let dispute = twice(&app, &key, "/disputes", "dispute-1", Some(body)).await;
    let dispute_id = dispute["dispute"]["id"].as_str().or_else(|| dispute["id"].as_str()).unwrap().to_owned();
    assert_eq!(count("disputes").await, 1);
    let messages = count("dispute_messages").await;
    twice(&app, &key, &format!("/disputes/{dispute_id}/messages"), "message-1", Some(json!({"body": "Voici les photos."}))).await;
    assert_eq!(count("dispute_messages").await, messages + 1);

    // Payouts: one held.
    delivr::wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(50_000), "Test").await.unwrap();
    twice(&app, &key, "/wallet/payouts", "payout-1", Some(json!({"amount": 5000, "phone": "677 98 76 54"}))).await;
    assert_eq!(count("payouts").await, 1);

    // The process stopped after the effect, before the answer was stored: the retry is
    // answered from the effect (the order as it is now), not done again.
    let fresh = post(&app.base, &key, "/orders", "create-2", Some(order_body("Porte 2"))).await;
    let fresh: Value = fresh.json().await.unwrap();
    app.exec("UPDATE idempotency_keys SET response_body = NULL, content_type = NULL WHERE key = 'create-2'").await;
    let rebuilt = post(&app.base, &key, "/orders", "create-2", Some(order_body("Porte 2"))).await;
    assert_eq!(rebuilt.status(), StatusCode::CREATED);
    let rebuilt: Value = rebuilt.json().await.unwrap();
    assert_eq!(rebuilt["id"], fresh["id"]);
    assert_eq!(rebuilt["tracking_number"], fresh["tracking_number"]);
    assert_eq!(count("orders").await, 3);
    // The same key with another body is refused, and changes nothing.
    let other = post(&app.base, &key, "/orders", "create-2", Some(order_body("Porte 3"))).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count("orders").await, 3);

    // PostgreSQL: the same key sent at once to two instances still makes one order.
    if let Backend::Postgres = backend {
        let url = app.state.config.database_url.clone();
        let second = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url)).await;
        let bases = [app.base.clone(), second.base.clone()];
        let sends = (0..12).map(|i| {
            let base = bases[i % 2].clone();
            let key = key.clone();
            async move { post(&base, &key, "/orders", "race-1", Some(order_body("Porte course"))).await }
        });
        let answers = futures_util::future::join_all(sends).await;
        let mut ids = std::collections::HashSet::new();
        for a in answers {
            assert_eq!(a.status(), StatusCode::CREATED);
            let v: Value = a.json().await.unwrap();
            ids.insert(v["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "one order for the key");
        assert_eq!(count("orders").await, 4);
    }
}

async fn a_paused_webhook_keeps_its_queue_and_resumes_in_order(backend: Backend) {
    crate::helpers::install_crypto();
    let app = TestApp::spawn_with(backend, |c| c.allow_loopback_webhooks = true).await;
    let (partner, key) = vendor(&app, "a@shop.cm").await;
    let receiver = Receiver::start().await;
    receiver.status.store(500, Ordering::SeqCst);
    let put = |body: Value| {
        let req = reqwest::Client::new().put(app.url("/api/v1/webhook")).header("authorization", format!("Api-Key {key}")).json(&body);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(put(json!({"url": receiver.url, "events": ["order.created"]})).await.status(), StatusCode::OK);
    // The endpoint has failed 24 times in a row; one more pauses the webhook.
    app.exec("UPDATE webhook_configs SET failure_count = 24").await;
    let first = post(&app.base, &key, "/orders", "o-0", Some(order_body("Porte 0"))).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let paused = || async { !delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().is_active };
    crate::helpers::eventually("the webhook pauses", 15, paused).await;
    let note: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT message FROM partner_notifications WHERE title = 'Webhook mis en pause'").fetch_one(pool).await).unwrap();
    assert!(note.contains("restent en file") && note.contains("dans l'ordre"), "{note}");
    // The test event says it would not be sent.
    let test = post(&app.base, &key, "/webhook/test", "t-0", None).await;
    assert_eq!(test.status(), StatusCode::CONFLICT);
    let test: Value = test.json().await.unwrap();
    assert_eq!(test["type"], "https://delivr.cm/problems/webhook-inactive");

    // Five orders while paused: their events wait in the queue.
    for i in 1..=5 {
        assert_eq!(
            post(&app.base, &key, "/orders", &format!("o-{i}"), Some(order_body(&format!("Porte {i}")))).await.status(),
            StatusCode::CREATED
        );
    }
    let pending: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING'").fetch_one(pool).await).unwrap();
    assert_eq!(pending, 6, "the first event (backing off) and the five made during the pause");
    // A negative check needs a window: an attempt wrongly sent while paused would land in it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = receiver.count();

    // The endpoint recovers; switched on again, the queue goes out, every event once.
    receiver.status.store(200, Ordering::SeqCst);
    assert_eq!(put(json!({"url": receiver.url, "events": ["order.created"], "is_active": true})).await.status(), StatusCode::OK);
    let got = receiver.wait_for(during + 6, 20).await;
    let delivered: Vec<Value> = got[during..].iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let ids: std::collections::HashSet<&str> = delivered.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 6, "six distinct events");
    // Each carries its sequence number: a receiver can put them back in order.
    let mut seqs: Vec<i64> = delivered.iter().map(|v| v["sequence"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 6);
    let addresses: Vec<String> = {
        let mut by_seq: Vec<&Value> = delivered.iter().collect();
        by_seq.sort_by_key(|v| v["sequence"].as_i64());
        let orders: Vec<String> = by_seq.iter().map(|v| v["data"]["order_id"].as_str().unwrap().to_owned()).collect();
        let mut out = Vec::new();
        for id in orders {
            out.push(delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap().dropoff_address);
        }
        out
    };
    assert_eq!(addresses, (0..=5).map(|i| format!("Porte {i}")).collect::<Vec<_>>(), "sequence follows creation");

    // Paused again: resuming with "skip events before" leaves the old ones in the log.
    receiver.status.store(500, Ordering::SeqCst);
    app.exec("UPDATE webhook_configs SET failure_count = 24").await;
    post(&app.base, &key, "/orders", "o-6", Some(order_body("Porte 6"))).await;
    crate::helpers::eventually("paused again", 15, paused).await;
    post(&app.base, &key, "/orders", "o-7", Some(order_body("Porte 7"))).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    post(&app.base, &key, "/orders", "o-8", Some(order_body("Porte 8"))).await;
    receiver.status.store(200, Ordering::SeqCst);
    let before = receiver.count();
    let resp = put(json!({"url": receiver.url, "events": ["order.created"], "is_active": true, "skip_before": cutoff.to_rfc3339()})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let got = receiver.wait_for(before + 1, 20).await;
    // Settled: nothing of this partner's is left to send.
    let settled = || async {
        let n: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE partner_id = $1 AND status IN ('PENDING', 'SENDING')").bind(&partner).fetch_one(pool).await).unwrap();
        n == 0
    };
    crate::helpers::eventually("the queue settles", 20, settled).await;
    let got_after: Vec<Value> = receiver.got.lock().unwrap()[before..].iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(got_after.len(), 1, "only the event after the cutoff: {got_after:?}");
    let _ = got;
    let skipped: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE last_error = 'skipped-on-resume'").fetch_one(pool).await).unwrap();
    assert_eq!(skipped, 2);
    // Switched off by the vendor (not paused): nothing is queued.
    put(json!({"url": receiver.url, "events": ["order.created"], "is_active": false})).await;
    let queued = app.count("webhook_deliveries").await;
    post(&app.base, &key, "/orders", "o-9", Some(order_body("Porte 9"))).await;
    assert_eq!(app.count("webhook_deliveries").await, queued);
}

/// The money rule: fees may take the balance below what payouts hold (they are owed); the
/// wallet then says so, and a pending payout is not paid until the balance covers it again.
async fn fees_after_a_hold_make_the_payout_wait(backend: Backend) {
    crate::helpers::install_crypto();
    let app = TestApp::spawn(backend).await;
    let (partner, key) = vendor(&app, "a@shop.cm").await;
    delivr::wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(10_000), "Encaissements").await.unwrap();
    let payout = post(&app.base, &key, "/wallet/payouts", "p-1", Some(json!({"amount": 8000, "phone": "677 98 76 54"}))).await;
    assert_eq!(payout.status(), StatusCode::CREATED);
    let payout: Value = payout.json().await.unwrap();
    // Delivery fees debited after the request.
    delivr::wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(-5_000), "Frais de livraison").await.unwrap();
    let wallet = || async {
        reqwest::Client::new()
            .get(app.url("/api/v1/wallet"))
            .header("authorization", format!("Api-Key {key}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let w = wallet().await;
    assert_eq!((w["balance"].as_i64(), w["held"].as_i64(), w["available"].as_i64()), (Some(5_000), Some(8_000), Some(-3_000)));
    let page = app.get("/partners/wallet/").await.text().await.unwrap();
    assert!(page.contains("restent à couvrir avant tout retrait"), "the vendor is told what is owed");
    // No new payout while the holds are not covered.
    let more = post(&app.base, &key, "/wallet/payouts", "p-2", Some(json!({"amount": 1000, "phone": "677 98 76 54"}))).await;
    assert_eq!(more.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The admin cannot pay it now: refused with the reason, nothing moved.
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let id = payout["id"].as_str().unwrap();
    let resp = admin
        .post_form("/admin/payouts/", &format!("/admin/payouts/{id}/"), &[("note", "MP-1"), ("decision", "paid"), ("confirmed", "1")])
        .await;
    assert_eq!(crate::helpers::location(&resp), format!("/admin/payouts/?uncovered={id}"));
    assert!(admin.get(&format!("/admin/payouts/?uncovered={id}")).await.text().await.unwrap().contains("Paiement refusé"));
    let w = wallet().await;
    assert_eq!((w["balance"].as_i64(), w["held"].as_i64()), (Some(5_000), Some(8_000)));
    // The database refuses such a booking even if the code were to try.
    let forced = delivr::on_db!(&app.state.db, pool => sqlx::query(
        "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, created_at) VALUES ($1, 'PAYOUT', -8000, -3000, 0)",
    )
    .bind(&partner)
    .execute(pool)
    .await
    .map(|_| ()));
    assert!(forced.is_err(), "the trigger refuses a payout the balance does not cover");
    // Collections cover it again: it is paid, and what remains still covers nothing owed.
    delivr::wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(4_000), "Encaissements").await.unwrap();
    let resp = admin
        .post_form("/admin/payouts/", &format!("/admin/payouts/{id}/"), &[("note", "MP-1"), ("decision", "paid"), ("confirmed", "1")])
        .await;
    assert_eq!(crate::helpers::location(&resp), "/admin/payouts/?done=paid");
    let w = wallet().await;
    assert_eq!((w["balance"].as_i64(), w["held"].as_i64(), w["available"].as_i64()), (Some(1_000), Some(0), Some(1_000)));
    assert_eq!(
        delivr::wallet::balance(&app.state.db, &partner).await.unwrap().balance,
        delivr::wallet::ledger_sum(&app.state.db, &partner).await.unwrap()
    );
}

/// Every event body a receiver gets is valid against its schema in the document.
async fn webhook_bodies_are_what_the_document_says(backend: Backend) {
    crate::helpers::install_crypto();
    let app = TestApp::spawn_with(backend, |c| c.allow_loopback_webhooks = true).await;
    let (_, key) = vendor(&app, "a@shop.cm").await;
    let receiver = Receiver::start().await;
    let all: Vec<&str> = delivr::webhooks::EVENTS.to_vec();
    let resp = reqwest::Client::new()
        .put(app.url("/api/v1/webhook"))
        .header("authorization", format!("Api-Key {key}"))
        .json(&json!({"url": receiver.url, "events": all}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Orders through their life, a payment, a dispute with a message, a test event.
    let done = delivered(&app, &new_order(&app, "12 000").await).await;
    let body = json!({"order_id": done.id, "reason": "LATE", "description": "Livré avec deux jours de retard.", "amount_claimed": 0});
    let dispute: Value = post(&app.base, &key, "/disputes", "d-1", Some(body)).await.json().await.unwrap();
    let id = dispute["id"].as_str().unwrap();
    post(&app.base, &key, &format!("/disputes/{id}/messages"), "m-1", Some(json!({"body": "Le client était absent."}))).await;
    let cancelled = new_order(&app, "0").await;
    post(&app.base, &key, &format!("/orders/{}/cancel", cancelled.id), "c-1", None).await;
    post(&app.base, &key, "/webhook/test", "t-1", None).await;
    let got = receiver.wait_for(11, 20).await;
    let contract = delivr::api::contract(&app.state.config.public_url());
    let mut kinds = std::collections::BTreeSet::new();
    for r in &got {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let event = v["event"].as_str().unwrap().to_owned();
        let schema = match event.split('.').next() {
            Some("order") => "OrderEvent",
            Some("payment") => "PaymentEvent",
            Some("dispute") => "DisputeEvent",
            _ => "TestEvent",
        };
        let wrong = contract.violations(schema, &v);
        assert!(wrong.is_empty(), "{event}: {wrong:?} in {v}");
        kinds.insert(event);
    }
    for k in
        ["order.created", "order.completed", "order.cancelled", "payment.received", "dispute.opened", "dispute.updated", "webhook.test"]
    {
        assert!(kinds.contains(k), "{k} in {kinds:?}");
    }
    // And the document describes each delivery.
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
    for k in delivr::webhooks::EVENTS {
        assert!(doc["x-webhooks"][k]["post"]["requestBody"].is_object(), "{k}");
    }
}

/// The document describes every property, shows an example of every successful answer, and
/// each example is valid against its own schema.
#[tokio::test]
async fn the_document_describes_everything_with_valid_examples() {
    let contract = delivr::api::contract("https://portail.delivr.cm");
    let doc = contract.document();
    let mut undescribed = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for (prop, p) in schema["properties"].as_object().into_iter().flatten() {
            if p["description"].as_str().is_none_or(str::is_empty) {
                undescribed.push(format!("{name}.{prop}"));
            }
        }
    }
    assert!(undescribed.is_empty(), "properties without a description: {undescribed:?}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["description"].as_str().is_some_and(|d| d.contains("```sh")), "{method} {path}: a sample");
            for (status, resp) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                for (media_type, media) in resp["content"].as_object().into_iter().flatten() {
                    if !media_type.contains("json") {
                        continue;
                    }
                    let name = media["schema"]["$ref"].as_str().unwrap().trim_start_matches("#/components/schemas/");
                    let example = media.get("example").or_else(|| doc["components"]["schemas"][name].get("example"));
                    let example = example.unwrap_or_else(|| panic!("{method} {path} {status}: no example"));
                    let wrong = contract.violations(name, example);
                    assert!(wrong.is_empty(), "{method} {path} {status}: example departs from {name}: {wrong:?}");
                }
            }
        }
    }
}

/// The document as served is committed beside the tests (`tests/http/openapi.json`): any
/// change to the API's contract shows in review. `UPDATE_OPENAPI_SNAPSHOT=1` rewrites it.
#[tokio::test]
async fn the_document_matches_its_reviewed_snapshot() {
    let contract = delivr::api::contract("https://portail.delivr.cm");
    let served = serde_json::to_string_pretty(contract.document()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http/openapi.json");
    if std::env::var("UPDATE_OPENAPI_SNAPSHOT").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &served).unwrap();
    }
    let reviewed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == reviewed,
        "the API document changed: review the difference, then run the tests with UPDATE_OPENAPI_SNAPSHOT=1 to accept it"
    );
}

/// The quick start, for integrators on a phone: a key, a first order with curl (at this
/// portal's address), the webhook check (the specification's snippet as is); a light page that
/// links to the full reference.
async fn the_quick_start_takes_an_integrator_from_a_key_to_a_verified_webhook(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/partners/api/quickstart/").await.status(), StatusCode::SEE_OTHER, "signed in only");
    app.approved_vendor("Boutique", "a@shop.cm").await;
    let resp = app.get("/partners/api/quickstart/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("curl -X POST {}/api/v1/orders", app.state.config.public_url())), "{html}");
    assert!(html.contains("Idempotency-Key") && html.contains("X-Delivr-Signature") && html.contains("hmac.compare_digest("));
    assert!(html.contains(r#"href="/partners/docs/""#) && !html.contains("swagger-ui"), "the reference is a link away, not loaded here");
    assert!(html.len() < 40_000, "{} bytes", html.len());
    // The keys page, the webhooks page and the dashboard lead to it.
    for page in ["/partners/api-keys/", "/partners/webhooks/", "/partners/dashboard/"] {
        assert!(app.get(page).await.text().await.unwrap().contains(r#"href="/partners/api/quickstart/""#), "{page}");
    }
}
