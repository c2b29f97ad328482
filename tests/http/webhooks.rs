//! Webhooks end to end: a real receiver checks both signatures; retries follow the schedule
//! (driven by a test clock); failing webhooks pause; replays; the SSRF guard; isolation.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, AtomicU64, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use poem::{EndpointExt, Request, Route, Server, handler, listener::TcpAcceptor, post, web::Data};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

both_backends!(
    events_arrive_signed_both_ways,
    bad_configurations_are_refused,
    retries_follow_the_schedule_then_pause,
    replay_sends_the_same_event_again,
    a_dead_endpoint_does_not_delay_another_partner,
    the_ssrf_guard_makes_no_connection,
    the_webhook_api,
    a_running_actor_follows_a_new_configuration,
);

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver: records every request, answers `status` after `delay_ms`.
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<AtomicU16>,
    pub delay_ms: Arc<AtomicU64>,
    pub url: String,
}

#[handler]
async fn receive(req: &Request, body: Vec<u8>, Data(r): Data<&Receiver>) -> poem::Response {
    let headers = req.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned())).collect();
    r.got.lock().unwrap().push(Received { headers, body });
    let delay = r.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = poem::http::StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap();
    poem::Response::builder().status(status).body("ok from receiver")
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut r = Receiver { url: format!("http://127.0.0.1:{}/hooks", addr.port()), ..Receiver::default() };
        r.status.store(200, Ordering::SeqCst);
        let app = Route::new().at("/hooks", post(receive)).data(r.clone());
        tokio::spawn(Server::new_with_acceptor(TcpAcceptor::from_tokio(listener).unwrap()).run(app));
        r = Receiver { got: r.got.clone(), status: r.status.clone(), delay_ms: r.delay_ms.clone(), url: r.url.clone() };
        r
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        for _ in 0..secs * 20 {
            if self.count() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.got.lock().unwrap().clone()
    }
}

/// The spec's Python snippet, in Rust: `hmac.new(secret.encode(), body, sha256).hexdigest()`.
pub fn spec_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The Standard Webhooks verification.
pub fn standard_ok(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let (id, ts) = (r.header("webhook-id").unwrap(), r.header("webhook-timestamp").unwrap());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").unwrap().split(' ').any(|s| s == expected)
}

/// An approved vendor with pickup set and a webhook to `url`; returns (partner id, secret).
async fn vendor_with_webhook(app: &TestApp, email: &str, url: &str) -> (String, String) {
    let id = app.approved_vendor("Boutique", email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    let mut fields: Vec<(&str, &str)> = vec![("url", url), ("active", "1")];
    for e in delivr::webhooks::EVENTS {
        fields.push(("events", e));
    }
    let resp = app.post_form("/partners/webhooks/", "/partners/webhooks/", &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    let secret = delivr::webhooks::config(&app.state.db, &id).await.unwrap().unwrap().secret;
    (id, secret)
}

async fn create_order(app: &TestApp) {
    let fields = [
        ("recipient_name", "Paul Nkwi"),
        ("recipient_phone", "677987654"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "1012"),
        ("dropoff_address", "Derrière la pharmacie"),
        ("package_description", "Chaussures"),
    ];
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

async fn loopback_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| c.allow_loopback_webhooks = true).await
}

async fn events_arrive_signed_both_ways(backend: Backend) {
    let app = loopback_app(backend).await;
    let receiver = Receiver::start().await;
    let (_, secret) = vendor_with_webhook(&app, "a@shop.cm", &receiver.url).await;
    create_order(&app).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got.len(), 1, "one event delivered");
    let r = &got[0];
    assert_eq!(r.header("x-delivr-signature").unwrap(), spec_signature(&secret, &r.body), "the spec's snippet verifies");
    assert!(standard_ok(&secret, r), "Standard Webhooks verifies");
    assert_eq!(r.header("x-delivr-event"), Some("order.created"));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["event"], "order.created");
    assert_eq!(body["id"], r.header("webhook-id").unwrap());
    for field in ["order_id", "tracking_number", "status", "recipient", "pricing"] {
        assert!(body["data"].get(field).is_some(), "{field}");
    }
    assert!(body.get("signature").is_none(), "the signature is a header, not in the body");
    // The receiver answers before we record the attempt: give the sender a moment.
    let partner = app.partner_id("a@shop.cm").await;
    let mut cfg = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap();
    for _ in 0..100 {
        if cfg.last_status_code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        cfg = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap();
    }
    assert_eq!(cfg.last_status_code, Some(200));
    assert!(cfg.last_triggered.is_some());
    // The log shows it.
    let page = app.get("/partners/webhooks/").await.text().await.unwrap();
    assert!(page.contains("order.created") && page.contains("Livré"), "{page}");
    // In people's words, each event explained (the spec's field names kept as titles).
    assert!(page.contains("Dernier envoi") && page.contains("Dernier code HTTP") && page.contains("Échecs consécutifs"));
    assert!(page.contains(r#"title="last_triggered""#) && page.contains("Le colis est en route vers le destinataire."));
    // The test-event button, and its real result where the button is.
    app.post_form("/partners/webhooks/", "/partners/webhooks/test/", &[]).await;
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got[1].header("x-delivr-event"), Some("webhook.test"));
    crate::helpers::eventually("the test's result is shown", 10, async || {
        app.get("/partners/webhooks/test/result/").await.text().await.unwrap().contains("Test reçu par votre serveur")
    })
    .await;
    assert!(app.get("/partners/webhooks/").await.text().await.unwrap().contains("Test reçu par votre serveur"));
    // Unsubscribed events are not sent.
    let id = app.partner_id("a@shop.cm").await;
    delivr::webhooks::save(&app.state.db, &id, &receiver.url, &["order.completed".to_owned()], true).await.unwrap();
    create_order(&app).await;
    // Only a delivery row is ever sent, and the order's transaction wrote none for it.
    let queued: i64 =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries").fetch_one(pool).await).unwrap();
    assert_eq!(queued, 2, "the two sent; nothing queued for the unsubscribed event");
    assert_eq!(receiver.count(), 2);
}

