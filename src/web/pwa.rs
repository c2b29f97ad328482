//! The portal as an installable, offline-capable web app: the manifest, its icons (drawn here,
//! from the same shapes as `assets/icon.svg`), the service worker (`assets/sw.js`, served from
//! the root so that it controls every page, with this build's asset URLs written in) and the
//! offline page it falls back to.

use std::sync::OnceLock;

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Path},
};

use crate::{
    i18n::{Lang, Msg},
    security,
    web::{
        Ctx, assets,
        layout::{public_page, respond},
    },
};

/// Routes inside the pages' middleware (translated).
pub fn routes(route: Route) -> Route {
    route.at("/offline/", get(offline_page))
}

/// The pages a vendor finds again offline, as last loaded (and the new-order form, whose
/// drafts wait on the device).
pub const OFFLINE_PAGES: [&str; 3] = ["/partners/dashboard/", "/partners/orders/", "/partners/orders/new/"];

struct Icon {
    /// `icon-192.3f2a9c1e0b.png`
    name: String,
    size: u32,
    maskable: bool,
    png: Vec<u8>,
}

fn icons() -> &'static [Icon] {
    static ICONS: OnceLock<Vec<Icon>> = OnceLock::new();
    ICONS.get_or_init(|| {
        [(192, false), (512, false), (512, true)]
            .into_iter()
            .map(|(size, maskable)| {
                let png = draw_icon(size, maskable);
                let stem = if maskable { format!("icon-maskable-{size}") } else { format!("icon-{size}") };
                Icon { name: format!("{stem}.{}.png", &security::sha256_hex(&png)[..10]), size, maskable, png }
            })
            .collect()
    })
}

/// The DELIVR-CM mark (a green tile, a white van outline, two amber wheels) in `size` pixels,
/// 4×4 supersampled. A maskable icon fills its square (the launcher cuts its own shape); the
/// drawing stays inside the safe circle either way.
fn draw_icon(size: u32, maskable: bool) -> Vec<u8> {
    const GREEN: [f64; 3] = [15.0, 110.0, 85.0];
    const WHITE: [f64; 3] = [255.0, 255.0, 255.0];
    const AMBER: [f64; 3] = [232.0, 163.0, 23.0];
    let van = [(14.0, 40.0), (14.0, 22.0), (30.0, 22.0), (38.0, 31.0), (48.0, 31.0), (48.0, 40.0)];
    let near_van = |x: f64, y: f64| {
        van.windows(2).any(|w| {
            let ((ax, ay), (bx, by)) = (w[0], w[1]);
            let (dx, dy) = (bx - ax, by - ay);
            let t = (((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            let (px, py) = (ax + t * dx - x, ay + t * dy - y);
            px * px + py * py <= 4.0
        })
    };
    let in_tile = |x: f64, y: f64| {
        if maskable {
            return true;
        }
        // A rounded square: radius 14 of 64.
        let cx = x.clamp(14.0, 50.0);
        let cy = y.clamp(14.0, 50.0);
        (x - cx).powi(2) + (y - cy).powi(2) <= 196.0
    };
    let color_at = |x: f64, y: f64| -> Option<[f64; 3]> {
        if !in_tile(x, y) {
            return None;
        }
        let wheel = |cx: f64| (x - cx).powi(2) + (y - 43.0).powi(2) <= 25.0;
        Some(if wheel(22.0) || wheel(44.0) {
            AMBER
        } else if near_van(x, y) {
            WHITE
        } else {
            GREEN
        })
    };
    let scale = 64.0 / f64::from(size);
    let img = image::RgbaImage::from_fn(size, size, |px, py| {
        let (mut acc, mut covered) = ([0.0; 3], 0.0);
        for sy in 0..4 {
            for sx in 0..4 {
                let x = (f64::from(px) + (f64::from(sx) + 0.5) / 4.0) * scale;
                let y = (f64::from(py) + (f64::from(sy) + 0.5) / 4.0) * scale;
                if let Some(c) = color_at(x, y) {
                    acc.iter_mut().zip(c).for_each(|(a, v)| *a += v);
                    covered += 1.0;
                }
            }
        }
        if covered == 0.0 {
            return image::Rgba([0, 0, 0, 0]);
        }
        let [r, g, b] = acc.map(|a| (a / covered).round() as u8);
        image::Rgba([r, g, b, (covered / 16.0 * 255.0).round() as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img).write_to(&mut out, image::ImageFormat::Png).expect("encoding into memory cannot fail");
    out.into_inner()
}

/// An icon (mounted outside the pages' middleware: no session, no cookie).
#[handler]
pub fn icon(Path(file): Path<String>) -> Response {
    match icons().iter().find(|i| i.name == file) {
        Some(i) => Response::builder()
            .content_type("image/png")
            .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
            .header("x-content-type-options", "nosniff")
            .body(i.png.clone()),
        None => Response::builder().status(StatusCode::NOT_FOUND).body("not found"),
    }
}

/// Draw the icons and write the manifests now rather than during the first page.
pub fn warm_up() {
    manifests();
    worker_source();
}

struct Manifest {
    lang: Lang,
    /// `manifest.fr.3f2a9c1e0b.webmanifest`
    name: String,
    json: Vec<u8>,
}

fn manifests() -> &'static [Manifest] {
    static MANIFESTS: OnceLock<Vec<Manifest>> = OnceLock::new();
    MANIFESTS.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let json = serde_json::to_vec(&manifest_json(lang)).unwrap_or_default();
                let name = format!("manifest.{}.{}.webmanifest", lang.code(), &security::sha256_hex(&json)[..10]);
                Manifest { lang, name, json }
            })
            .collect()
    })
}

/// The manifest's URL in a language: it changes with its content, so it is cached for good
/// (a repeat visit asks nothing but the page).
pub fn manifest_url(lang: Lang) -> String {
    manifests().iter().find(|m| m.lang == lang).map(|m| format!("/manifest/{}", m.name)).unwrap_or_default()
}

fn manifest_json(lang: Lang) -> serde_json::Value {
    let icons: Vec<serde_json::Value> = std::iter::once(serde_json::json!({
        "src": assets::url("icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"
    }))
    .chain(icons().iter().map(|i| {
        serde_json::json!({
            "src": format!("/icons/{}", i.name),
            "sizes": format!("{0}x{0}", i.size),
            "type": "image/png",
            "purpose": if i.maskable { "maskable" } else { "any" },
        })
    }))
    .collect();
    serde_json::json!({
        "name": lang.t(Msg::PwaName),
        "short_name": "DELIVR-CM",
        "description": lang.t(Msg::PwaDescription),
        "lang": lang.code(),
        "id": "/partners/dashboard/",
        "start_url": "/partners/dashboard/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f7f6",
        "theme_color": "#0f6e55",
        "icons": icons,
    })
}

/// A manifest (mounted outside the pages' middleware: no session, no cookie).
#[handler]
pub fn manifest(Path(file): Path<String>) -> Response {
    match manifests().iter().find(|m| m.name == file) {
        Some(m) => Response::builder()
            .content_type("application/manifest+json")
            .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
            .header("x-content-type-options", "nosniff")
            .body(m.json.clone()),
        None => Response::builder().status(StatusCode::NOT_FOUND).body("not found"),
    }
}

/// What the worker keeps from the first visit: the pages' assets and the offline page.
fn precached() -> Vec<String> {
    let mut urls: Vec<String> = ["app.css", "portal.js", "live.js"].iter().map(|n| assets::url(n)).collect();
    urls.push("/offline/".to_owned());
    urls
}

/// The worker, with this build's asset URLs; its version changes with them, so a new build
/// replaces the old caches.
fn worker_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let precached = precached();
        let version = &security::sha256_hex(precached.join(" ").as_bytes())[..12];
        include_str!("../../assets/sw.js")
            .replace("__VERSION__", version)
            .replace("__PRECACHE__", &serde_json::to_string(&precached).unwrap_or_default())
            .replace("__OFFLINE_PAGES__", &serde_json::to_string(&OFFLINE_PAGES).unwrap_or_default())
    })
}

