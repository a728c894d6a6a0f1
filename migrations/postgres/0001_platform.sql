-- Platform kernel: places, people, keys, audit, jobs, photos, impact, idempotency.

CREATE TABLE districts (
    slug TEXT PRIMARY KEY,
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL,
    name_ps TEXT NOT NULL,
    division TEXT NOT NULL,
    hq_lat DOUBLE PRECISION NOT NULL,
    hq_long DOUBLE PRECISION NOT NULL
);

CREATE TABLE departments (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL,
    name_ps TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'officer')),
    department_id BIGINT REFERENCES departments(id),
    district TEXT REFERENCES districts(slug),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    department_id BIGINT REFERENCES departments(id),
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_subject ON audit_log(subject_type, subject_id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    run_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_ready ON jobs(status, run_at);

CREATE TABLE photos (
    id BIGSERIAL PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE impact_events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    service TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    channel TEXT NOT NULL,
    district TEXT,
    department_id BIGINT,
    minutes_saved BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX impact_at ON impact_events(at);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT,
    body TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE packs_loaded (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);

-- The districts of Khyber Pakhtunkhwa (2023), with the approximate position of each district
-- headquarters. Packs may add or rename districts ([[district]] sections).
INSERT INTO districts (slug, name_en, name_ur, name_ps, division, hq_lat, hq_long) VALUES
('abbottabad', 'Abbottabad', 'ایبٹ آباد', 'ایبټ اباد', 'hazara', 34.1688, 73.2215),
('bajaur', 'Bajaur', 'باجوڑ', 'باجوړ', 'malakand', 34.7300, 71.5200),
('bannu', 'Bannu', 'بنوں', 'بنو', 'bannu', 32.9861, 70.6042),
('battagram', 'Battagram', 'بٹگرام', 'بټګرام', 'hazara', 34.6780, 73.0230),
('buner', 'Buner', 'بونیر', 'بونېر', 'malakand', 34.5000, 72.4800),
('charsadda', 'Charsadda', 'چارسدہ', 'چارسده', 'peshawar', 34.1453, 71.7308),
('dera-ismail-khan', 'Dera Ismail Khan', 'ڈیرہ اسماعیل خان', 'ډېره اسماعیل خان', 'dera-ismail-khan', 31.8313, 70.9017),
('hangu', 'Hangu', 'ہنگو', 'هنګو', 'kohat', 33.5308, 71.0598),
('haripur', 'Haripur', 'ہری پور', 'هري پور', 'hazara', 33.9946, 72.9106),
('karak', 'Karak', 'کرک', 'کرک', 'kohat', 33.1167, 71.0944),
('khyber', 'Khyber', 'خیبر', 'خيبر', 'peshawar', 34.0988, 71.1416),
('kohat', 'Kohat', 'کوہاٹ', 'کوهاټ', 'kohat', 33.5869, 71.4429),
('kolai-palas', 'Kolai-Palas', 'کولائی پالس', 'کولای پالس', 'hazara', 34.9000, 73.0500),
('kurram', 'Kurram', 'کرم', 'کرم', 'kohat', 33.8992, 70.1008),
('lakki-marwat', 'Lakki Marwat', 'لکی مروت', 'لکي مروت', 'bannu', 32.6075, 70.9117),
('lower-chitral', 'Lower Chitral', 'لوئر چترال', 'کوز چترال', 'malakand', 35.8511, 71.7864),
('lower-dir', 'Lower Dir', 'لوئر دیر', 'کوز دیر', 'malakand', 34.8300, 71.8400),
('lower-kohistan', 'Lower Kohistan', 'لوئر کوہستان', 'کوز کوهستان', 'hazara', 35.0300, 73.0000),
('lower-south-waziristan', 'Lower South Waziristan', 'لوئر جنوبی وزیرستان', 'کوز جنوبي وزیرستان', 'dera-ismail-khan', 32.3000, 69.5700),
('malakand', 'Malakand', 'ملاکنڈ', 'ملاکنډ', 'malakand', 34.6178, 71.9725),
('mansehra', 'Mansehra', 'مانسہرہ', 'مانسهره', 'hazara', 34.3300, 73.2000),
('mardan', 'Mardan', 'مردان', 'مردان', 'mardan', 34.1986, 72.0404),
('mohmand', 'Mohmand', 'مہمند', 'مومند', 'peshawar', 34.3600, 71.4300),
('north-waziristan', 'North Waziristan', 'شمالی وزیرستان', 'شمالي وزیرستان', 'bannu', 33.0000, 70.0700),
('nowshera', 'Nowshera', 'نوشہرہ', 'نوښار', 'peshawar', 34.0153, 71.9747),
('orakzai', 'Orakzai', 'اورکزئی', 'اورکزی', 'kohat', 33.6700, 70.9700),
('peshawar', 'Peshawar', 'پشاور', 'پېښور', 'peshawar', 34.0151, 71.5249),
('shangla', 'Shangla', 'شانگلہ', 'شانګله', 'malakand', 34.8850, 72.6460),
('swabi', 'Swabi', 'صوابی', 'صوابۍ', 'mardan', 34.1200, 72.4700),
('swat', 'Swat', 'سوات', 'سوات', 'malakand', 34.7467, 72.3566),
('tank', 'Tank', 'ٹانک', 'ټانک', 'dera-ismail-khan', 32.2170, 70.3830),
('torghar', 'Torghar', 'تورغر', 'تورغر', 'hazara', 34.6000, 72.8800),
('upper-chitral', 'Upper Chitral', 'اپر چترال', 'بر چترال', 'malakand', 36.2700, 72.2600),
('upper-dir', 'Upper Dir', 'اپر دیر', 'بر دیر', 'malakand', 35.2058, 71.8756),
('upper-kohistan', 'Upper Kohistan', 'اپر کوہستان', 'بر کوهستان', 'hazara', 35.2900, 73.2900),
('upper-south-waziristan', 'Upper South Waziristan', 'اپر جنوبی وزیرستان', 'بر جنوبي وزیرستان', 'dera-ismail-khan', 32.5500, 69.8500);
