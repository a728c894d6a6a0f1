//! Disbursement: batches (envelopes) with control totals, payments in them, maker-checker
//! approval that disburses in the ledger, the bank advice file, and reconciliation with the
//! bank's statement.
//!
//! Locks are always taken in one order — fund, batch, then applications by id — so two staff
//! working at once wait for each other instead of deadlocking, and exactly one of two
//! conflicting actions wins.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ledger::{self, Account};
use super::model::{parse_rupees, rupees};
use super::store::{self, Fund};
use super::{in_department, manager_of, user_of};
use crate::platform::audit;
use crate::platform::db::{is_unique_violation, query, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::state::AppState;
use crate::t;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw, utoipa::ToSchema)]
pub struct Batch {
    pub id: i64,
    pub reference: String,
    pub fund_id: i64,
    pub control_count: i64,
    pub control_total: i64,
    pub status: String,
    pub maker: String,
    pub checker: Option<String>,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Payments in the batch and their sum.
    pub count: i64,
    pub total: i64,
}

const BATCH_SELECT: &str = "SELECT b.id, b.reference, b.fund_id, b.control_count, b.control_total, \
    b.status, b.maker, b.checker, b.note, b.created_at, b.submitted_at, b.decided_at, \
    (SELECT COUNT(*) FROM benefit_payments p WHERE p.batch_id = b.id) AS count, \
    (SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM benefit_payments p WHERE p.batch_id = b.id) AS total \
    FROM benefit_batches b";

pub async fn batch(db: &crate::platform::db::Db, id: i64) -> Result<Option<Batch>> {
    Ok(db
        .fetch_optional(query(format!("{BATCH_SELECT} WHERE b.id = $1")).bind(id))
        .await?)
}

