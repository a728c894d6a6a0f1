//! The benefits JSON API under `/api/v1/benefits/`. Public: the funds with their figures, the
//! published draw, an applicant's status (by reference and CNIC). Staff (a department key or
//! the session cookie): applications, verification, the draw, selection, batches, approval,
//! the bank advice, reconciliation, the ledger and the reports. Amounts are paisa.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::apply::{self, ApplicationIn};
use super::disburse::{self, BatchIn, PaymentIn};
use super::report::{self, By};
use super::store::{self, Application, Fund};
use super::{in_department, ledger, manager_of, select};
use crate::platform::audit;
use crate::platform::error::{Error, JsonBody, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::{self, Scope, Staff};
use crate::platform::personal::{Cnic, Phone};
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/benefits/funds", get(list_funds))
        .route(
            "/api/v1/benefits/funds/{code}",
            get(show_fund).patch(edit_fund),
        )
        .route(
            "/api/v1/benefits/funds/{code}/applications",
            get(list_applications).post(walk_in),
        )
        .route(
            "/api/v1/benefits/funds/{code}/draw",
            get(show_draw).post(perform_draw),
        )
        .route(
            "/api/v1/benefits/funds/{code}/draw/publish",
            post(publish_draw),
        )
        .route(
            "/api/v1/benefits/funds/{code}/selection",
            post(run_selection),
        )
        .route(
            "/api/v1/benefits/funds/{code}/batches",
            get(list_batches).post(create_batch),
        )
        .route(
            "/api/v1/benefits/funds/{code}/reconciliation",
            post(reconcile),
        )
        .route("/api/v1/benefits/funds/{code}/ledger", get(show_ledger))
        .route(
            "/api/v1/benefits/applications/{reference}",
            get(show_application),
        )
        .route(
            "/api/v1/benefits/applications/{reference}/verification",
            post(verify),
        )
        .route(
            "/api/v1/benefits/applications/{reference}/documents",
            post(add_document),
        )
        .route("/api/v1/benefits/batches/{id}", get(show_batch))
        .route("/api/v1/benefits/batches/{id}/payments", post(add_payment))
        .route(
            "/api/v1/benefits/batches/{id}/payments/{payment}",
            delete(remove_payment),
        )
        .route("/api/v1/benefits/batches/{id}/submit", post(submit_batch))
        .route("/api/v1/benefits/batches/{id}/approve", post(approve_batch))
        .route("/api/v1/benefits/batches/{id}/reject", post(reject_batch))
        .route("/api/v1/benefits/batches/{id}/advice.csv", get(advice))
        .route("/api/v1/benefits/report", get(show_report))
        .route("/api/v1/benefits/status", get(status))
        .route("/benefits/{code}/draw/eligible.txt", get(draw_list))
        .route("/benefits/{code}/draw/seed.txt", get(draw_seed))
        .route("/benefits/{code}/draw/result.txt", get(draw_result))
}

pub async fn fund_or_404(state: &AppState, code: &str, lang: Lang) -> Result<Fund> {
    store::fund(&state.db, code)
        .await?
        .ok_or_else(|| Error::NotFound(t!(lang, "benefit-err-no-fund", fund = code)))
}

/// A fund of the caller's department, or 404.
async fn own_fund(state: &AppState, staff: &Staff, code: &str, lang: Lang) -> Result<Fund> {
    fund_or_404(state, code, lang)
        .await
        .and_then(|f| match in_department(staff, f.department_id) {
            true => Ok(f),
            false => Err(Error::NotFound(t!(
                lang,
                "benefit-err-no-fund",
                fund = code
            ))),
        })
}

