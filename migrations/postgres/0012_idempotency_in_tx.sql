-- Idempotency records are written in the same transaction as the operation's effect: `effect`
-- names what was done (`order:<id>`, `cancel:<id>`, `dispute:<id>`, `message:<dispute>:<id>`)
-- so that a retry after a crash before the response was stored is answered from it, and
-- `attempt` says which request wrote the record. Claims without an effect no longer exist:
-- those left by the previous design are released now.
ALTER TABLE idempotency_keys ADD COLUMN effect TEXT;
ALTER TABLE idempotency_keys ADD COLUMN attempt TEXT;
DELETE FROM idempotency_keys WHERE status IS NULL;
