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

use chrono::{NaiveDate, Utc};

use crate::app::AppState;
use crate::platform::db::query;
use crate::platform::error::{Error, Result};
use crate::platform::identity::{Role, Scope, Staff, StaffKind};

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
pub async fn access(state: &AppState, staff: &Staff) -> Result<Access> {
    let refuse = || Error::Forbidden("the programme is run by the programme's own staff".into());
    let StaffKind::User { role, .. } = &staff.kind else {
        return Err(refuse());
    };
    if *role == Role::Admin {
        return Ok(Access::Admin);
    }
    let Scope::Department { department_id, .. } = &staff.scope else {
        return Err(refuse());
    };
    let slug: Option<(String,)> = state
        .db
        .fetch_optional(query("SELECT slug FROM departments WHERE id = $1").bind(*department_id))
        .await?;
    match slug {
        Some((s,)) if s == state.config.programme_department => Ok(match role {
            Role::Officer => Access::Reviewer,
            _ => Access::Manager,
        }),
        _ => Err(refuse()),
    }
}

/// Refuse unless the caller has at least `want`.
pub async fn require(state: &AppState, staff: &Staff, want: Access) -> Result<Access> {
    let have = access(state, staff).await?;
    if have < want {
        return Err(Error::Forbidden(match want {
            Access::Manager => "only the programme's managers may do this".into(),
            _ => "only an administrator may do this".into(),
        }));
    }
    Ok(have)
}

/// Today in Pakistan.
pub fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&crate::web::format::pkt())
        .date_naive()
}

/// A required date field (`YYYY-MM-DD`).
pub fn date(field: &str, raw: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        Error::BadRequest(format!(
            "{field}: give a date as YYYY-MM-DD (for example 2026-12-01)"
        ))
    })
}

/// An optional date field: empty is none.
pub fn optional_date(field: &str, raw: &str) -> Result<Option<NaiveDate>> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        date(field, raw).map(Some)
    }
}

/// A required short text, trimmed, at most `max` characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(Error::BadRequest(format!("{field} is required")));
    }
    optional_text(field, t, max)
}

/// An optional text, trimmed, at most `max` characters.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(Error::BadRequest(format!(
            "{field} is too long: at most {max} characters"
        )));
    }
    Ok(t.to_owned())
}

/// A code: lower-case letters, digits and hyphens, 2 to 40 of them.
pub fn code(field: &str, raw: &str) -> Result<String> {
    let c = raw.trim();
    let ok = (2..=40).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(Error::BadRequest(format!(
            "{field}: use 2 to 40 lower-case letters, digits and hyphens (for example 2026-cycle)"
        )));
    }
    Ok(c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_say_what_is_wrong() {
        assert!(date("opens_on", "1/12/2026")
            .unwrap_err()
            .to_string()
            .contains("YYYY-MM-DD"));
        assert_eq!(optional_date("x", " ").unwrap(), None);
        assert!(code("code", "Cycle 7").is_err());
        assert_eq!(code("code", " cycle-7 ").unwrap(), "cycle-7");
        assert!(text("title", "  ", 10).is_err());
        assert!(optional_text("t", &"x".repeat(11), 10).is_err());
    }
}
