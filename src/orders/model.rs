//! The order and its lifecycle: one state machine for every caller (vendor pages, API,
//! couriers, admins, the simulator).

use serde::Serialize;

use crate::i18n::Msg;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Completed,
    Cancelled,
    Failed,
    /// After a failure, the parcel goes back to the vendor.
    Returning,
    /// The courier handed the parcel back to the vendor (against the return code).
    Returned,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Pending,
        Status::Assigned,
        Status::PickedUp,
        Status::InTransit,
        Status::Completed,
        Status::Cancelled,
        Status::Failed,
        Status::Returning,
        Status::Returned,
    ];

    /// Not finished: waiting for a courier, on its way, or on its way back (the list's
    /// "active" filter).
    pub const ACTIVE: [Status; 5] = [Status::Pending, Status::Assigned, Status::PickedUp, Status::InTransit, Status::Returning];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Assigned => "ASSIGNED",
            Status::PickedUp => "PICKED_UP",
            Status::InTransit => "IN_TRANSIT",
            Status::Completed => "COMPLETED",
            Status::Cancelled => "CANCELLED",
            Status::Failed => "FAILED",
            Status::Returning => "RETURNING",
            Status::Returned => "RETURNED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Finished as a delivery: no courier is on it. A failed order may still be given a new
    /// attempt or a return by the vendor (see [`check`]).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Cancelled | Status::Failed | Status::Returned)
    }

    /// Moving: a courier is on it.
    pub fn in_progress(self) -> bool {
        matches!(self, Status::Assigned | Status::PickedUp | Status::InTransit | Status::Returning)
    }

    pub fn label(self) -> Msg {
        match self {
            Status::Pending => Msg::OrderStatusPending,
            Status::Assigned => Msg::OrderStatusAssigned,
            Status::PickedUp => Msg::OrderStatusPickedUp,
            Status::InTransit => Msg::OrderStatusInTransit,
            Status::Completed => Msg::OrderStatusCompleted,
            Status::Cancelled => Msg::OrderStatusCancelled,
            Status::Failed => Msg::OrderStatusFailed,
            Status::Returning => Msg::OrderStatusReturning,
            Status::Returned => Msg::OrderStatusReturned,
        }
    }

    /// Badge tone.
    pub fn tone(self) -> &'static str {
        match self {
            Status::Completed => "ok",
            Status::Cancelled | Status::Failed | Status::Returned => "err",
            Status::Pending => "",
            _ => "warn",
        }
    }

    /// The domain event a transition into this status publishes.
    pub fn event(self) -> crate::events::Kind {
        use crate::events::Kind;
        match self {
            Status::Pending => Kind::OrderCreated,
            Status::Assigned => Kind::OrderAssigned,
            Status::PickedUp => Kind::OrderPickedUp,
            Status::InTransit => Kind::OrderInTransit,
            Status::Completed => Kind::OrderCompleted,
            Status::Cancelled => Kind::OrderCancelled,
            Status::Failed => Kind::OrderFailed,
            Status::Returning => Kind::OrderReturning,
            Status::Returned => Kind::OrderReturned,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status equals its stored code (`order.status == "COMPLETED"`).
impl PartialEq<&str> for Status {
    fn eq(&self, code: &&str) -> bool {
        self.as_str() == *code
    }
}

/// A stored status that is none of ours: reading the row fails, it is never taken for another.
#[derive(Debug, thiserror::Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownStatus(pub String);

/// How a row's status decodes (exactly as stored).
impl TryFrom<String> for Status {
    type Error = UnknownStatus;

    fn try_from(s: String) -> Result<Status, UnknownStatus> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or(UnknownStatus(s))
    }
}

/// Who asks for a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Vendor,
    Admin,
    Courier,
    /// The simulator and automatic jobs.
    System,
    /// The vendor's customer on the public booking page.
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vendor => "VENDOR",
            Role::Admin => "ADMIN",
            Role::Courier => "COURIER",
            Role::System => "SYSTEM",
            Role::Customer => "CUSTOMER",
        }
    }
}

/// Wrong delivery PINs an order accepts before its PIN locks.
pub const MAX_PIN_FAILURES: i32 = 5;

/// A requested change of status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Assign {
        courier_id: String,
    },
    PickUp,
    StartTransit,
    Complete {
        pin: String,
    },
    /// An admin closes a delivered order without its PIN (after the PIN locked), with a reason.
    CompleteWithoutPin {
        reason: String,
    },
    Cancel {
        reason: String,
    },
    Fail {
        reason: String,
    },
    /// After a failure: back to the dispatch queue for a new attempt, whose trip costs `fee`
    /// (booked with the decision).
    Reattempt {
        fee: crate::money::Fcfa,
    },
    /// After a failure: the parcel goes back to the vendor, the return trip costing `fee`.
    Return {
        fee: crate::money::Fcfa,
    },
    /// The courier hands the parcel back to the vendor, who gives the return code.
    HandBack {
        code: String,
    },
}

