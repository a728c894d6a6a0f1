//! Cases pages for staff: the workflows one works in (with the overdue cases one's office has
//! been told about), a workflow's cases with their pendency, a case with its timeline and the
//! steps one may take now, attachments, and a printable document with its QR code.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::cases::pendency;
use crate::cases::run::{self, Attachment, Step};
use crate::cases::workflow::{Datatype, Workflow};
use crate::platform::db::query;
use crate::platform::i18n::Lang;
use crate::platform::identity::{Scope, Staff};
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify/{token}", get(verify_page))
        .route("/cases/{workflow}/apply", get(apply_form).post(apply))
        .route("/cases/{workflow}/lookup", get(lookup_form).post(lookup))
        .route("/staff/cases", get(workflows))
        .route("/staff/cases/attachments/{id}", get(attachment))
        .route("/staff/cases/documents/{number}", get(document))
        .route("/staff/cases/{workflow}", get(cases).post(open))
        .route(
            "/staff/cases/{workflow}/{reference}",
            get(case)
                .post(step)
                .layer(DefaultBodyLimit::max(60 * 1024 * 1024)),
        )
}

fn label(w: &Workflow, lang: Lang, state: &str) -> String {
    w.state
        .iter()
        .find(|s| s.code == state)
        .map(|s| s.name.get(lang).to_owned())
        .unwrap_or_else(|| state.to_owned())
}

pub struct WorkflowCard {
    pub code: String,
    pub name: String,
    pub open: usize,
    pub overdue: usize,
}

#[derive(Template)]
#[template(path = "staff_cases.html")]
struct WorkflowsPage {
    p: Page,
    workflows: Vec<WorkflowCard>,
    notices: Vec<(String, String, String, String)>,
}

async fn department_slug(state: &AppState, staff: &Staff) -> Result<Option<String>, sqlx::Error> {
    match &staff.scope {
        Scope::All => Ok(None),
        Scope::Department { department_id, .. } => Ok(state
            .db
            .fetch_optional::<(String,)>(
                query("SELECT slug FROM departments WHERE id = $1").bind(*department_id),
            )
            .await?
            .map(|(s,)| s)),
    }
}

