//! `/partners/analytics/` ("Graphiques avancés"): the period selector, the headline figures
//! against the previous period, and the charts, drawn here as inline SVG, each with a data
//! table alternative and a CSV download of its series.

use chrono::{Days, Months, NaiveDate};
use maud::{Markup, PreEscaped, html};
use poem::{
    Request, Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Query},
};
use serde::Deserialize;

use super::{Grain, Metrics, Range, Summary};
use crate::{
    accounts::guard,
    i18n::{Lang, Msg},
    state::AppState,
    web::{
        Ctx, PageResult,
        components::{format_fcfa, format_int},
        layout::{page, respond},
        status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/partners/analytics/", get(analytics)).at("/partners/analytics/csv/", get(series_csv))
}

const RESULTS_ID: &str = "analytics";
/// The longest custom range.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct PeriodQuery {
    pub period: String,
    pub from: String,
    pub to: String,
    pub by: String,
}

/// The period asked for, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// `7d`, `30d`, `90d`, `12m` or `custom`.
    pub preset: &'static str,
    pub range: Range,
    pub grain: Grain,
}

impl Period {
    /// The period of a query on `today`, and the message explaining why it was not the one
    /// asked for (then it is the default: the last 30 days).
    pub fn parse(q: &PeriodQuery, today: NaiveDate) -> (Period, Option<Msg>) {
        let last = |days: u64| Range { from: today - Days::new(days - 1), to: today };
        let (preset, range, error) = match q.period.as_str() {
            "7d" => ("7d", last(7), None),
            "" | "30d" => ("30d", last(30), None),
            "90d" => ("90d", last(90), None),
            "12m" => {
                let from = today.checked_sub_months(Months::new(12)).map_or(today, |d| d + Days::new(1));
                ("12m", Range { from, to: today }, None)
            }
            "custom" => match custom_range(&q.from, &q.to) {
                Ok(r) => ("custom", r, None),
                Err(msg) => ("30d", last(30), Some(msg)),
            },
            _ => ("30d", last(30), Some(Msg::AnalyticsBadPeriod)),
        };
        let grain = Grain::parse(&q.by).unwrap_or_else(|| Grain::for_days(range.days()));
        (Period { preset, range, grain }, error)
    }

    /// The query string of this period (with another grain, for the grain switch).
    pub fn query(&self, grain: Grain) -> String {
        let mut qs = format!("period={}", self.preset);
        if self.preset == "custom" {
            qs.push_str(&format!("&from={}&to={}", self.range.from, self.range.to));
        }
        qs.push_str(&format!("&by={}", grain.as_str()));
        qs
    }
}

fn custom_range(from: &str, to: &str) -> Result<Range, Msg> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (parse(from), parse(to)) else { return Err(Msg::AnalyticsBadDate) };
    if to < from {
        return Err(Msg::AnalyticsEndBeforeStart);
    }
    let range = Range { from, to };
    if range.days() > MAX_DAYS {
        return Err(Msg::AnalyticsTooLong);
    }
    Ok(range)
}

fn today() -> NaiveDate {
    super::douala_date(crate::db::now_ms())
}

#[handler]
async fn analytics(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<PeriodQuery>,
    req: &Request,
) -> PageResult<Response> {
    let partner = guard::partner(ctx)?;
    let (period, error) = Period::parse(&q, today());
    let metrics = super::metrics(&state.db, &partner.id, period.range).await?;
    let previous = super::summary(&state.db, &partner.id, period.range.previous()).await?;
    let results = results(ctx, &period, error, &metrics, &previous);
    if req.header("hx-target") == Some(RESULTS_ID) {
        return Ok(respond(StatusCode::OK, html! { (results) (dates(ctx, &period, true)) }));
    }
    let body = html! {
        h1 { (ctx.t(Msg::NavAnalytics)) }
        (period_form(ctx, &period))
        (results)
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NavAnalytics), body)))
}

