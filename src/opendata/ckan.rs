//! The CKAN Action API v3 (read side) at `/api/3/action/{name}` (and `/api/action/{name}`): the envelope CKAN clients
//! expect (`{help, success, result}`; errors `{success: false, error: {__type, message}}`), with
//! parameters from the query string or a JSON body, as `ckanapi` sends them.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::datastore::{self, FieldType, Search};
use super::store::{self, DatasetFilter, DatasetOrder, DatasetRow, ResourceRow};
use crate::platform::error::Error;
use crate::platform::org::{self, Department};
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    // CKAN answers at both; ckanapi calls the unversioned one.
    // Uploads (resource_create) are streamed to a file; a CSV of a million rows is ~60 MB.
    Router::new()
        .route("/api/3/action/{name}", get(action).post(action))
        .route("/api/action/{name}", get(action).post(action))
        .layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024))
}

/// A CKAN error: its `__type` and message, with the HTTP status CKAN gives it.
struct CkanError(StatusCode, &'static str, String);

impl From<Error> for CkanError {
    fn from(e: Error) -> Self {
        let message = e.message();
        match e {
            Error::NotFound(_) => CkanError(StatusCode::NOT_FOUND, "Not Found Error", message),
            Error::Forbidden(_) | Error::Unauthorized(_) => {
                CkanError(StatusCode::FORBIDDEN, "Authorization Error", message)
            }
            Error::Conflict(_) | Error::BadRequest(_) | Error::Unprocessable(_) => {
                CkanError(StatusCode::CONFLICT, "Validation Error", message)
            }
            other => CkanError(other.status(), "Internal Error", message),
        }
    }
}

impl From<sqlx::Error> for CkanError {
    fn from(e: sqlx::Error) -> Self {
        Error::from(e).into()
    }
}

type Params = Map<String, Value>;

/// The actions that write: they need a department's key.
const WRITES: &[&str] = &[
    "package_create",
    "package_update",
    "package_delete",
    "resource_create",
    "datastore_create",
    "datastore_upsert",
];

fn help(base: &str, name: &str) -> String {
    format!("{base}/api/3/action/help_show?name={name}")
}

async fn action(
    State(state): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    let base = state.config.base_url(&headers);
    let mut params: Params = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let multipart = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Who may write is settled before a byte of the body is read: a stranger's upload is
    // refused unread. Then each kind of action reads at most what it needs: a file only with
    // resource_create, records only with the writes, a small JSON object otherwise.
    let writes = WRITES.contains(&name.as_str());
    let key = if writes {
        match writer(&state, &headers).await {
            Ok(k) => Some(k),
            Err(e) => return envelope(&base, &name, Err(e)),
        }
    } else {
        None
    };
    let too_large = |what: &str| {
        CkanError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Validation Error",
            format!("the body is too large: {what}"),
        )
    };
    if multipart && name != "resource_create" {
        return envelope(
            &base,
            &name,
            Err(too_large("only resource_create takes a file (multipart)")),
        );
    }
    let limit = if writes {
        64 * 1024 * 1024
    } else {
        1024 * 1024
    };
    // A file sent with the action (resource_create's `upload`), kept in a temporary file.
    let mut upload: Option<super::upload::TempFile> = None;
    if multipart {
        match read_multipart(&state, req, &mut params).await {
            Ok(u) => upload = u,
            Err(e) => return envelope(&base, &name, Err(e)),
        }
    } else {
        let body = match axum::body::to_bytes(req.into_body(), limit).await {
            Ok(b) => b,
            Err(_) => {
                return envelope(
                    &base,
                    &name,
                    Err(too_large(if writes {
                        "upload files as multipart"
                    } else {
                        "a query is at most 1 MB"
                    })),
                );
            }
        };
        if !body.is_empty() {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => {
                    return envelope(
                        &base,
                        &name,
                        Err(CkanError(
                            StatusCode::BAD_REQUEST,
                            "Validation Error",
                            "the body must be a JSON object".into(),
                        )),
                    );
                }
            }
        }
    }
    let result = match name.as_str() {
        "package_create" | "package_update" | "package_delete" => {
            let key = key.as_ref().expect("writes are authenticated above");
            write(&state, &name, &params, &base, key).await
        }
        "resource_create" | "datastore_create" | "datastore_upsert" => {
            let key = key.as_ref().expect("writes are authenticated above");
            datastore_write(
                &state,
                &name,
                &params,
                &base,
                key,
                upload.as_ref().map(|u| u.path()),
            )
            .await
        }
        _ => run(&state, &name, &params, &base).await,
    };
    envelope(&base, &name, result)
}

/// The department key behind a write (`Authorization: KEY`, as CKAN clients send it, or
/// `Bearer KEY`; or `X-CKAN-API-Key`). Client keys and strangers get CKAN's 403.
async fn writer(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::platform::identity::ApiKey, CkanError> {
    let denied = |m: &str| CkanError(StatusCode::FORBIDDEN, "Authorization Error", m.to_owned());
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)
        .or_else(|| headers.get("x-ckan-api-key"))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("Bearer ").trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            denied("Access denied: send a department API key in the Authorization header")
        })?;
    let key = crate::platform::identity::api_key(&state.db, secret)
        .await
        .map_err(CkanError::from)?
        .ok_or_else(|| denied("Access denied: the API key is not valid or has been revoked"))?;
    if key.department_id.is_none() {
        return Err(denied(
            "Access denied: a client key may submit reports; publishing needs a department key",
        ));
    }
    Ok(key)
}