pub async fn batches(db: &crate::platform::db::Db, fund_id: i64) -> Result<Vec<Batch>> {
    Ok(db
        .fetch_all(
            query(format!("{BATCH_SELECT} WHERE b.fund_id = $1 ORDER BY b.id")).bind(fund_id),
        )
        .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    pub batch_id: i64,
    pub application: String,
    pub amount: i64,
    pub instrument: String,
    pub reference: String,
    pub status: String,
    pub created_by: String,
    pub name: String,
    #[serde(skip)]
    pub cnic: String,
    #[serde(skip)]
    pub bank_account: Option<String>,
    pub district: Option<String>,
}

const PAYMENT_SELECT: &str = "SELECT p.id, p.batch_id, a.reference AS application, p.amount, \
    p.instrument, p.reference, p.status, p.created_by, ap.name, ap.cnic, a.bank_account, a.district \
    FROM benefit_payments p JOIN benefit_applications a ON a.id = p.application_id \
    JOIN benefit_applicants ap ON ap.id = a.applicant_id";

pub async fn payments(db: &crate::platform::db::Db, batch_id: i64) -> Result<Vec<Payment>> {
    Ok(db
        .fetch_all(
            query(format!(
                "{PAYMENT_SELECT} WHERE p.batch_id = $1 ORDER BY p.id"
            ))
            .bind(batch_id),
        )
        .await?)
}

/// A batch of a fund the caller works for, or 404.
pub async fn visible(state: &AppState, staff: &Staff, id: i64) -> Result<(Batch, Fund)> {
    let b = batch(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no batch {id}")))?;
    let fund = store::fund_by_id(&state.db, b.fund_id)
        .await?
        .filter(|f| in_department(staff, f.department_id))
        .ok_or_else(|| Error::NotFound(format!("no batch {id}")))?;
    Ok((b, fund))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchIn {
    pub control_count: i64,
    /// Paisa.
    pub control_total: i64,
    #[serde(default)]
    pub note: String,
}

/// Open a batch: its control totals are the most it will ever hold.
pub async fn create(
    state: &AppState,
    staff: &Staff,
    fund: &Fund,
    b: &BatchIn,
    lang: Lang,
) -> Result<Batch> {
    let maker = user_of(staff, lang)?;
    if !in_department(staff, fund.department_id) {
        return Err(Error::NotFound(String::new()));
    }
    if b.control_count <= 0 || b.control_total <= 0 {
        return Err(Error::BadRequest(t!(lang, "benefit-err-control")));
    }
    let mut tx = state.db.begin().await?;
    store::lock_fund(&mut tx, fund.id).await?;
    let n: i64 = tx
        .scalar(query("SELECT COUNT(*) FROM benefit_batches WHERE fund_id = $1").bind(fund.id))
        .await?;
    let reference = format!("{}/{:03}", fund.code.to_ascii_uppercase(), n + 1);
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO benefit_batches (reference, fund_id, control_count, control_total, \
                 status, maker, note, created_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) RETURNING id",
            )
            .bind(&reference)
            .bind(fund.id)
            .bind(b.control_count)
            .bind(b.control_total)
            .bind(&maker)
            .bind(b.note.trim())
            .bind(Utc::now()),
        )
        .await?;
    audit::record(
        &mut tx,
        &maker,
        "benefit.batch_created",
        "benefit_batch",
        &reference,
        serde_json::json!({"control_count": b.control_count, "control_total": b.control_total}),
    )
    .await?;
    tx.commit().await?;
    Ok(batch(&state.db, id).await?.expect("just created"))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// The application's reference.
    pub application: String,
    /// Paisa.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000i64)]
    pub amount: i64,
    /// `transfer` (to the applicant's IBAN) or `cheque`.
    pub instrument: String,
    /// The bank transaction id or cheque number; for a transfer, Khidmat makes one if none is
    /// given.
    pub reference: Option<String>,
}

/// Hold a batch's row if it is `open`; false otherwise.
async fn lock_open_batch(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    Ok(tx
        .execute(
            query("UPDATE benefit_batches SET version = version + 1 WHERE id = $1 AND status = 'open'")
                .bind(id),
        )
        .await?
        == 1)
}

/// Add a payment to an open batch: never beyond the batch's control totals, never beyond what
/// the applicant is still owed (their entitlement, less what was paid and what other batches not
/// yet decided hold for them).
pub async fn add_payment(
    state: &AppState,
    staff: &Staff,
    batch_id: i64,
    p: &PaymentIn,
    lang: Lang,
) -> Result<Payment> {
    let actor = user_of(staff, lang)?;
    let (b, fund) = visible(state, staff, batch_id).await?;
    let a = super::apply::visible(state, staff, p.application.trim()).await?;
    if a.fund_id != fund.id {
        return Err(Error::BadRequest(t!(lang, "benefit-err-other-fund")));
    }
    if p.amount <= 0 {
        return Err(Error::BadRequest(t!(lang, "benefit-err-amount")));
    }
    let instrument = p.instrument.trim();
    let given = p
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let reference = match (instrument, given) {
        (_, Some(r)) if r.len() > 60 || !r.bytes().all(|c| c.is_ascii_graphic()) => {
            return Err(Error::BadRequest(t!(lang, "benefit-err-payment-reference")))
        }
        ("transfer", _) if a.bank_account.is_none() => {
            return Err(Error::BadRequest(t!(lang, "benefit-err-no-account")))
        }
        ("transfer", Some(r)) | ("cheque", Some(r)) => r.to_owned(),
        ("transfer", None) => format!("{}-{}", b.reference.replace('/', "-"), a.reference),
        ("cheque", None) => return Err(Error::BadRequest(t!(lang, "benefit-err-cheque-number"))),
        _ => return Err(Error::BadRequest(t!(lang, "benefit-err-instrument"))),
    };
    let mut tx = state.db.begin().await?;
    if !lock_open_batch(&mut tx, b.id).await? {
        return Err(Error::Conflict(t!(lang, "benefit-err-batch-not-open")));
    }
    store::lock_application(&mut tx, a.id).await?;
    let (count, total): (i64, i64) = tx
        .fetch_one(
            query(
                "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM benefit_payments \
                 WHERE batch_id = $1",
            )
            .bind(b.id),
        )
        .await?;
    if count + 1 > b.control_count || total + p.amount > b.control_total {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-over-control",
            count = b.control_count,
            total = rupees(b.control_total),
            left = rupees(b.control_total - total)
        )));
    }
    let status: String = tx
        .scalar(query("SELECT status FROM benefit_applications WHERE id = $1").bind(a.id))
        .await?;
    if status != "selected" {
        return Err(Error::Conflict(t!(lang, "benefit-err-not-selected")));
    }
    let owed = ledger::owed_tx(&mut tx, a.id).await?;
    let held: i64 = tx
        .scalar(
            query(
                "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM benefit_payments p \
                 JOIN benefit_batches b ON b.id = p.batch_id \
                 WHERE p.application_id = $1 AND p.status = 'pending' AND b.status IN ('open', 'submitted')",
            )
            .bind(a.id),
        )
        .await?;
    let left = owed.entitled - owed.paid - held;
    if p.amount > left {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-over-entitlement",
            left = rupees(left.max(0))
        )));
    }
    let now = Utc::now();
    let inserted = tx
        .scalar::<i64>(
            query(
                "INSERT INTO benefit_payments (batch_id, application_id, amount, instrument, \
                 reference, status, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7) RETURNING id",
            )
            .bind(b.id)
            .bind(a.id)
            .bind(p.amount)
            .bind(instrument)
            .bind(&reference)
            .bind(&actor)
            .bind(now),
        )
        .await;
    let id = match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(t!(
                lang,
                "benefit-err-reference-used",
                reference = reference.as_str()
            )))
        }
        other => other?,
    };
    audit::record(
        &mut tx,
        &actor,
        "benefit.payment_added",
        "benefit_batch",
        &b.reference,
        serde_json::json!({"application": a.reference, "amount": p.amount, "instrument": instrument, "reference": reference}),
    )
    .await?;
    tx.commit().await?;
    let all = payments(&state.db, b.id).await?;
    Ok(all.into_iter().find(|p| p.id == id).expect("just added"))
}

