-- Department information pages (the fine schedule, the licence procedure, traffic signs,
-- emergency numbers), declared in packs.
CREATE TABLE content_pages (
    code TEXT PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
