//! Admin approval and suspension; one vendor never reaches another's data or the admin pages.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(
    suspension_locks_the_vendor_out_at_once,
    vendors_cannot_reach_admin_pages_or_other_vendors,
    admin_list_searches_filters_and_paginates,
    suspend_needs_a_reason,
    an_application_is_checked_then_refused_with_a_reason,
);

/// On a phone, an admin sees what to check on an application (pickup address, NIU, RCCM,
/// phone), refuses it with a reason (asked first, then told it is done), and the applicant
/// reads the refusal and its reason on signing in.
async fn an_application_is_checked_then_refused_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("Boutique Douteuse", "d@shop.cm").await.status(), StatusCode::SEE_OTHER);
    let id = app.partner_id("d@shop.cm").await;
    let admin = admin(&app).await;
    let page = format!("/admin/partners/{id}/");
    let html = admin.get(&page).await.text().await.unwrap();
    assert!(
        html.contains("À vérifier") && html.contains("NIU : <span class=\"muted\">non renseigné") && html.contains("Refuser la demande"),
        "{html}"
    );
    assert!(!html.contains("/suspend/"), "an application is refused, not suspended");
    // A reason is needed; then it is asked, naming the business; nothing changes until the yes.
    let action = format!("/admin/partners/{id}/refuse/");
    assert_eq!(admin.post_form(&page, &action, &[("reason", " ")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ask = admin.post_form(&page, &action, &[("reason", "Documents illisibles")]).await.text().await.unwrap();
    assert!(ask.contains("Refuser la demande de Boutique Douteuse ?"), "{ask}");
    assert!(admin.get(&page).await.text().await.unwrap().contains("Refuser la demande"), "still pending");
    let resp = admin.post_form(&page, &action, &[("reason", "Documents illisibles"), ("confirmed", "1")]).await;
    assert_eq!(crate::helpers::location(&resp), format!("{page}?done=refused"));
    assert!(
        admin.get(&format!("{page}?done=refused")).await.text().await.unwrap().contains("Demande refusée : le demandeur verra le motif.")
    );
    // The applicant reads it on signing in.
    let applicant = app.other_browser();
    let resp = applicant.login("d@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let text = resp.text().await.unwrap();
    assert!(text.contains("Demande refusée") && text.contains("Documents illisibles"), "{text}");
    // Refusing is for applications only.
    assert_eq!(admin.post_form(&page, &action, &[("reason", "encore"), ("confirmed", "1")]).await.status(), StatusCode::CONFLICT);
}

async fn admin(app: &TestApp) -> TestApp {
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    assert_eq!(admin.login("admin@delivr.cm", "admin-password-1").await.status(), StatusCode::SEE_OTHER);
    admin
}

async fn suspension_locks_the_vendor_out_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.approved_vendor("Boutique", "awa@shop.cm").await;
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    let admin = admin(&app).await;
    let page = format!("/admin/partners/{id}/");
    // Suspending asks first, naming the vendor; the vendor works on until the yes.
    let resp = admin.post_form(&page, &format!("/admin/partners/{id}/suspend/"), &[("reason", "Colis interdits")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Suspendre Boutique ?"));
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    let resp =
        admin.post_form(&page, &format!("/admin/partners/{id}/suspend/"), &[("reason", "Colis interdits"), ("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(admin.get(&page).await.text().await.unwrap().contains("Colis interdits"));

    // The very next request of the vendor is anonymous; logging in again is refused.
    let resp = app.get("/partners/dashboard/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/accounts/login/"));
    let resp = app.login("awa@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // The right password earns a page that says why and how to reach DELIVR-CM…
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Compte suspendu")
            && html.contains("Colis interdits")
            && html.contains("mailto:support@delivr.cm")
            && html.contains("https://wa.me/"),
        "{html}"
    );
    // …a wrong one says nothing of the suspension.
    let resp = app.login("awa@shop.cm", "pas-le-bon-mot").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!resp.text().await.unwrap().contains("Colis interdits"));
    assert_eq!(app.count("sessions").await, 1, "only the admin's session remains");

    // Reactivation restores access.
    admin.post_form(&page, &format!("/admin/partners/{id}/approve/"), &[]).await;
    assert_eq!(app.login("awa@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    // The first approval told the vendor; lifting the suspension does not say it again.
    let told: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM partner_notifications WHERE partner_id = $1 AND title = 'Compte approuvé'").bind(&id).fetch_one(pool).await).unwrap();
    assert_eq!(told, 1);
}

async fn vendors_cannot_reach_admin_pages_or_other_vendors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _a = app.approved_vendor("Boutique A", "a@shop.cm").await;
    let b_browser = app.other_browser();
    let b = b_browser.approved_vendor("Boutique B", "b@shop.cm").await;
    // Vendor A on the admin pages, including vendor B's detail and actions: 404, not 403.
    for path in ["/admin/partners/", &format!("/admin/partners/{b}/")] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(resp.text().await.unwrap().contains("Page introuvable"));
    }
    let resp =
        app.post_form("/partners/dashboard/", &format!("/admin/partners/{b}/suspend/"), &[("reason", "x"), ("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let suspended: Option<i64> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT suspended_at FROM partners WHERE id = $1").bind(&b).fetch_one(pool).await).unwrap();
    assert_eq!(suspended, None);
    // Each vendor's dashboard shows only their own business.
    let html = app.get("/partners/dashboard/").await.text().await.unwrap();
    assert!(html.contains("Boutique A") && !html.contains("Boutique B"));
    // Anonymous visitors are sent to the login page with a way back.
    let anon = app.other_browser();
    let resp = anon.get("/partners/dashboard/").await;
    assert_eq!(location(&resp), "/accounts/login/?next=%2Fpartners%2Fdashboard%2F");
    // Unknown and malformed ids are 404 for admins too.
    let admin = admin(&app).await;
    for path in ["/admin/partners/00000000-0000-0000-0000-000000000000/", "/admin/partners/not-a-uuid/", "/admin/partners/%27%20OR%201=1/"]
    {
        assert_eq!(admin.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn admin_list_searches_filters_and_paginates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..27 {
        let b = app.other_browser();
        assert_eq!(b.signup(&format!("Boutique {i:02}"), &format!("v{i}@shop.cm")).await.status(), StatusCode::SEE_OTHER);
    }
    let special = app.approved_vendor("Pharmacie Bonapriso", "pharma@shop.cm").await;
    let admin = admin(&app).await;
    let page1 = admin.get("/admin/partners/").await.text().await.unwrap();
    assert!(page1.contains("28 résultats") && page1.contains("Page 1 sur 2"), "{page1}");
    assert!(page1.contains("27 partenaires attendent une validation."));
    let page2 = admin.get("/admin/partners/?page=2").await.text().await.unwrap();
    assert!(page2.contains("Page 2 sur 2"));
    let found = admin.get("/admin/partners/?q=bonapriso").await.text().await.unwrap();
    assert!(found.contains("1 résultat") && found.contains(&special));
    let approved = admin.get("/admin/partners/?status=approved").await.text().await.unwrap();
    assert!(approved.contains("1 résultat"));
    // Nonsense filters fall back to defaults, never an error.
    for q in ["?page=-4", "?page=abc", "?status=bogus", "?q=%25%25%25", "?q=_"] {
        assert_eq!(admin.get(&format!("/admin/partners/{q}")).await.status(), StatusCode::OK, "{q}");
    }
}

async fn suspend_needs_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.approved_vendor("Boutique", "awa@shop.cm").await;
    let admin = admin(&app).await;
    let page = format!("/admin/partners/{id}/");
    let resp = admin.post_form(&page, &format!("/admin/partners/{id}/suspend/"), &[("reason", "   "), ("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Ce champ est obligatoire."));
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
}
