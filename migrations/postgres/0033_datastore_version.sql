-- A DataStore table's version: raised by every write that changes its rows after it was made
-- (datastore_upsert). Answers to searches and SQL over a table are kept keyed by the versions
-- they were computed from (opendata::answers), so a new version is never answered from an old
-- one, on this node or another.
ALTER TABLE od_resources ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0;
