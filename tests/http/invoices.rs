//! Monthly invoices: gapless numbers under concurrency, content, PDF that renders, CSV that
//! agrees with it, isolation.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};
use delivr::{
    invoices,
    orders::{
        model::Action,
        service::{self, Actor},
    },
};

both_backends!(invoices_are_gapless_under_concurrency, an_invoice_renders_as_pdf_and_matches_its_csv);

/// A partner with `n` delivered orders whose fees were booked on the 10th of `month`.
async fn partner_with_fees(app: &TestApp, email: &str, n: usize, month: &str) -> String {
    let browser = app.other_browser();
    let id = browser.approved_vendor("Boutique Facture", email).await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss', niu = 'M012345678901A', rccm = 'RC/DLA/2025/B/777' WHERE id = '{id}'")).await;
    let partner = delivr::partners::repo::by_id(&app.state.db, &id).await.unwrap().unwrap();
    let at = delivr::douala::day_start(chrono::NaiveDate::parse_from_str(&format!("{month}-10"), "%Y-%m-%d").unwrap()) + 12 * 3_600_000;
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier = delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, &format!("c-{email}"), "C", None, &hash)
        .await
        .unwrap();
    let sys = Actor::system();
    for i in 0..n {
        let draft = delivr::orders::Draft {
            dropoff_city: "Douala".into(),
            dropoff_quartier: ["Makepe", "Deïdo", "Bonapriso"][i % 3].into(),
            dropoff_address: "Derrière la pharmacie".into(),
            recipient_name: "Paul Nkwi".into(),
            recipient_phone: "677987654".into(),
            package_description: "Colis".into(),
            ..Default::default()
        };
        let valid = delivr::orders::validate(&app.state.db, delivr::i18n::Lang::Fr, &partner, &draft).await.unwrap().unwrap();
        let (db, bus) = (&app.state.db, &app.state.bus);
        let o = service::create(db, bus, &id, service::Source::Api, &valid, &sys, at).await.unwrap();
        let o = service::transition(db, bus, &o, &Action::Assign { courier_id: courier.clone() }, &sys, at).await.unwrap();
        let o = service::transition(db, bus, &o, &Action::PickUp, &sys, at).await.unwrap();
        let o = service::transition(db, bus, &o, &Action::StartTransit, &sys, at).await.unwrap();
        service::transition(db, bus, &o, &Action::Complete { pin: o.delivery_pin.clone() }, &sys, at).await.unwrap();
    }
    id
}

async fn invoices_are_gapless_under_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let month = invoices::previous_month(delivr::db::now_ms());
    let mut partners = Vec::new();
    for i in 0..8 {
        partners.push(partner_with_fees(&app, &format!("p{i}@shop.cm"), 1, &month).await);
    }
    let mut tasks = Vec::new();
    for p in &partners {
        for _ in 0..2 {
            let (db, p, month) = (app.state.db.clone(), p.clone(), month.clone());
            tasks.push(tokio::spawn(async move {
                invoices::generate(&db, &delivr::events::Bus::default(), &p, &month).await.unwrap().is_some()
            }));
        }
    }
    let mut issued = 0;
    for t in tasks {
        issued += usize::from(t.await.unwrap());
    }
    assert_eq!(issued, 8, "one invoice per partner, even when generated twice at once");
    let mut seqs: Vec<i64> =
        delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT seq FROM invoices ORDER BY seq").fetch_all(pool).await).unwrap();
    seqs.dedup();
    assert_eq!(seqs, (1..=8).collect::<Vec<i64>>(), "numbers 1 to 8, no gap");
    assert_eq!(invoices::close_month(&app.state.db, &app.state.bus, &month).await.unwrap(), 0, "closing again issues nothing");
    let notes: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM partner_notifications WHERE notification_type = 'invoice_generated'").fetch_one(pool).await).unwrap();
    assert_eq!(notes, 8);
}

