-- Directory (Open Referral HSDS 3.0). A place is one HSDS location with one service offered there
-- (and the service_at_location joining them); providers at a place (doctors) are HSDS contacts;
-- opening hours are HSDS schedules (weekly). Reviews are Khidmat's extension.

CREATE TABLE dir_kinds (
    code TEXT PRIMARY KEY,
    department_id INTEGER REFERENCES departments(id),
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL,
    name_ps TEXT NOT NULL,
    icon TEXT NOT NULL DEFAULT '',
    -- typed attributes of the places of this kind: [{code, datatype, label, values}]
    attributes TEXT NOT NULL DEFAULT '[]',
    provider_attributes TEXT NOT NULL DEFAULT '[]',
    sms_keywords TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);

CREATE TABLE dir_organizations (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email TEXT,
    website TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE dir_places (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    service_uuid TEXT NOT NULL UNIQUE,
    sal_uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL REFERENCES dir_kinds(code),
    organization_id INTEGER REFERENCES dir_organizations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    lat REAL NOT NULL,
    long REAL NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    district TEXT REFERENCES districts(slug),
    phone TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    -- weekly hours: [{"byday": "MO,TU", "opens_at": "09:00", "closes_at": "17:00"}]
    hours TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('verified', 'pending', 'rejected')),
    suggested_by TEXT,
    possible_duplicate_of INTEGER REFERENCES dir_places(id),
    -- the change counter (dir_seq) when the place last changed: search indexes load what is newer
    seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX dir_places_seq ON dir_places(seq);
CREATE INDEX dir_places_kind_status ON dir_places(kind, status, name);
CREATE INDEX dir_places_updated ON dir_places(updated_at);

CREATE TABLE dir_providers (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    place_id INTEGER NOT NULL REFERENCES dir_places(id),
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    hours TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
CREATE INDEX dir_providers_place ON dir_providers(place_id);

-- One row: the directory's change counter.
CREATE TABLE dir_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO dir_seq (id, value) VALUES (1, 0);

CREATE TABLE dir_reviews (
    id INTEGER PRIMARY KEY,
    -- 'place:ID' or 'provider:ID'
    subject TEXT NOT NULL,
    place_id INTEGER NOT NULL REFERENCES dir_places(id),
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    photo_id INTEGER REFERENCES photos(id),
    reviewer_phone TEXT NOT NULL,
    reviewer_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('visible', 'hidden')),
    reason TEXT,
    moderated_by TEXT,
    moderated_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX dir_reviews_subject ON dir_reviews(subject, status);
CREATE INDEX dir_reviews_reviewer ON dir_reviews(reviewer_phone, subject, created_at);
CREATE INDEX dir_reviews_status ON dir_reviews(status, created_at);

-- One-time codes sent by SMS to prove a phone number (hashed; a few tries; minutes long).
CREATE TABLE otp_codes (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX otp_codes_phone ON otp_codes(phone, purpose, created_at);
