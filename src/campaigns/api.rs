//! `GET /api/v1/campaigns/projects`: the published projects that the policy in force allows, for
//! anyone to list (no contact of anyone is in it).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::error::Result;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/campaigns/projects", get(list))
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only projects in this district (slug).
    district: Option<String>,
    /// Only this category.
    category: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Title {
    en: String,
    ur: String,
    ps: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectOut {
    id: i64,
    url: String,
    organisation: String,
    title: Title,
    summary: Title,
    category: String,
    district: String,
    /// `money` (goal and pledged in paisa), `volunteers` or `items` (counts).
    goal_kind: String,
    goal: i64,
    /// The sum of accepted pledges.
    pledged: i64,
    backers: i64,
    /// The last day pledges are taken (YYYY-MM-DD).
    deadline: String,
    featured: bool,
    /// What a pledge is under the policy in force: `money`, `interest` (not binding) or `help`.
    pledge_kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    projects: Vec<ProjectOut>,
    /// Published projects that the policy in force hides.
    hidden_by_policy: usize,
}

/// Published campaign projects that the policy allows, featured first.
#[utoipa::path(get, path = "/api/v1/campaigns/projects", operation_id = "list_projects", tag = "campaigns", params(ListQuery),
    responses((status = 200, description = "Projects", body = ProjectList)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ProjectList>> {
    let policies = super::policies(&state.db).await?;
    let (shown, hidden) = super::projects::published(&state.db, &policies).await?;
    let projects = shown
        .into_iter()
        .filter(|p| q.district.as_deref().is_none_or(|d| d == p.district))
        .filter(|p| q.category.as_deref().is_none_or(|c| c == p.category))
        .map(|p| {
            let kind = policies
                .mode(&p.district)
                .pledge_for(p.goal_kind)
                .map(|k| k.as_str())
                .unwrap_or("none");
            let t3 = |t: &crate::platform::i18n::Text3| Title {
                en: t.en.clone(),
                ur: t.ur.clone(),
                ps: t.ps.clone(),
            };
            ProjectOut {
                id: p.id,
                url: format!("/campaigns/p/{}", p.id),
                organisation: p.org_name.clone(),
                title: t3(&p.title),
                summary: t3(&p.summary),
                category: p.category.clone(),
                district: p.district.clone(),
                goal_kind: p.goal_kind.as_str().to_owned(),
                goal: p.goal,
                pledged: p.pledged,
                backers: p.backers,
                deadline: p.deadline.clone(),
                featured: p.featured,
                pledge_kind: kind.to_owned(),
            }
        })
        .collect();
    Ok(Json(ProjectList {
        projects,
        hidden_by_policy: hidden,
    }))
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list),
    tags((name = "campaigns", description = "Verified organisations' projects seeking support, as the policy in force allows"))
)]
pub struct ApiDoc;
