//! Registers and lookups: a department publishes a register (licences, e-challans) declared in
//! a pack; data arrives by CSV import (a new version replaces the old one atomically) or one row
//! at a time from the staff API (a payment recorded); anyone looks a row up by a key on the web,
//! the API, SMS or USSD and is answered from the public fields only.
//!
//! - A lookup by a personal key (a CNIC) is limited per requester (the channel's own limit) and
//!   per key (`register_lookups_per_key_per_minute`, across nodes), and is logged without the
//!   key. A key that is not in the register gets the declared "not found" answer, the same
//!   whether or not the CNIC exists anywhere else.
//! - Every lookup is an impact event, with the minutes a visit to the office would have taken.

pub mod api;
pub mod model;

/// This service's routes (its API; its pages are `web::registers`).
pub fn router() -> axum::Router<crate::platform::state::AppState> {
    api::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (api).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::platform::audit;
use crate::platform::db::{query, Db, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::{Scope, Staff};
use crate::platform::impact::{self, Citizen};
use crate::platform::state::AppState;
use crate::t;
use model::{Datatype, RegisterSpec};

#[derive(Debug, Clone)]
pub struct Register {
    pub spec: RegisterSpec,
    pub department_id: i64,
    /// The version in force (0: no data yet).
    pub version: i64,
    pub rows: i64,
    pub imported_at: Option<DateTime<Utc>>,
}

type RegisterRow = (String, i64, i64, i64, Option<DateTime<Utc>>);

fn register_of(r: RegisterRow) -> Option<Register> {
    Some(Register {
        spec: serde_json::from_str(&r.0).ok()?,
        department_id: r.1,
        version: r.2,
        rows: r.3,
        imported_at: r.4,
    })
}

pub async fn registers(db: &Db) -> Result<Vec<Register>> {
    let rows: Vec<RegisterRow> = db
        .fetch_all(query(
            "SELECT definition, department_id, version, rows, imported_at FROM registers ORDER BY code",
        ))
        .await?;
    Ok(rows.into_iter().filter_map(register_of).collect())
}

pub async fn register(db: &Db, code: &str) -> Result<Option<Register>> {
    let row: Option<RegisterRow> = db
        .fetch_optional(
            query(
                "SELECT definition, department_id, version, rows, imported_at FROM registers WHERE code = $1",
            )
            .bind(code),
        )
        .await?;
    Ok(row.and_then(register_of))
}

pub async fn register_or_404(db: &Db, code: &str, lang: Lang) -> Result<Register> {
    register(db, code)
        .await?
        .ok_or_else(|| Error::NotFound(t!(lang, "register-err-unknown", register = code)))
}

/// Create or update a register's declaration (from a pack). Its demo rows are loaded only into
/// a register that has no data yet.
pub async fn upsert(tx: &mut Tx, spec: &RegisterSpec, department_id: i64) -> anyhow::Result<()> {
    let now = Utc::now();
    tx.execute(
        query(
            "INSERT INTO registers (code, department_id, definition, version, rows, updated_at) \
             VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT (code) DO UPDATE SET \
             department_id = excluded.department_id, definition = excluded.definition, updated_at = excluded.updated_at",
        )
        .bind(&spec.code)
        .bind(department_id)
        .bind(serde_json::to_string(spec)?)
        .bind(now),
    )
    .await?;
    let (version,): (i64,) = tx
        .fetch_one(query("SELECT version FROM registers WHERE code = $1").bind(&spec.code))
        .await?;
    if version == 0 && !spec.row.is_empty() {
        let mut rows = Vec::new();
        for (i, r) in spec.row.iter().enumerate() {
            rows.push(
                check_row(spec, r)
                    .map_err(|e| anyhow::anyhow!("register {} row {}: {e}", spec.code, i + 1))?,
            );
        }
        write_version(tx, spec, &rows).await?;
    }
    Ok(())
}

/// A row's values normalised, or the first thing wrong with it. Every stored field is needed.
fn check_row(
    spec: &RegisterSpec,
    raw: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for f in spec.field.iter().filter(|f| f.stored()) {
        let v = raw.get(&f.code).map(String::as_str).unwrap_or("").trim();
        if v.is_empty() {
            if spec.keys.contains(&f.code) {
                return Err(format!("{} is empty", f.code));
            }
            out.insert(f.code.clone(), String::new());
            continue;
        }
        out.insert(
            f.code.clone(),
            f.normalise(v).map_err(|e| format!("{}: {e}", f.code))?,
        );
    }
    if let Some(unknown) = raw
        .keys()
        .find(|k| spec.field(k).is_none_or(|f| !f.stored()))
    {
        return Err(format!("{unknown} is not a column of this register"));
    }
    Ok(out)
}

/// Write `rows` as the register's next version and make it the one in force; the old version's
/// rows go. The caller's transaction makes it all or nothing.
async fn write_version(
    tx: &mut Tx,
    spec: &RegisterSpec,
    rows: &[BTreeMap<String, String>],
) -> Result<i64, sqlx::Error> {
    let (old,): (i64,) = tx
        .fetch_one(query("SELECT version FROM registers WHERE code = $1").bind(&spec.code))
        .await?;
    let version = old + 1;
    for r in rows {
        insert_row(tx, spec, version, r).await?;
    }
    tx.execute(
        query("UPDATE registers SET version = $1, rows = $2, imported_at = $3 WHERE code = $4")
            .bind(version)
            .bind(rows.len() as i64)
            .bind(Utc::now())
            .bind(&spec.code),
    )
    .await?;
    tx.execute(
        query("DELETE FROM register_keys WHERE register = $1 AND version <> $2")
            .bind(&spec.code)
            .bind(version),
    )
    .await?;
    tx.execute(
        query("DELETE FROM register_rows WHERE register = $1 AND version <> $2")
            .bind(&spec.code)
            .bind(version),
    )
    .await?;
    Ok(version)
}

async fn insert_row(
    tx: &mut Tx,
    spec: &RegisterSpec,
    version: i64,
    r: &BTreeMap<String, String>,
) -> Result<i64, sqlx::Error> {
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO register_rows (register, version, data) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(&spec.code)
            .bind(version)
            .bind(serde_json::to_string(r).expect("serialisable")),
        )
        .await?;
    for k in &spec.keys {
        if let Some(v) = r.get(k).filter(|v| !v.is_empty()) {
            let f = spec.field(k).expect("keys are fields");
            tx.execute(
                query(
                    "INSERT INTO register_keys (register, version, field, value, row_id) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&spec.code)
                .bind(version)
                .bind(k)
                .bind(f.key_form(v))
                .bind(id),
            )
            .await?;
        }
    }
    Ok(id)
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub rows: usize,
    /// `(line, what is wrong)`: rows left out.
    pub rejected: Vec<(u64, String)>,
    pub version: i64,
}

/// Replace a register's data with a CSV file's rows. A file whose columns are not the
/// register's is refused whole (the old version stays); a row with a bad value is left out and
/// reported. `progress` is told each row read.
pub async fn import_csv(
    db: &Db,
    code: &str,
    reader: impl std::io::Read,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport> {
    let reg = register(db, code).await?.ok_or_else(|| {
        Error::NotFound(format!("there is no register {code}: load its pack first"))
    })?;
    let spec = &reg.spec;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| Error::BadRequest(format!("the file's first line is not a CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let expected = spec.columns();
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !expected.contains(h))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(Error::BadRequest(format!(
            "the columns are not the register's, so nothing was imported (the current data stays): missing {}; unknown {}; expected {}",
            if missing.is_empty() { "none".to_owned() } else { missing.join(", ") },
            if unknown.is_empty() { "none".to_owned() } else { unknown.join(", ") },
            expected.join(",")
        )));
    }
    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (i, record) in csv.records().enumerate() {
        let line = i as u64 + 2;
        progress(line - 1);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.rejected.push((line, e.to_string()));
                continue;
            }
        };
        let raw: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_owned))
            .collect();
        match check_row(spec, &raw) {
            Ok(r) => {
                let clash = spec.keys.iter().find_map(|k| {
                    let v = r.get(k).filter(|v| !v.is_empty())?;
                    let v = spec.field(k)?.key_form(v);
                    (!seen.insert((k.clone(), v))).then(|| k.clone())
                });
                match clash {
                    Some(k) => report
                        .rejected
                        .push((line, format!("{k} repeats an earlier row"))),
                    None => rows.push(r),
                }
            }
            Err(e) => report.rejected.push((line, e)),
        }
    }
    if rows.is_empty() {
        return Err(Error::BadRequest(
            "no row of the file could be imported, so nothing was (the current data stays)".into(),
        ));
    }
    let mut tx = db.begin().await?;
    report.version = write_version(&mut tx, spec, &rows).await?;
    audit::record(
        &mut tx,
        "cli",
        "register.imported",
        "register",
        code,
        serde_json::json!({"rows": rows.len(), "rejected": report.rejected.len(), "version": report.version}),
    )
    .await?;
    tx.commit().await?;
    report.rows = rows.len();
    Ok(report)
}

