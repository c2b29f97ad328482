//! The audit trail and proof of presence: each security- or money-relevant action leaves an
//! entry naming who, from where, and what changed, written in the action's own transaction (an
//! entry that cannot be written undoes the action); entries cannot be changed or deleted; the
//! owner's page filters them and exports them as CSV, the admin reads the same; a change to
//! money, keys, webhooks or the team asks for a fresh proof once the last one is ten minutes old
//! (the clock moved in the database), and two-factor is required of owners after two weeks and
//! of every member when the shop asks it.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location, new_order},
};
use delivr::{accounts::totp, auth::TeamRole};

both_backends!(
    actions_are_recorded_with_who_and_what,
    an_entry_that_cannot_be_written_undoes_its_action,
    entries_can_be_neither_changed_nor_deleted,
    stale_proof_is_asked_again_and_the_form_survives,
    two_factor_is_required_of_owners_and_when_the_shop_asks,
    the_demo_owner_signs_in_with_a_code
);

const PASSWORD: &str = "mot-de-passe-sur";
const AGENT: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

async fn actions(app: &TestApp, partner: &str) -> Vec<(String, String, Option<String>, String, String)> {
    delivr::on_db!(&app.state.db, pool => sqlx::query_as(
        "SELECT action, actor, after, ip, user_agent FROM audit_events WHERE partner_id = $1 ORDER BY seq",
    )
    .bind(partner)
    .fetch_all(pool)
    .await)
    .unwrap()
}

async fn actions_recorded(app: &TestApp, partner: &str) -> Vec<String> {
    actions(app, partner).await.into_iter().map(|(a, ..)| a).collect()
}

