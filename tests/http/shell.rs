//! The shell around every page: health, assets, compression, languages, errors, headers.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

both_backends!(
    healthz_reports_the_database,
    assets_are_fingerprinted_immutable_and_compressed,
    pages_are_compressed_and_vary_on_htmx,
    language_follows_profile_then_cookie_then_accept_language,
    unknown_pages_get_a_translated_404,
    cookies_are_secure_under_https,
    secret_key_is_generated_once_and_kept,
);

async fn healthz_reports_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "reachable");
    app.state.db.close().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn assets_are_fingerprinted_immutable_and_compressed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let html = app.get("/accounts/login/").await.text().await.unwrap();
    let css = html.split("href=\"/static/app.").nth(1).and_then(|s| s.split('"').next()).expect("css link");
    let path = format!("/static/app.{css}");
    assert!(css.len() > 10, "hashed name: {path}");
    let resp = app.client.get(app.url(&path)).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(resp.headers()["content-encoding"], "br");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let gz = app.client.get(app.url(&path)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let plain = app.client.get(app.url(&path)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.text().await.unwrap().contains("--brand"));
    // htmx, from the npm package, is bundled with the portal's script under the bundle's hash.
    let js = html.split("src=\"/static/portal.").nth(1).and_then(|s| s.split('"').next()).expect("the page's script");
    let resp = app.get(&format!("/static/portal.{js}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let js = resp.text().await.unwrap();
    assert!(js.contains("htmx") && js.contains("serviceWorker"), "htmx and app.js in one file");
    // A stale or unknown hash is a 404, not the wrong file.
    assert_eq!(app.get("/static/app.0000000000.css").await.status(), StatusCode::NOT_FOUND);
}

async fn pages_are_compressed_and_vary_on_htmx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.client.get(app.url("/accounts/login/")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(resp.headers()["content-encoding"], "br");
    let vary: Vec<String> = resp.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(vary.iter().any(|v| v.contains("HX-Request")), "{vary:?}");
    assert!(vary.iter().any(|v| v.contains("Accept-Encoding")), "{vary:?}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers().contains_key("x-request-id"));
    assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
}

async fn language_follows_profile_then_cookie_then_accept_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Default: French.
    assert!(app.get("/accounts/login/").await.text().await.unwrap().contains("Connexion"));
    // Accept-Language.
    let en = app.client.get(app.url("/accounts/login/")).header("accept-language", "en-GB,en;q=0.9").send().await.unwrap();
    assert!(en.text().await.unwrap().contains("<html lang=\"en\""));
    // The switcher's cookie beats Accept-Language.
    let resp = app.post_form("/accounts/login/", "/lang/", &[("lang", "en"), ("next", "/accounts/login/")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = app.client.get(app.url("/accounts/login/")).header("accept-language", "fr").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Log in") && html.contains("<html lang=\"en\""));
    // An unknown language is refused without changing anything.
    let resp = app.post_form("/accounts/login/", "/lang/", &[("lang", "de")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The profile's language beats the cookie; switching while signed in saves it to the profile.
    app.signup("Boutique", "awa@shop.cm").await;
    app.post_form("/partners/profile/", "/lang/", &[("lang", "fr"), ("next", "/partners/profile/")]).await;
    let lang: Option<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT language FROM users").fetch_one(pool).await).unwrap();
    assert_eq!(lang.as_deref(), Some("fr"));
    // The browser's cookie now says fr; the profile says en: the profile wins.
    app.exec("UPDATE users SET language = 'en'").await;
    let html = app.client.get(app.url("/partners/profile/")).header("accept-language", "fr").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""));
    // An open redirect through next= is not followed.
    let resp = app.post_form("/partners/profile/", "/lang/", &[("lang", "fr"), ("next", "//evil.example/")]).await;
    assert_eq!(crate::helpers::location(&resp), "/");
}

async fn unknown_pages_get_a_translated_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.get("/partners/nowhere/").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("Page introuvable"));
    let resp = app.client.get(app.url("/nowhere")).header("accept-language", "en").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("Page not found"));
}

async fn cookies_are_secure_under_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.public_url = Some("https://portal.delivr.cm".to_owned())).await;
    let resp = app.get("/accounts/login/").await;
    let set = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(set.iter().any(|c| c.starts_with("delivr_csrf=") && c.contains("; Secure") && c.contains("HttpOnly")), "{set:?}");
}

async fn secret_key_is_generated_once_and_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let again = delivr::security::Secret::load(&app.state.config, &app.state.db).await.unwrap();
    // The same secret signs the same CSRF cookie the same way.
    assert_eq!(again.csrf_token("cookie"), app.state.secret.csrf_token("cookie"));
}

both_backends!(dashboard_first_load_fits_forty_kilobytes);

/// The dashboard's first load (HTML + CSS + JS, compressed) is at most 40 KB, and a repeat
/// visit downloads only the HTML: every asset it references is immutable.
async fn dashboard_first_load_fits_forty_kilobytes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique Poids", "poids@shop.cm").await;
    let resp = app.client.get(app.url("/partners/dashboard/")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(resp.headers()["content-encoding"], "br");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &html[..], &mut decoded).unwrap();
    let decoded = String::from_utf8(decoded).unwrap();
    let mut total = html.len();
    let mut assets = 0;
    for part in decoded.split("\"/static/").skip(1) {
        let name = part.split('"').next().unwrap();
        let resp = app.client.get(app.url(&format!("/static/{name}"))).header("accept-encoding", "br").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
        assert_eq!(resp.headers()["cache-control"], "public, max-age=31536000, immutable", "{name}");
        total += resp.bytes().await.unwrap().len();
        assets += 1;
    }
    assert!(assets >= 2, "the layout references its stylesheet and its script");
    println!("dashboard first load: {total} bytes compressed ({} of HTML, {assets} asset references)", html.len());
    assert!(total <= 40 * 1024, "dashboard first load is {total} bytes, over the 40 KB budget");
}
