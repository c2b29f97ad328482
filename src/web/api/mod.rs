//! The API's shell, below the domains: how an operation says who calls it (an API key's
//! partner), its tags in the document, its timestamps, and its problems (RFC 7807). The
//! middleware that authenticates, limits and checks every request, and the list of the domains'
//! APIs, are the composition's (`api`).

pub mod problem;

use poem::{Request, http::StatusCode};
use poem_openapi::{SecurityScheme, Tags, auth::ApiKey};

use crate::auth::Authenticated;
use problem::{for_status, lang_of};

/// An API timestamp: RFC 3339 in UTC, to the second.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Tags)]
pub enum ApiTags {
    /// Prices before ordering.
    Quotes,
    /// Deliveries: create, list, follow, cancel.
    Orders,
    /// Signed HTTP callbacks for every event.
    Webhooks,
    /// Balance, ledger, payouts and invoices.
    Wallet,
    /// The figures of the analytics page.
    Analytics,
    /// Disputes on orders: open, follow, discuss.
    Disputes,
}

/// `Authorization: Api-Key dlv_XXXXXXXX.<secret>`: the key shown once in the portal's API keys
/// section. Every request is scoped to the key's partner.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "Authorization", key_in = "header", checker = "checked_key")]
pub struct ApiKeyAuth(pub Authenticated);

/// The middleware has already authenticated the key; the scheme only hands the result over.
async fn checked_key(req: &Request, _key: ApiKey) -> poem::Result<Authenticated> {
    req.extensions()
        .get::<Authenticated>()
        .cloned()
        .ok_or_else(|| poem::Error::from_response(for_status(StatusCode::UNAUTHORIZED, lang_of(req), None)))
}
