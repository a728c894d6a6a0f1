//! The DataStore: a CSV becomes a typed table (`ds_<uuid>`) that is queryable at once.
//!
//! Importing reads the file twice, streaming, so a million rows never sit in memory: the first
//! pass checks every row (ragged rows, bad UTF-8) and infers each column's type (integer,
//! numeric, date, timestamp, text); the second pass writes. Any bad row stops the import before
//! anything is written, and every bad row is reported; the table, its rows and the resource are
//! written in one transaction, so nothing is ever half-imported.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::platform::db::{query, Backend, Db, Query, Tx, Value};
use crate::platform::error::{Error, Result};
use crate::platform::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Integer,
    Numeric,
    Date,
    Timestamp,
    Text,
}

impl FieldType {
    fn sql(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (FieldType::Integer, Backend::Sqlite) => "INTEGER",
            (FieldType::Integer, Backend::Postgres) => "BIGINT",
            (FieldType::Numeric, Backend::Sqlite) => "REAL",
            (FieldType::Numeric, Backend::Postgres) => "DOUBLE PRECISION",
            // ISO text on both: sorts and compares as dates do.
            _ => "TEXT",
        }
    }

    /// The type a CKAN client or the command line names (`int`, `numeric`, `text`, …).
    pub fn parse(name: &str) -> Option<FieldType> {
        match name.to_lowercase().as_str() {
            "int" | "int4" | "int8" | "integer" | "bigint" => Some(FieldType::Integer),
            "numeric" | "float" | "float8" | "double precision" | "number" => {
                Some(FieldType::Numeric)
            }
            "date" => Some(FieldType::Date),
            "timestamp" => Some(FieldType::Timestamp),
            "text" | "string" => Some(FieldType::Text),
            _ => None,
        }
    }

    /// The day a date or timestamp value names (a timestamp's in UTC).
    fn day(self, v: &str) -> Option<NaiveDate> {
        match self {
            FieldType::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d").ok(),
            FieldType::Timestamp => parse_timestamp(v).map(|t| t.date_naive()),
            _ => None,
        }
    }

    /// The name a client uses for it.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Integer => "int",
            FieldType::Numeric => "numeric",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Text => "text",
        }
    }

    /// Does `v` (not empty) fit this type when a client or an import option asks for it?
    fn fits(self, v: &str) -> bool {
        match self {
            FieldType::Integer => v.parse::<i64>().is_ok(),
            FieldType::Numeric => v.parse::<f64>().is_ok_and(f64::is_finite),
            FieldType::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
            FieldType::Timestamp => parse_timestamp(v).is_some(),
            FieldType::Text => true,
        }
    }

    /// May inference choose this type for `v` (not empty)? Only when the stored value reads
    /// back as `v`, character for character: `03001234567`, `+92919211430`, `1.50`, ` 5` and
    /// `2024-1-5` stay text. Inference never changes a value; a client that wants `007` read
    /// as 7 asks for the type.
    fn keeps(self, v: &str) -> bool {
        match self {
            FieldType::Integer => v.parse::<i64>().is_ok_and(|n| n.to_string() == v),
            // At most 15 significant digits: what a double holds exactly and what SQLite's
            // JSON writes back (`0.30000000000000004` would come back as `0.3`).
            FieldType::Numeric => {
                let digits = v.trim_start_matches(['-', '0', '.']).bytes();
                digits.filter(u8::is_ascii_digit).count() <= 15
                    && v.parse::<f64>()
                        .is_ok_and(|x| x.is_finite() && number_text(x) == v)
            }
            FieldType::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .is_ok_and(|d| d.format("%Y-%m-%d").to_string() == v),
            FieldType::Timestamp => parse_timestamp(v)
                .is_some_and(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) == v),
            FieldType::Text => true,
        }
    }

    /// The value to store (`v` fits). Text is stored as it came; a typed value may have
    /// spaces around it.
    pub fn value(self, v: &str) -> Value {
        if self == FieldType::Text {
            return Value::Text((!v.is_empty()).then(|| v.to_owned()));
        }
        let v = v.trim();
        if v.is_empty() {
            return match self {
                FieldType::Integer => Value::Int(None),
                FieldType::Numeric => Value::Float(None),
                _ => Value::Text(None),
            };
        }
        match self {
            FieldType::Integer => Value::from(v.parse::<i64>().ok()),
            FieldType::Numeric => Value::from(v.parse::<f64>().ok()),
            FieldType::Timestamp => Value::from(
                parse_timestamp(v).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ),
            _ => Value::from(v),
        }
    }
}

