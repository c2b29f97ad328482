//! The money part of the integrator API: balance, ledger, payouts, invoices.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
};

use crate::{
    i18n::Msg,
    invoices,
    state::AppState,
    wallet::{self, EntryFilter, WalletError, actor::WalletCommand},
    web::api::{
        ApiKeyAuth, ApiTags,
        problem::{ApiProblem, request_lang},
        rfc3339,
    },
    web::forms::FieldErrors,
};

pub struct WalletApi;

/// The wallet's figures, FCFA.
#[derive(Object, Debug, Clone)]
pub struct BalanceOut {
    /// The sum of the ledger.
    pub balance: i64,
    /// Held by payouts not yet paid.
    pub held: i64,
    /// `balance − held`: what a new payout may take. Negative when delivery fees debited
    /// after a payout request exceed the balance: it is then what is owed, and pending payouts
    /// are not paid until the balance covers them again.
    pub available: i64,
    pub currency: String,
}

/// A ledger entry.
#[derive(Object, Debug, Clone)]
pub struct EntryOut {
    pub id: i64,
    /// `COD_COLLECTED`, `DELIVERY_FEE`, `DISPUTE_REFUND`, `PAYOUT` or `ADJUSTMENT`.
    pub kind: String,
    /// Signed amount, FCFA.
    pub amount: i64,
    pub balance_after: i64,
    #[oai(skip_serializing_if_is_none)]
    pub order_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub tracking_number: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(Object, Debug, Clone)]
pub struct LedgerPage {
    pub data: Vec<EntryOut>,
    /// Pass as `cursor` for older entries.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// A payout to mobile money.
#[derive(Object, Debug, Clone)]
pub struct PayoutOut {
    pub id: String,
    pub amount: i64,
    /// `MTN` or `ORANGE`.
    pub operator: String,
    pub phone: String,
    /// `PENDING`, `PAID` or `REJECTED`.
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    pub reference: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub reject_reason: Option<String>,
    pub created_at: String,
}

impl From<&wallet::Payout> for PayoutOut {
    fn from(p: &wallet::Payout) -> Self {
        PayoutOut {
            id: p.id.clone(),
            amount: p.amount.get(),
            operator: p.operator.clone(),
            phone: p.phone.clone(),
            status: p.status.clone(),
            reference: p.reference.clone(),
            reject_reason: p.reject_reason.clone(),
            created_at: rfc3339(p.created_at),
        }
    }
}

/// A payout request. Send an `Idempotency-Key`: a retry never pays twice.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct PayoutRequest {
    /// FCFA, at least 1 000 and at most the available balance.
    pub amount: i64,
    /// An MTN or Orange Money number.
    #[oai(validator(max_length = 30))]
    pub phone: String,
}

impl poem_openapi::types::Example for PayoutRequest {
    fn example() -> Self {
        PayoutRequest { amount: 25_000, phone: "+237677987654".into() }
    }
}

#[derive(Object, Debug, Clone)]
pub struct PayoutList {
    pub data: Vec<PayoutOut>,
}

/// An invoice (or credit note).
#[derive(Object, Debug, Clone)]
pub struct InvoiceOut {
    pub id: String,
    /// `FAC-YYYY-NNNNNN`, or `AV-…` for a credit note.
    pub number: String,
    /// `INVOICE` or `CREDIT_NOTE`.
    pub kind: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Excluding TVA.
    pub subtotal: i64,
    /// TVA 19.25 %.
    pub tva: i64,
    pub total: i64,
    pub issued_at: String,
}

#[derive(Object, Debug, Clone)]
pub struct InvoiceList {
    pub data: Vec<InvoiceOut>,
}

#[derive(ApiResponse)]
pub enum PayoutCreated {
    /// The amount is held until an administrator pays or rejects the payout.
    #[oai(status = 201)]
    Created(Json<PayoutOut>),
}

#[derive(ApiResponse)]
pub enum PdfFile {
    /// The invoice as PDF.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(Binary<Vec<u8>>),
}

#[OpenApi]
impl WalletApi {
    /// The wallet's balance.
    #[oai(path = "/wallet", method = "get", operation_id = "getWallet", tag = "ApiTags::Wallet")]
    async fn get_balance(&self, auth: ApiKeyAuth, state: Data<&AppState>) -> Result<Json<BalanceOut>, ApiProblem> {
        let b = wallet::actor::balance(&state.actors, &state.db, &auth.0.partner_id).await?;
        Ok(Json(BalanceOut { balance: b.balance.get(), held: b.held.get(), available: b.available().get(), currency: "XAF".into() }))
    }

