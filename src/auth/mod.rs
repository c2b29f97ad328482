//! Who is signed in: the roles a user can have and their server-side sessions. Below the web
//! shell, which resolves the session of every request; accounts, partners and the admin pages
//! start and end sessions.

pub mod policy;
pub mod sessions;

pub use policy::{Capability, TeamRole};

/// What a user is allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Business,
    Admin,
    Courier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Business => "BUSINESS",
            Role::Admin => "ADMIN",
            Role::Courier => "COURIER",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "BUSINESS" => Some(Role::Business),
            "ADMIN" => Some(Role::Admin),
            "COURIER" => Some(Role::Courier),
            _ => None,
        }
    }
}

/// Who a key authenticates: the key, its partner, and the role it acts with (its creator's,
/// or a narrower one chosen when it was made).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub key_id: String,
    pub partner_id: crate::ids::PartnerId,
    pub role: TeamRole,
    /// Who made the key (the audit trail names them beside the key).
    pub created_by: Option<String>,
}
