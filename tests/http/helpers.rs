//! Test harness: the real server on a random port, on a fresh SQLite file or a fresh
//! PostgreSQL database, and a cookie-keeping client that knows how to fetch CSRF tokens.

use std::sync::atomic::{AtomicUsize, Ordering};

use delivr::{
    accounts::{password, repo as users},
    auth::Role,
    config::Config,
    partners::repo as partners,
    {app::App, state::AppState},
};
use reqwest::{Client, Response, StatusCode, redirect::Policy};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the test PostgreSQL server is (`TEST_POSTGRES_URL`), trust auth on the project's machines.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: Client,
    /// The database the app was started on, dropped with it (other browsers share it).
    _db: Option<std::sync::Arc<TestDatabase>>,
    _dir: tempfile::TempDir,
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Server errors show up in the failing test's output (`TEST_LOG=debug` for more).
    let filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "error".to_owned());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

pub fn client() -> Client {
    install_crypto();
    Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("a reqwest client")
}

/// A test's database: a file in the test's directory, or a PostgreSQL database of its own that
/// is dropped when this goes (so a run leaves nothing behind on the server).
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        let admin = postgres_admin_url();
        // A thread with its own runtime: this may run inside the test's runtime, whose server
        // tasks still hold connections (FORCE ends them).
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                // The app may still reconnect while it is dropped: try again, then say so (the
                // next run drops what is left).
                let mut last = String::new();
                for _ in 0..3 {
                    match sqlx::PgConnection::connect(&admin).await {
                        Ok(mut conn) => match sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await
                        {
                            Ok(_) => return,
                            Err(e) => last = e.to_string(),
                        },
                        Err(e) => last = e.to_string(),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                eprintln!("test database {name} not dropped: {last}");
            });
        })
        .join();
    }
}

/// An empty database (the tests that start the portal as a process, or restore into it).
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> TestDatabase {
    match backend {
        Backend::Sqlite => TestDatabase { url: format!("sqlite://{}", dir.join("test.db").display()), pg_name: None },
        Backend::Postgres => create_pg_database(None).await,
    }
}

/// A migrated, seeded database: on PostgreSQL a copy of the run's template, migrated once.
pub async fn migrated_database(backend: Backend, dir: &std::path::Path) -> TestDatabase {
    match backend {
        Backend::Sqlite => fresh_database(backend, dir).await,
        Backend::Postgres => {
            static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
            let template = TEMPLATE.get_or_init(migrate_template).await;
            create_pg_database(Some(template)).await
        }
    }
}

/// The run's template: a database migrated and seeded as the portal does at start, then left
/// alone (nothing may be connected to a template while it is copied).
async fn migrate_template() -> String {
    let mut db = create_pg_database(None).await;
    let name = db.pg_name.take().expect("a PostgreSQL database");
    let pool = delivr::db::Db::connect(&db.url).await.expect("connect to the template");
    pool.migrate().await.expect("migrate the template");
    delivr::geo::seed(&pool).await.expect("seed the geography");
    delivr::pricing::seed_defaults(&pool).await.expect("seed the tariffs");
    pool.close().await;
    name
}

async fn create_pg_database(template: Option<&str>) -> TestDatabase {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = format!("delivr_t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run for the tests ({admin}; set TEST_POSTGRES_URL): {e}"));
    drop_leftovers(&mut conn).await;
    let create = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    // Two copies of the template at the same instant can collide on its lock: try again.
    let mut tries = 0;
    while let Err(e) = sqlx::query(&create).execute(&mut conn).await {
        tries += 1;
        assert!(tries < 50, "create test database {name}: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    TestDatabase { url: format!("{base}/{name}"), pg_name: Some(name) }
}

/// The databases earlier test runs made (`delivr_t_<pid>_<n>`, their process gone) are
/// dropped once per run, so the server does not fill up run after run.
async fn drop_leftovers(conn: &mut sqlx::PgConnection) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'delivr\\_t\\_%'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name.trim_start_matches("delivr_t_").split('_').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() || std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut *conn).await;
        }
    }
}