    /// The ledger, newest first.
    #[oai(path = "/wallet/ledger", method = "get", operation_id = "listLedger", tag = "ApiTags::Wallet")]
    async fn list_ledger(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 30))]
        cursor: Query<Option<String>>,
        /// Page size (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<LedgerPage>, ApiProblem> {
        let lang = request_lang();
        let before = match cursor.0.filter(|c| !c.is_empty()) {
            Some(c) => match c.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    return Err(ApiProblem::new(poem::http::StatusCode::UNPROCESSABLE_ENTITY, "bad-cursor", lang, Msg::ErrApiCursor, None));
                }
            },
            None => None,
        };
        let limit = limit.0.unwrap_or(50);
        let mut rows = wallet::entries(&state.db, &auth.0.partner_id, &EntryFilter::default(), before, limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(Json(LedgerPage {
            data: rows
                .into_iter()
                .map(|e| EntryOut {
                    id: e.id,
                    kind: e.kind,
                    amount: e.amount.get(),
                    balance_after: e.balance_after.get(),
                    order_id: e.order_id,
                    tracking_number: e.tracking_number,
                    reason: e.reason,
                    created_at: rfc3339(e.created_at),
                })
                .collect(),
            next_cursor: next,
        }))
    }

    /// Payouts, newest first.
    #[oai(path = "/wallet/payouts", method = "get", operation_id = "listPayouts", tag = "ApiTags::Wallet")]
    async fn list_payouts(&self, auth: ApiKeyAuth, state: Data<&AppState>) -> Result<Json<PayoutList>, ApiProblem> {
        let rows = wallet::payouts(&state.db, &auth.0.partner_id).await?;
        Ok(Json(PayoutList { data: rows.iter().map(PayoutOut::from).collect() }))
    }

    /// Request a payout to MTN Mobile Money or Orange Money (the operator follows the number).
    #[oai(path = "/wallet/payouts", method = "post", operation_id = "requestPayout", tag = "ApiTags::Wallet")]
    async fn request_payout(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        body: Json<PayoutRequest>,
    ) -> Result<PayoutCreated, ApiProblem> {
        let lang = request_lang();
        let mut errors = FieldErrors::default();
        let Some(ask) = wallet::validate_payout(lang, Some(body.0.amount), &body.0.phone, None, &mut errors) else {
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        };
        // Each API request is its own payout; the Idempotency-Key guards retries.
        let token = uuid::Uuid::new_v4().to_string();
        let idem = req.extensions().get::<crate::idempotency::IdemKey>().cloned();
        let cmd = WalletCommand::RequestPayout { amount: ask.amount, phone: ask.phone, operator: ask.operator, request_token: token, idem };
        let id = crate::wallet::actor::run(&state.actors, &auth.0.partner_id, cmd).await.map_err(|e| payout_refused(lang, e))?;
        let p = wallet::payout(&state.db, &auth.0.partner_id, &id).await?.ok_or_else(|| ApiProblem::internal(lang, "payout vanished"))?;
        Ok(PayoutCreated::Created(Json(PayoutOut::from(&p))))
    }

    /// Invoices and credit notes, newest first.
    #[oai(path = "/invoices", method = "get", operation_id = "listInvoices", tag = "ApiTags::Wallet")]
    async fn list_invoices(&self, auth: ApiKeyAuth, state: Data<&AppState>) -> Result<Json<InvoiceList>, ApiProblem> {
        let rows = invoices::list(&state.db, &auth.0.partner_id).await?;
        Ok(Json(InvoiceList {
            data: rows
                .into_iter()
                .map(|i| InvoiceOut {
                    id: i.id,
                    number: i.number,
                    kind: i.kind,
                    month: i.month,
                    subtotal: i.subtotal.get(),
                    tva: i.tva.get(),
                    total: i.total.get(),
                    issued_at: rfc3339(i.created_at),
                })
                .collect(),
        }))
    }

    /// An invoice as PDF (in the `Accept-Language` language).
    #[oai(path = "/invoices/:id/pdf", method = "get", operation_id = "getInvoicePdf", tag = "ApiTags::Wallet")]
    async fn invoice_pdf(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<PdfFile, ApiProblem> {
        let lang = request_lang();
        if uuid::Uuid::parse_str(&id.0).is_err() {
            return Err(ApiProblem::not_found(lang));
        }
        let inv = invoices::find(&state.db, &id.0)
            .await?
            .filter(|i| i.partner_id == auth.0.partner_id)
            .ok_or_else(|| ApiProblem::not_found(lang))?;
        Ok(PdfFile::Pdf(Binary(invoices::to_pdf(&inv, lang))))
    }
}

/// Why a payout request was not made, as a problem: `422` on the amount when the balance does
/// not cover it, `503` (to retry) when the database could not be reached, `500` otherwise.
fn payout_refused(lang: crate::i18n::Lang, e: WalletError) -> ApiProblem {
    match e {
        WalletError::InsufficientFunds => {
            let mut errors = FieldErrors::default();
            errors.add("amount", lang.t(Msg::ErrPayoutFunds));
            ApiProblem::validation(lang, &errors, |f| f.to_owned())
        }
        WalletError::Db(e) => ApiProblem::database(lang, &e),
        e => ApiProblem::internal(lang, e),
    }
}

/// The JSON of one of the partner's payouts, as the request answered it (an idempotent retry
/// whose response was never stored is answered with it).
pub(crate) async fn payout_json(state: &AppState, partner_id: &str, id: &str) -> sqlx::Result<Option<String>> {
    let Some(p) = wallet::payout(&state.db, partner_id, id).await? else { return Ok(None) };
    Ok(poem_openapi::types::ToJSON::to_json(&PayoutOut::from(&p)).map(|v| v.to_string()))
}

#[cfg(test)]
mod tests {
    use poem::{IntoResponse, http::StatusCode};

    use super::*;

    #[test]
    fn a_payout_that_met_the_database_away_is_retried_not_failed() {
        let lang = crate::i18n::Lang::Fr;
        let status = |e| payout_refused(lang, e).into_response().status();
        let away = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(status(WalletError::Db(sqlx::Error::Io(away))), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(WalletError::Db(sqlx::Error::PoolTimedOut)), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(WalletError::InsufficientFunds), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status(WalletError::Db(sqlx::Error::RowNotFound)), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
