//! The vendor's dashboard: the day's figures, the wallet, the delivery rate, the latest orders,
//! the API keys and the booking link. It composes several domains, so it sits above them.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    web::{Data, Form},
};
use serde::Deserialize;

use crate::{
    accounts::guard,
    analytics, api_keys,
    auth::Capability,
    i18n::Msg,
    orders, partners,
    state::AppState,
    wallet,
    web::{
        Ctx, PageResult,
        components::Fcfa,
        layout::{page, respond},
        status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/partners/dashboard/", get(dashboard)).at("/partners/dashboard/api-key/", poem::post(create_key))
}

/// Start of today and of this month in Douala, in ms since the epoch.
pub fn douala_day_and_month_start(now_ms: i64) -> (i64, i64) {
    use chrono::Datelike;
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now_ms).unwrap_or_default().with_timezone(&crate::douala::douala());
    let today = now.date_naive();
    let first = today.with_day(1).unwrap_or(today);
    (crate::douala::day_start(today), crate::douala::day_start(first))
}

#[handler]
async fn dashboard(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    render(state, ctx, KeyCard::default(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyForm {
    name: String,
}

/// The API key card's state: a key just created (shown once), or the form's error.
#[derive(Default)]
struct KeyCard {
    created: Option<String>,
    name: String,
    errors: crate::web::forms::FieldErrors,
}

/// The specification puts key generation on the dashboard: the key is shown here, once.
#[handler]
async fn create_key(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<KeyForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let mut errors = crate::web::forms::FieldErrors::default();
    let name = crate::accounts::pages::required_text(ctx, &mut errors, "name", &form.name, 60);
    if !errors.is_empty() {
        return render(state, ctx, KeyCard { created: None, name: form.name, errors }, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let user = guard::user(ctx)?;
    let new = api_keys::create_as(&state.db, &p.id, &name, Some(&user.user_id), p.role)
        .await?
        .ok_or_else(|| status_error(StatusCode::FORBIDDEN))?;
    render(state, ctx, KeyCard { created: Some(new.secret), ..KeyCard::default() }, StatusCode::OK).await
}

async fn render(state: &AppState, ctx: &Ctx, key: KeyCard, status: StatusCode) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let partner = partners::repo::by_id(&state.db, &p.id).await?.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?;
    let (day, month) = douala_day_and_month_start(crate::db::now_ms());
    let kpis = orders::repo::kpis(&state.db, &partner.id, day, month).await?;
    let filter = orders::repo::Filter { newest_first: true, ..Default::default() };
    let (recent, _) = orders::repo::list::<orders::repo::OrderLine>(&state.db, &partner.id, &filter, None, 5).await?;
    let booking_url = format!("{}/book/{}/", state.config.public_url(), partner.slug);
    let active_keys = api_keys::count_active(&state.db, &partner.id).await?;
    // What the member's role opens: the money, the API keys.
    let (money, keys) = (guard::can(ctx, Capability::Money), guard::can(ctx, Capability::ApiKeys));
    let wallet_balance = if money { Some(wallet::actor::balance(&state.actors, &state.db, &partner.id).await?) } else { None };
    let profile_complete = partner.pickup_quartier_id.is_some();
    let bookings = orders::bookings::pending_count(&state.db, &partner.id).await?;
    // The analytics page's own figures, for the last 30 days.
    let (period, _) = analytics::pages::Period::parse(&Default::default(), analytics::douala_date(crate::db::now_ms()));
    let month = analytics::summary(&state.db, &partner.id, period.range).await?;
    let partner_due = ctx.user.as_ref().and_then(|u| u.partner.as_ref()).and_then(|p| p.two_factor_due_at);
    let body = html! {
        div.row.between {
            h1 { (ctx.fmt(Msg::DashboardHello, &[("name", &partner.business_name)])) }
            a.btn href="/partners/orders/new/" { "+ " (ctx.t(Msg::NewOrder)) }
        }
        // An owner's reminder, before two-factor becomes required of them.
        @if let (Some(due), Some(user)) = (partner_due, ctx.user.as_ref()) {
            @if !user.two_factor {
                div.flash.warn role="status" {
                    (ctx.fmt(Msg::TwoFactorDueText, &[("date", &crate::web::components::format_date(due))])) " "
                    a href="/accounts/two-factor/setup/" { (ctx.t(Msg::TwoFactorEnable)) }
                }
            }
        }
        @if !profile_complete { div.flash.warn role="status" { (ctx.t(Msg::DashboardNoPickup)) " " a href="/partners/profile/" { (ctx.t(Msg::CompleteProfile)) } } }
        @if bookings > 0 {
            a.flash.warn.link href="/partners/bookings/" {
                strong { (ctx.fmt(Msg::DashboardBookingsWaiting, &[("n", &bookings.to_string())])) } " → "
            }
        }
        div.kpis {
            a.kpi href="/partners/orders/" { span.l { (ctx.t(Msg::KpiToday)) } span.v { (kpis.today) } }
            a.kpi href="/partners/orders/?status=active" { span.l { (ctx.t(Msg::KpiInProgress)) } span.v { (kpis.in_progress) } }
            a.kpi href="/partners/orders/?status=COMPLETED" { span.l { (ctx.t(Msg::KpiCompletedMonth)) } span.v { (kpis.completed_this_month) } }
            div.kpi { span.l { (ctx.t(Msg::KpiCodToCollect)) } span.v { (Fcfa(kpis.cod_to_collect)) } }
            @if let Some(b) = &wallet_balance {
                a.kpi href="/partners/wallet/" { span.l { (ctx.t(Msg::WalletAvailable)) } span.v { (b.available()) } }
                a.kpi href="/partners/analytics/" {
                    span.l { (ctx.t(Msg::KpiDeliveryRate30)) }
                    span.v { (analytics::pages::permille(ctx.lang, month.statuses.delivery_rate_permille())) }
                }
            } @else {
                div.kpi {
                    span.l { (ctx.t(Msg::KpiDeliveryRate30)) }
                    span.v { (analytics::pages::permille(ctx.lang, month.statuses.delivery_rate_permille())) }
                }
            }
        }
        div.card {
            div.row.between { h2 { (ctx.t(Msg::RecentOrders)) } a href="/partners/orders/" { (ctx.t(Msg::SeeAll)) } }
            @if recent.is_empty() {
                p.muted { (ctx.t(Msg::NoOrdersYet)) }
            } @else {
                ul.orders.compact {
                    @for o in &recent {
                        li.order-row {
                            a href=(format!("/partners/orders/{}/", o.id)) {
                                span.tn { (o.tracking_number) } (orders::pages::status_badge(ctx, o.status))
                                span.who { (o.recipient_name) " · " (o.dropoff_place().0) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(secret) = &key.created { (api_keys::pages::new_key_card(ctx, secret)) }
        @if keys { div.card #api-keys {
            div.row.between { h2 { (ctx.t(Msg::ApiKeysTitle)) } a href="/partners/api-keys/" { (ctx.t(Msg::ApiKeyManage)) } }
            p.muted { (ctx.fmt(Msg::ApiKeysActiveCount, &[("n", &active_keys.to_string())])) " · " a href="/partners/api/quickstart/" { (ctx.t(Msg::QuickstartTitle)) } " · " a href="/partners/docs/" hx-boost="false" { (ctx.t(Msg::ApiDocsLink)) } }
            form method="post" action="/partners/dashboard/api-key/" novalidate {
                (crate::web::layout::csrf_field(ctx))
                (crate::web::forms::Input::new("name", ctx.t(Msg::ApiKeyName), &key.name).hint(ctx.t(Msg::ApiKeyNameHint)).render(&key.errors))
                button.btn.secondary type="submit" { (ctx.t(Msg::ApiKeyCreate)) }
            }
        } }
        div.card {
            h2 { (ctx.t(Msg::DashboardBookingTitle)) }
            p.muted { (ctx.t(Msg::DashboardBookingText)) }
            p { a href=(booking_url) { (booking_url) } }
        }
    };
    Ok(respond(status, page(ctx, ctx.t(Msg::NavDashboard), body)))
}
