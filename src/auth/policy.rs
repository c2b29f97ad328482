//! Who in a shop may do what. A shop is a team: its owner, managers, staff and accountants.
//! Each portal page and API operation needs one capability, found here by its path and
//! whether it changes something; the page guard and the API middleware both ask this table,
//! and the role × route tests walk it whole. A path the table does not name needs the owner:
//! a new page is closed to the others until it is listed.

use crate::i18n::Msg;

/// A member's role in a shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRole {
    /// Everything, including payouts and the team.
    Owner,
    /// Orders, disputes, branding, webhooks and API keys; reads the money; no payouts, no team.
    Manager,
    /// Creates and follows orders (and the tracking map); reads no money.
    Staff,
    /// Reads the wallet, invoices, analytics and exports; changes nothing.
    Accountant,
}

impl TeamRole {
    pub const ALL: [TeamRole; 4] = [TeamRole::Owner, TeamRole::Manager, TeamRole::Staff, TeamRole::Accountant];

    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Owner => "OWNER",
            TeamRole::Manager => "MANAGER",
            TeamRole::Staff => "STAFF",
            TeamRole::Accountant => "ACCOUNTANT",
        }
    }

    pub fn parse(s: &str) -> Option<TeamRole> {
        TeamRole::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The role's name, to show.
    pub fn label(self) -> Msg {
        match self {
            TeamRole::Owner => Msg::RoleOwner,
            TeamRole::Manager => Msg::RoleManager,
            TeamRole::Staff => Msg::RoleStaff,
            TeamRole::Accountant => Msg::RoleAccountant,
        }
    }

    /// What the role may do, in a sentence.
    pub fn summary(self) -> Msg {
        match self {
            TeamRole::Owner => Msg::RoleOwnerSummary,
            TeamRole::Manager => Msg::RoleManagerSummary,
            TeamRole::Staff => Msg::RoleStaffSummary,
            TeamRole::Accountant => Msg::RoleAccountantSummary,
        }
    }

    pub fn can(self, c: Capability) -> bool {
        use Capability::*;
        match self {
            TeamRole::Owner => true,
            TeamRole::Manager => !matches!(c, Payouts | Team | ShopSettings | Audit),
            TeamRole::Staff => matches!(c, Member | OrdersRead | Orders | Tracking),
            TeamRole::Accountant => matches!(c, Member | OrdersRead | Money),
        }
    }

    /// May a member of this role hand `other` to someone (an invitation, a role, an API key)?
    /// Nobody gives more than they have: an owner gives any role, a manager the roles below.
    pub fn may_grant(self, other: TeamRole) -> bool {
        match self {
            TeamRole::Owner => true,
            TeamRole::Manager => matches!(other, TeamRole::Manager | TeamRole::Staff | TeamRole::Accountant),
            _ => false,
        }
    }
}

/// What a page or operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Any member: the dashboard, notifications, one's own password and sessions, the shops
    /// one belongs to.
    Member,
    /// Reading orders and booking requests, their labels and exports, quotes.
    OrdersRead,
    /// Creating, importing and cancelling orders, answering booking requests, deciding after a
    /// failed delivery.
    Orders,
    /// The live map of the couriers.
    Tracking,
    Disputes,
    /// The booking page's look and address.
    Branding,
    Webhooks,
    ApiKeys,
    /// The wallet, its statement and exports, invoices, analytics.
    Money,
    /// Asking for a payout.
    Payouts,
    /// Inviting, changing roles, removing members.
    Team,
    /// The shop's own details: its name, contact, pickup address, legal numbers.
    ShopSettings,
    /// The shop's audit trail.
    Audit,
}

/// The portal's table: a path prefix, and what reading it and changing through it need. The
/// first prefix that matches wins, so the longer ones come first.
const PAGES: &[(&str, Capability, Capability)] = {
    use Capability::*;
    &[
        ("/partners/pending/", Member, Member),
        ("/partners/dashboard/api-key/", ApiKeys, ApiKeys),
        ("/partners/dashboard/", Member, Member),
        ("/partners/notifications/", Member, Member),
        ("/partners/profile/password/", Member, Member),
        ("/partners/profile/sign-out-everywhere/", Member, Member),
        ("/partners/profile/quartiers/", Member, Member),
        ("/partners/profile/", Member, ShopSettings),
        ("/partners/shops/", Member, Member),
        ("/partners/team/", Team, Team),
        ("/partners/audit/", Audit, Audit),
        ("/partners/orders/new/", Orders, Orders),
        ("/partners/orders/import/", Orders, Orders),
        ("/partners/orders/quote/", Orders, Orders),
        ("/partners/orders/quartiers/", Orders, Orders),
        ("/partners/orders/", OrdersRead, Orders),
        ("/partners/bookings/", OrdersRead, Orders),
        ("/partners/tracking/", Tracking, Tracking),
        ("/partners/disputes/", Disputes, Disputes),
        ("/partners/branding/", Branding, Branding),
        ("/partners/webhooks/", Webhooks, Webhooks),
        ("/partners/api-keys/", ApiKeys, ApiKeys),
        ("/partners/api/", ApiKeys, ApiKeys),
        ("/partners/wallet/payouts/", Payouts, Payouts),
        ("/partners/wallet/", Money, Money),
        ("/partners/invoices/", Money, Money),
        ("/partners/analytics/", Money, Money),
    ]
};

