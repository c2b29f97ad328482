-- Messages to recipients and vendors (SMS, WhatsApp, e-mail): an outbox written in the same
-- transaction as the event that causes them, sent by the portal with retries. `template` and
-- `params` are rendered in `language` when sent (with the portal's public address); with no
-- provider configured a message is only recorded (status RECORDED): nothing leaves.
CREATE TABLE messages (
    id              TEXT    PRIMARY KEY,
    partner_id      TEXT    NOT NULL REFERENCES partners(id),
    order_id        TEXT    REFERENCES orders(id),
    event_id        TEXT    NOT NULL,
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
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('PENDING', 'SENDING');
CREATE INDEX messages_order ON messages (order_id, created_at);
CREATE INDEX messages_created ON messages (created_at);
