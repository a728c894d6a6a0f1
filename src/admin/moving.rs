//! Moving a deployment from its embedded SQLite database to PostgreSQL, with its data: what a
//! province does when one machine is no longer enough (`khidmat move-to-postgres`).
//!
//! Both databases are brought to this release's schema, then every table is copied in the
//! order its foreign keys need, each row converted to the PostgreSQL column's type (SQLite keeps
//! booleans as 0/1 and JSON as text), in batches of one statement each. The sequences then
//! continue after the highest id, and each DataStore table is made again on PostgreSQL with its
//! rows and its full-text index. The whole copy is one transaction: the target has all of it,
//! or nothing. The target must be new (what its migrations wrote is replaced by the source's
//! own); the source is only read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::platform::db::{query, Backend, Db};

/// What was moved: `(table, rows)` in copy order, and the DataStore tables made again.
#[derive(Debug, Default)]
pub struct Moved {
    pub tables: Vec<(String, i64)>,
    pub datastore_tables: usize,
}

const BATCH: i64 = 1000;

/// Copy everything in `from` (SQLite) into `to` (PostgreSQL, empty). `progress` is told each
/// table as it starts.
pub async fn to_postgres(
    from: &Db,
    to: &Db,
    mut progress: impl FnMut(&str, i64),
) -> anyhow::Result<Moved> {
    anyhow::ensure!(
        from.backend() == Backend::Sqlite,
        "the source must be SQLite"
    );
    anyhow::ensure!(
        to.backend() == Backend::Postgres,
        "the target must be PostgreSQL"
    );
    let (a, b) = (
        from.applied_migrations().await?.last().copied(),
        to.applied_migrations().await?.last().copied(),
    );
    anyhow::ensure!(
        a == b,
        "the two schemas differ ({a:?} and {b:?}): run this release's migrations on both first"
    );
    let tables = copy_order(to).await?;
    // New: nothing but what the migrations wrote (districts, a counter, a key fingerprint),
    // which the source has too and which the copy replaces.
    for t in [
        "users",
        "departments",
        "reports",
        "api_keys",
        "audit_log",
        "od_datasets",
    ] {
        let n: i64 = to
            .scalar(query(format!("SELECT COUNT(*) FROM \"{t}\"")))
            .await?;
        anyhow::ensure!(
            n == 0,
            "the target is not empty ({t} has {n} rows): give a new, empty database"
        );
    }
    let mut moved = Moved::default();
    let mut tx = to.begin().await?;
    let quoted: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    tx.execute(query(format!("TRUNCATE {}", quoted.join(", "))))
        .await?;
    for table in &tables {
        let columns: Vec<(String, String)> = to
            .fetch_all(
                query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(table.as_str()),
            )
            .await?;
        let total: i64 = from
            .scalar(query(format!("SELECT COUNT(*) FROM \"{table}\"")))
            .await?;
        progress(table, total);
        let picks: Vec<String> = columns
            .iter()
            .map(|(c, _)| format!("'{c}', \"{c}\""))
            .collect();
        let mut offset = 0;
        while offset < total {
            let rows: Vec<(String,)> = from
                .fetch_all(
                    query(format!(
                        "SELECT json_object({}) FROM \"{table}\" ORDER BY rowid LIMIT $1 OFFSET $2",
                        picks.join(", ")
                    ))
                    .bind(BATCH)
                    .bind(offset),
                )
                .await?;
            let mut batch = Vec::with_capacity(rows.len());
            for (row,) in rows {
                let mut row: serde_json::Map<String, Value> = serde_json::from_str(&row)?;
                for (column, kind) in &columns {
                    if let Some(v) = row.get_mut(column) {
                        *v = convert(std::mem::take(v), kind);
                    }
                }
                batch.push(Value::Object(row));
            }
            tx.execute(
                query(format!(
                    "INSERT INTO \"{table}\" SELECT * FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
                ))
                .bind(Value::Array(batch).to_string()),
            )
            .await?;
            offset += BATCH;
        }
        // Ids made from now on follow the highest copied one.
        for (column, _) in &columns {
            let sequence: Option<String> = tx
                .scalar(
                    query("SELECT pg_get_serial_sequence($1, $2)")
                        .bind(format!("\"{table}\""))
                        .bind(column.as_str()),
                )
                .await?;
            if let Some(seq) = sequence {
                tx.execute(query(format!(
                    "SELECT setval('{seq}', GREATEST(COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0), 1), \
                     (SELECT COUNT(*) > 0 FROM \"{table}\"))"
                )))
                .await?;
            }
        }
        moved.tables.push((table.clone(), total));
    }
    moved.datastore_tables = datastore(from, &mut tx, &mut progress).await?;
    tx.commit().await?;
    Ok(moved)
}

