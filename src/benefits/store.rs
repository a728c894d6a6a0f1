//! Funds and applications: rows, loading, and the upsert a pack or an administrator makes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ledger::{self, Account};
use super::model::{Document, Eligibility, Entitlement, FundSpec, Selection};
use crate::platform::db::{query, Db, Tx};
use crate::platform::i18n::Text3;
use crate::platform::questions::Attribute;

fn decode(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

#[derive(Debug, Clone, Serialize)]
pub struct Fund {
    pub id: i64,
    pub code: String,
    pub department_id: i64,
    pub name: Text3,
    pub description: Text3,
    pub category: String,
    pub subcategory: String,
    pub financial_year: String,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub eligibility: Eligibility,
    pub entitlement: Entitlement,
    pub selection: Selection,
    pub documents: Vec<Document>,
    pub questions: Vec<Attribute>,
    pub minutes_saved: i64,
    pub active: bool,
}

impl Fund {
    /// Is the application window open on `day`?
    pub fn open_on(&self, day: NaiveDate) -> bool {
        self.active && self.opens_on <= day && day <= self.closes_on
    }
}

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct FundRow {
    id: i64,
    code: String,
    department_id: i64,
    name_en: String,
    name_ur: String,
    name_ps: String,
    description_en: String,
    description_ur: String,
    description_ps: String,
    category: String,
    subcategory: String,
    financial_year: String,
    opens_on: String,
    closes_on: String,
    eligibility: String,
    entitlement: String,
    selection: String,
    documents: String,
    questions: String,
    minutes_saved: i64,
    active: bool,
}

fn day(s: &str) -> Result<NaiveDate, sqlx::Error> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(decode)
}

impl FundRow {
    fn into_fund(self) -> Result<Fund, sqlx::Error> {
        Ok(Fund {
            id: self.id,
            code: self.code,
            department_id: self.department_id,
            name: Text3 {
                en: self.name_en,
                ur: self.name_ur,
                ps: self.name_ps,
            },
            description: Text3 {
                en: self.description_en,
                ur: self.description_ur,
                ps: self.description_ps,
            },
            category: self.category,
            subcategory: self.subcategory,
            financial_year: self.financial_year,
            opens_on: day(&self.opens_on)?,
            closes_on: day(&self.closes_on)?,
            eligibility: serde_json::from_str(&self.eligibility).map_err(decode)?,
            entitlement: serde_json::from_str(&self.entitlement).map_err(decode)?,
            selection: serde_json::from_str(&self.selection).map_err(decode)?,
            documents: serde_json::from_str(&self.documents).map_err(decode)?,
            questions: serde_json::from_str(&self.questions).map_err(decode)?,
            minutes_saved: self.minutes_saved,
            active: self.active,
        })
    }
}

const FUND_COLUMNS: &str = "id, code, department_id, name_en, name_ur, name_ps, description_en, \
    description_ur, description_ps, category, subcategory, financial_year, opens_on, closes_on, \
    eligibility, entitlement, selection, documents, questions, minutes_saved, active";

pub async fn fund(db: &Db, code: &str) -> Result<Option<Fund>, sqlx::Error> {
    db.fetch_optional::<FundRow>(
        query(format!(
            "SELECT {FUND_COLUMNS} FROM benefit_funds WHERE code = $1"
        ))
        .bind(code),
    )
    .await?
    .map(FundRow::into_fund)
    .transpose()
}

pub async fn fund_by_id(db: &Db, id: i64) -> Result<Option<Fund>, sqlx::Error> {
    db.fetch_optional::<FundRow>(
        query(format!(
            "SELECT {FUND_COLUMNS} FROM benefit_funds WHERE id = $1"
        ))
        .bind(id),
    )
    .await?
    .map(FundRow::into_fund)
    .transpose()
}

/// Funds, newest first; of one department if given.
pub async fn funds(db: &Db, department_id: Option<i64>) -> Result<Vec<Fund>, sqlx::Error> {
    let mut q = query(format!("SELECT {FUND_COLUMNS} FROM benefit_funds"));
    if let Some(d) = department_id {
        q = q.push(" WHERE department_id = ").push_bind(d);
    }
    db.fetch_all::<FundRow>(q.push(" ORDER BY closes_on DESC, code"))
        .await?
        .into_iter()
        .map(FundRow::into_fund)
        .collect()
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).expect("serialisable")
}

/// Create or update a fund from its definition, and move its budget in the ledger to the
/// declared figure. Refuses (leaving everything as it was) a budget below what is already
/// committed to applicants.
pub async fn upsert_fund(
    tx: &mut Tx,
    spec: &FundSpec,
    department_id: i64,
    actor: &str,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO benefit_funds (code, department_id, name_en, name_ur, name_ps, \
                 description_en, description_ur, description_ps, category, subcategory, \
                 financial_year, opens_on, closes_on, eligibility, entitlement, selection, \
                 documents, questions, minutes_saved, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20, $21, $21) \
                 ON CONFLICT (code) DO UPDATE SET department_id = excluded.department_id, \
                 name_en = excluded.name_en, name_ur = excluded.name_ur, name_ps = excluded.name_ps, \
                 description_en = excluded.description_en, description_ur = excluded.description_ur, \
                 description_ps = excluded.description_ps, category = excluded.category, \
                 subcategory = excluded.subcategory, financial_year = excluded.financial_year, \
                 opens_on = excluded.opens_on, closes_on = excluded.closes_on, \
                 eligibility = excluded.eligibility, entitlement = excluded.entitlement, \
                 selection = excluded.selection, documents = excluded.documents, \
                 questions = excluded.questions, minutes_saved = excluded.minutes_saved, \
                 active = excluded.active, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&spec.code)
            .bind(department_id)
            .bind(&spec.name.en)
            .bind(&spec.name.ur)
            .bind(&spec.name.ps)
            .bind(&spec.description.en)
            .bind(&spec.description.ur)
            .bind(&spec.description.ps)
            .bind(&spec.category)
            .bind(&spec.subcategory)
            .bind(&spec.financial_year)
            .bind(spec.opens_on.to_string())
            .bind(spec.closes_on.to_string())
            .bind(json(&spec.eligibility))
            .bind(json(&spec.entitlement))
            .bind(json(&spec.selection))
            .bind(json(&spec.document))
            .bind(json(&spec.question))
            .bind(spec.minutes_saved)
            .bind(spec.active)
            .bind(now),
        )
        .await?;
    set_budget(tx, id, spec.budget, actor).await?;
    Ok(id)
}

