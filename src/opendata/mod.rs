//! Open data: a catalogue of datasets (CKAN packages) owned by departments (CKAN
//! organizations), their resources, and the DataStore that makes a CSV queryable, spoken as the
//! CKAN Action API so `ckanapi` and CKAN harvesters work unchanged.
//!
//! - `datastore.rs`: CSV import (streaming, typed) and `datastore_search`
//! - `store.rs`: the catalogue's SQL
//! - `ckan.rs`: the Action API
//! - `license.rs`: the licences a dataset may carry

pub mod ckan;
pub mod datastore;
pub mod dcat;
pub mod license;
pub mod publish;
pub mod rdf;
pub mod sql;
pub mod store;
pub mod upload;

use std::path::Path;

use crate::platform::db::Db;
use crate::platform::error::{Error, Result};

pub fn router() -> axum::Router<crate::platform::state::AppState> {
    ckan::router().merge(dcat::router())
}

/// This node's DataStore answers (`datastore_search` and `datastore_search_sql`), each keyed by
/// the request and the versions of the tables it read, so an answer is never older than the
/// data (see `platform::cache::Answers`). A department's open data changes by the import or the
/// batch, and is read far more often: the same filter's total or the same aggregate is then
/// counted once per version, not once per request. Registered in the application's state.
pub struct Answers(pub crate::platform::cache::Answers<std::sync::Arc<serde_json::Value>>);

/// What [`Answers`] may hold, in bytes of JSON.
const ANSWER_BYTES: usize = 32 << 20;

impl Default for Answers {
    fn default() -> Self {
        Answers(crate::platform::cache::Answers::new(ANSWER_BYTES))
    }
}

impl Answers {
    /// The kept answer to `key`, counted as a hit or a miss in `/metrics`.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        let found = self.0.get(key);
        metrics::counter!(
            "khidmat_datastore_answers_total",
            "kept" => if found.is_some() { "hit" } else { "miss" }
        )
        .increment(1);
        found.map(|v| v.as_ref().clone())
    }

    pub fn put(&self, key: String, answer: &serde_json::Value) {
        let size = serde_json::to_vec(answer)
            .map(|v| v.len())
            .unwrap_or(usize::MAX / 2);
        self.0.put(key, std::sync::Arc::new(answer.clone()), size);
    }
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    pub dataset: String,
    pub resource_id: String,
    pub rows: u64,
    pub fields: Vec<datastore::Field>,
    /// The fields indexed because their values repeat (see `datastore::Survey::repeating`).
    pub indexed: Vec<String>,
}

/// Import a CSV file as a new DataStore resource of dataset `name` (made if missing). Every bad
/// row is reported and nothing is written if there is one.
pub async fn import_csv(
    db: &Db,
    path: &Path,
    name: &str,
    title: Option<&str>,
    department: Option<&str>,
    progress: impl FnMut(&str, u64) + Send + 'static,
) -> Result<Imported> {
    let about = About {
        title,
        department,
        ..About::default()
    };
    import_into(db, path, name, &about, false, progress).await
}

/// What an import says of its dataset and resource.
#[derive(Default)]
pub struct About<'a> {
    /// The dataset's title when it is made (its name without one).
    pub title: Option<&'a str>,
    /// What the dataset is, how often it changes, how it is computed, what was left out. When
    /// given, it, the title, the tags and the department replace what the dataset said.
    pub notes: Option<&'a str>,
    /// The dataset's keywords (with `notes`).
    pub tags: &'a [String],
    /// The department that publishes it, when it is made.
    pub department: Option<&'a str>,
    /// The resource's name (the file's name without one).
    pub resource_name: Option<&'a str>,
    /// Columns whose type is given, not inferred (`phone` as text, `amount` as numeric).
    pub types: &'a [(String, datastore::FieldType)],
}

