//! Identity: staff users with roles scoped to a department (and optionally a district), password
//! login (argon2) into server-side sessions, and API keys for machines.
//!
//! Secrets are never stored: sessions and API keys are kept as SHA-256 digests of random
//! 256-bit tokens, passwords as argon2id hashes.

use std::fmt;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::audit;
use super::cookies::{self, SameSite};
use super::db::{is_unique_violation, query, Db};
use super::error::{Error, Result};
use super::personal::valid_email;

pub const SESSION_COOKIE: &str = "khidmat_session";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, everywhere: configures departments and services.
    Admin,
    /// Runs a department's services; sees all of the department's records.
    Manager,
    /// Works the records of a department (within a district, if one is set).
    Officer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "officer" => Some(Role::Officer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Officer => "officer",
        }
    }
}

/// What a caller may see: everything, or one department (and within it, one district).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Department {
        department_id: i64,
        district: Option<String>,
    },
}

impl Scope {
    /// May this caller see a record of `department_id` in `district`?
    pub fn allows(&self, department_id: i64, district: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Department {
                department_id: d,
                district: None,
            } => *d == department_id,
            Scope::Department {
                department_id: d,
                district: Some(s),
            } => *d == department_id && district == Some(s.as_str()),
        }
    }
}

/// An authenticated staff caller: a logged-in user or a department API key.
#[derive(Clone)]
pub struct Staff {
    pub kind: StaffKind,
    pub scope: Scope,
    /// The slug of the department a user belongs to (none for an administrator or a key): what
    /// [`Staff::role_in`] asks, and the staff navigation with it.
    pub department: Option<String>,
}

#[derive(Debug, Clone)]
pub enum StaffKind {
    User { id: i64, role: Role, name: String },
    Key { id: i64, name: String },
}

impl Staff {
    /// The caller's role in the department `slug`: an administrator's anywhere, a user's in their
    /// own department; none for a key (machines do not run a department's desk work).
    pub fn role_in(&self, slug: &str) -> Option<Role> {
        match &self.kind {
            StaffKind::User {
                role: Role::Admin, ..
            } => Some(Role::Admin),
            StaffKind::User { role, .. } if self.department.as_deref() == Some(slug) => Some(*role),
            _ => None,
        }
    }

    /// How this caller appears in the audit log and in update authorship: `user:3`, `key:7`.
    pub fn actor(&self) -> String {
        match &self.kind {
            StaffKind::User { id, .. } => format!("user:{id}"),
            StaffKind::Key { id, .. } => format!("key:{id}"),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.kind {
            StaffKind::User { id, .. } => Some(id),
            StaffKind::Key { .. } => None,
        }
    }
}

impl fmt::Debug for Staff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Staff({} {:?})", self.actor(), self.scope)
    }
}

/// Are two secrets (tokens, keys, digests) equal? Compared in constant time, so how long the
/// answer takes says nothing about how much of a guess was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub use super::secrets::digest;

pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub department: Option<&'a str>,
    pub district: Option<&'a str>,
    pub password: String,
}

