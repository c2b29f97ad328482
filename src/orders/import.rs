//! Bulk import: a CSV of up to 500 orders is uploaded, kept, previewed with every row's
//! problems next to the row, then the valid rows are created in one transaction. Parsing is
//! forgiving: `,` or `;`, French or English headers, UTF-8 (with or without BOM) or
//! Windows-1252 (what Excel writes in French locales), phones and quartiers as people type them.

use maud::{Markup, html};
use poem::{
    Response, handler,
    http::StatusCode,
    web::{Data, Multipart, Path},
};
use uuid::Uuid;

use crate::{
    accounts::guard,
    db::{Db, now_ms},
    i18n::{Lang, Msg},
    on_db,
    orders::{
        self, Draft,
        model::Role,
        pages::load_partner,
        service::{self, Actor, Source, ValidOrder},
    },
    partners::repo::Partner,
    state::AppState,
    text,
    web::{
        Ctx, PageResult,
        forms::FieldErrors,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub const MAX_ROWS: usize = 500;
pub const MAX_BYTES: usize = 1024 * 1024;

/// Which draft field a header names (folded: accents, case and punctuation ignored).
fn column_for(header: &str) -> Option<&'static str> {
    let key = text::match_key(header);
    let table: &[(&str, &[&str])] = &[
        (
            "recipient_name",
            &[
                "destinataire",
                "nom destinataire",
                "nom du destinataire",
                "recipient",
                "recipient name",
                "nom",
                "name",
                "client",
                "nom client",
            ],
        ),
        ("recipient_phone", &["telephone", "tel", "telephone destinataire", "phone", "recipient phone", "numero", "contact", "mobile"]),
        ("dropoff_city", &["ville", "city", "ville de livraison", "dropoff city", "ville livraison"]),
        (
            "dropoff_quartier",
            &["quartier", "quartier de livraison", "dropoff quartier", "neighbourhood", "neighborhood", "district", "quartier livraison"],
        ),
        ("dropoff_address", &["adresse", "address", "repere", "adresse de livraison", "landmark", "dropoff address", "adresse livraison"]),
        ("package_description", &["colis", "description", "package", "contenu", "article", "package description", "description du colis"]),
        ("size_class", &["taille", "size", "format", "size class"]),
        (
            "cod_amount",
            &["montant", "cod", "contre remboursement", "montant a encaisser", "cash on delivery", "amount", "cod amount", "montant cod"],
        ),
        ("courier_note", &["note", "instructions", "remarque", "note coursier", "courier note", "commentaire"]),
        ("pickup_city", &["ville de ramassage", "pickup city"]),
        ("pickup_quartier", &["quartier de ramassage", "pickup quartier"]),
        ("pickup_address", &["adresse de ramassage", "pickup address"]),
    ];
    table.iter().find(|(_, aliases)| aliases.contains(&key.as_str())).map(|(f, _)| *f)
}

/// The template's columns: each draft field under the header a vendor writes (French or
/// English; both are read back by [`column_for`]).
const TEMPLATE: &[(&str, &str, &str, &str)] = &[
    ("recipient_name", "Destinataire", "Recipient", "Paul Nkwi"),
    ("recipient_phone", "Téléphone", "Phone", "677 98 76 54"),
    ("dropoff_city", "Ville", "City", "Douala"),
    ("dropoff_quartier", "Quartier", "Quartier", "Makepe"),
    ("dropoff_address", "Adresse", "Address", "Carrefour Makepe, portail bleu"),
    ("package_description", "Colis", "Package", "Chaussures"),
    ("size_class", "Taille", "Size", "S"),
    ("cod_amount", "Montant à encaisser", "COD amount", "15000"),
    ("courier_note", "Note coursier", "Courier note", "Appeler avant"),
];

/// A field under the template's header, in `lang` (its name in messages to the vendor).
fn column_label(field: &str, lang: Lang) -> &'static str {
    TEMPLATE.iter().find(|(f, ..)| *f == field).map(|(_, fr, en, _)| if lang == Lang::Fr { *fr } else { *en }).unwrap_or(match lang {
        Lang::Fr => "Colonne",
        Lang::En => "Column",
    })
}

/// The vendor's own header for each field the file has (errors name the vendor's columns).
pub fn vendor_headers(content: &str) -> Vec<(&'static str, String)> {
    let Some(mut reader) = reader_of(content) else { return Vec::new() };
    let Ok(headers) = reader.headers() else { return Vec::new() };
    headers.iter().filter_map(|h| column_for(h).map(|f| (f, h.to_owned()))).collect()
}

