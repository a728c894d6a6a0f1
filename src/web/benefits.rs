//! Benefits pages. Citizens: the funds, a fund with its rules, figures and application form (in
//! three steps on a phone), the printable slip with a QR code, and the status check. Staff: a
//! fund's applications and its draw, selection, batches and reconciliation; an application to
//! verify; a batch to fill, submit, approve and pay. Every action calls the same operations as
//! the JSON API.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::fields::{district_options, form_fields, DistrictOption, Field};
use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, FormPost, Frame, Here, OrPage, Page, PageError, PublicWrite};
use crate::benefits::apply::{self, ApplicationIn};
use crate::benefits::model::{rupees, Entitlement, Method};
use crate::benefits::store::{self, Fund};
use crate::benefits::{disburse, ledger, select};
use crate::platform::error::Error;
use crate::platform::files;
use crate::platform::i18n::Lang;
use crate::platform::identity::{Scope, Staff};
use crate::platform::state::AppState;
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/benefits", get(funds))
        .route("/benefits/status", get(status_form).post(status_check))
        .route("/benefits/slip/{token}", get(slip))
        .route("/benefits/{code}", get(fund_page))
        .route(
            "/benefits/{code}/apply",
            post(apply_submit).layer(DefaultBodyLimit::max(40 * 1024 * 1024)),
        )
        .route("/staff/benefits", get(staff_funds))
        .route("/staff/benefits/{code}", get(staff_fund))
        .route("/staff/benefits/{code}/action", post(staff_fund_action))
        .route(
            "/staff/benefits/{code}/reconciliation",
            post(staff_reconcile).layer(DefaultBodyLimit::max(20 * 1024 * 1024)),
        )
        .route(
            "/staff/benefits/applications/{reference}",
            get(staff_application).post(staff_verify),
        )
        .route(
            "/staff/benefits/applications/{reference}/documents",
            post(staff_add_document).layer(DefaultBodyLimit::max(20 * 1024 * 1024)),
        )
        .route("/staff/benefits/documents/{id}", get(staff_document))
        .route(
            "/staff/benefits/batches/{id}",
            get(staff_batch).post(staff_batch_action),
        )
}

// ---------------------------------------------------------------------------------------------
// What a fund says, in words

pub struct FundCard {
    pub code: String,
    pub name: String,
    pub description: String,
    pub window: String,
    pub open: bool,
    pub amount: String,
    pub figures: String,
}

fn amount_text(lang: Lang, e: &Entitlement) -> String {
    match e {
        Entitlement::Fixed { amount } => {
            t!(lang, "benefits-amount-fixed", amount = rupees(*amount))
        }
        Entitlement::Table { .. } => lang.t("benefits-amount-table"),
        Entitlement::EqualSplit { cap } => t!(lang, "benefits-amount-split", amount = rupees(*cap)),
    }
}

async fn card(state: &AppState, f: &Fund, lang: Lang) -> Result<FundCard, sqlx::Error> {
    let b = ledger::balances(&state.db, f.id).await?;
    Ok(FundCard {
        code: f.code.clone(),
        name: f.name.get(lang).to_owned(),
        description: f.description.get(lang).to_owned(),
        window: t!(
            lang,
            "benefits-window",
            opens = f.opens_on.to_string(),
            closes = f.closes_on.to_string()
        ),
        open: f.open_on(crate::benefits::today()),
        amount: amount_text(lang, &f.entitlement),
        figures: t!(
            lang,
            "benefits-figures",
            budget = rupees(b.budget),
            committed = rupees(b.committed()),
            disbursed = rupees(b.disbursed)
        ),
    })
}