/// `license_id`, one of [`super::license::LICENSES`]; `default` when not given.
fn license_of(p: &Params, default: &str) -> Result<String, CkanError> {
    match text(p, "license_id") {
        None => Ok(default.to_owned()),
        Some(id) if super::license::find(&id).is_some() => Ok(id),
        Some(id) => Err(CkanError(
            StatusCode::CONFLICT,
            "Validation Error",
            format!(
                "license_id: {id:?} is not one of license_list ({})",
                super::license::LICENSES
                    .iter()
                    .map(|l| l.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A group as CKAN shows one (groups are named themes; their name is their title).
fn group_dict(name: &str, package_count: i64) -> Value {
    json!({"name": name, "id": name, "title": name, "display_name": name, "type": "group",
        "is_organization": false, "state": "active", "package_count": package_count})
}

/// `groups`: a list of `{"name": …}` (or names), each a-z, 0-9, - and _ (2 to 100).
fn groups_of(p: &Params) -> Result<Vec<String>, CkanError> {
    let mut out: Vec<String> = Vec::new();
    let list = match p.get("groups") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                "groups: a list of {\"name\": …}".into(),
            ))
        }
    };
    for g in list {
        let name = match g {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("id"))
                .and_then(Value::as_str)
                .unwrap_or(""),
            _ => "",
        };
        let valid = (2..=100).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!("groups: {name:?} is not a group name (2-100 of a-z, 0-9, - and _)"),
            ));
        }
        if !out.iter().any(|x| x == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

fn tags_of(p: &Params) -> Result<Vec<String>, CkanError> {
    let mut out = Vec::new();
    match p.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for t in a {
                let name = match t {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    _ => String::new(),
                };
                let name = name.trim().to_owned();
                if name.is_empty() || name.chars().count() > 100 {
                    return Err(CkanError(
                        StatusCode::CONFLICT,
                        "Validation Error",
                        "tags: each tag needs a name of 1 to 100 characters".into(),
                    ));
                }
                out.push(name);
            }
        }
        Some(_) => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                "tags: a list of {\"name\": …}".into(),
            ))
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Record a change to a dataset in the audit log.
async fn audit_dataset(
    tx: &mut crate::platform::db::Tx,
    actor: &str,
    action: &str,
    d: &DatasetRow,
) -> Result<(), sqlx::Error> {
    crate::platform::audit::record(
        tx,
        actor,
        action,
        "dataset",
        &d.id.to_string(),
        json!({"name": d.name}),
    )
    .await
}

async fn write(
    state: &AppState,
    name: &str,
    p: &Params,
    base: &str,
    key: &crate::platform::identity::ApiKey,
) -> Result<Value, CkanError> {
    let invalid = |m: String| CkanError(StatusCode::CONFLICT, "Validation Error", m);
    let department_id = key.department_id.expect("checked by writer");
    let actor = format!("key:{}", key.id);
    match name {
        "package_create" => {
            let dataset = required(p, "name")?;
            if dataset.len() < 2 || !store::valid_name(&dataset) {
                return Err(invalid("name: 2-100 of a-z, 0-9, - and _".into()));
            }
            if let Some(org) = text(p, "owner_org") {
                let d = org::department_by_slug(&state.db, &org)
                    .await?
                    .ok_or_else(|| invalid(format!("owner_org: no organization {org:?}")))?;
                if d.id != department_id {
                    return Err(CkanError(
                        StatusCode::FORBIDDEN,
                        "Authorization Error",
                        "owner_org: your key publishes for its own department only".into(),
                    ));
                }
            }
            let tags = tags_of(p)?;
            let groups = groups_of(p)?;
            let title = text(p, "title").unwrap_or_else(|| dataset.clone());
            let notes = text(p, "notes").unwrap_or_default();
            let license = license_of(p, super::license::DEFAULT)?;
            let mut tx = state.db.begin().await.map_err(CkanError::from)?;
            let id = store::create_dataset(
                &mut tx,
                &store::DatasetSpec {
                    name: &dataset,
                    title: &title,
                    notes: &notes,
                    department_id: Some(department_id),
                    license_id: &license,
                    tags: &tags,
                    groups: &groups,
                },
            )
            .await?
            .ok_or_else(|| invalid("name: That URL is already in use.".into()))?;
            crate::platform::audit::record(
                &mut tx,
                &actor,
                "dataset.create",
                "dataset",
                &id.to_string(),
                json!({"name": dataset}),
            )
            .await?;
            tx.commit().await?;
            let d = store::dataset(&state.db, &dataset)
                .await?
                .ok_or_else(|| invalid("the dataset vanished".into()))?;
            Ok(packages(state, &[d], base).await?.remove(0))
        }
        "package_update" | "package_delete" => {
            let id = required(p, "id").or_else(|_| required(p, "name"))?;
            let d = store::dataset(&state.db, &id).await?.ok_or_else(|| {
                CkanError(
                    StatusCode::NOT_FOUND,
                    "Not Found Error",
                    "Dataset not found".into(),
                )
            })?;
            if d.department_id != Some(department_id) {
                return Err(CkanError(
                    StatusCode::FORBIDDEN,
                    "Authorization Error",
                    "Access denied: not your department's dataset".into(),
                ));
            }
            let mut tx = state.db.begin().await.map_err(CkanError::from)?;
            if name == "package_delete" {
                store::delete_dataset(&mut tx, d.id).await?;
                audit_dataset(&mut tx, &actor, "dataset.delete", &d).await?;
                tx.commit().await?;
                return Ok(Value::Null);
            }
            let tags = if p.contains_key("tags") {
                tags_of(p)?
            } else {
                d.tags()
            };
            let groups = if p.contains_key("groups") {
                groups_of(p)?
            } else {
                d.groups()
            };
            let title = text(p, "title").unwrap_or_else(|| d.title.clone());
            let notes = text(p, "notes").unwrap_or_else(|| d.notes.clone());
            let license = license_of(p, &d.license_id)?;
            store::update_dataset(
                &mut tx,
                d.id,
                &store::DatasetSpec {
                    name: &d.name,
                    title: &title,
                    notes: &notes,
                    department_id: d.department_id,
                    license_id: &license,
                    tags: &tags,
                    groups: &groups,
                },
            )
            .await?;
            audit_dataset(&mut tx, &actor, "dataset.update", &d).await?;
            tx.commit().await?;
            let d = store::dataset(&state.db, &d.name)
                .await?
                .ok_or_else(|| invalid("the dataset vanished".into()))?;
            Ok(packages(state, &[d], base).await?.remove(0))
        }
        _ => unreachable!("only write actions come here"),
    }
}