fn period_form(ctx: &Ctx, period: &Period) -> Markup {
    let presets =
        [("7d", Msg::Period7d), ("30d", Msg::Period30d), ("90d", Msg::Period90d), ("12m", Msg::Period12m), ("custom", Msg::PeriodCustom)];
    html! {
        form.card.period method="get" action="/partners/analytics/"
            hx-get="/partners/analytics/" hx-target=(format!("#{RESULTS_ID}")) hx-select=(format!("#{RESULTS_ID}")) hx-swap="outerHTML"
            hx-push-url="true" hx-trigger="submit, change from:#period" hx-sync="this:replace" {
            div.field {
                label for="period" { (ctx.t(Msg::PeriodLabel)) }
                select #period name="period" {
                    @for (value, msg) in presets { option value=(value) selected[period.preset == value] { (ctx.t(msg)) } }
                }
            }
            (dates(ctx, period, false))
            p.muted.small { (ctx.t(Msg::PeriodCustomHint)) }
            button.btn.secondary type="submit" { (ctx.t(Msg::PeriodApply)) }
        }
    }
}

/// The range's dates; `oob` for an htmx answer, which swaps them beside the results so that
/// the form always shows the period on screen.
fn dates(ctx: &Ctx, period: &Period, oob: bool) -> Markup {
    html! {
        div.row #period-dates hx-swap-oob=[oob.then_some("true")] {
            div.field { label for="from" { (ctx.t(Msg::FieldFrom)) } input #from type="date" name="from" value=(period.range.from); }
            div.field { label for="to" { (ctx.t(Msg::FieldTo)) } input #to type="date" name="to" value=(period.range.to); }
        }
    }
}

/// Percent change from `before` to `now`, as "↑ 12 %" / "↓ 3 %" / "=".
fn change(ctx: &Ctx, now: i64, before: i64) -> Markup {
    if before == 0 && now == 0 {
        return html! { span.delta.flat { "=" } };
    }
    if before == 0 {
        return html! { span.delta.muted { (ctx.t(Msg::NoPreviousData)) } };
    }
    let pct = (now - before) * 100 / before;
    let (arrow, tone) = match pct {
        0 => ("=", "flat"),
        p if p > 0 => ("↑", "up"),
        _ => ("↓", "down"),
    };
    html! { span class=(format!("delta {tone}")) { (arrow) " " (ctx.lang.percent(pct.abs())) } }
}

/// `875` → `87,5 %` (French) or `87.5%` (English); `None` → `–`.
pub fn permille(lang: crate::i18n::Lang, v: Option<i64>) -> String {
    v.map_or_else(|| "–".to_owned(), |p| lang.percent_permille(p))
}

fn headline(ctx: &Ctx, now: &Summary, before: &Summary) -> Markup {
    let rate = now.statuses.delivery_rate_permille();
    let rate_before = before.statuses.delivery_rate_permille();
    html! {
        div.kpis.headline {
            div.kpi { span.l { (ctx.t(Msg::MetricOrders)) } span.v { (format_int(now.statuses.total())) } (change(ctx, now.statuses.total(), before.statuses.total())) }
            div.kpi {
                span.l { (ctx.t(Msg::MetricDeliveryRate)) } span.v { (permille(ctx.lang, rate)) }
                (change(ctx, rate.unwrap_or(0), rate_before.unwrap_or(0)))
            }
            div.kpi { span.l { (ctx.t(Msg::MetricCodCollected)) } span.v { (format_fcfa(now.cod_collected)) } (change(ctx, now.cod_collected, before.cod_collected)) }
            div.kpi { span.l { (ctx.t(Msg::MetricDeliverySpend)) } span.v { (format_fcfa(now.delivery_spend)) } (change(ctx, now.delivery_spend, before.delivery_spend)) }
            div.kpi {
                span.l { (ctx.t(Msg::MetricDisputeRate)) } span.v { (permille(ctx.lang, now.dispute_rate_permille())) }
                (change(ctx, now.dispute_rate_permille().unwrap_or(0), before.dispute_rate_permille().unwrap_or(0)))
            }
        }
        p.muted.small { (ctx.t(Msg::DefinitionDeliveryRate)) " " (ctx.t(Msg::DefinitionDisputeRate)) " " (ctx.t(Msg::DefinitionRevenue)) }
    }
}

fn bucket_label(lang: Lang, grain: Grain, d: NaiveDate) -> String {
    match (grain, lang) {
        (Grain::Month, _) => d.format("%m/%Y").to_string(),
        (_, Lang::Fr) => d.format("%d/%m").to_string(),
        (_, Lang::En) => d.format("%m-%d").to_string(),
    }
}

fn results(ctx: &Ctx, period: &Period, error: Option<Msg>, m: &Metrics, previous: &Summary) -> Markup {
    let qs = period.query(period.grain);
    let series = m.orders_series(period.grain);
    let bars: Vec<(String, i64)> = series.iter().map(|(d, n)| (bucket_label(ctx.lang, period.grain, *d), *n)).collect();
    let money = m.cumulative_money();
    let s = &m.summary.statuses;
    let split = [
        (ctx.t(Msg::OrderStatusCompleted), s.completed, "c-ok"),
        (ctx.t(Msg::OrderStatusCancelled), s.cancelled, "c-muted"),
        (ctx.t(Msg::OrderStatusFailed), s.failed, "c-err"),
    ];
    let total = s.total();
    let grains = [(Grain::Day, Msg::GrainDay), (Grain::Week, Msg::GrainWeek), (Grain::Month, Msg::GrainMonth)];
    html! {
        div #(RESULTS_ID) {
            @if let Some(msg) = error { div.flash.warn role="alert" { (ctx.t(msg)) " " (ctx.t(Msg::PeriodDefaultUsed)) } }
            p.muted { (ctx.fmt(Msg::PeriodShown, &[("from", &period.range.from.format("%d/%m/%Y").to_string()), ("to", &period.range.to.format("%d/%m/%Y").to_string())])) }
            (headline(ctx, &m.summary, previous))
            div.charts {
            (chart_card(ctx, "orders", ctx.t(Msg::ChartOrdersTitle), &qs, html! {
                nav.grains aria-label=(ctx.t(Msg::GrainLabel)) {
                    @for (g, msg) in grains {
                        a href=(format!("/partners/analytics/?{}", period.query(g))) aria-current=[(g == period.grain).then_some("true")] { (ctx.t(msg)) }
                    }
                }
                (bar_chart("orders", ctx.t(Msg::ChartOrdersTitle), &ctx.fmt(Msg::ChartOrdersDesc, &[("n", &format_int(total))]), &bars))
            }, table(&[ctx.t(Msg::ColPeriod), ctx.t(Msg::MetricOrders)], bars.iter().map(|(l, n)| vec![l.clone(), format_int(*n)]))))
            (chart_card(ctx, "revenue", ctx.t(Msg::ChartRevenueTitle), &qs, html! {
                (line_chart("revenue", ctx.t(Msg::ChartRevenueTitle), &ctx.fmt(Msg::ChartRevenueDesc, &[("cod", &format_fcfa(m.summary.cod_collected)), ("spend", &format_fcfa(m.summary.delivery_spend))]), &money))
                ul.legend { li { span.sw.c-brand {} (ctx.t(Msg::MetricCodCollected)) } li { span.sw.c-accent {} (ctx.t(Msg::MetricDeliverySpend)) } }
            }, table(&[ctx.t(Msg::ColDate), ctx.t(Msg::MetricCodCollected), ctx.t(Msg::MetricDeliverySpend)],
                money.iter().filter(|(d, _, _)| m.money_per_day.iter().any(|(md, _, _)| md == d)).map(|(d, c, sp)| vec![d.format("%d/%m/%Y").to_string(), format_fcfa(*c), format_fcfa(*sp)]))))
            (chart_card(ctx, "status", ctx.t(Msg::ChartStatusTitle), &qs, html! {
                (split_bar(ctx.lang, ctx.t(Msg::ChartStatusTitle), &ctx.fmt(Msg::ChartStatusDesc, &[("completed", &s.completed.to_string()), ("cancelled", &s.cancelled.to_string()), ("failed", &s.failed.to_string())]), &split))
                @if s.pending + s.active > 0 { p.muted.small { (ctx.fmt(Msg::ChartStatusOpen, &[("n", &format_int(s.pending + s.active))])) } }
            }, table(&[ctx.t(Msg::ColStatus), ctx.t(Msg::MetricOrders)], split.iter().map(|(l, n, _)| vec![(*l).to_owned(), format_int(*n)]))))
            (chart_card(ctx, "hours", ctx.t(Msg::ChartHoursTitle), &qs,
                heatmap(ctx, ctx.t(Msg::ChartHoursTitle), ctx.t(Msg::ChartHoursDesc), &m.heat),
                table(&[ctx.t(Msg::ColWeekday), ctx.t(Msg::ColHour), ctx.t(Msg::MetricOrders)], heat_rows(ctx.lang, &m.heat).into_iter().filter(|r| r[2] != "0"))))
            (chart_card(ctx, "quartiers", ctx.t(Msg::ChartQuartiersTitle), &qs,
                hbars(ctx.lang, ctx.t(Msg::ChartQuartiersTitle), ctx.t(Msg::ChartQuartiersDesc), &m.top_quartiers, total),
                table(&[ctx.t(Msg::ColQuartier), ctx.t(Msg::MetricOrders), ctx.t(Msg::ColShare)], m.top_quartiers.iter().map(|(q, n)| vec![q.clone(), format_int(*n), share(ctx.lang, *n, total)]))))
            }
        }
    }
}

