-- Full-text search of the catalogue: an FTS5 index over od_datasets.search (the folded text
-- of a dataset's name, title, notes and tags; see src/platform/text.rs), kept by triggers.
CREATE VIRTUAL TABLE od_datasets_fts USING fts5(
    search,
    content = 'od_datasets',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO od_datasets_fts(od_datasets_fts) VALUES ('rebuild');

CREATE TRIGGER od_datasets_fts_insert AFTER INSERT ON od_datasets BEGIN
    INSERT INTO od_datasets_fts(rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER od_datasets_fts_delete AFTER DELETE ON od_datasets BEGIN
    INSERT INTO od_datasets_fts(od_datasets_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER od_datasets_fts_update AFTER UPDATE OF search ON od_datasets BEGIN
    INSERT INTO od_datasets_fts(od_datasets_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO od_datasets_fts(rowid, search) VALUES (new.id, new.search);
END;

-- DataStore tables made from now on carry a `_search` column (the folded text of the row's text
-- fields) and a full-text index over it; earlier tables have neither, and say so.
ALTER TABLE od_resources ADD COLUMN full_text BOOLEAN NOT NULL DEFAULT FALSE;

-- A DataStore resource's primary key (JSON list of field ids; empty: none), which
-- datastore_upsert's update and upsert methods match records by.
ALTER TABLE od_resources ADD COLUMN primary_key TEXT NOT NULL DEFAULT '[]';

-- CKAN groups: themes across departments ("health", "transport"). A JSON list of group names,
-- as tags are; a group exists while a dataset is in it.
ALTER TABLE od_datasets ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
