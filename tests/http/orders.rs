//! Orders end to end: form, pricing, lifecycle (admin, courier API, vendor), list, export,
//! import, public pages, isolation between vendors.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(
    an_order_is_created_priced_and_timelined,
    bad_orders_are_refused_and_write_nothing,
    the_lifecycle_runs_through_admin_and_courier_api,
    vendors_cancel_only_before_pickup,
    concurrent_transitions_apply_once,
    another_vendors_orders_are_404_everywhere,
    the_list_filters_searches_and_pages,
    export_streams_filtered_csv_for_excel,
    export_walks_every_batch_once_newest_first,
    import_previews_then_creates_valid_rows_once,
    import_refuses_bad_files,
    only_served_routes_are_priced,
    a_failed_delivery_is_reattempted_or_returned,
    labels_print_with_a_readable_qr_code,
    public_tracking_page_is_tiny_and_unguessable,
    booking_page_takes_requests_and_resists_spam,
    positions_are_validated_and_rate_limited,
    the_simulator_delivers_orders,
    dashboard_counts_real_orders,
    money_is_said_in_the_vendors_words,
    dispatch_shows_each_couriers_load_and_assigns_several_at_once,
);

/// Dispatch on a phone: each courier's load (and distance to the pickup when seen), the least
/// loaded first; several waiting orders ticked and given to one courier at once.
async fn dispatch_shows_each_couriers_load_and_assigns_several_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let ids = [create_order(&app, &[]).await, create_order(&app, &[]).await, create_order(&app, &[]).await];
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let busy = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "b@c.cm", "Boris Busy", None, &hash)
        .await
        .unwrap();
    let free = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "f@c.cm", "Fanny Free", None, &hash)
        .await
        .unwrap();
    let first = delivr::orders::repo::find(&app.state.db, &ids[0]).await.unwrap().unwrap();
    let sys = delivr::orders::service::Actor::system();
    delivr::orders::service::transition(
        &app.state.db,
        &app.state.bus,
        &first,
        &delivr::orders::model::Action::Assign { courier_id: busy.clone() },
        &sys,
        delivr::db::now_ms(),
    )
    .await
    .unwrap();
    let queue = admin.get("/admin/orders/?status=PENDING").await.text().await.unwrap();
    let (fanny, boris) =
        (queue.find("Fanny Free — 0 en cours").expect("load shown"), queue.find("Boris Busy — 1 en cours").expect("load shown"));
    assert!(fanny < boris, "the least loaded first");
    assert!(queue.contains(r#"form="assign-many""#));
    // Two ticked, given to Fanny at once.
    let resp = admin
        .post_form("/admin/orders/?status=PENDING", "/admin/orders/assign/", &[("courier_id", &free), ("id", &ids[1]), ("id", &ids[2])])
        .await;
    assert_eq!(location(&resp), "/admin/orders/?assigned=2");
    assert!(admin.get("/admin/orders/?assigned=2").await.text().await.unwrap().contains("2 commandes assignées."));
    for id in &ids[1..] {
        assert_eq!(scalar_str(&app, "SELECT courier_id FROM orders WHERE id = $1", id).await, free);
    }
    // An order already taken stays with its courier; an unknown courier assigns nothing.
    let resp = admin.post_form("/admin/orders/?status=PENDING", "/admin/orders/assign/", &[("courier_id", &free), ("id", &ids[0])]).await;
    assert_eq!(location(&resp), "/admin/orders/?assigned=0");
    assert_eq!(scalar_str(&app, "SELECT courier_id FROM orders WHERE id = $1", &ids[0]).await, busy);
    // A vendor cannot.
    assert_eq!(
        app.post_form("/partners/orders/", "/admin/orders/assign/", &[("courier_id", &free), ("id", &ids[0])]).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The vendor reads an order's money as a shop owner says it, on the quote, the order page
/// and the list; the platform's split (commission, courier's net) is not shown to them.
async fn money_is_said_in_the_vendors_words(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let order = crate::helpers::new_order(&app, "25 000").await;
    let fee = delivr::money::format_fcfa(order.price_total.get());
    let net = delivr::money::format_fcfa(25_000 - order.price_total.get());
    let words = format!(
        "Le client paie 25\u{a0}000\u{a0}FCFA</span> · <span>frais de livraison −{fee}</span> · <strong>vous recevez {net}</strong>"
    );
    let page = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    assert!(page.contains(&words), "{page}");
    assert!(!page.contains("Commission") && !page.contains("Net coursier"), "the platform's split is not the vendor's");
    assert!(app.get("/partners/orders/").await.text().await.unwrap().contains(&words));
    let quote =
        app.get("/partners/orders/quote/?dropoff_city=1&dropoff_quartier=1012&size_class=S&cod_amount=25000").await.text().await.unwrap();
    assert!(quote.contains("Le client paie 25\u{a0}000\u{a0}FCFA") && quote.contains("vous recevez"), "{quote}");
    // In English, numbers are grouped the English way.
    app.post_form("/partners/orders/", "/lang/", &[("lang", "en"), ("next", "/partners/orders/")]).await;
    let english = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    assert!(english.contains("The customer pays 25,000\u{a0}FCFA"), "{english}");
    app.post_form("/partners/orders/", "/lang/", &[("lang", "fr"), ("next", "/partners/orders/")]).await;
    // Nothing to collect: the fee is the vendor's, from the wallet.
    let quote = app.get("/partners/orders/quote/?dropoff_city=1&dropoff_quartier=1012&size_class=S").await.text().await.unwrap();
    assert!(quote.contains("Rien à encaisser") && quote.contains("débités de votre portefeuille"), "{quote}");
}

/// An approved vendor (signed in on `app`) with a pickup address in Akwa.
async fn vendor(app: &TestApp, name: &str, email: &str) -> String {
    let id = app.approved_vendor(name, email).await;
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/",
            &[
                ("business_name", name),
                ("contact_name", "Awa"),
                ("phone", "677987654"),
                ("email", email),
                ("language", "fr"),
                ("pickup_city_id", "1"),
                ("pickup_quartier_id", "1001"),
                ("pickup_address", "Rue Joss, face à la pharmacie"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    id
}

const GOOD: &[(&str, &str)] = &[
    ("recipient_name", "Paul Nkwi"),
    ("recipient_phone", "677 98 76 54"),
    ("dropoff_city", "1"),
    ("dropoff_quartier", "1012"), // Bonamoussadi
    ("dropoff_address", "Derrière la pharmacie du Carrefour"),
    ("package_description", "Chaussures"),
    ("size_class", "M"),
    ("cod_amount", "15 000"),
    ("courier_note", "Appeler avant"),
];

/// Create an order through the form; returns its id.
pub(crate) async fn create_order(app: &TestApp, overrides: &[(&str, &str)]) -> String {
    let mut fields: Vec<(&str, &str)> =
        GOOD.iter().map(|(k, v)| overrides.iter().find(|(ok, _)| ok == k).map_or((*k, *v), |(ok, ov)| (*ok, *ov))).collect();
    fields.extend(overrides.iter().filter(|(k, _)| !GOOD.iter().any(|(g, _)| g == k)));
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    let to = location(&resp);
    to.trim_start_matches("/partners/orders/").split('/').next().unwrap().to_owned()
}

async fn scalar_i64(app: &TestApp, sql: &str) -> i64 {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

async fn scalar_str(app: &TestApp, sql: &str, bind: &str) -> String {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>(sql).bind(bind).fetch_one(pool).await).unwrap()
}

/// A courier with an API token.
async fn courier(app: &TestApp, email: &str) -> (String, String) {
    let hash = delivr::accounts::password::hash("coursier-pass-1").unwrap();
    let id = delivr::accounts::repo::create_staff(
        &app.state.db,
        delivr::auth::Role::Courier,
        email,
        "Jean Mbarga",
        Some("+237691234567"),
        &hash,
    )
    .await
    .unwrap();
    let resp =
        app.client.post(app.url("/courier/v1/login")).json(&json!({"email": email, "password": "coursier-pass-1"})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["name"], "Jean Mbarga");
    (id, body["token"].as_str().unwrap().to_owned())
}

async fn admin(app: &TestApp) -> TestApp {
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    assert_eq!(admin.login("admin@delivr.cm", "admin-password-1").await.status(), StatusCode::SEE_OTHER);
    admin
}

async fn courier_post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn an_order_is_created_priced_and_timelined(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    // The form shows a live quote once the places are known.
    let quote = app.get("/partners/orders/quote/?dropoff_city=1&dropoff_quartier=1012&size_class=M").await.text().await.unwrap();
    assert!(quote.contains("FCFA") && quote.contains("km"), "{quote}");
    let id = create_order(&app, &[]).await;
    let html = app.get(&format!("/partners/orders/{id}/?created=1")).await.text().await.unwrap();
    assert!(html.contains("Commande créée"));
    let (tracking, pin, status, phone, total, commission, net, cod): (String, String, String, String, i64, i64, i64, i64) = delivr::on_db!(&app.state.db, pool =>
        sqlx::query_as("SELECT tracking_number, delivery_pin, status, recipient_phone, price_total, price_commission, price_net, cod_amount FROM orders WHERE id = $1")
            .bind(&id).fetch_one(pool).await).unwrap();
    assert!(delivr::orders::model::is_tracking_number(&tracking), "{tracking}");
    assert_eq!(pin.len(), 4);
    assert_eq!((status.as_str(), phone.as_str(), cod), ("PENDING", "+237677987654", 15000));
    // Akwa → Bonamoussadi is about 6.7 km: 1000 + 150 × 6.7 + 300 (M) → rounded up to 50.
    assert_eq!(total % 50, 0);
    assert!((2200..=2400).contains(&total), "{total}");
    assert_eq!(commission, (total * 2000 + 5000) / 10000);
    assert_eq!(net, total - commission);
    assert!(html.contains(&tracking) && html.contains(&pin) && html.contains("Paul Nkwi"));
    // Timeline and domain event written with the order.
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM order_events").await, 1);
    let kind = scalar_str(&app, "SELECT kind FROM domain_events WHERE order_id = $1", &id).await;
    assert_eq!(kind, "order.created");
    let payload: Value =
        serde_json::from_str(&scalar_str(&app, "SELECT payload FROM domain_events WHERE order_id = $1", &id).await).unwrap();
    assert_eq!(payload["tracking_number"], tracking.as_str());
    assert_eq!(payload["pricing"]["total"], total);
    assert_eq!(payload["recipient"]["phone"], "+237677987654");
    // The order is also reachable by tracking number.
    assert_eq!(app.get(&format!("/partners/orders/{tracking}/")).await.status(), StatusCode::OK);
}

async fn bad_orders_are_refused_and_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let cases: &[(&str, &str, &str)] = &[
        ("dropoff_quartier", "Quartier Imaginaire", "Quartier inconnu à Douala"),
        ("dropoff_quartier", "2001", "Quartier inconnu à Douala"),
        ("dropoff_city", "Paris", "Ville inconnue"),
        ("recipient_phone", "12 34", "Numéro camerounais invalide"),
        ("cod_amount", "-500", "Montant invalide"),
        ("cod_amount", "1500.50", "Montant invalide"),
        ("cod_amount", "99 000 000", "Montant trop élevé"),
        ("size_class", "XXL", "Choisissez une option"),
        ("recipient_name", "", "Ce champ est obligatoire."),
        ("dropoff_address", "x", "Trop court"),
    ];
    for (field, value, message) in cases {
        let fields: Vec<(&str, &str)> = GOOD.iter().map(|(k, v)| if k == field { (*k, *value) } else { (*k, *v) }).collect();
        let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(message), "{field}={value}: expected {message}");
    }
    for table in ["orders", "order_events"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    let events: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM domain_events WHERE order_id IS NOT NULL").fetch_one(pool).await).unwrap();
    assert_eq!(events, 0, "no order event");
}

async fn the_lifecycle_runs_through_admin_and_courier_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let id = create_order(&app, &[]).await;
    let (courier_id, token) = courier(&app, "jean@coursiers.cm").await;
    // Not assigned yet: the courier cannot see or touch it.
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{id}/pickup"), json!({})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    // The admin assigns.
    let admin = admin(&app).await;
    let page = format!("/admin/orders/{id}/");
    let resp = admin.post_form(&page, &format!("/admin/orders/{id}/assign/"), &[("courier_id", &courier_id)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // Assigning again is refused with a message, nothing changes.
    let resp = admin.post_form(&page, &format!("/admin/orders/{id}/assign/"), &[("courier_id", &courier_id)]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let orders: Value = app.client.get(app.url("/courier/v1/orders")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(orders.as_array().unwrap().len(), 1);
    // Skipping a step is illegal.
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{id}/complete"), json!({"pin": "0000"})).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(courier_post(&app, &token, &format!("/courier/v1/orders/{id}/pickup"), json!({})).await.status(), StatusCode::OK);
    assert_eq!(courier_post(&app, &token, &format!("/courier/v1/orders/{id}/in-transit"), json!({})).await.status(), StatusCode::OK);
    let pin = scalar_str(&app, "SELECT delivery_pin FROM orders WHERE id = $1", &id).await;
    let wrong = if pin == "0000" { "1111" } else { "0000" };
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{id}/complete"), json!({"pin": wrong})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["title"], "Le code PIN ne correspond pas.");
    assert_eq!(scalar_str(&app, "SELECT status FROM orders WHERE id = $1", &id).await, "IN_TRANSIT");
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{id}/complete"), json!({"pin": pin})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // A final state refuses everything.
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{id}/fail"), json!({"reason": "x"})).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = admin.post_form(&page, &format!("/admin/orders/{id}/cancel/"), &[("reason", "trop tard")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("déjà terminée"));
    // Timeline and events, in order, one per transition.
    let kinds: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT kind FROM domain_events WHERE order_id = $1 ORDER BY seq").bind(&id).fetch_all(pool).await).unwrap();
    // The cash on delivery collected at completion is announced too.
    assert_eq!(kinds, ["order.created", "order.assigned", "order.picked_up", "order.in_transit", "order.completed", "payment.received"]);
    // `payment.received` carries the order's fields like every order event, plus the amount.
    let payment: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT payload FROM domain_events WHERE order_id = $1 AND kind = 'payment.received'").bind(&id).fetch_one(pool).await).unwrap();
    let payment: Value = serde_json::from_str(&payment).unwrap();
    assert_eq!(
        (payment["order_id"].as_str(), payment["status"].as_str(), payment["currency"].as_str()),
        (Some(id.as_str()), Some("COMPLETED"), Some("XAF"))
    );
    assert_eq!(payment["amount"], payment["cod_amount"]);
    assert!(
        payment["recipient"]["name"].is_string() && payment["pricing"]["total"].is_i64() && payment["courier"]["name"] == "Jean Mbarga",
        "{payment}"
    );
    let statuses: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT status FROM order_events WHERE order_id = $1 ORDER BY id").bind(&id).fetch_all(pool).await).unwrap();
    assert_eq!(statuses, ["PENDING", "ASSIGNED", "PICKED_UP", "IN_TRANSIT", "COMPLETED"]);
    let html = app.get(&format!("/partners/orders/{id}/")).await.text().await.unwrap();
    assert!(html.contains("Livrée") && html.contains("Jean Mbarga"));
    // Bad tokens and bodies.
    let resp = app.client.get(app.url("/courier/v1/orders")).bearer_auth("dlvc_nope").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .client
        .post(app.url(&format!("/courier/v1/orders/{id}/complete")))
        .bearer_auth(&token)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

async fn vendors_cancel_only_before_pickup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let first = create_order(&app, &[]).await;
    let page = format!("/partners/orders/{first}/");
    // Cancelling asks first, naming the order (the form says so for app.js's dialog too).
    let detail = app.get(&page).await.text().await.unwrap();
    let first_tracking = delivr::orders::repo::find(&app.state.db, &first).await.unwrap().unwrap().tracking_number;
    assert!(detail.contains(&format!("data-confirm=\"Annuler {first_tracking} ?\"")) && detail.contains(r#"name="confirmed" value="0""#));
    let resp = app.post_form(&page, &format!("/partners/orders/{first}/cancel/"), &[("reason", "Client a changé d'avis")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ask = resp.text().await.unwrap();
    assert!(
        ask.contains(&format!("Annuler {first_tracking} ?")) && ask.contains("Oui, annuler la commande") && ask.contains("Non, revenir"),
        "{ask}"
    );
    assert_eq!(scalar_str(&app, "SELECT status FROM orders WHERE id = $1", &first).await, "PENDING", "nothing changed yet");
    let resp = app
        .post_form(&page, &format!("/partners/orders/{first}/cancel/"), &[("reason", "Client a changé d'avis"), ("confirmed", "1")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(scalar_str(&app, "SELECT status FROM orders WHERE id = $1", &first).await, "CANCELLED");
    // Cancelling twice: a clear message, nothing more written.
    let events = app.count("domain_events").await;
    let resp = app.post_form(&page, &format!("/partners/orders/{first}/cancel/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("déjà terminée"));
    assert_eq!(app.count("domain_events").await, events);

    let second = create_order(&app, &[]).await;
    let (courier_id, token) = courier(&app, "jean@coursiers.cm").await;
    let admin = admin(&app).await;
    admin.post_form(&format!("/admin/orders/{second}/"), &format!("/admin/orders/{second}/assign/"), &[("courier_id", &courier_id)]).await;
    courier_post(&app, &token, &format!("/courier/v1/orders/{second}/pickup"), json!({})).await;
    let page = format!("/partners/orders/{second}/");
    let html = app.get(&page).await.text().await.unwrap();
    assert!(!html.contains("/cancel/"), "no cancel button after pickup");
    let resp = app.post_form(&page, &format!("/partners/orders/{second}/cancel/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(scalar_str(&app, "SELECT status FROM orders WHERE id = $1", &second).await, "PICKED_UP");
}

async fn concurrent_transitions_apply_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let id = create_order(&app, &[]).await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    let action = delivr::orders::model::Action::Cancel { reason: "concurrent".into() };
    let actor = delivr::orders::service::Actor::system();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (db, bus, order, action, actor) = (app.state.db.clone(), app.state.bus.clone(), order.clone(), action.clone(), actor.clone());
        tasks.push(tokio::spawn(async move {
            delivr::orders::service::transition(&db, &bus, &order, &action, &actor, delivr::db::now_ms()).await.is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 1, "exactly one cancellation wins");
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM order_events WHERE status = 'CANCELLED'").await, 1);
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM domain_events WHERE kind = 'order.cancelled'").await, 1);
}

async fn another_vendors_orders_are_404_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique A", "a@shop.cm").await;
    let id = create_order(&app, &[("recipient_name", "Client De A")]).await;
    let tracking = scalar_str(&app, "SELECT tracking_number FROM orders WHERE id = $1", &id).await;
    let b = app.other_browser();
    vendor(&b, "Boutique B", "b@shop.cm").await;
    for path in [format!("/partners/orders/{id}/"), format!("/partners/orders/{tracking}/"), "/partners/orders/not-an-id/".to_owned()] {
        assert_eq!(b.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let resp = b.post_form("/partners/orders/", &format!("/partners/orders/{id}/cancel/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(scalar_str(&app, "SELECT status FROM orders WHERE id = $1", &id).await, "PENDING");
    assert!(!b.get("/partners/orders/").await.text().await.unwrap().contains("Client De A"));
    assert!(b.get(&format!("/partners/orders/?q={tracking}")).await.text().await.unwrap().contains("0 résultat"));
    let csv = b.get("/partners/orders/export/").await.text().await.unwrap();
    assert!(!csv.contains("Client De A"));
    // A's import preview is not B's either.
    let import_id = upload(&app, "destinataire;telephone;ville;quartier;adresse;colis\nX;677987654;Douala;Akwa;Rue 1;Colis\n").await;
    assert_eq!(b.get(&format!("/partners/orders/import/{import_id}/")).await.status(), StatusCode::NOT_FOUND);
    let resp = b.post_form("/partners/orders/", &format!("/partners/orders/import/{import_id}/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Unapproved or anonymous visitors never get there.
    let anon = app.other_browser();
    assert_eq!(anon.get(&format!("/partners/orders/{id}/")).await.status(), StatusCode::SEE_OTHER);
}

async fn the_list_filters_searches_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    for i in 0..23 {
        let name = format!("Client {i:02}");
        create_order(&app, &[("recipient_name", &name), ("recipient_phone", &format!("699 00 00 {i:02}"))]).await;
    }
    // Douala–Yaoundé served (its own tariff), the intercity order confirmed in the form.
    crate::helpers::serve_douala_yaounde(&app).await;
    let special = create_order(
        &app,
        &[("recipient_name", "Mireille Owona"), ("dropoff_city", "2"), ("dropoff_quartier", "Bastos"), ("intercity_ok", "1")],
    )
    .await;
    app.post_form("/partners/orders/", &format!("/partners/orders/{special}/cancel/"), &[("confirmed", "1")]).await;
    let page1 = app.get("/partners/orders/").await.text().await.unwrap();
    assert!(page1.contains("24 résultats"));
    assert_eq!(page1.matches("class=\"order-row pickable\"").count(), 20);
    let next =
        page1.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let page2 = app.get(&next).await.text().await.unwrap();
    assert_eq!(page2.matches("class=\"order-row pickable\"").count(), 4);
    assert!(!page2.contains("rel=\"next\""));
    // Filters: status, city, free text on name, phone as typed, tracking number.
    let cancelled = app.get("/partners/orders/?status=CANCELLED").await.text().await.unwrap();
    assert!(cancelled.contains("1 résultat") && cancelled.contains("Mireille Owona"));
    assert!(app.get("/partners/orders/?city=2").await.text().await.unwrap().contains("1 résultat"));
    assert!(app.get("/partners/orders/?quartier=2001").await.text().await.unwrap().contains("1 résultat"));
    assert!(app.get("/partners/orders/?quartier=1012").await.text().await.unwrap().contains("23 résultats"));
    assert!(app.get("/partners/orders/?q=owona").await.text().await.unwrap().contains("1 résultat"));
    assert!(app.get("/partners/orders/?q=699+00+00+07").await.text().await.unwrap().contains("1 résultat"));
    let tracking = scalar_str(&app, "SELECT tracking_number FROM orders WHERE id = $1", &special).await;
    assert!(app.get(&format!("/partners/orders/?q={}", tracking.to_lowercase())).await.text().await.unwrap().contains("1 résultat"));
    // A part of it, as read off a label or a text ("TBTJH9" of DLV-TBTJH9).
    let part = &tracking[tracking.len() - 6..];
    let found = app.get(&format!("/partners/orders/?q={}", part.to_lowercase())).await.text().await.unwrap();
    assert!(found.contains(&tracking), "{part}");
    // The list comes first: the search box, then the status chips; the other filters fold away
    // (open when one of them is set).
    let list = app.get("/partners/orders/").await.text().await.unwrap();
    let (search, chips, panel, first) = (
        list.find("id=\"q\"").unwrap(),
        list.find("id=\"status-chips\"").unwrap(),
        list.find("<details class=\"card more-filters\">").unwrap(),
        list.find("class=\"order-row").unwrap(),
    );
    assert!(search < chips && chips < panel && panel < first);
    assert!(app.get("/partners/orders/?city=2").await.text().await.unwrap().contains("<details class=\"card more-filters\" open>"));
    let today = chrono::Utc::now().with_timezone(&delivr::douala::douala()).format("%Y-%m-%d").to_string();
    assert!(app.get(&format!("/partners/orders/?from={today}&to={today}")).await.text().await.unwrap().contains("24 résultats"));
    assert!(app.get("/partners/orders/?from=2020-01-01&to=2020-01-31").await.text().await.unwrap().contains("0 résultat"));
    // Oldest first puts Client 00 on top.
    let oldest = app.get("/partners/orders/?sort=oldest").await.text().await.unwrap();
    assert!(oldest.find("Client 00").unwrap() < oldest.find("Client 01").unwrap());
    // htmx asks for the results only.
    let frag = app
        .client
        .get(app.url("/partners/orders/?status=CANCELLED"))
        .header("hx-request", "true")
        .header("hx-target", "orders-results")
        .send()
        .await
        .unwrap();
    assert!(frag.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().contains("HX-Request")));
    let frag = frag.text().await.unwrap();
    assert!(frag.starts_with("<div id=\"orders-results\"") && !frag.contains("<html"), "{frag}");
    // Bad filters: a message next to the field, a 4xx, the list still shown.
    for q in ["?from=2026-13-45", "?from=2026-05-10&to=2026-05-01", "?status=LOST", "?city=abc"] {
        let resp = app.get(&format!("/partners/orders/{q}")).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert!(resp.text().await.unwrap().contains("role=\"alert\""), "{q}");
    }
    // A forged cursor is ignored, not an error.
    assert_eq!(app.get("/partners/orders/?cursor=%27%3B--").await.status(), StatusCode::OK);
}

async fn export_streams_filtered_csv_for_excel(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    create_order(&app, &[("recipient_name", "=HYPERLINK(\"http://evil\")")]).await;
    let keep = create_order(&app, &[("recipient_name", "Paul Nkwi")]).await;
    app.post_form("/partners/orders/", &format!("/partners/orders/{keep}/cancel/"), &[("confirmed", "1")]).await;
    let resp = app.get("/partners/orders/export/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"commandes-"));
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "N° de suivi");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| &r[3] == "'=HYPERLINK(\"http://evil\")"), "formula neutralised");
    assert!(rows.iter().any(|r| &r[4] == "+237677987654"));
    for r in &rows {
        // When, in Douala time as a French reader writes it; where from and where to, by name.
        let created = chrono::NaiveDateTime::parse_from_str(&r[1], "%d/%m/%Y %H:%M");
        assert!(created.is_ok(), "a date and time: {:?}", &r[1]);
        assert_eq!((&r[5], &r[6], &r[7]), ("Douala", "Akwa", "Rue Joss, face à la pharmacie"));
        assert_eq!((&r[8], &r[9], &r[10]), ("Douala", "Bonamoussadi", "Derrière la pharmacie du Carrefour"));
        assert_eq!((&r[11], &r[12]), ("Chaussures", "M"));
        // Kilometres with a decimal comma, as French Excel reads a number.
        assert!(r[16].contains(',') && r[16].replace(',', ".").parse::<f64>().unwrap() > 0.0, "distance {:?}", &r[16]);
        assert_eq!(&r[17], "", "no courier yet");
        assert!(r[22].starts_with("http") && r[22].contains("/t/") && r[22].ends_with('/'), "public tracking link {:?}", &r[22]);
    }
    // The money in the vendor's words (the platform's split is not theirs), as numbers Excel
    // can add up: what the customer pays, the fee, what the vendor receives (the first order
    // collects nothing: the fee is the vendor's, a negative number).
    assert_eq!((&headers[13], &headers[14], &headers[15]), ("Le client paie (FCFA)", "Frais de livraison (FCFA)", "Vous recevez (FCFA)"));
    assert!(!headers.iter().any(|h| h.contains("Commission") || h.contains("Net coursier")));
    for r in &rows {
        // A cancelled order costs nothing and brings nothing.
        let expected = if &r[2] == "Annulée" { 0 } else { r[13].parse::<i64>().unwrap() - r[14].parse::<i64>().unwrap() };
        assert_eq!(r[15].parse::<i64>().unwrap(), expected, "{r:?}");
        for i in 13..=15 {
            assert!(r[i].parse::<i64>().is_ok(), "column {} is a plain number: {:?}", &headers[i], &r[i]);
        }
    }
    // Filters apply; English and commas on request.
    let cancelled = app.get("/partners/orders/export/?status=CANCELLED&sep=comma").await.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(cancelled.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][3], "Paul Nkwi");
    assert_eq!(app.get("/partners/orders/export/?sep=tab").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/partners/orders/export/?from=yesterday").await.status(), StatusCode::BAD_REQUEST);
}

/// An export longer than one batch (they are read 500 at a time): every order once, newest
/// first, each line matching its order; a filter applies across batches too.
async fn export_walks_every_batch_once_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Boutique", "a@shop.cm").await;
    let hash = delivr::accounts::password::hash("coursier-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "c@delivr.cm", "Coursier", None, &hash)
        .await
        .unwrap();
    delivr::demo::seed_orders(&app.state.db, &partner, &[courier], delivr::db::now_ms(), 1_100).await.unwrap();
    let total = app.count("orders").await;
    let text = app.get("/partners/orders/export/?sep=comma").await.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as i64, total, "every order");
    let tracking: std::collections::HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(tracking.len(), rows.len(), "each once");
    let expected: Vec<(String, String, String)> = delivr::on_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT o.tracking_number, o.recipient_name, o.public_token FROM orders o WHERE o.partner_id = $1 ORDER BY o.created_at DESC, o.id DESC",
    )
    .bind(&partner)
    .fetch_all(pool)
    .await)
    .unwrap();
    for (row, (number, name, token)) in rows.iter().zip(&expected) {
        assert_eq!(&row[0], number, "newest first");
        assert_eq!(&row[3], name.as_str());
        assert!(row[22].ends_with(&format!("/t/{token}/")), "{row:?}");
    }
    let delivered: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'").fetch_one(pool).await).unwrap();
    assert!(delivered > 500, "the filter spans batches ({delivered})");
    let text = app.get("/partners/orders/export/?status=COMPLETED").await.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as i64, delivered);
    assert!(rows.iter().all(|r| &r[2] == "Livrée"), "only delivered orders");
}

/// Upload a CSV through the import form; returns the import id.
async fn upload(app: &TestApp, content: &str) -> String {
    let resp = upload_raw(app, content.as_bytes().to_vec()).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    location(&resp).trim_start_matches("/partners/orders/import/").trim_end_matches('/').to_owned()
}

async fn upload_raw(app: &TestApp, bytes: Vec<u8>) -> reqwest::Response {
    let token = app.csrf("/partners/orders/import/").await;
    let boundary = "XdelivrBoundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"orders.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.client
        .post(app.url(&format!("/partners/orders/import/?csrf={token}")))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn import_previews_then_creates_valid_rows_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    crate::helpers::serve_douala_yaounde(&app).await;
    let csv = "Destinataire;Téléphone;Ville;Quartier;Adresse;Colis;Taille;Montant\n\
        Paul Nkwi;677 98 76 54;Douala;deido;Derrière la pharmacie;Chaussures;M;15 000\n\
        Chantal Abanda;+237 699 11 22 33;Yaoundé;BASTOS;Portail bleu;Robe;;\n\
        Mauvais Tel;12345;Douala;Akwa;Rue 1;Sac;S;\n\
        Quartier Faux;677000000;Douala;Atlantide;Rue 2;Sac;S;\n\
        Montant Faux;677000001;Douala;Akwa;Rue 3;Sac;S;-3\n\
        Faute Frappe;677000002;Douala;Bonamousadi;Rue 4;Sac;S;\n";
    let id = upload(&app, csv).await;
    let preview = app.get(&format!("/partners/orders/import/{id}/")).await.text().await.unwrap();
    assert!(preview.contains("2 lignes valides, 4 lignes à corriger."), "{preview}");
    // Problems name the vendor's own columns, and a near quartier is suggested.
    assert!(
        preview.contains("<strong>Téléphone</strong> : Numéro camerounais invalide")
            && preview.contains("<strong>Quartier</strong> : Quartier inconnu à Douala")
            && preview.contains("<strong>Montant</strong> : Montant invalide"),
        "{preview}"
    );
    assert!(preview.contains("Vouliez-vous dire Bonamoussadi ?"), "{preview}");
    assert!(!preview.contains("recipient_phone") && !preview.contains("dropoff_quartier"));
    // Each valid row says its money in the vendor's words.
    assert!(preview.contains("Le client paie 15\u{a0}000\u{a0}FCFA") && preview.contains("Rien à encaisser"), "{preview}");
    assert_eq!(app.count("orders").await, 0, "the preview writes nothing");
    let resp = app.post_form(&format!("/partners/orders/import/{id}/"), &format!("/partners/orders/import/{id}/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("orders").await, 2);
    // The result says what was created and offers the rows left out, to fix and import again.
    let done = app.get(&location(&resp)).await.text().await.unwrap();
    assert!(done.contains("Import terminé : 2 commandes créées.") && done.contains("4 lignes ont été laissées de côté."), "{done}");
    let ignored = app.get(&format!("/partners/orders/import/{id}/ignored/")).await;
    assert_eq!(ignored.headers()["content-type"], "text/csv; charset=utf-8");
    let ignored = ignored.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(ignored.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(&reader.headers().unwrap()[12], "À corriger");
    let left: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(left.len(), 4);
    assert!(left.iter().any(|r| &r[0] == "Faute Frappe" && r[12].contains("Vouliez-vous dire Bonamoussadi ?")));
    let sources: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT source FROM orders").fetch_all(pool).await).unwrap();
    assert!(sources.iter().all(|s| s == "IMPORT"));
    // A second submit (double click, back button) creates nothing more.
    let resp = app.post_form(&format!("/partners/orders/import/{id}/"), &format!("/partners/orders/import/{id}/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("orders").await, 2);
    assert!(app.get(&format!("/partners/orders/import/{id}/")).await.text().await.unwrap().contains("déjà été importé"));
    // The template reads back as one valid row.
    let template = app.get("/partners/orders/import/template/").await.bytes().await.unwrap();
    assert!(template.starts_with(b"\xEF\xBB\xBFDestinataire;T\xC3\xA9l\xC3\xA9phone;Ville;Quartier"));
    let id = upload(&app, std::str::from_utf8(&template[3..]).unwrap()).await;
    assert!(app.get(&format!("/partners/orders/import/{id}/")).await.text().await.unwrap().contains("1 ligne valide, 0 ligne à corriger."));
    // Windows-1252 from Excel in French is read correctly.
    let latin1: Vec<u8> = b"destinataire;telephone;ville;quartier;adresse;colis\nZo\xe9;677987654;Douala;De\xefdo;Rue 1;Colis\n".to_vec();
    let resp = upload_raw(&app, latin1).await;
    let id = location(&resp).trim_start_matches("/partners/orders/import/").trim_end_matches('/').to_owned();
    assert!(app.get(&format!("/partners/orders/import/{id}/")).await.text().await.unwrap().contains("1 ligne valide"));
}

async fn import_refuses_bad_files(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let mut big = String::from("destinataire;telephone;ville;quartier;adresse;colis\n");
    for i in 0..10_000 {
        big.push_str(&format!("N{i};677987654;Douala;Akwa;Rue;Colis\n"));
    }
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (big.into_bytes(), "10000 lignes"),
        (b"\xff\xfed\x00e\x00s\x00".to_vec(), "CSV UTF-8"),
        (b"nom;prix\nx;1\n".to_vec(), "Colonnes manquantes"),
        (Vec::new(), "Le fichier est vide."),
        (vec![b'a'; 1024 * 1024 + 10], "1 Mo au maximum"),
    ];
    for (bytes, message) in cases {
        let resp = upload_raw(&app, bytes).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(resp.text().await.unwrap().contains(message), "{message}");
    }
    assert_eq!(app.count("order_imports").await, 0);
    // Without the CSRF token in the URL the upload is refused.
    let resp = app
        .client
        .post(app.url("/partners/orders/import/"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

async fn public_tracking_page_is_tiny_and_unguessable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique Akwa", "a@shop.cm").await;
    let id = create_order(&app, &[]).await;
    let token = scalar_str(&app, "SELECT public_token FROM orders WHERE id = $1", &id).await;
    assert!(token.len() >= 20);
    let visitor = app.other_browser();
    let resp = visitor.client.get(visitor.url(&format!("/t/{token}/"))).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html_len = resp.bytes().await.unwrap().len();
    let html = visitor.get(&format!("/t/{token}/")).await.text().await.unwrap();
    assert!(html.contains("Livraison de Boutique Akwa") && html.contains("En attente"));
    assert!(!html.contains("Paul Nkwi"), "no recipient details on the public page");
    // Everything the page loads: the HTML and each static file it references.
    let weight = |html: String, html_len: usize| {
        let visitor = visitor.other_browser();
        async move {
            let mut total = html_len;
            for dir in ["/static/", "/media/"] {
                for part in html.split(dir).skip(1) {
                    let name = part.split('"').next().unwrap();
                    let resp =
                        visitor.client.get(visitor.url(&format!("{dir}{name}"))).header("accept-encoding", "br").send().await.unwrap();
                    assert_eq!(resp.status(), StatusCode::OK, "{dir}{name}");
                    total += resp.bytes().await.unwrap().len();
                }
            }
            total
        }
    };
    let total = weight(html.clone(), html_len).await;
    assert!(total <= 15 * 1024, "tracking page loads {total} bytes, over 15 KB");
    // Branded (colour, message, a 256-pixel logo drawn in flat colours as logos are): still within.
    let logo = image::RgbaImage::from_fn(512, 512, |x, y| {
        let r = ((x as f64 - 256.0).powi(2) + (y as f64 - 256.0).powi(2)).sqrt();
        if r < 160.0 {
            image::Rgba([255, 255, 255, 255])
        } else if r < 250.0 {
            image::Rgba([122, 31, 92, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(logo).write_to(&mut png, image::ImageFormat::Png).unwrap();
    let partner = app.partner_id("a@shop.cm").await;
    let update = delivr::partners::branding::BrandingUpdate {
        color: Some("#7a1f5c".into()),
        message: Some("Merci de votre confiance ! Livraison le jour même à Douala pour toute commande passée avant 14 h.".into()),
        slug: "boutique-akwa".into(),
        logo: Some(Some(delivr::media::logo(png.get_ref(), delivr::partners::branding::MAX_LOGO_BYTES).unwrap())),
    };
    delivr::partners::branding::save_branding(&app.state.db, &partner, &update).await.unwrap();
    let resp = visitor.client.get(visitor.url(&format!("/t/{token}/"))).header("accept-encoding", "br").send().await.unwrap();
    let html_len = resp.bytes().await.unwrap().len();
    let html = visitor.get(&format!("/t/{token}/")).await.text().await.unwrap();
    assert!(html.contains("/media/logos/"));
    let branded = weight(html.clone(), html_len).await;
    assert!(branded <= 15 * 1024, "branded tracking page loads {branded} bytes, over 15 KB");
    println!("public tracking page: {total} bytes, branded {branded} bytes");
    assert!(!html.contains("htmx"), "no htmx on the public page");
    for bad in ["/t/nope/", "/t/aaaaaaaaaaaaaaaaaaaaaa/", &format!("/t/{id}/")] {
        assert_eq!(visitor.get(bad).await.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}

async fn booking_page_takes_requests_and_resists_spam(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Épicerie Chez Zoé", "zoe@shop.cm").await;
    let customer = app.other_browser();
    let page = customer.get("/book/epicerie-chez-zoe/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Épicerie Chez Zoé"));
    let fields = [
        ("recipient_name", "Flore Essomba"),
        ("recipient_phone", "699 88 77 66"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "Makepe"),
        ("dropoff_address", "Carrefour Makepe, portail bleu"),
        ("package_description", "Panier de fruits"),
        ("website", ""),
    ];
    let resp = customer.post_form("/book/epicerie-chez-zoe/", "/book/epicerie-chez-zoe/", &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/r/"), "{}", location(&resp));
    let html = customer.get(&location(&resp)).await.text().await.unwrap();
    assert!(html.contains("Demande envoyée") && html.contains("À confirmer"), "{html}");
    // A request waits for the vendor: no order yet.
    let (status, partner_id): (String, String) =
        delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT status, partner_id FROM booking_requests").fetch_one(pool).await)
            .unwrap();
    assert_eq!((status.as_str(), partner_id.as_str()), ("PENDING", partner.as_str()));
    assert_eq!(app.count("orders").await, 0);
    // A bot fills the honeypot: it sees a thank-you, nothing is stored.
    let mut bot = fields.to_vec();
    bot.retain(|(k, _)| *k != "website");
    bot.push(("website", "http://spam.example"));
    let resp = customer.post_form("/book/epicerie-chez-zoe/", "/book/epicerie-chez-zoe/", &bot).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.count("booking_requests").await, 1);
    // Bad input: errors next to the fields.
    let mut bad = fields.to_vec();
    bad[1] = ("recipient_phone", "123");
    let resp = customer.post_form("/book/epicerie-chez-zoe/", "/book/epicerie-chez-zoe/", &bad).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Rate limit: five bookings per client per hour.
    for _ in 0..4 {
        assert_eq!(
            customer.post_form("/book/epicerie-chez-zoe/", "/book/epicerie-chez-zoe/", &fields).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let resp = customer.post_form("/book/epicerie-chez-zoe/", "/book/epicerie-chez-zoe/", &fields).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(app.count("booking_requests").await, 5);
    // Unknown, unapproved or suspended vendors have no booking page.
    assert_eq!(customer.get("/book/nobody/").await.status(), StatusCode::NOT_FOUND);
    delivr::partners::repo::suspend(&app.state.db, &partner, "test").await.unwrap();
    assert_eq!(customer.get("/book/epicerie-chez-zoe/").await.status(), StatusCode::NOT_FOUND);
}

async fn positions_are_validated_and_rate_limited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    let id = create_order(&app, &[]).await;
    let (courier_id, token) = courier(&app, "jean@coursiers.cm").await;
    let (_, other_token) = courier(&app, "paul@coursiers.cm").await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    delivr::orders::service::transition(
        &app.state.db,
        &app.state.bus,
        &order,
        &delivr::orders::model::Action::Assign { courier_id },
        &delivr::orders::service::Actor::system(),
        delivr::db::now_ms(),
    )
    .await
    .unwrap();
    let resp = courier_post(&app, &token, "/courier/v1/positions", json!({"order_id": id, "lat": 4.05, "lng": 9.70})).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = courier_post(&app, &token, "/courier/v1/positions", json!({"order_id": id, "lat": 4.051, "lng": 9.701})).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    for body in [json!({"order_id": id, "lat": 48.85, "lng": 2.35}), json!({"order_id": id, "lat": 4.05})] {
        let resp = courier_post(&app, &token, "/courier/v1/positions", body.clone()).await;
        assert!(resp.status() == StatusCode::UNPROCESSABLE_ENTITY || resp.status() == StatusCode::BAD_REQUEST, "{body}");
    }
    let resp = courier_post(&app, &other_token, "/courier/v1/positions", json!({"order_id": id, "lat": 4.05, "lng": 9.70})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (lat,): (f64,) = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT lat FROM order_positions_latest WHERE order_id = $1").bind(&id).fetch_one(pool).await).unwrap();
    assert!((lat - 4.05).abs() < 1e-9);
    assert_eq!(app.count("order_positions").await, 1);
}

async fn the_simulator_delivers_orders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    for _ in 0..3 {
        create_order(&app, &[]).await;
    }
    for i in 0..2 {
        let hash = delivr::accounts::password::hash("x-password-1").unwrap();
        delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, &format!("c{i}@c.cm"), "C", None, &hash)
            .await
            .unwrap();
    }
    let sim = delivr::couriers::simulator::Simulator { speed: 100.0, failure_percent: 0, ..Default::default() };
    let mut now = delivr::db::now_ms();
    for _ in 0..2000 {
        now += 2_000;
        sim.step(&app.state.db, &app.state.bus, now).await.unwrap();
        if scalar_i64(&app, "SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'").await == 3 {
            break;
        }
    }
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'").await, 3);
    // It went through every step and left positions behind.
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM domain_events WHERE kind LIKE 'order.%'").await, 3 * 5);
    assert!(app.count("order_positions").await >= 3);
}

async fn dashboard_counts_real_orders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "Boutique", "a@shop.cm").await;
    create_order(&app, &[("cod_amount", "10 000")]).await;
    create_order(&app, &[("cod_amount", "2 500")]).await;
    let html = app.get("/partners/dashboard/").await.text().await.unwrap();
    let kpi = |label: &str| {
        html.split(label).nth(1).and_then(|s| s.split("class=\"v\">").nth(1)).and_then(|s| s.split('<').next()).unwrap().to_owned()
    };
    assert_eq!(kpi("Commandes aujourd'hui"), "2");
    assert_eq!(kpi("En cours"), "0");
    assert_eq!(kpi("À encaisser (en cours)"), "12\u{a0}500\u{a0}FCFA");
}

async fn only_served_routes_are_priced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Boutique", "a@shop.cm").await;
    let key = delivr::api_keys::create(&app.state.db, &partner, "api").await.unwrap().unwrap().secret;
    let to_yaounde = [
        ("recipient_name", "Paul Nkwi"),
        ("recipient_phone", "677 98 76 54"),
        ("dropoff_city", "2"),
        ("dropoff_quartier", "Bastos"),
        ("dropoff_address", "Face à l'ambassade"),
        ("package_description", "Chaussures"),
        ("size_class", "S"),
    ];
    let api_order = || {
        app.client
            .post(app.url("/api/v1/orders"))
            .header("authorization", format!("Api-Key {key}"))
            .json(&json!({
                "dropoff_city": "Yaoundé", "dropoff_quartier": "Bastos", "dropoff_address": "Face à l'ambassade",
                "recipient": {"name": "Paul Nkwi", "phone": "677 98 76 54"}, "package_description": "Chaussures"
            }))
            .send()
    };
    // Douala → Yaoundé is not served: refused in the form, the quote, the API and the import.
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &to_yaounde).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("ne livre pas encore de Douala à Yaoundé"));
    let quote = app.get("/partners/orders/quote/?dropoff_city=2&dropoff_quartier=Bastos").await.text().await.unwrap();
    assert!(quote.contains("ne livre pas encore de Douala à Yaoundé"), "{quote}");
    let resp = api_order().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "dropoff_city" && e["message"].as_str().unwrap().contains("Yaoundé")),
        "{body}"
    );
    let import_id = upload(&app, "destinataire;telephone;ville;quartier;adresse;colis\nPaul;677987654;Yaoundé;Bastos;Rue 1;Colis\nAwa;677987654;Douala;Akwa;Rue 2;Colis\n").await;
    let preview = app.get(&format!("/partners/orders/import/{import_id}/")).await.text().await.unwrap();
    assert!(preview.contains("ne livre pas encore de Douala à Yaoundé"), "{preview}");
    assert_eq!(app.count("orders").await, 0);

    // An admin serves the pair at its own tariff (two distinct cities).
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let tariff =
        [("base_fare", "3000"), ("per_km", "15"), ("surcharge_medium", "500"), ("surcharge_large", "1500"), ("commission_percent", "20")];
    let mut same = vec![("city_from", "1"), ("city_to", "1")];
    same.extend(tariff);
    let resp = admin.post_form("/admin/tariffs/", "/admin/tariffs/routes/", &same).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut pair = vec![("city_from", "2"), ("city_to", "1")];
    pair.extend(tariff);
    assert_eq!(admin.post_form("/admin/tariffs/", "/admin/tariffs/routes/", &pair).await.status(), StatusCode::SEE_OTHER);
    assert!(admin.get("/admin/tariffs/").await.text().await.unwrap().contains("Douala ⇄ Yaoundé"));
    assert_eq!(app.get("/admin/tariffs/").await.status(), StatusCode::NOT_FOUND, "vendors do not see tariffs");

    // Served: the portal asks for an explicit confirmation, then prices it at the pair's tariff.
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &to_yaounde).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("cochez la case") && html.contains("name=\"intercity_ok\""), "{html}");
    assert_eq!(app.count("orders").await, 0);
    let mut confirmed = to_yaounde.to_vec();
    confirmed.push(("intercity_ok", "1"));
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &confirmed).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (total, distance): (i64, i64) =
        delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT price_total, distance_m FROM orders").fetch_one(pool).await).unwrap();
    assert!(distance > 150_000, "{distance}");
    assert_eq!(total, delivr::pricing::round_up(3000 + (15 * distance + 999) / 1000), "the pair's tariff");
    // The import flags it; the API takes it.
    let import_id = upload(&app, "destinataire;telephone;ville;quartier;adresse;colis\nPaul;677987654;Yaoundé;Bastos;Rue 1;Colis\n").await;
    let preview = app.get(&format!("/partners/orders/import/{import_id}/")).await.text().await.unwrap();
    assert!(preview.contains("Interurbain"), "{preview}");
    assert_eq!(api_order().await.unwrap().status(), StatusCode::CREATED);

    // No longer served: refused again.
    let resp = admin.post_form("/admin/tariffs/", "/admin/tariffs/routes/remove/", &[("city_from", "1"), ("city_to", "2")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_order().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// The wallet entries of an order: (amount, attempt, reason).
async fn fees_of(app: &TestApp, order_id: &str) -> Vec<(i64, i64, Option<String>)> {
    delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT amount, attempt, reason FROM wallet_entries WHERE order_id = $1 AND kind = 'DELIVERY_FEE' ORDER BY id")
        .bind(order_id)
        .fetch_all(pool)
        .await)
    .unwrap()
}

async fn a_failed_delivery_is_reattempted_or_returned(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Boutique", "a@shop.cm").await;
    delivr::webhooks::save(
        &app.state.db,
        &partner,
        "http://127.0.0.1:9/hook",
        &["order.failed".into(), "order.reattempted".into(), "order.returning".into(), "order.returned".into(), "order.assigned".into()],
        true,
    )
    .await
    .unwrap();
    let key = delivr::api_keys::create(&app.state.db, &partner, "api").await.unwrap().unwrap().secret;
    let (courier_id, token) = courier(&app, "jean@delivr.cm").await;
    let assign = |o: delivr::orders::repo::Order, courier_id: String| {
        let app = &app;
        async move {
            let action = delivr::orders::model::Action::Assign { courier_id };
            delivr::orders::service::transition(
                &app.state.db,
                &app.state.bus,
                &o,
                &action,
                &delivr::orders::service::Actor::system(),
                delivr::db::now_ms(),
            )
            .await
            .unwrap()
        }
    };
    let order = crate::helpers::new_order(&app, "15 000").await;
    let price = order.price_total.get();
    let order = assign(order, courier_id.clone()).await;
    for step in ["pickup", "in-transit"] {
        assert_eq!(
            courier_post(&app, &token, &format!("/courier/v1/orders/{}/{step}", order.id), json!({})).await.status(),
            StatusCode::OK
        );
    }
    // A reattempt or a return of an order that has not failed is refused, and changes nothing.
    let page = format!("/partners/orders/{}/", order.id);
    let resp = app.post_form(&page, &format!("/partners/orders/{}/reattempt/", order.id), &[]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{}/fail", order.id), json!({"reason": "Destinataire absent"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(fees_of(&app, &order.id).await, vec![(-price, 1, None)], "the first trip's fee");

    // The vendor sees what each choice costs, and orders a new attempt.
    let html = app.get(&page).await.text().await.unwrap();
    let half = delivr::pricing::round_up(price / 2);
    let half_shown = delivr::money::format_fcfa(half);
    assert!(html.contains("Nouvelle tentative (n°2)") && html.contains(&half_shown) && html.contains("50 %"), "{html}");
    let resp = app.post_form(&page, &format!("/partners/orders/{}/reattempt/", order.id), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let o = delivr::orders::repo::find(&app.state.db, &order.id).await.unwrap().unwrap();
    assert_eq!((o.status().as_str(), o.attempt, o.courier_id.as_deref()), ("PENDING", 2, None), "back in the dispatch queue");
    assert_eq!(fees_of(&app, &order.id).await, vec![(-price, 1, None), (-half, 2, Some("reattempt:2".into()))]);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("Tentative n°2") && html.contains("Nouvelle tentative"), "{html}");
    // Twice is refused: the order is no longer FAILED.
    assert_eq!(app.post_form(&page, &format!("/partners/orders/{}/reattempt/", order.id), &[]).await.status(), StatusCode::CONFLICT);
    // Another courier takes it and delivers: the cash is collected, no second full fee.
    let (other_courier, other_token) = courier(&app, "awa@delivr.cm").await;
    let o = assign(o, other_courier).await;
    for step in ["pickup", "in-transit"] {
        assert_eq!(
            courier_post(&app, &other_token, &format!("/courier/v1/orders/{}/{step}", o.id), json!({})).await.status(),
            StatusCode::OK
        );
    }
    let resp = courier_post(&app, &other_token, &format!("/courier/v1/orders/{}/complete", o.id), json!({"pin": o.delivery_pin})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(fees_of(&app, &order.id).await.len(), 2);
    let cod: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT amount FROM wallet_entries WHERE order_id = $1 AND kind = 'COD_COLLECTED'").bind(&order.id).fetch_one(pool).await).unwrap();
    assert_eq!(cod, 15_000);
    // The webhooks say so, with the attempt's number.
    let events: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT body FROM webhook_deliveries ORDER BY created_at, id").fetch_all(pool).await).unwrap();
    let events: Vec<Value> = events.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let kinds: Vec<(&str, i64)> = events.iter().map(|e| (e["event"].as_str().unwrap(), e["data"]["attempt"].as_i64().unwrap())).collect();
    assert!(
        kinds.contains(&("order.failed", 1)) && kinds.contains(&("order.reattempted", 2)) && kinds.contains(&("order.assigned", 2)),
        "{kinds:?}"
    );

    // A second order fails and goes back to the vendor, through the API.
    let order = crate::helpers::new_order(&app, "5 000").await;
    let order = assign(order, courier_id.clone()).await;
    for step in ["pickup", "in-transit"] {
        courier_post(&app, &token, &format!("/courier/v1/orders/{}/{step}", order.id), json!({})).await;
    }
    courier_post(&app, &token, &format!("/courier/v1/orders/{}/fail", order.id), json!({"reason": "Adresse introuvable"})).await;
    let api = |path: String| app.client.post(app.url(&format!("/api/v1{path}"))).header("authorization", format!("Api-Key {key}")).send();
    let resp = api(format!("/orders/{}/return", order.id)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "RETURNING");
    let code = body["return_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 4);
    assert_eq!(api(format!("/orders/{}/reattempt", order.id)).await.unwrap().status(), StatusCode::CONFLICT);
    let html = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    assert!(html.contains("Retour en cours") && html.contains(&code), "the vendor sees the return code");
    // The courier needs the vendor's code: a wrong one is refused and changes nothing.
    let wrong = if code == "0000" { "1111" } else { "0000" };
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{}/returned", order.id), json!({"code": wrong})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{}/returned", order.id), json!({"code": code})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The code cannot be guessed: five wrong tries lock it, the right one is then refused too,
    // and only an admin (who checked with the vendor) closes the return.
    let third = crate::helpers::new_order(&app, "").await;
    let third = assign(third, courier_id.clone()).await;
    for step in ["pickup", "in-transit"] {
        courier_post(&app, &token, &format!("/courier/v1/orders/{}/{step}", third.id), json!({})).await;
    }
    courier_post(&app, &token, &format!("/courier/v1/orders/{}/fail", third.id), json!({"reason": "Refusé"})).await;
    let body: Value = api(format!("/orders/{}/return", third.id)).await.unwrap().json().await.unwrap();
    let code = body["return_code"].as_str().unwrap().to_owned();
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for _ in 0..delivr::orders::model::MAX_PIN_FAILURES {
        courier_post(&app, &token, &format!("/courier/v1/orders/{}/returned", third.id), json!({"code": wrong})).await;
    }
    let resp = courier_post(&app, &token, &format!("/courier/v1/orders/{}/returned", third.id), json!({"code": code})).await;
    assert_eq!(resp.status(), StatusCode::LOCKED);
    let admin = admin(&app).await;
    let page = format!("/admin/orders/{}/", third.id);
    assert_eq!(
        admin.post_form(&page, &format!("/admin/orders/{}/returned/", third.id), &[("code", "")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let closed = delivr::orders::repo::find(&app.state.db, &third.id).await.unwrap().unwrap();
    assert_eq!(closed.status().as_str(), "RETURNED");
    let o = delivr::orders::repo::find(&app.state.db, &order.id).await.unwrap().unwrap();
    assert_eq!(o.status().as_str(), "RETURNED");
    let fees = fees_of(&app, &order.id).await;
    assert_eq!(
        fees.iter().map(|f| (f.1, f.2.clone())).collect::<Vec<_>>(),
        vec![(1, None), (2, Some("return".into()))],
        "the trip out and the trip back"
    );
    let note: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM partner_notifications WHERE title LIKE 'Colis % rendu' AND order_id = $1").bind(&order.id).fetch_one(pool).await).unwrap();
    assert_eq!(note, 1);
    // A new attempt cancelled before it happens costs nothing: its fee comes back.
    let fourth = crate::helpers::new_order(&app, "").await;
    let fourth = assign(fourth, courier_id.clone()).await;
    for step in ["pickup", "in-transit"] {
        courier_post(&app, &token, &format!("/courier/v1/orders/{}/{step}", fourth.id), json!({})).await;
    }
    courier_post(&app, &token, &format!("/courier/v1/orders/{}/fail", fourth.id), json!({"reason": "Absent"})).await;
    assert_eq!(api(format!("/orders/{}/reattempt", fourth.id)).await.unwrap().status(), StatusCode::OK);
    let page = format!("/partners/orders/{}/", fourth.id);
    assert_eq!(
        app.post_form(&page, &format!("/partners/orders/{}/cancel/", fourth.id), &[("confirmed", "1")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let net: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT CAST(SUM(amount) AS BIGINT) FROM wallet_entries WHERE order_id = $1").bind(&fourth.id).fetch_one(pool).await).unwrap();
    assert_eq!(net, -fourth.price_total.get(), "only the first trip is paid");
    // The wallet says what each fee was for; the wallet still equals its ledger.
    let wallet = app.get("/partners/wallet/").await.text().await.unwrap();
    assert!(
        wallet.contains("tentative n°2") && wallet.contains("Frais du retour") && wallet.contains("annulée avant d'avoir lieu"),
        "{wallet}"
    );
    let balance = delivr::wallet::balance(&app.state.db, &partner).await.unwrap().balance;
    let sum: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT CAST(SUM(amount) AS BIGINT) FROM wallet_entries WHERE partner_id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    assert_eq!(balance.get(), sum);
}

/// Run a command-line tool on a file; its standard output.
fn tool(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed ({e}): `just setup` installs it"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn labels_print_with_a_readable_qr_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Boutique Awa", "a@shop.cm").await;
    let id = create_order(&app, &[]).await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    let resp = app.get(&format!("/partners/orders/{id}/label/")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("label.pdf");
    std::fs::write(&file, resp.bytes().await.unwrap()).unwrap();
    let path = file.to_str().unwrap();
    // The words a courier reads…
    let text = tool("pdftotext", &[path, "-"]).replace('\u{a0}', " ");
    for expected in [
        order.tracking_number.as_str(),
        "Paul Nkwi",
        "Bonamoussadi",
        "15 000 FCFA",
        "Boutique Awa",
        "+237 6 77 98 76 54",
        "Derrière la pharmacie",
    ] {
        assert!(text.contains(expected), "{expected} on the label: {text}");
    }
    let info = tool("pdfinfo", &[path]);
    assert!(info.contains("297.5 x 421 pts"), "an A6 page: {info}");
    // …and the QR code a phone scans: the public tracking link.
    let png = dir.path().join("label");
    tool("pdftoppm", &["-r", "200", "-png", "-singlefile", path, png.to_str().unwrap()]);
    let scanned = tool("zbarimg", &["--raw", "-q", dir.path().join("label.png").to_str().unwrap()]);
    assert_eq!(scanned.trim(), format!("{}/t/{}/", app.state.config.public_url(), order.public_token));

    // Several ticked in the list: four labels to an A4 page.
    let mut ids = vec![id.clone()];
    for i in 0..4 {
        ids.push(create_order(&app, &[("recipient_name", &format!("Client {i}"))]).await);
    }
    let list = app.get("/partners/orders/").await.text().await.unwrap();
    assert!(list.contains("form=\"labels-form\"") && list.contains("id=\"labels-form\""), "the list ticks orders for labels");
    let query: String = ids.iter().map(|i| format!("id={i}")).collect::<Vec<_>>().join("&");
    let resp = app.get(&format!("/partners/orders/labels/?{query}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sheet = dir.path().join("sheet.pdf");
    std::fs::write(&sheet, resp.bytes().await.unwrap()).unwrap();
    let info = tool("pdfinfo", &[sheet.to_str().unwrap()]);
    assert!(info.lines().any(|l| l.starts_with("Pages:") && l.split_whitespace().nth(1) == Some("2")) && info.contains("(A4)"), "{info}");
    let text = tool("pdftotext", &[sheet.to_str().unwrap(), "-"]);
    for id in &ids {
        let o = delivr::orders::repo::find(&app.state.db, id).await.unwrap().unwrap();
        assert!(text.contains(&o.tracking_number), "{} on the sheet", o.tracking_number);
    }
    // Nothing ticked, too many, or another vendor's order: refused.
    let resp = app.get("/partners/orders/labels/").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("Cochez au moins une commande"));
    let many: String = (0..41).map(|_| format!("id={id}")).collect::<Vec<_>>().join("&");
    assert_eq!(app.get(&format!("/partners/orders/labels/?{many}")).await.status(), StatusCode::BAD_REQUEST);
    let other = app.other_browser();
    vendor(&other, "Autre", "b@shop.cm").await;
    assert_eq!(other.get(&format!("/partners/orders/{id}/label/")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("/partners/orders/labels/?id={id}")).await.status(), StatusCode::NOT_FOUND);
    // The API gives the same label.
    let key = delivr::api_keys::create(&app.state.db, &partner, "api").await.unwrap().unwrap().secret;
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/orders/{id}/label")))
        .header("authorization", format!("Api-Key {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
}