/// Who may apply, one sentence a rule.
fn rules_text(lang: Lang, f: &Fund, districts: &[DistrictOption]) -> Vec<String> {
    let r = &f.eligibility;
    let mut out = Vec::new();
    let names = |keys: &[String], prefix: &str| {
        keys.iter()
            .map(|k| lang.t(&format!("{prefix}{k}")))
            .collect::<Vec<_>>()
            .join("، ")
    };
    for (code, admit) in &r.answers {
        let Some(q) = f.questions.iter().find(|q| &q.code == code) else {
            continue;
        };
        let list: Vec<&str> = admit
            .iter()
            .filter_map(|k| q.values.iter().find(|v| &v.key == k))
            .map(|v| v.name.get(lang))
            .collect();
        out.push(t!(
            lang,
            "benefits-rule-answer",
            question = q.description.get(lang),
            list = list.join("، ")
        ));
    }
    if !r.genders.is_empty() {
        out.push(t!(
            lang,
            "benefits-rule-genders",
            list = names(&r.genders, "benefits-gender-")
        ));
    }
    if !r.districts.is_empty() {
        let list: Vec<String> = r
            .districts
            .iter()
            .map(|d| {
                districts
                    .iter()
                    .find(|o| &o.slug == d)
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| d.clone())
            })
            .collect();
        out.push(t!(lang, "benefits-rule-districts", list = list.join("، ")));
    }
    match (r.min_age, r.max_age) {
        (Some(min), Some(max)) => out.push(t!(lang, "benefits-rule-age", min = min, max = max)),
        (Some(min), None) => out.push(t!(lang, "benefits-rule-age-min", min = min)),
        (None, Some(max)) => out.push(t!(lang, "benefits-rule-age-max", max = max)),
        (None, None) => {}
    }
    if let Some(max) = r.max_monthly_income {
        out.push(t!(lang, "benefits-rule-income", max = rupees(max)));
    }
    if let Some(min) = r.min_dependants {
        out.push(t!(lang, "benefits-rule-dependants", min = min));
    }
    out.push(lang.t(match f.selection.method {
        Method::Ballot => "benefits-selection-ballot",
        Method::LowestIncome => "benefits-selection-income",
        Method::MostDependants => "benefits-selection-dependants",
    }));
    out
}

// ---------------------------------------------------------------------------------------------
// Citizens

#[derive(Template)]
#[template(path = "benefit_funds.html")]
struct FundsPage {
    p: Page,
    funds: Vec<FundCard>,
}

