-- The programme that builds the services (cycles, fellows, partner departments, MoUs, problem
-- statements, projects, training), and what the impact figures need from every event: its ISO
-- week in Pakistan time, and a keyed hash of the citizen's contact (never the contact itself).

ALTER TABLE impact_events ADD COLUMN week TEXT NOT NULL DEFAULT '';
ALTER TABLE impact_events ADD COLUMN citizen TEXT;
-- The ISO week of an event, in Pakistan time.
UPDATE impact_events SET week = to_char(at AT TIME ZONE 'Asia/Karachi', 'IYYY-"W"IW');
CREATE INDEX impact_week ON impact_events(week);

-- Secrets the deployment makes for itself once, shared by every node through the database.
CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO platform_secrets (name, value) VALUES ('impact-citizen', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

-- A partner department's people for the programme.
ALTER TABLE departments ADD COLUMN focal_person TEXT;
ALTER TABLE departments ADD COLUMN liaison_officer TEXT;

CREATE TABLE prog_cycles (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    -- Dates (YYYY-MM-DD, Pakistan): the call, then the fellowship.
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    -- The least share of women among the selected, in percent.
    women_quota BIGINT NOT NULL DEFAULT 25,
    -- JSON: [{code, label, max}]
    rubric TEXT NOT NULL,
    finalised_at TIMESTAMPTZ,
    finalised_by TEXT,
    -- Why an administrator finalised below the quota.
    quota_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE prog_teams (
    id BIGSERIAL PRIMARY KEY,
    cycle_id BIGINT NOT NULL REFERENCES prog_cycles(id),
    name TEXT NOT NULL,
    UNIQUE (cycle_id, name)
);

CREATE TABLE prog_applications (
    id BIGSERIAL PRIMARY KEY,
    cycle_id BIGINT NOT NULL REFERENCES prog_cycles(id),
    name TEXT NOT NULL,
    gender TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL,
    skills TEXT NOT NULL,
    statement TEXT NOT NULL,
    cv_file_id BIGINT REFERENCES photos(id),
    selected BOOLEAN NOT NULL DEFAULT FALSE,
    team_id BIGINT REFERENCES prog_teams(id),
    -- After the fellowship: is this alumnus free to volunteer, and when.
    volunteer BOOLEAN NOT NULL DEFAULT FALSE,
    availability TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (cycle_id, email),
    UNIQUE (cycle_id, phone)
);

CREATE TABLE prog_scores (
    application_id BIGINT NOT NULL REFERENCES prog_applications(id),
    reviewer_id BIGINT NOT NULL REFERENCES users(id),
    criterion TEXT NOT NULL,
    score BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, reviewer_id, criterion)
);

CREATE TABLE prog_mous (
    id BIGSERIAL PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    signed_on TEXT,
    starts_on TEXT,
    ends_on TEXT,
    document_file_id BIGINT REFERENCES photos(id),
    -- JSON: [{kind, text}]; kind `data` is data the department will share.
    commitments TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE prog_problems (
    id BIGSERIAL PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    stakeholders BIGINT NOT NULL,
    literacy TEXT NOT NULL,
    phone_access TEXT NOT NULL,
    -- JSON list: web, android, sms, ussd
    channels TEXT NOT NULL,
    -- JSON list of the data the solution needs
    data_needed TEXT NOT NULL,
    policy TEXT NOT NULL,
    policy_reference TEXT NOT NULL DEFAULT '',
    maintainer TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE prog_projects (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    team_id BIGINT REFERENCES prog_teams(id),
    problem_id BIGINT REFERENCES prog_problems(id),
    -- JSON list of `kind:code` (reports:ELEC-THEFT, benefits:MA-EDU, cases:…, directory:…)
    services TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL,
    maintainer TEXT NOT NULL DEFAULT '',
    backups_confirmed_by TEXT,
    backups_confirmed_at TIMESTAMPTZ,
    admins_confirmed_by TEXT,
    admins_confirmed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE prog_project_events (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES prog_projects(id),
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE prog_milestones (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES prog_projects(id),
    title TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done_on TEXT
);

CREATE TABLE prog_training (
    id BIGSERIAL PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    designation TEXT NOT NULL DEFAULT '',
    course TEXT NOT NULL,
    held_on TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX prog_training_held ON prog_training(held_on);
