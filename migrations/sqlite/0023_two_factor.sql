-- Two-factor authentication: each person's TOTP secret (confirmed once a first code matched;
-- the last step used, so that a code works once), their single-use recovery codes (hashed),
-- and the sign-ins waiting for their second factor (the cookie's token, hashed).
CREATE TABLE user_totp (
    user_id      TEXT    PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_id   TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE login_challenges (
    id_hash    TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    next       TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX login_challenges_user ON login_challenges (user_id);
