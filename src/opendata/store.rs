//! Open data: the catalogue's SQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::datastore::Field;
use crate::platform::db::{query, Backend, Db, Query, Tx};
use crate::platform::text;

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct DatasetRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub title: String,
    pub notes: String,
    pub department_id: Option<i64>,
    pub license_id: String,
    pub tags: String,
    pub groups: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

impl DatasetRow {
    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub fn groups(&self) -> Vec<String> {
        serde_json::from_str(&self.groups).unwrap_or_default()
    }
}

const DATASET_COLUMNS: &str =
    "d.id, d.uuid, d.name, d.title, d.notes, d.department_id, d.license_id, d.tags, d.groups, d.state, d.created_at, d.modified_at";

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct ResourceRow {
    pub id: i64,
    pub uuid: String,
    pub dataset_id: i64,
    pub name: String,
    pub description: String,
    pub format: String,
    pub datastore_table: Option<String>,
    pub fields: String,
    pub row_count: i64,
    /// Made with a full-text index (tables made before migration 0006 have none).
    pub full_text: bool,
    /// JSON list of the field ids that key a record (`datastore_create`'s `primary_key`).
    pub primary_key: String,
    /// The first and last day its date and timestamp fields name (imports only).
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    /// Raised by every write to its DataStore table's rows (see [`data_versions`]).
    pub data_version: i64,
}

impl ResourceRow {
    /// The days its data covers: `(first, last)`, ISO dates.
    pub fn period(&self) -> Option<(String, String)> {
        Some((self.period_start.clone()?, self.period_end.clone()?))
    }

    pub fn fields(&self) -> Vec<Field> {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }

    pub fn primary_key(&self) -> Vec<String> {
        serde_json::from_str(&self.primary_key).unwrap_or_default()
    }
}

const RESOURCE_COLUMNS: &str = "id, uuid, dataset_id, name, description, format, datastore_table, fields, row_count, full_text, primary_key, period_start, period_end, created_at, modified_at, data_version";

/// A dataset's name: 1-100 of a-z, 0-9, - and _.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What the catalogue's full-text index holds for a dataset: its words, folded.
fn search_text(name: &str, title: &str, notes: &str, tags: &[String]) -> String {
    // Names are slugs: their parts are words too.
    let name = name.replace(['-', '_'], " ");
    text::fold(&format!("{name} {title} {notes} {}", tags.join(" ")))
}

/// Create a dataset, or return the one with this name.
pub async fn ensure_dataset(
    tx: &mut Tx,
    name: &str,
    title: &str,
    notes: &str,
    department_id: Option<i64>,
    tags: &[String],
) -> Result<i64, sqlx::Error> {
    if let Some((id,)) = tx
        .fetch_optional::<(i64,)>(query("SELECT id FROM od_datasets WHERE name = $1").bind(name))
        .await?
    {
        return Ok(id);
    }
    let now = Utc::now();
    tx.scalar(
        query(
            "INSERT INTO od_datasets (uuid, name, title, notes, department_id, tags, search, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(name)
        .bind(title)
        .bind(notes)
        .bind(department_id)
        .bind(serde_json::to_string(tags).expect("serialise"))
        .bind(search_text(name, title, notes, tags))
        .bind(now),
    )
    .await
}

/// What a `package_create` or `package_update` says.
pub struct DatasetSpec<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub notes: &'a str,
    pub department_id: Option<i64>,
    pub license_id: &'a str,
    pub tags: &'a [String],
    pub groups: &'a [String],
}

/// Create a dataset; `None` if the name is taken.
pub async fn create_dataset(tx: &mut Tx, d: &DatasetSpec<'_>) -> Result<Option<i64>, sqlx::Error> {
    let now = Utc::now();
    let taken: Option<(i64,)> = tx
        .fetch_optional(query("SELECT id FROM od_datasets WHERE name = $1").bind(d.name))
        .await?;
    if taken.is_some() {
        return Ok(None);
    }
    tx.scalar(
        query(
            "INSERT INTO od_datasets (uuid, name, title, notes, department_id, license_id, tags, groups, search, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(d.name)
        .bind(d.title)
        .bind(d.notes)
        .bind(d.department_id)
        .bind(d.license_id)
        .bind(serde_json::to_string(d.tags).expect("serialise"))
        .bind(serde_json::to_string(d.groups).expect("serialise"))
        .bind(search_text(d.name, d.title, d.notes, d.tags))
        .bind(now),
    )
    .await
    .map(Some)
}

pub async fn update_dataset(tx: &mut Tx, id: i64, d: &DatasetSpec<'_>) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "UPDATE od_datasets SET title = $1, notes = $2, license_id = $3, tags = $4, search = $5, modified_at = $6, groups = $8 WHERE id = $7",
        )
        .bind(d.title)
        .bind(d.notes)
        .bind(d.license_id)
        .bind(serde_json::to_string(d.tags).expect("serialise"))
        .bind(search_text(d.name, d.title, d.notes, d.tags))
        .bind(Utc::now())
        .bind(id)
        .bind(serde_json::to_string(d.groups).expect("serialise")),
    )
    .await?;
    Ok(())
}

