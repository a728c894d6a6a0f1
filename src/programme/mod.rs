//! Programme: the innovation fellowship that builds the services, run on the platform it builds.
//!
//! - `cycles`: a cycle's public call, applications with a CV, reviewers' rubric scores, the
//!   selection with its women's quota, teams, and alumni free to volunteer;
//! - `partners`: partner departments (focal person, liaison officer), their MoUs with the signed
//!   document and commitments, and the officials trained;
//! - `problems`: problem statements, each scored by the programme's named checks;
//! - `projects`: a department, a team, a problem and the Khidmat services that answer it, through
//!   a lifecycle whose hand-over needs a complete checklist;
//! - `figures`: the impact figures, recounted from every service's impact events.
//!
//! Who may do what: administrators everything; the programme department's (`programme_department`)
//! managers run it; its officers review applications. API keys do not run a programme.

pub mod api;
pub mod cycles;
pub mod figures;
pub mod partners;
pub mod problems;
pub mod projects;

/// This service's routes (its API; its pages are `web::programme`).
pub fn router() -> axum::Router<crate::platform::state::AppState> {
    api::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (api).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}

use chrono::NaiveDate;

use crate::platform::error::{Error, Result};
use crate::platform::form;
use crate::platform::i18n::Lang;
use crate::platform::identity::{Role, Staff};
use crate::platform::state::AppState;

/// What a staff member may do in the programme, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Scores applications.
    Reviewer,
    /// Runs cycles, partners, problems, projects and training.
    Manager,
    /// Also finalises a selection below the quota, with a reason.
    Admin,
}

/// The caller's access, or Forbidden for anyone outside the programme.
pub fn access(state: &AppState, staff: &Staff) -> Result<Access> {
    match staff.role_in(&state.config.programme_department) {
        Some(Role::Admin) => Ok(Access::Admin),
        Some(Role::Manager) => Ok(Access::Manager),
        Some(Role::Officer) => Ok(Access::Reviewer),
        None => Err(Error::Forbidden(
            "the programme is run by the programme's own staff".into(),
        )),
    }
}

/// Refuse unless the caller has at least `want`.
pub async fn require(state: &AppState, staff: &Staff, want: Access) -> Result<Access> {
    let have = access(state, staff)?;
    if have < want {
        return Err(Error::Forbidden(match want {
            Access::Manager => "only the programme's managers may do this".into(),
            _ => "only an administrator may do this".into(),
        }));
    }
    Ok(have)
}

// The programme's staff forms answer in English; the checks are the kernel's.

pub fn date(field: &str, raw: &str) -> Result<NaiveDate> {
    form::date(Lang::En, field, raw)
}

pub fn optional_date(field: &str, raw: &str) -> Result<Option<NaiveDate>> {
    form::optional_date(Lang::En, field, raw)
}

pub fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    form::text(Lang::En, field, raw, max)
}

pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<String> {
    form::optional_text(Lang::En, field, raw, max)
}

pub fn code(field: &str, raw: &str) -> Result<String> {
    form::code(Lang::En, field, raw)
}
