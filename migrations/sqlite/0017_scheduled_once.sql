-- Scheduled work is booked once, however many nodes start at the same moment: a job with a
-- once_key (its kind, for the scheduled jobs) can be waiting only once.
ALTER TABLE jobs ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX jobs_once ON jobs(once_key) WHERE status = 'queued';
