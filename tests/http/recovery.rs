//! Password recovery: the link goes by e-mail through a real SMTP server (and by SMS when a
//! gateway is set up), works once within 30 minutes, ends every session of the account, and
//! the request answers the same whether or not the account exists.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, MailServer, TestApp, eventually, location},
    messages::Provider,
};

both_backends!(
    a_forgotten_password_is_reset_from_the_e_mail,
    the_request_says_nothing_about_accounts_and_is_throttled,
    a_link_works_once_and_not_after_a_newer_one_or_its_time,
    e_mails_wait_for_an_smtp_server_that_is_down,
);

const ACCEPTED: &str = r#"{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":"+237677987654","status":"Success","cost":"XAF 25","messageId":"ATXid_9"}]}}"#;

/// A recovery link in the e-mails sent to `to`.
fn link_in(mails: &[crate::helpers::Mail], to: &str) -> Option<String> {
    mails.iter().filter(|m| m.to == to).find_map(|mail| {
        let at = mail.body.find("http")?;
        let link = mail.body[at..].split_whitespace().next()?;
        link.contains("/accounts/password/reset/").then(|| link.to_owned())
    })
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_form("/accounts/password/forgot/", "/accounts/password/forgot/", &[("email", email)]).await
}

async fn a_forgotten_password_is_reset_from_the_e_mail(backend: Backend) {
    let smtp = MailServer::start().await;
    let gateway = Provider::start(&[(201, ACCEPTED), (201, ACCEPTED), (201, ACCEPTED)]).await;
    let (smtp_url, sms_url) = (smtp.url.clone(), gateway.url.clone());
    let app = TestApp::spawn_with(backend, |c| {
        c.smtp_url = Some(smtp_url);
        c.sms_api_url = sms_url;
        c.sms_username = Some("delivr".into());
        c.sms_api_key = Some("key-1".into());
    })
    .await;
    app.approved_vendor("Boutique Awa", "awa@shop.cm").await;
    // The approval's e-mail went through the SMTP server, in French.
    eventually("the approval e-mail", 15, async || smtp.received().iter().any(|m| m.subject.contains("approuvé"))).await;
    // The vendor is signed in on this phone; someone else, on another browser, forgot.
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::OK);
    let stranger = app.other_browser();
    let login = stranger.get("/accounts/login/").await.text().await.unwrap();
    assert!(login.contains("href=\"/accounts/password/forgot/\"") && login.contains("Mot de passe oublié ?"));
    let resp = forgot(&stranger, " Awa@Shop.cm ").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Si un compte DELIVR-CM utilise awa@shop.cm, un lien vient d'y être envoyé"));
    eventually("the recovery e-mail", 15, async || link_in(&smtp.received(), "awa@shop.cm").is_some()).await;
    let mail = smtp.received().into_iter().find(|m| m.subject.contains("mot de passe")).unwrap();
    assert_eq!(mail.from, "DELIVR-CM <no-reply@delivr.cm>");
    assert!(mail.body.contains("valable 30 minutes"), "{}", mail.body);
    let link = link_in(&smtp.received(), "awa@shop.cm").unwrap();
    let path = link.strip_prefix(&app.state.config.public_url()).expect("an absolute link to the portal").to_owned();
    // The same link by SMS, to the shop's phone (a gateway is set up).
    eventually("the recovery text", 15, async || gateway.got().iter().any(|g| g.body.contains("reset"))).await;
    // Only the token's hash is stored; once sent, the messages no longer hold the link.
    let token = path.trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    let stored: Vec<String> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT token_hash FROM password_resets").fetch_all(pool).await).unwrap();
    assert_eq!(stored, [delivr::security::sha256_hex(token.as_bytes())]);
    eventually("the link is gone from the outbox", 15, async || {
        let left: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE params LIKE $1").bind(format!("%{token}%")).fetch_one(pool).await).unwrap();
        left == 0
    })
    .await;

    // The link opens the form; a short password is refused and the link still serves.
    let page = stranger.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let resp = stranger.post_form(&path, &path, &[("new_password", "court")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("au moins 8 caractères"));
    let resp = stranger.post_form(&path, &path, &[("new_password", "nouveau-mot-de-passe")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/accounts/login/?reset=1");
    assert!(stranger.get("/accounts/login/?reset=1").await.text().await.unwrap().contains("Mot de passe changé"));
    // Every session of the account ended: the phone is signed out.
    assert_eq!(app.get("/partners/dashboard/").await.status(), StatusCode::SEE_OTHER);
    // The old password no longer works, the new one does.
    assert_eq!(stranger.login("awa@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stranger.login("awa@shop.cm", "nouveau-mot-de-passe").await.status(), StatusCode::SEE_OTHER);
    // The link served once.
    let again = app.other_browser();
    assert_eq!(again.get(&path).await.status(), StatusCode::GONE);
    let resp = again.post_form("/accounts/password/forgot/", &path, &[("new_password", "encore-un-autre")]).await;
    assert_eq!(resp.status(), StatusCode::GONE);
    assert!(resp.text().await.unwrap().contains("Ce lien ne sert plus"));
    assert_eq!(again.login("awa@shop.cm", "encore-un-autre").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_request_says_nothing_about_accounts_and_is_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.approved_vendor("Boutique Awa", "awa@shop.cm").await;
    let before = app.count("messages").await;
    let stranger = app.other_browser();
    let known = forgot(&stranger, "awa@shop.cm").await.text().await.unwrap();
    let unknown = forgot(&stranger, "nobody@shop.cm").await.text().await.unwrap();
    let main = |html: &str| {
        html.split("<main").nth(1).unwrap().split("</main>").next().unwrap().replace("awa@shop.cm", "X").replace("nobody@shop.cm", "X")
    };
    assert_eq!(main(&known), main(&unknown), "the same answer whether or not the account exists");
    // The link is made after the answer (its timing says nothing either).
    eventually("one link, and one e-mail for the account that exists", 15, async || {
        app.count("password_resets").await == 1 && app.count("messages").await == before + 1
    })
    .await;
    // Bad input: a clear error, nothing made.
    let resp = forgot(&stranger, "pas-un-email").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Adresse e-mail invalide"));
    // Three links an hour per address: the fourth waits, says how long, and makes nothing.
    assert_eq!(forgot(&stranger, "awa@shop.cm").await.status(), StatusCode::OK);
    assert_eq!(forgot(&stranger, "awa@shop.cm").await.status(), StatusCode::OK);
    let resp = forgot(&stranger, "awa@shop.cm").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    assert!(resp.text().await.unwrap().contains("Trop de demandes de lien"));
    eventually("three links", 15, async || app.count("password_resets").await == 3).await;
    // An address that does not exist is counted alike (no difference to probe).
    for _ in 0..2 {
        assert_eq!(forgot(&stranger, "nobody@shop.cm").await.status(), StatusCode::OK);
    }
    assert_eq!(forgot(&stranger, "nobody@shop.cm").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // Ten an hour from one client address, whatever the e-mails.
    for i in 0..4 {
        assert_eq!(forgot(&stranger, &format!("x{i}@shop.cm")).await.status(), StatusCode::OK);
    }
    assert_eq!(forgot(&stranger, "x9@shop.cm").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// The paths of every recovery link e-mailed so far.
fn links(smtp: &MailServer, public: &str) -> Vec<String> {
    smtp.received().iter().filter_map(|m| link_in(std::slice::from_ref(m), &m.to)).map(|l| l.replace(public, "")).collect()
}

async fn a_link_works_once_and_not_after_a_newer_one_or_its_time(backend: Backend) {
    let smtp = MailServer::start().await;
    let smtp_url = smtp.url.clone();
    let app = TestApp::spawn_with(backend, |c| c.smtp_url = Some(smtp_url)).await;
    app.approved_vendor("Boutique Awa", "awa@shop.cm").await;
    let stranger = app.other_browser();
    let public = app.state.config.public_url();
    forgot(&stranger, "awa@shop.cm").await;
    eventually("the first e-mail", 15, async || links(&smtp, &public).len() == 1).await;
    let first = links(&smtp, &public).remove(0);
    // A newer link spends the older one.
    forgot(&stranger, "awa@shop.cm").await;
    eventually("the second e-mail", 15, async || links(&smtp, &public).len() == 2).await;
    let newer = links(&smtp, &public).into_iter().find(|l| *l != first).unwrap();
    assert_eq!(stranger.get(&first).await.status(), StatusCode::GONE);
    assert_eq!(stranger.get(&newer).await.status(), StatusCode::OK);
    // Past its 30 minutes it is spent too, and the password does not change.
    app.exec("UPDATE password_resets SET expires_at = 1").await;
    assert_eq!(stranger.get(&newer).await.status(), StatusCode::GONE);
    let resp = stranger.post_form("/accounts/password/forgot/", &newer, &[("new_password", "nouveau-mot-de-passe")]).await;
    assert_eq!(resp.status(), StatusCode::GONE);
    assert_eq!(stranger.login("awa@shop.cm", "mot-de-passe-sur").await.status(), StatusCode::SEE_OTHER);
    // A made-up token: the same page.
    assert_eq!(stranger.get("/accounts/password/reset/not-a-token/").await.status(), StatusCode::GONE);
}

async fn e_mails_wait_for_an_smtp_server_that_is_down(backend: Backend) {
    // Nothing listens there: the e-mail is retried later, not lost, and the request is not held.
    let port = crate::helpers::free_port();
    let app = TestApp::spawn_with(backend, |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.approved_vendor("Boutique Awa", "awa@shop.cm").await;
    assert_eq!(forgot(&app.other_browser(), "awa@shop.cm").await.status(), StatusCode::OK);
    eventually("the e-mail waits for a retry", 15, async || {
        let row: Option<(String, i64, Option<String>)> = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT status, attempts, last_error FROM messages WHERE template = 'password_reset'").fetch_optional(pool).await).unwrap();
        row.is_some_and(|(status, attempts, error)| status == "PENDING" && attempts == 1 && error.is_some_and(|e| e.contains("SMTP")))
    })
    .await;
    // Still holding its link (it may yet be sent)...
    let params = async || -> String {
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT params FROM messages WHERE template = 'password_reset'").fetch_one(pool).await).unwrap()
    };
    assert!(params().await.contains("token"));
    // ...until the link itself expires: then it fails and forgets the link.
    app.exec("UPDATE messages SET created_at = created_at - 1800000, next_attempt_at = 0 WHERE template = 'password_reset'").await;
    delivr::messages::send::send_due(&app.state.db, &delivr::messages::send::Providers::of(&app.state.config).unwrap()).await.unwrap();
    let status: (String, Option<String>) = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT status, last_error FROM messages WHERE template = 'password_reset'").fetch_one(pool).await).unwrap();
    assert_eq!(status, ("FAILED".to_owned(), Some("expired before it could be sent".to_owned())));
    assert_eq!(params().await, "{}");
}
