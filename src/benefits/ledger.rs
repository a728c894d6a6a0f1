//! The ledger: double entry, append-only, one set of accounts per fund. Every money figure
//! Khidmat shows — a fund's budget, what is committed and disbursed, an applicant's entitlement
//! and what they were paid, the reports — is a sum over these rows.
//!
//! | kind      | debit        | credit      | when                                          |
//! |-----------|--------------|-------------|-----------------------------------------------|
//! | budget    | available    | sanction    | a budget is set or raised                     |
//! | budget    | sanction     | available   | a budget is lowered (never below commitments) |
//! | commit    | committed    | available   | an application is selected: its entitlement   |
//! | payment   | disbursed    | committed   | a payment's batch is approved                 |
//! | reversal  | (swapped)    | (swapped)   | a payment returned by the bank, a selection   |
//! |           |              |             | withdrawn: the row it undoes is named         |
//!
//! Each row balances by construction (one debit, one credit, one amount), so a fund's balances
//! always add up to zero; what must also hold, and [`Balances::check`] checks, is that no
//! account but `sanction` goes below zero. Then disbursed ≤ committed ≤ budget.

use chrono::Utc;
use serde::Serialize;

use crate::platform::db::{query, Db, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Sanction,
    Available,
    Committed,
    Disbursed,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::Sanction => "sanction",
            Account::Available => "available",
            Account::Committed => "committed",
            Account::Disbursed => "disbursed",
        }
    }
}

/// A row to append.
pub struct Entry<'a> {
    pub fund_id: i64,
    pub actor: &'a str,
    pub kind: &'static str,
    pub debit: Account,
    pub credit: Account,
    pub amount: i64,
    pub application_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub reverses: Option<i64>,
    pub memo: &'a str,
}

pub async fn post(tx: &mut Tx, e: Entry<'_>) -> Result<i64, sqlx::Error> {
    debug_assert!(e.amount > 0 && e.debit != e.credit);
    tx.scalar(
        query(
            "INSERT INTO benefit_ledger (fund_id, at, actor, kind, debit, credit, amount, \
             application_id, payment_id, reverses, memo) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(e.fund_id)
        .bind(Utc::now())
        .bind(e.actor)
        .bind(e.kind)
        .bind(e.debit.as_str())
        .bind(e.credit.as_str())
        .bind(e.amount)
        .bind(e.application_id)
        .bind(e.payment_id)
        .bind(e.reverses)
        .bind(e.memo),
    )
    .await
}

/// Undo row `id` with a row that swaps its accounts. A row is reversed at most once (the
/// `reverses` column is unique).
pub async fn reverse(tx: &mut Tx, id: i64, actor: &str, memo: &str) -> Result<i64, sqlx::Error> {
    let (fund_id, debit, credit, amount, application_id, payment_id): (
        i64,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
    ) = tx
        .fetch_one(
            query(
                "SELECT fund_id, debit, credit, amount, application_id, payment_id \
                 FROM benefit_ledger WHERE id = $1",
            )
            .bind(id),
        )
        .await?;
    tx.scalar(
        query(
            "INSERT INTO benefit_ledger (fund_id, at, actor, kind, debit, credit, amount, \
             application_id, payment_id, reverses, memo) \
             VALUES ($1, $2, $3, 'reversal', $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(fund_id)
        .bind(Utc::now())
        .bind(actor)
        .bind(credit)
        .bind(debit)
        .bind(amount)
        .bind(application_id)
        .bind(payment_id)
        .bind(id)
        .bind(memo),
    )
    .await
}

/// A fund's accounts, from its rows.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    sqlx::FromRow,
    khidmat_derive::FromRaw,
    utoipa::ToSchema,
)]
pub struct Balances {
    /// What was sanctioned: `-balance(sanction)`.
    pub budget: i64,
    pub available: i64,
    /// Entitlements not yet paid.
    pub outstanding: i64,
    pub disbursed: i64,
}

impl Balances {
    /// Everything ever committed to applicants (paid or not).
    pub fn committed(&self) -> i64 {
        self.outstanding + self.disbursed
    }

