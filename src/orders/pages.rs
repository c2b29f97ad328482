//! Vendor order pages: list (filters, keyset pagination, htmx partial swaps), new order form
//! (live quote), detail (timeline, pricing, PIN, cancel), and the quartier/quote fragments.

use chrono::NaiveDate;
use maud::{Markup, html};
use poem::{
    Request, Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::{
    accounts::{guard, phone::Phone},
    db::now_ms,
    geo,
    i18n::Msg,
    orders::{
        self, Draft,
        model::{Action, Role, Status},
        repo::{self, Cursor, Filter, Order, OrderLine},
        service::{self, Actor, OrderError, Source},
    },
    partners::repo::{self as partners, Partner},
    pricing::Size,
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{badge, format_datetime},
        confirm,
        forms::{FieldErrors, Input},
        internal,
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub const PAGE_SIZE: i64 = 20;
/// The list counts its results up to this many.
pub const COUNT_CAP: i64 = 1000;
/// htmx target of the list's results.
pub const RESULTS_ID: &str = "orders-results";
pub const QUOTE_ID: &str = "quote";

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/orders/", get(list_orders))
        .at("/partners/orders/new/", get(new_order_page).post(create_order))
        .at("/partners/orders/quote/", get(quote_fragment))
        .at("/partners/orders/quartiers/", get(quartier_fragment))
        .at("/partners/orders/export/", get(orders::export::export_orders))
        .at("/partners/orders/import/", get(orders::import::import_page).post(orders::import::upload))
        .at("/partners/orders/import/template/", get(orders::import::template))
        .at("/partners/orders/import/:id/", get(orders::import::preview_page).post(orders::import::confirm))
        .at("/partners/orders/import/:id/ignored/", get(orders::import::ignored_rows))
        .at("/partners/orders/labels/", get(labels_sheet))
        .at("/partners/orders/:id/", get(show_order))
        .at("/partners/orders/:id/live/", get(order_live))
        .at("/partners/orders/:id/row/", get(order_row_fragment))
        .at("/partners/orders/:id/label/", get(order_label))
        .at("/partners/orders/:id/cancel/", post(cancel_order))
        .at("/partners/orders/:id/reattempt/", post(reattempt_order))
        .at("/partners/orders/:id/return/", post(return_order))
}

pub async fn load_partner(state: &AppState, ctx: &Ctx) -> PageResult<Partner> {
    let p = guard::partner(ctx)?;
    Ok(partners::by_id(&state.db, &p.id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

pub fn status_badge(ctx: &Ctx, s: Status) -> Markup {
    badge(ctx.t(s.label()), s.tone())
}

pub(crate) fn size_label(ctx: &Ctx, s: Size) -> &'static str {
    ctx.t(match s {
        Size::S => Msg::SizeSmall,
        Size::M => Msg::SizeMedium,
        Size::L => Msg::SizeLarge,
    })
}

/// The list's query string, as typed; parsed into a [`Filter`] with per-field errors.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub status: String,
    pub from: String,
    pub to: String,
    pub city: String,
    pub quartier: String,
    pub sort: String,
    pub cursor: String,
}

impl ListQuery {
    /// The filter, and what was wrong with the query (ignored parts are reported, not fatal).
    pub fn to_filter(&self, ctx: &Ctx) -> (Filter, FieldErrors) {
        let mut errors = FieldErrors::default();
        let mut f = Filter { text: self.q.chars().take(100).collect(), newest_first: self.sort != "oldest", ..Filter::default() };
        match self.status.as_str() {
            "" => {}
            "active" => f.statuses = Status::ACTIVE.to_vec(),
            s => match Status::parse(s) {
                Some(st) => f.statuses = vec![st],
                None => errors.add("status", ctx.t(Msg::ErrChoice)),
            },
        }
        let date = |field: &'static str, value: &str, errors: &mut FieldErrors| -> Option<NaiveDate> {
            if value.trim().is_empty() {
                return None;
            }
            let d = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok();
            if d.is_none() {
                errors.add(field, ctx.t(Msg::ErrDate));
            }
            d
        };
        let from = date("from", &self.from, &mut errors);
        let to = date("to", &self.to, &mut errors);
        match (from, to) {
            (Some(a), Some(b)) if b < a => errors.add("to", ctx.t(Msg::ErrDateOrder)),
            _ => {
                f.from_ms = from.map(crate::douala::day_start);
                f.to_ms = to.and_then(|d| d.succ_opt()).map(|d| crate::douala::day_start(d) - 1);
            }
        }
        if !self.city.trim().is_empty() {
            match self.city.trim().parse::<i64>() {
                Ok(id) => f.city_id = Some(id),
                Err(_) => errors.add("city", ctx.t(Msg::ErrChoice)),
            }
        }
        if !self.quartier.trim().is_empty() {
            match self.quartier.trim().parse::<i64>() {
                Ok(id) => f.quartier_id = Some(id),
                Err(_) => errors.add("quartier", ctx.t(Msg::ErrChoice)),
            }
        }
        (f, errors)
    }

    /// The same query with another cursor (for the "next page" link).
    fn with_cursor(&self, cursor: &str) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
            ("city", &self.city),
            ("quartier", &self.quartier),
            ("sort", &self.sort),
            ("cursor", cursor),
        ];
        let kept: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }
}

