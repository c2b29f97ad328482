//! The one page layout (mobile first), navigation, language switcher and error pages.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use poem::{IntoResponse, Response, http::StatusCode};

use crate::{
    auth::Role,
    i18n::{Lang, Msg},
    web::brand::Brand,
    web::{CSRF_FIELD, Ctx, assets},
};

/// htmx configuration: swap 422 (invalid form) and 429 bodies like successes, keep inline
/// styles off (CSP), no eval.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"429","swap":true},{"code":"403","swap":true},{"code":"[45]..","swap":false,"error":true}]}"#;

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf_token); }
}

struct NavItem {
    href: &'static str,
    label: Msg,
}

/// The places a role reaches most, first: on a phone they are the tab bar (with "Plus" for
/// the rest), on a wide screen the same order in one row.
const TABS: usize = 4;

/// Inline icons for the tab bar (24×24 strokes, `currentColor`).
fn icon(href: &str) -> &'static str {
    match href {
        "/partners/dashboard/" | "/partners/pending/" => r#"<path d="M3 11l9-7 9 7v9a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z"/>"#,
        "/partners/orders/" | "/admin/orders/" => r#"<path d="M4 7l8-4 8 4v10l-8 4-8-4z"/><path d="M4 7l8 4 8-4M12 11v10"/>"#,
        "/partners/tracking/" => r#"<path d="M12 21s-7-6.2-7-11a7 7 0 0 1 14 0c0 4.8-7 11-7 11z"/><circle cx="12" cy="10" r="2.5"/>"#,
        "/partners/wallet/" | "/admin/payouts/" => r#"<rect x="3" y="6" width="18" height="13" rx="2"/><path d="M3 10h18M16 15h2"/>"#,
        "/admin/partners/" => {
            r#"<path d="M4 20v-1a5 5 0 0 1 10 0v1M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM16 11a3 3 0 1 0 0-6M20 20v-1a4 4 0 0 0-3-3.9"/>"#
        }
        "/admin/couriers/" => r#"<circle cx="6" cy="17" r="3"/><circle cx="18" cy="17" r="3"/><path d="M6 17l4-7h5l3 7M10 10l-2-3H5"/>"#,
        "/partners/profile/" => r#"<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>"#,
        _ => r#"<circle cx="5" cy="12" r="1.5"/><circle cx="12" cy="12" r="1.5"/><circle cx="19" cy="12" r="1.5"/>"#,
    }
}

fn svg_icon(href: &str) -> Markup {
    html! {
        svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"
            stroke-linejoin="round" aria-hidden="true" { (PreEscaped(icon(href))) }
    }
}

/// Is `href` the current place?
fn current(ctx: &Ctx, href: &str) -> bool {
    ctx.path.starts_with(href)
}

/// The logout button (a form: it changes state).
fn logout(ctx: &Ctx) -> Markup {
    html! {
        form method="post" action="/accounts/logout/" hx-boost="false" data-ends-session {
            (csrf_field(ctx))
            button type="submit" { (ctx.t(Msg::NavLogout)) }
        }
    }
}

/// A navigation link; the map page loads its own stylesheet and script (a full navigation).
fn nav_link(ctx: &Ctx, item: &NavItem, body: Markup) -> Markup {
    html! {
        a href=(item.href) aria-current=[current(ctx, item.href).then_some("page")]
            hx-boost=[(item.href == "/partners/tracking/").then_some("false")] { (body) }
    }
}

/// The admin's count of deliveries waiting for them, beside "Commandes".
fn alerts(ctx: &Ctx, item: &NavItem) -> Markup {
    html! { @if item.href == "/admin/orders/" && ctx.alerts > 0 { " " span.count title=(ctx.t(Msg::PinLockedTab)) { (ctx.alerts) } } }
}

