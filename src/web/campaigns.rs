//! Campaigns on the web.
//!
//! - Public: `/campaigns` (the projects the policy in force allows, featured first, success
//!   stories, and a notice of what it hides), `/campaigns/p/{id}` (a project; the pledge form for
//!   a signed-in citizen), `/campaigns/verify-email`.
//! - An organisation's own, for the citizen signed in with its contact phone: `/campaigns/mine`
//!   (its organisations, projects and pledges, and their own pledges as a backer), registering an
//!   organisation, writing a project, photos, review, updates, deciding pledges.
//! - Staff: `/staff/campaigns` (organisations to verify, projects to review, featured projects,
//!   and for administrators the policy per jurisdiction with its history).

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::me::SignedInPage;
use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::campaigns::orgs::{self, Org, OrgIn};
use crate::campaigns::pledges::{self, Pledge, PledgeIn};
use crate::campaigns::projects::{self, Project, ProjectIn};
use crate::campaigns::{self, Access, GoalKind, PledgeKind, Policies};
use crate::platform::citizen::{MaybeCitizen, SignedIn};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list))
        .route("/campaigns/p/{id}", get(show))
        .route("/campaigns/p/{id}/pledge", post(pledge))
        .route("/campaigns/verify-email", get(verify_email))
        .route(
            "/campaigns/organisations/new",
            get(org_form).post(org_register),
        )
        .route("/campaigns/mine", get(mine))
        .route("/campaigns/mine/new", get(new_project).post(create_project))
        .route(
            "/campaigns/mine/p/{id}",
            get(edit_project).post(save_project),
        )
        .route("/campaigns/mine/p/{id}/photo", post(add_photo))
        .route("/campaigns/mine/p/{id}/submit", post(submit))
        .route("/campaigns/mine/p/{id}/update", post(post_update))
        .route("/campaigns/mine/pledges/{id}", post(decide))
        .route("/staff/campaigns", get(staff))
        .route("/staff/campaigns/orgs/{id}", post(staff_org))
        .route("/staff/campaigns/p/{id}", post(staff_project))
        .route("/staff/campaigns/policy", post(staff_policy))
}

fn sign_in_link(next: &str) -> String {
    format!(
        "/me?{}",
        serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
    )
}

fn district_names(list: &[crate::platform::org::District], lang: Lang) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|d| (d.slug.clone(), d.name(lang).to_owned()))
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

/// The pack's categories as `(code, name)`, for a filter or a form's choice.
async fn categories(state: &AppState, lang: Lang) -> Result<Vec<(String, String)>, PageError> {
    Ok(campaigns::categories(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|c| (c.code, c.name.get(lang).to_owned()))
        .collect())
}

/// A project as a card or a page shows it.
pub struct Card {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub org: String,
    pub category: String,
    pub district: String,
    pub goal: String,
    pub pledged: String,
    pub percent: i64,
    pub backers: i64,
    pub deadline: String,
    pub featured: bool,
    pub photo: Option<String>,
}

fn card(p: &Project, lang: Lang, districts: &[(String, String)]) -> Card {
    Card {
        id: p.id,
        title: p.title.get(lang).to_owned(),
        summary: p.summary.get(lang).to_owned(),
        org: p.org_name.clone(),
        category: p.category_name.get(lang).to_owned(),
        district: districts
            .iter()
            .find(|d| d.0 == p.district)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| p.district.clone()),
        goal: p.amount(p.goal),
        pledged: p.amount(p.pledged),
        percent: p.percent(),
        backers: p.backers,
        deadline: p.deadline.clone(),
        featured: p.featured,
        photo: p.photos.first().map(|s| format!("/photos/{s}.jpg")),
    }
}

fn mode_name(lang: Lang, m: campaigns::Mode) -> String {
    lang.t(&format!("campaign-mode-{}", m.as_str()))
}

// ---------------------------------------------------------------------------------------------
// Public

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    p: Page,
    cards: Vec<Card>,
    stories: Vec<Card>,
    hidden: usize,
    /// The province's policy: (mode, basis), or none set.
    province: Option<(String, String)>,
    categories: Vec<(String, String)>,
    districts: Vec<(String, String)>,
    category: String,
    district: String,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    district: String,
}