fn share(lang: Lang, n: i64, total: i64) -> String {
    permille(lang, (total > 0).then(|| n * 1000 / total))
}

fn weekday(lang: Lang, wd: usize) -> &'static str {
    const FR: [&str; 7] = ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    match lang {
        Lang::Fr => FR[wd % 7],
        Lang::En => EN[wd % 7],
    }
}

fn heat_rows(lang: Lang, heat: &[[i64; 24]; 7]) -> Vec<Vec<String>> {
    let mut rows = Vec::with_capacity(7 * 24);
    for (wd, hours) in heat.iter().enumerate() {
        for (h, n) in hours.iter().enumerate() {
            rows.push(vec![weekday(lang, wd).to_owned(), format!("{h:02}h"), n.to_string()]);
        }
    }
    rows
}

fn chart_card(ctx: &Ctx, id: &str, title: &str, qs: &str, chart: Markup, data: Markup) -> Markup {
    html! {
        section.card.chart.wide[id == "orders" || id == "revenue"] aria-labelledby=(format!("h-{id}")) {
            div.row.between {
                h2 #(format!("h-{id}")) { (title) }
                a.small href=(format!("/partners/analytics/csv/?series={id}&{qs}")) hx-boost="false" download { (ctx.t(Msg::DownloadCsv)) }
            }
            (chart)
            details.data { summary { (ctx.t(Msg::ShowDataTable)) } (data) }
        }
    }
}

