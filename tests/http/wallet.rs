//! The wallet: settlement of orders, exactly-once COD, payouts that never overdraw, the
//! ledger always balancing.

use delivr::money::Fcfa;
use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, in_transit, new_order},
};
use delivr::{
    orders::{
        model::Action,
        service::{self, Actor},
    },
    wallet,
};

both_backends!(
    orders_settle_into_the_ledger,
    concurrent_completions_credit_cod_once,
    concurrent_payouts_never_overdraw,
    random_operations_keep_the_ledger_balanced,
    payout_requests_are_validated_and_decided,
    the_wallet_api,
    the_daily_statement_adds_up,
);

/// An approved vendor with a pickup address; returns its partner id.
async fn vendor(app: &TestApp) -> String {
    let id = app.approved_vendor("Boutique", "a@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    id
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    delivr::on_db!(&app.state.db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

async fn orders_settle_into_the_ledger(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    let sys = Actor::system();
    let delivered = in_transit(&app, &new_order(&app, "15 000").await).await;
    service::transition(
        &app.state.db,
        &app.state.bus,
        &delivered,
        &Action::Complete { pin: delivered.delivery_pin.clone() },
        &sys,
        delivr::db::now_ms(),
    )
    .await
    .unwrap();
    let failed = in_transit(&app, &new_order(&app, "5 000").await).await;
    service::transition(&app.state.db, &app.state.bus, &failed, &Action::Fail { reason: "absent".into() }, &sys, delivr::db::now_ms())
        .await
        .unwrap();
    let cancelled = new_order(&app, "8 000").await;
    service::transition(&app.state.db, &app.state.bus, &cancelled, &Action::Cancel { reason: "x".into() }, &sys, delivr::db::now_ms())
        .await
        .unwrap();
    let b = wallet::balance(&app.state.db, &partner).await.unwrap();
    assert_eq!(
        b.balance,
        Fcfa(15_000) - delivered.price_total - failed.price_total,
        "COD in, two fees out, the cancelled order costs nothing"
    );
    assert_eq!(b.balance, wallet::ledger_sum(&app.state.db, &partner).await.unwrap());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM domain_events WHERE kind = 'payment.received'").await, 1);
    let page = app.get("/partners/wallet/").await.text().await.unwrap();
    assert!(page.contains(&delivered.tracking_number), "the ledger links the order");
    assert!(page.contains("Montant encaissé par le coursier"), "and explains the entry");
    let csv = app.get("/partners/wallet/export/").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three entries");
}

async fn concurrent_completions_credit_cod_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    let order = in_transit(&app, &new_order(&app, "20 000").await).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (db, bus, order) = (app.state.db.clone(), app.state.bus.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let pin = order.delivery_pin.clone();
            service::transition(&db, &bus, &order, &Action::Complete { pin }, &Actor::system(), delivr::db::now_ms()).await.is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM wallet_entries WHERE kind = 'COD_COLLECTED'").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM domain_events WHERE kind = 'payment.received'").await, 1);
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().balance, Fcfa(20_000) - order.price_total);
}