/// A numeric value as the DataStore writes it out (CSV, search results): the shortest text
/// that reads back as the same number (`3`, `1.5`, `0.30000000000000004`), on both databases.
pub fn number_text(x: f64) -> String {
    format!("{x}")
}

/// A stored value (as the database's JSON gives it) as a CSV cell: numbers as
/// [`number_text`] writes them, so `3` is `3` whichever database held it.
pub fn cell_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) => number_text(x),
            _ => n.to_string(),
        },
        o => o.to_string(),
    }
}

fn parse_timestamp(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A column: its name in the file (CKAN's field `id`), its column in the table, its type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Field {
    pub id: String,
    pub column: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
}

/// What the first pass learnt.
#[derive(Debug)]
pub struct Survey {
    pub fields: Vec<Field>,
    pub rows: u64,
    /// `(line, why)`: any of these stops the import.
    pub bad: Vec<(u64, String)>,
    /// The first and last day named by the date and timestamp fields (ISO dates): the days
    /// the data covers, as the DCAT catalogue says.
    pub period: Option<(String, String)>,
    /// The fields whose values repeat: at most [`FEW_VALUES`] different ones, each seen ten
    /// times on average. They are what data is grouped and filtered by (district, service,
    /// status), so an import indexes them whether or not the publisher asked (see
    /// `opendata::import_into`).
    pub repeating: Vec<String>,
}

/// How many different values a repeating field has at most (see [`Survey::repeating`]).
pub const FEW_VALUES: usize = 256;

fn reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().flexible(true).from_reader(r)
}

/// Pass one: check every row and infer the columns' types, except those `forced` (column name,
/// type): their values must fit the type, and a value that does not is a bad row.
pub fn survey(
    path: &Path,
    forced: &[(String, FieldType)],
    mut progress: impl FnMut(u64),
) -> Result<Survey> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    let mut r = reader(std::io::BufReader::new(file));
    let headers = r
        .headers()
        .map_err(|e| Error::BadRequest(format!("the first line (the column names): {e}")))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            };
            let h = h.trim();
            // PostgreSQL names are at most 63 bytes: a field's name is cut there (on a
            // character boundary), so SQL names it the same on both databases.
            let mut h = if h.is_empty() {
                format!("column {}", i + 1)
            } else {
                h.to_owned()
            };
            while h.len() > 63 {
                h.pop();
            }
            h
        })
        .collect();
    if names.is_empty() {
        return Err(Error::BadRequest("the file has no columns".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        if !seen.insert(n.to_lowercase()) {
            return Err(Error::BadRequest(format!("the column {n:?} appears twice")));
        }
    }
    let mut fixed: Vec<Option<FieldType>> = vec![None; names.len()];
    for (column, kind) in forced {
        let i = names.iter().position(|n| n == column).ok_or_else(|| {
            Error::BadRequest(format!(
                "there is no column {column:?} to give a type (the columns: {})",
                names.join(", ")
            ))
        })?;
        fixed[i] = Some(*kind);
    }
    let order = [
        FieldType::Integer,
        FieldType::Numeric,
        FieldType::Date,
        FieldType::Timestamp,
        FieldType::Text,
    ];
    // For each column, the most specific type every value so far keeps (index into `order`).
    let mut best = vec![0usize; names.len()];
    // For each column, the first and last day its values name, while they are dates.
    let mut days: Vec<Option<(NaiveDate, NaiveDate)>> = vec![None; names.len()];
    let mut seen = vec![false; names.len()];
    // Each column's different values, while there are few (`None` once there are more).
    let mut values: Vec<Option<std::collections::HashSet<String>>> =
        vec![Some(Default::default()); names.len()];
    let mut rows = 0u64;
    let mut bad = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                rows += 1;
                let line = record.position().map(|p| p.line()).unwrap_or(rows + 1);
                if record.len() != names.len() {
                    bad.push((
                        line,
                        format!(
                            "{} values where the header has {} columns",
                            record.len(),
                            names.len()
                        ),
                    ));
                    continue;
                }
                for (i, v) in record.iter().enumerate() {
                    if v.is_empty() {
                        continue;
                    }
                    seen[i] = true;
                    if let Some(few) = &mut values[i] {
                        if !few.contains(v) {
                            if few.len() == FEW_VALUES {
                                values[i] = None;
                            } else {
                                few.insert(v.to_owned());
                            }
                        }
                    }
                    match fixed[i] {
                        Some(kind) => {
                            let t = v.trim();
                            if !t.is_empty() && !kind.fits(t) && bad.len() <= 1000 {
                                bad.push((
                                    line,
                                    format!(
                                        "{v:?} in the column {:?} is not {}",
                                        names[i],
                                        kind.name()
                                    ),
                                ));
                            }
                        }
                        None => {
                            while !order[best[i]].keeps(v) {
                                best[i] += 1;
                            }
                        }
                    }
                    let kind = fixed[i].unwrap_or(order[best[i]]);
                    if let Some(day) = kind.day(v.trim()) {
                        days[i] = Some(match days[i] {
                            None => (day, day),
                            Some((a, b)) => (a.min(day), b.max(day)),
                        });
                    }
                }
            }
            Err(e) => {
                rows += 1;
                let line = e.position().map(|p| p.line()).unwrap_or(rows + 1);
                bad.push((line, format!("{e}")));
                if bad.len() > 1000 {
                    break;
                }
            }
        }
        if rows.is_multiple_of(10_000) {
            progress(rows);
        }
    }
    let fields: Vec<Field> = names
        .into_iter()
        .enumerate()
        .map(|(i, id)| Field {
            id,
            column: format!("c{}", i + 1),
            // A column with no value at all is text: nothing says it is more.
            kind: fixed[i].unwrap_or(if seen[i] {
                order[best[i]]
            } else {
                FieldType::Text
            }),
        })
        .collect();
    let period = fields
        .iter()
        .zip(&days)
        .filter(|(f, _)| matches!(f.kind, FieldType::Date | FieldType::Timestamp))
        .filter_map(|(_, d)| *d)
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
        .map(|(a, b)| (a.to_string(), b.to_string()));
    let repeating = fields
        .iter()
        .zip(&values)
        .filter_map(|(f, few)| {
            let n = few.as_ref()?.len() as u64;
            (n > 0 && n * 10 <= rows).then(|| f.id.clone())
        })
        .collect();
    Ok(Survey {
        fields,
        rows,
        bad,
        period,
        repeating,
    })
}