/// A fund as anyone may see it: what it is for, who may apply, when, and its money.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FundOut {
    code: String,
    name: String,
    description: String,
    category: String,
    subcategory: String,
    financial_year: String,
    opens_on: NaiveDate,
    closes_on: NaiveDate,
    open: bool,
    #[schema(value_type = Object)]
    eligibility: serde_json::Value,
    #[schema(value_type = Object)]
    entitlement: serde_json::Value,
    #[schema(value_type = Object)]
    selection: serde_json::Value,
    /// The documents an applicant brings: `{code, name: {en, ur, ps}, required}`.
    #[schema(value_type = Vec<Object>)]
    documents: serde_json::Value,
    /// From the ledger, in paisa.
    budget: i64,
    available: i64,
    committed: i64,
    disbursed: i64,
}

async fn fund_out(state: &AppState, f: &Fund, lang: Lang) -> Result<FundOut> {
    let b = ledger::balances(&state.db, f.id).await?;
    Ok(FundOut {
        code: f.code.clone(),
        name: f.name.get(lang).to_owned(),
        description: f.description.get(lang).to_owned(),
        category: f.category.clone(),
        subcategory: f.subcategory.clone(),
        financial_year: f.financial_year.clone(),
        opens_on: f.opens_on,
        closes_on: f.closes_on,
        open: f.open_on(super::today()),
        eligibility: json!(f.eligibility),
        entitlement: json!(f.entitlement),
        selection: json!(f.selection),
        documents: json!(f.documents),
        budget: b.budget,
        available: b.available,
        committed: b.committed(),
        disbursed: b.disbursed,
    })
}

/// Every active fund.
#[utoipa::path(get, path = "/api/v1/benefits/funds", tag = "benefits",
    responses((status = 200, body = [FundOut])))]
pub async fn list_funds(State(state): State<AppState>, lang: Lang) -> Result<Json<Vec<FundOut>>> {
    let mut out = Vec::new();
    for f in store::funds(&state.db, None).await? {
        if f.active {
            out.push(fund_out(&state, &f, lang).await?);
        }
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/benefits/funds/{code}", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = FundOut), (status = 404, description = "no such fund")))]
pub async fn show_fund(
    State(state): State<AppState>,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<FundOut>> {
    let f = fund_or_404(&state, &code, lang).await?;
    Ok(Json(fund_out(&state, &f, lang).await?))
}

/// What an administrator may change about a running fund.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundEdit {
    /// Paisa; never below what is committed.
    budget: Option<i64>,
    opens_on: Option<NaiveDate>,
    closes_on: Option<NaiveDate>,
    active: Option<bool>,
}

/// Change a fund's budget (through the ledger), window or activity. Managers of the department.
#[utoipa::path(patch, path = "/api/v1/benefits/funds/{code}", tag = "benefits", params(("code" = String, Path)), request_body = FundEdit,
    responses((status = 200, body = FundOut), (status = 409, description = "the budget would go below commitments")),
    security(("bearer" = [])))]
pub async fn edit_fund(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(e): JsonBody<FundEdit>,
) -> Result<Json<FundOut>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    manager_of(&staff, &f, lang)?;
    let opens = e.opens_on.unwrap_or(f.opens_on);
    let closes = e.closes_on.unwrap_or(f.closes_on);
    if opens > closes {
        return Err(Error::BadRequest(t!(lang, "benefit-err-window-order")));
    }
    if e.budget.is_some_and(|b| b < 0) {
        return Err(Error::BadRequest(t!(lang, "benefit-err-amount")));
    }
    let before = ledger::balances(&state.db, f.id).await?;
    let mut tx = state.db.begin().await?;
    store::lock_fund(&mut tx, f.id).await?;
    tx.execute(
        crate::platform::db::query(
            "UPDATE benefit_funds SET opens_on = $1, closes_on = $2, active = $3 WHERE id = $4",
        )
        .bind(opens.to_string())
        .bind(closes.to_string())
        .bind(e.active.unwrap_or(f.active))
        .bind(f.id),
    )
    .await?;
    if let Some(b) = e.budget {
        store::set_budget(&mut tx, f.id, b, &staff.actor())
            .await
            .map_err(|e| Error::Conflict(e.to_string()))?;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "benefit.fund_edited",
        "benefit_fund",
        &f.code,
        json!({
            "before": {"budget": before.budget, "opens_on": f.opens_on, "closes_on": f.closes_on, "active": f.active},
            "after": {"budget": e.budget.unwrap_or(before.budget), "opens_on": opens, "closes_on": closes, "active": e.active.unwrap_or(f.active)},
        }),
    )
    .await?;
    tx.commit().await?;
    let f = fund_or_404(&state, &code, lang).await?;
    Ok(Json(fund_out(&state, &f, lang).await?))
}

