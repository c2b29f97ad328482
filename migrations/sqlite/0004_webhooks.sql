-- Webhooks: one configuration per partner, the delivery outbox (rows written in the same
-- transaction as the domain event), every attempt, and the partner notifications that the
-- webhook pause writes (the notifications feed itself comes with its own issue).

CREATE TABLE webhook_configs (
    partner_id       TEXT    PRIMARY KEY REFERENCES partners(id),
    url              TEXT    NOT NULL,
    secret           TEXT    NOT NULL,
    events           TEXT    NOT NULL,
    is_active        INTEGER NOT NULL DEFAULT 1,
    last_triggered   INTEGER,
    last_status_code INTEGER,
    failure_count    INTEGER NOT NULL DEFAULT 0,
    paused_reason    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               TEXT    PRIMARY KEY,
    partner_id       TEXT    NOT NULL REFERENCES partners(id),
    event_id         TEXT    NOT NULL,
    event_kind       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_partner ON webhook_deliveries (partner_id, created_at);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT    NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER,
    response_excerpt TEXT,
    error            TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);

CREATE TABLE partner_notifications (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id        TEXT    NOT NULL REFERENCES partners(id),
    notification_type TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    message           TEXT    NOT NULL,
    order_id          TEXT    REFERENCES orders(id),
    is_read           INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);
CREATE INDEX partner_notifications_partner ON partner_notifications (partner_id, id);