fn table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { @for h in head { th scope="col" { (h) } } } }
            tbody { @for r in rows { tr { @for (i, c) in r.iter().enumerate() { @if i == 0 { th scope="row" { (c) } } @else { td { (c) } } } } } }
        } }
    }
}

/// Opening of an accessible SVG: `role="img"`, with its title and description.
fn svg_open(id: &str, title: &str, desc: &str, w: u32, h: u32) -> String {
    format!(
        "<svg class=\"chart-svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"t-{id} d-{id}\"><title id=\"t-{id}\">{}</title><desc id=\"d-{id}\">{}</desc>",
        esc(title),
        esc(desc),
    )
}

/// Largest value rounded up to a readable axis maximum.
fn nice_max(max: i64) -> i64 {
    let max = max.max(1);
    let mag = 10_i64.pow(max.ilog10());
    [1, 2, 5, 10].iter().map(|k| k * mag).find(|v| *v >= max).unwrap_or(max)
}

fn bar_chart(id: &str, title: &str, desc: &str, bars: &[(String, i64)]) -> Markup {
    let (w, h, top, bottom, left) = (360.0_f64, 180.0_f64, 10.0, 22.0, 30.0);
    let max = nice_max(bars.iter().map(|b| b.1).max().unwrap_or(0));
    let n = bars.len().max(1) as f64;
    let slot = (w - left) / n;
    let plot = h - top - bottom;
    let label_every = bars.len().div_ceil(6).max(1);
    let mut s = svg_open(id, title, desc, 360, 180);
    for k in 0..=2 {
        let v = max * k / 2;
        let y = top + plot - plot * v as f64 / max as f64;
        s.push_str(&format!("<line class=\"grid\" x1=\"{left}\" x2=\"{w}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"ax\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>", left - 4.0, y + 4.0));
    }
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = plot * *v as f64 / max as f64;
        let x = left + slot * i as f64 + slot * 0.15;
        s.push_str(&format!(
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{}: {v}</title></rect>",
            top + plot - bh,
            slot * 0.7,
            esc(label)
        ));
        if i % label_every == 0 {
            s.push_str(&format!(
                "<text class=\"ax\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot * 0.35,
                h - 6.0,
                esc(label)
            ));
        }
    }
    s.push_str("</svg>");
    PreEscaped(s)
}

fn line_chart(id: &str, title: &str, desc: &str, points: &[(NaiveDate, i64, i64)]) -> Markup {
    let (w, h, top, bottom, left) = (360.0_f64, 180.0_f64, 10.0, 22.0, 58.0);
    let max = nice_max(points.iter().map(|p| p.1.max(p.2)).max().unwrap_or(0));
    let plot = h - top - bottom;
    let step = (w - left) / (points.len().max(2) - 1) as f64;
    let y = |v: i64| top + plot - plot * v as f64 / max as f64;
    let path = |f: &dyn Fn(&(NaiveDate, i64, i64)) -> i64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{:.1},{:.1}", if i == 0 { 'M' } else { 'L' }, left + step * i as f64, y(f(p))))
            .collect::<String>()
    };
    let mut s = svg_open(id, title, desc, 360, 180);
    for k in 0..=2 {
        let v = max * k / 2;
        s.push_str(&format!(
            "<line class=\"grid\" x1=\"{left}\" x2=\"{w}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text class=\"ax\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            y(v),
            y(v),
            left - 4.0,
            y(v) + 4.0,
            format_int(v)
        ));
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        s.push_str(&format!(
            "<path class=\"line c-brand\" d=\"{}\"/><path class=\"line c-accent\" d=\"{}\"/>",
            path(&|p| p.1),
            path(&|p| p.2)
        ));
        for (x, d, anchor) in [(left, first.0, "start"), (w, last.0, "end")] {
            s.push_str(&format!("<text class=\"ax\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>", h - 6.0, d.format("%d/%m/%y")));
        }
    }
    s.push_str("</svg>");
    PreEscaped(s)
}

