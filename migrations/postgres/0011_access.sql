-- Access that ends when it should: delivery PIN attempts counted per order, courier tokens
-- with an expiry and a revocation, the API rate limit as a GCRA (one theoretical arrival time
-- per key, shared by every instance), and a session's end announced to every instance.

ALTER TABLE orders ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pin_locked_at BIGINT;
CREATE INDEX orders_pin_locked ON orders (pin_locked_at) WHERE pin_locked_at IS NOT NULL;

ALTER TABLE courier_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE courier_tokens ADD COLUMN revoked_at BIGINT;
UPDATE courier_tokens SET expires_at = last_used_at + 43200000;
CREATE INDEX courier_tokens_user ON courier_tokens (user_id);

CREATE TABLE api_rate_limits (
    key_id  TEXT    PRIMARY KEY,
    tat     BIGINT  NOT NULL,
    refused BOOLEAN NOT NULL DEFAULT FALSE
);
-- `api_rate_windows` (the fixed windows before) is left in place for instances still running
-- the previous version during a rolling upgrade; nothing reads it any more.

-- Whatever ends a session (logout, suspension, password change, expiry, a deleted user), the
-- streams it opened on any instance hear of it at commit: `end:<partner id>:<session hash>`.
CREATE FUNCTION delivr_session_ended() RETURNS trigger AS $$
DECLARE
    pid TEXT;
BEGIN
    SELECT id INTO pid FROM partners WHERE user_id = OLD.user_id;
    IF pid IS NOT NULL THEN
        PERFORM pg_notify('delivr_live', 'end:' || pid || ':' || OLD.id_hash);
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION delivr_session_ended();