/// An application as staff see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApplicationOut {
    reference: String,
    fund: String,
    status: String,
    reasons: Vec<String>,
    note: String,
    name: String,
    guardian_name: String,
    /// Masked in lists; whole on the application's own page.
    cnic: String,
    phone: Option<String>,
    gender: String,
    age: i64,
    district: Option<String>,
    monthly_income: i64,
    dependants: i64,
    grade: String,
    has_bank_account: bool,
    #[schema(value_type = Object)]
    answers: serde_json::Value,
    draw_rank: Option<i64>,
    channel: String,
    submitted_at: chrono::DateTime<chrono::Utc>,
    entitled: i64,
    paid: i64,
    documents: Vec<String>,
}

/// An application for staff: `whole` (its own page) shows the CNIC and phone unmasked and lists
/// its documents; `owed` is what the ledger says it is owed (read for a whole list at once).
async fn application_out(
    state: &AppState,
    a: &Application,
    whole: bool,
    owed: ledger::Owed,
    lang: Lang,
) -> Result<ApplicationOut> {
    let cnic = Cnic::parse(&a.cnic);
    let phone = a.phone.as_deref().and_then(Phone::parse);
    Ok(ApplicationOut {
        reference: a.reference.clone(),
        fund: a.fund_code.clone(),
        status: a.status.clone(),
        reasons: apply::reasons(&a.reasons, lang),
        note: a.note.clone(),
        name: a.name.clone(),
        guardian_name: a.guardian_name.clone(),
        cnic: match (&cnic, whole) {
            (Some(c), true) => c.formatted(),
            (Some(c), false) => c.masked(),
            (None, _) => String::new(),
        },
        phone: phone.map(|p| {
            if whole {
                p.e164().to_owned()
            } else {
                p.masked()
            }
        }),
        gender: a.gender.clone(),
        age: a.age,
        district: a.district.clone(),
        monthly_income: a.monthly_income,
        dependants: a.dependants,
        grade: a.grade.clone(),
        has_bank_account: a.bank_account.is_some(),
        answers: serde_json::from_str(&a.answers).unwrap_or_default(),
        draw_rank: a.draw_rank,
        channel: a.channel.clone(),
        submitted_at: a.submitted_at,
        entitled: owed.entitled,
        paid: owed.paid,
        documents: if whole {
            apply::document_kinds(&state.db, a.id).await?
        } else {
            Vec::new()
        },
    })
}

#[derive(Deserialize)]
pub struct ApplicationsQuery {
    status: Option<String>,
    district: Option<String>,
}

/// A fund's applications (the caller's district only, if they have one).
#[utoipa::path(get, path = "/api/v1/benefits/funds/{code}/applications", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = [ApplicationOut])),
    security(("bearer" = [])))]
pub async fn list_applications(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ApplicationsQuery>,
    lang: Lang,
) -> Result<Json<Vec<ApplicationOut>>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let district = match &staff.scope {
        identity::Scope::Department {
            district: Some(d), ..
        } => Some(d.clone()),
        _ => q.district.filter(|d| !d.is_empty()),
    };
    let rows = store::applications(
        &state.db,
        f.id,
        district.as_deref(),
        q.status.as_deref().filter(|s| !s.is_empty()),
    )
    .await?;
    let owed = ledger::owed_in_fund(&state.db, f.id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in &rows {
        let o = owed.get(&a.id).copied().unwrap_or_default();
        out.push(application_out(&state, a, false, o, lang).await?);
    }
    Ok(Json(out))
}

