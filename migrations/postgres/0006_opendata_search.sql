-- Full-text search of the catalogue: a GIN index over the tsvector of od_datasets.search (the
-- folded text of a dataset's name, title, notes and tags; see src/platform/text.rs). Queries
-- use the same expression, so the index serves them.
CREATE INDEX od_datasets_fts ON od_datasets USING GIN (to_tsvector('simple', search));

-- DataStore tables made from now on carry a `_search` column (the folded text of the row's text
-- fields) and a full-text index over it; earlier tables have neither, and say so.
ALTER TABLE od_resources ADD COLUMN full_text BOOLEAN NOT NULL DEFAULT FALSE;

-- A DataStore resource's primary key (JSON list of field ids; empty: none), which
-- datastore_upsert's update and upsert methods match records by.
ALTER TABLE od_resources ADD COLUMN primary_key TEXT NOT NULL DEFAULT '[]';

-- CKAN groups: themes across departments ("health", "transport"). A JSON list of group names,
-- as tags are; a group exists while a dataset is in it.
ALTER TABLE od_datasets ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
