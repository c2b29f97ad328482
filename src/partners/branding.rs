//! The vendor's public face: logo, brand colour and a message for customers, applied to the
//! booking page `/book/<slug>/` and to the public tracking page; and the slug itself, editable
//! here (an old slug keeps redirecting to the new one).

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Multipart, Path, Query},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{
    accounts::guard,
    auth::sessions::PartnerRef,
    db::{Db, is_unique_violation, now_ms},
    i18n::{Lang, Msg},
    media::{self, ImageError},
    on_db, on_tx,
    partners::repo::RESERVED_SLUGS,
    state::AppState,
    web::brand::{Brand, hex, parse_color},
    web::{
        Ctx, PageResult,
        forms::{FieldErrors, Input, clean, textarea},
        internal,
        layout::{page, respond},
        redirect, status_error,
    },
};

pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_MESSAGE: usize = 280;
/// WCAG AA for normal text: white text on the brand colour must reach 4.5:1.
pub const MIN_CONTRAST: f64 = 4.5;
/// Former slugs kept redirecting per vendor.
pub const MAX_OLD_SLUGS: i64 = 5;

pub fn routes(route: Route) -> Route {
    route.at("/partners/branding/", get(branding_page).post(save)).at("/partners/branding/preview/", get(preview_fragment))
}

#[derive(sqlx::FromRow)]
struct BrandRow {
    business_name: String,
    brand_color: Option<String>,
    brand_message: Option<String>,
    logo_hash: Option<String>,
    logo_content_type: Option<String>,
}

fn logo_url(hash: &str, content_type: &str) -> String {
    let ext = if content_type == "image/jpeg" { "jpg" } else { "png" };
    format!("/media/logos/{hash}.{ext}")
}

pub async fn of(db: &Db, partner_id: &str) -> sqlx::Result<Brand> {
    let row: Option<BrandRow> = on_db!(db, pool => sqlx::query_as(
        "SELECT business_name, brand_color, brand_message, logo_hash, logo_content_type FROM partners WHERE id = $1",
    )
    .bind(partner_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row
        .map(|r| Brand {
            name: r.business_name,
            color: r.brand_color,
            message: r.brand_message,
            logo_url: r.logo_hash.zip(r.logo_content_type).map(|(h, t)| logo_url(&h, &t)),
        })
        .unwrap_or_default())
}

/// WCAG relative luminance.
fn luminance(rgb: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
}

/// Contrast ratio of white text on this colour (1 to 21).
pub fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    1.05 / (luminance(rgb) + 0.05)
}

/// The same hue, darkened just enough for white text to be readable.
pub fn suggest(rgb: [u8; 3]) -> [u8; 3] {
    let mut c = rgb;
    for _ in 0..100 {
        if contrast_with_white(c) >= MIN_CONTRAST {
            break;
        }
        c = c.map(|v| (f64::from(v) * 0.95).floor() as u8);
    }
    c
}

/// A colour's problem, if any: unreadable hex, or too light for white text (with a suggestion).
pub fn check_color(lang: Lang, input: &str) -> Result<Option<String>, String> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    let Some(rgb) = parse_color(input) else { return Err(lang.t(Msg::ErrColor).to_owned()) };
    let ratio = contrast_with_white(rgb);
    if ratio < MIN_CONTRAST {
        let ratio = format!("{ratio:.1}");
        let ratio = if lang == Lang::Fr { ratio.replace('.', ",") } else { ratio };
        return Err(lang.fmt(Msg::ErrColorContrast, &[("ratio", &ratio), ("suggestion", &hex(suggest(rgb)))]));
    }
    Ok(Some(hex(rgb)))
}

/// A slug's problem, if any (format and reserved words; availability is checked on save).
pub fn check_slug(lang: Lang, input: &str) -> Result<String, String> {
    let s = input.trim().to_lowercase();
    let well_formed = (3..=50).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if !well_formed {
        return Err(lang.t(Msg::ErrSlugFormat).to_owned());
    }
    if RESERVED_SLUGS.contains(&s.as_str()) {
        return Err(lang.t(Msg::ErrSlugReserved).to_owned());
    }
    Ok(s)
}

/// The partner whose current or former slug this is: `(id, current slug)`.
pub async fn resolve_slug(db: &Db, slug: &str) -> sqlx::Result<Option<(String, String)>> {
    // A current slug wins over a former one (the branding page keeps them apart anyway).
    let row: Option<(String, String, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, slug, CAST(0 AS BIGINT) AS pri FROM partners WHERE slug = $1 \
         UNION ALL SELECT p.id, p.slug, CAST(1 AS BIGINT) AS pri FROM partner_old_slugs o JOIN partners p ON p.id = o.partner_id WHERE o.slug = $1 \
         ORDER BY pri LIMIT 1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(id, slug, _)| (id, slug)))
}

