//! `delivr`: the DELIVR-CM partner portal binary.

use std::io::BufRead;

use anyhow::Context;
use clap::Parser;
use delivr::{
    accounts::{parse_email, password, repo as users},
    app::App,
    auth::Role,
    config::{AdminCommand, Cli, Command, Config, InvoicesCommand},
    couriers::simulator::Simulator,
    db::Db,
    demo,
    events::Bus,
    geo,
};
use tracing_subscriber::EnvFilter;

/// Profiled under load, glibc's malloc took a fifth of a page's time (its arenas' locks and
/// consolidation); mimalloc's per-thread pages cost a fraction of that.
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.config.log).context("LOG is not a valid log filter")?;
    if cli.config.log_format == "json" {
        // One JSON object per line; the request's span (its id, method, path, partner) on each.
        tracing_subscriber::fmt().json().with_current_span(true).with_span_list(false).with_env_filter(filter).with_target(false).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
    }
    // reqwest (webhooks) uses rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config, None).await,
        Command::Migrate => {
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            geo::seed(&db).await?;
            println!("migrations applied to {}", cli.config.database_url);
            Ok(())
        }
        Command::Demo { file } => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
            let config = Config { database_url: format!("sqlite://{file}"), ..cli.config };
            serve(config, Some(())).await
        }
        Command::Simulate { speed } => {
            anyhow::ensure!(speed > 0.0 && speed <= 1000.0, "--speed must be between 0 and 1000");
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            println!("simulating couriers on {} at speed ×{speed} (Ctrl-C to stop)", cli.config.database_url);
            let sim = Simulator { speed, ..Simulator::default() };
            tokio::select! {
                _ = sim.run(db, Bus::default()) => Ok(()),
                _ = shutdown_signal() => Ok(()),
            }
        }
        Command::BenchData { orders, vendors } => {
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            geo::seed(&db).await?;
            let started = std::time::Instant::now();
            let filled = delivr::analytics::bench_data::fill(&db, orders, vendors).await?;
            println!(
                "{} orders written in {:.1}s; the bench vendor is bench@delivr.cm (password bench-password-1)",
                filled.total_orders,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Backup { to } => {
            let report = delivr::backup::backup(&cli.config.database_url, std::path::Path::new(&to)).await?;
            println!("{report}");
            Ok(())
        }
        Command::Restore { from } => {
            let report = delivr::backup::restore(&cli.config.database_url, std::path::Path::new(&from)).await?;
            println!("{report}");
            Ok(())
        }
        Command::Invoices { command: InvoicesCommand::CloseMonth { month } } => {
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            let month = month.unwrap_or_else(|| delivr::invoices::previous_month(delivr::db::now_ms()));
            let issued = delivr::invoices::close_month(&db, &delivr::events::Bus::default(), &month).await?;
            println!("{issued} invoice(s) issued for {month}");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { email, name, password_stdin: _ } } => {
            let email = parse_email(&email).context("--email is not a valid email address")?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            let pw = line.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(pw.chars().count() >= password::MIN_LEN, "the password must have at least {} characters", password::MIN_LEN);
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            let hash = password::hash_blocking(pw.to_owned()).await?;
            users::create_staff(&db, Role::Admin, &email, &name, None, &hash)
                .await
                .with_context(|| format!("creating the admin {email} (does this email already exist?)"))?;
            println!("admin {email} created");
            Ok(())
        }
    }
}

async fn serve(config: Config, demo: Option<()>) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    // An embedded database is served by one process at a time, and never restored under it.
    let _serving = delivr::backup::hold_serve_lock(&config.database_url)?;
    let app = App::build(config).await?;
    let url = match &app.state.config.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}", app.addr()),
    };
    if demo.is_some() {
        println!("seeding demo data (about 450 orders over 90 days)…");
        let seeded = demo::seed(&app.state.db).await.context("seeding demo data")?;
        // Keep the demo alive: couriers pick up, move and deliver.
        tokio::spawn(Simulator::default().run(app.state.db.clone(), app.state.bus.clone()));
        println!("\nDELIVR-CM demo portal: {url}/");
        for l in seeded.logins {
            println!("  {:<10} {:<32} password: {}", l.role, l.email, l.password);
        }
        println!("  {} also asks a code (two-factor): authenticator key {}", demo::VENDOR.email, seeded.owner_two_factor);
        println!("    (or `oathtool --totp -b {}`), or the recovery code {}", seeded.owner_two_factor, seeded.owner_recovery);
        println!("  API key of the demo vendor: {}", seeded.api_key);
        println!("  API docs: {url}/partners/docs/");
        println!();
    }
    tracing::info!(%url, "listening");
    app.run_until(shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called (at start,
/// before the listener is bound), not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        tracing::info!("shutting down");
    }
}
