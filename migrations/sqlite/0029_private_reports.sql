-- A reporter may ask that their report not be shown publicly (a photo from their own roof, a
-- neighbour named): the department sees all of it; the public sees only that it exists, its
-- service, status and district.
ALTER TABLE reports ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