/// Set what a dataset says of itself (the datasets the platform publishes about itself: their
/// title and notes are the code's, renewed at every publication).
pub async fn describe_dataset(
    tx: &mut Tx,
    id: i64,
    name: &str,
    title: &str,
    notes: &str,
    tags: &[String],
    department_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "UPDATE od_datasets SET title = $1, notes = $2, tags = $3, search = $4, \
             department_id = COALESCE($5, department_id) WHERE id = $6",
        )
        .bind(title)
        .bind(notes)
        .bind(serde_json::to_string(tags).expect("serialise"))
        .bind(search_text(name, title, notes, tags))
        .bind(department_id)
        .bind(id),
    )
    .await?;
    Ok(())
}

/// Delete a dataset: it leaves every listing, and its DataStore tables are dropped, so data
/// published by mistake is withdrawn from every read (`datastore_search`, `_sql`, downloads).
/// The resources' descriptions stay, without rows.
pub async fn delete_dataset(tx: &mut Tx, id: i64) -> Result<(), sqlx::Error> {
    let tables: Vec<(String, String)> = tx
        .fetch_all(
            query(
                "SELECT uuid, datastore_table FROM od_resources WHERE dataset_id = $1 AND datastore_table IS NOT NULL",
            )
            .bind(id),
        )
        .await?;
    for (uuid, table) in tables {
        super::datastore::drop_table(tx, &uuid, &table).await?;
    }
    tx.execute(
        query(
            "UPDATE od_resources SET datastore_table = NULL, row_count = 0 WHERE dataset_id = $1",
        )
        .bind(id),
    )
    .await?;
    tx.execute(
        query("UPDATE od_datasets SET state = 'deleted', modified_at = $1 WHERE id = $2")
            .bind(Utc::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Record the days a resource's data covers (see [`ResourceRow::period`]).
pub async fn set_period(
    tx: &mut Tx,
    uuid: &str,
    period: Option<&(String, String)>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE od_resources SET period_start = $1, period_end = $2 WHERE uuid = $3")
            .bind(period.map(|p| p.0.as_str()))
            .bind(period.map(|p| p.1.as_str()))
            .bind(uuid),
    )
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_resource(
    tx: &mut Tx,
    uuid: &str,
    dataset_id: i64,
    name: &str,
    format: &str,
    table: Option<&str>,
    fields: &[Field],
    rows: i64,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.execute(
        query("UPDATE od_datasets SET modified_at = $1 WHERE id = $2")
            .bind(now)
            .bind(dataset_id),
    )
    .await?;
    tx.scalar(
        query(
            "INSERT INTO od_resources (uuid, dataset_id, name, format, datastore_table, fields, row_count, full_text, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8) RETURNING id",
        )
        .bind(uuid)
        .bind(dataset_id)
        .bind(name)
        .bind(format)
        .bind(table)
        .bind(serde_json::to_string(fields).expect("serialise"))
        .bind(rows)
        .bind(now),
    )
    .await
}

/// Remove a dataset's resources and their DataStore tables (to replace them).
pub async fn drop_resources(tx: &mut Tx, dataset_id: i64) -> Result<(), sqlx::Error> {
    let old: Vec<(String, Option<String>)> = tx
        .fetch_all(
            query("SELECT uuid, datastore_table FROM od_resources WHERE dataset_id = $1")
                .bind(dataset_id),
        )
        .await?;
    for (uuid, table) in old {
        if let Some(table) = table {
            super::datastore::drop_table(tx, &uuid, &table).await?;
        }
    }
    tx.execute(query("DELETE FROM od_resources WHERE dataset_id = $1").bind(dataset_id))
        .await?;
    Ok(())
}

/// A dataset by id (uuid) or name.
pub async fn dataset(db: &Db, id_or_name: &str) -> Result<Option<DatasetRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets d WHERE (d.uuid = $1 OR d.name = $1) AND d.state = 'active'"
        ))
        .bind(id_or_name),
    )
    .await
}