/// The row holding `field = value` (normalised) in the version in force.
async fn row_by_key(
    db: &Db,
    reg: &Register,
    field: &str,
    value: &str,
) -> Result<Option<(i64, BTreeMap<String, String>)>> {
    let value = match reg.spec.field(field) {
        Some(f) => f.key_form(value),
        None => value.to_owned(),
    };
    let row: Option<(i64, String)> = db
        .fetch_optional(
            query(
                "SELECT r.id, r.data FROM register_keys k JOIN register_rows r ON r.id = k.row_id \
                 WHERE k.register = $1 AND k.field = $2 AND k.value = $3 AND k.version = $4 LIMIT 1",
            )
            .bind(&reg.spec.code)
            .bind(field)
            .bind(&value)
            .bind(reg.version),
        )
        .await?;
    Ok(row.map(|(id, data)| (id, serde_json::from_str(&data).unwrap_or_default())))
}

/// How a key reads in an audit log or a message: a CNIC masked, anything else as it is.
fn shown_key(reg: &Register, field: &str, value: &str) -> String {
    match reg.spec.field(field).map(|f| f.datatype) {
        Some(Datatype::Cnic) => crate::platform::personal::Cnic::parse(value)
            .map(|c| c.masked())
            .unwrap_or_default(),
        _ => value.to_owned(),
    }
}

