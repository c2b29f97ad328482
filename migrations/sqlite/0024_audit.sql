-- The audit trail: every security- or money-relevant action, written in the transaction of
-- the action itself (who, for which shop, from where, what changed). Append-only: the
-- triggers refuse any change or deletion of an entry.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id TEXT,
    user_id    TEXT,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL DEFAULT '',
    before     TEXT,
    after      TEXT,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_events_partner ON audit_events (partner_id, seq);
-- One person's entries (the log's person filter), and the people named in a shop's log.
CREATE INDEX audit_events_person ON audit_events (partner_id, user_id, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Proof of presence: when the person behind a session last typed their password or a code
-- (sign-in counts), for the actions that ask for a fresh one.
ALTER TABLE sessions ADD COLUMN proved_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET proved_at = created_at;

-- An owner may require two-factor of every member of the shop.
ALTER TABLE partners ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- Two-factor becomes required of owners two weeks after they join a shop; the owners already
-- there get their two weeks from now rather than being stopped at their next page.
ALTER TABLE partner_members ADD COLUMN two_factor_due_at INTEGER;
UPDATE partner_members SET two_factor_due_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 1209600000
    WHERE created_at + 1209600000 < CAST(strftime('%s', 'now') AS INTEGER) * 1000;
