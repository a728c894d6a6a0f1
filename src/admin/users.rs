//! Staff users and API keys, administered in the browser. Nobody grants more than they hold: a
//! department's manager may invite officers and managers of that department only; platform
//! administrators alone make platform administrators. A new user gets a link by e-mail to set
//! their password (so no password passes through anyone else), as does a reset; links last three
//! days and serve once.

use chrono::{DateTime, Duration, Utc};

use super::Power;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::identity::{self, digest, random_token, Role, Staff};
use crate::platform::state::AppState;
use crate::platform::{audit, mail};

const LINK_DAYS: i64 = 3;

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub district: Option<String>,
    pub active: bool,
}

/// The users of a department (with the platform administrators, for a platform administrator).
pub async fn list(db: &Db, power: Power, department_id: i64) -> Result<Vec<User>> {
    power.over(department_id)?;
    Ok(db
        .fetch_all(
            query(
                "SELECT id, email, name, role, department_id, district, active FROM users \
                 WHERE department_id = $1 OR ($2 AND role = 'admin') ORDER BY role, name",
            )
            .bind(department_id)
            .bind(power.platform()),
        )
        .await?)
}

/// Refuse a grant the caller does not hold: a role, in a department.
fn may_grant(power: Power, role: Role, department_id: Option<i64>) -> Result<()> {
    match (power, role) {
        (Power::Platform, _) => Ok(()),
        (Power::Department(_), Role::Admin) => Err(Error::Forbidden(
            "only a platform administrator makes platform administrators".into(),
        )),
        (Power::Department(d), _) if department_id == Some(d) => Ok(()),
        (Power::Department(_), _) => Err(Error::Forbidden(
            "you may grant roles in your own department only".into(),
        )),
    }
}

pub struct Invite<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub department_id: i64,
    pub district: Option<&'a str>,
}

/// Invite a user: the account exists at once (unusable until its password is set) and a link
/// to set the password goes to the address. Returns the user's id.
pub async fn invite(state: &AppState, staff: &Staff, base: &str, i: Invite<'_>) -> Result<i64> {
    let power = Power::of(staff)?;
    let role = Role::parse(i.role)
        .ok_or_else(|| Error::BadRequest("role: admin, manager or officer".into()))?;
    let department_id = (role != Role::Admin).then_some(i.department_id);
    may_grant(power, role, department_id)?;
    let slug = match department_id {
        Some(id) => Some(department_slug(&state.db, id).await?),
        None => None,
    };
    let district = i.district.filter(|d| !d.is_empty());
    if district.is_some() && role != Role::Officer {
        return Err(Error::BadRequest(
            "only an officer works within one district".into(),
        ));
    }
    let id = identity::create_user(
        &state.db,
        &staff.actor(),
        identity::NewUser {
            email: i.email,
            name: i.name,
            role,
            department: slug.as_deref(),
            district,
            // Nobody knows it: the link sets the real one.
            password: random_token(),
        },
    )
    .await?;
    send_link(state, &staff.actor(), id, "invite", base).await?;
    Ok(id)
}

async fn department_slug(db: &Db, id: i64) -> Result<String> {
    let (slug,): (String,) = db
        .fetch_one(query("SELECT slug FROM departments WHERE id = $1").bind(id))
        .await?;
    Ok(slug)
}

async fn user(db: &Db, id: i64) -> Result<User> {
    db.fetch_optional(
        query("SELECT id, email, name, role, department_id, district, active FROM users WHERE id = $1")
            .bind(id),
    )
    .await?
    .ok_or_else(|| Error::NotFound("no such user".into()))
}

/// The user `id`, if the caller may administer them: a department's manager administers its
/// officers and managers, never a platform administrator.
async fn administered(db: &Db, power: Power, id: i64) -> Result<User> {
    let u = user(db, id).await?;
    match (power, u.department_id) {
        (Power::Platform, _) => Ok(u),
        (Power::Department(d), Some(ud)) if d == ud && u.role != "admin" => Ok(u),
        _ => Err(Error::NotFound("no such user of yours".into())),
    }
}

