//! Cases: multi-department workflows declared as data (`workflow.rs`), checked before anyone
//! depends on them and drawn for the departments to review; cases that move through them
//! (`run.rs`), with an append-only timeline, approval gates, optimistic concurrency and the
//! documents they issue; the JSON API and the public verification page (`api.rs`).

pub mod api;
pub mod pendency;
pub mod run;
pub mod workflow;

use std::collections::HashSet;

use crate::platform::db::{query, Tx};

/// Store (or replace) a checked workflow definition.
pub async fn upsert_workflow(tx: &mut Tx, w: &workflow::Workflow) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO case_workflows (code, definition, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET definition = excluded.definition, \
             updated_at = excluded.updated_at",
        )
        .bind(&w.code)
        .bind(serde_json::to_string(w).expect("serialisable"))
        .bind(chrono::Utc::now()),
    )
    .await?;
    Ok(())
}

/// Every problem of every workflow in a pack, given the departments that exist.
pub fn check_all(
    workflows: &[workflow::Workflow],
    departments: &HashSet<String>,
) -> Vec<workflow::Problem> {
    let mut out: Vec<workflow::Problem> = workflows
        .iter()
        .flat_map(|w| w.check(departments))
        .collect();
    let mut seen = HashSet::new();
    for w in workflows {
        if !seen.insert(&w.code) {
            out.push(workflow::Problem {
                workflow: w.code.clone(),
                rule: "duplicate",
                message: "two workflows have this code".into(),
            });
        }
    }
    out
}

pub fn router() -> axum::Router<crate::app::AppState> {
    api::router()
}
