//! Shops are teams: the role × route matrix (every portal page and API operation, for each of
//! the four roles; what a role may not do answers 403 and changes nothing), invitations (by
//! e-mail, single-use, expiring), roles and removals (a shop keeps an owner; a removed member's
//! sessions end), and switching between shops.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, MailServer, TestApp, eventually, location, new_order},
};
use delivr::auth::TeamRole;

both_backends!(
    every_route_checks_the_role,
    every_api_operation_checks_the_key_role,
    invitations_roles_and_removals,
    a_person_switches_between_shops
);

const PASSWORD: &str = "mot-de-passe-equipe";

/// The owner's shop (approved, with a pickup address) and a signed-in browser per role.
async fn team(backend: Backend) -> (TestApp, String, Vec<(TeamRole, TestApp, String)>) {
    let owner = TestApp::spawn(backend).await;
    let partner = owner.approved_vendor("Boutique Équipe", "owner@shop.cm").await;
    owner.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{partner}'")).await;
    let hash = delivr::accounts::password::hash(PASSWORD).unwrap();
    let mut members = Vec::new();
    for role in [TeamRole::Manager, TeamRole::Staff, TeamRole::Accountant] {
        let email = format!("{}@shop.cm", role.as_str().to_lowercase());
        let user = delivr::accounts::repo::create_staff(&owner.state.db, delivr::auth::Role::Business, &email, role.as_str(), None, &hash)
            .await
            .unwrap();
        delivr::team::add(&owner.state.db, &partner, &user, role, delivr::db::now_ms()).await.unwrap();
        let browser = owner.other_browser();
        assert_eq!(browser.login(&email, PASSWORD).await.status(), StatusCode::SEE_OTHER, "{email} signs in");
        members.push((role, browser, user));
    }
    (owner, partner, members)
}

/// Who may: O owner, M manager, S staff, A accountant (the roles, written out here
/// rather than read from the code under test).
fn may(who: &str, role: TeamRole) -> bool {
    let letter = match role {
        TeamRole::Owner => 'O',
        TeamRole::Manager => 'M',
        TeamRole::Staff => 'S',
        TeamRole::Accountant => 'A',
    };
    who.contains(letter)
}

/// Every portal route, with an example address (`{order}`: a real order) and who may use it.
const PAGES: &[(&str, &str, &str)] = &[
    ("GET", "/partners/dashboard/", "OMSA"),
    ("GET", "/partners/notifications/", "OMSA"),
    ("GET", "/partners/profile/", "OMSA"),
    ("GET", "/partners/orders/", "OMSA"),
    ("GET", "/partners/orders/{order}/", "OMSA"),
    ("GET", "/partners/orders/{order}/label/", "OMSA"),
    ("GET", "/partners/orders/{order}/row/", "OMSA"),
    ("GET", "/partners/orders/export/", "OMSA"),
    ("GET", "/partners/orders/labels/?id={order}", "OMSA"),
    ("GET", "/partners/bookings/", "OMSA"),
    ("GET", "/partners/orders/new/", "OMS"),
    ("GET", "/partners/orders/import/", "OMS"),
    ("GET", "/partners/orders/import/template/", "OMS"),
    ("GET", "/partners/orders/quote/", "OMS"),
    ("GET", "/partners/tracking/", "OMS"),
    ("GET", "/partners/disputes/", "OM"),
    ("GET", "/partners/disputes/new/{order}/", "OM"),
    ("GET", "/partners/branding/", "OM"),
    ("GET", "/partners/webhooks/", "OM"),
    ("GET", "/partners/api-keys/", "OM"),
    ("GET", "/partners/api/quickstart/", "OM"),
    ("GET", "/partners/wallet/", "OMA"),
    ("GET", "/partners/wallet/export/", "OMA"),
    ("GET", "/partners/wallet/statement/", "OMA"),
    ("GET", "/partners/invoices/", "OMA"),
    ("GET", "/partners/analytics/", "OMA"),
    ("GET", "/partners/analytics/csv/?series=orders", "OMA"),
    ("GET", "/partners/team/", "O"),
    ("GET", "/partners/audit/", "O"),
    ("GET", "/partners/audit/?format=csv", "O"),
    ("POST", "/partners/notifications/read-all/", "OMSA"),
    ("POST", "/partners/orders/new/", "OMS"),
    ("POST", "/partners/orders/import/", "OMS"),
    ("POST", "/partners/orders/{order}/cancel/", "OMS"),
    ("POST", "/partners/bookings/00000000-0000-4000-8000-000000000000/accept/", "OMS"),
    ("POST", "/partners/disputes/new/{order}/", "OM"),
    ("POST", "/partners/branding/", "OM"),
    ("POST", "/partners/webhooks/", "OM"),
    ("POST", "/partners/webhooks/secret/", "OM"),
    ("POST", "/partners/webhooks/test/", "OM"),
    ("POST", "/partners/api-keys/", "OM"),
    ("POST", "/partners/dashboard/api-key/", "OM"),
    ("POST", "/partners/wallet/payouts/", "O"),
    ("POST", "/partners/profile/", "O"),
    ("POST", "/partners/team/invite/", "O"),
    ("POST", "/partners/team/two-factor/", "O"),
    ("POST", "/partners/team/members/{owner}/role/", "O"),
    ("POST", "/partners/team/members/{owner}/remove/", "O"),
];