async fn send_link(
    state: &AppState,
    actor: &str,
    user_id: i64,
    purpose: &str,
    base: &str,
) -> Result<()> {
    let u = user(&state.db, user_id).await?;
    let token = random_token();
    let now = Utc::now();
    let link = format!("{}/staff/password/{token}", base.trim_end_matches('/'));
    let (subject, body) = if purpose == "invite" {
        (
            "Your Khidmat staff account".to_owned(),
            format!(
                "{}, an account on Khidmat was made for you. Set your password within {LINK_DAYS} days: {link}",
                u.name
            ),
        )
    } else {
        (
            "Set a new Khidmat password".to_owned(),
            format!(
                "{}, set a new password within {LINK_DAYS} days: {link}\nIf you did not expect this, tell your administrator.",
                u.name
            ),
        )
    };
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO user_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&token))
        .bind(user_id)
        .bind(purpose)
        .bind(now)
        .bind(now + Duration::days(LINK_DAYS)),
    )
    .await?;
    mail::queue_secret(&mut tx, &state.config, &u.email, &subject, &body).await?;
    audit::record(
        &mut tx,
        actor,
        &format!("user.{purpose}"),
        "user",
        &user_id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// Send a password reset link (the old password stops working only when the new one is set).
pub async fn reset(state: &AppState, staff: &Staff, id: i64, base: &str) -> Result<()> {
    let power = Power::of(staff)?;
    administered(&state.db, power, id).await?;
    send_link(state, &staff.actor(), id, "reset", base).await
}

/// Change a user's role, district or whether they may log in. Disabling ends their sessions.
pub async fn update(
    state: &AppState,
    staff: &Staff,
    id: i64,
    role: &str,
    district: Option<&str>,
    active: bool,
) -> Result<()> {
    let power = Power::of(staff)?;
    let u = administered(&state.db, power, id).await?;
    let role = Role::parse(role)
        .ok_or_else(|| Error::BadRequest("role: admin, manager or officer".into()))?;
    may_grant(power, role, u.department_id)?;
    if role == Role::Admin && u.department_id.is_some()
        || role != Role::Admin && u.department_id.is_none()
    {
        return Err(Error::BadRequest(
            "a platform administrator has no department, and everyone else has one: invite a new user instead".into(),
        ));
    }
    let district = district.filter(|d| !d.is_empty() && role == Role::Officer);
    if let Some(d) = district {
        if crate::platform::org::district(&state.db, d)
            .await?
            .is_none()
        {
            return Err(Error::BadRequest(format!("unknown district {d:?}")));
        }
    }
    if staff.user_id() == Some(id) && (!active || role != Role::parse(&u.role).unwrap_or(role)) {
        return Err(Error::BadRequest(
            "you cannot change your own role or disable yourself: ask another administrator".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE users SET role = $1, district = $2, active = $3 WHERE id = $4")
            .bind(role.as_str())
            .bind(district)
            .bind(active)
            .bind(id),
    )
    .await?;
    if !active {
        tx.execute(query("DELETE FROM sessions WHERE user_id = $1").bind(id))
            .await?;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "user.update",
        "user",
        &id.to_string(),
        serde_json::json!({
            "before": {"role": u.role, "district": u.district, "active": u.active},
            "after": {"role": role.as_str(), "district": district, "active": active},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whose link is this, if it is live: the user's name.
pub async fn link_owner(db: &Db, token: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = db
        .fetch_optional(
            query(
                "SELECT u.name FROM user_links l JOIN users u ON u.id = l.user_id \
                 WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2",
            )
            .bind(digest(token))
            .bind(Utc::now()),
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// Set a password by a link; the link is used up, and other sessions end.
pub async fn set_password(db: &Db, token: &str, password: &str) -> Result<()> {
    if password.chars().count() < 10 {
        return Err(Error::BadRequest(
            "the password must have at least 10 characters".into(),
        ));
    }
    let hash = identity::hash_password(password.to_owned()).await?;
    let mut tx = db.begin().await?;
    let row: Option<(i64,)> = tx
        .fetch_optional(
            query(
                "SELECT user_id FROM user_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(digest(token))
            .bind(Utc::now()),
        )
        .await?;
    let Some((user_id,)) = row else {
        return Err(Error::NotFound("this link has expired or was used".into()));
    };
    tx.execute(
        query("UPDATE user_links SET used_at = $1 WHERE token_hash = $2")
            .bind(Utc::now())
            .bind(digest(token)),
    )
    .await?;
    tx.execute(
        query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id),
    )
    .await?;
    tx.execute(query("DELETE FROM sessions WHERE user_id = $1").bind(user_id))
        .await?;
    audit::record(
        &mut tx,
        &format!("user:{user_id}"),
        "user.password",
        "user",
        &user_id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Key {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn keys(db: &Db, power: Power, department_id: i64) -> Result<Vec<Key>> {
    power.over(department_id)?;
    Ok(db
        .fetch_all(
            query(
                "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys \
                 WHERE department_id = $1 ORDER BY id DESC",
            )
            .bind(department_id),
        )
        .await?)
}

/// A department key: the secret, to show once.
pub async fn create_key(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    name: &str,
) -> Result<String> {
    Power::of(staff)?.over(department_id)?;
    let slug = department_slug(&state.db, department_id).await?;
    Ok(
        identity::create_api_key(&state.db, &staff.actor(), name, Some(&slug))
            .await?
            .key,
    )
}

pub async fn revoke_key(state: &AppState, staff: &Staff, id: i64) -> Result<()> {
    let power = Power::of(staff)?;
    let found: Option<(Option<i64>,)> = state
        .db
        .fetch_optional(query("SELECT department_id FROM api_keys WHERE id = $1").bind(id))
        .await?;
    match found {
        Some((Some(d),)) => power.over(d)?,
        Some((None,)) if power.platform() => {}
        _ => return Err(Error::NotFound("no such key of yours".into())),
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Utc::now())
            .bind(id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "api_key.revoke",
        "api_key",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    // A revoked key stops working now, not when the cache would have let it go.
    state.caches.api_keys.clear().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_grants_more_than_they_hold() {
        let dept = Power::Department(3);
        assert!(may_grant(dept, Role::Officer, Some(3)).is_ok());
        assert!(may_grant(dept, Role::Manager, Some(3)).is_ok());
        assert!(may_grant(dept, Role::Officer, Some(4)).is_err());
        assert!(may_grant(dept, Role::Admin, None).is_err());
        assert!(may_grant(Power::Platform, Role::Admin, None).is_ok());
    }
}
