//! Sign-up, login, sessions, CSRF, throttling, profile.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(
    signup_then_pending_then_approval_then_dashboard,
    signup_rejects_bad_input_and_writes_nothing,
    signup_refuses_a_taken_email,
    missing_or_wrong_csrf_is_refused_and_changes_nothing,
    login_is_throttled_per_account_with_retry_after,
    login_is_throttled_per_client,
    logout_ends_the_session_server_side,
    idle_and_absolute_expiry_end_sessions,
    login_renews_the_session_id,
    profile_validates_every_field_and_saves,
    password_change_needs_the_current_password,
    slugs_are_unique,
);

async fn signup_then_pending_then_approval_then_dashboard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.signup("Épicerie Chez Zoé", "zoe@epicerie.cm").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/partners/pending/");

    // Unapproved: the pending page, and the dashboard redirects there.
    let page = app.get("/partners/pending/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Compte en attente de validation"), "{html}");
    let dash = app.get("/partners/dashboard/").await;
    assert_eq!(dash.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&dash), "/partners/pending/");

    // The phone was normalised to E.164 and the slug folded.
    let id = app.partner_id("zoe@epicerie.cm").await;
    let (phone, slug, approved): (String, String, bool) = delivr::on_db!(&app.state.db, pool =>
        sqlx::query_as("SELECT phone, slug, is_business_approved FROM partners WHERE id = $1").bind(&id).fetch_one(pool).await)
    .unwrap();
    assert_eq!((phone.as_str(), slug.as_str(), approved), ("+237677987654", "epicerie-chez-zoe", false));

    // An admin approves through the admin pages.
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    assert_eq!(location(&admin.login("admin@delivr.cm", "admin-password-1").await), "/admin/partners/");
    let list = admin.get("/admin/partners/?status=pending").await.text().await.unwrap();
    assert!(list.contains("Épicerie Chez Zoé"));
    let page = format!("/admin/partners/{id}/");
    let resp = admin.post_form(&page, &format!("/admin/partners/{id}/approve/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // The vendor now reaches the dashboard in the same session.
    let dash = app.get("/partners/dashboard/").await;
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.unwrap();
    assert!(html.contains("Bonjour, Épicerie Chez Zoé"), "{html}");
    assert!(html.contains("/book/epicerie-chez-zoe/"));
    assert_eq!(location(&app.get("/partners/pending/").await), "/partners/dashboard/");
}

async fn signup_rejects_bad_input_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let good = [
        ("business_name", "Tech Akwa"),
        ("contact_name", "Serge"),
        ("phone", "699 11 22 33"),
        ("email", "serge@akwa.cm"),
        ("password", "un-bon-mot-de-passe"),
    ];
    let cases: &[(&str, &str, &str)] = &[
        ("business_name", "", "Ce champ est obligatoire."),
        ("business_name", "x", "Trop court"),
        ("contact_name", &"a".repeat(121), "Trop long"),
        ("phone", "12345", "Numéro camerounais invalide"),
        ("phone", "+33612345678", "Numéro camerounais invalide"),
        ("email", "serge-at-akwa", "Adresse e-mail invalide"),
        ("password", "court", "au moins 8 caractères"),
    ];
    for (field, value, message) in cases {
        let fields: Vec<(&str, &str)> = good.iter().map(|(k, v)| if k == field { (*k, *value) } else { (*k, *v) }).collect();
        let resp = app.post_form("/accounts/signup/", "/accounts/signup/", &fields).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(message), "{field}={value}: expected {message}");
        // The message sits next to its field, and the other values are kept.
        assert!(html.contains(&format!(r#"id="f-{field}-err""#)), "{field}");
        if *field != "business_name" {
            assert!(html.contains(r#"value="Tech Akwa""#));
        }
    }
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("partners").await, 0);

    // A body that is not a form at all: a 4xx, never a 500.
    let token = app.csrf("/accounts/signup/").await;
    let resp = app
        .client
        .post(app.url("/accounts/signup/"))
        .header("x-csrf-token", token)
        .header("content-type", "application/json")
        .body("{\"email\": 1}")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_eq!(app.count("users").await, 0);
}

async fn signup_refuses_a_taken_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("Boutique Une", "awa@shop.cm").await.status(), StatusCode::SEE_OTHER);
    let other = app.other_browser();
    let resp = other.signup("Boutique Deux", "AWA@Shop.cm").await;
    let status = resp.status();
    let html = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    // Refused without saying whether an account exists (sign-up is throttled too).
    assert!(html.contains("Cette adresse ne peut pas servir à créer un compte"), "{html}");
    assert!(!html.contains("existe déjà"));
    assert_eq!(app.count("partners").await, 1);
    assert_eq!(app.count("users").await, 1);
}

async fn missing_or_wrong_csrf_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.get("/accounts/signup/").await;
    let fields = [
        ("business_name", "Sans Jeton"),
        ("contact_name", "Awa"),
        ("phone", "677987654"),
        ("email", "a@b.cm"),
        ("password", "mot-de-passe-sur"),
    ];
    let resp = app.client.post(app.url("/accounts/signup/")).form(&fields).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("Ce formulaire a expiré"));
    let mut forged = fields.to_vec();
    forged.push(("csrf", "forged-token"));
    let resp = app.client.post(app.url("/accounts/signup/")).form(&forged).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A token from another browser does not work with this browser's cookie.
    let other = app.other_browser();
    let foreign = other.csrf("/accounts/signup/").await;
    let mut stolen = fields.to_vec();
    stolen.push(("csrf", &foreign));
    let resp = app.client.post(app.url("/accounts/signup/")).form(&stolen).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users").await, 0);

    // The htmx header form of the token is accepted.
    let token = app.csrf("/accounts/signup/").await;
    let resp = app.client.post(app.url("/accounts/signup/")).header("x-csrf-token", token).form(&fields).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // Logout without a token is refused too: the session survives.
    let resp = app.client.post(app.url("/accounts/logout/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("sessions").await, 1);
}

async fn login_is_throttled_per_account_with_retry_after(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    app.post_form("/partners/pending/", "/accounts/logout/", &[]).await;
    for _ in 0..5 {
        let resp = app.login("awa@shop.cm", "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await.unwrap().contains("E-mail ou mot de passe incorrect."));
    }
    // Locked: even the right password is refused, with a clear message and Retry-After.
    let resp = app.login("awa@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(resp.text().await.unwrap().contains("Trop de tentatives de connexion"));
    // Once the failures age out of the window, the right password works.
    app.exec("UPDATE login_failures SET at = at - 16 * 60 * 1000").await;
    let resp = app.login("awa@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

async fn login_is_throttled_per_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Twenty failures spread over many accounts from one address lock the address.
    for i in 0..20 {
        let resp = app.login(&format!("nobody{i}@shop.cm"), "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
    }
    let resp = app.login("someone-else@shop.cm", "whatever-pass").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
}

async fn logout_ends_the_session_server_side(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    app.post_form("/partners/pending/", "/accounts/logout/", &[]).await;
    assert_eq!(app.count("sessions").await, 0);
    // A second browser whose cookies we hold: sign in, log out, then replay its old cookie.
    let (session, csrf_cookie, token) = raw_login(&app).await;
    assert_eq!(app.count("sessions").await, 1);
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = raw
        .post(app.url("/accounts/logout/"))
        .header("cookie", format!("delivr_session={session}; {csrf_cookie}"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/accounts/login/");
    assert_eq!(app.count("sessions").await, 0);
    let resp = raw.get(app.url("/partners/profile/")).header("cookie", format!("delivr_session={session}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/accounts/login/"));
}

/// Sign in with a client that exposes its cookies: (session id, `delivr_csrf=…`, CSRF token).
async fn raw_login(app: &TestApp) -> (String, String, String) {
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = raw.get(app.url("/accounts/login/")).send().await.unwrap();
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("delivr_csrf="))
        .unwrap();
    let csrf_cookie = csrf_cookie.split(';').next().unwrap().to_owned();
    let token = crate::helpers::csrf_in(&page.text().await.unwrap());
    let resp = raw
        .post(app.url("/accounts/login/"))
        .header("cookie", csrf_cookie.clone())
        .form(&[("email", "awa@shop.cm"), ("password", "mot-de-passe-sur"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let set = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("delivr_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=43200"), "{set}");
    assert!(!set.contains("Secure"), "no Secure flag over plain http: {set}");
    let session = set.trim_start_matches("delivr_session=").split(';').next().unwrap().to_owned();
    (session, csrf_cookie, token)
}

async fn idle_and_absolute_expiry_end_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    assert_eq!(app.get("/partners/profile/").await.status(), StatusCode::OK);
    // 31 minutes without a request: the session is gone.
    app.exec("UPDATE sessions SET last_seen_at = last_seen_at - 31 * 60 * 1000").await;
    assert_eq!(app.get("/partners/profile/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("sessions").await, 0);

    // Active all along but signed in 12 h ago: also gone.
    app.login("awa@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(app.get("/partners/profile/").await.status(), StatusCode::OK);
    app.exec("UPDATE sessions SET created_at = created_at - 12 * 60 * 60 * 1000 - 1000").await;
    assert_eq!(app.get("/partners/profile/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("sessions").await, 0);
}

async fn login_renews_the_session_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    let before: String =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id_hash FROM sessions").fetch_one(pool).await).unwrap();
    // Signing in again from the same browser ends the old session and issues a new id.
    assert_eq!(app.login("awa@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    let after: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id_hash FROM sessions").fetch_all(pool).await).unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0], before);
}

async fn profile_validates_every_field_and_saves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    let good = [
        ("business_name", "Boutique Awa"),
        ("contact_name", "Awa Ndiaye"),
        ("phone", "00237 699 11 22 33"),
        ("email", "awa@shop.cm"),
        ("language", "en"),
        ("pickup_city_id", "1"),
        ("pickup_quartier_id", "1001"),
        ("pickup_address", "Derrière la pharmacie du Centre"),
    ];
    let bad: &[(&str, &str, &str)] = &[
        ("phone", "0699", "Numéro camerounais invalide"),
        ("email", "awa@", "Adresse e-mail invalide"),
        ("language", "de", "Choisissez une option"),
        ("pickup_city_id", "99", "Choisissez une option"),
        ("pickup_quartier_id", "2001", "Choisissez un quartier de la ville"),
        ("pickup_quartier_id", "abc", "Choisissez une option"),
        ("pickup_address", &"x".repeat(201), "Trop long"),
    ];
    for (field, value, message) in bad {
        let fields: Vec<(&str, &str)> = good.iter().map(|(k, v)| if k == field { (*k, *value) } else { (*k, *v) }).collect();
        let resp = app.post_form("/partners/profile/", "/partners/profile/", &fields).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(resp.text().await.unwrap().contains(message), "{field}={value}");
    }
    let name: String =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT business_name FROM partners").fetch_one(pool).await).unwrap();
    assert_eq!(name, "Boutique", "nothing saved by a rejected form");

    let resp = app.post_form("/partners/profile/", "/partners/profile/", &good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (name, phone, quartier, lang): (String, String, Option<i64>, Option<String>) = delivr::on_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT p.business_name, p.phone, p.pickup_quartier_id, u.language FROM partners p JOIN users u ON u.id = p.user_id").fetch_one(pool).await).unwrap();
    assert_eq!((name.as_str(), phone.as_str(), quartier, lang.as_deref()), ("Boutique Awa", "+237699112233", Some(1001), Some("en")));
    // The profile's language now wins over the browser's.
    let html = app.get("/partners/profile/?saved=profile").await.text().await.unwrap();
    assert!(html.contains("Profile saved."), "{html}");

    // The quartier list follows the city (htmx fragment).
    let frag = app.client.get(app.url("/partners/profile/quartiers/?pickup_city_id=2")).header("hx-request", "true").send().await.unwrap();
    assert_eq!(frag.status(), StatusCode::OK);
    let frag = frag.text().await.unwrap();
    assert!(frag.contains("Bastos") && !frag.contains("<html"), "{frag}");
}

async fn password_change_needs_the_current_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("Boutique", "awa@shop.cm").await;
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", "wrong"), ("new_password", "nouveau-mot-de-passe")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Le mot de passe actuel est incorrect."));
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", "mot-de-passe-sur"), ("new_password", "court")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", "mot-de-passe-sur"), ("new_password", "nouveau-mot-de-passe")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.post_form("/partners/profile/", "/accounts/logout/", &[]).await;
    assert_eq!(app.login("awa@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.login("awa@shop.cm", "nouveau-mot-de-passe").await.status(), StatusCode::SEE_OTHER);
}

async fn slugs_are_unique(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (i, email) in ["a@z.cm", "b@z.cm", "c@z.cm"].iter().enumerate() {
        let browser = app.other_browser();
        assert_eq!(browser.signup("Chez Zoé", email).await.status(), StatusCode::SEE_OTHER, "{i}");
    }
    let mut slugs: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT slug FROM partners").fetch_all(pool).await).unwrap();
    slugs.sort();
    assert_eq!(slugs, ["chez-zoe", "chez-zoe-2", "chez-zoe-3"]);
    // A reserved word is never a slug.
    app.other_browser().signup("Admin", "d@z.cm").await;
    let id = app.partner_id("d@z.cm").await;
    let slug: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT slug FROM partners WHERE id = $1").bind(&id).fetch_one(pool).await).unwrap();
    assert_eq!(slug, "boutique-admin");
}
