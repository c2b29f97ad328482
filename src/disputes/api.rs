//! The disputes part of the integrator API: open a dispute on a finished order, list and read
//! disputes with their thread, add a message, download an evidence photo. Photos are attached
//! in the portal (a JSON API with a 64 KB body cap is no place for them).

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
};

use super::{Dispute, DisputeError};
use crate::{
    db::now_ms,
    i18n::Lang,
    idempotency::IdemKey,
    money::Fcfa,
    orders::repo as orders,
    state::AppState,
    web::api::{
        ApiKeyAuth, ApiTags,
        problem::{ApiProblem, request_lang},
        rfc3339,
    },
    web::forms::FieldErrors,
};

pub struct DisputesApi;

/// Why a dispute is opened.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisputeReason {
    /// The parcel arrived damaged.
    Damaged,
    /// Something was missing from the parcel.
    MissingItem,
    /// The cash collected on delivery is not the amount expected.
    CodMismatch,
    /// Delivered late.
    Late,
    /// The courier's behaviour.
    CourierConduct,
    Other,
}

impl DisputeReason {
    fn code(self) -> &'static str {
        match self {
            DisputeReason::Damaged => "DAMAGED",
            DisputeReason::MissingItem => "MISSING_ITEM",
            DisputeReason::CodMismatch => "COD_MISMATCH",
            DisputeReason::Late => "LATE",
            DisputeReason::CourierConduct => "COURIER_CONDUCT",
            DisputeReason::Other => "OTHER",
        }
    }
}

/// Status filter of the list.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisputeStatusFilter {
    Open,
    InReview,
    Resolved,
    Rejected,
    /// OPEN or IN_REVIEW: waiting for a decision.
    #[oai(rename = "pending")]
    Pending,
}

/// Opening a dispute.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct DisputeRequest {
    /// The order's id or tracking number. It must have finished (completed, failed or
    /// cancelled) less than 14 days ago, and have no open dispute.
    #[oai(validator(max_length = 64))]
    pub order_id: String,
    pub reason: DisputeReason,
    /// What happened (2 to 2 000 characters).
    #[oai(validator(min_length = 2, max_length = 2000))]
    pub description: String,
    /// The amount claimed, in FCFA (0 when nothing is claimed; at most 5 000 000).
    #[oai(default, validator(minimum(value = "0"), maximum(value = "5000000")))]
    pub amount_claimed: i64,
}

impl poem_openapi::types::Example for DisputeRequest {
    fn example() -> Self {
        DisputeRequest {
            order_id: "DLV-7K2M9P".into(),
            reason: DisputeReason::Damaged,
            description: "Le carton est arrivé écrasé, deux verres cassés.".into(),
            amount_claimed: 6000,
        }
    }
}

/// A message for the thread.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields, example)]
pub struct MessageRequest {
    /// 2 to 2 000 characters.
    #[oai(validator(min_length = 2, max_length = 2000))]
    pub body: String,
}

impl poem_openapi::types::Example for MessageRequest {
    fn example() -> Self {
        MessageRequest { body: "Le client a envoyé une photo du carton, je la joins depuis le portail.".into() }
    }
}

/// A dispute.
#[derive(Object, Debug, Clone)]
pub struct DisputeOut {
    pub id: String,
    /// `LIT-XXXXXX`.
    pub number: String,
    pub order_id: String,
    pub tracking_number: String,
    /// DAMAGED, MISSING_ITEM, COD_MISMATCH, LATE, COURIER_CONDUCT or OTHER.
    pub reason: String,
    pub description: String,
    pub amount_claimed: i64,
    /// OPEN, IN_REVIEW, RESOLVED or REJECTED.
    pub status: String,
    /// Why it was resolved or rejected.
    #[oai(skip_serializing_if_is_none)]
    pub decision_reason: Option<String>,
    /// Credited to the wallet when resolved with a refund.
    #[oai(skip_serializing_if_is_none)]
    pub refund_amount: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub decided_at: Option<String>,
}

impl From<&Dispute> for DisputeOut {
    fn from(d: &Dispute) -> Self {
        DisputeOut {
            id: d.id.clone(),
            number: d.number.clone(),
            order_id: d.order_id.to_string(),
            tracking_number: d.tracking_number.clone(),
            reason: d.reason.clone(),
            description: d.description.clone(),
            amount_claimed: d.amount_claimed.get(),
            status: d.status.clone(),
            decision_reason: d.decision_reason.clone(),
            refund_amount: d.refund_amount.map(Fcfa::get),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
            decided_at: d.decided_at.map(rfc3339),
        }
    }
}