/// Where DataStore tables live. PostgreSQL: their own schema, which the role that runs
/// `datastore_search_sql` may read and nothing else (see `platform::db`). SQLite: the main
/// database, where the untrusted connection's authorizer allows reading `ds_` tables only.
pub fn schema(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "main",
        Backend::Postgres => "datastore",
    }
}

/// `CREATE {kind} name ON table (columns)` in the DataStore: SQLite puts the schema on the
/// index's name, PostgreSQL on the table's.
fn index_ddl(backend: Backend, kind: &str, name: &str, table: &str, columns: &str) -> String {
    let ds = schema(backend);
    match backend {
        Backend::Sqlite => format!("CREATE {kind} {ds}.{name} ON {table} ({columns})"),
        Backend::Postgres => format!("CREATE {kind} {name} ON {ds}.{table} ({columns})"),
    }
}

/// A quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn table_name(uuid: &str) -> String {
    format!("ds_{}", uuid.replace('-', ""))
}

/// Pass two, inside the caller's transaction: create the table and write every row.
///
/// A thread reads and encodes the next batch of rows while the database writes this one.
pub async fn write(
    tx: &mut Tx,
    path: &Path,
    uuid: &str,
    fields: &[Field],
    mut progress: impl FnMut(u64),
) -> Result<(String, u64)> {
    let table = create_table(tx, uuid, fields).await?;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    let (send, mut batches) = tokio::sync::mpsc::channel::<Result<(usize, String)>>(2);
    let encoder_fields = fields.to_vec();
    let encoder = std::thread::spawn(move || {
        let mut r = reader(std::io::BufReader::new(file));
        let read = |r: &mut csv::Reader<_>| -> Result<Vec<Vec<String>>> {
            let mut batch = Vec::with_capacity(ROWS_PER_STATEMENT);
            let mut record = csv::StringRecord::new();
            while batch.len() < ROWS_PER_STATEMENT
                && r.read_record(&mut record)
                    .map_err(|e| Error::BadRequest(e.to_string()))?
            {
                batch.push(record.iter().map(str::to_owned).collect());
            }
            Ok(batch)
        };
        if let Err(e) = r.headers() {
            let _ = send.blocking_send(Err(Error::BadRequest(e.to_string())));
            return;
        }
        loop {
            let next = read(&mut r).map(|b| (b.len(), encode_rows(&encoder_fields, &b)));
            let done = matches!(next, Ok((0, _)) | Err(_));
            // A closed channel means the writer stopped (it failed): stop too.
            if send.blocking_send(next).is_err() || done {
                return;
            }
        }
    });
    let mut written = 0u64;
    while let Some(batch) = batches.recv().await {
        let (n, rows) = batch?;
        if n == 0 {
            break;
        }
        insert_encoded(tx, &table, fields, rows).await?;
        written += n as u64;
        progress(written);
    }
    drop(batches);
    let _ = encoder.join();
    create_search_index(tx, &table, fields).await?;
    Ok((table, written))
}

