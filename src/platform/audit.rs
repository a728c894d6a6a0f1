//! The append-only audit log: who did what to which record, and when. The tables refuse
//! UPDATE and DELETE (triggers in both backends' migrations).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{query, Db, Tx};

/// Record an action inside the transaction that performs it, so that the log and the change
/// commit or vanish together.
pub async fn record(
    tx: &mut Tx,
    actor: &str,
    action: &str,
    subject_type: &str,
    subject_id: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO audit_log (at, actor, action, subject_type, subject_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Utc::now())
        .bind(actor)
        .bind(action)
        .bind(subject_type)
        .bind(subject_id)
        .bind(detail.to_string()),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub detail: String,
}

/// The history of one record, oldest first.
pub async fn history(
    db: &Db,
    subject_type: &str,
    subject_id: &str,
) -> Result<Vec<Entry>, sqlx::Error> {
    db.fetch_all(
        query(
            "SELECT id, at, actor, action, subject_type, subject_id, detail FROM audit_log \
             WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
        )
        .bind(subject_type)
        .bind(subject_id),
    )
    .await
}
