//! Riding through a database restart. A private PostgreSQL, started by the test in its own
//! directory on its own port, is stopped for 20 seconds and started again while two `delivr
//! serve` processes take API writes (orders and payouts, each with an idempotency key, retried
//! on `503` as a client should) and deliver webhooks. While it is down every request is answered
//! quickly, `503` with `Retry-After` (no hang, no crash); afterwards the portal recovers by
//! itself: every order and payout exists exactly once, the wallet equals its ledger, every
//! webhook event reaches the receiver exactly once, and the live stream held by one instance
//! hears an order created on the other (its `LISTEN` resumed).

use std::{
    collections::HashSet,
    path::PathBuf,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;

use crate::{
    helpers::{client, csrf_in, free_port},
    scale::start,
    webhooks::Receiver,
};

/// A PostgreSQL server of the test's own: `initdb` in a temporary directory, `pg_ctl` to start
/// and stop it (as the `postgres` user when the test runs as root, which PostgreSQL refuses).
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn init() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server programs under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .max()
            .expect("pg_ctl under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let pg = PrivatePostgres { bin, data, dir, port: free_port() };
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(pg.dir.path()).status().unwrap();
            assert!(status.success(), "chown of the private PostgreSQL's directory");
        }
        pg.run("initdb", &["-D", pg.data.to_str().unwrap(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
        pg
    }

    /// One of PostgreSQL's programs, as the `postgres` user when this is root.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log");
        self.run("pg_ctl", &["-D", self.data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "start"]);
    }

    /// A fast shutdown: sessions are ended, the server stops accepting connections.
    fn stop(&self) {
        self.run("pg_ctl", &["-D", self.data.to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = cmd.arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).output();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    created: AtomicUsize,
    unavailable: AtomicUsize,
    /// Answers other than the expected success or `503` with `Retry-After`.
    wrong: Mutex<Vec<String>>,
    slowest_ms: AtomicUsize,
}

/// POST `body` to `url` with one idempotency key until it succeeds, as a careful client does:
/// on `503` wait the `Retry-After` it was given (capped to keep the test short) and retry.
async fn post_until_done(http: &reqwest::Client, url: &str, key: &str, body: &serde_json::Value, seen: &Seen) {
    let idem = uuid::Uuid::new_v4().to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "{url} never succeeded");
        let started = Instant::now();
        let resp = http
            .post(url)
            .header("authorization", format!("Api-Key {key}"))
            .header("idempotency-key", &idem)
            .timeout(Duration::from_secs(30))
            .json(body)
            .send()
            .await;
        seen.slowest_ms.fetch_max(started.elapsed().as_millis() as usize, Ordering::SeqCst);
        match resp {
            Ok(r) if r.status().is_success() => {
                seen.created.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                seen.unavailable.fetch_add(1, Ordering::SeqCst);
                let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
                let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let problem: serde_json::Value = r.json().await.unwrap_or_default();
                if retry.is_none() || kind != "application/problem+json" || problem["type"] != "https://delivr.cm/problems/unavailable" {
                    seen.wrong.lock().unwrap().push(format!("503 without Retry-After or problem: {kind} {problem}"));
                }
                // As told, but at most 2 s (the test's clients are impatient).
                tokio::time::sleep(Duration::from_secs(retry.unwrap_or(1).min(2))).await;
            }
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                seen.wrong.lock().unwrap().push(format!("{status}: {text}"));
                return;
            }
            Err(e) => {
                seen.wrong.lock().unwrap().push(format!("transport: {e}"));
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_is_ridden_through() {
    let pg = PrivatePostgres::init();
    pg.start();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let a = start(&url, dir.path(), "a", &["serve"]).await;
    let b = start(&url, dir.path(), "b", &["serve"]).await;

    // A vendor with money, a webhook on every event and an API key.
    let db = delivr::db::Db::connect(&url).await.unwrap();
    let hash = delivr::accounts::password::hash("restart-password-1").unwrap();
    let new = delivr::partners::repo::NewPartner {
        business_name: "Boutique Relance",
        contact_name: "R",
        phone: "+237677000000",
        email: "relance@shop.cm",
        password_hash: &hash,
        language: "fr",
    };
    let (_, partner) = delivr::partners::repo::create(&db, &new).await.unwrap();
    delivr::partners::repo::approve(&db, &partner).await.unwrap();
    delivr::on_db!(&db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1").bind(&partner).execute(pool).await.map(|_| ()))
        .unwrap();
    delivr::wallet::adjust(&db, &partner, delivr::money::Fcfa(10_000_000), "fonds de départ").await.unwrap();
    let events: Vec<String> = delivr::webhooks::EVENTS.iter().map(|e| (*e).to_owned()).collect();
    delivr::webhooks::save(&db, &partner, &receiver.url, &events, true).await.unwrap();
    let key = delivr::api_keys::create(&db, &partner, "restart").await.unwrap().unwrap().secret;

    // The vendor's live stream on A, recording the events it hears.
    let http = client();
    let login = http.get(format!("{}/accounts/login/", a.base)).send().await.unwrap().text().await.unwrap();
    let form = [("email", "relance@shop.cm"), ("password", "restart-password-1"), ("csrf", &csrf_in(&login))];
    assert_eq!(http.post(format!("{}/accounts/login/", a.base)).form(&form).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let (http, url, heard) = (http.clone(), format!("{}/partners/notifications/stream/", a.base), heard.clone());
        tokio::spawn(async move {
            // The stream may be closed by the outage: the page reconnects, and so does this.
            loop {
                if let Ok(mut resp) = http.get(&url).header("accept", "text/event-stream").send().await
                    && resp.status() == StatusCode::OK
                {
                    heard.lock().unwrap().push("open".to_owned());
                    while let Ok(Some(chunk)) = resp.chunk().await {
                        for line in String::from_utf8_lossy(&chunk).lines() {
                            if let Some(kind) = line.strip_prefix("event:") {
                                heard.lock().unwrap().push(kind.trim().to_owned());
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    crate::helpers::eventually("the stream on A is open", 10, async || heard.lock().unwrap().iter().any(|e| e == "open")).await;

    // The load: four clients, each writing orders or payouts one after the other on A and B.
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let payouts = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (http, seen, stop, payouts, key) = (reqwest::Client::new(), seen.clone(), stop.clone(), payouts.clone(), key.clone());
        let bases = [a.base.clone(), b.base.clone()];
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let base = &bases[(c + i) % 2];
                if c == 3 {
                    let body = serde_json::json!({"amount": 1000, "phone": "+237677987654"});
                    post_until_done(&http, &format!("{base}/api/v1/wallet/payouts"), &key, &body, &seen).await;
                    payouts.fetch_add(1, Ordering::SeqCst);
                } else {
                    let body = serde_json::json!({
                        "dropoff_city": "Douala", "dropoff_quartier": "Bonapriso", "dropoff_address": "Derrière la pharmacie",
                        "recipient": {"name": format!("Client {c}-{i}"), "phone": "677 98 76 54"},
                        "package_description": "Colis", "cod_amount": 1000
                    });
                    post_until_done(&http, &format!("{base}/api/v1/orders"), &key, &body, &seen).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    crate::helpers::eventually("the load is under way", 30, async || seen.created.load(Ordering::SeqCst) >= 20).await;

    // PostgreSQL stops for 20 seconds.
    pg.stop();
    let stopped_at = Instant::now();
    let created_before = seen.created.load(Ordering::SeqCst);
    // Meanwhile a browser gets the translated page with Retry-After, quickly.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = Instant::now();
    let page = http.get(format!("{}/partners/orders/", b.base)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(asked.elapsed() < Duration::from_secs(5), "the page waited {:?}", asked.elapsed());
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.text().await.unwrap().contains("Service temporarily unavailable"));
    let health = http.get(format!("{}/healthz", a.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE, "liveness says the database is unreachable");
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(stopped_at.elapsed())).await;
    let unavailable_while_down = seen.unavailable.load(Ordering::SeqCst);
    let created_while_down = seen.created.load(Ordering::SeqCst) - created_before;
    pg.start();

    // The portal recovers by itself: the load goes on, then stops.
    let resumed = seen.created.load(Ordering::SeqCst);
    crate::helpers::eventually("writes succeed again", 60, async || seen.created.load(Ordering::SeqCst) >= resumed + 20).await;
    let recovered_in = stopped_at.elapsed().saturating_sub(Duration::from_secs(20));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let wrong = seen.wrong.lock().unwrap().clone();
    // The instances' own logs (warnings and errors) beside a failure, to say which path answered.
    let logs = || [&a, &b].map(|i| std::fs::read_to_string(&i.log).unwrap_or_default()).join("\n---\n");
    assert!(wrong.is_empty(), "answers other than success or 503 with Retry-After: {wrong:?}\n{}", logs());
    assert!(unavailable_while_down > 0, "requests were refused while the database was down");
    assert!(created_while_down <= 4, "nothing can be created without the database ({created_while_down})");
    let slowest = seen.slowest_ms.load(Ordering::SeqCst);
    assert!(slowest < 6_000, "a request waited {slowest} ms");

    // LISTEN resumed: an order created on B is heard on A's stream.
    let before = heard.lock().unwrap().len();
    let one = Seen::default();
    let body = serde_json::json!({
        "dropoff_city": "Douala", "dropoff_quartier": "Makepe", "dropoff_address": "Carrefour", "recipient": {"name": "Après", "phone": "677 98 76 54"},
        "package_description": "Colis", "cod_amount": 0
    });
    post_until_done(&reqwest::Client::new(), &format!("{}/api/v1/orders", b.base), &key, &body, &one).await;
    crate::helpers::eventually("A's stream hears B's order", 30, async || {
        heard.lock().unwrap()[before..].iter().any(|e| e.starts_with("order-"))
    })
    .await;

    // Exactly once: orders, payouts, ledger, webhooks.
    let count = |sql: String| {
        let db = db.clone();
        async move { delivr::on_db!(&db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await).unwrap() }
    };
    let created = seen.created.load(Ordering::SeqCst) + 1;
    let paid = payouts.load(Ordering::SeqCst);
    let orders = count(format!("SELECT COUNT(*) FROM orders WHERE partner_id = '{partner}'")).await as usize;
    let payout_rows = count(format!("SELECT COUNT(*) FROM payouts WHERE partner_id = '{partner}'")).await as usize;
    assert_eq!(orders + payout_rows, created, "each acknowledged write exists once");
    assert_eq!(payout_rows, paid, "each payout exists once");
    let unbalanced = count(
        "SELECT COUNT(*) FROM wallet_accounts a WHERE a.balance <> (SELECT COALESCE(SUM(e.amount), 0) FROM wallet_entries e WHERE e.partner_id = a.partner_id)".to_owned(),
    )
    .await;
    assert_eq!(unbalanced, 0, "the wallet equals its ledger");
    let doubled = count(
        "SELECT COUNT(*) FROM (SELECT order_id, kind FROM wallet_entries WHERE order_id IS NOT NULL GROUP BY order_id, kind HAVING COUNT(*) > 1) d"
            .to_owned(),
    )
    .await;
    assert_eq!(doubled, 0, "no ledger entry twice");
    let deadline = Instant::now() + Duration::from_secs(120);
    while count("SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'DELIVERED'".to_owned()).await > 0 {
        assert!(Instant::now() < deadline, "webhook deliveries still pending two minutes after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let expected: HashSet<String> = delivr::on_db!(&db, pool => sqlx::query_scalar::<_, String>(
        "SELECT id FROM domain_events WHERE partner_id = $1 AND kind <> 'partner.approved'"
    )
    .bind(&partner)
    .fetch_all(pool)
    .await)
    .unwrap()
    .into_iter()
    .collect();
    let got = receiver.got.lock().unwrap().clone();
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
    let distinct: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct, expected, "every event reached the receiver");
    assert_eq!(ids.len(), distinct.len(), "each exactly once, even those sent as the database stopped");

    // No instance crashed or panicked.
    for inst in [&a, &b] {
        let log = std::fs::read_to_string(&inst.log).unwrap();
        assert!(!log.contains("panicked"), "{log}");
    }
    let (mut a, mut b) = (a, b);
    assert!(a.child.try_wait().unwrap().is_none() && b.child.try_wait().unwrap().is_none(), "both instances still serve");
    println!(
        "PostgreSQL stopped 20 s under load: {unavailable_while_down} requests answered 503 meanwhile, slowest answer {slowest} ms; \
         writes succeeded again {:.1} s after the restart; {created} writes ({paid} payouts), {} webhook events, each once",
        recovered_in.as_secs_f64(),
        expected.len()
    );
}
