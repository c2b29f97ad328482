-- Disputes on orders (a thread of messages, evidence photos, a decision with an optional
-- refund), the vendor's brand (logo, colour, message for customers) and the slugs a vendor
-- used before (they keep redirecting to the current one).

CREATE TABLE disputes (
    id              TEXT    PRIMARY KEY,
    number          TEXT    NOT NULL UNIQUE,
    partner_id      TEXT    NOT NULL REFERENCES partners(id),
    order_id        TEXT    NOT NULL REFERENCES orders(id),
    reason          TEXT    NOT NULL CHECK (reason IN ('DAMAGED', 'MISSING_ITEM', 'COD_MISMATCH', 'LATE', 'COURIER_CONDUCT', 'OTHER')),
    description     TEXT    NOT NULL,
    amount_claimed  INTEGER NOT NULL CHECK (amount_claimed >= 0),
    status          TEXT    NOT NULL CHECK (status IN ('OPEN', 'IN_REVIEW', 'RESOLVED', 'REJECTED')),
    decision_reason TEXT,
    refund_amount   INTEGER CHECK (refund_amount IS NULL OR refund_amount >= 0),
    opened_by       TEXT    REFERENCES users(id),
    decided_by      TEXT    REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    decided_at      INTEGER
);
CREATE INDEX disputes_partner ON disputes (partner_id, created_at);
CREATE INDEX disputes_status ON disputes (status, created_at);
CREATE INDEX disputes_order ON disputes (order_id);
-- One open dispute per order.
CREATE UNIQUE INDEX disputes_one_open_per_order ON disputes (order_id) WHERE status IN ('OPEN', 'IN_REVIEW');

-- The thread: messages from the vendor or an admin, and the status changes with their reason.
CREATE TABLE dispute_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dispute_id  TEXT    NOT NULL REFERENCES disputes(id),
    author_role TEXT    NOT NULL CHECK (author_role IN ('VENDOR', 'ADMIN')),
    author_id   TEXT    REFERENCES users(id),
    status      TEXT,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX dispute_messages_dispute ON dispute_messages (dispute_id, id);

-- Evidence photos, re-encoded (no metadata); kept in the database so that every instance
-- serves them.
CREATE TABLE dispute_photos (
    id           TEXT    PRIMARY KEY,
    dispute_id   TEXT    NOT NULL REFERENCES disputes(id),
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX dispute_photos_dispute ON dispute_photos (dispute_id);

-- A refund is credited once per dispute, ever.
ALTER TABLE wallet_entries ADD COLUMN dispute_id TEXT REFERENCES disputes(id);
CREATE UNIQUE INDEX wallet_entries_once_per_dispute ON wallet_entries (dispute_id) WHERE dispute_id IS NOT NULL;

ALTER TABLE partners ADD COLUMN brand_color TEXT;
ALTER TABLE partners ADD COLUMN brand_message TEXT;
ALTER TABLE partners ADD COLUMN logo_hash TEXT;
ALTER TABLE partners ADD COLUMN logo_content_type TEXT;
ALTER TABLE partners ADD COLUMN logo BLOB;

CREATE TABLE partner_old_slugs (
    slug       TEXT    PRIMARY KEY,
    partner_id TEXT    NOT NULL REFERENCES partners(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX partner_old_slugs_partner ON partner_old_slugs (partner_id);
