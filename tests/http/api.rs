//! The integrator API: keys, authentication, orders endpoints, idempotency, rate limits,
//! problem documents, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

both_backends!(
    keys_are_shown_once_and_stored_hashed,
    unapproved_partners_cannot_create_keys,
    revoked_keys_and_suspended_partners_stop_at_once,
    orders_through_the_api,
    keys_act_only_on_their_partners_data,
    idempotency_replays_refuses_and_serialises,
    rate_limit_answers_429_with_headers,
    every_error_is_a_problem_document,
    the_openapi_document_and_docs_are_served,
    a_failure_is_told_in_the_callers_language,
    the_dashboard_creates_a_key_shown_once,
);

/// An approved vendor with a pickup address and an API key; returns (partner id, key).
async fn vendor_with_key(app: &TestApp, name: &str, email: &str) -> (String, String) {
    let id = app.approved_vendor(name, email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    let key = app.api_key("Boutique WooCommerce").await;
    assert!(key.starts_with("dlv_") && key.len() > 40, "{key}");
    (id, key)
}

fn order_body() -> Value {
    json!({
        "dropoff_city": "Douala",
        "dropoff_quartier": "bonamoussadi",
        "dropoff_address": "Derrière la pharmacie du Carrefour",
        "recipient": {"name": "Paul Nkwi", "phone": "677 98 76 54"},
        "package_description": "Chaussures",
        "size_class": "M",
        "cod_amount": 15000
    })
}

async fn call(app: &TestApp, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(&format!("/api/v1{path}"))).header("authorization", format!("Api-Key {key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn problem(resp: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json", "{status}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().unwrap().starts_with("https://delivr.cm/problems/"));
    assert!(!body["title"].as_str().unwrap().is_empty());
    body
}

async fn keys_are_shown_once_and_stored_hashed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    let list = app.get("/partners/api-keys/").await.text().await.unwrap();
    assert!(!list.contains(&key), "never shown again");
    let prefix = key.split('.').next().unwrap();
    assert!(list.contains(prefix) && list.contains("Boutique WooCommerce"));
    let (stored, stored_prefix): (String, String) =
        delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT hashed_key, prefix FROM api_keys").fetch_one(pool).await).unwrap();
    assert_eq!(stored_prefix, prefix);
    assert_ne!(stored, key);
    assert_eq!(stored, delivr::security::sha256_hex(key.as_bytes()));
    // A key with no name is refused next to the field.
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", " ")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("api_keys").await, 1);
}

async fn unapproved_partners_cannot_create_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "a@shop.cm").await;
    let resp = app.post_form("/partners/pending/", "/partners/api-keys/", &[("name", "x")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::helpers::location(&resp), "/partners/pending/");
    let id = app.partner_id("a@shop.cm").await;
    assert!(delivr::api_keys::create(&app.state.db, &id, "x").await.unwrap().is_none());
    assert_eq!(app.count("api_keys").await, 0);
    assert!(app.get("/partners/pending/").await.text().await.unwrap().contains("Compte en attente"));
}

