//! Idempotency keys: a client whose connection dropped repeats its write with the same
//! `Idempotency-Key`; it gets the first answer back and nothing is created twice.
//!
//! The key is claimed inside the transaction that does the work and completed with the response
//! before commit, so the claim and the work commit (or vanish) together. On PostgreSQL a
//! concurrent claim of the same key waits for the first transaction and then sees its row.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::db::{query, Tx};

pub enum Claim {
    /// First time: do the work, then [`complete`].
    Fresh,
    /// Seen before with the same request: answer with this status and body.
    Replay { status: u16, body: String },
    /// Seen before with a different request.
    Mismatch,
}

/// A digest of the parts of a request that make it "the same request".
pub fn request_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

pub async fn claim(tx: &mut Tx, scope: &str, key: &str, hash: &str) -> Result<Claim, sqlx::Error> {
    let inserted = tx
        .execute(
            query(
                "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(scope)
            .bind(key)
            .bind(hash)
            .bind(Utc::now()),
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, status, body): (String, Option<i64>, Option<String>) = tx
        .fetch_one(
            query("SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2")
                .bind(scope)
                .bind(key),
        )
        .await?;
    Ok(match (stored_hash == hash, status, body) {
        (true, Some(status), Some(body)) => Claim::Replay {
            status: status as u16,
            body,
        },
        _ => Claim::Mismatch,
    })
}

pub async fn complete(
    tx: &mut Tx,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4")
            .bind(status as i64)
            .bind(body)
            .bind(scope)
            .bind(key),
    )
    .await?;
    Ok(())
}
