-- Feature-phone channels: SMS and USSD in, SMS out.

-- The language a report was made in: its SMS notifications are sent in it.
ALTER TABLE reports ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
-- SMS keywords of a service, per language: {"en": ["KUNDA"], "ur": ["کنڈا"], …}
ALTER TABLE report_services ADD COLUMN sms_keywords TEXT NOT NULL DEFAULT '{}';

-- Every inbound SMS, once per gateway message id: a gateway's retry gets the first reply back.
CREATE TABLE channel_messages (
    id BIGSERIAL PRIMARY KEY,
    gateway TEXT NOT NULL,
    external_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    reply TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (gateway, external_id)
);

-- USSD sessions: where the caller is in the menus. `seen` is how much of the gateway's
-- `*`-joined input has been consumed.
CREATE TABLE ussd_sessions (
    id TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    state TEXT NOT NULL,
    seen BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ussd_sessions_expiry ON ussd_sessions(expires_at);

-- Outbound SMS. `dead` is the dead letter: every attempt failed; administrators see it.
CREATE TABLE sms_outbox (
    id BIGSERIAL PRIMARY KEY,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    lang TEXT NOT NULL,
    segments BIGINT NOT NULL,
    gateway TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'dead', 'suppressed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    report_id BIGINT REFERENCES reports(id),
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ
);
CREATE INDEX sms_outbox_pending ON sms_outbox(gateway, status, id);

-- Token buckets kept in the database, so limits survive restarts and hold across nodes.
-- `at` is seconds since 1970 (a number, so both databases do the arithmetic alike).
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    allowed BIGINT NOT NULL
);
