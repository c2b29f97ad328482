//! The team page (`/partners/team/`, owners): members with their roles, invitations waiting,
//! the invitation form; accepting an invitation (`/accounts/invitations/<token>/`), as someone
//! new or signed in; and switching between one's shops (`/partners/shops/switch/`).

use maud::{Markup, html};
use poem::{
    Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use super::{ChangeError, JoinError, NewInvitation, NewPerson};
use crate::{
    accounts::{
        device, guard,
        pages::{check_password, required_email, required_text, set_cookie},
        password,
    },
    auth::{Role, TeamRole, sessions},
    db::now_ms,
    i18n::Msg,
    state::AppState,
    web::{
        Ctx, PageResult, SESSION_COOKIE,
        components::format_datetime,
        cookie,
        forms::{FieldErrors, Input, select},
        layout::{csrf_field, page, respond},
        redirect, status_error,
    },
};

pub fn routes(route: Route) -> Route {
    route
        .at("/partners/team/", get(team_page))
        .at("/partners/team/invite/", post(invite))
        .at("/partners/team/invitations/:id/revoke/", post(revoke_invitation))
        .at("/partners/team/members/:user_id/role/", post(change_role))
        .at("/partners/team/members/:user_id/remove/", post(remove_member))
        .at("/partners/team/two-factor/", post(require_two_factor))
        .at("/partners/shops/switch/", post(switch_shop))
        .at("/accounts/invitations/:token/", get(invitation_page).post(accept))
}

fn role_options(ctx: &Ctx, grantor: TeamRole) -> Vec<(String, String)> {
    TeamRole::ALL.into_iter().filter(|r| grantor.may_grant(*r)).map(|r| (r.as_str().to_owned(), ctx.t(r.label()).to_owned())).collect()
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct InviteForm {
    contact: String,
    role: String,
}

async fn team_view(state: &AppState, ctx: &Ctx, form: &InviteForm, errors: &FieldErrors, flash: Option<String>) -> PageResult<Markup> {
    let p = guard::partner(ctx)?;
    let me = guard::user(ctx)?;
    let members = super::members(&state.db, &p.id).await?;
    let waiting = super::pending_invitations(&state.db, &p.id, now_ms()).await?;
    let options = role_options(ctx, p.role);
    let required = super::requires_two_factor(&state.db, &p.id).await?;
    Ok(html! {
        h1 { (ctx.t(Msg::TeamTitle)) }
        p.muted { (ctx.t(Msg::TeamIntro)) }
        @if let Some(f) = flash { div.flash.ok role="status" { (f) } }
        div.card {
            h2 { (ctx.t(Msg::TeamMembers)) }
            ul.members {
                @for m in &members {
                    li.member {
                        div.row.between {
                            div {
                                strong { (m.full_name) } @if m.user_id == me.user_id { " " span.muted { (ctx.t(Msg::TeamYou)) } }
                                br; span.small.muted { (m.email) " · " (ctx.fmt(Msg::TeamJoined, &[("date", &format_datetime(m.created_at, ctx.lang))])) }
                                br; span.small.two-factor { (ctx.t(Msg::TeamTwoFactorColumn)) (ctx.lang.colon()) (ctx.t(if m.two_factor { Msg::Yes } else { Msg::No })) }
                            }
                            span.badge { (ctx.t(m.role().label())) }
                        }
                        div.row.actions {
                            form.inline method="post" action=(format!("/partners/team/members/{}/role/", m.user_id)) {
                                (csrf_field(ctx))
                                label.sr for=(format!("role-{}", m.user_id)) { (ctx.t(Msg::TeamRole)) }
                                select id=(format!("role-{}", m.user_id)) name="role" {
                                    @for (value, label) in &options {
                                        option value=(value) selected[*value == m.role] { (label) }
                                    }
                                }
                                button.btn.secondary type="submit" { (ctx.t(Msg::TeamChangeRole)) }
                            }
                            form.inline method="post" action=(format!("/partners/team/members/{}/remove/", m.user_id))
                                data-confirm=(ctx.fmt(Msg::ConfirmRemoveMember, &[("name", &m.full_name)])) {
                                (csrf_field(ctx))
                                (crate::web::confirm::field())
                                button.btn.danger type="submit" { (ctx.t(Msg::TeamRemove)) }
                            }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/partners/team/two-factor/" {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::TeamRequireTwoFactor)) }
            p.muted { (ctx.t(if required { Msg::TeamRequireTwoFactorOn } else { Msg::TeamRequireTwoFactorOff })) }
            input type="hidden" name="required" value=(if required { "0" } else { "1" });
            button.btn.secondary type="submit" { (ctx.t(if required { Msg::TeamRequireTwoFactorDisable } else { Msg::TeamRequireTwoFactorEnable })) }
        }
        @if !waiting.is_empty() {
            div.card {
                h2 { (ctx.t(Msg::TeamInvitations)) }
                ul.members {
                    @for i in &waiting {
                        li.member.row.between {
                            div {
                                strong { (i.recipient) } " · " (TeamRole::parse(&i.role).map_or("", |r| ctx.t(r.label())))
                                br; span.small.muted { (ctx.fmt(Msg::TeamInvitationValidUntil, &[("date", &format_datetime(i.expires_at, ctx.lang))])) }
                            }
                            form.inline method="post" action=(format!("/partners/team/invitations/{}/revoke/", i.id)) {
                                (csrf_field(ctx))
                                button.btn.secondary type="submit" { (ctx.t(Msg::TeamRevokeInvitation)) }
                            }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/partners/team/invite/" novalidate {
            (csrf_field(ctx))
            h2 { (ctx.t(Msg::TeamInvite)) }
            (Input::new("contact", ctx.t(Msg::TeamInviteContact), &form.contact).hint(ctx.t(Msg::TeamInviteContactHint)).render(errors))
            (select("role", ctx.t(Msg::TeamRole), &options, if form.role.is_empty() { TeamRole::Staff.as_str() } else { &form.role }, errors, html! {}))
            dl.facts.small {
                @for r in TeamRole::ALL { dt { (ctx.t(r.label())) } dd { (ctx.t(r.summary())) } }
            }
            button.btn type="submit" data-busy=(ctx.t(Msg::BusySending)) { (ctx.t(Msg::TeamInviteSend)) }
        }
    })
}

fn team_response(ctx: &Ctx, status: StatusCode, body: Markup) -> Response {
    respond(status, page(ctx, ctx.t(Msg::TeamTitle), body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FlashQuery {
    done: String,
}

#[handler]
async fn team_page(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    poem::web::Query(q): poem::web::Query<FlashQuery>,
) -> PageResult<Response> {
    guard::partner(ctx)?;
    let flash = match q.done.as_str() {
        "invited" => Some(ctx.t(Msg::TeamInvitedFlash).to_owned()),
        "role" => Some(ctx.t(Msg::TeamRoleChangedFlash).to_owned()),
        "removed" => Some(ctx.t(Msg::TeamRemovedFlash).to_owned()),
        "revoked" => Some(ctx.t(Msg::TeamInvitationRevokedFlash).to_owned()),
        "two-factor" => Some(ctx.t(Msg::TeamTwoFactorRuleFlash).to_owned()),
        _ => None,
    };
    Ok(team_response(ctx, StatusCode::OK, team_view(state, ctx, &InviteForm::default(), &FieldErrors::default(), flash).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequireForm {
    required: String,
}

/// Require two-factor of every member, or stop requiring it (owners).
#[handler]
async fn require_two_factor(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<RequireForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let on = match form.required.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(status_error(StatusCode::BAD_REQUEST).into()),
    };
    super::require_two_factor(&state.db, &p.id, on).await?;
    tracing::info!(partner_id = %p.id, required = on, "team two-factor requirement changed");
    Ok(redirect("/partners/team/?done=two-factor"))
}

#[handler]
async fn invite(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<InviteForm>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let me = guard::user(ctx)?;
    let mut errors = FieldErrors::default();
    let contact = form.contact.trim();
    // An e-mail address, or a Cameroonian phone number.
    let recipient = if contact.is_empty() {
        errors.add("contact", ctx.t(Msg::ErrRequired));
        None
    } else if contact.contains('@') {
        required_email(ctx, &mut errors, "contact", contact).map(|e| ("EMAIL", e))
    } else {
        match crate::accounts::phone::Phone::parse(contact) {
            Some(phone) => Some(("SMS", phone.as_str().to_owned())),
            None => {
                errors.add("contact", ctx.t(Msg::ErrTeamContact));
                None
            }
        }
    };
    let role = TeamRole::parse(&form.role).filter(|r| p.role.may_grant(*r));
    if role.is_none() {
        errors.add("role", ctx.t(Msg::ErrChoice));
    }
    // Already in the team: nothing to send.
    if let Some((_, r)) = &recipient
        && super::members(&state.db, &p.id).await?.iter().any(|m| m.email == *r)
    {
        errors.add("contact", ctx.t(Msg::ErrTeamAlreadyMember));
    }
    let (Some((channel, recipient)), Some(role), true) = (recipient, role, errors.is_empty()) else {
        return Ok(team_response(ctx, StatusCode::UNPROCESSABLE_ENTITY, team_view(state, ctx, &form, &errors, None).await?));
    };
    let new = NewInvitation { partner_id: &p.id, invited_by: &me.user_id, channel, recipient: &recipient, role, language: ctx.lang.code() };
    super::invite(&state.db, &new, now_ms()).await?;
    tracing::info!(partner_id = %p.id, role = role.as_str(), channel, "team invitation sent");
    Ok(redirect("/partners/team/?done=invited"))
}

#[handler]
async fn revoke_invitation(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(id): Path<String>) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    if !super::revoke_invitation(&state.db, &p.id, &id, now_ms()).await? {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    }
    Ok(redirect("/partners/team/?done=revoked"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleForm {
    role: String,
}

/// A refused change, shown on the team page.
async fn refused(state: &AppState, ctx: &Ctx, e: ChangeError) -> PageResult<Response> {
    let (status, msg) = match e {
        ChangeError::NotFound => return Err(status_error(StatusCode::NOT_FOUND).into()),
        ChangeError::LastOwner => (StatusCode::CONFLICT, Msg::ErrTeamLastOwner),
        ChangeError::Db(e) => return Err(e.into()),
    };
    let body = html! {
        div.flash.err role="alert" { (ctx.t(msg)) }
        (team_view(state, ctx, &InviteForm::default(), &FieldErrors::default(), None).await?)
    };
    Ok(team_response(ctx, status, body))
}

#[handler]
async fn change_role(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(user_id): Path<String>,
    Form(form): Form<RoleForm>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let Some(role) = TeamRole::parse(&form.role).filter(|r| p.role.may_grant(*r)) else {
        return Err(status_error(StatusCode::UNPROCESSABLE_ENTITY).into());
    };
    match super::set_role(&state.db, &p.id, &user_id, role).await {
        Ok(before) => {
            tracing::info!(partner_id = %p.id, member = user_id, from = before.as_str(), to = role.as_str(), "team role changed");
            Ok(redirect("/partners/team/?done=role"))
        }
        Err(e) => refused(state, ctx, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RemoveForm {
    confirmed: String,
}

#[handler]
async fn remove_member(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(user_id): Path<String>,
    Form(form): Form<RemoveForm>,
) -> PageResult<Response> {
    let p = guard::partner(ctx)?;
    let members = super::members(&state.db, &p.id).await?;
    let Some(member) = members.iter().find(|m| m.user_id == user_id) else { return Err(status_error(StatusCode::NOT_FOUND).into()) };
    if !crate::web::confirm::given(&form.confirmed) {
        let ask = crate::web::confirm::Ask {
            question: ctx.fmt(Msg::ConfirmRemoveMember, &[("name", &member.full_name)]),
            consequence: ctx.t(Msg::ConfirmRemoveMemberText).to_owned(),
            yes: ctx.t(Msg::TeamRemove),
            back: "/partners/team/",
        };
        return Ok(crate::web::confirm::page_for(ctx, &ask, &format!("/partners/team/members/{user_id}/remove/"), &[]));
    }
    match super::remove(&state.db, &p.id, &user_id).await {
        Ok(ended) => {
            ended.announce(&state.bus);
            tracing::info!(partner_id = %p.id, member = user_id, "team member removed");
            Ok(redirect("/partners/team/?done=removed"))
        }
        Err(e) => refused(state, ctx, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SwitchForm {
    partner_id: String,
}

/// Act for another shop the person belongs to.
#[handler]
async fn switch_shop(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Form(form): Form<SwitchForm>) -> PageResult<Response> {
    guard::any_partner(ctx)?;
    let user = guard::user(ctx)?;
    let Some(ended) = sessions::switch(&state.db, &user.session_hash, &form.partner_id).await? else {
        return Err(status_error(StatusCode::NOT_FOUND).into());
    };
    ended.announce(&state.bus);
    Ok(redirect("/partners/dashboard/"))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AcceptForm {
    full_name: String,
    email: String,
    password: String,
}

fn invitation_gone(ctx: &Ctx) -> Response {
    let body = html! {
        div.narrow { div.card {
            h1 { (ctx.t(Msg::InvitationGoneTitle)) }
            p { (ctx.t(Msg::InvitationGoneText)) }
            a.btn href="/accounts/login/" { (ctx.t(Msg::LoginSubmit)) }
        } }
    };
    respond(StatusCode::GONE, page(ctx, ctx.t(Msg::InvitationGoneTitle), body))
}

fn invitation_view(ctx: &Ctx, token: &str, invited: &super::Invited, form: &AcceptForm, errors: &FieldErrors) -> Markup {
    let action = format!("/accounts/invitations/{token}/");
    let intro = ctx.fmt(Msg::InvitationIntro, &[("shop", &invited.business_name), ("role", ctx.t(invited.role().label()))]);
    let body = html! {
        div.narrow {
            h1 { (ctx.t(Msg::InvitationTitle)) }
            p { (intro) }
            p.small.muted { (ctx.t(invited.role().summary())) }
            @match &ctx.user {
                Some(u) if u.role == Role::Business => {
                    form.card method="post" action=(action) hx-boost="false" {
                        (csrf_field(ctx))
                        p { (ctx.fmt(Msg::InvitationAsYou, &[("email", &u.email)])) }
                        button.btn.block type="submit" { (ctx.t(Msg::InvitationJoin)) }
                    }
                }
                Some(_) => { div.flash.err role="alert" { (ctx.t(Msg::ErrInvitationStaffAccount)) } }
                None => {
                    form.card method="post" action=(action) novalidate hx-boost="false" {
                        (csrf_field(ctx))
                        @if let Some(e) = errors.get("invitation") { div.flash.err role="alert" { (e) } }
                        (Input::new("full_name", ctx.t(Msg::FieldFullName), &form.full_name).autocomplete("name").render(errors))
                        (Input::new("email", ctx.t(Msg::FieldEmail), &form.email).kind("email").autocomplete("username").render(errors))
                        (Input::new("password", ctx.t(Msg::FieldPassword), "").kind("password").autocomplete("new-password").hint(ctx.t(Msg::HintPassword)).render(errors))
                        button.btn.block type="submit" data-busy=(ctx.t(Msg::BusyCreating)) { (ctx.t(Msg::InvitationCreateAndJoin)) }
                    }
                    p.small {
                        (ctx.t(Msg::InvitationHaveAccount)) " "
                        a href=(format!("/accounts/login/?next={}", crate::accounts::guard::url_encode(&format!("/accounts/invitations/{token}/")))) { (ctx.t(Msg::LoginSubmit)) }
                    }
                }
            }
        }
    };
    page(ctx, ctx.t(Msg::InvitationTitle), body)
}

#[handler]
async fn invitation_page(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>, Path(token): Path<String>) -> PageResult<Response> {
    let Some(invited) = super::find(&state.db, &token, now_ms()).await? else { return Ok(invitation_gone(ctx)) };
    let form =
        AcceptForm { email: if invited.channel == "EMAIL" { invited.recipient.clone() } else { String::new() }, ..AcceptForm::default() };
    let mut resp = respond(StatusCode::OK, invitation_view(ctx, &token, &invited, &form, &FieldErrors::default()));
    // The token is in the address: never sent on to another site.
    resp.headers_mut().insert("referrer-policy", poem::http::HeaderValue::from_static("no-referrer"));
    Ok(resp)
}

#[handler]
async fn accept(
    Data(state): Data<&AppState>,
    Data(ctx): Data<&Ctx>,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> PageResult<Response> {
    let now = now_ms();
    let Some(invited) = super::find(&state.db, &token, now).await? else { return Ok(invitation_gone(ctx)) };
    match &ctx.user {
        // Signed in: join, and act for the shop just joined.
        Some(u) if u.role == Role::Business => {
            let Some(partner_id) = super::accept(&state.db, &token, &u.user_id, now).await? else { return Ok(invitation_gone(ctx)) };
            if let Some(ended) = sessions::switch(&state.db, &u.session_hash, &partner_id).await? {
                ended.announce(&state.bus);
            }
            tracing::info!(partner_id, user_id = u.user_id, "invitation accepted");
            Ok(redirect("/partners/dashboard/"))
        }
        Some(_) => Err(status_error(StatusCode::FORBIDDEN).into()),
        None => {
            let mut errors = FieldErrors::default();
            let full_name = required_text(ctx, &mut errors, "full_name", &form.full_name, 120);
            let email = required_email(ctx, &mut errors, "email", &form.email);
            check_password(ctx, &mut errors, "password", &form.password);
            let (Some(email), true) = (email, errors.is_empty()) else {
                return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, invitation_view(ctx, &token, &invited, &form, &errors)));
            };
            let hash = password::hash_blocking(form.password.clone()).await?;
            let person = NewPerson { email: &email, full_name: &full_name, password_hash: &hash, language: ctx.lang.code() };
            let (user_id, partner_id) = match super::accept_new(&state.db, &token, &person, now).await {
                Ok(ids) => ids,
                Err(JoinError::EmailTaken) => {
                    errors.add("email", ctx.t(Msg::ErrInvitationEmailTaken));
                    return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, invitation_view(ctx, &token, &invited, &form, &errors)));
                }
                Err(JoinError::Invalid) => return Ok(invitation_gone(ctx)),
                Err(JoinError::Db(e)) => return Err(e.into()),
            };
            tracing::info!(partner_id, user_id, "invitation accepted by a new member");
            let raw = sessions::create(&state.db, &user_id).await?;
            // The session acts for the shop just joined (their only one).
            let mut resp = redirect("/partners/dashboard/");
            set_cookie(&mut resp, &cookie(state, SESSION_COOKIE, &raw, sessions::ABSOLUTE_MS / 1000));
            set_cookie(
                &mut resp,
                &cookie(state, device::DEVICE_COOKIE, &device::issue(&state.secret, &user_id, &hash), device::DEVICE_MAX_AGE_SECS),
            );
            Ok(resp)
        }
    }
}