/// Move a fund's budget to `budget` paisa with one ledger row (none if it is already there).
/// The caller holds the fund's row (`upsert_fund` writes it; others call [`lock_fund`]).
pub async fn set_budget(tx: &mut Tx, fund_id: i64, budget: i64, actor: &str) -> anyhow::Result<()> {
    let b = ledger::balances_tx(tx, fund_id).await?;
    let change = budget - b.budget;
    if change < 0 && -change > b.available {
        anyhow::bail!(
            "the budget cannot go below what is committed to applicants ({} paisa)",
            b.committed()
        );
    }
    if change != 0 {
        let (debit, credit, memo) = if change > 0 {
            (Account::Available, Account::Sanction, "budget raised")
        } else {
            (Account::Sanction, Account::Available, "budget lowered")
        };
        ledger::post(
            tx,
            ledger::Entry {
                fund_id,
                actor,
                kind: "budget",
                debit,
                credit,
                amount: change.abs(),
                application_id: None,
                payment_id: None,
                reverses: None,
                memo,
            },
        )
        .await?;
    }
    Ok(())
}

/// Hold the fund's row until the transaction ends: everything that moves its available budget
/// (selection, budget changes) takes this first, so two of them never interleave.
pub async fn lock_fund(tx: &mut Tx, fund_id: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE benefit_funds SET updated_at = $1 WHERE id = $2")
            .bind(Utc::now())
            .bind(fund_id),
    )
    .await?;
    Ok(())
}

/// An application with its applicant, as staff see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Application {
    pub id: i64,
    pub reference: String,
    #[serde(skip)]
    pub token: String,
    pub fund_id: i64,
    pub fund_code: String,
    pub department_id: i64,
    pub channel: String,
    pub district: Option<String>,
    pub gender: String,
    pub age: i64,
    pub monthly_income: i64,
    pub dependants: i64,
    pub grade: String,
    #[serde(skip)]
    pub bank_account: Option<String>,
    pub answers: String,
    pub status: String,
    pub reasons: String,
    pub note: String,
    pub verified_by: Option<String>,
    pub draw_rank: Option<i64>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub applicant_id: i64,
    #[serde(skip)]
    pub cnic: String,
    pub name: String,
    pub guardian_name: String,
    pub birth_date: String,
    #[serde(skip)]
    pub phone: Option<String>,
    pub address: String,
}

pub const APPLICATION_SELECT: &str =
    "SELECT a.id, a.reference, a.token, a.fund_id, f.code AS fund_code, \
    f.department_id, a.channel, a.district, a.gender, a.age, a.monthly_income, \
    a.dependants, a.grade, a.bank_account, a.answers, a.status, a.reasons, a.note, a.verified_by, \
    a.draw_rank, a.submitted_at, a.updated_at, a.version, a.applicant_id, p.cnic, p.name, \
    p.guardian_name, p.birth_date, p.phone, p.address \
    FROM benefit_applications a JOIN benefit_funds f ON f.id = a.fund_id \
    JOIN benefit_applicants p ON p.id = a.applicant_id";

pub async fn application(db: &Db, reference: &str) -> Result<Option<Application>, sqlx::Error> {
    db.fetch_optional(query(format!("{APPLICATION_SELECT} WHERE a.reference = $1")).bind(reference))
        .await
}

pub async fn application_by_token(
    db: &Db,
    token: &str,
) -> Result<Option<Application>, sqlx::Error> {
    db.fetch_optional(query(format!("{APPLICATION_SELECT} WHERE a.token = $1")).bind(token))
        .await
}

pub async fn application_tx(
    tx: &mut Tx,
    reference: &str,
) -> Result<Option<Application>, sqlx::Error> {
    tx.fetch_optional(query(format!("{APPLICATION_SELECT} WHERE a.reference = $1")).bind(reference))
        .await
}

/// Hold an application's row until the transaction ends (payments to it are added and approved
/// one at a time). Returns false if there is no such application.
pub async fn lock_application(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    Ok(tx
        .execute(
            query("UPDATE benefit_applications SET version = version + 1 WHERE id = $1").bind(id),
        )
        .await?
        == 1)
}

/// Applications of a fund (within a district, if given), by status and then reference.
pub async fn applications(
    db: &Db,
    fund_id: i64,
    district: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<Application>, sqlx::Error> {
    let mut q = query(format!("{APPLICATION_SELECT} WHERE a.fund_id = ")).push_bind(fund_id);
    if let Some(d) = district {
        q = q.push(" AND a.district = ").push_bind(d);
    }
    if let Some(s) = status {
        q = q.push(" AND a.status = ").push_bind(s);
    }
    db.fetch_all(q.push(" ORDER BY a.submitted_at, a.reference"))
        .await
}
