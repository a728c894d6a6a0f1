//! The staff JSON API under `/api/v1/`: log in, list and read the reports of one's own department
//! (and district), post status updates, assign. Authentication is a department API key
//! (`Authorization: Bearer …`) or the session cookie from `POST /api/v1/login`.
//!
//! A report outside the caller's scope is answered 404, exactly like one that does not exist.
//! Cookie-authenticated writes need `Content-Type: application/json`, which a cross-site form
//! cannot send, and the cookie is `SameSite=Strict`: together, the CSRF defence.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::RichStatus;
use super::store::{self, Filter, ReportRow};
use crate::platform::error::{Error, JsonBody, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::{self, Staff, StaffKind};
use crate::platform::questions::wire_time;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/reports", get(list))
        .route("/api/v1/reports/{id}", get(show))
        .route("/api/v1/reports/{id}/updates", post(post_update))
        .route("/api/v1/reports/{id}/assignment", post(assign))
        .route("/api/v1/reports/{id}/contact", post(reveal_contact))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginIn {
    email: String,
    password: String,
}

/// Log in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/login", tag = "staff", request_body = LoginIn,
    responses((status = 200, description = "logged in; the session cookie is set"), (status = 401, description = "wrong e-mail or password")))]
pub async fn login(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    lang: Lang,
    JsonBody(body): JsonBody<LoginIn>,
) -> Result<Response> {
    state.limit_public_write(&headers, peer, lang).await?;
    let hours = state.config.session_hours;
    let (token, staff) = identity::login(&state.db, &body.email, &body.password, hours).await?;
    let cookie = identity::session_set_cookie(&token, hours, state.config.public_url.as_deref());
    let (name, role) = match &staff.kind {
        StaffKind::User { name, role, .. } => (name.clone(), role.as_str()),
        StaffKind::Key { name, .. } => (name.clone(), "key"),
    };
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({"name": name, "role": role})),
    )
        .into_response())
}

/// End the session.
#[utoipa::path(post, path = "/api/v1/logout", tag = "staff", responses((status = 204, description = "logged out")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    // Another site's page may not sign an officer out either.
    if !identity::from_own_pages(&headers) {
        return Err(Error::Forbidden(
            "sign out from this site's own pages".into(),
        ));
    }
    if let Some(token) = identity::session_cookie(&headers) {
        identity::logout(&state.db, token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, identity::session_clear_cookie())],
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Contact {
    name: Option<String>,
    email: Option<String>,
    /// Masked (`+92 3** *** **67`); `POST /api/v1/reports/{id}/contact` reveals it (audited).
    phone: Option<String>,
}

/// A report as its department's staff see it: with the reporter's contact details.
#[derive(Serialize, ToSchema)]
pub struct StaffReport {
    service_request_id: String,
    service_code: String,
    service_name: String,
    agency_responsible: String,
    district: Option<String>,
    status: String,
    rich_status: RichStatus,
    status_notes: Option<String>,
    description: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    address: Option<String>,
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
    media_url: Option<String>,
    contact: Contact,
    channel: String,
    assigned_to: Option<i64>,
    possible_duplicate_of: Option<String>,
    duplicate_distance_m: Option<f64>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
}

