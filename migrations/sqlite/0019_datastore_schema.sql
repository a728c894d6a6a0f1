-- PostgreSQL moves the DataStore into a schema of its own in this release; on SQLite the
-- untrusted connection's authorizer walls it off instead (docs/SECURITY.md). Nothing changes.
SELECT 1;
