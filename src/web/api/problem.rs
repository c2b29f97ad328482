//! RFC 7807 problem documents: the one error shape of the API, with a stable `type`, a title
//! translated by `Accept-Language` and, for validation, a per-field `errors` list.

use poem::{
    IntoResponse, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::{
    i18n::{Lang, Msg},
    web::forms::FieldErrors,
};

/// Base of every problem `type` URI.
pub const TYPE_BASE: &str = "https://delivr.cm/problems/";

/// A problem document (RFC 7807).
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g. `https://delivr.cm/problems/validation`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short summary, in the language of `Accept-Language` (French by default).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// Per-field messages, for validation problems.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldProblem>>,
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        problem_example()
    }
}

fn problem_example() -> Problem {
    Problem {
        kind: format!("{TYPE_BASE}validation"),
        title: "Certains champs sont à corriger.".to_owned(),
        status: 422,
        detail: None,
        errors: Some(vec![FieldProblem { field: "recipient.phone".to_owned(), message: "Numéro camerounais invalide.".to_owned() }]),
    }
}

/// One field's problem.
#[derive(Object, Debug, Clone)]
pub struct FieldProblem {
    /// The field, as a JSON path (`recipient.phone`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every error response of the API.
#[derive(ApiResponse, Debug)]
pub enum ApiProblem {
    /// Malformed request: unreadable JSON, wrong types, unknown fields, bad parameters.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, malformed or revoked API key.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// Not allowed for this partner.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource for this partner.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The resource's state forbids this (e.g. cancelling a delivered order, a second open
    /// dispute on an order, a test event on a paused webhook).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is too large.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// Valid JSON that breaks a rule (see `errors`), or an `Idempotency-Key` reused with a
    /// different body.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Rate limit exceeded; see `Retry-After`.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// Something failed on our side; retrying later is safe (with an `Idempotency-Key`).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// The database cannot be reached for a moment (a restart, maintenance): nothing was
    /// done; retry after `Retry-After` seconds (with the same `Idempotency-Key`).
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

impl ApiProblem {
    pub fn new(status: StatusCode, kind: &str, lang: Lang, title: Msg, detail: Option<String>) -> ApiProblem {
        let p =
            Problem { kind: format!("{TYPE_BASE}{kind}"), title: lang.t(title).to_owned(), status: status.as_u16(), detail, errors: None };
        match status.as_u16() {
            401 => ApiProblem::Unauthorized(Json(p)),
            403 => ApiProblem::Forbidden(Json(p)),
            404 => ApiProblem::NotFound(Json(p)),
            409 => ApiProblem::Conflict(Json(p)),
            413 => ApiProblem::TooLarge(Json(p)),
            422 => ApiProblem::Unprocessable(Json(p)),
            429 => ApiProblem::TooManyRequests(Json(p)),
            503 => ApiProblem::Unavailable(Json(p)),
            500..=599 => ApiProblem::Internal(Json(p)),
            _ => ApiProblem::BadRequest(Json(p)),
        }
    }

    pub fn not_found(lang: Lang) -> ApiProblem {
        ApiProblem::new(StatusCode::NOT_FOUND, "not-found", lang, Msg::ErrApiNotFound, None)
    }

    /// A validation problem from form-style field errors, with API field names.
    pub fn validation(lang: Lang, errors: &FieldErrors, rename: impl Fn(&str) -> String) -> ApiProblem {
        let errors =
            errors.fields().map(|f| FieldProblem { field: rename(f), message: errors.get(f).unwrap_or_default().to_owned() }).collect();
        ApiProblem::Unprocessable(Json(Problem {
            kind: format!("{TYPE_BASE}validation"),
            title: lang.t(Msg::ErrFixBelowApi).to_owned(),
            status: 422,
            detail: None,
            errors: Some(errors),
        }))
    }

    /// The database cannot be reached: `503`, to retry (`Retry-After` is added on the way out).
    pub fn unavailable(lang: Lang) -> ApiProblem {
        ApiProblem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", lang, Msg::ErrUnavailableTitle, None)
    }

    /// A database failure: `503` when it could not be reached, `500` (logged) otherwise.
    pub fn database(lang: Lang, e: &sqlx::Error) -> ApiProblem {
        if crate::db::unavailable(e) {
            tracing::warn!(error = %e, "database unavailable");
            return ApiProblem::unavailable(lang);
        }
        ApiProblem::internal(lang, e)
    }

    /// Log an unexpected failure and answer 500 without details.
    pub fn internal(lang: Lang, e: impl std::fmt::Display) -> ApiProblem {
        tracing::error!(error = %e, "API failure");
        ApiProblem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", lang, Msg::ErrServerTitle, None)
    }
}

tokio::task_local! {
    /// The language of the API request being answered, taken once by the middleware.
    static REQUEST_LANG: Lang;
}

/// Run an operation in its request's language: problems made by `?` are written in it.
pub async fn in_language<F: Future>(lang: Lang, operation: F) -> F::Output {
    REQUEST_LANG.scope(lang, operation).await
}

/// The language of the API request being answered (French outside one).
pub fn request_lang() -> Lang {
    REQUEST_LANG.try_with(|l| *l).unwrap_or_default()
}

/// A database failure in an operation: logged with its cause, answered `500 internal` in the
/// request's language, or `503 unavailable` when the database could not be reached.
impl From<sqlx::Error> for ApiProblem {
    fn from(e: sqlx::Error) -> Self {
        ApiProblem::database(request_lang(), &e)
    }
}

/// The language of an API request (`Accept-Language`, French by default).
pub fn lang_of(req: &Request) -> Lang {
    req.header(header::ACCEPT_LANGUAGE.as_str()).and_then(Lang::from_accept_language).unwrap_or_default()
}

/// A problem response built outside an operation (middleware, unmatched routes).
pub fn response(status: StatusCode, kind: &str, lang: Lang, title: Msg, detail: Option<String>) -> Response {
    let mut body = serde_json::json!({
        "type": format!("{TYPE_BASE}{kind}"),
        "title": lang.t(title),
        "status": status.as_u16(),
        "detail": detail,
    });

    if body["detail"].is_null()
        && let Some(map) = body.as_object_mut()
    {
        map.remove("detail");
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}

/// The problem for a bare status (parse errors, unknown routes, server errors).
pub fn for_status(status: StatusCode, lang: Lang, detail: Option<String>) -> Response {
    let (kind, title) = match status.as_u16() {
        400 => ("malformed-request", Msg::ErrApiBody),
        401 => ("unauthorized", Msg::ErrApiUnauthorized),
        403 => ("forbidden", Msg::ErrForbiddenTitle),
        404 => ("not-found", Msg::ErrApiNotFound),
        405 => ("method-not-allowed", Msg::ErrApiMethod),
        409 => ("conflict", Msg::ErrOrderChanged),
        413 => ("too-large", Msg::ErrTooLargeTitle),
        415 => ("unsupported-media-type", Msg::ErrApiBody),
        422 => ("validation", Msg::ErrFixBelowApi),
        429 => ("rate-limited", Msg::ErrTooManyTitle),
        503 => ("unavailable", Msg::ErrUnavailableTitle),
        _ => ("internal", Msg::ErrServerTitle),
    };
    let detail = if status.is_server_error() { None } else { detail };
    response(status, kind, lang, title, detail)
}