/// An order's money in the vendor's words: what the customer pays at the door, the delivery
/// fee, and what the vendor receives ("Le client paie 25 000 FCFA · frais de livraison
/// −2 350 FCFA · vous recevez 22 650 FCFA"); with nothing to collect, the fee is the vendor's.
/// The platform's own split (commission, courier's net) is not the vendor's business.
pub fn money_words(ctx: &Ctx, cod: i64, fee: i64) -> Markup {
    use crate::money::format_fcfa;
    let net = cod - fee;
    html! {
        span.money {
            @if cod > 0 {
                span { (ctx.fmt(Msg::MoneyClientPays, &[("amount", &format_fcfa(cod))])) } " · "
                span { (ctx.fmt(Msg::MoneyFee, &[("amount", &format_fcfa(fee))])) } " · "
                @if net >= 0 {
                    strong { (ctx.fmt(Msg::MoneyYouReceive, &[("amount", &format_fcfa(net))])) }
                } @else {
                    strong { (ctx.fmt(Msg::MoneyYouPay, &[("amount", &format_fcfa(-net))])) }
                }
            } @else {
                span { (ctx.t(Msg::MoneyNothingToCollect)) } " · "
                strong { (ctx.fmt(Msg::MoneyFeeFromWallet, &[("amount", &format_fcfa(fee))])) }
            }
        }
    }
}

/// An order's money as it stands: cancelled, it costs nothing; failed or sent back, nothing was
/// collected and the fee was paid; otherwise what the customer pays and the vendor receives.
pub fn order_money_words(ctx: &Ctx, status: Status, cod: crate::money::Fcfa, fee: crate::money::Fcfa) -> Markup {
    match status {
        Status::Cancelled => html! { span.money { (ctx.t(Msg::MoneyCancelled)) } },
        Status::Failed | Status::Returning | Status::Returned => html! {
            span.money {
                span { (ctx.t(Msg::MoneyNotCollected)) } " · "
                strong { (ctx.fmt(Msg::MoneyFeeFromWallet, &[("amount", &crate::money::format_fcfa(fee.get()))])) }
            }
        },
        _ => money_words(ctx, cod.get(), fee.get()),
    }
}

/// The `hx-trigger` of what follows an order live: the page's stream names the order when it
/// changes (`order-<id>`), and a `refresh` of the stream asks every live part again.
fn live_trigger(id: &str) -> String {
    format!("sse:order-{id}, live-refresh")
}

fn order_row(ctx: &Ctx, o: &OrderLine) -> Markup {
    let (quartier, city) = o.dropoff_place();
    html! {
        // The row follows its order live (the tick is kept across).
        li.order-row.pickable #(format!("row-{}", o.id)) data-live hx-get=(format!("/partners/orders/{}/row/", o.id))
            hx-trigger=(live_trigger(&o.id)) hx-swap="outerHTML" {
            // Ticked rows print together as an A4 sheet of labels (the form below the list).
            label.pick { input #(format!("pick-{}", o.id)) hx-preserve type="checkbox" name="id" value=(o.id) form="labels-form" aria-label=(ctx.t(Msg::LabelsPick)); }
            a href=(format!("/partners/orders/{}/", o.id)) {
                span.tn { (o.tracking_number) }
                (status_badge(ctx, o.status))
                span.who { (o.recipient_name) " · " (quartier) ", " (city) }
                span.meta { (format_datetime(o.created_at, ctx.lang)) }
                span.meta { (order_money_words(ctx, o.status, o.cod_amount, o.price_total)) }
            }
        }
    }
}

async fn results(state: &AppState, ctx: &Ctx, partner_id: &str, query: &ListQuery, filter: &Filter) -> PageResult<Markup> {
    let cursor = Cursor::decode(&query.cursor);
    let repo::Page { orders: rows, next, total, more } =
        repo::list_counted(&state.db, partner_id, filter, cursor.as_ref(), PAGE_SIZE, COUNT_CAP).await?;
    let export_qs = ListQuery { cursor: String::new(), ..query.clone() }.with_cursor("");
    Ok(html! {
        div #(RESULTS_ID) {
            div.row.between {
                p.muted.small {
                    @if more { (ctx.fmt(Msg::ResultsCountMore, &[("n", &crate::web::components::format_int(COUNT_CAP))])) }
                    @else { (ctx.fmt(Msg::ResultsCount, &[("n", &total.to_string())])) }
                }
                span.small {
                    a href="/partners/orders/import/" { (ctx.t(Msg::ImportCsv)) } " · "
                    a href=(format!("/partners/orders/export/?{export_qs}")) hx-boost="false" download { (ctx.t(Msg::ExportCsv)) }
                }
            }
            @if rows.is_empty() {
                div.card { p.muted { (ctx.t(if total == 0 && filter.statuses.is_empty() && filter.text.is_empty() { Msg::NoOrdersYet } else { Msg::NoResults })) } }
            } @else {
                ul.orders { @for o in &rows { (order_row(ctx, o)) } }
                form #labels-form method="get" action="/partners/orders/labels/" hx-boost="false" target="_blank" {
                    button.btn.secondary type="submit" { (ctx.t(Msg::LabelsPrintChecked)) }
                }
            }
            nav.row aria-label=(ctx.t(Msg::Pagination)) {
                @if cursor.is_some() { a.btn.secondary href=(format!("/partners/orders/?{}", query.with_cursor(""))) { (ctx.t(Msg::FirstPage)) } }
                @if let Some(n) = next { a.btn.secondary href=(format!("/partners/orders/?{}", query.with_cursor(&n.encode()))) rel="next" { (ctx.t(Msg::Next)) } }
            }
        }
    })
}