/// How a row's problem names its column: the vendor's header, else the template's.
fn column_name<'a>(headers: &'a [(&'static str, String)], field: &str, lang: Lang) -> &'a str {
    headers.iter().find(|(f, _)| *f == field).map(|(_, h)| h.as_str()).unwrap_or_else(|| column_label(field, lang))
}

/// A reader of the CSV text, with the separator its first line uses (`;` or `,`); `None` for
/// a text without a line.
fn reader_of(content: &str) -> Option<csv::Reader<&[u8]>> {
    let first = content.lines().find(|l| !l.trim().is_empty())?;
    let delimiter = if first.matches(';').count() > first.matches(',').count() { b';' } else { b',' };
    Some(csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).trim(csv::Trim::All).from_reader(content.as_bytes()))
}

/// The template's header in `lang`.
fn template_header(lang: Lang) -> Vec<&'static str> {
    TEMPLATE.iter().map(|(f, ..)| column_label(f, lang)).collect()
}

/// The import template (the vendor's language: `;` and a BOM in French for Excel).
pub fn template_csv(lang: Lang) -> Vec<u8> {
    let example: Vec<&str> = TEMPLATE.iter().map(|(.., ex)| *ex).collect();
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut w = csv::WriterBuilder::new().delimiter(lang.csv_delimiter()).from_writer(Vec::new());
    let _ = w.write_record(template_header(lang));
    let _ = w.write_record(&example);
    out.extend(w.into_inner().unwrap_or_default());
    out
}

const REQUIRED: &[&str] =
    &["recipient_name", "recipient_phone", "dropoff_city", "dropoff_quartier", "dropoff_address", "package_description"];

/// Decode the upload: UTF-8 (BOM stripped) or Windows-1252. Binary and UTF-16 are refused.
pub fn decode(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s.to_owned()),
        Err(_) => Some(bytes.iter().map(|b| windows_1252(*b)).collect()),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•',
        '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// Why a whole file is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FileError {
    Empty,
    Encoding,
    TooLarge,
    TooManyRows(usize),
    MissingColumns(Vec<&'static str>),
    Malformed(usize),
}

impl FileError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            FileError::Empty => lang.t(Msg::ErrImportEmpty).to_owned(),
            FileError::Encoding => lang.t(Msg::ErrImportEncoding).to_owned(),
            FileError::TooLarge => lang.t(Msg::ErrImportTooLarge).to_owned(),
            FileError::TooManyRows(n) => lang.fmt(Msg::ErrImportTooManyRows, &[("n", &n.to_string()), ("max", &MAX_ROWS.to_string())]),
            FileError::MissingColumns(cols) => {
                let names: Vec<&str> = cols.iter().map(|c| column_label(c, lang)).collect();
                lang.fmt(Msg::ErrImportMissingColumns, &[("columns", &names.join(", "))])
            }
            FileError::Malformed(line) => lang.fmt(Msg::ErrImportMalformed, &[("line", &line.to_string())]),
        }
    }
}

/// Parse the text of a CSV into (line number, draft) rows.
pub fn parse(content: &str) -> Result<Vec<(usize, Draft)>, FileError> {
    let mut reader = reader_of(content).ok_or(FileError::Empty)?;
    let headers = reader.headers().map_err(|_| FileError::Malformed(1))?.clone();
    let columns: Vec<Option<&'static str>> = headers.iter().map(column_for).collect();
    let missing: Vec<&'static str> = REQUIRED.iter().copied().filter(|r| !columns.contains(&Some(*r))).collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|_| FileError::Malformed(line))?;
        if record.iter().all(|c| c.is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            // Count the rest to tell the vendor how many there were.
            let total = MAX_ROWS + 1 + reader.records().count();
            return Err(FileError::TooManyRows(total));
        }
        let mut d = Draft::default();
        for (value, column) in record.iter().zip(&columns) {
            let slot = match column {
                Some("recipient_name") => &mut d.recipient_name,
                Some("recipient_phone") => &mut d.recipient_phone,
                Some("dropoff_city") => &mut d.dropoff_city,
                Some("dropoff_quartier") => &mut d.dropoff_quartier,
                Some("dropoff_address") => &mut d.dropoff_address,
                Some("package_description") => &mut d.package_description,
                Some("size_class") => &mut d.size_class,
                Some("cod_amount") => &mut d.cod_amount,
                Some("courier_note") => &mut d.courier_note,
                Some("pickup_city") => &mut d.pickup_city,
                Some("pickup_quartier") => &mut d.pickup_quartier,
                Some("pickup_address") => &mut d.pickup_address,
                _ => continue,
            };
            // A cell our own CSVs protected from Excel ('=…, '+…) reads back as it was.
            let value = match value.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
                _ => value,
            };
            *slot = value.to_owned();
        }
        rows.push((line, d));
    }
    if rows.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(rows)
}