/// Does a table with these fields have a `_search` column (the folded text of the row's text
/// fields, written with the row: what the full-text index holds)?
fn has_text(fields: &[Field]) -> bool {
    fields.iter().any(|f| f.kind == FieldType::Text)
}

/// The `_search` value of a row: its text fields' values, folded (see [`text::fold`]).
fn search_value(fields: &[Field], row: &[String]) -> String {
    let parts: Vec<&str> = fields
        .iter()
        .zip(row)
        .filter(|(f, v)| f.kind == FieldType::Text && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
        .collect();
    text::fold(&parts.join(" "))
}

/// Index a table's text for `q`, once its first rows are in (building the index over a
/// loaded table is much faster than growing it row by row); later writes keep it current.
/// SQLite: an FTS5 table `<table>_fts` kept by triggers. PostgreSQL: a GIN index over the
/// tsvector of the same folded text.
pub async fn create_search_index(tx: &mut Tx, table: &str, fields: &[Field]) -> Result<()> {
    let ds = schema(tx.backend());
    if !has_text(fields) {
        return Ok(());
    }
    let statements = match tx.backend() {
        Backend::Sqlite => vec![
            format!("CREATE VIRTUAL TABLE {ds}.{table}_fts USING fts5(_search, content = '{table}', content_rowid = '_id', tokenize = 'unicode61 remove_diacritics 2')"),
            format!("INSERT INTO {ds}.{table}_fts({table}_fts) VALUES ('rebuild')"),
            format!("CREATE TRIGGER {ds}.{table}_fts_insert AFTER INSERT ON {table} BEGIN INSERT INTO {table}_fts(rowid, _search) VALUES (new._id, new._search); END"),
            format!("CREATE TRIGGER {ds}.{table}_fts_delete AFTER DELETE ON {table} BEGIN INSERT INTO {table}_fts({table}_fts, rowid, _search) VALUES ('delete', old._id, old._search); END"),
            format!("CREATE TRIGGER {ds}.{table}_fts_update AFTER UPDATE ON {table} BEGIN INSERT INTO {table}_fts({table}_fts, rowid, _search) VALUES ('delete', old._id, old._search); INSERT INTO {table}_fts(rowid, _search) VALUES (new._id, new._search); END"),
        ],
        Backend::Postgres => vec![format!(
            "CREATE INDEX {table}_fts ON {ds}.{table} USING GIN (to_tsvector('simple', _search))"
        )],
    };
    for sql in statements {
        tx.execute(query(sql)).await?;
    }
    Ok(())
}

/// Drop a resource's table, its view and its full-text index.
pub async fn drop_table(tx: &mut Tx, uuid: &str, table: &str) -> Result<(), sqlx::Error> {
    let ds = schema(tx.backend());
    tx.execute(query(format!("DROP VIEW IF EXISTS {ds}.{}", quote(uuid))))
        .await?;
    if tx.backend() == Backend::Sqlite {
        tx.execute(query(format!("DROP TABLE IF EXISTS {ds}.{table}_fts")))
            .await?;
    }
    tx.execute(query(format!("DROP TABLE IF EXISTS {ds}.{table}")))
        .await?;
    Ok(())
}

/// Create a resource's table, and the view that gives its columns the fields' names (SQL
/// queries name the resource by its id and its fields by their names, as CKAN's do).
pub async fn create_table(tx: &mut Tx, uuid: &str, fields: &[Field]) -> Result<String> {
    let ds = schema(tx.backend());
    let table = table_name(uuid);
    let backend = tx.backend();
    let id_col = match backend {
        Backend::Sqlite => "_id INTEGER PRIMARY KEY",
        Backend::Postgres => "_id BIGSERIAL PRIMARY KEY",
    };
    let mut cols: Vec<String> = fields
        .iter()
        .map(|f| format!("{} {}", f.column, f.kind.sql(backend)))
        .collect();
    if has_text(fields) {
        cols.push("_search TEXT".into());
    }
    tx.execute(query(format!(
        "CREATE TABLE {ds}.{table} ({id_col}, {})",
        cols.join(", ")
    )))
    .await?;
    let named: Vec<String> = fields
        .iter()
        .map(|f| format!("{} AS {}", f.column, quote(&f.id)))
        .collect();
    // SQLite binds a view's tables to the view's own database: its body names the table plainly.
    let source = match backend {
        Backend::Sqlite => table.clone(),
        Backend::Postgres => format!("{ds}.{table}"),
    };
    tx.execute(query(format!(
        "CREATE VIEW {ds}.{} AS SELECT _id, {} FROM {source}",
        quote(uuid),
        named.join(", ")
    )))
    .await?;
    Ok(table)
}

/// Rows in one INSERT.
pub const ROWS_PER_STATEMENT: usize = 2_000;

/// The JSON value stored for `v` in a field of type `kind` (`v` fits).
fn json_value(kind: FieldType, v: &str) -> Json {
    match kind.value(v) {
        Value::Int(Some(n)) => Json::from(n),
        Value::Float(Some(x)) => Json::from(x),
        Value::Text(Some(t)) => Json::from(t),
        Value::Bool(Some(b)) => Json::from(b),
        Value::Time(Some(t)) => Json::from(t.to_rfc3339()),
        _ => Json::Null,
    }
}

/// Insert rows (each a value per field, as text; checked by the caller) in one statement.
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    fields: &[Field],
    rows: &[Vec<String>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_encoded(tx, table, fields, encode_rows(fields, rows)).await
}

/// Rows as [`insert_encoded`] takes them: a JSON array of rows, each an array of the fields'
/// values (typed) and then, when the table has text fields, the row's `_search` text.
fn encode_rows(fields: &[Field], rows: &[Vec<String>]) -> String {
    let search = has_text(fields);
    let batch: Vec<Json> = rows
        .iter()
        .map(|row| {
            let mut values: Vec<Json> = fields
                .iter()
                .enumerate()
                .map(|(j, f)| json_value(f.kind, row.get(j).map(String::as_str).unwrap_or("")))
                .collect();
            if search {
                values.push(Json::from(search_value(fields, row)));
            }
            Json::Array(values)
        })
        .collect();
    Json::Array(batch).to_string()
}

/// Insert encoded rows (see [`encode_rows`]) in one statement.
///
/// The rows travel as one JSON array bound to one parameter, unpacked by the database
/// (`json_each` / `json_array_elements`): binding each value separately costs the SQLite
/// driver time quadratic in the number of parameters, and a statement per row costs a round
/// trip per row.
async fn insert_encoded(tx: &mut Tx, table: &str, fields: &[Field], rows: String) -> Result<()> {
    let ds = schema(tx.backend());
    let mut columns: Vec<&str> = fields.iter().map(|f| f.column.as_str()).collect();
    if has_text(fields) {
        columns.push("_search");
    }
    let backend = tx.backend();
    let picks: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let cast = match fields.get(i).map(|f| f.kind) {
                Some(FieldType::Integer) => "::bigint",
                Some(FieldType::Numeric) => "::double precision",
                _ => "",
            };
            match backend {
                Backend::Sqlite => format!("value ->> {i}"),
                Backend::Postgres => format!("(r ->> {i}){cast}"),
            }
        })
        .collect();
    let from = match backend {
        Backend::Sqlite => "json_each($1) ORDER BY key",
        Backend::Postgres => "json_array_elements($1::json) WITH ORDINALITY AS e(r, n) ORDER BY n",
    };
    tx.execute(
        query(format!(
            "INSERT INTO {ds}.{table} ({}) SELECT {} FROM {from}",
            columns.join(", "),
            picks.join(", ")
        ))
        .bind(rows),
    )
    .await?;
    Ok(())
}

