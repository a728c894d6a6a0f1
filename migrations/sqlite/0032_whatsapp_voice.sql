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
    last_in_at TEXT NOT NULL
);

-- A report described aloud (a WhatsApp voice note, a call's recording): the recording, kept
-- with the staff-only documents (a voice is personal), played on the report's staff page.
ALTER TABLE reports ADD COLUMN voice_id INTEGER REFERENCES photos(id);

-- A recording a call left, waiting for the job that fetches it.
CREATE TABLE voice_recordings (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    url TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The recorded prompts a call plays (docs/CHANNELS.md), one per message or menu item and
-- language, kept in the file store like any file (so every node plays the same): uploaded in
-- the admin pages or loaded with `khidmat voice import`.
CREATE TABLE voice_prompts (
    lang TEXT NOT NULL,
    name TEXT NOT NULL,
    file_id INTEGER NOT NULL REFERENCES photos(id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (lang, name)
);

-- A report may be followed on WhatsApp (FOLLOW 123 sent there): its followers' channel takes
-- 'whatsapp' too. SQLite cannot change a CHECK, so the table is made again with its rows.
CREATE TABLE report_followers_new (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp')),
    address TEXT NOT NULL,
    lang TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    confirmed_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (report_id, channel, address)
);
INSERT INTO report_followers_new (id, report_id, channel, address, lang, token, confirmed_at, created_at)
    SELECT id, report_id, channel, address, lang, token, confirmed_at, created_at FROM report_followers;
DROP TABLE report_followers;
ALTER TABLE report_followers_new RENAME TO report_followers;
