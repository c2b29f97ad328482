-- The audit trail: every security- or money-relevant action, written in the transaction of
-- the action itself (who, for which shop, from where, what changed). Append-only: the
-- trigger refuses any change or deletion of an entry.
CREATE TABLE audit_events (
    seq        BIGSERIAL PRIMARY KEY,
    partner_id TEXT,
    user_id    TEXT,
    actor      TEXT      NOT NULL,
    action     TEXT      NOT NULL,
    subject    TEXT      NOT NULL DEFAULT '',
    before     TEXT,
    after      TEXT,
    ip         TEXT      NOT NULL DEFAULT '',
    user_agent TEXT      NOT NULL DEFAULT '',
    created_at BIGINT    NOT NULL
);
CREATE INDEX audit_events_partner ON audit_events (partner_id, seq);
-- One person's entries (the log's person filter), and the people named in a shop's log.
CREATE INDEX audit_events_person ON audit_events (partner_id, user_id, seq);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Proof of presence: when the person behind a session last typed their password or a code
-- (sign-in counts), for the actions that ask for a fresh one.
ALTER TABLE sessions ADD COLUMN proved_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET proved_at = created_at;

-- An owner may require two-factor of every member of the shop.
ALTER TABLE partners ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- Two-factor becomes required of owners two weeks after they join a shop; the owners already
-- there get their two weeks from now rather than being stopped at their next page.
ALTER TABLE partner_members ADD COLUMN two_factor_due_at BIGINT;
UPDATE partner_members SET two_factor_due_at = (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT + 1209600000
    WHERE created_at + 1209600000 < (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT;