/// What forbidden requests could have changed: none of it may move.
const WATCHED: &[&str] = &[
    "orders",
    "payouts",
    "api_keys",
    "webhook_configs",
    "partner_members",
    "member_invitations",
    "disputes",
    "wallet_entries",
    "messages",
];

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in WATCHED {
        out.push(app.count(t).await);
    }
    out
}

async fn request(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    if method == "GET" {
        return app.get(path).await;
    }
    // A form a member could have sent: its CSRF token, fields the handler must check itself.
    let fields = [("name", "Clé"), ("amount", "5000"), ("phone", "677987654"), ("contact", "x@y.cm"), ("role", "STAFF")];
    app.post_form("/partners/profile/", path, &fields).await
}

async fn every_route_checks_the_role(backend: Backend) {
    let (owner, partner, members) = team(backend).await;
    let order = new_order(&owner, "0").await;
    let owner_user: String = delivr::on_db!(&owner.state.db, pool => sqlx::query_scalar("SELECT user_id FROM partners WHERE id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    let fill = |p: &str| p.replace("{order}", &order.id).replace("{owner}", &owner_user);
    let mut browsers: Vec<(TeamRole, &TestApp)> = vec![(TeamRole::Owner, &owner)];
    browsers.extend(members.iter().map(|(r, b, _)| (*r, b)));

    // What a role may not do: 403 (a translated page), and nothing changed.
    let before = snapshot(&owner).await;
    for (role, app) in &browsers {
        for (method, path, who) in PAGES {
            if may(who, *role) {
                continue;
            }
            let resp = request(app, method, &fill(path)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role:?} {method} {path}");
            assert!(resp.text().await.unwrap().contains("403"), "{role:?} {method} {path}: the error page");
        }
    }
    assert_eq!(snapshot(&owner).await, before, "forbidden requests changed nothing ({WATCHED:?})");

    // What it may: never refused for its role (pages without an id simply open).
    for (role, app) in &browsers {
        for (method, path, who) in PAGES {
            if !may(who, *role) || path.contains("/remove/") {
                continue;
            }
            let resp = request(app, method, &fill(path)).await;
            let status = resp.status();
            assert_ne!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
            if *method == "GET" && (!path.contains('{') || path.contains("?id=")) && !path.contains("quote") {
                assert_eq!(status, StatusCode::OK, "{role:?} {method} {path}");
            }
        }
    }
    // The navigation shows only what the role opens.
    let nav = |html: &str, href: &str| html.contains(&format!("href=\"{href}\""));
    for (role, app) in &browsers {
        let html = app.get("/partners/dashboard/").await.text().await.unwrap();
        assert_eq!(nav(&html, "/partners/wallet/"), may("OMA", *role), "{role:?} wallet link");
        assert_eq!(nav(&html, "/partners/team/"), may("O", *role), "{role:?} team link");
        assert_eq!(nav(&html, "/partners/audit/"), may("O", *role), "{role:?} security log link");
        assert_eq!(nav(&html, "/partners/webhooks/"), may("OM", *role), "{role:?} webhooks link");
        assert_eq!(nav(&html, "/partners/tracking/"), may("OMS", *role), "{role:?} map link");
    }
}

/// Every API operation, with who may call it (`{order}`: a real order).
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("GET", "/orders", "OMSA"),
    ("GET", "/orders/{order}", "OMSA"),
    ("GET", "/orders/{order}/timeline", "OMSA"),
    ("GET", "/orders/{order}/label", "OMSA"),
    ("POST", "/quotes", "OMSA"),
    ("POST", "/orders", "OMS"),
    ("POST", "/orders/{order}/cancel", "OMS"),
    ("GET", "/disputes", "OM"),
    ("POST", "/disputes", "OM"),
    ("GET", "/webhook", "OM"),
    ("PUT", "/webhook", "OM"),
    ("POST", "/webhook/test", "OM"),
    ("POST", "/webhook/secret", "OM"),
    ("GET", "/webhook/deliveries", "OM"),
    ("GET", "/wallet", "OMA"),
    ("GET", "/wallet/ledger", "OMA"),
    ("GET", "/wallet/payouts", "OMA"),
    ("POST", "/wallet/payouts", "O"),
    ("GET", "/invoices", "OMA"),
    ("GET", "/analytics/summary", "OMA"),
];

async fn every_api_operation_checks_the_key_role(backend: Backend) {
    let (owner, partner, _) = team(backend).await;
    let order = new_order(&owner, "0").await;
    let mut keys = Vec::new();
    for role in TeamRole::ALL {
        let key = delivr::api_keys::create_as(&owner.state.db, &partner, role.as_str(), None, role).await.unwrap().unwrap().secret;
        keys.push((role, key));
    }
    let call = |key: &str, method: &str, path: &str| {
        let url = owner.url(&format!("/api/v1{}", path.replace("{order}", &order.id)));
        let req = match method {
            "GET" => owner.client.get(url),
            "PUT" => owner.client.put(url),
            _ => owner.client.post(url),
        };
        req.header("authorization", format!("Api-Key {key}")).header("content-type", "application/json").body("{}").send()
    };
    let before = snapshot(&owner).await;
    for (role, key) in &keys {
        for (method, path, who) in OPERATIONS {
            if may(who, *role) {
                continue;
            }
            let resp = call(key, method, path).await.unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role:?} {method} {path}");
            let problem: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(problem["type"], "https://delivr.cm/problems/forbidden", "{role:?} {method} {path}");
        }
    }
    assert_eq!(snapshot(&owner).await, before, "forbidden calls changed nothing");
    for (role, key) in &keys {
        for (method, path, who) in OPERATIONS {
            if may(who, *role) {
                let resp = call(key, method, path).await.unwrap();
                assert_ne!(resp.status(), StatusCode::FORBIDDEN, "{role:?} {method} {path}");
            }
        }
    }
    // The keys list says each key's role and who made it.
    let html = owner.get("/partners/api-keys/").await.text().await.unwrap();
    assert!(html.contains("Comptable") && html.contains("Employé"), "roles shown");
    // A manager cannot make an owner's key, nor a staff member any key.
    for (role, browser) in team_members_of(&owner, &partner).await {
        let resp = browser.post_form("/partners/profile/", "/partners/api-keys/", &[("name", "Forte"), ("role", "OWNER")]).await;
        match role {
            TeamRole::Manager => assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a manager gives no owner role"),
            _ => assert_eq!(resp.status(), StatusCode::FORBIDDEN),
        }
    }
}

