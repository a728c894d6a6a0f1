-- Open data (CKAN-compatible): datasets (CKAN packages) owned by departments (CKAN
-- organizations), their resources, and each DataStore resource's typed table (ds_<uuid>, made
-- when a CSV is imported).
CREATE TABLE od_datasets (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    department_id INTEGER REFERENCES departments(id),
    license_id TEXT NOT NULL DEFAULT 'cc-by-4.0',
    -- JSON array of tag names
    tags TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleted')),
    -- lower-cased title, name, notes and tags, for search
    search TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE INDEX od_datasets_department ON od_datasets(department_id);

CREATE TABLE od_resources (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    dataset_id INTEGER NOT NULL REFERENCES od_datasets(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT 'CSV',
    -- the DataStore table, when the resource's rows are stored
    datastore_table TEXT,
    -- [{"id": "District", "column": "c1", "type": "text"}]
    fields TEXT NOT NULL DEFAULT '[]',
    row_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL
);
CREATE INDEX od_resources_dataset ON od_resources(dataset_id);