/// Check that every row fits the fields' types: `(row number, why)` for the first misfit.
pub fn check_rows(fields: &[Field], rows: &[Vec<String>]) -> std::result::Result<(), String> {
    for (n, row) in rows.iter().enumerate() {
        for (f, v) in fields.iter().zip(row) {
            let v = v.trim();
            if !v.is_empty() && !f.kind.fits(v) {
                return Err(format!(
                    "record {}: {v:?} is not a value of the {:?} field {:?}",
                    n + 1,
                    f.kind,
                    f.id
                ));
            }
        }
    }
    Ok(())
}

/// What `datastore_search` asks.
#[derive(Debug, Default)]
pub struct Search {
    pub q: Option<String>,
    pub filters: Vec<(String, String)>,
    pub fields: Option<Vec<String>>,
    /// `(field id, descending)`
    pub sort: Vec<(String, bool)>,
    pub limit: i64,
    pub offset: i64,
    pub include_total: bool,
    /// Only distinct rows (of the fields shown; `_id` is then shown only when asked for).
    pub distinct: bool,
}

/// The field `id` asks for: one of the table's, or `_id`, the row's number, which every table has
/// and which may be sorted and filtered on like any integer field.
fn field(fields: &[Field], id: &str) -> Result<Field> {
    if id == "_id" {
        return Ok(Field {
            id: "_id".into(),
            column: "_id".into(),
            kind: FieldType::Integer,
        });
    }
    fields
        .iter()
        .find(|f| f.id == id)
        .cloned()
        .ok_or_else(|| Error::Conflict(format!("there is no field {id:?}")))
}