/// The dataset a resource belongs to (deleted or not).
pub async fn dataset_of(db: &Db, r: &ResourceRow) -> Result<DatasetRow, sqlx::Error> {
    db.fetch_one(
        query(format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets d WHERE d.id = $1"
        ))
        .bind(r.dataset_id),
    )
    .await
}

pub async fn resources_of(db: &Db, dataset_ids: &[i64]) -> Result<Vec<ResourceRow>, sqlx::Error> {
    if dataset_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = query(format!(
        "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE dataset_id IN ("
    ));
    q = q.push_binds(dataset_ids);
    db.fetch_all(q.push(") ORDER BY dataset_id, id")).await
}

/// A resource of an active dataset: a deleted dataset's resources are gone for every reader
/// and writer (their DataStore tables are dropped with it, see [`delete_dataset`]).
pub async fn resource(db: &Db, uuid: &str) -> Result<Option<ResourceRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE uuid = $1 \
             AND dataset_id IN (SELECT id FROM od_datasets WHERE state = 'active')"
        ))
        .bind(uuid),
    )
    .await
}

/// The DataStore tables that may be read (those of active datasets): each resource id and its
/// data's version, raised by every write to its rows. What was computed from a table is good
/// while its version stands.
pub async fn data_versions(db: &Db) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = db
        .fetch_all(query(
            "SELECT uuid, data_version FROM od_resources WHERE datastore_table IS NOT NULL \
             AND dataset_id IN (SELECT id FROM od_datasets WHERE state = 'active')",
        ))
        .await?;
    Ok(rows.into_iter().collect())
}

/// Rows were written to a resource's table: `added` more of them (0 for updates), a new
/// version of its data.
pub async fn rows_written(tx: &mut Tx, id: i64, added: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "UPDATE od_resources SET row_count = row_count + $1, modified_at = $2, \
             data_version = data_version + 1 WHERE id = $3",
        )
        .bind(added)
        .bind(Utc::now())
        .bind(id),
    )
    .await?;
    Ok(())
}