/// Every row validated: the order ready to create, or its problems.
pub async fn check_rows(
    db: &Db,
    lang: Lang,
    partner: &Partner,
    rows: &[(usize, Draft)],
) -> sqlx::Result<Vec<(usize, Draft, Result<ValidOrder, FieldErrors>)>> {
    let mut out = Vec::with_capacity(rows.len());
    for (line, d) in rows {
        out.push((*line, d.clone(), orders::validate(db, lang, partner, d).await?));
    }
    Ok(out)
}

fn upload_form(ctx: &Ctx, error: Option<&str>) -> Markup {
    html! {
        p { a href="/partners/orders/" { "← " (ctx.t(Msg::NavOrders)) } }
        h1 { (ctx.t(Msg::ImportCsv)) }
        @if let Some(e) = error { div.flash.err role="alert" { (e) } }
        form.card method="post" action=(format!("/partners/orders/import/?csrf={}", ctx.csrf_token)) enctype="multipart/form-data" hx-boost="false" {
            div.field {
                label for="file" { (ctx.t(Msg::ImportFile)) }
                input #file type="file" name="file" accept=".csv,text/csv" required;
                div.hint { (ctx.fmt(Msg::ImportHint, &[("max", &MAX_ROWS.to_string())])) }
            }
            button.btn type="submit" data-busy=(ctx.t(Msg::BusyChecking)) { (ctx.t(Msg::ImportPreview)) }
        }
        div.card {
            h2 { (ctx.t(Msg::ImportColumns)) }
            p { a.btn.secondary href="/partners/orders/import/template/" hx-boost="false" download { (ctx.t(Msg::ImportTemplate)) } }
            @let names = template_header(ctx.lang);
            p.small { code { (names.join(if ctx.lang == Lang::Fr { ";" } else { "," })) } }
            p.small.muted { (ctx.t(Msg::ImportColumnsText)) }
        }
    }
}

#[handler]
pub async fn import_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    load_partner(state, ctx).await?;
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::ImportCsv), upload_form(ctx, None))))
}

