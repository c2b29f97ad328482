//! Messages to recipients and vendors: written with the event that causes them, recorded when
//! no provider is configured, sent through an SMS gateway or WhatsApp (local receivers here
//! check the providers' documented request shapes), retried on failure, shown to the vendor.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use poem::{EndpointExt, Request, Route, Server, handler, listener::TcpAcceptor, post, web::Data};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, eventually, in_transit, new_order},
};

both_backends!(
    without_a_provider_messages_are_recorded_and_shown,
    texts_go_through_the_sms_gateway_and_are_retried,
    whatsapp_carries_them_when_no_sms_gateway_is_set_up,
);

/// What a provider received.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A local provider: records each request and answers the next scripted answer (then 200 `{}`).
#[derive(Clone, Default)]
pub struct Provider {
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
    pub url: String,
}

#[handler]
async fn provide(req: &Request, body: String, Data(p): Data<&Provider>) -> poem::Response {
    let headers = req.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned())).collect();
    p.got.lock().unwrap().push(Got { path: req.uri().path().to_owned(), headers, body });
    let (status, body) = p.answers.lock().unwrap().pop_front().unwrap_or((200, "{}".to_owned()));
    poem::Response::builder().status(poem::http::StatusCode::from_u16(status).unwrap()).content_type("application/json").body(body)
}

impl Provider {
    pub async fn start(answers: &[(u16, &str)]) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = Provider {
            answers: Arc::new(Mutex::new(answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect())),
            url: format!("http://127.0.0.1:{port}"),
            ..Provider::default()
        };
        let app = Route::new().at("/*path", post(provide)).data(p.clone());
        tokio::spawn(Server::new_with_acceptor(TcpAcceptor::from_tokio(listener).unwrap()).run(app));
        p
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

async fn vendor(app: &TestApp) -> String {
    let id = app.approved_vendor("Boutique Awa", "a@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

/// (status, channel, attempts, last_error, provider_ref) of the order's messages, oldest first.
async fn messages_of(app: &TestApp, order_id: &str) -> Vec<(String, String, i64, Option<String>, Option<String>)> {
    delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT status, channel, attempts, last_error, provider_ref FROM messages WHERE order_id = $1 ORDER BY created_at, id")
        .bind(order_id)
        .fetch_all(pool)
        .await)
    .unwrap()
}

async fn without_a_provider_messages_are_recorded_and_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app).await;
    // The approval's messages to the vendor: a text and an e-mail, recorded.
    let approval: Vec<(String, String)> = delivr::on_db!(&app.state.db, pool => sqlx::query_as("SELECT channel, template FROM messages WHERE order_id IS NULL ORDER BY channel").fetch_all(pool).await).unwrap();
    assert_eq!(approval, vec![("EMAIL".to_owned(), "partner_approved".to_owned()), ("SMS".to_owned(), "partner_approved".to_owned())]);
    let order = new_order(&app, "15000").await;
    eventually("the message is recorded", 15, async || messages_of(&app, &order.id).await.first().is_some_and(|m| m.0 == "RECORDED")).await;
    // The vendor sees what the recipient was (to be) sent, can share it on WhatsApp and copy it.
    let page = app.get(&format!("/partners/orders/{}/", order.id)).await.text().await.unwrap();
    let link = format!("{}/t/{}/", app.state.config.public_url(), order.public_token);
    assert!(page.contains("Messages au destinataire") && page.contains(&link), "{page}");
    assert!(page.contains(&format!("id=\"share-pin\" type=\"text\" readonly value=\"{}\"", order.delivery_pin)), "the PIN to copy: {page}");
    assert!(page.contains(&format!("Code à donner au coursier à la livraison : {}", order.delivery_pin)), "the message, PIN included");
    assert!(
        page.contains("https://wa.me/237677987654?text=")
            && page.contains("data-copy=\"#share-link\"")
            && page.contains("data-copy=\"#share-pin\"")
    );
    assert!(page.contains("Enregistré (aucun fournisseur)"));
    // The courier on the way: a second message.
    in_transit(&app, &order).await;
    eventually("the on-the-way message", 15, async || messages_of(&app, &order.id).await.len() == 2).await;
    let templates: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT template FROM messages WHERE order_id = $1 ORDER BY created_at, id").bind(&order.id).fetch_all(pool).await).unwrap();
    assert_eq!(templates, ["order_created", "order_on_the_way"]);
    // The admin outbox lists them; a vendor cannot see it.
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let outbox = admin.get("/admin/messages/?status=RECORDED").await.text().await.unwrap();
    assert!(outbox.contains(&link) && outbox.contains("est en route"), "{outbox}");
    assert!(
        !outbox.contains(&format!("livraison : {}", order.delivery_pin)) && outbox.contains("livraison : ••••"),
        "the PIN stays the recipient's"
    );
    assert_eq!(admin.get("/admin/messages/?status=NOPE").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/admin/messages/").await.status(), StatusCode::NOT_FOUND);
}

async fn texts_go_through_the_sms_gateway_and_are_retried(backend: Backend) {
    let accepted = r#"{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":"+237677987654","status":"Success","cost":"XAF 25","messageId":"ATXid_1"}]}}"#;
    let refused = r#"{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":403,"number":"+237677987654","status":"InvalidPhoneNumber","cost":"0","messageId":"None"}]}}"#;
    // The approval's text goes first; then the order's fails once (500) and goes through.
    let gateway = Provider::start(&[(201, accepted), (500, "down"), (201, accepted), (201, refused)]).await;
    let url = gateway.url.clone();
    let app = TestApp::spawn_with(backend, |c| {
        c.sms_api_url = url;
        c.sms_username = Some("delivr".into());
        c.sms_api_key = Some("key-1".into());
        c.sms_sender = Some("DELIVRCM".into());
    })
    .await;
    vendor(&app).await;
    eventually("the approval's text is sent", 15, async || gateway.got().len() == 1).await;
    let order = new_order(&app, "15000").await;
    eventually("the first try failed and waits", 15, async || {
        messages_of(&app, &order.id).await.first().is_some_and(|m| m.0 == "PENDING" && m.2 == 1)
    })
    .await;
    let m = &messages_of(&app, &order.id).await[0];
    assert!(m.3.as_deref().is_some_and(|e| e.contains("500")), "{m:?}");
    // Due again now (instead of in 30 s): it goes through.
    app.exec("UPDATE messages SET next_attempt_at = 0 WHERE status = 'PENDING'").await;
    delivr::messages::send::send_due(&app.state.db, &delivr::messages::send::Providers::of(&app.state.config).unwrap()).await.unwrap();
    eventually("sent", 15, async || messages_of(&app, &order.id).await.first().is_some_and(|m| m.0 == "SENT")).await;
    assert_eq!(messages_of(&app, &order.id).await[0].4.as_deref(), Some("ATXid_1"));
    // The gateway got the documented request: form fields and the apiKey header.
    let sms = gateway.got().into_iter().rfind(|g| g.body.contains("Code")).unwrap();
    assert_eq!(sms.path, "/version1/messaging");
    assert_eq!((sms.header("apikey"), sms.header("content-type")), (Some("key-1"), Some("application/x-www-form-urlencoded")));
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&sms.body).unwrap();
    let field = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!((field("username"), field("to"), field("from")), ("delivr".to_owned(), "+237677987654".to_owned(), "DELIVRCM".to_owned()));
    let link = format!("{}/t/{}/", app.state.config.public_url(), order.public_token);
    assert!(field("message").contains(&link) && field("message").contains(&order.delivery_pin), "{}", field("message"));
    // A number the gateway refuses fails the message at once, with the gateway's reason.
    in_transit(&app, &order).await;
    eventually("refused", 15, async || messages_of(&app, &order.id).await.get(1).is_some_and(|m| m.0 == "FAILED")).await;
    assert!(messages_of(&app, &order.id).await[1].3.as_deref().is_some_and(|e| e.contains("InvalidPhoneNumber")));
}