/// Create a staff user. Managers and officers need a department; admins must not have one.
pub async fn create_user(db: &Db, actor: &str, u: NewUser<'_>) -> Result<i64> {
    let email = u.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Error::BadRequest(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    if u.name.trim().is_empty() {
        return Err(Error::BadRequest("the user needs a name".into()));
    }
    if u.password.chars().count() < 10 {
        return Err(Error::BadRequest(
            "the password must have at least 10 characters".into(),
        ));
    }
    let department_id = match (u.role, u.department) {
        (Role::Admin, Some(_)) => {
            return Err(Error::BadRequest(
                "an admin works across all departments: leave out --department".into(),
            ))
        }
        (Role::Admin, None) => None,
        (_, None) => {
            return Err(Error::BadRequest(format!(
                "a {} belongs to a department: give --department SLUG",
                u.role.as_str()
            )))
        }
        (_, Some(slug)) => Some(department_id(db, slug).await?),
    };
    if let Some(d) = u.district {
        if super::org::district(db, d).await?.is_none() {
            return Err(Error::BadRequest(format!("unknown district {d:?}")));
        }
    }
    let hash = hash_password(u.password).await?;
    let mut tx = db.begin().await?;
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO users (email, name, password_hash, role, department_id, district, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&email)
            .bind(u.name.trim())
            .bind(hash)
            .bind(u.role.as_str())
            .bind(department_id)
            .bind(u.district)
            .bind(true)
            .bind(Utc::now()),
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!("a user with e-mail {email} already exists"))
            } else {
                e.into()
            }
        })?;
    audit::record(
        &mut tx,
        actor,
        "user.create",
        "user",
        &id.to_string(),
        serde_json::json!({"role": u.role.as_str(), "department": u.department, "district": u.district}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn department_id(db: &Db, slug: &str) -> Result<i64> {
    super::org::department_by_slug(db, slug)
        .await?
        .map(|d| d.id)
        .ok_or_else(|| {
            Error::BadRequest(format!("unknown department {slug:?}: load its pack first"))
        })
}

pub struct NewKey {
    pub id: i64,
    /// The secret, shown once.
    pub key: String,
}

/// Create an API key. With a department it is a staff key for that department's records;
/// without one it is a client key that may only submit reports (Open311 `api_key`).
pub async fn create_api_key(
    db: &Db,
    actor: &str,
    name: &str,
    department: Option<&str>,
) -> Result<NewKey> {
    if name.trim().is_empty() {
        return Err(Error::BadRequest(
            "the key needs a --name saying who uses it".into(),
        ));
    }
    let department_id = match department {
        Some(slug) => Some(department_id(db, slug).await?),
        None => None,
    };
    let key = format!("kh_{}", random_token());
    let mut tx = db.begin().await?;
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO api_keys (name, prefix, key_hash, department_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name.trim())
            .bind(&key[..10])
            .bind(digest(&key))
            .bind(department_id)
            .bind(Utc::now()),
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        "api_key.create",
        "api_key",
        &id.to_string(),
        serde_json::json!({"name": name.trim(), "department": department}),
    )
    .await?;
    tx.commit().await?;
    Ok(NewKey { id, key })
}

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub department_id: Option<i64>,
}

