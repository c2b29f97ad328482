-- Password recovery: a single-use link valid 30 minutes, sent by e-mail (and SMS when a
-- gateway is set up). Only the SHA-256 of the link's token is stored; using it, or asking
-- for a new one, spends the others of the account.
CREATE TABLE password_resets (
    token_hash  TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users(id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A recovery message belongs to a user who may have no shop (an admin) and to no domain
-- event: the outbox's partner and event become optional (SQLite rebuilds the table).
CREATE TABLE messages_new (
    id              TEXT    PRIMARY KEY,
    partner_id      TEXT    REFERENCES partners(id),
    order_id        TEXT    REFERENCES orders(id),
    event_id        TEXT,
    channel         TEXT    NOT NULL CHECK (channel IN ('SMS', 'WHATSAPP', 'EMAIL')),
    recipient       TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    params          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'RECORDED')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    locked_until    BIGINT,
    last_error      TEXT,
    provider_ref    TEXT,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
INSERT INTO messages_new SELECT id, partner_id, order_id, event_id, channel, recipient, language, template, params, status,
    attempts, next_attempt_at, locked_until, last_error, provider_ref, created_at, sent_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('PENDING', 'SENDING');
CREATE INDEX messages_order ON messages (order_id, created_at);
CREATE INDEX messages_created ON messages (created_at);
