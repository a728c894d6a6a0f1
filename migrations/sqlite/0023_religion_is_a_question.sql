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
SET questions = json_insert(questions, '$[#]', json('{"code":"religion","datatype":"singlevaluelist","required":false,"description":{"en":"Religion","ur":"مذہب","ps":"مذهب"},"values":[{"key":"muslim","name":{"en":"Muslim","ur":"مسلمان","ps":"مسلمان"}},{"key":"christian","name":{"en":"Christian","ur":"مسیحی","ps":"مسیحي"}},{"key":"hindu","name":{"en":"Hindu","ur":"ہندو","ps":"هندو"}},{"key":"sikh","name":{"en":"Sikh","ur":"سکھ","ps":"سک"}},{"key":"bahai","name":{"en":"Bahai","ur":"بہائی","ps":"بهایي"}},{"key":"kalash","name":{"en":"Kalash","ur":"کیلاش","ps":"کالاش"}},{"key":"parsi","name":{"en":"Parsi","ur":"پارسی","ps":"پارسي"}},{"key":"other","name":{"en":"Other","ur":"دیگر","ps":"نور"}}]}'))
WHERE (json_array_length(COALESCE(json_extract(eligibility, '$.religions'), '[]')) > 0
       OR EXISTS (SELECT 1 FROM benefit_applications a
                  WHERE a.fund_id = benefit_funds.id AND a.religion <> ''))
  AND NOT EXISTS (SELECT 1 FROM json_each(benefit_funds.questions) q
                  WHERE json_extract(q.value, '$.code') = 'religion');

UPDATE benefit_funds
SET eligibility = json_set(json_remove(eligibility, '$.religions'), '$.answers',
                           json_object('religion', json(json_extract(eligibility, '$.religions'))))
WHERE json_array_length(COALESCE(json_extract(eligibility, '$.religions'), '[]')) > 0;
UPDATE benefit_funds SET eligibility = json_remove(eligibility, '$.religions')
WHERE json_extract(eligibility, '$.religions') IS NOT NULL;

UPDATE benefit_applications SET answers = json_set(answers, '$.religion', religion)
WHERE religion <> '' AND json_extract(answers, '$.religion') IS NULL;

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
