-- Cases at work: who holds which workflow role, the cases, their append-only timeline and
-- attachments, and the documents issued from them.

-- A staff user acts in a workflow through its roles; the role's department is the user's.
CREATE TABLE case_role_holders (
    user_id BIGINT NOT NULL REFERENCES users(id),
    workflow TEXT NOT NULL REFERENCES case_workflows(code),
    role TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, workflow, role)
);

CREATE TABLE cases (
    id BIGSERIAL PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL REFERENCES case_workflows(code),
    state TEXT NOT NULL,
    district TEXT REFERENCES districts(slug),
    -- The typed fields, JSON: code -> value.
    fields TEXT NOT NULL DEFAULT '{}',
    -- Field codes fixed by an approval gate: they can no longer change.
    locked_fields TEXT NOT NULL DEFAULT '[]',
    state_since TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX cases_workflow_state ON cases(workflow, state);

-- The timeline: who (and in which role, department and district) moved the case from where to
-- where, with what note, when. Never changed.
CREATE TABLE case_events (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    department TEXT NOT NULL,
    district TEXT,
    transition TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events(case_id);
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'case_events is append-only'; END $$;
CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
FOR EACH ROW EXECUTE FUNCTION case_events_append_only();

CREATE TABLE case_attachments (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    event_id BIGINT NOT NULL REFERENCES case_events(id),
    kind TEXT NOT NULL,
    photo_id BIGINT NOT NULL REFERENCES photos(id),
    lat DOUBLE PRECISION,
    long DOUBLE PRECISION,
    added_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_attachments_case ON case_attachments(case_id);

-- Letters and certificates issued from a case: a unique number, and a token for the public
-- verification page (which shows a cancellation).
CREATE TABLE case_documents (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    cancelled_at TIMESTAMPTZ,
    cancelled_by TEXT,
    cancel_reason TEXT
);

-- What the daily deadline job tells an office: a case of theirs is overdue. One notice per case,
-- office and state; read on the staff cases page.
CREATE TABLE case_notices (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    department TEXT NOT NULL,
    state TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, department, state)
);