/// Enter the application of a walk-in applicant (staff of the fund's department).
#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/applications", tag = "benefits", params(("code" = String, Path)),
    request_body = ApplicationIn,
    responses((status = 201, body = apply::Receipt), (status = 409, description = "this CNIC has applied to this fund"),
        (status = 422, description = "the fund is not open for applications")),
    security(("bearer" = [])))]
pub async fn walk_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(input): JsonBody<ApplicationIn>,
) -> Result<Response> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    if let identity::Scope::Department {
        district: Some(d), ..
    } = &staff.scope
    {
        if d != input.district.trim() {
            return Err(Error::Forbidden(t!(lang, "benefit-err-other-district")));
        }
    }
    let receipt =
        apply::apply(&state, &f, &input, &[], "staff", &staff.actor(), None, lang).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

#[utoipa::path(get, path = "/api/v1/benefits/applications/{reference}", tag = "benefits", params(("reference" = String, Path)),
    responses((status = 200, body = ApplicationOut), (status = 404, description = "no such application in the caller's scope")),
    security(("bearer" = [])))]
pub async fn show_application(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    lang: Lang,
) -> Result<Json<ApplicationOut>> {
    let a = apply::visible(&state, &staff, &reference).await?;
    Ok(Json(
        application_out(&state, &a, true, ledger::owed(&state.db, a.id).await?, lang).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationIn {
    accept: bool,
    #[serde(default)]
    note: String,
}

/// Verify (papers in order) or reject (with the reason) an eligible application.
#[utoipa::path(post, path = "/api/v1/benefits/applications/{reference}/verification", tag = "benefits", params(("reference" = String, Path)),
    request_body = VerificationIn,
    responses((status = 200, body = ApplicationOut), (status = 409, description = "already decided, or not eligible")),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    lang: Lang,
    JsonBody(v): JsonBody<VerificationIn>,
) -> Result<Json<ApplicationOut>> {
    let a = apply::verify(&state, &staff, &reference, v.accept, &v.note, lang).await?;
    Ok(Json(
        application_out(&state, &a, true, ledger::owed(&state.db, a.id).await?, lang).await?,
    ))
}

/// Add a document (`kind`, `file`: a photo of it) to an application; multipart. A browser
/// session must send the page's `csrf` field too.
#[utoipa::path(post, path = "/api/v1/benefits/applications/{reference}/documents", tag = "benefits", params(("reference" = String, Path)),
    responses((status = 200, body = apply::Receipt)),
    security(("bearer" = [])))]