/// A validated branding change.
pub struct BrandingUpdate {
    pub color: Option<String>,
    pub message: Option<String>,
    pub slug: String,
    /// `Some(None)` removes the logo, `Some(Some(_))` replaces it.
    pub logo: Option<Option<media::Image>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("slug taken")]
    SlugTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Save the brand in one transaction. A new slug leaves the old one redirecting; a slug the
/// vendor used before may be taken back.
pub async fn save_branding(db: &Db, partner_id: &str, u: &BrandingUpdate) -> Result<(), SaveError> {
    let now = now_ms();
    let result: sqlx::Result<bool> = async {
        // SQLite: take the write lock first (a read-then-write transaction could not upgrade).
        let mut tx = db.begin().await?;
        let (current, color, message, logo): (String, Option<String>, Option<String>, Option<String>) = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT slug, brand_color, brand_message, logo_hash FROM partners WHERE id = $1",
        )
        .bind(partner_id)
        .fetch_one(&mut *c)
        .await)?;
        let was = serde_json::json!({"slug": current, "color": color, "message": message, "logo": logo.is_some()});
        if current != u.slug {
            let owner: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar(
                "SELECT id FROM partners WHERE slug = $1 UNION ALL SELECT partner_id FROM partner_old_slugs WHERE slug = $1",
            )
            .bind(&u.slug)
            .fetch_optional(&mut *c)
            .await)?;
            if owner.is_some_and(|o| o != partner_id) {
                return Ok(false);
            }
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM partner_old_slugs WHERE slug = $1 AND partner_id = $2").bind(&u.slug).bind(partner_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO partner_old_slugs (slug, partner_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING")
                .bind(&current)
                .bind(partner_id)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            // A vendor keeps their last few addresses, not an unbounded reserve of names.
            on_tx!(&mut tx, c => sqlx::query(
                "DELETE FROM partner_old_slugs WHERE partner_id = $1 AND slug NOT IN \
                 (SELECT slug FROM partner_old_slugs WHERE partner_id = $1 ORDER BY created_at DESC, slug LIMIT $2)",
            )
            .bind(partner_id)
            .bind(MAX_OLD_SLUGS)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET slug = $2, brand_color = $3, brand_message = $4, updated_at = $5 WHERE id = $1")
            .bind(partner_id)
            .bind(&u.slug)
            .bind(u.color.as_deref())
            .bind(u.message.as_deref())
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        match &u.logo {
            None => {}
            Some(None) => {
                on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET logo = NULL, logo_hash = NULL, logo_content_type = NULL WHERE id = $1")
                    .bind(partner_id)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
            Some(Some(img)) => {
                let digest = Sha256::digest(&img.bytes);
                let hash: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
                on_tx!(&mut tx, c => sqlx::query("UPDATE partners SET logo = $2, logo_hash = $3, logo_content_type = $4 WHERE id = $1")
                    .bind(partner_id)
                    .bind(&img.bytes)
                    .bind(&hash)
                    .bind(img.content_type)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        let now_is = serde_json::json!({
            "slug": u.slug, "color": u.color, "message": u.message,
            "logo": match &u.logo { None => logo.is_some(), Some(l) => l.is_some() },
        });
        let (before, after) = crate::audit::changed(&was, &now_is);
        // A new logo replacing another is a change the flags alone do not show.
        let (before, after) = match (&u.logo, after.is_empty()) {
            (Some(Some(_)), true) => (before, serde_json::Map::from_iter([("logo".to_owned(), serde_json::Value::from("replaced"))])),
            _ => (before, after),
        };
        if !after.is_empty() {
            let entry = crate::audit::Entry::new(crate::audit::Action::BrandingChanged, &u.slug).shop(partner_id).before(before).after(after);
            crate::audit::record(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => Ok(()),
        Ok(false) => Err(SaveError::SlugTaken),
        Err(e) if is_unique_violation(&e) => Err(SaveError::SlugTaken),
        Err(e) => Err(e.into()),
    }
}

/// The brand's header and message, as the public pages show them.
pub fn header_preview(ctx: &Ctx, brand: &Brand, slug_url: &str, problem: Option<&str>) -> Markup {
    let color = brand.color.clone().unwrap_or_else(|| "#0f6e55".to_owned());
    html! {
            div.brand-sample {
                div.brand-bar style=(format!("background:{color}")) {
                    @if let Some(url) = &brand.logo_url { img src=(url) alt="" width="32" height="32"; }
                    strong { (brand.name) }
                }
                div.brand-body {
                    @if let Some(m) = &brand.message { p.brand-message { (m) } }
                    span.btn style=(format!("background:{color};border-color:{color}")) { (ctx.t(Msg::BookSubmit)) }
                }
            }
            @if let Some(p) = problem { div.error { (p) } }
            p.small.muted { (ctx.t(Msg::BrandPublicAt)) " " a href=(slug_url) { (slug_url) } }
    }
}

#[derive(Default, Clone, Deserialize)]
#[serde(default)]
struct BrandForm {
    brand_color: String,
    brand_message: String,
    slug: String,
    /// A logo chosen with a form that had to be corrected: its (checked, re-encoded) bytes in
    /// base64, carried to the next submission so that it is not chosen again.
    #[serde(skip)]
    pending_logo: String,
}

/// Colours that read well under white text (WCAG AA), offered as swatches.
const SWATCHES: [&str; 8] = ["#0f6e55", "#1d4ed8", "#7c3aed", "#b42318", "#c2410c", "#0e7490", "#be185d", "#374151"];

fn form_view(state: &AppState, ctx: &Ctx, brand: &Brand, form: &BrandForm, errors: &FieldErrors, flash: bool) -> Markup {
    let base = format!("{}/book/", state.config.public_url());
    let slug_url = format!("{base}{}/", form.slug);
    let mut shown = brand.clone();
    shown.color = parse_color(&form.brand_color).map(hex).or(shown.color);
    shown.message = Some(form.brand_message.trim().to_owned()).filter(|m| !m.is_empty());
    let live = "#f-brand_color, #f-brand_message, #f-slug";
    html! {
        h1 { (ctx.t(Msg::NavBranding)) }
        p.muted { (ctx.t(Msg::BrandIntro)) }
        @if flash { div.flash.ok role="status" { (ctx.t(Msg::BrandSaved)) } }
        @if !errors.is_empty() { div.flash.err role="alert" { (ctx.t(Msg::ErrFixBelow)) } }
        div.grid2 {
            form.card method="post" action=(format!("/partners/branding/?csrf={}", ctx.csrf_token)) enctype="multipart/form-data" hx-boost="false" novalidate {
                div #brand-fields hx-get="/partners/branding/preview/" hx-trigger="input changed delay:300ms" hx-include=(live) hx-target="#brand-preview" hx-swap="innerHTML" {
                    div.field.invalid[errors.get("logo").is_some()] {
                        label for="f-logo" { (ctx.t(Msg::BrandLogo)) }
                        @if let Some(url) = &brand.logo_url { p { img.logo-current src=(url) alt=(ctx.t(Msg::BrandLogoCurrent)) width="64" height="64"; } }
                        input #f-logo type="file" name="logo" accept="image/jpeg,image/png,image/webp"
                            aria-describedby=(if errors.get("logo").is_some() { "f-logo-hint f-logo-err" } else { "f-logo-hint" })
                            aria-invalid=[errors.get("logo").map(|_| "true")];
                        div.hint #f-logo-hint { (ctx.fmt(Msg::BrandLogoHint, &[("mb", &(MAX_LOGO_BYTES >> 20).to_string())])) }
                        @if let Some(e) = errors.get("logo") { div.error #f-logo-err role="alert" { (e) } }
                        @if !form.pending_logo.is_empty() {
                            input type="hidden" name="pending_logo" value=(form.pending_logo);
                            p.small.flash.ok role="status" { (ctx.t(Msg::BrandLogoPending)) }
                        }
                        @if brand.logo_url.is_some() { label.check { input type="checkbox" name="remove_logo" value="1"; " " (ctx.t(Msg::BrandLogoRemove)) } }
                    }
                    (Input::new("brand_color", ctx.t(Msg::BrandColor), &form.brand_color).optional().hint(ctx.t(Msg::BrandColorHint)).render(errors))
                    // With JavaScript: swatches, the phone's own colour picker, and the contrast
                    // suggestion in one tap (each fills the field above; without, it is typed).
                    div.swatches.js-only role="group" aria-label=(ctx.t(Msg::BrandSwatches)) {
                        @for c in SWATCHES {
                            button.swatch type="button" data-color=(c) aria-label=(c) title=(c) style=(format!("background:{c}")) {}
                        }
                        label.picker title=(ctx.t(Msg::BrandPicker)) {
                            span.sr { (ctx.t(Msg::BrandPicker)) }
                            input type="color" data-color-picker value=(parse_color(&form.brand_color).map(hex).unwrap_or_else(|| "#0f6e55".to_owned()));
                        }
                    }
                    @if errors.get("brand_color").is_some() {
                        @if let Some(s) = parse_color(&form.brand_color).map(|rgb| hex(suggest(rgb))) {
                            p.js-only { button.btn.secondary type="button" data-color=(s) { (ctx.fmt(Msg::BrandUseSuggestion, &[("color", &s)])) } }
                        }
                    }
                    (textarea("brand_message", ctx.t(Msg::BrandMessage), &form.brand_message, MAX_MESSAGE, Some(ctx.t(Msg::BrandMessageHint)), errors))
                    (Input::new("slug", ctx.t(Msg::FieldSlug), &form.slug).hint(&ctx.fmt(Msg::BrandSlugHint, &[("base", &base)])).render(errors))
                }
                button.btn type="submit" data-busy=(ctx.t(Msg::BusySaving)) { (ctx.t(Msg::Save)) }
            }
            div.card {
                h2 { (ctx.t(Msg::BrandPreview)) }
                // The live region stays; htmx replaces what is inside it.
                div #brand-preview aria-live="polite" { (header_preview(ctx, &shown, &slug_url, None)) }
            }
        }
    }
}

/// The saved brand, as the form shows it (the session's partner carries the current slug).
async fn current_form(state: &AppState, partner: &PartnerRef) -> PageResult<(Brand, BrandForm)> {
    let brand = of(&state.db, &partner.id).await?;
    let form = BrandForm {
        brand_color: brand.color.clone().unwrap_or_default(),
        brand_message: brand.message.clone().unwrap_or_default(),
        slug: partner.slug.clone(),
        pending_logo: String::new(),
    };
    Ok((brand, form))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: String,
}

#[handler]
async fn branding_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<SavedQuery>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let (brand, form) = current_form(state, p).await?;
    let body = form_view(state, ctx, &brand, &form, &FieldErrors::default(), q.saved == "1");
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NavBranding), body)))
}

