//! The cases JSON API (staff users, by session or through a desk system logged in as them),
//! the public lookup, and the public page that verifies a letter or certificate.

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::run::{self, Attachment, Step};
use crate::platform::error::{Error, JsonBody, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{workflow}", get(list).post(open))
        .route("/api/v1/cases/{workflow}/{reference}", get(show))
        .route("/api/v1/cases/{workflow}/pendency", get(pendency))
        .route(
            "/api/v1/cases/{workflow}/{reference}/steps",
            post(step).layer(DefaultBodyLimit::max(60 * 1024 * 1024)),
        )
        .route("/api/v1/cases/{workflow}/{reference}/public", get(public))
        .route("/api/v1/case-documents/{number}/cancel", post(cancel))
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/cases/{workflow}", operation_id = "list_cases", tag = "cases", params(("workflow" = String, Path), ("state" = Option<String>, Query)),
    responses((status = 200, body = [run::Case]), (status = 403, description = "no role in this workflow")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path(workflow): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<run::Case>>> {
    Ok(Json(
        run::list(
            &state,
            &staff,
            &workflow,
            q.state.as_deref().filter(|s| !s.is_empty()),
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct PendencyQuery {
    by: Option<String>,
    format: Option<String>,
}

/// Open cases by `state`, `department` (the office that acts next), `district` or `officer` (who
/// last moved them), with how many are overdue; `format=csv` for a spreadsheet.
#[utoipa::path(get, path = "/api/v1/cases/{workflow}/pendency", tag = "cases",
    params(("workflow" = String, Path), ("by" = Option<String>, Query, description = "state, department, district or officer"), ("format" = Option<String>, Query, description = "json or csv")),
    responses((status = 200, body = [super::pendency::Row])),
    security(("bearer" = [])))]
pub async fn pendency(
    State(state): State<AppState>,
    staff: Staff,
    Path(workflow): Path<String>,
    Query(q): Query<PendencyQuery>,
) -> Result<Response> {
    let w = run::workflow_or_404(&state.db, &workflow).await?;
    let a = run::actor_in(&state.db, &staff, &w).await?;
    if !a.everywhere && a.roles.is_empty() {
        return Err(Error::Forbidden(format!("you hold no role in {}", w.code)));
    }
    let by_name = q.by.unwrap_or_else(|| "state".into());
    let by = super::pendency::By::parse(&by_name)
        .ok_or_else(|| Error::BadRequest("by is state, department, district or officer".into()))?;
    let rows = super::pendency::report(&state.db, &w, by, a.district.as_deref()).await?;
    if q.format.as_deref() == Some("csv") {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}-pendency-by-{by_name}.csv\"",
                        w.code
                    ),
                ),
            ],
            super::pendency::csv(&by_name, &rows),
        )
            .into_response());
    }
    Ok(Json(rows).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenIn {
    district: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{workflow}", tag = "cases", params(("workflow" = String, Path)), request_body = OpenIn,
    responses((status = 201, body = run::Case), (status = 403, description = "not a creator role")),
    security(("bearer" = [])))]
pub async fn open(
    State(state): State<AppState>,
    staff: Staff,
    Path(workflow): Path<String>,
    JsonBody(o): JsonBody<OpenIn>,
) -> Result<Response> {
    let c = run::create(&state, &staff, &workflow, o.district.as_deref(), &o.fields).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[utoipa::path(get, path = "/api/v1/cases/{workflow}/{reference}", operation_id = "show_case", tag = "cases", params(("workflow" = String, Path), ("reference" = String, Path)),
    responses((status = 200, description = "the case, its timeline and documents"), (status = 404, description = "no such case in the caller's scope")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path((workflow, reference)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>> {
    let (case, timeline, documents) = run::show(&state, &staff, &workflow, &reference).await?;
    Ok(Json(
        serde_json::json!({"case": case, "timeline": timeline, "documents": documents}),
    ))
}

/// Take a step: multipart with `step`, `version`, `note`, `field[CODE]`, and a photo per
/// attachment (`attachment:KIND`, with `lat`/`long` where it was taken). A browser session sends
/// the page's `csrf` too.
pub async fn step(
    State(state): State<AppState>,
    staff: Staff,
    Path((workflow, reference)): Path<(String, String)>,
    lang: Lang,
    csrf: crate::platform::csrf::Csrf,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Json<run::Case>> {
    let sent = crate::benefits::api::read_form(form, state.config.max_photo_bytes, lang).await?;
    if !csrf.verify_api(&headers, sent.fields.get("csrf").map(String::as_str)) {
        return Err(Error::Forbidden(lang.t("page-form-expired")));
    }
    let get = |k: &str| {
        sent.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let version = get("version")
        .parse()
        .map_err(|_| Error::BadRequest("send the case's version you saw (version)".into()))?;
    let at = match (get("lat").parse::<f64>(), get("long").parse::<f64>()) {
        (Ok(la), Ok(lo))
            if crate::platform::geo::valid_lat(la) && crate::platform::geo::valid_long(lo) =>
        {
            Some((la, lo))
        }
        _ => None,
    };
    let fields = super::form_fields(&sent.fields);
    let mut attachments = Vec::new();
    for (name, bytes) in sent.files {
        let Some(kind) = name.strip_prefix("attachment:") else {
            continue;
        };
        let photo = crate::platform::files::encode(bytes, state.config.photo_max_side)
            .await
            .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
        attachments.push(Attachment {
            kind: kind.to_owned(),
            photo,
            at,
        });
    }
    let s = Step {
        transition: get("step"),
        version,
        fields,
        note: get("note"),
        attachments,
    };
    Ok(Json(
        run::act(&state, &staff, &workflow, &reference, s).await?,
    ))
}

#[derive(Deserialize)]
pub struct PublicQuery {
    check: Option<String>,
}

/// A case's public status, for someone who knows its reference and its check code
/// (rate limited; a wrong pair is a 404 that does not say which half was wrong).
#[utoipa::path(get, path = "/api/v1/cases/{workflow}/{reference}/public", tag = "cases",
    params(("workflow" = String, Path), ("reference" = String, Path), ("check" = Option<String>, Query, description = "the case's check code (8 digits), which only its owner is given")),
    responses((status = 200, description = "state and public fields"), (status = 404, description = "no case with this reference and value")))]
pub async fn public(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Path((workflow, reference)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
    lang: Lang,
) -> Result<Json<BTreeMap<String, String>>> {
    state.limit_public_write(&headers, peer, lang).await?;
    run::public(
        &state.db,
        &workflow,
        &reference,
        q.check.as_deref().unwrap_or(""),
    )
    .await?
    .map(Json)
    .ok_or_else(|| Error::NotFound("no case with this reference and value".into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/case-documents/{number}/cancel", tag = "cases", params(("number" = String, Path)), request_body = CancelIn,
    responses((status = 204, description = "cancelled"), (status = 403, description = "not a cancel role"), (status = 409, description = "cancelled already")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    JsonBody(c): JsonBody<CancelIn>,
) -> Result<StatusCode> {
    run::cancel_document(&state, &staff, &number, &c.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, pendency, open, show, public, cancel),
    tags((name = "cases", description = "Workflows across departments: cases, their pendency, public lookup, documents"))
)]
pub struct ApiDoc;
