//! Access that ends when it should: live streams die with their session (logout, suspension,
//! password change, expiry, "sign out everywhere", across instances), delivery PINs cannot be
//! guessed, courier tokens expire and are revoked, sign-up and lockout cannot be abused, NUL
//! bytes are refused at the boundary, API headers, and the API rate limit has no window edge.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, in_transit, location, new_order},
};

both_backends!(
    a_stream_ends_with_its_session,
    a_password_change_ends_every_other_session_and_its_streams,
    an_expiring_session_closes_its_stream,
    delivery_pins_cannot_be_guessed,
    courier_tokens_expire_and_are_revoked,
    sign_up_is_throttled_and_does_not_list_accounts,
    strangers_cannot_lock_out_a_known_browser,
    nul_bytes_are_refused_at_every_boundary,
    api_and_docs_headers,
    the_api_rate_limit_has_no_window_edge,
);

async fn vendor(app: &TestApp, email: &str) -> String {
    let id = app.approved_vendor("Boutique", email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

async fn open_stream(app: &TestApp) -> reqwest::Response {
    let resp = app.client.get(app.url("/partners/notifications/stream/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp
}

/// Read the stream until it sends `ended` and closes, within `secs`.
async fn ends(resp: &mut reqwest::Response, secs: u64) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut buf = String::new();
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
            Ok(Ok(None)) if buf.contains("event: ended") => return Ok(()),
            Ok(Ok(None)) => return Err(format!("closed without `ended`: {buf}")),
            Ok(Err(e)) => return Err(format!("{e}: {buf}")),
            Err(_) => return Err(format!("still open after {secs} s: {buf}")),
        }
    }
}

/// Nothing but keep-alives and notifications for a while: the stream is alive.
async fn stays_open(resp: &mut reqwest::Response, millis: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(millis);
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => assert!(!String::from_utf8_lossy(&c).contains("event: ended"), "ended too early"),
            Ok(_) => panic!("the stream closed"),
            Err(_) => return,
        }
    }
}

async fn admin_browser(app: &TestApp) -> TestApp {
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    assert_eq!(admin.login("admin@delivr.cm", "admin-password-1").await.status(), StatusCode::SEE_OTHER);
    admin
}

