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

/// Every recorded prompt: `(lang, name, sha256, content type)`.
pub async fn prompts(db: &Db) -> Result<Vec<(String, String, String, String)>, sqlx::Error> {
    db.fetch_all(query(
        "SELECT v.lang, v.name, p.sha256, p.content_type FROM voice_prompts v JOIN photos p ON p.id = v.file_id",
    ))
    .await
}

/// Keep `file_id` as the prompt `name` in `lang` (replacing one recorded before).
pub async fn set_prompt(
    tx: &mut Tx,
    lang: &str,
    name: &str,
    file_id: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO voice_prompts (lang, name, file_id, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (lang, name) DO UPDATE SET file_id = excluded.file_id, updated_at = excluded.updated_at",
        )
        .bind(lang)
        .bind(name)
        .bind(file_id)
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

/// Forget the prompt `name` in `lang` (the call says its words again); false if none was kept.
pub async fn remove_prompt(tx: &mut Tx, lang: &str, name: &str) -> Result<bool, sqlx::Error> {
    let n = tx
        .execute(
            query("DELETE FROM voice_prompts WHERE lang = $1 AND name = $2")
                .bind(lang)
                .bind(name),
        )
        .await?;
    Ok(n == 1)
}

/// A call's recording of report `report_id`, at `url`, to fetch: its id.
pub async fn add_recording(tx: &mut Tx, report_id: i64, url: &str) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO voice_recordings (report_id, url, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(report_id)
        .bind(url)
        .bind(Utc::now()),
    )
    .await
}

/// A recording still to fetch: `(report_id, url)`.
pub async fn recording(db: &Db, id: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    db.fetch_optional(query("SELECT report_id, url FROM voice_recordings WHERE id = $1").bind(id))
        .await
}

/// A recording fetched and kept: no longer waiting.
pub async fn remove_recording(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    db.execute(query("DELETE FROM voice_recordings WHERE id = $1").bind(id))
        .await?;
    Ok(())
}
