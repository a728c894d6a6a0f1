-- Staff's internal notes on a report: for colleagues (who called whom, what the line team found),
-- never shown to the citizen or the public, never in an export or a feed. A table of their own,
-- so no public query can reach them by forgetting a flag.
CREATE TABLE report_notes (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    author TEXT NOT NULL,
    note TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX report_notes_report ON report_notes(report_id);
