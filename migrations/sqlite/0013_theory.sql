-- The driving theory test: question banks (from packs), practice and mock sessions, and every
-- answer (for each question's error rate).
CREATE TABLE theory_banks (
    code TEXT PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE theory_sessions (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    bank TEXT NOT NULL REFERENCES theory_banks(code),
    -- practice or mock
    kind TEXT NOT NULL,
    -- JSON list of question codes, in the order asked
    questions TEXT NOT NULL,
    started_at TEXT NOT NULL,
    deadline TEXT,
    finished_at TEXT,
    correct INTEGER,
    passed INTEGER
);

CREATE TABLE theory_answers (
    session_id INTEGER NOT NULL REFERENCES theory_sessions(id),
    bank TEXT NOT NULL,
    question TEXT NOT NULL,
    chosen INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (session_id, question)
);
CREATE INDEX theory_answers_question ON theory_answers(bank, question);
