//! Scale-out, proven: two `delivr serve` processes on one PostgreSQL database, the courier
//! simulator in a third process, and a load generator alternating between the two instances.
//! Every webhook event reaches the receiver (deduplicated by event id, and in fact sent once),
//! the wallets balance, the live streams held by either instance get the notifications and the
//! map's positions, and nothing fails.

use std::{
    collections::{HashMap, HashSet},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;

use crate::{
    helpers::{Backend, client, csrf_in, free_port, fresh_database},
    webhooks::{Receiver, spec_signature},
};

const ORDERS: usize = 40;

pub(crate) struct Instance {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) log: std::path::PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start(url: &str, dir: &std::path::Path, name: &str, args: &[&str]) -> Instance {
    let port = free_port();
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_delivr"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("ALLOW_LOOPBACK_WEBHOOKS", "true")
        .env("API_RATE_LIMIT", "100000")
        .env("LOG", "warn")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("delivr starts");
    let base = format!("http://127.0.0.1:{port}");
    let instance = Instance { child, base, log };
    if args[0] == "serve" {
        let http = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http.get(format!("{}/healthz", instance.base)).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            assert!(Instant::now() < deadline, "{name} did not start: {}", std::fs::read_to_string(&instance.log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    instance
}

/// Count the events of each type a live stream receives.
fn listen(http: reqwest::Client, url: String, counts: Arc<HashMap<&'static str, AtomicUsize>>) {
    tokio::spawn(async move {
        let mut resp = http.get(url).header("accept", "text/event-stream").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        // Subscribed before its headers are sent.
        counts["open"].fetch_add(1, Ordering::SeqCst);
        let mut pending = String::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                for line in event.lines() {
                    if let Some(kind) = line.strip_prefix("event: ").or_else(|| line.strip_prefix("event:"))
                        && let Some(c) = counts.get(kind.trim())
                    {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
    });
}

fn counters() -> Arc<HashMap<&'static str, AtomicUsize>> {
    Arc::new(["open", "notification", "position"].into_iter().map(|k| (k, AtomicUsize::new(0))).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(Backend::Postgres, dir.path()).await;
    let url = database.url.clone();
    let receiver = Receiver::start().await;
    let a = start(&url, dir.path(), "a", &["serve"]).await;
    let b = start(&url, dir.path(), "b", &["serve"]).await;

    // One vendor (and a second one, for the wallets), couriers, an API key and a webhook.
    let db = delivr::db::Db::connect(&url).await.unwrap();
    let hash = delivr::accounts::password::hash("scale-password-1").unwrap();
    let mut partners = Vec::new();
    for (name, email) in [("Boutique Scale", "scale@shop.cm"), ("Boutique Deux", "deux@shop.cm")] {
        let new = delivr::partners::repo::NewPartner {
            business_name: name,
            contact_name: "S",
            phone: "+237677000000",
            email,
            password_hash: &hash,
            language: "fr",
        };
        let (_, id) = delivr::partners::repo::create(&db, &new).await.unwrap();
        delivr::partners::repo::approve(&db, &id).await.unwrap();
        delivr::on_db!(&db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1").bind(&id).execute(pool).await.map(|_| ()))
            .unwrap();
        partners.push(id);
    }
    for i in 0..6 {
        delivr::accounts::repo::create_staff(
            &db,
            delivr::auth::Role::Courier,
            &format!("c{i}@scale.cm"),
            &format!("Coursier {i}"),
            None,
            &hash,
        )
        .await
        .unwrap();
    }
    let events: Vec<String> = delivr::webhooks::EVENTS.iter().map(|e| (*e).to_owned()).collect();
    delivr::webhooks::save(&db, &partners[0], &receiver.url, &events, true).await.unwrap();
    let secret = delivr::webhooks::config(&db, &partners[0]).await.unwrap().unwrap().secret;
    let keys = [
        delivr::api_keys::create(&db, &partners[0], "scale").await.unwrap().unwrap().secret,
        delivr::api_keys::create(&db, &partners[1], "scale").await.unwrap().unwrap().secret,
    ];

    // The vendor signed in once; its session works on both instances (it lives in the database).
    let http = client();
    let login = http.get(format!("{}/accounts/login/", a.base)).send().await.unwrap().text().await.unwrap();
    let form = [("email", "scale@shop.cm"), ("password", "scale-password-1"), ("csrf", &csrf_in(&login))];
    let resp = http.post(format!("{}/accounts/login/", a.base)).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let on_a = counters();
    let on_b = counters();
    listen(http.clone(), format!("{}/partners/notifications/stream/", a.base), on_a.clone());
    listen(http.clone(), format!("{}/partners/notifications/stream/", b.base), on_b.clone());
    let open = |c: Arc<HashMap<&'static str, AtomicUsize>>| async move || c["open"].load(Ordering::SeqCst) == 1;
    crate::helpers::eventually("the stream on A is open", 10, open(on_a.clone())).await;
    crate::helpers::eventually("the stream on B is open", 10, open(on_b.clone())).await;

    // The load: orders through the API, alternating instances, and the simulator moving them.
    let simulator = start(&url, dir.path(), "simulator", &["simulate", "--speed", "400"]).await;
    let started = Instant::now();
    let mut sent = Vec::new();
    for i in 0..ORDERS {
        let (base, key) = if i % 2 == 0 { (&a.base, &keys[i % 4 / 2]) } else { (&b.base, &keys[i % 4 / 2]) };
        let body = serde_json::json!({
            "dropoff_city": "Douala", "dropoff_quartier": if i % 3 == 0 { "Makepe" } else { "Bonapriso" },
            "dropoff_address": "Derrière la pharmacie", "recipient": {"name": format!("Client {i}"), "phone": "677 98 76 54"},
            "package_description": "Colis", "cod_amount": 1000 * (i % 5) as i64
        });
        sent.push(
            http.post(format!("{base}/api/v1/orders"))
                .header("authorization", format!("Api-Key {key}"))
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .json(&body)
                .send(),
        );
    }
    for resp in futures_util::future::join_all(sent).await {
        let resp = resp.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{}", resp.text().await.unwrap());
    }
    let created = started.elapsed();

    // Every order finishes; every delivery is made.
    let count = |sql: &'static str| {
        let db = db.clone();
        async move { delivr::on_db!(&db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap() }
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    while count("SELECT COUNT(*) FROM orders WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')").await > 0 {
        assert!(Instant::now() < deadline, "orders still moving after 4 minutes");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let finished = started.elapsed();
    while count("SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'DELIVERED'").await > 0 {
        assert!(Instant::now() < deadline, "webhook deliveries still pending");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let expected: HashSet<String> =
        delivr::on_db!(&db, pool => sqlx::query_scalar::<_, String>("SELECT id FROM domain_events WHERE partner_id = $1 AND kind <> 'partner.approved'")
        .bind(&partners[0]).fetch_all(pool).await)
        .unwrap()
        .into_iter()
        .collect();
    let got = receiver.got.lock().unwrap().clone();
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
    let distinct: HashSet<String> = ids.iter().cloned().collect();
    for r in &got {
        assert_eq!(r.header("x-delivr-signature"), Some(spec_signature(&secret, &r.body).as_str()), "signed as the spec checks");
    }
    assert_eq!(distinct, expected, "every event of the vendor reached the receiver");
    assert_eq!(ids.len(), distinct.len(), "each exactly once");
    let by_instance = count("SELECT COUNT(DISTINCT event_id) FROM webhook_deliveries").await;
    assert_eq!(by_instance as usize, expected.len());

    // The wallets balance: each balance is its ledger's sum.
    let unbalanced = count(
        "SELECT COUNT(*) FROM wallet_accounts a WHERE a.balance <> (SELECT COALESCE(SUM(e.amount), 0) FROM wallet_entries e WHERE e.partner_id = a.partner_id)",
    )
    .await;
    assert_eq!(unbalanced, 0);
    assert_eq!(count("SELECT COUNT(*) FROM wallet_accounts").await, 2, "both vendors settled");
    let cod_once = count(
        "SELECT COUNT(*) FROM (SELECT order_id FROM wallet_entries WHERE kind = 'COD_COLLECTED' GROUP BY order_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(cod_once, 0, "cash on delivery credited once per order");

    // Streams on both instances heard the vendor's notifications and positions (a bounded wait
    // for the last ones in flight).
    let heard = || {
        let (na, nb) = (on_a["notification"].load(Ordering::SeqCst), on_b["notification"].load(Ordering::SeqCst));
        let (pa, pb) = (on_a["position"].load(Ordering::SeqCst), on_b["position"].load(Ordering::SeqCst));
        (na, nb, pa, pb)
    };
    let heard_by = Instant::now() + Duration::from_secs(10);
    let (na, nb, pa, pb) = loop {
        let (na, nb, pa, pb) = heard();
        if (na > 0 && nb > 0 && pa > 0 && pb > 0) || Instant::now() > heard_by {
            break (na, nb, pa, pb);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let notifications = count("SELECT COUNT(*) FROM partner_notifications").await as usize;
    assert!(na > 0 && nb > 0 && pa > 0 && pb > 0, "notifications {na}/{nb}, positions {pa}/{pb}");

    // Nothing failed in any process.
    drop(simulator);
    for inst in [&a, &b] {
        let log = std::fs::read_to_string(&inst.log).unwrap();
        assert!(!log.contains("ERROR"), "{log}");
    }
    println!(
        "two instances: {ORDERS} orders created in {:.1}s, all finished in {:.1}s; {} webhook events, each delivered once; \
         streams on A and B: {na}/{nb} notifications of {notifications} for the vendor (others' too), {pa}/{pb} positions",
        created.as_secs_f64(),
        finished.as_secs_f64(),
        expected.len()
    );
}
