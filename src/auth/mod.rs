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

/// Bumped after every change that can take an API key's right away (a key revoked, a partner
/// approved or suspended): what this process remembered of keys is then read again. Only the
/// embedded SQLite file's single serving process remembers (see `api_keys::KeyCache`).
static CREDENTIALS_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Keys' rights changed (call after the change committed).
pub fn credentials_changed() {
    CREDENTIALS_EPOCH.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The current credentials epoch (read before reading a key, so that a change committed
/// meanwhile makes what was read stale).
pub fn credentials_epoch() -> u64 {
    CREDENTIALS_EPOCH.load(std::sync::atomic::Ordering::SeqCst)
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
