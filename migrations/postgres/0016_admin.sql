-- Department administration: who maintains a department's services, when an API key was last
-- used, invitations and password resets (links sent by e-mail), and the backups made.
ALTER TABLE departments ADD COLUMN maintainer TEXT NOT NULL DEFAULT '';
ALTER TABLE departments ADD COLUMN maintainer_contact TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;

CREATE TABLE user_links (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- invite or reset
    purpose TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);

CREATE TABLE backups (
    id BIGSERIAL PRIMARY KEY,
    file TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    made_at TIMESTAMPTZ NOT NULL
);
