//! Domain events: written to the `domain_events` outbox in the same transaction as the change
//! that caused them, then announced in-process on the [`Bus`] after commit. Consumers
//! (notifications, webhooks, wallet) read the committed rows, so a crash between commit and
//! delivery only delays the delivery.

use serde::Serialize;
use tokio::sync::broadcast;

/// "Partner P has a new event, sequence number S, of this kind": ids only, the payload is
/// read from the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub partner_id: String,
    pub seq: i64,
    pub kind: String,
    pub order_id: Option<String>,
}

/// In-process fan-out of committed events. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Notice>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { tx: broadcast::channel(4096).0 }
    }
}

impl Bus {
    /// Announce committed events. Nobody listening is fine: the rows are the truth.
    pub fn publish(&self, notice: Notice) {
        let _ = self.tx.send(notice);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }
}

/// The people on an order, as the spec's payload shows them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub phone: String,
}

/// The `data` of an order event (the spec's webhook payload).
#[derive(Clone, Debug, Serialize)]
pub struct OrderData {
    pub order_id: String,
    pub tracking_number: String,
    pub status: &'static str,
    pub courier: Option<Person>,
    pub recipient: Person,
    pub pricing: crate::pricing::Price,
    pub cod_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
