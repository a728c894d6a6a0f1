-- Department information pages (the fine schedule, the licence procedure, traffic signs,
-- emergency numbers), declared in packs.
CREATE TABLE content_pages (
    code TEXT PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    definition TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