/// One entry of the thread: a message, or a status change with its reason.
#[derive(Object, Debug, Clone)]
pub struct MessageOut {
    pub id: i64,
    /// VENDOR or ADMIN.
    pub author: String,
    /// For a status change: the status the dispute moved to.
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<String>,
    pub body: String,
    pub created_at: String,
}

impl From<&super::Message> for MessageOut {
    fn from(m: &super::Message) -> Self {
        MessageOut {
            id: m.id,
            author: m.author_role.clone(),
            status: m.status.clone(),
            body: m.body.clone(),
            created_at: rfc3339(m.created_at),
        }
    }
}

/// An evidence photo (JPEG, without metadata).
#[derive(Object, Debug, Clone)]
pub struct PhotoOut {
    pub id: String,
    pub width: i64,
    pub height: i64,
}

/// A dispute with its thread and photos.
#[derive(Object, Debug, Clone)]
pub struct DisputeDetail {
    #[oai(flatten)]
    pub dispute: DisputeOut,
    pub messages: Vec<MessageOut>,
    pub photos: Vec<PhotoOut>,
}

/// A page of disputes, newest first.
#[derive(Object, Debug, Clone)]
pub struct DisputePage {
    pub data: Vec<DisputeOut>,
    pub page: i64,
    pub total: i64,
}

#[derive(ApiResponse)]
pub enum DisputeCreated {
    /// The dispute was opened.
    #[oai(status = 201)]
    Created(Json<DisputeDetail>),
}

#[derive(ApiResponse)]
pub enum MessageCreated {
    /// The message was added.
    #[oai(status = 201)]
    Created(Json<MessageOut>),
}