fn envelope(base: &str, name: &str, result: Result<Value, CkanError>) -> Response {
    match result {
        Ok(v) => Json(json!({"help": help(base, name), "success": true, "result": v})).into_response(),
        Err(CkanError(status, kind, message)) => (
            status,
            Json(json!({"help": help(base, name), "success": false, "error": {"__type": kind, "message": message}})),
        )
            .into_response(),
    }
}

fn text(p: &Params, k: &str) -> Option<String> {
    match p.get(k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(p: &Params, k: &str, default: i64, max: i64) -> Result<i64, CkanError> {
    match text(p, k) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| {
                CkanError(
                    StatusCode::CONFLICT,
                    "Validation Error",
                    format!("{k}: a whole number from 0 to {max}"),
                )
            }),
    }
}

fn flag(p: &Params, k: &str, default: bool) -> bool {
    match text(p, k).as_deref() {
        Some("true") | Some("True") | Some("1") => true,
        Some("false") | Some("False") | Some("0") => false,
        _ => default,
    }
}

fn required(p: &Params, k: &str) -> Result<String, CkanError> {
    text(p, k).ok_or_else(|| {
        CkanError(
            StatusCode::CONFLICT,
            "Validation Error",
            format!("{k}: Missing value"),
        )
    })
}

fn organization_dict(d: &Department, count: Option<i64>) -> Value {
    let mut v = json!({
        "id": d.slug, "name": d.slug, "title": d.name_en, "display_name": d.name_en,
        "description": format!("{} / {} / {}", d.name_en, d.name_ur, d.name_ps),
        "type": "organization", "state": "active", "is_organization": true, "approval_status": "approved",
    });
    if let Some(n) = count {
        v["package_count"] = json!(n);
    }
    v
}

/// A resource as CKAN describes it. Its `url` downloads the file (the rows as CSV), as a client
/// that fetches a resource expects (frictionless's CKAN adapter does); `datastore_active` tells it
/// the rows can also be queried with `datastore_search`.
fn resource_dict(r: &ResourceRow, dataset: &DatasetRow, base: &str) -> Value {
    let (url, mimetype) = match r.datastore_table {
        Some(_) => (
            format!("{base}/dataset/{}/resource/{}.csv", dataset.name, r.uuid),
            Some("text/csv"),
        ),
        None => (format!("{base}/dataset/{}", dataset.name), None),
    };
    json!({
        "id": r.uuid, "package_id": dataset.uuid, "name": r.name, "description": r.description,
        "format": r.format, "url": url, "mimetype": mimetype,
        "datastore_active": r.datastore_table.is_some(), "state": "active",
        "created": r.created_at.to_rfc3339(), "last_modified": r.modified_at.to_rfc3339(),
        "position": 0,
    })
}

fn package_dict(
    d: &DatasetRow,
    resources: &[&ResourceRow],
    departments: &[Department],
    base: &str,
) -> Value {
    let org = d
        .department_id
        .and_then(|id| departments.iter().find(|x| x.id == id));
    let tags: Vec<Value> = d
        .tags()
        .into_iter()
        .map(|t| json!({"name": t, "display_name": t, "state": "active"}))
        .collect();
    let mut res: Vec<Value> = resources
        .iter()
        .map(|r| resource_dict(r, d, base))
        .collect();
    for (i, r) in res.iter_mut().enumerate() {
        r["position"] = json!(i);
    }
    json!({
        "id": d.uuid, "name": d.name, "title": d.title, "notes": d.notes, "type": "dataset",
        "state": d.state, "private": false, "license_id": d.license_id,
        "license_title": super::license::find(&d.license_id).map_or(d.license_id.as_str(), |l| l.title),
        "license_url": super::license::find(&d.license_id).map(|l| l.url),
        "owner_org": org.map(|o| o.slug.clone()), "organization": org.map(|o| organization_dict(o, None)),
        "num_tags": tags.len(), "tags": tags, "num_resources": res.len(), "resources": res,
        "groups": d.groups().iter().map(|g| json!({"name": g, "id": g, "title": g, "display_name": g})).collect::<Vec<_>>(),
        "metadata_created": d.created_at.to_rfc3339(), "metadata_modified": d.modified_at.to_rfc3339(),
    })
}

async fn packages(
    state: &AppState,
    rows: &[DatasetRow],
    base: &str,
) -> Result<Vec<Value>, CkanError> {
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let resources = store::resources_of(&state.db, &ids).await?;
    let departments = org::departments(&state.db).await?;
    Ok(rows
        .iter()
        .map(|d| {
            let mine: Vec<&ResourceRow> =
                resources.iter().filter(|r| r.dataset_id == d.id).collect();
            package_dict(d, &mine, &departments, base)
        })
        .collect())
}

