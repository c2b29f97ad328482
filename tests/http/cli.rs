//! The `delivr` binary itself: `--help`, `admin create`, `serve` with graceful shutdown.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;

use crate::helpers::{TestApp, test_config};

fn delivr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_delivr"))
}

#[test]
fn help_documents_every_setting() {
    let out = delivr().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in ["DATABASE_URL", "BIND", "PUBLIC_URL", "SECRET_KEY", "LOG", "serve", "migrate", "demo", "admin"] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_bootstraps_an_admin_who_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |pw: &'static str| {
        let mut child = delivr()
            .args(["admin", "create", "--email", "Root@Delivr.cm", "--password-stdin"])
            .env("DATABASE_URL", &url)
            .env("LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(pw.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let short = run("court\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let ok = run("un-mot-de-passe-admin\n");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let again = run("un-mot-de-passe-admin\n");
    assert!(!again.status.success(), "a second admin with the same email is refused");

    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| *c = test_config(url.clone())).await;
    let resp = app.login("root@delivr.cm", "un-mot-de-passe-admin").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::helpers::location(&resp), "/admin/partners/");
}

#[test]
fn serve_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = delivr()
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("serve.db").display()))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(dir.path().join("serve.db.key").exists(), "the secret key is kept next to the database");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}
