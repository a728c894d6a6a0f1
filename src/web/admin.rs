//! Department administration on the web (`/staff/admin`): hand-over readiness, the maintainer,
//! staff users and API keys, reporting services, the configuration as a pack; and for platform
//! administrators the deployment's health (`/staff/admin/health`). `/staff/password/{token}` is
//! where an invited or reset user sets their password.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::admin::services::{value_line, FORM_ROWS};
use crate::admin::{self, health, pack, readiness, services, site, users, Power};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::org::{Department, District};
use crate::platform::state::AppState;
use crate::reports::model::Service;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/admin", get(overview))
        .route("/staff/admin/health", get(health_page))
        .route("/staff/admin/health/backup", post(backup_now))
        .route("/staff/admin/maintainer", post(maintainer))
        .route("/staff/admin/users", post(invite))
        .route("/staff/admin/users/{id}", post(update_user))
        .route("/staff/admin/users/{id}/reset", post(reset))
        .route("/staff/admin/keys", post(create_key))
        .route("/staff/admin/keys/{id}/revoke", post(revoke_key))
        .route("/staff/admin/services/new", get(new_service))
        .route("/staff/admin/services/edit/{code}", get(edit_service))
        .route("/staff/admin/services", post(save_service))
        .route("/staff/admin/services/active/{code}", post(set_active))
        .route("/staff/admin/pack", get(export))
        .route("/staff/admin/pack/preview", post(preview))
        .route("/staff/admin/pack/import", post(import))
        .route("/staff/admin/site", get(site_page).post(save_site))
        .route(
            "/staff/admin/site/logo",
            post(save_logo).layer(axum::extract::DefaultBodyLimit::max(
                LOGO_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/staff/admin/site/gateway", post(save_gateway))
        .route("/staff/admin/site/secret", post(new_secret))
        .route("/staff/admin/site/district", post(save_district))
        .route(
            "/staff/admin/prompts",
            get(prompts_page)
                .post(save_prompt)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::platform::whatsapp::MAX_AUDIO_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/staff/password/{token}",
            get(password_form).post(set_password),
        )
}

#[derive(Deserialize, Default)]
struct DeptQuery {
    department: Option<String>,
}

/// The caller's power and the department in view; anyone without power sees "not found".
async fn context(
    state: &AppState,
    staff: &Staff,
    slug: Option<&str>,
    lang: Lang,
) -> Result<(Power, Department), PageError> {
    let power = Power::of(staff).map_err(|_| PageError::not_found(lang))?;
    let d = admin::department(state, power, slug).await.or_page(lang)?;
    Ok((power, d))
}

fn back(d: &Department) -> Response {
    Redirect::to(&format!("/staff/admin?department={}", d.slug)).into_response()
}

#[derive(Template)]
#[template(path = "staff_admin.html")]
struct AdminPage {
    p: Page,
    platform: bool,
    department: String,
    departments: Vec<(String, String)>,
    /// (code, ok, name, found, what to do)
    checks: Vec<(String, bool, String, String, String)>,
    ready: bool,
    /// (role, its name)
    roles: Vec<(String, String)>,
    maintainer: (String, String),
    users: Vec<users::User>,
    districts: Vec<(String, String)>,
    /// (id, name, prefix, created, last used, revoked)
    keys: Vec<(i64, String, String, String, String, bool)>,
    new_key: Option<String>,
    services: Vec<(String, String, bool)>,
}

async fn admin_page(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    power: Power,
    d: &Department,
) -> Result<AdminPage, PageError> {
    let checks = readiness::checks(state, d).await.or_page(lang)?;
    let departments = crate::platform::org::departments(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|x| (x.slug.clone(), x.name().get(lang).to_owned()))
        .collect();
    let keys = users::keys(&state.db, power, d.id)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|k| {
            (
                k.id,
                k.name,
                k.prefix,
                format::date(lang, k.created_at),
                k.last_used_at
                    .map(|t| format::datetime(lang, t))
                    .unwrap_or_else(|| lang.t("admin-never")),
                k.revoked_at.is_some(),
            )
        })
        .collect();
    let services = services::of_department(&state.db, d.id)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|s| (s.code.clone(), s.name.get(lang).to_owned(), s.active))
        .collect();
    let mut districts: Vec<(String, String)> = state
        .districts()
        .await
        .or_page(lang)?
        .iter()
        .map(|x| (x.slug.clone(), x.name(lang).to_owned()))
        .collect();
    districts.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(AdminPage {
        p: staff_page(
            state,
            lang,
            format!("{} · {}", lang.t("admin-title"), d.name().get(lang)),
            uri,
            csrf,
            staff,
        ),
        platform: power.platform(),
        department: d.slug.clone(),
        departments,
        ready: checks.iter().all(|c| c.ok),
        checks: checks
            .into_iter()
            .map(|c| {
                (
                    c.code.to_owned(),
                    c.ok,
                    lang.t(&format!("admin-check-{}", c.code)),
                    c.found,
                    c.fix.to_owned(),
                )
            })
            .collect(),
        roles: ["officer", "manager", "admin"]
            .iter()
            .map(|r| (r.to_string(), lang.t(&format!("admin-role-{r}"))))
            .collect(),
        maintainer: admin::maintainer(state, d.id).await.or_page(lang)?,
        users: users::list(&state.db, power, d.id).await.or_page(lang)?,
        districts,
        keys,
        new_key: None,
        services,
    })
}