async fn funds(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let mut cards = Vec::new();
    for f in store::funds(&state.db, None).await.or_page(lang)? {
        if f.active {
            cards.push(card(&state, &f, lang).await.or_page(lang)?);
        }
    }
    cards.sort_by_key(|c| !c.open);
    let page = FundsPage {
        p: Page::new(lang, lang.t("benefits-title"), &uri, &csrf),
        funds: cards,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct Choice {
    pub key: String,
    pub label: String,
}

pub struct DocumentField {
    pub code: String,
    pub name: String,
    pub required: bool,
    /// The token of this document as kept from a refused try: sent back with the form, it
    /// stands for the file (which then need not be chosen again).
    pub staged: String,
}

#[derive(Template)]
#[template(path = "benefit_fund.html")]
struct FundPage {
    p: Page,
    fund: FundCard,
    rules: Vec<String>,
    documents: Vec<DocumentField>,
    /// `(list SHA-256, seed, drawn)` once the ballot is published.
    draw: Option<(String, String, bool)>,
    genders: Vec<Choice>,
    grades: Vec<String>,
    districts: Vec<DistrictOption>,
    fields: Vec<Field>,
    error: Option<String>,
    v: BTreeMap<String, String>,
    /// The form's idempotency key: the application kept in a phone's outbox and sent again
    /// is filed once (the page's script draws a fresh one for each form shown).
    idempotency_key: String,
}

impl FundPage {
    fn val(&self, name: &str) -> &str {
        self.v.get(name).map(String::as_str).unwrap_or("")
    }
}

async fn fund_or_page(state: &AppState, code: &str, lang: Lang) -> Result<Fund, PageError> {
    store::fund(&state.db, code)
        .await
        .or_page(lang)?
        .filter(|f| f.active)
        .ok_or_else(|| PageError::not_found(lang))
}

async fn fund_view(
    state: &AppState,
    frame: Frame<'_>,
    f: &Fund,
    v: BTreeMap<String, String>,
    answers: &BTreeMap<String, Vec<String>>,
    error: Option<String>,
) -> Result<FundPage, PageError> {
    let Frame { lang, csrf, uri } = frame;
    let districts = district_options(state, lang, v.get("district").map(String::as_str))
        .await
        .or_page(lang)?;
    let draw = select::published(&state.db, f.id)
        .await
        .or_page(lang)?
        .map(|d| (d.list_sha256, d.seed, d.result.is_some()));
    Ok(FundPage {
        p: Page::new(lang, f.name.get(lang).to_owned(), uri, csrf),
        fund: card(state, f, lang).await.or_page(lang)?,
        rules: rules_text(lang, f, &districts),
        documents: f
            .documents
            .iter()
            .map(|d| DocumentField {
                staged: v
                    .get(&format!("staged:{}", d.code))
                    .cloned()
                    .unwrap_or_default(),
                code: d.code.clone(),
                name: d.name.get(lang).to_owned(),
                required: d.required,
            })
            .collect(),
        draw,
        genders: crate::benefits::model::GENDERS
            .iter()
            .map(|g| Choice {
                key: (*g).into(),
                label: lang.t(&format!("benefits-gender-{g}")),
            })
            .collect(),
        grades: f.entitlement.grades(),
        districts,
        fields: form_fields(&f.questions, lang, answers),
        error,
        v,
        idempotency_key: uuid::Uuid::new_v4().simple().to_string(),
    })
}

async fn fund_page(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let f = fund_or_page(&state, &code, lang).await?;
    let page = fund_view(
        &state,
        Frame::new(lang, &csrf, &uri),
        &f,
        BTreeMap::new(),
        &BTreeMap::new(),
        None,
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// `POST /benefits/{code}/apply`: the form (multipart: fields and a photo per document). On
/// success, the slip; on a problem, the form again, filled in, with the problem named.
async fn apply_submit(
    State(state): State<AppState>,
    _: PublicWrite,
    headers: axum::http::HeaderMap,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let f = fund_or_page(&state, &code, lang).await?;
    let sent = super::read_checked(&csrf, form, state.config.max_photo_bytes, lang).await?;
    let digest = sent.digest(&["csrf", "idempotency_key"]);
    let field = |k: &str| {
        sent.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &sent.fields {
        if let Some(code) = k
            .strip_prefix("attribute[")
            .and_then(|c| c.strip_suffix(']'))
        {
            answers.entry(code.to_owned()).or_default().push(v.clone());
        }
    }
    let typed: BTreeMap<String, String> = sent
        .fields
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("attribute[")
                && *k != "csrf"
                && *k != "idempotency_key"
                && !k.starts_with("staged:")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // The documents: each one sent now, or kept from a try the server refused (`staged:CODE`
    // names it), so a citizen on 2G never uploads the same photo twice.
    let mut documents = Vec::new();
    for (name, bytes) in sent.files {
        let Some(code) = name.strip_prefix("document:") else {
            continue;
        };
        match files::encode(bytes, state.config.photo_max_side).await {
            Ok(e) => documents.push((code.to_owned(), e)),
            Err(e) => {
                let page = fund_view(
                    &state,
                    Frame::new(lang, &csrf, &uri),
                    &f,
                    typed,
                    &answers,
                    Some(e.into_error(lang, state.config.max_photo_bytes).message()),
                )
                .await?;
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page));
            }
        }
    }
    for d in &f.documents {
        if documents.iter().any(|(c, _)| c == &d.code) {
            continue;
        }
        let token = sent
            .fields
            .get(&format!("staged:{}", d.code))
            .map(|t| t.trim().to_owned())
            .unwrap_or_default();
        if let Some(e) = files::staged(&state.db, &state.files, files::Area::Documents, &token)
            .await
            .or_page(lang)?
        {
            documents.push((d.code.clone(), e));
        }
    }
    // Refused: the page again, with what was typed and every document kept for the next try.
    let again = |error: String| {
        let (state, csrf, uri, f, answers, documents) =
            (&state, &csrf, &uri, &f, &answers, &documents);
        let mut typed = typed.clone();
        async move {
            for (code, e) in documents {
                let token = files::stage(&state.db, &state.files, files::Area::Documents, e)
                    .await
                    .or_page(lang)?;
                typed.insert(format!("staged:{code}"), token);
            }
            let page = fund_view(
                state,
                Frame { lang, csrf, uri },
                f,
                typed,
                answers,
                Some(error),
            )
            .await?;
            Ok::<Response, PageError>(render(StatusCode::UNPROCESSABLE_ENTITY, csrf, &page))
        }
    };
    let income = match crate::benefits::model::parse_rupees(&field("monthly_income")) {
        Some(p) => p,
        None => return again(lang.t("benefit-err-income")).await,
    };
    let dependants = match crate::platform::text::typed_number(&field("dependants"))
        .trim()
        .parse::<i64>()
    {
        Ok(d) => d,
        Err(_) if field("dependants").is_empty() => 0,
        Err(_) => return again(lang.t("benefit-err-dependants")).await,
    };
    let input = ApplicationIn {
        cnic: field("cnic"),
        name: field("name"),
        guardian_name: field("guardian_name"),
        gender: field("gender"),
        birth_date: field("birth_date"),
        district: field("district"),
        phone: Some(field("phone")),
        address: field("address"),
        monthly_income: income,
        dependants,
        grade: field("grade"),
        bank_account: Some(field("bank_account")),
        answers: answers.clone(),
    };
    // Staff entering a walk-in applicant's form at the desk use the same page, logged in.
    let desk = match crate::platform::identity::session_cookie(&headers) {
        Some(token) => crate::platform::identity::session_staff(&state.db, token)
            .await
            .or_page(lang)?
            .filter(|s| crate::benefits::in_department(s, f.department_id)),
        None => None,
    };
    if let Some(Scope::Department {
        district: Some(d), ..
    }) = desk.as_ref().map(|s| &s.scope)
    {
        if d != &input.district {
            return again(lang.t("benefit-err-other-district")).await;
        }
    }
    let (channel, actor) = match &desk {
        Some(s) => ("staff", s.actor()),
        None => ("web", "citizen:web".to_owned()),
    };
    // Sent again from the phone's outbox (the first answer lost on 2G): the first receipt.
    let key = field("idempotency_key");
    let key = (!key.is_empty() && key.len() <= 200).then_some(key);
    let idempotency = key.as_deref().map(|k| ("benefits-web", k, digest.as_str()));
    match apply::apply(
        &state,
        &f,
        &input,
        &documents,
        channel,
        &actor,
        idempotency,
        lang,
    )
    .await
    {
        Ok(receipt) => Ok(Redirect::to(&format!("{}?new=1", receipt.slip)).into_response()),
        Err(
            e @ (Error::BadRequest(_)
            | Error::Conflict(_)
            | Error::Unprocessable(_)
            | Error::TooLarge(_)),
        ) => again(e.message()).await,
        Err(e) => Err(PageError { error: e, lang }),
    }
}

#[derive(Template)]
#[template(path = "benefit_slip.html")]
struct SlipPage {
    p: Page,
    fresh: bool,
    reference: String,
    fund: String,
    name: String,
    cnic: String,
    submitted: String,
    status: String,
    reasons: Vec<String>,
    qr: String,
    link: String,
    sms: String,
}

#[derive(serde::Deserialize)]
struct NewQuery {
    new: Option<String>,
}

/// The applicant's slip: print it or keep it on the phone. Its address is random; it shows the
/// CNIC masked.
async fn slip(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let a = store::application_by_token(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let f = store::fund_by_id(&state.db, a.fund_id)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let owed = ledger::owed(&state.db, a.id).await.or_page(lang)?;
    let base = state.config.base_url(&headers);
    let link = format!("{base}/benefits/status?reference={}", a.reference);
    let page = SlipPage {
        p: Page::new(lang, lang.t("benefits-slip-title"), &uri, &csrf),
        fresh: q.new.is_some(),
        qr: super::qr::svg(&link, &lang.t("benefits-slip-qr")).unwrap_or_default(),
        link,
        sms: t!(
            lang,
            "benefits-slip-sms",
            command = format!("GRANT {}", a.reference)
        ),
        fund: f.name.get(lang).to_owned(),
        name: a.name.clone(),
        cnic: crate::platform::personal::Cnic::parse(&a.cnic)
            .map(|c| c.masked())
            .unwrap_or_default(),
        submitted: format::datetime(lang, a.submitted_at),
        status: apply::status_text(lang, &a.status, owed),
        reasons: apply::reasons(&a.reasons, lang),
        reference: a.reference,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "benefit_status.html")]
struct StatusPage {
    p: Page,
    reference: String,
    result: Option<apply::Status>,
    error: Option<String>,
}

impl StatusPage {
    fn rupees(&self, paisa: &i64) -> String {
        rupees(*paisa)
    }
}

#[derive(serde::Deserialize)]
struct ReferenceQuery {
    reference: Option<String>,
}

async fn status_form(Here { lang, csrf, uri }: Here, Query(q): Query<ReferenceQuery>) -> Response {
    let page = StatusPage {
        p: Page::new(lang, lang.t("benefits-status-title"), &uri, &csrf),
        reference: q.reference.unwrap_or_default(),
        result: None,
        error: None,
    };
    render(StatusCode::OK, &csrf, &page)
}

/// The status check: a POST, so that the CNIC never sits in an address or a log.
async fn status_check(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let reference = form.get("reference").cloned().unwrap_or_default();
    let cnic = form.get("cnic").cloned().unwrap_or_default();
    let result = apply::status(&state, &reference, &cnic, lang)
        .await
        .or_page(lang)?;
    let (status, error) = match &result {
        Some(_) => (StatusCode::OK, None),
        None => (
            StatusCode::NOT_FOUND,
            Some(lang.t("benefit-err-status-not-found")),
        ),
    };
    let page = StatusPage {
        p: Page::new(lang, lang.t("benefits-status-title"), &uri, &csrf),
        reference,
        result,
        error,
    };
    Ok(render(status, &csrf, &page))
}

// ---------------------------------------------------------------------------------------------
// Staff

fn department_of(staff: &Staff) -> Option<i64> {
    match &staff.scope {
        Scope::All => None,
        Scope::Department { department_id, .. } => Some(*department_id),
    }
}

#[derive(Template)]
#[template(path = "staff_benefits.html")]
struct StaffFundsPage {
    p: Page,
    funds: Vec<FundCard>,
}

async fn staff_funds(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let mut cards = Vec::new();
    for f in store::funds(&state.db, department_of(&staff))
        .await
        .or_page(lang)?
    {
        cards.push(card(&state, &f, lang).await.or_page(lang)?);
    }
    let page = StaffFundsPage {
        p: staff_page(
            &state,
            lang,
            lang.t("benefits-staff-title"),
            &uri,
            &csrf,
            &staff,
        ),
        funds: cards,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct AppRow {
    pub reference: String,
    pub name: String,
    pub district: String,
    pub income: String,
    pub dependants: i64,
    pub status: String,
    pub status_key: String,
    pub rank: String,
}

#[derive(Template)]
#[template(path = "staff_benefit_fund.html")]
struct StaffFundPage {
    p: Page,
    fund: FundCard,
    ballot: bool,
    draw: Option<select::Draw>,
    apps: Vec<AppRow>,
    counts: Vec<(String, String, usize)>,
    status: String,
    batches: Vec<disburse::Batch>,
    reconciliation: Option<disburse::Reconciliation>,
    /// The fund's single-choice questions its figures can be broken down by: (code, link text).
    dimensions: Vec<(String, String)>,
}

impl StaffFundPage {
    fn rupees(&self, paisa: &i64) -> String {
        rupees(*paisa)
    }
}

#[derive(serde::Deserialize)]
struct StatusFilter {
    status: Option<String>,
}

async fn own_fund(
    state: &AppState,
    staff: &Staff,
    code: &str,
    lang: Lang,
) -> Result<Fund, PageError> {
    store::fund(&state.db, code)
        .await
        .or_page(lang)?
        .filter(|f| crate::benefits::in_department(staff, f.department_id))
        .ok_or_else(|| PageError::not_found(lang))
}

async fn staff_fund_view(
    state: &AppState,
    staff: &Staff,
    frame: Frame<'_>,
    f: &Fund,
    status: String,
    reconciliation: Option<disburse::Reconciliation>,
) -> Result<StaffFundPage, PageError> {
    let Frame { lang, csrf, uri } = frame;
    let district = match &staff.scope {
        Scope::Department {
            district: Some(d), ..
        } => Some(d.clone()),
        _ => None,
    };
    let all = store::applications(&state.db, f.id, district.as_deref(), None)
        .await
        .or_page(lang)?;
    let mut counts: Vec<(String, String, usize)> = Vec::new();
    for s in [
        "ineligible",
        "eligible",
        "verified",
        "rejected",
        "selected",
        "waitlisted",
    ] {
        let n = all.iter().filter(|a| a.status == s).count();
        counts.push((s.to_owned(), lang.t(&format!("benefit-status-{s}")), n));
    }
    let mut apps: Vec<_> = all
        .into_iter()
        .filter(|a| status.is_empty() || a.status == status)
        .collect();
    apps.sort_by_key(|a| (a.draw_rank.unwrap_or(i64::MAX), a.submitted_at));
    Ok(StaffFundPage {
        p: staff_page(state, lang, f.name.get(lang).to_owned(), uri, csrf, staff),
        fund: card(state, f, lang).await.or_page(lang)?,
        ballot: f.selection.method == Method::Ballot,
        draw: select::published(&state.db, f.id).await.or_page(lang)?,
        apps: apps
            .into_iter()
            .map(|a| AppRow {
                status: if a.status == "selected" {
                    lang.t("benefits-selected")
                } else {
                    lang.t(&format!("benefit-status-{}", a.status))
                },
                status_key: a.status,
                reference: a.reference,
                name: a.name,
                district: a.district.unwrap_or_default(),
                income: rupees(a.monthly_income),
                dependants: a.dependants,
                rank: a.draw_rank.map(|r| r.to_string()).unwrap_or_default(),
            })
            .collect(),
        counts,
        status,
        batches: disburse::batches(&state.db, f.id).await.or_page(lang)?,
        reconciliation,
        dimensions: crate::benefits::report::dimensions(f)
            .into_iter()
            .filter_map(|code| {
                let q = f.questions.iter().find(|q| q.code == code)?;
                let label = t!(
                    lang,
                    "benefits-report-by-answer",
                    question = q.description.get(lang)
                );
                Some((code, label))
            })
            .collect(),
    })
}

async fn staff_fund(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    Query(q): Query<StatusFilter>,
) -> Result<Response, PageError> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let page = staff_fund_view(
        &state,
        &staff,
        Frame::new(lang, &csrf, &uri),
        &f,
        q.status.unwrap_or_default(),
        None,
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// The fund's buttons: publish the draw, draw, select, open a batch.
async fn staff_fund_action(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let f = own_fund(&state, &staff, &code, lang).await?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let back = format!("/staff/benefits/{code}");
    match get("action").as_str() {
        "publish" => {
            let seed = get("seed");
            select::publish(&state, &staff, &f, Some(&seed), lang)
                .await
                .or_page(lang)?;
        }
        "draw" => {
            select::perform(&state, &staff, &f, lang)
                .await
                .or_page(lang)?;
        }
        "select" => {
            select::select(&state, &staff, &f, lang)
                .await
                .or_page(lang)?;
        }
        "batch" => {
            let count = get("control_count").parse().unwrap_or(0);
            let total = crate::benefits::model::parse_rupees(&get("control_total")).unwrap_or(0);
            let b = disburse::create(
                &state,
                &staff,
                &f,
                &disburse::BatchIn {
                    control_count: count,
                    control_total: total,
                    note: get("note"),
                },
                lang,
            )
            .await
            .or_page(lang)?;
            return Ok(Redirect::to(&format!("/staff/benefits/batches/{}", b.id)).into_response());
        }
        _ => return Err(PageError::not_found(lang)),
    }
    Ok(Redirect::to(&back).into_response())
}

/// Upload the bank's statement; the page shows what matched and what did not.
async fn staff_reconcile(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_checked(&csrf, form, 20 * 1024 * 1024, lang).await?;
    let f = own_fund(&state, &staff, &code, lang).await?;
    let statement = sent
        .files
        .into_iter()
        .find(|(n, _)| n == "statement")
        .map(|(_, b)| b)
        .ok_or_else(|| PageError {
            error: Error::BadRequest(t!(lang, "err-missing-param", name = "statement")),
            lang,
        })?;
    let report = disburse::reconcile(&state, &staff, &f, &statement, lang)
        .await
        .or_page(lang)?;
    let page = staff_fund_view(
        &state,
        &staff,
        Frame::new(lang, &csrf, &uri),
        &f,
        String::new(),
        Some(report),
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "staff_benefit_application.html")]
struct StaffApplicationPage {
    p: Page,
    fund_code: String,
    a: store::Application,
    cnic: String,
    phone: String,
    status: String,
    gender: String,
    income: String,
    reasons: Vec<String>,
    answers: Vec<(String, String)>,
    documents: Vec<(i64, String)>,
    /// The fund's document codes and names, for adding one.
    kinds: Vec<(String, String)>,
    entitled: String,
    paid: String,
    submitted: String,
    history: Vec<(String, String, String)>,
}

async fn staff_application(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let a = apply::visible(&state, &staff, &reference)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let owed = ledger::owed(&state.db, a.id).await.or_page(lang)?;
    let fund = store::fund_by_id(&state.db, a.fund_id)
        .await
        .or_page(lang)?;
    let questions = fund
        .as_ref()
        .map(|f| f.questions.as_slice())
        .unwrap_or_default();
    let answers = crate::platform::questions::labelled(questions, &a.answers, lang);
    let history = crate::platform::audit::history(&state.db, "benefit_application", &a.reference)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|e| (format::datetime(lang, e.at), e.action, e.actor))
        .collect();
    let page = StaffApplicationPage {
        p: staff_page(&state, lang, a.reference.clone(), &uri, &csrf, &staff),
        fund_code: a.fund_code.clone(),
        cnic: crate::platform::personal::Cnic::parse(&a.cnic)
            .map(|c| c.formatted())
            .unwrap_or_default(),
        phone: a
            .phone
            .as_deref()
            .and_then(crate::platform::personal::Phone::parse)
            .map(|p| p.e164().to_owned())
            .unwrap_or_default(),
        status: lang.t(&format!("benefit-status-{}", a.status)),
        gender: lang.t(&format!("benefits-gender-{}", a.gender)),
        income: rupees(a.monthly_income),
        reasons: apply::reasons(&a.reasons, lang),
        answers,
        documents: apply::documents(&state.db, a.id).await.or_page(lang)?,
        kinds: fund
            .as_ref()
            .map(|f| {
                f.documents
                    .iter()
                    .map(|d| (d.code.clone(), d.name.get(lang).to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        entitled: rupees(owed.entitled),
        paid: rupees(owed.paid),
        submitted: format::datetime(lang, a.submitted_at),
        history,
        a,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn staff_verify(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(reference): Path<String>,
    FormPost(_, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let accept = form.get("decision").map(String::as_str) == Some("verify");
    let note = form.get("note").cloned().unwrap_or_default();
    apply::verify(&state, &staff, &reference, accept, &note, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/staff/benefits/applications/{reference}")).into_response())
}

/// A document brought to the office later: its photo, added to the application, which is
/// then assessed again.
async fn staff_add_document(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    csrf: Csrf,
    Path(reference): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_checked(&csrf, form, state.config.max_photo_bytes, lang).await?;
    let kind = sent.fields.get("kind").cloned().unwrap_or_default();
    let bytes = sent
        .files
        .into_iter()
        .find(|(n, _)| n == "file")
        .map(|(_, b)| b)
        .ok_or_else(|| PageError {
            error: Error::BadRequest(t!(lang, "err-missing-param", name = "file")),
            lang,
        })?;
    let photo = files::encode(bytes, state.config.photo_max_side)
        .await
        .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))
        .or_page(lang)?;
    apply::add_document(&state, &staff, &reference, kind.trim(), photo, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/staff/benefits/applications/{reference}")).into_response())
}

/// A document's photo, for the staff who may see its application; never cached elsewhere.
async fn staff_document(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let bytes = apply::document_photo(&state, &staff, id)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => PageError::not_found(lang),
            other => PageError { error: other, lang },
        })?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "staff_benefit_batch.html")]
struct StaffBatchPage {
    p: Page,
    fund_code: String,
    status: String,
    b: disburse::Batch,
    payments: Vec<disburse::Payment>,
    selected: Vec<(String, String)>,
}

impl StaffBatchPage {
    fn rupees(&self, paisa: &i64) -> String {
        rupees(*paisa)
    }
}

async fn staff_batch(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (b, f) = disburse::visible(&state, &staff, id)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    // An officer of one district sees that district's payees only.
    let district = match &staff.scope {
        Scope::Department {
            district: Some(d), ..
        } => Some(d.clone()),
        _ => None,
    };
    let payments: Vec<_> = disburse::payments(&state.db, id)
        .await
        .or_page(lang)?
        .into_iter()
        .filter(|p| staff.scope.allows(f.department_id, p.district.as_deref()))
        .collect();
    let selected = store::applications(&state.db, f.id, district.as_deref(), Some("selected"))
        .await
        .or_page(lang)?
        .into_iter()
        .map(|a| (a.reference, a.name))
        .collect();
    let page = StaffBatchPage {
        p: staff_page(&state, lang, b.reference.clone(), &uri, &csrf, &staff),
        fund_code: f.code,
        status: lang.t(&format!("benefits-batch-{}", b.status)),
        b,
        payments,
        selected,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// A batch's buttons: add or remove a payment, submit, approve, reject.
async fn staff_batch_action(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    match get("action").as_str() {
        "add" => {
            let amount =
                crate::benefits::model::parse_rupees(&get("amount")).ok_or_else(|| PageError {
                    error: Error::BadRequest(lang.t("benefit-err-amount")),
                    lang,
                })?;
            let reference = get("reference");
            disburse::add_payment(
                &state,
                &staff,
                id,
                &disburse::PaymentIn {
                    application: get("application"),
                    amount,
                    instrument: get("instrument"),
                    reference: (!reference.is_empty()).then_some(reference),
                },
                lang,
            )
            .await
            .or_page(lang)?;
        }
        "remove" => {
            let payment = get("payment").parse().unwrap_or(0);
            disburse::remove_payment(&state, &staff, id, payment, lang)
                .await
                .or_page(lang)?;
        }
        "submit" => {
            disburse::submit(&state, &staff, id, lang)
                .await
                .or_page(lang)?;
        }
        "approve" | "reject" => {
            let approve = get("action") == "approve";
            disburse::decide(&state, &staff, id, approve, &get("note"), lang)
                .await
                .or_page(lang)?;
        }
        _ => return Err(PageError::not_found(lang)),
    }
    Ok(Redirect::to(&format!("/staff/benefits/batches/{id}")).into_response())
}