async fn an_invoice_renders_as_pdf_and_matches_its_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let month = invoices::previous_month(delivr::db::now_ms());
    app.approved_vendor("Témoin", "witness@shop.cm").await;
    let partner = partner_with_fees(&app, "facture@shop.cm", 60, &month).await;
    assert_eq!(invoices::close_month(&app.state.db, &app.state.bus, &month).await.unwrap(), 1);
    let inv = invoices::list(&app.state.db, &partner).await.unwrap().remove(0);
    assert!(inv.number.starts_with("FAC-") && inv.number.ends_with("-000001"), "{}", inv.number);
    let fees: i64 = delivr::on_db!(&app.state.db, pool => sqlx::query_scalar("SELECT CAST(-SUM(amount) AS BIGINT) FROM wallet_entries WHERE partner_id = $1 AND kind = 'DELIVERY_FEE'").bind(&partner).fetch_one(pool).await).unwrap();
    assert_eq!(inv.total, fees);
    assert_eq!(inv.subtotal + inv.tva, inv.total);
    assert_eq!(inv.lines().len(), 60);

    // Sign in as that partner and download both forms.
    let vendor = app.other_browser();
    vendor.login("facture@shop.cm", "mot-de-passe-sur").await;
    let page = vendor.get("/partners/invoices/").await.text().await.unwrap();
    assert!(page.contains(&inv.number));
    let pdf = vendor.get(&format!("/partners/invoices/{}/pdf/", inv.id)).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap();
    let csv = vendor.get(&format!("/partners/invoices/{}/csv/", inv.id)).await.text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, &pdf).unwrap();
    // Kept for a look, beside the browser tests' screenshots.
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let _ = std::fs::create_dir_all(&shots);
    let _ = std::fs::write(shots.join(format!("invoice-{backend:?}.pdf")), &pdf);
    // The PDF renders: a page rasterised by poppler is not blank.
    let out = dir.path().join("page");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "40", "-gray", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(status.success());
    let pgm =
        std::fs::read(dir.path().join("page-1.pgm")).or_else(|_| std::fs::read(dir.path().join("page-01.pgm"))).expect("a rendered page");
    let dark = pgm.iter().rev().take(pgm.len() / 2).filter(|b| **b < 128).count();
    assert!(dark > 200, "the page has ink: {dark} dark pixels");
    // Its text has the same totals as the CSV, on two pages (60 lines).
    let text = std::process::Command::new("pdftotext").arg("-layout").arg(&file).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).replace('\u{a0}', " ");
    let total = delivr::web::components::format_fcfa(inv.total.get()).replace('\u{a0}', " ");
    assert!(text.contains("Total TTC") && text.contains(&total), "PDF shows {total}");
    assert!(text.contains(&inv.number) && text.contains("M012345678901A"));
    assert!(text.matches("FACTURE").count() >= 2, "the lines run over two pages");
    let csv_total = csv.lines().last().unwrap().split(';').next_back().unwrap().trim().to_owned();
    assert_eq!(csv_total, inv.total.get().to_string());
    // A correction is a credit note; the invoice stays as it was.
    let note = invoices::credit_note(&app.state.db, &inv.id, "erreur de tarif").await.unwrap().unwrap();
    assert!(note.number.starts_with("AV-") && note.number.ends_with("-000001"), "credit notes have their own sequence: {}", note.number);
    assert_eq!((note.total, note.kind.as_str()), (-inv.total, "CREDIT_NOTE"));
    assert!(invoices::credit_note(&app.state.db, &inv.id, "encore").await.unwrap().is_none(), "one credit note per invoice");
    assert!(invoices::credit_note(&app.state.db, &note.id, "sur un avoir").await.unwrap().is_none());
    assert_eq!(invoices::find(&app.state.db, &inv.id).await.unwrap().unwrap().total, inv.total);
    // Another partner gets 404.
    let other = app.other_browser();
    other.login("witness@shop.cm", "mot-de-passe-sur").await;
    assert_eq!(other.get(&format!("/partners/invoices/{}/pdf/", inv.id)).await.status(), StatusCode::NOT_FOUND);
}
