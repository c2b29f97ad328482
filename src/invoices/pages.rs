//! The invoices page and the PDF and CSV downloads.

use maud::html;
use poem::{
    Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Path},
};

use crate::{
    accounts::guard,
    i18n::Msg,
    invoices::{self, Invoice},
    state::AppState,
    web::{
        Ctx, PageResult,
        components::format_date,
        layout::{page, respond},
        status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/invoices/", get(invoices_page))
        .at("/partners/invoices/:id/pdf/", get(invoice_pdf))
        .at("/partners/invoices/:id/csv/", get(invoice_csv))
}

#[handler]
async fn invoices_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let list = invoices::list(&state.db, &p.id).await?;
    let body = html! {
        h1 { (ctx.t(Msg::NavInvoices)) }
        p.muted { (ctx.t(Msg::InvoicesIntro)) }
        @if list.is_empty() { div.card { p.muted { (ctx.t(Msg::InvoicesNone)) } } }
        ul.orders {
            @for inv in &list {
                li.order-row { div {
                    div.row.between { strong { (inv.number) } span { (inv.total) } }
                    span.small.muted { (ctx.t(Msg::InvoicePeriod)) " " (inv.month) " · " (format_date(inv.created_at)) " · "
                        (ctx.fmt(Msg::InvoiceLines, &[("n", &inv.lines().len().to_string())])) }
                    div.row {
                        a.btn.secondary href=(format!("/partners/invoices/{}/pdf/", inv.id)) hx-boost="false" { "PDF" }
                        a.btn.secondary href=(format!("/partners/invoices/{}/csv/", inv.id)) hx-boost="false" { "CSV" }
                    }
                } }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::NavInvoices), body)))
}

async fn load(state: &AppState, ctx: &Ctx, id: &str) -> PageResult<Invoice> {
    let p = guard::partner(ctx)?;
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    let invoice = invoices::find(&state.db, id).await?.filter(|i| i.partner_id == p.id);
    Ok(invoice.ok_or_else(|| status_error(StatusCode::NOT_FOUND))?)
}

#[handler]
async fn invoice_pdf(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let inv = load(state, ctx, &id).await?;
    Ok(crate::web::pdf_file(&format!("{}.pdf", inv.number), false)
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .body(invoices::to_pdf(&inv, ctx.lang)))
}

#[handler]
async fn invoice_csv(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let inv = load(state, ctx, &id).await?;
    Ok(crate::web::csv_attachment(&format!("{}.csv", inv.number)).body(invoices::to_csv(&inv, ctx.lang)))
}