async fn bad_configurations_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique", "a@shop.cm").await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("url", "not a url"), ("events", "order.created"), ("active", "1")], "URL invalide"),
        (&[("url", "ftp://shop.cm/x"), ("events", "order.created"), ("active", "1")], "http et https"),
        (&[("url", "http://127.0.0.1:9/x"), ("events", "order.created"), ("active", "1")], "pas publique"),
        (&[("url", "http://10.0.0.5/x"), ("events", "order.created"), ("active", "1")], "pas publique"),
        (&[("url", "http://[::1]/x"), ("events", "order.created"), ("active", "1")], "pas publique"),
        (&[("url", "http://localhost:8080/x"), ("events", "order.created"), ("active", "1")], "pas publique"),
        (&[("url", "https://8.8.8.8/x"), ("events", "order.exploded"), ("active", "1")], "Événement inconnu"),
        (&[("url", "https://8.8.8.8/x"), ("active", "1")], "au moins un événement"),
        (&[("url", ""), ("events", "order.created")], "obligatoire"),
    ];
    for (fields, message) in cases {
        let resp = app.post_form("/partners/webhooks/", "/partners/webhooks/", fields).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(resp.text().await.unwrap().contains(message), "{message}");
    }
    assert_eq!(app.count("webhook_configs").await, 0);
}

/// Insert a due delivery in the future of the real clock, so that only the test drives it.
async fn future_delivery(app: &TestApp, partner: &str, at: i64) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let body = delivr::events::event_body("evt-1", "order.created", at, "{}");
    app.exec(&format!(
        "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
         VALUES ('{id}', '{partner}', 'evt-1', 'order.created', '{body}', 'PENDING', 0, {at}, {at})"
    ))
    .await;
    id
}

async fn retries_follow_the_schedule_then_pause(backend: Backend) {
    let app = loopback_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.status.store(500, Ordering::SeqCst);
    let (partner, _) = vendor_with_webhook(&app, "a@shop.cm", &receiver.url).await;
    let client = delivr::webhooks::delivery::Sending::new(true, 60_000);
    let mut now = delivr::db::now_ms() + 10 * 86_400_000;
    let delivery = future_delivery(&app, &partner, now).await;
    let mut gaps = Vec::new();
    for attempt in 1..=8 {
        let sent = delivr::webhooks::delivery::deliver_due(&app.state.db, &app.state.bus, &client, &partner, now, 4).await.unwrap();
        assert_eq!(sent, 1, "attempt {attempt} is due");
        // Nothing else is due before the next scheduled time.
        assert_eq!(delivr::webhooks::delivery::deliver_due(&app.state.db, &app.state.bus, &client, &partner, now, 4).await.unwrap(), 0);
        let (status, next): (String, i64) = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT status, next_attempt_at FROM webhook_deliveries WHERE id = $1").bind(&delivery).fetch_one(pool).await).unwrap();
        if attempt == 8 {
            assert_eq!(status, "FAILED");
            break;
        }
        assert_eq!(status, "PENDING");
        gaps.push(next - now);
        now = next;
    }
    let schedule = &delivr::webhooks::delivery::SCHEDULE_MS[1..];
    for (gap, expected) in gaps.iter().zip(schedule) {
        let (lo, hi) = ((*expected as f64 * 0.9) as i64, (*expected as f64 * 1.1) as i64 + 1);
        assert!((lo..=hi).contains(gap), "gap {gap} ms, expected {expected} ± 10 %");
    }
    assert_eq!(receiver.count(), 8);
    // Exhausted: the webhook is paused and the partner told why.
    let cfg = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap();
    assert!(!cfg.is_active);
    assert_eq!(cfg.failure_count, 8);
    assert_eq!(cfg.last_status_code, Some(500));
    let (kind, message): (String, String) = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT notification_type, message FROM partner_notifications WHERE title <> 'Compte approuvé'").fetch_one(pool).await).unwrap();
    assert_eq!(kind, "system");
    assert!(message.contains("Actif"), "{message}");
    let attempts: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = $1").bind(&delivery).fetch_one(pool).await).unwrap();
    assert_eq!(attempts, 8);
    // A success resets the failure count (after reactivation).
    receiver.status.store(204, Ordering::SeqCst);
    delivr::webhooks::save(&app.state.db, &partner, &receiver.url, &["order.created".to_owned()], true).await.unwrap();
    future_delivery(&app, &partner, now).await;
    delivr::webhooks::delivery::deliver_due(&app.state.db, &app.state.bus, &client, &partner, now, 4).await.unwrap();
    assert_eq!(delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().failure_count, 0);
}

