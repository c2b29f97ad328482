//! `just bench`: the hot paths measured from outside, on SQLite and PostgreSQL. The portal runs
//! as its own `delivr serve` process and wrk loads it from another, so the server's share of
//! the CPU is honest; every rate is a ratio to a poem hello-world measured in the same run
//! with the same load, and comes with its 99th percentile. Ratios, bytes and percentiles hold
//! from run to run on a shared, noisy machine; absolute rates do not.
//!
//! `just bench [group…]` runs some groups only (`http`, `export`, `webhooks`, `streams`,
//! `analytics`, `browser`); `BENCH_DB=sqlite` or `BENCH_DB=postgres` one backend only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use delivr::{accounts::password, db::Db, on_db, partners::repo as partners};
use harness::{Load, Served, Table, ms, rss_of, wrk};
use poem::{Endpoint, EndpointExt, Request, Route, Server, handler, listener::TcpAcceptor};

/// Orders of the bench vendor for the HTTP figures (twenty others get 1 % of that each).
const ORDERS: i64 = 100_000;
/// Orders of the bench vendor for the analytics figure.
const ANALYTICS_ORDERS: i64 = 1_000_000;

struct Backend {
    name: &'static str,
    postgres: bool,
}

impl Backend {
    /// A fresh, empty database of this backend for one scenario.
    async fn fresh(&self, dir: &std::path::Path, name: &str) -> String {
        if !self.postgres {
            return format!("sqlite://{}", dir.join(format!("{name}.db")).display());
        }
        use sqlx::Connection;
        let admin = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL must run for the bench (TEST_POSTGRES_URL)");
        let db = format!("delivr_bench_{name}");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut conn).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut conn).await.unwrap();
        format!("{}/{db}", admin.rsplit_once('/').unwrap().0)
    }
}

fn backends() -> Vec<Backend> {
    let all = [Backend { name: "SQLite", postgres: false }, Backend { name: "PostgreSQL", postgres: true }];
    let wanted = std::env::var("BENCH_DB").unwrap_or_default().to_lowercase();
    all.into_iter().filter(|b| wanted.is_empty() || b.name.to_lowercase().starts_with(&wanted)).collect()
}

/// Is this group asked for (all when none is named)?
fn wanted(group: &str) -> bool {
    let named: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    named.is_empty() || named.iter().any(|n| n == group)
}

