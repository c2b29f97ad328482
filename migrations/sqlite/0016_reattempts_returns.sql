-- A failed delivery is not a dead end: the vendor orders a new attempt (the order goes back to
-- the dispatch queue with its attempt number) or a return (RETURNING, then RETURNED when the
-- courier hands the parcel back against the vendor's return code).
--
-- The status CHECK gains the two statuses. SQLite cannot alter a CHECK, and rebuilding the
-- table inside a migration's transaction (foreign keys on) would cascade-delete the timelines;
-- SQLite documents loosening a CHECK by editing the table's definition instead
-- (https://www.sqlite.org/lang_altertable.html, "making other kinds of schema changes"): the
-- rows already satisfy it. Setting the schema version makes every connection, this one first,
-- reload the definition (the documented step sets it one higher; a migration cannot read it,
-- and any new value does it: far above what DDL alone ever reaches).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''CANCELLED'', ''FAILED''))', '''CANCELLED'', ''FAILED'', ''RETURNING'', ''RETURNED''))')
 WHERE type = 'table' AND name = 'orders';
PRAGMA schema_version = 1000000016;
PRAGMA writable_schema = OFF;
-- The edit must have taken (a definition written differently would leave the old CHECK):
-- fail loudly otherwise.
CREATE TEMP TABLE migration_0016_guard (edited INTEGER CHECK (edited = 1));
INSERT INTO migration_0016_guard SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'orders' AND sql LIKE '%''RETURNED''%';
DROP TABLE migration_0016_guard;
ALTER TABLE orders ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);
ALTER TABLE orders ADD COLUMN return_code TEXT;

-- Each attempt's trip is paid once: the fee (and a delivered order's cash) once per attempt.
ALTER TABLE wallet_entries ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
DROP INDEX wallet_entries_once_per_order;
CREATE UNIQUE INDEX wallet_entries_once_per_order ON wallet_entries (kind, order_id, attempt) WHERE kind IN ('COD_COLLECTED', 'DELIVERY_FEE');
