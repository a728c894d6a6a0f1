-- Benefits: funds, applicants and their applications, the ballot, disbursement batches and
-- their payments, reconciliations, and the double-entry ledger every money figure comes from.
--
-- Amounts are whole paisa (INTEGER). Dates that are days (application window, birth date) are
-- TEXT 'YYYY-MM-DD'.

CREATE TABLE benefit_funds (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL,
    name_ps TEXT NOT NULL,
    description_en TEXT NOT NULL DEFAULT '',
    description_ur TEXT NOT NULL DEFAULT '',
    description_ps TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    subcategory TEXT NOT NULL DEFAULT '',
    financial_year TEXT NOT NULL,
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    -- JSON: the declarative rules (model.rs `Eligibility`), the entitlement rule, how
    -- applications are selected, the documents asked for and the fund's own questions.
    eligibility TEXT NOT NULL DEFAULT '{}',
    entitlement TEXT NOT NULL,
    selection TEXT NOT NULL,
    documents TEXT NOT NULL DEFAULT '[]',
    questions TEXT NOT NULL DEFAULT '[]',
    minutes_saved INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (opens_on <= closes_on)
);

-- One person, by CNIC, whatever they apply for: a later application updates these details.
CREATE TABLE benefit_applicants (
    id INTEGER PRIMARY KEY,
    cnic TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    guardian_name TEXT NOT NULL DEFAULT '',
    gender TEXT NOT NULL CHECK (gender IN ('female', 'male', 'transgender')),
    birth_date TEXT NOT NULL,
    religion TEXT NOT NULL DEFAULT '',
    district TEXT REFERENCES districts(slug),
    phone TEXT,
    address TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE benefit_applications (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    -- The address of the applicant's slip (random: the slip carries their name).
    token TEXT NOT NULL UNIQUE,
    fund_id INTEGER NOT NULL REFERENCES benefit_funds(id),
    applicant_id INTEGER NOT NULL REFERENCES benefit_applicants(id),
    channel TEXT NOT NULL,
    -- The applicant's circumstances when they applied: what eligibility, ranking, entitlement
    -- and the reports read.
    district TEXT REFERENCES districts(slug),
    gender TEXT NOT NULL,
    religion TEXT NOT NULL DEFAULT '',
    age INTEGER NOT NULL,
    monthly_income INTEGER NOT NULL CHECK (monthly_income >= 0),
    dependants INTEGER NOT NULL CHECK (dependants >= 0),
    grade TEXT NOT NULL DEFAULT '',
    bank_account TEXT,
    answers TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN
        ('ineligible', 'eligible', 'verified', 'rejected', 'selected', 'waitlisted')),
    reasons TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    verified_by TEXT,
    verified_at TEXT,
    draw_rank INTEGER,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    -- One application per person per fund, whatever the channel and however close together.
    UNIQUE (fund_id, applicant_id)
);
CREATE INDEX benefit_applications_fund ON benefit_applications(fund_id, status);

CREATE TABLE benefit_documents (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES benefit_applications(id),
    kind TEXT NOT NULL,
    photo_id INTEGER NOT NULL REFERENCES photos(id),
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX benefit_documents_application ON benefit_documents(application_id);

-- The ballot of a fund: the eligible list and the seed are published first; the result, a
-- deterministic function of both, afterwards. One per fund.
CREATE TABLE benefit_draws (
    fund_id INTEGER PRIMARY KEY REFERENCES benefit_funds(id),
    list TEXT NOT NULL,
    list_sha256 TEXT NOT NULL,
    seed TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    result TEXT,
    drawn_by TEXT,
    drawn_at TEXT
);

-- A disbursement envelope: at most control_count payments totalling at most control_total.
CREATE TABLE benefit_batches (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    fund_id INTEGER NOT NULL REFERENCES benefit_funds(id),
    control_count INTEGER NOT NULL CHECK (control_count > 0),
    control_total INTEGER NOT NULL CHECK (control_total > 0),
    status TEXT NOT NULL CHECK (status IN ('open', 'submitted', 'approved', 'rejected')),
    maker TEXT NOT NULL,
    checker TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_at TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    CHECK (checker IS NULL OR checker <> maker)
);

CREATE TABLE benefit_payments (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES benefit_batches(id),
    application_id INTEGER NOT NULL REFERENCES benefit_applications(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    instrument TEXT NOT NULL CHECK (instrument IN ('transfer', 'cheque')),
    -- The bank transfer reference or cheque number the bank statement will carry.
    reference TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'reconciled', 'returned')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX benefit_payments_batch ON benefit_payments(batch_id);
CREATE INDEX benefit_payments_application ON benefit_payments(application_id);

-- Double entry: each row moves `amount` from the credit account to the debit account of one
-- fund, so every account's balance is the sum of its debits less its credits and all balances
-- of a fund add up to zero. Accounts: `sanction` (where a budget comes from), `available`,
-- `committed` (entitlements not yet paid), `disbursed`. Rows are never changed: a correction is
-- a new row with the accounts swapped that names the row it reverses.
CREATE TABLE benefit_ledger (
    id INTEGER PRIMARY KEY,
    fund_id INTEGER NOT NULL REFERENCES benefit_funds(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('budget', 'commit', 'payment', 'reversal')),
    debit TEXT NOT NULL CHECK (debit IN ('sanction', 'available', 'committed', 'disbursed')),
    credit TEXT NOT NULL CHECK (credit IN ('sanction', 'available', 'committed', 'disbursed')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    application_id INTEGER REFERENCES benefit_applications(id),
    payment_id INTEGER REFERENCES benefit_payments(id),
    reverses INTEGER UNIQUE REFERENCES benefit_ledger(id),
    memo TEXT NOT NULL DEFAULT '',
    CHECK (debit <> credit)
);
CREATE INDEX benefit_ledger_fund ON benefit_ledger(fund_id);
CREATE INDEX benefit_ledger_application ON benefit_ledger(application_id);
-- A payment is disbursed once: the store refuses a second entry for it.
CREATE UNIQUE INDEX benefit_ledger_one_payment ON benefit_ledger(payment_id) WHERE kind = 'payment';
CREATE TRIGGER benefit_ledger_no_update BEFORE UPDATE ON benefit_ledger
BEGIN SELECT RAISE(ABORT, 'benefit_ledger is append-only'); END;
CREATE TRIGGER benefit_ledger_no_delete BEFORE DELETE ON benefit_ledger
BEGIN SELECT RAISE(ABORT, 'benefit_ledger is append-only'); END;

-- A bank statement checked against a fund's payments, and what it found.
CREATE TABLE benefit_reconciliations (
    id INTEGER PRIMARY KEY,
    fund_id INTEGER NOT NULL REFERENCES benefit_funds(id),
    file_sha256 TEXT NOT NULL,
    matched INTEGER NOT NULL,
    report TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
