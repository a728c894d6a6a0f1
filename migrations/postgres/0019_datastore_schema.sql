-- The DataStore moves into its own schema. datastore_search_sql runs under a role that may read
-- this schema and nothing else (docs/SECURITY.md), so a query that slips past the parser still
-- cannot see the application's tables. Existing DataStore tables and their views move here;
-- their indexes and sequences move with them.
CREATE SCHEMA IF NOT EXISTS datastore;

DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT uuid, datastore_table FROM od_resources WHERE datastore_table IS NOT NULL LOOP
        EXECUTE format('ALTER TABLE IF EXISTS %I.%I SET SCHEMA datastore', current_schema(), r.datastore_table);
        EXECUTE format('ALTER VIEW IF EXISTS %I.%I SET SCHEMA datastore', current_schema(), r.uuid);
    END LOOP;
END
$$;
