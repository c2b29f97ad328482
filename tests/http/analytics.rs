//! Analytics: each metric against hand-computed fixtures (Douala midnight boundaries, empty
//! periods, other vendors' orders), the period selector's bad input, the CSV series.

use chrono::NaiveDate;
use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
    orders::create_order,
};
use delivr::{
    analytics::{self, Grain, Range, Source, StatusCounts},
    orders::{
        model::Action,
        service::{self, Actor},
    },
};

both_backends!(
    metrics_match_hand_computed_fixtures,
    the_page_and_its_bad_input,
    series_download_as_csv,
    rollups_equal_direct_computation_after_random_changes,
    the_summary_through_the_api,
);

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// An approved vendor with a pickup address, signed in on `app`.
async fn vendor(app: &TestApp, name: &str, email: &str) -> String {
    let id = app.approved_vendor(name, email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

/// An order created through the form, then moved to `at` with `status`.
async fn order_at(app: &TestApp, quartier: &str, at: &str, status: &str) -> String {
    let id = create_order(app, &[("dropoff_quartier", quartier)]).await;
    app.exec(&format!("UPDATE orders SET created_at = {}, status = '{status}' WHERE id = '{id}'", ms(at))).await;
    id
}

/// The fixture, around Douala midnight between 9 and 10 March 2026 (a Monday and a Tuesday;
/// Douala is UTC+1): three orders in the range, one just before it, one of another vendor.
async fn fixture(app: &TestApp) -> (String, String) {
    let a = vendor(app, "Boutique A", "a@shop.cm").await;
    // 23:30 in Douala on Monday 9 March.
    order_at(app, "1012", "2026-03-09T22:30:00Z", "PENDING").await;
    // 00:30 in Douala on Tuesday 10 March, although still the 9th in UTC.
    let paid = order_at(app, "1012", "2026-03-09T23:30:00Z", "COMPLETED").await;
    // 13:00 in Douala on Tuesday 10 March, elsewhere.
    order_at(app, "1005", "2026-03-10T12:00:00Z", "CANCELLED").await;
    // 23:59:59.999 in Douala on Sunday 8 March: the previous period.
    order_at(app, "1012", "2026-03-08T22:59:59.999Z", "FAILED").await;
    // The ledger: COD and the fee of the delivered order, booked 00:40 in Douala on the 10th.
    let at = ms("2026-03-09T23:40:00Z");
    app.exec(&format!(
        "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, order_id, created_at) VALUES
         ('{a}', 'COD_COLLECTED', 15000, 15000, '{paid}', {at}), ('{a}', 'DELIVERY_FEE', -1500, 13500, '{paid}', {at})"
    ))
    .await;
    // Another vendor, same day, same quartier.
    let other = app.other_browser();
    let b = vendor(&other, "Boutique B", "b@shop.cm").await;
    order_at(&other, "1012", "2026-03-10T10:00:00Z", "COMPLETED").await;
    (a, b)
}

async fn metrics_match_hand_computed_fixtures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = fixture(&app).await;
    let db = &app.state.db;
    let range = Range { from: d(2026, 3, 9), to: d(2026, 3, 10) };
    let m = analytics::metrics(db, &a, range).await.unwrap();

    assert_eq!(m.orders_per_day, vec![(d(2026, 3, 9), 1), (d(2026, 3, 10), 2)]);
    assert_eq!(m.orders_series(Grain::Day), vec![(d(2026, 3, 9), 1), (d(2026, 3, 10), 2)]);
    assert_eq!(m.orders_series(Grain::Week), vec![(d(2026, 3, 9), 3)]);
    assert_eq!(m.summary.statuses, StatusCounts { pending: 1, active: 0, completed: 1, cancelled: 1, failed: 0 });
    assert_eq!(m.summary.statuses.delivery_rate_permille(), Some(500));
    assert_eq!(m.summary.dispute_rate_permille(), Some(0));
    assert_eq!((m.summary.cod_collected, m.summary.delivery_spend), (15000, 1500));
    assert_eq!(m.money_per_day, vec![(d(2026, 3, 10), 15000, 1500)]);
    assert_eq!(m.cumulative_money(), vec![(d(2026, 3, 9), 0, 0), (d(2026, 3, 10), 15000, 1500)]);
    // Monday 23 h, Tuesday 0 h and 13 h, Douala time; nothing else.
    assert_eq!((m.heat[0][23], m.heat[1][0], m.heat[1][13]), (1, 1, 1));
    assert_eq!(m.heat.iter().flatten().sum::<i64>(), 3);
    assert_eq!(m.top_quartiers.len(), 2);
    assert_eq!(m.top_quartiers[0].1, 2, "two drop-offs in the first quartier");

    // The previous period of the same length holds the order of Sunday 23:59:59.
    let prev = analytics::summary(db, &a, range.previous()).await.unwrap();
    assert_eq!(prev.statuses, StatusCounts { failed: 1, ..StatusCounts::default() });
    assert_eq!(prev.statuses.delivery_rate_permille(), Some(0));

    // An empty period: zeros, no rate.
    let empty = analytics::metrics(db, &a, Range { from: d(2025, 1, 1), to: d(2025, 1, 31) }).await.unwrap();
    assert_eq!(empty.summary.statuses.total(), 0);
    assert_eq!(empty.summary.statuses.delivery_rate_permille(), None);
    assert_eq!(empty.orders_series(Grain::Day).len(), 31);
    assert!(empty.orders_series(Grain::Day).iter().all(|(_, n)| *n == 0));

    // The other vendor sees only its own order.
    let mb = analytics::metrics(db, &b, range).await.unwrap();
    assert_eq!(mb.summary.statuses, StatusCounts { completed: 1, ..StatusCounts::default() });
    assert_eq!(mb.summary.cod_collected, 0);
}

async fn the_page_and_its_bad_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    fixture(&app).await;
    let page = app.get("/partners/analytics/?period=custom&from=2026-03-09&to=2026-03-10").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Du 09/03/2026 au 10/03/2026"), "{html}");
    assert!(html.contains("50,0\u{a0}%"), "delivery rate shown, as French writes it");
    assert!(html.contains("15\u{a0}000\u{a0}FCFA"), "COD collected shown");
    assert_eq!(html.matches("<svg class=\"chart-svg\"").count(), 4);
    assert!(html.contains("<title id=\"t-orders\">Commandes dans le temps</title>"));

    // htmx asks for the results only.
    let frag = app
        .client
        .get(app.url("/partners/analytics/?period=7d"))
        .header("HX-Request", "true")
        .header("HX-Target", "analytics")
        .send()
        .await
        .unwrap();
    let frag = frag.text().await.unwrap();
    assert!(frag.starts_with("<div id=\"analytics\">") && !frag.contains("<html"), "{frag}");
    assert!(frag.contains("id=\"period-dates\" hx-swap-oob=\"true\""), "the form's dates follow the period");

    for (qs, message) in [
        ("period=custom&from=2026-05-10&to=2026-05-01", "La date de fin est avant la date de début."),
        ("period=custom&from=2020-01-01&to=2026-05-01", "La période dépasse 3 ans."),
        ("period=custom&from=10/05/2026&to=2026-05-01", "Dates invalides"),
        ("period=forever", "Période inconnue."),
    ] {
        let resp = app.get(&format!("/partners/analytics/?{qs}")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{qs}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(message) && html.contains("Voici les 30 derniers jours."), "{qs}: {html}");
        assert!(html.contains("<option value=\"30d\" selected>"), "{qs}: the default period is selected");
    }

    // Signed out: to the login page.
    let anon = app.other_browser();
    let resp = anon.get("/partners/analytics/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

async fn series_download_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    fixture(&app).await;
    let qs = "period=custom&from=2026-03-09&to=2026-03-10&by=day";
    let resp = app.get(&format!("/partners/analytics/csv/?series=orders&{qs}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let body = resp.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    assert_eq!(text, "Période;Commandes\r\n2026-03-09;1\r\n2026-03-10;2\r\n");
    let revenue = app.get(&format!("/partners/analytics/csv/?series=revenue&{qs}")).await.text().await.unwrap();
    assert!(revenue.ends_with("2026-03-10;15000;1500\r\n"), "{revenue}");
    let hours = app.get(&format!("/partners/analytics/csv/?series=hours&{qs}")).await.text().await.unwrap();
    assert!(hours.contains("mar;13h;1\r\n") && hours.contains("lun;23h;1\r\n"), "{hours}");
    assert_eq!(app.get(&format!("/partners/analytics/csv/?series=nope&{qs}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/partners/analytics/csv/?series=orders&period=custom&from=x&to=y").await.status(), StatusCode::BAD_REQUEST);
}

/// Random creations, moves to past days (across Douala midnight), status changes through the
/// state machine and behind its back, cancellations and ledger entries: after
/// each round the roll-ups give exactly what the orders table and the ledger give.
async fn rollups_equal_direct_computation_after_random_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = fixture(&app).await;
    let db = &app.state.db;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let base = ms("2026-03-01T00:00:00Z");
    let quartiers = ["1001", "1005", "1012", "1020"];
    let mut ids = Vec::new();
    let ranges = [
        Range { from: d(2026, 2, 20), to: d(2026, 3, 20) },
        Range { from: d(2026, 3, 5), to: d(2026, 3, 5) },
        Range { from: d(2025, 1, 1), to: d(2027, 12, 31) },
    ];
    for round in 0..4 {
        for _ in 0..6 {
            let q = quartiers[usize::try_from(next(4)).unwrap()];
            ids.push(create_order(&app, &[("dropoff_quartier", q)]).await);
        }
        for id in &ids {
            let at = base + i64::try_from(next(20 * 86_400_000)).unwrap();
            match next(6) {
                0 => app.exec(&format!("UPDATE orders SET created_at = {at} WHERE id = '{id}'")).await,
                1 => app.exec(&format!("UPDATE orders SET status = 'FAILED', created_at = {at} WHERE id = '{id}'")).await,
                2 => {
                    let o = delivr::orders::repo::find(db, id).await.unwrap().unwrap();
                    let cancel = Action::Cancel { reason: "Client absent".into() };
                    let _ = service::transition(db, &app.state.bus, &o, &cancel, &Actor::system(), delivr::db::now_ms()).await;
                }
                3 => app.exec(&format!("UPDATE orders SET dropoff_quartier_id = 1020 WHERE id = '{id}'")).await,
                4 => {
                    for (kind, amount) in [("COD_COLLECTED", 5000), ("DELIVERY_FEE", -1500), ("ADJUSTMENT", 100)] {
                        app.exec(&format!(
                            "INSERT INTO wallet_entries (partner_id, kind, amount, balance_after, order_id, created_at)
                             SELECT '{a}', '{kind}', {amount}, 0, '{id}', {at}
                              WHERE NOT EXISTS (SELECT 1 FROM wallet_entries WHERE kind = '{kind}' AND order_id = '{id}')"
                        ))
                        .await;
                    }
                    app.exec(&format!("UPDATE orders SET status = 'COMPLETED' WHERE id = '{id}'")).await;
                }
                _ => {}
            }
        }
        for range in ranges {
            for partner in [&a, &b] {
                let rolled = analytics::metrics_from(db, Source::Rollup, partner, range).await.unwrap();
                let direct = analytics::metrics_from(db, Source::Direct, partner, range).await.unwrap();
                assert_eq!(rolled, direct, "round {round}, {range:?}");
            }
        }
    }
    let all = analytics::metrics(db, &a, ranges[2]).await.unwrap();
    assert_eq!(all.summary.statuses.total(), 4 + 24, "every order counted once");
}

async fn the_summary_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, _) = fixture(&app).await;
    let key = delivr::api_keys::create(&app.state.db, &a, "api").await.unwrap().unwrap().secret;
    let get = |qs: &str| {
        app.client.get(app.url(&format!("/api/v1/analytics/summary?{qs}"))).header("Authorization", format!("Api-Key {key}")).send()
    };
    let resp = get("period=custom&from=2026-03-09&to=2026-03-10").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["current"]["from"], "2026-03-09");
    assert_eq!(v["current"]["orders"], 3);
    assert_eq!(v["current"]["completed"], 1);
    assert_eq!(v["current"]["in_progress"], 1);
    assert_eq!(v["current"]["delivery_rate"], 0.5);
    assert_eq!(v["current"]["cod_collected"], 15000);
    assert_eq!(v["current"]["delivery_spend"], 1500);
    assert_eq!(v["previous"]["from"], "2026-03-07");
    assert_eq!(v["previous"]["failed"], 1);
    assert_eq!(v["currency"], "XAF");

    let bad = get("period=custom&from=2026-03-10&to=2026-03-01").await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "to");
    // The document lists the periods: another is a bad query parameter.
    let unknown = get("period=forever").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let p: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(p["type"], "https://delivr.cm/problems/invalid-parameter");
    let anon = app.client.get(app.url("/api/v1/analytics/summary")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}
