-- One row that /healthz rewrites in its own transaction: proof that a write can commit now
-- (a full disk or a read-only standby fails it), not only that the database answers.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TIMESTAMPTZ NOT NULL
);