/// `delivr bench-data` on `db_url`: the bench vendor (`bench@delivr.cm`) with `orders` orders,
/// and `vendors` others with 1 % of that each; then a session for the bench vendor.
async fn fill(db_url: &str, orders: i64, vendors: i64) -> (Db, String, String) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_delivr"))
        .args(["bench-data", "--orders", &orders.to_string(), "--vendors", &vendors.to_string()])
        .env("DATABASE_URL", db_url)
        .env("LOG", "error")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "bench-data failed on {db_url}");
    let db = Db::connect(db_url).await.unwrap();
    let (user_id, partner_id): (String, String) = on_db!(&db, pool => sqlx::query_as(
        "SELECT u.id, p.id FROM users u JOIN partners p ON p.user_id = u.id WHERE u.email = 'bench@delivr.cm'"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    let session = delivr::auth::sessions::create(&db, &user_id).await.unwrap();
    (db, partner_id, format!("delivr_session={session}"))
}

/// The portal's hot paths under load: liveness, the API by key, the orders list and the
/// dashboard, then the export of every order.
async fn http(t: &mut Table, backend: &Backend, dir: &std::path::Path, hello_url: &str) {
    let url = backend.fresh(dir, "http").await;
    let (db, partner_id, cookie) = fill(&url, ORDERS, 20).await;
    let key = delivr::api_keys::create(&db, &partner_id, "bench").await.unwrap().unwrap().secret;
    let newest: String = on_db!(&db, pool => sqlx::query_scalar(
        "SELECT id FROM orders WHERE partner_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
    ).bind(&partner_id).fetch_one(pool).await)
    .unwrap();
    // A deep page: the cursor of the order nine tenths down the list.
    let (created_at, id): (i64, String) = on_db!(&db, pool => sqlx::query_as(
        "SELECT created_at, id FROM orders WHERE partner_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2"
    ).bind(&partner_id).bind(ORDERS * 9 / 10).fetch_one(pool).await)
    .unwrap();
    let deep = delivr::orders::repo::Cursor { created_at, id }.encode();
    db.close().await;
    let served = Served::start(&url, &[]).await;
    let base = &served.base;
    let b = backend.name;
    // The reference, loaded the same way just before.
    let hello = wrk(hello_url, &[], None);
    t.info(format!("hello-world poem handler, before the {b} figures"), format!("{:.0} req/s, p99 {}", hello.rps, ms(hello.p99)));
    let page = |path: &str| wrk(&format!("{base}{path}"), &[("Cookie", &cookie), ("Accept-Encoding", "br")], None);
    let api = |path: &str| wrk(&format!("{base}/api/v1{path}"), &[("Authorization", &format!("Api-Key {key}"))], None);
    t.ratio(&format!("`/healthz`, {b}"), wrk(&format!("{base}/healthz"), &[], None), hello, 0.5);
    t.ratio(&format!("API `GET /orders/{{id}}` by key, {b}"), api(&format!("/orders/{newest}")), hello, 0.20);
    t.ratio(&format!("API `GET /orders` (first page), {b}"), api("/orders"), hello, 0.10);
    let budget = if backend.postgres { 0.08 } else { 0.10 };
    t.ratio(&format!("orders list page 1 (100 000 orders), {b}"), page("/partners/orders/"), hello, budget);
    t.ratio(&format!("orders list, a deep keyset page, {b}"), page(&format!("/partners/orders/?cursor={deep}")), hello, budget);
    t.ratio(&format!("orders list filtered (failed deliveries), {b}"), page("/partners/orders/?status=FAILED"), hello, budget);
    t.ratio(&format!("dashboard, {b}"), page("/partners/dashboard/"), hello, budget);

    if wanted("export") || wanted("http") {
        let (first, total, bytes, rows, growth) = measure_export(&served, &format!("{base}/partners/orders/export/"), &cookie).await;
        assert_eq!(rows, ORDERS as usize, "every order exported");
        let mb = bytes as f64 / 1_048_576.0;
        t.push(
            format!("CSV export of 100 000 orders ({mb:.1} MB), {b}: total"),
            ms(total),
            "≤ 500 ms",
            Some(total <= Duration::from_millis(500)),
        );
        t.push(format!("CSV export, {b}: first byte"), ms(first), "≤ 100 ms", Some(first <= Duration::from_millis(100)));
        let growth_mb = growth as f64 / 1_048_576.0;
        t.push(
            format!("CSV export, {b}: server's resident memory growth"),
            format!("{growth_mb:.1} MB"),
            "≤ 32 MB",
            Some(growth_mb <= 32.0),
        );
    }
}

/// Stream the export from the server's process: (first byte, total, bytes, rows, the server's
/// peak resident-memory growth).
async fn measure_export(served: &Served, url: &str, cookie: &str) -> (Duration, Duration, usize, usize, u64) {
    let pid = served.pid();
    let before = rss_of(pid);
    let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(before)));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut resp = client.get(url).header("cookie", cookie).send().await.unwrap();
    assert!(resp.status().is_success());
    let mut first = None;
    let (mut bytes, mut rows) = (0usize, 0usize);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len();
        rows += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let total = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (first.unwrap_or_default(), total, bytes, rows.saturating_sub(1), peak.load(Ordering::Relaxed).saturating_sub(before))
}

/// A local webhook receiver: counts deliveries and the event ids it saw twice (by the
/// Standard Webhooks `webhook-id` header, as a receiver's dedup would).
struct Receiver {
    url: String,
    received: Arc<AtomicU64>,
    duplicates: Arc<AtomicU64>,
    first_last: Arc<Mutex<(Option<Instant>, Option<Instant>)>>,
}