/// The live preview (htmx, as the vendor types): nothing is saved.
#[handler]
async fn preview_fragment(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(form): Query<BrandForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let mut brand = of(&state.db, &p.id).await?;
    let mut problems = Vec::new();
    match check_color(ctx.lang, &form.brand_color) {
        Ok(c) => brand.color = c,
        Err(e) => {
            brand.color = parse_color(&form.brand_color).map(hex);
            problems.push(e);
        }
    }
    brand.message = Some(form.brand_message.trim().chars().take(MAX_MESSAGE).collect::<String>()).filter(|m| !m.is_empty());
    let slug = match check_slug(ctx.lang, &form.slug) {
        Ok(s) => s,
        Err(e) => {
            problems.push(e);
            form.slug.trim().to_lowercase()
        }
    };
    let url = format!("{}/book/{slug}/", state.config.public_url());
    let problem = (!problems.is_empty()).then(|| problems.join(" "));
    Ok(respond(StatusCode::OK, header_preview(ctx, &brand, &url, problem.as_deref())))
}

#[handler]
async fn save(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, mut multipart: Multipart) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let mut form = BrandForm::default();
    let mut upload: Option<Result<Vec<u8>, ImageError>> = None;
    let mut remove_logo = false;
    while let Some(field) = media::next_field(&mut multipart).await? {
        match field.name() {
            Some("logo") => {
                let named = field.file_name().is_some_and(|n| !n.is_empty());
                match media::read_field(field, MAX_LOGO_BYTES).await {
                    Ok(b) if b.is_empty() && !named => {}
                    other => upload = Some(other),
                }
            }
            Some("pending_logo") => {
                let text = media::read_text(field, 2 * MAX_LOGO_BYTES).await?;
                if upload.is_none() && !text.trim().is_empty() {
                    // Checked again like any upload: the field comes from the browser.
                    upload = Some(
                        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim()).map_err(|_| ImageError::NotAnImage),
                    );
                }
            }
            Some(name @ ("brand_color" | "brand_message" | "slug" | "remove_logo")) => {
                let name = name.to_owned();
                let text = media::read_text(field, 8 * MAX_MESSAGE).await?;
                match name.as_str() {
                    "brand_color" => form.brand_color = text,
                    "brand_message" => form.brand_message = text,
                    "slug" => form.slug = text,
                    _ => remove_logo = text == "1",
                }
            }
            _ => {}
        }
    }
    let mut errors = FieldErrors::default();
    let color = check_color(ctx.lang, &form.brand_color).unwrap_or_else(|e| {
        errors.add("brand_color", e);
        None
    });
    let message = match clean(&form.brand_message, MAX_MESSAGE) {
        Ok(m) => Some(m).filter(|m| !m.is_empty()),
        Err(max) => {
            errors.add("brand_message", ctx.fmt(Msg::ErrTooLong, &[("max", &max.to_string())]));
            None
        }
    };
    // A slug made at sign-up under older rules stays acceptable as long as it is not changed.
    let slug = if form.slug.trim() == p.slug {
        p.slug.clone()
    } else {
        check_slug(ctx.lang, &form.slug).unwrap_or_else(|e| {
            errors.add("slug", e);
            String::new()
        })
    };
    let logo = match upload {
        None => remove_logo.then_some(None),
        Some(Err(e)) => {
            errors.add("logo", e.message(ctx.lang, MAX_LOGO_BYTES >> 20));
            None
        }
        Some(Ok(bytes)) => match media::off_thread(move || media::logo(&bytes, MAX_LOGO_BYTES)).await? {
            Ok(img) => Some(Some(img)),
            Err(e) => {
                errors.add("logo", e.message(ctx.lang, MAX_LOGO_BYTES >> 20));
                None
            }
        },
    };
    // A good logo waits for the corrected form instead of being chosen again.
    let pending = match &logo {
        Some(Some(img)) => base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &img.bytes),
        _ => String::new(),
    };
    if errors.is_empty() {
        match save_branding(&state.db, &p.id, &BrandingUpdate { color, message, slug, logo }).await {
            Ok(()) => return Ok(redirect("/partners/branding/?saved=1")),
            Err(SaveError::SlugTaken) => errors.add("slug", ctx.t(Msg::ErrSlugTaken)),
            Err(SaveError::Db(e)) => return Err(internal(e).into()),
        }
    }
    form.pending_logo = pending;
    let (brand, _) = current_form(state, p).await?;
    let body = form_view(state, ctx, &brand, &form, &errors, false);
    Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::NavBranding), body)))
}

