//! Configuration: command-line flags with environment-variable fallbacks, read once at start.

use clap::{Args, Parser, Subcommand};

/// DELIVR-CM partner portal: deliveries, money, live tracking, API and webhooks for vendors.
#[derive(Parser, Debug)]
#[command(name = "delivr", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every subcommand. Every flag can also be set by its environment variable.
#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database: `sqlite://path/to/file.db` (embedded, the default) or `postgres://user@host/db`
    /// (to run several instances).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://delivr.db", global = true)]
    pub database_url: String,

    /// Address and port the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,

    /// The portal's public base URL, e.g. `https://portal.delivr.cm`. When it is https, cookies
    /// are marked `Secure`. Defaults to `http://<BIND>`.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Secret key (at least 32 characters) that signs CSRF tokens. When unset, one is generated
    /// on first run and kept next to the database: in `<file>.key` beside a SQLite file, in the
    /// `server_secrets` table on PostgreSQL (so that every instance shares it).
    #[arg(long, env = "SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,

    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or a tracing directive
    /// such as `delivr=debug,sqlx=warn`.
    #[arg(long, env = "LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log lines as text (`text`, for people) or as one JSON object per line (`json`, for log
    /// collectors), each with its request's id and, once known, its partner's.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,

    /// `/readyz` answers 503 when the oldest webhook delivery still waiting is older than this
    /// (seconds): the instances are not keeping up, or cannot reach the receivers' network.
    #[arg(long, env = "READY_OUTBOX_MAX_AGE_SECS", default_value_t = 900, global = true)]
    pub ready_outbox_max_age_secs: i64,

    /// API requests allowed per key per minute.
    #[arg(long, env = "API_RATE_LIMIT", default_value_t = 120, global = true)]
    pub api_rate_limit: i64,

    /// Let webhooks reach loopback addresses (local development and tests only; never in
    /// production: it opens the SSRF guard).
    #[arg(long, env = "ALLOW_LOOPBACK_WEBHOOKS", default_value_t = false, global = true)]
    pub allow_loopback_webhooks: bool,

    /// Map tiles for the tracking map (Leaflet URL template). Without tiles the map still shows
    /// the markers, and the list beside it says everything.
    #[arg(long, env = "TILE_URL", default_value = "https://tile.openstreetmap.org/{z}/{x}/{y}.png", global = true)]
    pub tile_url: String,

    /// Seconds a claimed webhook delivery stays claimed; after a crash it is sent again once
    /// this has passed. Keep it above the 15 s request timeout.
    #[arg(long, env = "WEBHOOK_LOCK_SECS", default_value_t = 60, global = true)]
    pub webhook_lock_secs: i64,

    /// What a new attempt after a failed delivery costs the vendor, in percent of the order's
    /// price (the first attempt's fee was already paid: the courier made the trip).
    #[arg(long, env = "REATTEMPT_FEE_PERCENT", default_value_t = 50, global = true)]
    pub reattempt_fee_percent: i64,

    /// What returning a parcel to the vendor after a failed delivery costs, in percent of the
    /// order's price.
    #[arg(long, env = "RETURN_FEE_PERCENT", default_value_t = 50, global = true)]
    pub return_fee_percent: i64,

    /// DELIVR-CM's support e-mail, shown where a vendor needs help (a suspended account).
    #[arg(long, env = "SUPPORT_EMAIL", default_value = "support@delivr.cm", global = true)]
    pub support_email: String,

    /// DELIVR-CM's support phone (also its WhatsApp number), in any Cameroonian format.
    #[arg(long, env = "SUPPORT_PHONE", default_value = "+237 6 99 00 00 00", global = true)]
    pub support_phone: String,

    /// SMS gateway (Africa's Talking's messaging API): base URL, account, API key and the
    /// optional sender id. Without an account and a key, texts are only recorded.
    #[arg(long, env = "SMS_API_URL", default_value = "https://api.africastalking.com", global = true)]
    pub sms_api_url: String,
    #[arg(long, env = "SMS_USERNAME", global = true)]
    pub sms_username: Option<String>,
    #[arg(long, env = "SMS_API_KEY", hide_env_values = true, global = true)]
    pub sms_api_key: Option<String>,
    #[arg(long, env = "SMS_SENDER", global = true)]
    pub sms_sender: Option<String>,

    /// WhatsApp Cloud API: base URL (with its version), access token and the sending phone
    /// number's id. Used for texts when no SMS gateway is set up.
    #[arg(long, env = "WHATSAPP_API_URL", default_value = "https://graph.facebook.com/v21.0", global = true)]
    pub whatsapp_api_url: String,
    #[arg(long, env = "WHATSAPP_TOKEN", hide_env_values = true, global = true)]
    pub whatsapp_token: Option<String>,
    #[arg(long, env = "WHATSAPP_PHONE_NUMBER_ID", global = true)]
    pub whatsapp_phone_number_id: Option<String>,

    /// SMTP server for e-mails (password recovery, approvals), as a URL:
    /// `smtps://user:password@host:465` (TLS), `smtp://user:password@host:587?tls=required`
    /// (STARTTLS) or `smtp://host:25` (plain, for a relay on the same machine). Without it,
    /// e-mails are only recorded.
    #[arg(long, env = "SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of e-mails.
    #[arg(long, env = "SMTP_FROM", default_value = "DELIVR-CM <no-reply@delivr.cm>", global = true)]
    pub smtp_from: String,

    /// Hours a customer's booking request waits for the vendor before it expires.
    #[arg(long, env = "BOOKING_TTL_HOURS", default_value_t = 48, global = true)]
    pub booking_ttl_hours: i64,

    /// Take the client's address from the last entry of `X-Forwarded-For`, the one your proxy
    /// appends (only behind a single proxy you run; earlier entries are the client's own words).
    #[arg(long, env = "TRUST_PROXY", default_value_t = false, global = true)]
    pub trust_proxy: bool,

    /// Serve Prometheus metrics at `http://<this address>/metrics` (e.g. `127.0.0.1:9090`;
    /// off when unset). Keep it private: it is not authenticated.
    #[arg(long, env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
}

