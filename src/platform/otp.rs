//! One-time codes: proof that a person holds a phone number, by a six-digit code sent by SMS.
//! Codes are stored keyed-hashed (`platform::secrets`), last ten minutes, allow five tries, and
//! serve once. Both limits are per number, in the database, so many addresses get no more than
//! one: asking for codes ([`REQUESTS`]: nobody can flood a phone, or run up the SMS bill), and
//! wrong tries across all of a number's codes ([`super::ratelimit::GUESSES`]: a new code brings
//! no fresh guesses).

use chrono::{Duration, Utc};
use rand::Rng;

use super::db::query;
use super::error::{Error, Result};
use super::i18n::Lang;
use super::identity::digest;
use super::personal::Phone;
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::t;

const VALID_MINUTES: i64 = 10;
const TRIES: i64 = 5;
/// Codes a number may be sent: five at once, then one an hour (at most 29 a day).
pub const REQUESTS: super::ratelimit::Bucket = super::ratelimit::Bucket {
    cap: 5,
    per_hour: 1,
};

fn hash(phone: &Phone, purpose: &str, code: &str) -> String {
    digest(&format!("{}:{purpose}:{code}", phone.e164()))
}

/// Send a new code to `phone` for `purpose` (e.g. `review`).
/// `wake` is the job workers' signal, so the message leaves at once.
pub async fn issue(
    db: &Db,
    config: &Config,
    wake: &tokio::sync::Notify,
    phone: &Phone,
    purpose: &str,
    lang: Lang,
) -> Result<()> {
    let key = format!("otp:{}", phone.e164());
    if !super::ratelimit::take_db_token_at(db, &key, REQUESTS).await? {
        return Err(Error::TooManyRequests(t!(
            lang,
            "err-rate-limited",
            seconds = 3600i64
        )));
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let now = Utc::now();
    let mut tx = db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO otp_codes (phone, purpose, code_hash, attempts, expires_at, created_at) VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(phone.e164())
        .bind(purpose)
        .bind(hash(phone, purpose, &code))
        .bind(now + Duration::minutes(VALID_MINUTES))
        .bind(now),
    )
    .await?;
    let text = t!(lang, "otp-sms", code = code, minutes = VALID_MINUTES);
    crate::platform::sms::queue_secret(&mut tx, config, phone, &text, lang).await?;
    tx.commit().await?;
    wake.notify_one();
    Ok(())
}

/// Check a code; a right one is used up. `Ok(false)` for a wrong, expired or used code.
pub async fn verify(db: &Db, phone: &Phone, purpose: &str, code: &str) -> Result<bool> {
    use super::ratelimit::{db_tokens_left, take_db_token_at, GUESSES};
    let code = code.trim();
    let guesses = format!("otp-guess:{}", phone.e164());
    if !db_tokens_left(db, &guesses, GUESSES).await? {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let row: Option<(i64, String, i64)> = tx
        .fetch_optional(
            query(
                "SELECT id, code_hash, attempts FROM otp_codes WHERE phone = $1 AND purpose = $2 \
                 AND used_at IS NULL AND expires_at > $3 ORDER BY id DESC LIMIT 1",
            )
            .bind(phone.e164())
            .bind(purpose)
            .bind(Utc::now()),
        )
        .await?;
    let Some((id, stored, attempts)) = row else {
        return Ok(false);
    };
    if attempts >= TRIES {
        return Ok(false);
    }
    let ok = stored == hash(phone, purpose, code);
    let q = if ok {
        query("UPDATE otp_codes SET used_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(Utc::now())
            .bind(id)
    } else {
        query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1").bind(id)
    };
    tx.execute(q).await?;
    tx.commit().await?;
    if !ok {
        take_db_token_at(db, &guesses, GUESSES).await?;
    }
    Ok(ok)
}
