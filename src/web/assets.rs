//! Static assets embedded in the binary, served under content-hashed names with
//! `Cache-Control: immutable`, pre-compressed once (brotli and gzip).

use std::{io::Write, sync::OnceLock};

use poem::{
    Request, Response, handler,
    http::{HeaderValue, StatusCode, header},
    web::Path,
};

use crate::security;

/// One served file, made of one or more embedded files (a bundle saves requests on slow
/// networks: each page loads one stylesheet and one script).
pub struct Asset {
    /// Logical name, e.g. `live.js`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub parts: &'static [&'static [u8]],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const APP_CSS: &[u8] = include_bytes!("../../assets/app.css");
const APP_JS: &[u8] = include_bytes!("../../assets/app.js");
/// htmx and its SSE extension come from the npm registry (`assets/package.json`), as Leaflet.
const HTMX: &[u8] = include_bytes!("../../assets/node_modules/htmx.org/dist/htmx.min.js");
const HTMX_SSE: &[u8] = include_bytes!("../../assets/node_modules/htmx-ext-sse/dist/sse.min.js");
const LEAFLET_JS: &[u8] = include_bytes!("../../assets/node_modules/leaflet/dist/leaflet.js");
const LEAFLET_CSS: &[u8] = include_bytes!("../../assets/node_modules/leaflet/dist/leaflet.css");
const TRACKING_JS: &[u8] = include_bytes!("../../assets/tracking.js");

/// Every asset the pages reference.
pub const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: CSS, parts: &[APP_CSS] },
    // The tracking page: the portal's styles and Leaflet's.
    Asset { name: "map.css", content_type: CSS, parts: &[APP_CSS, LEAFLET_CSS] },
    // Pages without a live stream (sign-in, pending approval, admin).
    Asset { name: "portal.js", content_type: JS, parts: &[HTMX, APP_JS] },
    // An approved vendor's pages: htmx with its SSE extension.
    Asset { name: "live.js", content_type: JS, parts: &[HTMX, HTMX_SSE, APP_JS] },
    // The tracking page: the same, with Leaflet and the map's script.
    Asset { name: "map.js", content_type: JS, parts: &[HTMX, HTMX_SSE, APP_JS, LEAFLET_JS, TRACKING_JS] },
    Asset { name: "public.js", content_type: JS, parts: &[include_bytes!("../../assets/public.js")] },
    Asset { name: "icon.svg", content_type: "image/svg+xml", parts: &[include_bytes!("../../assets/icon.svg")] },
];

/// The DELIVR-CM mark, for pages that inline it (no request for a 300-byte picture).
pub const ICON_SVG: &str = include_str!("../../assets/icon.svg");

struct Prepared {
    /// `app.3f2a9c1e.css`
    hashed_name: String,
    raw: Vec<u8>,
    br: Vec<u8>,
    gzip: Vec<u8>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| ASSETS.iter().map(|a| prepare(a, 11)).collect())
}

/// The API reference's assets (Swagger UI from npm, over a megabyte): prepared when the docs
/// page is first asked for, not at every start.
pub const DOCS_ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui.css",
        content_type: CSS,
        parts: &[include_bytes!("../../assets/node_modules/swagger-ui-dist/swagger-ui.css")],
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: JS,
        parts: &[include_bytes!("../../assets/node_modules/swagger-ui-dist/swagger-ui-bundle.js")],
    },
    Asset { name: "docs.js", content_type: JS, parts: &[include_bytes!("../../assets/docs.js")] },
];

fn docs_prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| DOCS_ASSETS.iter().map(|a| prepare(a, 9)).collect())
}

/// The docs' assets' hashed names, without compressing them (a stray request for an unknown
/// file must not cost a megabyte's compression).
fn docs_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| DOCS_ASSETS.iter().map(|a| hashed_name(a, &joined(a))).collect())
}

/// The URL of one of the docs page's assets.
pub fn docs_url(name: &str) -> String {
    let index = DOCS_ASSETS.iter().position(|a| a.name == name).unwrap_or(0);
    format!("/static/{}", docs_names()[index])
}

fn joined(asset: &Asset) -> Vec<u8> {
    // Parts are joined on a new line (and a `;` between scripts, in case one omits its last).
    let separator: &[u8] = if asset.content_type == JS { b";\n" } else { b"\n" };
    asset.parts.join(separator)
}

fn hashed_name(asset: &Asset, raw: &[u8]) -> String {
    let hash = &security::sha256_hex(raw)[..10];
    match asset.name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{}.{hash}", asset.name),
    }
}

fn prepare(asset: &Asset, quality: u32) -> Prepared {
    let raw = joined(asset);
    let hashed_name = hashed_name(asset, &raw);
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, quality, 22);
        w.write_all(&raw).expect("compressing into memory cannot fail");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).expect("compressing into memory cannot fail");
    let gzip = gz.finish().expect("compressing into memory cannot fail");
    Prepared { hashed_name, raw, br, gzip }
}

/// Compress every asset now rather than on the first request.
pub fn warm_up() {
    prepared();
}

/// The URL of an asset by its logical name, e.g. `url("app.css")` → `/static/app.3f2a9c1e0b.css`.
pub fn url(name: &str) -> String {
    let index = ASSETS.iter().position(|a| a.name == name).unwrap_or(0);
    format!("/static/{}", prepared()[index].hashed_name)
}

/// Compressed size in bytes (brotli) of an asset, for the page-weight budget.
pub fn compressed_len(name: &str) -> usize {
    ASSETS.iter().position(|a| a.name == name).map_or(0, |i| prepared()[i].br.len())
}

#[handler]
pub fn serve_asset(Path(file): Path<String>, req: &Request) -> Response {
    let found = match prepared().iter().position(|p| p.hashed_name == file) {
        Some(i) => Some((&ASSETS[i], &prepared()[i])),
        // The docs' assets are only looked for once the docs page has named them.
        None => docs_names().iter().position(|n| *n == file).map(|i| (&DOCS_ASSETS[i], &docs_prepared()[i])),
    };
    let Some((asset, prep)) = found else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("not found");
    };
    let accepts = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let accepts = |coding: &str| accepts.split(',').any(|c| c.trim().split(';').next() == Some(coding));
    let (body, encoding): (&'static [u8], Option<&str>) = if accepts("br") {
        (leak(&prep.br), Some("br"))
    } else if accepts("gzip") {
        (leak(&prep.gzip), Some("gzip"))
    } else {
        (leak(&prep.raw), None)
    };
    let mut resp = Response::builder()
        .content_type(asset.content_type)
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .header(header::VARY, "Accept-Encoding")
        .header("x-content-type-options", "nosniff")
        .body(body);
    if let Some(enc) = encoding {
        resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(if enc == "br" { "br" } else { "gzip" }));
    }
    resp
}

/// The prepared buffers live for the whole process (they sit in a static `OnceLock`).
fn leak(v: &'static Vec<u8>) -> &'static [u8] {
    v.as_slice()
}