/// A staff update of one row (a payment recorded), or a new row. The row is found by the first
/// key among `fields`; only the fields given change.
pub async fn put_row(
    state: &AppState,
    staff: &Staff,
    code: &str,
    fields: &BTreeMap<String, String>,
    lang: Lang,
) -> Result<bool> {
    let reg = register_or_404(&state.db, code, lang).await?;
    if let Scope::Department { department_id, .. } = &staff.scope {
        if *department_id != reg.department_id {
            return Err(Error::NotFound(t!(
                lang,
                "register-err-unknown",
                register = code
            )));
        }
    }
    let spec = &reg.spec;
    let Some((key, raw)) = spec.keys.iter().find_map(|k| fields.get(k).map(|v| (k, v))) else {
        return Err(Error::BadRequest(format!(
            "name the row by one of its keys: {}",
            spec.keys.join(", ")
        )));
    };
    let f = spec.field(key).expect("keys are fields");
    let value = f
        .normalise(raw)
        .map_err(|e| Error::BadRequest(format!("{key}: {e}")))?;
    let existing = row_by_key(&state.db, &reg, key, &value).await?;
    if existing.is_none() {
        let missing: Vec<&str> = spec
            .columns()
            .into_iter()
            .filter(|c| !fields.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(Error::BadRequest(format!(
                "there is no row with this {key}; a new row needs every column: missing {}",
                missing.join(", ")
            )));
        }
    }
    let mut row = existing
        .as_ref()
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    for (k, v) in fields {
        row.insert(k.clone(), v.clone());
    }
    let row = check_row(spec, &row).map_err(Error::BadRequest)?;
    let mut tx = state.db.begin().await?;
    if reg.version == 0 {
        write_version(&mut tx, spec, std::slice::from_ref(&row)).await?;
    } else {
        if let Some((id, _)) = &existing {
            tx.execute(query("DELETE FROM register_keys WHERE row_id = $1").bind(*id))
                .await?;
            tx.execute(query("DELETE FROM register_rows WHERE id = $1").bind(*id))
                .await?;
        }
        // Another row may already hold one of this row's other keys.
        for k in &spec.keys {
            if let Some(v) = row.get(k).filter(|v| !v.is_empty()) {
                let v = spec.field(k).expect("keys are fields").key_form(v);
                let (n,): (i64,) = tx
                    .fetch_one(
                        query(
                            "SELECT COUNT(*) FROM register_keys WHERE register = $1 AND field = $2 AND value = $3 AND version = $4",
                        )
                        .bind(code)
                        .bind(k)
                        .bind(v)
                        .bind(reg.version),
                    )
                    .await?;
                if n > 0 {
                    return Err(Error::Conflict(format!("another row already has this {k}")));
                }
            }
        }
        insert_row(&mut tx, spec, reg.version, &row).await?;
        tx.execute(
            query("UPDATE registers SET rows = (SELECT COUNT(*) FROM register_rows WHERE register = $1 AND version = $2) WHERE code = $1")
                .bind(code)
                .bind(reg.version),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        if existing.is_some() {
            "register.row_updated"
        } else {
            "register.row_added"
        },
        "register",
        code,
        serde_json::json!({
            "key": key,
            "row": shown_key(&reg, key, &value),
            "changed": fields.keys().collect::<Vec<_>>(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(existing.is_none())
}

/// A lookup's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub register: String,
    pub found: bool,
    /// The declared answer (or "not found"), in the caller's language.
    pub answer: String,
    /// The public fields: code, label, value.
    pub fields: Vec<AnswerField>,
    /// What to do next (how and where to pay an unpaid challan), in the caller's language.
    pub next_steps: Vec<NextStepOut>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NextStepOut {
    pub text: String,
    /// A page of this site or an https:// address.
    pub link: Option<String>,
    pub link_text: Option<String>,
}

impl Answer {
    /// Nothing found in `register`, with the words that say so (or why nothing could be).
    pub fn not_found(register: &str, answer: String) -> Answer {
        Answer {
            register: register.to_owned(),
            found: false,
            answer,
            fields: vec![],
            next_steps: vec![],
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AnswerField {
    pub code: String,
    pub label: String,
    pub value: String,
}

/// Which key `raw` is, normalised: the first of the register's keys it fits.
pub fn read_key<'a>(reg: &'a Register, raw: &str, lang: Lang) -> Result<(&'a str, String)> {
    for f in reg.spec.key_fields() {
        if let Ok(v) = f.normalise(raw) {
            if !v.is_empty() {
                return Ok((f.code.as_str(), v));
            }
        }
    }
    let formats: Vec<String> = reg
        .spec
        .key_fields()
        .iter()
        .map(|f| {
            let example = match f.datatype {
                Datatype::Cnic => "17301-1234567-1".to_owned(),
                _ => f.example.clone(),
            };
            format!("{} ({})", f.label.get(lang), example)
        })
        .collect();
    Err(Error::BadRequest(t!(
        lang,
        "register-err-format",
        formats = formats.join(" / ")
    )))
}

/// Look a key up. Counts against the per-key limit; records an impact event; logs nothing of
/// the key.
pub async fn lookup(
    state: &AppState,
    reg: &Register,
    raw: &str,
    lang: Lang,
    channel: &str,
    citizen: Option<Citizen>,
) -> Result<Answer> {
    let (field, value) = read_key(reg, raw, lang)?;
    let value = reg
        .spec
        .field(field)
        .expect("keys are fields")
        .key_form(&value);
    let bucket = format!(
        "register:{}:{}",
        reg.spec.code,
        &hex::encode(Sha256::digest(format!("{field}:{value}").as_bytes()))[..24]
    );
    let limit = state.config.register_lookups_per_key_per_minute;
    if !crate::platform::ratelimit::take_db_token(&state.db, &bucket, limit).await? {
        return Err(Error::TooManyRequests(t!(
            lang,
            "err-rate-limited",
            seconds = 60i64
        )));
    }
    let found = row_by_key(&state.db, reg, field, &value).await?;
    tracing::info!(register = %reg.spec.code, by = field, found = found.is_some(), channel, "register lookup");
    let answer = match &found {
        Some((_, row)) => {
            let districts = state.districts().await?;
            let public = reg
                .spec
                .public(row, lang, crate::platform::clock::today(), &districts);
            Answer {
                next_steps: reg
                    .spec
                    .next_steps(row)
                    .into_iter()
                    .map(|s| NextStepOut {
                        text: s.text.get(lang).to_owned(),
                        link: s.link.clone(),
                        link_text: s.link.as_ref().map(|_| s.link_text.get(lang).to_owned()),
                    })
                    .collect(),
                register: reg.spec.code.clone(),
                found: true,
                answer: reg.spec.answer(&public, lang),
                fields: public
                    .into_iter()
                    .map(|(code, label, value)| AnswerField { code, label, value })
                    .collect(),
            }
        }
        None => Answer::not_found(&reg.spec.code, reg.spec.not_found.get(lang).to_owned()),
    };
    let mut tx = state.db.begin().await?;
    impact::record(
        &mut tx,
        &impact::Event {
            service: "registers",
            kind: "lookup",
            code: Some(&reg.spec.code),
            channel,
            district: None,
            department_id: Some(reg.department_id),
            minutes_saved: reg.spec.minutes_saved,
            citizen,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(answer)
}
