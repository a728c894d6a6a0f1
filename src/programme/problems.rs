//! Problem statements, each scored against the programme's selection criteria: named checks
//! learnt from the services that died after hand-over, each with its warning.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::partners::{self, partner};
use super::{optional_text, require, text, Access};
use crate::platform::audit;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::identity::Staff;
use crate::platform::state::AppState;

pub const LITERACY: [&str; 3] = ["low", "basic", "high"];
pub const PHONE_ACCESS: [&str; 3] = ["none", "feature", "smartphone"];
/// `desk`: an official enters it for the citizen, in person or by phone.
pub const CHANNELS: [&str; 5] = ["web", "android", "sms", "ussd", "desk"];
pub const POLICY: [&str; 3] = ["allowed", "unclear", "forbidden"];
/// More stakeholders than this who must act is a warning (the vehicle seizure system).
pub const MAX_STAKEHOLDERS: i64 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub id: i64,
    pub department_id: i64,
    pub title: String,
    pub description: String,
    pub stakeholders: i64,
    pub literacy: String,
    pub phone_access: String,
    pub channels: Vec<String>,
    pub data_needed: Vec<String>,
    pub policy: String,
    pub policy_reference: String,
    pub maintainer: String,
}

/// One named check: `ok`, or a warning with what is wrong (`detail`, for the message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `stakeholders`, `channel`, `data`, `policy`, `maintainer`.
    pub code: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The checks of a problem, given the data its department has committed in MoUs in force.
pub fn checks(p: &Problem, committed: &[String]) -> Vec<Check> {
    let reaches_without_smartphone = p
        .channels
        .iter()
        .any(|c| matches!(c.as_str(), "sms" | "ussd" | "desk"));
    let needs_other_channel = p.phone_access != "smartphone" || p.literacy == "low";
    let missing: Vec<&str> = p
        .data_needed
        .iter()
        .filter(|d| !committed.iter().any(|c| c.eq_ignore_ascii_case(d.trim())))
        .map(String::as_str)
        .collect();
    vec![
        Check {
            code: "stakeholders",
            ok: p.stakeholders <= MAX_STAKEHOLDERS,
            detail: p.stakeholders.to_string(),
        },
        Check {
            code: "channel",
            ok: !needs_other_channel || reaches_without_smartphone,
            detail: format!("{} / {}", p.literacy, p.phone_access),
        },
        Check {
            code: "data",
            ok: missing.is_empty(),
            detail: missing.join("; "),
        },
        Check {
            code: "policy",
            ok: p.policy == "allowed",
            detail: p.policy.clone(),
        },
        Check {
            code: "maintainer",
            ok: !p.maintainer.trim().is_empty(),
            detail: p.maintainer.clone(),
        },
    ]
}

