//! Citizens who sign in: with a one-time code sent by SMS to their phone, so there is no
//! password to forget and no account to create. A signed-in citizen is known by the keyed hash
//! of their number ([`impact::key`]), the same key a USSD call from that phone files its records
//! under, so what they did on either channel is one history. The number itself is not kept with
//! the session: only its masked form, to show them who they are signed in as.
//!
//! Signing in gives no rights over anyone else's records and none on staff routes; it only lets
//! a citizen see their own history (theory test scores).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};

use super::cookies::{self, SameSite};
use super::db::{query, Db};
use super::error::{Error, Result};
use super::i18n::Lang;
use super::identity::{digest, random_token};
use super::impact;
use super::personal::Phone;
use crate::platform::config::Config;

pub const COOKIE: &str = "khidmat_citizen";
/// What the code is for, in `otp_codes`.
const PURPOSE: &str = "sign-in";

/// A signed-in citizen.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The keyed hash of their number.
    pub key: String,
    pub phone_masked: String,
}

/// Send a sign-in code to `phone` (limited per number by [`super::otp`]).
pub async fn send_code(
    db: &Db,
    config: &Config,
    wake: &tokio::sync::Notify,
    phone: &Phone,
    lang: Lang,
) -> Result<()> {
    super::otp::issue(db, config, wake, phone, PURPOSE, lang).await
}

/// Check the code; a right one opens a session and gives its secret token.
pub async fn sign_in(
    db: &Db,
    config: &Config,
    phone: &Phone,
    code: &str,
    lang: Lang,
) -> Result<String> {
    if !super::otp::verify(db, phone, PURPOSE, code).await? {
        return Err(Error::BadRequest(lang.t("me-err-code")));
    }
    let token = random_token();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    // Ended sessions are useless: each sign-in sweeps them away.
    tx.execute(query("DELETE FROM citizen_sessions WHERE expires_at < $1").bind(now))
        .await?;
    let key = impact::key(&impact::Citizen::phone(phone));
    tx.execute(
        query(
            "INSERT INTO citizen_sessions (token_hash, citizen, phone_masked, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&token))
        .bind(&key)
        .bind(phone.masked())
        .bind(now)
        .bind(now + Duration::days(config.citizen_session_days)),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn signed_in(db: &Db, token: &str) -> Result<Option<SignedIn>> {
    let row: Option<(String, String, DateTime<Utc>)> = db
        .fetch_optional(
            query(
                "SELECT citizen, phone_masked, expires_at FROM citizen_sessions WHERE token_hash = $1",
            )
            .bind(digest(token)),
        )
        .await?;
    Ok(row
        .filter(|r| r.2 > Utc::now())
        .map(|(key, phone_masked, _)| SignedIn { key, phone_masked }))
}

pub async fn sign_out(db: &Db, token: &str) -> Result<()> {
    db.execute(query("DELETE FROM citizen_sessions WHERE token_hash = $1").bind(digest(token)))
        .await?;
    Ok(())
}

/// The `Set-Cookie` value for a new session. `Lax`, unlike the staff cookie: a citizen opening
/// a link from an SMS stays signed in; every form still carries its CSRF token.
pub fn set_cookie(token: &str, days: i64, public_url: Option<&str>) -> String {
    cookies::secret(
        COOKIE,
        token,
        SameSite::Lax,
        days * 86400,
        cookies::https(public_url),
    )
}

pub fn clear_cookie() -> String {
    cookies::clear(COOKIE, SameSite::Lax)
}

pub fn token(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, COOKIE)
}

/// The citizen signed in on this request, if any (never a rejection: every page that uses it
/// also serves citizens who have not signed in).
pub struct MaybeCitizen(pub Option<SignedIn>);

impl<S> FromRequestParts<S> for MaybeCitizen
where
    Db: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(t) = token(&parts.headers) else {
            return Ok(MaybeCitizen(None));
        };
        Ok(MaybeCitizen(signed_in(&Db::from_ref(state), t).await?))
    }
}