async fn revoked_keys_and_suspended_partners_stop_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (partner, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    assert_eq!(call(&app, &key, reqwest::Method::GET, "/orders", None).await.status(), StatusCode::OK);
    let key_id: String =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM api_keys").fetch_one(pool).await).unwrap();
    // Revoking asks first, naming the key; the key works until the yes.
    let resp = app.post_form("/partners/api-keys/", &format!("/partners/api-keys/{key_id}/revoke/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Révoquer la clé « "));
    let resp = app.post_form("/partners/api-keys/", &format!("/partners/api-keys/{key_id}/revoke/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    problem(call(&app, &key, reqwest::Method::GET, "/orders", None).await, StatusCode::UNAUTHORIZED).await;
    // A fresh key works until the partner is suspended.
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Second")]).await;
    let html = resp.text().await.unwrap();
    let key2 = html.split("id=\"new-key\"").nth(1).unwrap().split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(call(&app, &key2, reqwest::Method::GET, "/orders", None).await.status(), StatusCode::OK);
    delivr::partners::repo::suspend(&app.state.db, &partner, "test").await.unwrap();
    problem(call(&app, &key2, reqwest::Method::GET, "/orders", None).await, StatusCode::UNAUTHORIZED).await;
    // Malformed keys and schemes.
    for header in ["Api-Key nope", "Bearer x", "Api-Key dlv_AAAAAAAA.wrong", ""] {
        let resp = app.client.get(app.url("/api/v1/orders")).header("authorization", header).send().await.unwrap();
        problem(resp, StatusCode::UNAUTHORIZED).await;
    }
}

async fn orders_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    let quote: Value = call(
        &app,
        &key,
        reqwest::Method::POST,
        "/quotes",
        Some(json!({"dropoff_city": "Douala", "dropoff_quartier": "Bonamoussadi", "size_class": "M"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let total = quote["pricing"]["total"].as_i64().unwrap();
    assert_eq!(quote["currency"], "XAF");
    assert_eq!(quote["pricing"]["commission"].as_i64().unwrap() + quote["pricing"]["net"].as_i64().unwrap(), total);
    let resp = call(&app, &key, reqwest::Method::POST, "/orders", Some(order_body())).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().contains_key("ratelimit-remaining"));
    let order: Value = resp.json().await.unwrap();
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["source"], "API");
    assert_eq!(order["recipient"]["phone"], "+237677987654");
    assert_eq!(order["pricing"]["total"], total);
    assert_eq!(order["dropoff"]["quartier"], "Bonamoussadi");
    let id = order["id"].as_str().unwrap().to_owned();
    let tracking = order["tracking_number"].as_str().unwrap().to_owned();
    // Get by id and by tracking number; list; timeline.
    let by_tracking: Value =
        call(&app, &key, reqwest::Method::GET, &format!("/orders/{}", tracking.to_lowercase()), None).await.json().await.unwrap();
    assert_eq!(by_tracking["id"], id.as_str());
    let page: Value = call(&app, &key, reqwest::Method::GET, "/orders?status=PENDING&limit=10", None).await.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert!(page.get("next_cursor").is_none() || page["next_cursor"].is_null());
    let timeline: Value = call(&app, &key, reqwest::Method::GET, &format!("/orders/{id}/timeline"), None).await.json().await.unwrap();
    assert_eq!(timeline["events"][0]["status"], "PENDING");
    assert_eq!(timeline["events"][0]["actor"], "VENDOR");
    problem(call(&app, &key, reqwest::Method::GET, &format!("/orders/{id}/position"), None).await, StatusCode::NOT_FOUND).await;
    // Cancel, then cancelling again is a conflict.
    let cancelled: Value =
        call(&app, &key, reqwest::Method::POST, &format!("/orders/{id}/cancel"), Some(json!({"reason": "client injoignable"})))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancel_reason"], "client injoignable");
    problem(call(&app, &key, reqwest::Method::POST, &format!("/orders/{id}/cancel"), Some(json!({}))).await, StatusCode::CONFLICT).await;
    // Pagination with cursors over 25 orders.
    for _ in 0..25 {
        assert_eq!(call(&app, &key, reqwest::Method::POST, "/orders", Some(order_body())).await.status(), StatusCode::CREATED);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/orders?limit=10&cursor={c}"),
            None => "/orders?limit=10".to_owned(),
        };
        let page: Value = call(&app, &key, reqwest::Method::GET, &path, None).await.json().await.unwrap();
        for o in page["data"].as_array().unwrap() {
            assert!(seen.insert(o["id"].as_str().unwrap().to_owned()), "no order twice");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
}

async fn keys_act_only_on_their_partners_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key_a) = vendor_with_key(&app, "Boutique A", "a@shop.cm").await;
    let b = app.other_browser();
    let (_, key_b) = vendor_with_key(&b, "Boutique B", "b@shop.cm").await;
    let order: Value = call(&app, &key_a, reqwest::Method::POST, "/orders", Some(order_body())).await.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    let tracking = order["tracking_number"].as_str().unwrap();
    for path in [format!("/orders/{id}"), format!("/orders/{tracking}"), format!("/orders/{id}/timeline"), format!("/orders/{id}/position")]
    {
        let body = problem(call(&app, &key_b, reqwest::Method::GET, &path, None).await, StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "https://delivr.cm/problems/not-found");
    }
    problem(call(&app, &key_b, reqwest::Method::POST, &format!("/orders/{id}/cancel"), Some(json!({}))).await, StatusCode::NOT_FOUND).await;
    let page: Value = call(&app, &key_b, reqwest::Method::GET, "/orders", None).await.json().await.unwrap();
    assert!(page["data"].as_array().unwrap().is_empty());
    let status: String =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT status FROM orders").fetch_one(pool).await).unwrap();
    assert_eq!(status, "PENDING");
}

async fn idempotency_replays_refuses_and_serialises(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    let post = |idem: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url("/api/v1/orders"))
            .header("authorization", format!("Api-Key {key}"))
            .header("idempotency-key", idem)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = post("order-42", order_body()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let replay = post("order-42", order_body()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);
    let mut other = order_body();
    other["cod_amount"] = json!(1);
    let body = problem(post("order-42", other).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["type"], "https://delivr.cm/problems/idempotency-mismatch");
    assert_eq!(app.count("orders").await, 1);

    // Fifty concurrent creates with one key make one order; the others replay it or are told
    // it is still in flight.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let req = app
            .client
            .post(app.url("/api/v1/orders"))
            .header("authorization", format!("Api-Key {key}"))
            .header("idempotency-key", "burst-1")
            .json(&order_body());
        tasks.push(tokio::spawn(async move { req.send().await.unwrap().status() }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::CREATED));
    assert_eq!(app.count("orders").await, 2);
    // A bad key header is refused.
    problem(post("", order_body()).await, StatusCode::BAD_REQUEST).await;
    // A claim whose request died mid-way (no response recorded) frees its key after a minute.
    let stale = delivr::db::now_ms() - 2 * 60_000;
    app.exec(&format!("INSERT INTO idempotency_keys (partner_id, key, request_hash, created_at) SELECT partner_id, 'dead-1', 'x', {stale} FROM api_keys LIMIT 1")).await;
    assert_eq!(post("dead-1", order_body()).await.status(), StatusCode::CREATED);
}

async fn rate_limit_answers_429_with_headers(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api_rate_limit = 5).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    for i in 0..5 {
        let resp = call(&app, &key, reqwest::Method::GET, "/orders", None).await;
        assert_eq!(resp.status(), StatusCode::OK, "request {i}");
        assert_eq!(resp.headers()["ratelimit-limit"], "5");
        assert_eq!(resp.headers()["ratelimit-remaining"], (4 - i).to_string().as_str());
    }
    let resp = call(&app, &key, reqwest::Method::GET, "/orders", None).await;
    let retry: i64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    problem(resp, StatusCode::TOO_MANY_REQUESTS).await;
}

async fn every_error_is_a_problem_document(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    let raw = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/orders"))
            .header("authorization", format!("Api-Key {key}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    problem(raw("{not json").await.unwrap(), StatusCode::BAD_REQUEST).await;
    problem(raw("{\"dropoff_city\": 12}").await.unwrap(), StatusCode::BAD_REQUEST).await;
    let mut unknown = order_body();
    unknown["colour"] = json!("red");
    problem(call(&app, &key, reqwest::Method::POST, "/orders", Some(unknown)).await, StatusCode::BAD_REQUEST).await;
    let huge = format!("{{\"dropoff_city\": \"{}\"}}", "x".repeat(100_000));
    let resp = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("authorization", format!("Api-Key {key}"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    let huge = format!("{{\"url\": \"{}\", \"events\": []}}", "x".repeat(100_000));
    let resp = app
        .client
        .put(app.url("/api/v1/webhook"))
        .header("authorization", format!("Api-Key {key}"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    // Validation: every bad field listed, title translated by Accept-Language.
    let mut bad = order_body();
    bad["recipient"]["phone"] = json!("123");
    bad["dropoff_quartier"] = json!("Atlantide");
    bad["cod_amount"] = json!(-5);
    let resp = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("authorization", format!("Api-Key {key}"))
        .header("accept-language", "en")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["title"], "Some fields need fixing.");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["recipient.phone", "dropoff_quartier", "cod_amount"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert_eq!(app.count("orders").await, 0);
    // A cursor is a well-formed string the document cannot check further: one the API did not
    // give is refused as a rule (422), not as a malformed request.
    problem(call(&app, &key, reqwest::Method::GET, "/orders?cursor=garbage", None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    // An undeclared method says which ones are allowed.
    let resp = app
        .client
        .request(reqwest::Method::PATCH, app.url("/api/v1/orders"))
        .header("authorization", format!("Api-Key {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET, POST");
    // Wrong types and null are refused where the document says so; a cancel needs no body.
    let body =
        problem(call(&app, &key, reqwest::Method::POST, "/orders", Some(json!({"dropoff_city": false}))).await, StatusCode::BAD_REQUEST)
            .await;
    assert!(body["errors"].as_array().unwrap().iter().any(|e| e["field"] == "dropoff_city"), "{body}");
    let mut null_required = order_body();
    null_required["package_description"] = Value::Null;
    problem(call(&app, &key, reqwest::Method::POST, "/orders", Some(null_required)).await, StatusCode::BAD_REQUEST).await;
    let bad_param = problem(call(&app, &key, reqwest::Method::GET, "/orders?limit=abc", None).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(bad_param["type"], "https://delivr.cm/problems/invalid-parameter");
    assert!(bad_param["detail"].as_str().unwrap().starts_with("limit:"), "{bad_param}");
    problem(call(&app, &key, reqwest::Method::GET, "/orders?limit=1000", None).await, StatusCode::BAD_REQUEST).await;
    problem(call(&app, &key, reqwest::Method::GET, "/orders?from=2026-99-99", None).await, StatusCode::BAD_REQUEST).await;
    problem(call(&app, &key, reqwest::Method::GET, "/orders?from=2026-05-10&to=2026-05-01", None).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    problem(call(&app, &key, reqwest::Method::GET, "/orders?status=LOST", None).await, StatusCode::BAD_REQUEST).await;
    let none: Value = call(&app, &key, reqwest::Method::GET, "/orders?city=Paris", None).await.json().await.unwrap();
    assert!(none["data"].as_array().unwrap().is_empty());
    problem(call(&app, &key, reqwest::Method::GET, "/orders/00000000-0000-0000-0000-000000000000", None).await, StatusCode::NOT_FOUND)
        .await;
    problem(call(&app, &key, reqwest::Method::GET, "/nowhere", None).await, StatusCode::NOT_FOUND).await;
    let resp = app.client.delete(app.url("/api/v1/orders")).header("authorization", format!("Api-Key {key}")).send().await.unwrap();
    assert!(resp.status() == StatusCode::METHOD_NOT_ALLOWED || resp.status() == StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

async fn the_openapi_document_and_docs_are_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spec: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let scheme = &spec["components"]["securitySchemes"]["ApiKeyAuth"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["name"], "Authorization");
    for path in ["/quotes", "/orders", "/orders/{id}", "/orders/{id}/cancel", "/orders/{id}/timeline", "/orders/{id}/position"] {
        assert!(spec["paths"][path].is_object(), "{path}");
    }
    assert!(spec["info"]["description"].as_str().unwrap().contains("X-Delivr-Signature"));
    let create = &spec["paths"]["/orders"]["post"];
    assert_eq!(create["operationId"], "createOrder", "generated clients get stable method names");
    assert!(create["responses"]["422"]["content"]["application/problem+json"].is_object());
    let docs = app.get("/partners/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().to_lowercase().contains("swagger"));
}

/// A failure inside an operation (here the payouts table is gone) is a `500` problem in the
/// language the request asked for, taken once by the middleware for every `?` in the operation.
async fn a_failure_is_told_in_the_callers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    app.exec("DROP TABLE payouts").await;
    for (lang, title) in [("en", "Internal error"), ("fr", "Erreur interne")] {
        let resp = app
            .client
            .get(app.url("/api/v1/wallet/payouts"))
            .header("authorization", format!("Api-Key {key}"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        let p = problem(resp, StatusCode::INTERNAL_SERVER_ERROR).await;
        assert_eq!(p["title"], title, "{p}");
        assert_eq!(p["type"], "https://delivr.cm/problems/internal");
    }
}

async fn the_dashboard_creates_a_key_shown_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique", "a@shop.cm").await;
    // A key needs a name: nothing is created without one.
    let resp = app.post_form("/partners/dashboard/", "/partners/dashboard/api-key/", &[("name", " ")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("api_keys").await, 0);
    let resp = app.post_form("/partners/dashboard/", "/partners/dashboard/api-key/", &[("name", "Boutique WooCommerce")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let key = html.split("id=\"new-key\"").nth(1).unwrap().split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(key.starts_with("dlv_") && html.contains("1 clé active"), "{html}");
    // It works at once, and is never shown again.
    let resp = app.client.get(app.url("/api/v1/orders")).header("authorization", format!("Api-Key {key}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!app.get("/partners/dashboard/").await.text().await.unwrap().contains(&key));
    assert!(!app.get("/partners/api-keys/").await.text().await.unwrap().contains(&key));
}