/// The list's controls, orders first: a search box, status chips (radio buttons: one tap, and
/// the results follow), and the other filters folded in a "Filtres" panel, open when one of
/// them is set. Without JavaScript the form is sent with its buttons.
fn filters_form(
    ctx: &Ctx,
    query: &ListQuery,
    errors: &FieldErrors,
    cities: &[geo::City],
    quartiers: &[(String, Vec<geo::Quartier>)],
) -> Markup {
    let statuses: Vec<(String, Msg)> = std::iter::once(("".to_owned(), Msg::FilterAll))
        .chain(std::iter::once(("active".to_owned(), Msg::FilterActive)))
        .chain(Status::ALL.iter().map(|s| (s.as_str().to_owned(), s.label())))
        .collect();
    let err = |f: &str| errors.get(f).map(|e| html! { div.error role="alert" { (e) } });
    let more = [&query.city, &query.quartier, &query.from, &query.to].iter().filter(|v| !v.trim().is_empty()).count()
        + usize::from(query.sort == "oldest");
    let panel_open = more > 0 || ["city", "quartier", "from", "to"].iter().any(|f| errors.get(f).is_some());
    html! {
        form.orders-filters method="get" action="/partners/orders/" role="search"
            hx-get="/partners/orders/" hx-target=(format!("#{RESULTS_ID}")) hx-select=(format!("#{RESULTS_ID}")) hx-swap="outerHTML"
            hx-push-url="true" hx-trigger="submit, input changed delay:400ms from:#q, change from:#status-chips, change from:#city, change from:#quartier, change from:#from, change from:#to, change from:#sort"
            hx-sync="this:replace" {
            div.searchbar {
                label.sr for="q" { (ctx.t(Msg::Search)) }
                input #q type="search" name="q" value=(query.q) placeholder=(ctx.t(Msg::OrderSearchHint)) enterkeyhint="search";
                button.btn.secondary type="submit" { (ctx.t(Msg::Search)) }
            }
            fieldset.chips #status-chips {
                legend.sr { (ctx.t(Msg::FieldStatus)) }
                @for (value, label) in &statuses {
                    label.chip {
                        input type="radio" name="status" value=(value) checked[*value == query.status];
                        span { (ctx.t(*label)) }
                    }
                }
            }
            @if let Some(e) = err("status") { (e) }
            details.card.more-filters open[panel_open] {
                summary { (ctx.t(Msg::FiltersMore)) @if more > 0 { " " span.count { (more) } } }
                div.filters {
                    div {
                        label for="city" { (ctx.t(Msg::FieldCity)) }
                        select #city name="city" {
                            option value="" { (ctx.t(Msg::FilterAll)) }
                            @for c in cities { option value=(c.id) selected[c.id.to_string() == query.city] { (c.name) } }
                        }
                        @if let Some(e) = err("city") { (e) }
                    }
                    div {
                        label for="quartier" { (ctx.t(Msg::FieldQuartier)) }
                        select #quartier name="quartier" {
                            option value="" { (ctx.t(Msg::FilterAll)) }
                            @for (city, quartiers) in quartiers {
                                optgroup label=(city) {
                                    @for q in quartiers { option value=(q.id) selected[q.id.to_string() == query.quartier] { (q.name) } }
                                }
                            }
                        }
                        @if let Some(e) = err("quartier") { (e) }
                    }
                    div {
                        label for="from" { (ctx.t(Msg::FieldFrom)) }
                        input #from type="date" name="from" value=(query.from);
                        @if let Some(e) = err("from") { (e) }
                    }
                    div {
                        label for="to" { (ctx.t(Msg::FieldTo)) }
                        input #to type="date" name="to" value=(query.to);
                        @if let Some(e) = err("to") { (e) }
                    }
                    div {
                        label for="sort" { (ctx.t(Msg::FieldSort)) }
                        select #sort name="sort" {
                            option value="newest" selected[query.sort != "oldest"] { (ctx.t(Msg::SortNewest)) }
                            option value="oldest" selected[query.sort == "oldest"] { (ctx.t(Msg::SortOldest)) }
                        }
                    }
                    div.row {
                        button.btn.secondary type="submit" { (ctx.t(Msg::Filter)) }
                        a.small href="/partners/orders/" { (ctx.t(Msg::FiltersClear)) }
                    }
                }
            }
        }
    }
}

#[handler]
async fn list_orders(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Query(query): Query<ListQuery>,
    req: &Request,
) -> PageResult<Response> {
    // The session already names the approved partner: no need to load the profile here.
    let partner = guard::partner(ctx)?;
    let (filter, errors) = query.to_filter(ctx);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let results = results(state, ctx, &partner.id, &query, &filter).await?;
    // htmx asking for the results only: the fragment, not the page.
    let wants_fragment = req.header("hx-target") == Some(RESULTS_ID) && errors.is_empty();
    if wants_fragment {
        return Ok(respond(status, results));
    }
    let cities = geo::cities(&state.db).await?;
    let mut quartiers = Vec::with_capacity(cities.len());
    for c in &cities {
        quartiers.push((c.name.clone(), geo::quartiers_of(&state.db, c.id).await?));
    }
    let body = html! {
        div.row.between {
            h1 { (ctx.t(Msg::NavOrders)) }
            a.btn href="/partners/orders/new/" { "+ " (ctx.t(Msg::NewOrder)) }
        }
        (filters_form(ctx, &query, &errors, &cities, &quartiers))
        (results)
    };
    Ok(respond(status, page(ctx, ctx.t(Msg::NavOrders), body)))
}

/// The new-order form's values: a [`Draft`] plus the no-JavaScript refresh flag.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
struct OrderForm {
    #[serde(flatten)]
    draft: Draft,
    refresh: String,
}

pub(crate) async fn quartier_options(state: &AppState, city: &str) -> PageResult<Vec<(String, String)>> {
    Ok(match orders::resolve_city(&state.db, city).await? {
        Some(c) => geo::quartiers_of(&state.db, c.id).await?.into_iter().map(|q| (q.id.to_string(), q.name)).collect(),
        None => Vec::new(),
    })
}

