//! Operating it: the readiness probe and structured logs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, fresh_database},
};

both_backends!(readiness_says_what_is_wrong, json_logs_carry_the_request_and_the_partner);

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
    delivr::webhooks::save(&app.state.db, &partner, "https://example.com/hooks", &["order.created".to_owned()], true).await.unwrap();
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
    let url = fresh_database(backend, dir.path()).await;
    let (partner, key) = {
        let app = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url.clone())).await;
        let partner = app.approved_vendor("Boutique", "a@shop.cm").await;
        let key = delivr::api_keys::create(&app.state.db, &partner, "logs").await.unwrap().unwrap().secret;
        (partner, key)
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_delivr"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("LOG", "info")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
