//! Open data pages: search with facets, a dataset, and a table preview with sorting, filters and
//! pages; downloads are the DCAT distributions (`/dataset/{name}/resource/{id}.csv|json`).
//! Staff: `/staff/data`, where a department's managers publish a CSV.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::staff::{staff_page, StaffPage};
use super::{format, render, Csrf, Here, OrPage, Page, PageError};
use crate::opendata::datastore::{self, Search};
use crate::opendata::store::{self, DatasetFilter};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::identity::{Role, Scope, Staff, StaffKind};
use crate::platform::org;
use crate::platform::state::AppState;
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/data", get(search))
        .route("/data/{name}", get(dataset))
        .route("/data/{name}/{resource}", get(preview))
        .route(
            "/staff/data",
            get(publish_form)
                .post(publish)
                // A CSV of a million rows is ~150 MB; it is streamed to a file.
                .layer(DefaultBodyLimit::max(512 * 1024 * 1024)),
        )
}

pub struct Facet {
    pub label: String,
    pub count: i64,
    pub href: String,
    pub current: bool,
}

pub struct Hit {
    pub name: String,
    pub title: String,
    pub publisher: String,
    pub notes: String,
    pub modified: String,
}

#[derive(Template)]
#[template(path = "data_search.html")]
struct SearchPage {
    p: Page,
    q: String,
    count_text: String,
    hits: Vec<Hit>,
    organizations: Vec<Facet>,
    tags: Vec<Facet>,
    prev: Option<String>,
    next: Option<String>,
}

const PER_PAGE: i64 = 20;

fn link(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    format!(
        "/data?{}",
        serde_urlencoded::to_string(kept).unwrap_or_default()
    )
}

