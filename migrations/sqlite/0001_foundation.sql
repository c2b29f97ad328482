-- Foundation: geography, users, partners, sessions, login throttling, server secrets.
-- Timestamps are milliseconds since the Unix epoch (UTC); ids are UUID strings.

CREATE TABLE cities (
    id        INTEGER PRIMARY KEY,
    slug      TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL,
    lat       REAL    NOT NULL,
    lng       REAL    NOT NULL
);

CREATE TABLE quartiers (
    id        INTEGER PRIMARY KEY,
    city_id   INTEGER NOT NULL REFERENCES cities(id),
    name      TEXT    NOT NULL,
    name_key  TEXT    NOT NULL,
    lat       REAL    NOT NULL,
    lng       REAL    NOT NULL,
    UNIQUE (city_id, name_key)
);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('BUSINESS', 'ADMIN', 'COURIER')),
    full_name     TEXT    NOT NULL,
    phone         TEXT,
    language      TEXT    CHECK (language IN ('fr', 'en')),
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE partners (
    id                   TEXT    PRIMARY KEY,
    user_id              TEXT    NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    business_name        TEXT    NOT NULL,
    slug                 TEXT    NOT NULL UNIQUE,
    phone                TEXT    NOT NULL,
    is_business_approved INTEGER NOT NULL DEFAULT 0,
    approved_at          INTEGER,
    suspended_at         INTEGER,
    suspension_reason    TEXT,
    pickup_quartier_id   INTEGER REFERENCES quartiers(id),
    pickup_address       TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX partners_created ON partners (created_at);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT    NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
