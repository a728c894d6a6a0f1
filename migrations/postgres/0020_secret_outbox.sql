-- Messages that carry a secret (a sign-in code, an invitation, password-reset or e-mail
-- confirmation link) are marked, and their bodies are removed once the message has left
-- (sent, given up or suppressed): the outbox no longer keeps secrets readable.
ALTER TABLE sms_outbox ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE mail_outbox ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT FALSE;

-- What earlier releases kept: sign-in codes and links still in the outboxes.
UPDATE sms_outbox SET sensitive = TRUE, body = '[removed: it held a one-time code]'
 WHERE body LIKE 'Khidmat code:%' OR body LIKE 'خدمت کوڈ:%' OR body LIKE 'د خدمت کوډ:%';
UPDATE mail_outbox SET sensitive = TRUE WHERE body LIKE '%/staff/password/%' OR body LIKE '%verify-email?token=%';
UPDATE mail_outbox SET body = '[removed: it held a one-time link]' WHERE sensitive AND status <> 'queued';