/// A quartier `<select>` named `field`, for the chosen city, wrapped so htmx can swap it.
pub fn quartier_select(ctx: &Ctx, field: &'static str, options: &[(String, String)], selected: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get(field);
    html! {
        div.field.invalid[error.is_some()] #(format!("{field}-field")) {
            label for=(format!("f-{field}")) { (ctx.t(Msg::FieldQuartier)) }
            select #(format!("f-{field}")) name=(field) aria-invalid=[error.map(|_| "true")] {
                option value="" { (ctx.t(if options.is_empty() { Msg::ChooseCityFirst } else { Msg::ChooseQuartier })) }
                @for (value, text) in options { option value=(value) selected[value == selected] { (text) } }
            }
            @if let Some(e) = error { div.error role="alert" { (e) } }
        }
    }
}

pub(crate) fn city_select(
    ctx: &Ctx,
    field: &'static str,
    quartier_field: &'static str,
    cities: &[geo::City],
    selected: &str,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(field);
    html! {
        div.field.invalid[error.is_some()] {
            label for=(format!("f-{field}")) { (ctx.t(Msg::FieldCity)) }
            select #(format!("f-{field}")) name=(field)
                hx-get=(format!("/partners/orders/quartiers/?field={quartier_field}")) hx-trigger="change"
                hx-target=(format!("#{quartier_field}-field")) hx-swap="outerHTML" {
                option value="" { (ctx.t(Msg::ChooseCity)) }
                @for c in cities { option value=(c.id) selected[c.id.to_string() == selected] { (c.name) } }
            }
            @if let Some(e) = error { div.error role="alert" { (e) } }
        }
    }
}

/// The quote's content (price and distance, or what is missing); an intercity quote asks
/// for the vendor's confirmation.
async fn quote_inner(state: &AppState, ctx: &Ctx, partner: &Partner, draft: &Draft, errors: &FieldErrors) -> PageResult<Markup> {
    // The places and the size make the price; the other fields do not matter to it.
    let result = orders::quote(&state.db, ctx.lang, partner, orders::Route::of(draft)).await?;
    // With both places chosen, a refusal of the city is worth saying at once (an unserved route).
    let places_chosen = !draft.dropoff_city.trim().is_empty() && !draft.dropoff_quartier.trim().is_empty();
    let route_error = match &result {
        Err(e) if places_chosen => e.get("dropoff_city").or_else(|| errors.get("dropoff_city")).map(str::to_owned),
        _ => errors.get("dropoff_city").map(str::to_owned),
    };
    let quote = result.ok();
    let cities = match quote {
        Some(q) if q.intercity => {
            let name = |c: Option<geo::City>| c.map(|c| c.name).unwrap_or_default();
            let from = if draft.pickup_city.trim().is_empty() {
                partner.pickup_city_id.map(|c| c.to_string()).unwrap_or_default()
            } else {
                draft.pickup_city.clone()
            };
            Some((name(orders::resolve_city(&state.db, &from).await?), name(orders::resolve_city(&state.db, &draft.dropoff_city).await?)))
        }
        _ => None,
    };
    Ok(html! {
        h2 { (ctx.t(Msg::QuoteTitle)) }
        @if let Some(q) = quote {
            p.price { (q.price.total) @if q.intercity { " " span.badge.warn { (ctx.t(Msg::IntercityFlag)) } } }
            p.small { (money_words(ctx, crate::pricing::parse_fcfa(&draft.cod_amount).unwrap_or(0).max(0), q.price.total.get())) }
            p.small.muted { (ctx.fmt(Msg::QuoteDistance, &[("km", &ctx.lang.tenths((q.distance_m + 50) / 100))])) }
            @if let Some((from, to)) = &cities {
                div.field.invalid[errors.get("intercity_ok").is_some()] {
                    label.check {
                        input type="checkbox" name="intercity_ok" value="1" checked[draft.intercity_ok == "1"];
                        " " (ctx.fmt(Msg::IntercityConfirm, &[("from", from), ("to", to)]))
                    }
                    @if let Some(e) = errors.get("intercity_ok") { div.error role="alert" { (e) } }
                }
            }
        } @else {
            @if let Some(e) = &route_error { p.error role="alert" { (e) } }
            @else { p.muted { (ctx.t(Msg::QuoteChoosePlaces)) } }
        }
    })
}

/// The quote box: it stays in place and only its content is swapped, so that its listener on
/// the form is never lost between two changes.
async fn quote_box(state: &AppState, ctx: &Ctx, partner: &Partner, draft: &Draft, errors: &FieldErrors) -> PageResult<Markup> {
    let inner = quote_inner(state, ctx, partner, draft, errors).await?;
    Ok(html! {
        div.card.quote #(QUOTE_ID) aria-live="polite"
            hx-get="/partners/orders/quote/" hx-trigger="change from:#order-form" hx-include="#order-form" hx-swap="innerHTML"
            hx-sync="this:replace" data-loading=(ctx.t(Msg::QuoteLoading)) data-offline=(ctx.t(Msg::QuoteOffline)) {
            (inner)
        }
    })
}

