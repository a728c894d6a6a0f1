-- Reports (Open311 GeoReport v2): the services a department takes reports for, the reports, and
-- the status updates staff post on them.
CREATE TABLE report_services (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    department_id INTEGER NOT NULL REFERENCES departments(id),
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
    minutes_saved INTEGER NOT NULL DEFAULT 0,
    public INTEGER NOT NULL DEFAULT 1,
    response_hours INTEGER NOT NULL DEFAULT 72,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    service_id INTEGER NOT NULL REFERENCES report_services(id),
    service_code TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    district TEXT REFERENCES districts(slug),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    rich_status TEXT NOT NULL,
    status_notes TEXT,
    description TEXT,
    lat REAL,
    long REAL,
    -- geo::cell of (lat, long): the index for nearby-report searches
    cell INTEGER,
    address TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    media_url TEXT,
    photo_id INTEGER REFERENCES photos(id),
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    device_id TEXT,
    account_id TEXT,
    channel TEXT NOT NULL,
    api_key_id INTEGER REFERENCES api_keys(id),
    assigned_to INTEGER REFERENCES users(id),
    possible_duplicate_of INTEGER REFERENCES reports(id),
    duplicate_distance_m REAL,
    requested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expected_at TEXT
);
CREATE INDEX reports_requested ON reports(requested_at);
CREATE INDEX reports_service_requested ON reports(service_code, requested_at);
CREATE INDEX reports_department_requested ON reports(department_id, requested_at);
-- Open311 lists filter by service and status together. There is deliberately no index led by
-- status alone: nearly every recent report is open, and the planners took it and walked through
-- every recent report of other services (PERFORMANCE.md).
CREATE INDEX reports_service_status_requested ON reports(service_code, status, requested_at);
CREATE INDEX reports_nearby ON reports(service_code, cell, requested_at);

CREATE TABLE report_updates (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    author TEXT NOT NULL,
    media_url TEXT,
    at TEXT NOT NULL
);
CREATE INDEX report_updates_at ON report_updates(at);
CREATE INDEX report_updates_report ON report_updates(report_id);
