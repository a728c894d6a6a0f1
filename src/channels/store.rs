//! Channels: all of their SQL.

use chrono::{DateTime, Utc};

use crate::platform::db::{query, Db, Tx};

/// Record an inbound message once per `(gateway, id)`. Returns the reply already given to it,
/// if this is a repeat of a message that was fully handled.
pub async fn claim_message(
    db: &Db,
    gateway: &str,
    external_id: &str,
    phone: &str,
    body: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO channel_messages (gateway, external_id, phone, body, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gateway, external_id) DO NOTHING",
        )
        .bind(gateway)
        .bind(external_id)
        .bind(phone)
        .bind(body)
        .bind(Utc::now()),
    )
    .await?;
    let reply: Option<(Option<String>,)> = tx
        .fetch_optional(
            query("SELECT reply FROM channel_messages WHERE gateway = $1 AND external_id = $2")
                .bind(gateway)
                .bind(external_id),
        )
        .await?;
    tx.commit().await?;
    Ok(reply.and_then(|r| r.0))
}

/// Note the reply to a message; false if another delivery of it got there first.
pub async fn complete_message(
    tx: &mut Tx,
    gateway: &str,
    external_id: &str,
    reply: &str,
) -> Result<bool, sqlx::Error> {
    let n = tx
        .execute(
            query(
                "UPDATE channel_messages SET reply = $1 WHERE gateway = $2 AND external_id = $3 AND reply IS NULL",
            )
            .bind(reply)
            .bind(gateway)
            .bind(external_id),
        )
        .await?;
    Ok(n == 1)
}

/// A USSD session that has not expired: `(state, inputs consumed)`.
pub async fn ussd_session(db: &Db, id: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    db.fetch_optional(
        query("SELECT state, seen FROM ussd_sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(Utc::now()),
    )
    .await
}

pub async fn save_ussd_session(
    tx: &mut Tx,
    id: &str,
    phone: &str,
    state: &str,
    seen: i64,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // Expired sessions are useless: each new session sweeps them away.
    if seen <= 1 {
        tx.execute(query("DELETE FROM ussd_sessions WHERE expires_at < $1").bind(Utc::now()))
            .await?;
    }
    tx.execute(
        query(
            "INSERT INTO ussd_sessions (id, phone, state, seen, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, seen = excluded.seen, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(phone)
        .bind(state)
        .bind(seen)
        .bind(expires_at),
    )
    .await?;
    Ok(())
}

/// An outbound SMS.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub lang: String,
    pub segments: i64,
    pub gateway: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub report_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const OUT_COLUMNS: &str =
    "id, phone, body, lang, segments, gateway, status, attempts, last_error, report_id, created_at, sent_at";

#[allow(clippy::too_many_arguments)]
pub async fn insert_outgoing(
    tx: &mut Tx,
    phone: &str,
    body: &str,
    lang: &str,
    segments: i64,
    gateway: &str,
    report_id: Option<i64>,
    sensitive: bool,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO sms_outbox (phone, body, lang, segments, gateway, status, attempts, report_id, created_at, sensitive) \
             VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8) RETURNING id",
        )
        .bind(phone)
        .bind(body)
        .bind(lang)
        .bind(segments)
        .bind(gateway)
        .bind(report_id)
        .bind(Utc::now())
        .bind(sensitive),
    )
    .await
}

/// What a message that carried a secret reads once it has left.
pub const REDACTED: &str = "[removed after sending: it held a one-time code]";

pub async fn outgoing(db: &Db, id: i64) -> Result<Option<Outgoing>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

/// The latest outbound messages, optionally of one status, newest first.
pub async fn outgoing_list(
    db: &Db,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Outgoing>, sqlx::Error> {
    let q = match status {
        Some(s) => query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE status = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(s)
        .bind(limit),
        None => query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit),
    };
    db.fetch_all(q).await
}

/// Record one attempt's outcome. `dead` after the last attempt.
pub async fn mark_outgoing(
    db: &Db,
    id: i64,
    status: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    db.execute(
        query(
            "UPDATE sms_outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
             sent_at = CASE WHEN $1 = 'sent' THEN $3 ELSE sent_at END, \
             body = CASE WHEN sensitive AND $1 <> 'queued' THEN $5 ELSE body END WHERE id = $4",
        )
        .bind(status)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(REDACTED),
    )
    .await?;
    Ok(())
}

/// Hand the queued messages of a pull gateway (SMSSync) over: they count as sent.
pub async fn take_queued(db: &Db, gateway: &str, limit: i64) -> Result<Vec<Outgoing>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let rows: Vec<Outgoing> = tx
        .fetch_all(
            query(format!(
                "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE gateway = $1 AND status = 'queued' ORDER BY id LIMIT $2"
            ))
            .bind(gateway)
            .bind(limit),
        )
        .await?;
    let now = Utc::now();
    for r in &rows {
        tx.execute(
            query(
                "UPDATE sms_outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
                 body = CASE WHEN sensitive THEN $3 ELSE body END WHERE id = $2",
            )
            .bind(now)
            .bind(r.id)
            .bind(REDACTED),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows)
}
