//! Registers over JSON: the list (public), a lookup (public, rate limited) and a staff update
//! of one row.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{lookup, put_row, register_or_404, registers, Answer};
use crate::platform::error::{Error, JsonBody, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/registers", get(list))
        .route("/api/v1/registers/{code}/lookup", get(look_up))
        .route("/api/v1/registers/{code}/rows", put(update))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyOut {
    code: String,
    label: String,
    /// A valid value, to show what one looks like.
    example: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisterOut {
    code: String,
    name: String,
    description: String,
    keys: Vec<KeyOut>,
    rows: i64,
    /// When the data in force arrived.
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The registers anyone may look up, and the keys each takes.
#[utoipa::path(get, path = "/api/v1/registers", operation_id = "list_registers", tag = "registers",
    responses((status = 200, body = [RegisterOut])))]
pub async fn list(State(state): State<AppState>, lang: Lang) -> Result<Json<Vec<RegisterOut>>> {
    Ok(Json(
        registers(&state.db)
            .await?
            .into_iter()
            .map(|r| RegisterOut {
                keys: r
                    .spec
                    .key_fields()
                    .iter()
                    .map(|f| KeyOut {
                        code: f.code.clone(),
                        label: f.label.get(lang).to_owned(),
                        example: match f.datatype {
                            super::model::Datatype::Cnic => "17301-1234567-1".into(),
                            _ => f.example.clone(),
                        },
                    })
                    .collect(),
                name: r.spec.name.get(lang).to_owned(),
                description: r.spec.description.get(lang).to_owned(),
                code: r.spec.code,
                rows: r.rows,
                updated_at: r.imported_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct LookupQuery {
    key: Option<String>,
}

/// Look a key up (a CNIC, a licence or challan number): the public fields and the declared
/// answer. An unknown key is a 404 with the declared "not found" answer; a malformed one a 400
/// with the expected formats; too many lookups a 429.
#[utoipa::path(get, path = "/api/v1/registers/{code}/lookup", tag = "registers",
    params(("code" = String, Path), ("key" = String, Query, description = "the value to look up")),
    responses((status = 200, body = Answer), (status = 404, body = Answer, description = "not in the register"),
        (status = 400, description = "not a key of this register"), (status = 429, description = "too many lookups")))]
pub async fn look_up(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<LookupQuery>,
    lang: Lang,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let reg = register_or_404(&state.db, &code, lang).await?;
    state.limit_public_write(&headers, peer, lang).await?;
    let a = lookup(
        &state,
        &reg,
        q.key.as_deref().unwrap_or(""),
        lang,
        "api",
        None,
    )
    .await?;
    let status = if a.found {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::NOT_FOUND
    };
    Ok((status, Json(a)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowIn {
    /// Field code → value; one of them a key of the register.
    fields: BTreeMap<String, String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RowOut {
    /// A new row (not an update of one).
    created: bool,
}

/// Change one row (a challan paid), or add one. Staff of the register's department.
#[utoipa::path(put, path = "/api/v1/registers/{code}/rows", tag = "registers", params(("code" = String, Path)),
    request_body = RowIn, responses((status = 200, body = RowOut), (status = 400, description = "a value is not valid")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(row): JsonBody<RowIn>,
) -> Result<Json<RowOut>> {
    if row.fields.is_empty() {
        return Err(Error::BadRequest(
            "fields: give the row's key and what changes".into(),
        ));
    }
    let created = put_row(&state, &staff, &code, &row.fields, lang).await?;
    Ok(Json(RowOut { created }))
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, look_up, update),
    tags((name = "registers", description = "Lookups in departments' registers (licences, e-challans), answered from public fields only"))
)]
pub struct ApiDoc;