/// Rows of a DataStore table: the fields shown, the rows (each a JSON array of the shown
/// fields' values, in order), and the total when asked. Without `fields`, `_id` and then every
/// field are shown. `full_text`: the table has its full-text index (see [`create_search_index`]).
pub async fn search(
    db: &Db,
    table: &str,
    all: &[Field],
    full_text: bool,
    s: &Search,
) -> Result<(Vec<Field>, Vec<Json>, Option<i64>)> {
    let ds = schema(db.backend());
    let shown: Vec<Field> = match &s.fields {
        None if s.distinct => all.to_vec(),
        None => std::iter::once(field(all, "_id"))
            .chain(all.iter().cloned().map(Ok))
            .collect::<Result<_>>()?,
        Some(ids) => ids.iter().map(|id| field(all, id)).collect::<Result<_>>()?,
    };
    if shown.is_empty() {
        return Err(Error::Conflict("fields: name at least one field".into()));
    }
    let backend = db.backend();
    let narrow = |mut q: Query| -> Result<Query> {
        let mut first = true;
        let mut and = |q: Query| {
            let q = q.push(if first { " WHERE " } else { " AND " });
            first = false;
            q
        };
        for (id, value) in &s.filters {
            let f = field(all, id)?;
            if f.kind != FieldType::Text && !f.kind.fits(value.trim()) {
                return Err(Error::Conflict(format!(
                    "{value:?} is not a value of the {:?} field {id:?}",
                    f.kind
                )));
            }
            q = and(q)
                .push(&format!("{} = ", f.column))
                .push_bind(f.kind.value(value));
        }
        if let Some(asked) = &s.q {
            let words = text::words(asked);
            if !words.is_empty() && !full_text {
                return Err(Error::Conflict(
                    "q: this resource was imported before full-text search; import it again to search its text".into(),
                ));
            }
            if !words.is_empty() {
                q = match (has_text(all), backend) {
                    (false, _) => and(q).push("1 = 0"),
                    (true, Backend::Sqlite) => and(q)
                        .push(&format!(
                            "_id IN (SELECT rowid FROM {ds}.{table}_fts WHERE {table}_fts MATCH "
                        ))
                        .push_bind(text::fts5_query(&words))
                        .push(")"),
                    (true, Backend::Postgres) => and(q)
                        .push("to_tsvector('simple', _search) @@ to_tsquery('simple', ")
                        .push_bind(text::tsquery(&words))
                        .push(")"),
                };
            }
        }
        Ok(q)
    };
    let cols: Vec<&str> = shown.iter().map(|f| f.column.as_str()).collect();
    let mut order: Vec<String> = Vec::new();
    for (id, desc) in &s.sort {
        let f = field(all, id)?;
        if s.distinct && !cols.contains(&f.column.as_str()) {
            return Err(Error::Conflict(format!(
                "sort: with distinct, sort by the fields returned ({id:?} is not one)"
            )));
        }
        order.push(format!(
            "{} {}",
            f.column,
            if *desc { "DESC" } else { "ASC" }
        ));
    }
    // Pages never overlap: the order ends on what makes a row unique.
    if s.distinct {
        order.extend(cols.iter().map(|c| c.to_string()));
    } else {
        order.push("_id".into());
    }
    // Distinct rows are chosen first, then ordered and cut to a page (PostgreSQL orders a
    // DISTINCT only by what it selects).
    let json = json_row(backend, &cols);
    let mut q = if s.distinct {
        narrow(query(format!(
            "SELECT {json} FROM (SELECT DISTINCT {} FROM {ds}.{table}",
            cols.join(", ")
        )))?
        .push(") AS d")
    } else {
        narrow(query(format!("SELECT {json} FROM {ds}.{table}")))?
    };
    q = q
        .push(&format!(" ORDER BY {} LIMIT ", order.join(", ")))
        .push_bind(s.limit)
        .push(" OFFSET ")
        .push_bind(s.offset);
    let rows: Vec<(String,)> = db.fetch_all(q).await?;
    let records = rows
        .into_iter()
        .map(|(j,)| serde_json::from_str(&j).map_err(|e| Error::Internal(e.into())))
        .collect::<Result<Vec<Json>>>()?;
    let words = s.q.as_deref().map(text::words).unwrap_or_default();
    let total = if s.include_total {
        // A search by words alone is counted by the full-text index, not row by row.
        let count = if s.distinct {
            narrow(query(format!(
                "SELECT COUNT(*) FROM (SELECT DISTINCT {} FROM {ds}.{table}",
                cols.join(", ")
            )))?
            .push(") AS d")
        } else if backend == Backend::Sqlite
            && s.filters.is_empty()
            && !words.is_empty()
            && has_text(all)
        {
            query(format!(
                "SELECT COUNT(*) FROM {ds}.{table}_fts WHERE {table}_fts MATCH $1"
            ))
            .bind(text::fts5_query(&words))
        } else {
            narrow(query(format!("SELECT COUNT(*) FROM {ds}.{table}")))?
        };
        Some(db.scalar(count).await?)
    } else {
        None
    };
    Ok((shown, records, total))
}