async fn overview(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<DeptQuery>,
) -> Result<Response, PageError> {
    let (power, d) = context(&state, &staff, q.department.as_deref(), lang).await?;
    let page = admin_page(&state, &staff, lang, &csrf, &uri, power, &d).await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct AdminForm {
    #[serde(default)]
    department: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    text: String,
}

/// The caller's power and department (the form's token was checked by `FormPost`).
async fn guard(
    state: &AppState,
    staff: &Staff,
    f: &AdminForm,
    lang: Lang,
) -> Result<(Power, Department), PageError> {
    context(
        state,
        staff,
        Some(f.department.as_str()).filter(|s| !s.is_empty()),
        lang,
    )
    .await
}

async fn maintainer(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    admin::set_maintainer(&state, &staff, d.id, &f.name, &f.contact)
        .await
        .or_page(lang)?;
    Ok(back(&d))
}

async fn invite(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    headers: HeaderMap,
    lang: Lang,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    let base = state.config.base_url(&headers);
    users::invite(
        &state,
        &staff,
        &base,
        users::Invite {
            email: &f.email,
            name: &f.name,
            role: &f.role,
            department_id: d.id,
            district: Some(f.district.as_str()),
        },
    )
    .await
    .or_page(lang)?;
    Ok(back(&d))
}

async fn update_user(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    users::update(
        &state,
        &staff,
        id,
        &f.role,
        Some(f.district.as_str()),
        f.active.is_some(),
    )
    .await
    .or_page(lang)?;
    Ok(back(&d))
}

async fn reset(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    headers: HeaderMap,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    let base = state.config.base_url(&headers);
    users::reset(&state, &staff, id, &base)
        .await
        .or_page(lang)?;
    Ok(back(&d))
}

async fn create_key(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (power, d) = guard(&state, &staff, &f, lang).await?;
    let key = users::create_key(&state, &staff, d.id, &f.name)
        .await
        .or_page(lang)?;
    let mut page = admin_page(&state, &staff, lang, &csrf, &uri, power, &d).await?;
    page.new_key = Some(key);
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn revoke_key(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    users::revoke_key(&state, &staff, id).await.or_page(lang)?;
    Ok(back(&d))
}

// ---------------------------------------------------------------------------------------------
// Services

/// One question row of the service form.
pub struct Row {
    pub i: usize,
    pub code: String,
    pub datatype: String,
    pub required: bool,
    pub q: [String; 3],
    pub values: String,
}

#[derive(Template)]
#[template(path = "staff_admin_service.html")]
struct ServicePage {
    p: Page,
    department: String,
    creating: bool,
    /// Every field by name, as last sent or stored.
    fields: Vec<(String, String)>,
    rows: Vec<Row>,
    /// (datatype, its name)
    types: Vec<(String, String)>,
    error: Option<String>,
}

fn types(lang: Lang) -> Vec<(String, String)> {
    [
        "singlevaluelist",
        "multivaluelist",
        "string",
        "text",
        "number",
        "datetime",
    ]
    .iter()
    .map(|t| (t.to_string(), lang.t(&format!("admin-type-{t}"))))
    .collect()
}

impl ServicePage {
    fn v(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    fn checked(&self, name: &str) -> bool {
        !self.v(name).is_empty()
    }
}

fn fields_of(s: &Service) -> Vec<(String, String)> {
    let mut f = vec![
        ("code".into(), s.code.clone()),
        ("keywords".into(), s.keywords.clone()),
        ("icon".into(), s.icon.clone()),
        ("minutes_saved".into(), s.minutes_saved.to_string()),
        ("response_hours".into(), s.response_hours.to_string()),
        ("max_photos".into(), s.max_photos.to_string()),
        (
            "ask_fixed_after_hours".into(),
            s.ask_fixed_after_hours.to_string(),
        ),
        (
            "public".into(),
            if s.public { "on".into() } else { String::new() },
        ),
        ("sms_en".into(), s.sms_keywords.en.join(", ")),
        ("sms_ur".into(), s.sms_keywords.ur.join(", ")),
        ("sms_ps".into(), s.sms_keywords.ps.join(", ")),
    ];
    for (k, t) in [
        ("name", &s.name),
        ("description", &s.description),
        ("group", &s.group),
    ] {
        f.push((format!("{k}_en"), t.en.clone()));
        f.push((format!("{k}_ur"), t.ur.clone()));
        f.push((format!("{k}_ps"), t.ps.clone()));
    }
    for (i, a) in s.attributes.iter().enumerate() {
        f.push((format!("a{i}_code"), a.code.clone()));
        f.push((format!("a{i}_type"), a.datatype.as_str().into()));
        if a.required {
            f.push((format!("a{i}_required"), "on".into()));
        }
        f.push((format!("a{i}_q_en"), a.description.en.clone()));
        f.push((format!("a{i}_q_ur"), a.description.ur.clone()));
        f.push((format!("a{i}_q_ps"), a.description.ps.clone()));
        f.push((
            format!("a{i}_values"),
            a.values
                .iter()
                .map(value_line)
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    f
}

fn rows_of(fields: &[(String, String)]) -> Vec<Row> {
    let get = |k: String| {
        fields
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let used = (0..FORM_ROWS * 4)
        .filter(|i| !get(format!("a{i}_code")).is_empty())
        .max()
        .map(|m| m + 1)
        .unwrap_or(0);
    (0..(used + 2).clamp(FORM_ROWS, FORM_ROWS * 4))
        .map(|i| Row {
            i,
            code: get(format!("a{i}_code")),
            datatype: get(format!("a{i}_type")),
            required: !get(format!("a{i}_required")).is_empty(),
            q: [
                get(format!("a{i}_q_en")),
                get(format!("a{i}_q_ur")),
                get(format!("a{i}_q_ps")),
            ],
            values: get(format!("a{i}_values")),
        })
        .collect()
}

async fn new_service(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<DeptQuery>,
) -> Result<Response, PageError> {
    let (_, d) = context(&state, &staff, q.department.as_deref(), lang).await?;
    let fields = vec![
        ("public".to_owned(), "on".to_owned()),
        ("minutes_saved".into(), "30".into()),
        ("response_hours".into(), "72".into()),
        ("max_photos".into(), "3".into()),
        ("ask_fixed_after_hours".into(), "672".into()),
    ];
    let page = ServicePage {
        p: staff_page(
            &state,
            lang,
            lang.t("admin-service-new"),
            &uri,
            &csrf,
            &staff,
        ),
        department: d.slug.clone(),
        creating: true,
        rows: rows_of(&fields),
        types: types(lang),
        fields,
        error: None,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn edit_service(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let power = Power::of(&staff).map_err(|_| PageError::not_found(lang))?;
    let s = crate::reports::store::all_services(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .find(|s| s.code == code)
        .ok_or_else(|| PageError::not_found(lang))?;
    power
        .over(s.department_id)
        .map_err(|_| PageError::not_found(lang))?;
    let fields = fields_of(&s);
    let page = ServicePage {
        p: staff_page(
            &state,
            lang,
            s.name.get(lang).to_owned(),
            &uri,
            &csrf,
            &staff,
        ),
        department: s.department_slug.clone(),
        creating: false,
        rows: rows_of(&fields),
        types: types(lang),
        fields,
        error: None,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn save_service(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let slug = get("department").to_owned();
    let (_, d) = context(
        &state,
        &staff,
        Some(slug.as_str()).filter(|s| !s.is_empty()),
        lang,
    )
    .await?;
    let creating = get("creating") == "yes";
    let result = match services::Form(&f).spec(&d.slug) {
        Ok(spec) => services::save(&state, &staff, d.id, &spec, creating).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(back(&d)),
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => {
            let status = match e {
                Error::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let fields: Vec<(String, String)> =
                f.iter().filter(|(k, _)| k != "csrf").cloned().collect();
            let page = ServicePage {
                p: staff_page(
                    &state,
                    lang,
                    lang.t("admin-service-new"),
                    &uri,
                    &csrf,
                    &staff,
                ),
                department: d.slug.clone(),
                creating,
                rows: rows_of(&fields),
                types: types(lang),
                fields,
                error: Some(e.message()),
            };
            Ok(render(status, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

async fn set_active(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    services::set_active(&state, &staff, &code, f.active.is_some())
        .await
        .or_page(lang)?;
    Ok(back(&d))
}

// ---------------------------------------------------------------------------------------------
// The configuration as a pack

async fn export(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Query(q): Query<DeptQuery>,
) -> Result<Response, PageError> {
    let (power, d) = context(&state, &staff, q.department.as_deref(), lang).await?;
    let text = pack::export(&state, power, &d).await.or_page(lang)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-config.toml\"", d.slug),
            ),
        ],
        text,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "staff_admin_pack.html")]
struct PackPage {
    p: Page,
    department: String,
    text: String,
    preview: Option<pack::Preview>,
    error: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (power, d) = guard(&state, &staff, &f, lang).await?;
    let (preview, error) = match pack::preview(&state, power, &d, &f.text).await {
        Ok(p) => (Some(p), None),
        Err(e @ Error::BadRequest(_)) => (None, Some(e.message())),
        Err(e) => return Err(PageError { error: e, lang }),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PackPage {
        p: staff_page(
            &state,
            lang,
            lang.t("admin-pack-preview"),
            &uri,
            &csrf,
            &staff,
        ),
        department: d.slug.clone(),
        text: f.text,
        preview,
        error,
    };
    Ok(render(status, &csrf, &page))
}

async fn import(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, f): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    let (_, d) = guard(&state, &staff, &f, lang).await?;
    pack::import(&state, &staff, &d, &f.text)
        .await
        .or_page(lang)?;
    Ok(back(&d))
}

// ---------------------------------------------------------------------------------------------
// Health

#[derive(Template)]
#[template(path = "staff_admin_health.html")]
struct HealthPage {
    p: Page,
    h: health::Health,
    disk: String,
    backup: String,
}

async fn health_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    if Power::of(&staff).ok() != Some(Power::Platform) {
        return Err(PageError::not_found(lang));
    }
    let h = health::health(&state).await.or_page(lang)?;
    let gb = |b: u64| format!("{:.1} GB", b as f64 / 1e9);
    let page = HealthPage {
        p: staff_page(&state, lang, lang.t("admin-health"), &uri, &csrf, &staff),
        disk: h
            .disk
            .map(|(free, total)| format!("{} / {}", gb(free), gb(total)))
            .unwrap_or_default(),
        backup: h
            .last_backup
            .map(|t| format::datetime(lang, t))
            .unwrap_or_else(|| lang.t("admin-never")),
        h,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// "Back up now": a worker makes one at once (SQLite copy or pg_dump), recorded like the rest.
async fn backup_now(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, _): FormPost<AdminForm>,
) -> Result<Response, PageError> {
    site::platform(&staff).or_page(lang)?;
    crate::platform::backup::request_now(&state.db)
        .await
        .map_err(|e| PageError {
            error: Error::Internal(e),
            lang,
        })?;
    let mut tx = state.db.begin().await.or_page(lang)?;
    crate::platform::audit::record(
        &mut tx,
        &staff.actor(),
        "backup.request",
        "backup",
        "now",
        serde_json::json!({}),
    )
    .await
    .or_page(lang)?;
    tx.commit().await.or_page(lang)?;
    state.job_wake.notify_one();
    Ok(Redirect::to("/staff/admin/health?backup=requested").into_response())
}

// ---------------------------------------------------------------------------------------------
// The deployment's settings

/// The largest logo file taken (before it is made small).
const LOGO_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

#[derive(Template)]
#[template(path = "staff_admin_site.html")]
struct SitePage {
    p: Page,
    /// name, contact: en, ur, ps
    name: [String; 3],
    contact: [String; 3],
    logo: Option<String>,
    gateway: String,
    gateway_from_page: bool,
    gateways: &'static [&'static str],
    http_url_set: bool,
    secret_from_page: bool,
    new_secret: Option<String>,
    districts: Vec<District>,
    /// The district being edited (or a blank one to add).
    editing: District,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct SiteQuery {
    district: Option<String>,
}

async fn site_view(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    editing: Option<&str>,
) -> Result<SitePage, PageError> {
    site::platform(staff).or_page(lang)?;
    let s = crate::platform::settings::load(&state.db)
        .await
        .or_page(lang)?;
    let three = |t: &Option<crate::platform::i18n::Text3>| match t {
        Some(t) => [t.en.clone(), t.ur.clone(), t.ps.clone()],
        None => Default::default(),
    };
    let mut districts: Vec<District> = state.districts().await.or_page(lang)?.to_vec();
    districts.sort_by(|a, b| a.name_en.cmp(&b.name_en));
    let editing = editing
        .and_then(|slug| districts.iter().find(|d| d.slug == slug).cloned())
        .unwrap_or(District {
            slug: String::new(),
            name_en: String::new(),
            name_ur: String::new(),
            name_ps: String::new(),
            division: String::new(),
            hq_lat: 0.0,
            hq_long: 0.0,
        });
    Ok(SitePage {
        p: staff_page(state, lang, lang.t("admin-site"), uri, csrf, staff),
        name: three(&s.site_name),
        contact: three(&s.contact),
        logo: s.logo_version().map(str::to_owned),
        gateway: s.sms_gateway(&state.config).to_owned(),
        gateway_from_page: s.sms_gateway.is_some(),
        gateways: crate::platform::settings::GATEWAYS,
        http_url_set: !s.sms_http_url(&state.config).is_empty(),
        secret_from_page: s.gateway_secret_sha256.is_some(),
        new_secret: None,
        districts,
        editing,
        error: None,
    })
}

async fn site_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<SiteQuery>,
) -> Result<Response, PageError> {
    let page = site_view(&state, &staff, lang, &csrf, &uri, q.district.as_deref()).await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// After a change: back to the settings page; a refusal shows on it, with 422.
async fn site_outcome(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    result: crate::platform::error::Result<()>,
    anchor: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/staff/admin/site#{anchor}")).into_response()),
        Err(e @ Error::BadRequest(_)) => {
            let mut page = site_view(state, staff, lang, csrf, uri, None).await?;
            page.error = Some(e.message());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, csrf, &page))
        }
        Err(error) => Err(PageError { error, lang }),
    }
}

#[derive(Deserialize)]
struct SiteForm {
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_ur: String,
    #[serde(default)]
    name_ps: String,
    #[serde(default)]
    contact_en: String,
    #[serde(default)]
    contact_ur: String,
    #[serde(default)]
    contact_ps: String,
    #[serde(default)]
    gateway: String,
    #[serde(default)]
    http_url: String,
    #[serde(default)]
    reset: Option<String>,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    long: String,
}

impl SiteForm {
    fn name(&self) -> crate::platform::i18n::Text3 {
        crate::platform::i18n::Text3 {
            en: self.name_en.clone(),
            ur: self.name_ur.clone(),
            ps: self.name_ps.clone(),
        }
    }
}

async fn save_site(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<SiteForm>,
) -> Result<Response, PageError> {
    let contact = crate::platform::i18n::Text3 {
        en: f.contact_en.clone(),
        ur: f.contact_ur.clone(),
        ps: f.contact_ps.clone(),
    };
    let r = site::save_site(&state, &staff, lang, &f.name(), &contact).await;
    site_outcome(&state, &staff, lang, &csrf, &uri, r, "site").await
}

async fn save_logo(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    form: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_checked(&csrf, form, LOGO_UPLOAD_BYTES, lang).await?;
    let file = sent
        .files
        .into_iter()
        .find(|(n, b)| n == "logo" && !b.is_empty())
        .map(|(_, b)| b);
    let r = match (sent.fields.contains_key("remove"), file) {
        (true, _) => site::save_logo(&state, &staff, lang, None).await,
        (false, Some(b)) => site::save_logo(&state, &staff, lang, Some(b)).await,
        (false, None) => Err(Error::BadRequest(lang.t("admin-err-logo"))),
    };
    site_outcome(&state, &staff, lang, &csrf, &uri, r, "logo").await
}

async fn save_gateway(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<SiteForm>,
) -> Result<Response, PageError> {
    let gateway = Some(f.gateway.as_str()).filter(|_| f.reset.is_none());
    let r = site::save_gateway(&state, &staff, gateway, &f.http_url).await;
    site_outcome(&state, &staff, lang, &csrf, &uri, r, "gateway").await
}

async fn new_secret(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, _): FormPost<SiteForm>,
) -> Result<Response, PageError> {
    let secret = site::new_gateway_secret(&state, &staff)
        .await
        .or_page(lang)?;
    let mut page = site_view(&state, &staff, lang, &csrf, &uri, None).await?;
    page.new_secret = Some(secret);
    let mut r = render(StatusCode::OK, &csrf, &page);
    // The secret is on this page only: no cache keeps it.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

async fn save_district(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<SiteForm>,
) -> Result<Response, PageError> {
    let d = site::DistrictIn {
        slug: &f.slug,
        name: f.name(),
        division: &f.division,
        lat: &f.lat,
        long: &f.long,
    };
    let r = site::save_district(&state, &staff, lang, &d).await;
    site_outcome(&state, &staff, lang, &csrf, &uri, r, "districts").await
}

// ---------------------------------------------------------------------------------------------
// The recorded prompts of voice calls

#[derive(Template)]
#[template(path = "staff_admin_prompts.html")]
struct PromptsPage {
    p: Page,
    /// The language whose prompts are listed.
    code: String,
    /// (code, name, shown)
    langs: Vec<(String, String, bool)>,
    rows: Vec<crate::channels::voice::Prompt>,
    recorded: usize,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PromptsQuery {
    lang: Option<String>,
}

/// The prompts `power` records in `of`: a department's managers see their department's.
async fn prompts_view(
    state: &AppState,
    staff: &Staff,
    frame: (Lang, &Csrf, &axum::http::Uri),
    power: Power,
    of: Lang,
) -> Result<PromptsPage, PageError> {
    let (lang, csrf, uri) = frame;
    let rows: Vec<crate::channels::voice::Prompt> = crate::channels::voice_prompts(&state.db, of)
        .await
        .or_page(lang)?
        .into_iter()
        .filter(|p| match power {
            Power::Platform => true,
            Power::Department(d) => p.department == Some(d),
        })
        .collect();
    Ok(PromptsPage {
        p: staff_page(state, lang, lang.t("admin-prompts"), uri, csrf, staff),
        code: of.code().to_owned(),
        langs: [Lang::En, Lang::Ur, Lang::Ps]
            .iter()
            .map(|l| (l.code().to_owned(), l.native_name().to_owned(), *l == of))
            .collect(),
        recorded: rows.iter().filter(|r| r.recorded.is_some()).count(),
        rows,
        error: None,
    })
}

async fn prompts_page(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<PromptsQuery>,
) -> Result<Response, PageError> {
    let power = Power::of(&staff).map_err(|_| PageError::not_found(lang))?;
    let of = q.lang.as_deref().and_then(Lang::parse).unwrap_or(lang);
    let page = prompts_view(&state, &staff, (lang, &csrf, &uri), power, of).await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// A recording uploaded as a prompt, or a prompt forgotten (`remove`).
async fn save_prompt(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    form: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let power = Power::of(&staff).map_err(|_| PageError::not_found(lang))?;
    let sent = super::read_checked(
        &csrf,
        form,
        crate::platform::whatsapp::MAX_AUDIO_BYTES,
        lang,
    )
    .await?;
    let of = sent
        .fields
        .get("lang")
        .and_then(|l| Lang::parse(l))
        .ok_or_else(|| PageError::not_found(lang))?;
    let name = sent.fields.get("name").cloned().unwrap_or_default();
    let file = sent
        .files
        .into_iter()
        .find(|(n, b)| n == "recording" && !b.is_empty())
        .map(|(_, b)| b);
    // No file is refused as "not a recording", once the caller may record this prompt at all.
    let bytes = match sent.fields.contains_key("remove") {
        true => None,
        false => Some(file.unwrap_or_default()),
    };
    let r = crate::channels::set_voice_prompt(
        &state.db,
        &state.files,
        (&staff.actor(), power),
        (of, &name),
        bytes,
    )
    .await;
    match r {
        Ok(()) => Ok(
            Redirect::to(&format!("/staff/admin/prompts?lang={}#p-{name}", of.code()))
                .into_response(),
        ),
        Err(e @ Error::BadRequest(_)) => {
            let mut page = prompts_view(&state, &staff, (lang, &csrf, &uri), power, of).await?;
            page.error = Some(e.message());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
        }
        Err(e) => Err(e).or_page(lang),
    }
}

// ---------------------------------------------------------------------------------------------
// Setting a password by link

#[derive(Template)]
#[template(path = "staff_password.html")]
struct PasswordPage {
    p: Page,
    name: String,
    error: Option<String>,
}

async fn password_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let name = users::link_owner(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let page = PasswordPage {
        p: Page::new(lang, lang.t("admin-password"), &uri, &csrf),
        name,
        error: None,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    Path(token): Path<String>,
    FormPost(csrf, f): FormPost<PasswordForm>,
) -> Result<Response, PageError> {
    match users::set_password(&state.db, &token, &f.password).await {
        Ok(()) => Ok(Redirect::to("/staff/login").into_response()),
        Err(e @ Error::BadRequest(_)) => {
            let name = users::link_owner(&state.db, &token)
                .await
                .or_page(lang)?
                .unwrap_or_default();
            let page = PasswordPage {
                p: Page::new(lang, lang.t("admin-password"), &uri, &csrf),
                name,
                error: Some(e.message()),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}
