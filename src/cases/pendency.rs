//! Deadlines and pendency: which open cases wait where, and for how long; the daily job that
//! tells each responsible office about its overdue cases.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::workflow::Workflow;
use crate::platform::db::{query, Db};
use crate::platform::error::Result;

pub const JOB_KIND: &str = "cases.deadlines";

/// The departments that act next on a case in `state`: those of the roles of its steps.
pub fn responsible(w: &Workflow, state: &str) -> Vec<String> {
    let mut out: Vec<String> = w
        .transition
        .iter()
        .filter(|t| t.from.iter().any(|f| f == state))
        .flat_map(|t| t.roles.iter())
        .filter_map(|r| w.role.iter().find(|x| &x.code == r))
        .map(|r| r.department.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    State,
    Department,
    District,
    Officer,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "state" => By::State,
            "department" => By::Department,
            "district" => By::District,
            "officer" => By::Officer,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = PendencyRow)]
pub struct Row {
    pub key: String,
    pub open: i64,
    pub overdue: i64,
}

/// A case's state, district, time in the state, and who last moved it.
type OpenCase = (String, Option<String>, DateTime<Utc>, Option<String>);

/// Open cases of a workflow by state, responsible department, district or the officer who
/// last moved them (within `district`, if given).
pub async fn report(db: &Db, w: &Workflow, by: By, district: Option<&str>) -> Result<Vec<Row>> {
    let mut q = query(
        "SELECT c.state, c.district, c.state_since, \
         (SELECT e.actor FROM case_events e WHERE e.case_id = c.id ORDER BY e.id DESC LIMIT 1) \
         FROM cases c WHERE c.workflow = ",
    )
    .push_bind(w.code.clone());
    if let Some(d) = district {
        q = q.push(" AND c.district = ").push_bind(d.to_owned());
    }
    let rows: Vec<OpenCase> = db.fetch_all(q).await?;
    let mut out: BTreeMap<String, Row> = BTreeMap::new();
    let now = Utc::now();
    for (state, district, since, actor) in rows {
        let Some(s) = w.state.iter().find(|s| s.code == state) else {
            continue;
        };
        if s.terminal {
            continue;
        }
        let overdue = s
            .deadline_days
            .is_some_and(|d| now - since > Duration::days(d));
        let keys = match by {
            By::State => vec![state.clone()],
            By::Department => responsible(w, &state),
            By::District => vec![district.unwrap_or_default()],
            By::Officer => vec![actor.unwrap_or_default()],
        };
        for k in keys {
            let r = out.entry(k.clone()).or_insert_with(|| Row {
                key: k,
                ..Default::default()
            });
            r.open += 1;
            r.overdue += overdue as i64;
        }
    }
    Ok(out.into_values().collect())
}

/// The report as CSV.
pub fn csv(by: &str, rows: &[Row]) -> String {
    let mut sheet = crate::platform::sheet::Sheet::new();
    sheet.row([by, "open", "overdue"]);
    for r in rows {
        sheet.row([r.key.clone(), r.open.to_string(), r.overdue.to_string()]);
    }
    sheet.finish()
}

/// Notify each responsible office of each overdue case (once per case, office and state).
/// Returns how many notices were new.
pub async fn notify_overdue(db: &Db) -> Result<u64> {
    let workflows: Vec<(Workflow, _)> = super::WORKFLOWS.all(db).await?;
    let now = Utc::now();
    let mut added = 0;
    for (w, _) in workflows {
        let cases: Vec<(i64, String, DateTime<Utc>)> = db
            .fetch_all(
                query("SELECT id, state, state_since FROM cases WHERE workflow = $1").bind(&w.code),
            )
            .await?;
        for (id, state, since) in cases {
            let Some(s) = w.state.iter().find(|s| s.code == state) else {
                continue;
            };
            let overdue = !s.terminal
                && s.deadline_days
                    .is_some_and(|d| now - since > Duration::days(d));
            if !overdue {
                continue;
            }
            for department in responsible(&w, &state) {
                added += db
                    .execute(
                        query(
                            "INSERT INTO case_notices (case_id, department, state, at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (case_id, department, state) DO NOTHING",
                        )
                        .bind(id)
                        .bind(department)
                        .bind(&state)
                        .bind(now),
                    )
                    .await?;
            }
        }
    }
    Ok(added)
}

/// The overdue cases an office has been told about: `(reference, workflow, state, since)`.
pub async fn notices(
    db: &Db,
    department: &str,
) -> Result<Vec<(String, String, String, DateTime<Utc>)>> {
    Ok(db
        .fetch_all(
            query(
                "SELECT c.reference, c.workflow, n.state, n.at FROM case_notices n \
                 JOIN cases c ON c.id = n.case_id WHERE n.department = $1 AND c.state = n.state \
                 ORDER BY n.at",
            )
            .bind(department),
        )
        .await?)
}

/// The scheduled job: notify, then book tomorrow's run.
pub async fn job(db: Db) -> anyhow::Result<()> {
    let n = notify_overdue(&db)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    tracing::info!(notices = n, "overdue cases notified");
    schedule(&db).await
}

/// Book the next daily run (06:00 Pakistan time), unless one is booked.
pub async fn schedule(db: &Db) -> anyhow::Result<()> {
    let at = crate::platform::clock::next_at(Utc::now(), None, 6);
    crate::platform::jobs::schedule_once(db, JOB_KIND, at).await?;
    Ok(())
}

/// Register the daily deadline check.
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry) {
    registry.register(JOB_KIND, |db, _| job(db));
}