#[handler]
fn accept_webhook(body: Vec<u8>) -> &'static str {
    std::hint::black_box(body);
    "ok"
}

async fn spawn_receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    let (received, duplicates) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let first_last = Arc::new(Mutex::new((None, None)));
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    let (r, d, fl) = (received.clone(), duplicates.clone(), first_last.clone());
    let app = Route::new().at("/hooks", poem::post(accept_webhook)).around(move |ep, req: Request| {
        let (r, d, fl, seen) = (r.clone(), d.clone(), fl.clone(), seen.clone());
        async move {
            if let Some(id) = req.header("webhook-id") {
                if !seen.lock().unwrap().insert(id.to_owned()) {
                    d.fetch_add(1, Ordering::Relaxed);
                }
                let now = Instant::now();
                let mut fl = fl.lock().unwrap();
                fl.0.get_or_insert(now);
                fl.1 = Some(now);
                r.fetch_add(1, Ordering::Relaxed);
            }
            ep.call(req).await
        }
    });
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    Receiver { url: format!("http://{addr}/hooks"), received, duplicates, first_last }
}

/// Webhook deliveries: `partners` partners with `each` events waiting when a `delivr serve`
/// starts; its deliveries per second (first to last arrival) against what the receiver takes
/// from wrk. Every delivery must end delivered, with its attempt logged, and arrive once.
async fn webhooks(t: &mut Table, backend: &Backend, dir: &std::path::Path, partners_n: usize, each: usize) {
    let url = backend.fresh(dir, "hooks").await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    delivr::geo::seed(&db).await.unwrap();
    let receiver = spawn_receiver().await;
    let body = delivr::events::event_body(
        "evt",
        "order.created",
        0,
        r#"{"order_id":"a7f3c1d2","tracking_number":"DLV-A7F3X2","status":"COMPLETED","recipient":{"name":"Paul Nkwi","phone":"+237677987654"},"pricing":{"total":1500,"commission":300,"net":1200}}"#,
    );
    let script = harness::post_script(&body);
    let capacity = wrk(&receiver.url, &[], Some(script.path()));
    let counted = receiver.received.load(Ordering::Relaxed);
    assert_eq!(counted, 0, "wrk's requests carry no webhook-id");
    let hash = password::hash("bench-password-1").unwrap();
    let now = delivr::db::now_ms();
    for p in 0..partners_n {
        let email = format!("hooks{p}@shop.cm");
        let new = partners::NewPartner {
            business_name: "Hooks",
            contact_name: "H",
            phone: "+237677000000",
            email: &email,
            password_hash: &hash,
            language: "fr",
        };
        let (_, id) = partners::create(&db, &new).await.unwrap();
        partners::approve(&db, &id).await.unwrap();
        delivr::webhooks::save(&db, &id, &receiver.url, &["order.created".to_owned()], true).await.unwrap();
        on_db!(&db, pool => {
            let mut tx = pool.begin().await.unwrap();
            for i in 0..each {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'order.created', $4, 'PENDING', 0, $5, $5)",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&id)
                .bind(format!("{id}-{i}"))
                .bind(&body)
                .bind(now)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        });
    }
    let total = (partners_n * each) as u64;
    let served = Served::start(&url, &[("ALLOW_LOOPBACK_WEBHOOKS", "true")]).await;
    let started = Instant::now();
    while receiver.received.load(Ordering::Relaxed) < total {
        assert!(started.elapsed() < Duration::from_secs(600), "deliveries stalled at {}", receiver.received.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (first, last) = *receiver.first_last.lock().unwrap();
    let span = last.unwrap().duration_since(first.unwrap()).as_secs_f64();
    let rate = (total - 1) as f64 / span;
    // Durable: the state and the attempt log of every delivery are written.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (delivered, attempts): (i64, i64) = on_db!(&db, pool => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'DELIVERED'), (SELECT COUNT(*) FROM webhook_attempts)"
    ).fetch_one(pool).await)
    .unwrap();
    drop(served);
    let duplicates = receiver.duplicates.load(Ordering::Relaxed);
    let b = backend.name;
    t.push(
        format!(
            "webhook deliveries ({partners_n} partners × {each} events), {b}, vs the receiver's own capacity ({:.0} req/s)",
            capacity.rps
        ),
        format!("{:.2} × ({rate:.0} deliveries/s)", rate / capacity.rps),
        "≥ 0.5",
        Some(rate / capacity.rps >= 0.5),
    );
    let exact = delivered == total as i64 && attempts == total as i64 && duplicates == 0;
    t.push(
        format!("webhook deliveries, {b}: delivered / attempts logged / duplicates at the receiver"),
        format!("{delivered} / {attempts} / {duplicates} of {total}"),
        "all / all / 0",
        Some(exact),
    );
}

