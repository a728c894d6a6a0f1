//! Programme pages. In public: the open calls for fellows and the application form (with a CV).
//! For the programme's staff: cycles (scores, the selection with its women's quota, teams),
//! partner departments (people, MoUs with their signed document, problem statements with their
//! checks, officials trained), projects (lifecycle, milestones, hand-over checklist) and alumni.
//! Anyone else is told "not found", as with every staff page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::platform::db::query;
use crate::platform::error::Error;
use crate::platform::files;
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::state::AppState;
use crate::programme::cycles::{self, Applicant, Cycle, NewApplication, NewCycle};
use crate::programme::partners::{self, MouForm, TrainingForm};
use crate::programme::problems::{self, ProblemForm};
use crate::programme::projects::{self, ChecklistForm, ProjectForm};
use crate::programme::{self as prog, figures, Access};

/// Uploads: a CV or a signed MoU.
const UPLOAD_LIMIT: usize = 30 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/programme", get(calls))
        .route(
            "/programme/{cycle}/apply",
            get(apply_form)
                .post(apply)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/programme/{cycle}/applied", get(applied))
        .route("/staff/programme", get(overview))
        .route("/staff/programme/cycles", post(create_cycle))
        .route("/staff/programme/cycles/{cycle}", get(cycle_page))
        .route("/staff/programme/cycles/{cycle}/score/{id}", post(score))
        .route("/staff/programme/cycles/{cycle}/select", post(select))
        .route("/staff/programme/cycles/{cycle}/finalise", post(finalise))
        .route("/staff/programme/cycles/{cycle}/teams", post(create_team))
        .route("/staff/programme/cycles/{cycle}/assign/{id}", post(assign))
        .route("/staff/programme/alumni/{id}", post(availability))
        .route("/staff/programme/partners/{slug}", get(partner_page))
        .route("/staff/programme/partners/{slug}/people", post(people))
        .route(
            "/staff/programme/partners/{slug}/mous",
            post(save_mou).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            "/staff/programme/partners/{slug}/problems",
            post(add_problem),
        )
        .route(
            "/staff/programme/partners/{slug}/training",
            post(add_training),
        )
        .route("/staff/programme/projects", post(create_project))
        .route("/staff/programme/projects/{code}", get(project_page))
        .route("/staff/programme/projects/{code}/advance", post(advance))
        .route(
            "/staff/programme/projects/{code}/checklist",
            post(checklist),
        )
        .route(
            "/staff/programme/projects/{code}/milestones",
            post(add_milestone),
        )
        .route(
            "/staff/programme/projects/{code}/milestones/{id}/done",
            post(milestone_done),
        )
        .route("/staff/programme/files/{sha}", get(file))
}

type Fields = Vec<(String, String)>;