/// The worker (mounted outside the pages' middleware).
#[handler]
pub fn service_worker() -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        // Browsers check for a new worker at each visit; `no-cache` makes that check cheap.
        .header(header::CACHE_CONTROL, "no-cache")
        .header("service-worker-allowed", "/")
        .header("x-content-type-options", "nosniff")
        .body(worker_source())
}

/// Shown by the worker for a page it does not have while the device is offline.
#[handler]
fn offline_page(Data(ctx): Data<&Ctx>) -> Response {
    let body = html! {
        div.narrow {
            div.card {
                h1 { (ctx.t(Msg::OfflineTitle)) }
                p { (ctx.t(Msg::OfflineText)) }
                ul {
                    li { a href="/partners/dashboard/" { (ctx.t(Msg::NavDashboard)) } }
                    li { a href="/partners/orders/" { (ctx.t(Msg::NavOrders)) } }
                    li { a href="/partners/orders/new/" { (ctx.t(Msg::NewOrder)) } }
                }
            }
        }
    };
    let mut resp = respond(StatusCode::OK, public_page(ctx, ctx.t(Msg::OfflineTitle), body, None, None));
    resp.headers_mut().insert(header::CACHE_CONTROL, poem::http::HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_drawn_at_their_sizes() {
        for i in icons() {
            let img = image::load_from_memory(&i.png).expect("a PNG");
            assert_eq!((img.width(), img.height()), (i.size, i.size));
            let rgba = img.to_rgba8();
            // The maskable icon fills its square; the other has transparent rounded corners.
            assert_eq!(rgba.get_pixel(0, 0)[3] == 255, i.maskable, "{}", i.name);
            // The centre of the left wheel is amber.
            let wheel = rgba.get_pixel(i.size * 22 / 64, i.size * 43 / 64);
            assert_eq!((wheel[0], wheel[1], wheel[2]), (232, 163, 23));
        }
    }
}