async fn workflows(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let workflows = crate::cases::workflows(&state.db).await.or_page(lang)?;
    let mut cards = Vec::new();
    let mut names = HashMap::new();
    for w in workflows {
        let code = w.code.clone();
        names.insert(code.clone(), w.clone());
        let a = run::actor_in(&state.db, &staff, &w).await.or_page(lang)?;
        if !a.everywhere && a.roles.is_empty() {
            continue;
        }
        let list = run::list(&state, &staff, &code, None).await.or_page(lang)?;
        let open: Vec<_> = list
            .iter()
            .filter(|c| !w.state.iter().any(|s| s.code == c.state && s.terminal))
            .collect();
        cards.push(WorkflowCard {
            name: w.name.get(lang).to_owned(),
            overdue: open.iter().filter(|c| c.overdue).count(),
            open: open.len(),
            code,
        });
    }
    let mut notices = Vec::new();
    if let Some(dept) = department_slug(&state, &staff).await.or_page(lang)? {
        for (reference, workflow, st, at) in
            pendency::notices(&state.db, &dept).await.or_page(lang)?
        {
            let state_name = names
                .get(&workflow)
                .map(|w| label(w, lang, &st))
                .unwrap_or(st);
            notices.push((workflow, reference, state_name, format::date(lang, at)));
        }
    }
    let page = WorkflowsPage {
        p: staff_page(&state, lang, lang.t("cases-title"), &uri, &csrf, &staff),
        workflows: cards,
        notices,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct CaseRow {
    pub reference: String,
    pub state: String,
    pub district: String,
    pub since: String,
    pub overdue: bool,
}

/// A field of a form, drawn by its type.
pub struct Input {
    pub code: String,
    pub label: String,
    /// `text`, `textarea`, `number`, `date`, `select`, `cnic`, `phone`
    pub kind: &'static str,
    pub required: bool,
    pub values: Vec<String>,
    pub value: String,
}

fn input(w: &Workflow, lang: Lang, code: &str, required: bool, value: &str) -> Option<Input> {
    let f = w.field.iter().find(|f| f.code == code)?;
    Some(Input {
        code: f.code.clone(),
        label: f.label.get(lang).to_owned(),
        kind: match f.datatype {
            Datatype::String => "text",
            Datatype::Text => "textarea",
            Datatype::Number => "number",
            Datatype::Date => "date",
            Datatype::List => "select",
            Datatype::Cnic => "cnic",
            Datatype::Phone => "phone",
        },
        required,
        values: f.values.clone(),
        value: value.to_owned(),
    })
}

#[derive(Template)]
#[template(path = "staff_case_list.html")]
struct CasesPage {
    p: Page,
    code: String,
    cases: Vec<CaseRow>,
    chart: String,
    /// Fields of the form that opens a case, if the caller may open one.
    open_form: Option<Vec<Input>>,
    districts: Vec<super::fields::DistrictOption>,
    fixed_district: bool,
}

#[derive(serde::Deserialize)]
struct StateFilter {
    state: Option<String>,
}

async fn cases(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    Query(q): Query<StateFilter>,
) -> Result<Response, PageError> {
    let w = run::workflow_or_404(&state.db, &code).await.or_page(lang)?;
    let a = run::actor_in(&state.db, &staff, &w).await.or_page(lang)?;
    let list = run::list(
        &state,
        &staff,
        &code,
        q.state.as_deref().filter(|s| !s.is_empty()),
    )
    .await
    .or_page(lang)?;
    let rows = pendency::report(&state.db, &w, pendency::By::State, a.district.as_deref())
        .await
        .or_page(lang)?;
    let bars: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (label(&w, lang, &r.key), r.open))
        .collect();
    let open_form = a.roles.iter().any(|r| w.creators.contains(r)).then(|| {
        w.field
            .iter()
            .filter_map(|f| input(&w, lang, &f.code, f.required, ""))
            .collect()
    });
    let page = CasesPage {
        p: staff_page(
            &state,
            lang,
            w.name.get(lang).to_owned(),
            &uri,
            &csrf,
            &staff,
        ),
        chart: super::charts::bars(&bars, lang.is_rtl(), &lang.t("cases-pending-by-state")),
        cases: list
            .into_iter()
            .rev()
            .map(|c| CaseRow {
                state: label(&w, lang, &c.state),
                district: c.district.unwrap_or_default(),
                since: format::datetime(lang, c.state_since),
                overdue: c.overdue,
                reference: c.reference,
            })
            .collect(),
        open_form,
        districts: super::fields::district_options(&state, lang, a.district.as_deref())
            .await
            .or_page(lang)?,
        fixed_district: a.district.is_some(),
        code,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// Open a case from the form.
async fn open(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let fields = crate::cases::form_fields(&form);
    let c = run::create(
        &state,
        &staff,
        &code,
        form.get("district").map(String::as_str),
        &fields,
    )
    .await
    .or_page(lang)?;
    Ok(Redirect::to(&format!("/staff/cases/{code}/{}", c.reference)).into_response())
}

pub struct StepForm {
    pub code: String,
    pub label: String,
    pub to: String,
    pub approval: bool,
    pub inputs: Vec<Input>,
    pub attachments: Vec<String>,
}

pub struct TimelineItem {
    pub at: String,
    pub who: String,
    pub step: String,
    pub to: String,
    pub note: String,
    pub attachments: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "staff_case.html")]
struct CasePage {
    p: Page,
    code: String,
    reference: String,
    version: i64,
    state: String,
    overdue: bool,
    district: String,
    facts: Vec<(String, String, bool)>,
    timeline: Vec<TimelineItem>,
    documents: Vec<(String, String, bool)>,
    steps: Vec<StepForm>,
    /// Given to the case's owner, who follows the case in public with it.
    check_code: String,
}

async fn case(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path((code, reference)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let w = run::workflow_or_404(&state.db, &code).await.or_page(lang)?;
    let a = run::actor_in(&state.db, &staff, &w).await.or_page(lang)?;
    let (c, events, documents) = run::show(&state, &staff, &code, &reference)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let attachments: Vec<(i64, i64, String)> = state
        .db
        .fetch_all(
            query(
                "SELECT t.id, t.event_id, t.kind FROM case_attachments t JOIN cases c ON c.id = t.case_id \
                 WHERE c.reference = $1 ORDER BY t.id",
            )
            .bind(&reference),
        )
        .await
        .or_page(lang)?;
    let event_ids: Vec<(i64,)> = state
        .db
        .fetch_all(
            query(
                "SELECT e.id FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference = $1 ORDER BY e.id",
            )
            .bind(&reference),
        )
        .await
        .or_page(lang)?;
    let step_label = |t: &str| {
        w.transition
            .iter()
            .find(|x| x.code == t)
            .map(|x| x.label.get(lang).to_owned())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| lang.t("cases-opened"))
    };
    let timeline = events
        .iter()
        .zip(event_ids.iter())
        .map(|(e, (id,))| TimelineItem {
            at: format::datetime(lang, e.at),
            who: format!(
                "{} · {} · {}{}",
                e.actor,
                w.role
                    .iter()
                    .find(|r| r.code == e.role)
                    .map(|r| r.name.get(lang).to_owned())
                    .unwrap_or_else(|| e.role.clone()),
                e.department,
                e.district
                    .as_deref()
                    .map(|d| format!(" · {d}"))
                    .unwrap_or_default()
            ),
            step: step_label(&e.transition),
            to: label(&w, lang, &e.to_state),
            note: e.note.clone(),
            attachments: attachments
                .iter()
                .filter(|(_, ev, _)| ev == id)
                .map(|(aid, _, kind)| (*aid, kind.clone()))
                .collect(),
        })
        .collect();
    let facts = w
        .field
        .iter()
        .filter_map(|f| {
            c.fields.get(&f.code).map(|v| {
                let shown = match f.datatype {
                    Datatype::Cnic => crate::platform::personal::Cnic::parse(v)
                        .map(|x| x.formatted())
                        .unwrap_or_else(|| v.clone()),
                    _ => v.clone(),
                };
                (
                    f.label.get(lang).to_owned(),
                    shown,
                    c.locked_fields.contains(&f.code),
                )
            })
        })
        .collect();
    let steps = w
        .transition
        .iter()
        .filter(|t| t.from.contains(&c.state) && a.roles.iter().any(|r| t.roles.contains(r)))
        .map(|t| StepForm {
            code: t.code.clone(),
            label: t.label.get(lang).to_owned(),
            to: label(&w, lang, &t.to),
            approval: t.approval,
            inputs: t
                .fields
                .iter()
                .filter_map(|f| {
                    input(
                        &w,
                        lang,
                        f,
                        true,
                        c.fields.get(f).map(String::as_str).unwrap_or(""),
                    )
                })
                .collect(),
            attachments: t.attachments.clone(),
        })
        .collect();
    let page = CasePage {
        p: staff_page(&state, lang, c.reference.clone(), &uri, &csrf, &staff),
        code,
        state: label(&w, lang, &c.state),
        overdue: c.overdue,
        district: c.district.clone().unwrap_or_default(),
        version: c.version,
        facts,
        timeline,
        documents: documents
            .into_iter()
            .map(|d| (d.number, d.kind, d.cancelled_at.is_some()))
            .collect(),
        steps,
        reference,
        check_code: c.check_code.clone(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// Take a step from the case page (multipart: the step's fields and photos).
async fn step(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    csrf: Csrf,
    Path((code, reference)): Path<(String, String)>,
    form: Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_checked(&csrf, form, state.config.max_photo_bytes, lang).await?;
    let get = |k: &str| {
        sent.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut attachments = Vec::new();
    for (name, bytes) in sent.files.clone() {
        let Some(kind) = name.strip_prefix("attachment:") else {
            continue;
        };
        let photo = crate::platform::files::encode(bytes, state.config.photo_max_side)
            .await
            .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))
            .or_page(lang)?;
        attachments.push(Attachment {
            kind: kind.to_owned(),
            photo,
            at: match (get("lat").parse::<f64>(), get("long").parse::<f64>()) {
                (Ok(la), Ok(lo)) => Some((la, lo)),
                _ => None,
            },
        });
    }
    let s = Step {
        transition: get("step"),
        version: get("version").parse().unwrap_or(0),
        fields: crate::cases::form_fields(&sent.fields),
        note: get("note"),
        attachments,
    };
    run::act(&state, &staff, &code, &reference, s)
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/staff/cases/{code}/{reference}")).into_response())
}

/// An attachment's photo, for staff who may see its case.
async fn attachment(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let row: Option<(String, String, String)> = state
        .db
        .fetch_optional(
            query(
                "SELECT c.workflow, c.reference, p.sha256 FROM case_attachments t \
                 JOIN cases c ON c.id = t.case_id JOIN photos p ON p.id = t.photo_id WHERE t.id = $1",
            )
            .bind(id),
        )
        .await
        .or_page(lang)?;
    let (workflow, reference, sha) = row.ok_or_else(|| PageError::not_found(lang))?;
    run::show(&state, &staff, &workflow, &reference)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let bytes = state
        .files
        .get(crate::platform::files::Area::Documents, &sha, "image/jpeg")
        .await
        .ok()
        .flatten()
        .ok_or_else(|| PageError::not_found(lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "staff_case_document.html")]
struct DocumentPage {
    p: Page,
    number: String,
    body: String,
    issued: String,
    cancelled: bool,
    qr: String,
    link: String,
}

/// A document, printable, with the QR code of its verification page.
async fn document(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    headers: HeaderMap,
    Here { lang, csrf, uri }: Here,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let row: Option<(String, String, String)> = state
        .db
        .fetch_optional(
            query(
                "SELECT c.workflow, c.reference, d.token FROM case_documents d JOIN cases c ON c.id = d.case_id \
                 WHERE d.number = $1",
            )
            .bind(&number),
        )
        .await
        .or_page(lang)?;
    let (workflow, reference, token) = row.ok_or_else(|| PageError::not_found(lang))?;
    run::show(&state, &staff, &workflow, &reference)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let (d, title) = run::verify_document(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let base = state.config.base_url(&headers);
    let link = format!("{base}/verify/{token}");
    let page = DocumentPage {
        p: staff_page(&state, lang, title, &uri, &csrf, &staff),
        qr: super::qr::svg(&link, &lang.t("verify-title")).unwrap_or_default(),
        link,
        number: d.number,
        body: d.body,
        issued: format::date(lang, d.issued_at),
        cancelled: d.cancelled_at.is_some(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

// ---------------------------------------------------------------------------------------------
// Citizens: apply where the workflow allows it, and look a case up

/// The fields a citizen fills in: those required to open a case, and those no step asks staff
/// for.
fn citizen_inputs(w: &Workflow, lang: Lang, given: &HashMap<String, String>) -> Vec<Input> {
    w.field
        .iter()
        .filter(|f| f.required || !w.transition.iter().any(|t| t.fields.contains(&f.code)))
        .filter_map(|f| {
            let value = given
                .get(&format!("field[{}]", f.code))
                .cloned()
                .unwrap_or_default();
            input(w, lang, &f.code, f.required, &value)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "case_apply.html")]
struct ApplyPage {
    p: Page,
    code: String,
    inputs: Vec<Input>,
    districts: Vec<super::fields::DistrictOption>,
    error: Option<String>,
}

async fn citizen_workflow(state: &AppState, code: &str, lang: Lang) -> Result<Workflow, PageError> {
    run::workflow(&state.db, code)
        .await
        .or_page(lang)?
        .filter(|w| w.citizen_can_create)
        .ok_or_else(|| PageError::not_found(lang))
}

async fn apply_page(
    state: &AppState,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    w: &Workflow,
    given: &HashMap<String, String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = ApplyPage {
        p: Page::new(lang, w.name.get(lang).to_owned(), uri, csrf),
        code: w.code.clone(),
        inputs: citizen_inputs(w, lang, given),
        districts: super::fields::district_options(
            state,
            lang,
            given.get("district").map(String::as_str),
        )
        .await
        .or_page(lang)?,
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(status, csrf, &page))
}

async fn apply_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let w = citizen_workflow(&state, &code, lang).await?;
    apply_page(&state, lang, &csrf, &uri, &w, &HashMap::new(), None).await
}

async fn apply(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    Path(code): Path<String>,
    FormPost(csrf, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let w = citizen_workflow(&state, &code, lang).await?;
    // Only the fields the citizen's form asks.
    let asked: Vec<String> = citizen_inputs(&w, lang, &HashMap::new())
        .into_iter()
        .map(|i| i.code)
        .collect();
    let mut fields = crate::cases::form_fields(&form);
    fields.retain(|c, _| asked.iter().any(|a| a == c));
    match run::create_by_citizen(
        &state,
        &code,
        form.get("district").map(String::as_str),
        &fields,
    )
    .await
    {
        Ok(c) => Ok(Redirect::to(&format!(
            "/cases/{code}/lookup?reference={}&check={}&new=1",
            c.reference, c.check_code
        ))
        .into_response()),
        Err(e @ crate::platform::error::Error::BadRequest(_)) => {
            apply_page(&state, lang, &csrf, &uri, &w, &form, Some(e.message())).await
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

#[derive(Template)]
#[template(path = "case_lookup.html")]
struct LookupPage {
    p: Page,
    code: String,
    fresh: bool,
    reference: String,
    /// The check code, shown on the receipt right after a citizen opened the case.
    check: String,
    result: Option<Vec<(String, String)>>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct LookupQuery {
    reference: Option<String>,
    new: Option<String>,
    check: Option<String>,
}

async fn lookup_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    Query(q): Query<LookupQuery>,
) -> Result<Response, PageError> {
    run::workflow(&state.db, &code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let page = LookupPage {
        p: Page::new(lang, lang.t("cases-lookup-title"), &uri, &csrf),
        code,
        fresh: q.new.is_some(),
        reference: q.reference.unwrap_or_default(),
        check: q.check.unwrap_or_default(),
        result: None,
        error: None,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn lookup(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    Path(code): Path<String>,
    FormPost(csrf, form): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let w = run::workflow(&state.db, &code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let reference = form.get("reference").cloned().unwrap_or_default();
    let found = run::public(
        &state.db,
        &code,
        &reference,
        form.get("check").map(String::as_str).unwrap_or(""),
    )
    .await
    .or_page(lang)?;
    let result = found.map(|m| {
        let mut rows = vec![(
            lang.t("cases-state"),
            m.get("state").cloned().unwrap_or_default(),
        )];
        for f in &w.field {
            if let Some(v) = m.get(&f.code) {
                rows.push((f.label.get(lang).to_owned(), v.clone()));
            }
        }
        rows
    });
    let status = if result.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = LookupPage {
        p: Page::new(lang, lang.t("cases-lookup-title"), &uri, &csrf),
        error: result.is_none().then(|| lang.t("cases-lookup-not-found")),
        code,
        fresh: false,
        reference,
        check: String::new(),
        result,
    };
    Ok(render(status, &csrf, &page))
}

#[derive(askama::Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    p: super::Page,
    title: String,
    number: String,
    body: String,
    issued: String,
    cancelled: Option<(String, String)>,
}

/// The public verification of a letter or certificate: what it says, whether it stands.
async fn verify_page(
    State(state): State<AppState>,
    lang: Lang,
    csrf: Csrf,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Path(token): Path<String>,
) -> std::result::Result<Response, super::PageError> {
    let (d, title) = run::verify_document(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| super::PageError::not_found(lang))?;
    let page = VerifyPage {
        p: super::Page::new(lang, lang.t("verify-title"), &uri, &csrf),
        title,
        number: d.number,
        body: d.body,
        issued: super::format::date(lang, d.issued_at),
        cancelled: d.cancelled_at.map(|at| {
            (
                super::format::date(lang, at),
                d.cancel_reason.unwrap_or_default(),
            )
        }),
    };
    Ok(super::render(StatusCode::OK, &csrf, &page))
}