fn field(f: &Fields, name: &str) -> String {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn all(f: &Fields, name: &str) -> Vec<String> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Programme access, for a staff form (its token was checked by `FormPost`).
async fn guard(state: &AppState, staff: &Staff, lang: Lang) -> Result<Access, PageError> {
    gate(state, staff, lang).await
}

/// The caller's programme access; anyone outside the programme finds nothing here.
async fn gate(state: &AppState, staff: &Staff, lang: Lang) -> Result<Access, PageError> {
    prog::access(state, staff).map_err(|e| match e {
        Error::Forbidden(_) => PageError::not_found(lang),
        e => PageError { error: e, lang },
    })
}

fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------------------------------------
// In public: the calls and the application form.

#[derive(Template)]
#[template(path = "programme_calls.html")]
struct CallsPage {
    p: Page,
    /// (code, title, opens, closes, open now)
    calls: Vec<(String, String, String, String, bool)>,
}

async fn calls(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let today = crate::platform::clock::today();
    let calls = cycles::cycles(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .filter(|c| c.closes_on >= today.to_string())
        .map(|c| {
            let open = c.open(today);
            (c.code, c.title, c.opens_on, c.closes_on, open)
        })
        .collect();
    let page = CallsPage {
        p: Page::new(lang, lang.t("prog-calls-title"), &uri, &csrf),
        calls,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "programme_apply.html")]
struct ApplyPage {
    p: Page,
    cycle: Cycle,
    open: bool,
    done: bool,
    error: Option<String>,
    values: BTreeMap<String, String>,
    genders: Vec<(&'static str, String)>,
    roles: Vec<(&'static str, String)>,
}

impl ApplyPage {
    fn value(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
}

async fn cycle_or_404(state: &AppState, code: &str, lang: Lang) -> Result<Cycle, PageError> {
    cycles::cycle_by_code(&state.db, code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))
}

fn apply_page(
    lang: Lang,
    uri: &axum::http::Uri,
    csrf: &Csrf,
    cycle: Cycle,
    done: bool,
    error: Option<String>,
    values: BTreeMap<String, String>,
) -> ApplyPage {
    ApplyPage {
        p: Page::new(lang, cycle.title.clone(), uri, csrf),
        open: cycle.open(crate::platform::clock::today()),
        cycle,
        done,
        error,
        values,
        genders: cycles::GENDERS
            .iter()
            .map(|g| (*g, lang.t(&format!("prog-gender-{g}"))))
            .collect(),
        roles: cycles::ROLES
            .iter()
            .map(|r| (*r, lang.t(&format!("prog-role-{r}"))))
            .collect(),
    }
}

async fn apply_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let c = cycle_or_404(&state, &code, lang).await?;
    let page = apply_page(lang, &uri, &csrf, c, false, None, BTreeMap::new());
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn applied(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let c = cycle_or_404(&state, &code, lang).await?;
    let page = apply_page(lang, &uri, &csrf, c, true, None, BTreeMap::new());
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn apply(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let c = cycle_or_404(&state, &code, lang).await?;
    let sent = super::read_checked(&csrf, form, UPLOAD_LIMIT, lang).await?;
    let values: BTreeMap<String, String> = sent
        .fields
        .iter()
        .filter(|(k, _)| *k != "csrf")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let a = NewApplication {
        name: get("name"),
        gender: get("gender"),
        email: get("email"),
        phone: get("phone"),
        role: get("role"),
        skills: get("skills"),
        statement: get("statement"),
    };
    let again = |error: String, c: Cycle| {
        let page = apply_page(lang, &uri, &csrf, c, false, Some(error), values.clone());
        Ok::<Response, PageError>(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
    };
    let cv = match sent.files.into_iter().find(|(n, _)| n == "cv") {
        Some((_, bytes)) => match files::document(bytes, state.config.photo_max_side).await {
            Ok(e) => Some(e),
            Err(_) => return again(lang.t("prog-err-cv"), c),
        },
        None => None,
    };
    match cycles::apply(&state, &c, &a, cv, lang).await {
        Ok(_) => Ok(back(&format!("/programme/{}/applied", c.code))),
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_) | Error::Forbidden(_))) => {
            again(e.message(), c)
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

// ---------------------------------------------------------------------------------------------
// Staff: the overview.

pub struct CycleCard {
    pub cycle: Cycle,
    pub applications: usize,
    pub share: cycles::Share,
}

#[derive(Template)]
#[template(path = "staff_programme.html")]
struct OverviewPage {
    p: Page,
    manager: bool,
    cycles: Vec<CycleCard>,
    partners: Vec<partners::Partner>,
    projects: Vec<(projects::Project, String)>,
    teams: Vec<cycles::Team>,
    problems: Vec<problems::Problem>,
    alumni: Vec<cycles::Alumnus>,
    training: Vec<partners::Training>,
}

async fn overview(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    // Everyone on the staff sees the menu entry: say whose it is, rather than "not found".
    let access = prog::access(&state, &staff).map_err(|e| PageError {
        error: match e {
            Error::Forbidden(_) => Error::Forbidden(crate::t!(
                lang,
                "prog-err-access",
                department = state.config.programme_department.as_str()
            )),
            e => e,
        },
        lang,
    })?;
    let mut cards = Vec::new();
    for c in cycles::cycles(&state.db).await.or_page(lang)? {
        let applications = cycles::applicants(&state.db, c.id, None)
            .await
            .or_page(lang)?
            .len();
        let share = cycles::share(&state.db, &c).await.or_page(lang)?;
        cards.push(CycleCard {
            cycle: c,
            applications,
            share,
        });
    }
    let projects = projects::projects(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|p| {
            let s = lang.t(&format!("prog-state-{}", p.state));
            (p, s)
        })
        .collect();
    let mut training = partners::training(&state.db, None).await.or_page(lang)?;
    training.truncate(20);
    let page = OverviewPage {
        p: staff_page(&state, lang, lang.t("prog-title"), &uri, &csrf, &staff),
        manager: access >= Access::Manager,
        cycles: cards,
        partners: partners::partners(&state.db).await.or_page(lang)?,
        projects,
        teams: cycles::teams(&state.db, None).await.or_page(lang)?,
        problems: problems::problems(&state.db, None).await.or_page(lang)?,
        alumni: cycles::alumni(&state.db).await.or_page(lang)?,
        training,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn create_cycle(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, n): FormPost<NewCycle>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    cycles::create_cycle(&state, &staff, &n)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{}", n.code.trim())))
}

// ---------------------------------------------------------------------------------------------
// Staff: a cycle.

#[derive(Template)]
#[template(path = "staff_prog_cycle.html")]
struct CyclePage {
    p: Page,
    access: Access,
    cycle: Cycle,
    applicants: Vec<Applicant>,
    share: cycles::Share,
    percent: String,
    teams: Vec<cycles::Team>,
}

impl CyclePage {
    fn manager(&self) -> bool {
        self.access >= Access::Manager
    }
    fn admin(&self) -> bool {
        self.access >= Access::Admin
    }
    fn score(a: &Applicant) -> String {
        a.score.map(|s| format!("{s:.1}")).unwrap_or_default()
    }
    fn mine(a: &Applicant, code: &str) -> String {
        a.mine.get(code).map(|v| v.to_string()).unwrap_or_default()
    }
}

async fn cycle_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let access = gate(&state, &staff, lang).await?;
    let c = cycle_or_404(&state, &code, lang).await?;
    let share = cycles::share(&state.db, &c).await.or_page(lang)?;
    let page = CyclePage {
        p: staff_page(&state, lang, c.title.clone(), &uri, &csrf, &staff),
        access,
        applicants: cycles::applicants(&state.db, c.id, staff.user_id())
            .await
            .or_page(lang)?,
        percent: format!("{:.0}", share.percent),
        share,
        teams: cycles::teams(&state.db, Some(c.id)).await.or_page(lang)?,
        cycle: c,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn score(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path((code, id)): Path<(String, i64)>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let scores: BTreeMap<String, String> = f
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("score[")
                .and_then(|c| c.strip_suffix(']'))
                .map(|c| (c.to_owned(), v.clone()))
        })
        .collect();
    cycles::score(&state, &staff, id, &scores)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{code}#a{id}")))
}

async fn select(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let c = cycle_or_404(&state, &code, lang).await?;
    let ids: Vec<i64> = all(&f, "selected")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    cycles::select(&state, &staff, c.id, &ids)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{code}")))
}

async fn finalise(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let c = cycle_or_404(&state, &code, lang).await?;
    cycles::finalise(&state, &staff, c.id, &field(&f, "reason"))
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{code}")))
}

async fn create_team(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let c = cycle_or_404(&state, &code, lang).await?;
    cycles::create_team(&state, &staff, c.id, &field(&f, "name"))
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{code}#teams")))
}

async fn assign(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path((code, id)): Path<(String, i64)>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let team = field(&f, "team_id").trim().parse::<i64>().ok();
    cycles::assign(&state, &staff, id, team)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/cycles/{code}#a{id}")))
}

async fn availability(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    cycles::set_availability(
        &state,
        &staff,
        id,
        !field(&f, "volunteer").is_empty(),
        &field(&f, "availability"),
    )
    .await
    .or_page(lang)?;
    Ok(back("/staff/programme#alumni"))
}

// ---------------------------------------------------------------------------------------------
// Staff: a partner department.

pub struct MouView {
    pub mou: partners::Mou,
    pub status: String,
    pub in_force: bool,
    pub form: MouFields,
}

/// An MoU's form: filled in to change one (`id` > 0), blank to add one.
#[derive(Default)]
pub struct MouFields {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub signed_on: String,
    pub starts_on: String,
    pub ends_on: String,
    pub commitments: String,
}

pub struct ProblemView {
    pub problem: problems::Problem,
    /// (ok, message)
    pub checks: Vec<(bool, String)>,
}

#[derive(Template)]
#[template(path = "staff_prog_partner.html")]
struct PartnerPage {
    p: Page,
    manager: bool,
    partner: partners::Partner,
    mous: Vec<MouView>,
    problems: Vec<ProblemView>,
    training: Vec<partners::Training>,
    statuses: Vec<(&'static str, String)>,
    literacy: Vec<(&'static str, String)>,
    phone_access: Vec<(&'static str, String)>,
    channels: Vec<(&'static str, String)>,
    policies: Vec<(&'static str, String)>,
    committed: Vec<String>,
    blank: MouFields,
}

fn options(lang: Lang, prefix: &str, list: &[&'static str]) -> Vec<(&'static str, String)> {
    list.iter()
        .map(|v| (*v, lang.t(&format!("{prefix}-{v}"))))
        .collect()
}

/// A check's message in the reader's language.
pub fn check_message(lang: Lang, c: &problems::Check) -> String {
    let id = format!("prog-check-{}-{}", c.code, if c.ok { "ok" } else { "warn" });
    crate::t!(lang, &id, detail = c.detail.as_str())
}

async fn partner_or_404(
    state: &AppState,
    slug: &str,
    lang: Lang,
) -> Result<partners::Partner, PageError> {
    partners::partners(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .find(|p| p.department.slug == slug)
        .ok_or_else(|| PageError::not_found(lang))
}

async fn partner_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let access = gate(&state, &staff, lang).await?;
    let partner = partner_or_404(&state, &slug, lang).await?;
    let id = partner.department.id;
    let today = crate::platform::clock::today();
    let mous = partners::mous(&state.db, Some(id))
        .await
        .or_page(lang)?
        .into_iter()
        .map(|m| MouView {
            status: lang.t(&format!("prog-mou-{}", m.status)),
            in_force: m.in_force(today),
            form: MouFields {
                id: m.id,
                title: m.title.clone(),
                status: m.status.clone(),
                signed_on: m.signed_on.clone().unwrap_or_default(),
                starts_on: m.starts_on.clone().unwrap_or_default(),
                ends_on: m.ends_on.clone().unwrap_or_default(),
                commitments: m
                    .commitments
                    .iter()
                    .map(|c| format!("{}: {}", c.kind, c.text))
                    .collect::<Vec<_>>()
                    .join("\n"),
            },
            mou: m,
        })
        .collect();
    let mut views = Vec::new();
    for p in problems::problems(&state.db, Some(id))
        .await
        .or_page(lang)?
    {
        let (p, checks) = problems::checked(&state.db, p.id).await.or_page(lang)?;
        views.push(ProblemView {
            checks: checks
                .iter()
                .map(|c| (c.ok, check_message(lang, c)))
                .collect(),
            problem: p,
        });
    }
    let page = PartnerPage {
        p: staff_page(
            &state,
            lang,
            partner.department.name().get(lang).to_owned(),
            &uri,
            &csrf,
            &staff,
        ),
        manager: access >= Access::Manager,
        mous,
        problems: views,
        training: partners::training(&state.db, Some(id))
            .await
            .or_page(lang)?,
        statuses: options(lang, "prog-mou", &partners::MOU_STATUSES),
        literacy: options(lang, "prog-literacy", &problems::LITERACY),
        phone_access: options(lang, "prog-phone", &problems::PHONE_ACCESS),
        channels: options(lang, "prog-channel", &problems::CHANNELS),
        policies: options(lang, "prog-policy", &problems::POLICY),
        committed: partners::data_in_force(&state.db, id).await.or_page(lang)?,
        blank: MouFields::default(),
        partner,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn people(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(slug): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let p = partner_or_404(&state, &slug, lang).await?;
    partners::set_people(
        &state,
        &staff,
        p.department.id,
        &field(&f, "focal_person"),
        &field(&f, "liaison_officer"),
    )
    .await
    .or_page(lang)?;
    Ok(back(&format!("/staff/programme/partners/{slug}")))
}

async fn save_mou(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    csrf: Csrf,
    Path(slug): Path<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_checked(&csrf, form, UPLOAD_LIMIT, lang).await?;
    gate(&state, &staff, lang).await?;
    let p = partner_or_404(&state, &slug, lang).await?;
    let get = |k: &str| sent.fields.get(k).cloned().unwrap_or_default();
    let f = MouForm {
        title: get("title"),
        status: get("status"),
        signed_on: get("signed_on"),
        starts_on: get("starts_on"),
        ends_on: get("ends_on"),
        commitments: get("commitments"),
    };
    let id = get("id").trim().parse::<i64>().ok();
    let document = match sent.files.into_iter().find(|(n, _)| n == "document") {
        Some((_, bytes)) => Some(
            files::document(bytes, state.config.photo_max_side)
                .await
                .map_err(|_| Error::BadRequest(lang.t("prog-err-document")))
                .or_page(lang)?,
        ),
        None => None,
    };
    partners::save_mou(&state, &staff, p.department.id, id, &f, document)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/partners/{slug}#mous")))
}

async fn add_problem(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(slug): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let p = partner_or_404(&state, &slug, lang).await?;
    let mut data: Vec<String> = all(&f, "committed");
    data.extend(field(&f, "data_needed").lines().map(str::to_owned));
    let form = ProblemForm {
        title: field(&f, "title"),
        description: field(&f, "description"),
        stakeholders: field(&f, "stakeholders"),
        literacy: field(&f, "literacy"),
        phone_access: field(&f, "phone_access"),
        channels: all(&f, "channels"),
        data_needed: data.join("\n"),
        policy: field(&f, "policy"),
        policy_reference: field(&f, "policy_reference"),
        maintainer: field(&f, "maintainer"),
    };
    let id = problems::add(&state, &staff, p.department.id, &form)
        .await
        .or_page(lang)?;
    Ok(back(&format!(
        "/staff/programme/partners/{slug}#problem-{id}"
    )))
}

async fn add_training(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(slug): Path<String>,
    FormPost(_, form): FormPost<TrainingForm>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let p = partner_or_404(&state, &slug, lang).await?;
    partners::add_training(&state, &staff, p.department.id, &form)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/partners/{slug}#training")))
}

// ---------------------------------------------------------------------------------------------
// Staff: a project.

async fn create_project(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, form): FormPost<ProjectForm>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let code = projects::create(&state, &staff, &form)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/projects/{code}")))
}

#[derive(Template)]
#[template(path = "staff_prog_project.html")]
struct ProjectPage {
    p: Page,
    manager: bool,
    project: projects::Project,
    state_name: String,
    checklist: projects::Checklist,
    missing: Vec<String>,
    /// (state, its name)
    next: Vec<(&'static str, String)>,
    milestones: Vec<projects::Milestone>,
    /// (when, who, from, to, note)
    history: Vec<(String, String, String, String, String)>,
    /// (service, queries, hours)
    services: Vec<(String, i64, String)>,
    problem_checks: Vec<(bool, String)>,
}

async fn project_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let access = gate(&state, &staff, lang).await?;
    let p = projects::project(&state.db, &code)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let checklist = projects::checklist(&state.db, &p).await.or_page(lang)?;
    let state_name = |s: &str| lang.t(&format!("prog-state-{s}"));
    let history = projects::history(&state.db, p.id)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|e| {
            (
                format::datetime(lang, e.at),
                e.actor,
                e.from_state.as_deref().map(state_name).unwrap_or_default(),
                state_name(&e.to_state),
                e.note,
            )
        })
        .collect();
    let services = figures::of_services(&state.db, &p.services)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|(s, n, m)| (s, n, format!("{:.1}", figures::hours(m))))
        .collect();
    let problem_checks = match p.problem_id {
        Some(id) => problems::checked(&state.db, id)
            .await
            .or_page(lang)?
            .1
            .iter()
            .map(|c| (c.ok, check_message(lang, c)))
            .collect(),
        None => Vec::new(),
    };
    let page = ProjectPage {
        p: staff_page(&state, lang, p.title.clone(), &uri, &csrf, &staff),
        manager: access >= Access::Manager,
        state_name: state_name(&p.state),
        missing: checklist
            .missing()
            .iter()
            .map(|m| lang.t(&format!("prog-check-{m}")))
            .collect(),
        checklist,
        next: projects::next_states(&p.state)
            .iter()
            .map(|s| (*s, state_name(s)))
            .collect(),
        milestones: projects::milestones(&state.db, p.id).await.or_page(lang)?,
        history,
        services,
        problem_checks,
        project: p,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn advance(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    projects::advance(&state, &staff, &code, &field(&f, "to"), &field(&f, "note"))
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/projects/{code}")))
}

async fn checklist(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    let ticked = |k: &str| (!field(&f, k).is_empty()).then(|| "on".to_owned());
    let form = ChecklistForm {
        maintainer: field(&f, "maintainer"),
        backups_configured: ticked("backups_configured"),
        admins_transferred: ticked("admins_transferred"),
    };
    projects::set_checklist(&state, &staff, &code, &form)
        .await
        .or_page(lang)?;
    Ok(back(&format!("/staff/programme/projects/{code}#checklist")))
}

async fn add_milestone(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    projects::add_milestone(
        &state,
        &staff,
        &code,
        &field(&f, "title"),
        &field(&f, "due_on"),
    )
    .await
    .or_page(lang)?;
    Ok(back(&format!(
        "/staff/programme/projects/{code}#milestones"
    )))
}

async fn milestone_done(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path((code, id)): Path<(String, i64)>,
    FormPost(_, _): FormPost<Fields>,
) -> Result<Response, PageError> {
    guard(&state, &staff, lang).await?;
    projects::milestone_done(&state, &staff, &code, id)
        .await
        .or_page(lang)?;
    Ok(back(&format!(
        "/staff/programme/projects/{code}#milestones"
    )))
}

/// A CV or a signed MoU, to the programme's staff only, as a download.
async fn file(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(sha): Path<String>,
) -> Result<Response, PageError> {
    gate(&state, &staff, lang).await?;
    let row: Option<(String,)> = state
        .db
        .fetch_optional(
            query(
                "SELECT p.content_type FROM photos p WHERE p.sha256 = $1 AND (\
                 EXISTS (SELECT 1 FROM prog_applications a WHERE a.cv_file_id = p.id) OR \
                 EXISTS (SELECT 1 FROM prog_mous m WHERE m.document_file_id = p.id))",
            )
            .bind(&sha),
        )
        .await
        .or_page(lang)?;
    let (content_type,) = row.ok_or_else(|| PageError::not_found(lang))?;
    let bytes = state
        .files
        .get(files::Area::Documents, &sha, &content_type)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| PageError::not_found(lang))?;
    let ext = if content_type == files::PDF {
        "pdf"
    } else {
        "jpg"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.{ext}\"", &sha[..12]),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
