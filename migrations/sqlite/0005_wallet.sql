-- Wallet: an append-only ledger per partner (integer FCFA), the account row that holds the
-- running balance and the amount held by pending payouts, and payouts to mobile money.

CREATE TABLE wallet_accounts (
    partner_id TEXT    PRIMARY KEY REFERENCES partners(id),
    balance    INTEGER NOT NULL DEFAULT 0,
    held       INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    updated_at INTEGER NOT NULL
);

CREATE TABLE wallet_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id    TEXT    NOT NULL REFERENCES partners(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('COD_COLLECTED', 'DELIVERY_FEE', 'DISPUTE_REFUND', 'PAYOUT', 'ADJUSTMENT')),
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    order_id      TEXT    REFERENCES orders(id),
    payout_id     TEXT,
    reason        TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX wallet_entries_partner ON wallet_entries (partner_id, id);
-- COD and the delivery fee are booked once per order, ever.
CREATE UNIQUE INDEX wallet_entries_once_per_order ON wallet_entries (kind, order_id) WHERE kind IN ('COD_COLLECTED', 'DELIVERY_FEE');

CREATE TABLE payouts (
    id            TEXT    PRIMARY KEY,
    partner_id    TEXT    NOT NULL REFERENCES partners(id),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    operator      TEXT    NOT NULL CHECK (operator IN ('MTN', 'ORANGE')),
    phone         TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('PENDING', 'PAID', 'REJECTED')),
    request_token TEXT    NOT NULL UNIQUE,
    reference     TEXT,
    reject_reason TEXT,
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    TEXT
);
CREATE INDEX payouts_status ON payouts (status, created_at);
CREATE INDEX payouts_partner ON payouts (partner_id, created_at);
