-- Shops are teams: the people of a shop with their roles, invitations to join it, the shop
-- each session acts for, and who made each API key (and the role it acts with).
CREATE TABLE partner_members (
    partner_id TEXT    NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('OWNER', 'MANAGER', 'STAFF', 'ACCOUNTANT')),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (partner_id, user_id)
);
CREATE INDEX partner_members_user ON partner_members (user_id, created_at);
INSERT INTO partner_members (partner_id, user_id, role, created_at) SELECT id, user_id, 'OWNER', created_at FROM partners;

CREATE TABLE member_invitations (
    id         TEXT    PRIMARY KEY,
    partner_id TEXT    NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    channel    TEXT    NOT NULL CHECK (channel IN ('EMAIL', 'SMS')),
    recipient  TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('OWNER', 'MANAGER', 'STAFF', 'ACCOUNTANT')),
    invited_by TEXT    REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    used_by    TEXT    REFERENCES users(id) ON DELETE SET NULL,
    revoked_at BIGINT
);
CREATE INDEX member_invitations_partner ON member_invitations (partner_id, created_at);

ALTER TABLE sessions ADD COLUMN partner_id TEXT REFERENCES partners(id) ON DELETE CASCADE;
UPDATE sessions SET partner_id = (SELECT p.id FROM partners p WHERE p.user_id = sessions.user_id);
CREATE INDEX sessions_partner ON sessions (partner_id);

ALTER TABLE api_keys ADD COLUMN created_by TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'OWNER' CHECK (role IN ('OWNER', 'MANAGER', 'STAFF', 'ACCOUNTANT'));
UPDATE api_keys SET created_by = (SELECT p.user_id FROM partners p WHERE p.id = api_keys.partner_id);