/// As [`import_csv`]; with `replace`, the dataset's earlier resources (and their tables) go in
/// the same transaction, so readers see the old data or the new, never neither.
pub async fn import_into(
    db: &Db,
    path: &Path,
    name: &str,
    about: &About<'_>,
    replace: bool,
    mut progress: impl FnMut(&str, u64) + Send + 'static,
) -> Result<Imported> {
    let (title, department) = (about.title, about.department);
    if !store::valid_name(name) {
        return Err(Error::BadRequest(format!(
            "dataset name {name:?}: use 1-100 of a-z, 0-9, - and _"
        )));
    }
    let department_id = match department {
        None => None,
        Some(slug) => Some(
            crate::platform::org::department_by_slug(db, slug)
                .await?
                .ok_or_else(|| Error::BadRequest(format!("unknown department {slug:?}")))?
                .id,
        ),
    };
    // The first pass reads the whole file: on a blocking thread, not the server's workers.
    let owned = path.to_owned();
    let types = about.types.to_vec();
    let (survey, mut progress) = tokio::task::spawn_blocking(move || {
        let survey = datastore::survey(&owned, &types, |n| progress("checked", n));
        (survey, progress)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?;
    let survey = survey?;
    if !survey.bad.is_empty() {
        let lines: Vec<String> = survey
            .bad
            .iter()
            .take(20)
            .map(|(l, why)| format!("line {l}: {why}"))
            .collect();
        return Err(Error::BadRequest(format!(
            "{} bad rows, nothing imported:\n{}",
            survey.bad.len(),
            lines.join("\n")
        )));
    }
    let resource_id = uuid::Uuid::new_v4().to_string();
    let file_name = match about.resource_name {
        Some(n) => n.to_owned(),
        None => path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_owned()),
    };
    let mut tx = db.begin().await?;
    let dataset_id =
        store::ensure_dataset(&mut tx, name, title.unwrap_or(name), "", department_id, &[]).await?;
    if let Some(notes) = about.notes {
        store::describe_dataset(
            &mut tx,
            dataset_id,
            name,
            title.unwrap_or(name),
            notes,
            about.tags,
            department_id,
        )
        .await?;
    }
    if replace {
        store::drop_resources(&mut tx, dataset_id).await?;
    }
    let (table, rows) = datastore::write(&mut tx, path, &resource_id, &survey.fields, |n| {
        progress("imported", n)
    })
    .await?;
    progress("indexing", rows);
    for id in &survey.repeating {
        datastore::create_index(&mut tx, &table, &survey.fields, id).await?;
    }
    store::insert_resource(
        &mut tx,
        &resource_id,
        dataset_id,
        &file_name,
        "CSV",
        Some(&table),
        &survey.fields,
        rows as i64,
    )
    .await?;
    store::set_period(&mut tx, &resource_id, survey.period.as_ref()).await?;
    tx.commit().await?;
    Ok(Imported {
        dataset: name.to_owned(),
        resource_id,
        rows,
        fields: survey.fields,
        indexed: survey.repeating,
    })
}

/// Import an uploaded CSV as a new resource of `dataset` (made if missing, for `department`)
/// and record in the audit log who did it (`actor`: an API key or a staff member).
pub async fn import_upload(
    db: &Db,
    actor: &str,
    path: &Path,
    dataset: &str,
    title: Option<&str>,
    department: Option<&str>,
) -> Result<Imported> {
    let about = About {
        title,
        department,
        ..About::default()
    };
    let done = import_into(db, path, dataset, &about, false, |_, _| {}).await?;
    let mut tx = db.begin().await?;
    crate::platform::audit::record(
        &mut tx,
        actor,
        "resource.create",
        "resource",
        &done.resource_id,
        serde_json::json!({"dataset": dataset, "rows": done.rows}),
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// Index fields of a resource's table (after an import, or for an API client).
pub async fn index_fields(db: &Db, resource_id: &str, ids: &[String]) -> Result<()> {
    let r = store::resource(db, resource_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no resource {resource_id}")))?;
    let table = r
        .datastore_table
        .clone()
        .ok_or_else(|| Error::NotFound("the resource has no DataStore table".into()))?;
    let fields = r.fields();
    let mut tx = db.begin().await?;
    for id in ids {
        datastore::create_index(&mut tx, &table, &fields, id).await?;
    }
    tx.commit().await?;
    Ok(())
}