pub fn test_config(database_url: String) -> Config {
    Config::local(database_url)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = migrated_database(backend, dir.path()).await;
        let mut config = test_config(db.url.clone());
        tweak(&mut config);
        let app = App::build(config).await.expect("the app builds");
        let base = format!("http://{}", app.addr());
        let state = app.state.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        TestApp { base, state, client: client(), _db: Some(std::sync::Arc::new(db)), _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// The CSRF token embedded in a page (GET `path` first so the cookie is set).
    pub async fn csrf(&self, path: &str) -> String {
        let mut resp = self.get(path).await;
        // Signed-in users are redirected away from the login and sign-up pages: follow.
        for _ in 0..3 {
            if resp.status() != StatusCode::SEE_OTHER {
                break;
            }
            let to = location(&resp);
            resp = self.get(&to).await;
        }
        let html = resp.text().await.expect("page body");
        csrf_in(&html)
    }

    /// POST a form with the CSRF token taken from `page`.
    pub async fn post_form(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf(page).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &token));
        self.client.post(self.url(action)).form(&all).send().await.expect("POST")
    }

    pub async fn signup(&self, business: &str, email: &str) -> Response {
        self.post_form(
            "/accounts/signup/",
            "/accounts/signup/",
            &[
                ("business_name", business),
                ("contact_name", "Awa Ndiaye"),
                ("phone", "677 98 76 54"),
                ("email", email),
                ("password", "mot-de-passe-sur"),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/accounts/login/", "/accounts/login/", &[("email", email), ("password", password)]).await
    }

    /// A browser on a server started elsewhere (at `base`, with `state`).
    pub fn browser_of(base: String, state: AppState) -> TestApp {
        TestApp { base, state, client: client(), _db: None, _dir: tempfile::tempdir().expect("a temp dir") }
    }

    /// A new client (another browser) on the same server.
    pub fn other_browser(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            state: self.state.clone(),
            client: client(),
            _db: self._db.clone(),
            _dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub async fn create_admin(&self, email: &str, pw: &str) {
        let hash = password::hash(pw).expect("hash");
        users::create_staff(&self.state.db, Role::Admin, email, "Admin", None, &hash).await.expect("admin created");
    }

    /// A signed-in, approved vendor; returns its partner id.
    pub async fn approved_vendor(&self, business: &str, email: &str) -> String {
        assert_eq!(self.signup(business, email).await.status(), StatusCode::SEE_OTHER);
        let id = self.partner_id(email).await;
        partners::approve(&self.state.db, &id).await.expect("approve");
        id
    }

    /// A new API key of the signed-in vendor, made in the portal (shown once, read from the page).
    pub async fn api_key(&self, name: &str) -> String {
        let resp = self.post_form("/partners/api-keys/", "/partners/api-keys/", &[("name", name)]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let html = resp.text().await.expect("the keys page");
        html.split("id=\"new-key\"").nth(1).unwrap().split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
    }

    pub async fn partner_id(&self, email: &str) -> String {
        let sql = "SELECT p.id FROM partners p JOIN users u ON u.id = p.user_id WHERE u.email = $1";
        delivr::on_db!(&self.state.db, pool => sqlx::query_scalar::<_, String>(sql).bind(email).fetch_one(pool).await)
            .expect("partner exists")
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        delivr::on_db!(&self.state.db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await).expect("count")
    }

    pub async fn exec(&self, sql: &str) {
        delivr::on_db!(&self.state.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).expect("exec");
    }
}

pub fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).map(|i| i + marker.len()).expect("a CSRF field in the page");
    html[start..].split('"').next().expect("token").to_owned()
}

pub fn location(resp: &Response) -> String {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// Run each named `async fn(Backend)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::helpers::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::helpers::Backend::Postgres).await }
        }
    )*};
}

/// One part of a multipart form: a text field, or a file with its name and declared type.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File { name: &'a str, filename: &'a str, content_type: &'a str, bytes: Vec<u8> },
}

impl TestApp {
    /// POST a multipart form to `action` (which must accept `?csrf=`), with the CSRF token
    /// taken from `page`.
    pub async fn post_multipart(&self, page: &str, action: &str, parts: Vec<Part<'_>>) -> Response {
        let token = self.csrf(page).await;
        let boundary = "XdelivrBoundary7MA4YWxk";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Text(name, value) => {
                    body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
                }
                Part::File { name, filename, content_type, bytes } => {
                    body.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n")
                            .as_bytes(),
                    );
                    body.extend_from_slice(&bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let sep = if action.contains('?') { '&' } else { '?' };
        self.client
            .post(self.url(&format!("{action}{sep}csrf={token}")))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .expect("POST")
    }
}

/// A real image, encoded in `format`.
pub fn image_bytes(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img =
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 200) as u8, (y % 200) as u8, 120])));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// A vendor order made through the portal's form (the signed-in vendor needs a pickup address).
pub async fn new_order(app: &TestApp, cod: &str) -> delivr::orders::repo::Order {
    let fields = [
        ("recipient_name", "Paul Nkwi"),
        ("recipient_phone", "677987654"),
        ("dropoff_city", "1"),
        ("dropoff_quartier", "1012"),
        ("dropoff_address", "Derrière la pharmacie"),
        ("package_description", "Chaussures"),
        ("cod_amount", cod),
    ];
    let resp = app.post_form("/partners/orders/new/", "/partners/orders/new/", &fields).await;
    let id = location(&resp).trim_start_matches("/partners/orders/").split('/').next().unwrap().to_owned();
    delivr::orders::repo::find(&app.state.db, &id).await.unwrap().unwrap()
}

