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

/// What the scenario may have: the simulator moving orders, and local message providers.
#[derive(Clone, Copy)]
struct Options {
    simulate: bool,
    providers: bool,
}

/// Local message providers for a scenario: a real SMTP server (aiosmtpd) and an SMS gateway
/// answering like Africa's Talking. The script reads what they received from
/// `RECEIVER/texts` and `RECEIVER/mails` (JSON).
struct Receiver {
    url: String,
    smtp_url: String,
    _smtp: std::process::Child,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Default)]
struct Received {
    texts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    maildir: PathBuf,
}

#[poem::handler]
fn sms(body: String, poem::web::Data(r): poem::web::Data<&Received>) -> poem::Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let message = form.into_iter().find(|(k, _)| k == "message").map(|(_, v)| v).unwrap_or_default();
    r.texts.lock().unwrap().push(message);
    let answer = r#"{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":"+237600000000","status":"Success","cost":"XAF 25","messageId":"ATXid_b"}]}}"#;
    poem::Response::builder().status(poem::http::StatusCode::CREATED).content_type("application/json").body(answer)
}

#[poem::handler]
fn texts(poem::web::Data(r): poem::web::Data<&Received>) -> poem::web::Json<Vec<String>> {
    poem::web::Json(r.texts.lock().unwrap().clone())
}

/// The e-mails in the Maildir, decoded by Python's `email` package: `[{to, subject, body}]`.
#[poem::handler]
fn mails(poem::web::Data(r): poem::web::Data<&Received>) -> poem::web::Json<Vec<serde_json::Value>> {
    let decode = "import email, email.policy, json, sys\n\
                  m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
                  print(json.dumps({'to': str(m['to']), 'subject': str(m['subject']), 'body': m.get_content()}))";
    let Ok(entries) = std::fs::read_dir(r.maildir.join("new")) else { return poem::web::Json(Vec::new()) };
    let all = entries
        .filter_map(Result::ok)
        .filter_map(|e| Command::new("python3").args(["-c", decode]).arg(e.path()).output().ok())
        .filter_map(|out| serde_json::from_slice(&out.stdout).ok())
        .collect();
    poem::web::Json(all)
}

impl Receiver {
    async fn start() -> Receiver {
        use poem::{EndpointExt, get, post};
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let smtp = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{smtp_port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .spawn()
            .expect("aiosmtpd runs (bash .ci/setup installs it)");
        let mut listening = false;
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", smtp_port)).await.is_ok() {
                listening = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(listening, "aiosmtpd does not listen on {smtp_port} (bash .ci/setup installs it)");
        let received = Received { maildir: dir.path().join("mail"), ..Received::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes =
            poem::Route::new().at("/version1/messaging", post(sms)).at("/texts", get(texts)).at("/mails", get(mails)).data(received);
        tokio::spawn(poem::Server::new_with_acceptor(poem::listener::TcpAcceptor::from_tokio(listener).unwrap()).run(routes));
        Receiver { url, smtp_url: format!("smtp://127.0.0.1:{smtp_port}"), _smtp: smtp, _dir: dir }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self._smtp.kill();
        let _ = self._smtp.wait();
    }
}

async fn spawn_portal(dir: &std::path::Path, simulate: bool, receiver: Option<&Receiver>) -> String {
    let mut config = Config::local(format!("sqlite://{}", dir.join("browser.db").display()));
    if let Some(r) = receiver {
        config.smtp_url = Some(r.smtp_url.clone());
        config.sms_api_url = r.url.clone();
        config.sms_username = Some("delivr".to_owned());
        config.sms_api_key = Some("key".to_owned());
    }
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
    run_scenario_with(script, Options { simulate: true, providers: false }).await
}

/// [`run_scenario`], with or without the simulator (without it, the script moves the orders
/// itself through the courier API) and local message providers.
async fn run_scenario_with(script: &str, options: Options) {
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver = if options.providers { Some(Receiver::start().await) } else { None };
    let base = spawn_portal(dir.path(), options.simulate, receiver.as_ref()).await;
    let receiver_url = receiver.as_ref().map(|r| r.url.clone()).unwrap_or_default();
    // The catalogue, for the scripts that check a page speaks one language.
    let catalogue = dir.path().join("catalogue.json");
    let messages: Vec<serde_json::Value> = delivr::i18n::Msg::ALL
        .iter()
        .map(|m| serde_json::json!({"fr": m.text(delivr::i18n::Lang::Fr), "en": m.text(delivr::i18n::Lang::En)}))
        .collect();
    std::fs::write(&catalogue, serde_json::to_vec(&messages).unwrap()).unwrap();
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
            .env("RECEIVER", &receiver_url)
            .env("CATALOGUE", &catalogue)
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
    // Without the simulator: the order it cancels must not be picked up meanwhile.
    run_scenario_with("orders.mjs", Options { simulate: false, providers: false }).await;
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
async fn a_booking_confirmed_a_failure_reattempted_a_parcel_returned_and_a_password_reset_at_phone_width() {
    run_scenario_with("bookings.mjs", Options { simulate: false, providers: true }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_invites_an_accountant_turns_on_two_factor_asks_a_payout_and_reads_the_log() {
    run_scenario_with("team.mjs", Options { simulate: false, providers: true }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_is_within_two_taps_and_speaks_one_language() {
    run_scenario_with("pages.mjs", Options { simulate: false, providers: false }).await;
}
