//! Disputes: the lifecycle to a refund credited exactly once, the thread, the 14-day window,
//! one open dispute per order, isolation between vendors, evidence photos checked by decoding,
//! and the API.

use delivr::money::Fcfa;
use image::ImageFormat;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, Part, TestApp, delivered, image_bytes, location, new_order},
};
use delivr::{disputes, wallet};

both_backends!(
    a_dispute_goes_from_photo_to_refund_once,
    deadlines_one_open_dispute_and_isolation,
    bad_photos_are_refused_and_nothing_is_stored,
    the_disputes_api,
);

async fn vendor(app: &TestApp, name: &str, email: &str) -> String {
    let id = app.approved_vendor(name, email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

fn dispute_parts(reason: &'static str, amount: &'static str, photos: Vec<Vec<u8>>) -> Vec<Part<'static>> {
    let mut parts = vec![
        Part::Text("reason", reason),
        Part::Text("description", "Le carton est arrivé écrasé, deux verres cassés."),
        Part::Text("amount_claimed", amount),
    ];
    for bytes in photos {
        parts.push(Part::File { name: "photos", filename: "carton.png", content_type: "image/png", bytes });
    }
    parts
}

async fn open_dispute(app: &TestApp, order_id: &str, parts: Vec<Part<'static>>) -> reqwest::Response {
    let page = format!("/partners/disputes/new/{order_id}/");
    app.post_multipart(&page, &page, parts).await
}

async fn a_dispute_goes_from_photo_to_refund_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Boutique", "a@shop.cm").await;
    let order = delivered(&app, &new_order(&app, "15 000").await).await;
    let before = wallet::balance(&app.state.db, &partner).await.unwrap().balance;

    // The order's page offers the dispute; the form opens it with a photo.
    let page = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    assert!(page.contains(&format!("/partners/disputes/new/{}/", order.id)), "the order offers a dispute");
    let resp = open_dispute(&app, &order.id, dispute_parts("DAMAGED", "6 000", vec![image_bytes(2400, 1800, ImageFormat::Png)])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    let url = location(&resp);
    let id = url.trim_start_matches("/partners/disputes/").split('/').next().unwrap().to_owned();
    let d = disputes::find(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.amount_claimed, d.reason.as_str()), ("OPEN", Fcfa(6000), "DAMAGED"));
    assert!(d.number.starts_with("LIT-"));

    // The photo was shrunk and re-encoded as a JPEG, served to its owner only.
    let photos = disputes::photos(&app.state.db, &id).await.unwrap();
    assert_eq!(photos.len(), 1);
    assert_eq!((photos[0].width, photos[0].height), (1600, 1200));
    let detail = app.get(&url).await.text().await.unwrap();
    assert!(detail.contains("Le carton est arrivé écrasé"), "the description opens the thread");
    let photo_url = format!("/partners/disputes/{id}/photos/{}/", photos[0].id);
    let photo = app.get(&photo_url).await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    let bytes = photo.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"\xFF\xD8");
    assert_eq!(app.other_browser().get(&photo_url).await.status(), StatusCode::SEE_OTHER, "anonymous: to the login page");

    // The vendor writes in the thread.
    let resp = app.post_form(&url, &format!("/partners/disputes/{id}/messages/"), &[("body", "Le client a gardé le carton.")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = app.post_form(&url, &format!("/partners/disputes/{id}/messages/"), &[("body", " ")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "an empty message is refused");

    // An admin takes it in review, answers, refuses a refund above the claim, then resolves.
    app.create_admin("admin@delivr.cm", "admin-password-1").await;
    let admin = app.other_browser();
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let admin_url = format!("/admin/disputes/{id}/");
    let queue = admin.get("/admin/disputes/?status=open").await.text().await.unwrap();
    assert!(queue.contains(&d.number));
    let resp = admin.post_form(&admin_url, &format!("{admin_url}review/"), &[("note", "Nous vérifions avec le coursier.")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = admin.post_form(&admin_url, &format!("{admin_url}messages/"), &[("body", "Pouvez-vous confirmer le contenu ?")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = admin
        .post_form(
            &admin_url,
            &format!("{admin_url}decide/"),
            &[("decision", "resolve"), ("reason", "Casse confirmée"), ("refund", "7 000")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a refund above the claim is refused");
    assert_eq!(disputes::find(&app.state.db, &id).await.unwrap().unwrap().status, "IN_REVIEW");
    let resp = admin
        .post_form(
            &admin_url,
            &format!("{admin_url}decide/"),
            &[("decision", "resolve"), ("reason", "Casse confirmée"), ("refund", "5 000")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let d = disputes::find(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.refund_amount, d.decision_reason.as_deref()), ("RESOLVED", Some(Fcfa(5000)), Some("Casse confirmée")));

    // The audit trail names the admin who decided, from their address, and the refund.
    let decided: (String, String, Option<String>) = delivr::on_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT actor, ip, after FROM audit_events WHERE action = 'dispute.status_changed' AND partner_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(&partner)
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!((decided.0.as_str(), decided.1.is_empty()), ("admin@delivr.cm", false), "{decided:?}");
    assert!(decided.2.as_deref().unwrap_or_default().contains("RESOLVED"));

    // The refund landed once; deciding again changes nothing.
    let again = disputes::Decision { resolved: true, reason: "encore".into(), refund: 5000 };
    assert!(disputes::decide_in_turn(&app.state, &partner, &id, "x", again).await.is_err());
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().balance, before + Fcfa(5000));
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM wallet_entries WHERE kind = 'DISPUTE_REFUND' AND dispute_id = '{id}'")).await, 1);
    let resp = app.post_form(&url, &format!("/partners/disputes/{id}/messages/"), &[("body", "Merci !")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a closed dispute takes no more messages");

    // The thread, the vendor's notifications and the events tell the whole story.
    let detail = app.get(&url).await.text().await.unwrap();
    for text in
        ["Le client a gardé le carton.", "Nous vérifions avec le coursier.", "Pouvez-vous confirmer le contenu ?", "Casse confirmée"]
    {
        assert!(detail.contains(text), "{text}");
    }
    // Each step notified the vendor; the feed shows the order's latest news (one entry per order).
    let titles: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT title FROM partner_notifications WHERE partner_id = $1 ORDER BY id")
        .bind(&partner).fetch_all(pool).await).unwrap();
    for title in
        [format!("Litige {} ouvert", d.number), format!("Litige {} en cours d'examen", d.number), format!("Litige {} résolu", d.number)]
    {
        assert!(titles.contains(&title), "{title}");
    }
    let notifications = app.get("/partners/notifications/").await.text().await.unwrap();
    assert!(notifications.contains(&format!("Litige {} résolu", d.number)));
    assert!(!notifications.contains("Le client a gardé le carton."), "no notification of one's own message");
    let kinds = |k: &str| format!("SELECT COUNT(*) FROM domain_events WHERE kind = '{k}' AND partner_id = '{partner}'");
    assert_eq!(count(&app, &kinds("dispute.opened")).await, 1);
    assert_eq!(count(&app, &kinds("dispute.updated")).await, 3, "vendor message, review, admin message");
    assert_eq!(count(&app, &kinds("dispute.resolved")).await, 1);
    let wallet_page = app.get("/partners/wallet/?kind=DISPUTE_REFUND").await.text().await.unwrap();
    assert!(wallet_page.contains(&order.tracking_number));

    // Concurrent decisions on another dispute: one wins, one refund.
    let order2 = delivered(&app, &new_order(&app, "").await).await;
    let resp = open_dispute(&app, &order2.id, dispute_parts("LATE", "2000", vec![])).await;
    let id2 = location(&resp).trim_start_matches("/partners/disputes/").split('/').next().unwrap().to_owned();
    // A decision comes after the review.
    let early = admin
        .post_form(
            &format!("/admin/disputes/{id2}/"),
            &format!("/admin/disputes/{id2}/decide/"),
            &[("decision", "reject"), ("reason", "trop tôt")],
        )
        .await;
    assert_eq!(early.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(early.text().await.unwrap().contains("en examen"), "the admin is told to review first");
    let resp =
        admin.post_form(&format!("/admin/disputes/{id2}/"), &format!("/admin/disputes/{id2}/review/"), &[("note", "On regarde.")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let admin_id = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE email = 'admin@delivr.cm'").fetch_one(pool).await).unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (state, partner, id2, admin_id) = (app.state.clone(), partner.clone(), id2.clone(), admin_id.clone());
            tokio::spawn(async move {
                let decision = disputes::Decision { resolved: true, reason: format!("retard {i}"), refund: 2000 };
                disputes::decide_in_turn(&state, &partner, &id2, &admin_id, decision).await.is_ok()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM wallet_entries WHERE dispute_id = '{id2}'")).await, 1);
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().balance, before + Fcfa(5000) + Fcfa(2000) - order2.price_total);

    // The analytics count disputed orders.
    let summary = delivr::analytics::summary(
        &app.state.db,
        &partner,
        delivr::analytics::Range {
            from: chrono::Utc::now().date_naive() - chrono::Days::new(2),
            to: chrono::Utc::now().date_naive() + chrono::Days::new(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.disputed, 2);
}

async fn deadlines_one_open_dispute_and_isolation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let pending = new_order(&app, "").await;
    let resp = app.get(&format!("/partners/disputes/new/{}/", pending.id)).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("commande terminée"));
    let resp = open_dispute(&app, &pending.id, dispute_parts("LATE", "", vec![])).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT, "not finished");

    // Finished 15 days ago: too late; 13 days ago: still possible.
    let old = delivered(&app, &new_order(&app, "").await).await;
    let day = 86_400_000_i64;
    app.exec(&format!("UPDATE orders SET finished_at = {} WHERE id = '{}'", delivr::db::now_ms() - 15 * day, old.id)).await;
    let resp = open_dispute(&app, &old.id, dispute_parts("LATE", "", vec![])).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("14 jours"));
    app.exec(&format!("UPDATE orders SET finished_at = {} WHERE id = '{}'", delivr::db::now_ms() - 13 * day, old.id)).await;
    let resp = open_dispute(&app, &old.id, dispute_parts("LATE", "", vec![])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let url = location(&resp);

    // A second one while the first is open: sent to the open one, nothing stored.
    let resp = open_dispute(&app, &old.id, dispute_parts("OTHER", "", vec![])).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with(url.trim_end_matches("?opened=1")), "{}", location(&resp));
    assert_eq!(app.count("disputes").await, 1);
    // Racing the database directly: the unique index holds.
    let o = delivr::orders::repo::find(&app.state.db, &old.id).await.unwrap().unwrap();
    let new = disputes::NewDispute { reason: "OTHER", description: "x".into(), amount_claimed: 0 };
    let err = disputes::open(&app.state.db, &app.state.bus, &o, None, &new, &[], delivr::db::now_ms(), None).await.unwrap_err();
    assert_eq!(err, disputes::DisputeError::AlreadyOpen);

    // Another vendor sees nothing of it and cannot dispute this vendor's orders.
    let other = app.other_browser();
    assert_eq!(other.signup("Rival", "b@shop.cm").await.status(), StatusCode::SEE_OTHER);
    delivr::partners::repo::approve(&app.state.db, &other.partner_id("b@shop.cm").await).await.unwrap();
    assert_eq!(other.get(&url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("/partners/disputes/new/{}/", old.id)).await.status(), StatusCode::NOT_FOUND);
    let list = other.get("/partners/disputes/").await.text().await.unwrap();
    assert!(!list.contains("LIT-"));
    let id = url.trim_start_matches("/partners/disputes/").split('/').next().unwrap();
    let resp = other.post_form("/partners/disputes/", &format!("/partners/disputes/{id}/messages/"), &[("body", "Bonjour")]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get("/admin/disputes/").await.status(), StatusCode::NOT_FOUND, "vendors are not admins");

    // The list filters by status and says when a filter is unknown.
    let list = app.get("/partners/disputes/?status=open").await.text().await.unwrap();
    assert!(list.contains("LIT-"));
    let list = app.get("/partners/disputes/?status=RESOLVED").await.text().await.unwrap();
    assert!(!list.contains("LIT-"));
    assert_eq!(app.get("/partners/disputes/?status=nope").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn bad_photos_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let order = delivered(&app, &new_order(&app, "").await).await;
    let html_as_jpeg = b"<html><body>not a photo</body></html>".to_vec();
    let png = image_bytes(64, 64, ImageFormat::Png);
    let truncated = png[..png.len() / 2].to_vec();
    // A decompression bomb: 9 000 x 9 000 black pixels in a few hundred kilobytes.
    let bomb = {
        let img = image::DynamicImage::ImageLuma8(image::GrayImage::new(9000, 9000));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    };
    assert!(bomb.len() < 1 << 20);
    let oversized = {
        let mut b = image_bytes(32, 32, ImageFormat::Png);
        b.resize(5 * 1024 * 1024 + 10, 0);
        b
    };
    let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
        (vec![html_as_jpeg], "n'est pas une image"),
        (vec![truncated], "endommagée"),
        (vec![bomb], "trop grande"),
        (vec![oversized], "trop lourd"),
        ((0..6).map(|_| png.clone()).collect(), "Au plus 5 photos"),
    ];
    for (photos, message) in cases {
        let resp = open_dispute(&app, &order.id, dispute_parts("DAMAGED", "1000", photos)).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(message), "{message}");
        assert!(html.contains("Le carton est arrivé écrasé"), "the form keeps what was typed");
    }
    // Bad fields: a clear message each, nothing stored.
    let resp = open_dispute(
        &app,
        &order.id,
        vec![Part::Text("reason", "BROKEN"), Part::Text("description", ""), Part::Text("amount_claimed", "beaucoup")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("f-description-err") && html.contains("f-amount_claimed-err"), "errors next to the fields");
    assert_eq!(app.count("disputes").await, 0);
    assert_eq!(app.count("dispute_photos").await, 0);
    // Five good photos are fine.
    let resp = open_dispute(&app, &order.id, dispute_parts("DAMAGED", "1000", (0..5).map(|_| png.clone()).collect())).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("dispute_photos").await, 5);
}

async fn vendor_with_key(app: &TestApp, name: &str, email: &str) -> (String, String) {
    let id = vendor(app, name, email).await;
    let key = app.api_key("Boutique").await;
    (id, key)
}

async fn call(app: &TestApp, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(&format!("/api/v1{path}"))).header("authorization", format!("Api-Key {key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn the_disputes_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = vendor_with_key(&app, "Boutique", "a@shop.cm").await;
    let pending = new_order(&app, "").await;
    let order = delivered(&app, &new_order(&app, "").await).await;
    use reqwest::Method;

    let resp =
        call(&app, &key, Method::POST, "/disputes", Some(json!({"order_id": pending.id, "reason": "LATE", "description": "En retard"})))
            .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let p: Value = resp.json().await.unwrap();
    assert!(p["type"].as_str().unwrap().ends_with("order-not-finished"), "{p}");

    let resp =
        call(&app, &key, Method::POST, "/disputes", Some(json!({"order_id": order.id, "reason": "LATE", "description": "   "}))).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "description");

    let body = json!({"order_id": order.tracking_number, "reason": "COD_MISMATCH", "description": "Le client a payé 10 000 au lieu de 12 000", "amount_claimed": 2000});
    let resp = call(&app, &key, Method::POST, "/disputes", Some(body.clone())).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let d: Value = resp.json().await.unwrap();
    assert_eq!(
        (d["status"].as_str(), d["amount_claimed"].as_i64(), d["order_id"].as_str()),
        (Some("OPEN"), Some(2000), Some(order.id.as_str()))
    );
    let id = d["id"].as_str().unwrap().to_owned();
    let resp = call(&app, &key, Method::POST, "/disputes", Some(body)).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT, "one open dispute per order");

    let resp =
        call(&app, &key, Method::POST, &format!("/disputes/{id}/messages"), Some(json!({"body": "Reçu du client en pièce jointe."}))).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let d: Value = call(&app, &key, Method::GET, &format!("/disputes/{id}"), None).await.json().await.unwrap();
    assert_eq!(d["messages"][0]["body"], "Reçu du client en pièce jointe.");
    assert_eq!(d["messages"][0]["author"], "VENDOR");
    let list: Value = call(&app, &key, Method::GET, "/disputes?status=pending", None).await.json().await.unwrap();
    assert_eq!(list["total"], 1);

    // Another partner's key sees nothing.
    let other = app.other_browser();
    let (_, other_key) = vendor_with_key(&other, "Rival", "b@shop.cm").await;
    assert_eq!(call(&other, &other_key, Method::GET, &format!("/disputes/{id}"), None).await.status(), StatusCode::NOT_FOUND);
    let resp =
        call(&other, &other_key, Method::POST, "/disputes", Some(json!({"order_id": order.id, "reason": "LATE", "description": "x y"})))
            .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "someone else's order is not found");
    let list: Value = call(&other, &other_key, Method::GET, "/disputes", None).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
}