/// Drive an order to IN_TRANSIT as the system.
pub async fn in_transit(app: &TestApp, order: &delivr::orders::repo::Order) -> delivr::orders::repo::Order {
    let hash = delivr::accounts::password::hash("x-password-1").unwrap();
    let courier =
        delivr::accounts::repo::create_staff(&app.state.db, delivr::auth::Role::Courier, &format!("c-{}@c.cm", order.id), "C", None, &hash)
            .await
            .unwrap();
    let sys = delivr::orders::service::Actor::system();
    let (db, bus, now) = (&app.state.db, &app.state.bus, delivr::db::now_ms());
    let o = delivr::orders::service::transition(db, bus, order, &delivr::orders::model::Action::Assign { courier_id: courier }, &sys, now)
        .await
        .unwrap();
    let o = delivr::orders::service::transition(db, bus, &o, &delivr::orders::model::Action::PickUp, &sys, now).await.unwrap();
    delivr::orders::service::transition(db, bus, &o, &delivr::orders::model::Action::StartTransit, &sys, now).await.unwrap()
}

/// Drive an order to COMPLETED (the courier enters the PIN).
pub async fn delivered(app: &TestApp, order: &delivr::orders::repo::Order) -> delivr::orders::repo::Order {
    let o = in_transit(app, order).await;
    let pin = o.delivery_pin.clone();
    let sys = delivr::orders::service::Actor::system();
    delivr::orders::service::transition(
        &app.state.db,
        &app.state.bus,
        &o,
        &delivr::orders::model::Action::Complete { pin },
        &sys,
        delivr::db::now_ms(),
    )
    .await
    .unwrap()
}

/// A free local port (bound, then released for a process to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `delivr serve` as a process of its own on `url`, at `127.0.0.1:port` (0: any), quiet, with
/// `env` added; the caller spawns it (and may redirect its output first).
pub fn serve_command(url: &str, port: u16, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_delivr"));
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("LOG", "error")
        .stdout(std::process::Stdio::null())
        // Its errors (only errors are logged) land in the run's output, beside the failure.
        .stderr(std::process::Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Wait (at most a minute) until the server at `base` answers `/healthz`.
pub async fn wait_healthy(client: &Client, base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(std::time::Instant::now() < deadline, "the server at {base} did not start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Bounded polling: wait until `check` holds, for at most `secs` seconds, then fail naming
/// `what`. Tests wait for what they expect to see, never for a fixed time.
pub async fn eventually(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "still not so after {secs} s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Serve Douala–Yaoundé at an intercity tariff (no pair is served by default).
pub async fn serve_douala_yaounde(app: &TestApp) {
    let t = delivr::pricing::Tariff {
        city_id: 2,
        base_fare: 3000,
        per_km: 15,
        surcharge_medium: 500,
        surcharge_large: 1500,
        commission_bps: 2000,
    };
    delivr::pricing::save_intercity(&app.state.db, 1, 2, &t).await.unwrap();
}

/// A real SMTP server on loopback (aiosmtpd from PyPI, installed by `.ci/setup`) that keeps
/// what it receives in a Maildir; stopped when dropped.
pub struct MailServer {
    pub url: String,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

/// An e-mail as received: its headers decoded and its text body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl MailServer {
    pub async fn start() -> MailServer {
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = free_port();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("aiosmtpd runs (bash .ci/setup installs it)");
        let mut server = MailServer { url: format!("smtp://127.0.0.1:{port}"), dir, child };
        eventually("the SMTP server listens", 20, async || tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()).await;
        // Listening is ours, not another test's that took the port first.
        assert!(server.child.try_wait().expect("aiosmtpd's state").is_none(), "aiosmtpd exited (port {port} taken?)");
        server
    }

    /// Every e-mail received so far, decoded by Python's `email` package.
    pub fn received(&self) -> Vec<Mail> {
        let new = self.dir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(&new) else { return Vec::new() };
        let decode = "import email, email.policy, json, sys\n\
                      m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
                      print(json.dumps({'from': str(m['from']), 'to': str(m['to']), 'subject': str(m['subject']), 'body': m.get_content()}))";
        entries
            .filter_map(Result::ok)
            .map(|e| {
                let out = std::process::Command::new("python3").args(["-c", decode]).arg(e.path()).output().expect("python3");
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a decoded e-mail");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Mail { from: s("from"), to: s("to"), subject: s("subject"), body: s("body") }
            })
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
