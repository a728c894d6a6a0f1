//! Benefits: funds that people apply to, selection, and disbursement that reconciles to the
//! last paisa.
//!
//! - `model.rs`: a fund as a pack declares it (rules, entitlement, selection); CNIC, IBAN, money
//! - `store.rs`: funds and applications in the store
//! - `apply.rs`: applying (every channel), documents, verification, status
//! - `draw.rs`: the verifiable random ballot (pure; `khidmat benefits verify-draw` uses it)
//! - `select.rs`: publishing and performing the draw, selecting while the budget lasts
//! - `disburse.rs`: batches, maker-checker approval, bank advice, reconciliation
//! - `ledger.rs`: the double-entry ledger every money figure is read from
//! - `report.rs`: figures by fund, district, religion, gender and month
//! - `api.rs`: the JSON API, staff and public
//!
//! Money actions (selection, batches, approval, reconciliation) are taken by named staff users,
//! never by an API key: maker-checker needs to know who is who.

pub mod api;
pub mod apply;
pub mod disburse;
pub mod draw;
pub mod ledger;
pub mod model;
pub mod report;
pub mod select;
pub mod store;

// What packs and the administration pages use of this one: the funds and their definitions.
// They do not reach into `store`.
pub use store::{fund, funds, upsert_fund};

use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::{Role, Scope, Staff, StaffKind};

/// Today in Pakistan: application windows are days there.
pub use crate::platform::clock::today;

/// Does the caller work for this department (in any district)?
pub fn in_department(staff: &Staff, department_id: i64) -> bool {
    match &staff.scope {
        Scope::All => true,
        Scope::Department {
            department_id: d, ..
        } => *d == department_id,
    }
}

/// The caller as a named user (`user:3`); API keys may not act on money.
pub fn user_of(staff: &Staff, lang: Lang) -> Result<String> {
    match staff.kind {
        StaffKind::User { .. } => Ok(staff.actor()),
        StaffKind::Key { .. } => Err(Error::Forbidden(lang.t("benefit-err-user-only"))),
    }
}

/// A manager of the fund's department (or an administrator), for decisions about the whole
/// fund: the draw, selection, approval, reconciliation, the budget.
pub fn manager_of(staff: &Staff, fund: &store::Fund, lang: Lang) -> Result<()> {
    user_of(staff, lang)?;
    let manager = matches!(
        staff.kind,
        StaffKind::User {
            role: Role::Admin | Role::Manager,
            ..
        }
    );
    let whole_department = match &staff.scope {
        Scope::All => true,
        Scope::Department {
            department_id,
            district,
        } => *department_id == fund.department_id && district.is_none(),
    };
    if !in_department(staff, fund.department_id) {
        return Err(Error::NotFound(String::new()));
    }
    if manager && whole_department {
        Ok(())
    } else {
        Err(Error::Forbidden(lang.t("benefit-err-manager-only")))
    }
}

pub fn router() -> axum::Router<crate::platform::state::AppState> {
    api::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (api).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}