fn staff_report(r: &ReportRow, lang: Lang, base: &str) -> StaffReport {
    StaffReport {
        service_request_id: r.id.to_string(),
        service_code: r.service_code.clone(),
        service_name: r.service_name().get(lang).to_owned(),
        agency_responsible: r.department_name().get(lang).to_owned(),
        district: r.district.clone(),
        status: r.status.clone(),
        rich_status: r.rich_status(),
        status_notes: r.status_notes.clone(),
        description: r.description.clone(),
        lat: r.lat,
        long: r.long,
        address: r.address.clone(),
        attributes: super::open311::answers_of(r),
        media_url: super::media_url(base, r.photo_sha256.as_deref(), r.media_url.clone()),
        contact: Contact {
            name: r.contact_name.clone(),
            email: r.contact_email.clone(),
            phone: super::masked_phone(r.contact_phone.as_deref()),
        },
        channel: r.channel.clone(),
        assigned_to: r.assigned_to,
        possible_duplicate_of: r.possible_duplicate_of.map(|i| i.to_string()),
        duplicate_distance_m: r.duplicate_distance_m,
        requested_datetime: wire_time(r.requested_at),
        updated_datetime: wire_time(r.updated_at),
        expected_datetime: r.expected_at.map(wire_time),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    service_code: Option<String>,
    /// `open` or `closed`
    #[param(pattern = "^(open|closed)$")]
    status: Option<String>,
    /// one of the detailed statuses
    #[param(schema_with = status_schema)]
    rich_status: Option<String>,
    district: Option<String>,
    assigned_to: Option<i64>,
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// At most `max_page_size` (1000 unless the deployment says otherwise).
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffReportPage {
    reports: Vec<StaffReport>,
    page: i64,
    page_size: i64,
}

/// The reports of the caller's department (and district), newest first.
#[utoipa::path(get, path = "/api/v1/reports", operation_id = "list_service_requests", tag = "staff", params(ListQuery),
    responses((status = 200, body = StaffReportPage), (status = 401, description = "not logged in")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    lang: Lang,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StaffReportPage>> {
    let Query(q) = query.map_err(|e| Error::BadRequest(e.body_text()))?;
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(state.config.page_size);
    if !(1..=1_000_000).contains(&page) || !(1..=state.config.max_page_size).contains(&page_size) {
        return Err(Error::BadRequest(format!(
            "page must be from 1 to 1000000, page_size from 1 to {}",
            state.config.max_page_size
        )));
    }
    let statuses = match q.status.as_deref() {
        None => None,
        Some("open") => Some(vec!["open"]),
        Some("closed") => Some(vec!["closed"]),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "status {other:?}: use open or closed"
            )))
        }
    };
    let rich_status = match q.rich_status.as_deref() {
        None => None,
        Some(s) => Some(
            RichStatus::parse(s)
                .ok_or_else(|| Error::BadRequest(format!("rich_status {s:?} is not a status")))?,
        ),
    };
    let filter = Filter {
        service_codes: q.service_code.map(|c| vec![c]),
        statuses,
        rich_status,
        scope: Some(staff.scope.clone()),
        district: q.district,
        assigned_to: q.assigned_to,
        limit: page_size,
        offset: (page - 1) * page_size,
        ..Default::default()
    };
    let rows = store::list(&state.db, &filter).await?;
    let base = state.config.base_url(&headers);
    Ok(Json(StaffReportPage {
        reports: rows.iter().map(|r| staff_report(r, lang, &base)).collect(),
        page,
        page_size,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StaffUpdate {
    update_id: String,
    status: String,
    note: String,
    author: String,
    at: String,
}

fn report_id(raw: &str) -> Result<i64> {
    raw.parse()
        .map_err(|_| Error::NotFound(format!("no report {raw:?} in your department")))
}

/// One report with its updates.
#[utoipa::path(get, path = "/api/v1/reports/{id}", operation_id = "show_service_request", tag = "staff", params(("id" = String, Path)),
    responses((status = 200, body = StaffReport), (status = 404, description = "no such report in your department")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    lang: Lang,
) -> Result<Json<serde_json::Value>> {
    let r = super::report_for_staff(&state.db, &staff, report_id(&id)?).await?;
    let updates: Vec<StaffUpdate> = store::updates_of(&state.db, r.id, true)
        .await?
        .into_iter()
        .map(|u| StaffUpdate {
            update_id: u.id.to_string(),
            status: u.status,
            note: u.note,
            author: u.author,
            at: wire_time(u.at),
        })
        .collect();
    let base = state.config.base_url(&headers);
    let mut v = serde_json::to_value(staff_report(&r, lang, &base))
        .map_err(|e| Error::Internal(e.into()))?;
    v["updates"] = serde_json::to_value(updates).map_err(|e| Error::Internal(e.into()))?;
    Ok(Json(v))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIn {
    #[schema(schema_with = status_schema)]
    status: String,
    note: String,
    /// With status `duplicate`: the id of the original report.
    #[schema(pattern = "^[0-9]+$")]
    duplicate_of: Option<String>,
}

/// The statuses an update may set, as an enumeration.
fn status_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(super::model::ALL_STATUSES.iter().map(|s| s.as_str())))
        .build()
}

/// Post a status update with a note; citizens see it in `servicerequestupdates` and the report.
#[utoipa::path(post, path = "/api/v1/reports/{id}/updates", tag = "staff", params(("id" = String, Path)), request_body = UpdateIn,
    responses((status = 201, description = "update posted"), (status = 400, description = "bad status or note"), (status = 404, description = "no such report in your department")),
    security(("bearer" = [])))]
pub async fn post_update(
    State(state): State<AppState>,
    staff: Staff,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateIn>,
) -> Result<Response> {
    let id = report_id(&id)?;
    let status = RichStatus::parse(body.status.trim()).ok_or_else(|| {
        let all: Vec<&str> = super::model::ALL_STATUSES
            .iter()
            .map(|s| s.as_str())
            .collect();
        Error::BadRequest(format!(
            "status {:?} is not one of: {}",
            body.status,
            all.join(", ")
        ))
    })?;
    let duplicate_of =
        match body.duplicate_of.as_deref() {
            None => None,
            Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                Error::BadRequest(format!("duplicate_of {s:?} is not a report id"))
            })?),
        };
    let update_id = super::post_update(
        &state,
        &staff,
        id,
        status,
        &body.note,
        duplicate_of,
        &state.config.base_url(&headers),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"update_id": update_id.to_string(), "status": status.as_str()})),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// The staff member to work the report; `null` unassigns.
    user_id: Option<i64>,
}

/// Assign the report to a member of its department (or unassign with `null`).
#[utoipa::path(post, path = "/api/v1/reports/{id}/assignment", tag = "staff", params(("id" = String, Path)), request_body = AssignIn,
    responses((status = 200, description = "assigned"), (status = 400, description = "that user cannot take this report"), (status = 404, description = "no such report in your department")),
    security(("bearer" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AssignIn>,
) -> Result<Json<serde_json::Value>> {
    let id = report_id(&id)?;
    super::assign(&state.db, &staff, id, body.user_id).await?;
    Ok(Json(
        serde_json::json!({"service_request_id": id.to_string(), "assigned_to": body.user_id}),
    ))
}

/// The reporter's full phone number, to call back. Every reveal is in the audit log.
#[utoipa::path(post, path = "/api/v1/reports/{id}/contact", tag = "staff", params(("id" = String, Path)),
    responses((status = 200, description = "{\"phone\": \"+923001234567\"} (null when none was given)"), (status = 404, description = "no such report in your department")),
    security(("bearer" = [])))]
pub async fn reveal_contact(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let phone = super::reveal_phone(&state.db, &staff, report_id(&id)?).await?;
    Ok(Json(serde_json::json!({"phone": phone})))
}