type ProblemRow = (
    i64,
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn problem_of(r: ProblemRow) -> Problem {
    Problem {
        id: r.0,
        department_id: r.1,
        title: r.2,
        description: r.3,
        stakeholders: r.4,
        literacy: r.5,
        phone_access: r.6,
        channels: serde_json::from_str(&r.7).unwrap_or_default(),
        data_needed: serde_json::from_str(&r.8).unwrap_or_default(),
        policy: r.9,
        policy_reference: r.10,
        maintainer: r.11,
    }
}

const SELECT: &str = "SELECT id, department_id, title, description, stakeholders, literacy, \
     phone_access, channels, data_needed, policy, policy_reference, maintainer FROM prog_problems";

pub async fn problems(db: &Db, department_id: Option<i64>) -> Result<Vec<Problem>> {
    let rows: Vec<ProblemRow> = db
        .fetch_all(
            query(format!(
                "{SELECT} WHERE $1 IS NULL OR department_id = $1 ORDER BY id DESC"
            ))
            .bind(department_id),
        )
        .await?;
    Ok(rows.into_iter().map(problem_of).collect())
}

pub async fn problem(db: &Db, id: i64) -> Result<Problem> {
    let row: Option<ProblemRow> = db
        .fetch_optional(query(format!("{SELECT} WHERE id = $1")).bind(id))
        .await?;
    row.map(problem_of)
        .ok_or_else(|| Error::NotFound(format!("there is no problem statement {id}")))
}

/// A problem with its checks, as of today.
pub async fn checked(db: &Db, id: i64) -> Result<(Problem, Vec<Check>)> {
    let p = problem(db, id).await?;
    let committed = partners::data_in_force(db, p.department_id).await?;
    let c = checks(&p, &committed);
    Ok((p, c))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProblemForm {
    pub title: String,
    pub description: String,
    pub stakeholders: String,
    pub literacy: String,
    pub phone_access: String,
    /// Chosen channels (a form sends one value per box).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Data the solution needs, one item per line.
    pub data_needed: String,
    pub policy: String,
    pub policy_reference: String,
    pub maintainer: String,
}

fn one_of(field: &str, v: &str, list: &[&str]) -> Result<String> {
    if list.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(Error::BadRequest(format!(
            "{field}: one of {}",
            list.join(", ")
        )))
    }
}

/// Write down a department's problem statement; its checks are computed whenever it is read.
pub async fn add(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    f: &ProblemForm,
) -> Result<i64> {
    require(state, staff, Access::Manager).await?;
    let dept = partner(&state.db, department_id).await?;
    let title = text("title", &f.title, 200)?;
    let description = text("description", &f.description, 4000)?;
    let stakeholders: i64 = f
        .stakeholders
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=50).contains(n))
        .ok_or_else(|| {
            Error::BadRequest(
                "stakeholders: how many departments or offices must act, from 1 to 50".into(),
            )
        })?;
    let literacy = one_of("literacy", &f.literacy, &LITERACY)?;
    let phone_access = one_of("phone_access", &f.phone_access, &PHONE_ACCESS)?;
    let mut channels = Vec::new();
    for c in &f.channels {
        let c = one_of("channels", c, &CHANNELS)?;
        if !channels.contains(&c) {
            channels.push(c);
        }
    }
    if channels.is_empty() {
        return Err(Error::BadRequest(
            "channels: choose at least one way citizens will reach the service".into(),
        ));
    }
    let data_needed: Vec<String> = f
        .data_needed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| optional_text("data needed", l, 300))
        .collect::<Result<_>>()?;
    let policy = one_of("policy", &f.policy, &POLICY)?;
    let policy_reference = optional_text("policy_reference", &f.policy_reference, 300)?;
    let maintainer = optional_text("maintainer", &f.maintainer, 200)?;
    let mut tx = state.db.begin().await?;
    let id = tx
        .scalar::<i64>(
            query(
                "INSERT INTO prog_problems (department_id, title, description, stakeholders, literacy, \
                 phone_access, channels, data_needed, policy, policy_reference, maintainer, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(department_id)
            .bind(&title)
            .bind(&description)
            .bind(stakeholders)
            .bind(&literacy)
            .bind(&phone_access)
            .bind(serde_json::to_string(&channels).expect("serialisable"))
            .bind(serde_json::to_string(&data_needed).expect("serialisable"))
            .bind(&policy)
            .bind(&policy_reference)
            .bind(&maintainer)
            .bind(Utc::now()),
        )
        .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.problem_added",
        "department",
        &dept.department.slug,
        serde_json::json!({"problem": id, "title": title}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Problem {
        Problem {
            id: 1,
            department_id: 1,
            title: "Electricity theft".into(),
            description: "d".into(),
            stakeholders: 1,
            literacy: "basic".into(),
            phone_access: "smartphone".into(),
            channels: vec!["android".into()],
            data_needed: vec!["Feeder list".into()],
            policy: "allowed".into(),
            policy_reference: String::new(),
            maintainer: "PESCO IT cell".into(),
        }
    }

    fn failing(p: &Problem, committed: &[&str]) -> Vec<&'static str> {
        let c: Vec<String> = committed.iter().map(|s| s.to_string()).collect();
        checks(p, &c)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| c.code)
            .collect()
    }

    #[test]
    fn each_lesson_is_a_named_check() {
        let p = sample();
        assert!(failing(&p, &["feeder list"]).is_empty());
        assert_eq!(failing(&p, &[]), vec!["data"]);
        let mut q = p.clone();
        q.phone_access = "feature".into();
        assert_eq!(failing(&q, &["Feeder list"]), vec!["channel"]);
        q.channels.push("sms".into());
        assert!(failing(&q, &["Feeder list"]).is_empty());
        let mut r = p.clone();
        r.stakeholders = 5;
        r.policy = "unclear".into();
        r.maintainer = " ".into();
        assert_eq!(
            failing(&r, &["Feeder list"]),
            vec!["stakeholders", "policy", "maintainer"]
        );
    }
}
