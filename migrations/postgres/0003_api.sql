-- Integrator API (PostgreSQL twin of the SQLite migration): API keys (hash only), idempotency records, per-key rate-limit windows.

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    partner_id   TEXT    NOT NULL REFERENCES partners(id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL UNIQUE,
    hashed_key   TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_partner ON api_keys (partner_id, created_at);

CREATE TABLE idempotency_keys (
    partner_id    TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        BIGINT,
    content_type  TEXT,
    response_body TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE api_rate_windows (
    key_id       TEXT    NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
