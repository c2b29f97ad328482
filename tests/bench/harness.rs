//! The bench's tools: a `delivr serve` in its own process, wrk as the load generator in
//! another, a poem hello-world as the reference, resident memory read from `/proc`, and the
//! table of figures against their budgets.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use poem::{Route, Server, get, handler, listener::TcpAcceptor};

/// wrk's threads and connections: the setting (2 threads, 16 connections).
pub const THREADS: usize = 2;
pub const CONNECTIONS: usize = 16;
/// Seconds of each measured window (after a warm-up second that is thrown away).
pub const SECONDS: u64 = 5;

#[handler]
fn hello_world() -> &'static str {
    "Hello, world!"
}

/// A plain poem hello-world on this process's runtime: the reference every rate is divided by.
pub async fn spawn_hello() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(Route::new().at("/", get(hello_world))));
    format!("http://{addr}/")
}

/// A `delivr serve` in its own process, on `db_url`; killed when dropped.
pub struct Served {
    child: Child,
    pub base: String,
}

impl Served {
    pub async fn start(db_url: &str, env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // `BENCH_WRAP="perf record -g"` (say) runs the server under a profiler. Not valgrind:
        // mimalloc replaces malloc, which valgrind's tools cannot follow (`--features dhat-heap`).
        let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
        let mut wrap = wrap.split_whitespace();
        let mut cmd = match wrap.next() {
            Some(program) => {
                let mut cmd = Command::new(program);
                cmd.args(wrap).arg(env!("CARGO_BIN_EXE_delivr"));
                cmd
            }
            None => Command::new(env!("CARGO_BIN_EXE_delivr")),
        };
        cmd.arg("serve")
            .env("DATABASE_URL", db_url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("LOG", "error")
            // No internet here: map tiles from a closed local port fail at once.
            .env("TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
            // The bench calls the API far more often than a shop may.
            .env("API_RATE_LIMIT", "100000000");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("delivr serve starts");
        let served = Served { child, base: format!("http://127.0.0.1:{port}") };
        for _ in 0..1200 {
            if reqwest::get(format!("{}/healthz", served.base)).await.is_ok_and(|r| r.status().is_success()) {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("delivr serve did not answer on {}", served.base);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss(&self) -> u64 {
        rss_of(self.pid())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Asked to stop first, so that a profiler around it (`BENCH_WRAP`) writes its report.
        let asked = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().is_ok_and(|s| s.success());
        for _ in 0..if asked { 300 } else { 0 } {
            if self.child.try_wait().is_ok_and(|s| s.is_some()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, in bytes.
pub fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// What wrk measured: requests per second and the 99th percentile latency.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub rps: f64,
    pub p99: Duration,
}

/// Is wrk there? `just bench` installs it (Debian's package).
pub fn check_wrk() {
    let found = Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(found, "wrk is missing: `apt-get install wrk` (just bench installs it)");
}

/// Load `url` with wrk (out of this process): a warm-up second, then `SECONDS` measured.
/// Every answer must be a success: errors or refusals make the bench fail, not a figure.
pub fn wrk(url: &str, headers: &[(&str, &str)], script: Option<&std::path::Path>) -> Load {
    let run = |secs: u64| {
        let mut cmd = Command::new("wrk");
        cmd.args(["-t", &THREADS.to_string(), "-c", &CONNECTIONS.to_string(), "-d", &format!("{secs}s"), "--latency", "--timeout", "10s"]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        if let Some(s) = script {
            cmd.arg("-s").arg(s);
        }
        let out = cmd.arg(url).output().expect("wrk runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "wrk failed on {url}: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("Non-2xx or 3xx responses"), "{url} answered errors under load:\n{text}");
        assert!(!text.contains("Socket errors"), "{url} dropped or timed out connections under load:\n{text}");
        text
    };
    run(1);
    let text = run(SECONDS);
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_duration(v.trim()))
        .unwrap_or_else(|| panic!("no 99th percentile in wrk's output:\n{text}"));
    Load { rps, p99 }
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`.
fn parse_duration(v: &str) -> Duration {
    let (number, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = number.parse().unwrap_or_else(|_| panic!("wrk duration {v:?}"));
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        other => panic!("wrk unit {other:?}"),
    };
    Duration::from_secs_f64(secs)
}

/// A wrk script that POSTs `body` as JSON.
pub fn post_script(body: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    let lua_body = body.replace('\\', "\\\\").replace(']', "\\]");
    std::fs::write(
        file.path(),
        format!("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{lua_body}]==]\n"),
    )
    .unwrap();
    file
}

/// One line of the table: what, the figure, the budget and whether it is met.
pub struct Figure {
    pub what: String,
    pub figure: String,
    pub budget: String,
    pub met: Option<bool>,
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Figure>,
}

impl Table {
    /// A line with no budget (a reference, or a figure only reported).
    pub fn info(&mut self, what: impl Into<String>, figure: impl Into<String>) {
        self.push(what, figure, "—", None);
    }

    pub fn push(&mut self, what: impl Into<String>, figure: impl Into<String>, budget: impl Into<String>, met: Option<bool>) {
        let row = Figure { what: what.into(), figure: figure.into(), budget: budget.into(), met };
        // Printed as it comes, so a long run shows its progress.
        eprintln!("  {} · {} · {}{}", row.what, row.figure, row.budget, verdict(row.met));
        self.rows.push(row);
    }

    /// A throughput as a ratio to the hello-world, with its p99.
    pub fn ratio(&mut self, what: &str, load: Load, hello: Load, budget: f64) {
        let ratio = load.rps / hello.rps;
        self.push(
            what,
            format!("{ratio:.3} × ({:.0} req/s, p99 {})", load.rps, ms(load.p99)),
            format!("≥ {budget}"),
            Some(ratio >= budget),
        );
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("| benchmark | figure | budget | met |\n|---|---|---|---|\n");
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            out.push_str(&format!("| {} | {} | {} | {met} |\n", r.what, r.figure, r.budget));
        }
        out
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => " · met",
        Some(false) => " · NOT MET",
        None => "",
    }
}

/// A duration in milliseconds, with one decimal under 10 ms.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
}