/// Open `n` event streams as one signed-in vendor; returns them once each has its headers.
async fn open_streams(url: &str, cookie: &str, n: usize) -> Vec<reqwest::Response> {
    let mut streams = Vec::with_capacity(n);
    let clients: Vec<reqwest::Client> = (0..16).map(|_| reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap()).collect();
    let mut pending = Vec::new();
    for i in 0..n {
        pending.push(clients[i % clients.len()].get(url).header("cookie", cookie).send());
        if pending.len() == 200 {
            for r in futures_util::future::join_all(pending.drain(..)).await {
                streams.push(r.unwrap());
            }
        }
    }
    for r in futures_util::future::join_all(pending).await {
        streams.push(r.unwrap());
    }
    streams
}

/// `n` event streams, each asked for on a raw connection after a `/healthz` on it (so hyper
/// keeps serving the connection); returns them once each has its response's head.
async fn open_streams_kept_alive(base: &str, cookie: &str, n: usize) -> Vec<tokio::net::TcpStream> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").to_owned();
    let one = async |host: String| {
        let mut conn = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut buf = Vec::new();
        // Reads until the whole of a head (and `body` bytes after it) are in.
        async fn read_head(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> String {
            loop {
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                    buf.drain(..at + 4);
                    return head;
                }
                let mut chunk = [0u8; 2048];
                let read = conn.read(&mut chunk).await.unwrap();
                assert!(read > 0, "the server closed the connection");
                buf.extend_from_slice(&chunk[..read]);
            }
        }
        conn.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await.unwrap();
        let head = read_head(&mut conn, &mut buf).await;
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap();
        while buf.len() < length {
            let mut chunk = [0u8; 2048];
            let read = conn.read(&mut chunk).await.unwrap();
            assert!(read > 0);
            buf.extend_from_slice(&chunk[..read]);
        }
        buf.drain(..length);
        conn.write_all(format!("GET /partners/notifications/stream/ HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let head = read_head(&mut conn, &mut buf).await;
        assert!(head.starts_with("http/1.1 200") && !head.contains("connection: close"), "{head}");
        conn
    };
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let batch = (n - streams.len()).min(200);
        streams.extend(futures_util::future::join_all((0..batch).map(|_| one(host.clone()))).await);
    }
    streams
}

