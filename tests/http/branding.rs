//! The vendor's public face: slugs generated from the business name and editable, old slugs
//! redirecting, logo and colour checked, the brand on the booking and tracking pages.

use image::ImageFormat;
use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, Part, TestApp, image_bytes, location, new_order},
};

both_backends!(slugs_are_generated_unique_and_editable_with_redirects, the_brand_is_checked_and_shown_on_public_pages,);

async fn slug_of(app: &TestApp, email: &str) -> String {
    let id = app.partner_id(email).await;
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, String>("SELECT slug FROM partners WHERE id = $1").bind(&id).fetch_one(pool).await).unwrap()
}

async fn approved_with_pickup(app: &TestApp, name: &str, email: &str) -> String {
    let id = app.approved_vendor(name, email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

fn brand_parts<'a>(color: &'a str, message: &'a str, slug: &'a str, logo: Option<(&'a str, Vec<u8>)>) -> Vec<Part<'a>> {
    let mut parts = vec![Part::Text("brand_color", color), Part::Text("brand_message", message), Part::Text("slug", slug)];
    if let Some((filename, bytes)) = logo {
        parts.push(Part::File { name: "logo", filename, content_type: "image/png", bytes });
    }
    parts
}

async fn save(app: &TestApp, parts: Vec<Part<'_>>) -> reqwest::Response {
    app.post_multipart("/partners/branding/", "/partners/branding/", parts).await
}

async fn slugs_are_generated_unique_and_editable_with_redirects(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    approved_with_pickup(&app, "Épicerie Chez Zoé", "zoe@shop.cm").await;
    assert_eq!(slug_of(&app, "zoe@shop.cm").await, "epicerie-chez-zoe");
    for (n, email) in [(2, "b@shop.cm"), (3, "c@shop.cm")] {
        let other = app.other_browser();
        assert_eq!(other.signup("Épicerie chez Zoé !", email).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(slug_of(&app, email).await, format!("epicerie-chez-zoe-{n}"));
    }
    let reserved = app.other_browser();
    reserved.signup("Admin", "admin-shop@shop.cm").await;
    assert_ne!(slug_of(&app, "admin-shop@shop.cm").await, "admin", "a reserved word is never a slug");

    // Taken, reserved and malformed slugs: a message, nothing changes.
    for (slug, message) in
        [("epicerie-chez-zoe-2", "déjà prise"), ("admin", "réservée"), ("Chez Zoé", "lettres minuscules"), ("ab", "De 3 à 50")]
    {
        let resp = save(&app, brand_parts("", "", slug, None)).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{slug}");
        assert!(resp.text().await.unwrap().contains(message), "{slug}: {message}");
        assert_eq!(slug_of(&app, "zoe@shop.cm").await, "epicerie-chez-zoe");
    }

    // A new slug; the old one redirects, keeping the query (and a POST stays a POST).
    let resp = save(&app, brand_parts("", "", "chez-zoe", None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(slug_of(&app, "zoe@shop.cm").await, "chez-zoe");
    let anonymous = app.other_browser();
    assert_eq!(anonymous.get("/book/chez-zoe/").await.status(), StatusCode::OK);
    let resp = anonymous.get("/book/epicerie-chez-zoe/?dropoff_city=2").await;
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(location(&resp), "/book/chez-zoe/?dropoff_city=2");
    let resp = anonymous.post_form("/book/chez-zoe/", "/book/epicerie-chez-zoe/", &[("recipient_name", "Paul")]).await;
    assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
    // Nobody else can take the old slug, at sign-up or in branding.
    let late = app.other_browser();
    late.signup("Epicerie Chez Zoe", "late@shop.cm").await;
    assert_eq!(slug_of(&app, "late@shop.cm").await, "epicerie-chez-zoe-4");
    delivr::partners::repo::approve(&app.state.db, &app.partner_id("late@shop.cm").await).await.unwrap();
    let resp = save(&late, brand_parts("", "", "epicerie-chez-zoe", None)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Its owner can take it back; the other one then redirects.
    let resp = save(&app, brand_parts("", "", "epicerie-chez-zoe", None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous.get("/book/chez-zoe/").await), "/book/epicerie-chez-zoe/");
    assert_eq!(anonymous.get("/book/epicerie-chez-zoe/").await.status(), StatusCode::OK);
    assert_eq!(anonymous.get("/book/nobody-here/").await.status(), StatusCode::NOT_FOUND);
}

async fn the_brand_is_checked_and_shown_on_public_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    approved_with_pickup(&app, "Boutique Awa", "a@shop.cm").await;
    let slug = slug_of(&app, "a@shop.cm").await;
    let before = app.other_browser().get(&format!("/book/{slug}/")).await.text().await.unwrap();
    assert!(!before.contains("--brand:"), "no brand yet: the DELIVR-CM colours");

    // Bad colours and files: a clear message, nothing stored.
    let long = "x".repeat(281);
    let cases: Vec<(Vec<Part>, &str)> = vec![
        (brand_parts("#zzz", "", &slug, None), "Couleur invalide"),
        (brand_parts("#ffd700", "", &slug, None), "Essayez #"),
        (brand_parts("", &long, &slug, None), "280"),
        (brand_parts("#123456", "", &slug, Some(("logo.png", b"<svg onload=alert(1)>".to_vec()))), "n'est pas une image"),
        (brand_parts("#123456", "", &slug, Some(("logo.png", vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0]))), "endommagée"),
        (brand_parts("#123456", "", &slug, Some(("logo.png", vec![0u8; 2 * 1024 * 1024 + 1]))), "trop lourd"),
    ];
    for (parts, message) in cases {
        let resp = save(&app, parts).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(resp.text().await.unwrap().contains(message), "{message}");
    }
    let stored = delivr::partners::branding::of(&app.state.db, &app.partner_id("a@shop.cm").await).await.unwrap();
    assert_eq!((stored.color, stored.message, stored.logo_url), (None, None, None));

    // The live preview tells the problem and a readable suggestion as one types.
    let preview =
        app.get(&format!("/partners/branding/preview/?brand_color=%23ffd700&brand_message=&slug={slug}")).await.text().await.unwrap();
    assert!(preview.contains("brand-sample") && preview.contains("Essayez #") && preview.contains("1,4:1"), "{preview}");

    // A good logo with a colour to correct: nothing stored, the logo waits in the form (not to
    // be chosen again), the suggestion is one tap; the corrected form saves both.
    let resp = save(&app, brand_parts("#ffd700", "", &slug, Some(("logo.png", image_bytes(300, 300, ImageFormat::Png))))).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Logo choisi : il sera enregistré avec le reste"), "{page}");
    let pending = page.split(r#"name="pending_logo" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let suggestion = page.split("Utiliser #").nth(1).unwrap().chars().take(6).collect::<String>();
    assert!(page.contains(&format!(r##"data-color="#{suggestion}""##)) && page.contains(r##"data-color="#0f6e55""##), "swatches");
    assert_eq!(delivr::partners::branding::of(&app.state.db, &app.partner_id("a@shop.cm").await).await.unwrap().logo_url, None);
    let color = format!("#{suggestion}");
    let mut parts = brand_parts(&color, "", &slug, None);
    parts.push(Part::Text("pending_logo", &pending));
    assert_eq!(save(&app, parts).await.status(), StatusCode::SEE_OTHER);
    let kept = delivr::partners::branding::of(&app.state.db, &app.partner_id("a@shop.cm").await).await.unwrap();
    assert!(kept.logo_url.is_some() && kept.color.as_deref() == Some(color.as_str()));
    // What the browser sends back is checked again like any upload.
    let mut parts = brand_parts(&color, "", &slug, None);
    parts.push(Part::Text("pending_logo", "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"));
    let resp = save(&app, parts).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("n'est pas une image"));

    // A real brand: shrunk logo served for good, colour and message on the public pages.
    let resp = save(
        &app,
        brand_parts("#7A1F5C", "Merci de votre confiance !", &slug, Some(("logo.webp", image_bytes(600, 300, ImageFormat::WebP)))),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    let brand = delivr::partners::branding::of(&app.state.db, &app.partner_id("a@shop.cm").await).await.unwrap();
    assert_eq!(brand.color.as_deref(), Some("#7a1f5c"));
    let logo_url = brand.logo_url.clone().unwrap();
    let logo = app.other_browser().get(&logo_url).await;
    assert_eq!(logo.status(), StatusCode::OK);
    assert!(logo.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let decoded = image::load_from_memory(&logo.bytes().await.unwrap()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 128));

    let booking = app.other_browser().get(&format!("/book/{slug}/")).await.text().await.unwrap();
    for part in ["--brand:#7a1f5c", "Merci de votre confiance !", logo_url.as_str()] {
        assert!(booking.contains(part), "booking page: {part}");
    }
    let order = new_order(&app, "").await;
    let tracking = app.other_browser().get(&format!("/t/{}/", order.public_token)).await.text().await.unwrap();
    for part in ["--brand:#7a1f5c", "Merci de votre confiance !", logo_url.as_str()] {
        assert!(tracking.contains(part), "tracking page: {part}");
    }

    // Removing the logo keeps the rest.
    let mut parts = brand_parts("#7a1f5c", "Merci de votre confiance !", &slug, None);
    parts.push(Part::Text("remove_logo", "1"));
    assert_eq!(save(&app, parts).await.status(), StatusCode::SEE_OTHER);
    let brand = delivr::partners::branding::of(&app.state.db, &app.partner_id("a@shop.cm").await).await.unwrap();
    assert_eq!((brand.logo_url, brand.color.as_deref()), (None, Some("#7a1f5c")));
    assert_eq!(app.other_browser().get(&logo_url).await.status(), StatusCode::NOT_FOUND);
}
