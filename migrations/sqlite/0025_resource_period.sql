-- The days a resource's data covers (the first and last its date and timestamp fields name),
-- for the DCAT catalogue's dct:temporal. Found while importing; resources imported before
-- this have none until imported again.
ALTER TABLE od_resources ADD COLUMN period_start TEXT;
ALTER TABLE od_resources ADD COLUMN period_end TEXT;
