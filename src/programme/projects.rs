//! Projects: a department, a team, a problem statement and the Khidmat services that answer it,
//! through a lifecycle. Hand-over needs a complete checklist; an abandoned service can be
//! relaunched (by alumni who volunteer).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::partners::{self, partner};
use super::{code, date, optional_text, problems, require, text, Access};
use crate::platform::audit;
use crate::platform::db::{is_unique_violation, query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::identity::Staff;
use crate::platform::state::AppState;

pub const STATES: [&str; 10] = [
    "proposed",
    "mou_signed",
    "user_research",
    "building",
    "mvp",
    "deployed",
    "handed_over",
    "sustained",
    "abandoned",
    "relaunched",
];

/// Where a project may go from `state`.
pub fn next_states(state: &str) -> &'static [&'static str] {
    match state {
        "proposed" => &["mou_signed", "abandoned"],
        "mou_signed" => &["user_research", "abandoned"],
        "user_research" => &["building", "abandoned"],
        "building" => &["mvp", "abandoned"],
        "mvp" => &["deployed", "abandoned"],
        "deployed" => &["handed_over", "abandoned"],
        "handed_over" => &["sustained", "abandoned"],
        "sustained" => &["abandoned"],
        "abandoned" => &["relaunched"],
        "relaunched" => &["building", "deployed"],
        _ => &[],
    }
}

/// The kinds of Khidmat service a project can be answered by, and the table naming them.
pub const SERVICE_KINDS: [(&str, &str); 4] = [
    ("reports", "report_services"),
    ("benefits", "benefit_funds"),
    ("cases", "case_workflows"),
    ("directory", "dir_kinds"),
];

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub department_id: i64,
    pub department: String,
    pub team_id: Option<i64>,
    pub team: Option<String>,
    pub problem_id: Option<i64>,
    pub problem: Option<String>,
    /// `kind:code`
    pub services: Vec<String>,
    pub state: String,
    pub maintainer: String,
    pub backups_confirmed: Option<(String, DateTime<Utc>)>,
    pub admins_confirmed: Option<(String, DateTime<Utc>)>,
}

/// The hand-over checklist: every item must hold to mark a project handed over.
#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub maintainer: bool,
    /// Officials of the department with a training record.
    pub officials_trained: i64,
    pub backups_configured: bool,
    pub admins_transferred: bool,
}

impl Checklist {
    /// The items still open, by code.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if !self.maintainer {
            m.push("maintainer");
        }
        if self.officials_trained == 0 {
            m.push("officials_trained");
        }
        if !self.backups_configured {
            m.push("backups_configured");
        }
        if !self.admins_transferred {
            m.push("admins_transferred");
        }
        m
    }
}

type ProjectRow = (
    i64,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
);

const SELECT: &str =
    "SELECT p.id, p.code, p.title, p.department_id, d.name_en, p.team_id, t.name, \
     p.problem_id, s.title, p.services, p.state, p.maintainer, p.backups_confirmed_by, \
     p.backups_confirmed_at, p.admins_confirmed_by, p.admins_confirmed_at FROM prog_projects p \
     JOIN departments d ON d.id = p.department_id LEFT JOIN prog_teams t ON t.id = p.team_id \
     LEFT JOIN prog_problems s ON s.id = p.problem_id";

fn project_of(r: ProjectRow) -> Project {
    Project {
        id: r.0,
        code: r.1,
        title: r.2,
        department_id: r.3,
        department: r.4,
        team_id: r.5,
        team: r.6,
        problem_id: r.7,
        problem: r.8,
        services: serde_json::from_str(&r.9).unwrap_or_default(),
        state: r.10,
        maintainer: r.11,
        backups_confirmed: r.12.zip(r.13),
        admins_confirmed: r.14.zip(r.15),
    }
}

pub async fn projects(db: &Db) -> Result<Vec<Project>> {
    let rows: Vec<ProjectRow> = db
        .fetch_all(query(format!("{SELECT} ORDER BY p.code")))
        .await?;
    Ok(rows.into_iter().map(project_of).collect())
}

pub async fn project(db: &Db, code: &str) -> Result<Project> {
    let row: Option<ProjectRow> = db
        .fetch_optional(query(format!("{SELECT} WHERE p.code = $1")).bind(code))
        .await?;
    row.map(project_of)
        .ok_or_else(|| Error::NotFound(format!("there is no project {code}")))
}

