-- Settings a platform administrator changes in the browser (the site's name, contact text and
-- logo; the SMS gateway). The configuration file gives the defaults; a row here takes their place.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