/// Every action this API answers, with what `help_show` says of it (CKAN returns the action's
/// documentation there, and links it from every response's `help`).
const ACTIONS: &[(&str, &str)] = &[
    ("site_read", "Whether the site can be read: always true."),
    ("status_show", "The site's title, address, CKAN version it speaks and extensions."),
    ("help_show", "The documentation of an action.\n\n:param name: the action's name"),
    ("package_list", "The names of every dataset.\n\n:param limit, offset: a page of them"),
    ("package_show", "One dataset with its resources.\n\n:param id: the dataset's id or name"),
    ("package_search", "Datasets matching a query, with facets.\n\n:param q: words, in any of English, Urdu and Pashto\n:param fq: organization:, tags:, groups:, res_format:, name:\n:param facet.field: organization, tags, groups, license_id, res_format\n:param sort, rows, start"),
    ("organization_list", "The departments that publish.\n\n:param all_fields: with their counts"),
    ("organization_show", "One department.\n\n:param id: its name"),
    ("group_list", "The themes datasets are grouped in."),
    ("group_show", "One theme.\n\n:param id: its name"),
    ("license_list", "The licences a dataset may carry."),
    ("tag_list", "Every tag in use."),
    ("resource_show", "One resource: its url downloads the rows as CSV.\n\n:param id: the resource's id"),
    ("datastore_search", "Rows of a DataStore resource.\n\n:param resource_id\n:param q, filters, fields, sort, limit, offset, distinct, include_total, records_format"),
    ("datastore_search_sql", "A read-only SQL SELECT over DataStore resources (tables named by resource id).\n\n:param sql"),
    ("package_create", "Create a dataset (a department's API key).\n\n:param name, title, notes, owner_org, license_id, tags, groups"),
    ("package_update", "Change a dataset (a department's API key).\n\n:param id"),
    ("package_delete", "Delete a dataset and its rows (a department's API key).\n\n:param id"),
    ("resource_create", "Upload a CSV as a new resource of a dataset (a department's API key).\n\n:param package_id, name, upload"),
    ("datastore_create", "Create a DataStore resource from fields and records (a department's API key).\n\n:param resource or resource_id, fields, records"),
    ("datastore_upsert", "Insert, update or upsert records (a department's API key).\n\n:param resource_id, records, method"),
];

async fn run(state: &AppState, name: &str, p: &Params, base: &str) -> Result<Value, CkanError> {
    match name {
        "help_show" => {
            let want = text(p, "name").ok_or_else(|| {
                CkanError(
                    StatusCode::CONFLICT,
                    "Validation Error",
                    "name: Missing value".into(),
                )
            })?;
            ACTIONS
                .iter()
                .find(|(n, _)| *n == want)
                .map(|(_, doc)| json!(doc))
                .ok_or_else(|| {
                    CkanError(
                        StatusCode::NOT_FOUND,
                        "Not Found Error",
                        format!("Action name not known: {want}"),
                    )
                })
        }
        "site_read" => Ok(json!(true)),
        "status_show" => Ok(json!({
            "site_title": "Khidmat open data", "site_url": base, "ckan_version": "2.10.4",
            "site_description": "Open data of Khyber Pakhtunkhwa's civic services", "locale_default": "en",
            "extensions": ["datastore"],
        })),
        "package_list" => {
            let (rows, _) = store::search(
                &state.db,
                &DatasetFilter::default(),
                DatasetOrder::Name,
                100_000,
                0,
            )
            .await?;
            Ok(json!(rows.into_iter().map(|d| d.name).collect::<Vec<_>>()))
        }
        "package_show" => {
            let id = required(p, "id")?;
            let d = store::dataset(&state.db, &id).await?.ok_or_else(|| {
                CkanError(
                    StatusCode::NOT_FOUND,
                    "Not Found Error",
                    "Dataset not found".into(),
                )
            })?;
            Ok(packages(state, &[d], base).await?.remove(0))
        }
        "package_search" => package_search(state, p, base).await,
        "organization_list" => {
            let departments = org::departments(&state.db).await?;
            if flag(p, "all_fields", false) {
                let counts: HashMap<i64, i64> = store::counts_by_department(&state.db)
                    .await?
                    .into_iter()
                    .collect();
                Ok(json!(departments
                    .iter()
                    .map(|d| organization_dict(d, Some(counts.get(&d.id).copied().unwrap_or(0))))
                    .collect::<Vec<_>>()))
            } else {
                Ok(json!(departments
                    .into_iter()
                    .map(|d| d.slug)
                    .collect::<Vec<_>>()))
            }
        }
        "organization_show" => {
            let id = required(p, "id")?;
            let d = org::department_by_slug(&state.db, &id)
                .await?
                .ok_or_else(|| {
                    CkanError(
                        StatusCode::NOT_FOUND,
                        "Not Found Error",
                        "Organization not found".into(),
                    )
                })?;
            let counts: HashMap<i64, i64> = store::counts_by_department(&state.db)
                .await?
                .into_iter()
                .collect();
            Ok(organization_dict(
                &d,
                Some(counts.get(&d.id).copied().unwrap_or(0)),
            ))
        }
        "group_list" => {
            let mut groups =
                store::label_counts(&state.db, &DatasetFilter::default(), store::Labels::Groups)
                    .await?;
            groups.sort();
            Ok(if flag(p, "all_fields", false) {
                json!(groups.iter().map(|(g, n)| group_dict(g, *n)).collect::<Vec<_>>())
            } else {
                json!(groups.into_iter().map(|(g, _)| g).collect::<Vec<_>>())
            })
        }
        "group_show" => {
            let id = required(p, "id")?;
            let f = DatasetFilter {
                group: Some(id.clone()),
                ..Default::default()
            };
            let (_, count) = store::search(&state.db, &f, DatasetOrder::Name, 1, 0).await?;
            if count == 0 {
                return Err(CkanError(
                    StatusCode::NOT_FOUND,
                    "Not Found Error",
                    "Group not found".into(),
                ));
            }
            Ok(group_dict(&id, count))
        }
        "license_list" => Ok(json!(super::license::LICENSES
            .iter()
            .map(|l| json!({"id": l.id, "title": l.title, "url": l.url, "od_conformance": "approved", "status": "active"}))
            .collect::<Vec<_>>())),
        "tag_list" => {
            let mut tags: Vec<String> =
                store::label_counts(&state.db, &DatasetFilter::default(), store::Labels::Tags)
                    .await?
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
            tags.sort();
            Ok(json!(tags))
        }
        "resource_show" => {
            let id = required(p, "id")?;
            let r = resource_or_404(state, &id).await?;
            let d = store::dataset_of(&state.db, &r).await?;
            Ok(resource_dict(&r, &d, base))
        }
        "datastore_search" => datastore_search(state, p).await,
        "datastore_search_sql" => datastore_search_sql(state, p).await,
        _ => Err(CkanError(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("Action name not known: {name}"),
        )),
    }
}

