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

/// Keys this process checked, by the SHA-256 of the presented key: on the embedded SQLite
/// file (one serving process, which makes every change itself) a key's next request reads
/// nothing from the database. Every change that can take a key's right away bumps
/// [`credentials_changed`], after which every key is read again: revocation and
/// suspension still hold on the very next request. PostgreSQL, shared by several instances,
/// reads every time.
#[derive(Default)]
pub struct KeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, Remembered>>,
}

/// A key as it was checked: the credentials epoch then, who it authenticates, and when it was
/// last marked used.
#[derive(Clone)]
pub struct Remembered {
    pub epoch: u64,
    pub auth: Authenticated,
    pub last_used_at: Option<i64>,
}

/// At most this many keys are remembered (beyond, the memory starts afresh).
const MAX_REMEMBERED: usize = 10_000;

impl KeyCache {
    pub fn get(&self, hash: &str, epoch: u64) -> Option<Remembered> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(hash).filter(|r| r.epoch == epoch).cloned()
    }

    pub fn put(&self, hash: String, remembered: Remembered) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_REMEMBERED {
            entries.clear();
        }
        entries.insert(hash, remembered);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered(epoch: u64) -> Remembered {
        let auth =
            Authenticated { key_id: "k".into(), partner_id: crate::ids::PartnerId::new("p"), role: TeamRole::Owner, created_by: None };
        Remembered { epoch, auth, last_used_at: Some(0) }
    }

    #[test]
    fn a_remembered_key_is_forgotten_when_credentials_change() {
        let cache = KeyCache::default();
        let epoch = credentials_epoch();
        cache.put("h".into(), remembered(epoch));
        assert!(cache.get("h", epoch).is_some_and(|r| r.auth.key_id == "k"));
        assert!(cache.get("other", epoch).is_none(), "only the very key presented");
        credentials_changed();
        assert!(cache.get("h", credentials_epoch()).is_none(), "read again after a revocation or suspension");
    }

    #[test]
    fn the_memory_of_keys_is_bounded() {
        let cache = KeyCache::default();
        for i in 0..=MAX_REMEMBERED {
            cache.put(i.to_string(), remembered(0));
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_REMEMBERED);
    }
}