/// SQL for a row's `columns` as one JSON array, as text.
fn json_row(backend: Backend, columns: &[&str]) -> String {
    match backend {
        Backend::Sqlite => format!("json_array({})", columns.join(", ")),
        Backend::Postgres => format!("json_build_array({})::text", columns.join(", ")),
    }
}

/// Up to `n` rows with `_id` above `after`, in `_id` order, each a JSON array (`_id` first):
/// the pages of a download.
pub async fn rows_after(
    db: &Db,
    table: &str,
    fields: &[Field],
    after: i64,
    n: i64,
) -> Result<Vec<Json>> {
    let ds = schema(db.backend());
    let cols: Vec<&str> = std::iter::once("_id")
        .chain(fields.iter().map(|f| f.column.as_str()))
        .collect();
    let rows: Vec<(String,)> = db
        .fetch_all(
            query(format!(
                "SELECT {} FROM {ds}.{table} WHERE _id > $1 ORDER BY _id LIMIT $2",
                json_row(db.backend(), &cols)
            ))
            .bind(after)
            .bind(n),
        )
        .await?;
    rows.into_iter()
        .map(|(j,)| serde_json::from_str(&j).map_err(|e| Error::Internal(e.into())))
        .collect()
}

/// Index a field of a DataStore table, so filters and sorts on it do not scan the table.
pub async fn create_index(tx: &mut Tx, table: &str, fields: &[Field], id: &str) -> Result<()> {
    let f = fields
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| Error::Conflict(format!("indexes: there is no field {id:?}")))?;
    tx.execute(query(index_ddl(
        tx.backend(),
        "INDEX IF NOT EXISTS",
        &format!("{table}_{}", f.column),
        table,
        &f.column,
    )))
    .await?;
    Ok(())
}

/// Make `ids` a table's primary key: a unique index over their columns, so no two records
/// share a key (checked when records are written, inserted or updated).
pub async fn create_primary_key(
    tx: &mut Tx,
    table: &str,
    fields: &[Field],
    ids: &[String],
) -> Result<()> {
    let mut columns = Vec::new();
    for id in ids {
        columns.push(
            fields
                .iter()
                .find(|f| &f.id == id)
                .ok_or_else(|| Error::Conflict(format!("primary_key: there is no field {id:?}")))?
                .column
                .clone(),
        );
    }
    let made = tx
        .execute(query(index_ddl(
            tx.backend(),
            "UNIQUE INDEX",
            &format!("{table}_pk"),
            table,
            &columns.join(", "),
        )))
        .await
        .map_err(Error::from);
    match made {
        Err(e) if is_key_clash(&e) => Err(Error::Conflict(
            "primary_key: two records have the same key".into(),
        )),
        r => r.map(|_| ()),
    }
}

/// Did a write fail because two records would share a key?
fn is_key_clash(e: &Error) -> bool {
    match e {
        Error::Internal(e) => e
            .downcast_ref::<sqlx::Error>()
            .is_some_and(crate::platform::db::is_unique_violation),
        _ => false,
    }
}