async fn package_search(state: &AppState, p: &Params, base: &str) -> Result<Value, CkanError> {
    let mut f = DatasetFilter::default();
    if let Some(q) = text(p, "q").filter(|q| q != "*:*") {
        f.words = crate::platform::text::words(&q);
    }
    if let Some(fq) = text(p, "fq") {
        for term in fq.split_whitespace() {
            let (k, v) = term.split_once(':').ok_or_else(|| {
                CkanError(
                    StatusCode::CONFLICT,
                    "Validation Error",
                    format!("fq: {term:?} is not field:value"),
                )
            })?;
            let v = v.trim_matches('"').to_owned();
            match k.trim_start_matches('+') {
                "organization" | "owner_org" => f.department = Some(v),
                "tags" => f.tag = Some(v),
                "groups" => f.group = Some(v),
                "res_format" => f.format = Some(v),
                "name" => f.name = Some(v),
                other => {
                    return Err(CkanError(
                        StatusCode::CONFLICT,
                        "Validation Error",
                        format!(
                            "fq: cannot filter on {other:?} (organization, tags, groups, res_format, name)"
                        ),
                    ))
                }
            }
        }
    }
    let rows = number(p, "rows", 10, 1000)?;
    let start = number(p, "start", 0, 1_000_000)?;
    let sort = text(p, "sort").unwrap_or_else(|| "score desc, metadata_modified desc".into());
    let order = match sort.as_str() {
        "score desc, metadata_modified desc" | "score desc" => DatasetOrder::Relevance,
        "metadata_modified desc" => DatasetOrder::Newest,
        "metadata_modified asc" => DatasetOrder::Oldest,
        "name asc" | "title_string asc" => DatasetOrder::Name,
        "name desc" | "title_string desc" => DatasetOrder::NameDesc,
        other => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!("sort: {other:?} is not supported"),
            ))
        }
    };
    let (list, count) = store::search(&state.db, &f, order, rows, start).await?;
    let results = packages(state, &list, base).await?;
    let facet_fields: Vec<String> = match p.get("facet.field") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| vec![s.clone()]),
        _ => vec![],
    };
    let mut facets = Map::new();
    for field in facet_fields {
        let items: Vec<(String, i64)> = match field.as_str() {
            "organization" => store::department_facet(&state.db, &f).await?,
            "tags" => store::label_counts(&state.db, &f, store::Labels::Tags).await?,
            "groups" => store::label_counts(&state.db, &f, store::Labels::Groups).await?,
            "license_id" => store::license_facet(&state.db, &f).await?,
            "res_format" => store::format_facet(&state.db, &f).await?,
            other => {
                return Err(CkanError(
                    StatusCode::CONFLICT,
                    "Validation Error",
                    format!("facet.field: {other:?} is not supported (organization, tags, groups, license_id, res_format)"),
                ))
            }
        };
        facets.insert(field.clone(), json!({
            "title": field,
            "items": items.into_iter().map(|(name, count)| json!({"name": name, "display_name": name, "count": count})).collect::<Vec<_>>(),
        }));
    }
    Ok(
        json!({"count": count, "results": results, "search_facets": facets, "facets": {}, "sort": sort}),
    )
}

