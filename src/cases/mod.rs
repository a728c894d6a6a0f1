//! Cases: multi-department workflows declared as data (`workflow.rs`), checked before anyone
//! depends on them and drawn for the departments to review; cases that move through them
//! (`run.rs`), with an append-only timeline, approval gates, optimistic concurrency and the
//! documents they issue; the JSON API and the public verification page (`api.rs`).

pub mod api;
pub mod pendency;
pub mod run;
pub mod workflow;

use std::collections::HashSet;

use crate::platform::db::Tx;
use crate::platform::definitions::Definitions;

/// The case fields a form sends as `field[CODE]`, by code.
pub fn form_fields<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> std::collections::BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("field[")
                .and_then(|c| c.strip_suffix(']'))
                .map(|c| (c.to_owned(), v.clone()))
        })
        .collect()
}

/// Store (or replace) a checked workflow definition.
pub async fn upsert_workflow(tx: &mut Tx, w: &workflow::Workflow) -> Result<(), sqlx::Error> {
    WORKFLOWS.upsert(tx, &w.code, None, w).await
}

/// Every workflow stored, by code.
pub async fn workflows(
    db: &crate::platform::db::Db,
) -> Result<Vec<workflow::Workflow>, sqlx::Error> {
    Ok(WORKFLOWS
        .all(db)
        .await?
        .into_iter()
        .map(|(w, _)| w)
        .collect())
}

/// Workflows span departments: their table has no department column.
pub(crate) const WORKFLOWS: Definitions = Definitions::shared("case_workflows");

/// Every problem of every workflow in a pack, given the departments that exist.
/// `others`: the workflows already stored that the pack does not replace; document numbers
/// must not share a prefix with theirs.
pub fn check_all(
    workflows: &[workflow::Workflow],
    departments: &HashSet<String>,
    others: &[workflow::Workflow],
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
    // A document's number is unique everywhere: its prefix belongs to one document of one
    // workflow.
    let mut prefixes: std::collections::HashMap<&str, (&str, &str)> = others
        .iter()
        .filter(|o| !workflows.iter().any(|w| w.code == o.code))
        .flat_map(|o| {
            o.document
                .iter()
                .map(move |d| (d.prefix.as_str(), (o.code.as_str(), d.code.as_str())))
        })
        .collect();
    for w in workflows {
        for d in &w.document {
            if let Some((ow, od)) = prefixes.insert(&d.prefix, (&w.code, &d.code)) {
                out.push(workflow::Problem {
                    workflow: w.code.clone(),
                    rule: "duplicate",
                    message: format!(
                        "document {} numbers with prefix {:?}, which {ow}'s document {od} uses",
                        d.code, d.prefix
                    ),
                });
            }
        }
    }
    out
}

/// The workflows stored now.
pub async fn stored(tx: &mut Tx) -> Result<Vec<workflow::Workflow>, sqlx::Error> {
    Ok(WORKFLOWS
        .all_in(tx)
        .await?
        .into_iter()
        .map(|(w, _)| w)
        .collect())
}

pub fn router() -> axum::Router<crate::platform::state::AppState> {
    api::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (api).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}
