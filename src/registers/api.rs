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
/// answer. An unknown key is a 404 with the declared "not found" answer; a key in none of the
/// register's formats a 404 whose answer says the formats; too many lookups a 429.
#[utoipa::path(get, path = "/api/v1/registers/{code}/lookup", tag = "registers",
    params(("code" = String, Path), ("key" = String, Query, description = "the value to look up")),
    responses((status = 200, body = Answer), (status = 404, body = Answer, description = "not in the register (or not in any of its key formats: the answer says them)"),
        (status = 429, description = "too many lookups")))]
pub async fn look_up(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<LookupQuery>,
    lang: Lang,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    // No such register: the 404 says so in the lookup's own shape.
    let reg = match register_or_404(&state.db, &code, lang).await {
        Err(Error::NotFound(why)) => {
            let a = Answer::not_found(&code, why);
            return Ok((axum::http::StatusCode::NOT_FOUND, Json(a)).into_response());
        }
        other => other?,
    };
    state.limit_public_write(&headers, peer, lang).await?;
    let a = match lookup(
        &state,
        &reg,
        q.key.as_deref().unwrap_or(""),
        lang,
        "api",
        None,
    )
    .await
    {
        // A key in none of the register's formats names no row: not found, saying the formats.
        Err(Error::BadRequest(formats)) => Answer::not_found(&reg.spec.code, formats),
        other => other?,
    };
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
    request_body = RowIn, responses((status = 200, body = RowOut), (status = 409, description = "not a row of this register: no key, an unknown column, a value outside a column's list, or a new row without every column")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    lang: Lang,
    JsonBody(row): JsonBody<RowIn>,
) -> Result<Json<RowOut>> {
    // Well-formed, but not a row this register's columns take (no key, an unknown column, a
    // value outside a column's list, a new row missing a column): a conflict with the register
    // as its pack declares it, as CKAN answers a validation error.
    if row.fields.is_empty() {
        return Err(Error::Conflict(
            "fields: give the row's key and what changes".into(),
        ));
    }
    let created = put_row(&state, &staff, &code, &row.fields, lang)
        .await
        .map_err(|e| match e {
            Error::BadRequest(m) => Error::Conflict(m),
            other => other,
        })?;
    Ok(Json(RowOut { created }))
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, look_up, update),
    tags((name = "registers", description = "Lookups in departments' registers (licences, e-challans), answered from public fields only"))
)]
pub struct ApiDoc;
