-- Cases: the workflow definitions that packs declare (checked before they are stored).
CREATE TABLE case_workflows (
    code TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