async fn datastore_search(state: &AppState, p: &Params) -> Result<Value, CkanError> {
    let id = required(p, "resource_id")?;
    let r = resource_or_404(state, &id).await?;
    let table = r.datastore_table.clone().ok_or_else(|| {
        CkanError(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Resource has no DataStore table".into(),
        )
    })?;
    let all = r.fields();
    let filters: Vec<(String, String)> = match p.get("filters") {
        None => vec![],
        Some(v) => {
            let obj = match v {
                Value::Object(m) => m.clone(),
                Value::String(s) => {
                    serde_json::from_str::<Map<String, Value>>(s).map_err(|_| {
                        CkanError(
                            StatusCode::CONFLICT,
                            "Validation Error",
                            "filters: a JSON object of field: value".into(),
                        )
                    })?
                }
                _ => {
                    return Err(CkanError(
                        StatusCode::CONFLICT,
                        "Validation Error",
                        "filters: a JSON object of field: value".into(),
                    ))
                }
            };
            obj.into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    )
                })
                .collect()
        }
    };
    let fields = match p.get("fields") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        _ => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                "fields: a list of field names".into(),
            ))
        }
    };
    let mut sort = Vec::new();
    if let Some(s) = text(p, "sort") {
        for part in s.split(',') {
            let mut w = part.split_whitespace();
            let f = w.next().unwrap_or("").trim_matches('"').to_owned();
            let desc = match w.next().map(str::to_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(o) => {
                    return Err(CkanError(
                        StatusCode::CONFLICT,
                        "Validation Error",
                        format!("sort: {o:?} is not asc or desc"),
                    ))
                }
            };
            sort.push((f, desc));
        }
    }
    let search = Search {
        q: text(p, "q"),
        filters,
        fields,
        sort,
        limit: number(p, "limit", 100, 32_000)?,
        offset: number(p, "offset", 0, i64::MAX / 2)?,
        include_total: flag(p, "include_total", true),
        distinct: flag(p, "distinct", false),
    };
    let format = text(p, "records_format").unwrap_or_else(|| "objects".into());
    let answers = state.service_state::<super::Answers>();
    let key = format!("search {} {} {format:?} {search:?}", r.uuid, r.data_version);
    if let Some(kept) = answers.get(&key) {
        return Ok(kept);
    }
    let (shown, rows, total) =
        datastore::search(&state.db, &table, &all, r.full_text, &search).await?;
    let field_list: Vec<Value> = shown
        .iter()
        .map(|f| json!({"id": f.id, "type": f.kind.name()}))
        .collect();
    let names: Vec<String> = shown.iter().map(|f| f.id.clone()).collect();
    let records = match format.as_str() {
        "objects" => json!(rows
            .iter()
            .map(|r| {
                let a = r.as_array().cloned().unwrap_or_default();
                Value::Object(names.iter().cloned().zip(a).collect())
            })
            .collect::<Vec<_>>()),
        "lists" => json!(rows),
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for r in &rows {
                let cells: Vec<String> = r
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(datastore::cell_text)
                    .collect();
                w.write_record(&cells)
                    .map_err(|e| Error::Internal(e.into()))?;
            }
            json!(String::from_utf8(
                w.into_inner()
                    .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?
            )
            .unwrap_or_default())
        }
        other => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!("records_format: {other:?} is not objects, lists or csv"),
            ))
        }
    };
    let mut out = json!({
        "resource_id": r.uuid, "fields": field_list, "records": records, "records_format": format,
        "limit": search.limit, "offset": search.offset,
        "_links": {
            "start": format!("/api/3/action/datastore_search?resource_id={}", r.uuid),
            "next": format!("/api/3/action/datastore_search?resource_id={}&offset={}", r.uuid, search.offset + search.limit),
        },
    });
    if let Some(t) = total {
        out["total"] = json!(t);
    }
    answers.put(key, &out);
    Ok(out)
}

/// The most rows one SQL query returns, and how long it may run.
const SQL_MAX_ROWS: usize = 32_000;
/// How long a query waits for its turn (see `AppState::sql_slots`) before the answer is 503.
const SQL_QUEUE_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

async fn datastore_search_sql(state: &AppState, p: &Params) -> Result<Value, CkanError> {
    let sql = required(p, "sql")?;
    if sql.len() > 20_000 {
        return Err(CkanError(
            StatusCode::CONFLICT,
            "Validation Error",
            "sql: at most 20,000 characters".into(),
        ));
    }
    let versions = store::data_versions(&state.db).await?;
    let is_resource = |name: &str| versions.contains_key(name);
    let checked = match super::sql::check(&sql, state.db.backend(), &is_resource) {
        Ok(c) => c,
        Err(r) => {
            return Err(match r {
                super::sql::Refusal::Syntax(m) => CkanError(
                    StatusCode::CONFLICT,
                    "Validation Error",
                    format!("sql: {m}"),
                ),
                super::sql::Refusal::Forbidden(m) => CkanError(
                    StatusCode::FORBIDDEN,
                    "Authorization Error",
                    format!("sql: {m}"),
                ),
            })
        }
    };
    // The answer is kept for the versions of the tables it read, unless it depends on the
    // clock or on chance.
    let answers = state.service_state::<super::Answers>();
    let key = timeless(&checked.sql).then(|| {
        let mut read: Vec<String> = checked
            .resources
            .iter()
            .map(|r| format!("{r}@{}", versions.get(r).copied().unwrap_or_default()))
            .collect();
        read.sort();
        read.dedup();
        format!("sql {} {sql}", read.join(" "))
    });
    if let Some(kept) = key.as_deref().and_then(|k| answers.get(k)) {
        return Ok(kept);
    }
    let _slot = tokio::time::timeout(SQL_QUEUE_LIMIT, state.sql_slots.acquire())
        .await
        .map_err(|_| {
            CkanError(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "sql: the server is busy with other queries; try again in a minute".into(),
            )
        })?
        .map_err(|e| Error::Internal(e.into()))?;
    // The same query, asked by many at once, is run by the first and answered to the rest.
    if let Some(kept) = key.as_deref().and_then(|k| answers.0.get(k)) {
        return Ok(kept.as_ref().clone());
    }
    let limit = std::time::Duration::from_secs(state.config.sql_time_limit_seconds.max(1));
    let out = state
        .db
        .untrusted_select(&checked.sql, SQL_MAX_ROWS, limit)
        .await
        .map_err(|e| match e {
            crate::platform::db::UntrustedError::Timeout => CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!(
                    "sql: the query ran longer than {} s and was stopped; narrow it down",
                    limit.as_secs()
                ),
            ),
            crate::platform::db::UntrustedError::Refused(m) => CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!("sql: {m}"),
            ),
            crate::platform::db::UntrustedError::Db(e) => Error::from(e).into(),
        })?;
    let records: Vec<Value> = out
        .rows
        .into_iter()
        .map(|r| Value::Object(out.columns.iter().cloned().zip(r).collect()))
        .collect();
    let answer = json!({
        "sql": sql,
        "fields": out.columns.iter().map(|c| json!({"id": c})).collect::<Vec<_>>(),
        "records": records,
        "records_truncated": out.truncated,
    });
    if let Some(key) = key {
        answers.put(key, &answer);
    }
    Ok(answer)
}