async fn replay_sends_the_same_event_again(backend: Backend) {
    let app = loopback_app(backend).await;
    let receiver = Receiver::start().await;
    let (partner, _) = vendor_with_webhook(&app, "a@shop.cm", &receiver.url).await;
    create_order(&app).await;
    let first = receiver.wait_for(1, 10).await;
    let delivery: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE partner_id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    let resp = app.post_form("/partners/webhooks/", &format!("/partners/webhooks/deliveries/{delivery}/replay/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-id"), first[0].header("webhook-id"), "same event id: receivers deduplicate");
    assert_eq!(got[1].body, first[0].body);
    // Another partner cannot replay it.
    let other = app.other_browser();
    other.approved_vendor("Autre", "b@shop.cm").await;
    let resp = other.post_form("/partners/webhooks/", &format!("/partners/webhooks/deliveries/{delivery}/replay/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn a_dead_endpoint_does_not_delay_another_partner(backend: Backend) {
    let app = loopback_app(backend).await;
    let slow = Receiver::start().await;
    slow.delay_ms.store(20_000, Ordering::SeqCst);
    let fast = Receiver::start().await;
    vendor_with_webhook(&app, "slow@shop.cm", &slow.url).await;
    for _ in 0..6 {
        create_order(&app).await;
    }
    let other = app.other_browser();
    vendor_with_webhook(&other, "fast@shop.cm", &fast.url).await;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        create_order(&other).await;
    }
    let got = fast.wait_for(3, 10).await;
    assert_eq!(got.len(), 3, "the healthy partner's events all arrived");
    assert!(started.elapsed() < Duration::from_secs(8), "and were not stuck behind the dead endpoint: {:?}", started.elapsed());
    // The slow partner has at most the in-flight limit hanging at once.
    assert!(slow.count() <= delivr::webhooks::delivery::MAX_IN_FLIGHT, "{}", slow.count());
}

async fn the_ssrf_guard_makes_no_connection(backend: Backend) {
    // Loopback is not allowed here: even a configuration written behind the form's back is not sent.
    let app = TestApp::spawn(backend).await;
    let receiver = Receiver::start().await;
    let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{partner}'")).await;
    let resp = app
        .post_form("/partners/webhooks/", "/partners/webhooks/", &[("url", &receiver.url), ("events", "order.created"), ("active", "1")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for url in [receiver.url.clone(), receiver.url.replace("127.0.0.1", "localhost")] {
        delivr::webhooks::save(&app.state.db, &partner, &url, &["order.created".to_owned()], true).await.unwrap();
        create_order(&app).await;
    }
    // Whichever sender takes them (the actor, or this call), each delivery is attempted.
    let client = delivr::webhooks::delivery::Sending::new(false, 60_000);
    delivr::webhooks::delivery::deliver_due(&app.state.db, &app.state.bus, &client, &partner, delivr::db::now_ms() + 60_000, 4)
        .await
        .unwrap();
    let attempted = || async {
        let n: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(DISTINCT delivery_id) FROM webhook_attempts").fetch_one(pool).await).unwrap();
        n == 2
    };
    crate::helpers::eventually("both deliveries attempted", 10, attempted).await;
    assert_eq!(receiver.count(), 0, "no connection reached the private address");
    let errors: Vec<Option<String>> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT error FROM webhook_attempts").fetch_all(pool).await).unwrap();
    assert!(!errors.is_empty() && errors.iter().all(|e| e.is_some()), "{errors:?}");
}

async fn the_webhook_api(backend: Backend) {
    let app = loopback_app(backend).await;
    let receiver = Receiver::start().await;
    let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
    let key = delivr::api_keys::create(&app.state.db, &partner, "api").await.unwrap().unwrap().secret;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = app.client.request(method, app.url(&format!("/api/v1{path}"))).header("authorization", format!("Api-Key {key}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap() }
    };
    assert_eq!(call(reqwest::Method::GET, "/webhook", None).await.status(), StatusCode::NOT_FOUND);
    let bad =
        call(reqwest::Method::PUT, "/webhook", Some(serde_json::json!({"url": "http://10.0.0.1/x", "events": ["order.created"]}))).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = call(reqwest::Method::PUT, "/webhook", Some(serde_json::json!({"url": receiver.url, "events": ["order.boom"]}))).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let put = call(
        reqwest::Method::PUT,
        "/webhook",
        Some(serde_json::json!({"url": receiver.url, "events": ["order.created", "order.completed"]})),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let cfg: Value = put.json().await.unwrap();
    assert_eq!(cfg["events"].as_array().unwrap().len(), 2);
    // The PUT that created the webhook shows its secret once (as the portal does); later
    // ones never echo it.
    assert!(cfg["secret"].as_str().unwrap().starts_with("whsec_"));
    let again: Value = call(
        reqwest::Method::PUT,
        "/webhook",
        Some(serde_json::json!({"url": receiver.url, "events": ["order.created", "order.completed"]})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(again.get("secret").is_none(), "the secret is not echoed again");
    let secret: Value = call(reqwest::Method::POST, "/webhook/secret", Some(serde_json::json!({}))).await.json().await.unwrap();
    let secret = secret["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let test = call(reqwest::Method::POST, "/webhook/test", Some(serde_json::json!({}))).await;
    assert_eq!(test.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].header("x-delivr-signature").unwrap(), spec_signature(&secret, &got[0].body));
    let list: Value = call(reqwest::Method::GET, "/webhook/deliveries", None).await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();
    let replay = call(reqwest::Method::POST, &format!("/webhook/deliveries/{id}/replay"), Some(serde_json::json!({}))).await;
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    assert_eq!(receiver.wait_for(2, 10).await.len(), 2);
    // Another partner's key sees none of it.
    let other = app.other_browser();
    let other_partner = other.approved_vendor("Autre", "b@shop.cm").await;
    let other_key = delivr::api_keys::create(&app.state.db, &other_partner, "api").await.unwrap().unwrap().secret;
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/webhook/deliveries/{id}/replay")))
        .header("authorization", format!("Api-Key {other_key}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// The partner's webhook actor holds the configuration between batches; a new one saved while
/// it runs (another URL, then a new secret in the same instant) is what the next event uses.
async fn a_running_actor_follows_a_new_configuration(backend: Backend) {
    let app = loopback_app(backend).await;
    let (first, second) = (Receiver::start().await, Receiver::start().await);
    let (partner, _) = vendor_with_webhook(&app, "a@shop.cm", &first.url).await;
    create_order(&app).await;
    assert_eq!(first.wait_for(1, 10).await.len(), 1);
    // From the page, a new secret is confirmed first (the shop's receiver will refuse events
    // signed with it until it has it).
    let secret = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().secret;
    let resp = app.post_form("/partners/webhooks/", "/partners/webhooks/secret/", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Régénérer le secret du webhook ?"));
    assert_eq!(delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().secret, secret);
    let resp = app.post_form("/partners/webhooks/", "/partners/webhooks/secret/", &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_ne!(delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().secret, secret);
    // Saved straight to the database (as another instance would), then the secret twice at once.
    delivr::webhooks::save(&app.state.db, &partner, &second.url, &["order.created".to_owned()], true).await.unwrap();
    assert!(delivr::webhooks::regenerate_secret(&app.state.db, &partner).await.unwrap());
    assert!(delivr::webhooks::regenerate_secret(&app.state.db, &partner).await.unwrap());
    let secret = delivr::webhooks::config(&app.state.db, &partner).await.unwrap().unwrap().secret;
    create_order(&app).await;
    let got = second.wait_for(1, 10).await;
    assert_eq!(got.len(), 1, "the new URL gets the next event");
    assert_eq!(first.count(), 1, "the old URL gets nothing more");
    let id = got[0].header("webhook-id").unwrap();
    let ts: i64 = got[0].header("webhook-timestamp").unwrap().parse().unwrap();
    assert_eq!(
        got[0].header("webhook-signature"),
        Some(delivr::webhooks::standard_signature(&secret, id, ts, &got[0].body).as_str()),
        "signed with the newest secret"
    );
}
