-- A failed delivery is not a dead end: the vendor orders a new attempt (the order goes back to
-- the dispatch queue with its attempt number) or a return (RETURNING, then RETURNED when the
-- courier hands the parcel back against the vendor's return code).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING', 'ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'COMPLETED', 'CANCELLED', 'FAILED', 'RETURNING', 'RETURNED'));
ALTER TABLE orders ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1 CHECK (attempt >= 1);
ALTER TABLE orders ADD COLUMN return_code TEXT;

-- Each attempt's trip is paid once: the fee (and a delivered order's cash) once per attempt.
ALTER TABLE wallet_entries ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1;
DROP INDEX wallet_entries_once_per_order;
CREATE UNIQUE INDEX wallet_entries_once_per_order ON wallet_entries (kind, order_id, attempt) WHERE kind IN ('COD_COLLECTED', 'DELIVERY_FEE');
