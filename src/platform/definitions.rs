//! Pack sections kept whole. A service whose pack section is read far more often than it
//! changes (information pages, question banks, case workflows) keeps each item as its checked
//! definition in JSON, one row per code: `(code, [department_id,] definition, updated_at)`.
//! This is the one way such a table is written and read. A definition that no longer reads
//! (a field renamed without `#[serde(alias)]`) is left out and logged, not fatal: the pack that
//! wrote it can be loaded again.

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::db::{query, Db, Query, Tx};

/// A table of definitions. Its name is a constant of the service that owns it.
pub struct Definitions {
    table: &'static str,
    /// Whether each row belongs to a department (`department_id`).
    by_department: bool,
}

impl Definitions {
    /// A table with a `department_id` column.
    pub const fn of_departments(table: &'static str) -> Self {
        Definitions {
            table,
            by_department: true,
        }
    }

    /// A table whose definitions belong to no one department (a workflow spans several).
    pub const fn shared(table: &'static str) -> Self {
        Definitions {
            table,
            by_department: false,
        }
    }

    /// Store (or replace) `code`'s definition.
    pub async fn upsert<T: Serialize>(
        &self,
        tx: &mut Tx,
        code: &str,
        department_id: Option<i64>,
        definition: &T,
    ) -> Result<(), sqlx::Error> {
        let json =
            serde_json::to_string(definition).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let t = self.table;
        let q = if self.by_department {
            query(format!(
                "INSERT INTO {t} (code, department_id, definition, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (code) DO UPDATE SET department_id = excluded.department_id, \
                 definition = excluded.definition, updated_at = excluded.updated_at"
            ))
            .bind(code)
            .bind(department_id)
            .bind(json)
            .bind(Utc::now())
        } else {
            query(format!(
                "INSERT INTO {t} (code, definition, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (code) DO UPDATE SET definition = excluded.definition, \
                 updated_at = excluded.updated_at"
            ))
            .bind(code)
            .bind(json)
            .bind(Utc::now())
        };
        tx.execute(q).await?;
        Ok(())
    }

    /// `SELECT code, definition, department` from the table (NULL where it has no department).
    fn select(&self, rest: &str) -> Query {
        let department = if self.by_department {
            "department_id"
        } else {
            "CAST(NULL AS BIGINT)"
        };
        query(format!(
            "SELECT code, definition, {department} FROM {} {rest}",
            self.table
        ))
    }

    fn read<T: DeserializeOwned>(
        &self,
        rows: Vec<(String, String, Option<i64>)>,
    ) -> Vec<(T, Option<i64>)> {
        rows.into_iter()
            .filter_map(|(code, json, department)| match serde_json::from_str(&json) {
                Ok(d) => Some((d, department)),
                Err(e) => {
                    tracing::warn!(table = self.table, code, error = %e, "a stored definition no longer reads; load its pack again");
                    None
                }
            })
            .collect()
    }

    /// Every definition with its department, by code.
    pub async fn all<T: DeserializeOwned>(
        &self,
        db: &Db,
    ) -> Result<Vec<(T, Option<i64>)>, sqlx::Error> {
        Ok(self.read(db.fetch_all(self.select("ORDER BY code")).await?))
    }

    /// The definition of `code`, if stored (and readable).
    pub async fn one<T: DeserializeOwned>(
        &self,
        db: &Db,
        code: &str,
    ) -> Result<Option<T>, sqlx::Error> {
        let row: Option<(String, String, Option<i64>)> = db
            .fetch_optional(self.select("WHERE code = $1").bind(code))
            .await?;
        Ok(self.read(row.into_iter().collect()).pop().map(|(d, _)| d))
    }

    /// The same, inside a transaction (a pack's import compares with what is stored).
    pub async fn all_in<T: DeserializeOwned>(
        &self,
        tx: &mut Tx,
    ) -> Result<Vec<(T, Option<i64>)>, sqlx::Error> {
        Ok(self.read(tx.fetch_all(self.select("ORDER BY code")).await?))
    }
}
