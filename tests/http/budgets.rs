//! Page budgets, on every portal page of a vendor with data: at most 15 KB of compressed HTML,
//! at most 3 requests beyond the HTML on a first visit (each immutable, so a repeat visit asks
//! for the HTML only), the dashboard's first load at most 40 KB, and htmx's partial responses
//! at most 10 KB.

use reqwest::StatusCode;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, delivered, location, new_order},
};

both_backends!(every_portal_page_fits_its_budget);

/// The compressed size of a response, and the text it decodes to.
async fn fetch(app: &TestApp, path: &str, hx: bool) -> (usize, String) {
    let mut req = app.client.get(app.url(path)).header("accept-encoding", "br");
    if hx {
        req = req.header("hx-request", "true");
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let compressed = resp.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.bytes().await.unwrap();
    let text = match compressed.as_deref() {
        Some("br") => {
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
            String::from_utf8(out).unwrap()
        }
        _ => String::from_utf8(bytes.to_vec()).unwrap(),
    };
    (bytes.len(), text)
}

/// Every URL a page makes the browser fetch on its own: stylesheets, scripts, the manifest,
/// icons and images (inline `data:` ones excepted; links to other pages are not fetched).
fn subresources(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (marker, attr) in [("<link ", "href=\""), ("<script ", "src=\""), ("<img ", "src=\"")] {
        for tag in html.split(marker).skip(1) {
            let tag = tag.split('>').next().unwrap();
            if marker == "<link " && !["stylesheet", "manifest", "icon"].iter().any(|r| tag.contains(&format!("rel=\"{r}\""))) {
                continue;
            }
            if let Some(url) = tag.split(attr).nth(1).map(|v| v.split('"').next().unwrap())
                && !url.starts_with("data:")
            {
                found.push(url.to_owned());
            }
        }
    }
    found
}

async fn every_portal_page_fits_its_budget(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.approved_vendor("Boutique Budget", "budget@shop.cm").await;
    app.exec(&format!("UPDATE partners SET pickup_quartier_id = 1001, pickup_address = 'Rue Joss' WHERE id = '{id}'")).await;
    // A vendor with a few pages of orders, a delivered one and a dispute.
    for _ in 0..30 {
        new_order(&app, "12 000").await;
    }
    let done = delivered(&app, &new_order(&app, "8 500").await).await;
    let page = format!("/partners/disputes/new/{}/", done.id);
    let token = app.csrf(&page).await;
    let body = "--b\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\nLATE\r\n--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nArrivé le soir.\r\n--b--\r\n";
    let resp = app
        .client
        .post(app.url(&format!("{page}?csrf={token}")))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send()
        .await
        .unwrap();
    let dispute = location(&resp).split('?').next().unwrap().to_owned();

    let pages = [
        "/partners/dashboard/".to_owned(),
        "/partners/orders/".to_owned(),
        "/partners/orders/new/".to_owned(),
        format!("/partners/orders/{}/", done.id),
        "/partners/orders/import/".to_owned(),
        "/partners/tracking/".to_owned(),
        "/partners/analytics/".to_owned(),
        "/partners/wallet/".to_owned(),
        "/partners/invoices/".to_owned(),
        "/partners/notifications/".to_owned(),
        "/partners/api-keys/".to_owned(),
        "/partners/webhooks/".to_owned(),
        "/partners/profile/".to_owned(),
        "/partners/disputes/".to_owned(),
        dispute,
        "/partners/branding/".to_owned(),
    ];
    let mut report = String::from("page | HTML (br) | requests | first load\n");
    for path in &pages {
        let (html_len, html) = fetch(&app, path, false).await;
        let assets = subresources(&html);
        let mut total = html_len;
        for url in &assets {
            let resp = app.other_browser().client.get(app.url(url)).header("accept-encoding", "br").send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}: {url}");
            let cache = resp.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(cache.contains("immutable"), "{path}: {url} must be immutable for a repeat visit to skip it ({cache})");
            total += resp.bytes().await.unwrap().len();
        }
        report.push_str(&format!("{path} | {html_len} | {} | {total}\n", assets.len()));
        assert!(html_len <= 15 * 1024, "{path}: {html_len} bytes of HTML, over 15 KB");
        assert!(assets.len() <= 3, "{path}: {} requests beyond the HTML ({assets:?})", assets.len());
        if path == "/partners/dashboard/" {
            assert!(total <= 40 * 1024, "dashboard first load {total} bytes, over 40 KB");
        }
    }
    // What htmx asks for: the filtered list, the period switch, the live quote, the preview.
    let fragments = [
        "/partners/orders/?status=PENDING".to_owned(),
        "/partners/orders/?q=Paul".to_owned(),
        "/partners/analytics/?period=90d".to_owned(),
        "/partners/orders/quote/?pickup_city=1&pickup_quartier=1001&dropoff_city=1&dropoff_quartier=1012&size_class=M".to_owned(),
        "/partners/orders/quartiers/?field=dropoff_quartier&dropoff_city=2".to_owned(),
        "/partners/branding/preview/?brand_color=%23ffd700&brand_message=Merci&slug=boutique-budget".to_owned(),
        "/partners/disputes/?status=open".to_owned(),
    ];
    for path in &fragments {
        let (len, _) = fetch(&app, path, true).await;
        report.push_str(&format!("htmx {path} | {len}\n"));
        assert!(len <= 10 * 1024, "htmx response {path}: {len} bytes, over 10 KB");
    }
    println!("{report}");
}
