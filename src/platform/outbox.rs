//! What the SMS and e-mail outboxes share: a message is a row queued in the transaction of what
//! caused it; a job makes one attempt at a time; the row then reads `sent`, `queued` again for
//! another attempt (the job queue's back-off), or `dead` after the last, for an administrator
//! to see and send again. A message that carried a secret (a sign-in code, a one-time link) has
//! its body replaced once it has left or died, so the outbox never keeps it.
//!
//! `sms.rs` and `mail.rs` keep what differs: their gateways and the shape of a message.

use chrono::Utc;

use super::db::{query, Db};

/// As many attempts as the job queue makes.
pub const ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbox {
    Sms,
    Mail,
}

impl Outbox {
    fn table(self) -> &'static str {
        match self {
            Outbox::Sms => "sms_outbox",
            Outbox::Mail => "mail_outbox",
        }
    }

    /// What a message that carried a secret reads once it has left.
    pub fn redacted(self) -> &'static str {
        match self {
            Outbox::Sms => "[removed after sending: it held a one-time code]",
            Outbox::Mail => "[removed after sending: it held a one-time link]",
        }
    }
}

/// How many messages of this outbox have this status (`queued`, `sent`, `dead`).
pub async fn count(db: &Db, outbox: Outbox, status: &str) -> Result<i64, sqlx::Error> {
    db.scalar(
        query(format!(
            "SELECT COUNT(*) FROM {} WHERE status = $1",
            outbox.table()
        ))
        .bind(status.to_owned()),
    )
    .await
}

/// The status a message takes after an attempt, `attempts` having been made before it.
pub fn status_after(attempts: i64, delivered: bool) -> &'static str {
    if delivered {
        "sent"
    } else if attempts + 1 >= ATTEMPTS {
        "dead"
    } else {
        "queued"
    }
}

/// Record one attempt's outcome: `status` (`sent`, `queued`, `dead`, or `suppressed` when the
/// number's limit stopped it), its error, one more attempt counted; a secret's body goes once
/// the message is no longer waiting.
pub async fn mark(
    db: &Db,
    outbox: Outbox,
    id: i64,
    status: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    db.execute(
        query(format!(
            "UPDATE {} SET status = $1, attempts = attempts + 1, last_error = $2, \
             sent_at = CASE WHEN $1 = 'sent' THEN $3 ELSE sent_at END, \
             body = CASE WHEN sensitive AND $1 <> 'queued' THEN $5 ELSE body END WHERE id = $4",
            outbox.table()
        ))
        .bind(status)
        .bind(error)
        .bind(Utc::now())
        .bind(id)
        .bind(outbox.redacted()),
    )
    .await?;
    Ok(())
}

/// Record the outcome of an attempt made after `attempts` earlier ones, and say which status
/// the message took.
pub async fn settle(
    db: &Db,
    outbox: Outbox,
    id: i64,
    attempts: i64,
    result: &anyhow::Result<()>,
) -> Result<&'static str, sqlx::Error> {
    let status = status_after(attempts, result.is_ok());
    let error = result.as_ref().err().map(|e| format!("{e:#}"));
    mark(db, outbox, id, status, error.as_deref()).await?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_dies_after_the_last_attempt_only() {
        assert_eq!(status_after(0, true), "sent");
        assert_eq!(status_after(ATTEMPTS - 1, true), "sent");
        assert_eq!(status_after(0, false), "queued");
        assert_eq!(status_after(ATTEMPTS - 2, false), "queued");
        assert_eq!(status_after(ATTEMPTS - 1, false), "dead");
    }
}