async fn whatsapp_carries_them_when_no_sms_gateway_is_set_up(backend: Backend) {
    // The approval's text and the order's: the same answer to both (they may come in any order).
    let answer =
        r#"{"messaging_product":"whatsapp","contacts":[{"input":"237677987654","wa_id":"237677987654"}],"messages":[{"id":"wamid.X"}]}"#;
    let cloud = Provider::start(&[(200, answer), (200, answer)]).await;
    let url = cloud.url.clone();
    let app = TestApp::spawn_with(backend, |c| {
        c.whatsapp_api_url = url;
        c.whatsapp_token = Some("token-1".into());
        c.whatsapp_phone_number_id = Some("1234567890".into());
    })
    .await;
    vendor(&app).await;
    let order = new_order(&app, "15000").await;
    eventually("sent by WhatsApp", 15, async || messages_of(&app, &order.id).await.first().is_some_and(|m| m.0 == "SENT")).await;
    let m = &messages_of(&app, &order.id).await[0];
    assert_eq!((m.1.as_str(), m.4.as_deref()), ("WHATSAPP", Some("wamid.X")));
    let request = cloud.got().into_iter().find(|g| g.body.contains("order_created")).unwrap();
    assert_eq!(request.path, "/1234567890/messages");
    assert_eq!(request.header("authorization"), Some("Bearer token-1"));
    let v: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        (v["messaging_product"].as_str(), v["to"].as_str(), v["type"].as_str()),
        (Some("whatsapp"), Some("237677987654"), Some("template"))
    );
    assert_eq!((v["template"]["name"].as_str(), v["template"]["language"]["code"].as_str()), (Some("order_created"), Some("fr")));
    let texts: Vec<&str> =
        v["template"]["components"][0]["parameters"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect();
    let link = format!("{}/t/{}/", app.state.config.public_url(), order.public_token);
    assert_eq!(texts, ["Boutique Awa", order.tracking_number.as_str(), link.as_str(), order.delivery_pin.as_str()]);
}
