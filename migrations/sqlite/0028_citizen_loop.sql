-- Closing the loop with citizens: several photos on a report, the reporter's own updates,
-- followers told of each change, and "is it fixed?" asked a set time after a fix.

-- How many photos a report of the service may carry, and how long after "fixed" its reporter is
-- asked whether it is (FixMyStreet asks after four weeks).
ALTER TABLE report_services ADD COLUMN max_photos INTEGER NOT NULL DEFAULT 3;
ALTER TABLE report_services ADD COLUMN ask_fixed_after_hours INTEGER NOT NULL DEFAULT 672;

-- A reporter's own update (what they saw since, "still not fixed") is public at once, with
-- phone and CNIC numbers redacted like every public text; staff can hide it, with a reason.
ALTER TABLE report_updates ADD COLUMN by_citizen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_updates ADD COLUMN hidden_reason TEXT;

-- Every photo of a report, in order. The first is also reports.photo_id (Open311's media_url);
-- a photo added with a citizen's update names it.
CREATE TABLE report_photos (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    photo_id INTEGER NOT NULL REFERENCES photos(id),
    update_id INTEGER REFERENCES report_updates(id),
    at TEXT NOT NULL
);
CREATE INDEX report_photos_report ON report_photos(report_id);

-- People told of a report's changes by SMS or e-mail (browsers follow by Web Push, in
-- push_subscriptions). An SMS follower texted FOLLOW from the number itself; an e-mail follower
-- opened the link mailed to confirm. The token is the one-click way out.
CREATE TABLE report_followers (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    address TEXT NOT NULL,
    lang TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    confirmed_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (report_id, channel, address)
);

-- "Is it fixed?": one question per fix, asked on the reporter's channel; the answer (fixed or
-- not, the citizen's words) and a 1-5 rating of how the report was handled. A reply by SMS
-- answers the latest question still awaiting one from that number.
CREATE TABLE report_outcomes (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    fix_update_id INTEGER NOT NULL UNIQUE REFERENCES report_updates(id),
    asked_at TEXT NOT NULL,
    asked_on TEXT NOT NULL,
    phone TEXT,
    awaiting TEXT NOT NULL CHECK (awaiting IN ('fixed', 'rating', 'none')),
    fixed INTEGER,
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    words TEXT,
    answered_on TEXT,
    answered_at TEXT,
    week TEXT
);
CREATE INDEX report_outcomes_phone ON report_outcomes(phone, awaiting);
CREATE INDEX report_outcomes_answered ON report_outcomes(answered_at);
CREATE INDEX report_outcomes_report ON report_outcomes(report_id);

-- Files that reached the server with a form that was then refused (a grant application whose
-- CNIC does not fit the gender given): kept under a random token for a day, so a citizen on 2G
-- corrects the form and sends it again without choosing and uploading the files again.
CREATE TABLE staged_files (
    token TEXT PRIMARY KEY,
    area TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX staged_files_created ON staged_files(created_at);