/// Take a pending payment out of an open batch (a mistake the maker saw before submitting).
pub async fn remove_payment(
    state: &AppState,
    staff: &Staff,
    batch_id: i64,
    payment_id: i64,
    lang: Lang,
) -> Result<()> {
    let actor = user_of(staff, lang)?;
    let (b, _) = visible(state, staff, batch_id).await?;
    let mut tx = state.db.begin().await?;
    if !lock_open_batch(&mut tx, b.id).await? {
        return Err(Error::Conflict(t!(lang, "benefit-err-batch-not-open")));
    }
    let removed = tx
        .execute(
            query("DELETE FROM benefit_payments WHERE id = $1 AND batch_id = $2 AND status = 'pending'")
                .bind(payment_id)
                .bind(b.id),
        )
        .await?;
    if removed == 0 {
        return Err(Error::NotFound(format!(
            "no payment {payment_id} in this batch"
        )));
    }
    audit::record(
        &mut tx,
        &actor,
        "benefit.payment_removed",
        "benefit_batch",
        &b.reference,
        serde_json::json!({"payment": payment_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The maker sends the batch for approval: its payments must add up to its control totals
/// exactly (the envelope and its contents agree).
pub async fn submit(state: &AppState, staff: &Staff, batch_id: i64, lang: Lang) -> Result<Batch> {
    let actor = user_of(staff, lang)?;
    let (b, _) = visible(state, staff, batch_id).await?;
    if b.maker != actor {
        return Err(Error::Forbidden(t!(lang, "benefit-err-not-maker")));
    }
    let mut tx = state.db.begin().await?;
    if !lock_open_batch(&mut tx, b.id).await? {
        return Err(Error::Conflict(t!(lang, "benefit-err-batch-not-open")));
    }
    let (count, total): (i64, i64) = tx
        .fetch_one(
            query(
                "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM benefit_payments \
                 WHERE batch_id = $1",
            )
            .bind(b.id),
        )
        .await?;
    if count != b.control_count || total != b.control_total {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-control-mismatch",
            count = count,
            control_count = b.control_count,
            total = rupees(total),
            control_total = rupees(b.control_total)
        )));
    }
    tx.execute(
        query("UPDATE benefit_batches SET status = 'submitted', submitted_at = $1 WHERE id = $2")
            .bind(Utc::now())
            .bind(b.id),
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        "benefit.batch_submitted",
        "benefit_batch",
        &b.reference,
        serde_json::json!({"count": count, "total": total}),
    )
    .await?;
    tx.commit().await?;
    Ok(batch(&state.db, b.id).await?.expect("exists"))
}

/// The checker decides a submitted batch. Approval disburses every payment in the ledger
/// (committed → disbursed), each checked once more against what its applicant is owed; if any
/// would go over, nothing is approved. The checker is never the maker, nor anyone who added a
/// payment to the batch. Of two decisions at once, exactly one is taken.
pub async fn decide(
    state: &AppState,
    staff: &Staff,
    batch_id: i64,
    approve: bool,
    note: &str,
    lang: Lang,
) -> Result<Batch> {
    let (b, fund) = visible(state, staff, batch_id).await?;
    manager_of(staff, &fund, lang)?;
    let checker = staff.actor();
    let lines = payments(&state.db, b.id).await?;
    if b.maker == checker || lines.iter().any(|p| p.created_by == checker) {
        return Err(Error::Forbidden(t!(lang, "benefit-err-maker-checker")));
    }
    if !approve && note.trim().is_empty() {
        return Err(Error::BadRequest(t!(lang, "benefit-err-reject-note")));
    }
    let mut tx = state.db.begin().await?;
    let status = if approve { "approved" } else { "rejected" };
    let taken = tx
        .execute(
            query(
                "UPDATE benefit_batches SET status = $1, checker = $2, decided_at = $3, \
                 note = CASE WHEN $4 = '' THEN note ELSE $4 END, version = version + 1 \
                 WHERE id = $5 AND status = 'submitted' AND maker <> $2",
            )
            .bind(status)
            .bind(&checker)
            .bind(Utc::now())
            .bind(note.trim())
            .bind(b.id),
        )
        .await?;
    if taken == 0 {
        return Err(Error::Conflict(t!(lang, "benefit-err-batch-not-submitted")));
    }
    if approve {
        let lines: Vec<(i64, i64, i64, String)> = tx
            .fetch_all(
                query(
                    "SELECT p.id, p.application_id, p.amount, a.reference FROM benefit_payments p \
                     JOIN benefit_applications a ON a.id = p.application_id \
                     WHERE p.batch_id = $1 AND p.status = 'pending' ORDER BY p.application_id, p.id",
                )
                .bind(b.id),
            )
            .await?;
        for (payment_id, application_id, amount, reference) in &lines {
            store::lock_application(&mut tx, *application_id).await?;
            let owed = ledger::owed_tx(&mut tx, *application_id).await?;
            if owed.paid + amount > owed.entitled {
                return Err(Error::Conflict(t!(
                    lang,
                    "benefit-err-over-entitlement-at",
                    application = reference.as_str(),
                    left = rupees((owed.entitled - owed.paid).max(0))
                )));
            }
            ledger::post(
                &mut tx,
                ledger::Entry {
                    fund_id: fund.id,
                    actor: &checker,
                    kind: "payment",
                    debit: Account::Disbursed,
                    credit: Account::Committed,
                    amount: *amount,
                    application_id: Some(*application_id),
                    payment_id: Some(*payment_id),
                    reverses: None,
                    memo: &b.reference,
                },
            )
            .await?;
            tx.execute(
                query("UPDATE benefit_payments SET status = 'approved', updated_at = $1 WHERE id = $2")
                    .bind(Utc::now())
                    .bind(*payment_id),
            )
            .await?;
        }
        ledger::balances_tx(&mut tx, fund.id)
            .await?
            .check()
            .map_err(|m| Error::Internal(anyhow::anyhow!(m)))?;
    }
    audit::record(
        &mut tx,
        &checker,
        &format!("benefit.batch_{status}"),
        "benefit_batch",
        &b.reference,
        serde_json::json!({"count": b.count, "total": b.total, "note": note.trim()}),
    )
    .await?;
    tx.commit().await?;
    Ok(batch(&state.db, b.id).await?.expect("exists"))
}

/// The bank advice of an approved batch: one line per payment with the payee's name, CNIC,
/// IBAN and amount, then a line with the control totals.
pub async fn advice_csv(
    state: &AppState,
    staff: &Staff,
    batch_id: i64,
    lang: Lang,
) -> Result<String> {
    user_of(staff, lang)?;
    let (b, fund) = visible(state, staff, batch_id).await?;
    // The advice carries every payee's CNIC and account: for the department's office, not one
    // district's.
    if matches!(
        staff.scope,
        crate::platform::identity::Scope::Department {
            district: Some(_),
            ..
        }
    ) {
        return Err(Error::Forbidden(lang.t("benefit-err-department-wide")));
    }
    if b.status != "approved" {
        return Err(Error::Conflict(t!(lang, "benefit-err-batch-not-approved")));
    }
    let lines = payments(&state.db, b.id).await?;
    let mut sheet = crate::platform::sheet::Sheet::new();
    sheet.row([
        "batch",
        "fund",
        "payment_reference",
        "instrument",
        "beneficiary",
        "cnic",
        "iban",
        "amount",
    ]);
    let mut total = 0;
    for p in &lines {
        total += p.amount;
        let cnic = crate::platform::personal::Cnic::parse(&p.cnic)
            .map(|c| c.formatted())
            .unwrap_or_default();
        sheet.row([
            b.reference.as_str(),
            &fund.code,
            &p.reference,
            &p.instrument,
            &p.name,
            &cnic,
            p.bank_account.as_deref().unwrap_or(""),
            &rupees(p.amount).replace(',', ""),
        ]);
    }
    sheet.row([
        b.reference.as_str(),
        &fund.code,
        "TOTAL",
        "",
        &format!("{} payments", lines.len()),
        "",
        "",
        &rupees(total).replace(',', ""),
    ]);
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "benefit.advice_downloaded",
        "benefit_batch",
        &b.reference,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(sheet.finish())
}

/// A line of the bank's statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    pub line: usize,
    pub reference: String,
    pub amount: i64,
    /// `paid` (the default) or `returned` (the bank could not pay it).
    pub status: String,
}