fn split_bar(lang: Lang, title: &str, desc: &str, parts: &[(&str, i64, &str)]) -> Markup {
    let total: i64 = parts.iter().map(|p| p.1).sum();
    let mut s = svg_open("status", title, desc, 360, 28);
    let mut x = 0.0_f64;
    for (label, n, class) in parts {
        if total == 0 || *n == 0 {
            continue;
        }
        let w = 360.0 * *n as f64 / total as f64;
        s.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"28\"><title>{}: {n}</title></rect>",
            esc(label)
        ));
        x += w;
    }
    if total == 0 {
        s.push_str("<rect class=\"empty\" x=\"0\" y=\"0\" width=\"360\" height=\"28\"/>");
    }
    s.push_str("</svg>");
    html! {
        (PreEscaped(s))
        ul.legend {
            @for (label, n, class) in parts { li { span class=(format!("sw {class}")) {} (label) " " strong { (format_int(*n)) } " (" (share(lang, *n, total)) ")" } }
        }
    }
}

fn heatmap(ctx: &Ctx, title: &str, desc: &str, heat: &[[i64; 24]; 7]) -> Markup {
    let max = heat.iter().flatten().copied().max().unwrap_or(0).max(1);
    let (left, cell_w, cell_h, top) = (30.0_f64, 13.5_f64, 15.0_f64, 14.0_f64);
    let mut s = svg_open("hours", title, desc, 360, 121);
    for h in (0..24).step_by(6) {
        s.push_str(&format!(
            "<text class=\"ax\" x=\"{:.1}\" y=\"10\" text-anchor=\"middle\">{h}h</text>",
            left + cell_w * h as f64 + cell_w / 2.0
        ));
    }
    for (wd, hours) in heat.iter().enumerate() {
        let y = top + cell_h * wd as f64;
        s.push_str(&format!("<text class=\"ax\" x=\"0\" y=\"{:.1}\">{}</text>", y + 11.0, weekday(ctx.lang, wd)));
        for (h, n) in hours.iter().enumerate() {
            let opacity = if *n == 0 { 0.0 } else { 0.15 + 0.85 * *n as f64 / max as f64 };
            s.push_str(&format!(
                "<rect class=\"cell\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{}\" height=\"{}\" fill-opacity=\"{opacity:.2}\"><title>{} {h:02}h: {n}</title></rect>",
                left + cell_w * h as f64,
                cell_w - 1.5,
                cell_h - 1.5,
                weekday(ctx.lang, wd)
            ));
        }
    }
    s.push_str("</svg>");
    PreEscaped(s)
}