async fn a_stream_ends_with_its_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "a@shop.cm").await;
    // Logout: the stream of that session ends; another session's stream lives on.
    let other = app.other_browser();
    assert_eq!(other.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    let mut mine = open_stream(&app).await;
    let mut theirs = open_stream(&other).await;
    let resp = app.post_form("/partners/dashboard/", "/accounts/logout/", &[]).await;
    assert_eq!(location(&resp), "/accounts/login/");
    ends(&mut mine, 5).await.unwrap();
    stays_open(&mut theirs, 500).await;
    // The page's script is told where to go.
    let page = other.get("/partners/dashboard/").await.text().await.unwrap();
    assert!(page.contains(r#"id="session-end""#) && page.contains(r#"sse-swap="ended""#));

    // An admin's suspension ends the remaining session and its stream.
    let admin = admin_browser(&app).await;
    let resp = admin
        .post_form(
            &format!("/admin/partners/{partner}/"),
            &format!("/admin/partners/{partner}/suspend/"),
            &[("reason", "Fraude"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    ends(&mut theirs, 5).await.unwrap();
    assert_eq!(other.get("/partners/notifications/stream/").await.status(), StatusCode::UNAUTHORIZED);

    // "Sign out everywhere" ends every session of the user, this one too.
    let b = app.other_browser();
    vendor(&b, "b@shop.cm").await;
    let b2 = app.other_browser();
    assert_eq!(b2.login("b@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    let (mut s1, mut s2) = (open_stream(&b).await, open_stream(&b2).await);
    let resp = b.post_form("/partners/profile/", "/partners/profile/sign-out-everywhere/", &[]).await;
    assert_eq!(location(&resp), "/accounts/login/?signed_out=everywhere");
    ends(&mut s1, 5).await.unwrap();
    ends(&mut s2, 5).await.unwrap();
    assert!(b2.get("/partners/dashboard/").await.status() == StatusCode::SEE_OTHER);
    let login = b.get("/accounts/login/?signed_out=everywhere").await.text().await.unwrap();
    assert!(login.contains("Vous êtes déconnecté de tous vos appareils."));

    // PostgreSQL: a stream held by another instance ends when the vendor logs out here.
    if let Backend::Postgres = backend {
        let url = app.state.config.database_url.clone();
        let second = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url)).await;
        let c = app.other_browser();
        vendor(&c, "c@shop.cm").await;
        // The same browser (its cookies) opens a stream on the second instance…
        let mut remote = c.client.get(second.url("/partners/notifications/stream/")).send().await.unwrap();
        assert_eq!(remote.status(), StatusCode::OK);
        stays_open(&mut remote, 300).await;
        // …and logs out on the first.
        c.post_form("/partners/dashboard/", "/accounts/logout/", &[]).await;
        ends(&mut remote, 5).await.unwrap();
    }
}

async fn a_password_change_ends_every_other_session_and_its_streams(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let other = app.other_browser();
    assert_eq!(other.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    let mut theirs = open_stream(&other).await;
    let mut mine = open_stream(&app).await;
    // A wrong current password changes nothing.
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", "pas-le-bon"), ("new_password", "nouveau-mot-de-passe")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    stays_open(&mut theirs, 300).await;
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", "mot-de-passe-sur"), ("new_password", "nouveau-mot-de-passe")],
        )
        .await;
    assert_eq!(location(&resp), "/partners/profile/?saved=password");
    ends(&mut theirs, 5).await.unwrap();
    // The other browser is out; this one was renewed and stays in.
    let resp = other.get("/partners/dashboard/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/accounts/login/"));
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    assert_eq!(app.count("sessions").await, 1);
    // This page's old stream belonged to the old session id: it ends too, and the login page
    // it is sent to brings this (renewed) browser straight back.
    ends(&mut mine, 5).await.unwrap();
    let resp = app.get("/accounts/login/?ended=1&next=/partners/orders/").await;
    assert_eq!(location(&resp), "/partners/orders/");
    let page = app.get("/partners/profile/?saved=password").await.text().await.unwrap();
    assert!(page.contains("Vos autres sessions sont fermées") && page.contains("Se déconnecter partout"));
    // The new password works, the old one does not.
    let third = app.other_browser();
    assert_eq!(third.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(third.login("a@shop.cm", "nouveau-mot-de-passe").await.status(), StatusCode::SEE_OTHER);
}

async fn an_expiring_session_closes_its_stream(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    // Twelve hours after login, less two seconds: the stream closes when the session expires.
    app.exec("UPDATE sessions SET created_at = created_at - 12 * 60 * 60 * 1000 + 2000").await;
    let mut stream = open_stream(&app).await;
    ends(&mut stream, 8).await.unwrap();
    let resp = app.get("/partners/dashboard/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let login = app.get("/accounts/login/?ended=1").await.text().await.unwrap();
    assert!(login.contains("Votre session a pris fin"));
}

async fn courier_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client.post(app.url("/courier/v1/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
}

async fn courier_token(app: &TestApp, email: &str) -> String {
    let resp = courier_login(app, email, "x-password-1").await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn complete(app: &TestApp, token: &str, order: &str, pin: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/courier/v1/orders/{order}/complete")))
        .bearer_auth(token)
        .json(&json!({"pin": pin}))
        .send()
        .await
        .unwrap()
}

async fn delivery_pins_cannot_be_guessed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "a@shop.cm").await;
    let order = in_transit(&app, &new_order(&app, "15 000").await).await;
    let token = courier_token(&app, &format!("c-{}@c.cm", order.id)).await;
    let wrong = if order.delivery_pin == "0000" { "1111" } else { "0000" };
    // Four wrong PINs are refused as wrong; the fifth locks the PIN.
    for i in 0..4 {
        let resp = complete(&app, &token, &order.id, wrong).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "try {i}");
    }
    let resp = complete(&app, &token, &order.id, wrong).await;
    assert_eq!(resp.status(), StatusCode::LOCKED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "https://delivr.cm/problems/pin-locked");
    // Even the right PIN no longer closes the order.
    let resp = complete(&app, &token, &order.id, &order.delivery_pin).await;
    assert_eq!(resp.status(), StatusCode::LOCKED);
    let locked = delivr::orders::repo::find(&app.state.db, &order.id).await.unwrap().unwrap();
    assert_eq!((locked.status.as_str(), locked.pin_failures), ("IN_TRANSIT", 5));
    assert!(locked.pin_locked_at.is_some());
    // Held in the database: a fresh instance on the same data refuses too (PostgreSQL), and
    // the system's own path (the simulator's) is held to the same lock.
    let sys = delivr::orders::service::Actor::system();
    let again = delivr::orders::service::transition(
        &app.state.db,
        &app.state.bus,
        &locked,
        &delivr::orders::model::Action::Complete { pin: order.delivery_pin.clone() },
        &sys,
        delivr::db::now_ms(),
    )
    .await;
    assert!(matches!(again, Err(delivr::orders::service::OrderError::Transition(delivr::orders::model::TransitionError::PinLocked))));
    // The vendor is told, on the order's page and by a notification; the admins in their menu.
    let page = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    assert!(page.contains("Code PIN bloqué"), "{page}");
    let notes = app.get("/partners/notifications/").await.text().await.unwrap();
    assert!(notes.contains(&format!("Code PIN bloqué : {}", order.tracking_number)));
    let admin = admin_browser(&app).await;
    let queue = admin.get("/admin/orders/").await.text().await.unwrap();
    assert!(queue.contains("en attente de votre décision : 1"), "{queue}");
    let locked_tab = admin.get("/admin/orders/?status=pin_locked").await.text().await.unwrap();
    assert!(locked_tab.contains(&order.tracking_number));
    // An admin gives a new PIN: the count starts again, the vendor is told, the old PIN is dead.
    let detail = format!("/admin/orders/{}/", order.id);
    let resp = admin.post_form(&detail, &format!("/admin/orders/{}/reset-pin/", order.id), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let reset = delivr::orders::repo::find(&app.state.db, &order.id).await.unwrap().unwrap();
    assert_eq!((reset.pin_failures, reset.pin_locked_at), (0, None));
    assert!(app.get("/partners/notifications/").await.text().await.unwrap().contains("Nouveau code PIN"));
    if reset.delivery_pin != order.delivery_pin {
        assert_eq!(complete(&app, &token, &order.id, &order.delivery_pin).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let resp = complete(&app, &token, &order.id, &reset.delivery_pin).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Parallel guesses cannot outrun the count: at most four are answered "wrong".
    let second = in_transit(&app, &new_order(&app, "0").await).await;
    let token2 = courier_token(&app, &format!("c-{}@c.cm", second.id)).await;
    let wrong2 = if second.delivery_pin == "0000" { "1111" } else { "0000" };
    let tries = (0..20).map(|_| complete(&app, &token2, &second.id, wrong2));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(tries).await.iter().map(reqwest::Response::status).collect();
    let wrong_answers = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert!(wrong_answers <= 4, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY || *s == StatusCode::LOCKED), "{statuses:?}");
    let locked2 = delivr::orders::repo::find(&app.state.db, &second.id).await.unwrap().unwrap();
    assert_eq!(locked2.pin_failures, 5);
    // Closing by hand needs a reason, then books the order as delivered once.
    let detail = format!("/admin/orders/{}/", second.id);
    let resp = admin.post_form(&detail, &format!("/admin/orders/{}/complete/", second.id), &[("complete_reason", "")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = admin
        .post_form(
            &detail,
            &format!("/admin/orders/{}/complete/", second.id),
            &[("complete_reason", "Destinataire joint par téléphone : colis reçu")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let done = delivr::orders::repo::find(&app.state.db, &second.id).await.unwrap().unwrap();
    assert_eq!(done.status, "COMPLETED");
    let timeline = delivr::orders::repo::timeline(&app.state.db, &second.id).await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|e| e.status == "COMPLETED" && e.actor_role == "ADMIN" && e.note.as_deref().is_some_and(|n| n.contains("colis reçu")))
    );
    // Closing an order whose PIN never locked is refused.
    let third = in_transit(&app, &new_order(&app, "0").await).await;
    let resp = admin
        .post_form(
            &format!("/admin/orders/{}/", third.id),
            &format!("/admin/orders/{}/complete/", third.id),
            &[("complete_reason", "Essai")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(delivr::orders::repo::find(&app.state.db, &third.id).await.unwrap().unwrap().status, "IN_TRANSIT");
    let _ = partner;
}

async fn courier_tokens_expire_and_are_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let order = in_transit(&app, &new_order(&app, "0").await).await;
    let email = format!("c-{}@c.cm", order.id);
    let courier = order.courier_id.clone().unwrap();
    let orders = |token: String| {
        let app = &app;
        async move { app.client.get(app.url("/courier/v1/orders")).bearer_auth(token).send().await.unwrap().status() }
    };
    let token = courier_token(&app, &email).await;
    assert_eq!(orders(token.clone()).await, StatusCode::OK);
    // Stored as a hash only.
    let stored: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM courier_tokens WHERE token_hash = $1").bind(&token).fetch_one(pool).await).unwrap();
    assert_eq!(stored, 0);
    // Expired: refused.
    app.exec("UPDATE courier_tokens SET expires_at = 1").await;
    assert_eq!(orders(token.clone()).await, StatusCode::UNAUTHORIZED);
    // Used, a token's expiry moves forward (12 h from its last use).
    let token = courier_token(&app, &email).await;
    app.exec(&format!(
        "UPDATE courier_tokens SET last_used_at = last_used_at - 120000, expires_at = {} WHERE revoked_at IS NULL AND expires_at > 1",
        delivr::db::now_ms() + 60_000
    ))
    .await;
    assert_eq!(orders(token.clone()).await, StatusCode::OK);
    let expires: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>("SELECT MAX(expires_at) FROM courier_tokens").fetch_one(pool).await).unwrap();
    assert!(expires > delivr::db::now_ms() + 11 * 3_600_000);
    // An admin signs the courier's app out: every token ends.
    let admin = admin_browser(&app).await;
    let page = admin.get("/admin/couriers/").await.text().await.unwrap();
    assert!(page.contains(&email) && page.contains("Sessions de l'application ouvertes : 1"), "{page}");
    let resp = admin.post_form("/admin/couriers/", &format!("/admin/couriers/{courier}/sign-out/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(orders(token).await, StatusCode::UNAUTHORIZED);
    // Deactivated: tokens end and sign-in is refused; reactivated, sign-in works again.
    let token = courier_token(&app, &email).await;
    admin.post_form("/admin/couriers/", &format!("/admin/couriers/{courier}/active/"), &[("active", "0")]).await;
    assert_eq!(orders(token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(courier_login(&app, &email, "x-password-1").await.status(), StatusCode::UNAUTHORIZED);
    admin.post_form("/admin/couriers/", &format!("/admin/couriers/{courier}/active/"), &[("active", "1")]).await;
    let token = courier_token(&app, &email).await;
    // A new password ends every token of the old one.
    let resp = admin
        .post_form("/admin/couriers/", &format!("/admin/couriers/{courier}/password/"), &[("new_password", "nouveau-mot-de-passe")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(orders(token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(courier_login(&app, &email, "nouveau-mot-de-passe").await.status(), StatusCode::OK);
    // An admin adds a courier; a taken e-mail is refused with a message, nothing created.
    let before = app.count("users").await;
    let fields = [("full_name", "Jean Mbarga"), ("email", "jean@delivr.cm"), ("phone", "699 11 22 33"), ("password", "coursier-sur-1")];
    assert_eq!(admin.post_form("/admin/couriers/", "/admin/couriers/", &fields).await.status(), StatusCode::SEE_OTHER);
    let resp = admin.post_form("/admin/couriers/", "/admin/couriers/", &fields).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("déjà utilisée"));
    assert_eq!(app.count("users").await, before + 1);
    assert_eq!(courier_login(&app, "jean@delivr.cm", "coursier-sur-1").await.status(), StatusCode::OK);
    // Vendors do not see the page.
    assert_eq!(app.get("/admin/couriers/").await.status(), StatusCode::NOT_FOUND);
}

async fn sign_up_is_throttled_and_does_not_list_accounts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("Boutique Une", "awa@shop.cm").await.status(), StatusCode::SEE_OTHER);
    // Trying a known address says nothing of the account…
    let probe = app.other_browser();
    let resp = probe.signup("Autre", "awa@shop.cm").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("existe") && !html.contains("exists"), "{html}");
    // …and the same address cannot be tried again and again.
    probe.signup("Autre", "awa@shop.cm").await;
    let resp = probe.signup("Autre", "awa@shop.cm").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    // New addresses from the same client are fine (a shop owners' meeting on one Wi-Fi)…
    for i in 0..6 {
        let resp = probe.signup("Autre", &format!("x{i}@shop.cm")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "attempt {i}");
    }
    // …but trying addresses already in use is counted per client: five an hour.
    for i in 0..3 {
        let other = probe.other_browser();
        assert_eq!(other.signup("Autre", &format!("x{i}@shop.cm")).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "probe {i}");
    }
    let resp = probe.other_browser().signup("Autre", "x3@shop.cm").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.text().await.unwrap().contains("Trop de demandes d'inscription"));
    assert_eq!(app.count("users").await, 7, "one account, six new ones, nothing for the refused tries");
}

async fn strangers_cannot_lock_out_a_known_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    // The vendor's own browser signed in before (its device cookie), then left.
    assert_eq!(app.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    app.post_form("/partners/dashboard/", "/accounts/logout/", &[]).await;
    // A stranger's wrong passwords, each telling the tries left, lock the account for strangers.
    let stranger = app.other_browser();
    let first = stranger.login("a@shop.cm", "wrong-password").await.text().await.unwrap();
    assert!(first.contains("Essais restants avant un blocage de 15 minutes : 4."), "{first}");
    for _ in 0..4 {
        stranger.login("a@shop.cm", "wrong-password").await;
    }
    assert_eq!(stranger.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The vendor's browser still gets in, and its own wrong tries are counted on their own.
    let own = app.login("a@shop.cm", "wrong-password").await.text().await.unwrap();
    assert!(own.contains("Essais restants avant un blocage de 15 minutes : 4."), "{own}");
    assert_eq!(app.login("a@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    // A forged device cookie is worth nothing: the stranger stays locked out.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = raw.get(app.url("/accounts/login/")).send().await.unwrap();
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("delivr_csrf="))
        .unwrap();
    let token = crate::helpers::csrf_in(&page.text().await.unwrap());
    let resp = raw
        .post(app.url("/accounts/login/"))
        .header("cookie", format!("{csrf_cookie}; delivr_device=abcdefgh.forged-signature"))
        .form(&[("email", "a@shop.cm"), ("password", "mot-de-passe-sur"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn nul_bytes_are_refused_at_every_boundary(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    for path in ["/t/%00/", "/book/%00/", "/partners/orders/?q=%00", "/partners/orders/export/?q=a%00b", "/media/logos/%00.png"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(resp.text().await.unwrap().contains("caractère nul"), "{path}");
    }
    // A form field.
    let orders = app.count("orders").await;
    let fields = [
        ("recipient_name", "Paul\0Nkwi"),
        ("recipient_phone", "677987654"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "1012"),
        ("dropoff_address", "Derrière la pharmacie"),
        ("package_description", "Chaussures"),
        ("cod_amount", "0"),
    ];
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("orders").await, orders);
    // The APIs: a problem document.
    let key = app.api_key("Boutique").await;
    let resp = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("authorization", format!("Api-Key {key}"))
        .header("content-type", "application/json")
        .body(r#"{"dropoff_city":"Douala","dropoff_quartier":"bonamoussadi","dropoff_address":"x\u0000y","recipient":{"name":"P","phone":"677987654"},"package_description":"C"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "https://delivr.cm/problems/invalid-text");
    let resp = app.client.get(app.url("/api/v1/orders?q=%00")).header("authorization", format!("Api-Key {key}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .client
        .post(app.url("/courier/v1/login"))
        .header("content-type", "application/json")
        .body(r#"{"email":"\u0000","password":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("orders").await, orders);
    // The export still works whole.
    assert_eq!(app.get("/partners/orders/export/").await.status(), StatusCode::OK);
}

async fn api_and_docs_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let key = app.api_key("Boutique").await;
    for auth in [format!("Api-Key {key}"), "Api-Key nope".to_owned()] {
        let resp = app.client.get(app.url("/api/v1/orders")).header("authorization", auth).send().await.unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store", "{}", resp.status());
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    let resp = app.client.get(app.url("/courier/v1/orders")).send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let docs = app.get("/partners/docs/").await;
    let csp = docs.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));
    // Its scripts and styles are immutable, content-hashed assets.
    let html = app.get("/partners/docs/").await.text().await.unwrap();
    let bundle = html.split("src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(bundle.starts_with("/static/swagger-ui-bundle."), "{html}");
    let asset = app.get(&bundle).await;
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    // No HSTS over plain http; a year of it when the portal is public over https.
    assert!(!app.get("/accounts/login/").await.headers().contains_key("strict-transport-security"));
    let https = TestApp::spawn_with(backend, |c| c.public_url = Some("https://portail.delivr.cm".into())).await;
    for path in ["/accounts/login/", "/healthz", "/api/v1/orders"] {
        let resp = https.get(path).await;
        assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains", "{path}");
    }
}

async fn the_api_rate_limit_has_no_window_edge(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api_rate_limit = 20).await;
    vendor(&app, "a@shop.cm").await;
    let key = app.api_key("Boutique").await;
    // A second instance on the same database shares the allowance (PostgreSQL).
    let second = match backend {
        Backend::Postgres => {
            let url = app.state.config.database_url.clone();
            Some(
                TestApp::spawn_with(backend, |c| {
                    *c = crate::helpers::test_config(url);
                    c.api_rate_limit = 20;
                })
                .await,
            )
        }
        Backend::Sqlite => None,
    };
    // Start a burst 1.5 s before a minute ends, and go on past it: a fixed window would let
    // twice the limit through; the bucket lets the limit, plus one per 3 s of elapsed time.
    loop {
        let in_minute = delivr::db::now_ms().rem_euclid(60_000);
        if (58_000..58_500).contains(&in_minute) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = std::time::Instant::now();
    let mut allowed = 0;
    let mut retry_after = None;
    let mut i = 0;
    while started.elapsed() < Duration::from_millis(3_000) {
        let base = match (&second, i % 2) {
            (Some(s), 1) => s.base.clone(),
            _ => app.base.clone(),
        };
        i += 1;
        let resp =
            app.client.get(format!("{base}/api/v1/orders?limit=1")).header("authorization", format!("Api-Key {key}")).send().await.unwrap();
        match resp.status() {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()),
            other => panic!("{other}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let crossed = (delivr::db::now_ms().rem_euclid(60_000)) < 58_000;
    assert!(crossed, "the burst went past the minute's end");
    let bound = 20 + (elapsed / 3.0).ceil() as i64 + 1;
    assert!(allowed <= bound, "{allowed} allowed in {elapsed:.1} s (at most {bound})");
    assert!(allowed >= 20, "{allowed}");
    let retry: i64 = retry_after.expect("some were refused").parse().unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
}