/// What a reconciliation found.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    /// Payments the statement confirms, now reconciled.
    pub matched: Vec<String>,
    /// Payments the bank returned: reversed in the ledger, owed again.
    pub returned: Vec<String>,
    /// Statement lines whose reference is known but whose amount is not the payment's.
    pub wrong_amount: Vec<StatementLine>,
    /// Statement lines whose reference is no approved payment of this fund.
    pub unknown: Vec<StatementLine>,
    /// Statement lines for payments reconciled before (or twice in this file).
    pub repeated: Vec<StatementLine>,
    /// Approved payments the statement does not show yet.
    pub outstanding: Vec<String>,
}

/// Read a statement: a CSV with a `reference` column and an `amount` column (rupees), and
/// optionally `status` (`paid`/`returned`). Any line that cannot be read refuses the whole
/// file, naming the line.
pub fn parse_statement(bytes: &[u8], lang: Lang) -> Result<Vec<StatementLine>> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| Error::BadRequest(e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(rc), Some(ac)) = (
        col(&[
            "reference",
            "payment_reference",
            "transaction_id",
            "cheque_number",
        ]),
        col(&["amount", "credit", "debit"]),
    ) else {
        return Err(Error::BadRequest(t!(lang, "benefit-err-statement-columns")));
    };
    let sc = col(&["status"]);
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| {
            Error::BadRequest(t!(
                lang,
                "benefit-err-statement-line",
                line = line,
                problem = e.to_string()
            ))
        })?;
        let reference = rec.get(rc).unwrap_or("").to_owned();
        let raw_amount = rec.get(ac).unwrap_or("");
        let amount = parse_rupees(raw_amount).ok_or_else(|| {
            Error::BadRequest(t!(
                lang,
                "benefit-err-statement-line",
                line = line,
                problem = format!("amount {raw_amount:?}")
            ))
        })?;
        let status = match sc.map(|c| rec.get(c).unwrap_or("").to_ascii_lowercase()) {
            None => "paid".to_owned(),
            Some(s) if s.is_empty() || s == "paid" => "paid".to_owned(),
            Some(s) if s == "returned" => s,
            Some(s) => {
                return Err(Error::BadRequest(t!(
                    lang,
                    "benefit-err-statement-line",
                    line = line,
                    problem = format!("status {s:?}: use paid or returned")
                )))
            }
        };
        if reference.is_empty() {
            return Err(Error::BadRequest(t!(
                lang,
                "benefit-err-statement-line",
                line = line,
                problem = "no reference".to_owned()
            )));
        }
        out.push(StatementLine {
            line,
            reference,
            amount,
            status,
        });
    }
    Ok(out)
}

