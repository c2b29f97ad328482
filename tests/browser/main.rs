//! Browser tests: the real server, driven by headless Chromium (Debian's) through
//! playwright-core (from `assets/node_modules`), at phone width. Screenshots land in
//! `target/screenshots/`.

#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, process::Command};

use delivr::{
    accounts::{password, repo as users},
    app::App,
    auth::Role,
    config::Config,
    partners::repo as partners,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn spawn_portal(dir: &std::path::Path, simulate: bool) -> String {
    let config = Config::local(format!("sqlite://{}", dir.join("browser.db").display()));
    let app = App::build(config).await.expect("the app builds");
    let hash = password::hash("admin-password-1").expect("hash");
    users::create_staff(&app.state.db, Role::Admin, "admin@delivr.cm", "Admin", None, &hash).await.expect("admin");
    // An approved vendor with a pickup address, for the scenarios that start signed in.
    let vendor_hash = password::hash("vendeur-password-1").expect("hash");
    let new = partners::NewPartner {
        business_name: "Boutique Test",
        contact_name: "Awa",
        phone: "+237677987654",
        email: "vendeur@test.cm",
        password_hash: &vendor_hash,
        language: "fr",
    };
    let (_, partner_id) = partners::create(&app.state.db, &new).await.expect("vendor");
    partners::approve(&app.state.db, &partner_id).await.expect("approve");
    delivr::on_db!(&app.state.db, pool => sqlx::query("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = $1")
        .bind(&partner_id).execute(pool).await.map(|_| ())).expect("pickup");
    // Couriers and a fast simulator, so that orders move on their own (live scenarios).
    for i in 0..2 {
        users::create_staff(&app.state.db, Role::Courier, &format!("coursier{i}@test.cm"), &format!("Coursier {i}"), None, &hash)
            .await
            .expect("courier");
    }
    if simulate {
        let sim = delivr::couriers::simulator::Simulator { speed: 400.0, tick: std::time::Duration::from_millis(500), failure_percent: 0 };
        tokio::spawn(sim.run(app.state.db.clone(), app.state.bus.clone()));
    }
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

/// Run one browser scenario script against a fresh portal whose simulator moves the orders;
/// it must exit 0.
async fn run_scenario(script: &str) {
    run_scenario_with(script, true).await
}

/// [`run_scenario`], with or without the simulator (without it, the script moves the orders
/// itself through the courier API).
async fn run_scenario_with(script: &str, simulate: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = spawn_portal(dir.path(), simulate).await;
    let shots = root().join("target").join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is needed for the browser tests: `just setup` (or apt-get install chromium) installs it"
    );
    assert!(
        root().join("assets/node_modules/playwright-core").exists(),
        "playwright-core is needed for the browser tests: `npm ci --prefix assets` installs it"
    );
    let script_path = root().join("tests/browser").join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script_path)
            .env("BASE_URL", &base)
            .env("SHOTS", &shots)
            .env("CHROMIUM", &chromium)
            .output()
            .expect("node runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_approval_login_and_language_at_phone_width() {
    run_scenario("accounts.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_filter_open_and_cancel_orders_at_phone_width() {
    run_scenario("orders.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_the_map_update_live() {
    run_scenario("live.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_at_phone_and_desktop_widths() {
    run_scenario("analytics.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_with_a_photo_to_a_refund_and_the_brand_on_the_booking_page() {
    run_scenario("disputes.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_pages_and_an_order_drafted_offline_sent_once() {
    run_scenario("offline.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_left_open_ends_with_its_session_and_the_docs_run_under_their_policy() {
    run_scenario("security.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_confirmed_a_failure_reattempted_and_a_parcel_returned_at_phone_width() {
    run_scenario_with("bookings.mjs", false).await;
}
