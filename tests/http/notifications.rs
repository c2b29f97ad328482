//! Notifications: one per event in the partner's language, the page, and the live stream
//! (resume with Last-Event-ID, isolation, and across two instances on PostgreSQL).

use std::time::Duration;

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, location},
};

both_backends!(
    notifications_follow_the_order_and_can_be_read,
    the_stream_delivers_and_resumes_without_loss_or_repeat,
    the_page_shell_costs_one_database_call,
    a_stream_on_a_new_connection_is_served_beside_hyper
);

async fn vendor(app: &TestApp, email: &str) -> String {
    let id = app.approved_vendor("Boutique", email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

async fn create_order(app: &TestApp, name: &str) -> String {
    let fields = [
        ("recipient_name", name),
        ("recipient_phone", "677987654"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "1012"),
        ("dropoff_address", "Derrière la pharmacie"),
        ("package_description", "Chaussures"),
        ("cod_amount", "10 000"),
    ];
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
    location(&resp).trim_start_matches("/partners/orders/").split('/').next().unwrap().to_owned()
}

async fn notifications_follow_the_order_and_can_be_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "a@shop.cm").await;
    let id = create_order(&app, "Paul Nkwi").await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "c@c.cm", "Jean Mbarga", None, &hash)
        .await
        .unwrap();
    let sys = delivr::orders::service::Actor::system();
    let (db, bus, now) = (&app.state.db, &app.state.bus, delivr::db::now_ms());
    use delivr::orders::{model::Action, service::transition};
    let o = transition(db, bus, &order, &Action::Assign { courier_id: courier }, &sys, now).await.unwrap();
    let o = transition(db, bus, &o, &Action::PickUp, &sys, now).await.unwrap();
    let o = transition(db, bus, &o, &Action::StartTransit, &sys, now).await.unwrap();
    transition(db, bus, &o, &Action::Complete { pin: o.delivery_pin.clone() }, &sys, now).await.unwrap();
    let other = delivr::orders::repo::find(db, &create_order(&app, "Chantal").await).await.unwrap().unwrap();
    transition(db, bus, &other, &Action::Cancel { reason: "x".into() }, &sys, now).await.unwrap();
    let types: Vec<String> = delivr::on_db!(db, pool => sqlx::query_scalar("SELECT notification_type FROM partner_notifications WHERE partner_id = $1 ORDER BY id").bind(&partner).fetch_all(pool).await).unwrap();
    assert_eq!(
        types,
        // The approval first, then the orders'.
        [
            "system",
            "order_created",
            "order_assigned",
            "order_picked_up",
            "order_completed",
            "payment_received",
            "order_created",
            "order_cancelled"
        ]
    );
    // One entry per order, its latest news, linked to the order (which keeps the history); the
    // newer took the place of the older unread ones (the badge counts orders with news).
    let page = app.get("/partners/notifications/").await.text().await.unwrap();
    assert!(page.contains("Paiement reçu pour") && !page.contains("Jean Mbarga s'occupe de la livraison"), "{page}");
    assert_eq!(page.matches(&format!(r#"data-order="{id}""#)).count(), 1);
    assert!(page.contains(&format!("/partners/orders/{id}/")));
    // The badge counts them; read one, then all.
    let dash = app.get("/partners/dashboard/").await.text().await.unwrap();
    assert!(dash.contains(r#"<span class="count" id="notif-badge""#) || dash.contains(r#"id="notif-badge" class="count""#), "{dash}");
    let first: i64 = delivr::on_db!(db, pool => sqlx::query_scalar("SELECT MIN(id) FROM partner_notifications WHERE partner_id = $1").bind(&partner).fetch_one(pool).await).unwrap();
    let resp = app.post_form("/partners/notifications/", &format!("/partners/notifications/{first}/read/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // (the first is the approval; the two orders' latest remain)
    assert_eq!(delivr::notifications::unread_count(db, &partner).await.unwrap(), 2);
    let unread = app.get("/partners/notifications/?unread=1").await.text().await.unwrap();
    assert!(unread.contains("Non lues (2)"));
    // Said in the reader's current language, whatever the language when they were written.
    let lang = app.post_form("/partners/notifications/", "/lang/", &[("lang", "en"), ("next", "/partners/notifications/")]).await;
    assert_eq!(lang.status(), StatusCode::SEE_OTHER);
    let english = app.get("/partners/notifications/").await.text().await.unwrap();
    assert!(
        english.contains(&format!("Payment received for {}", order.tracking_number)) && !english.contains("Paiement reçu"),
        "{english}"
    );
    app.post_form("/partners/notifications/", "/lang/", &[("lang", "fr"), ("next", "/partners/notifications/")]).await;
    // The vendor chooses what to be told of: without "assigned", an assignment tells nothing.
    let keep: Vec<(&str, &str)> =
        delivr::events::notice::MUTABLE.iter().filter(|k| **k != "order.assigned").map(|k| ("notify", *k)).collect();
    assert_eq!(app.post_form("/partners/notifications/", "/partners/notifications/settings/", &keep).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(delivr::notifications::muted(db, &partner).await.unwrap(), ["order.assigned"]);
    let third = delivr::orders::repo::find(db, &create_order(&app, "Awa").await).await.unwrap().unwrap();
    let before = app.count("partner_notifications").await;
    let courier2 = delivr::accounts::repo::create_staff(db, delivr::auth::Role::Courier, "d@c.cm", "Eric", None, &hash).await.unwrap();
    transition(db, bus, &third, &Action::Assign { courier_id: courier2 }, &sys, now).await.unwrap();
    assert_eq!(app.count("partner_notifications").await, before, "muted");
    app.post_form("/partners/notifications/", "/partners/notifications/read-all/", &[]).await;
    assert_eq!(delivr::notifications::unread_count(db, &partner).await.unwrap(), 0);
    // Another partner cannot touch them.
    let b = app.other_browser();
    vendor(&b, "b@shop.cm").await;
    let resp = b.post_form("/partners/notifications/", &format!("/partners/notifications/{first}/read/"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!b.get("/partners/notifications/").await.text().await.unwrap().contains("Paul Nkwi"));
}

/// Read a stream until `want` appears (or time runs out); returns what was read.
async fn read_until(resp: &mut reqwest::Response, buf: &mut String, want: &str, secs: u64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !buf.contains(want) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

fn ids(buf: &str) -> Vec<i64> {
    buf.lines().filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:"))).filter_map(|v| v.trim().parse().ok()).collect()
}

async fn open(app: &TestApp, last: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/partners/notifications/stream/"));
    if let Some(l) = last {
        req = req.header("last-event-id", l);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    resp
}

async fn the_stream_delivers_and_resumes_without_loss_or_repeat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    // Anonymous: refused.
    let anon = app.other_browser();
    assert_eq!(anon.get("/partners/notifications/stream/").await.status(), StatusCode::UNAUTHORIZED);
    // Another partner listens too, and must hear nothing of ours.
    let b = app.other_browser();
    vendor(&b, "b@shop.cm").await;
    let mut theirs = open(&b, None).await;

    let mut stream = open(&app, None).await;
    create_order(&app, "Paul Nkwi").await;
    let mut buf = String::new();
    assert!(read_until(&mut stream, &mut buf, "event: badge", 10).await, "a live notification arrived: {buf}");
    assert!(buf.contains("event: notification") && buf.contains("Nouvelle commande"));
    let seen = ids(&buf);
    assert_eq!(seen.len(), 1);
    drop(stream);

    // While disconnected, two more; resuming from the last id gets exactly those.
    create_order(&app, "Chantal").await;
    create_order(&app, "Ibrahim").await;
    let mut again = open(&app, Some(&seen[0].to_string())).await;
    let mut buf = String::new();
    assert!(read_until(&mut again, &mut buf, "Ibrahim", 10).await || buf.matches("event: notification").count() >= 2, "{buf}");
    let resumed = ids(&buf);
    assert_eq!(resumed.len(), 2, "{buf}");
    assert!(resumed.iter().all(|id| *id > seen[0]), "nothing repeated");
    // A malformed id asks for a refresh rather than failing.
    let mut odd = open(&app, Some("yesterday")).await;
    let mut buf = String::new();
    assert!(read_until(&mut odd, &mut buf, "event: refresh", 5).await);
    // The other partner heard nothing.
    let mut their_buf = String::new();
    assert!(!read_until(&mut theirs, &mut their_buf, "event: notification", 1).await, "{their_buf}");

    // PostgreSQL: a second instance on the same database hears what the first one does.
    if let Backend::Postgres = backend {
        let url = app.state.config.database_url.clone();
        let second = TestApp::spawn_with(backend, |c| *c = crate::helpers::test_config(url)).await;
        let browser = second.other_browser();
        let resp = browser.login("a@shop.cm", "mot-de-passe-sur").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let mut remote = open(&browser, None).await;
        // The second instance's LISTEN may still be connecting: orders until one is heard there.
        let mut buf = String::new();
        let mut heard = false;
        for _ in 0..10 {
            create_order(&app, "Depuis l'autre instance").await;
            if read_until(&mut remote, &mut buf, "event: notification", 1).await {
                heard = true;
                break;
            }
        }
        assert!(heard, "the other instance's stream got it: {buf}");
    }
}

both_backends!(positions_reach_the_tracking_map_stream, an_open_order_page_and_its_row_follow_the_order);

/// The order page and the rows of the list follow their orders: the stream names an order when
/// it changes (even a step that notifies nobody, like "en route"), and the page fetches its
/// live part again.
async fn an_open_order_page_and_its_row_follow_the_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let id = create_order(&app, "Paul Nkwi").await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    let trigger = format!("hx-trigger=\"sse:order-{id}, live-refresh\"");
    let page = app.get(&format!("/partners/orders/{id}/")).await.text().await.unwrap();
    assert!(page.contains(&trigger) && page.contains(&format!("hx-get=\"/partners/orders/{id}/live/\"")), "{page}");
    assert!(page.contains("id=\"stream-refresh\"") && page.contains("sse-swap=\"refresh\""), "the page listens to the stream's refresh");
    let list = app.get("/partners/orders/").await.text().await.unwrap();
    assert!(list.contains(&trigger) && list.contains(&format!("hx-get=\"/partners/orders/{id}/row/\"")), "{list}");

    let mut stream = open(&app, None).await;
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "c@c.cm", "Jean Mbarga", None, &hash)
        .await
        .unwrap();
    let sys = delivr::orders::service::Actor::system();
    use delivr::orders::{model::Action, service::transition};
    let (db, bus, now) = (&app.state.db, &app.state.bus, delivr::db::now_ms());
    let o = transition(db, bus, &order, &Action::Assign { courier_id: courier }, &sys, now).await.unwrap();
    let mut buf = String::new();
    assert!(read_until(&mut stream, &mut buf, &format!("event: order-{id}"), 10).await, "{buf}");
    let o = transition(db, bus, &o, &Action::PickUp, &sys, now).await.unwrap();
    transition(db, bus, &o, &Action::StartTransit, &sys, now).await.unwrap();
    assert!(read_until(&mut stream, &mut buf, "data: order.in_transit", 10).await, "the step that notifies nobody too: {buf}");
    // The live part, fresh: the status, the courier, the timeline; a fragment, not a page.
    let live = app.get(&format!("/partners/orders/{id}/live/")).await;
    assert_eq!(live.status(), StatusCode::OK);
    let live = live.text().await.unwrap();
    assert!(live.starts_with("<div id=\"order-live\"") && !live.contains("<html"), "{live}");
    assert!(live.contains("En route") && live.contains("Jean Mbarga") && live.contains(&trigger), "{live}");
    let row = app.get(&format!("/partners/orders/{id}/row/")).await.text().await.unwrap();
    assert!(row.starts_with("<li") && row.contains(&order.tracking_number) && row.contains("En route"), "{row}");
    // Another vendor's order is nobody's business.
    let other = app.other_browser();
    other.approved_vendor("Autre", "b@shop.cm").await;
    assert_eq!(other.get(&format!("/partners/orders/{id}/live/")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("/partners/orders/{id}/row/")).await.status(), StatusCode::NOT_FOUND);
}

async fn positions_reach_the_tracking_map_stream(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let id = create_order(&app, "Paul Nkwi").await;
    let order = delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap();
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, "c@c.cm", "Jean Mbarga", None, &hash)
        .await
        .unwrap();
    let token = delivr::couriers::issue_token(&app.state.db, &courier).await.unwrap();
    let sys = delivr::orders::service::Actor::system();
    use delivr::orders::{model::Action, service::transition};
    let (db, bus, now) = (&app.state.db, &app.state.bus, delivr::db::now_ms());
    let o = transition(db, bus, &order, &Action::Assign { courier_id: courier }, &sys, now).await.unwrap();
    let o = transition(db, bus, &o, &Action::PickUp, &sys, now).await.unwrap();
    transition(db, bus, &o, &Action::StartTransit, &sys, now).await.unwrap();
    // The map page lists it, with its tiles allowed by the page's CSP.
    let page = app.get("/partners/tracking/").await;
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("https://tile.openstreetmap.org"));
    let html = page.text().await.unwrap();
    assert!(html.contains(&order.tracking_number) && html.contains("data-markers"));
    // A courier position reaches the partner's stream as a small event.
    // Subscribed before its headers are sent: once open, nothing is missed.
    let mut stream = open(&app, None).await;
    let resp = app
        .client
        .post(app.url("/courier/v1/positions"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"order_id": id, "lat": 4.06, "lng": 9.72}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let mut buf = String::new();
    assert!(read_until(&mut stream, &mut buf, "event: position", 10).await, "{buf}");
    let data = buf.split("event: position").nth(1).unwrap().lines().find_map(|l| l.strip_prefix("data: ")).unwrap().to_owned();
    assert!(data.len() <= 300, "{} bytes: {data}", data.len());
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!((v["id"].as_str(), v["s"].as_str()), (Some(id.as_str()), Some("IN_TRANSIT")));
    assert!(v["eta"].as_i64().unwrap() >= 1);
    // The recipient's public page follows the same order, anonymously, and only that order.
    let public = app.other_browser();
    let mut feed = public.client.get(public.url(&format!("/t/{}/stream/", order.public_token))).send().await.unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    // One position per order per second is taken: the next one once the server takes it.
    crate::helpers::eventually("a second position is taken", 5, async || {
        let resp = app
            .client
            .post(app.url("/courier/v1/positions"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"order_id": id, "lat": 4.07, "lng": 9.73}))
            .send()
            .await
            .unwrap();
        assert!(matches!(resp.status(), StatusCode::NO_CONTENT | StatusCode::TOO_MANY_REQUESTS), "{}", resp.status());
        resp.status() == StatusCode::NO_CONTENT
    })
    .await;
    let mut buf = String::new();
    assert!(read_until(&mut feed, &mut buf, "event: position", 10).await, "{buf}");
    let page = public.get(&format!("/t/{}/", order.public_token)).await.text().await.unwrap();
    assert!(page.contains("data-stream") && page.contains("public."), "the public page subscribes");
    assert_eq!(public.get("/t/nope/stream/").await.status(), StatusCode::NOT_FOUND);
}

/// The database calls of a page's shell and of its handler, from its `Server-Timing` header.
fn db_calls(resp: &reqwest::Response) -> (u32, u32) {
    let timing = resp.headers().get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let calls = |part: &str| -> u32 {
        let at = timing.find(&format!("{part};desc=\"db ")).unwrap_or_else(|| panic!("no {part} in {timing:?}"));
        timing[at + part.len() + 10..].split('"').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{timing:?}"))
    };
    (calls("shell"), calls("page"))
}

/// The unread badge on the page.
async fn badge(resp: reqwest::Response) -> String {
    let html = resp.text().await.unwrap();
    let at = html.find("id=\"notif-badge\"").expect("the badge is on the page");
    html[at..].split('>').nth(1).and_then(|s| s.split('<').next()).unwrap_or_default().to_owned()
}

/// The shell of a signed-in page costs the session's lookup and nothing else: the unread badge
/// comes from the partner's notification actor, which keeps the count as events add to it and
/// reads it again only after notifications were read.
async fn the_page_shell_costs_one_database_call(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app, "a@shop.cm").await;
    // The approval's notice, read: the badge starts at 0.
    delivr::notifications::mark_read(&app.state.db, &partner, None).await.unwrap();
    // The first page starts the actor, which reads the count once.
    let first = app.get("/partners/profile/").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(db_calls(&first).0 <= 2, "{:?}", first.headers().get("server-timing"));
    // On PostgreSQL the approval's and the reading's NOTIFYs reach the actor a moment later and
    // make it read the count once more, each when it arrives: wait until pages in a row (a
    // second apart in all) cost one call, so that neither is still on its way.
    crate::helpers::eventually("the count settles", 15, async || {
        for _ in 0..4 {
            if db_calls(&app.get("/partners/profile/").await).0 != 1 {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        true
    })
    .await;
    for _ in 0..3 {
        let resp = app.get("/partners/profile/").await;
        assert_eq!(db_calls(&resp).0, 1, "{:?}", resp.headers().get("server-timing"));
        assert_eq!(badge(resp).await, "0");
    }
    // A new order notifies the vendor: the badge counts it, still without asking the database
    // on SQLite (on PostgreSQL the actor reads the count again once, told by NOTIFY).
    create_order(&app, "Paul Nkwi").await;
    let mut shown = String::new();
    for _ in 0..50 {
        let resp = app.get("/partners/profile/").await;
        shown = badge(resp).await;
        if shown == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shown, "1");
    let resp = app.get("/partners/profile/").await;
    assert_eq!(db_calls(&resp).0, 1, "{:?}", resp.headers().get("server-timing"));
    // Reading them all brings the badge back to zero.
    let resp = app.post_form("/partners/notifications/", "/partners/notifications/read-all/", &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let mut shown = String::new();
    for _ in 0..50 {
        shown = badge(app.get("/partners/profile/").await).await;
        if shown == "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shown, "0");
    let resp = app.get("/partners/profile/").await;
    assert_eq!(db_calls(&resp).0, 1, "{:?}", resp.headers().get("server-timing"));
}

/// Read from a raw connection until `want` has been seen (or time runs out); returns all read.
async fn raw_read_until(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>, want: &str, secs: u64) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !String::from_utf8_lossy(buf).contains(want) {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
    true
}

/// The head of a response read into `buf` (lower-cased), and what follows it.
fn head_of(buf: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(buf);
    let (head, rest) = text.split_once("\r\n\r\n").expect("a whole head");
    (head.to_ascii_lowercase(), rest.to_owned())
}

/// A stream asked for as a new connection's first request is answered beside hyper's
/// connection (lighter, see `web::lean_streams`): the same endpoint, session and headers, the
/// events as chunks, the connection closed when it ends. Anything else on a new connection, and
/// a stream asked for later on a kept-alive one, is hyper's as before.
async fn a_stream_on_a_new_connection_is_served_beside_hyper(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn(backend).await;
    vendor(&app, "a@shop.cm").await;
    let b = app.other_browser();
    let login = b.login("a@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(!cookie.is_empty(), "the login set a session cookie");
    let host = app.base.trim_start_matches("http://").to_owned();
    let connect = || tokio::net::TcpStream::connect(host.clone());

    // The head arrives in two pieces, as on a slow network, and is longer than the server's first
    // look at it (a phone's long user agent and cookies).
    let mut conn = connect().await.unwrap();
    let agent = "Mozilla/5.0 ".repeat(200);
    conn.write_all(format!("GET /partners/notifications/stream/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    conn.write_all(format!("Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert!(raw_read_until(&mut conn, &mut buf, "\r\n\r\n", 10).await, "{}", String::from_utf8_lossy(&buf));
    let (head, _) = head_of(&buf);
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for line in [
        "content-type: text/event-stream",
        "transfer-encoding: chunked",
        "connection: close",
        "x-accel-buffering: no",
        "x-content-type-options: nosniff",
        "date: ",
    ] {
        assert!(head.contains(line), "{line} in {head}");
    }
    assert!(!head.contains("content-length"), "{head}");
    create_order(&app, "Paul Nkwi").await;
    assert!(raw_read_until(&mut conn, &mut buf, "event: badge", 10).await, "{}", String::from_utf8_lossy(&buf));
    let (_, body) = head_of(&buf);
    // Chunked framing: a hexadecimal length, then the event.
    let (size, rest) = body.split_once("\r\n").unwrap();
    assert!(usize::from_str_radix(size, 16).is_ok_and(|n| n > 0 && n <= rest.len()), "{body:?}");
    assert!(body.contains("Nouvelle commande"), "{body}");
    drop(conn);

    // Anonymous: the endpoint's own refusal, then the connection closes.
    let mut anon = connect().await.unwrap();
    anon.write_all(format!("GET /partners/notifications/stream/ HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert!(raw_read_until(&mut anon, &mut buf, "0\r\n\r\n", 10).await, "{}", String::from_utf8_lossy(&buf));
    assert!(head_of(&buf).0.starts_with("http/1.1 401"), "{}", String::from_utf8_lossy(&buf));
    use tokio::io::AsyncReadExt;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), anon.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(_))), "the connection closed after the refusal");

    // A page first: hyper's kept-alive connection, which then serves a stream too.
    let mut kept = connect().await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert!(raw_read_until(&mut kept, &mut buf, "\r\n\r\n", 10).await);
    let (head, _) = head_of(&buf);
    assert!(head.starts_with("http/1.1 200") && !head.contains("connection: close"), "{head}");
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|n| n.trim().parse().ok()).expect("a length");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let body_at = text.find("\r\n\r\n").unwrap() + 4;
    while buf.len() < body_at + length {
        let mut chunk = [0u8; 1024];
        let n = kept.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    kept.write_all(format!("GET /partners/notifications/stream/ HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert!(raw_read_until(&mut kept, &mut buf, "\r\n\r\n", 10).await, "{}", String::from_utf8_lossy(&buf));
    let (head, _) = head_of(&buf);
    assert!(head.starts_with("http/1.1 200") && head.contains("content-type: text/event-stream"), "{head}");
    assert!(!head.contains("connection: close"), "hyper's connection, kept: {head}");
}