/// Does this (checked) SQL give the same answer every time over the same data? Not when it
/// reads the clock (`'now'`, `CURRENT_DATE`, `LOCALTIME`, …) or chance: such answers are never
/// kept. Read from the text, erring towards "not": a word in a string only costs the keeping.
fn timeless(sql: &str) -> bool {
    let sql = sql.to_ascii_lowercase();
    !["now", "current", "local", "random"]
        .iter()
        .any(|w| sql.contains(w))
}

/// The fields of a multipart action; the `upload` part is streamed to a temporary file.
async fn read_multipart(
    state: &AppState,
    req: axum::extract::Request,
    params: &mut Params,
) -> Result<Option<super::upload::TempFile>, CkanError> {
    use axum::extract::FromRequest;
    let bad = |m: String| CkanError(StatusCode::BAD_REQUEST, "Validation Error", m);
    let form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let uploaded = super::upload::read(form, "upload")
        .await
        .map_err(|e| match e {
            Error::BadRequest(m) => bad(m),
            other => other.into(),
        })?;
    for (k, v) in uploaded.fields {
        params.insert(k, Value::String(v));
    }
    Ok(uploaded.file.map(|(f, _)| f))
}

/// The resource with this id, or CKAN's 404.
async fn resource_or_404(state: &AppState, id: &str) -> Result<ResourceRow, CkanError> {
    store::resource(&state.db, id).await?.ok_or_else(|| {
        CkanError(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Resource not found".into(),
        )
    })
}

/// The dataset a key may add data to.
async fn own_dataset(
    state: &AppState,
    id: &str,
    key: &crate::platform::identity::ApiKey,
) -> Result<DatasetRow, CkanError> {
    let d = store::dataset(&state.db, id).await?.ok_or_else(|| {
        CkanError(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Dataset not found".into(),
        )
    })?;
    if d.department_id != key.department_id {
        return Err(CkanError(
            StatusCode::FORBIDDEN,
            "Authorization Error",
            "Access denied: not your department's dataset".into(),
        ));
    }
    Ok(d)
}

/// The `records` of a write: each field's value, `None` where a record does not give it.
fn records(p: &Params, fields: &[datastore::Field]) -> Result<Vec<Vec<Option<String>>>, CkanError> {
    let invalid = |m: String| CkanError(StatusCode::CONFLICT, "Validation Error", m);
    let list = match p.get("records") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => serde_json::from_str::<Vec<Value>>(s)
            .map_err(|_| invalid("records: a list of objects".into()))?,
        Some(_) => return Err(invalid("records: a list of objects".into())),
    };
    let mut rows = Vec::with_capacity(list.len());
    for (n, r) in list.iter().enumerate() {
        let obj = r
            .as_object()
            .ok_or_else(|| invalid(format!("records: record {} is not an object", n + 1)))?;
        for k in obj.keys() {
            if !fields.iter().any(|f| &f.id == k) {
                return Err(invalid(format!(
                    "records: record {} has a field {k:?} the table does not",
                    n + 1
                )));
            }
        }
        rows.push(
            fields
                .iter()
                .map(|f| match obj.get(&f.id) {
                    None => None,
                    Some(Value::Null) => Some(String::new()),
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect(),
        );
    }
    datastore::check_rows(fields, &filled(&rows)).map_err(|m| invalid(format!("records: {m}")))?;
    Ok(rows)
}

/// Records with every field: empty where not given.
fn filled(records: &[Vec<Option<String>>]) -> Vec<Vec<String>> {
    records
        .iter()
        .map(|r| r.iter().map(|v| v.clone().unwrap_or_default()).collect())
        .collect()
}

/// A list of field ids, given as a JSON list or a comma-separated string.
fn field_ids(p: &Params, name: &str) -> Result<Vec<String>, CkanError> {
    Ok(match p.get(name) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(_) => {
            return Err(CkanError(
                StatusCode::CONFLICT,
                "Validation Error",
                format!("{name}: a list of field ids"),
            ))
        }
    })
}

