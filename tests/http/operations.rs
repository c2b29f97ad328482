//! Operating it: the readiness probe, structured logs, metrics, backups and stopping.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, free_port, fresh_database, serve_command, wait_healthy},
};

both_backends!(readiness_says_what_is_wrong, json_logs_carry_the_request_and_the_partner, metrics_show_what_the_portal_does);

async fn readiness_says_what_is_wrong(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["database"].as_bool(), body["migrations"].as_bool()),
        (Some("ready"), Some(true), Some(true))
    );
    // An outbox that falls behind (a delivery waiting for two hours) makes the instance unready.
    let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
    // A loopback URL: the SSRF guard refuses it at send time, so nothing leaves the machine.
    delivr::webhooks::save(&app.state.db, &partner, "http://127.0.0.1:9/hooks", &["order.created".to_owned()], true).await.unwrap();
    let old = delivr::db::now_ms() - 2 * 3_600_000;
    app.exec(&format!(
        "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_kind, body, status, attempts, next_attempt_at, created_at) \
         VALUES ('d-old', '{partner}', 'e-old', 'order.created', '{{}}', 'PENDING', 3, {}, {old})",
        old + 10 * 3_600_000
    ))
    .await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.unwrap();
    assert!(body["outbox_oldest_secs"].as_i64().unwrap() >= 7_000, "{body}");
    // Liveness stays cheap and green.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    // A database whose migrations are behind the binary is not ready either.
    app.exec("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)").await;
    let body: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["migrations"].as_bool(), Some(false));
}

async fn json_logs_carry_the_request_and_the_partner(backend: Backend) {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(backend, dir.path()).await;
    let url = database.url.clone();
    let (partner, key) = {
        let app = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url.clone())).await;
        let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
        let key = delivr::api_keys::create(&app.state.db, &partner, "logs").await.unwrap().unwrap().secret;
        (partner, key)
    };
    let port = free_port();
    let mut child = serve_command(&url, port, &[("LOG", "info"), ("LOG_FORMAT", "json")]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let resp = client
        .get(format!("{base}/api/v1/orders"))
        .header("authorization", format!("Api-Key {key}"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-request-id"], "req-42");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut found = None;
    while found.is_none() && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
            if v["span"]["id"] == "req-42" {
                found = Some(v);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = found.expect("a log line of the request");
    assert_eq!(line["span"]["partner"], partner.as_str(), "{line}");
    assert_eq!(line["fields"]["message"], "served");
}

/// The value of the series `name` whose labels include every one of `labels`, in a Prometheus
/// text exposition.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (series_name == name && all).then(|| value.parse().ok()).flatten()
    })
}