impl Config {
    /// The defaults, on this database and a random local port (tests, benchmarks).
    pub fn local(database_url: String) -> Config {
        Config {
            database_url,
            bind: "127.0.0.1:0".to_owned(),
            public_url: None,
            secret_key: None,
            log: "warn".to_owned(),
            log_format: "text".to_owned(),
            ready_outbox_max_age_secs: 900,
            api_rate_limit: 120,
            allow_loopback_webhooks: false,
            webhook_lock_secs: 60,
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".to_owned(),
            trust_proxy: false,
            metrics_bind: None,
            booking_ttl_hours: 48,
            sms_api_url: "https://api.africastalking.com".to_owned(),
            sms_username: None,
            sms_api_key: None,
            sms_sender: None,
            whatsapp_api_url: "https://graph.facebook.com/v21.0".to_owned(),
            whatsapp_token: None,
            whatsapp_phone_number_id: None,
            smtp_url: None,
            smtp_from: "DELIVR-CM <no-reply@delivr.cm>".to_owned(),
            support_email: "support@delivr.cm".to_owned(),
            support_phone: "+237 6 99 00 00 00".to_owned(),
            reattempt_fee_percent: 50,
            return_fee_percent: 50,
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Is a text to a phone sent somewhere (an SMS gateway or WhatsApp set up), rather than
    /// only recorded?
    pub fn sends_texts(&self) -> bool {
        let set = |v: &Option<String>| v.as_ref().is_some_and(|s| !s.trim().is_empty());
        (set(&self.sms_username) && set(&self.sms_api_key)) || (set(&self.whatsapp_token) && set(&self.whatsapp_phone_number_id))
    }

    /// Cookies carry `Secure` when the portal is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the portal (the default): apply migrations, then serve HTTP.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Serve the portal on a fresh SQLite file seeded with demo accounts, and print their logins.
    Demo {
        /// The demo database file; it is deleted and recreated at every start.
        #[arg(long, default_value = "delivr-demo.db")]
        file: String,
    },
    /// Drive orders through their lifecycle with simulated couriers (against DATABASE_URL).
    Simulate {
        /// Time multiplier: at 10, a 20-minute delivery takes 2 minutes.
        #[arg(long, default_value_t = 10.0)]
        speed: f64,
    },
    /// Fill an empty database with benchmark data: one vendor (`bench@delivr.cm`, password
    /// `bench-password-1`) with ORDERS orders over two years, and VENDORS other vendors.
    BenchData {
        #[arg(long, default_value_t = 1_000_000)]
        orders: i64,
        #[arg(long, default_value_t = 20)]
        vendors: i64,
    },
    /// Copy the embedded SQLite database to FILE while the portal serves and writes (a
    /// consistent snapshot, `VACUUM INTO`), then check the copy. (PostgreSQL: `pg_dump`, see
    /// the README.)
    Backup {
        /// Where to write the copy (must not exist).
        #[arg(long)]
        to: String,
    },
    /// Put a backup made by `delivr backup` in place of the SQLite database of DATABASE_URL,
    /// after checking it; refused while a portal serves that database.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: String,
    },
    /// Invoicing tasks.
    Invoices {
        #[command(subcommand)]
        command: InvoicesCommand,
    },
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum InvoicesCommand {
    /// Issue the invoices of a month (default: the previous month) for every partner with deliveries.
    CloseMonth {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator account (the first one bootstraps the portal).
    Create {
        /// The administrator's email address (their login).
        #[arg(long)]
        email: String,
        /// The administrator's display name.
        #[arg(long, default_value = "Administrateur")]
        name: String,
        /// Read the password from standard input (one line), so it never appears in `ps`.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}