async fn datastore_write(
    state: &AppState,
    name: &str,
    p: &Params,
    base: &str,
    key: &crate::platform::identity::ApiKey,
    upload: Option<&std::path::Path>,
) -> Result<Value, CkanError> {
    let invalid = |m: String| CkanError(StatusCode::CONFLICT, "Validation Error", m);
    let actor = format!("key:{}", key.id);
    match name {
        "resource_create" => {
            let d = own_dataset(state, &required(p, "package_id")?, key).await?;
            let path = upload.ok_or_else(|| {
                invalid("upload: send the CSV file as the multipart part `upload`".into())
            })?;
            let done = super::import_upload(&state.db, &actor, path, &d.name, None, None).await?;
            if let Some(n) = text(p, "name") {
                state
                    .db
                    .execute(
                        crate::platform::db::query(
                            "UPDATE od_resources SET name = $1 WHERE uuid = $2",
                        )
                        .bind(n)
                        .bind(done.resource_id.as_str()),
                    )
                    .await?;
            }
            let r = store::resource(&state.db, &done.resource_id)
                .await?
                .ok_or_else(|| invalid("the resource vanished".into()))?;
            Ok(resource_dict(&r, &d, base))
        }
        "datastore_create" => {
            let package_id = match p.get("resource") {
                Some(Value::Object(r)) => r
                    .get("package_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            }
            .ok_or_else(|| invalid("resource: give {\"package_id\": …} (a new resource)".into()))?;
            let d = own_dataset(state, &package_id, key).await?;
            let defs = match p.get("fields") {
                Some(Value::Array(a)) if !a.is_empty() => a.clone(),
                _ => return Err(invalid("fields: a list of {\"id\": …, \"type\": …}".into())),
            };
            let mut fields = Vec::new();
            for (i, f) in defs.iter().enumerate() {
                let id = f
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty() && s.len() <= 63)
                    .ok_or_else(|| {
                        invalid(format!(
                            "fields: field {} needs an id of 1 to 63 bytes",
                            i + 1
                        ))
                    })?;
                if fields.iter().any(|x: &datastore::Field| x.id == id) {
                    return Err(invalid(format!("fields: {id:?} appears twice")));
                }
                let kind = match f.get("type").and_then(Value::as_str) {
                    None => FieldType::Text,
                    Some(t) => FieldType::parse(t).ok_or_else(|| {
                        invalid(format!(
                            "fields: type {t:?} is not int, numeric, date, timestamp or text"
                        ))
                    })?,
                };
                fields.push(datastore::Field {
                    id: id.to_owned(),
                    column: format!("c{}", i + 1),
                    kind,
                });
            }
            let rows = filled(&records(p, &fields)?);
            let primary_key = field_ids(p, "primary_key")?;
            let resource_name = match p.get("resource") {
                Some(Value::Object(r)) => r
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("data")
                    .to_owned(),
                _ => "data".into(),
            };
            let uuid = uuid::Uuid::new_v4().to_string();
            let indexes = field_ids(p, "indexes")?;
            let mut tx = state.db.begin().await?;
            let table = datastore::create_table(&mut tx, &uuid, &fields).await?;
            for id in &indexes {
                datastore::create_index(&mut tx, &table, &fields, id).await?;
            }
            for chunk in rows.chunks(datastore::ROWS_PER_STATEMENT) {
                datastore::insert_rows(&mut tx, &table, &fields, chunk).await?;
            }
            datastore::create_search_index(&mut tx, &table, &fields).await?;
            if !primary_key.is_empty() {
                datastore::create_primary_key(&mut tx, &table, &fields, &primary_key).await?;
            }
            store::insert_resource(
                &mut tx,
                &uuid,
                d.id,
                &resource_name,
                "CSV",
                Some(&table),
                &fields,
                rows.len() as i64,
            )
            .await?;
            crate::platform::audit::record(
                &mut tx,
                &actor,
                "datastore.create",
                "resource",
                &uuid,
                json!({"dataset": d.name, "rows": rows.len()}),
            )
            .await?;
            tx.execute(
                crate::platform::db::query(
                    "UPDATE od_resources SET primary_key = $1 WHERE uuid = $2",
                )
                .bind(json!(primary_key).to_string())
                .bind(uuid.as_str()),
            )
            .await?;
            tx.commit().await?;
            Ok(
                json!({"resource_id": uuid, "fields": fields.iter().map(|f| json!({"id": f.id, "type": f.kind})).collect::<Vec<_>>(), "primary_key": primary_key, "method": "insert"}),
            )
        }
        "datastore_upsert" => {
            let id = required(p, "resource_id")?;
            let r = resource_or_404(state, &id).await?;
            let d = store::dataset_of(&state.db, &r).await?;
            own_dataset(state, &d.name, key).await?;
            let table = r.datastore_table.clone().ok_or_else(|| {
                invalid("the resource has no DataStore table: use datastore_create".into())
            })?;
            let key = r.primary_key();
            let method = match text(p, "method").as_deref().unwrap_or("upsert") {
                "insert" => datastore::Method::Insert,
                "update" => datastore::Method::Update,
                "upsert" => datastore::Method::Upsert,
                m => return Err(invalid(format!("method {m:?}: insert, update or upsert"))),
            };
            if key.is_empty() && method != datastore::Method::Insert {
                return Err(invalid("method update and upsert match records by the primary key, and this table has none: use method=insert, or datastore_create with primary_key".into()));
            }
            let fields = r.fields();
            let rows = records(p, &fields)?;
            let mut tx = state.db.begin().await?;
            let inserted = if key.is_empty() {
                for chunk in filled(&rows).chunks(datastore::ROWS_PER_STATEMENT) {
                    datastore::insert_rows(&mut tx, &table, &fields, chunk).await?;
                }
                rows.len() as u64
            } else {
                datastore::write_by_key(&mut tx, &table, &fields, &key, method, &rows).await?
            };
            store::rows_written(&mut tx, r.id, inserted as i64).await?;
            crate::platform::audit::record(
                &mut tx,
                &actor,
                "datastore.upsert",
                "resource",
                &r.uuid,
                json!({"rows": rows.len()}),
            )
            .await?;
            tx.commit().await?;
            let method = match method {
                datastore::Method::Insert => "insert",
                datastore::Method::Update => "update",
                datastore::Method::Upsert => "upsert",
            };
            Ok(
                json!({"resource_id": r.uuid, "method": method, "records": rows.len(), "inserted": inserted}),
            )
        }
        _ => unreachable!("only DataStore writes come here"),
    }
}

#[cfg(test)]
mod tests {
    use super::timeless;

    #[test]
    fn answers_that_read_the_clock_or_chance_are_not_kept() {
        assert!(timeless(
            r#"SELECT "district", COUNT(*) FROM ds_1 GROUP BY "district""#
        ));
        for sql in [
            "SELECT date('now') FROM ds_1",
            "SELECT datetime('NOW', '-1 day') FROM ds_1",
            "SELECT CURRENT_DATE FROM ds_1",
            "SELECT current_timestamp FROM ds_1",
            "SELECT LOCALTIMESTAMP FROM ds_1",
            "SELECT * FROM ds_1 ORDER BY random()",
        ] {
            assert!(!timeless(sql), "{sql}");
        }
    }
}
