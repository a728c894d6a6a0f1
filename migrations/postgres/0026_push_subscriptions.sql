-- Web Push: the browsers that follow a record (a report) and are told when it changes. The
-- endpoint and keys are what the browser's push service gave it; a subscription ends when the
-- service says it is gone, or when the browser asks.
CREATE TABLE push_subscriptions (
    id BIGSERIAL PRIMARY KEY,
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (subject_type, subject_id, endpoint)
);
