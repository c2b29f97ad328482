//! A vendor signs up: their account and their business in one step, then the page that says
//! the business waits for approval.

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::{HeaderValue, StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;

use super::repo;
use crate::{
    accounts::{
        device, guard,
        pages::{check_password, required_email, required_phone, required_text, set_cookie},
        password, throttle,
    },
    auth::sessions,
    i18n::Msg,
    state::AppState,
    web::{
        Ctx, PageResult, SESSION_COOKIE, cookie,
        forms::{FieldErrors, Input},
        internal,
        layout::{csrf_field, page, respond},
        redirect,
    },
};

pub fn routes(route: Route) -> Route {
    route.at("/accounts/signup/", get(signup_page).post(signup))
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct SignupForm {
    business_name: String,
    contact_name: String,
    phone: String,
    email: String,
    password: String,
}

fn signup_view(ctx: &Ctx, form: &SignupForm, errors: &FieldErrors) -> Markup {
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::SignupTitle)) }
            p.muted { (ctx.t(Msg::SignupIntro)) }
            // Full navigations, not boosted swaps: signing in changes the whole document (its
            // event stream, its scripts), which a body swap would not.
            form.card method="post" action="/accounts/signup/" novalidate hx-boost="false" {
                (csrf_field(ctx))
                (Input::new("business_name", ctx.t(Msg::FieldBusinessName), &form.business_name).autocomplete("organization").render(errors))
                (Input::new("contact_name", ctx.t(Msg::FieldContactName), &form.contact_name).autocomplete("name").render(errors))
                (Input::new("phone", ctx.t(Msg::FieldPhone), &form.phone).kind("tel").autocomplete("tel").inputmode("tel").hint(ctx.t(Msg::HintPhone)).render(errors))
                (Input::new("email", ctx.t(Msg::FieldEmail), &form.email).kind("email").autocomplete("email").render(errors))
                (Input::new("password", ctx.t(Msg::FieldPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(errors))
                button.btn.block type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.t(Msg::SignupSubmit)) }
            }
            p.small { (ctx.t(Msg::SignupHaveAccount)) " " a href="/accounts/login/" { (ctx.t(Msg::LoginSubmit)) } }
        }
    };
    page(ctx, ctx.t(Msg::SignupTitle), body)
}

#[handler]
fn signup_page(Data(ctx): Data<&Ctx>) -> Response {
    if let Some(user) = &ctx.user {
        return redirect(guard::home_of(user));
    }
    respond(StatusCode::OK, signup_view(ctx, &SignupForm::default(), &FieldErrors::default()))
}

#[handler]
async fn signup(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<SignupForm>) -> PageResult<Response> {
    let mut errors = FieldErrors::default();
    let business_name = required_text(ctx, &mut errors, "business_name", &form.business_name, 120);
    let contact_name = required_text(ctx, &mut errors, "contact_name", &form.contact_name, 120);
    let phone = required_phone(ctx, &mut errors, "phone", &form.phone);
    let email = required_email(ctx, &mut errors, "email", &form.email);
    check_password(ctx, &mut errors, "password", &form.password);
    let (Some(phone), Some(email), true) = (phone, email, errors.is_empty()) else {
        return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, signup_view(ctx, &form, &errors)));
    };
    // Every complete attempt counts, per client and per address: trying addresses to learn
    // which have an account is slow and visible.
    let (by_client, by_email) = (throttle::signup_client_key(&ctx.client), throttle::signup_email_key(&email));
    let probes = throttle::signup_probe_key(&ctx.client);
    let checks = [
        (by_client.as_str(), throttle::SIGNUP_CLIENT),
        (probes.as_str(), throttle::SIGNUP_PROBE_CLIENT),
        (by_email.as_str(), throttle::SIGNUP_EMAIL),
    ];
    if let Some(wait) = throttle::retry_after(&state.db, &checks).await? {
        let minutes = ((wait + 59) / 60).to_string();
        errors.add("email", ctx.fmt(Msg::ErrSignupThrottled, &[("minutes", &minutes)]));
        let mut resp = respond(StatusCode::TOO_MANY_REQUESTS, signup_view(ctx, &form, &errors));
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(resp);
    }
    throttle::record(&state.db, &[&by_client, &by_email]).await?;
    let hash = password::hash_blocking(form.password.clone()).await?;
    let new = repo::NewPartner {
        business_name: &business_name,
        contact_name: &contact_name,
        phone: phone.as_str(),
        email: &email,
        password_hash: &hash,
        language: ctx.lang.code(),
    };
    let (user_id, _) = match repo::create(&state.db, &new).await {
        Ok(ids) => ids,
        Err(repo::CreateError::EmailTaken) => {
            throttle::record(&state.db, &[&probes]).await?;
            errors.add("email", ctx.t(Msg::ErrSignupEmailUnavailable));
            return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, signup_view(ctx, &form, &errors)));
        }
        Err(repo::CreateError::Db(e)) => return Err(internal(e).into()),
    };
    tracing::info!(user_id, "vendor signed up");
    let raw = sessions::create(&state.db, &user_id).await?;
    let mut resp = redirect("/partners/pending/");
    set_cookie(&mut resp, &cookie(state, SESSION_COOKIE, &raw, sessions::ABSOLUTE_MS / 1000));
    set_cookie(
        &mut resp,
        &cookie(state, device::DEVICE_COOKIE, &device::issue(&state.secret, &user_id, &hash), device::DEVICE_MAX_AGE_SECS),
    );
    Ok(resp)
}