#[handler]
pub async fn upload(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, mut multipart: Multipart) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let refuse = |e: FileError| {
        Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::ImportCsv), upload_form(ctx, Some(&e.message(ctx.lang))))))
    };
    let mut content = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        // Read in chunks so that an oversized upload is refused without being kept in memory.
        let mut bytes = Vec::new();
        use tokio::io::AsyncReadExt;
        let mut reader = field.into_async_read();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = reader.read(&mut buf).await.map_err(|_| status_error(StatusCode::BAD_REQUEST))?;
            if n == 0 {
                break;
            }
            if bytes.len() + n > MAX_BYTES {
                return refuse(FileError::TooLarge);
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        content = Some(bytes);
    }
    let Some(bytes) = content.filter(|b| !b.is_empty()) else { return refuse(FileError::Empty) };
    let Some(text) = decode(&bytes) else { return refuse(FileError::Encoding) };
    if let Err(e) = parse(&text) {
        return refuse(e);
    }
    let id = Uuid::new_v4().to_string();
    on_db!(&state.db, pool => sqlx::query("INSERT INTO order_imports (id, partner_id, content, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(&partner.id)
        .bind(&text)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(redirect(&format!("/partners/orders/import/{id}/")))
}

async fn load_import(state: &AppState, partner: &Partner, id: &str) -> PageResult<(String, Option<i64>)> {
    if Uuid::parse_str(id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let row: Option<(String, Option<i64>)> = on_db!(&state.db, pool => sqlx::query_as("SELECT content, used_at FROM order_imports WHERE id = $1 AND partner_id = $2")
        .bind(id)
        .bind(&partner.id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

fn preview(
    ctx: &Ctx,
    id: &str,
    headers: &[(&'static str, String)],
    checked: &[(usize, Draft, Result<ValidOrder, FieldErrors>)],
    used: bool,
    created: Option<usize>,
) -> Markup {
    let valid = checked.iter().filter(|(_, _, r)| r.is_ok()).count();
    let invalid = checked.len() - valid;
    html! {
        p { a href="/partners/orders/import/" { "← " (ctx.t(Msg::ImportCsv)) } }
        h1 { (ctx.t(Msg::ImportPreviewTitle)) }
        @if used {
            div.flash.ok role="status" {
                @if let Some(n) = created { (ctx.fmt(Msg::ImportCreated, &[("n", &n.to_string())])) } @else { (ctx.t(Msg::ImportAlreadyDone)) }
                " " a href="/partners/orders/" { (ctx.t(Msg::NavOrders)) }
            }
            @if invalid > 0 {
                p.card {
                    (ctx.fmt(Msg::ImportIgnored, &[("n", &invalid.to_string())])) " "
                    a href=(format!("/partners/orders/import/{id}/ignored/")) hx-boost="false" download { (ctx.t(Msg::ImportIgnoredCsv)) }
                }
            }
        } @else {
            div.flash.(if invalid == 0 { "ok" } else { "warn" }) role="status" {
                (ctx.fmt(Msg::ImportSummary, &[("valid", &valid.to_string()), ("invalid", &invalid.to_string())]))
            }
        }
        ol.import-rows {
            @for (line, d, result) in checked {
                li.card.import-row.bad[result.is_err()] {
                    div.row.between {
                        strong { (ctx.fmt(Msg::ImportLine, &[("line", &line.to_string())])) " · " (d.recipient_name) }
                        @match result {
                            Ok(v) => {
                                span {
                                    @if v.quote.intercity { span.badge.warn { (ctx.t(Msg::IntercityFlag)) } " " }
                                    span.badge.ok { (ctx.t(Msg::ImportRowValid)) }
                                }
                            }
                            Err(_) => { span.badge.err { (ctx.t(Msg::ImportRowInvalid)) } }
                        }
                    }
                    div.small.muted { (d.recipient_phone) " · " (d.dropoff_quartier) ", " (d.dropoff_city) " · " (d.package_description) }
                    @if let Ok(v) = result { div.small { (crate::orders::pages::money_words(ctx, v.cod_amount.get(), v.quote.price.total.get())) } }
                    @if let Err(errors) = result {
                        ul.errors { @for f in errors.fields() { li.error { strong { (column_name(headers, f, ctx.lang)) } " : " (errors.get(f).unwrap_or_default()) } } }
                    }
                }
            }
        }
        @if !used && valid > 0 {
            form.card method="post" action=(format!("/partners/orders/import/{id}/")) {
                (csrf_field(ctx))
                p { (ctx.fmt(Msg::ImportConfirmText, &[("n", &valid.to_string())])) }
                button.btn type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.fmt(Msg::ImportConfirm, &[("n", &valid.to_string())])) }
            }
        }
    }
}

#[handler]
pub async fn preview_page(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    poem::web::Query(q): poem::web::Query<PreviewQuery>,
) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let (content, used_at) = load_import(state, &partner, &id).await?;
    let rows = parse(&content).map_err(|_| status_error(StatusCode::NOT_FOUND))?;
    let checked = check_rows(&state.db, ctx.lang, &partner, &rows).await?;
    let headers = vendor_headers(&content);
    let created = q.created.parse::<usize>().ok();
    let body = preview(ctx, &id, &headers, &checked, used_at.is_some(), created);
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::ImportPreviewTitle), body)))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PreviewQuery {
    created: String,
}

/// The rows an import left out, with what to fix, as a CSV to correct and import again.
#[handler]
pub async fn ignored_rows(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let (content, _) = load_import(state, &partner, &id).await?;
    let rows = parse(&content).map_err(|_| status_error(StatusCode::NOT_FOUND))?;
    let checked = check_rows(&state.db, ctx.lang, &partner, &rows).await?;
    let headers = vendor_headers(&content);
    let mut w = csv::WriterBuilder::new().delimiter(ctx.lang.csv_delimiter()).from_writer(Vec::new());
    let mut header = template_header(ctx.lang);
    // The pickup columns too (empty: the profile's pickup), so that the file imports as it was.
    header.extend(if ctx.lang == Lang::Fr {
        ["Ville de ramassage", "Quartier de ramassage", "Adresse de ramassage"]
    } else {
        ["Pickup city", "Pickup quartier", "Pickup address"]
    });
    header.push(ctx.t(Msg::ImportProblems));
    let _ = w.write_record(&header);
    for (_, d, result) in &checked {
        let Err(errors) = result else { continue };
        let problems: Vec<String> =
            errors.fields().map(|f| format!("{} : {}", column_name(&headers, f, ctx.lang), errors.get(f).unwrap_or_default())).collect();
        let record = [
            &d.recipient_name,
            &d.recipient_phone,
            &d.dropoff_city,
            &d.dropoff_quartier,
            &d.dropoff_address,
            &d.package_description,
            &d.size_class,
            &d.cod_amount,
            &d.courier_note,
            &d.pickup_city,
            &d.pickup_quartier,
            &d.pickup_address,
        ];
        let mut cells: Vec<String> = record.iter().map(|c| crate::orders::export::cell(c)).collect();
        cells.push(problems.join(" ; "));
        let _ = w.write_record(&cells);
    }
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(w.into_inner().unwrap_or_default());
    Ok(crate::web::csv_attachment(ctx.t(Msg::ImportIgnoredFile)).body(body))
}

/// The import template, in the vendor's language.
#[handler]
pub async fn template(Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    crate::accounts::guard::partner(ctx)?;
    Ok(crate::web::csv_attachment(ctx.t(Msg::ImportTemplateFile)).body(template_csv(ctx.lang)))
}

#[handler]
pub async fn confirm(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let user = guard::user(ctx)?;
    let (content, used_at) = load_import(state, &partner, &id).await?;
    if used_at.is_some() {
        return Ok(redirect(&format!("/partners/orders/import/{id}/")));
    }
    let rows = parse(&content).map_err(|_| status_error(StatusCode::NOT_FOUND))?;
    let checked = check_rows(&state.db, ctx.lang, &partner, &rows).await?;
    let valid: Vec<ValidOrder> = checked.into_iter().filter_map(|(_, _, r)| r.ok()).collect();
    if valid.is_empty() {
        return Err(status_error(StatusCode::UNPROCESSABLE_ENTITY).into());
    }
    let actor = Actor { role: Role::Vendor, user_id: Some(user.user_id.clone()) };
    let created = service::create_many(
        &state.db,
        &state.bus,
        &partner.id,
        Source::Import,
        &valid,
        &actor,
        now_ms(),
        Some(service::Once::Import(&id)),
    )
    .await?;
    tracing::info!(partner_id = %partner.id, created = created.len(), "orders imported");
    Ok(redirect(&format!("/partners/orders/import/{id}/?created={}", created.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_semicolon_headers_with_accents() {
        let csv = "Destinataire;Téléphone;Ville;Quartier;Adresse;Colis;Montant\nPaul Nkwi;677 98 76 54;Douala;Deïdo;Derrière la pharmacie;Chaussures;15 000\n";
        let rows = parse(csv).unwrap();
        assert_eq!(rows.len(), 1);
        let (line, d) = &rows[0];
        assert_eq!(*line, 2);
        assert_eq!((d.recipient_phone.as_str(), d.dropoff_quartier.as_str(), d.cod_amount.as_str()), ("677 98 76 54", "Deïdo", "15 000"));
    }

    #[test]
    fn english_comma_headers_and_quoted_fields() {
        let csv =
            "recipient,phone,city,neighbourhood,address,package\n\"Nkwi, Paul\",+237677987654,Yaoundé,Bastos,\"Gate 3, blue\",Shoes\n";
        let rows = parse(csv).unwrap();
        assert_eq!(rows[0].1.recipient_name, "Nkwi, Paul");
        assert_eq!(rows[0].1.dropoff_address, "Gate 3, blue");
    }

    #[test]
    fn whole_file_problems() {
        assert_eq!(parse("").err(), Some(FileError::Empty));
        assert_eq!(parse("a;b\n").err(), Some(FileError::MissingColumns(REQUIRED.to_vec())));
        let mut big = String::from("destinataire;telephone;ville;quartier;adresse;colis\n");
        for i in 0..10_000 {
            big.push_str(&format!("N{i};677987654;Douala;Akwa;Rue 1;Colis\n"));
        }
        assert_eq!(parse(&big).err(), Some(FileError::TooManyRows(10_000)));
    }

    #[test]
    fn encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFville").as_deref(), Some("ville"));
        // "Deïdo" in Windows-1252.
        assert_eq!(decode(b"De\xefdo").as_deref(), Some("Deïdo"));
        // UTF-16 (has NUL bytes) is refused.
        assert_eq!(decode(b"\xff\xfev\x00i\x00"), None);
    }
}
