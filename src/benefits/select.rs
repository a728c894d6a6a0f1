//! Selection: publishing the ballot's list and seed, drawing, and selecting applicants, in order,
//! while the budget lasts. Selecting commits each entitlement in the ledger.

use chrono::Utc;
use serde::Serialize;

use super::draw;
use super::ledger::{self, Account};
use super::model::{Entitlement, Method};
use super::store::{self, Application, Fund};
use super::{manager_of, today};
use crate::platform::audit;
use crate::platform::db::{is_unique_violation, query};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::state::AppState;
use crate::t;

/// The published ballot of a fund.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw, utoipa::ToSchema)]
pub struct Draw {
    #[serde(skip)]
    pub fund_id: i64,
    pub list: String,
    pub list_sha256: String,
    pub seed: String,
    pub published_by: String,
    pub published_at: chrono::DateTime<Utc>,
    pub result: Option<String>,
    pub drawn_by: Option<String>,
    pub drawn_at: Option<chrono::DateTime<Utc>>,
}

pub async fn published(db: &crate::platform::db::Db, fund_id: i64) -> Result<Option<Draw>> {
    Ok(db
        .fetch_optional(
            query(
                "SELECT fund_id, list, list_sha256, seed, published_by, published_at, result, \
                 drawn_by, drawn_at FROM benefit_draws WHERE fund_id = $1",
            )
            .bind(fund_id),
        )
        .await?)
}

/// Nothing is selected while applications may still arrive or wait to be verified.
async fn ready(state: &AppState, fund: &Fund, lang: Lang) -> Result<()> {
    if today() <= fund.closes_on {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-still-open",
            closes = fund.closes_on.to_string()
        )));
    }
    let waiting: i64 = state
        .db
        .scalar(
            query(
                "SELECT COUNT(*) FROM benefit_applications WHERE fund_id = $1 AND status = 'eligible'",
            )
            .bind(fund.id),
        )
        .await?;
    if waiting > 0 {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-unverified",
            count = waiting
        )));
    }
    Ok(())
}

