//! Booking requests: a customer's request on the public booking page waits for the vendor,
//! who accepts it with the cash to collect (one order, whoever clicks twice) or declines it
//! with a reason the customer reads; unanswered, it expires.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(a_request_becomes_an_order_when_the_vendor_accepts, declined_and_expired_requests_are_told_to_the_customer);

async fn vendor(app: &TestApp, name: &str, email: &str) -> String {
    let id = app.approved_vendor(name, email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

const SLUG: &str = "epicerie-chez-zoe";

/// A customer sends a request; returns its page's path (`/r/<token>/`).
async fn request(customer: &TestApp, name: &str) -> String {
    let fields = [
        ("recipient_name", name),
        ("recipient_phone", "699 88 77 66"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "Makepe"),
        ("dropoff_address", "Carrefour Makepe, portail bleu"),
        ("package_description", "Panier de fruits"),
        ("website", ""),
    ];
    let book = format!("/book/{SLUG}/");
    let resp = customer.post_form(&book, &book, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    location(&resp).split('?').next().unwrap().to_owned()
}

async fn request_id(app: &TestApp, name: &str) -> String {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>("SELECT id FROM booking_requests WHERE recipient_name = $1")
        .bind(name)
        .fetch_one(pool)
        .await)
    .unwrap()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>("SELECT status FROM booking_requests WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await)
    .unwrap()
}

fn accept_fields<'a>(name: &'a str, cod: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cod_amount", cod),
        ("recipient_name", name),
        ("recipient_phone", "699 88 77 66"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "Makepe"),
        ("dropoff_address", "Carrefour Makepe, portail bleu"),
        ("package_description", "Panier de fruits"),
        ("size_class", "M"),
    ]
}

async fn a_request_becomes_an_order_when_the_vendor_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Épicerie Chez Zoé", "zoe@shop.cm").await;
    // Subscribed to the new event (an address the SSRF guard never lets out: the row is the proof).
    delivr::webhooks::save(&app.state.db, &partner, "http://127.0.0.1:9/hook", &["booking.requested".to_owned()], true).await.unwrap();
    let customer = app.other_browser();

    // Before sending, the customer sees the fee to the quartier chosen, and what comes next.
    let page = customer.get(&format!("/book/{SLUG}/?dropoff_city=1&dropoff_quartier=Makepe")).await.text().await.unwrap();
    assert!(page.contains("Frais de livraison jusqu'à Makepe") && page.contains("FCFA"), "{page}");
    assert!(page.contains("confirme votre demande"));
    let page = customer.get(&format!("/book/{SLUG}/")).await.text().await.unwrap();
    assert!(page.contains("Choisissez la ville et le quartier pour voir les frais"));

    let mine = request(&customer, "Flore Essomba").await;
    let id = request_id(&app, "Flore Essomba").await;
    assert_eq!(app.count("orders").await, 0, "a request is not an order");
    let waiting = customer.get(&mine).await.text().await.unwrap();
    assert!(waiting.contains("n'a pas encore confirmé"), "{waiting}");

    // The vendor hears of it: notification, webhook event, dashboard card, inbox.
    let note: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT message FROM partner_notifications WHERE title = 'Nouvelle demande de livraison'")
        .fetch_one(pool)
        .await)
    .unwrap();
    assert!(note.contains("Flore Essomba") && note.contains("Makepe"), "{note}");
    let body: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT body FROM webhook_deliveries WHERE event_kind = 'booking.requested'")
        .fetch_one(pool)
        .await)
    .unwrap();
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["event"], "booking.requested");
    assert_eq!(event["data"]["booking_request_id"], id.as_str());
    assert_eq!(event["data"]["recipient"]["phone"], "+237699887766");
    assert_eq!(event["data"]["dropoff"]["quartier"], "Makepe");
    assert!(event["data"]["delivery_fee"].as_i64().unwrap() > 0);
    let dashboard = app.get("/partners/dashboard/").await.text().await.unwrap();
    assert!(dashboard.contains("Demandes de clients à confirmer : 1") && dashboard.contains("href=\"/partners/bookings/\""));
    let inbox = app.get("/partners/bookings/").await.text().await.unwrap();
    assert!(inbox.contains("Flore Essomba") && inbox.contains(&format!("/partners/bookings/{id}/")));
    // Another vendor cannot see it.
    let other = app.other_browser();
    other.approved_vendor("Autre", "autre@shop.cm").await;
    assert_eq!(other.get(&format!("/partners/bookings/{id}/")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        other.post_form("/partners/bookings/", &format!("/partners/bookings/{id}/accept/"), &accept_fields("X", "0")).await.status(),
        StatusCode::NOT_FOUND
    );

    // The cash to collect must be said; a bad amount is refused; nothing is created.
    let detail = format!("/partners/bookings/{id}/");
    let accept = format!("/partners/bookings/{id}/accept/");
    let resp = app.post_form(&detail, &accept, &accept_fields("Flore Essomba", "")).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Indiquez le montant à encaisser"));
    let resp = app.post_form(&detail, &accept, &accept_fields("Flore Essomba", "-500")).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((app.count("orders").await, status_of(&app, &id).await.as_str()), (0, "PENDING"));

    // Accepted with 15 000 FCFA and a corrected name: an order with its PIN.
    let resp = app.post_form(&detail, &accept, &accept_fields("Flore Essomba Ngo", "15 000")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert!(to.starts_with("/partners/orders/") && to.ends_with("?created=1"), "{to}");
    let (order_id, source, cod, name, pin, size): (String, String, i64, String, String, String) =
        delivr::on_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT id, source, cod_amount, recipient_name, delivery_pin, size_class FROM orders",
    )
    .fetch_one(pool)
    .await)
        .unwrap();
    assert_eq!((source.as_str(), cod, name.as_str(), pin.len(), size.as_str()), ("BOOKING", 15_000, "Flore Essomba Ngo", 4, "M"));
    assert!(to.contains(&order_id));
    let linked: Option<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT order_id FROM booking_requests WHERE id = $1").bind(&id).fetch_one(pool).await).unwrap();
    assert_eq!(linked.as_deref(), Some(order_id.as_str()));
    assert_eq!(status_of(&app, &id).await, "ACCEPTED");
    // The customer's page now links to the tracking page.
    let answered = customer.get(&mine).await.text().await.unwrap();
    assert!(answered.contains("a confirmé votre demande") && answered.contains("/t/"), "{answered}");
    // Accepting twice (a double tap, or a second tab) makes no second order.
    let resp = app.post_form(&detail, &accept, &accept_fields("Flore Essomba Ngo", "15 000")).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("déjà été traitée"));
    assert_eq!(app.count("orders").await, 1);

    // A served intercity request needs the same confirmation as the order form.
    crate::helpers::serve_douala_yaounde(&app).await;
    let book = format!("/book/{SLUG}/");
    let far = [
        ("recipient_name", "Awa Yaoundé"),
        ("recipient_phone", "699 88 77 66"),
        ("dropoff_city", "2"),
        ("dropoff_quartier", "Bastos"),
        ("dropoff_address", "Face à l'ambassade"),
        ("package_description", "Sac"),
        ("website", ""),
    ];
    assert_eq!(customer.post_form(&book, &book, &far).await.status(), StatusCode::SEE_OTHER);
    let id = request_id(&app, "Awa Yaoundé").await;
    let (detail, accept) = (format!("/partners/bookings/{id}/"), format!("/partners/bookings/{id}/accept/"));
    let mut fields = accept_fields("Awa Yaoundé", "0");
    fields.retain(|(k, _)| !k.starts_with("dropoff_"));
    fields.extend([("dropoff_city", "2"), ("dropoff_quartier", "Bastos"), ("dropoff_address", "Face à l'ambassade")]);
    let resp = app.post_form(&detail, &accept, &fields).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("cochez la case"));
    fields.push(("intercity_ok", "1"));
    assert_eq!(app.post_form(&detail, &accept, &fields).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("orders").await, 2);

    // Two accepts at once: one order.
    request(&customer, "Jean Mballa").await;
    let id = request_id(&app, "Jean Mballa").await;
    let (detail, accept) = (format!("/partners/bookings/{id}/"), format!("/partners/bookings/{id}/accept/"));
    let fields = accept_fields("Jean Mballa", "2000");
    let (a, b) = tokio::join!(app.post_form(&detail, &accept, &fields), app.post_form(&detail, &accept, &fields));
    let mut codes = [a.status(), b.status()];
    codes.sort();
    assert_eq!(codes, [StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    assert_eq!(app.count("orders").await, 3);
}

async fn declined_and_expired_requests_are_told_to_the_customer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "Épicerie Chez Zoé", "zoe@shop.cm").await;
    let customer = app.other_browser();
    let first = request(&customer, "Flore Essomba").await;
    let id = request_id(&app, "Flore Essomba").await;
    let (detail, decline) = (format!("/partners/bookings/{id}/"), format!("/partners/bookings/{id}/decline/"));
    // Declining needs a reason the customer can read.
    let resp = app.post_form(&detail, &decline, &[("reason", " ")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Dites au client pourquoi"));
    assert_eq!(status_of(&app, &id).await, "PENDING");
    // A good reason is confirmed first, naming the customer; nothing changes until then.
    let resp = app.post_form(&detail, &decline, &[("reason", "Rupture de stock")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ask = resp.text().await.unwrap();
    assert!(ask.contains("Refuser la demande de Flore Essomba ?") && ask.contains("« Rupture de stock »"), "{ask}");
    assert!(
        ask.contains(&format!("action=\"{decline}\""))
            && ask.contains(r#"name="reason" value="Rupture de stock""#)
            && ask.contains(r#"name="confirmed" value="1""#)
    );
    assert_eq!(status_of(&app, &id).await, "PENDING");
    let resp = app.post_form(&detail, &decline, &[("reason", "Rupture de stock"), ("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/partners/bookings/?declined=1");
    let told = customer.get(&first).await.text().await.unwrap();
    assert!(told.contains("a refusé votre demande") && told.contains("Rupture de stock"), "{told}");
    // Declined is final.
    let accept = format!("/partners/bookings/{id}/accept/");
    let resp = app.post_form(&detail, &accept, &accept_fields("Flore Essomba", "0")).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(app.count("orders").await, 0);

    // Unanswered in time: expired, for the vendor and the customer, even before the sweep.
    let second = request(&customer, "Jean Mballa").await;
    let id = request_id(&app, "Jean Mballa").await;
    assert_eq!(delivr::orders::bookings::pending_count(&app.state.db, &partner).await.unwrap(), 1);
    app.exec(&format!("UPDATE booking_requests SET expires_at = 1 WHERE id = '{id}'")).await;
    assert_eq!(delivr::orders::bookings::pending_count(&app.state.db, &partner).await.unwrap(), 0);
    let (detail, accept) = (format!("/partners/bookings/{id}/"), format!("/partners/bookings/{id}/accept/"));
    let resp = app.post_form(&detail, &accept, &accept_fields("Jean Mballa", "0")).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("a expiré"));
    assert!(customer.get(&second).await.text().await.unwrap().contains("n'a pas répondu à temps"));
    assert_eq!(delivr::orders::bookings::expire_due(&app.state.db, delivr::db::now_ms()).await.unwrap(), 1);
    assert_eq!(status_of(&app, &id).await, "EXPIRED");
    assert_eq!(app.count("orders").await, 0);
    // Unknown tokens are not found.
    assert_eq!(customer.get("/r/nope/").await.status(), StatusCode::NOT_FOUND);
}