async fn order_form(state: &AppState, ctx: &Ctx, partner: &Partner, form: &Draft, errors: &FieldErrors) -> PageResult<Markup> {
    let cities = geo::cities(&state.db).await?;
    let pickup_options = quartier_options(state, &form.pickup_city).await?;
    let dropoff_options = quartier_options(state, &form.dropoff_city).await?;
    let sizes: Vec<(String, String)> = Size::ALL.iter().map(|s| (s.as_str().to_owned(), size_label(ctx, *s).to_owned())).collect();
    let quote = quote_box(state, ctx, partner, form, errors).await?;
    Ok(html! {
        h1 { (ctx.t(Msg::NewOrder)) }
        @if !errors.is_empty() { div.flash.err role="alert" { (ctx.t(Msg::ErrFixBelow)) } }
        form #order-form method="post" action="/partners/orders/new/" novalidate {
            (csrf_field(ctx))
            div.card {
                h2 { (ctx.t(Msg::Recipient)) }
                div.grid2 {
                    (Input::new("recipient_name", ctx.t(Msg::FieldRecipientName), &form.recipient_name).autocomplete("off").render(errors))
                    (Input::new("recipient_phone", ctx.t(Msg::FieldPhone), &form.recipient_phone).kind("tel").inputmode("tel").hint(ctx.t(Msg::HintPhone)).render(errors))
                }
            }
            div.card {
                h2 { (ctx.t(Msg::Dropoff)) }
                div.grid2 {
                    (city_select(ctx, "dropoff_city", "dropoff_quartier", &cities, &form.dropoff_city, errors))
                    (quartier_select(ctx, "dropoff_quartier", &dropoff_options, &form.dropoff_quartier, errors))
                }
                (Input::new("dropoff_address", ctx.t(Msg::FieldPickupAddress), &form.dropoff_address).hint(ctx.t(Msg::HintAddress)).render(errors))
            }
            div.card {
                h2 { (ctx.t(Msg::Package)) }
                (Input::new("package_description", ctx.t(Msg::FieldPackage), &form.package_description).render(errors))
                div.grid2 {
                    (crate::web::forms::select("size_class", ctx.t(Msg::FieldSize), &sizes, if form.size_class.is_empty() { "S" } else { &form.size_class }, errors, html! {}))
                    (Input::new("cod_amount", ctx.t(Msg::FieldCod), &form.cod_amount).optional().inputmode("numeric").hint(ctx.t(Msg::HintCod)).render(errors))
                }
                div.field.invalid[errors.get("courier_note").is_some()] {
                    label for="f-courier_note" { (ctx.t(Msg::FieldCourierNote)) }
                    textarea #f-courier_note name="courier_note" rows="2" maxlength="300" { (form.courier_note) }
                    @if let Some(e) = errors.get("courier_note") { div.error role="alert" { (e) } }
                }
            }
            details.card open[errors.get("pickup_quartier").is_some() || errors.get("pickup_address").is_some() || errors.get("pickup_city").is_some()] {
                summary { (ctx.t(Msg::Pickup)) " — " (partner.pickup_address.clone().unwrap_or_default()) }
                div.grid2 {
                    (city_select(ctx, "pickup_city", "pickup_quartier", &cities, &form.pickup_city, errors))
                    (quartier_select(ctx, "pickup_quartier", &pickup_options, &form.pickup_quartier, errors))
                }
                (Input::new("pickup_address", ctx.t(Msg::FieldPickupAddress), &form.pickup_address).render(errors))
            }
            (quote)
            div.row {
                button.btn type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.t(Msg::CreateOrder)) }
                button.btn.secondary.nojs-only type="submit" name="refresh" value="1" formnovalidate { (ctx.t(Msg::RefreshQuote)) }
            }
        }
    })
}

/// The form prefilled with the partner's default pickup.
fn prefilled(partner: &Partner) -> Draft {
    Draft {
        pickup_city: partner.pickup_city_id.map(|c| c.to_string()).unwrap_or_default(),
        pickup_quartier: partner.pickup_quartier_id.map(|q| q.to_string()).unwrap_or_default(),
        pickup_address: partner.pickup_address.clone().unwrap_or_default(),
        dropoff_city: partner.pickup_city_id.map(|c| c.to_string()).unwrap_or_default(),
        size_class: "S".into(),
        ..Draft::default()
    }
}

#[handler]
async fn new_order_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let body = order_form(state, ctx, &partner, &prefilled(&partner), &FieldErrors::default()).await?;
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NewOrder), body)))
}

/// The key an offline draft carries (`Idempotency-Key`, sent by app.js when it sends drafts).
fn client_key(req: &poem::Request) -> PageResult<Option<String>> {
    match req.header("idempotency-key") {
        None => Ok(None),
        Some(k) if (8..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => Ok(Some(k.to_owned())),
        Some(_) => Err(status_error(StatusCode::BAD_REQUEST).into()),
    }
}

#[handler]
async fn create_order(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    req: &poem::Request,
    Form(form): Form<OrderForm>,
) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let key = client_key(req)?;
    if form.refresh == "1" {
        let body = order_form(state, ctx, &partner, &form.draft, &FieldErrors::default()).await?;
        return Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NewOrder), body)));
    }
    match orders::validate(&state.db, ctx.lang, &partner, &form.draft).await? {
        // Between two cities, the vendor confirms the route and its price first.
        Ok(valid) if valid.quote.intercity && form.draft.intercity_ok != "1" => {
            let mut errors = FieldErrors::default();
            errors.add("intercity_ok", ctx.t(Msg::ErrIntercityConfirm));
            let body = order_form(state, ctx, &partner, &form.draft, &errors).await?;
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::NewOrder), body)))
        }
        Ok(valid) => {
            let user = guard::user(ctx)?;
            let actor = Actor { role: Role::Vendor, user_id: Some(user.user_id.clone()) };
            let order =
                service::create_once(&state.db, &state.bus, &partner.id, Source::Portal, &valid, &actor, now_ms(), key.as_deref()).await?;
            Ok(redirect(&format!("/partners/orders/{}/?created=1", order.id)))
        }
        Err(errors) => {
            let body = order_form(state, ctx, &partner, &form.draft, &errors).await?;
            Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, page(ctx, ctx.t(Msg::NewOrder), body)))
        }
    }
}

