//! The live tracking map `/partners/tracking/`: the vendor's deliveries in progress on a
//! Leaflet map (tiles from `TILE_URL`), and a list beside it (status, courier, ETA); both move
//! with the `position` events of the page's stream. Without tiles, or without JavaScript, the
//! list still says where everything is.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{HeaderValue, StatusCode},
    web::Data,
};
use serde::Serialize;

use crate::{
    accounts::guard,
    i18n::Msg,
    on_db,
    orders::{
        self,
        model::Status,
        pages::status_badge,
        repo::{self, Order},
    },
    state::AppState,
    web::{
        Ctx, PageResult,
        components::format_datetime,
        layout::{Extras, page_with, respond},
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/partners/tracking/", get(tracking_page))
}

/// One delivery on the map.
#[derive(Serialize)]
struct Marker<'a> {
    id: &'a str,
    t: &'a str,
    s: &'a str,
    la: f64,
    ln: f64,
    /// Drop-off.
    dla: f64,
    dln: f64,
    live: bool,
}

/// The origin to allow in the page's CSP for the tiles (`{s}` subdomains become a wildcard).
pub fn tile_origin(template: &str) -> String {
    let probe = template.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0").replace("{r}", "");
    match url::Url::parse(&probe) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let host = if template.contains("{s}.") { host.replacen("a.", "*.", 1) } else { host.to_owned() };
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}", u.scheme())
        }
        Err(_) => String::new(),
    }
}

fn list(ctx: &Ctx, rows: &[(Order, Option<repo::Position>)]) -> Markup {
    html! {
        ul.orders #tracking-list {
            @if rows.is_empty() { li.order-row { div { span.muted { (ctx.t(Msg::TrackingNone)) } } } }
            @for (o, p) in rows {
                li.order-row #(format!("trk-{}", o.id)) {
                    a href=(format!("/partners/orders/{}/", o.id)) {
                        span.tn { (o.tracking_number) } (status_badge(ctx, o.status()))
                        span.who { (o.courier_name.clone().unwrap_or_else(|| "—".into())) " → " (o.dropoff_quartier) }
                        span.meta {
                            span.eta {
                                @match (o.status(), p) {
                                    (Status::InTransit, Some(pos)) => { (ctx.fmt(Msg::TrackEta, &[("minutes", &orders::eta_minutes(o, *pos).to_string())])) }
                                    _ => { (ctx.t(Msg::TrackingNoEta)) }
                                }
                            }
                            @if let Some(pos) = p { " · " span.small { (format_datetime(pos.at, ctx.lang)) } }
                        }
                    }
                }
            }
        }
    }
}

#[handler]
async fn tracking_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let sql = format!(
        "{} WHERE o.partner_id = $1 AND o.status IN ('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'RETURNING') ORDER BY o.updated_at DESC LIMIT 100",
        repo::SELECT
    );
    let orders: Vec<Order> = on_db!(&state.db, pool => sqlx::query_as(&sql).bind(&p.id).fetch_all(pool).await)?;
    let mut rows = Vec::with_capacity(orders.len());
    for o in orders {
        let pos = repo::latest_position(&state.db, &o.id).await?;
        rows.push((o, pos));
    }
    let markers: Vec<Marker> = rows
        .iter()
        .map(|(o, pos)| Marker {
            id: &o.id,
            t: &o.tracking_number,
            s: o.status().as_str(),
            la: pos.map_or(o.pickup_lat, |p| p.lat),
            ln: pos.map_or(o.pickup_lng, |p| p.lng),
            dla: o.dropoff_lat,
            dln: o.dropoff_lng,
            live: pos.is_some(),
        })
        .collect();
    let tiles = &state.config.tile_url;
    let body = html! {
        h1 { (ctx.t(Msg::NavTracking)) }
        p.small.muted { (ctx.t(Msg::TrackingIntro)) }
        div.tracking {
            div #map data-tiles=(tiles) data-markers=(serde_json::to_string(&markers).unwrap_or_else(|_| "[]".into()))
                role="img" aria-label=(ctx.t(Msg::TrackingMapLabel)) {}
            // Position events land here; tracking.js moves the markers and the list.
            div #live-positions sse-swap="position" hidden {}
            (list(ctx, &rows))
        }
    };
    let extras = Extras { brand: None, map: true };
    let mut resp = respond(StatusCode::OK, page_with(ctx, ctx.t(Msg::NavTracking), body, extras));
    let csp = format!(
        "default-src 'self'; img-src 'self' data: {}; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        tile_origin(tiles)
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert("content-security-policy", v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_origins() {
        assert_eq!(tile_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png"), "https://tile.openstreetmap.org");
        assert_eq!(tile_origin("https://{s}.tile.example.cm:8443/{z}/{x}/{y}.png"), "https://*.tile.example.cm:8443");
    }
}