/// The API's table, by path under `/api/v1`.
const OPERATIONS: &[(&str, Capability, Capability)] = {
    use Capability::*;
    &[
        ("/quotes", OrdersRead, OrdersRead),
        ("/orders", OrdersRead, Orders),
        ("/disputes", Disputes, Disputes),
        ("/webhook", Webhooks, Webhooks),
        ("/wallet/payouts", Money, Payouts),
        ("/wallet", Money, Money),
        ("/invoices", Money, Money),
        ("/analytics", Money, Money),
    ]
};

/// The changes that ask for a fresh proof of presence (the password or a code typed in the last
/// ten minutes, signing in included): money leaving, keys, webhooks, the team.
const PROOF: &[&str] =
    &["/partners/wallet/payouts/", "/partners/api-keys/", "/partners/dashboard/api-key/", "/partners/webhooks/secret/", "/partners/team/"];

/// Does changing something through `path` ask for a fresh proof of presence?
pub fn needs_proof(path: &str) -> bool {
    // The webhook's address is saved at its page's root; its test delivery is not a change.
    path == "/partners/webhooks/" || PROOF.iter().any(|p| path.starts_with(p))
}

fn lookup(table: &[(&str, Capability, Capability)], path: &str, write: bool) -> Capability {
    table
        .iter()
        .find(|(prefix, ..)| path.starts_with(prefix))
        .map_or(Capability::Team, |&(_, read, change)| if write { change } else { read })
}

/// What the portal page at `path` needs (`write`: a request that changes something).
pub fn page(path: &str, write: bool) -> Capability {
    if path == "/partners/" {
        return Capability::Member;
    }
    lookup(PAGES, path, write)
}

/// What the API operation at `path` (under `/api/v1`, e.g. `/orders/…`) needs.
pub fn operation(path: &str, write: bool) -> Capability {
    lookup(OPERATIONS, path, write)
}

#[cfg(test)]
mod tests {
    use super::{Capability::*, TeamRole::*, *};

    #[test]
    fn the_roles_as_the_issue_gives_them() {
        assert!(TeamRole::ALL.iter().all(|r| r.can(Member) && r.can(OrdersRead)));
        assert!(Owner.can(Payouts) && Owner.can(Team));
        assert!(!Manager.can(Payouts) && !Manager.can(Team) && Manager.can(ApiKeys) && Manager.can(Webhooks) && Manager.can(Money));
        assert!(Staff.can(Orders) && Staff.can(Tracking) && !Staff.can(Money) && !Staff.can(Disputes));
        assert!(Accountant.can(Money) && !Accountant.can(Orders) && !Accountant.can(Payouts));
        assert!(Manager.may_grant(Staff) && !Manager.may_grant(Owner) && !Staff.may_grant(Staff));
    }

    #[test]
    fn paths_find_their_capability() {
        assert_eq!(page("/partners/wallet/payouts/", true), Payouts);
        assert_eq!(page("/partners/wallet/", false), Money);
        assert_eq!(page("/partners/orders/abc/", false), OrdersRead);
        assert_eq!(page("/partners/orders/abc/cancel/", true), Orders);
        assert_eq!(page("/partners/orders/new/", false), Orders);
        assert_eq!(page("/partners/profile/", true), ShopSettings);
        assert!(!Manager.can(ShopSettings));
        assert_eq!(page("/partners/something-new/", false), Team, "unlisted: owners only");
        assert_eq!(operation("/wallet/payouts", true), Payouts);
        assert_eq!(operation("/wallet/payouts", false), Money);
        assert_eq!(operation("/quotes", true), OrdersRead);
        assert_eq!(operation("/orders/x/cancel", true), Orders);
    }
}