/// The phone's navigation: a tab bar at the bottom with the most used places and "Plus",
/// which opens the others as a sheet (a `details` element: it works without JavaScript).
/// The current place is always marked: its tab, or "Plus" showing its name.
fn tab_bar(ctx: &Ctx, items: &[NavItem]) -> Markup {
    let (tabs, more) = items.split_at(items.len().min(TABS));
    let current_more = more.iter().find(|i| current(ctx, i.href));
    html! {
        nav.tabbar aria-label=(ctx.t(Msg::NavLabel)) {
            ul {
                @for item in tabs {
                    // The dashboard's tab says "Accueil": the tab is narrow, the page's title says the rest.
                    @let label = if item.label == Msg::NavDashboard { Msg::NavHome } else { item.label };
                    li { (nav_link(ctx, item, html! { (svg_icon(item.href)) span.tl { (ctx.t(label)) } (alerts(ctx, item)) })) }
                }
                li {
                    details.more {
                        summary aria-current=[current_more.map(|_| "page")] {
                            (svg_icon("more"))
                            span.tl { @if let Some(c) = current_more { (ctx.t(c.label)) } @else { (ctx.t(Msg::NavMore)) } }
                        }
                        div.sheet {
                            ul {
                                @for item in more { li { (nav_link(ctx, item, html! { (ctx.t(item.label)) (alerts(ctx, item)) })) } }
                                li { (logout(ctx)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The bell in the top bar: notifications and the live unread count, on every page.
fn bell(ctx: &Ctx) -> Markup {
    html! {
        a.bell href="/partners/notifications/" aria-current=[current(ctx, "/partners/notifications/").then_some("page")]
            title=(ctx.t(Msg::NavNotifications)) {
            svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" aria-hidden="true" {
                path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0" {}
            }
            span.sr { (ctx.t(Msg::NavNotifications)) }
            span sse-swap="badge" { (super::components::unread_badge(ctx.unread)) }
        }
    }
}

fn nav_items(ctx: &Ctx) -> Vec<NavItem> {
    let Some(user) = &ctx.user else { return Vec::new() };
    match user.role {
        Role::Admin => vec![
            NavItem { href: "/admin/partners/", label: Msg::NavAdminPartners },
            NavItem { href: "/admin/orders/", label: Msg::NavOrders },
            NavItem { href: "/admin/couriers/", label: Msg::NavCouriers },
            NavItem { href: "/admin/payouts/", label: Msg::NavPayouts },
            NavItem { href: "/admin/disputes/", label: Msg::NavDisputes },
            NavItem { href: "/admin/tariffs/", label: Msg::NavTariffs },
            NavItem { href: "/admin/messages/", label: Msg::NavMessages },
        ],
        Role::Business => {
            let approved = user.partner.as_ref().is_some_and(|p| p.approved);
            let mut items = Vec::new();
            if approved {
                items.push(NavItem { href: "/partners/dashboard/", label: Msg::NavDashboard });
                items.push(NavItem { href: "/partners/orders/", label: Msg::NavOrders });
                items.push(NavItem { href: "/partners/tracking/", label: Msg::NavTracking });
                items.push(NavItem { href: "/partners/wallet/", label: Msg::NavWallet });
                items.push(NavItem { href: "/partners/bookings/", label: Msg::NavBookings });
                items.push(NavItem { href: "/partners/analytics/", label: Msg::NavAnalytics });
                items.push(NavItem { href: "/partners/invoices/", label: Msg::NavInvoices });
                items.push(NavItem { href: "/partners/disputes/", label: Msg::NavDisputes });
                items.push(NavItem { href: "/partners/notifications/", label: Msg::NavNotifications });
                items.push(NavItem { href: "/partners/api-keys/", label: Msg::NavApi });
                items.push(NavItem { href: "/partners/webhooks/", label: Msg::NavWebhooks });
                items.push(NavItem { href: "/partners/branding/", label: Msg::NavBranding });
                items.push(NavItem { href: "/partners/team/", label: Msg::NavTeam });
                items.push(NavItem { href: "/partners/audit/", label: Msg::NavAudit });
            } else {
                items.push(NavItem { href: "/partners/pending/", label: Msg::NavPending });
            }
            items.push(NavItem { href: "/partners/profile/", label: Msg::NavProfile });
            // Only what the member's role opens (the same table the pages check).
            let role = user.partner.as_ref().map(|p| p.role);
            items.retain(|i| role.is_some_and(|r| r.can(crate::auth::policy::page(i.href, false))));
            items
        }
        Role::Courier => Vec::new(),
    }
}

fn lang_switcher(ctx: &Ctx) -> Markup {
    html! {
        // A full navigation, not a boosted swap: the language changes the whole document.
        form.langs method="post" action="/lang/" hx-boost="false" {
            (csrf_field(ctx))
            input type="hidden" name="next" value=(ctx.path);
            @for lang in Lang::ALL {
                button type="submit" name="lang" value=(lang.code()) aria-pressed=(if lang == ctx.lang { "true" } else { "false" })
                    lang=(lang.code()) title=(lang.t(Msg::LanguageName)) {
                    (lang.code().to_uppercase())
                }
            }
        }
    }
}

/// A full HTML page in the portal layout.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    page_with(ctx, title, body, Extras::default())
}

/// The browser's theme colour: the vendor's on their public pages.
fn theme_color(brand: Option<&Brand>) -> Markup {
    let color = brand.and_then(|b| b.color.clone()).unwrap_or_else(|| "#0f6e55".to_owned());
    html! { meta name="theme-color" content=(color); }
}

/// The brand's colours, after the stylesheet so that they win (the colour is a checked hex).
fn brand_style(brand: Option<&Brand>) -> Markup {
    html! { @if let Some(css) = brand.and_then(Brand::css) { style { (PreEscaped(css)) } } }
}

fn brand_mark(brand: &Brand) -> Markup {
    html! {
        span.logo.brand {
            @if let Some(url) = &brand.logo_url { img src=(url) alt="" width="28" height="28"; }
            (brand.name)
        }
    }
}

/// A full HTML page in the portal layout, in a vendor's colours when `brand` is given (the
/// booking page).
pub fn branded_page(ctx: &Ctx, title: &str, body: Markup, brand: Option<&Brand>) -> Markup {
    page_with(ctx, title, body, Extras { brand, map: false })
}

/// What a page adds to the layout.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    /// A vendor's colours and logo (public pages).
    pub brand: Option<&'a Brand>,
    /// The tracking map: Leaflet in the page's one stylesheet and one script.
    pub map: bool,
}

/// The favicon, inline: one request fewer on every first visit (encoded once).
fn favicon() -> &'static str {
    static URI: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URI.get_or_init(|| {
        let svg = assets::ICON_SVG.trim().replace('#', "%23").replace('"', "'").replace('<', "%3C").replace('>', "%3E");
        format!("data:image/svg+xml,{svg}")
    })
}

/// A full HTML page in the portal layout. Each page loads one stylesheet and one script (both
/// immutable), plus the web app manifest.
pub fn page_with(ctx: &Ctx, title: &str, body: Markup, extras: Extras<'_>) -> Markup {
    let brand = extras.brand;
    let items = nav_items(ctx);
    let live = ctx.user.as_ref().and_then(|u| u.partner.as_ref()).is_some_and(|p| p.approved);
    let (css, js) = match (extras.map, live) {
        (true, _) => ("map.css", "map.js"),
        (false, true) => ("app.css", "live.js"),
        (false, false) => ("app.css", "portal.js"),
    };
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · DELIVR-CM" }
                (theme_color(brand))
                meta name="htmx-config" content=(HTMX_CONFIG);
                link rel="icon" href=(favicon()) type="image/svg+xml";
                link rel="manifest" href=(super::pwa::manifest_url(ctx.lang));
                link rel="stylesheet" href=(assets::url(css));
                (brand_style(brand))
                script src=(assets::url(js)) defer {}
            }
            // Approved vendors keep one event stream open: the body survives boosted navigation.
            body.tabbed[ctx.user.is_some()] hx-boost="true" hx-headers=(format!(r#"{{"X-CSRF-Token":"{}"}}"#, ctx.csrf_token))
                hx-ext=[live.then_some("sse")] sse-connect=[live.then_some("/partners/notifications/stream/")] {
                a.skip href="#main" { (ctx.t(Msg::SkipToContent)) }
                header.top {
                    div.top-in {
                        @if let Some(b) = brand { (brand_mark(b)) } @else {
                            a.logo href="/" { span.mark aria-hidden="true" { (PreEscaped(assets::ICON_SVG.trim())) } "DELIVR-CM" }
                        }
                        span.spacer {}
                        @if live { (bell(ctx)) }
                        (lang_switcher(ctx))
                    }
                }
                @if ctx.user.is_some() {
                    // Wide screens: every place in one row.
                    nav.nav aria-label=(ctx.t(Msg::NavLabel)) {
                        ul {
                            @for item in &items {
                                li { (nav_link(ctx, item, html! { (ctx.t(item.label)) (alerts(ctx, item)) })) }
                            }
                            li { (logout(ctx)) }
                        }
                    }
                    (tab_bar(ctx, &items))
                }
                main #main { (body) }
                footer { "DELIVR-CM · " (ctx.t(Msg::FooterTagline)) }
                // What app.js says about orders drafted offline.
                @if live {
                    // The stream's `ended` event (the session is over): app.js goes to the login page.
                    div #session-end hidden sse-swap="ended" {}
                    // The stream's `refresh` (it could not resume where the page left it): app.js
                    // fetches the page's live parts again.
                    div #stream-refresh hidden sse-swap="refresh" {}
                    div #offline-texts hidden data-queued=(ctx.t(Msg::OfflineQueued)) data-sent=(ctx.t(Msg::OfflineSent))
                        data-see=(ctx.t(Msg::OfflineSee)) data-failed=(ctx.t(Msg::OfflineFailed)) data-resume=(ctx.t(Msg::OfflineResume))
                        data-login=(ctx.t(Msg::OfflineLogin)) {}
                }
            }
        }
    }
}

/// A page for the vendor's customers (public tracking and booking): the portal's look without
/// htmx or the portal's scripts, so that it stays a few kilobytes on a 2G connection.
pub fn public_page(ctx: &Ctx, title: &str, body: Markup, script: Option<&str>, brand: Option<&Brand>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · DELIVR-CM" }
                (theme_color(brand))
                link rel="stylesheet" href=(assets::url("app.css"));
                (brand_style(brand))
                @if let Some(s) = script { script src=(assets::url(s)) defer {} }
            }
            body {
                header.top {
                    div.top-in {
                        @if let Some(b) = brand { (brand_mark(b)) } @else { span.logo { "DELIVR-CM" } }
                        span.spacer {}
                        (lang_switcher(ctx))
                    }
                }
                main #main { (body) }
                footer { "DELIVR-CM · " (ctx.t(Msg::FooterTagline)) }
            }
        }
    }
}

/// A page response with a status code.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// The translated page for an error status.
pub fn error_page(ctx: &Ctx, status: StatusCode) -> Response {
    let (title, text) = match status.as_u16() {
        400 => (Msg::ErrBadRequestTitle, Msg::ErrBadRequestText),
        403 => (Msg::ErrForbiddenTitle, Msg::ErrForbiddenText),
        404 | 405 => (Msg::ErrNotFoundTitle, Msg::ErrNotFoundText),
        413 => (Msg::ErrTooLargeTitle, Msg::ErrTooLargeText),
        429 => (Msg::ErrTooManyTitle, Msg::ErrTooManyText),
        503 => (Msg::ErrUnavailableTitle, Msg::ErrUnavailableText),
        _ => (Msg::ErrServerTitle, Msg::ErrServerText),
    };
    let status = if status == StatusCode::METHOD_NOT_ALLOWED { StatusCode::NOT_FOUND } else { status };
    let body = html! {
        div.narrow {
            div.card {
                h1 { (ctx.t(title)) }
                p { (ctx.t(text)) }
                p.muted.small { (PreEscaped("HTTP ")) (status.as_u16()) }
                a.btn href="/" { (ctx.t(Msg::BackHome)) }
            }
        }
    };
    respond(status, page(ctx, ctx.t(title), body))
}
