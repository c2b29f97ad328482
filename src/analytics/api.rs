//! The analytics summary of the integrator API: the page's headline figures for a period,
//! with the previous period of the same length.

use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};

use super::{
    Summary,
    pages::{Period, PeriodQuery},
};
use crate::{
    state::AppState,
    web::api::{
        ApiKeyAuth, ApiTags,
        problem::{ApiProblem, request_lang},
    },
    web::forms::FieldErrors,
};

pub struct AnalyticsApi;

/// Headline figures of a period (orders created in it, ledger entries booked in it).
#[derive(Object, Debug, Clone)]
pub struct PeriodFigures {
    /// First day, Douala time (`YYYY-MM-DD`).
    pub from: String,
    /// Last day, included.
    pub to: String,
    pub orders: i64,
    pub completed: i64,
    pub cancelled: i64,
    pub failed: i64,
    /// Pending or on the way.
    pub in_progress: i64,
    /// Completed over finished (completed, cancelled, failed) orders, 0 to 1; absent when
    /// nothing finished.
    #[oai(skip_serializing_if_is_none)]
    pub delivery_rate: Option<f64>,
    /// Orders with a dispute over orders, 0 to 1; absent without orders.
    #[oai(skip_serializing_if_is_none)]
    pub dispute_rate: Option<f64>,
    /// Cash collected on delivery and credited, FCFA.
    pub cod_collected: i64,
    /// Delivery fees debited, FCFA.
    pub delivery_spend: i64,
}

/// A period and the one before it.
#[derive(Object, Debug, Clone)]
pub struct AnalyticsSummary {
    pub current: PeriodFigures,
    pub previous: PeriodFigures,
    pub currency: String,
}

fn figures(range: super::Range, s: &Summary) -> PeriodFigures {
    let st = s.statuses;
    let ratio = |num: i64, den: i64| (den > 0).then(|| num as f64 / den as f64);
    PeriodFigures {
        from: range.from.to_string(),
        to: range.to.to_string(),
        orders: st.total(),
        completed: st.completed,
        cancelled: st.cancelled,
        failed: st.failed,
        in_progress: st.pending + st.active,
        delivery_rate: ratio(st.completed, st.finished()),
        dispute_rate: ratio(s.disputed, st.total()),
        cod_collected: s.cod_collected,
        delivery_spend: s.delivery_spend,
    }
}

#[OpenApi]
impl AnalyticsApi {
    /// The headline figures of a period, compared with the previous period of the same length.
    #[oai(path = "/analytics/summary", method = "get", operation_id = "getAnalyticsSummary", tag = "ApiTags::Analytics")]
    async fn summary(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// `7d`, `30d` (default), `90d`, `12m` or `custom` (then `from` and `to`).
        #[oai(validator(max_length = 10))]
        period: Query<Option<String>>,
        /// First day of a custom period, `YYYY-MM-DD`.
        #[oai(validator(max_length = 10))]
        from: Query<Option<String>>,
        /// Last day of a custom period (included, at most 3 years after `from`).
        #[oai(validator(max_length = 10))]
        to: Query<Option<String>>,
    ) -> Result<Json<AnalyticsSummary>, ApiProblem> {
        let lang = request_lang();
        let q = PeriodQuery {
            period: period.0.unwrap_or_default(),
            from: from.0.unwrap_or_default(),
            to: to.0.unwrap_or_default(),
            by: String::new(),
        };
        let (period, error) = Period::parse(&q, super::douala_date(crate::db::now_ms()));
        if let Some(msg) = error {
            let mut errors = FieldErrors::default();
            let field = if q.period == "custom" { "to" } else { "period" };
            errors.add(field, lang.t(msg));
            return Err(ApiProblem::validation(lang, &errors, str::to_owned));
        }
        let partner = &auth.0.partner_id;
        let current = super::summary(&state.db, partner, period.range).await?;
        let before = period.range.previous();
        let previous = super::summary(&state.db, partner, before).await?;
        Ok(Json(AnalyticsSummary {
            current: figures(period.range, &current),
            previous: figures(before, &previous),
            currency: "XAF".into(),
        }))
    }
}