/// Which datasets `package_search` wants.
#[derive(Debug, Default, Clone)]
pub struct DatasetFilter {
    /// Words (folded, see [`text::words`]) that must all appear, each whole or as the start of
    /// a longer word.
    pub words: Vec<String>,
    pub department: Option<String>,
    pub tag: Option<String>,
    pub group: Option<String>,
    pub format: Option<String>,
    pub name: Option<String>,
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetOrder {
    /// Best match first (newest first when there are no words).
    Relevance,
    Newest,
    Oldest,
    Name,
    NameDesc,
}

fn narrowed(backend: Backend, select: &str, f: &DatasetFilter) -> Query {
    narrowed_joined(backend, select, "", f)
}

/// [`narrowed`], with more tables joined (`join`: a constant of this module).
fn narrowed_joined(backend: Backend, select: &str, join: &str, f: &DatasetFilter) -> Query {
    let mut q = query(format!(
        "{select} FROM od_datasets d LEFT JOIN departments o ON o.id = d.department_id{join} WHERE d.state = 'active'"
    ));
    if !f.words.is_empty() {
        q = match backend {
            Backend::Sqlite => q
                .push(
                    " AND d.id IN (SELECT rowid FROM od_datasets_fts WHERE od_datasets_fts MATCH ",
                )
                .push_bind(text::fts5_query(&f.words))
                .push(")"),
            Backend::Postgres => q
                .push(" AND to_tsvector('simple', d.search) @@ to_tsquery('simple', ")
                .push_bind(text::tsquery(&f.words))
                .push(")"),
        };
    }
    if let Some(o) = &f.department {
        q = q.push(" AND o.slug = ").push_bind(o.as_str());
    }
    if let Some(t) = &f.tag {
        q = q.push(" AND d.tags LIKE ").push_bind(format!(
            "%{}%",
            serde_json::to_string(t).expect("serialise")
        ));
    }
    if let Some(g) = &f.group {
        q = q.push(" AND d.groups LIKE ").push_bind(format!(
            "%{}%",
            serde_json::to_string(g).expect("serialise")
        ));
    }
    if let Some(fmt) = &f.format {
        q = q
            .push(" AND EXISTS (SELECT 1 FROM od_resources r WHERE r.dataset_id = d.id AND UPPER(r.format) = ")
            .push_bind(fmt.to_uppercase())
            .push(")");
    }
    if let Some(n) = &f.name {
        q = q.push(" AND d.name = ").push_bind(n.as_str());
    }
    q
}

/// `ORDER BY` for `order` (the rank needs the words again).
fn ordered(backend: Backend, q: Query, f: &DatasetFilter, order: DatasetOrder) -> Query {
    let q = q.push(" ORDER BY ");
    let q = match order {
        DatasetOrder::Relevance if !f.words.is_empty() => match backend {
            Backend::Sqlite => q
                .push("(SELECT bm25(od_datasets_fts) FROM od_datasets_fts WHERE od_datasets_fts MATCH ")
                .push_bind(text::fts5_query(&f.words))
                .push(" AND rowid = d.id), d.modified_at DESC"),
            Backend::Postgres => q
                .push("ts_rank(to_tsvector('simple', d.search), to_tsquery('simple', ")
                .push_bind(text::tsquery(&f.words))
                .push(")) DESC, d.modified_at DESC"),
        },
        DatasetOrder::Relevance | DatasetOrder::Newest => q.push("d.modified_at DESC"),
        DatasetOrder::Oldest => q.push("d.modified_at"),
        DatasetOrder::Name => q.push("d.name"),
        DatasetOrder::NameDesc => q.push("d.name DESC"),
    };
    q.push(", d.id")
}

pub async fn search(
    db: &Db,
    f: &DatasetFilter,
    order: DatasetOrder,
    rows: i64,
    start: i64,
) -> Result<(Vec<DatasetRow>, i64), sqlx::Error> {
    let b = db.backend();
    let total = db.scalar(narrowed(b, "SELECT COUNT(*)", f)).await?;
    let list = db
        .fetch_all(
            ordered(
                b,
                narrowed(b, &format!("SELECT {DATASET_COLUMNS}"), f),
                f,
                order,
            )
            .push(" LIMIT ")
            .push_bind(rows)
            .push(" OFFSET ")
            .push_bind(start),
        )
        .await?;
    Ok((list, total))
}

/// Facet counts: `(value, count)` for the datasets matching `f`, by department slug.
pub async fn department_facet(
    db: &Db,
    f: &DatasetFilter,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    db.fetch_all(
        narrowed(db.backend(), "SELECT o.slug, COUNT(*)", f)
            .push(" AND o.slug IS NOT NULL GROUP BY o.slug ORDER BY COUNT(*) DESC"),
    )
    .await
}

/// How many of the datasets matching `f` carry each licence.
pub async fn license_facet(db: &Db, f: &DatasetFilter) -> Result<Vec<(String, i64)>, sqlx::Error> {
    db.fetch_all(
        narrowed(db.backend(), "SELECT d.license_id, COUNT(*)", f)
            .push(" GROUP BY d.license_id ORDER BY COUNT(*) DESC, d.license_id"),
    )
    .await
}

/// How many of the datasets matching `f` have a resource of each format (CSV, JSON, …).
pub async fn format_facet(db: &Db, f: &DatasetFilter) -> Result<Vec<(String, i64)>, sqlx::Error> {
    db.fetch_all(
        narrowed_joined(
            db.backend(),
            "SELECT UPPER(r.format), COUNT(DISTINCT d.id)",
            " JOIN od_resources r ON r.dataset_id = d.id",
            f,
        )
        .push(" GROUP BY UPPER(r.format) ORDER BY COUNT(DISTINCT d.id) DESC, UPPER(r.format)"),
    )
    .await
}

/// A dataset's labels: its tags, or its groups (each a JSON list on the dataset).
#[derive(Debug, Clone, Copy)]
pub enum Labels {
    Tags,
    Groups,
}

/// How many of the datasets matching `f` carry each label: most used first, then by name.
pub async fn label_counts(
    db: &Db,
    f: &DatasetFilter,
    which: Labels,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let column = match which {
        Labels::Tags => "d.tags",
        Labels::Groups => "d.groups",
    };
    let rows: Vec<(String,)> = db
        .fetch_all(narrowed(db.backend(), &format!("SELECT {column}"), f))
        .await?;
    let mut counts: std::collections::HashMap<String, i64> = Default::default();
    for (list,) in rows {
        for label in serde_json::from_str::<Vec<String>>(&list).unwrap_or_default() {
            *counts.entry(label).or_default() += 1;
        }
    }
    let mut v: Vec<(String, i64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(v)
}

/// Datasets per department (for `organization_list`).
pub async fn counts_by_department(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    db.fetch_all(query(
        "SELECT department_id, COUNT(*) FROM od_datasets WHERE state = 'active' AND department_id IS NOT NULL GROUP BY department_id",
    ))
    .await
}