/// A signed-in manager and staff member of `partner` (new ones).
async fn team_members_of(owner: &TestApp, partner: &str) -> Vec<(TeamRole, TestApp)> {
    let hash = delivr::accounts::password::hash(PASSWORD).unwrap();
    let mut out = Vec::new();
    for role in [TeamRole::Manager, TeamRole::Staff] {
        let email = format!("deux-{}@shop.cm", role.as_str().to_lowercase());
        let user =
            delivr::accounts::repo::create_staff(&owner.state.db, delivr::auth::Role::Business, &email, "Deux", None, &hash).await.unwrap();
        delivr::team::add(&owner.state.db, partner, &user, role, delivr::db::now_ms()).await.unwrap();
        let browser = owner.other_browser();
        assert_eq!(browser.login(&email, PASSWORD).await.status(), StatusCode::SEE_OTHER);
        out.push((role, browser));
    }
    out
}

/// The invitation link of the last e-mail to `to`.
fn invitation_in(mails: &[crate::helpers::Mail], to: &str) -> Option<String> {
    let mail = mails.iter().rev().find(|m| m.to.contains(to))?;
    let at = mail.body.find("/accounts/invitations/")?;
    let rest = &mail.body[at..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

async fn invitations_roles_and_removals(backend: Backend) {
    let smtp = MailServer::start().await;
    let smtp_url = smtp.url.clone();
    let owner = TestApp::spawn_with(backend, |c| c.smtp_url = Some(smtp_url)).await;
    let partner = owner.approved_vendor("Boutique Awa", "awa@shop.cm").await;

    // Bad input: a contact that is neither an address nor a phone, a role that does not exist.
    let resp = owner.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "quelqu'un"), ("role", "STAFF")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("adresse e-mail ou un numéro de téléphone camerounais"));
    let resp = owner.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "compta@shop.cm"), ("role", "ADMIN")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(owner.count("member_invitations").await, 0, "nothing recorded");

    // The owner invites an accountant by e-mail; the link arrives.
    let resp = owner.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "Compta@Shop.cm"), ("role", "ACCOUNTANT")]).await;
    assert_eq!(location(&resp), "/partners/team/?done=invited");
    eventually("the invitation e-mail", 15, async || invitation_in(&smtp.received(), "compta@shop.cm").is_some()).await;
    let mail = smtp.received().into_iter().rev().find(|m| m.to.contains("compta@shop.cm")).unwrap();
    assert!(mail.subject.contains("Boutique Awa"), "{}", mail.subject);
    assert!(mail.body.contains("Comptable") && mail.body.contains("72 h"), "{}", mail.body);
    let link = invitation_in(&smtp.received(), "compta@shop.cm").unwrap();
    let page = owner.get("/partners/team/").await.text().await.unwrap();
    assert!(page.contains("compta@shop.cm"), "the invitation waits on the team page");
    // Only its hash is kept, and the sent message no longer holds it.
    let token = link.trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    eventually("the message's token blanked", 15, async || {
        let params: Vec<String> = delivr::on_db!(&owner.state.db, pool => sqlx::query_scalar("SELECT params FROM messages WHERE template = 'team_invitation'").fetch_all(pool).await).unwrap();
        params.iter().all(|p| !p.contains(&token))
    })
    .await;

    // Someone new accepts: their own sign-in, in the shop as an accountant.
    let invitee = owner.other_browser();
    let html = invitee.get(&link).await.text().await.unwrap();
    assert!(html.contains("Boutique Awa") && html.contains("Comptable"), "the invitation says what it is");
    let resp =
        invitee.post_form(&link, &link, &[("full_name", "Clarisse Compta"), ("email", "compta@shop.cm"), ("password", "court")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "a short password is refused");
    let resp =
        invitee.post_form(&link, &link, &[("full_name", "Clarisse Compta"), ("email", "compta@shop.cm"), ("password", PASSWORD)]).await;
    assert_eq!(location(&resp), "/partners/dashboard/");
    assert_eq!(invitee.get("/partners/wallet/").await.status(), StatusCode::OK, "the accountant reads the wallet");
    let resp = invitee.post_form("/partners/wallet/", "/partners/wallet/payouts/", &[("amount", "5000"), ("phone", "677987654")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "but asks for no payout");
    assert_eq!(owner.count("payouts").await, 0);

    // The link works once, and not after 72 hours.
    let stranger = owner.other_browser();
    assert_eq!(stranger.get(&link).await.status(), StatusCode::GONE);
    let resp =
        stranger.post_form("/accounts/login/", &link, &[("full_name", "Autre"), ("email", "autre@shop.cm"), ("password", PASSWORD)]).await;
    assert_eq!(resp.status(), StatusCode::GONE, "a used link joins nobody");
    owner.post_form("/partners/team/", "/partners/team/invite/", &[("contact", "677 11 22 33"), ("role", "STAFF")]).await;
    owner.exec("UPDATE member_invitations SET expires_at = 1 WHERE recipient = '+237677112233'").await;
    let expired: i64 = owner.count("member_invitations").await;
    assert_eq!(expired, 2);
    let page = owner.get("/partners/team/").await.text().await.unwrap();
    assert!(!page.contains("+237677112233"), "an expired invitation no longer waits");

    // A shop keeps an owner: the only one can be neither demoted nor removed.
    let owner_user: String = delivr::on_db!(&owner.state.db, pool => sqlx::query_scalar("SELECT user_id FROM partners WHERE id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    let resp = owner.post_form("/partners/team/", &format!("/partners/team/members/{owner_user}/role/"), &[("role", "MANAGER")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("au moins un propriétaire"));
    let resp = owner.post_form("/partners/team/", &format!("/partners/team/members/{owner_user}/remove/"), &[("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // The accountant becomes staff: from the next request, no wallet, orders instead.
    let accountant: String = delivr::on_db!(&owner.state.db, pool => sqlx::query_scalar("SELECT id FROM users WHERE email = 'compta@shop.cm'").fetch_one(pool).await).unwrap();
    let resp = owner.post_form("/partners/team/", &format!("/partners/team/members/{accountant}/role/"), &[("role", "STAFF")]).await;
    assert_eq!(location(&resp), "/partners/team/?done=role");
    assert_eq!(invitee.get("/partners/wallet/").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(invitee.get("/partners/orders/new/").await.status(), StatusCode::OK);
    // Removed: their session ends at once.
    let resp = owner.post_form("/partners/team/", &format!("/partners/team/members/{accountant}/remove/"), &[("confirmed", "1")]).await;
    assert_eq!(location(&resp), "/partners/team/?done=removed");
    let resp = invitee.get("/partners/dashboard/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/accounts/login/"), "back to the login page");
    assert_eq!(owner.count("partner_members").await, 1);
}

async fn a_person_switches_between_shops(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.approved_vendor("Première Boutique", "une@shop.cm").await;
    let other = app.other_browser();
    let second = other.approved_vendor("Seconde Boutique", "deux@shop.cm").await;
    // The first shop's owner is made a manager of the second.
    let user: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT user_id FROM partners WHERE id = $1").bind(&first).fetch_one(pool).await).unwrap();
    delivr::team::add(&app.state.db, &second, &user, TeamRole::Manager, delivr::db::now_ms()).await.unwrap();
    let profile = app.get("/partners/profile/").await.text().await.unwrap();
    assert!(profile.contains("Vos boutiques") && profile.contains("Seconde Boutique"), "both shops listed");
    assert!(app.get("/partners/team/").await.status() == StatusCode::OK, "owner of the first");
    let resp = app.post_form("/partners/profile/", "/partners/shops/switch/", &[("partner_id", &second)]).await;
    assert_eq!(location(&resp), "/partners/dashboard/");
    let profile = app.get("/partners/profile/").await.text().await.unwrap();
    assert!(profile.contains("Boutique actuelle") && profile.contains("Seconde Boutique"), "acting for the second shop");
    assert_eq!(app.get("/partners/team/").await.status(), StatusCode::FORBIDDEN, "a manager there");
    // A shop one is not a member of cannot be switched to.
    let stranger = app.other_browser();
    let third = stranger.approved_vendor("Troisième", "trois@shop.cm").await;
    let resp = app.post_form("/partners/profile/", "/partners/shops/switch/", &[("partner_id", &third)]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
