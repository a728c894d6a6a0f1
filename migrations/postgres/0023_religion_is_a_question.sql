-- Religion was built into the benefits service: a column of every applicant and application,
-- a list in the code and a rule of its own, whatever the department. It is now what the
-- Minority Affairs pack declares: a question of the funds that ask it, an eligibility rule on
-- its answers (`eligibility.answers.religion`) and a report by answer. A database made before
-- this moves its religion data across, so the same funds ask, check and report as before:
--   1. a fund whose rules named religions, or whose applicants gave one, asks the question
--      (optional, as the built-in field was), with the eight answers the form offered;
--   2. its rule `religions = [...]` becomes `answers = { religion = [...] }`;
--   3. each application's religion joins its answers;
--   4. stored reasons "not for this religion" become "not for those who answered ...";
--   5. the columns go.

UPDATE benefit_funds
SET questions = CAST(CAST(questions AS jsonb) || jsonb_build_array(CAST('{"code":"religion","datatype":"singlevaluelist","required":false,"description":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"values":[{"key":"muslim","name":{"en":"Muslim","ur":"مسلمان","ps":"مسلمان"}},{"key":"christian","name":{"en":"Christian","ur":"مسیحی","ps":"مسیحي"}},{"key":"hindu","name":{"en":"Hindu","ur":"ہندو","ps":"هندو"}},{"key":"sikh","name":{"en":"Sikh","ur":"سکھ","ps":"سک"}},{"key":"bahai","name":{"en":"Bahai","ur":"بہائی","ps":"بهایي"}},{"key":"kalash","name":{"en":"Kalash","ur":"کیلاش","ps":"کالاش"}},{"key":"parsi","name":{"en":"Parsi","ur":"پارسی","ps":"پارسي"}},{"key":"other","name":{"en":"Other","ur":"دیگر","ps":"نور"}}]}' AS jsonb)) AS TEXT)
WHERE (jsonb_array_length(COALESCE(CAST(eligibility AS jsonb) -> 'religions', '[]'::jsonb)) > 0
       OR EXISTS (SELECT 1 FROM benefit_applications a
                  WHERE a.fund_id = benefit_funds.id AND a.religion <> ''))
  AND NOT CAST(questions AS jsonb) @> '[{"code": "religion"}]'::jsonb;

UPDATE benefit_funds
SET eligibility = CAST((CAST(eligibility AS jsonb) - 'religions')
                       || jsonb_build_object('answers', jsonb_build_object('religion', CAST(eligibility AS jsonb) -> 'religions'))
                  AS TEXT)
WHERE jsonb_array_length(COALESCE(CAST(eligibility AS jsonb) -> 'religions', '[]'::jsonb)) > 0;
UPDATE benefit_funds SET eligibility = CAST(CAST(eligibility AS jsonb) - 'religions' AS TEXT)
WHERE CAST(eligibility AS jsonb) ? 'religions';

UPDATE benefit_applications
SET answers = CAST(CAST(answers AS jsonb) || jsonb_build_object('religion', religion) AS TEXT)
WHERE religion <> '' AND NOT CAST(answers AS jsonb) ? 'religion';

UPDATE benefit_applications SET reasons = replace(replace(replace(replace(replace(replace(replace(replace(replace(reasons,
    '{"rule":"religion","religion":"muslim"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Muslim","ur":"مسلمان","ps":"مسلمان"}}'),
    '{"rule":"religion","religion":"christian"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Christian","ur":"مسیحی","ps":"مسیحي"}}'),
    '{"rule":"religion","religion":"hindu"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Hindu","ur":"ہندو","ps":"هندو"}}'),
    '{"rule":"religion","religion":"sikh"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Sikh","ur":"سکھ","ps":"سک"}}'),
    '{"rule":"religion","religion":"bahai"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Bahai","ur":"بہائی","ps":"بهایي"}}'),
    '{"rule":"religion","religion":"kalash"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Kalash","ur":"کیلاش","ps":"کالاش"}}'),
    '{"rule":"religion","religion":"parsi"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Parsi","ur":"پارسی","ps":"پارسي"}}'),
    '{"rule":"religion","religion":"other"}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":{"en":"Other","ur":"دیگر","ps":"نور"}}'),
    '{"rule":"religion","religion":""}',
    '{"rule":"answer","question":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"answer":null}')
WHERE reasons LIKE '%"rule":"religion"%';

ALTER TABLE benefit_applications DROP COLUMN religion;
ALTER TABLE benefit_applicants DROP COLUMN religion;
