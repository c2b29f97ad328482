//! Who may see what: the checks page handlers start with. Failing ones become a redirect to
//! the login page (anonymous), the pending page (unapproved vendor) or a 404 (wrong role:
//! a page that exists only for others is not revealed).

use poem::http::StatusCode;

use crate::{
    auth::{
        Capability, Role, policy,
        sessions::{PartnerRef, SessionUser},
    },
    web::{Ctx, redirect, status_error},
};

fn to_login(ctx: &Ctx) -> poem::Error {
    let next: String = url_encode(&ctx.path);
    poem::Error::from_response(redirect(&format!("/accounts/login/?next={next}")))
}

pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).map(|v| v[2..].to_owned()).unwrap_or_default()
}

pub fn user(ctx: &Ctx) -> poem::Result<&SessionUser> {
    ctx.user.as_ref().ok_or_else(|| to_login(ctx))
}

/// A vendor, approved or not (profile, pending page), whose role in the shop allows this page
/// (the policy's table, by path and method): another role gets a `403`.
pub fn any_partner(ctx: &Ctx) -> poem::Result<&PartnerRef> {
    let user = user(ctx)?;
    match (&user.role, &user.partner) {
        (Role::Business, Some(p)) if p.role.can(policy::page(&ctx.path, ctx.write)) => Ok(p),
        (Role::Business, Some(_)) => Err(status_error(StatusCode::FORBIDDEN)),
        _ => Err(status_error(StatusCode::NOT_FOUND)),
    }
}

/// May the signed-in member do what `capability` covers (to show or hide a link or a form)?
pub fn can(ctx: &Ctx, capability: Capability) -> bool {
    ctx.user.as_ref().and_then(|u| u.partner.as_ref()).is_some_and(|p| p.role.can(capability))
}

/// An approved vendor (every portal section but the profile).
pub fn partner(ctx: &Ctx) -> poem::Result<&PartnerRef> {
    let p = any_partner(ctx)?;
    if p.approved { Ok(p) } else { Err(poem::Error::from_response(redirect("/partners/pending/"))) }
}

pub fn admin(ctx: &Ctx) -> poem::Result<&SessionUser> {
    let user = user(ctx)?;
    if user.role == Role::Admin { Ok(user) } else { Err(status_error(StatusCode::NOT_FOUND)) }
}

/// Where a user lands after login (or on `/`).
pub fn home_of(user: &SessionUser) -> &'static str {
    match (&user.role, &user.partner) {
        (Role::Admin, _) => "/admin/partners/",
        (Role::Business, Some(p)) if p.approved => "/partners/dashboard/",
        (Role::Business, _) => "/partners/pending/",
        (Role::Courier, _) => "/accounts/login/",
    }
}

/// A `next=` target is only followed when it is a local path.
pub fn safe_next(next: &str) -> Option<&str> {
    // Browsers drop tabs and newlines from URLs, so `/\t/evil` would become `//evil`.
    let second = next.chars().nth(1);
    let ok = next.starts_with('/')
        && !matches!(second, Some('/' | '\\'))
        && !next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && !next.contains("://");
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next("/partners/profile/"), Some("/partners/profile/"));
        for bad in ["//evil.com", "https://evil.com", "/\\evil.com", "evil", "", "/\t/evil.com", "/\n/evil.com", "/ /evil.com"] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
