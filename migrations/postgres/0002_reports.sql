-- Reports (Open311 GeoReport v2): the services a department takes reports for, the reports, and
-- the status updates staff post on them.
CREATE TABLE report_services (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL,
    name_ps TEXT NOT NULL,
    description_en TEXT NOT NULL DEFAULT '',
    description_ur TEXT NOT NULL DEFAULT '',
    description_ps TEXT NOT NULL DEFAULT '',
    group_en TEXT NOT NULL DEFAULT '',
    group_ur TEXT NOT NULL DEFAULT '',
    group_ps TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '',
    icon TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '[]',
    status_notes TEXT NOT NULL DEFAULT '{}',
    minutes_saved BIGINT NOT NULL DEFAULT 0,
    public BOOLEAN NOT NULL DEFAULT TRUE,
    response_hours BIGINT NOT NULL DEFAULT 72,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    service_id BIGINT NOT NULL REFERENCES report_services(id),
    service_code TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    district TEXT REFERENCES districts(slug),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    rich_status TEXT NOT NULL,
    status_notes TEXT,
    description TEXT,
    lat DOUBLE PRECISION,
    long DOUBLE PRECISION,
    -- geo::cell of (lat, long): the index for nearby-report searches
    cell BIGINT,
    address TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    media_url TEXT,
    photo_id BIGINT REFERENCES photos(id),
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    device_id TEXT,
    account_id TEXT,
    channel TEXT NOT NULL,
    api_key_id BIGINT REFERENCES api_keys(id),
    assigned_to BIGINT REFERENCES users(id),
    possible_duplicate_of BIGINT REFERENCES reports(id),
    duplicate_distance_m DOUBLE PRECISION,
    requested_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    expected_at TIMESTAMPTZ
);
CREATE INDEX reports_requested ON reports(requested_at, id);
CREATE INDEX reports_service_requested ON reports(service_code, requested_at, id);
CREATE INDEX reports_department_requested ON reports(department_id, requested_at, id);
-- Open311 lists filter by service and status together. There is deliberately no index led by
-- status alone: nearly every recent report is open, and the planners took it and walked through
-- every recent report of other services (PERFORMANCE.md).
CREATE INDEX reports_service_status_requested ON reports(service_code, status, requested_at, id);
CREATE INDEX reports_nearby ON reports(service_code, cell, requested_at);

CREATE TABLE report_updates (
    id BIGSERIAL PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    author TEXT NOT NULL,
    media_url TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_updates_at ON report_updates(at);
CREATE INDEX report_updates_report ON report_updates(report_id);