async fn search(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (text, organization, tag) = (get("q"), get("organization"), get("tag"));
    let page_no: i64 = get("page")
        .parse()
        .ok()
        .filter(|p| (1..=10_000).contains(p))
        .unwrap_or(1);
    let f = DatasetFilter {
        words: crate::platform::text::words(&text),
        department: (!organization.is_empty()).then(|| organization.clone()),
        tag: (!tag.is_empty()).then(|| tag.clone()),
        ..Default::default()
    };
    let (rows, total) = store::search(
        &state.db,
        &f,
        store::DatasetOrder::Relevance,
        PER_PAGE,
        (page_no - 1) * PER_PAGE,
    )
    .await
    .or_page(lang)?;
    let departments = org::departments(&state.db).await.or_page(lang)?;
    let dept_name = |slug: &str| {
        departments
            .iter()
            .find(|d| d.slug == slug)
            .map(|d| d.name().get(lang).to_owned())
            .unwrap_or_else(|| slug.to_owned())
    };
    let hits = rows
        .iter()
        .map(|d| Hit {
            name: d.name.clone(),
            title: d.title.clone(),
            publisher: d
                .department_id
                .and_then(|id| departments.iter().find(|x| x.id == id))
                .map(|x| x.name().get(lang).to_owned())
                .unwrap_or_default(),
            notes: d.notes.chars().take(200).collect(),
            modified: format::date(lang, d.modified_at),
        })
        .collect();
    let organizations = store::department_facet(&state.db, &f)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|(slug, n)| Facet {
            label: dept_name(&slug),
            count: n,
            current: slug == organization,
            href: link(&[
                ("q", &text),
                (
                    "organization",
                    if slug == organization { "" } else { &slug },
                ),
                ("tag", &tag),
            ]),
        })
        .collect();
    let tags = store::label_counts(&state.db, &f, store::Labels::Tags)
        .await
        .or_page(lang)?
        .into_iter()
        .take(20)
        .map(|(name, n)| Facet {
            current: name == tag,
            count: n,
            href: link(&[
                ("q", &text),
                ("organization", &organization),
                ("tag", if name == tag { "" } else { &name }),
            ]),
            label: name,
        })
        .collect();
    let page_link = |p: i64| {
        link(&[
            ("q", &text),
            ("organization", &organization),
            ("tag", &tag),
            ("page", &p.to_string()),
        ])
    };
    let page = SearchPage {
        p: Page::new(lang, lang.t("data-title"), &uri, &csrf),
        count_text: t!(lang, "data-count", count = total),
        hits,
        organizations,
        tags,
        prev: (page_no > 1).then(|| page_link(page_no - 1)),
        next: (page_no * PER_PAGE < total).then(|| page_link(page_no + 1)),
        q: text,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct ResourceView {
    pub id: String,
    pub name: String,
    pub rows: String,
    pub fields: String,
    pub csv: String,
    pub json: String,
}

#[derive(Template)]
#[template(path = "data_dataset.html")]
struct DatasetPage {
    p: Page,
    name: String,
    notes: String,
    publisher: String,
    license: String,
    license_url: String,
    modified: String,
    tags: Vec<String>,
    resources: Vec<ResourceView>,
}

async fn dataset(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let d = store::dataset(&state.db, &name)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let departments = org::departments(&state.db).await.or_page(lang)?;
    let resources = store::resources_of(&state.db, &[d.id])
        .await
        .or_page(lang)?;
    let page = DatasetPage {
        p: Page::new(lang, d.title.clone(), &uri, &csrf),
        name: d.name.clone(),
        notes: d.notes.clone(),
        publisher: d
            .department_id
            .and_then(|id| departments.iter().find(|x| x.id == id))
            .map(|x| x.name().get(lang).to_owned())
            .unwrap_or_default(),
        license: crate::opendata::license::find(&d.license_id)
            .map_or_else(|| d.license_id.clone(), |l| l.title.to_owned()),
        license_url: crate::opendata::license::find(&d.license_id)
            .map(|l| l.url.to_owned())
            .unwrap_or_default(),
        modified: format::date(lang, d.modified_at),
        tags: d.tags(),
        resources: resources
            .iter()
            .map(|r| ResourceView {
                id: r.uuid.clone(),
                name: r.name.clone(),
                rows: t!(lang, "data-rows", count = r.row_count),
                fields: r
                    .fields()
                    .iter()
                    .map(|f| f.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                csv: format!("/dataset/{}/resource/{}.csv", d.name, r.uuid),
                json: format!("/dataset/{}/resource/{}.json", d.name, r.uuid),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct Column {
    pub id: String,
    pub sort_href: String,
    pub sorted: &'static str,
    pub filter: String,
    pub index: usize,
}

#[derive(Template)]
#[template(path = "data_preview.html")]
struct PreviewPage {
    p: Page,
    dataset: String,
    dataset_title: String,
    resource: String,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
    shown: String,
    prev: Option<String>,
    next: Option<String>,
    sort: String,
    dir: String,
    /// Words searched for in every text column.
    words: String,
    error: Option<String>,
}

const PREVIEW_ROWS: i64 = 25;

async fn preview(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path((name, resource)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let d = store::dataset(&state.db, &name)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let r = store::resource(&state.db, &resource)
        .await
        .or_page(lang)?
        .filter(|r| r.dataset_id == d.id)
        .ok_or_else(|| PageError::not_found(lang))?;
    let table = r
        .datastore_table
        .clone()
        .ok_or_else(|| PageError::not_found(lang))?;
    let fields = r.fields();
    let sort = q.get("sort").cloned().unwrap_or_default();
    let dir = if q.get("dir").map(String::as_str) == Some("desc") {
        "desc"
    } else {
        "asc"
    };
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let filters: Vec<(String, String)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            q.get(&format!("f{i}"))
                .filter(|v| !v.trim().is_empty())
                .map(|v| (f.id.clone(), v.trim().to_owned()))
        })
        .collect();
    let words = q.get("q").map(|v| v.trim().to_owned()).unwrap_or_default();
    let search = Search {
        q: (!words.is_empty()).then(|| words.clone()),
        filters: filters.clone(),
        fields: None,
        sort: if sort.is_empty() {
            vec![]
        } else {
            vec![(sort.clone(), dir == "desc")]
        },
        limit: PREVIEW_ROWS,
        offset: (page_no - 1) * PREVIEW_ROWS,
        include_total: true,
        distinct: false,
    };
    let (rows, total, error) =
        match datastore::search(&state.db, &table, &fields, r.full_text, &search).await {
            Ok((_, rows, total)) => (rows, total.unwrap_or(0), None),
            Err(e @ (Error::Conflict(_) | Error::BadRequest(_))) => (vec![], 0, Some(e.message())),
            Err(e) => return Err(PageError { error: e, lang }),
        };
    let here = |extra: &[(&str, String)]| {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .enumerate()
            .filter_map(|(i, _)| {
                q.get(&format!("f{i}"))
                    .filter(|v| !v.is_empty())
                    .map(|v| (format!("f{i}"), v.clone()))
            })
            .collect();
        if !sort.is_empty() {
            pairs.push(("sort".into(), sort.clone()));
            pairs.push(("dir".into(), dir.into()));
        }
        if !words.is_empty() {
            pairs.push(("q".into(), words.clone()));
        }
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push(((*k).to_owned(), v.clone()));
        }
        format!(
            "/data/{}/{}?{}",
            d.name,
            r.uuid,
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let columns = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (sorted, next_dir) = match (sort == f.id, dir) {
                (true, "asc") => ("▲", "desc"),
                (true, _) => ("▼", "asc"),
                (false, _) => ("", "asc"),
            };
            Column {
                id: f.id.clone(),
                sorted,
                index: i,
                sort_href: here(&[
                    ("sort", f.id.clone()),
                    ("dir", next_dir.into()),
                    ("page", "1".into()),
                ]),
                filter: q.get(&format!("f{i}")).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.as_array()
                .map(|a| {
                    a[1..]
                        .iter()
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => String::new(),
                            o => o.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let first = if total == 0 { 0 } else { search.offset + 1 };
    let last = search.offset + cells.len() as i64;
    let page = PreviewPage {
        p: Page::new(lang, r.name.clone(), &uri, &csrf),
        dataset: d.name.clone(),
        dataset_title: d.title.clone(),
        resource: r.uuid.clone(),
        columns,
        rows: cells,
        shown: t!(
            lang,
            "inbox-shown",
            first = first,
            last = last,
            total = total
        ),
        prev: (page_no > 1).then(|| here(&[("page", (page_no - 1).to_string())])),
        next: (last < total).then(|| here(&[("page", (page_no + 1).to_string())])),
        words: words.clone(),
        sort: sort.clone(),
        dir: dir.into(),
        error,
    };
    Ok(render(
        if page.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        &csrf,
        &page,
    ))
}

// ---------------------------------------------------------------------------------------------
// Staff: publishing a CSV

/// Whether `staff` publishes open data at all: not an officer (officers work records).
pub(super) fn may_publish(staff: &Staff) -> bool {
    !matches!(
        staff.kind,
        StaffKind::User {
            role: Role::Officer,
            ..
        }
    )
}

/// The departments `staff` publishes for: every one for an administrator, their own for a
/// department's manager (or key), none for an officer.
async fn publishes_for(state: &AppState, staff: &Staff) -> Result<Vec<org::Department>, Error> {
    if !may_publish(staff) {
        return Ok(vec![]);
    }
    let all = org::departments(&state.db).await?;
    Ok(match &staff.scope {
        Scope::Department { department_id, .. } => {
            all.into_iter().filter(|d| d.id == *department_id).collect()
        }
        Scope::All => all,
    })
}

#[derive(Template)]
#[template(path = "staff_data.html")]
struct PublishPage {
    p: Page,
    departments: Vec<(String, String)>,
    datasets: Vec<(String, String, String)>,
    error: Option<String>,
    name: String,
    title: String,
}

async fn publish_page(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    error: Option<String>,
    (name, title): (String, String),
) -> Result<Response, PageError> {
    let departments = publishes_for(state, staff).await.or_page(lang)?;
    if departments.is_empty() {
        return Err(PageError {
            error: Error::Forbidden(lang.t("data-publish-forbidden")),
            lang,
        });
    }
    let mut datasets = Vec::new();
    for d in &departments {
        let f = DatasetFilter {
            department: Some(d.slug.clone()),
            ..Default::default()
        };
        let (rows, _) = store::search(&state.db, &f, store::DatasetOrder::Name, 1000, 0)
            .await
            .or_page(lang)?;
        for r in rows {
            datasets.push((r.name, r.title, format::date(lang, r.modified_at)));
        }
    }
    let page = PublishPage {
        p: staff_page(state, lang, lang.t("data-publish-title"), uri, csrf, staff),
        departments: departments
            .iter()
            .map(|d| (d.slug.clone(), d.name().get(lang).to_owned()))
            .collect(),
        datasets,
        error,
        name,
        title,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(status, csrf, &page))
}

async fn publish_form(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    publish_page(&state, &staff, lang, &csrf, &uri, None, Default::default()).await
}

async fn publish(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    form: Multipart,
) -> Result<Response, PageError> {
    let sent = super::read_upload_checked(&csrf, form, "file", lang).await?;
    let field = |k: &str| {
        sent.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (name, title, department) = (field("name"), field("title"), field("department"));
    let again = |error: String| {
        let (state, staff, csrf, uri) = (&state, &staff, &csrf, &uri);
        let kept = (name.clone(), title.clone());
        async move { publish_page(state, staff, lang, csrf, uri, Some(error), kept).await }
    };
    let departments = publishes_for(&state, &staff).await.or_page(lang)?;
    let Some(department) = departments
        .iter()
        .find(|d| d.slug == department || departments.len() == 1)
    else {
        return again(lang.t("data-publish-choose-department")).await;
    };
    let Some((file, _)) = sent
        .file
        .as_ref()
        .filter(|(f, _)| std::fs::metadata(f.path()).is_ok_and(|m| m.len() > 0))
    else {
        return again(lang.t("data-publish-no-file")).await;
    };
    if let Some(existing) = store::dataset(&state.db, &name).await.or_page(lang)? {
        if existing.department_id != Some(department.id) {
            return again(lang.t("data-publish-not-yours")).await;
        }
    }
    let title = (!title.is_empty()).then_some(title.as_str());
    match crate::opendata::import_upload(
        &state.db,
        &staff.actor(),
        file.path(),
        &name,
        title,
        Some(&department.slug),
    )
    .await
    {
        Ok(done) => {
            let indexes: Vec<String> = field("index")
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            if !indexes.is_empty() {
                if let Err(e) =
                    crate::opendata::index_fields(&state.db, &done.resource_id, &indexes).await
                {
                    return again(e.message()).await;
                }
            }
            Ok(Redirect::to(&format!("/data/{}", done.dataset)).into_response())
        }
        Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => again(e.message()).await,
        Err(e) => Err(PageError { error: e, lang }),
    }
}