pub async fn add_document(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    lang: Lang,
    csrf: crate::platform::csrf::Csrf,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Json<apply::Receipt>> {
    let sent = read_form(form, state.config.max_photo_bytes, lang).await?;
    if !csrf.verify_api(&headers, sent.fields.get("csrf").map(String::as_str)) {
        return Err(Error::Forbidden(lang.t("page-form-expired")));
    }
    let kind = sent.fields.get("kind").cloned().unwrap_or_default();
    let bytes = sent
        .files
        .into_iter()
        .find(|(n, _)| n == "file")
        .map(|(_, b)| b)
        .ok_or_else(|| Error::BadRequest(t!(lang, "err-missing-param", name = "file")))?;
    let photo = crate::platform::files::encode(bytes, state.config.photo_max_side)
        .await
        .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
    Ok(Json(
        apply::add_document(&state, &staff, &reference, kind.trim(), photo, lang).await?,
    ))
}

pub use crate::platform::form::{read_form, SentForm};

/// The published ballot of a fund (public).
#[utoipa::path(get, path = "/api/v1/benefits/funds/{code}/draw", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = select::Draw), (status = 404, description = "not published")))]
pub async fn show_draw(
    State(state): State<AppState>,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<select::Draw>> {
    let f = fund_or_404(&state, &code, lang).await?;
    select::published(&state.db, f.id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::NotFound(t!(lang, "benefit-err-draw-unpublished")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishIn {
    /// Chosen in public; left out, one is drawn at random now.
    seed: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/draw/publish", tag = "benefits", params(("code" = String, Path)), request_body = PublishIn,
    responses((status = 201, body = select::Draw), (status = 409, description = "already published, or not ready")),
    security(("bearer" = [])))]
pub async fn publish_draw(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(p): JsonBody<PublishIn>,
) -> Result<Response> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let d = select::publish(&state, &staff, &f, p.seed.as_deref(), lang).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/draw", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = select::Draw), (status = 409, description = "not published, or drawn already")),
    security(("bearer" = [])))]
pub async fn perform_draw(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<select::Draw>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    Ok(Json(select::perform(&state, &staff, &f, lang).await?))
}

async fn draw_file(
    state: &AppState,
    code: &str,
    lang: Lang,
    pick: fn(select::Draw) -> Option<String>,
) -> Result<Response> {
    let f = fund_or_404(state, code, lang).await?;
    let text = select::published(&state.db, f.id)
        .await?
        .and_then(pick)
        .ok_or_else(|| Error::NotFound(t!(lang, "benefit-err-draw-unpublished")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

pub async fn draw_list(
    State(state): State<AppState>,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Response> {
    draw_file(&state, &code, lang, |d| Some(d.list)).await
}

pub async fn draw_seed(
    State(state): State<AppState>,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Response> {
    draw_file(&state, &code, lang, |d| Some(format!("{}\n", d.seed))).await
}

pub async fn draw_result(
    State(state): State<AppState>,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Response> {
    draw_file(&state, &code, lang, |d| d.result).await
}

#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/selection", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = select::Selected)),
    security(("bearer" = [])))]
pub async fn run_selection(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<select::Selected>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    Ok(Json(select::select(&state, &staff, &f, lang).await?))
}

#[utoipa::path(get, path = "/api/v1/benefits/funds/{code}/batches", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, body = [disburse::Batch])),
    security(("bearer" = [])))]
pub async fn list_batches(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<Vec<disburse::Batch>>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    Ok(Json(disburse::batches(&state.db, f.id).await?))
}

#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/batches", tag = "benefits", params(("code" = String, Path)), request_body = BatchIn,
    responses((status = 201, body = disburse::Batch)),
    security(("bearer" = [])))]
pub async fn create_batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(b): JsonBody<BatchIn>,
) -> Result<Response> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let b = disburse::create(&state, &staff, &f, &b, lang).await?;
    Ok((StatusCode::CREATED, Json(b)).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchOut {
    #[serde(flatten)]
    batch: disburse::Batch,
    payments: Vec<disburse::Payment>,
}

#[utoipa::path(get, path = "/api/v1/benefits/batches/{id}", tag = "benefits", params(("id" = i64, Path)),
    responses((status = 200, body = BatchOut)),
    security(("bearer" = [])))]
pub async fn show_batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<BatchOut>> {
    let (batch, fund) = disburse::visible(&state, &staff, id).await?;
    // An officer of one district sees that district's payees only.
    let payments = disburse::payments(&state.db, id)
        .await?
        .into_iter()
        .filter(|p| {
            staff
                .scope
                .allows(fund.department_id, p.district.as_deref())
        })
        .collect();
    Ok(Json(BatchOut { batch, payments }))
}

#[utoipa::path(post, path = "/api/v1/benefits/batches/{id}/payments", tag = "benefits", params(("id" = i64, Path)), request_body = PaymentIn,
    responses((status = 201, body = disburse::Payment), (status = 409, description = "over the control totals or the entitlement")),
    security(("bearer" = [])))]