pub async fn checklist(db: &Db, p: &Project) -> Result<Checklist> {
    let trained = partners::partner(db, p.department_id)
        .await?
        .officials_trained;
    Ok(Checklist {
        maintainer: !p.maintainer.trim().is_empty(),
        officials_trained: trained,
        backups_configured: p.backups_confirmed.is_some(),
        admins_transferred: p.admins_confirmed.is_some(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

/// (at, actor, from, to, note)
type EventRow = (DateTime<Utc>, String, Option<String>, String, String);

pub async fn history(db: &Db, project_id: i64) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = db
        .fetch_all(
            query(
                "SELECT at, actor, from_state, to_state, note FROM prog_project_events \
                 WHERE project_id = $1 ORDER BY id",
            )
            .bind(project_id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Event {
            at: r.0,
            actor: r.1,
            from_state: r.2,
            to_state: r.3,
            note: r.4,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub id: i64,
    pub title: String,
    pub due_on: String,
    pub done_on: Option<String>,
}

pub async fn milestones(db: &Db, project_id: i64) -> Result<Vec<Milestone>> {
    let rows: Vec<(i64, String, String, Option<String>)> = db
        .fetch_all(
            query(
                "SELECT id, title, due_on, done_on FROM prog_milestones WHERE project_id = $1 \
                 ORDER BY due_on, id",
            )
            .bind(project_id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Milestone {
            id: r.0,
            title: r.1,
            due_on: r.2,
            done_on: r.3,
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectForm {
    pub code: String,
    pub title: String,
    pub department_id: String,
    pub team_id: String,
    pub problem_id: String,
    /// `kind:code`, one per line.
    pub services: String,
}

fn optional_id(field: &str, raw: &str) -> Result<Option<i64>> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| Error::BadRequest(format!("{field}: not a valid choice"))),
    }
}

/// Each `kind:code` must name a service that exists on this platform.
async fn check_services(db: &Db, raw: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (kind, code) = line.split_once(':').unwrap_or(("", line));
        let Some((kind, table)) = SERVICE_KINDS.iter().find(|(k, _)| *k == kind.trim()) else {
            return Err(Error::BadRequest(format!(
                "services: write `kind:code` with kind one of {} (for example reports:ELEC-THEFT); {line:?} is not",
                SERVICE_KINDS.map(|k| k.0).join(", ")
            )));
        };
        let code = code.trim();
        // Only existence is asked of the other services' tables, by their public codes.
        let found: Option<(String,)> = db
            .fetch_optional(query(format!("SELECT code FROM {table} WHERE code = $1")).bind(code))
            .await?;
        if found.is_none() {
            return Err(Error::BadRequest(format!(
                "services: there is no {kind} service {code:?} on this platform"
            )));
        }
        let s = format!("{kind}:{code}");
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

pub async fn create(state: &AppState, staff: &Staff, f: &ProjectForm) -> Result<String> {
    require(state, staff, Access::Manager).await?;
    let code = code("code", &f.code)?;
    let title = text("title", &f.title, 200)?;
    let department_id = optional_id("department", &f.department_id)?
        .ok_or_else(|| Error::BadRequest("department is required".into()))?;
    let dept = partner(&state.db, department_id).await?;
    let team_id = optional_id("team", &f.team_id)?;
    if let Some(t) = team_id {
        if !super::cycles::teams(&state.db, None)
            .await?
            .iter()
            .any(|x| x.id == t)
        {
            return Err(Error::BadRequest(format!("there is no team {t}")));
        }
    }
    let problem_id = optional_id("problem", &f.problem_id)?;
    if let Some(p) = problem_id {
        if problems::problem(&state.db, p).await?.department_id != department_id {
            return Err(Error::BadRequest(
                "the problem statement belongs to another department".into(),
            ));
        }
    }
    let services = check_services(&state.db, &f.services).await?;
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    let id = tx
        .scalar::<i64>(
            query(
                "INSERT INTO prog_projects (code, title, department_id, team_id, problem_id, services, \
                 state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, $7) RETURNING id",
            )
            .bind(&code)
            .bind(&title)
            .bind(department_id)
            .bind(team_id)
            .bind(problem_id)
            .bind(serde_json::to_string(&services).expect("serialisable"))
            .bind(now),
        )
        .await;
    let id = match id {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!(
                "there is already a project {code}"
            )))
        }
        other => other?,
    };
    tx.execute(
        query(
            "INSERT INTO prog_project_events (project_id, at, actor, from_state, to_state, note) \
             VALUES ($1, $2, $3, NULL, 'proposed', '')",
        )
        .bind(id)
        .bind(now)
        .bind(staff.actor()),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.project_created",
        "project",
        &code,
        serde_json::json!({"department": dept.department.slug, "services": services}),
    )
    .await?;
    tx.commit().await?;
    Ok(code)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChecklistForm {
    pub maintainer: String,
    /// Present when the box is ticked.
    pub backups_configured: Option<String>,
    pub admins_transferred: Option<String>,
}

/// Record the hand-over items that people attest: the maintainer named, backups configured,
/// administrator accounts transferred (officials trained come from the training records).
pub async fn set_checklist(
    state: &AppState,
    staff: &Staff,
    code: &str,
    f: &ChecklistForm,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let p = project(&state.db, code).await?;
    let maintainer = optional_text("maintainer", &f.maintainer, 200)?;
    let now = Utc::now();
    let keep = |was: &Option<(String, DateTime<Utc>)>, ticked: bool| match (was, ticked) {
        (Some((by, at)), true) => (Some(by.clone()), Some(*at)),
        (None, true) => (Some(staff.actor()), Some(now)),
        (_, false) => (None, None),
    };
    let backups = keep(&p.backups_confirmed, f.backups_configured.is_some());
    let admins = keep(&p.admins_confirmed, f.admins_transferred.is_some());
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "UPDATE prog_projects SET maintainer = $1, backups_confirmed_by = $2, backups_confirmed_at = $3, \
             admins_confirmed_by = $4, admins_confirmed_at = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&maintainer)
        .bind(backups.0.clone())
        .bind(backups.1)
        .bind(admins.0.clone())
        .bind(admins.1)
        .bind(now)
        .bind(p.id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.checklist_changed",
        "project",
        &p.code,
        serde_json::json!({
            "before": {"maintainer": p.maintainer, "backups_configured": p.backups_confirmed.is_some(), "admins_transferred": p.admins_confirmed.is_some()},
            "after": {"maintainer": maintainer, "backups_configured": backups.0.is_some(), "admins_transferred": admins.0.is_some()},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Move a project on. An MoU must be signed (and in force) to reach `mou_signed`; the hand-over
/// checklist must be complete to reach `handed_over`.
pub async fn advance(
    state: &AppState,
    staff: &Staff,
    code: &str,
    to: &str,
    note: &str,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let p = project(&state.db, code).await?;
    if !next_states(&p.state).contains(&to) {
        return Err(Error::Conflict(format!(
            "a project that is {} can move to {} only",
            p.state,
            next_states(&p.state).join(" or ")
        )));
    }
    let note = optional_text("note", note, 1000)?;
    if to == "mou_signed"
        && !partners::mous(&state.db, Some(p.department_id))
            .await?
            .iter()
            .any(|m| m.in_force(crate::platform::clock::today()))
    {
        return Err(Error::Conflict(format!(
            "{} has no signed MoU in force: record the signed MoU first",
            p.department
        )));
    }
    if to == "handed_over" {
        let missing = checklist(&state.db, &p).await?.missing();
        if !missing.is_empty() {
            return Err(Error::Conflict(format!(
                "the hand-over checklist is not complete: {}",
                missing.join(", ")
            )));
        }
    }
    if to == "abandoned" && note.is_empty() {
        return Err(Error::BadRequest(
            "say why the service was abandoned (the note), so the next team can learn from it"
                .into(),
        ));
    }
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            query(
                "UPDATE prog_projects SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
            )
            .bind(to)
            .bind(now)
            .bind(p.id)
            .bind(&p.state),
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict(
            "the project changed meanwhile: reload it".into(),
        ));
    }
    tx.execute(
        query(
            "INSERT INTO prog_project_events (project_id, at, actor, from_state, to_state, note) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.id)
        .bind(now)
        .bind(staff.actor())
        .bind(&p.state)
        .bind(to)
        .bind(&note),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.project_moved",
        "project",
        &p.code,
        serde_json::json!({"from": p.state, "to": to, "note": note}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Add a milestone, or mark one done (`done_on` given).
pub async fn add_milestone(
    state: &AppState,
    staff: &Staff,
    code: &str,
    title: &str,
    due_on: &str,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let p = project(&state.db, code).await?;
    let title = text("milestone", title, 200)?;
    let due = date("due_on", due_on)?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("INSERT INTO prog_milestones (project_id, title, due_on) VALUES ($1, $2, $3)")
            .bind(p.id)
            .bind(&title)
            .bind(due.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn milestone_done(state: &AppState, staff: &Staff, code: &str, id: i64) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let p = project(&state.db, code).await?;
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            query(
                "UPDATE prog_milestones SET done_on = $1 WHERE id = $2 AND project_id = $3 AND done_on IS NULL",
            )
            .bind(crate::platform::clock::today().to_string())
            .bind(id)
            .bind(p.id),
        )
        .await?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "no open milestone {id} in this project"
        )));
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_reachable_and_leads_somewhere() {
        for s in STATES {
            assert!(!next_states(s).is_empty(), "{s} is a dead end");
            for n in next_states(s) {
                assert!(STATES.contains(n), "{s} leads to unknown {n}");
            }
            if s != "proposed" {
                assert!(
                    STATES.iter().any(|from| next_states(from).contains(&s)),
                    "{s} cannot be reached"
                );
            }
        }
    }

    #[test]
    fn the_checklist_names_what_is_missing() {
        let c = Checklist {
            maintainer: true,
            officials_trained: 0,
            backups_configured: false,
            admins_transferred: true,
        };
        assert_eq!(c.missing(), vec!["officials_trained", "backups_configured"]);
    }
}
