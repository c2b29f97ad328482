-- The API's per-key allowances are counted on every request: not worth a disk flush each time.
-- An unlogged table skips the write-ahead log (a crash forgets at most the last minute's
-- counts, which only ever lets a key through that would have been refused).
ALTER TABLE api_rate_limits SET UNLOGGED;
-- Arrival times are now kept in microseconds: the allowances start afresh.
DELETE FROM api_rate_limits;