    /// The invariants of a fund's accounts, or what breaks them.
    pub fn check(&self) -> Result<(), String> {
        if self.available + self.outstanding + self.disbursed != self.budget {
            return Err(format!("the ledger does not balance: {self:?}"));
        }
        if self.available < 0 || self.outstanding < 0 || self.disbursed < 0 {
            return Err(format!("an account is below zero: {self:?}"));
        }
        Ok(())
    }
}

/// The signed balance of `account` as SQL over the rows in scope: debits less credits.
fn balance_sql(account: &str) -> String {
    format!(
        "CAST(COALESCE(SUM(CASE WHEN debit = '{account}' THEN amount \
         WHEN credit = '{account}' THEN -amount ELSE 0 END), 0) AS BIGINT)"
    )
}

fn balances_sql(filter: &str) -> String {
    format!(
        "SELECT -{} AS budget, {} AS available, {} AS outstanding, {} AS disbursed \
         FROM benefit_ledger WHERE {filter}",
        balance_sql("sanction"),
        balance_sql("available"),
        balance_sql("committed"),
        balance_sql("disbursed"),
    )
}

pub async fn balances(db: &Db, fund_id: i64) -> Result<Balances, sqlx::Error> {
    db.fetch_one(query(balances_sql("fund_id = $1")).bind(fund_id))
        .await
}

pub async fn balances_tx(tx: &mut Tx, fund_id: i64) -> Result<Balances, sqlx::Error> {
    tx.fetch_one(query(balances_sql("fund_id = $1")).bind(fund_id))
        .await
}

/// One application's money: what it is entitled to (committed to it, net of withdrawals) and
/// what it was paid (net of returns).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow, khidmat_derive::FromRaw,
)]
pub struct Owed {
    pub entitled: i64,
    pub paid: i64,
}

fn owed_sql() -> String {
    format!(
        "SELECT {} + {} AS entitled, {} AS paid FROM benefit_ledger WHERE application_id = $1",
        balance_sql("committed"),
        balance_sql("disbursed"),
        balance_sql("disbursed"),
    )
}

/// What every application of a fund is owed, in one pass over its rows (for lists).
pub async fn owed_in_fund(
    db: &Db,
    fund_id: i64,
) -> Result<std::collections::HashMap<i64, Owed>, sqlx::Error> {
    let rows: Vec<(i64, i64, i64)> = db
        .fetch_all(
            query(format!(
                "SELECT application_id, {} + {}, {} FROM benefit_ledger \
                 WHERE fund_id = $1 AND application_id IS NOT NULL GROUP BY application_id",
                balance_sql("committed"),
                balance_sql("disbursed"),
                balance_sql("disbursed"),
            ))
            .bind(fund_id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, entitled, paid)| (id, Owed { entitled, paid }))
        .collect())
}

pub async fn owed(db: &Db, application_id: i64) -> Result<Owed, sqlx::Error> {
    db.fetch_one(query(owed_sql()).bind(application_id)).await
}

pub async fn owed_tx(tx: &mut Tx, application_id: i64) -> Result<Owed, sqlx::Error> {
    tx.fetch_one(query(owed_sql()).bind(application_id)).await
}

/// A row, for the fund's ledger page and the auditors' CSV.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Row {
    pub id: i64,
    pub at: chrono::DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    pub application: Option<String>,
    pub payment: Option<String>,
    pub reverses: Option<i64>,
    pub memo: String,
}

pub async fn rows(db: &Db, fund_id: i64) -> Result<Vec<Row>, sqlx::Error> {
    db.fetch_all(
        query(
            "SELECT l.id, l.at, l.actor, l.kind, l.debit, l.credit, l.amount, \
             a.reference AS application, p.reference AS payment, l.reverses, l.memo \
             FROM benefit_ledger l \
             LEFT JOIN benefit_applications a ON a.id = l.application_id \
             LEFT JOIN benefit_payments p ON p.id = l.payment_id \
             WHERE l.fund_id = $1 ORDER BY l.id",
        )
        .bind(fund_id),
    )
    .await
}
