-- Access that ends when it should: delivery PIN attempts counted per order, courier tokens
-- with an expiry and a revocation, and the API rate limit as a GCRA (one theoretical arrival
-- time per key).

ALTER TABLE orders ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pin_locked_at INTEGER;
CREATE INDEX orders_pin_locked ON orders (pin_locked_at) WHERE pin_locked_at IS NOT NULL;

ALTER TABLE courier_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE courier_tokens ADD COLUMN revoked_at INTEGER;
-- Tokens issued before expiry existed live 12 hours from their last use.
UPDATE courier_tokens SET expires_at = last_used_at + 43200000;
CREATE INDEX courier_tokens_user ON courier_tokens (user_id);

CREATE TABLE api_rate_limits (
    key_id  TEXT    PRIMARY KEY,
    tat     INTEGER NOT NULL,
    refused BOOLEAN NOT NULL DEFAULT FALSE
);
-- `api_rate_windows` (the fixed windows before) is left in place for instances still running
-- the previous version during a rolling upgrade; nothing reads it any more.