impl Action {
    pub fn target(&self) -> Status {
        match self {
            Action::Assign { .. } => Status::Assigned,
            Action::PickUp => Status::PickedUp,
            Action::StartTransit => Status::InTransit,
            Action::Complete { .. } | Action::CompleteWithoutPin { .. } => Status::Completed,
            Action::Cancel { .. } => Status::Cancelled,
            Action::Fail { .. } => Status::Failed,
            Action::Reattempt { .. } => Status::Pending,
            Action::Return { .. } => Status::Returning,
            Action::HandBack { .. } => Status::Returned,
        }
    }
}

/// Why a transition is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the order is already finished")]
    Finished,
    #[error("not allowed from this status")]
    NotFromHere,
    #[error("not allowed for this actor")]
    NotYours,
    #[error("wrong delivery PIN")]
    WrongPin,
    #[error("the delivery PIN is locked after too many wrong tries")]
    PinLocked,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("wrong return code")]
    WrongReturnCode,
}

impl TransitionError {
    pub fn message(&self) -> Msg {
        match self {
            TransitionError::Finished => Msg::ErrOrderFinished,
            TransitionError::NotFromHere => Msg::ErrTransition,
            TransitionError::NotYours => Msg::ErrTransitionActor,
            TransitionError::WrongPin => Msg::ErrWrongPin,
            TransitionError::PinLocked => Msg::ErrPinLocked,
            TransitionError::ReasonRequired => Msg::ErrReasonRequired,
            TransitionError::WrongReturnCode => Msg::ErrWrongReturnCode,
        }
    }
}

/// The state machine: may `role` apply `action` to an order in `from`? (The PIN and the
/// courier's identity are checked against the order by the caller.)
pub fn check(from: Status, action: &Action, role: Role) -> Result<Status, TransitionError> {
    use Status::*;
    // A failed order is finished as a delivery, but the vendor decides what comes next.
    let after_failure = from == Failed && matches!(action, Action::Reattempt { .. } | Action::Return { .. });
    if from.is_final() && !after_failure {
        return Err(TransitionError::Finished);
    }
    let allowed_from: &[Status] = match action {
        Action::Assign { .. } => &[Pending],
        Action::PickUp => &[Assigned],
        Action::StartTransit => &[PickedUp],
        Action::Complete { .. } | Action::CompleteWithoutPin { .. } => &[InTransit],
        Action::Cancel { .. } if role == Role::Vendor => &[Pending, Assigned],
        Action::Cancel { .. } => &[Pending, Assigned, PickedUp, InTransit],
        Action::Fail { .. } => &[Assigned, PickedUp, InTransit],
        Action::Reattempt { .. } | Action::Return { .. } => &[Failed],
        Action::HandBack { .. } => &[Returning],
    };
    let allowed_roles: &[Role] = match action {
        Action::Assign { .. } => &[Role::Admin, Role::System],
        Action::PickUp | Action::StartTransit | Action::Complete { .. } | Action::Fail { .. } => {
            &[Role::Courier, Role::Admin, Role::System]
        }
        Action::Cancel { .. } => &[Role::Vendor, Role::Admin, Role::System],
        Action::CompleteWithoutPin { .. } => &[Role::Admin],
        Action::Reattempt { .. } | Action::Return { .. } => &[Role::Vendor, Role::Admin],
        Action::HandBack { .. } => &[Role::Courier, Role::Admin, Role::System],
    };
    if !allowed_roles.contains(&role) {
        return Err(TransitionError::NotYours);
    }
    if !allowed_from.contains(&from) {
        return Err(TransitionError::NotFromHere);
    }
    if let Action::Fail { reason } | Action::Cancel { reason } | Action::CompleteWithoutPin { reason } = action
        && reason.trim().is_empty()
        && (!matches!(action, Action::Cancel { .. }) || role != Role::Vendor)
    {
        return Err(TransitionError::ReasonRequired);
    }
    Ok(action.target())
}

/// Tracking numbers: `DLV-` and six characters without look-alikes (no 0/O, 1/I/L).
pub const TRACKING_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub fn new_tracking_number() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    let code: String = bytes.iter().map(|b| TRACKING_ALPHABET[(*b as usize) % TRACKING_ALPHABET.len()] as char).collect();
    format!("DLV-{code}")
}

pub fn is_tracking_number(s: &str) -> bool {
    s.len() == 10 && s.starts_with("DLV-") && s[4..].bytes().all(|b| TRACKING_ALPHABET.contains(&b))
}