/// A vendor (with a pickup address), signed in: (partner id, session cookie).
async fn vendor(db: &Db, email: &str) -> (String, String) {
    let hash = password::hash("bench-password-1").unwrap();
    let new = partners::NewPartner {
        business_name: "Streams",
        contact_name: "S",
        phone: "+237677000000",
        email,
        password_hash: &hash,
        language: "fr",
    };
    let (user_id, partner_id) = partners::create(db, &new).await.unwrap();
    partners::approve(db, &partner_id).await.unwrap();
    on_db!(db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1").bind(&partner_id).execute(pool).await.map(|_| ())).unwrap();
    let session = delivr::auth::sessions::create(db, &user_id).await.unwrap();
    (partner_id, format!("delivr_session={session}"))
}

/// Idle event streams: the server's resident memory per stream, with `n` open; then one
/// courier position to `fan` streams of the partner: the 99th percentile of arrivals.
async fn streams(t: &mut Table, backend: &Backend, dir: &std::path::Path, n: usize, fan: usize) {
    let url = backend.fresh(dir, "streams").await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    delivr::geo::seed(&db).await.unwrap();
    delivr::pricing::seed_defaults(&db).await.unwrap();
    let (partner_id, cookie) = vendor(&db, "sse@shop.cm").await;
    // An order assigned to a courier, whose position the vendor's streams will hear of.
    let partner = partners::by_id(&db, &partner_id).await.unwrap().unwrap();
    let draft = delivr::orders::Draft {
        dropoff_city: "Douala".into(),
        dropoff_quartier: "Makepe".into(),
        dropoff_address: "Derrière la pharmacie".into(),
        recipient_name: "Paul".into(),
        recipient_phone: "677987654".into(),
        package_description: "Colis".into(),
        ..Default::default()
    };
    let bus = delivr::events::Bus::default();
    let valid = delivr::orders::validate(&db, delivr::i18n::Lang::Fr, &partner, &draft).await.unwrap().unwrap();
    let sys = delivr::orders::service::Actor::system();
    let now = delivr::db::now_ms();
    let o = delivr::orders::service::create(&db, &bus, &partner_id, delivr::orders::service::Source::Api, &valid, &sys, now).await.unwrap();
    let hash = password::hash("courier-password-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&db, delivr::auth::Role::Courier, "c@c.cm", "C", None, &hash).await.unwrap();
    let assign = delivr::orders::model::Action::Assign { courier_id: courier.clone() };
    let o = delivr::orders::service::transition(&db, &bus, &o, &assign, &sys, now).await.unwrap();
    db.close().await;

    let served = Served::start(&url, &[]).await;
    let stream_url = format!("{}/partners/notifications/stream/", served.base);
    let b = backend.name;
    {
        // Warm the process up with half as many streams first: memory it freed while starting
        // (compressing its assets, migrating) is handed back to the system or taken again by
        // those, not counted as the measured streams' (it hid them entirely on SQLite).
        let _warm = open_streams(&stream_url, &cookie, n / 2).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = served.rss();
        let open = open_streams(&stream_url, &cookie, n).await;
        let opened = open.iter().filter(|r| r.status().is_success()).count();
        assert_eq!(opened, n, "every stream opened");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let per = served.rss().saturating_sub(before) as f64 / opened as f64 / 1024.0;
        t.push(
            format!("{n} idle event streams (after {} more), {b}: server's resident memory per stream", n / 2),
            format!("{per:.1} KiB"),
            "≤ 16 KiB",
            Some(per <= 16.0),
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        // The same, each stream asked for on a connection that served a request first (a
        // browser reusing the page's connection, a proxy's kept-alive upstream): hyper's.
        let m = n / 5;
        let _warm = open_streams_kept_alive(&served.base, &cookie, m / 2).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = served.rss();
        let open = open_streams_kept_alive(&served.base, &cookie, m).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let per = served.rss().saturating_sub(before) as f64 / open.len() as f64 / 1024.0;
        t.info(
            format!("{m} idle event streams on kept-alive connections (hyper's), {b}: resident memory per stream"),
            format!("{per:.1} KiB"),
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{}/courier/v1/login", served.base))
        .json(&serde_json::json!({"email": "c@c.cm", "password": "courier-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("courier token").to_owned();
    let mut open = open_streams(&stream_url, &cookie, fan).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    let sent = client
        .post(format!("{}/courier/v1/positions", served.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"order_id": o.id.to_string(), "lat": 4.06, "lng": 9.72}))
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "position refused: {}", sent.status());
    let waits = open.iter_mut().map(|s| async move {
        let mut buf = String::new();
        while !buf.contains("event: position") {
            match tokio::time::timeout(Duration::from_secs(10), s.chunk()).await {
                Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
                _ => return Duration::from_secs(10),
            }
        }
        started.elapsed()
    });
    let mut times = futures_util::future::join_all(waits).await;
    times.sort();
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    t.push(
        format!("one position to {fan} streams of a partner, {b}: 99th percentile arrival"),
        ms(p99),
        "≤ 100 ms",
        Some(p99 <= Duration::from_millis(100)),
    );
}

/// The analytics page for 12 months, vendor with a million orders (1 200 000 in the database):
/// the 95th percentile of the time to first byte over 50 requests (after 10 that warm up).
async fn analytics(t: &mut Table, backend: &Backend, dir: &std::path::Path) -> String {
    let url = backend.fresh(dir, "analytics").await;
    let (db, _, cookie) = fill(&url, ANALYTICS_ORDERS, 20).await;
    db.close().await;
    let served = Served::start(&url, &[]).await;
    let page = format!("{}/partners/analytics/?period=12m", served.base);
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for i in 0..60 {
        let started = Instant::now();
        let resp = client.get(&page).header("cookie", &cookie).header("accept-encoding", "br").send().await.unwrap();
        let ttfb = started.elapsed();
        assert!(resp.status().is_success());
        assert!(resp.bytes().await.unwrap().len() > 1000);
        if i >= 10 {
            times.push(ttfb);
        }
    }
    times.sort();
    let p95 = times[times.len() * 95 / 100 - 1];
    let b = backend.name;
    t.push(
        format!("`/partners/analytics/` 12 months, 1 000 000 orders, {b}: time to first byte, p95"),
        ms(p95),
        "≤ 50 ms",
        Some(p95 <= Duration::from_millis(50)),
    );
    let (first, _) = page_weight(&served.base, "/partners/analytics/?period=12m", &cookie).await;
    format!("{:.1} KB", first as f64 / 1024.0)
}

/// Compressed bytes of a page and of every asset it references (first visit), and of the
/// page alone (repeat visit: the assets are cached as immutable).
async fn page_weight(base: &str, path: &str, cookie: &str) -> (usize, usize) {
    let client = reqwest::Client::builder().build().unwrap();
    let fetch = |url: String| {
        let client = client.clone();
        let cookie = cookie.to_owned();
        async move { client.get(url).header("accept-encoding", "br").header("cookie", cookie).send().await.unwrap().bytes().await.unwrap() }
    };
    // reqwest does not decode brotli here (no feature), so body lengths are compressed sizes.
    let html = fetch(format!("{base}{path}")).await;
    let decoded = {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &html[..], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let mut total = html.len();
    for part in decoded.split("/static/").skip(1) {
        let name = part.split('"').next().unwrap();
        total += fetch(format!("{base}/static/{name}")).await.len();
    }
    (total, html.len())
}

/// Lighthouse (npm, `assets/`) on one page with Debian's Chromium, mobile emulation and its
/// simulated slow-4G throttling: the performance and accessibility scores (0–100).
fn lighthouse(url: &str, cookie: &str) -> (u32, u32) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new("node")
        .arg(root.join("assets/node_modules/lighthouse/cli/index.js"))
        .arg(url)
        .args(["--quiet", "--form-factor=mobile", "--only-categories=performance,accessibility", "--output=json"])
        .arg(format!("--output-path={}", out.path().display()))
        .arg(format!("--chrome-path={}", std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())))
        .arg("--chrome-flags=--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync")
        .arg(format!("--extra-headers={}", serde_json::json!({ "Cookie": cookie })))
        .status()
        .expect("node runs lighthouse");
    assert!(status.success(), "lighthouse failed on {url}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.path()).unwrap()).unwrap();
    let score = |c: &str| (report["categories"][c]["score"].as_f64().unwrap_or(0.0) * 100.0).round() as u32;
    (score("performance"), score("accessibility"))
}

/// The dashboard on slow 3G (50 KB/s, 2 s round trip): usable after (cold, warm) milliseconds.
fn slow_3g(base: &str, cookie: &str) -> (u64, u64) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("node")
        .arg(root.join("tests/bench/slow3g.mjs"))
        .env("BASE_URL", base)
        .env("COOKIE", cookie)
        .output()
        .expect("node runs");
    assert!(output.status.success(), "slow3g.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    (line["cold_ms"].as_u64().unwrap(), line["warm_ms"].as_u64().unwrap())
}

/// What a phone sees: page weights, slow 3G and Lighthouse, on a vendor with 40 orders.
async fn browser(t: &mut Table, dir: &std::path::Path) {
    let url = format!("sqlite://{}", dir.join("browser.db").display());
    let (db, partner_id, cookie) = fill(&url, 40, 0).await;
    let token: String = on_db!(&db, pool => sqlx::query_scalar("SELECT public_token FROM orders WHERE partner_id = $1 LIMIT 1").bind(&partner_id).fetch_one(pool).await).unwrap();
    db.close().await;
    let served = Served::start(&url, &[]).await;
    let base = &served.base;
    let (first, repeat) = page_weight(base, "/partners/dashboard/", &cookie).await;
    t.push(
        "dashboard first load, HTML + CSS + JS, brotli",
        format!("{:.1} KB", first as f64 / 1024.0),
        "≤ 40 KB",
        Some(first <= 40 * 1024),
    );
    t.info("dashboard repeat visit (HTML only; assets are immutable)", format!("{:.1} KB", repeat as f64 / 1024.0));
    let (tracking, _) = page_weight(base, "/partners/tracking/", &cookie).await;
    t.push(
        "tracking page first load (HTML, CSS, JS incl. Leaflet; no tiles), brotli",
        format!("{:.1} KB", tracking as f64 / 1024.0),
        "≤ 100 KB",
        Some(tracking <= 100 * 1024),
    );
    let (cold, warm) = slow_3g(base, &cookie);
    t.push(
        "dashboard usable on slow 3G (50 KB/s, 2 s RTT), cold cache",
        format!("{:.1} s", cold as f64 / 1000.0),
        "≤ 5 s",
        Some(cold <= 5000),
    );
    t.push(
        "dashboard usable on slow 3G, warm cache (HTTP cache; service worker blocked)",
        format!("{:.1} s", warm as f64 / 1000.0),
        "≤ 2.5 s",
        Some(warm <= 2500),
    );
    for (name, path) in [
        ("dashboard", "/partners/dashboard/".to_owned()),
        ("orders list", "/partners/orders/".to_owned()),
        ("tracking map", "/partners/tracking/".to_owned()),
        ("public tracking page", format!("/t/{token}/")),
    ] {
        let (perf, a11y) = lighthouse(&format!("{base}{path}"), &cookie);
        t.push(
            format!("Lighthouse mobile (slow 4G), {name}: performance / accessibility"),
            format!("{perf} / {a11y}"),
            "≥ 95 / ≥ 95",
            Some(perf >= 95 && a11y >= 95),
        );
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    harness::check_wrk();
    let dir = tempfile::tempdir().unwrap();
    let mut t = Table::default();
    let hello_url = harness::spawn_hello().await;
    let hello: Load = wrk(&hello_url, &[], None);
    t.info("hello-world poem handler (reference)", format!("{:.0} req/s, p99 {}", hello.rps, ms(hello.p99)));
    let mut analytics_weight = None;
    for backend in backends() {
        eprintln!("{}:", backend.name);
        if wanted("http") || wanted("export") {
            http(&mut t, &backend, dir.path(), &hello_url).await;
        }
        if wanted("webhooks") {
            webhooks(&mut t, &backend, dir.path(), 20, 1_000).await;
        }
        if wanted("streams") {
            // `BENCH_STREAMS=1000` fewer idle streams (under a profiler, say).
            let idle = std::env::var("BENCH_STREAMS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
            streams(&mut t, &backend, dir.path(), idle, 1_000).await;
        }
        if wanted("analytics") {
            analytics_weight = Some(analytics(&mut t, &backend, dir.path()).await);
        }
    }
    if let Some(weight) = analytics_weight {
        t.info("analytics page with all its charts, first load (HTML, CSS, JS), brotli (≤ 60 KB)", weight);
    }
    if wanted("browser") {
        browser(&mut t, dir.path()).await;
    }
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("Run {now}, {cores} cores; wrk -t{} -c{} -d{}s out of process.", harness::THREADS, harness::CONNECTIONS, harness::SECONDS);
    println!();
    print!("{}", t.markdown());
}
