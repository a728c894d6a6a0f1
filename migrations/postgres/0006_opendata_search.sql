-- Full-text search of the catalogue: a GIN index over the tsvector of od_datasets.search (the
-- folded text of a dataset's name, title, notes and tags; see src/platform/text.rs). Queries
-- use the same expression, so the index serves them.
CREATE INDEX od_datasets_fts ON od_datasets USING GIN (to_tsvector('simple', search));