fn hbars(lang: Lang, title: &str, desc: &str, rows: &[(String, i64)], total: i64) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    html! {
        figure.hbars role="img" aria-label=(format!("{title}. {desc}")) {
            @if rows.is_empty() { p.muted { "–" } }
            @for (q, n) in rows {
                div.hbar {
                    span.name { (q) }
                    span.track { span.fill style=(format!("width:{}%", n * 100 / max)) {} }
                    span.num { (format_int(*n)) " · " (share(lang, *n, total)) }
                }
            }
        }
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct CsvQuery {
    series: String,
    #[serde(flatten)]
    period: PeriodQuery,
}

#[handler]
async fn series_csv(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Query(q): Query<CsvQuery>) -> PageResult<Response> {
    let partner = guard::partner(ctx)?;
    let (period, error) = Period::parse(&q.period, today());
    if error.is_some() {
        return Err(status_error(StatusCode::BAD_REQUEST).into());
    }
    let m = super::metrics(&state.db, &partner.id, period.range).await?;
    let s = m.summary.statuses;
    let rows: Vec<Vec<String>> = match q.series.as_str() {
        "orders" => {
            let mut rows = vec![vec![ctx.t(Msg::ColPeriod).to_owned(), ctx.t(Msg::MetricOrders).to_owned()]];
            rows.extend(m.orders_series(period.grain).into_iter().map(|(d, n)| vec![d.to_string(), n.to_string()]));
            rows
        }
        "revenue" => {
            let mut rows = vec![vec![
                ctx.t(Msg::ColDate).to_owned(),
                ctx.t(Msg::MetricCodCollected).to_owned(),
                ctx.t(Msg::MetricDeliverySpend).to_owned(),
            ]];
            rows.extend(m.money_per_day.iter().map(|(d, c, sp)| vec![d.to_string(), c.to_string(), sp.to_string()]));
            rows
        }
        "status" => vec![
            vec![ctx.t(Msg::ColStatus).to_owned(), ctx.t(Msg::MetricOrders).to_owned()],
            vec!["COMPLETED".to_owned(), s.completed.to_string()],
            vec!["CANCELLED".to_owned(), s.cancelled.to_string()],
            vec!["FAILED".to_owned(), s.failed.to_string()],
        ],
        "hours" => {
            let mut rows =
                vec![vec![ctx.t(Msg::ColWeekday).to_owned(), ctx.t(Msg::ColHour).to_owned(), ctx.t(Msg::MetricOrders).to_owned()]];
            rows.extend(heat_rows(ctx.lang, &m.heat));
            rows
        }
        "quartiers" => {
            let mut rows = vec![vec![ctx.t(Msg::ColQuartier).to_owned(), ctx.t(Msg::MetricOrders).to_owned()]];
            rows.extend(m.top_quartiers.iter().map(|(q, n)| vec![crate::orders::export::cell(q), n.to_string()]));
            rows
        }
        _ => return Err(status_error(StatusCode::NOT_FOUND).into()),
    };
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(&crate::orders::export::to_csv(rows, ctx.lang.csv_delimiter()));
    let filename = format!("{}-{}-{}.csv", q.series, period.range.from, period.range.to);
    Ok(crate::web::csv_attachment(&filename).header(header::CACHE_CONTROL, "no-store").body(body))
}

/// `s` escaped for HTML text and attributes.
fn esc(s: &str) -> String {
    html! { (s) }.into_string()
}