async fn concurrent_payouts_never_overdraw(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(10_000), "solde de départ").await.unwrap();
    let phone = delivr::accounts::phone::Phone::parse("677987654").unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (db, partner, phone) = (app.state.db.clone(), partner.clone(), phone.clone());
        tasks.push(tokio::spawn(async move {
            wallet::request_payout(&db, &partner, delivr::money::Fcfa(3_000), &phone, "MTN", &format!("00000000-0000-0000-0000-{i:012}"))
                .await
                .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 3, "three payouts of 3 000 fit in 10 000");
    let b = wallet::balance(&app.state.db, &partner).await.unwrap();
    assert_eq!((b.balance, b.held, b.available()), (Fcfa(10_000), Fcfa(9_000), Fcfa(1_000)));
    // The same request token twice (a double click) makes one payout.
    let token = "11111111-1111-1111-1111-111111111111";
    let a = wallet::request_payout(&app.state.db, &partner, delivr::money::Fcfa(1_000), &phone, "MTN", token).await.unwrap();
    let b2 = wallet::request_payout(&app.state.db, &partner, delivr::money::Fcfa(1_000), &phone, "MTN", token).await.unwrap();
    assert_eq!(a, b2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payouts").await, 4);
}

async fn random_operations_keep_the_ledger_balanced(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api_rate_limit = 100_000).await;
    let partner = vendor(&app).await;
    let key = app.api_key("Test").await;
    let phone = delivr::accounts::phone::Phone::parse("699123456").unwrap();
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..120 {
        match next() % 5 {
            0 => wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa((next() % 20_000) as i64 - 5_000), "test").await.unwrap(),
            4 => wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(500), "geste commercial").await.unwrap(),
            1 => {
                let _ = wallet::request_payout(
                    &app.state.db,
                    &partner,
                    delivr::money::Fcfa(1_000 + (next() % 10_000) as i64),
                    &phone,
                    "ORANGE",
                    &uuid::Uuid::new_v4().to_string(),
                )
                .await;
            }
            2 => {
                let pending: Vec<String> = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM payouts WHERE status = 'PENDING'").fetch_all(pool).await).unwrap();
                if let Some(id) = pending.first() {
                    let before = wallet::balance(&app.state.db, &partner).await.unwrap();
                    let pay = next() % 2 == 0;
                    match wallet::decide_payout(&app.state.db, &app.state.bus, id, pay, "ref", "admin").await {
                        Ok(()) if pay => {
                            // Paid from money that was there: what remains still covers the holds.
                            let after = wallet::balance(&app.state.db, &partner).await.unwrap();
                            assert!(after.balance >= after.held, "step {step}: paid beyond the balance");
                        }
                        Ok(()) => {}
                        // Fees left the balance below the holds: nothing moved, the payout waits.
                        Err(wallet::WalletError::NotCovered) => {
                            assert!(pay && before.balance < before.held, "step {step}");
                            assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap(), before);
                            let status: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT status FROM payouts WHERE id = $1").bind(id).fetch_one(pool).await).unwrap();
                            assert_eq!(status, "PENDING");
                        }
                        Err(e) => panic!("step {step}: {e}"),
                    }
                }
            }
            _ => {
                let order = in_transit(&app, &new_order(&app, &((next() % 30) * 500).to_string()).await).await;
                service::transition(
                    &app.state.db,
                    &app.state.bus,
                    &order,
                    &Action::Complete { pin: order.delivery_pin.clone() },
                    &Actor::system(),
                    delivr::db::now_ms(),
                )
                .await
                .unwrap();
            }
        }
        let b = wallet::balance(&app.state.db, &partner).await.unwrap();
        assert_eq!(b.balance, wallet::ledger_sum(&app.state.db, &partner).await.unwrap(), "step {step}");
        let pending: i64 = count(&app, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payouts WHERE status = 'PENDING'").await;
        assert_eq!(b.held, pending, "step {step}: held = pending payouts");
        // Available is what it is: the balance less the holds (negative when fees are owed),
        // in the API as on the page.
        let api: serde_json::Value = app
            .client
            .get(app.url("/api/v1/wallet"))
            .header("authorization", format!("Api-Key {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["available"].as_i64(), Some((b.balance - b.held).get()), "step {step}");
    }
}

async fn payout_requests_are_validated_and_decided(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(50_000), "test").await.unwrap();
    let token = |s: &str| format!("22222222-2222-2222-2222-{s:0>12}");
    let cases: &[(&str, &str, &str, &str)] = &[
        ("60 000", "677987654", "MTN", "supérieur à votre solde"),
        ("500", "677987654", "MTN", "Retrait minimum"),
        ("15.5", "677987654", "MTN", "Montant invalide"),
        ("-3000", "677987654", "MTN", "Montant invalide"),
        ("5000", "222123456", "MTN", "ni MTN ni Orange"),
        ("5000", "699123456", "MTN", "numéro Orange Money"),
    ];
    for (i, (amount, phone, op, message)) in cases.iter().enumerate() {
        let t = token(&i.to_string());
        let resp = app
            .post_form(
                "/partners/wallet/",
                "/partners/wallet/payouts/",
                &[("amount", amount), ("phone", phone), ("operator", op), ("request_token", &t)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{amount} {phone}");
        assert!(resp.text().await.unwrap().contains(message), "{message}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payouts").await, 0);
    let t = token("99");
    for _ in 0..2 {
        let resp = app
            .post_form(
                "/partners/wallet/",
                "/partners/wallet/payouts/",
                &[("amount", "1 500"), ("phone", "677 98 76 54"), ("operator", "MTN"), ("request_token", &t)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payouts").await, 1, "a double submit makes one payout");
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().held, 1_500);
    // The admin pays it: debited, hold released, vendor told.
    let admin = app.other_browser();
    admin.create_admin("admin@delivr.cm", "admin-password-1").await;
    admin.login("admin@delivr.cm", "admin-password-1").await;
    let id: String = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT id FROM payouts").fetch_one(pool).await).unwrap();
    assert!(admin.get("/admin/payouts/").await.text().await.unwrap().contains("1\u{a0}500\u{a0}FCFA"));
    // "Paid" asks first, naming the amount, the vendor and where the money went.
    let fields = [("note", "MP240211.1234.A56789"), ("decision", "paid")];
    let resp = admin.post_form("/admin/payouts/", &format!("/admin/payouts/{id}/"), &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ask = resp.text().await.unwrap();
    assert!(ask.contains("Marquer payé 1\u{a0}500\u{a0}FCFA à ") && ask.contains("MP240211.1234.A56789"), "{ask}");
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().held, Fcfa(1_500), "nothing paid yet");
    let resp = admin.post_form("/admin/payouts/", &format!("/admin/payouts/{id}/"), &[fields[0], fields[1], ("confirmed", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // Said done, and kept in the history with its reference.
    let queue = admin.get(&crate::helpers::location(&resp)).await.text().await.unwrap();
    assert!(
        queue.contains("Retrait marqué payé") && queue.contains("Derniers retraits traités") && queue.contains("MP240211.1234.A56789"),
        "{queue}"
    );
    let b = wallet::balance(&app.state.db, &partner).await.unwrap();
    assert_eq!((b.balance, b.held), (Fcfa(48_500), Fcfa(0)));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM partner_notifications WHERE title = 'Retrait payé'").await, 1);
    // Deciding twice is refused; a vendor cannot reach the queue.
    let resp = admin
        .post_form("/admin/payouts/", &format!("/admin/payouts/{id}/"), &[("note", "again"), ("decision", "rejected"), ("confirmed", "1")])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/admin/payouts/").await.status(), StatusCode::NOT_FOUND);
    // An admin adjustment needs an amount and a reason, and lands in the ledger.
    let page = format!("/admin/partners/{partner}/");
    let resp = admin.post_form(&page, &format!("/admin/partners/{partner}/adjust/"), &[("amount", "-2 500"), ("adjust_reason", "")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp =
        admin.post_form(&page, &format!("/admin/partners/{partner}/adjust/"), &[("amount", "12.5"), ("adjust_reason", "geste")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = admin
        .post_form(&page, &format!("/admin/partners/{partner}/adjust/"), &[("amount", "-2 500"), ("adjust_reason", "Frais de retour")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(wallet::balance(&app.state.db, &partner).await.unwrap().balance, 46_000);
    assert!(app.get("/partners/wallet/").await.text().await.unwrap().contains("Frais de retour"));
}

async fn the_wallet_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    let key = delivr::api_keys::create(&app.state.db, &partner, "api").await.unwrap().unwrap().secret;
    for i in 0..7 {
        wallet::adjust(&app.state.db, &partner, delivr::money::Fcfa(1_000 * (i + 1)), "test").await.unwrap();
    }
    let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = app.client.request(method, app.url(&format!("/api/v1{path}"))).header("authorization", format!("Api-Key {key}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap() }
    };
    let b: serde_json::Value = call(reqwest::Method::GET, "/wallet", None).await.json().await.unwrap();
    assert_eq!((b["balance"].as_i64(), b["available"].as_i64()), (Some(28_000), Some(28_000)));
    let page: serde_json::Value = call(reqwest::Method::GET, "/wallet/ledger?limit=5", None).await.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest: serde_json::Value =
        call(reqwest::Method::GET, &format!("/wallet/ledger?limit=5&cursor={cursor}"), None).await.json().await.unwrap();
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        call(reqwest::Method::POST, "/wallet/payouts", Some(serde_json::json!({"amount": 50_000, "phone": "677987654"}))).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        call(reqwest::Method::POST, "/wallet/payouts", Some(serde_json::json!({"amount": 5_000, "phone": "222123456"}))).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let created = call(reqwest::Method::POST, "/wallet/payouts", Some(serde_json::json!({"amount": 5_000, "phone": "699 12 34 56"}))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!((created["operator"].as_str(), created["status"].as_str()), (Some("ORANGE"), Some("PENDING")));
    let b: serde_json::Value = call(reqwest::Method::GET, "/wallet", None).await.json().await.unwrap();
    assert_eq!((b["held"].as_i64(), b["available"].as_i64()), (Some(5_000), Some(23_000)));
    let list: serde_json::Value = call(reqwest::Method::GET, "/wallet/payouts", None).await.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let invoices: serde_json::Value = call(reqwest::Method::GET, "/invoices", None).await.json().await.unwrap();
    assert!(invoices["data"].as_array().unwrap().is_empty());
    assert_eq!(
        call(reqwest::Method::GET, "/invoices/00000000-0000-0000-0000-000000000000/pdf", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn the_daily_statement_adds_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let partner = vendor(&app).await;
    let noon = |d: &str| delivr::douala::day_start(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()) + 12 * 3_600_000;
    let moves = [
        ("2026-10-01", wallet::EntryKind::Adjustment, 10_000),
        ("2026-10-01", wallet::EntryKind::CodCollected, 15_000),
        ("2026-10-01", wallet::EntryKind::DeliveryFee, -1_850),
        ("2026-10-03", wallet::EntryKind::DisputeRefund, 2_000),
        ("2026-10-03", wallet::EntryKind::Payout, -5_000),
    ];
    for (day, kind, amount) in moves {
        let mut tx = app.state.db.begin().await.unwrap();
        wallet::book(&mut tx, wallet::Booking::new(&partner, kind, Fcfa(amount), noon(day))).await.unwrap();
        tx.commit().await.unwrap();
    }
    let page = app.get("/partners/wallet/statement/?from=2026-09-30&to=2026-10-05").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Relevé de caisse journalier") && html.contains("01/10/2026") && html.contains("03/10/2026"), "{html}");
    // CSV: one line a day with movements, plain numbers, each day opening where the last closed.
    let csv = app.get("/partners/wallet/statement/?from=2026-09-30&to=2026-10-05&format=csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let body = csv.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&body[3..]);
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["2026-10-03", "23150", "0", "0", "2000", "-5000", "0", "20150"],
            vec!["2026-10-01", "0", "15000", "-1850", "0", "0", "10000", "23150"],
        ]
    );
    let balance = wallet::balance(&app.state.db, &partner).await.unwrap().balance;
    assert_eq!(balance, Fcfa(20_150), "the last closing balance is the wallet's");
    // PDF.
    let pdf = app.get("/partners/wallet/statement/?from=2026-09-30&to=2026-10-05&format=pdf").await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("statement.pdf");
    std::fs::write(&file, pdf.bytes().await.unwrap()).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext: `just setup` installs it");
    let text = String::from_utf8_lossy(&out.stdout).replace('\u{a0}', " ");
    assert!(text.contains("Relevé de caisse journalier") && text.contains("20 150") && text.contains("03/10/2026"), "{text}");
    // Bad ranges and formats are refused with a message.
    for (qs, status) in
        [("from=nope", 422), ("from=2026-10-05&to=2026-10-01", 422), ("from=2025-01-01&to=2026-10-01", 422), ("format=xls", 400)]
    {
        let resp = app.get(&format!("/partners/wallet/statement/?{qs}")).await;
        assert_eq!(resp.status().as_u16(), status, "{qs}");
    }
    // Another vendor sees only their own (empty) statement.
    let other = app.other_browser();
    other.approved_vendor("Autre", "b@shop.cm").await;
    let theirs = other.get("/partners/wallet/statement/?from=2026-09-30&to=2026-10-05&format=csv").await.text().await.unwrap();
    assert_eq!(theirs.lines().count(), 1, "only the header: {theirs}");
}
