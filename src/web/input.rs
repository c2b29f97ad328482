//! The one check every request passes before any handler: text that the databases cannot
//! store (a NUL character, which PostgreSQL refuses in text) is refused at the boundary, in
//! the path, the query string, a url-encoded form or a JSON body, with a translated 400 (an
//! RFC 7807 problem for the APIs, a page otherwise). Multipart text fields are checked where
//! they are read (`media::read_text`); uploaded CSV files where they are decoded.

use std::sync::Arc;

use maud::html;
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, StatusCode, header},
};

use crate::{
    i18n::{Lang, Msg},
    web::{Ctx, layout},
};

/// Bodies larger than this are not buffered here (the handlers' own caps refuse them).
const MAX_CHECKED_BODY: usize = 1024 * 1024;

/// Does percent-encoded text (a path, a query string, a url-encoded form) carry a NUL?
pub fn encoded_has_nul(bytes: &[u8]) -> bool {
    // `%` itself is sent as `%25`, so `%00` can only mean a NUL.
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// Does a JSON document carry a NUL, raw or as the `\u0000` escape inside a string?
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => return true,
            b'\\' => {
                if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6).is_some_and(|hex| hex == b"0000") {
                    return true;
                }
                // Skip the escaped character (so `\\u0000` is a backslash and text).
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/courier/")
}

/// Refuse requests carrying a NUL anywhere text is read from.
pub async fn reject_nul<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let in_url = encoded_has_nul(req.uri().path().as_bytes()) || req.uri().query().is_some_and(|q| encoded_has_nul(q.as_bytes()));
    if in_url {
        return Ok(refusal(&req));
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let json = content_type.starts_with("application/json") || content_type.contains("+json");
    if form || json {
        let body = match req.take_body().into_bytes_limit(MAX_CHECKED_BODY).await {
            Ok(b) => b,
            Err(_) => return Ok(too_large(&req)),
        };
        if (form && encoded_has_nul(&body)) || (json && json_has_nul(&body)) {
            return Ok(refusal(&req));
        }
        req.set_body(body);
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

fn lang_of(req: &Request) -> Lang {
    super::Cookies::parse(req)
        .get(super::LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language))
        .unwrap_or_default()
}

fn refusal(req: &Request) -> Response {
    let lang = lang_of(req);
    tracing::info!(path = %crate::web::loggable(req.uri().path()), "refused a request carrying a NUL character");
    if is_api(req.uri().path()) {
        return crate::web::api::problem::response(StatusCode::BAD_REQUEST, "invalid-text", lang, Msg::ErrNulText, None);
    }
    page(req, lang, StatusCode::BAD_REQUEST, Msg::ErrBadRequestTitle, Msg::ErrNulText)
}

fn too_large(req: &Request) -> Response {
    let lang = lang_of(req);
    if is_api(req.uri().path()) {
        return crate::web::api::problem::for_status(StatusCode::PAYLOAD_TOO_LARGE, lang, None);
    }
    page(req, lang, StatusCode::PAYLOAD_TOO_LARGE, Msg::ErrTooLargeTitle, Msg::ErrTooLargeText)
}

/// A translated error page for a request refused before any session is read.
fn page(req: &Request, lang: Lang, status: StatusCode, title: Msg, text: Msg) -> Response {
    let ctx = Ctx {
        lang,
        user: None,
        csrf_token: String::new(),
        path: req.uri().path().to_owned(),
        hx: false,
        write: false,
        client: String::new(),
        unread: 0,
        alerts: 0,
    };
    let body = html! {
        div.narrow { div.card {
            h1 { (lang.t(title)) }
            p { (lang.t(text)) }
            a.btn href="/" { (lang.t(Msg::BackHome)) }
        } }
    };
    let mut resp = layout::respond(status, layout::page(&ctx, lang.t(title), body));
    crate::security::add_security_headers(resp.headers_mut());
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_however_it_is_written() {
        assert!(encoded_has_nul(b"/t/%00/"));
        assert!(encoded_has_nul(b"a=1&b=x%00y"));
        assert!(encoded_has_nul(b"a\0b"));
        assert!(!encoded_has_nul(b"a=100%25&b=%2000"));
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(b"{\"a\":\"x\0\"}"));
        assert!(!json_has_nul(br#"{"a":"x\\u0000y"}"#), "an escaped backslash then text");
        assert!(!json_has_nul(br#"{"a":"\u00e9 100"}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
    }
}