/// Check a fund's approved payments against the bank's statement: confirmed ones are
/// reconciled, returned ones reversed in the ledger; everything that does not match is listed,
/// on both sides. The report is kept.
pub async fn reconcile(
    state: &AppState,
    staff: &Staff,
    fund: &Fund,
    statement: &[u8],
    lang: Lang,
) -> Result<Reconciliation> {
    manager_of(staff, fund, lang)?;
    let lines = parse_statement(statement, lang)?;
    let actor = staff.actor();
    let mut tx = state.db.begin().await?;
    store::lock_fund(&mut tx, fund.id).await?;
    let known: Vec<(i64, String, i64, String)> = tx
        .fetch_all(
            query(
                "SELECT p.id, p.reference, p.amount, p.status FROM benefit_payments p \
                 JOIN benefit_batches b ON b.id = p.batch_id \
                 WHERE b.fund_id = $1 AND p.status IN ('approved', 'reconciled', 'returned') \
                 ORDER BY p.id",
            )
            .bind(fund.id),
        )
        .await?;
    let by_ref: HashMap<&str, &(i64, String, i64, String)> =
        known.iter().map(|k| (k.1.as_str(), k)).collect();
    let mut report = Reconciliation::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for l in &lines {
        let Some((id, reference, amount, status)) = by_ref.get(l.reference.as_str()).copied()
        else {
            report.unknown.push(l.clone());
            continue;
        };
        if *amount != l.amount {
            report.wrong_amount.push(l.clone());
            continue;
        }
        if !seen.insert(reference.as_str()) || status != "approved" {
            report.repeated.push(l.clone());
            continue;
        }
        let now = Utc::now();
        if l.status == "returned" {
            let entry: i64 = tx
                .scalar(
                    query(
                        "SELECT id FROM benefit_ledger WHERE payment_id = $1 AND kind = 'payment'",
                    )
                    .bind(*id),
                )
                .await?;
            ledger::reverse(&mut tx, entry, &actor, "returned by the bank").await?;
            tx.execute(
                query("UPDATE benefit_payments SET status = 'returned', updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(*id),
            )
            .await?;
            report.returned.push(reference.clone());
        } else {
            tx.execute(
                query("UPDATE benefit_payments SET status = 'reconciled', updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(*id),
            )
            .await?;
            report.matched.push(reference.clone());
        }
    }
    report.outstanding = known
        .iter()
        .filter(|(_, r, _, s)| s == "approved" && !seen.contains(r.as_str()))
        .map(|(_, r, _, _)| r.clone())
        .collect();
    ledger::balances_tx(&mut tx, fund.id)
        .await?
        .check()
        .map_err(|m| Error::Internal(anyhow::anyhow!(m)))?;
    let json = serde_json::to_string(&report).expect("serialisable");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(statement));
    tx.execute(
        query(
            "INSERT INTO benefit_reconciliations (fund_id, file_sha256, matched, report, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(fund.id)
        .bind(&sha)
        .bind(report.matched.len() as i64)
        .bind(&json)
        .bind(&actor)
        .bind(Utc::now()),
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        "benefit.reconciled",
        "benefit_fund",
        &fund.code,
        serde_json::json!({
            "file_sha256": sha,
            "matched": report.matched.len(),
            "returned": report.returned.len(),
            "wrong_amount": report.wrong_amount.len(),
            "unknown": report.unknown.len(),
            "outstanding": report.outstanding.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}