#[handler]
async fn quote_fragment(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(draft): Query<Draft>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    Ok(respond(StatusCode::OK, quote_inner(state, ctx, &partner, &draft, &FieldErrors::default()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QuartierQuery {
    field: String,
    pickup_city: String,
    dropoff_city: String,
}

#[handler]
async fn quartier_fragment(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<QuartierQuery>) -> PageResult<Response> {
    guard::partner(ctx)?;
    let (field, city) = match q.field.as_str() {
        "pickup_quartier" => ("pickup_quartier", q.pickup_city),
        "dropoff_quartier" => ("dropoff_quartier", q.dropoff_city),
        _ => return Err(status_error(StatusCode::BAD_REQUEST).into()),
    };
    let options = quartier_options(state, &city).await?;
    Ok(respond(StatusCode::OK, quartier_select(ctx, field, &options, "", &FieldErrors::default())))
}

async fn load_order(state: &AppState, partner: &Partner, id: &str) -> PageResult<Order> {
    if uuid::Uuid::parse_str(id).is_err() && !crate::orders::model::is_tracking_number(&id.to_uppercase()) {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(repo::find_for_partner(&state.db, &partner.id, id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DetailQuery {
    created: String,
    cancelled: String,
    reattempted: String,
    returning: String,
}

#[allow(clippy::too_many_arguments)]
fn order_detail(
    ctx: &Ctx,
    after: orders::AfterFailure,
    o: &Order,
    timeline: &[repo::TimelineEvent],
    position: Option<repo::Position>,
    public_url: &str,
    flash: Option<Msg>,
    error: Option<&str>,
) -> Markup {
    html! {
        p { a href="/partners/orders/" { "← " (ctx.t(Msg::NavOrders)) } }
        @if let Some(f) = flash { div.flash.ok role="status" { (ctx.t(f)) } }
        @if let Some(e) = error { div.flash.err role="alert" { (e) } }
        (order_live_part(ctx, after, o, timeline, position, public_url))
    }
}

/// What of an order page follows the order live: status, choices, courier, position,
/// timeline; fetched again when the page's stream says the order changed.
fn order_live_part(
    ctx: &Ctx,
    after: orders::AfterFailure,
    o: &Order,
    timeline: &[repo::TimelineEvent],
    position: Option<repo::Position>,
    public_url: &str,
) -> Markup {
    let status = o.status();
    let can_cancel = crate::orders::model::check(status, &Action::Cancel { reason: String::new() }, Role::Vendor).is_ok();
    let tracking_url = format!("{public_url}/t/{}/", o.public_token);
    let phone = |p: &str| Phone::parse(p).map(|ph| ph.to_string()).unwrap_or_else(|| p.to_owned());
    html! {
        div #order-live data-live hx-get=(format!("/partners/orders/{}/live/", o.id)) hx-trigger=(live_trigger(&o.id)) hx-swap="outerHTML" {
        div.row.between {
            h1 { (o.tracking_number) }
            span {
                @if o.attempt > 1 { span.badge.warn { (ctx.fmt(Msg::AttemptNumber, &[("n", &o.attempt.to_string())])) } " " }
                (status_badge(ctx, status))
            }
        }
        @if o.pin_locked_at.is_some() { div.flash.err role="alert" { (ctx.t(Msg::PinLockedVendor)) } }
        @if status == Status::Failed {
            div.card #after-failure {
                h2 { (ctx.t(Msg::AfterFailureTitle)) }
                p.small.muted { (ctx.t(Msg::AfterFailureText)) }
                form method="post" action=(format!("/partners/orders/{}/reattempt/", o.id)) {
                    (csrf_field(ctx))
                    p { (ctx.fmt(Msg::ReattemptExplain, &[("n", &(o.attempt + 1).to_string()), ("fee", &crate::money::format_fcfa(after.reattempt_fee(o).get())), ("percent", &after.reattempt_percent.to_string())])) }
                    button.btn type="submit" { (ctx.t(Msg::ReattemptButton)) }
                }
                form method="post" action=(format!("/partners/orders/{}/return/", o.id)) {
                    (csrf_field(ctx))
                    p { (ctx.fmt(Msg::ReturnExplain, &[("fee", &crate::money::format_fcfa(after.return_fee(o).get())), ("percent", &after.return_percent.to_string())])) }
                    button.btn.secondary type="submit" { (ctx.t(Msg::ReturnButton)) }
                }
            }
        }
        @if let (Status::Returning, Some(code)) = (status, &o.return_code) {
            div.flash.warn role="status" #return-code {
                (ctx.t(Msg::ReturnCodeText)) " " strong.pin { (code) }
            }
        }
        p.card.money-line { (order_money_words(ctx, status, o.cod_amount, o.price_total)) }
        div.kpis {
            div.kpi { span.l { (ctx.t(Msg::MoneyFeeLabel)) } span.v { (o.price_total) } }
            div.kpi { span.l { (ctx.t(Msg::FieldCod)) } span.v { (o.cod_amount) } }
            div.kpi { span.l { (ctx.t(Msg::DeliveryPin)) } span.v.pin { (o.delivery_pin) } }
            div.kpi { span.l { (ctx.t(Msg::Distance)) } span.v { (ctx.lang.km(o.distance_m)) } }
        }
        div.card {
            h2 { (ctx.t(Msg::Recipient)) }
            dl.facts {
                dt { (ctx.t(Msg::FieldRecipientName)) } dd { (o.recipient_name) }
                dt { (ctx.t(Msg::FieldPhone)) } dd { a href=(format!("tel:{}", o.recipient_phone)) { (phone(&o.recipient_phone)) } }
                dt { (ctx.t(Msg::Dropoff)) } dd { (o.dropoff_quartier) ", " (o.dropoff_city) br; span.muted { (o.dropoff_address) } }
                dt { (ctx.t(Msg::Pickup)) } dd { (o.pickup_quartier) ", " (o.pickup_city) br; span.muted { (o.pickup_address) } }
                dt { (ctx.t(Msg::FieldPackage)) } dd { (o.package_description) " (" (o.size_class) ")" }
                @if let Some(n) = &o.courier_note { dt { (ctx.t(Msg::FieldCourierNote)) } dd { (n) } }
                dt { (ctx.t(Msg::Courier)) } dd {
                    @match (&o.courier_name, &o.courier_phone) {
                        (Some(n), Some(p)) => { (n) " · " a href=(format!("tel:{p}")) { (phone(p)) } }
                        (Some(n), None) => { (n) }
                        _ => { span.muted { (ctx.t(Msg::NotAssignedYet)) } }
                    }
                }
                // A new attempt's page does not repeat the last failure (the timeline keeps it).
                @if let (Some(r), Status::Failed | Status::Returning | Status::Returned) = (&o.failure_reason, status) { dt { (ctx.t(Msg::FailureReason)) } dd { (r) } }
                @if let Some(r) = &o.cancel_reason { dt { (ctx.t(Msg::CancelReason)) } dd { (r) } }
                @if status.in_progress() {
                    dt { (ctx.t(Msg::LastPosition)) }
                    dd #live-position data-eta=(ctx.t(Msg::TrackEta)) {
                        @if let Some(p) = position { (format!("{:.5}, {:.5}", p.lat, p.lng)) " · " (format_datetime(p.at, ctx.lang)) } @else { "—" }
                    }
                }
            }
        }
        // The page's stream brings this order's positions (app.js writes them above).
        @if status.in_progress() { div #order-position sse-swap="position" hidden data-order=(o.id) {} }
        div.card {
            h2 { (ctx.t(Msg::Timeline)) }
            ol.timeline {
                @for (i, e) in timeline.iter().enumerate() {
                    li {
                        strong { (ctx.t(if i > 0 && e.status == Status::Pending { Msg::TimelineReattempt } else { e.status.label() })) }
                        " · " span.muted { (format_datetime(e.at, ctx.lang)) }
                        @if let Some(n) = &e.note { br; span.small { (n) } }
                    }
                }
            }
        }
        div.card {
            h2 { (ctx.t(Msg::PublicTracking)) }
            p.small.muted { (ctx.t(Msg::PublicTrackingText)) }
            p { a href=(tracking_url) { (tracking_url) } }
            p { a.btn.secondary href=(format!("/partners/orders/{}/label/", o.id)) hx-boost="false" target="_blank" { (ctx.t(Msg::LabelPrint)) } }
        }
        @if can_cancel {
            form.card method="post" action=(format!("/partners/orders/{}/cancel/", o.id))
                data-confirm=(ctx.fmt(Msg::ConfirmCancelOrder, &[("tracking", &o.tracking_number)])) {
                (csrf_field(ctx))
                (confirm::field())
                h2 { (ctx.t(Msg::CancelOrder)) }
                (Input::new("reason", ctx.t(Msg::CancelReason), "").optional().render(&FieldErrors::default()))
                button.btn.danger type="submit" { (ctx.t(Msg::CancelOrder)) }
            }
        }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_detail(
    state: &AppState,
    ctx: &Ctx,
    panels: &OrderPanels,
    o: &Order,
    flash: Option<Msg>,
    error: Option<&str>,
    status: StatusCode,
) -> PageResult<Response> {
    let timeline = repo::timeline(&state.db, &o.id).await?;
    let position = repo::latest_position(&state.db, &o.id).await?;
    let after = orders::AfterFailure::of(&state.config);
    let body = order_detail(ctx, after, o, &timeline, position, &state.config.public_url(), flash, error);
    let mut below = Vec::with_capacity(panels.0.len());
    for panel in panels.0 {
        below.push(panel(state, ctx, o).await?);
    }
    Ok(respond(status, page(ctx, &o.tracking_number, html! { (body) @for p in &below { (p) } })))
}

/// The live part of an order page, fresh (the page's stream said the order changed).
#[handler]
async fn order_live(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let o = load_order(state, &partner, &id).await?;
    let timeline = repo::timeline(&state.db, &o.id).await?;
    let position = repo::latest_position(&state.db, &o.id).await?;
    let after = orders::AfterFailure::of(&state.config);
    Ok(respond(StatusCode::OK, order_live_part(ctx, after, &o, &timeline, position, &state.config.public_url())))
}

/// One row of the orders list, fresh.
#[handler]
async fn order_row_fragment(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let o = load_order(state, &partner, &id).await?;
    Ok(respond(StatusCode::OK, order_row(ctx, &OrderLine::from(&o))))
}

/// What other domains show under an order page (the disputes do), given by the composition:
/// orders sit below those domains and do not know them.
#[derive(Clone, Copy)]
pub struct OrderPanels(pub &'static [OrderPanel]);

/// One panel under the order page.
pub type OrderPanel = for<'a> fn(&'a AppState, &'a Ctx, &'a Order) -> crate::web::BoxFuture<'a, PageResult<Markup>>;

#[handler]
async fn show_order(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Data(panels): Data<&OrderPanels>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let order = load_order(state, &partner, &id).await?;
    let flash = if q.created == "1" {
        Some(Msg::OrderCreated)
    } else if q.cancelled == "1" {
        Some(Msg::OrderCancelled)
    } else if q.reattempted == "1" {
        Some(Msg::OrderReattempted)
    } else if q.returning == "1" {
        Some(Msg::OrderReturning)
    } else {
        None
    };
    render_detail(state, ctx, panels, &order, flash, None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CancelForm {
    reason: String,
    confirmed: String,
}

#[handler]
async fn cancel_order(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Data(panels): Data<&OrderPanels>,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let order = load_order(state, &partner, &id).await?;
    let user = guard::user(ctx)?;
    let actor = Actor { role: Role::Vendor, user_id: Some(user.user_id.clone()) };
    let reason: String = form.reason.trim().chars().take(200).collect();
    if !confirm::given(&form.confirmed) {
        let back = format!("/partners/orders/{}/", order.id);
        let ask = confirm::Ask {
            question: ctx.fmt(Msg::ConfirmCancelOrder, &[("tracking", &order.tracking_number)]),
            consequence: ctx.t(Msg::ConfirmCancelOrderText).to_owned(),
            yes: ctx.t(Msg::ConfirmCancelYes),
            back: &back,
        };
        return Ok(confirm::page_for(ctx, &ask, &format!("{back}cancel/"), &[("reason", &reason)]));
    }
    match service::transition(&state.db, &state.bus, &order, &Action::Cancel { reason }, &actor, now_ms()).await {
        Ok(_) => Ok(redirect(&format!("/partners/orders/{}/?cancelled=1", order.id))),
        Err(OrderError::Transition(e)) => {
            render_detail(state, ctx, panels, &order, None, Some(ctx.t(e.message())), StatusCode::CONFLICT).await
        }
        Err(OrderError::Conflict) => {
            let fresh = load_order(state, &partner, &id).await?;
            render_detail(state, ctx, panels, &fresh, None, Some(ctx.t(Msg::ErrOrderChanged)), StatusCode::CONFLICT).await
        }
        Err(e) => Err(internal(e).into()),
    }
}

/// The vendor's decision after a failed delivery: a new attempt or a return, each at the
/// configured fee (stated on the page), booked with it.
async fn after_failure(state: &AppState, ctx: &Ctx, panels: &OrderPanels, id: &str, reattempt: bool) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let order = load_order(state, &partner, id).await?;
    let user = guard::user(ctx)?;
    let actor = Actor { role: Role::Vendor, user_id: Some(user.user_id.clone()) };
    let policy = orders::AfterFailure::of(&state.config);
    let (action, done) = if reattempt { (policy.reattempt(&order), "reattempted") } else { (policy.send_back(&order), "returning") };
    match service::transition(&state.db, &state.bus, &order, &action, &actor, now_ms()).await {
        Ok(_) => Ok(redirect(&format!("/partners/orders/{}/?{done}=1", order.id))),
        Err(OrderError::Transition(e)) => {
            render_detail(state, ctx, panels, &order, None, Some(ctx.t(e.message())), StatusCode::CONFLICT).await
        }
        Err(OrderError::Conflict) => {
            let fresh = load_order(state, &partner, id).await?;
            render_detail(state, ctx, panels, &fresh, None, Some(ctx.t(Msg::ErrOrderChanged)), StatusCode::CONFLICT).await
        }
        Err(e) => Err(internal(e).into()),
    }
}

#[handler]
async fn reattempt_order(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Data(panels): Data<&OrderPanels>,
    Path(id): Path<String>,
) -> PageResult<Response> {
    after_failure(state, ctx, panels, &id, true).await
}

#[handler]
async fn return_order(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Data(panels): Data<&OrderPanels>,
    Path(id): Path<String>,
) -> PageResult<Response> {
    after_failure(state, ctx, panels, &id, false).await
}

/// A label, shown in the browser (printed from there), never cached.
fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    crate::web::pdf_file(&format!("{name}.pdf"), true).header(poem::http::header::CACHE_CONTROL, "private, no-store").body(bytes)
}

/// One order's A6 label.
#[handler]
async fn order_label(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let order = load_order(state, &partner, &id).await?;
    let label = orders::waybill::Label {
        tracking_url: format!("{}/t/{}/", state.config.public_url(), order.public_token),
        order: &order,
        vendor_phone: &partner.phone,
    };
    Ok(pdf_response(orders::waybill::single(&label, ctx.lang), &order.tracking_number))
}

/// The ticked orders' labels, four to an A4 page, in the order ticked.
#[handler]
async fn labels_sheet(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, req: &poem::Request) -> PageResult<Response> {
    let partner = load_partner(state, ctx).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.uri().query().unwrap_or_default()).unwrap_or_default();
    let ids: Vec<&str> = pairs.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.as_str()).collect();
    let refusal = if ids.is_empty() {
        Some(ctx.t(Msg::ErrLabelsNone).to_owned())
    } else if ids.len() > orders::waybill::MAX_LABELS {
        Some(ctx.fmt(Msg::ErrLabelsTooMany, &[("max", &orders::waybill::MAX_LABELS.to_string())]))
    } else {
        None
    };
    if let Some(why) = refusal {
        let body = html! {
            p { a href="/partners/orders/" { "← " (ctx.t(Msg::NavOrders)) } }
            div.flash.err role="alert" { (why) }
        };
        return Ok(respond(StatusCode::BAD_REQUEST, page(ctx, ctx.t(Msg::LabelsPrintChecked), body)));
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.push(load_order(state, &partner, id).await?);
    }
    let public = state.config.public_url();
    let labels: Vec<orders::waybill::Label<'_>> = found
        .iter()
        .map(|o| orders::waybill::Label { tracking_url: format!("{public}/t/{}/", o.public_token), order: o, vendor_phone: &partner.phone })
        .collect();
    Ok(pdf_response(orders::waybill::sheet(&labels, ctx.lang), "etiquettes"))
}
