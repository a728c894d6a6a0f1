-- Citizens who sign in with a one-time code sent to their phone. A citizen is known by the keyed
-- hash of their number (the same key the impact figures count), never by the number itself: a
-- session keeps the hash and the masked number to show them.
CREATE TABLE citizen_sessions (
    token_hash TEXT PRIMARY KEY,
    citizen TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX citizen_sessions_citizen ON citizen_sessions(citizen);

-- Whose theory test it was (a signed-in citizen, or the phone of a USSD caller), and by which
-- channel: a citizen's score history, and a USSD test resumed after the network dropped it.
ALTER TABLE theory_sessions ADD COLUMN citizen TEXT;
ALTER TABLE theory_sessions ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
CREATE INDEX theory_sessions_citizen ON theory_sessions(citizen, started_at);
