//! The impact figures as JSON (`GET /api/v1/impact`) and their detailed table as CSV
//! (`format=csv`). Public: the figures hold no personal data.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::figures::{self, Range};
use crate::platform::error::Result;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/impact", get(impact))
}

#[derive(Deserialize)]
pub struct ImpactQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// The detailed table as CSV text: week × service × channel × department × district.
pub fn cells_csv(cells: &[figures::Cell]) -> String {
    let mut sheet = crate::platform::sheet::Sheet::new();
    sheet.row(figures::CELL_HEADER);
    for c in cells {
        sheet.row(c.row());
    }
    sheet.finish()
}

/// The CSV download of a range's detailed table.
pub async fn csv_download(state: &AppState, r: &Range) -> Result<Response> {
    let body = cells_csv(&figures::published_cells(
        figures::cells(&state.db, r).await?,
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"impact-{}-{}.csv\"", r.from, r.to),
            ),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The programme's impact between two dates (Pakistan time, inclusive; by default the twelve
/// weeks up to today): queries handled, government hours saved, distinct citizens facilitated
/// per ISO week, by service, department, channel and district, officials trained and services
/// handed over. `format=csv` gives the detailed table behind them. Counts of citizens' use are
/// rounded to multiples of 5, and rows of fewer than 5 left out (`platform::disclosure`).
#[utoipa::path(get, path = "/api/v1/impact", tag = "impact",
    params(("from" = Option<chrono::NaiveDate>, Query, description = "first day, YYYY-MM-DD"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "last day, YYYY-MM-DD (default today)"),
        ("format" = Option<String>, Query, pattern = "^(json|csv)$", description = "json (default) or csv")),
    responses((status = 200, description = "the figures, as JSON or (format=csv) the detailed table", content((figures::Figures = "application/json"), (String = "text/csv"))), (status = 400, description = "a date is not YYYY-MM-DD, from is after to, or they are more than ten years apart")))]
pub async fn impact(
    State(state): State<AppState>,
    Query(q): Query<ImpactQuery>,
) -> Result<Response> {
    let csv = crate::platform::sheet::wants_csv(q.format.as_deref())?;
    // The page's form may send an empty date for "the default"; an API client names a day.
    for (name, day) in [("from", &q.from), ("to", &q.to)] {
        if day.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(crate::platform::error::Error::BadRequest(format!(
                "{name}: give a date as YYYY-MM-DD, or leave {name} out"
            )));
        }
    }
    let r = Range::parse(q.from.as_deref(), q.to.as_deref())?;
    if csv {
        return csv_download(&state, &r).await;
    }
    let f = figures::figures(&state.db, &r).await?.published();
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(f)).into_response())
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(impact),
    tags((name = "impact", description = "The programme's impact: queries handled, hours saved, citizens facilitated per week"))
)]
pub struct ApiDoc;