async fn actions_are_recorded_with_who_and_what(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = app.approved_vendor("Boutique Journal", "journal@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{partner}'")).await;
    // A wrong password for the owner, from another browser; and one for nobody (nothing to record).
    let other = app.other_browser();
    assert_eq!(other.login("journal@shop.cm", "pas-le-bon").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    other.login("personne@nulle-part.cm", "pas-le-bon").await;

    // An API key made and revoked, an order cancelled, a member invited, given a role.
    app.api_key("Boutique en ligne").await;
    let key_id: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM api_keys WHERE partner_id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    let resp = app.post_form("/partners/api-keys/", &format!("/partners/api-keys/{key_id}/revoke/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let order = new_order(&app, "5000").await;
    let resp = app
        .post_form(
            &format!("/partners/orders/{}/", order.id),
            &format!("/partners/orders/{}/cancel/", order.id),
            &[("reason", "Client absent"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = app.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "compta@shop.cm"), ("role", "ACCOUNTANT")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let hash = delivr::accounts::password::hash(PASSWORD).unwrap();
    let staff = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Business, "vente@shop.cm", "Vente", None, &hash)
        .await
        .unwrap();
    delivr::team::add(&app.state.db, &partner, &staff, TeamRole::Staff, delivr::db::now_ms()).await.unwrap();
    let resp = app.post_form("/partners/team/", &format!("/partners/team/members/{staff}/role/"), &[("role", "MANAGER")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // The staff member (now a manager) reaching the payouts is refused, and that is recorded.
    let manager = app.other_browser();
    manager.login("vente@shop.cm", PASSWORD).await;
    let resp = manager.post_form("/partners/dashboard/", "/partners/wallet/payouts/", &[("amount", "5000"), ("phone", "677987654")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let recorded = actions_recorded(&app, &partner).await;
    for expected in [
        "sign_in",
        "sign_in.failed",
        "api_key.created",
        "api_key.revoked",
        "order.cancelled",
        "member.invited",
        "member.role_changed",
        "refused",
    ] {
        assert!(recorded.iter().any(|a| a == expected), "{expected} in {recorded:?}");
    }
    assert_eq!(recorded.iter().filter(|a| *a == "sign_in.failed").count(), 1, "the unknown address left nothing");
    let all = actions(&app, &partner).await;
    let role = all.iter().find(|(a, ..)| a == "member.role_changed").unwrap();
    assert_eq!(role.1, "journal@shop.cm", "who");
    assert!(role.2.as_deref().unwrap().contains("MANAGER"), "what it became");
    assert!(!role.3.is_empty(), "from which address");
    let cancelled = all.iter().find(|(a, ..)| a == "order.cancelled").unwrap();
    assert!(cancelled.2.as_deref().unwrap().contains("Client absent"));
    let refused = all.iter().find(|(a, ..)| a == "refused").unwrap();
    assert_eq!(refused.1, "vente@shop.cm");

    // The owner's page: every entry, translated; filtered by action; the CSV.
    let html = app.get("/partners/audit/").await.text().await.unwrap();
    for label in [
        "Clé API créée",
        "Commande annulée",
        "Rôle changé",
        "Accès refusé",
        "Connexion refusée",
        "Employé → Gérant",
        order.tracking_number.as_str(),
    ] {
        assert!(html.contains(label), "{label} on the page");
    }
    let html = app.get("/partners/audit/?action=api_key.revoked").await.text().await.unwrap();
    assert!(html.contains("Clé API révoquée") && !html.contains("data-action=\"order.cancelled\""), "filtered by action");
    let html = app.get(&format!("/partners/audit/?person={staff}")).await.text().await.unwrap();
    assert!(html.contains("data-action=\"refused\"") && !html.contains("data-action=\"api_key.created\""), "filtered by person");
    let resp = app.get("/partners/audit/?from=2026-13-01").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a date that does not exist");
    assert!(resp.text().await.unwrap().contains("role=\"alert\""));
    let resp = app.get("/partners/audit/?action=order.cancelled&format=csv").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    assert_eq!(csv.lines().count(), 2, "the header and the one cancellation: {csv}");
    assert!(
        csv.lines().next().unwrap().contains("Quand;Qui;Action;Code de l'action;Objet;Avant;Après;Adresse IP;Navigateur"),
        "headers in French, `;`"
    );
    assert!(csv.contains(&order.tracking_number));

    // The admin reads the same, per shop; other shops' entries are not there.
    app.create_admin("admin@delivr.cm", "admin-mot-de-passe").await;
    let admin = app.other_browser();
    admin.login("admin@delivr.cm", "admin-mot-de-passe").await;
    let html = admin.get(&format!("/admin/partners/{partner}/audit/")).await.text().await.unwrap();
    assert!(html.contains("Boutique Journal") && html.contains("Commande annulée"));
    assert_eq!(admin.get("/admin/partners/00000000-0000-4000-8000-000000000000/audit/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/admin/partners/{partner}/audit/")).await.status(), StatusCode::NOT_FOUND, "vendors do not reach it");
}

/// The browser's name is kept with each entry.
#[tokio::test]
async fn the_browser_is_named() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let partner = app.approved_vendor("Boutique Agent", "agent@shop.cm").await;
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).user_agent(AGENT).build().unwrap();
    let page = client.get(app.url("/accounts/login/")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::helpers::csrf_in(&page);
    let resp = client
        .post(app.url("/accounts/login/"))
        .form(&[("email", "agent@shop.cm"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let last = actions(&app, &partner).await.pop().unwrap();
    assert_eq!((last.0.as_str(), last.4.as_str()), ("sign_in", AGENT));
    let html = client.get(app.url("/partners/audit/")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Chrome 120 · Android"), "shown as a person names it");
}

async fn an_entry_that_cannot_be_written_undoes_its_action(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = app.approved_vendor("Boutique Atomique", "atome@shop.cm").await;
    // The trail refuses every new entry (a full disk, say).
    match backend {
        Backend::Sqlite => app.exec("CREATE TRIGGER audit_full BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'full'); END").await,
        Backend::Postgres => {
            app.exec("CREATE FUNCTION audit_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'full'; END $$ LANGUAGE plpgsql").await;
            app.exec("CREATE TRIGGER audit_full BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_full()").await;
        }
    }
    let keys = app.count("api_keys").await;
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Perdue")]).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.count("api_keys").await, keys, "no key without its entry");
    let invitations = app.count("member_invitations").await;
    let messages = app.count("messages").await;
    let resp = app.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "x@shop.cm"), ("role", "STAFF")]).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        (app.count("member_invitations").await, app.count("messages").await),
        (invitations, messages),
        "no invitation, nothing sent"
    );
    let before: bool =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT require_two_factor FROM partners WHERE id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    app.post_form("/partners/team/", "/partners/team/two-factor/", &[("required", "1")]).await;
    let after: bool =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT require_two_factor FROM partners WHERE id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    assert_eq!(before, after, "the rule unchanged");
}

async fn entries_can_be_neither_changed_nor_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique Gravée", "grave@shop.cm").await;
    assert!(app.count("audit_events").await > 0, "signing up signed in");
    for sql in ["UPDATE audit_events SET actor = 'quelqu''un d''autre'", "DELETE FROM audit_events"] {
        let done = delivr::on_db!(&app.state.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()));
        assert!(done.is_err(), "{sql} refused");
    }
    let actors: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT actor FROM audit_events").fetch_all(pool).await).unwrap();
    assert!(actors.iter().all(|a| a == "grave@shop.cm"));
}

/// Moves the session's last proof `minutes` into the past.
async fn age_proof(app: &TestApp, minutes: i64) {
    app.exec(&format!("UPDATE sessions SET proved_at = proved_at - {}", minutes * 60_000)).await;
}

async fn stale_proof_is_asked_again_and_the_form_survives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = app.approved_vendor("Boutique Preuve", "preuve@shop.cm").await;
    // Within ten minutes of signing in: no question.
    age_proof(&app, 9).await;
    app.api_key("Première").await;
    assert_eq!(app.count("api_keys").await, 1);

    // Past ten minutes: the change is not made; the page asks for the password.
    age_proof(&app, 2).await;
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Deuxième")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(html.contains("name=\"proof\"") && html.contains("value=\"Deuxième\""), "asks, keeping what was typed");
    assert_eq!(app.count("api_keys").await, 1, "nothing made");
    // Reading is never asked.
    assert_eq!(app.get("/partners/api-keys/").await.status(), StatusCode::OK);

    // A wrong password: 422, still nothing, and recorded.
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Deuxième"), ("proof", "pas-le-bon")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("api_keys").await, 1);
    assert!(actions_recorded(&app, &partner).await.iter().any(|a| a == "refused"));

    // The form sent again with the password: made, and the next change is not asked.
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Deuxième"), ("proof", PASSWORD)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.count("api_keys").await, 2);
    app.api_key("Troisième").await;
    assert_eq!(app.count("api_keys").await, 3);

    // With two-factor on, the proof is a code, and each code works once.
    let setup = app.get("/accounts/two-factor/setup/").await.text().await.unwrap();
    let key = setup.split("<code id=\"totp-secret\">").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let secret = totp::from_base32(&key).unwrap();
    let step = totp::step_at(delivr::db::now_ms() / 1000);
    let resp = app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/setup/", &[("code", &totp::code(&secret, step))]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    age_proof(&app, 11).await;
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Quatrième"), ("proof", PASSWORD)]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "the password no longer does");
    let resp =
        app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Quatrième"), ("proof", &totp::code(&secret, step))]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "the code that turned it on is spent");
    let resp = app
        .post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Quatrième"), ("proof", &totp::code(&secret, step + 1))])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.count("api_keys").await, 4);

    // A password change is no proof of the second factor: the new session keeps the old proof.
    age_proof(&app, 11).await;
    let resp = app
        .post_form(
            "/partners/profile/",
            "/partners/profile/password/",
            &[("current_password", PASSWORD), ("new_password", "un-autre-mot-de-passe")],
        )
        .await;
    assert_eq!(location(&resp), "/partners/profile/?saved=password");
    let resp = app.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", "Cinquième")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "still asked for a code");
    assert_eq!(actions_recorded(&app, &partner).await.iter().filter(|a| *a == "sign_in").count(), 1, "a password change is not a sign-in");

    // Guessing codes to turn two-factor off is throttled like sign-in, and recorded.
    for _ in 0..5 {
        let resp = app.post_form("/partners/profile/", "/accounts/two-factor/disable/", &[("code", "000000")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let resp = app.post_form("/partners/profile/", "/accounts/two-factor/disable/", &[("code", &totp::code(&secret, step + 2))]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "even the right code waits");
    assert!(resp.text().await.unwrap().contains("Trop de codes refusés"));
    // (The wrong step-up proofs above counted too: only the tries checked before the lock are.)
    assert!(actions_recorded(&app, &partner).await.iter().any(|a| a == "two_factor.failed"), "wrong codes recorded");
    let on: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM user_totp WHERE confirmed_at IS NOT NULL").fetch_one(pool).await).unwrap();
    assert_eq!(on, 1, "still on");
}

async fn two_factor_is_required_of_owners_and_when_the_shop_asks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = app.approved_vendor("Boutique Exigeante", "exige@shop.cm").await;
    let hash = delivr::accounts::password::hash(PASSWORD).unwrap();
    let staff = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Business, "staff@shop.cm", "Staff", None, &hash)
        .await
        .unwrap();
    delivr::team::add(&app.state.db, &partner, &staff, TeamRole::Staff, delivr::db::now_ms()).await.unwrap();
    let member = app.other_browser();
    member.login("staff@shop.cm", PASSWORD).await;
    assert_eq!(member.get("/partners/orders/").await.status(), StatusCode::OK, "optional for members");

    // An owner's first two weeks: optional. After: set up first.
    let dashboard = app.get("/partners/dashboard/").await.text().await.unwrap();
    assert!(dashboard.contains("sera exigée du propriétaire"), "the owner is reminded before");
    assert!(!member.get("/partners/dashboard/").await.text().await.unwrap().contains("sera exigée"), "not the staff");
    app.exec(&format!("UPDATE partner_members SET created_at = created_at - {} WHERE role = 'OWNER'", 15 * 86_400_000i64)).await;
    let resp = app.get("/partners/dashboard/").await;
    assert_eq!(location(&resp), "/accounts/two-factor/setup/?required=1");
    assert!(app.get("/accounts/two-factor/setup/?required=1").await.text().await.unwrap().contains("role=\"status\""), "says why");
    assert_eq!(member.get("/partners/orders/").await.status(), StatusCode::OK, "still optional for the staff");

    // The owner sets it up, then requires it of everyone: the staff member is sent to set it up.
    let setup = app.get("/accounts/two-factor/setup/").await.text().await.unwrap();
    let key = setup.split("<code id=\"totp-secret\">").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let secret = totp::from_base32(&key).unwrap();
    let step = totp::step_at(delivr::db::now_ms() / 1000);
    app.post_form("/accounts/two-factor/setup/", "/accounts/two-factor/setup/", &[("code", &totp::code(&secret, step))]).await;
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    let resp = app.post_form("/partners/team/", "/partners/team/two-factor/", &[("required", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&member.get("/partners/orders/").await), "/accounts/two-factor/setup/?required=1");
    assert!(
        app.get("/partners/team/").await.text().await.unwrap().contains("Double authentification\u{a0}: Oui"),
        "the team page shows who has it"
    );
    // The owner cannot turn theirs off while it is required.
    let resp =
        app.post_form("/accounts/two-factor/disable/", "/accounts/two-factor/disable/", &[("code", &totp::code(&secret, step + 1))]).await;
    assert_ne!(resp.status(), StatusCode::SEE_OTHER);
    assert!(actions_recorded(&app, &partner).await.iter().any(|a| a == "two_factor.required"));
}

/// `delivr demo`'s shop: four members, the owner behind a second factor whose key is printed.
async fn the_demo_owner_signs_in_with_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seeded = delivr::demo::seed(&app.state.db).await.unwrap();
    let partner = app.partner_id(delivr::demo::VENDOR.email).await;
    assert_eq!(delivr::team::members(&app.state.db, &partner).await.unwrap().len(), 4, "the owner and three members");
    let resp = app.login(delivr::demo::VENDOR.email, delivr::demo::VENDOR.password).await;
    assert_eq!(location(&resp), "/accounts/two-factor/", "a code is asked");
    let secret = totp::from_base32(&seeded.owner_two_factor).unwrap();
    let code = totp::code(&secret, totp::step_at(delivr::db::now_ms() / 1000));
    let resp = app.post_form("/accounts/two-factor/", "/accounts/two-factor/", &[("code", &code)]).await;
    assert_eq!(location(&resp), "/partners/dashboard/");
    let html = app.get("/partners/team/").await.text().await.unwrap();
    assert_eq!(html.matches("Double authentification\u{a0}: Oui").count(), 1, "the owner's is on");
    let accountant = app.other_browser();
    let login = delivr::demo::TEAM.iter().find(|(_, _, r)| *r == TeamRole::Accountant).unwrap();
    assert_eq!(location(&accountant.login(login.0.email, login.0.password).await), "/partners/dashboard/");
}