/// The live key with this secret, if any; its last use is recorded (callers cache the answer
/// for seconds, so "last used" is exact to that).
pub async fn api_key(db: &Db, secret: &str) -> Result<Option<ApiKey>> {
    let key: Option<ApiKey> = db
        .fetch_optional(
            query(
                "SELECT id, name, department_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            )
            .bind(digest(secret)),
        )
        .await?;
    if let Some(k) = &key {
        db.execute(
            query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(Utc::now())
                .bind(k.id),
        )
        .await?;
    }
    Ok(key)
}

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
struct UserRow {
    id: i64,
    name: String,
    password_hash: String,
    role: String,
    department_id: Option<i64>,
    department_slug: Option<String>,
    district: Option<String>,
    active: bool,
}

impl UserRow {
    fn staff(self) -> Option<Staff> {
        let role = Role::parse(&self.role)?;
        let scope = match (role, self.department_id) {
            (Role::Admin, _) => Scope::All,
            (_, Some(department_id)) => Scope::Department {
                department_id,
                district: if role == Role::Officer {
                    self.district
                } else {
                    None
                },
            },
            (_, None) => return None,
        };
        Some(Staff {
            kind: StaffKind::User {
                id: self.id,
                role,
                name: self.name,
            },
            scope,
            department: self.department_slug,
        })
    }
}

/// An argon2id hash of nothing anyone knows, with the default parameters: verifying against it
/// takes as long as verifying a real user's password.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Nwq8aH6ASaKgeiW7nzUUQ0lOEbfVWu1zUbHNEJzwmH8";

const USER_COLUMNS: &str = "u.id, u.name, u.password_hash, u.role, u.department_id, \
     (SELECT d.slug FROM departments d WHERE d.id = u.department_id) AS department_slug, u.district, u.active";

/// Check an e-mail and password; on success open a session and return its secret token.
///
/// Wrong passwords back off per account (see [`super::ratelimit::GUESSES`]), whatever address
/// they come from: past the allowance every try is refused unchecked, the right password too,
/// until the bucket refills.
pub async fn login(db: &Db, email: &str, password: &str, hours: i64) -> Result<(String, Staff)> {
    use super::ratelimit::{db_tokens_left, take_db_token_at, GUESSES};
    let account = format!("login:{}", email.trim().to_lowercase());
    if !db_tokens_left(db, &account, GUESSES).await? {
        return Err(Error::TooManyRequests(
            "too many wrong passwords for this account: try again in a few minutes".into(),
        ));
    }
    let row: Option<UserRow> = db
        .fetch_optional(
            query(format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
            ))
            .bind(email.trim().to_lowercase()),
        )
        .await?;
    // Verify against a throwaway hash when the user is unknown, so timing does not tell.
    let (hash, row) = match row {
        Some(r) if r.active => (r.password_hash.clone(), Some(r)),
        _ => (UNKNOWN_USER_HASH.to_string(), None),
    };
    let ok = verify_password(password.to_owned(), hash).await;
    let Some(row) = row.filter(|_| ok) else {
        take_db_token_at(db, &account, GUESSES).await?;
        return Err(Error::Unauthorized("wrong e-mail or password".into()));
    };
    let user_id = row.id;
    let staff = row.staff().ok_or_else(|| {
        Error::Forbidden("this account has no department; ask an administrator".into())
    })?;
    let token = random_token();
    let now = Utc::now();
    let mut tx = db.begin().await?;
    // Ended sessions are useless: each login sweeps them away, so the table stays small.
    tx.execute(query("DELETE FROM sessions WHERE expires_at < $1").bind(now))
        .await?;
    tx.execute(
        query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(digest(&token))
            .bind(user_id)
            .bind(now)
            .bind(now + Duration::hours(hours)),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "session.login",
        "user",
        &user_id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok((token, staff))
}

/// Where an active user works: `(department_id, district)`; `None` for an unknown or disabled user.
pub async fn user_placement(
    db: &Db,
    user_id: i64,
) -> Result<Option<(Option<i64>, Option<String>)>> {
    Ok(db
        .fetch_optional(
            query("SELECT department_id, district FROM users WHERE id = $1 AND active = $2")
                .bind(user_id)
                .bind(true),
        )
        .await?)
}

/// The active users who work `department_id` (in `district`, or district-wide): `(id, name)`,
/// by name. Whom a report of theirs may be assigned to.
pub async fn department_users(
    db: &Db,
    department_id: i64,
    district: Option<&str>,
) -> Result<Vec<(i64, String)>> {
    Ok(db
        .fetch_all(
            query(
                "SELECT id, name FROM users WHERE department_id = $1 AND active = $2 \
                 AND (district IS NULL OR district = $3) ORDER BY name",
            )
            .bind(department_id)
            .bind(true)
            .bind(district),
        )
        .await?)
}

/// The names of the users `ids` (those that exist).
pub async fn user_names(db: &Db, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut q = query("SELECT id, name FROM users WHERE id IN (");
    q = q.push_binds(ids);
    let rows: Vec<(i64, String)> = db.fetch_all(q.push(")")).await?;
    Ok(rows.into_iter().collect())
}

pub async fn logout(db: &Db, token: &str) -> Result<()> {
    db.execute(query("DELETE FROM sessions WHERE token_hash = $1").bind(digest(token)))
        .await?;
    Ok(())
}

pub async fn session_staff(db: &Db, token: &str) -> Result<Option<Staff>> {
    #[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
    struct S {
        expires_at: DateTime<Utc>,
        #[sqlx(flatten)]
        user: UserRow,
    }
    let row: Option<S> = db
        .fetch_optional(
            query(format!(
                "SELECT s.expires_at, {USER_COLUMNS} \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1"
            ))
            .bind(digest(token)),
        )
        .await?;
    Ok(row
        .filter(|s| s.expires_at > Utc::now() && s.user.active)
        .and_then(|s| s.user.staff()))
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The `Set-Cookie` value that holds a new session: script cannot read it, and no other site
/// can make the browser send it. `Secure` when the server is reached over HTTPS.
pub fn session_set_cookie(token: &str, hours: i64, public_url: Option<&str>) -> String {
    cookies::secret(
        SESSION_COOKIE,
        token,
        SameSite::Strict,
        hours * 3600,
        cookies::https(public_url),
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn session_clear_cookie() -> String {
    cookies::clear(SESSION_COOKIE, SameSite::Strict)
}

/// Did this request come from one of this site's own pages? Browsers say so: `Sec-Fetch-Site`
/// (`same-origin`, or `none` when typed), else `Origin` against `Host`. A client that sends
/// neither is not a browser, and carries no cookie it did not set itself.
pub fn from_own_pages(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, SESSION_COOKIE)
}

/// Authenticate a staff request: `Authorization: Bearer KEY` (a department key) or the session
/// cookie. Requests without either get 401.
impl<S> FromRequestParts<S> for Staff
where
    Db: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let db = Db::from_ref(state);
        if let Some(secret) = bearer(&parts.headers) {
            let key = api_key(&db, secret)
                .await?
                .ok_or_else(|| Error::Unauthorized("unknown or revoked API key".into()))?;
            let department_id = key.department_id.ok_or_else(|| {
                Error::Forbidden(
                    "this API key is a client key (it may submit reports); staff endpoints need a department key".into(),
                )
            })?;
            return Ok(Staff {
                kind: StaffKind::Key {
                    id: key.id,
                    name: key.name,
                },
                scope: Scope::Department {
                    department_id,
                    district: None,
                },
                department: None,
            });
        }
        if let Some(token) = session_cookie(&parts.headers) {
            // A browser sends the session cookie with any same-site request, a sibling
            // subdomain's forms included; the API carries no form token. So a write on the
            // session must come from this site's own pages (the browser says where from).
            if !parts.method.is_safe() && !from_own_pages(&parts.headers) {
                return Err(Error::Forbidden(
                    "a staff session writes only from this site's own pages; other clients send Authorization: Bearer with a department API key".into(),
                ));
            }
            if let Some(staff) = session_staff(&db, token).await? {
                return Ok(staff);
            }
            return Err(Error::Unauthorized(
                "your session has ended: log in again".into(),
            ));
        }
        Err(Error::Unauthorized(
            "log in, or send Authorization: Bearer with a department API key".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        let dept = Scope::Department {
            department_id: 1,
            district: None,
        };
        let dist = Scope::Department {
            department_id: 1,
            district: Some("peshawar".into()),
        };
        assert!(Scope::All.allows(9, None));
        assert!(dept.allows(1, Some("swat")));
        assert!(!dept.allows(2, Some("swat")));
        assert!(dist.allows(1, Some("peshawar")));
        assert!(!dist.allows(1, Some("swat")));
        assert!(!dist.allows(1, None));
    }

    #[test]
    fn the_unknown_user_hash_is_a_real_argon2_hash() {
        let h = PasswordHash::new(UNKNOWN_USER_HASH).expect("parses");
        assert_eq!(h.algorithm.as_str(), "argon2id");
        let fresh = SaltString::generate(&mut OsRng);
        let real = Argon2::default().hash_password(b"x", &fresh).unwrap();
        assert_eq!(real.params, h.params, "same cost as real hashes");
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
    }
}