/// `METRICS_BIND` serves the Prometheus text on its own address (never on the public one), and
/// the series move with what the portal does: requests by route pattern and status with their
/// latency, database calls, the pool, both outboxes, webhook outcomes, open streams, actors,
/// sign-in failures and rate-limit refusals.
async fn metrics_show_what_the_portal_does(backend: Backend) {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(backend, dir.path()).await;
    let url = database.url.clone();
    let receiver = crate::webhooks::Receiver::start().await;
    let setup = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url.clone())).await;
    let partner = setup.approved_vendor("Boutique Mesure", "mesure@shop.cm").await;
    let key = delivr::api_keys::create(&setup.state.db, &partner, "metrics").await.unwrap().unwrap().secret;
    delivr::webhooks::save(&setup.state.db, &partner, &receiver.url, &["order.created".to_owned()], true).await.unwrap();

    let (port, metrics_port) = (free_port(), free_port());
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let env = [("METRICS_BIND", metrics_bind.as_str()), ("API_RATE_LIMIT", "3"), ("ALLOW_LOOPBACK_WEBHOOKS", "true")];
    let mut child = serve_command(&url, port, &env).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let scrape = async || {
        let resp = client.get(format!("http://{metrics_bind}/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        resp.text().await.unwrap()
    };
    let before = scrape().await;
    // Not on the public address.
    assert_eq!(client.get(format!("{base}/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(client.get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);

    // A vendor's browser: a wrong password, then signed in with a live stream open.
    let browser = TestApp::browser_of(base.clone(), setup.state.clone());
    assert_eq!(browser.login("mesure@shop.cm", "pas-le-bon").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(browser.login("mesure@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    let mut stream = browser.client.get(browser.url("/partners/notifications/stream/")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // An integrator: a test event through the webhook, then past the rate limit (3 a minute).
    let api = |method: reqwest::Method, path: &str| {
        client.request(method, format!("{base}/api/v1{path}")).header("authorization", format!("Api-Key {key}"))
    };
    assert_eq!(api(reqwest::Method::POST, "/webhook/test").send().await.unwrap().status(), StatusCode::ACCEPTED);
    let mut refused = false;
    for _ in 0..5 {
        refused |= api(reqwest::Method::GET, "/orders").send().await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(refused, "the rate limit refused a request");
    crate::helpers::eventually("the receiver got the test event", 20, async || !receiver.got.lock().unwrap().is_empty()).await;

    let mut after = String::new();
    crate::helpers::eventually("the webhook outcome is counted", 20, async || {
        after = scrape().await;
        sample(&after, "delivr_webhook_attempts_total", &[("outcome", "delivered")]).is_some()
    })
    .await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let was = sample(&before, name, labels).unwrap_or(0.0);
        let now = sample(&after, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{after}"));
        assert!(now > was, "{name} {labels:?} did not move: {was} -> {now}");
        now
    };
    moved("delivr_http_requests_total", &[("method", "GET"), ("route", "/healthz"), ("status", "200")]);
    moved("delivr_http_requests_total", &[("method", "POST"), ("route", "/accounts/login/"), ("status", "422")]);
    // Refused before routing: counted under the API's prefix.
    moved("delivr_http_requests_total", &[("method", "GET"), ("route", "/api/v1"), ("status", "429")]);
    moved("delivr_http_requests_total", &[("method", "GET"), ("route", "unmatched"), ("status", "404")]);
    moved("delivr_http_request_duration_seconds_count", &[("method", "GET"), ("route", "/api/v1/orders")]);
    assert!(sample(&after, "delivr_http_request_duration_seconds_bucket", &[("route", "/api/v1/orders"), ("le", "+Inf")]).is_some());
    moved("delivr_db_call_duration_seconds_count", &[]);
    assert_eq!(moved("delivr_sign_in_failures_total", &[("kind", "password")]), 1.0);
    moved("delivr_rate_limit_refusals_total", &[("scope", "api")]);
    assert_eq!(moved("delivr_webhook_attempts_total", &[("outcome", "delivered")]), 1.0);
    assert_eq!(sample(&after, "delivr_live_streams_open", &[("kind", "portal")]), Some(1.0));
    assert!(sample(&after, "delivr_actors_running", &[]).unwrap() >= 1.0);
    assert!(sample(&after, "delivr_db_pool_connections", &[("state", "max")]).unwrap() >= 1.0);
    for outbox in ["webhooks", "messages"] {
        assert!(sample(&after, "delivr_outbox_depth", &[("outbox", outbox)]).is_some(), "{outbox}");
        assert!(sample(&after, "delivr_outbox_oldest_age_seconds", &[("outbox", outbox)]).is_some(), "{outbox}");
    }
    // One series per route, not per order: an id never appears as a label.
    assert!(!after.contains(&partner), "a partner id in the metrics");
    // Signing out ends the stream: the gauge goes back.
    browser.post_form("/partners/dashboard/", "/accounts/logout/", &[]).await;
    while let Ok(Some(_)) = stream.chunk().await {}
    crate::helpers::eventually("the closed stream is no longer counted", 20, async || {
        sample(&scrape().await, "delivr_live_streams_open", &[("kind", "portal")]) == Some(0.0)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
}

fn delivr(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_delivr")).args(args).env("DATABASE_URL", database_url).env("LOG", "error").output().unwrap()
}

/// The restore drill of the embedded database: a backup taken while the portal serves API
/// writes and the ledger moves, restored into a new file, served again: every order and ledger
/// entry committed before the backup began is there, every wallet equals its ledger, and a
/// restore is refused while a portal serves its target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_whole() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(Backend::Sqlite, dir.path()).await;
    let url = database.url.clone();
    let (key, partner) = {
        let (db, partner) = crate::crash::approved_partner(&url).await;
        delivr::pricing::seed_defaults(&db).await.unwrap();
        delivr::on_db!(&db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1").bind(&partner).execute(pool).await.map(|_| ())).unwrap();
        // A loopback URL: the SSRF guard refuses it at send time, so nothing leaves the machine.
        delivr::webhooks::save(&db, &partner, "http://127.0.0.1:9/hooks", &["order.created".to_owned()], true).await.unwrap();
        let key = delivr::api_keys::create(&db, &partner, "drill").await.unwrap().unwrap().secret;
        db.close().await;
        (key, partner)
    };
    let port = free_port();
    let mut server = serve_command(&url, port, &[("API_RATE_LIMIT", "1000000")]).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    // Writers: orders through the API (each with its outbox rows), adjustments to the ledger.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = std::sync::Arc::new([std::sync::atomic::AtomicUsize::new(0), std::sync::atomic::AtomicUsize::new(0)]);
    let orders = {
        let (stop, client, base, key, written) = (stop.clone(), client.clone(), base.clone(), key.clone(), written.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let body = serde_json::json!({
                    "dropoff_city": "Douala", "dropoff_quartier": "bonamoussadi", "dropoff_address": format!("Porte {i}"),
                    "recipient": {"name": "Paul Nkwi", "phone": "677 98 76 54"}, "package_description": "Chaussures"
                });
                let resp = client
                    .post(format!("{base}/api/v1/orders"))
                    .header("authorization", format!("Api-Key {key}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::CREATED);
                let v: Value = resp.json().await.unwrap();
                acknowledged.push((std::time::Instant::now(), v["id"].as_str().unwrap().to_owned()));
                written[0].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            acknowledged
        })
    };
    let ledger = {
        let (stop, url, partner, written) = (stop.clone(), url.clone(), partner.clone(), written.clone());
        tokio::spawn(async move {
            let db = delivr::db::Db::connect(&url).await.unwrap();
            let mut committed = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                delivr::wallet::adjust(&db, &partner, delivr::money::Fcfa(100 + i), &format!("drill {i}")).await.unwrap();
                committed.push((std::time::Instant::now(), format!("drill {i}")));
                written[1].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            committed
        })
    };
    // Under way: each writer has committed a few before the backup starts, and a few more after.
    let at_least = |n: [usize; 2]| {
        let written = written.clone();
        async move || written.iter().zip(n).all(|(w, n)| w.load(std::sync::atomic::Ordering::SeqCst) >= n)
    };
    crate::helpers::eventually("the writers are under way", 30, at_least([5, 5])).await;
    let backup = dir.path().join("backup.db");
    let began = std::time::Instant::now();
    let out = tokio::task::spawn_blocking({
        let (url, backup) = (url.clone(), backup.clone());
        move || delivr(&["backup", "--to", backup.to_str().unwrap()], &url)
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = [0, 1].map(|i| written[i].load(std::sync::atomic::Ordering::SeqCst) + 3);
    crate::helpers::eventually("the writers go on after the backup", 30, at_least(after)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acknowledged = orders.await.unwrap();
    let committed = ledger.await.unwrap();
    assert!(acknowledged.iter().filter(|(t, _)| *t < began).count() >= 3, "orders were being written");
    // Restoring over the database a portal serves is refused, and changes nothing.
    let refused = delivr(&["restore", "--from", backup.to_str().unwrap()], &url);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it before restoring"), "{}", String::from_utf8_lossy(&refused.stderr));
    let _ = server.kill();
    let _ = server.wait();
    // A damaged backup is refused before anything is touched.
    let damaged = dir.path().join("damaged.db");
    std::fs::write(&damaged, b"not a database at all").unwrap();
    let restored_url = format!("sqlite://{}", dir.path().join("restored.db").display());
    assert!(!delivr(&["restore", "--from", damaged.to_str().unwrap()], &restored_url).status.success());
    // Restored into a new file and served.
    let out = delivr(&["restore", "--from", backup.to_str().unwrap()], &restored_url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = TestApp::spawn_with(Backend::Sqlite, |c| *c = crate::helpers::test_config(restored_url.clone())).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let db = &app.state.db;
    for (at, id) in acknowledged.iter().filter(|(t, _)| *t < began) {
        let found = delivr::orders::repo::find(db, id).await.unwrap();
        assert!(found.is_some(), "order {id} acknowledged {:?} before the backup is in it", began - *at);
    }
    for (_, reason) in committed.iter().filter(|(t, _)| *t < began) {
        let n: i64 = delivr::on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM wallet_entries WHERE reason = $1").bind(reason).fetch_one(pool).await).unwrap();
        assert_eq!(n, 1, "{reason}");
    }
    let b = delivr::wallet::balance(db, &partner).await.unwrap();
    assert_eq!(b.balance, delivr::wallet::ledger_sum(db, &partner).await.unwrap(), "the wallet equals its ledger");
    let deliveries: i64 =
        delivr::on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries").fetch_one(pool).await).unwrap();
    assert!(deliveries >= 3, "the outbox came along");
}

/// PostgreSQL's procedure, as the README gives it: `pg_dump -Fc`, then `pg_restore` into a new
/// database, and the portal serves it with everything there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_dump_restores_whole() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(Backend::Postgres).await;
    let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{partner}'")).await;
    for _ in 0..3 {
        crate::helpers::new_order(&app, "5 000").await;
    }
    delivr::wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(12_345), "avant la sauvegarde").await.unwrap();
    let dump = dir.path().join("delivr.dump");
    let source = app.state.config.database_url.clone();
    let out = Command::new("pg_dump").args(["-Fc", "-f", dump.to_str().unwrap(), &source]).output().expect("pg_dump runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let database = fresh_database(Backend::Postgres, dir.path()).await;
    let target = database.url.clone();
    let out = Command::new("pg_restore").args(["--no-owner", "-d", &target, dump.to_str().unwrap()]).output().expect("pg_restore runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = TestApp::spawn_with(Backend::Postgres, |c| *c = crate::helpers::test_config(target.clone())).await;
    assert_eq!(restored.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(restored.count("orders").await, 3);
    let b = delivr::wallet::balance(&restored.state.db, &partner).await.unwrap();
    assert_eq!(b.balance, delivr::wallet::ledger_sum(&restored.state.db, &partner).await.unwrap());
    assert_eq!(b.balance, 12_345);
}

/// Stopping: open live streams are closed at once with a hint to reconnect (not waited on),
/// and the server is down well within its 10-second drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_closes_live_streams_with_a_reconnect_hint() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(fresh_database(Backend::Sqlite, dir.path()).await.url.clone());
    let app = delivr::app::App::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    let state = app.state.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let browser = TestApp::browser_of(base.clone(), state);
    browser.approved_vendor("Boutique", "a@shop.cm").await;
    let mut stream = browser.client.get(format!("{base}/partners/notifications/stream/")).send().await.unwrap();
    // Subscribed before its headers are sent: the stop reaches it.
    assert_eq!(stream.status(), StatusCode::OK);
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    let mut buf = String::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream closed: {buf}");
    assert!(buf.contains("retry: 2000") && buf.contains("event: reconnect"), "{buf}");
    tokio::time::timeout(Duration::from_secs(8), server).await.expect("stopped in time").unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(8), "{:?}", asked.elapsed());
}