async fn list(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let policies = campaigns::policies(&state.db).await.or_page(lang)?;
    let (shown, hidden) = projects::published(&state.db, &policies)
        .await
        .or_page(lang)?;
    let districts = district_names(&state.districts().await.or_page(lang)?, lang);
    let today = crate::platform::clock::today();
    let matches = |p: &&Project| {
        (q.category.is_empty() || p.category == q.category)
            && (q.district.is_empty() || p.district == q.district)
    };
    let cards = shown
        .iter()
        .filter(matches)
        .filter(|p| p.open(today) && !p.succeeded())
        .map(|p| card(p, lang, &districts))
        .collect();
    let stories = shown
        .iter()
        .filter(matches)
        .filter(|p| p.succeeded())
        .map(|p| card(p, lang, &districts))
        .collect();
    let page = ListPage {
        p: Page::new(lang, lang.t("campaign-title"), &uri, &csrf),
        cards,
        stories,
        hidden,
        province: policies
            .province
            .as_ref()
            .map(|p| (mode_name(lang, p.mode), p.basis.clone())),
        categories: categories(&state, lang).await?,
        districts,
        category: q.category,
        district: q.district,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct ProjectPage {
    p: Page,
    c: Card,
    story: String,
    photos: Vec<String>,
    video_url: String,
    updates: Vec<(String, String)>,
    /// Why the project is hidden: the policy notice.
    hidden: Option<String>,
    /// What a pledge is here, if one may be made now.
    pledge: Option<&'static str>,
    money: bool,
    signed_in: bool,
    sign_in: String,
    form: PledgeIn,
    error: Option<String>,
    done: bool,
}

async fn project_page(
    state: &AppState,
    lang: Lang,
    page: Page,
    id: i64,
    who: Option<&SignedIn>,
) -> Result<ProjectPage, PageError> {
    let p = projects::project_by_id(&state.db, id)
        .await
        .or_page(lang)?
        .filter(|p| p.status == "published" && p.org_verified)
        .ok_or_else(|| PageError::not_found(lang))?;
    let policies = campaigns::policies(&state.db).await.or_page(lang)?;
    let districts = district_names(&state.districts().await.or_page(lang)?, lang);
    let kind = policies.mode(&p.district).pledge_for(p.goal_kind);
    let hidden = kind
        .is_none()
        .then(|| notice(&policies, &p, lang, &districts));
    let updates = projects::updates(&state.db, id)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|(at, body)| (format::date(lang, at), body))
        .collect();
    Ok(ProjectPage {
        c: card(&p, lang, &districts),
        story: p.story.get(lang).to_owned(),
        photos: p
            .photos
            .iter()
            .map(|s| format!("/photos/{s}.jpg"))
            .collect(),
        video_url: p.video_url.clone(),
        updates,
        hidden,
        pledge: kind
            .filter(|_| p.open(crate::platform::clock::today()))
            .map(|k| match k {
                PledgeKind::Money => "campaign-pledge-money",
                PledgeKind::Interest => "campaign-pledge-interest",
                PledgeKind::Help => "campaign-pledge-help",
            }),
        money: p.goal_kind == GoalKind::Money,
        signed_in: who.is_some(),
        sign_in: sign_in_link(&format!("/campaigns/p/{id}")),
        form: PledgeIn::default(),
        error: None,
        done: false,
        p: page,
    })
}

/// The public notice of a project that the policy in force hides.
fn notice(policies: &Policies, p: &Project, lang: Lang, districts: &[(String, String)]) -> String {
    let place = districts
        .iter()
        .find(|d| d.0 == p.district)
        .map(|d| d.1.clone())
        .unwrap_or_else(|| p.district.clone());
    match policies.for_district(&p.district) {
        Some(pol) => t!(
            lang,
            "campaign-hidden",
            district = place,
            mode = mode_name(lang, pol.mode),
            basis = pol.basis.clone(),
            since = format::date(lang, pol.set_at)
        ),
        None => t!(lang, "campaign-hidden-none", district = place),
    }
}

async fn show(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    Here { lang, csrf, uri }: Here,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, lang.t("campaign-title"), &uri, &csrf);
    let mut pp = project_page(&state, lang, page, id, who.as_ref()).await?;
    pp.p.title = pp.c.title.clone();
    Ok(render(StatusCode::OK, &csrf, &pp))
}