/// A 4-digit delivery PIN, uniformly drawn.
pub fn new_pin() -> String {
    let mut bytes = [0u8; 4];
    loop {
        getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
        let n = u32::from_le_bytes(bytes);
        // Reject the top sliver so that every PIN is equally likely.
        if n < u32::MAX - (u32::MAX % 10_000) {
            return format!("{:04}", n % 10_000);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_status_decodes_exactly_or_not_at_all() {
        for st in Status::ALL {
            assert_eq!(Status::try_from(st.as_str().to_owned()).unwrap(), st);
        }
        // Never read as another status (it used to fall back to PENDING).
        assert!(Status::try_from("DELIVERED".to_owned()).is_err());
        assert!(Status::try_from("completed".to_owned()).is_err());
    }

    #[test]
    fn tracking_numbers_are_well_formed() {
        for _ in 0..200 {
            let t = new_tracking_number();
            assert!(is_tracking_number(&t), "{t}");
        }
        assert!(!is_tracking_number("DLV-A0O1IL"));
        assert!(!is_tracking_number("DLV-ABC"));
    }

    #[test]
    fn pins_are_four_digits() {
        for _ in 0..200 {
            let p = new_pin();
            assert_eq!(p.len(), 4);
            assert!(p.chars().all(|c| c.is_ascii_digit()));
        }
    }

    /// Every (status, action, role) triple against the documented table.
    #[test]
    fn the_state_machine_matches_its_table() {
        use Status::*;
        let actions = [
            Action::Assign { courier_id: "c".into() },
            Action::PickUp,
            Action::StartTransit,
            Action::Complete { pin: "1234".into() },
            Action::Cancel { reason: "r".into() },
            Action::Fail { reason: "r".into() },
            Action::CompleteWithoutPin { reason: "r".into() },
            Action::Reattempt { fee: crate::money::Fcfa(500) },
            Action::Return { fee: crate::money::Fcfa(500) },
            Action::HandBack { code: "1234".into() },
        ];
        let roles = [Role::Vendor, Role::Admin, Role::Courier, Role::System, Role::Customer];
        let mut legal = 0;
        for from in Status::ALL {
            for action in &actions {
                for role in roles {
                    let decides_after_failure = from == Failed && matches!(action, Action::Reattempt { .. } | Action::Return { .. });
                    let expected = if from.is_final() && !decides_after_failure {
                        Err(TransitionError::Finished)
                    } else {
                        let ok_role = match action {
                            Action::Assign { .. } => matches!(role, Role::Admin | Role::System),
                            Action::Cancel { .. } => matches!(role, Role::Vendor | Role::Admin | Role::System),
                            Action::CompleteWithoutPin { .. } => role == Role::Admin,
                            Action::Reattempt { .. } | Action::Return { .. } => matches!(role, Role::Vendor | Role::Admin),
                            _ => matches!(role, Role::Courier | Role::Admin | Role::System),
                        };
                        let ok_from = match action {
                            Action::Assign { .. } => from == Pending,
                            Action::PickUp => from == Assigned,
                            Action::StartTransit => from == PickedUp,
                            Action::Complete { .. } | Action::CompleteWithoutPin { .. } => from == InTransit,
                            Action::Cancel { .. } if role == Role::Vendor => matches!(from, Pending | Assigned),
                            Action::Cancel { .. } => matches!(from, Pending | Assigned | PickedUp | InTransit),
                            Action::Fail { .. } => matches!(from, Assigned | PickedUp | InTransit),
                            Action::Reattempt { .. } | Action::Return { .. } => from == Failed,
                            Action::HandBack { .. } => from == Returning,
                        };
                        if !ok_role {
                            Err(TransitionError::NotYours)
                        } else if !ok_from {
                            Err(TransitionError::NotFromHere)
                        } else {
                            Ok(action.target())
                        }
                    };
                    assert_eq!(check(from, action, role), expected, "{from:?} {action:?} {role:?}");
                    legal += usize::from(expected.is_ok());
                }
            }
        }
        assert_eq!(legal, 38);
    }

    #[test]
    fn failing_needs_a_reason_cancelling_by_the_vendor_does_not() {
        assert_eq!(check(Status::InTransit, &Action::Fail { reason: " ".into() }, Role::Courier), Err(TransitionError::ReasonRequired));
        assert_eq!(check(Status::Pending, &Action::Cancel { reason: String::new() }, Role::Vendor), Ok(Status::Cancelled));
        assert_eq!(check(Status::Pending, &Action::Cancel { reason: String::new() }, Role::Admin), Err(TransitionError::ReasonRequired));
        assert_eq!(
            check(Status::InTransit, &Action::CompleteWithoutPin { reason: "".into() }, Role::Admin),
            Err(TransitionError::ReasonRequired)
        );
    }
}
