-- WhatsApp and voice calls (docs/CHANNELS.md). A WhatsApp message goes through the phone
-- outbox like an SMS (gateway 'whatsapp'): `payload` is the Cloud API message it is sent as
-- (`body` keeps the words for the staff's list), `external_id` the id WhatsApp gave it, and
-- `delivery` the last status WhatsApp reported (sent, delivered, read, failed).
ALTER TABLE sms_outbox ADD COLUMN payload TEXT;
ALTER TABLE sms_outbox ADD COLUMN external_id TEXT;
ALTER TABLE sms_outbox ADD COLUMN delivery TEXT;
CREATE INDEX sms_outbox_external ON sms_outbox(external_id);

-- Who has written on WhatsApp, and when last: a reply is free within 24 hours of it; after,
-- only an approved template may be sent.
CREATE TABLE whatsapp_contacts (
    phone TEXT PRIMARY KEY,
    lang TEXT NOT NULL,
    last_in_at TIMESTAMPTZ NOT NULL
);

-- A report described aloud (a WhatsApp voice note, a call's recording): the recording, kept
-- with the staff-only documents (a voice is personal), played on the report's staff page.
ALTER TABLE reports ADD COLUMN voice_id BIGINT REFERENCES photos(id);

-- A recording a call left, waiting for the job that fetches it.
CREATE TABLE voice_recordings (
    id BIGSERIAL PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    url TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The recorded prompts a call plays (docs/CHANNELS.md), one per message or menu item and
-- language, kept in the file store like any file (so every node plays the same): uploaded in
-- the admin pages or loaded with `khidmat voice import`.
CREATE TABLE voice_prompts (
    lang TEXT NOT NULL,
    name TEXT NOT NULL,
    file_id BIGINT NOT NULL REFERENCES photos(id),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (lang, name)
);

-- A report may be followed on WhatsApp (FOLLOW 123 sent there): its followers' channel takes
-- 'whatsapp' too.
ALTER TABLE report_followers DROP CONSTRAINT report_followers_channel_check;
ALTER TABLE report_followers ADD CONSTRAINT report_followers_channel_check
    CHECK (channel IN ('sms', 'email', 'whatsapp'));
