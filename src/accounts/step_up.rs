//! Proof of presence in the portal, checked for every `/partners/` request before its handler:
//! - two-factor first: a member of whom it is required (every member of a shop that asks it,
//!   an owner after their first two weeks) is sent to set it up before going on;
//! - a fresh proof for the changes the policy names (payouts, API keys, webhooks, the team):
//!   the password or a code typed in the last ten minutes (signing in counts). When it is older,
//!   the change is not made: a page asks for a code (or the password, for someone without
//!   two-factor) and sends the same form again with it, so nothing typed is lost.

use std::sync::Arc;

use maud::html;
use poem::{Endpoint, IntoResponse, Request, Response, http::StatusCode};

use super::{password, repo, throttle, two_factor};
use crate::{
    audit,
    auth::{policy, sessions},
    db::now_ms,
    i18n::Msg,
    state::AppState,
    web::{
        Ctx,
        forms::{self, FieldErrors, Input},
        layout::{page, respond},
        redirect,
    },
};

/// The form field that carries the proof.
pub const PROOF_FIELD: &str = "proof";
/// Where two-factor is set up.
const SETUP: &str = "/accounts/two-factor/setup/?required=1";

pub async fn guard<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let (Some(ctx), Some(state)) = (req.extensions().get::<Ctx>().cloned(), req.data::<AppState>().cloned()) else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    let Some(user) = ctx.user.as_ref().filter(|u| u.partner.is_some() && ctx.path.starts_with("/partners/")) else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    // Switching to another shop stays open: the requirement is the shop's.
    if user.must_set_up_two_factor() && !ctx.path.starts_with("/partners/shops/") {
        return Ok(redirect(SETUP));
    }
    let now = now_ms();
    if !ctx.write || !policy::needs_proof(&ctx.path) || user.freshly_proved(now) {
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    // The form as sent (the CSRF check already read and kept it).
    let body = req.take_body().into_bytes_limit(forms::MAX_FORM_BYTES).await.unwrap_or_default();
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let proof = fields.iter().find(|(k, _)| k == PROOF_FIELD).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut wrong = None;
    if !proof.is_empty() {
        let refusal = match prove(&state, user, &proof, now).await.map_err(crate::web::internal)? {
            Proof::Given => {
                sessions::proved(&state.db, &user.session_hash, now).await.map_err(crate::web::internal)?;
                req.set_body(body);
                return ep.call(req).await.map(IntoResponse::into_response);
            }
            Proof::Wrong if user.two_factor => Msg::ErrTwoFactorCode,
            Proof::Wrong => Msg::ErrStepUpPassword,
            Proof::Locked => Msg::ErrTwoFactorLocked,
        };
        wrong = Some(refusal);
        let entry = audit::Entry::new(audit::Action::Refused, &ctx.path).after(serde_json::json!({"reason": "proof"}));
        audit::record_alone(&state.db, entry, None).await.map_err(crate::web::internal)?;
    }
    // Asked first as a refusal (nothing was done), then as a form error; htmx swaps both.
    let status = if wrong.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::FORBIDDEN };
    Ok(respond(status, ask(&ctx, user.two_factor, &fields, wrong)))
}

/// What a proof turned out to be.
enum Proof {
    Given,
    Wrong,
    /// Too many wrong ones lately: not even checked.
    Locked,
}

/// Check a proof: a code (or recovery code) for someone with two-factor, else their password.
/// Wrong ones count against the account as sign-in failures do.
async fn prove(state: &AppState, user: &sessions::SessionUser, proof: &str, now: i64) -> sqlx::Result<Proof> {
    let key = format!("2fa:{}", user.user_id);
    if throttle::retry_after(&state.db, &[(&key, throttle::LOGIN_ACCOUNT)]).await?.is_some() {
        return Ok(Proof::Locked);
    }
    let ok = if user.two_factor {
        two_factor::verify(&state.db, &user.user_id, proof, now).await?
    } else {
        let phc = repo::password_hash(&state.db, &user.user_id).await?.unwrap_or_else(|| password::dummy_hash().to_owned());
        password::verify_blocking(proof.to_owned(), phc).await
    };
    if !ok {
        throttle::record(&state.db, &[&key]).await?;
        metrics::counter!("delivr_sign_in_failures_total", "kind" => "step-up").increment(1);
    }
    Ok(if ok { Proof::Given } else { Proof::Wrong })
}

/// The page that asks for the proof and sends the form again with it.
fn ask(ctx: &Ctx, two_factor: bool, fields: &[(String, String)], refused: Option<Msg>) -> maud::Markup {
    let label = ctx.t(if two_factor { Msg::TwoFactorCode } else { Msg::FieldPassword });
    let mut errors = FieldErrors::default();
    if let Some(refusal) = refused {
        errors.add(PROOF_FIELD, ctx.t(refusal));
    }
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::StepUpTitle)) }
            form.card method="post" action=(ctx.path) novalidate hx-boost="false" {
                @for (k, v) in fields.iter().filter(|(k, _)| k != PROOF_FIELD) {
                    input type="hidden" name=(k) value=(v);
                }
                p { (ctx.t(if two_factor { Msg::StepUpCode } else { Msg::StepUpPassword })) }
                @if two_factor {
                    (Input::new(PROOF_FIELD, label, "").autocomplete("one-time-code").hint(ctx.t(Msg::TwoFactorRecoveryHint)).render(&errors))
                } @else {
                    (Input::new(PROOF_FIELD, label, "").kind("password").autocomplete("current-password").render(&errors))
                }
                button.btn.block type="submit" { (ctx.t(Msg::Continue)) }
            }
            p.small { a href=(back_of(&ctx.path)) { (ctx.t(Msg::StepUpCancel)) } }
        }
    };
    page(ctx, ctx.t(Msg::StepUpTitle), body)
}

/// The page a change was made from, to go back to without making it.
fn back_of(path: &str) -> &'static str {
    ["/partners/wallet/", "/partners/api-keys/", "/partners/webhooks/", "/partners/team/"]
        .into_iter()
        .find(|p| path.starts_with(p))
        .unwrap_or("/partners/dashboard/")
}