async fn pledge(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    Path(id): Path<i64>,
    FormPost(csrf, f): FormPost<PledgeIn>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, lang.t("campaign-title"), &uri, &csrf);
    let result = pledges::pledge_to(&state, &who, id, &f, lang).await;
    let mut pp = project_page(&state, lang, page, id, Some(&who)).await?;
    pp.p.title = pp.c.title.clone();
    let status = match result {
        Ok(_) => {
            pp.done = true;
            StatusCode::OK
        }
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_) | Error::Forbidden(_))) => {
            pp.error = Some(e.message());
            pp.form = f;
            match e {
                Error::Forbidden(_) => StatusCode::FORBIDDEN,
                Error::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            }
        }
        Err(e) => return Err(PageError { error: e, lang }),
    };
    Ok(render(status, &csrf, &pp))
}

#[derive(Template)]
#[template(path = "campaign_note.html")]
struct NotePage {
    p: Page,
    message: String,
    link: (String, String),
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn verify_email(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let found = orgs::verify_email(&state.db, &q.token)
        .await
        .or_page(lang)?;
    let (status, message) = match found {
        Some(name) => (
            StatusCode::OK,
            t!(lang, "campaign-email-verified", name = name),
        ),
        None => (StatusCode::NOT_FOUND, lang.t("campaign-email-unknown")),
    };
    let page = NotePage {
        p: Page::new(lang, lang.t("campaign-title"), &uri, &csrf),
        message,
        link: ("/campaigns/mine".into(), lang.t("campaign-mine")),
    };
    Ok(render(status, &csrf, &page))
}

// ---------------------------------------------------------------------------------------------
// An organisation's own

#[derive(Template)]
#[template(path = "campaign_org.html")]
struct OrgPage {
    p: Page,
    form: OrgIn,
    districts: Vec<(String, String)>,
    error: Option<String>,
    sign_in: Option<String>,
}

async fn org_form(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let page = OrgPage {
        p: Page::new(lang, lang.t("campaign-org-new"), &uri, &csrf),
        form: OrgIn::default(),
        districts: district_names(&state.districts().await.or_page(lang)?, lang),
        error: None,
        sign_in: who
            .is_none()
            .then(|| sign_in_link("/campaigns/organisations/new")),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn org_register(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<OrgIn>,
) -> Result<Response, PageError> {
    state
        .limit_public_write(&headers, peer, lang)
        .await
        .or_page(lang)?;
    let base = state.config.base_url(&headers);
    match orgs::register(&state, &who, &f, &base, lang).await {
        Ok(_) => Ok(Redirect::to("/campaigns/mine").into_response()),
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => {
            let status = match e {
                Error::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let page = OrgPage {
                p: Page::new(lang, lang.t("campaign-org-new"), &uri, &csrf),
                form: f,
                districts: district_names(&state.districts().await.or_page(lang)?, lang),
                error: Some(e.message()),
                sign_in: None,
            };
            Ok(render(status, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

/// An organisation on its owner's page.
struct OrgView {
    org: Org,
    status: String,
    projects: Vec<ProjectRow>,
}

/// A project as a list row: its title, status and progress, already in the reader's language.
struct ProjectRow {
    id: i64,
    title: String,
    status: String,
    status_label: String,
    progress: String,
    summary: String,
    story: String,
    meta: String,
    featured: bool,
    pledges: Vec<PledgeRow>,
}

fn project_row(p: &Project, lang: Lang, pledges: Vec<PledgeRow>) -> ProjectRow {
    ProjectRow {
        id: p.id,
        title: p.title.get(lang).to_owned(),
        status: p.status.clone(),
        status_label: lang.t(&format!("campaign-status-{}", p.status)),
        progress: format!("{} / {}", p.amount(p.pledged), p.amount(p.goal)),
        summary: p.summary.get(lang).to_owned(),
        story: p.story.get(lang).to_owned(),
        meta: format!(
            "{} · {} · {} · {} · {}",
            p.org_name,
            p.category_name.get(lang),
            p.district,
            p.amount(p.goal),
            p.deadline
        ),
        featured: p.featured,
        pledges,
    }
}

/// A pledge as its organisation sees it: the contact masked until it is accepted.
struct PledgeRow {
    id: i64,
    name: String,
    contact: String,
    what: String,
    comment: String,
    pending: bool,
    status_label: String,
}

fn pledge_row(pl: &Pledge, p: &Project, lang: Lang) -> PledgeRow {
    PledgeRow {
        id: pl.id,
        name: pl.name.clone(),
        contact: if pl.status == "accepted" {
            format!("{} · {}", pl.phone, pl.email)
        } else {
            format!("{} · {}", pl.phone_masked(), pl.email_masked())
        },
        what: pledge_what(lang, pl, Some(p)),
        comment: pl.comment.clone(),
        pending: pl.status == "pending",
        status_label: lang.t(&format!("campaign-pledge-status-{}", pl.status)),
    }
}

#[derive(Template)]
#[template(path = "campaign_mine.html")]
struct MinePage {
    p: Page,
    orgs: Vec<OrgView>,
    /// The citizen's own pledges: (project id, project title, what, status).
    backed: Vec<(i64, String, String, String)>,
}

fn pledge_what(lang: Lang, pl: &Pledge, p: Option<&Project>) -> String {
    let amount = p
        .map(|p| p.amount(pl.amount))
        .unwrap_or_else(|| pl.amount.to_string());
    match pl.kind {
        PledgeKind::Help => format!("{amount} · {}", pl.help),
        PledgeKind::Interest => format!("{amount} ({})", lang.t("campaign-kind-interest")),
        PledgeKind::Money => amount,
    }
}

async fn mine(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let mut views = Vec::new();
    for org in orgs::orgs_of(&state.db, &who.key).await.or_page(lang)? {
        let mut list = Vec::new();
        for p in projects::of_org(&state.db, org.id).await.or_page(lang)? {
            let rows = pledges::of_project(&state.db, p.id)
                .await
                .or_page(lang)?
                .iter()
                .map(|pl| pledge_row(pl, &p, lang))
                .collect();
            list.push(project_row(&p, lang, rows));
        }
        views.push(OrgView {
            status: lang.t(&format!("campaign-org-status-{}", org.status)),
            org,
            projects: list,
        });
    }
    let mut backed = Vec::new();
    for pl in pledges::of_backer(&state.db, &who.key)
        .await
        .or_page(lang)?
    {
        let p = projects::project_by_id(&state.db, pl.project_id)
            .await
            .or_page(lang)?;
        backed.push((
            pl.project_id,
            p.as_ref()
                .map(|p| p.title.get(lang).to_owned())
                .unwrap_or_default(),
            pledge_what(lang, &pl, p.as_ref()),
            lang.t(&format!("campaign-pledge-status-{}", pl.status)),
        ));
    }
    let page = MinePage {
        p: Page::new(lang, lang.t("campaign-mine"), &uri, &csrf),
        orgs: views,
        backed,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "campaign_edit.html")]
struct EditPage {
    p: Page,
    /// The project, once it exists.
    id: Option<i64>,
    org_id: i64,
    status: String,
    review_notes: String,
    editable: bool,
    published: bool,
    form: ProjectIn,
    photos: Vec<String>,
    categories: Vec<(String, String)>,
    districts: Vec<(String, String)>,
    error: Option<String>,
}

impl EditPage {
    fn over_goal(&self) -> bool {
        self.form.over_goal.is_some()
    }
}

fn form_of(p: &Project) -> ProjectIn {
    ProjectIn {
        title_en: p.title.en.clone(),
        title_ur: p.title.ur.clone(),
        title_ps: p.title.ps.clone(),
        summary_en: p.summary.en.clone(),
        summary_ur: p.summary.ur.clone(),
        summary_ps: p.summary.ps.clone(),
        story_en: p.story.en.clone(),
        story_ur: p.story.ur.clone(),
        story_ps: p.story.ps.clone(),
        category: p.category.clone(),
        goal_kind: p.goal_kind.as_str().into(),
        goal: match p.goal_kind {
            GoalKind::Money => crate::platform::money::rupees(p.goal).replace(',', ""),
            _ => p.goal.to_string(),
        },
        over_goal: p.over_goal.then(|| "on".into()),
        deadline: p.deadline.clone(),
        district: p.district.clone(),
        video_url: p.video_url.clone(),
    }
}

#[derive(Deserialize)]
struct OrgQuery {
    org: i64,
}

async fn edit_page(
    state: &AppState,
    lang: Lang,
    page: Page,
    org_id: i64,
    project: Option<&Project>,
) -> Result<EditPage, PageError> {
    Ok(EditPage {
        id: project.map(|p| p.id),
        org_id,
        status: project
            .map(|p| lang.t(&format!("campaign-status-{}", p.status)))
            .unwrap_or_default(),
        review_notes: project.map(|p| p.review_notes.clone()).unwrap_or_default(),
        editable: project.is_none_or(|p| matches!(p.status.as_str(), "draft" | "returned")),
        published: project.is_some_and(|p| p.status == "published"),
        form: project.map(form_of).unwrap_or_default(),
        photos: project
            .map(|p| {
                p.photos
                    .iter()
                    .map(|s| format!("/photos/{s}.jpg"))
                    .collect()
            })
            .unwrap_or_default(),
        categories: categories(state, lang).await?,
        districts: district_names(&state.districts().await.or_page(lang)?, lang),
        error: None,
        p: page,
    })
}

async fn new_project(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<OrgQuery>,
) -> Result<Response, PageError> {
    orgs::owned(&state.db, &who, q.org, lang)
        .await
        .or_page(lang)?;
    let page = Page::new(lang, lang.t("campaign-new-project"), &uri, &csrf);
    let e = edit_page(&state, lang, page, q.org, None).await?;
    Ok(render(StatusCode::OK, &csrf, &e))
}

async fn create_project(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    Here { lang, uri, .. }: Here,
    Query(q): Query<OrgQuery>,
    FormPost(csrf, f): FormPost<ProjectIn>,
) -> Result<Response, PageError> {
    match projects::create(&state, &who, q.org, &f, lang).await {
        Ok(id) => Ok(Redirect::to(&format!("/campaigns/mine/p/{id}")).into_response()),
        Err(e @ Error::BadRequest(_)) => {
            let page = Page::new(lang, lang.t("campaign-new-project"), &uri, &csrf);
            let mut ep = edit_page(&state, lang, page, q.org, None).await?;
            ep.form = f;
            ep.error = Some(e.message());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &ep))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

async fn edit_project(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    Here { lang, csrf, uri }: Here,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (p, _) = projects::owned(&state.db, &who, id, lang)
        .await
        .or_page(lang)?;
    let page = Page::new(lang, p.title.get(lang).to_owned(), &uri, &csrf);
    let e = edit_page(&state, lang, page, p.org_id, Some(&p)).await?;
    Ok(render(StatusCode::OK, &csrf, &e))
}

async fn save_project(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    Here { lang, uri, .. }: Here,
    Path(id): Path<i64>,
    FormPost(csrf, f): FormPost<ProjectIn>,
) -> Result<Response, PageError> {
    let (p, _) = projects::owned(&state.db, &who, id, lang)
        .await
        .or_page(lang)?;
    match projects::update(&state, &who, id, &f, lang).await {
        Ok(()) => Ok(Redirect::to(&format!("/campaigns/mine/p/{id}")).into_response()),
        Err(e @ Error::BadRequest(_)) => {
            let page = Page::new(lang, p.title.get(lang).to_owned(), &uri, &csrf);
            let mut ep = edit_page(&state, lang, page, p.org_id, Some(&p)).await?;
            ep.form = f;
            ep.error = Some(e.message());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &ep))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

async fn add_photo(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    lang: Lang,
    csrf: Csrf,
    Path(id): Path<i64>,
    req: Request,
) -> Result<Response, PageError> {
    let fields = super::read_fields_checked(&state, &csrf, req, lang).await?;
    projects::owned(&state.db, &who, id, lang)
        .await
        .or_page(lang)?;
    let bytes = fields.photos.into_iter().next().ok_or_else(|| PageError {
        error: Error::BadRequest(lang.t("campaign-err-no-photo")),
        lang,
    })?;
    projects::add_photo(&state, &who, id, bytes, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/campaigns/mine/p/{id}")).into_response())
}

#[derive(Deserialize)]
struct TextForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    basis: String,
}

async fn submit(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, _): FormPost<TextForm>,
) -> Result<Response, PageError> {
    // The service refuses a project that is not theirs.
    projects::submit(&state, &who, id, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/campaigns/mine").into_response())
}

async fn post_update(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<TextForm>,
) -> Result<Response, PageError> {
    // The service refuses a project that is not theirs.
    projects::post_update(&state, &who, id, &f.body, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/campaigns/p/{id}")).into_response())
}

async fn decide(
    State(state): State<AppState>,
    SignedInPage(who): SignedInPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<TextForm>,
) -> Result<Response, PageError> {
    pledges::decide(&state, &who, id, f.decision == "accept", lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/campaigns/mine").into_response())
}

// ---------------------------------------------------------------------------------------------
// Staff

#[derive(Template)]
#[template(path = "staff_campaigns.html")]
struct StaffCampaigns {
    p: Page,
    admin: bool,
    orgs: Vec<Org>,
    review: Vec<ProjectRow>,
    published: Vec<ProjectRow>,
    /// (jurisdiction, mode, basis, by, when)
    history: Vec<(String, String, String, String, String)>,
    districts: Vec<(String, String)>,
    modes: Vec<(String, String)>,
}

async fn staff(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let access = campaigns::access(&state, &staff).map_err(|_| PageError::not_found(lang))?;
    let all_published = projects::published_all(&state.db).await.or_page(lang)?;
    let districts = district_names(&state.districts().await.or_page(lang)?, lang);
    let history = campaigns::policy_history(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|p| {
            (
                p.jurisdiction.clone(),
                mode_name(lang, p.mode),
                p.basis,
                p.set_by,
                format::datetime(lang, p.set_at),
            )
        })
        .collect();
    let page = StaffCampaigns {
        p: staff_page(&state, lang, lang.t("campaign-staff"), &uri, &csrf, &staff),
        admin: access == Access::Admin,
        orgs: orgs::pending(&state.db).await.or_page(lang)?,
        review: projects::in_review(&state.db)
            .await
            .or_page(lang)?
            .iter()
            .map(|p| project_row(p, lang, vec![]))
            .collect(),
        published: all_published
            .iter()
            .map(|p| project_row(p, lang, vec![]))
            .collect(),
        history,
        districts,
        modes: campaigns::Mode::ALL
            .iter()
            .map(|m| (m.as_str().to_owned(), mode_name(lang, *m)))
            .collect(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn staff_org(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<TextForm>,
) -> Result<Response, PageError> {
    orgs::review(&state, &staff, id, f.decision == "verify", &f.notes)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/staff/campaigns").into_response())
}

async fn staff_project(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<TextForm>,
) -> Result<Response, PageError> {
    match f.decision.as_str() {
        "publish" | "return" => {
            projects::review(&state, &staff, id, f.decision == "publish", &f.notes).await
        }
        "feature" | "unfeature" => {
            projects::feature(&state, &staff, id, f.decision == "feature").await
        }
        _ => Err(Error::BadRequest("unknown decision".into())),
    }
    .or_page(lang)?;
    Ok(Redirect::to("/staff/campaigns").into_response())
}

async fn staff_policy(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, f): FormPost<TextForm>,
) -> Result<Response, PageError> {
    campaigns::set_policy(&state, &staff, &f.jurisdiction, &f.mode, &f.basis, lang)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/staff/campaigns").into_response())
}