/// A logo, by the hash of its bytes: the URL changes with the logo, so it is cached for good.
/// Mounted beside `/static`, outside the pages' middleware: no session, no cookie.
#[handler]
pub async fn serve_logo(Data(state): Data<&AppState>, Path(file): Path<String>) -> PageResult<Response> {
    let Some((hash, ext)) = file.split_once('.') else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    if hash.len() != 20 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || !matches!(ext, "png" | "jpg") {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let row: Option<(String, Vec<u8>)> = on_db!(&state.db, pool => sqlx::query_as(
        "SELECT logo_content_type, logo FROM partners WHERE logo_hash = $1 AND logo IS NOT NULL LIMIT 1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await)?;
    let Some((content_type, bytes)) = row else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .header("x-content-type-options", "nosniff")
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_contrast() {
        assert_eq!(parse_color("#0F6E55"), Some([0x0f, 0x6e, 0x55]));
        assert_eq!(parse_color("abc"), Some([0xaa, 0xbb, 0xcc]));
        assert_eq!(parse_color("#zzz"), None);
        assert_eq!(parse_color("#12345"), None);
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 0.01);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 0.01);
        // Yellow is unreadable under white text; the suggestion is a darker yellow that is.
        let s = suggest([0xff, 0xd7, 0x00]);
        assert!(contrast_with_white(s) >= MIN_CONTRAST);
        assert!(s[0] > s[2], "{s:?} keeps the hue");
        assert!(check_color(Lang::Fr, "#ffd700").is_err());
        assert_eq!(check_color(Lang::Fr, "#0F6E55"), Ok(Some("#0f6e55".to_owned())));
        assert_eq!(check_color(Lang::Fr, ""), Ok(None));
    }

    #[test]
    fn slugs_are_checked() {
        assert_eq!(check_slug(Lang::Fr, " Chez-Zoe "), Ok("chez-zoe".to_owned()));
        for bad in ["ab", "chez zoé", "-zoe", "zoe-", "a--b", "admin", "api", &"x".repeat(51)] {
            assert!(check_slug(Lang::Fr, bad).is_err(), "{bad}");
        }
    }
}