/// How `datastore_upsert` writes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A new record; its key must be new.
    Insert,
    /// Change the record with this key (which must exist): the fields given, no others.
    Update,
    /// Update the record with this key if there is one, else insert it.
    Upsert,
}

/// Write records (each field's value, `None` where the record does not give the field;
/// checked by the caller) by the table's primary key `key`. Returns how many were inserted.
pub async fn write_by_key(
    tx: &mut Tx,
    table: &str,
    fields: &[Field],
    key: &[String],
    method: Method,
    records: &[Vec<Option<String>>],
) -> Result<u64> {
    let ds = schema(tx.backend());
    let key_at: Vec<usize> = key
        .iter()
        .map(|id| fields.iter().position(|f| &f.id == id))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("{table}: its key names no field")))?;
    let mut inserted = 0;
    for (n, record) in records.iter().enumerate() {
        // `WHERE` on the key, with its values bound after `first` other values.
        let by_key = |q: Query| -> Result<Query> {
            let mut q = q.push(" WHERE ");
            for (k, &i) in key_at.iter().enumerate() {
                let v = record[i].as_deref().map(str::trim).unwrap_or("");
                if v.is_empty() {
                    return Err(Error::Conflict(format!(
                        "records: record {} has no value for the key field {:?}",
                        n + 1,
                        fields[i].id
                    )));
                }
                if k > 0 {
                    q = q.push(" AND ");
                }
                q = q
                    .push(&format!("{} = ", fields[i].column))
                    .push_bind(fields[i].kind.value(v));
            }
            Ok(q)
        };
        let exists = if method == Method::Insert {
            false
        } else {
            let given: Vec<usize> = (0..fields.len())
                .filter(|i| record[*i].is_some() && !key_at.contains(i))
                .collect();
            let changed = if given.is_empty() {
                tx.scalar::<i64>(by_key(query(format!("SELECT COUNT(*) FROM {ds}.{table}")))?)
                    .await? as u64
            } else {
                let mut q = query(format!("UPDATE {ds}.{table} SET "));
                for (j, &i) in given.iter().enumerate() {
                    if j > 0 {
                        q = q.push(", ");
                    }
                    q = q
                        .push(&format!("{} = ", fields[i].column))
                        .push_bind(fields[i].kind.value(record[i].as_deref().unwrap_or("")));
                }
                tx.execute(by_key(q)?).await?
            };
            if changed > 0 && has_text(fields) {
                refresh_search(tx, table, fields, &by_key).await?;
            }
            changed > 0
        };
        if !exists {
            if method == Method::Update {
                return Err(Error::Conflict(format!(
                    "records: record {}: no record has that key (method update changes records that exist)",
                    n + 1
                )));
            }
            let row: Vec<String> = record
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect();
            match insert_rows(tx, table, fields, &[row]).await {
                Err(e) if is_key_clash(&e) => {
                    return Err(Error::Conflict(format!(
                        "records: record {}: a record with that key exists already",
                        n + 1
                    )))
                }
                r => r?,
            }
            inserted += 1;
        }
    }
    Ok(inserted)
}

/// Recompute the `_search` text of the record `by_key` selects (after an update of some of
/// its fields: the folded text covers them all).
async fn refresh_search(
    tx: &mut Tx,
    table: &str,
    fields: &[Field],
    by_key: &(dyn Fn(Query) -> Result<Query> + Sync),
) -> Result<()> {
    let ds = schema(tx.backend());
    let text_fields: Vec<Field> = fields
        .iter()
        .filter(|f| f.kind == FieldType::Text)
        .cloned()
        .collect();
    let columns: Vec<&str> = text_fields.iter().map(|f| f.column.as_str()).collect();
    let rows: Vec<(i64, String)> = tx
        .fetch_all(by_key(query(format!(
            "SELECT _id, {} FROM {ds}.{table}",
            json_row(tx.backend(), &columns)
        )))?)
        .await?;
    for (id, values) in rows {
        let values: Vec<Option<String>> =
            serde_json::from_str(&values).map_err(|e| Error::Internal(e.into()))?;
        let row: Vec<String> = values.into_iter().map(Option::unwrap_or_default).collect();
        tx.execute(
            query(format!(
                "UPDATE {ds}.{table} SET _search = $1 WHERE _id = $2"
            ))
            .bind(search_value(&text_fields, &row))
            .bind(id),
        )
        .await?;
    }
    Ok(())
}
