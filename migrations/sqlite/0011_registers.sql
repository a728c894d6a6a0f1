-- Registers that departments publish for lookups (driving licences, e-challans): the
-- declaration from the pack, and the data of the version in force. An import writes the next
-- version and drops the old one in the same transaction.
CREATE TABLE registers (
    code TEXT PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    definition TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE register_rows (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL REFERENCES registers(code),
    version INTEGER NOT NULL,
    -- JSON: field code -> normalised value
    data TEXT NOT NULL
);
CREATE INDEX register_rows_version ON register_rows(register, version);

CREATE TABLE register_keys (
    register TEXT NOT NULL,
    version INTEGER NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    row_id INTEGER NOT NULL REFERENCES register_rows(id)
);
CREATE INDEX register_keys_lookup ON register_keys(register, field, value, version);
CREATE INDEX register_keys_row ON register_keys(row_id);
