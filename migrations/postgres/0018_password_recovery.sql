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
-- event: the outbox's partner and event become optional.
ALTER TABLE messages ALTER COLUMN partner_id DROP NOT NULL;
ALTER TABLE messages ALTER COLUMN event_id DROP NOT NULL;