/// A SQLite value as the PostgreSQL column of `kind` takes it from JSON.
fn convert(v: Value, kind: &str) -> Value {
    match (kind, v) {
        ("boolean", Value::Number(n)) => Value::Bool(n.as_i64().unwrap_or(0) != 0),
        ("json" | "jsonb", Value::String(s)) => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        (_, v) => v,
    }
}

/// The tables of the target, each after those its foreign keys point to.
async fn copy_order(to: &Db) -> anyhow::Result<Vec<String>> {
    let names: Vec<(String,)> = to
        .fetch_all(query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name",
        ))
        .await?;
    let edges: Vec<(String, String)> = to
        .fetch_all(query(
            "SELECT DISTINCT tc.table_name::text, ccu.table_name::text \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.constraint_column_usage ccu \
               ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()",
        ))
        .await?;
    let mut needs: BTreeMap<String, BTreeSet<String>> =
        names.into_iter().map(|(n,)| (n, BTreeSet::new())).collect();
    for (table, target) in edges {
        if table != target {
            needs.entry(table).or_default().insert(target);
        }
    }
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while done.len() < needs.len() {
        let ready: Vec<String> = needs
            .iter()
            .filter(|(t, deps)| !done.contains(*t) && deps.iter().all(|d| done.contains(d)))
            .map(|(t, _)| t.clone())
            .collect();
        anyhow::ensure!(
            !ready.is_empty(),
            "the foreign keys of the tables form a cycle: this schema cannot be copied in order"
        );
        for t in ready {
            done.insert(t.clone());
            order.push(t);
        }
    }
    Ok(order)
}

/// Make each DataStore table again on PostgreSQL (its schema, view and full-text index) and
/// copy its rows. Returns how many.
async fn datastore(
    from: &Db,
    tx: &mut crate::platform::db::Tx,
    progress: &mut impl FnMut(&str, i64),
) -> anyhow::Result<usize> {
    use crate::opendata::datastore;
    let resources: Vec<(String, String, String)> = from
        .fetch_all(query(
            "SELECT uuid, datastore_table, fields FROM od_resources WHERE datastore_table IS NOT NULL ORDER BY id",
        ))
        .await?;
    for (uuid, table, fields) in &resources {
        let fields: Vec<datastore::Field> = serde_json::from_str(fields)?;
        let rows: i64 = from
            .scalar(query(format!("SELECT COUNT(*) FROM {table}")))
            .await?;
        progress(table, rows);
        let made = datastore::create_table(tx, uuid, &fields)
            .await
            .map_err(|e| anyhow::anyhow!("{table}: {}", e.message()))?;
        anyhow::ensure!(&made == table, "{table} was made as {made}");
        let mut after = 0;
        loop {
            let page = datastore::rows_after(from, table, &fields, after, BATCH)
                .await
                .map_err(|e| anyhow::anyhow!("{table}: {}", e.message()))?;
            let Some(last) = page.last().and_then(|r| r[0].as_i64()) else {
                break;
            };
            let cells: Vec<Vec<String>> = page
                .iter()
                .map(|r| {
                    r.as_array()
                        .map(|a| a[1..].iter().map(datastore::cell_text).collect())
                        .unwrap_or_default()
                })
                .collect();
            datastore::insert_rows(tx, table, &fields, &cells)
                .await
                .map_err(|e| anyhow::anyhow!("{table}: {}", e.message()))?;
            after = last;
        }
        datastore::create_search_index(tx, table, &fields)
            .await
            .map_err(|e| anyhow::anyhow!("{table}: {}", e.message()))?;
    }
    Ok(resources.len())
}
