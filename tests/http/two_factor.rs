//! Two-factor authentication through the pages: setting it up with the QR code's key, a first
//! code and the recovery codes; signing in with a code (each works once, a wrong one is
//! refused, a sign-in waiting too long starts over); a recovery code standing in once; turning
//! it off with a code.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};
use delivr::accounts::totp;

both_backends!(two_factor_from_setup_to_sign_in);

const PASSWORD: &str = "mot-de-passe-sur";

fn between<'a>(html: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    html.split(start).skip(1).filter_map(|s| s.split(end).next()).collect()
}

fn now_secs() -> i64 {
    delivr::db::now_ms() / 1000
}

async fn sign_out(app: &TestApp) {
    app.post_form("/partners/profile/", "/accounts/logout/", &[]).await;
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::SEE_OTHER, "signed out");
}

async fn two_factor_from_setup_to_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique Sûre", "sure@shop.cm").await;
    let profile = app.get("/partners/profile/").await.text().await.unwrap();
    assert!(profile.contains("Activer la double authentification"));

    // Setup: the QR code and its key; a wrong code is refused, the right one turns it on.
    let setup = app.get("/accounts/two-factor/setup/").await.text().await.unwrap();
    assert!(setup.contains("<svg"), "a QR code");
    let key = between(&setup, "<code id=\"totp-secret\">", "</code>")[0].to_owned();
    let secret = totp::from_base32(&key).unwrap();
    assert_eq!(secret.len(), totp::SECRET_BYTES);
    let resp = app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/setup/", &[("code", "000000")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let step = totp::step_at(now_secs());
    let first = totp::code(&secret, step);
    let resp = app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/setup/", &[("code", &first)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    let recovery: Vec<String> = between(&page, "<li><code>", "</code>").into_iter().map(str::to_owned).collect();
    assert_eq!(recovery.len(), 10, "ten recovery codes, shown once");
    assert_eq!(app.count("recovery_codes").await, 10);
    let stored: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT code_hash FROM recovery_codes").fetch_all(pool).await).unwrap();
    assert!(stored.iter().all(|h| !recovery.iter().any(|c| h.contains(c.as_str()))), "stored hashed");
    assert!(app.get("/partners/profile/").await.text().await.unwrap().contains("La double authentification est activée"));

    // Signing in now takes a code: no session until it is given.
    sign_out(&app).await;
    let resp = app.login("sure@shop.cm", PASSWORD).await;
    assert_eq!(location(&resp), "/accounts/two-factor/");
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::SEE_OTHER, "not signed in yet");
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", "123456")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Ce code ne convient pas"));
    // The code that turned it on was spent: it does not open a session.
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &first)]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a code works once");
    let next = totp::code(&secret, step + 1);
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &next)]).await;
    assert_eq!(location(&resp), "/partners/dashboard/");
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);

    // A recovery code stands in once.
    sign_out(&app).await;
    app.login("sure@shop.cm", PASSWORD).await;
    let typed = recovery[0].to_uppercase().replace('-', " ");
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &typed)]).await;
    assert_eq!(location(&resp), "/partners/dashboard/", "case and spacing do not matter");
    sign_out(&app).await;
    app.login("sure@shop.cm", PASSWORD).await;
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &recovery[0])]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a recovery code works once");
    // A sign-in waiting too long starts over with the password.
    app.exec("UPDATE login_challenges SET created_at = 1").await;
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &recovery[1])]).await;
    assert_eq!(location(&resp), "/accounts/login/?expired=1");
    app.login("sure@shop.cm", PASSWORD).await;
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &recovery[1])]).await;
    assert_eq!(location(&resp), "/partners/dashboard/");

    // Turning it off takes a code; then the password alone signs in again.
    let resp = app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/disable/", &[("code", "999999")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/disable/", &[("code", &recovery[2])]).await;
    assert_eq!(location(&resp), "/partners/profile/?saved=two-factor-off");
    assert_eq!(app.count("user_totp").await, 0);
    sign_out(&app).await;
    assert_eq!(location(&app.login("sure@shop.cm", PASSWORD).await), "/partners/dashboard/");
}
