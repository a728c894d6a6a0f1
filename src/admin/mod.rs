//! Department administration: what a department needs to run its services without a developer.
//!
//! - `users`: staff users (invited by an e-mailed link, roles, district scope, disabled, password
//!   resets) and API keys (created, shown once, revoked, last use), where nobody grants more than
//!   they hold;
//! - `services`: reporting services edited in the browser, checked as a pack checks them;
//! - `pack`: a department's configuration exported as a pack file and imported with a preview;
//! - `readiness`: whether the department could run alone, check by check;
//! - `health`: the deployment's health, for platform administrators;
//! - `site`: the deployment's own settings (site name, logo, contact text, SMS gateway and its
//!   secret, districts), for platform administrators.
//!
//! Who: a platform administrator (role `admin`) everywhere; a department's managers are its
//! administrators. Officers and API keys administer nothing.

pub mod health;
pub mod moving;
pub mod pack;
pub mod readiness;
pub mod services;
pub mod site;
pub mod users;

use crate::platform::db::query;
use crate::platform::error::{Error, Result};
use crate::platform::identity::{Role, Scope, Staff, StaffKind};
use crate::platform::org::Department;
use crate::platform::state::AppState;

/// What the caller administers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Every department, and the deployment.
    Platform,
    /// One department.
    Department(i64),
}

impl Power {
    pub fn of(staff: &Staff) -> Result<Power> {
        match (&staff.kind, &staff.scope) {
            (
                StaffKind::User {
                    role: Role::Admin, ..
                },
                _,
            ) => Ok(Power::Platform),
            (
                StaffKind::User {
                    role: Role::Manager,
                    ..
                },
                Scope::Department { department_id, .. },
            ) => Ok(Power::Department(*department_id)),
            _ => Err(Error::Forbidden(
                "administration is for a department's managers and platform administrators".into(),
            )),
        }
    }

    /// Refuse unless the caller administers `department_id`.
    pub fn over(self, department_id: i64) -> Result<()> {
        match self {
            Power::Platform => Ok(()),
            Power::Department(d) if d == department_id => Ok(()),
            Power::Department(_) => Err(Error::NotFound("no such department of yours".into())),
        }
    }

    pub fn platform(self) -> bool {
        self == Power::Platform
    }
}

/// The department being administered: the caller's own, or for a platform administrator the
/// one named by `slug` (else the first).
pub async fn department(state: &AppState, power: Power, slug: Option<&str>) -> Result<Department> {
    let all = crate::platform::org::departments(&state.db).await?;
    let found = match power {
        Power::Department(id) => all.into_iter().find(|d| d.id == id),
        Power::Platform => match slug {
            Some(s) => all.into_iter().find(|d| d.slug == s),
            None => all.into_iter().next(),
        },
    };
    found.ok_or_else(|| Error::NotFound("no such department".into()))
}

/// The department's maintainer: who answers for its services once the fellows have gone.
pub async fn maintainer(state: &AppState, department_id: i64) -> Result<(String, String)> {
    Ok(state
        .db
        .fetch_one(
            query("SELECT maintainer, maintainer_contact FROM departments WHERE id = $1")
                .bind(department_id),
        )
        .await?)
}

pub async fn set_maintainer(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    name: &str,
    contact: &str,
) -> Result<()> {
    Power::of(staff)?.over(department_id)?;
    let lang = crate::platform::i18n::Lang::En;
    let name = crate::platform::form::optional_text(lang, "maintainer", name, 100)?;
    let contact = crate::platform::form::optional_text(lang, "contact", contact, 200)?;
    let before = maintainer(state, department_id).await?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE departments SET maintainer = $1, maintainer_contact = $2 WHERE id = $3")
            .bind(&name)
            .bind(&contact)
            .bind(department_id),
    )
    .await?;
    crate::platform::audit::record(
        &mut tx,
        &staff.actor(),
        "department.maintainer",
        "department",
        &department_id.to_string(),
        serde_json::json!({ "before": {"name": before.0, "contact": before.1}, "after": {"name": name, "contact": contact} }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
