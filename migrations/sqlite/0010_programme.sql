-- The programme that builds the services (cycles, fellows, partner departments, MoUs, problem
-- statements, projects, training), and what the impact figures need from every event: its ISO
-- week in Pakistan time, and a keyed hash of the citizen's contact (never the contact itself).

ALTER TABLE impact_events ADD COLUMN week TEXT NOT NULL DEFAULT '';
ALTER TABLE impact_events ADD COLUMN citizen TEXT;
-- The ISO week of an event is the week of its Thursday (Pakistan time, UTC+5).
UPDATE impact_events SET week = (
    SELECT strftime('%Y', t) || '-W' || printf('%02d', (CAST(strftime('%j', t) AS INTEGER) - 1) / 7 + 1)
    FROM (SELECT date(impact_events.at, '+5 hours', '-3 days', 'weekday 4') AS t)
);
CREATE INDEX impact_week ON impact_events(week);

-- Secrets the deployment makes for itself once, shared by every node through the database.
CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO platform_secrets (name, value) VALUES ('impact-citizen', lower(hex(randomblob(32))));

-- A partner department's people for the programme.
ALTER TABLE departments ADD COLUMN focal_person TEXT;
ALTER TABLE departments ADD COLUMN liaison_officer TEXT;

CREATE TABLE prog_cycles (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    -- Dates (YYYY-MM-DD, Pakistan): the call, then the fellowship.
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    -- The least share of women among the selected, in percent.
    women_quota INTEGER NOT NULL DEFAULT 25,
    -- JSON: [{code, label, max}]
    rubric TEXT NOT NULL,
    finalised_at TEXT,
    finalised_by TEXT,
    -- Why an administrator finalised below the quota.
    quota_reason TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE prog_teams (
    id INTEGER PRIMARY KEY,
    cycle_id INTEGER NOT NULL REFERENCES prog_cycles(id),
    name TEXT NOT NULL,
    UNIQUE (cycle_id, name)
);

CREATE TABLE prog_applications (
    id INTEGER PRIMARY KEY,
    cycle_id INTEGER NOT NULL REFERENCES prog_cycles(id),
    name TEXT NOT NULL,
    gender TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL,
    skills TEXT NOT NULL,
    statement TEXT NOT NULL,
    cv_file_id INTEGER REFERENCES photos(id),
    selected INTEGER NOT NULL DEFAULT 0,
    team_id INTEGER REFERENCES prog_teams(id),
    -- After the fellowship: is this alumnus free to volunteer, and when.
    volunteer INTEGER NOT NULL DEFAULT 0,
    availability TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (cycle_id, email),
    UNIQUE (cycle_id, phone)
);

CREATE TABLE prog_scores (
    application_id INTEGER NOT NULL REFERENCES prog_applications(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    criterion TEXT NOT NULL,
    score INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (application_id, reviewer_id, criterion)
);

CREATE TABLE prog_mous (
    id INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    signed_on TEXT,
    starts_on TEXT,
    ends_on TEXT,
    document_file_id INTEGER REFERENCES photos(id),
    -- JSON: [{kind, text}]; kind `data` is data the department will share.
    commitments TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE prog_problems (
    id INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    stakeholders INTEGER NOT NULL,
    literacy TEXT NOT NULL,
    phone_access TEXT NOT NULL,
    -- JSON list: web, android, sms, ussd
    channels TEXT NOT NULL,
    -- JSON list of the data the solution needs
    data_needed TEXT NOT NULL,
    policy TEXT NOT NULL,
    policy_reference TEXT NOT NULL DEFAULT '',
    maintainer TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE prog_projects (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    team_id INTEGER REFERENCES prog_teams(id),
    problem_id INTEGER REFERENCES prog_problems(id),
    -- JSON list of `kind:code` (reports:ELEC-THEFT, benefits:MA-EDU, cases:…, directory:…)
    services TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL,
    maintainer TEXT NOT NULL DEFAULT '',
    backups_confirmed_by TEXT,
    backups_confirmed_at TEXT,
    admins_confirmed_by TEXT,
    admins_confirmed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE prog_project_events (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES prog_projects(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE prog_milestones (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES prog_projects(id),
    title TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done_on TEXT
);

CREATE TABLE prog_training (
    id INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    designation TEXT NOT NULL DEFAULT '',
    course TEXT NOT NULL,
    held_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX prog_training_held ON prog_training(held_on);