/// Publish the list of verified applications and the seed. `seed`: text chosen in public, or
/// `None` for one drawn at random now. Once per fund.
pub async fn publish(
    state: &AppState,
    staff: &Staff,
    fund: &Fund,
    seed: Option<&str>,
    lang: Lang,
) -> Result<Draw> {
    manager_of(staff, fund, lang)?;
    if fund.selection.method != Method::Ballot {
        return Err(Error::Conflict(t!(lang, "benefit-err-not-ballot")));
    }
    ready(state, fund, lang).await?;
    let seed = match seed.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.len() > 200 || s.contains('\n') => {
            return Err(Error::BadRequest(t!(lang, "benefit-err-seed")))
        }
        Some(s) => s.to_owned(),
        None => draw::random_seed(),
    };
    let refs: Vec<String> = store::applications(&state.db, fund.id, None, Some("verified"))
        .await?
        .into_iter()
        .map(|a| a.reference)
        .collect();
    if refs.is_empty() {
        return Err(Error::Conflict(t!(lang, "benefit-err-none-verified")));
    }
    let list = draw::list_text(&refs);
    let hash = draw::sha256_hex(&list);
    let mut tx = state.db.begin().await?;
    let inserted = tx
        .execute(
            query(
                "INSERT INTO benefit_draws (fund_id, list, list_sha256, seed, published_by, published_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(fund.id)
            .bind(&list)
            .bind(&hash)
            .bind(&seed)
            .bind(staff.actor())
            .bind(Utc::now()),
        )
        .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(t!(lang, "benefit-err-draw-published")))
        }
        other => {
            other?;
        }
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "benefit.draw_published",
        "benefit_fund",
        &fund.code,
        serde_json::json!({"list_sha256": hash, "seed": seed, "count": refs.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(published(&state.db, fund.id)
        .await?
        .expect("just published"))
}

/// Draw: rank the published list by the published seed, and record each application's rank.
pub async fn perform(state: &AppState, staff: &Staff, fund: &Fund, lang: Lang) -> Result<Draw> {
    manager_of(staff, fund, lang)?;
    let d = published(&state.db, fund.id)
        .await?
        .ok_or_else(|| Error::Conflict(t!(lang, "benefit-err-draw-unpublished")))?;
    let drawn = draw::draw(&d.seed, &draw::parse_list(&d.list));
    let result = draw::result_text(&drawn);
    let mut tx = state.db.begin().await?;
    let changed = tx
        .execute(
            query(
                "UPDATE benefit_draws SET result = $1, drawn_by = $2, drawn_at = $3 \
                 WHERE fund_id = $4 AND result IS NULL",
            )
            .bind(&result)
            .bind(staff.actor())
            .bind(Utc::now())
            .bind(fund.id),
        )
        .await?;
    if changed == 0 {
        return Err(Error::Conflict(t!(lang, "benefit-err-drawn")));
    }
    for (rank, (reference, _)) in drawn.iter().enumerate() {
        tx.execute(
            query("UPDATE benefit_applications SET draw_rank = $1 WHERE fund_id = $2 AND reference = $3")
                .bind(rank as i64 + 1)
                .bind(fund.id)
                .bind(reference),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "benefit.drawn",
        "benefit_fund",
        &fund.code,
        serde_json::json!({"result_sha256": draw::sha256_hex(&result)}),
    )
    .await?;
    tx.commit().await?;
    Ok(published(&state.db, fund.id).await?.expect("exists"))
}

/// What a selection did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Selected {
    /// `(reference, entitlement in paisa)`, in selection order.
    pub selected: Vec<(String, i64)>,
    pub waitlisted: Vec<String>,
    pub balances: ledger::Balances,
}

/// The order in which candidates are considered.
fn order(method: Method, candidates: &mut [Application]) {
    let first_come = |a: &Application| (a.submitted_at, a.reference.clone());
    match method {
        Method::LowestIncome => candidates.sort_by_key(|a| {
            (
                a.monthly_income,
                std::cmp::Reverse(a.dependants),
                first_come(a),
            )
        }),
        Method::MostDependants => candidates.sort_by_key(|a| {
            (
                std::cmp::Reverse(a.dependants),
                a.monthly_income,
                first_come(a),
            )
        }),
        Method::Ballot => candidates.sort_by_key(|a| (a.draw_rank, a.reference.clone())),
    }
}

/// Select verified (and waitlisted) applications in the fund's order while the available budget
/// and the places last; commit each entitlement. The rest are waitlisted: if the budget is
/// raised, selecting again takes them in the same order.
pub async fn select(state: &AppState, staff: &Staff, fund: &Fund, lang: Lang) -> Result<Selected> {
    manager_of(staff, fund, lang)?;
    ready(state, fund, lang).await?;
    if fund.selection.method == Method::Ballot {
        let drawn = published(&state.db, fund.id)
            .await?
            .is_some_and(|d| d.result.is_some());
        if !drawn {
            return Err(Error::Conflict(t!(lang, "benefit-err-draw-unpublished")));
        }
    }
    let actor = staff.actor();
    let mut tx = state.db.begin().await?;
    store::lock_fund(&mut tx, fund.id).await?;
    let mut candidates: Vec<Application> = tx
        .fetch_all(
            query(format!(
                "{} WHERE a.fund_id = $1 AND a.status IN ('verified', 'waitlisted')",
                store::APPLICATION_SELECT
            ))
            .bind(fund.id),
        )
        .await?;
    if candidates.is_empty() {
        return Err(Error::Conflict(t!(lang, "benefit-err-none-verified")));
    }
    order(fund.selection.method, &mut candidates);
    if fund.selection.method == Method::Ballot {
        // Only those in the published draw: the list was closed when it was published.
        candidates.retain(|a| a.draw_rank.is_some());
    }
    let already: i64 = tx
        .scalar(
            query(
                "SELECT COUNT(*) FROM benefit_applications WHERE fund_id = $1 AND status = 'selected'",
            )
            .bind(fund.id),
        )
        .await?;
    let places = fund
        .selection
        .places
        .map_or(i64::MAX, |p| (p - already).max(0));
    let mut available = ledger::balances_tx(&mut tx, fund.id).await?.available;
    // An equal split shares what is available among everyone who can have a place.
    let split = match fund.entitlement {
        Entitlement::EqualSplit { cap } => {
            let n = (candidates.len() as i64).min(places).max(1);
            Some((available / n).min(cap))
        }
        _ => None,
    };
    let mut out = Selected {
        selected: Vec::new(),
        waitlisted: Vec::new(),
        balances: Default::default(),
    };
    for a in &candidates {
        let amount = match split {
            Some(s) => s,
            None => fund
                .entitlement
                .amount(&a.grade, a.submitted_at.date_naive())
                .unwrap_or(0),
        };
        let fits = amount > 0 && amount <= available && (out.selected.len() as i64) < places;
        let status = if fits { "selected" } else { "waitlisted" };
        tx.execute(
            query(
                "UPDATE benefit_applications SET status = $1, updated_at = $2, version = version + 1 \
                 WHERE id = $3",
            )
            .bind(status)
            .bind(Utc::now())
            .bind(a.id),
        )
        .await?;
        if fits {
            available -= amount;
            ledger::post(
                &mut tx,
                ledger::Entry {
                    fund_id: fund.id,
                    actor: &actor,
                    kind: "commit",
                    debit: Account::Committed,
                    credit: Account::Available,
                    amount,
                    application_id: Some(a.id),
                    payment_id: None,
                    reverses: None,
                    memo: "selected",
                },
            )
            .await?;
            out.selected.push((a.reference.clone(), amount));
        } else {
            out.waitlisted.push(a.reference.clone());
        }
    }
    out.balances = ledger::balances_tx(&mut tx, fund.id).await?;
    out.balances
        .check()
        .map_err(|m| Error::Internal(anyhow::anyhow!(m)))?;
    audit::record(
        &mut tx,
        &actor,
        "benefit.selected",
        "benefit_fund",
        &fund.code,
        serde_json::json!({
            "selected": out.selected.len(),
            "committed": out.selected.iter().map(|(_, a)| a).sum::<i64>(),
            "waitlisted": out.waitlisted.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}
