-- Outbound e-mail, as sms_outbox is for SMS: queued in the transaction of its cause, delivered by
-- the mail.send job.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    gateway TEXT NOT NULL,
    -- queued, sent or dead
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);

-- Campaigns: verified organisations present projects and collect pledges of support, under a
-- policy that an administrator sets per jurisdiction.
CREATE TABLE campaign_orgs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    registration_number TEXT NOT NULL UNIQUE,
    tax_number TEXT NOT NULL DEFAULT '',
    contact_name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- E.164; personal data, never shown in public
    phone TEXT NOT NULL,
    website TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL,
    about TEXT NOT NULL DEFAULT '',
    -- the keyed hash of the phone that registered it: who may act for it
    owner TEXT NOT NULL,
    lang TEXT NOT NULL,
    -- digest of the e-mail verification link's token, until it is used
    email_token TEXT,
    email_verified_at TEXT,
    -- pending, verified or rejected
    status TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT,
    reviewed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX campaign_orgs_owner ON campaign_orgs(owner);

CREATE TABLE campaign_projects (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES campaign_orgs(id),
    -- JSON {en, ur, ps}: any of them may be empty
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    story TEXT NOT NULL,
    category TEXT NOT NULL,
    -- money (goal in paisa), volunteers or items (goal a count)
    goal_kind TEXT NOT NULL,
    goal INTEGER NOT NULL,
    over_goal INTEGER NOT NULL,
    -- YYYY-MM-DD, the last day pledges are taken
    deadline TEXT NOT NULL,
    district TEXT NOT NULL,
    -- JSON list of photo digests
    photos TEXT NOT NULL DEFAULT '[]',
    video_url TEXT NOT NULL DEFAULT '',
    -- draft, review, published or returned
    status TEXT NOT NULL,
    review_notes TEXT NOT NULL DEFAULT '',
    featured INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX campaign_projects_status ON campaign_projects(status, district);

CREATE TABLE campaign_updates (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES campaign_projects(id),
    body TEXT NOT NULL,
    posted_at TEXT NOT NULL
);

CREATE TABLE campaign_pledges (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES campaign_projects(id),
    -- the keyed hash of the backer's phone (they signed in with it)
    backer TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    tax_number TEXT NOT NULL DEFAULT '',
    -- money (binding), interest (an amount, not binding) or help
    kind TEXT NOT NULL,
    -- paisa for money and interest; a count of people or items for help
    amount INTEGER NOT NULL,
    help TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL,
    disclosure_at TEXT NOT NULL,
    -- pending, accepted or declined
    status TEXT NOT NULL,
    decided_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX campaign_pledges_project ON campaign_pledges(project_id, status);
CREATE INDEX campaign_pledges_backer ON campaign_pledges(backer);

-- Every policy ever set; the newest row of a jurisdiction is in force. A district's policy
-- overrides the province's.
CREATE TABLE campaign_policies (
    id INTEGER PRIMARY KEY,
    -- 'province' or a district slug
    jurisdiction TEXT NOT NULL,
    -- disabled, help, interest or money
    mode TEXT NOT NULL,
    -- the law or notification it rests on
    basis TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE INDEX campaign_policies_jurisdiction ON campaign_policies(jurisdiction, id);