pub async fn add_payment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    lang: Lang,
    JsonBody(p): JsonBody<PaymentIn>,
) -> Result<Response> {
    let p = disburse::add_payment(&state, &staff, id, &p, lang).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

pub async fn remove_payment(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, payment)): Path<(i64, i64)>,
    lang: Lang,
) -> Result<StatusCode> {
    disburse::remove_payment(&state, &staff, id, payment, lang).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/benefits/batches/{id}/submit", tag = "benefits", params(("id" = i64, Path)),
    responses((status = 200, body = disburse::Batch)),
    security(("bearer" = [])))]
pub async fn submit_batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    lang: Lang,
) -> Result<Json<disburse::Batch>> {
    Ok(Json(disburse::submit(&state, &staff, id, lang).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    #[serde(default)]
    note: String,
}

#[utoipa::path(post, path = "/api/v1/benefits/batches/{id}/approve", tag = "benefits", params(("id" = i64, Path)), request_body = DecisionIn,
    responses((status = 200, body = disburse::Batch), (status = 403, description = "the checker made the batch"),
        (status = 409, description = "decided already")),
    security(("bearer" = [])))]
pub async fn approve_batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    lang: Lang,
    JsonBody(d): JsonBody<DecisionIn>,
) -> Result<Json<disburse::Batch>> {
    Ok(Json(
        disburse::decide(&state, &staff, id, true, &d.note, lang).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/benefits/batches/{id}/reject", tag = "benefits", params(("id" = i64, Path)), request_body = DecisionIn,
    responses((status = 200, body = disburse::Batch)),
    security(("bearer" = [])))]
pub async fn reject_batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    lang: Lang,
    JsonBody(d): JsonBody<DecisionIn>,
) -> Result<Json<disburse::Batch>> {
    Ok(Json(
        disburse::decide(&state, &staff, id, false, &d.note, lang).await?,
    ))
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The bank advice of an approved batch (CSV).
#[utoipa::path(get, path = "/api/v1/benefits/batches/{id}/advice.csv", tag = "benefits", params(("id" = i64, Path)),
    responses((status = 200, description = "CSV", content_type = "text/csv")),
    security(("bearer" = [])))]
pub async fn advice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    lang: Lang,
) -> Result<Response> {
    let csv = disburse::advice_csv(&state, &staff, id, lang).await?;
    Ok(csv_response(&format!("advice-{id}.csv"), csv))
}

/// Reconcile with a bank statement: the body is the CSV (`Content-Type: text/csv`).
#[utoipa::path(post, path = "/api/v1/benefits/funds/{code}/reconciliation", tag = "benefits", params(("code" = String, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = disburse::Reconciliation), (status = 400, description = "the file cannot be read")),
    security(("bearer" = [])))]
pub async fn reconcile(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<disburse::Reconciliation>> {
    // A cross-site form cannot send text/csv: with the SameSite cookie, the CSRF defence.
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    if !csv {
        return Err(Error::Unsupported(
            "send the bank statement with Content-Type: text/csv".into(),
        ));
    }
    let f = own_fund(&state, &staff, &code, lang).await?;
    Ok(Json(
        disburse::reconcile(&state, &staff, &f, &body, lang).await?,
    ))
}

/// The fund's ledger, every row (staff of the department).
#[utoipa::path(get, path = "/api/v1/benefits/funds/{code}/ledger", tag = "benefits", params(("code" = String, Path)),
    responses((status = 200, description = "balances and rows")),
    security(("bearer" = [])))]
pub async fn show_ledger(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
) -> Result<Json<serde_json::Value>> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let b = ledger::balances(&state.db, f.id).await?;
    let rows = ledger::rows(&state.db, f.id).await?;
    Ok(Json(json!({"balances": b, "rows": rows})))
}

#[derive(Deserialize)]
pub struct ReportQuery {
    by: Option<String>,
    fund: Option<String>,
    format: Option<String>,
}

