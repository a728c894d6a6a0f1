-- A place's name and address in Urdu and Pashto, beside the one it was registered with (its
-- `name` and `address`, usually English): a citizen reads the place in the page's language,
-- the registered one where a translation is missing.
ALTER TABLE dir_places ADD COLUMN name_ur TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_places ADD COLUMN name_ps TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_places ADD COLUMN address_ur TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_places ADD COLUMN address_ps TEXT NOT NULL DEFAULT '';
