//! Static assets embedded in the binary, served under content-hashed names with
//! `Cache-Control: immutable`, pre-compressed once (brotli and gzip).

use std::{io::Write, sync::OnceLock};

use poem::{
    Request, Response, handler,
    http::{HeaderValue, StatusCode, header},
    web::Path,
};

use crate::security;

/// One embedded file.
pub struct Asset {
    /// Logical name, e.g. `htmx.js`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every asset the pages reference. htmx comes from the npm registry (`assets/package.json`).
pub const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../../assets/app.css") },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", bytes: include_bytes!("../../assets/app.js") },
    Asset {
        name: "htmx.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/node_modules/htmx.org/dist/htmx.min.js"),
    },
    Asset {
        name: "sse.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/node_modules/htmx-ext-sse/dist/sse.min.js"),
    },
    Asset {
        name: "leaflet.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/node_modules/leaflet/dist/leaflet.js"),
    },
    Asset {
        name: "leaflet.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/node_modules/leaflet/dist/leaflet.css"),
    },
    Asset { name: "tracking.js", content_type: "text/javascript; charset=utf-8", bytes: include_bytes!("../../assets/tracking.js") },
    Asset { name: "public.js", content_type: "text/javascript; charset=utf-8", bytes: include_bytes!("../../assets/public.js") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../assets/icon.svg") },
];

struct Prepared {
    /// `app.3f2a9c1e.css`
    hashed_name: String,
    br: Vec<u8>,
    gzip: Vec<u8>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| ASSETS.iter().map(prepare).collect())
}

fn prepare(asset: &Asset) -> Prepared {
    let hash = &security::sha256_hex(asset.bytes)[..10];
    let hashed_name = match asset.name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{}.{hash}", asset.name),
    };
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(asset.bytes).expect("compressing into memory cannot fail");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(asset.bytes).expect("compressing into memory cannot fail");
    let gzip = gz.finish().expect("compressing into memory cannot fail");
    Prepared { hashed_name, br, gzip }
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
    let Some(index) = prepared().iter().position(|p| p.hashed_name == file) else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("not found");
    };
    let (asset, prep) = (&ASSETS[index], &prepared()[index]);
    let accepts = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let accepts = |coding: &str| accepts.split(',').any(|c| c.trim().split(';').next() == Some(coding));
    let (body, encoding): (&'static [u8], Option<&str>) = if accepts("br") {
        (leak(&prep.br), Some("br"))
    } else if accepts("gzip") {
        (leak(&prep.gzip), Some("gzip"))
    } else {
        (asset.bytes, None)
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
