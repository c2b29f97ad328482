//! The installable portal: manifest, icons, service worker, offline page; and orders drafted
//! offline, sent with their own key, made once.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(the_portal_is_installable, an_offline_draft_sent_twice_makes_one_order);

async fn the_portal_is_installable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let login = app.get("/accounts/login/").await.text().await.unwrap();
    let href = login.split("rel=\"manifest\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(href.starts_with("/manifest/manifest.fr."), "{href}");
    let manifest = app.other_browser().get(&href).await;
    assert_eq!(manifest.headers()["content-type"], "application/manifest+json");
    assert_eq!(manifest.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(manifest.headers().get("set-cookie").is_none());
    let m: Value = manifest.json().await.unwrap();
    assert_eq!(
        (m["start_url"].as_str(), m["display"].as_str(), m["theme_color"].as_str()),
        (Some("/partners/dashboard/"), Some("standalone"), Some("#0f6e55"))
    );
    let icons = m["icons"].as_array().unwrap();
    for size in ["192x192", "512x512"] {
        let icon = icons.iter().find(|i| i["sizes"] == size && i["purpose"] == "any").unwrap();
        let resp = app.other_browser().get(icon["src"].as_str().unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get("set-cookie").is_none(), "icons carry no cookie");
        let img = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(format!("{}x{}", img.width(), img.height()), size);
    }
    assert!(icons.iter().any(|i| i["purpose"] == "maskable"));

    let sw = app.get("/sw.js").await;
    assert_eq!(sw.headers()["cache-control"], "no-cache");
    assert_eq!(sw.headers()["service-worker-allowed"], "/");
    let sw = sw.text().await.unwrap();
    assert!(!sw.contains("__"), "every placeholder is filled");
    let css = login.split("/static/app.").nth(1).unwrap().split('"').next().unwrap();
    assert!(sw.contains(&format!("/static/app.{css}")), "the worker precaches this build's stylesheet");

    let offline = app.get("/offline/").await.text().await.unwrap();
    assert!(offline.contains("Vous êtes hors ligne"));
}

async fn an_offline_draft_sent_twice_makes_one_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.approved_vendor("Boutique", "a@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    let token = app.csrf("/partners/orders/new/").await;
    let fields = [
        ("recipient_name", "Paul Nkwi"),
        ("recipient_phone", "677987654"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "1012"),
        ("dropoff_address", "Derrière la pharmacie"),
        ("package_description", "Chaussures"),
        ("csrf", token.as_str()),
    ];
    let send = |key: &'static str| app.client.post(app.url("/partners/orders/new/")).header("idempotency-key", key).form(&fields).send();
    let (a, b) = tokio::join!(send("3f1c2a9e-7d4b-4e8a-9c1f-2b6d8e0a4c11"), send("3f1c2a9e-7d4b-4e8a-9c1f-2b6d8e0a4c11"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.status(), b.status()), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert_eq!(location(&a), location(&b), "the same order, twice");
    assert_eq!(app.count("orders").await, 1);
    let created: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM domain_events WHERE kind = 'order.created'").fetch_one(pool).await).unwrap();
    assert_eq!(created, 1, "one order.created");
    let c = send("another-key-0001").await.unwrap();
    assert_ne!(location(&c), location(&a));
    assert_eq!(app.count("orders").await, 2);
    let bad = send("bad key!").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("orders").await, 2);
}
