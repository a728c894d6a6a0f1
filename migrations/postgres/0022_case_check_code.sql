-- The public case check asked for the value of any public field (a vehicle's registration
-- number, visible on the vehicle), and references are sequential: anyone could follow anyone's
-- case. Each case now has a check code that only its owner is given (on the receipt, or by the
-- office that opened it). Existing cases get one now; staff see it on the case page.
ALTER TABLE cases ADD COLUMN check_code TEXT NOT NULL DEFAULT '';
UPDATE cases SET check_code = lpad(floor(random() * 100000000)::bigint::text, 8, '0');