#[derive(ApiResponse)]
pub enum PhotoResponse {
    /// The photo.
    #[oai(status = 200, content_type = "image/jpeg")]
    Ok(Binary<Vec<u8>>, #[oai(header = "Cache-Control")] String),
}

fn refused(lang: Lang, e: DisputeError) -> ApiProblem {
    use poem::http::StatusCode;
    let kind = match &e {
        DisputeError::NotFound => return ApiProblem::not_found(lang),
        DisputeError::Db(e) => return ApiProblem::database(lang, e),
        DisputeError::Unavailable => return ApiProblem::internal(lang, "wallet unavailable"),
        DisputeError::NotFinished => "order-not-finished",
        DisputeError::TooLate => "dispute-window-closed",
        DisputeError::AlreadyOpen => "dispute-already-open",
        DisputeError::Closed => "dispute-closed",
        DisputeError::NotInReview => "dispute-not-in-review",
        DisputeError::RefundTooHigh => "refund-too-high",
    };
    ApiProblem::new(StatusCode::CONFLICT, kind, lang, e.message(), None)
}

async fn detail(state: &AppState, d: &Dispute) -> Result<DisputeDetail, ApiProblem> {
    let messages = super::messages(&state.db, &d.id).await?;
    let photos = super::photos(&state.db, &d.id).await?;
    Ok(detail_of(d, &messages, &photos))
}

fn detail_of(d: &Dispute, messages: &[super::Message], photos: &[super::PhotoRef]) -> DisputeDetail {
    DisputeDetail {
        dispute: DisputeOut::from(d),
        messages: messages.iter().map(MessageOut::from).collect(),
        photos: photos.iter().map(|p| PhotoOut { id: p.id.clone(), width: p.width, height: p.height }).collect(),
    }
}

async fn own(state: &AppState, auth: &ApiKeyAuth, id: &str, lang: Lang) -> Result<Dispute, ApiProblem> {
    super::find_for_partner(&state.db, &auth.0.partner_id, id).await?.ok_or_else(|| ApiProblem::not_found(lang))
}

#[OpenApi]
impl DisputesApi {
    /// Open a dispute on an order.
    ///
    /// Within 14 days after the order finished, one open dispute per order. Announced as
    /// `dispute.opened`.
    #[oai(path = "/disputes", method = "post", operation_id = "createDispute", tag = "ApiTags::Disputes")]
    async fn create_dispute(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        body: Json<DisputeRequest>,
    ) -> Result<DisputeCreated, ApiProblem> {
        let lang = request_lang();
        let b = body.0;
        let order = orders::find_for_partner(&state.db, &auth.0.partner_id, b.order_id.trim()).await?;
        let mut errors = FieldErrors::default();
        let valid = super::validate(lang, b.reason.code(), &b.description, &b.amount_claimed.to_string(), &mut errors);
        let Some(order) = order else {
            errors.add("order_id", lang.t(crate::i18n::Msg::ErrApiNotFound));
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        };
        let Some(new) = valid.filter(|_| errors.is_empty()) else { return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned())) };
        let d = super::open(&state.db, &state.bus, &order, None, &new, &[], now_ms(), req.extensions().get::<IdemKey>())
            .await
            .map_err(|e| refused(lang, e))?;
        Ok(DisputeCreated::Created(Json(detail(&state, &d).await?)))
    }

    /// List disputes.
    #[oai(path = "/disputes", method = "get", operation_id = "listDisputes", tag = "ApiTags::Disputes")]
    async fn list_disputes(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// A status, or `pending` for OPEN and IN_REVIEW.
        status: Query<Option<DisputeStatusFilter>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
        page: Query<Option<i64>>,
    ) -> Result<Json<DisputePage>, ApiProblem> {
        let status = status.0.map(|s| match s {
            DisputeStatusFilter::Open => "OPEN",
            DisputeStatusFilter::InReview => "IN_REVIEW",
            DisputeStatusFilter::Resolved => "RESOLVED",
            DisputeStatusFilter::Rejected => "REJECTED",
            DisputeStatusFilter::Pending => "open",
        });
        let page = page.0.unwrap_or(1);
        let (rows, total) = super::list(&state.db, Some(&auth.0.partner_id), status, (page - 1) * super::PER_PAGE, super::PER_PAGE).await?;
        Ok(Json(DisputePage { data: rows.iter().map(DisputeOut::from).collect(), page, total }))
    }

    /// Get a dispute with its thread.
    #[oai(path = "/disputes/:id", method = "get", operation_id = "getDispute", tag = "ApiTags::Disputes")]
    async fn get_dispute(&self, auth: ApiKeyAuth, state: Data<&AppState>, id: Path<String>) -> Result<Json<DisputeDetail>, ApiProblem> {
        let lang = request_lang();
        let d = own(&state, &auth, &id.0, lang).await?;
        Ok(Json(detail(&state, &d).await?))
    }

    /// Add a message to a dispute's thread.
    ///
    /// Only while it waits for a decision (OPEN or IN_REVIEW). Announced as `dispute.updated`.
    #[oai(path = "/disputes/:id/messages", method = "post", operation_id = "createDisputeMessage", tag = "ApiTags::Disputes")]
    async fn create_message(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        body: Json<MessageRequest>,
    ) -> Result<MessageCreated, ApiProblem> {
        let lang = request_lang();
        let d = own(&state, &auth, &id.0, lang).await?;
        let mut errors = FieldErrors::default();
        let text = super::required(lang, &mut errors, "body", &body.0.body, super::MAX_MESSAGE);
        if !errors.is_empty() {
            return Err(ApiProblem::validation(lang, &errors, |f| f.to_owned()));
        }
        let m =
            super::comment(&state.db, &state.bus, &d.id, super::Author::Vendor(None), &text, now_ms(), req.extensions().get::<IdemKey>())
                .await
                .map_err(|e| refused(lang, e))?;
        Ok(MessageCreated::Created(Json(MessageOut::from(&m))))
    }

    /// Download an evidence photo.
    #[oai(path = "/disputes/:id/photos/:photo_id", method = "get", operation_id = "getDisputePhoto", tag = "ApiTags::Disputes")]
    async fn get_photo(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        id: Path<String>,
        photo_id: Path<String>,
    ) -> Result<PhotoResponse, ApiProblem> {
        let lang = request_lang();
        let d = own(&state, &auth, &id.0, lang).await?;
        let (_, bytes) = super::photo(&state.db, &d.id, &photo_id.0).await?.ok_or_else(|| ApiProblem::not_found(lang))?;
        Ok(PhotoResponse::Ok(Binary(bytes), "private, max-age=31536000, immutable".to_owned()))
    }
}

/// The JSON of one of the partner's disputes, as `GET /disputes/{id}` gives it (an idempotent
/// retry of an opening whose response was never stored is answered with it).
pub(crate) async fn dispute_json(state: &AppState, partner_id: &str, id: &str) -> sqlx::Result<Option<String>> {
    let Some(d) = super::find_for_partner(&state.db, partner_id, id).await? else { return Ok(None) };
    let messages = super::messages(&state.db, &d.id).await?;
    let photos = super::photos(&state.db, &d.id).await?;
    Ok(poem_openapi::types::ToJSON::to_json(&detail_of(&d, &messages, &photos)).map(|v| v.to_string()))
}

/// The JSON of one message of one of the partner's disputes.
pub(crate) async fn message_json(state: &AppState, partner_id: &str, dispute_id: &str, message_id: &str) -> sqlx::Result<Option<String>> {
    let Some(d) = super::find_for_partner(&state.db, partner_id, dispute_id).await? else { return Ok(None) };
    let Ok(id) = message_id.parse::<i64>() else { return Ok(None) };
    let messages = super::messages(&state.db, &d.id).await?;
    Ok(messages.iter().find(|m| m.id == id).and_then(|m| poem_openapi::types::ToJSON::to_json(&MessageOut::from(m)).map(|v| v.to_string())))
}
