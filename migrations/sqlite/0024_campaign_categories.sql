-- Campaign categories were a list in the code (and their names Fluent messages): a deployment
-- could not add "livelihoods" or rename one. They are now the campaigns pack's
-- (`[[campaigns.category]]`), kept here. A database made before this keeps the categories its
-- projects use, with the names they had.
CREATE TABLE campaign_categories (
    code TEXT PRIMARY KEY,
    name_en TEXT NOT NULL,
    name_ur TEXT NOT NULL DEFAULT '',
    name_ps TEXT NOT NULL DEFAULT '',
    -- Lists show categories in the order their pack gives them.
    position INTEGER NOT NULL DEFAULT 0
);

INSERT INTO campaign_categories (code, name_en, name_ur, name_ps, position)
SELECT column1, column2, column3, column4, column5 FROM (VALUES
    ('education', 'Education', 'تعلیم', 'زده کړه', 0),
    ('health', 'Health', 'صحت', 'روغتیا', 1),
    ('water-sanitation', 'Water and sanitation', 'پانی اور صفائی', 'اوبه او حفظ الصحه', 2),
    ('environment', 'Environment', 'ماحول', 'چاپېریال', 3),
    ('startups', 'Startups', 'اسٹارٹ اپ', 'نوي کاروبارونه', 4),
    ('community', 'Community', 'کمیونٹی', 'ټولنه', 5),
    ('relief', 'Relief', 'امداد', 'مرسته', 6),
    ('other', 'Other', 'دیگر', 'نور', 7))
WHERE column1 IN (SELECT category FROM campaign_projects);