/// Applications and money by `fund`, `district`, `gender`, `month`, or the answer to a fund's
/// single-choice question (its code: `religion` for the Minority Affairs funds), within the
/// caller's scope; `format=csv` for a spreadsheet.
#[utoipa::path(get, path = "/api/v1/benefits/report", tag = "benefits",
    params(("by" = Option<String>, Query, pattern = "^(fund|district|gender|month)$", description = "fund (the default), district, gender or month; the code of a single-choice question the funds ask (`religion`) is taken too"),
        ("fund" = Option<String>, Query, description = "one fund's code"),
        ("format" = Option<String>, Query, pattern = "^(json|csv)$", description = "json (default) or csv")),
    responses((status = 200, description = "the report, as JSON or (format=csv) a spreadsheet", content((report::Report = "application/json"), (String = "text/csv"))),
        (status = 404, description = "no such fund in your scope")),
    security(("bearer" = [])))]
pub async fn show_report(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ReportQuery>,
    lang: Lang,
) -> Result<Response> {
    let fund = match q.fund.as_deref().filter(|f| !f.is_empty()) {
        Some(code) => Some(own_fund(&state, &staff, code, lang).await?),
        None => None,
    };
    let fund_id = fund.as_ref().map(|f| f.id);
    // A question to report by: one the fund asks (or, across funds, one a fund in the caller's
    // scope asks) with one answer from a list.
    let questions: Vec<String> = match &fund {
        Some(f) => report::dimensions(f),
        None => {
            let department = match &staff.scope {
                Scope::All => None,
                Scope::Department { department_id, .. } => Some(*department_id),
            };
            store::funds(&state.db, department)
                .await?
                .iter()
                .flat_map(report::dimensions)
                .collect()
        }
    };
    let by = By::parse(q.by.as_deref().unwrap_or("fund"), &questions).ok_or_else(|| {
        let mut all = questions.clone();
        all.sort();
        all.dedup();
        Error::BadRequest(t!(
            lang,
            "benefit-err-report-by",
            questions = all.join(", ")
        ))
    })?;
    let csv = crate::platform::sheet::wants_csv(q.format.as_deref())?;
    let r = report::report(&state.db, &staff.scope, fund_id, &by).await?;
    if csv {
        return Ok(csv_response(
            &format!("benefits-by-{}.csv", by.name()),
            report::csv(&r),
        ));
    }
    Ok(Json(r).into_response())
}

#[derive(Deserialize)]
pub struct StatusQuery {
    reference: String,
    cnic: String,
}

/// An applicant's status, by their reference and CNIC (rate limited; a wrong pair is a 404
/// that does not say which half was wrong).
#[utoipa::path(get, path = "/api/v1/benefits/status", tag = "benefits",
    params(("reference" = String, Query), ("cnic" = String, Query)),
    responses((status = 200, body = apply::Status), (status = 404, description = "no application with this reference and CNIC")))]
pub async fn status(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Query(q): Query<StatusQuery>,
    lang: Lang,
) -> Result<Json<apply::Status>> {
    state.limit_public_write(&headers, peer, lang).await?;
    apply::status(&state, &q.reference, &q.cnic, lang)
        .await?
        .map(Json)
        .ok_or_else(|| Error::NotFound(t!(lang, "benefit-err-status-not-found")))
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_funds,
        show_fund,
        edit_fund,
        list_applications,
        walk_in,
        show_application,
        verify,
        show_draw,
        publish_draw,
        perform_draw,
        run_selection,
        list_batches,
        create_batch,
        show_batch,
        add_payment,
        submit_batch,
        approve_batch,
        reject_batch,
        advice,
        reconcile,
        show_ledger,
        show_report,
        status,
    ),
    tags((name = "benefits", description = "Funds, applications, the ballot, disbursement and its ledger (amounts in paisa)"))
)]
pub struct ApiDoc;
